/* Kubernetes objects: classification, multi-document streams, the per-object context and the
 * Service -> servers resolution shared by the CRD and Ingress decoders. */
#include "providers/kube_decode.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/sha.h>
#include <yaml.h>

#include "providers/decode-int.h"
#include "providers/decode.h"
#include "providers/kube-int.h"

/* ---- objects ---- */

static const struct {
    const char *group; /* apiVersion without the version; "" = core */
    const char *kind;
    enum kube_kind k;
} kinds[] = {
    {"traefik.io", "IngressRoute", KUBE_INGRESS_ROUTE},
    {"traefik.io", "Middleware", KUBE_MIDDLEWARE},
    {"traefik.io", "TraefikService", KUBE_TRAEFIK_SERVICE},
    {"traefik.io", "IngressRouteTCP", KUBE_OTHER_TRAEFIK},
    {"traefik.io", "IngressRouteUDP", KUBE_OTHER_TRAEFIK},
    {"traefik.io", "MiddlewareTCP", KUBE_OTHER_TRAEFIK},
    {"traefik.io", "TLSOption", KUBE_OTHER_TRAEFIK},
    {"traefik.io", "TLSStore", KUBE_OTHER_TRAEFIK},
    {"traefik.io", "ServersTransport", KUBE_SERVERS_TRANSPORT},
    {"traefik.io", "ServersTransportTCP", KUBE_OTHER_TRAEFIK},
    {"networking.k8s.io", "Ingress", KUBE_INGRESS},
    {"networking.k8s.io", "IngressClass", KUBE_INGRESS_CLASS},
    {"", "Service", KUBE_SERVICE},
    {"discovery.k8s.io", "EndpointSlice", KUBE_ENDPOINT_SLICE},
};

int kube_objs_add(struct kube_objs *o, const struct doc_node *obj, struct diags *d)
{
    const struct doc_node *av = doc_map_get(obj, "apiVersion"), *kd = doc_map_get(obj, "kind");
    if (obj == NULL || obj->kind != DOC_MAP || av == NULL || av->kind != DOC_SCALAR || kd == NULL ||
        kd->kind != DOC_SCALAR) {
        diags_add(d, DIAG_ERROR, obj ? obj->file : "", obj ? obj->line : 0, obj ? obj->col : 0, "",
                  "not a Kubernetes object (a map with apiVersion and kind)");
        return -EINVAL;
    }
    const char *slash = strchr(av->str, '/');
    size_t glen = slash ? (size_t)(slash - av->str) : 0;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(kinds[i].kind, kd->str) == 0 && strlen(kinds[i].group) == glen &&
            strncmp(kinds[i].group, av->str, glen) == 0) {
            struct kube_list *l = &o->k[kinds[i].k];
            if (l->n == l->cap) {
                l->cap = l->cap ? l->cap * 2 : 8;
                l->v = realloc(l->v, l->cap * sizeof *l->v);
                if (l->v == NULL) {
                    abort();
                }
            }
            l->v[l->n++] = obj;
            return (int)kinds[i].k;
        }
    }
    if (strcmp(av->str, "traefik.containo.us/v1alpha1") == 0) {
        diags_add(
            d, DIAG_ERROR, kd->file, kd->line, kd->col, kd->str,
            "apiVersion traefik.containo.us was removed in Traefik v3: use traefik.io/v1alpha1");
        return -EINVAL;
    }
    diags_add(d, DIAG_ERROR, kd->file, kd->line, kd->col, kd->str,
              "unknown kind %s (apiVersion %s)", kd->str, av->str);
    return -EINVAL;
}

void kube_objs_fini(struct kube_objs *o)
{
    for (int i = 0; i < KUBE_NKINDS; i++) {
        free(o->k[i].v);
    }
    memset(o, 0, sizeof *o);
}

/* ---- multi-document streams ---- */

void kube_stream_fini(struct kube_stream *s)
{
    for (size_t i = 0; i < s->n; i++) {
        doc_fini(&s->docs[i]);
    }
    free(s->docs);
    s->docs = NULL;
    s->n = 0;
}

/* Parses text[start, end) as one document, preceded by `line` newlines so that its marks carry
 * the line numbers of the whole stream (start is at the beginning of a line). */
static int parse_one(struct kube_stream *s, const char *name, const char *text, size_t start,
                     size_t end, size_t line, struct diags *d)
{
    char *buf = malloc(line + (end - start) + 1);
    if (buf == NULL) {
        abort();
    }
    memset(buf, '\n', line);
    memcpy(buf + line, text + start, end - start);
    buf[line + end - start] = '\0';
    s->docs = realloc(s->docs, (s->n + 1) * sizeof *s->docs);
    if (s->docs == NULL) {
        abort();
    }
    int rc = doc_parse(&s->docs[s->n], name, buf, line + end - start, 0, d);
    free(buf);
    if (rc == 0) {
        s->n++;
    }
    return rc;
}

int kube_stream_parse(struct kube_stream *s, const char *name, const char *text, size_t len,
                      struct diags *d)
{
    yaml_parser_t p;
    yaml_event_t ev;
    size_t start = 0, line = 0;
    int rc = 0;
    bool done = false;

    memset(s, 0, sizeof *s);
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    while (!done && rc == 0) {
        if (!yaml_parser_parse(&p, &ev)) {
            diags_add(d, DIAG_ERROR, name, (uint32_t)p.problem_mark.line + 1,
                      (uint32_t)p.problem_mark.column + 1, "", "yaml: %s",
                      p.problem ? p.problem : "syntax error");
            rc = -EINVAL;
            break;
        }
        if (ev.type == YAML_DOCUMENT_START_EVENT) {
            start = ev.start_mark.index - ev.start_mark.column;
            line = ev.start_mark.line;
        } else if (ev.type == YAML_DOCUMENT_END_EVENT) {
            rc = parse_one(s, name, text, start, ev.end_mark.index, line, d);
        } else if (ev.type == YAML_STREAM_END_EVENT) {
            done = true;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    if (rc != 0) {
        kube_stream_fini(s);
    }
    return rc;
}

size_t kube_stream_add_all(const struct kube_stream *s, struct kube_objs *o, struct diags *d)
{
    size_t refused = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!doc_is_null(s->docs[i].root) && kube_objs_add(o, s->docs[i].root, d) < 0) {
            refused++;
        }
    }
    return refused;
}

/* ---- names ---- */

char *kube_normalize(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = xmalloc(n + 1);
    bool sep = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (isalnum(ch) || ch >= 0x80) { /* non-ASCII: Go's unicode letters, roughly */
            if (sep && o > 0) {
                out[o++] = '-';
            }
            out[o++] = (char)ch;
            sep = false;
        } else {
            sep = true;
        }
    }
    out[o] = '\0';
    return out;
}

char *kube_printf(const char *fmt, ...)
{
    char *s;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0) {
        abort();
    }
    va_end(ap);
    return s;
}

char *kube_nname(const char *fmt, ...)
{
    char *s, *n;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0) {
        abort();
    }
    va_end(ap);
    n = kube_normalize(s);
    free(s);
    return n;
}

void kube_hash20(const char *s, char out[21])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, strlen(s), md);
    for (int i = 0; i < 10; i++) {
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    }
}

/* ---- context and diagnostics ---- */

void kube_ctx_init(struct kctx *k, const struct kube_objs *in, struct diags *d, bool cross_ns,
                   bool ext_name)
{
    memset(k, 0, sizeof *k);
    k->in = in;
    k->d = d;
    k->cross_ns = cross_ns;
    k->ext_name = ext_name;
}

static void vreport(struct kctx *k, enum diag_severity sev, const struct doc_node *at,
                    const char *field, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

static void vreport(struct kctx *k, enum diag_severity sev, const struct doc_node *at,
                    const char *field, const char *fmt, va_list ap)
{
    char msg[512], path[700];
    vsnprintf(msg, sizeof msg, fmt, ap);
    snprintf(path, sizeof path, "%s%s%s", k->where, field[0] ? ": " : "", field);
    at = at ? at : k->obj;
    diags_add(k->d, sev, at ? at->file : "", at ? at->line : 0, at ? at->col : 0, path, "%s", msg);
}

void kube_error(struct kctx *k, const struct doc_node *at, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(k, DIAG_ERROR, at, field, fmt, ap);
    va_end(ap);
}

void kube_warning(struct kctx *k, const struct doc_node *at, const char *field, const char *fmt,
                  ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(k, DIAG_WARNING, at, field, fmt, ap);
    va_end(ap);
}

const char *kube_meta(const struct doc_node *obj, const char *key)
{
    const struct doc_node *v = doc_map_get(doc_map_get(obj, "metadata"), key);
    return v && v->kind == DOC_SCALAR && !doc_is_null(v) ? v->str : NULL;
}

const char *kube_annotation(const struct doc_node *obj, const char *key)
{
    const struct doc_node *a = doc_map_get(doc_map_get(obj, "metadata"), "annotations");
    const struct doc_node *v = doc_map_get(a, key);
    return v && v->kind == DOC_SCALAR ? v->str : NULL;
}

bool kube_begin(struct kctx *k, const struct doc_node *obj, const char *kind)
{
    const char *name = kube_meta(obj, "name"), *ns = kube_meta(obj, "namespace");
    k->obj = obj;
    k->kind = kind;
    k->ns = ns ? ns : "default";
    k->name = name ? name : "?";
    k->errors_before = k->d->nerrors;
    snprintf(k->where, sizeof k->where, "%s %s/%s", kind, k->ns, k->name);
    k->h = xmalloc(sizeof *k->h);
    concord__config__http_config__init(k->h);
    if (name == NULL) {
        kube_error(k, obj, "metadata.name", "missing");
        return false;
    }
    return true;
}

bool kube_failed(const struct kctx *k)
{
    return k->d->nerrors > k->errors_before;
}

#define MOVE(dst, src, field, nfield, replace)                                                     \
    for (size_t i_ = 0; i_ < (src)->nfield; i_++) {                                                \
        size_t j_ = 0;                                                                             \
        while (j_ < (dst)->nfield && strcmp((dst)->field[j_]->name, (src)->field[i_]->name)) {     \
            j_++;                                                                                  \
        }                                                                                          \
        if (j_ < (dst)->nfield && !(replace)) {                                                    \
            protobuf_c_message_free_unpacked(&(src)->field[i_]->base, NULL);                       \
        } else if (j_ < (dst)->nfield) {                                                           \
            protobuf_c_message_free_unpacked(&(dst)->field[j_]->base, NULL);                       \
            (dst)->field[j_] = (src)->field[i_];                                                   \
        } else {                                                                                   \
            (dst)->field = append((dst)->field, &(dst)->nfield, sizeof *(dst)->field);             \
            (dst)->field[(dst)->nfield - 1] = (src)->field[i_];                                    \
        }                                                                                          \
    }                                                                                              \
    (src)->nfield = 0

void kube_end(struct kctx *k, Config *dst)
{
    HttpConfig *h = k->h, *o = dst->http;
    if (!kube_failed(k)) {
        MOVE(o, h, routers, n_routers, true);
        MOVE(o, h, services, n_services, false);
        MOVE(o, h, middlewares, n_middlewares, false);
        MOVE(o, h, servers_transports, n_servers_transports, false);
    }
    concord__config__http_config__free_unpacked(h, NULL);
    k->h = NULL;
}

/* ---- typed reads ---- */

/* `field` names the map (or, already, the value: its last segment is `key`); the path of the
 * value is field.key. */
static const char *fpath(char *buf, size_t size, const char *field, const char *key)
{
    const char *last = strrchr(field, '.');
    last = last ? last + 1 : field;
    if (strcmp(last, key) == 0) {
        return field;
    }
    snprintf(buf, size, "%s%s%s", field, field[0] ? "." : "", key);
    return buf;
}

static const struct doc_node *get(struct kctx *k, const struct doc_node *map, const char *key,
                                  const char *field, bool required)
{
    char buf[600];
    const struct doc_node *v = doc_map_get(map, key);
    if (doc_is_null(v)) {
        if (required) {
            kube_error(k, map, fpath(buf, sizeof buf, field, key), "missing");
        }
        return NULL;
    }
    return v;
}

const char *kube_str(struct kctx *k, const struct doc_node *map, const char *key, const char *field,
                     bool required)
{
    char buf[600];
    const struct doc_node *v = get(k, map, key, field, required);
    if (v == NULL) {
        return NULL;
    }
    field = fpath(buf, sizeof buf, field, key);
    if (v->kind != DOC_SCALAR || strlen(v->str) != v->len) {
        kube_error(k, v, field, "expected a string, got %s", doc_kind_name(v));
        return NULL;
    }
    if (required && v->str[0] == '\0') {
        kube_error(k, v, field, "empty");
        return NULL;
    }
    return v->str;
}

static const struct doc_node *typed(struct kctx *k, const struct doc_node *map, const char *key,
                                    const char *field, enum doc_kind want, const char *name)
{
    char buf[600];
    const struct doc_node *v = get(k, map, key, field, false);
    if (v != NULL && v->kind != want) {
        kube_error(k, v, fpath(buf, sizeof buf, field, key), "expected %s, got %s", name,
                   doc_kind_name(v));
        return NULL;
    }
    return v;
}

const struct doc_node *kube_map(struct kctx *k, const struct doc_node *map, const char *key,
                                const char *field)
{
    return typed(k, map, key, field, DOC_MAP, "a map");
}

const struct doc_node *kube_seq(struct kctx *k, const struct doc_node *map, const char *key,
                                const char *field)
{
    return typed(k, map, key, field, DOC_SEQ, "a list");
}

int kube_int(struct kctx *k, const struct doc_node *map, const char *key, const char *field,
             int64_t min, int64_t max, int64_t *out)
{
    char path[1300], buf[600];
    const struct doc_node *v = get(k, map, key, field, false);
    if (v == NULL) {
        return 0;
    }
    snprintf(path, sizeof path, "%s: %s", k->where, fpath(buf, sizeof buf, field, key));
    return doc_read_int(v, path, min, max, out, k->d) == 0 ? 1 : -1;
}

int kube_bool(struct kctx *k, const struct doc_node *map, const char *key, const char *field,
              bool *out)
{
    char path[1300], buf[600];
    const struct doc_node *v = get(k, map, key, field, false);
    if (v == NULL) {
        return 0;
    }
    snprintf(path, sizeof path, "%s: %s", k->where, fpath(buf, sizeof buf, field, key));
    return doc_read_bool(v, path, out, k->d) == 0 ? 1 : -1;
}

/* ---- lookups ---- */

static int cmp_obj(const void *pa, const void *pb)
{
    const struct doc_node *a = *(const struct doc_node *const *)pa;
    const struct doc_node *b = *(const struct doc_node *const *)pb;
    const char *na = kube_meta(a, "namespace"), *nb = kube_meta(b, "namespace");
    int r = strcmp(na ? na : "default", nb ? nb : "default");
    if (r == 0) {
        na = kube_meta(a, "name");
        nb = kube_meta(b, "name");
        r = strcmp(na ? na : "", nb ? nb : "");
    }
    return r;
}

const struct doc_node **kube_sorted(const struct kube_objs *in, enum kube_kind kind, size_t *n)
{
    const struct kube_list *l = &in->k[kind];
    const struct doc_node **v = xmalloc((l->n ? l->n : 1) * sizeof *v);
    if (l->n) {
        memcpy(v, l->v, l->n * sizeof *v);
    }
    qsort(v, l->n, sizeof *v, cmp_obj);
    *n = l->n;
    return v;
}

const struct doc_node *kube_find(const struct kube_objs *in, enum kube_kind kind, const char *ns,
                                 const char *name)
{
    const struct kube_list *l = &in->k[kind];
    for (size_t i = 0; i < l->n; i++) {
        const char *n = kube_meta(l->v[i], "name"), *s = kube_meta(l->v[i], "namespace");
        if (n && strcmp(n, name) == 0 && strcmp(s ? s : "default", ns) == 0) {
            return l->v[i];
        }
    }
    return NULL;
}

/* ---- output messages ---- */

Router *kube_new_router(HttpConfig *h, char *name, const struct doc_node *at)
{
    Router *r = xmalloc(sizeof *r);
    concord__config__router__init(r);
    r->name = name;
    r->mark = new_mark(at);
    h->routers = append(h->routers, &h->n_routers, sizeof *h->routers);
    h->routers[h->n_routers - 1] = r;
    return r;
}

Service *kube_find_service(HttpConfig *h, const char *name)
{
    for (size_t i = 0; i < h->n_services; i++) {
        if (strcmp(h->services[i]->name, name) == 0) {
            return h->services[i];
        }
    }
    return NULL;
}

Service *kube_new_service(HttpConfig *h, char *name, const struct doc_node *at)
{
    Service *s = xmalloc(sizeof *s);
    concord__config__service__init(s);
    s->name = name;
    s->mark = new_mark(at);
    h->services = append(h->services, &h->n_services, sizeof *h->services);
    h->services[h->n_services - 1] = s;
    return s;
}

LoadBalancer *kube_new_lb(Service *s, const struct doc_node *at)
{
    LoadBalancer *lb = xmalloc(sizeof *lb);
    concord__config__load_balancer__init(lb);
    lb->mark = new_mark(at);
    s->kind_case = CONCORD__CONFIG__SERVICE__KIND_LOAD_BALANCER;
    s->load_balancer = lb;
    return lb;
}

/* ---- Service -> servers ---- */

static bool is_number(const char *s)
{
    if (*s == '\0') {
        return false;
    }
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s)) {
            return false;
        }
    }
    return true;
}

static const char *scalar_or(const struct doc_node *map, const char *key, const char *dflt)
{
    const struct doc_node *v = doc_map_get(map, key);
    return v && v->kind == DOC_SCALAR && !doc_is_null(v) ? v->str : dflt;
}

static bool endpoint_ready(const struct doc_node *ep)
{
    const struct doc_node *r = doc_map_get(doc_map_get(ep, "conditions"), "ready");
    /* The API: an absent condition is "unknown", which consumers should read as ready. */
    return doc_is_null(r) || (r->kind == DOC_SCALAR && strcasecmp(r->str, "true") == 0);
}

static void add_server(LoadBalancer *lb, const char *scheme, const char *addr, const char *port,
                       const struct doc_node *at)
{
    char *url = strchr(addr, ':') ? kube_printf("%s://[%s]:%s", scheme, addr, port)
                                  : kube_printf("%s://%s:%s", scheme, addr, port);
    for (size_t i = 0; i < lb->n_servers; i++) {
        if (strcmp(lb->servers[i]->url, url) == 0) {
            free(url);
            return;
        }
    }
    Server *s = xmalloc(sizeof *s);
    concord__config__server__init(s);
    s->url = url;
    s->mark = new_mark(at);
    lb->servers = append(lb->servers, &lb->n_servers, sizeof *lb->servers);
    lb->servers[lb->n_servers - 1] = s;
}

/* The servers of the EndpointSlices of ns/svc for the Service port named `pname`. */
static void slice_servers(struct kctx *k, const char *ns, const char *svc, const char *pname,
                          const char *scheme, LoadBalancer *lb)
{
    const struct kube_list *l = &k->in->k[KUBE_ENDPOINT_SLICE];
    for (size_t i = 0; i < l->n; i++) {
        const struct doc_node *es = l->v[i], *ports = doc_map_get(es, "ports");
        const struct doc_node *labels = doc_map_get(doc_map_get(es, "metadata"), "labels");
        const char *sns = kube_meta(es, "namespace");
        const char *owner = scalar_or(labels, "kubernetes.io/service-name", "");
        const char *port = NULL;
        if (strcmp(sns ? sns : "default", ns) != 0 || strcmp(owner, svc) != 0 || ports == NULL ||
            ports->kind != DOC_SEQ) {
            continue;
        }
        for (size_t j = 0; j < ports->n && port == NULL; j++) {
            if (strcmp(scalar_or(ports->items[j], "name", ""), pname) == 0) {
                port = scalar_or(ports->items[j], "port", NULL);
            }
        }
        const struct doc_node *eps = doc_map_get(es, "endpoints");
        for (size_t j = 0; port && eps && eps->kind == DOC_SEQ && j < eps->n; j++) {
            const struct doc_node *addrs = doc_map_get(eps->items[j], "addresses");
            if (!endpoint_ready(eps->items[j]) || addrs == NULL || addrs->kind != DOC_SEQ) {
                continue;
            }
            for (size_t a = 0; a < addrs->n; a++) {
                if (addrs->items[a]->kind == DOC_SCALAR) {
                    add_server(lb, scheme, addrs->items[a]->str, port, addrs->items[a]);
                }
            }
        }
    }
}

bool kube_lb_servers(struct kctx *k, const char *ns, const char *svc, const char *port,
                     const char *scheme, const struct doc_node *at, const char *field,
                     LoadBalancer *lb)
{
    const struct doc_node *so = kube_find(k->in, KUBE_SERVICE, ns, svc);
    const struct doc_node *spec = doc_map_get(so, "spec"), *ports = doc_map_get(spec, "ports");
    const struct doc_node *sp = NULL;
    bool num = is_number(port);

    if (so == NULL) {
        kube_error(k, at, field, "Service %s/%s not found", ns, svc);
        return false;
    }
    for (size_t i = 0; ports && ports->kind == DOC_SEQ && i < ports->n && sp == NULL; i++) {
        const char *v = scalar_or(ports->items[i], num ? "port" : "name", "");
        sp = strcmp(v, port) == 0 ? ports->items[i] : NULL;
    }
    if (sp == NULL) {
        kube_error(k, at, field, "Service %s/%s has no port %s", ns, svc, port);
        return false;
    }
    const char *pname = scalar_or(sp, "name", ""), *pnum = scalar_or(sp, "port", "0");
    if (scheme == NULL) {
        scheme = strcmp(pnum, "443") == 0 || strncmp(pname, "https", 5) == 0 ? "https" : "http";
    } else if (strcmp(scheme, "http") && strcmp(scheme, "https") && strcmp(scheme, "h2c")) {
        kube_error(k, at, field, "invalid scheme \"%s\" (http, https or h2c)", scheme);
        return false;
    }
    if (strcmp(scalar_or(spec, "type", ""), "ExternalName") == 0) {
        if (!k->ext_name) {
            kube_error(k, at, field,
                       "Service %s/%s is an ExternalName Service, not allowed "
                       "(allowExternalNameServices)",
                       ns, svc);
            return false;
        }
        add_server(lb, scheme, scalar_or(spec, "externalName", ""), pnum, so);
        return true;
    }
    slice_servers(k, ns, svc, pname, scheme, lb);
    if (lb->n_servers == 0) {
        kube_warning(k, at, field, "Service %s/%s port %s has no ready endpoint; requests get 503",
                     ns, svc, port);
    }
    return true;
}
