/* The routing table: one immutable, reference-counted generation compiled from the dynamic
 * configuration. Workers read it without locks; the control thread builds a new one and
 * publishes it (hot swap). Nothing here changes after table_compile() returns.
 *
 * Threading: table_match() and the accessors are safe from any thread on a table that is
 * referenced; table_ref/unref are atomic. The last unref frees the generation.
 */
#ifndef CONCORD_TABLE_TABLE_H
#define CONCORD_TABLE_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct table;
struct table_middleware; /* node/table/mw_conf.h */
struct rule;      /* compiled rule expression (node/table/rule.h) */
struct h1_header; /* one received header line (node/http/h1_parse.h) */

/* One upstream endpoint. Servers are shared: every service listing the same URL (byte for
 * byte) points at the same table_server, so workers can key connection pools by `id`. Ids are
 * per generation (a new table may number them differently); key by `url` across swaps. */
struct table_server {
    char *url;       /* as configured, e.g. "http://127.0.0.1:8081" */
    char *authority; /* "127.0.0.1:8081": the Host sent upstream when passHostHeader is false */
    struct sockaddr_storage addr;
    uint32_t addrlen; /* 0: the host name did not resolve (warning at compile; answer 502) */
    uint32_t weight;  /* weight in the first service listing this URL; balancers must use
                         table_service.weights, since services may weigh a shared server apart */
    uint32_t id;      /* index into the table's servers, 0..table_nservers()-1 */
    char *path;       /* path of the URL ("" when none); Traefik forwards it only with
                         preservePath, which the config does not carry yet */
};

/* http.serversTransports.<name>: how a service's upstream connections behave. A field not
 * set in the config (has_* false) takes the node's static default (proxy_config). */
struct table_transport {
    char *name; /* "name@namespace" */
    uint64_t dial_timeout_ms;            /* 0: no deadline */
    uint64_t response_header_timeout_ms; /* 0: no deadline */
    uint64_t idle_conn_timeout_ms;       /* 0: idle connections are kept until closed */
    uint32_t max_idle_per_host;
    bool has_dial, has_response_header, has_idle, has_max_idle;
};

/* sticky.cookie of a loadBalancer or weighted service. */
struct table_cookie {
    char *name;      /* as configured, else Traefik's default name derived from the service */
    char *same_site; /* "" (not sent), "none", "lax" or "strict" */
    char *path;      /* default "/" */
    char *domain;    /* "" = not sent */
    int32_t max_age; /* 0 = not sent (session cookie); < 0 sends Max-Age=0 (Traefik) */
    bool secure, http_only;
};

enum table_service_kind {
    TABLE_SVC_LB,        /* loadBalancer: servers */
    TABLE_SVC_WEIGHTED,  /* weighted: children with weights */
    TABLE_SVC_MIRRORING, /* mirroring: main serves, mirrors get copies */
    TABLE_SVC_FAILOVER,  /* failover: main unless it has no usable server, then fallback */
};

/* A sticky cookie value: table_sticky_value() of a server URL or a child service name. */
#define TABLE_STICKY_LEN 16

struct table_child {
    const struct table_service *svc;
    uint32_t weight;                      /* 0 = never chosen */
    const char *ref;                      /* the name as written in the config (Traefik's) */
    char sticky[TABLE_STICKY_LEN + 1];    /* table_sticky_value(ref) */
};

struct table_mirror {
    const struct table_service *svc;
    uint32_t percent; /* 0..100 */
};

struct table_service {
    char *name; /* "name@namespace" */
    struct table_server **servers;
    uint32_t nservers;
    bool pass_host_header; /* Traefik default true */
    uint32_t id;           /* index, 0..table_nservices()-1 */
    uint32_t *weights;     /* weights[i] for servers[i]; 0 = never chosen (Traefik skips
                              servers of weight <= 0); default 1 */
    enum table_service_kind kind;
    /* LB: sticky[i] = table_sticky_value(servers[i]->url), the sticky cookie value. */
    char (*sticky_values)[TABLE_STICKY_LEN + 1];
    /* WEIGHTED */
    struct table_child *children;
    uint32_t nchildren;
    /* MIRRORING: `main` serves the client; FAILOVER: `main`, else `fallback`. */
    const struct table_service *main;
    const struct table_service *fallback;
    struct table_mirror *mirrors; /* at most TABLE_MAX_MIRRORS */
    uint32_t nmirrors;
    bool mirror_body;       /* Traefik default true */
    int64_t max_body_size;  /* -1 = no limit (Traefik default) */
    /* LB and WEIGHTED: NULL = not sticky. */
    const struct table_cookie *sticky;
    /* LB: NULL = the node's static transport settings. */
    const struct table_transport *transport;
};

#define TABLE_MAX_MIRRORS 32

/* The sticky cookie value of a server URL or a child service name, as Traefik v3 writes it:
 * the first 16 lower-case hex digits of SHA-256(name). */
void table_sticky_value(const char *name, char out[TABLE_STICKY_LEN + 1]);

struct table_router {
    char *name;       /* "name@namespace" */
    char *rule;       /* source text */
    int64_t priority; /* explicit, else strlen(rule) */
    const struct rule *compiled;
    const struct table_service *service;
    uint64_t entrypoints; /* bit i set: attached to entry point i of the compile options */
    /* Middlewares in the order they run (entry point defaults first, chains flattened);
     * nmws == 0 for most routers, and then the data path does no middleware work at all. */
    const struct table_middleware *const *mws;
    uint32_t nmws;
};

/* What a request looks like to the matchers, already normalised by the caller
 * (host lower-cased, port and trailing dot stripped; path per traefik-rules.md). Fields a
 * caller leaves zero simply never match (no method, no header, no query, unknown client). */
struct table_request {
    const char *host;
    uint32_t host_len;
    const char *path;
    uint32_t path_len;
    uint32_t entrypoint; /* index in the compile options' entry point list */
    const char *method;  /* as received, case preserved ("GET") */
    uint32_t method_len;
    uint32_t nheaders;
    const struct h1_header *headers; /* every header line as received (name case kept) */
    const char *query;               /* raw query after '?' (without it); NULL: none */
    uint32_t query_len;
    int client_family;       /* AF_INET, AF_INET6 or 0 (unknown: ClientIP never matches) */
    uint8_t client_addr[16]; /* network order; AF_INET uses the first 4 bytes */
};

/* Only enabled objects are in a table: routers and services with a semantic error are left out
 * and exist only as compile diagnostics. A service may have no server (answer 503); a router
 * may be attached to no entry point of this node (entrypoints == 0, never matched). */

/* The highest-priority enabled router attached to r->entrypoint whose rule matches; ties go to
 * the router whose name sorts first. NULL when none matches (the caller answers 404). */
const struct table_router *table_match(const struct table *t, const struct table_request *r);

/* table_request.entrypoint for table_explain(): routers of every entry point are candidates. */
#define TABLE_ENTRYPOINT_ANY UINT32_MAX

/* Called by table_explain() for each router tried; `reason` is rule_explain()'s text when the
 * router did not match, NULL when it did. */
typedef void (*table_explain_fn)(void *arg, const struct table_router *rt, bool matched,
                                 const char *reason);

/* table_match() that shows its work (for `proxyctl route explain`): visits the routers
 * attached to r->entrypoint (every router attached to some entry point when it is
 * TABLE_ENTRYPOINT_ANY) in match order, stopping after the first that matches; routers after
 * it are not visited. Returns true when one matched: with a real entry point, the router
 * table_match() returns. Slower than table_match() (it formats reasons): not for the hot path. */
bool table_explain(const struct table *t, const struct table_request *r, table_explain_fn visit,
                   void *arg);

void table_ref(struct table *t);
void table_unref(struct table *t); /* NULL is allowed */

uint64_t table_generation(const struct table *t);
uint32_t table_nservers(const struct table *t);
uint32_t table_nservices(const struct table *t);
uint32_t table_nrouters(const struct table *t);
uint32_t table_nmiddlewares(const struct table *t);
/* Middlewares in name order; NULL when out of range / unknown. */
const struct table_middleware *table_middleware_at(const struct table *t, uint32_t i);
const struct table_middleware *table_middleware_find(const struct table *t, const char *name);
/* Routers in match order (priority descending, then name ascending); NULL when out of range. */
const struct table_router *table_router_at(const struct table *t, uint32_t i);
const struct table_server *table_server_at(const struct table *t, uint32_t i);
/* Services are numbered in name order; NULL when i is out of range or the name is unknown. */
const struct table_service *table_service_at(const struct table *t, uint32_t i);
const struct table_service *table_service_find(const struct table *t, const char *name);

#endif
