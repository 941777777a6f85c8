/* CIDR parsing and matching. */
#include "node/base/cidr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int cidr_parse(const char *s, struct cidr *out)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    long bits;
    int max;

    if (n == 0 || n >= sizeof buf) {
        return -EINVAL;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        max = 128;
    } else {
        return -EINVAL;
    }
    bits = max;
    if (slash) {
        char *end;
        if (slash[1] < '0' || slash[1] > '9') {
            return -EINVAL;
        }
        bits = strtol(slash + 1, &end, 10);
        if (*end != '\0' || bits < 0 || bits > max) {
            return -EINVAL;
        }
    }
    out->prefix = (uint8_t)bits;
    for (int i = 0; i < max / 8; i++) {
        int keep = (int)bits - i * 8;
        if (keep <= 0) {
            out->addr[i] = 0;
        } else if (keep < 8) {
            out->addr[i] &= (uint8_t)(0xff << (8 - keep));
        }
    }
    return 0;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;
    if (memcmp(a, b, full) != 0) {
        return false;
    }
    if (rest == 0) {
        return true;
    }
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

bool cidr_contains(const struct cidr *c, int family, const void *addr)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    const uint8_t *a = addr;
    /* Only against an IPv4 range: "::ffff:0:0/96" written as IPv6 still matches as IPv6. */
    if (family == AF_INET6 && c->family == AF_INET && memcmp(a, mapped, 12) == 0) {
        family = AF_INET;
        a += 12;
    }
    if (family != c->family) {
        return false;
    }
    return prefix_equal(a, c->addr, c->prefix);
}
