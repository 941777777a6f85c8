/* Services beyond a plain load balancer: weighted, mirroring and failover (references between
 * services), sticky cookies, responseForwarding and http.serversTransports.
 *
 * References are namespaced like a router's service: "x" means "x@<the service's namespace>".
 * A reference must name an existing, enabled service; a cycle (a weighted service that reaches
 * itself through its children, a mirror that mirrors itself, ...) is an error for every
 * service on it, and a service that references a disabled one is disabled too, with an error
 * that names it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/base/duration.h"
#include "node/table/compile-int.h"
#include "node/table/digest.h"

typedef Concord__Config__Service Service;
typedef Concord__Config__LoadBalancer LoadBalancer;
typedef Concord__Config__Sticky Sticky;
typedef Concord__Config__Cookie Cookie;
typedef Concord__Config__ServersTransport ServersTransport;

/* One reference from a service to another. */
struct svc_ref {
    char *full;      /* "name@ns" */
    const char *raw; /* as written (points into the config) */
    const Mark *mark;
    char field[64];  /* key path under the service: "weighted.services[0].name" */
    int32_t idx;     /* index in c->svcs once resolved, else -1 */
};

struct svcx {
    struct svc_ref *refs;
    uint32_t nrefs;
    uint8_t visit; /* cycle search: 0 not yet, 1 on the path, 2 done */
    int32_t tp;    /* loadBalancer.serversTransport: index in c->tps, -1 none */
};

struct tpcand {
    char *full;
    const char *raw;
    const char *ns;
    const ServersTransport *msg;
    const Mark *mark;
    uint32_t order;
    bool ok;
    uint32_t id; /* index in parts.transports when ok */
};

/* ---- serversTransports ---- */

static int tp_order(const void *a, const void *b)
{
    const struct tpcand *x = a, *y = b;
    int r = strcmp(x->full, y->full);
    return r != 0 ? r : (x->order > y->order) - (x->order < y->order);
}

static bool tp_duration(struct cctx *c, const struct tpcand *t, const char *field, const char *s,
                        uint64_t *ms, bool *has)
{
    char path[400];
    if (s == NULL || s[0] == '\0') {
        return true;
    }
    if (duration_parse_ms(s, ms) != 0) {
        snprintf(path, sizeof path, "http.serversTransports.%s.forwardingTimeouts.%s", t->raw,
                 field);
        cc_report(c, DIAG_ERROR, t->mark, path,
                  "\"%s\" is not a duration (like \"100ms\", \"1m30s\")", s);
        return false;
    }
    *has = true;
    return true;
}

static bool tp_compile(struct cctx *c, const struct tpcand *t, struct table_transport *out)
{
    char path[400];
    const ServersTransport *m = t->msg;
    const Concord__Config__ForwardingTimeouts *f = m->forwarding_timeouts;
    bool ok = true;
    if (m->has_max_idle_conns_per_host) {
        if (m->max_idle_conns_per_host < 0) {
            snprintf(path, sizeof path, "http.serversTransports.%s.maxIdleConnsPerHost", t->raw);
            cc_report(c, DIAG_ERROR, t->mark, path, "must not be negative");
            ok = false;
        } else if (m->max_idle_conns_per_host > 0) {
            /* 0 is Go's "use the default": the node's static setting. */
            out->max_idle_per_host = (uint32_t)m->max_idle_conns_per_host;
            out->has_max_idle = true;
        }
    }
    if (f != NULL) {
        ok = tp_duration(c, t, "dialTimeout", f->dial_timeout, &out->dial_timeout_ms,
                         &out->has_dial) && ok;
        ok = tp_duration(c, t, "responseHeaderTimeout", f->response_header_timeout,
                         &out->response_header_timeout_ms, &out->has_response_header) && ok;
        ok = tp_duration(c, t, "idleConnTimeout", f->idle_conn_timeout,
                         &out->idle_conn_timeout_ms, &out->has_idle) && ok;
    }
    return ok;
}

static int collect_transports(struct cctx *c)
{
    char path[400];
    size_t total = 0;
    for (uint32_t s = 0; s < c->nsrcs; s++) {
        const Concord__Config__HttpConfig *h = c->srcs[s].cfg ? c->srcs[s].cfg->http : NULL;
        total += h ? h->n_servers_transports : 0;
    }
    if (total == 0) {
        return 0;
    }
    if (total > UINT32_MAX / 2 || !(c->tps = calloc(total, sizeof *c->tps))) {
        return c->rc = -ENOMEM;
    }
    for (uint32_t s = 0; s < c->nsrcs; s++) {
        const Concord__Config__HttpConfig *h = c->srcs[s].cfg ? c->srcs[s].cfg->http : NULL;
        for (size_t i = 0; h != NULL && i < h->n_servers_transports; i++) {
            const ServersTransport *m = h->servers_transports[i];
            const char *raw = cc_str(m->name), *at = strrchr(raw, '@');
            snprintf(path, sizeof path, "http.serversTransports.%s", raw);
            if (raw[0] == '\0' || at == raw || (at != NULL && strcmp(at + 1, c->srcs[s].ns))) {
                cc_report(c, DIAG_ERROR, m->mark, path, "%s",
                          at && at != raw ? "name is not in this provider's namespace"
                                          : "empty name");
                continue;
            }
            struct tpcand *t = &c->tps[c->ntps];
            *t = (struct tpcand){.raw = raw, .ns = c->srcs[s].ns, .msg = m, .mark = m->mark,
                                 .order = c->ntps, .ok = true};
            t->full = cc_qualify(c, c->srcs[s].ns, raw);
            if (t->full == NULL) {
                return c->rc;
            }
            c->ntps++;
        }
    }
    if (c->ntps > 1) {
        qsort(c->tps, c->ntps, sizeof *c->tps, tp_order);
    }
    for (uint32_t i = 0; i + 1 < c->ntps; i++) {
        if (strcmp(c->tps[i].full, c->tps[i + 1].full) == 0) {
            c->tps[i].ok = c->tps[i + 1].ok = false;
        }
    }
    for (uint32_t i = 0; i < c->ntps; i++) {
        if (!c->tps[i].ok) {
            snprintf(path, sizeof path, "http.serversTransports.%s", c->tps[i].raw);
            cc_report(c, DIAG_ERROR, c->tps[i].mark, path,
                      "%s is defined more than once in namespace %s; every copy is disabled",
                      c->tps[i].full, c->tps[i].ns);
        }
    }
    return 0;
}

int svc_prepare(struct cctx *c)
{
    if (c->svcs.n > 0 && !(c->svx = calloc(c->svcs.n, sizeof *c->svx))) {
        return c->rc = -ENOMEM;
    }
    for (uint32_t i = 0; i < c->svcs.n; i++) {
        c->svx[i].tp = -1;
    }
    if (collect_transports(c) != 0) {
        return c->rc;
    }
    if (c->ntps > 0 &&
        !(c->parts.transports = calloc(c->ntps, sizeof *c->parts.transports))) {
        return c->rc = -ENOMEM;
    }
    for (uint32_t i = 0; i < c->ntps; i++) {
        struct tpcand *t = &c->tps[i];
        struct table_transport *out = &c->parts.transports[c->parts.ntransports];
        if (!t->ok || !tp_compile(c, t, out)) {
            memset(out, 0, sizeof *out);
            t->ok = false;
            continue;
        }
        out->name = cc_dup(c, t->full);
        t->id = c->parts.ntransports++;
        if (out->name == NULL) {
            return c->rc;
        }
    }
    return 0;
}

/* ---- checks of one service ---- */

static bool add_ref(struct cctx *c, struct cand *k, const char *ref, const Mark *m,
                    const char *field)
{
    char path[400];
    struct svcx *x = &c->svx[k - c->svcs.v];
    struct svc_ref *v;
    if (ref == NULL || ref[0] == '\0') {
        cc_report(c, DIAG_ERROR, m ? m : k->mark, cc_key(path, sizeof path, k, field),
                  "no service named");
        return false;
    }
    v = realloc(x->refs, (x->nrefs + 1) * sizeof *v);
    if (v == NULL) {
        c->rc = -ENOMEM;
        return false;
    }
    x->refs = v;
    v = &x->refs[x->nrefs];
    memset(v, 0, sizeof *v);
    v->full = cc_qualify(c, k->ns, ref);
    v->raw = ref;
    v->mark = m ? m : k->mark;
    v->idx = -1;
    snprintf(v->field, sizeof v->field, "%s", field);
    if (v->full == NULL) {
        return false;
    }
    x->nrefs++;
    return true;
}

/* A cookie name is an HTTP token (RFC 2616 2.2); path and domain must not break the header. */
static bool is_token_char(char c)
{
    unsigned char ch = (unsigned char)c;
    return ch > 0x20 && ch < 0x7f && strchr("()<>@,;:\\\"/[]?={}", ch) == NULL;
}

static bool is_token(const char *s)
{
    for (; *s; s++) {
        if (!is_token_char(*s)) {
            return false;
        }
    }
    return true;
}

static bool attr_ok(const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch >= 0x7f || ch == ';') {
            return false;
        }
    }
    return true;
}

static bool check_sticky(struct cctx *c, struct cand *k, const Sticky *st, const char *prefix)
{
    char path[400], field[96];
    const Cookie *ck = st ? st->cookie : NULL;
    const Mark *m;
    bool ok = true;
    if (ck == NULL) {
        return true; /* `sticky: {}` without a cookie: Traefik is not sticky either */
    }
    m = ck->mark ? ck->mark : k->mark;
    if (cc_str(ck->name)[0] != '\0' && !is_token(ck->name)) {
        snprintf(field, sizeof field, "%s.sticky.cookie.name", prefix);
        cc_report(c, DIAG_WARNING, m, cc_key(path, sizeof path, k, field),
                  "\"%s\" is not a valid cookie name (an HTTP token): characters outside "
                  "one become '_', as Traefik does", ck->name);
    }
    const char *ss = cc_str(ck->same_site);
    if (ss[0] != '\0' && strcasecmp(ss, "none") != 0 && strcasecmp(ss, "lax") != 0 &&
        strcasecmp(ss, "strict") != 0) {
        snprintf(field, sizeof field, "%s.sticky.cookie.sameSite", prefix);
        cc_report(c, DIAG_ERROR, m, cc_key(path, sizeof path, k, field),
                  "\"%s\" is not one of none, lax, strict", ss);
        ok = false;
    }
    if (!attr_ok(cc_str(ck->path)) || !attr_ok(cc_str(ck->domain))) {
        snprintf(field, sizeof field, "%s.sticky.cookie.%s", prefix,
                 attr_ok(cc_str(ck->path)) ? "domain" : "path");
        cc_report(c, DIAG_ERROR, m, cc_key(path, sizeof path, k, field),
                  "holds a ';' or a control character");
        ok = false;
    }
    return ok;
}

static bool check_lb(struct cctx *c, struct cand *k, const LoadBalancer *lb)
{
    char path[400];
    const Mark *m = lb->mark ? lb->mark : k->mark;
    bool ok = check_sticky(c, k, lb->sticky, "loadBalancer");
    const char *tp = cc_str(lb->servers_transport);
    if (tp[0] != '\0') {
        char *full = cc_qualify(c, k->ns, tp);
        uint32_t i = 0;
        if (full == NULL) {
            return false;
        }
        while (i < c->ntps && strcmp(c->tps[i].full, full) != 0) {
            i++;
        }
        cc_key(path, sizeof path, k, "loadBalancer.serversTransport");
        if (i == c->ntps) {
            cc_report(c, DIAG_ERROR, m, path, "serversTransport \"%s\" does not exist", full);
            ok = false;
        } else if (!c->tps[i].ok) {
            cc_report(c, DIAG_ERROR, m, path,
                      "serversTransport \"%s\" is disabled by its own errors", full);
            ok = false;
        } else {
            c->svx[k - c->svcs.v].tp = (int32_t)i;
        }
        free(full);
    }
    const Concord__Config__ResponseForwarding *rf = lb->response_forwarding;
    const char *fi = rf ? cc_str(rf->flush_interval) : "";
    uint64_t ms;
    /* Concord writes every read to the client at once (it never holds response bytes back),
     * which is what any flushInterval asks for, a negative one (Traefik: flush immediately)
     * included. The value is only validated. */
    if (fi[0] != '\0' && duration_parse_ms(fi[0] == '-' ? fi + 1 : fi, &ms) != 0) {
        cc_report(c, DIAG_ERROR, rf->mark ? rf->mark : m,
                  cc_key(path, sizeof path, k, "loadBalancer.responseForwarding.flushInterval"),
                  "\"%s\" is not a duration (like \"100ms\", \"-1\")", fi);
        ok = false;
    }
    return ok;
}

static bool check_weighted(struct cctx *c, struct cand *k, const Concord__Config__Weighted *w)
{
    char path[400], field[64];
    const Mark *m = w->mark ? w->mark : k->mark;
    uint32_t positive = 0;
    bool ok = check_sticky(c, k, w->sticky, "weighted");
    if (w->n_services == 0) {
        cc_report(c, DIAG_ERROR, m, cc_key(path, sizeof path, k, "weighted.services"),
                  "a weighted service needs at least one service");
        return false;
    }
    for (size_t i = 0; i < w->n_services && c->rc == 0; i++) {
        const Concord__Config__WeightedService *ws = w->services[i];
        snprintf(field, sizeof field, "weighted.services[%zu].name", i);
        ok = add_ref(c, k, ws->name, ws->mark ? ws->mark : m, field) && ok;
        if (ws->has_weight && ws->weight < 0) {
            snprintf(field, sizeof field, "weighted.services[%zu].weight", i);
            cc_report(c, DIAG_ERROR, ws->mark ? ws->mark : m,
                      cc_key(path, sizeof path, k, field), "weight must not be negative");
            ok = false;
        }
        positive += !ws->has_weight || ws->weight > 0;
    }
    if (positive == 0) {
        cc_report(c, DIAG_ERROR, m, cc_key(path, sizeof path, k, "weighted.services"),
                  "no service has a positive weight");
        ok = false;
    }
    return ok;
}

static bool check_mirroring(struct cctx *c, struct cand *k, const Concord__Config__Mirroring *mr)
{
    char path[400], field[64];
    const Mark *m = mr->mark ? mr->mark : k->mark;
    bool ok = add_ref(c, k, mr->service, m, "mirroring.service");
    if (mr->n_mirrors > TABLE_MAX_MIRRORS) {
        cc_report(c, DIAG_ERROR, m, cc_key(path, sizeof path, k, "mirroring.mirrors"),
                  "%zu mirrors; at most %d are supported", mr->n_mirrors, TABLE_MAX_MIRRORS);
        return false;
    }
    for (size_t i = 0; i < mr->n_mirrors && c->rc == 0; i++) {
        const Concord__Config__Mirror *mi = mr->mirrors[i];
        snprintf(field, sizeof field, "mirroring.mirrors[%zu].name", i);
        ok = add_ref(c, k, mi->name, mi->mark ? mi->mark : m, field) && ok;
        if (mi->percent < 0 || mi->percent > 100) {
            snprintf(field, sizeof field, "mirroring.mirrors[%zu].percent", i);
            cc_report(c, DIAG_ERROR, mi->mark ? mi->mark : m,
                      cc_key(path, sizeof path, k, field), "percent %d is not in 0..100",
                      (int)mi->percent);
            ok = false;
        }
    }
    return ok;
}

bool svc_check(struct cctx *c, struct cand *k)
{
    const Service *v = k->msg;
    switch (v->kind_case) {
    case CONCORD__CONFIG__SERVICE__KIND_LOAD_BALANCER:
        return check_lb(c, k, v->load_balancer);
    case CONCORD__CONFIG__SERVICE__KIND_WEIGHTED:
        return check_weighted(c, k, v->weighted);
    case CONCORD__CONFIG__SERVICE__KIND_MIRRORING:
        return check_mirroring(c, k, v->mirroring);
    case CONCORD__CONFIG__SERVICE__KIND_FAILOVER: {
        const Concord__Config__Failover *f = v->failover;
        const Mark *m = f->mark ? f->mark : k->mark;
        bool ok = add_ref(c, k, f->service, m, "failover.service");
        return add_ref(c, k, f->fallback, m, "failover.fallback") && ok;
    }
    default:
        return false;
    }
}

/* ---- references ---- */

/* Depth-first search for cycles; every service on one is disabled with an error naming the
 * loop. `stack` holds the path from the root (indices into c->svcs). */
static void find_cycles(struct cctx *c, uint32_t i, uint32_t *stack, uint32_t depth)
{
    struct svcx *x = &c->svx[i];
    x->visit = 1;
    stack[depth] = i;
    for (uint32_t r = 0; r < x->nrefs; r++) {
        int32_t j = x->refs[r].idx;
        if (j < 0) {
            continue;
        }
        if (c->svx[j].visit == 1) {
            char loop[300] = "", path[400];
            uint32_t from = depth;
            while (stack[from] != (uint32_t)j) {
                from--;
            }
            for (uint32_t s = from; s <= depth; s++) {
                size_t n = strlen(loop);
                snprintf(loop + n, sizeof loop - n, "%s -> ", c->svcs.v[stack[s]].full);
            }
            size_t n = strlen(loop);
            snprintf(loop + n, sizeof loop - n, "%s", c->svcs.v[j].full);
            for (uint32_t s = from; s <= depth; s++) {
                struct cand *k = &c->svcs.v[stack[s]];
                if (k->ok) {
                    cc_report(c, DIAG_ERROR, k->mark, cc_key(path, sizeof path, k, ""),
                              "services reference each other in a loop: %s", loop);
                    k->ok = false;
                }
            }
        } else if (c->svx[j].visit == 0) {
            find_cycles(c, (uint32_t)j, stack, depth + 1);
        }
    }
    x->visit = 2;
}

int svc_check_refs(struct cctx *c)
{
    char path[400];
    uint32_t *stack;
    bool changed = true;
    for (uint32_t i = 0; i < c->svcs.n; i++) {
        struct cand *k = &c->svcs.v[i];
        for (uint32_t r = 0; k->ok && r < c->svx[i].nrefs; r++) {
            struct svc_ref *ref = &c->svx[i].refs[r];
            const struct cand *t = cc_find(&c->svcs, ref->full);
            if (t == NULL) {
                cc_report(c, DIAG_ERROR, ref->mark, cc_key(path, sizeof path, k, ref->field),
                          "service \"%s\" does not exist", ref->full);
                k->ok = false;
            } else {
                ref->idx = (int32_t)(t - c->svcs.v);
            }
        }
    }
    stack = calloc(c->svcs.n ? c->svcs.n : 1, sizeof *stack);
    if (stack == NULL) {
        return c->rc = -ENOMEM;
    }
    for (uint32_t i = 0; i < c->svcs.n; i++) {
        if (c->svx[i].visit == 0 && c->svx[i].nrefs > 0) {
            find_cycles(c, i, stack, 0);
        }
    }
    free(stack);
    /* Disabled services disable their users, transitively (the loop ends: each round
     * disables at least one more service or stops). */
    while (changed) {
        changed = false;
        for (uint32_t i = 0; i < c->svcs.n; i++) {
            struct cand *k = &c->svcs.v[i];
            for (uint32_t r = 0; k->ok && r < c->svx[i].nrefs; r++) {
                struct svc_ref *ref = &c->svx[i].refs[r];
                if (ref->idx >= 0 && !c->svcs.v[ref->idx].ok) {
                    cc_report(c, DIAG_ERROR, ref->mark,
                              cc_key(path, sizeof path, k, ref->field),
                              "service \"%s\" is disabled; so is this one", ref->full);
                    k->ok = false;
                    changed = true;
                }
            }
        }
    }
    return c->rc;
}

/* ---- filling the table service ---- */

/* Traefik's default sticky cookie name: "_" and the first 5 hex digits of
 * SHA-1("_TRAEFIK_BACKEND_" + service name) (its name length, 6, counts the "_"). */
static char *default_cookie_name(struct cctx *c, const char *service)
{
    unsigned char d[20];
    char buf[8];
    size_t n = strlen(service) + 17;
    char *in = malloc(n + 1);
    if (in == NULL) {
        c->rc = -ENOMEM;
        return NULL;
    }
    snprintf(in, n + 1, "_TRAEFIK_BACKEND_%s", service);
    digest_sha1(in, n, d);
    free(in);
    snprintf(buf, sizeof buf, "_%02x%02x%02x", d[0], d[1], d[2]);
    buf[6] = '\0';
    return cc_dup(c, buf);
}

static int fill_cookie(struct cctx *c, const struct cand *k, const Sticky *st,
                       struct table_service *ts)
{
    const Cookie *ck = st ? st->cookie : NULL;
    struct table_cookie *out;
    if (ck == NULL) {
        return 0;
    }
    out = calloc(1, sizeof *out);
    if (out == NULL) {
        return c->rc = -ENOMEM;
    }
    ts->sticky = out;
    out->name = cc_str(ck->name)[0] ? cc_dup(c, ck->name) : default_cookie_name(c, k->full);
    for (char *p = out->name; p && *p; p++) {
        if (!is_token_char(*p)) {
            *p = '_';
        }
    }
    out->same_site = cc_dup(c, cc_str(ck->same_site));
    for (char *p = out->same_site; p && *p; p++) {
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p | 0x20 : *p);
    }
    out->path = cc_dup(c, ck->has_path ? cc_str(ck->path) : "/");
    out->domain = cc_dup(c, cc_str(ck->domain));
    out->max_age = ck->max_age;
    out->secure = ck->secure;
    out->http_only = ck->http_only;
    return c->rc;
}

static const struct table_service *ref_svc(struct cctx *c, const struct cand *k, uint32_t r)
{
    const struct svc_ref *ref = &c->svx[k - c->svcs.v].refs[r];
    return &c->parts.services[c->svcs.v[ref->idx].id];
}

int svc_fill(struct cctx *c, const struct cand *k, struct table_service *ts)
{
    const Service *v = k->msg;
    const struct svcx *x = &c->svx[k - c->svcs.v];
    switch (v->kind_case) {
    case CONCORD__CONFIG__SERVICE__KIND_LOAD_BALANCER:
        if (x->tp >= 0) {
            ts->transport = &c->parts.transports[c->tps[x->tp].id];
        }
        return fill_cookie(c, k, v->load_balancer->sticky, ts);
    case CONCORD__CONFIG__SERVICE__KIND_WEIGHTED: {
        const Concord__Config__Weighted *w = v->weighted;
        ts->kind = TABLE_SVC_WEIGHTED;
        ts->children = calloc(w->n_services, sizeof *ts->children);
        if (ts->children == NULL) {
            return c->rc = -ENOMEM;
        }
        ts->nchildren = (uint32_t)w->n_services;
        for (uint32_t i = 0; i < ts->nchildren; i++) {
            const Concord__Config__WeightedService *ws = w->services[i];
            ts->children[i].svc = ref_svc(c, k, i);
            ts->children[i].weight = ws->has_weight ? (uint32_t)ws->weight : 1;
            /* Traefik names a child by the name as written (the value is what it hashes). */
            ts->children[i].ref = cc_dup(c, c->svx[k - c->svcs.v].refs[i].raw);
            if (ts->children[i].ref == NULL) {
                return c->rc;
            }
            table_sticky_value(ts->children[i].ref, ts->children[i].sticky);
        }
        return fill_cookie(c, k, w->sticky, ts);
    }
    case CONCORD__CONFIG__SERVICE__KIND_MIRRORING: {
        const Concord__Config__Mirroring *mr = v->mirroring;
        ts->kind = TABLE_SVC_MIRRORING;
        ts->main = ref_svc(c, k, 0);
        ts->mirror_body = mr->has_mirror_body ? mr->mirror_body : true;
        ts->max_body_size = mr->has_max_body_size && mr->max_body_size >= 0 ? mr->max_body_size
                                                                             : -1;
        if (mr->n_mirrors > 0 && !(ts->mirrors = calloc(mr->n_mirrors, sizeof *ts->mirrors))) {
            return c->rc = -ENOMEM;
        }
        ts->nmirrors = (uint32_t)mr->n_mirrors;
        for (uint32_t i = 0; i < ts->nmirrors; i++) {
            ts->mirrors[i].svc = ref_svc(c, k, i + 1);
            ts->mirrors[i].percent = (uint32_t)mr->mirrors[i]->percent;
        }
        return 0;
    }
    case CONCORD__CONFIG__SERVICE__KIND_FAILOVER:
        ts->kind = TABLE_SVC_FAILOVER;
        ts->main = ref_svc(c, k, 0);
        ts->fallback = ref_svc(c, k, 1);
        return 0;
    default:
        return 0;
    }
}

void svc_fini(struct cctx *c)
{
    for (uint32_t i = 0; c->svx != NULL && i < c->svcs.n; i++) {
        for (uint32_t r = 0; r < c->svx[i].nrefs; r++) {
            free(c->svx[i].refs[r].full);
        }
        free(c->svx[i].refs);
    }
    free(c->svx);
    c->svx = NULL;
    for (uint32_t i = 0; i < c->ntps; i++) {
        free(c->tps[i].full);
    }
    free(c->tps);
    c->tps = NULL;
    c->ntps = 0;
}
