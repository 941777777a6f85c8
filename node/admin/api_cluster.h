/* The admin API's cluster endpoints (/api/cluster/...), on top of node/sync.h. The JSON shapes
 * are the contract scripts rely on (README "Admin API"). Threading: the control loop. */
#ifndef CONCORD_ADMIN_API_CLUSTER_H
#define CONCORD_ADMIN_API_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/admin/admin.h"

struct api_cluster;
struct sync;
struct node;

struct api_cluster *api_cluster_create(struct sync *s, struct node *node);
void api_cluster_destroy(struct api_cluster *ac);

/* An admin_handler_fn (arg: the api_cluster). */
bool api_cluster_handle(void *arg, struct admin_req *r, const struct admin_http *h);
/* An admin_peer_fn (arg: the api_cluster): checks a node-to-node call's MAC. */
bool api_cluster_peer_ok(void *arg, const char *signed_part, size_t len, const uint8_t *body,
                         size_t body_len, const char *mac_hex);

#endif
