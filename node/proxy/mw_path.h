/* Helpers shared by the path and redirect middlewares (node/proxy internal): making a
 * rewritten path safe for the request line, the request URL as a client would write it, and
 * the redirect reply. */
#ifndef CONCORD_PROXY_MW_PATH_H
#define CONCORD_PROXY_MW_PATH_H

#include <stdbool.h>
#include <stdint.h>

#include "node/proxy/mw.h"

/* A request-target path from rewritten text `s`: a leading '/' when missing, and the bytes a
 * path may not hold on the wire (controls, space, '?', '#', '"', '<', '>', '\\', '^', '`',
 * '{', '|', '}', non-ASCII) percent-encoded, as Go's URL.EscapedPath does for a RawPath that
 * is not a valid encoding. A '%' not followed by two hex digits makes it fail (Traefik answers
 * 500 there). The result is mw_alloc'd. Returns false on a bad escape or ENOMEM. */
bool mw_path_encode(struct mw_ctx *m, const char *s, uint32_t n, const char **out,
                    uint32_t *outlen);

/* "scheme://authority/path?query" of the request as it stands (mw_alloc'd, NUL-terminated);
 * NULL on ENOMEM. */
char *mw_request_url(struct mw_ctx *m, uint32_t *len);

/* Answers with a redirect to `location` (copied): 301/302 for GET, 308/307 for other methods
 * (as Traefik's redirect middlewares), the status text as the body (none for HEAD). A location
 * holding control characters gets 500 instead. Always returns MW_STOP. */
enum mw_result mw_redirect(struct mw_ctx *m, const char *location, uint32_t len, bool permanent);

#endif
