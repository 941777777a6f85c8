/* Choosing the server for a request (node/proxy internal): walks a service down to a
 * loadBalancer and one of its servers. Pure: no I/O and no clock, so tests drive it directly.
 *
 *  - loadBalancer: smooth weighted round robin over the servers of positive weight;
 *  - weighted: smooth weighted round robin over the children, then recursively;
 *  - failover: `main` while it has a usable server, else `fallback`. "Usable" means a server of
 *    positive weight whose address resolved: health checks do not exist yet, so failover
 *    switches only when the main service has no such server at all;
 *  - mirroring: `main` serves; the mirrors to copy this request to are chosen by a counter
 *    (not at random, so that tests are exact): of every 100 requests through the mirroring
 *    service, exactly `percent` are copied to a mirror, spread evenly. Only the first
 *    mirroring service on the way is reported (nested mirroring copies nothing more).
 *  - sticky (loadBalancer or weighted with sticky.cookie): a request whose cookie names a
 *    server (or child) still in the service with positive weight goes there; otherwise the pick
 *    is normal and the cookie to set is reported. The value is table_sticky_value() of the
 *    server URL (child service name as written): every node derives the same value, so no
 *    state is shared. Like Traefik v3, the older values are still honoured (the raw name, its
 *    FNV-1 64 hash in hex, and that hash hashed again), and then the cookie is rewritten.
 *
 * State: round robin positions and mirroring counters, per service of one table generation,
 * owned by one worker (no lock; each worker spreads its own requests evenly).
 */
#ifndef CONCORD_PROXY_BALANCE_H
#define CONCORD_PROXY_BALANCE_H

#include <stddef.h>
#include <stdint.h>

#include "node/http/h1_parse.h"
#include "node/table/table.h"

struct balance {
    int64_t *cur;  /* per service: current weights (LB, weighted) or a counter (mirroring) */
    uint32_t *off; /* service id -> first slot in cur */
    uint32_t nservices;
};

/* State for every service of `t` (all zero). Returns 0 or -ENOMEM. */
int balance_init(struct balance *b, const struct table *t);
void balance_fini(struct balance *b);

/* Sticky cookies to set on the response: the outer service's first (at most 2 levels). */
#define BAL_MAX_COOKIES 2

struct bal_cookie {
    const struct table_cookie *ck;
    const char *value; /* TABLE_STICKY_LEN hex digits, in the (pinned) table */
};

struct bal_pick {
    const struct table_server *server;
    const struct table_service *leaf;      /* the loadBalancer that owns `server` */
    const struct table_service *mirroring; /* first mirroring service passed, or NULL */
    uint64_t mirror_mask;                  /* bit i: mirroring->mirrors[i] gets a copy */
    struct bal_cookie set[BAL_MAX_COOKIES];
    uint32_t nset;
};

/* Picks a server of `s` for a request with header lines `hdrs` (its Cookie fields are read;
 * NULL/0: none). Returns 0, or -ENOENT when no server can be chosen (answer 503); out->leaf is
 * then the loadBalancer that had none, when one was reached. */
int balance_pick(struct balance *b, const struct table_service *s, const struct h1_header *hdrs,
                 uint32_t nhdrs, struct bal_pick *out);

/* Another pick for a request that already had one (a retry): no sticky cookie is read, and a
 * mirroring service on the way neither counts the request again nor reports mirrors (the
 * first pick decided those). Returns as balance_pick. */
int balance_repick(struct balance *b, const struct table_service *s, struct bal_pick *out);

/* Whether `s` has a usable server (see failover above). */
bool balance_usable(const struct table_service *s);

/* The value of cookie `name` among the Cookie fields; NULL when absent. */
const char *balance_cookie_get(const struct h1_header *hdrs, uint32_t nhdrs, const char *name,
                               uint32_t *vlen);

/* "Set-Cookie: name=value; Path=/; ...\r\n" into buf; returns its length, or 0 when it does
 * not fit. Attributes in Go's order: Path, Domain, Max-Age, HttpOnly, Secure, SameSite. */
size_t balance_set_cookie(const struct bal_cookie *c, char *buf, size_t size);

#endif
