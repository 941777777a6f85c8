/* Argument parsing shared by proxyctl's admin commands (cmdline.h). */
#include "ctl/cmdline.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl/cmd.h"
#include "node/base/duration.h"

/* The option argv[*i] names, with its inline "=value" in *inl (NULL when none). */
static const struct ctl_opt *find_opt(const char *a, const struct ctl_opt *opts, size_t nopts,
                                      const char **inl)
{
    for (size_t k = 0; k < nopts; k++) {
        const char *names[2] = {opts[k].name, opts[k].alias};
        for (int j = 0; j < 2; j++) {
            size_t n = names[j] != NULL ? strlen(names[j]) : 0;
            if (n > 0 && strncmp(a, names[j], n) == 0 && (a[n] == '\0' || a[n] == '=')) {
                *inl = a[n] == '=' ? a + n + 1 : NULL;
                return &opts[k];
            }
        }
    }
    return NULL;
}

static int bad(const char *who, const char *usage, const char *what, const char *arg)
{
    fprintf(stderr, "%s: %s \"%s\"\n%s", who, what, arg, usage);
    return CTL_ARGS_BAD;
}

int ctl_args(const char *who, const char *usage, int argc, char **argv, const struct ctl_opt *opts,
             size_t nopts, const char **pos, int min, int max, int *npos)
{
    bool flags = true;
    *npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *inl = NULL;
        const struct ctl_opt *o;
        if (!flags || a[0] != '-' || a[1] == '\0') {
            if (*npos == max) {
                return bad(who, usage, "unexpected argument", a);
            }
            pos[(*npos)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            flags = false;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return CTL_ARGS_HELP;
        }
        if ((o = find_opt(a, opts, nopts, &inl)) == NULL) {
            return bad(who, usage, "unknown flag", a);
        }
        if (o->on != NULL) {
            if (inl != NULL) {
                return bad(who, usage, "this flag takes no value:", a);
            }
            *o->on = true;
            continue;
        }
        if (inl == NULL && i + 1 >= argc) {
            return bad(who, usage, "missing value for", a);
        }
        *o->value = inl != NULL ? inl : argv[++i];
    }
    if (*npos < min) {
        fprintf(stderr, "%s: missing argument\n%s", who, usage);
        return CTL_ARGS_BAD;
    }
    return CTL_ARGS_OK;
}

int ctl_args_exit(int r)
{
    return r == CTL_ARGS_HELP ? CTL_EXIT_OK : CTL_EXIT_USAGE;
}

int ctl_parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (s == NULL || s[0] == '\0') {
        return -EINVAL;
    }
    for (const char *p = s; *p != '\0'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (d > 9) {
            return -EINVAL;
        }
        if (v > (UINT64_MAX - d) / 10) {
            return -ERANGE;
        }
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int ctl_parse_duration_ms(const char *s, uint64_t *out)
{
    if (s == NULL || s[0] == '\0') {
        return -EINVAL;
    }
    return duration_parse_ms(s, out);
}
