/* Duration parsing in Traefik's formats. */
#include "node/base/duration.h"

#include <errno.h>
#include <string.h>

/* Go's limit: a time.Duration is an int64 count of nanoseconds. */
#define MAX_NS ((uint64_t)INT64_MAX)

static int unit_ns(const char *p, size_t *len, uint64_t *mult)
{
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {
        {"ns", 1},           {"us", 1000},      {"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
        {"\xce\xbcs", 1000}, /* U+03BC Greek mu, which Go accepts too */
        {"ms", 1000000},     {"s", 1000000000}, {"m", 60000000000},  {"h", 3600000000000}};
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

/* A bare integer: seconds, within Go's int64-nanosecond range. */
static int parse_seconds(const char *p, uint64_t *out_ms)
{
    uint64_t v = 0;
    if (*p == '\0') {
        return -EINVAL;
    }
    for (; *p; p++) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > MAX_NS / 1000000000) {
            return -ERANGE;
        }
    }
    *out_ms = v * 1000;
    return 0;
}

/* One "<number><unit>" component into nanoseconds, added to *total; integer arithmetic so that
 * "2.3s" is exactly 2300 ms (Go computes the fraction the same way). */
static int parse_component(const char **pp, uint64_t *total)
{
    const char *p = *pp;
    uint64_t v = 0, frac = 0, scale = 1, mult;
    int digits = 0, overflow = 0;
    size_t ulen;

    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        overflow |= v > (MAX_NS - 9) / 10;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
            if (scale <= MAX_NS / 100) { /* extra digits are below a nanosecond anyway */
                frac = frac * 10 + (uint64_t)(*p - '0');
                scale *= 10;
            }
        }
    }
    if (digits == 0 || unit_ns(p, &ulen, &mult) != 0) {
        return -EINVAL;
    }
    if (overflow || v > MAX_NS / mult) {
        return -ERANGE;
    }
    v = v * mult + (uint64_t)((double)frac * ((double)mult / (double)scale));
    if (v > MAX_NS - *total) {
        return -ERANGE;
    }
    *total += v;
    *pp = p + ulen;
    return 0;
}

int duration_parse_ms(const char *s, uint64_t *out_ms)
{
    const char *p = s;
    uint64_t total_ns = 0;
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
        return parse_seconds(p, out_ms);
    }
    while (*p) {
        int rc = parse_component(&p, &total_ns);
        if (rc != 0) {
            return rc;
        }
    }
    *out_ms = total_ns / 1000000;
    if (*out_ms == 0 && total_ns > 0) {
        *out_ms = 1;
    }
    return 0;
}
