/* Hooks of the middlewares that change the exchange's flow (node/proxy internal): retry,
 * errors, compress and buffering. The exchange (exchange.c) calls these at a few points; the
 * decisions and their state live in mw_retry.c, mw_errors.c, mw_compress.c, mw_buffering.c.
 * Every hook answers "nothing to do" (false, NULL, 0) for a context without such a
 * middleware, and all take a NULL context.
 */
#ifndef CONCORD_PROXY_MW_FLOW_H
#define CONCORD_PROXY_MW_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/proxy/mw.h"

/* ---- retry (mw_retry.c; also buffering's retryExpression) ---- */

/* Counts one failed attempt of the exchange (the upstream failed before any response byte).
 * True when the retry policy allows another attempt, to start after *delay_ms. The outermost
 * retry (or buffering retryExpression) middleware of the router decides. */
bool mw_retry_next(struct mw_ctx *m, uint64_t *delay_ms);
/* The wait before retry `k` (1: the first retry): initial, then doubling, capped at twice the
 * initial interval (Traefik: "the maximum interval is calculated as twice the
 * initialInterval"). */
uint64_t mw_retry_backoff(uint64_t initial_ms, uint32_t k);

/* ---- errors (mw_errors.c) ---- */

/* Whether `status` is in the middleware's ranges. */
bool mw_errors_status_in(const struct mwc_errors *e, int status);
/* The innermost errors middleware (that ran) whose ranges hold `status`, or NULL. */
const struct mwc_errors *mw_errors_match(const struct mw_ctx *m, int status);
/* The page's target: query with {status}, {originalStatus} and {url} (the request URL as the
 * middleware saw it, query-escaped) filled in. Arena string; NULL on ENOMEM. */
char *mw_errors_target(struct mw_ctx *m, const struct mwc_errors *e, int status);
/* The whole request head for the page (GET, HTTP/1.1): Host is the client's unless the
 * error service has passHostHeader false (then `server_authority`); a Via with `via_id` so
 * a page routed back through this proxy cannot loop. malloc'd; NULL on ENOMEM. */
char *mw_errors_head(struct mw_ctx *m, const struct mwc_errors *e, int status,
                     const char *server_authority, const char *via_id, uint32_t *len);

/* ---- compress (mw_compress.c) ---- */

struct mw_gzip;

/* Accept-Encoding: whether gzip (or "*") is acceptable (q > 0). */
bool mw_accepts_gzip(const char *v, uint32_t n);
/* Whether a response of Content-Type `ct` (NULL: none) may be compressed under `z`. */
bool mw_compress_type_ok(const struct mwc_compress *z, const char *ct, uint32_t n);
/* After the response phase: the gzip stream a compress middleware decided on for this
 * response (it already set Content-Encoding and Vary), or NULL. The body then goes out
 * chunked, each piece through mw_gzip_write. */
struct mw_gzip *mw_compress_stream(const struct mw_ctx *m);
/* Deflates `n` bytes and flushes (Z_SYNC_FLUSH, so a streamed response keeps flowing), or
 * ends the stream when `finish`. *out stays valid until the next call (the exchange writes it
 * before feeding more). Returns 0, -ENOMEM or -EIO. */
int mw_gzip_write(struct mw_gzip *g, const char *in, size_t n, bool finish, const char **out,
                  size_t *outlen);
/* For tests and for the exchange's own use: a standalone stream and its end. */
struct mw_gzip *mw_gzip_new(void);
void mw_gzip_free(struct mw_gzip *g);

/* ---- buffering (mw_buffering.c) ---- */

/* The buffering middleware of the router (the outermost that ran), or NULL. */
const struct mwc_buffering *mw_buffering_of(const struct mw_ctx *m);

#endif
