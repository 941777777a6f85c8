/* Traefik dynamic configuration: schema tables and the handlers that build Config messages. */
#include "providers/decode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "providers/decode-int.h"
#include "providers/schema.h"
#include "providers/traefik_keys.h"

typedef Concord__Config__Config Config;
typedef Concord__Config__HttpConfig HttpConfig;
typedef Concord__Config__Router Router;
typedef Concord__Config__Service Service;
typedef Concord__Config__LoadBalancer LoadBalancer;
typedef Concord__Config__Server Server;
typedef Concord__Config__Mark Mark;

void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL) {
        abort();
    }
    return p;
}

char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (p == NULL) {
        abort();
    }
    return p;
}

/* Appends to a repeated field; the capacity is implicit (the next power of two), since
 * protobuf-c keeps only the count and frees the array with free(). */
void *append(void *arr, size_t *n, size_t elem_size)
{
    if (*n == 0 || (*n & (*n - 1)) == 0) {
        arr = realloc(arr, (*n ? *n * 2 : 1) * elem_size);
        if (arr == NULL) {
            abort();
        }
    }
    (*n)++;
    return arr;
}

Mark *new_mark(const struct doc_node *n)
{
    Mark *m = xmalloc(sizeof *m);
    concord__config__mark__init(m);
    m->file = xstrdup(n->file);
    m->line = n->line;
    m->col = n->col;
    return m;
}


/* --- typed handlers for protobuf-c fields --- */

void p_str(struct schema_ctx *c, const struct doc_node *v, void *obj,
                  const struct schema_row *r)
{
    const char *s;
    if (doc_read_str(v, c->path, &s, c->d) == 0) {
        char **p = FIELD(char *, obj, r);
        if (*p != protobuf_c_empty_string) {
            free(*p);
        }
        *p = xstrdup(s);
    }
}

void p_i64(struct schema_ctx *c, const struct doc_node *v, void *obj,
                  const struct schema_row *r)
{
    int64_t x;
    if (doc_read_int(v, c->path, INT64_MIN, INT64_MAX, &x, c->d) == 0) {
        *FIELD(int64_t, obj, r) = x;
    }
}

/* An int32 with its has_ flag at off2. */
void p_i32_has(struct schema_ctx *c, const struct doc_node *v, void *obj,
                      const struct schema_row *r)
{
    int64_t x;
    if (doc_read_int(v, c->path, INT32_MIN, INT32_MAX, &x, c->d) == 0) {
        *FIELD(int32_t, obj, r) = (int32_t)x;
        *FIELD2(protobuf_c_boolean, obj, r) = 1;
    }
}

/* A bool with its has_ flag at off2. */
void p_bool_has(struct schema_ctx *c, const struct doc_node *v, void *obj,
                       const struct schema_row *r)
{
    bool b;
    if (doc_read_bool(v, c->path, &b, c->d) == 0) {
        *FIELD(protobuf_c_boolean, obj, r) = b;
        *FIELD2(protobuf_c_boolean, obj, r) = 1;
    }
}

/* A repeated string: char ** at off, size_t count at off2. */
void p_strlist(struct schema_ctx *c, const struct doc_node *v, void *obj,
                      const struct schema_row *r)
{
    char **list;
    size_t n;
    if (doc_read_strlist(v, c->path, &list, &n, c->d) == 0) {
        doc_strlist_free(*FIELD(char **, obj, r), *FIELD2(size_t, obj, r));
        *FIELD(char **, obj, r) = list;
        *FIELD2(size_t, obj, r) = n;
    }
}


/* --- http.services --- */

static const struct schema_row server_rows[] = {
    P_FIELD("url", p_str, Server, url),
    P_PAIR("weight", p_i32_has, Server, weight, has_weight),
    SCHEMA_TODO("preservePath", ""),
    {0},
};

static void lb_servers(struct schema_ctx *c, const struct doc_node *v, void *obj,
                       const struct schema_row *r)
{
    LoadBalancer *lb = obj;
    if (doc_is_null(v)) {
        return;
    }
    if (v->kind != DOC_SEQ) {
        schema_error(c, v, "expected a list, got %s", doc_kind_name(v));
        return;
    }
    for (size_t i = 0; i < v->n; i++) {
        size_t len = schema_push_index(c, i);
        Server *s = xmalloc(sizeof *s);
        concord__config__server__init(s);
        s->mark = new_mark(v->items[i]);
        lb->servers = append(lb->servers, &lb->n_servers, sizeof *lb->servers);
        lb->servers[lb->n_servers - 1] = s;
        if (doc_is_null(v->items[i])) {
            schema_error(c, v->items[i], "expected a map, got null");
        }
        schema_map(c, v->items[i], s, server_rows);
        schema_pop(c, len);
    }
}

static const struct schema_row lb_rows[] = {
    {.key = "servers", .fn = lb_servers},
    P_PAIR("passHostHeader", p_bool_has, LoadBalancer, pass_host_header, has_pass_host_header),
    P_FIELD("serversTransport", p_str, LoadBalancer, servers_transport),
    P_MSG("sticky", LoadBalancer, sticky, &decode_sticky_spec),
    SCHEMA_TODO("strategy", ""),
    SCHEMA_TODO("healthCheck", KEYS_LB_HEALTH_CHECK),
    SCHEMA_TODO("passiveHealthCheck", KEYS_LB_PASSIVE_HEALTH_CHECK),
    P_MSG("responseForwarding", LoadBalancer, response_forwarding,
          &decode_response_forwarding_spec),
    {0},
};

static void svc_load_balancer(struct schema_ctx *c, const struct doc_node *v, void *obj,
                              const struct schema_row *r)
{
    Service *s = obj;
    LoadBalancer *lb = xmalloc(sizeof *lb);
    concord__config__load_balancer__init(lb);
    lb->mark = new_mark(c->key);
    s->kind_case = CONCORD__CONFIG__SERVICE__KIND_LOAD_BALANCER;
    s->load_balancer = lb;
    schema_map(c, v, lb, lb_rows);
}

/* The oneof members share one offset (a union): each row stores at load_balancer's. */
static const struct schema_row service_rows[] = {
    {.key = "loadBalancer", .fn = svc_load_balancer},
    P_MSG("weighted", Service, load_balancer, &decode_weighted_spec),
    P_MSG("mirroring", Service, load_balancer, &decode_mirroring_spec),
    P_MSG("failover", Service, load_balancer, &decode_failover_spec),
    SCHEMA_TODO("highestRandomWeight", KEYS_SVC_HRW),
    {0},
};

bool decode_one_of(struct schema_ctx *c, const struct doc_node *name,
                   const struct doc_node *value, const struct schema_row *rows, const char *rule)
{
    const char *first = NULL;
    for (size_t i = 0; rows[i].key; i++) {
        if (!schema_find(value, rows[i].key)) {
            continue;
        }
        if (first) {
            schema_error(c, name, "%s, this one has %s and %s", rule, first, rows[i].key);
            return false;
        }
        first = rows[i].key;
    }
    return true;
}

static void one_service(struct schema_ctx *c, const struct doc_node *name,
                        const struct doc_node *value, void *obj)
{
    HttpConfig *h = obj;
    Service *s = xmalloc(sizeof *s);

    concord__config__service__init(s);
    s->name = xstrdup(name->str);
    s->mark = new_mark(name);
    h->services = append(h->services, &h->n_services, sizeof *h->services);
    h->services[h->n_services - 1] = s;
    schema_map(c, value, s, service_rows);
    /* Traefik refuses a service with two kinds too ("multi-types service not supported"). */
    decode_one_of(c, name, value, service_rows, "a service has one kind");
}

static void http_services(struct schema_ctx *c, const struct doc_node *v, void *obj,
                          const struct schema_row *r)
{
    schema_each(c, v, one_service, obj);
}

/* --- http.routers --- */

/* Router `tls`: not supported yet (the usual warning), but its presence is kept, because
 * Traefik serves such a router on TLS connections only: the compiler must not serve it on
 * cleartext (compile.c). */
static void router_tls(struct schema_ctx *c, const struct doc_node *v, void *obj,
                       const struct schema_row *r)
{
    Router *rt = obj;
    schema_unsupported(c, v, obj, r);
    if (!doc_is_null(v) && !v->object_false && rt->tls == NULL) {
        rt->tls = xmalloc(sizeof *rt->tls);
        concord__config__router_tls__init(rt->tls);
        rt->tls->mark = new_mark(c->key ? c->key : v);
    }
}

static const struct schema_row router_rows[] = {
    P_FIELD("rule", p_str, Router, rule),
    P_FIELD("ruleSyntax", p_str, Router, rule_syntax),
    P_FIELD("priority", p_i64, Router, priority),
    P_PAIR("entryPoints", p_strlist, Router, entry_points, n_entry_points),
    P_PAIR("middlewares", p_strlist, Router, middlewares, n_middlewares),
    P_FIELD("service", p_str, Router, service),
    {.key = "tls", .fn = router_tls, .arg = KEYS_ROUTER_TLS},
    SCHEMA_TODO("observability", KEYS_ROUTER_OBSERVABILITY),
    SCHEMA_TODO("parentRefs", ""),
    {0},
};

static void one_router(struct schema_ctx *c, const struct doc_node *name,
                       const struct doc_node *value, void *obj)
{
    HttpConfig *h = obj;
    Router *rt = xmalloc(sizeof *rt);
    concord__config__router__init(rt);
    rt->name = xstrdup(name->str);
    rt->mark = new_mark(name);
    h->routers = append(h->routers, &h->n_routers, sizeof *h->routers);
    h->routers[h->n_routers - 1] = rt;
    schema_map(c, value, rt, router_rows);
}

static void http_routers(struct schema_ctx *c, const struct doc_node *v, void *obj,
                         const struct schema_row *r)
{
    schema_each(c, v, one_router, obj);
}

/* --- top level --- */

static const struct schema_row http_rows[] = {
    {.key = "routers", .fn = http_routers},
    {.key = "services", .fn = http_services},
    {.key = "middlewares", .fn = decode_http_middlewares},
    {.key = "serversTransports", .fn = decode_http_servers_transports},
    SCHEMA_TODO("models", NULL),
    {0},
};

static const struct schema_row tcp_rows[] = {
    SCHEMA_EACH_TODO("routers", KEYS_TCP_ROUTER),
    SCHEMA_EACH_TODO("services", KEYS_TCP_SERVICE),
    SCHEMA_EACH_TODO("middlewares", KEYS_TCP_MIDDLEWARE),
    SCHEMA_EACH_TODO("serversTransports", KEYS_TCP_SERVERS_TRANSPORT_DYN),
    {0},
};

static const struct schema_row udp_rows[] = {
    SCHEMA_EACH_TODO("routers", KEYS_UDP_ROUTER),
    SCHEMA_EACH_TODO("services", KEYS_UDP_SERVICE),
    {0},
};

static const struct schema_row tls_rows[] = {
    SCHEMA_TODO("certificates", KEYS_TLS_CERTIFICATES),
    SCHEMA_EACH_TODO("options", KEYS_TLS_OPTIONS),
    SCHEMA_EACH_TODO("stores", KEYS_TLS_STORES),
    {0},
};

static void top_http(struct schema_ctx *c, const struct doc_node *v, void *obj,
                     const struct schema_row *r)
{
    Config *cfg = obj;
    schema_map(c, v, cfg->http, http_rows);
}

static void static_key(struct schema_ctx *c, const struct doc_node *v, void *obj,
                       const struct schema_row *r)
{
    schema_error(c, c->key,
                 "unknown key (a static configuration key: it belongs in proxyd's static file)");
}

/* clang-format off */
#define STATIC_KEY(k) {.key = (k), .fn = static_key}
/* clang-format on */

static const struct schema_row top_rows[] = {
    {.key = "http", .fn = top_http},
    SCHEMA_SUB("tcp", tcp_rows),
    SCHEMA_SUB("udp", udp_rows),
    SCHEMA_SUB("tls", tls_rows),
    /* Static sections: named so the error can say where they belong, and so that
     * decode_document_kind can tell the two kinds apart from this one table. */
    STATIC_KEY("entryPoints"),
    STATIC_KEY("providers"),
    STATIC_KEY("serversTransport"),
    STATIC_KEY("tcpServersTransport"),
    STATIC_KEY("global"),
    STATIC_KEY("api"),
    STATIC_KEY("metrics"),
    STATIC_KEY("ping"),
    STATIC_KEY("log"),
    STATIC_KEY("accessLog"),
    STATIC_KEY("tracing"),
    STATIC_KEY("hostResolver"),
    STATIC_KEY("certificatesResolvers"),
    STATIC_KEY("experimental"),
    STATIC_KEY("core"),
    STATIC_KEY("spiffe"),
    STATIC_KEY("ocsp"),
    STATIC_KEY("admin"),
    STATIC_KEY("cluster"),
    STATIC_KEY("workers"),
    {0},
};

/* --- API --- */

Config *decode_config_new(void)
{
    Config *cfg = xmalloc(sizeof *cfg);
    concord__config__config__init(cfg);
    cfg->http = xmalloc(sizeof *cfg->http);
    concord__config__http_config__init(cfg->http);
    return cfg;
}

/* Recursion over the descriptors: every message field, repeated ones and set oneof members. */
void decode_strip_marks(ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *desc = m->descriptor;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        char *at = (char *)m + f->offset;
        if (f->type != PROTOBUF_C_TYPE_MESSAGE) {
            continue;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(size_t *)(void *)((char *)m + f->quantifier_offset);
            ProtobufCMessage **v = *(ProtobufCMessage ***)(void *)at;
            for (size_t k = 0; k < n; k++) {
                decode_strip_marks(v[k]);
            }
            continue;
        }
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(uint32_t *)(void *)((char *)m + f->quantifier_offset) != f->id) {
            continue; /* another member of the oneof */
        }
        ProtobufCMessage **sub = (ProtobufCMessage **)(void *)at;
        if (*sub == NULL) {
            continue;
        }
        if (strcmp(f->name, "mark") == 0) {
            protobuf_c_message_free_unpacked(*sub, NULL);
            *sub = NULL;
        } else {
            decode_strip_marks(*sub);
        }
    }
}

void decode_config_free(Config *cfg)
{
    if (cfg) {
        concord__config__config__free_unpacked(cfg, NULL);
    }
}

int decode_dynamic(const struct doc_node *root, Config **out, struct diags *d)
{
    size_t before = d->nerrors;
    struct schema_ctx c;
    Config *cfg = decode_config_new();

    *out = NULL;
    schema_ctx_init(&c, d, "");
    if (root && !doc_is_null(root) && root->kind != DOC_MAP) {
        schema_error(&c, root, "the top level must be a map, got %s", doc_kind_name(root));
    } else {
        schema_map(&c, root, cfg, top_rows);
    }
    if (d->nerrors > before) {
        decode_config_free(cfg);
        return -EINVAL;
    }
    *out = cfg;
    return 0;
}

int decode_dynamic_string(const char *name, const char *yaml, size_t len, Config **out,
                          struct diags *d)
{
    struct doc doc;
    int rc = doc_parse(&doc, name, yaml, len, 0, d);
    *out = NULL;
    if (rc == 0) {
        rc = decode_dynamic(doc.root, out, d);
    }
    doc_fini(&doc);
    return rc;
}

int decode_dynamic_file(const char *path, Config **out, struct diags *d)
{
    struct doc doc;
    int rc = doc_load_file(&doc, path, DOC_NO_TEMPLATES, d);
    *out = NULL;
    if (rc == 0) {
        rc = decode_dynamic(doc.root, out, d);
    }
    doc_fini(&doc);
    return rc;
}

int decode_document_kind(const struct doc_node *root, struct diags *d)
{
    const struct doc_node *first[2] = {NULL, NULL}; /* first static key, first dynamic key */
    size_t idx;

    if (doc_is_null(root)) {
        return DECODE_DOC_EMPTY;
    }
    if (root->kind != DOC_MAP) {
        diags_add(d, DIAG_ERROR, root->file, root->line, root->col, "",
                  "the top level must be a map, got %s", doc_kind_name(root));
        return -EINVAL;
    }
    if (root->n == 0) {
        return DECODE_DOC_EMPTY;
    }
    for (size_t i = 0; i < root->n; i++) {
        const struct doc_node *k = root->pairs[i].key;
        for (idx = 0; top_rows[idx].key && strcasecmp(top_rows[idx].key, k->str) != 0; idx++) {
        }
        if (top_rows[idx].key) {
            int is_static = top_rows[idx].fn == static_key;
            first[is_static ? 0 : 1] = first[is_static ? 0 : 1] ? first[is_static ? 0 : 1] : k;
        }
    }
    if (first[0] && first[1]) {
        diags_add(d, DIAG_ERROR, first[1]->file, first[1]->line, first[1]->col, first[1]->str,
                  "dynamic configuration mixed with static configuration (\"%s\" at line %u); "
                  "put each in its own file",
                  first[0]->str, first[0]->line);
        return -EINVAL;
    }
    if (!first[0] && !first[1]) {
        diags_add(d, DIAG_ERROR, root->file, root->line, root->col, "",
                  "neither a static nor a dynamic configuration: no known top-level key");
        return -EINVAL;
    }
    return first[0] ? DECODE_DOC_STATIC : DECODE_DOC_DYNAMIC;
}
