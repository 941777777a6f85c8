/* Traefik's kubernetesCRD objects (IngressRoute, Middleware, TraefikService) into a Config. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/decode-int.h"
#include "providers/decode.h"
#include "providers/kube-int.h"
#include "providers/schema.h"

typedef Concord__Config__Weighted Weighted;
typedef Concord__Config__WeightedService WeightedService;
typedef Concord__Config__Mirroring Mirroring;
typedef Concord__Config__Mirror Mirror;

/* Synthetic doc nodes made for the middleware decoder, freed after each object. */
struct scratch {
    void **p;
    size_t n;
};

static void *keep(struct scratch *s, void *p)
{
    s->p = append(s->p, &s->n, sizeof *s->p);
    s->p[s->n - 1] = p;
    return p;
}

static void scratch_free(struct scratch *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->p[i]);
    }
    free(s->p);
    memset(s, 0, sizeof *s);
}

static struct doc_node *synth(struct scratch *s, enum doc_kind kind, const struct doc_node *at)
{
    struct doc_node *n = keep(s, xmalloc(sizeof *n));
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->file = at->file;
    n->line = at->line;
    n->col = at->col;
    return n;
}

static struct doc_node *synth_str(struct scratch *s, char *str, const struct doc_node *at)
{
    struct doc_node *n = synth(s, DOC_SCALAR, at);
    n->str = keep(s, str);
    n->len = strlen(str);
    return n;
}

/* A copy of `map` whose value under `key` is `value`. */
static const struct doc_node *with_value(struct scratch *s, const struct doc_node *map,
                                         const char *key, const struct doc_node *value)
{
    struct doc_node *m = synth(s, DOC_MAP, map);
    struct doc_pair *pairs = keep(s, xmalloc((map->n ? map->n : 1) * sizeof *pairs));
    for (size_t i = 0; i < map->n; i++) {
        pairs[i] = map->pairs[i];
        if (strcmp(map->pairs[i].key->str, key) == 0) {
            pairs[i].value = value;
        }
    }
    m->pairs = pairs;
    m->n = map->n;
    return m;
}

/* ---- references ---- */

/* The namespace of a reference (`namespace` or the object's); false after an error when it is
 * another one and cross-namespace references are not allowed. */
static bool ref_ns(struct kctx *k, const struct doc_node *ref, const char *field, const char **ns)
{
    const char *n = kube_str(k, ref, "namespace", field, false);
    *ns = n && n[0] ? n : k->ns;
    if (strcmp(*ns, k->ns) != 0 && !k->cross_ns) {
        kube_error(k, doc_map_get(ref, "namespace"), field,
                   "namespace %s is not the object's (%s) and allowCrossNamespace is off", *ns,
                   k->ns);
        return false;
    }
    return true;
}

/* `middlewares[]` of a route or a chain: "<ns>-<name>@kubernetescrd", or the name as written
 * when it names another provider. NULL after an error. */
static char *mw_ref(struct kctx *k, const struct doc_node *ref, const char *field)
{
    const char *name = kube_str(k, ref, "name", field, true), *ns;
    if (name == NULL) {
        return NULL;
    }
    if (strchr(name, '@')) {
        return xstrdup(name);
    }
    if (!ref_ns(k, ref, field, &ns)) {
        return NULL;
    }
    char *id = kube_nname("%s-%s", ns, name), *full = kube_printf("%s@%s", id, KUBE_CRD_NS);
    free(id);
    return full;
}

static void lb_options(struct kctx *k, const struct doc_node *ref, const char *field,
                       LoadBalancer *lb)
{
    static const struct schema_row sticky_row =
        P_MSG("sticky", LoadBalancer, sticky, &decode_sticky_spec);
    static const char *const todo[] = {"healthCheck", "nativeLB", "nodePortLB"};
    char f[600];
    bool b;
    const char *st = kube_str(k, ref, "serversTransport", field, false);
    const char *strategy = kube_str(k, ref, "strategy", field, false);
    const struct doc_node *rf = kube_map(k, ref, "responseForwarding", field);

    if (kube_bool(k, ref, "passHostHeader", field, &b) == 1) {
        lb->pass_host_header = b;
        lb->has_pass_host_header = 1;
    }
    if (st != NULL && st[0]) {
        lb->servers_transport = strchr(st, '@') ? xstrdup(st) : kube_nname("%s-%s", k->ns, st);
    }
    if (strategy && strcmp(strategy, "RoundRobin") && strcmp(strategy, "wrr")) {
        snprintf(f, sizeof f, "%s.strategy", field);
        kube_warning(k, doc_map_get(ref, "strategy"), f, "%s", SCHEMA_UNSUPPORTED_MSG);
    }
    const char *fi = rf ? kube_str(k, rf, "flushInterval", field, false) : NULL;
    if (fi != NULL) {
        lb->response_forwarding = xmalloc(sizeof *lb->response_forwarding);
        concord__config__response_forwarding__init(lb->response_forwarding);
        lb->response_forwarding->flush_interval = xstrdup(fi);
    }
    if (doc_map_get(ref, "sticky") != NULL) {
        struct schema_ctx c;
        schema_ctx_init(&c, k->d, "");
        snprintf(c.path, sizeof c.path, "%s: %s.sticky", k->where, field);
        c.plen = strlen(c.path);
        p_msg(&c, doc_map_get(ref, "sticky"), lb, &sticky_row);
    }
    for (size_t i = 0; i < sizeof todo / sizeof todo[0]; i++) {
        if (!doc_is_null(doc_map_get(ref, todo[i]))) {
            snprintf(f, sizeof f, "%s.%s", field, todo[i]);
            kube_warning(k, doc_map_get(ref, todo[i]), f, "%s", SCHEMA_UNSUPPORTED_MSG);
        }
    }
}

/* A service reference (`services[]`, weighted services, mirroring and its mirrors): the name
 * of the service it stands for (malloc'd), creating a load balancer for a Kubernetes Service,
 * named `lb_name` when given (a route's only service), else N(<ns>-<svc>-<port>). */
static char *svc_ref(struct kctx *k, const struct doc_node *ref, const char *field,
                     const char *lb_name)
{
    const char *name = kube_str(k, ref, "name", field, true), *ns;
    const char *kind = kube_str(k, ref, "kind", field, false);
    char f[600];
    if (name == NULL) {
        return NULL;
    }
    if (kind != NULL && strcmp(kind, "TraefikService") == 0) {
        if (strchr(name, '@')) {
            return xstrdup(name);
        }
        return ref_ns(k, ref, field, &ns) ? kube_nname("%s-%s", ns, name) : NULL;
    }
    if (kind != NULL && strcmp(kind, "Service") != 0) {
        snprintf(f, sizeof f, "%s.kind", field);
        kube_error(k, doc_map_get(ref, "kind"), f, "\"%s\": expected Service or TraefikService",
                   kind);
        return NULL;
    }
    if (strchr(name, '@')) {
        kube_error(k, doc_map_get(ref, "name"), field,
                   "a provider-qualified name needs kind: TraefikService");
        return NULL;
    }
    const char *port = kube_str(k, ref, "port", field, false);
    if (!ref_ns(k, ref, field, &ns)) {
        return NULL;
    }
    if (port == NULL || port[0] == '\0') {
        snprintf(f, sizeof f, "%s.port", field);
        kube_error(k, ref, f, "required for a Kubernetes Service");
        return NULL;
    }
    char *sname = lb_name ? xstrdup(lb_name) : kube_nname("%s-%s-%s", ns, name, port);
    if (kube_find_service(k->h, sname) != NULL) {
        return sname; /* the same Service port referenced twice: the first one's options */
    }
    Service *s = kube_new_service(k->h, xstrdup(sname), ref);
    LoadBalancer *lb = kube_new_lb(s, ref);
    snprintf(f, sizeof f, "%s.port", field);
    kube_lb_servers(k, ns, name, port, kube_str(k, ref, "scheme", field, false),
                    doc_map_get(ref, "port"), f, lb);
    lb_options(k, ref, field, lb);
    return sname;
}

/* The children of a weighted service: each item of `list` (a service reference with an
 * optional weight, default 1) under `field` in diagnostics. */
static void weighted_children(struct kctx *k, Weighted *wt, const struct doc_node *list,
                              const char *field)
{
    char f[600];
    for (size_t i = 0; list && i < list->n; i++) {
        int64_t weight = 1;
        snprintf(f, sizeof f, "%s[%zu]", field, i);
        char *name = svc_ref(k, list->items[i], f, NULL);
        if (name == NULL) {
            continue;
        }
        kube_int(k, list->items[i], "weight", f, 0, INT32_MAX, &weight);
        WeightedService *ws = xmalloc(sizeof *ws);
        concord__config__weighted_service__init(ws);
        ws->name = name;
        ws->weight = (int32_t)weight;
        ws->has_weight = 1;
        ws->mark = new_mark(list->items[i]);
        wt->services = append(wt->services, &wt->n_services, sizeof *wt->services);
        wt->services[wt->n_services - 1] = ws;
    }
}

/* ---- TraefikService ---- */

static void weighted(struct kctx *k, const struct doc_node *w, Service *s)
{
    static const struct schema_row sticky_row =
        P_MSG("sticky", Weighted, sticky, &decode_sticky_spec);
    const struct doc_node *list = kube_seq(k, w, "services", "spec.weighted.services");
    Weighted *wt = xmalloc(sizeof *wt);
    concord__config__weighted__init(wt);
    wt->mark = new_mark(w);
    s->kind_case = CONCORD__CONFIG__SERVICE__KIND_WEIGHTED;
    s->weighted = wt;
    weighted_children(k, wt, list, "spec.weighted.services");
    if (doc_map_get(w, "sticky") != NULL) {
        struct schema_ctx c;
        schema_ctx_init(&c, k->d, "");
        snprintf(c.path, sizeof c.path, "%s: spec.weighted.sticky", k->where);
        c.plen = strlen(c.path);
        p_msg(&c, doc_map_get(w, "sticky"), wt, &sticky_row);
    }
}

static void mirroring(struct kctx *k, const struct doc_node *m, Service *s)
{
    const struct doc_node *list = kube_seq(k, m, "mirrors", "spec.mirroring.mirrors");
    char f[600];
    bool b;
    int64_t x;
    Mirroring *mr = xmalloc(sizeof *mr);
    concord__config__mirroring__init(mr);
    mr->mark = new_mark(m);
    s->kind_case = CONCORD__CONFIG__SERVICE__KIND_MIRRORING;
    s->mirroring = mr;
    char *main = svc_ref(k, m, "spec.mirroring", NULL);
    if (main != NULL) {
        mr->service = main;
    }
    if (kube_bool(k, m, "mirrorBody", "spec.mirroring.mirrorBody", &b) == 1) {
        mr->mirror_body = b;
        mr->has_mirror_body = 1;
    }
    if (kube_int(k, m, "maxBodySize", "spec.mirroring.maxBodySize", -1, INT64_MAX, &x) == 1) {
        mr->max_body_size = x;
        mr->has_max_body_size = 1;
    }
    for (size_t i = 0; list && i < list->n; i++) {
        int64_t pct = 0;
        snprintf(f, sizeof f, "spec.mirroring.mirrors[%zu]", i);
        char *name = svc_ref(k, list->items[i], f, NULL);
        if (name == NULL) {
            continue;
        }
        kube_int(k, list->items[i], "percent", f, 0, 100, &pct);
        Mirror *mi = xmalloc(sizeof *mi);
        concord__config__mirror__init(mi);
        mi->name = name;
        mi->percent = (int32_t)pct;
        mi->mark = new_mark(list->items[i]);
        mr->mirrors = append(mr->mirrors, &mr->n_mirrors, sizeof *mr->mirrors);
        mr->mirrors[mr->n_mirrors - 1] = mi;
    }
}

static void traefik_service(struct kctx *k, const struct doc_node *obj)
{
    const struct doc_node *spec = kube_map(k, obj, "spec", "spec");
    const struct doc_node *w = kube_map(k, spec, "weighted", "spec.weighted");
    const struct doc_node *m = kube_map(k, spec, "mirroring", "spec.mirroring");
    const struct doc_node *hrw = doc_map_get(spec, "highestRandomWeight");
    Service *s = kube_new_service(k->h, kube_nname("%s-%s", k->ns, k->name), obj);
    if ((w != NULL) + (m != NULL) + (hrw != NULL) != 1) {
        kube_error(k, spec ? spec : obj, "spec",
                   "a TraefikService has one of weighted, mirroring, highestRandomWeight");
    } else if (w != NULL) {
        weighted(k, w, s);
    } else if (m != NULL) {
        mirroring(k, m, s);
    } else {
        kube_warning(k, hrw, "spec.highestRandomWeight", "%s", SCHEMA_UNSUPPORTED_MSG);
    }
}

/* ---- Middleware ---- */

/* chain.middlewares [{name, namespace}] -> the strings the dynamic decoder reads. */
static const struct doc_node *chain_spec(struct kctx *k, struct scratch *s,
                                         const struct doc_node *spec)
{
    const struct doc_node *chain = doc_map_get(spec, "chain");
    const struct doc_node *list = kube_seq(k, chain, "middlewares", "spec.chain.middlewares");
    char f[600];
    if (list == NULL) {
        return spec;
    }
    struct doc_node *seq = synth(s, DOC_SEQ, list);
    const struct doc_node **items = keep(s, xmalloc((list->n ? list->n : 1) * sizeof *items));
    for (size_t i = 0; i < list->n; i++) {
        snprintf(f, sizeof f, "spec.chain.middlewares[%zu]", i);
        char *ref = mw_ref(k, list->items[i], f);
        items[i] = synth_str(s, ref ? ref : xstrdup(""), list->items[i]);
    }
    seq->items = (const struct doc_node *const *)items;
    seq->n = list->n;
    return with_value(s, spec, "chain", with_value(s, chain, "middlewares", seq));
}

static void middleware(struct kctx *k, const struct doc_node *obj)
{
    static const char *const secrets[][2] = {
        {"basicAuth", "secret"},
        {"digestAuth", "secret"},
        {"forwardAuth", "tls"},
    };
    const struct doc_node *spec = kube_map(k, obj, "spec", "spec");
    struct scratch s = {0};
    char f[300];
    if (spec == NULL) {
        kube_error(k, obj, "spec", "missing");
        return;
    }
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        const struct doc_node *v = doc_map_get(doc_map_get(spec, secrets[i][0]), secrets[i][1]);
        if (v != NULL) {
            snprintf(f, sizeof f, "spec.%s.%s", secrets[i][0], secrets[i][1]);
            kube_error(k, v, f,
                       "not supported yet (Kubernetes Secrets and Services in "
                       "middlewares are not read)");
        }
    }
    if (doc_map_get(spec, "chain") != NULL) {
        spec = chain_spec(k, &s, spec);
    }
    const struct doc_node *errs = doc_map_get(spec, "errors");
    const struct doc_node *esvc = doc_map_get(errs, "service");
    if (esvc != NULL && esvc->kind == DOC_MAP) {
        /* Kubernetes form: a service reference, made into a service of its own. */
        char *lb = kube_nname("%s-%s", k->ns, k->name);
        char *full = kube_printf("%s-errorpage-service", lb);
        char *name = svc_ref(k, esvc, "spec.errors.service", full);
        free(lb);
        free(full);
        if (name != NULL) {
            spec = with_value(&s, spec, "errors",
                              with_value(&s, errs, "service", synth_str(&s, name, esvc)));
        }
    }
    if (!kube_failed(k)) {
        struct schema_ctx c;
        const struct doc_node *meta = doc_map_get(obj, "metadata");
        const struct doc_node *at = doc_map_get(meta, "name");
        struct doc_node *name = synth_str(&s, kube_nname("%s-%s", k->ns, k->name), at);
        schema_ctx_init(&c, k->d, "");
        snprintf(c.path, sizeof c.path, "%s: spec", k->where);
        c.plen = strlen(c.path);
        decode_one_middleware(&c, name, spec, k->h);
    }
    scratch_free(&s);
}

/* ---- ServersTransport ---- */

static void servers_transport(struct kctx *k, const struct doc_node *obj)
{
    const struct doc_node *spec = kube_map(k, obj, "spec", "spec");
    struct scratch s = {0};
    struct schema_ctx c;
    if (spec == NULL) {
        kube_error(k, obj, "spec", "missing");
        return;
    }
    /* The *Secrets keys name Kubernetes Secrets: warned and left out; the rest has the shape of
     * http.serversTransports.<name>. */
    struct doc_node *m = synth(&s, DOC_MAP, spec);
    struct doc_pair *pairs = keep(&s, xmalloc((spec->n ? spec->n : 1) * sizeof *pairs));
    for (size_t i = 0; i < spec->n; i++) {
        const char *key = spec->pairs[i].key->str;
        size_t len = strlen(key);
        if (len > 7 && strcmp(key + len - 7, "Secrets") == 0) {
            char f[300];
            snprintf(f, sizeof f, "spec.%s", key);
            kube_warning(k, spec->pairs[i].key, f, "%s (Kubernetes Secrets are not read)",
                         SCHEMA_UNSUPPORTED_MSG);
            continue;
        }
        pairs[m->n++] = spec->pairs[i];
    }
    m->pairs = pairs;
    struct doc_node *name =
        synth_str(&s, kube_nname("%s-%s", k->ns, k->name), doc_map_get(obj, "metadata"));
    schema_ctx_init(&c, k->d, "");
    snprintf(c.path, sizeof c.path, "%s: spec", k->where);
    c.plen = strlen(c.path);
    decode_one_transport(&c, name, m, k->h);
    scratch_free(&s);
}

/* ---- IngressRoute ---- */

static void drop_named(HttpConfig *h, const char *name)
{
    for (size_t i = 0; i < h->n_routers; i++) {
        if (strcmp(h->routers[i]->name, name) == 0) {
            protobuf_c_message_free_unpacked(&h->routers[i]->base, NULL);
            h->routers[i] = h->routers[--h->n_routers];
            break;
        }
    }
    for (size_t i = 0; i < h->n_services; i++) {
        if (strcmp(h->services[i]->name, name) == 0) {
            protobuf_c_message_free_unpacked(&h->services[i]->base, NULL);
            h->services[i] = h->services[--h->n_services];
            break;
        }
    }
}

static void route_services(struct kctx *k, const struct doc_node *list, const char *field,
                           Router *rt)
{
    char f[600];
    if (list == NULL || list->n == 0) {
        kube_error(k, list, field, "a route needs at least one service");
        return;
    }
    if (list->n == 1) {
        snprintf(f, sizeof f, "%s[0]", field);
        rt->service = svc_ref(k, list->items[0], f, rt->name);
        return;
    }
    Service *s = kube_new_service(k->h, xstrdup(rt->name), list);
    Weighted *wt = xmalloc(sizeof *wt);
    concord__config__weighted__init(wt);
    wt->mark = new_mark(list);
    s->kind_case = CONCORD__CONFIG__SERVICE__KIND_WEIGHTED;
    s->weighted = wt;
    weighted_children(k, wt, list, field);
    rt->service = xstrdup(rt->name);
}

static void route_tls(struct kctx *k, const struct doc_node *tls, Router *rt)
{
    const struct doc_node *opt = doc_map_get(tls, "options");
    const char *resolver =
        doc_is_null(tls) ? NULL : kube_str(k, tls, "certResolver", "spec.tls", false);
    rt->tls = xmalloc(sizeof *rt->tls);
    concord__config__router_tls__init(rt->tls);
    rt->tls->mark = new_mark(tls);
    if (resolver) {
        rt->tls->cert_resolver = xstrdup(resolver);
    }
    if (opt != NULL && opt->kind == DOC_MAP) {
        const char *n = kube_str(k, opt, "name", "spec.tls.options.name", false), *ns;
        if (n != NULL && ref_ns(k, opt, "spec.tls.options", &ns)) {
            rt->tls->options = strchr(n, '@') ? xstrdup(n) : kube_nname("%s-%s", ns, n);
        }
    }
}

static void route(struct kctx *k, const struct doc_node *r, size_t i, char **eps, size_t neps,
                  const struct doc_node *tls)
{
    char f[300], hash[21];
    int64_t prio = 0;
    snprintf(f, sizeof f, "spec.routes[%zu]", i);
    const char *match = kube_str(k, r, "match", f, true);
    const char *kind = kube_str(k, r, "kind", f, false);
    const char *syntax = kube_str(k, r, "syntax", f, false);
    const struct doc_node *mws = kube_seq(k, r, "middlewares", f);
    if (match == NULL) {
        return;
    }
    if (kind != NULL && strcmp(kind, "Rule") != 0) {
        strncat(f, ".kind", sizeof f - strlen(f) - 1);
        kube_error(k, doc_map_get(r, "kind"), f, "\"%s\": only Rule is supported", kind);
        return;
    }
    kube_int(k, r, "priority", f, INT64_MIN, INT64_MAX, &prio);
    kube_hash20(match, hash);
    char *name = kube_nname("%s-%s-%s", k->ns, k->name, hash);
    bool dup = false;
    for (size_t j = 0; j < k->h->n_routers; j++) {
        dup = dup || strcmp(k->h->routers[j]->name, name) == 0;
    }
    if (dup) {
        kube_warning(k, doc_map_get(r, "match"), f,
                     "same match as an earlier route, which this one replaces (Traefik names the "
                     "routers of an IngressRoute by their match)");
        drop_named(k->h, name);
    }
    Router *rt = kube_new_router(k->h, name, r);
    rt->rule = xstrdup(match);
    rt->priority = prio;
    if (syntax) {
        rt->rule_syntax = xstrdup(syntax);
    }
    for (size_t e = 0; e < neps; e++) {
        rt->entry_points = append(rt->entry_points, &rt->n_entry_points, sizeof(char *));
        rt->entry_points[rt->n_entry_points - 1] = xstrdup(eps[e]);
    }
    for (size_t m = 0; mws && m < mws->n; m++) {
        char mf[400];
        snprintf(mf, sizeof mf, "%s.middlewares[%zu]", f, m);
        char *ref = mw_ref(k, mws->items[m], mf);
        if (ref) {
            rt->middlewares = append(rt->middlewares, &rt->n_middlewares, sizeof(char *));
            rt->middlewares[rt->n_middlewares - 1] = ref;
        }
    }
    if (!doc_is_null(doc_map_get(r, "observability"))) {
        kube_warning(k, doc_map_get(r, "observability"), f, "observability: %s",
                     SCHEMA_UNSUPPORTED_MSG);
    }
    snprintf(f + strlen(f), sizeof f - strlen(f), ".services");
    route_services(k, kube_seq(k, r, "services", f), f, rt);
    if (tls != NULL) {
        route_tls(k, tls, rt);
    }
}

static void ingress_route(struct kctx *k, const struct doc_node *obj)
{
    const struct doc_node *spec = kube_map(k, obj, "spec", "spec");
    const struct doc_node *routes = kube_seq(k, spec, "routes", "spec.routes");
    const struct doc_node *tls = doc_map_get(spec, "tls");
    char **eps = NULL, path[700];
    size_t neps = 0;
    if (routes == NULL) {
        if (doc_map_get(spec, "routes") == NULL) {
            kube_error(k, spec ? spec : obj, "spec.routes", "missing");
        }
        return;
    }
    tls = doc_is_null(tls) ? NULL : tls; /* `tls: {}` is TLS with defaults, no `tls` none */
    snprintf(path, sizeof path, "%s: spec.entryPoints", k->where);
    if (doc_map_get(spec, "entryPoints") != NULL) {
        doc_read_strlist(doc_map_get(spec, "entryPoints"), path, &eps, &neps, k->d);
    }
    if (tls != NULL) {
        kube_warning(k, tls, "spec.tls", "%s (the routers are served on TLS connections only)",
                     SCHEMA_UNSUPPORTED_MSG);
    }
    for (size_t i = 0; i < routes->n; i++) {
        route(k, routes->items[i], i, eps, neps, tls);
    }
    doc_strlist_free(eps, neps);
}

/* ---- API ---- */

static void each(struct kctx *k, Config *cfg, enum kube_kind kind, const char *name,
                 void (*fn)(struct kctx *k, const struct doc_node *obj))
{
    size_t n;
    const struct doc_node **v = kube_sorted(k->in, kind, &n);
    for (size_t i = 0; i < n; i++) {
        if (kube_begin(k, v[i], name)) {
            fn(k, v[i]);
        }
        kube_end(k, cfg);
    }
    free(v);
}

int kube_decode_crd(const struct kube_objs *in, const struct kube_crd_opts *o, Config **out,
                    struct diags *d)
{
    struct kctx k;
    Config *cfg = decode_config_new();
    const struct kube_list *other = &in->k[KUBE_OTHER_TRAEFIK];
    kube_ctx_init(&k, in, d, o && o->allow_cross_namespace, o && o->allow_external_name_services);
    each(&k, cfg, KUBE_MIDDLEWARE, "Middleware", middleware);
    each(&k, cfg, KUBE_TRAEFIK_SERVICE, "TraefikService", traefik_service);
    each(&k, cfg, KUBE_SERVERS_TRANSPORT, "ServersTransport", servers_transport);
    each(&k, cfg, KUBE_INGRESS_ROUTE, "IngressRoute", ingress_route);
    for (size_t i = 0; i < other->n; i++) {
        const struct doc_node *kd = doc_map_get(other->v[i], "kind");
        kube_begin(&k, other->v[i], kd->str);
        kube_warning(&k, kd, "", "recognised Traefik kind, not supported yet");
        concord__config__http_config__free_unpacked(k.h, NULL);
    }
    *out = cfg;
    return 0;
}
