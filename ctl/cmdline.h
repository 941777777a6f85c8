/* Argument parsing shared by proxyctl's admin commands: flags in any order among the
 * positional arguments ("--name VALUE", "--name=VALUE", or a bare switch), "--" ending the
 * flags, --help/-h; plus the value parsers the flags need (counts, Go-style durations).
 * Threading: none. Errors: each parser prints its usage error on stderr itself.
 */
#ifndef CONCORD_CTL_CMDLINE_H
#define CONCORD_CTL_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One flag: `value` set for a flag taking a value (the pointer is set to the argument),
 * `on` for a switch (set to true). `alias` is an optional second spelling ("-f"). */
struct ctl_opt {
    const char *name;
    const char *alias;
    const char **value;
    bool *on;
};

enum { CTL_ARGS_OK = 0, CTL_ARGS_HELP = 1, CTL_ARGS_BAD = 2 };

/* Parses argv: flags into `opts`, the other arguments into pos[0..max) with their count in
 * *npos. Returns CTL_ARGS_HELP after printing `usage` on stdout for --help/-h, CTL_ARGS_BAD
 * after printing "who: why" and `usage` on stderr (unknown flag, missing value, more than
 * `max` or fewer than `min` positional arguments). */
int ctl_args(const char *who, const char *usage, int argc, char **argv, const struct ctl_opt *opts,
             size_t nopts, const char **pos, int min, int max, int *npos);

/* The exit code for a ctl_args result other than CTL_ARGS_OK (0 for help, 2 for bad). */
int ctl_args_exit(int r);

/* A decimal count without sign into *out. Errors: -EINVAL (empty, not digits), -ERANGE. */
int ctl_parse_u64(const char *s, uint64_t *out);

/* A Go-style duration ("10s", "500ms", "1m30s"; a bare integer is seconds, as everywhere in
 * Concord) into milliseconds. Errors: -EINVAL, -ERANGE (node/base/duration.h). */
int ctl_parse_duration_ms(const char *s, uint64_t *out);

#endif
