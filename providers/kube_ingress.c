/* networking.k8s.io/v1 Ingress objects (Traefik's kubernetesIngress provider) into a Config. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/decode-int.h"
#include "providers/decode.h"
#include "providers/kube-int.h"
#include "providers/schema.h"

#define ANN "traefik.ingress.kubernetes.io/"
#define CONTROLLER "traefik.io/ingress-controller"
#define CLASS_ANN "kubernetes.io/ingress.class"

/* What the Ingress's router.* annotations say. */
struct router_conf {
    char **eps, **mws;
    size_t neps, nmws;
    int64_t priority;
    const char *matcher, *syntax;
    bool tls;
};

struct ictx {
    struct kctx k;
    const struct kube_ingress_opts *o;
    bool default_backend; /* "default-backend" is one per provider, as in Traefik */
};

/* ---- class filtering ---- */

static bool traefik_class(const struct ictx *c, const char *name)
{
    const char *want = c->o && c->o->ingress_class ? c->o->ingress_class : "";
    const struct kube_list *l = &c->k.in->k[KUBE_INGRESS_CLASS];
    if (want[0] && strcmp(want, name) != 0) {
        return false;
    }
    for (size_t i = 0; i < l->n; i++) {
        const struct doc_node *ctl = doc_map_get(doc_map_get(l->v[i], "spec"), "controller");
        const char *n = kube_meta(l->v[i], "name");
        if (n && strcmp(n, name) == 0 && ctl && ctl->kind == DOC_SCALAR &&
            strcmp(ctl->str, CONTROLLER) == 0) {
            return true;
        }
    }
    return false;
}

static bool ours(const struct ictx *c, const struct doc_node *ing)
{
    const struct doc_node *icn = doc_map_get(doc_map_get(ing, "spec"), "ingressClassName");
    const char *want = c->o && c->o->ingress_class ? c->o->ingress_class : "";
    const char *ann = kube_annotation(ing, CLASS_ANN);
    if (!doc_is_null(icn) && icn->kind == DOC_SCALAR) {
        return traefik_class(c, icn->str);
    }
    ann = ann ? ann : "";
    return strcmp(ann, want) == 0 || (want[0] == '\0' && strcmp(ann, "traefik") == 0);
}

/* ---- annotations ---- */

static void router_annotations(struct kctx *k, const struct doc_node *ing, struct router_conf *rc)
{
    const struct doc_node *a = doc_map_get(doc_map_get(ing, "metadata"), "annotations");
    char path[700];
    for (size_t i = 0; a && a->kind == DOC_MAP && i < a->n; i++) {
        const char *key = a->pairs[i].key->str;
        const struct doc_node *v = a->pairs[i].value;
        char field[300];
        if (strncmp(key, ANN, strlen(ANN)) != 0) {
            continue;
        }
        const char *opt = key + strlen(ANN);
        snprintf(field, sizeof field, "metadata.annotations[%s]", key);
        snprintf(path, sizeof path, "%s: %s", k->where, field);
        if (strcmp(opt, "router.entrypoints") == 0) {
            doc_read_strlist(v, path, &rc->eps, &rc->neps, k->d);
        } else if (strcmp(opt, "router.middlewares") == 0) {
            doc_read_strlist(v, path, &rc->mws, &rc->nmws, k->d);
        } else if (strcmp(opt, "router.priority") == 0) {
            doc_read_int(v, path, INT64_MIN, INT64_MAX, &rc->priority, k->d);
        } else if (strcmp(opt, "router.pathmatcher") == 0) {
            if (doc_read_str(v, path, &rc->matcher, k->d) == 0 &&
                strcmp(rc->matcher, "Path") != 0 && strcmp(rc->matcher, "PathPrefix") != 0) {
                kube_error(k, v, field, "expected Path or PathPrefix, got \"%s\"", rc->matcher);
            }
        } else if (strcmp(opt, "router.rulesyntax") == 0) {
            doc_read_str(v, path, &rc->syntax, k->d);
        } else if (strcmp(opt, "router.tls") == 0) {
            if (doc_read_bool(v, path, &rc->tls, k->d) == 0 && rc->tls) {
                kube_warning(k, v, field, "%s (the routers are served on TLS connections only)",
                             SCHEMA_UNSUPPORTED_MSG);
            }
        } else if (strncmp(opt, "router.tls.", 11) == 0 ||
                   strncmp(opt, "router.observability.", 21) == 0) {
            kube_warning(k, v, field, "%s", SCHEMA_UNSUPPORTED_MSG);
        } else if (strncmp(opt, "service.", 8) == 0) {
            kube_warning(k, v, field, "a service annotation: it is read on the Service; ignored");
        } else {
            kube_warning(k, v, field, "unknown Traefik annotation; ignored");
        }
    }
}

/* service.* annotations of the Kubernetes Service `so` onto lb. */
static void service_annotations(struct kctx *k, const struct doc_node *so, LoadBalancer *lb)
{
    const struct doc_node *a = doc_map_get(doc_map_get(so, "metadata"), "annotations");
    char path[700];
    const char *s;
    bool b;
    int64_t x;
    for (size_t i = 0; a && a->kind == DOC_MAP && i < a->n; i++) {
        const char *key = a->pairs[i].key->str;
        const struct doc_node *v = a->pairs[i].value;
        if (strncmp(key, ANN "service.", strlen(ANN) + 8) != 0) {
            continue;
        }
        const char *opt = key + strlen(ANN) + 8;
        snprintf(path, sizeof path, "%s: Service %s annotation %s", k->where, kube_meta(so, "name"),
                 key);
        Concord__Config__Cookie *ck = lb->sticky ? lb->sticky->cookie : NULL;
        if (strncmp(opt, "sticky.cookie", 13) == 0 && ck == NULL) {
            lb->sticky = xmalloc(sizeof *lb->sticky);
            concord__config__sticky__init(lb->sticky);
            ck = lb->sticky->cookie = xmalloc(sizeof *ck);
            concord__config__cookie__init(ck);
        }
        if (strcmp(opt, "serversscheme") == 0 || strcmp(opt, "sticky.cookie") == 0) {
            continue; /* read by the caller / made above */
        } else if (strcmp(opt, "serverstransport") == 0) {
            if (doc_read_str(v, path, &s, k->d) == 0) {
                lb->servers_transport = xstrdup(s);
            }
        } else if (strcmp(opt, "passhostheader") == 0) {
            if (doc_read_bool(v, path, &b, k->d) == 0) {
                lb->pass_host_header = b;
                lb->has_pass_host_header = 1;
            }
        } else if (strcmp(opt, "sticky.cookie.name") == 0) {
            if (doc_read_str(v, path, &s, k->d) == 0) {
                ck->name = xstrdup(s);
            }
        } else if (strcmp(opt, "sticky.cookie.samesite") == 0) {
            if (doc_read_str(v, path, &s, k->d) == 0) {
                ck->same_site = xstrdup(s);
            }
        } else if (strcmp(opt, "sticky.cookie.domain") == 0) {
            if (doc_read_str(v, path, &s, k->d) == 0) {
                ck->domain = xstrdup(s);
            }
        } else if (strcmp(opt, "sticky.cookie.path") == 0) {
            if (doc_read_str(v, path, &s, k->d) == 0) {
                ck->path = xstrdup(s);
                ck->has_path = 1;
            }
        } else if (strcmp(opt, "sticky.cookie.secure") == 0) {
            if (doc_read_bool(v, path, &b, k->d) == 0) {
                ck->secure = b;
            }
        } else if (strcmp(opt, "sticky.cookie.httponly") == 0) {
            if (doc_read_bool(v, path, &b, k->d) == 0) {
                ck->http_only = b;
            }
        } else if (strcmp(opt, "sticky.cookie.maxage") == 0) {
            if (doc_read_int(v, path, INT32_MIN, INT32_MAX, &x, k->d) == 0) {
                ck->max_age = (int32_t)x;
            }
        } else {
            diags_add(k->d, DIAG_WARNING, v->file, v->line, v->col, path, "%s",
                      strncmp(opt, "nativelb", 8) == 0 || strncmp(opt, "nodeportlb", 10) == 0
                          ? SCHEMA_UNSUPPORTED_MSG
                          : "unknown Traefik annotation; ignored");
        }
    }
}

/* ---- backends ---- */

/* The service of backend.service (creating it once per name); its name, or NULL after an
 * error. `fixed` names it (the default backend). */
static char *backend(struct kctx *k, const struct doc_node *be, const char *field,
                     const char *fixed)
{
    char f[400], pbuf[32];
    const struct doc_node *svc = kube_map(k, be, "service", field);
    if (svc == NULL) {
        kube_error(k, be, field,
                   doc_map_get(be, "resource") ? "resource backends are not supported"
                                               : "backend.service is missing");
        return NULL;
    }
    snprintf(f, sizeof f, "%s.service", field);
    const char *name = kube_str(k, svc, "name", f, true);
    const struct doc_node *port = kube_map(k, svc, "port", f);
    const char *pname = port ? kube_str(k, port, "name", f, false) : NULL;
    int64_t pnum = 0;
    if (name == NULL) {
        return NULL;
    }
    snprintf(f + strlen(f), sizeof f - strlen(f), ".port");
    int got = port == NULL || pname != NULL ? 0 : kube_int(k, port, "number", f, 1, 65535, &pnum);
    if (got < 0) {
        return NULL;
    }
    if (port == NULL || (pname == NULL && got == 0)) {
        kube_error(k, port ? port : svc, f, "port.number or port.name is required");
        return NULL;
    }
    snprintf(pbuf, sizeof pbuf, "%lld", (long long)pnum);
    const char *p = pname ? pname : pbuf;
    char *sname = fixed ? xstrdup(fixed) : kube_nname("%s-%s-%s", k->ns, name, p);
    if (kube_find_service(k->h, sname) != NULL) {
        return sname;
    }
    const struct doc_node *so = kube_find(k->in, KUBE_SERVICE, k->ns, name);
    Service *s = kube_new_service(k->h, xstrdup(sname), svc);
    LoadBalancer *lb = kube_new_lb(s, svc);
    const char *scheme = so ? kube_annotation(so, ANN "service.serversscheme") : NULL;
    if (kube_lb_servers(k, k->ns, name, p, scheme, port, f, lb)) {
        service_annotations(k, so, lb);
    }
    return sname;
}

static void apply_conf(Router *rt, const struct router_conf *rc, bool tls,
                       const struct doc_node *at)
{
    for (size_t i = 0; i < rc->neps; i++) {
        rt->entry_points = append(rt->entry_points, &rt->n_entry_points, sizeof(char *));
        rt->entry_points[rt->n_entry_points - 1] = xstrdup(rc->eps[i]);
    }
    for (size_t i = 0; i < rc->nmws; i++) {
        rt->middlewares = append(rt->middlewares, &rt->n_middlewares, sizeof(char *));
        rt->middlewares[rt->n_middlewares - 1] = xstrdup(rc->mws[i]);
    }
    if (rc->priority != 0) {
        rt->priority = rc->priority;
    }
    if (rc->syntax) {
        rt->rule_syntax = xstrdup(rc->syntax);
    }
    if (tls || rc->tls) {
        rt->tls = xmalloc(sizeof *rt->tls);
        concord__config__router_tls__init(rt->tls);
        rt->tls->mark = new_mark(at);
    }
}

/* Host(`h`) / HostRegexp for "*.h", && the path matcher. */
static char *rule_of(const char *host, const char *path, const char *ptype,
                     const struct router_conf *rc)
{
    char *h = NULL, *p = NULL, *r;
    if (host && host[0] == '*' && host[1] == '.') {
        size_t n = strlen(host), o = 0;
        char *q = xmalloc(2 * n + 1);
        for (size_t i = 2; i < n; i++) {
            if (strchr("\\.+*?()|[]{}^$", host[i])) {
                q[o++] = '\\';
            }
            q[o++] = host[i];
        }
        q[o] = '\0';
        h = kube_printf("HostRegexp(`^[a-zA-Z0-9-]+\\.%s$`)", q);
        free(q);
    } else if (host && host[0]) {
        h = kube_printf("Host(`%s`)", host);
    }
    if (path && path[0]) {
        const char *m = "PathPrefix";
        if (ptype && strcmp(ptype, "Exact") == 0) {
            m = "Path";
        } else if ((ptype == NULL || strcmp(ptype, "ImplementationSpecific") == 0) && rc->matcher) {
            m = rc->matcher;
        }
        p = kube_printf("%s(`%s`)", m, path);
    }
    if (h && p) {
        r = kube_printf("%s && %s", h, p);
    } else {
        r = h ? xstrdup(h) : p ? xstrdup(p) : xstrdup("PathPrefix(`/`)");
    }
    free(h);
    free(p);
    return r;
}

static void one_path(struct ictx *c, const char *host, const struct doc_node *pa, const char *field,
                     const struct router_conf *rc, bool tls)
{
    struct kctx *k = &c->k;
    char f[400];
    const char *path = kube_str(k, pa, "path", field, false);
    const char *ptype = kube_str(k, pa, "pathType", field, false);
    const struct doc_node *be = kube_map(k, pa, "backend", field);
    snprintf(f, sizeof f, "%s.backend", field);
    if (ptype && strcmp(ptype, "Exact") && strcmp(ptype, "Prefix") &&
        strcmp(ptype, "ImplementationSpecific")) {
        snprintf(f, sizeof f, "%s.pathType", field);
        kube_error(k, doc_map_get(pa, "pathType"), f,
                   "\"%s\": expected Exact, Prefix or ImplementationSpecific", ptype);
        return;
    }
    if (be == NULL) {
        kube_error(k, pa, f, "missing");
        return;
    }
    char *svc = backend(k, be, f, NULL);
    if (svc == NULL) {
        return;
    }
    char *key = kube_nname("%s-%s-%s%s", k->ns, k->name, host ? host : "", path ? path : "");
    Router *rt = kube_new_router(k->h, key, pa);
    rt->rule = rule_of(host, path, ptype, rc);
    rt->service = svc;
    apply_conf(rt, rc, tls, pa);
}

/* Paths of one Ingress sharing a router name get "-<hash of the rule>", as in Traefik. */
static void dedupe(HttpConfig *h, size_t from)
{
    size_t n = h->n_routers;
    bool *dup = calloc(n ? n : 1, sizeof *dup);
    if (dup == NULL) {
        abort();
    }
    for (size_t i = from; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            if (strcmp(h->routers[i]->name, h->routers[j]->name) == 0) {
                dup[i] = dup[j] = true;
            }
        }
    }
    for (size_t i = from; i < n; i++) {
        if (dup[i]) {
            char hash[21], *old = h->routers[i]->name;
            kube_hash20(h->routers[i]->rule, hash);
            h->routers[i]->name = kube_printf("%s-%s", old, hash);
            free(old);
        }
    }
    free(dup);
}

static void default_backend(struct ictx *c, const struct doc_node *be, const struct router_conf *rc,
                            bool tls)
{
    struct kctx *k = &c->k;
    if (c->default_backend) {
        kube_warning(k, be, "spec.defaultBackend",
                     "the default backend is already defined by another Ingress; skipped");
        return;
    }
    char *svc = backend(k, be, "spec.defaultBackend", "default-backend");
    if (svc == NULL) {
        return;
    }
    Router *rt = kube_new_router(k->h, xstrdup("default-router"), be);
    rt->rule = xstrdup("PathPrefix(`/`)");
    rt->service = svc;
    apply_conf(rt, rc, tls, be);
    rt->priority = INT32_MIN;
    c->default_backend = true;
}

static void ingress(struct ictx *c, const struct doc_node *obj)
{
    struct kctx *k = &c->k;
    struct router_conf rc = {0};
    char f[300];
    const struct doc_node *spec = kube_map(k, obj, "spec", "spec");
    const struct doc_node *rules = kube_seq(k, spec, "rules", "spec.rules");
    const struct doc_node *be = kube_map(k, spec, "defaultBackend", "spec.defaultBackend");
    const struct doc_node *tl = doc_map_get(spec, "tls");
    bool tls = tl != NULL && tl->kind == DOC_SEQ && tl->n > 0; /* as Traefik: a non-empty list */
    router_annotations(k, obj, &rc);
    if (tls) {
        kube_warning(k, tl, "spec.tls", "%s (the routers are served on TLS connections only)",
                     SCHEMA_UNSUPPORTED_MSG);
    }
    if (be != NULL) {
        default_backend(c, be, &rc, tls);
    }
    size_t from = k->h->n_routers;
    for (size_t i = 0; rules && i < rules->n; i++) {
        snprintf(f, sizeof f, "spec.rules[%zu]", i);
        const char *host = kube_str(k, rules->items[i], "host", f, false);
        const struct doc_node *http = kube_map(k, rules->items[i], "http", f);
        snprintf(f + strlen(f), sizeof f - strlen(f), ".http.paths");
        const struct doc_node *paths = http ? kube_seq(k, http, "paths", f) : NULL;
        for (size_t j = 0; paths && j < paths->n; j++) {
            char pf[340];
            snprintf(pf, sizeof pf, "%s[%zu]", f, j);
            one_path(c, host, paths->items[j], pf, &rc, tls);
        }
    }
    dedupe(k->h, from);
    doc_strlist_free(rc.eps, rc.neps);
    doc_strlist_free(rc.mws, rc.nmws);
}

int kube_decode_ingress(const struct kube_objs *in, const struct kube_ingress_opts *o, Config **out,
                        struct diags *d)
{
    struct ictx c = {.o = o};
    size_t n;
    Config *cfg = decode_config_new();
    const struct doc_node **v = kube_sorted(in, KUBE_INGRESS, &n);
    kube_ctx_init(&c.k, in, d, o && o->allow_cross_namespace, o && o->allow_external_name_services);
    for (size_t i = 0; i < n; i++) {
        if (!ours(&c, v[i])) {
            continue;
        }
        bool had = c.default_backend;
        if (kube_begin(&c.k, v[i], "Ingress")) {
            ingress(&c, v[i]);
        }
        if (kube_failed(&c.k)) {
            c.default_backend = had; /* the skipped Ingress's default backend does not count */
        }
        kube_end(&c.k, cfg);
    }
    free(v);
    *out = cfg;
    return 0;
}
