/* Compiles the canonical configuration (proto) into a table generation. All semantic
 * validation of dynamic configuration lives here; it also runs as a dry run (no table built)
 * for `proxyctl check`. Only compile*.c of node/table see proto types.
 *
 * Objects with a semantic error (bad rule, dangling service reference, bad server URL) are
 * disabled and reported in `d` with their file:line:col (from the proto Mark) and key path;
 * the rest is compiled. Names are namespaced: an object `x` of source namespace `file` becomes
 * `x@file`; a reference without '@' means the same namespace.
 * What else is checked, and what becomes of it:
 *  - services: loadBalancer servers "http://host[:port][/path]" (https: error until TLS
 *    support); host is an IP literal or a name, resolved here with getaddrinfo (or o->resolve);
 *    a name that does not resolve is a warning and leaves the server unresolved (addrlen 0);
 *    weight defaults to 1, 0 means "never chosen" and a negative weight is a warning and counts
 *    as 0 (Traefik ignores servers of weight <= 0); a service with no usable server is kept with
 *    a warning (requests to it get 503); serversTransport (namespaced) must name an enabled
 *    http.serversTransports entry; sticky.cookie (name a token, sameSite none/lax/strict);
 *    responseForwarding.flushInterval must be a duration (Concord always flushes at once).
 *  - weighted (children, at least one of positive weight, none negative), mirroring (main
 *    service, mirrors with percent 0..100, at most TABLE_MAX_MIRRORS), failover (service and
 *    fallback): references are namespaced, must exist and be enabled; loops are errors; a
 *    service referencing a disabled one is disabled with an error (compile_svc_kinds.c).
 *  - serversTransports: maxIdleConnsPerHost >= 0, forwardingTimeouts durations.
 *  - routers: rule (rule.h), priority (explicit if non-zero, else strlen(rule); above
 *    INT64_MAX - 1000 is an error, as in Traefik), service (must exist and be enabled),
 *    middlewares (each must exist and be enabled; chains are flattened into the router's list;
 *    a type not supported yet is an error, so no router runs without its auth), ruleSyntax
 *    ("", v3 or v2; anything else is an error), entryPoints (names this node lacks:
 *    warning; none listed: all).
 *  - the same name twice in one namespace: every copy is disabled (merging contributions is
 *    raftstore's job, before compile).
 * A dry run (out == NULL) makes the same checks without resolving host names.
 *
 * Threading: any thread; allocates; may block in getaddrinfo (not in a dry run).
 * Errors: -ENOMEM; -EINVAL for bad options (more than 64 entry points, a source namespace
 * that is empty or holds '@').
 */
#ifndef CONCORD_TABLE_COMPILE_H
#define CONCORD_TABLE_COMPILE_H

#include <stdbool.h>
#include <stdint.h>

#include "node/base/diag.h"
#include "node/base/err.h"
#include "node/table/table.h"
#include "proto/config.pb-c.h"

struct table_source {
    const char *ns; /* "file", "docker", "api", ... */
    const Concord__Config__Config *cfg;
};

/* Resolves a server host name (never called for IP literals) to one TCP address for `port`.
 * Returns 0, or a negative code with e->msg saying why. */
typedef int (*table_resolve_fn)(void *arg, const char *host, uint16_t port,
                                struct sockaddr_storage *addr, uint32_t *addrlen, struct err *e);

/* What an entry point's static config adds to the routers on it (entryPoints.<name>.http).
 *  - middlewares: references run before each router's own middlewares on that entry point
 *    ("x" means "x@<the router's namespace>", as Traefik qualifies them). A router attached to
 *    entry points with different lists is compiled once per distinct list, each copy attached
 *    to its entry points and keeping the router's name (so explain and status show one name;
 *    Traefik names such copies "<ep>-<name>"). A reference that does not resolve disables the
 *    copies that need it, with an error naming the entry point.
 *  - redirections.entryPoint: a router "<ep>-to-<target>@internal" (rule PathPrefix(`/`), no
 *    service, the given priority) whose one middleware "redirect-<ep>-to-<target>@internal" is
 *    a redirectScheme to `redirect_scheme` and `redirect_port`, so every request on that entry
 *    point is redirected (user routers can only win with a higher priority). */
struct table_ep_http {
    const char *const *middlewares;
    uint32_t n_middlewares;
    const char *redirect_to;     /* target's name for the generated names; NULL: no redirection */
    const char *redirect_scheme; /* NULL: "https" */
    uint16_t redirect_port;      /* the target's port; 0: none in the Location */
    bool redirect_permanent;
    int64_t redirect_priority;
};

struct table_compile_opts {
    const char *const *entrypoints; /* names of this node's entry points, index = bit */
    uint32_t n_entrypoints;         /* at most 64 */
    const struct table_ep_http *ep_http; /* NULL, or one per entry point (same index) */
    uint64_t generation;            /* stamped on the table (later: the raft index) */
    table_resolve_fn resolve;       /* NULL: getaddrinfo (tests inject their own) */
    void *resolve_arg;
    /* Files a config refers to (basicAuth.usersFile): NULL reads the disk (offline tools);
     * proxyd reads the copies the proposal carried (DESIGN.md "Files referenced from
     * config"). Returns 0 with a malloc'd *data, or a negative errno. */
    int (*read_file)(void *arg, const char *ns, const char *path, char **data, size_t *len);
    void *read_arg;
};

/* middlewares: every object of http.middlewares is compiled by its type (compile_mw.h);
 * one with an error is disabled, and so is every chain and router that uses it. */

/* Builds a table from the sources (out may be NULL for a dry run). Returns 0 when a table was
 * built (possibly with disabled objects reported in `d`), or a negative code. Diagnostics are
 * appended to `d` (NULL: not kept): services before routers, each in name order. */
int table_compile(const struct table_source *srcs, uint32_t nsrcs,
                  const struct table_compile_opts *o, struct table **out, struct diags *d);

#endif
