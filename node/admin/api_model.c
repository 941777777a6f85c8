/* Gathers the API's objects from the config, the table and the diagnostics (api_model.h). */
#include "node/admin/api_model.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/diag.h"
#include "node/table/mw_conf.h"
#include "node/table/compile.h"
#include "node/table/table.h"
#include "proto/config.pb-c.h"

static const char *const section_key[API_NSECTIONS] = {"routers", "services", "middlewares"};

const char *api_qualify(const char *ref, const char *provider, char *buf, size_t size)
{
    if (strchr(ref, '@') != NULL) {
        snprintf(buf, size, "%s", ref);
    } else {
        snprintf(buf, size, "%s@%s", ref, provider);
    }
    return buf;
}

struct objs {
    struct api_obj *v;
    uint32_t n, cap;
};

static int add(struct objs *l, const char *name, const char *raw, const ProtobufCMessage *msg,
               const void *compiled, uint64_t eps)
{
    struct api_obj *o;
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 16;
        struct api_obj *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL) {
            return -ENOMEM;
        }
        l->v = v;
        l->cap = cap;
    }
    o = &l->v[l->n];
    memset(o, 0, sizeof *o);
    if ((o->name = strdup(name)) == NULL) {
        return -ENOMEM;
    }
    l->n++;
    o->raw = raw;
    o->msg = msg;
    o->compiled = compiled;
    o->eps = eps;
    return 0;
}

static int add_cfg(struct objs *l, const char *raw, const ProtobufCMessage *msg, const char *ns)
{
    char full[512];
    return add(l, api_qualify(raw ? raw : "", ns, full, sizeof full), raw, msg, NULL, 0);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct api_obj *)a)->name, ((const struct api_obj *)b)->name);
}

/* Sorts and merges the entries of one name: the config's message, the compiled object (a
 * router compiled once per entry point list has several copies: their bits are joined). */
static void merge(struct objs *l)
{
    uint32_t o = 0;
    if (l->n > 1) {
        qsort(l->v, l->n, sizeof *l->v, by_name);
    }
    for (uint32_t i = 0; i < l->n; i++) {
        struct api_obj *x = &l->v[i];
        if (o > 0 && strcmp(l->v[o - 1].name, x->name) == 0) {
            struct api_obj *k = &l->v[o - 1];
            if (k->msg == NULL) {
                k->msg = x->msg;
                k->raw = x->raw;
            }
            if (k->compiled == NULL) {
                k->compiled = x->compiled;
            }
            k->eps |= x->eps;
            free(x->name);
            continue;
        }
        l->v[o++] = *x;
    }
    l->n = o;
    for (uint32_t i = 0; i < l->n; i++) {
        const char *at = strrchr(l->v[i].name, '@');
        l->v[i].provider = at ? at + 1 : "";
    }
}

static int collect(const struct node_view *v, struct objs l[API_NSECTIONS])
{
    const struct table *t = v->table;
    int rc = 0;
    for (uint32_t k = 0; k < v->nsrcs && rc == 0; k++) {
        const Concord__Config__HttpConfig *h = v->srcs[k].cfg ? v->srcs[k].cfg->http : NULL;
        const char *ns = v->srcs[k].ns;
        for (size_t i = 0; h != NULL && i < h->n_routers && rc == 0; i++) {
            rc = add_cfg(&l[API_ROUTERS], h->routers[i]->name, &h->routers[i]->base, ns);
        }
        for (size_t i = 0; h != NULL && i < h->n_services && rc == 0; i++) {
            rc = add_cfg(&l[API_SERVICES], h->services[i]->name, &h->services[i]->base, ns);
        }
        for (size_t i = 0; h != NULL && i < h->n_middlewares && rc == 0; i++) {
            rc = add_cfg(&l[API_MIDDLEWARES], h->middlewares[i]->name, &h->middlewares[i]->base,
                         ns);
        }
    }
    for (uint32_t i = 0; t != NULL && i < table_nrouters(t) && rc == 0; i++) {
        const struct table_router *r = table_router_at(t, i);
        rc = add(&l[API_ROUTERS], r->name, NULL, NULL, r, r->entrypoints);
    }
    for (uint32_t i = 0; t != NULL && i < table_nservices(t) && rc == 0; i++) {
        const struct table_service *s = table_service_at(t, i);
        rc = add(&l[API_SERVICES], s->name, NULL, NULL, s, 0);
    }
    for (uint32_t i = 0; t != NULL && i < table_nmiddlewares(t) && rc == 0; i++) {
        const struct table_middleware *mw = table_middleware_at(t, i);
        rc = add(&l[API_MIDDLEWARES], mw->name, NULL, NULL, mw, 0);
    }
    return rc;
}

/* Objects of one section that have a config key, sorted by it, for owner(). */
struct raw_index {
    struct api_obj **v;
    uint32_t n;
};

static int by_raw(const void *a, const void *b)
{
    return strcmp((*(struct api_obj *const *)a)->raw, (*(struct api_obj *const *)b)->raw);
}

static int index_raw(struct api_model *m, enum api_section sec, struct raw_index *x)
{
    x->n = 0;
    x->v = malloc((m->n[sec] + 1) * sizeof *x->v);
    if (x->v == NULL) {
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < m->n[sec]; i++) {
        if (m->obj[sec][i].raw != NULL) {
            x->v[x->n++] = &m->obj[sec][i];
        }
    }
    qsort(x->v, x->n, sizeof *x->v, by_raw);
    return 0;
}

/* The object whose key is exactly rest[0..len). */
static struct api_obj *raw_find(const struct raw_index *x, const char *rest, size_t len)
{
    uint32_t lo = 0, hi = x->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const char *r = x->v[mid]->raw;
        int c = strncmp(r, rest, len);
        if (c == 0 && r[len] != '\0') {
            c = 1;
        }
        if (c == 0) {
            return x->v[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

/* The object whose key as written is the longest prefix of `rest` ending at its end, a '.' or
 * a '[' (names may hold dots: "a.b" wins over "a" for "a.b.rule"). */
static struct api_obj *owner(const struct raw_index *x, const char *rest)
{
    size_t len = strlen(rest);
    for (size_t j = len + 1; j-- > 0;) {
        struct api_obj *o;
        if (j != len && rest[j] != '.' && rest[j] != '[') {
            continue;
        }
        if ((o = raw_find(x, rest, j)) != NULL) {
            return o;
        }
    }
    return NULL;
}

static int push_u32(uint32_t **v, uint32_t *n, uint32_t x)
{
    uint32_t *nv = realloc(*v, (*n + 1) * sizeof **v);
    if (nv == NULL) {
        return -ENOMEM;
    }
    nv[(*n)++] = x;
    *v = nv;
    return 0;
}

static int attach_diags(struct api_model *m)
{
    const struct diags *d = m->v->diags;
    struct raw_index x[API_NSECTIONS] = {{NULL, 0}};
    int rc = 0;
    for (int s = 0; s < API_NSECTIONS && rc == 0; s++) {
        rc = index_raw(m, (enum api_section)s, &x[s]);
    }
    for (size_t i = 0; rc == 0 && d != NULL && i < d->n; i++) {
        const char *p = d->v[i].path;
        if (p == NULL || strncmp(p, "http.", 5) != 0) {
            continue;
        }
        for (int s = 0; s < API_NSECTIONS && rc == 0; s++) {
            size_t kl = strlen(section_key[s]);
            struct api_obj *o;
            if (strncmp(p + 5, section_key[s], kl) != 0 || p[5 + kl] != '.') {
                continue;
            }
            o = owner(&x[s], p + 5 + kl + 1);
            if (o != NULL) {
                rc = push_u32(&o->diags, &o->ndiags, (uint32_t)i);
            }
        }
    }
    for (int s = 0; s < API_NSECTIONS; s++) {
        free(x[s].v);
    }
    return rc;
}

const struct api_obj *api_model_find(const struct api_model *m, enum api_section s,
                                     const char *name)
{
    struct api_obj key = {.name = (char *)name};
    return m->obj[s] ? bsearch(&key, m->obj[s], m->n[s], sizeof key, by_name) : NULL;
}

/* Records that `user` references `ref` (qualified with the user's provider) in section s. */
static int use(struct api_model *m, enum api_section s, const char *ref, const struct api_obj *user)
{
    char q[512];
    struct api_obj *o;
    const char **nv;
    if (ref == NULL || ref[0] == '\0') {
        return 0;
    }
    o = (struct api_obj *)api_model_find(m, s, api_qualify(ref, user->provider, q, sizeof q));
    if (o == NULL) {
        return 0;
    }
    nv = realloc(o->used_by, (o->nused_by + 1) * sizeof *nv);
    if (nv == NULL) {
        return -ENOMEM;
    }
    nv[o->nused_by++] = user->name;
    o->used_by = nv;
    return 0;
}

static int router_uses(struct api_model *m, const struct api_obj *o)
{
    const Concord__Config__Router *r = (const Concord__Config__Router *)o->msg;
    const struct table_router *tr = o->compiled;
    int rc = 0;
    if (r != NULL) {
        rc = use(m, API_SERVICES, r->service, o);
        for (size_t i = 0; i < r->n_middlewares && rc == 0; i++) {
            rc = use(m, API_MIDDLEWARES, r->middlewares[i], o);
        }
        return rc;
    }
    if (tr != NULL && tr->service != NULL) {
        rc = use(m, API_SERVICES, tr->service->name, o);
    }
    for (uint32_t i = 0; tr != NULL && i < tr->nmws && rc == 0; i++) {
        rc = use(m, API_MIDDLEWARES, tr->mws[i]->name, o);
    }
    return rc;
}

static int service_uses(struct api_model *m, const struct api_obj *o)
{
    const Concord__Config__Service *s = (const Concord__Config__Service *)o->msg;
    int rc = 0;
    if (s == NULL) {
        return 0;
    }
    switch (s->kind_case) {
    case CONCORD__CONFIG__SERVICE__KIND_WEIGHTED:
        for (size_t i = 0; i < s->weighted->n_services && rc == 0; i++) {
            rc = use(m, API_SERVICES, s->weighted->services[i]->name, o);
        }
        break;
    case CONCORD__CONFIG__SERVICE__KIND_MIRRORING:
        rc = use(m, API_SERVICES, s->mirroring->service, o);
        for (size_t i = 0; i < s->mirroring->n_mirrors && rc == 0; i++) {
            rc = use(m, API_SERVICES, s->mirroring->mirrors[i]->name, o);
        }
        break;
    case CONCORD__CONFIG__SERVICE__KIND_FAILOVER:
        rc = use(m, API_SERVICES, s->failover->service, o);
        if (rc == 0) {
            rc = use(m, API_SERVICES, s->failover->fallback, o);
        }
        break;
    default:
        break;
    }
    return rc;
}

static int middleware_uses(struct api_model *m, const struct api_obj *o)
{
    const Concord__Config__Middleware *mw = (const Concord__Config__Middleware *)o->msg;
    int rc = 0;
    if (mw == NULL || mw->kind_case != CONCORD__CONFIG__MIDDLEWARE__KIND_CHAIN) {
        return 0;
    }
    for (size_t i = 0; i < mw->chain->n_middlewares && rc == 0; i++) {
        rc = use(m, API_MIDDLEWARES, mw->chain->middlewares[i], o);
    }
    return rc;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int link_uses(struct api_model *m)
{
    int rc = 0;
    for (uint32_t i = 0; i < m->n[API_ROUTERS] && rc == 0; i++) {
        rc = router_uses(m, &m->obj[API_ROUTERS][i]);
    }
    for (uint32_t i = 0; i < m->n[API_SERVICES] && rc == 0; i++) {
        rc = service_uses(m, &m->obj[API_SERVICES][i]);
    }
    for (uint32_t i = 0; i < m->n[API_MIDDLEWARES] && rc == 0; i++) {
        rc = middleware_uses(m, &m->obj[API_MIDDLEWARES][i]);
    }
    for (int s = 0; s < API_NSECTIONS; s++) {
        for (uint32_t i = 0; i < m->n[s]; i++) {
            struct api_obj *o = &m->obj[s][i];
            uint32_t k = 0;
            if (o->nused_by > 1) {
                qsort(o->used_by, o->nused_by, sizeof *o->used_by, by_str);
            }
            for (uint32_t j = 0; j < o->nused_by; j++) { /* a router may list one twice */
                if (k == 0 || strcmp(o->used_by[k - 1], o->used_by[j]) != 0) {
                    o->used_by[k++] = o->used_by[j];
                }
            }
            o->nused_by = k;
        }
    }
    return rc;
}

int api_model_build(const struct node_view *v, struct api_model *m)
{
    struct objs l[API_NSECTIONS];
    int rc;
    memset(m, 0, sizeof *m);
    memset(l, 0, sizeof l);
    m->v = v;
    rc = collect(v, l);
    for (int s = 0; s < API_NSECTIONS; s++) {
        merge(&l[s]);
        m->obj[s] = l[s].v;
        m->n[s] = l[s].n;
    }
    if (rc == 0) {
        rc = attach_diags(m);
    }
    if (rc == 0) {
        rc = link_uses(m);
    }
    for (int s = 0; s < API_NSECTIONS; s++) {
        for (uint32_t i = 0; i < m->n[s]; i++) {
            struct api_obj *o = &m->obj[s][i];
            o->status = o->compiled == NULL ? API_DISABLED
                        : o->ndiags > 0     ? API_WARNING
                                            : API_ENABLED;
        }
    }
    if (rc != 0) {
        api_model_free(m);
    }
    return rc;
}

void api_model_free(struct api_model *m)
{
    for (int s = 0; s < API_NSECTIONS; s++) {
        for (uint32_t i = 0; i < m->n[s]; i++) {
            free(m->obj[s][i].name);
            free(m->obj[s][i].diags);
            free(m->obj[s][i].used_by);
        }
        free(m->obj[s]);
        m->obj[s] = NULL;
        m->n[s] = 0;
    }
}
