/* Error detail that travels up the stack: a negative code plus a human message. */
#ifndef CONCORD_BASE_ERR_H
#define CONCORD_BASE_ERR_H

#include <stdarg.h>

/* Functions return 0 or a negative code (system errors are -errno, so libuv codes pass
 * through); when they can fail in ways a user must read, they also fill a struct err. */
struct err {
    int code;
    char msg[256];
};

/* Sets code and a printf-style message; returns code so callers can `return err_set(...)`. */
int err_set(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefixes the existing message with more context ("loading x.yaml: " + old message). */
int err_wrap(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void err_clear(struct err *e);

#endif
