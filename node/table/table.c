/* The routing table object: ownership, reference counting, accessors and request matching. */
#include "node/table/table.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "node/table/rule.h"
#include "node/table/table-build.h"

struct table {
    atomic_uint refs;
    uint64_t generation;
    /* Routers sorted in match order: priority descending, then name ascending. */
    struct table_parts p;
};

void table_parts_fini(struct table_parts *p)
{
    for (uint32_t i = 0; p->routers != NULL && i < p->nrouters; i++) {
        struct table_router *r = &p->routers[i];
        free(r->name);
        free(r->rule);
        /* The table owns the rule; the field is const only so that readers cannot touch it. */
        rule_free((struct rule *)r->compiled);
    }
    for (uint32_t i = 0; p->services != NULL && i < p->nservices; i++) {
        free(p->services[i].name);
        free(p->services[i].servers);
        free(p->services[i].weights);
    }
    for (uint32_t i = 0; p->servers != NULL && i < p->nservers; i++) {
        free(p->servers[i].url);
        free(p->servers[i].authority);
        free(p->servers[i].path);
    }
    free(p->routers);
    free(p->services);
    free(p->servers);
    memset(p, 0, sizeof *p);
}

static int router_order(const void *a, const void *b)
{
    const struct table_router *x = a, *y = b;
    if (x->priority != y->priority) {
        return x->priority > y->priority ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

struct table *table_assemble(struct table_parts *p, uint64_t generation)
{
    struct table *t = calloc(1, sizeof *t);
    if (t == NULL) {
        table_parts_fini(p);
        return NULL;
    }
    atomic_init(&t->refs, 1);
    t->generation = generation;
    t->p = *p;
    memset(p, 0, sizeof *p);
    /* Nothing points at a router yet, so they can be sorted in place. Names are unique
     * (compile disables duplicates), which makes the unstable qsort deterministic. */
    if (t->p.nrouters > 1) {
        qsort(t->p.routers, t->p.nrouters, sizeof *t->p.routers, router_order);
    }
    /* The host index will be built here (next issue): a hash from exact host to the routers
     * whose rule requires that host, each list in match order. */
    return t;
}

void table_ref(struct table *t)
{
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void table_unref(struct table *t)
{
    if (t == NULL) {
        return;
    }
    /* Release our writes, and acquire everyone else's before freeing (the classic pattern). */
    if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1) {
        return;
    }
    table_parts_fini(&t->p);
    free(t);
}

/* First router of v[0..n) (in match order) that is attached to the request's entry point and
 * whose rule matches. */
static const struct table_router *scan(const struct table_router *v, uint32_t n,
                                       const struct table_request *r)
{
    uint64_t bit = UINT64_C(1) << r->entrypoint;
    for (uint32_t i = 0; i < n; i++) {
        if ((v[i].entrypoints & bit) != 0 && rule_match(v[i].compiled, r)) {
            return &v[i];
        }
    }
    return NULL;
}

const struct table_router *table_match(const struct table *t, const struct table_request *r)
{
    if (r->entrypoint >= 64) {
        return NULL;
    }
    /* Today every router is a candidate, tried in match order. With the host index, the
     * candidates become two lists both in match order: the index's entry for r->host and the
     * routers whose rule does not pin a host. The winner is the earlier of the two lists'
     * first matches (compare positions in p.routers), so the cost stops growing with the
     * number of host-indexed routers. That merge goes here; scan() stays as it is. */
    return scan(t->p.routers, t->p.nrouters, r);
}

bool table_explain(const struct table *t, const struct table_request *r, table_explain_fn visit,
                   void *arg)
{
    uint64_t bit = r->entrypoint == TABLE_ENTRYPOINT_ANY ? UINT64_MAX
                   : r->entrypoint < 64                  ? UINT64_C(1) << r->entrypoint
                                                         : 0;
    char why[1024];
    for (uint32_t i = 0; i < t->p.nrouters; i++) {
        const struct table_router *rt = &t->p.routers[i];
        if ((rt->entrypoints & bit) == 0) {
            continue;
        }
        bool matched = rule_explain(rt->compiled, r, why, sizeof why);
        visit(arg, rt, matched, matched ? NULL : why);
        if (matched) {
            return true;
        }
    }
    return false;
}

uint64_t table_generation(const struct table *t)
{
    return t->generation;
}

uint32_t table_nservers(const struct table *t)
{
    return t->p.nservers;
}

uint32_t table_nservices(const struct table *t)
{
    return t->p.nservices;
}

uint32_t table_nrouters(const struct table *t)
{
    return t->p.nrouters;
}

const struct table_router *table_router_at(const struct table *t, uint32_t i)
{
    return i < t->p.nrouters ? &t->p.routers[i] : NULL;
}

const struct table_server *table_server_at(const struct table *t, uint32_t i)
{
    return i < t->p.nservers ? &t->p.servers[i] : NULL;
}

const struct table_service *table_service_at(const struct table *t, uint32_t i)
{
    return i < t->p.nservices ? &t->p.services[i] : NULL;
}

const struct table_service *table_service_find(const struct table *t, const char *name)
{
    /* Services are stored sorted by name (compile.c), so a binary search finds one. */
    uint32_t lo = 0, hi = t->p.nservices;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, t->p.services[mid].name);
        if (c == 0) {
            return &t->p.services[mid];
        }
        if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}
