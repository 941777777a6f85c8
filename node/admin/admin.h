/* The admin HTTP listener on the control thread: `/ping` (200 when ready, 503 while starting
 * or draining), `/api/version`, and the Traefik-compatible reads of api_http.h (against the
 * view given to admin_set_view); the cluster API (api_*.c) plugs in here later. Every path
 * except /ping needs `Authorization: Bearer <token>` (401 otherwise).
 *
 * Threading: everything runs on the loop given to admin_start(). Ownership: the admin object
 * frees itself after admin_close() once its handles are closed.
 * Errors: -EINVAL for a bad address, -errno from bind/listen (detail in `e`).
 */
#ifndef CONCORD_ADMIN_ADMIN_H
#define CONCORD_ADMIN_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "node/base/err.h"

struct admin;
struct node_view; /* node/node.h */

/* Fills *out with the node's live state (called on the loop's thread, per request). */
typedef void (*admin_view_fn)(void *arg, struct node_view *out);

/* Binds `address` ("127.0.0.1:9900", port 0 allowed) and logs
 * "listener admin addr=IP:PORT". `token` is copied. Starts not ready (503 on /ping). */
int admin_start(uv_loop_t *loop, const char *address, const char *token, const char *version,
                struct admin **out, struct err *e);

void admin_set_ready(struct admin *a, bool ready);

/* A request handed to the cluster handler (node/admin/api_cluster.c): it answers exactly once
 * with admin_reply(), now or later (the connection is kept until then, even if the client
 * left). */
struct admin_req;
struct admin_http {
    const char *method;
    size_t method_len;
    const char *path; /* the target up to '?' */
    size_t plen;
    const char *query; /* after '?', not decoded */
    size_t qlen;
    const char *content_type; /* the Content-Type field's value, NUL-terminated ("" if none) */
    const uint8_t *body; /* NULL when none; NUL-terminated */
    size_t body_len;
    bool peer; /* authenticated by the cluster secret (a node), not by the token */
};
/* Returns true when it took the request (and will call admin_reply), false to let the built-in
 * reads answer. Called after authentication, for every path but /ping. */
typedef bool (*admin_handler_fn)(void *arg, struct admin_req *r, const struct admin_http *h);
void admin_set_handler(struct admin *a, admin_handler_fn fn, void *arg);
void admin_reply(struct admin_req *r, int status, const char *ctype, const void *body,
                 size_t len);

/* Checks a node-to-node call: `signed_part` ("METHOD TARGET\nTIME\n") then the body under
 * the 64-hex-digit `mac`. */
typedef bool (*admin_peer_fn)(void *arg, const char *signed_part, size_t len,
                              const uint8_t *body, size_t body_len, const char *mac);
void admin_set_peer(struct admin *a, admin_peer_fn fn, void *arg);

/* "127.0.0.1:PORT" as bound (port 0 resolved). */
const char *admin_bound_address(const struct admin *a);

/* Where the /api/http, /api/overview and /api/rawdata reads get the node's state; until it is
 * set they answer 503. */
void admin_set_view(struct admin *a, admin_view_fn fn, void *arg);

/* Stops listening and closes open admin connections; the object is freed asynchronously. */
void admin_close(struct admin *a);

/* Reads the token from `path` (first line, whitespace trimmed) or, when `path` is NULL,
 * creates `<data_dir>/admin.token` (mode 0600, 32 random bytes in hex) unless it exists, and
 * reads that. `*out` is malloc'd. Errors: -errno, -EINVAL for an empty token. */
int admin_token_load(const char *path, const char *data_dir, char **out, char **used_path,
                     struct err *e);

#endif
