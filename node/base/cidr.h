/* IPv4/IPv6 addresses and CIDR ranges (trustedIPs, ClientIP, ipAllowList). */
#ifndef CONCORD_BASE_CIDR_H
#define CONCORD_BASE_CIDR_H

#include <stdbool.h>
#include <stdint.h>

struct cidr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    uint8_t prefix; /* bits; a bare address has 32 or 128 */
};

/* Parses "10.0.0.0/8", "192.168.1.7", "::1", "fd00::/8". Host bits beyond the prefix are
 * cleared. Returns 0 or -EINVAL. */
int cidr_parse(const char *s, struct cidr *out);

/* True when `addr` (in_addr or in6_addr bytes of `family`) is inside `c`; an IPv4-mapped IPv6
 * address (::ffff:a.b.c.d) is compared as IPv4. */
bool cidr_contains(const struct cidr *c, int family, const void *addr);

#endif
