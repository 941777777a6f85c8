/* The Traefik-compatible reads of the admin API, against the node's live state:
 *   GET /api/overview                      counts of routers, services and middlewares (total,
 *                                          warnings, errors), features, providers
 *   GET /api/http/routers[/{name}]         and the same for services and middlewares: lists
 *   GET /api/http/services[/{name}]        sorted by name, each object with "name", "provider",
 *   GET /api/http/middlewares[/{name}]     "status" (enabled|warning|disabled), "error" (the
 *                                          compile's diagnostics), "usedBy"/"using"; lists take
 *                                          ?search= (substring of the name, any case) and
 *                                          ?status=, routers also ?serviceName= and
 *                                          ?middlewareName= (no pagination: one page)
 *   GET /api/rawdata                       everything, keyed by name (Traefik's runtime shape)
 * Disabled objects (a compile error) are listed too, with their errors, as Traefik does. A
 * {name} may be percent-encoded ("web%40file"); an unknown one is 404 {"error": ...}. Other
 * methods on these paths are 405. The caller checks the token first.
 *
 * Threading: the control thread (node_view's rule). Ownership: r->body is malloc'd.
 */
#ifndef CONCORD_ADMIN_API_HTTP_H
#define CONCORD_ADMIN_API_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "node/node.h"

struct api_reply {
    int status;
    char *body; /* JSON */
    size_t len;
};

/* Returns true when `path` (without the query) is one of the endpoints above, with *r filled
 * (status 500 and a NULL body when out of memory); false otherwise (*r untouched). */
bool api_http_serve(const struct node_view *v, bool is_get, const char *path, size_t plen,
                    const char *query, size_t qlen, struct api_reply *r);

#endif
