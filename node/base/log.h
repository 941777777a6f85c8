/* Process-wide logging: one line per event on stderr, safe from any thread. */
#ifndef CONCORD_BASE_LOG_H
#define CONCORD_BASE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Lines below `min` are dropped. Set once at start-up, before threads exist. */
void log_set_level(enum log_level min);
enum log_level log_get_level(void);

/* Writes "<iso-time> <LEVEL> <message>\n" with one write(2), so lines from workers never
 * interleave. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
