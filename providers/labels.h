/* Flat key/value dynamic configuration (Docker labels, KV stores such as etcd) decoded into the
 * same Config message the file provider produces.
 *
 * Traefik writes its dynamic configuration as flat keys in two syntaxes:
 *   LABELS_DOTS     traefik.http.routers.r1.rule=Host(`a`)             (Docker, Swarm, ...)
 *   LABELS_SLASHES  traefik/http/routers/r1/rule -> Host(`a`)         (etcd, Consul, Redis, ...)
 * The keys are turned into a doc tree (providers/doc.h), one map per segment, and decoded by
 * decode_dynamic(): every key, type and error the YAML decoder knows applies unchanged, and this
 * module knows only the shape of flat keys, not Traefik's schema. How flat forms map to YAML:
 * - Keys are case-insensitive (the decoder matches schema keys so); segments spelled in two
 *   cases are one key, kept as first written in key order. Object names (the segment after
 *   http.routers, http.services, http.middlewares, *.serversTransports, tcp.*, udp.*,
 *   tls.options, tls.stores) are exact: "Web" and "web" are two routers.
 * - Lists of strings are comma-separated values ("web, websecure"), or indexed keys.
 * - Lists of objects are indexed: `domains[0].main` (dots) or `servers/0/url` (slashes, where
 *   every numeric segment below an object name is an index; a numeric label segment is a map
 *   key, e.g. a status code). Indices are ordered numerically; gaps close.
 * - A value "true" (any case) on a key that names an object means that object with its defaults
 *   (`middlewares.m.compress=true`, `routers.r.tls=true`); beside sub-keys of the same object it
 *   is redundant and dropped. "false" there means no object (`routers.r.tls=false`). Any other
 *   value beside sub-keys is an error. On other keys both are plain booleans.
 * - Labels only: `<proto>.services.<s>.loadbalancer.server.<opt>` is the one server of the
 *   container: `url`, `weight` and `preservepath` go to servers[0]; `port` and `scheme` need
 *   the container's address, so for http services they are returned to the caller in
 *   struct labels_server (and dropped for tcp/udp, which are not supported yet).
 * - Map entries are sorted (object names by strcmp after the key order), so the Config does
 *   not depend on the order the labels came in (Docker gives them as an unordered map).
 * Keys outside `<root>.` are ignored. With LABELS_DOTS, `traefik.enable` and `traefik.docker.*`
 * are ignored too: they belong to the Docker provider, which reads them itself.
 * Marks: every node is marked with the source name and line 0, so a diagnostic reads
 * "container web-1: http.routers.r1.priority: expected an integer, got \"abc\"" (the key path
 * is the label's without the root, in the label's spelling; a `server` label appears as
 * `servers[0]`).
 * Bad config: as decode_dynamic (the set is refused whole on any error; warnings for the
 * recognised keys not supported yet). Errors of the flat form itself (a key given twice, a value
 * beside sub-keys, an empty segment, a bad index) are reported the same way.
 * Ownership: *out and the labels_servers arrays belong to the caller.
 * Threading: none.
 */
#ifndef CONCORD_PROVIDERS_LABELS_H
#define CONCORD_PROVIDERS_LABELS_H

#include <stddef.h>

#include "node/base/diag.h"
#include "proto/config.pb-c.h"

struct label_kv {
    const char *key;
    const char *value;
};

enum labels_syntax { LABELS_DOTS, LABELS_SLASHES };

struct labels_opts {
    enum labels_syntax syntax;
    const char *root;   /* first segment, matched case-insensitively; NULL = "traefik" */
    const char *source; /* names the set in diagnostics and marks, e.g. "container web-1" */
};

/* `loadbalancer.server.port|scheme` of one http service (labels only). The Docker provider
 * gives such a service its container's address: a service whose load balancer has no server,
 * or whose servers[0].url is "", gets "<scheme or http>://<container ip>:<port or the exposed
 * one>". Whether url and port may be combined is the caller's rule. */
struct labels_server {
    char *service; /* the service name as written */
    char *port;    /* NULL when not given */
    char *scheme;  /* NULL when not given */
};

struct labels_servers {
    struct labels_server *v;
    size_t n;
};

/* Decodes n key/value pairs. `servers` may be NULL (a KV source); then a `server.port` or
 * `server.scheme` label is reported as a warning and ignored. On success *out is a Config (http
 * allocated, possibly empty) and servers (if given) lists the hints; on error both are empty.
 * Errors: -EINVAL (with at least one DIAG_ERROR in d; *out NULL). Warnings never refuse. */
int labels_decode(const struct label_kv *kv, size_t n, const struct labels_opts *o,
                  Concord__Config__Config **out, struct labels_servers *servers, struct diags *d);

/* Frees what labels_decode put in `s` and empties it (an empty or zeroed one is fine). */
void labels_servers_fini(struct labels_servers *s);

#endif
