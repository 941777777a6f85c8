/* The Docker provider's pure part: running containers (as the Engine API's inspect documents)
 * into one Config, with Traefik's Docker semantics. No I/O, so it is unit-tested without a
 * daemon; providers/docker.c fetches the documents and emits the result.
 *
 * Per container (Traefik's order, written from its documentation and behaviour):
 * - Its name is the inspect "Name" without the leading "/"; its service name is
 *   normalize(name), or normalize("<com.docker.compose.service>_<com.docker.compose.project>")
 *   when both Compose labels are set. normalize() joins the runs of letters and digits with "-".
 * - `traefik.enable` (a boolean; default exposedByDefault) and the constraints decide whether it
 *   is considered. A container whose health check is not "healthy" (starting, unhealthy) is
 *   skipped unless allowEmptyServices, in which case its services are kept with no server.
 * - Its labels are decoded by labels_decode (LABELS_DOTS, source "container NAME"). A container
 *   with no http service gets one named after its service name. Each load-balancer service gets
 *   the container's server: "<scheme>://<ip>:<port>"; the port is the `server.port` label or the
 *   lowest port in NetworkSettings.Ports; the ip is the one on the network named by the
 *   `traefik.docker.network` label or the `network` option (else the first network by name); a
 *   host-network container uses `host_ip` (the node's advertised address); a
 *   "container:<id|name>" network mode uses that container's. useBindPortIP: the host binding
 *   of the port when it names a specific IP. A `server.url` label is used as written (and may not
 *   be combined with `server.port` or `server.scheme`).
 * - A container with no http router gets one named after its service name (unless it has more
 *   than one service); a router without a rule gets the defaultRule rendered for it; a router
 *   without a service gets the container's only service (several: the router is dropped).
 * - defaultRule templates: Go template actions limited to `{{ .Name }}`, `{{ .ContainerName }}`,
 *   `{{ index .Labels "key" }}`, and each of those wrapped in `normalize` (as `normalize X` or
 *   `normalize (X)`). Any other action is an error for that container's default router.
 * Merging (Traefik's): containers are taken in name order; a service defined by several
 * containers with the same settings gets the union of their servers (by URL); routers,
 * middlewares and servers transports of one name must be identical, else the object is dropped.
 * Problems with one container (bad labels, no IP, no port, an ambiguous router, a template) are
 * DIAG_ERRORs naming the container, and that container (or router) is left out; the others go
 * on: one bad container never hides the rest (DESIGN.md "Bad config").
 * Ownership: *out belongs to the caller (decode_config_free). Threading: none.
 */
#ifndef CONCORD_PROVIDERS_DOCKER_DECODE_H
#define CONCORD_PROVIDERS_DOCKER_DECODE_H

#include <stdbool.h>

#include "node/base/diag.h"
#include "proto/config.pb-c.h"
#include "providers/docker_constraints.h"
#include "providers/doc.h"
#include "providers/docker_template.h"

#define DOCKER_DEFAULT_RULE "Host(`{{ normalize .Name }}`)"

struct docker_opts {
    bool exposed_by_default;
    const char *default_rule;                    /* NULL: DOCKER_DEFAULT_RULE */
    const struct docker_constraint *constraints; /* NULL: every container */
    const char *network;                         /* NULL or "": none preferred */
    bool use_bind_port_ip;
    bool allow_empty_services;
};

/* `containers` is a list of inspect documents (GET /containers/{id}/json); NULL or an empty
 * list gives an empty Config. On success *out is a Config (http allocated).
 * Errors: -EINVAL when `containers` is not a list (reported in d); per-container problems are
 * reported in d and do not fail the call. */
int docker_decode(const struct doc_node *containers, const struct docker_opts *o,
                  const char *host_ip, Concord__Config__Config **out, struct diags *d);

#endif
