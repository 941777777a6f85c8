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
