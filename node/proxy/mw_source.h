/* The source of a request under a sourceCriterion (inFlightReq, rateLimit): the key their
 * per-source state is filed under (node/proxy internal). */
#ifndef CONCORD_PROXY_MW_SOURCE_H
#define CONCORD_PROXY_MW_SOURCE_H

#include <stddef.h>

#include "node/proxy/mw.h"

/* The key of the request in `m` (request phase only): the value of requestHeaderName as it
 * will be sent, the normalised host for requestHost, else the client address under the
 * ipStrategy (the peer by default). A request with no such value (header absent, no address
 * under the strategy) gets the empty key: all of those share one source, as in Traefik.
 * `buf` (size >= 64) may hold the key; it stays valid while `buf` and the request do. */
void mw_source_key(const struct mw_ctx *m, const struct mwc_source *src, char *buf, size_t size,
                   const char **key, size_t *klen);

/* The shared runtime (mw_runtime()) of inFlightReq and rateLimit begins with this. */
struct srcmap;
struct mw_source_rt {
    struct srcmap *map;
};

/* Sources a middleware of those kinds tracks now (0 before its first request): for tests and
 * statistics. */
size_t mw_source_count(const struct table_middleware *mw);

#endif
