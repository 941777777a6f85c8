/* Duration parsing in Traefik's formats. */
#include "node/base/duration.h"

#include <errno.h>
#include <string.h>

static int unit_ns(const char *p, size_t *len, double *mult)
{
    static const struct {
        const char *name;
        double ns;
    } units[] = {{"ns", 1}, {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6},
                 {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
    size_t best = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        size_t n = strlen(units[i].name);
        if (strncmp(p, units[i].name, n) == 0 && n > best) {
            best = n;
            *mult = units[i].ns;
        }
    }
    *len = best;
    return best > 0 ? 0 : -EINVAL;
}

int duration_parse_ms(const char *s, uint64_t *out_ms)
{
    const char *p = s;
    double total_ns = 0;
    int all_digits = 1;

    if (s == NULL || *s == '\0') {
        return -EINVAL;
    }
    if (*s == '-') {
        return -ERANGE;
    }
    if (*s == '+') {
        p++;
    }
    for (const char *q = p; *q; q++) {
        if (*q < '0' || *q > '9') {
            all_digits = 0;
        }
    }
    if (all_digits) {
        uint64_t v = 0;
        for (; *p; p++) {
            if (v > (UINT64_MAX / 10 - 10) / 1000) {
                return -ERANGE;
            }
            v = v * 10 + (uint64_t)(*p - '0');
        }
        *out_ms = v * 1000;
        return 0;
    }
    if (strcmp(p, "0") == 0) {
        *out_ms = 0;
        return 0;
    }
    while (*p) {
        double v = 0, frac = 0, scale = 1;
        int digits = 0;
        size_t ulen;
        double mult;
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (*p++ - '0');
            digits++;
        }
        if (*p == '.') {
            p++;
            while (*p >= '0' && *p <= '9') {
                frac = frac * 10 + (*p++ - '0');
                scale *= 10;
                digits++;
            }
        }
        if (digits == 0 || unit_ns(p, &ulen, &mult) != 0) {
            return -EINVAL;
        }
        p += ulen;
        total_ns += (v + frac / scale) * mult;
        if (total_ns > 9.2e18) {
            return -ERANGE;
        }
    }
    uint64_t ms = (uint64_t)(total_ns / 1e6);
    if (ms == 0 && total_ns > 0) {
        ms = 1;
    }
    *out_ms = ms;
    return 0;
}
