/* The routing table object: ownership, reference counting, accessors and request matching. */
#include "node/table/table.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "node/table/digest.h"
#include "node/table/rule.h"
#include "node/table/mw_conf.h"
#include "node/table/table-build.h"

/* One host of the index: the routers whose rule requires exactly `key` are
 * hosted[start .. start + count), ascending (= match order). key == NULL: empty slot. */
struct host_slot {
    const char *key; /* lower-case, no trailing dot; points into a router's rule */
    uint32_t len;
    uint32_t hash;
    uint32_t start;
    uint32_t count;
};

struct table {
    atomic_uint refs;
    uint64_t generation;
    /* Routers sorted in match order: priority descending, then name ascending. */
    struct table_parts p;
    /* Host index (open addressing, linear probing; nslots a power of two, at most half
     * full; 0 when no rule requires a host). */
    struct host_slot *slots;
    uint32_t nslots;
    uint32_t *hosted; /* router indices, grouped by slot */
    /* Routers whose rule does not require one exact host, ascending (match order). */
    uint32_t *unindexed;
    uint32_t nunindexed;
};

static void index_free(struct table *t)
{
    free(t->slots);
    free(t->hosted);
    free(t->unindexed);
    t->slots = NULL;
    t->hosted = t->unindexed = NULL;
    t->nslots = t->nunindexed = 0;
}

/* The table owns a service's sticky cookie; the field is const only for readers. */
static void cookie_free(struct table_cookie *ck)
{
    if (ck != NULL) {
        free(ck->name);
        free(ck->same_site);
        free(ck->path);
        free(ck->domain);
        free(ck);
    }
}

void table_sticky_value(const char *name, char out[TABLE_STICKY_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[32];
    digest_sha256(name, strlen(name), d);
    for (int i = 0; i < TABLE_STICKY_LEN / 2; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[TABLE_STICKY_LEN] = '\0';
}

void table_parts_fini(struct table_parts *p)
{
    for (uint32_t i = 0; p->routers != NULL && i < p->nrouters; i++) {
        struct table_router *r = &p->routers[i];
        free(r->name);
        free(r->rule);
        /* The table owns the rule; the field is const only so that readers cannot touch it. */
        rule_free((struct rule *)r->compiled);
        free((void *)r->mws);
    }
    for (uint32_t i = 0; p->middlewares != NULL && i < p->nmiddlewares; i++) {
        struct table_middleware *m = &p->middlewares[i];
        void *rt = atomic_load(&m->runtime);
        if (rt != NULL && m->runtime_free != NULL) {
            m->runtime_free(rt);
        }
        if (m->conf != NULL && m->conf_free != NULL) {
            m->conf_free(m->conf);
        }
        free(m->name);
    }
    free(p->middlewares);
    for (uint32_t i = 0; p->services != NULL && i < p->nservices; i++) {
        free(p->services[i].name);
        free(p->services[i].servers);
        free(p->services[i].weights);
        free(p->services[i].sticky_values);
        for (uint32_t c = 0; p->services[i].children != NULL && c < p->services[i].nchildren;
             c++) {
            free((char *)p->services[i].children[c].ref);
        }
        free(p->services[i].children);
        free(p->services[i].mirrors);
        cookie_free((struct table_cookie *)p->services[i].sticky);
    }
    for (uint32_t i = 0; p->transports != NULL && i < p->ntransports; i++) {
        free(p->transports[i].name);
    }
    free(p->transports);
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

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c | 0x20) : c;
}

/* FNV-1a over the lower-cased bytes, so that a request host in any case finds its slot. */
static uint32_t host_hash(const char *s, uint32_t len)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < len; i++) {
        h ^= (unsigned char)lower(s[i]);
        h *= 16777619u;
    }
    return h ^ (h >> 15);
}

/* The slot of `host` (compared case-insensitively against the lower-case keys), or the empty
 * slot where it would go. */
static struct host_slot *slot_find(const struct host_slot *slots, uint32_t nslots, uint32_t hash,
                                   const char *host, uint32_t len)
{
    uint32_t mask = nslots - 1;
    for (uint32_t i = hash & mask;; i = (i + 1) & mask) {
        const struct host_slot *s = &slots[i];
        if (s->key == NULL) {
            return (struct host_slot *)s;
        }
        if (s->hash == hash && s->len == len) {
            uint32_t k = 0;
            while (k < len && lower(host[k]) == s->key[k]) {
                k++;
            }
            if (k == len) {
                return (struct host_slot *)s;
            }
        }
    }
}

/* Builds the host index over the sorted routers. Returns false on allocation failure (the
 * table is then left without an index). */
static bool index_build(struct table *t)
{
    uint32_t n = t->p.nrouters, nhosted = 0;
    uint32_t *slot_of = malloc((n ? n : 1) * sizeof *slot_of);
    t->unindexed = malloc((n ? n : 1) * sizeof *t->unindexed);
    if (slot_of == NULL || t->unindexed == NULL) {
        free(slot_of);
        return false;
    }
    for (uint32_t i = 0; i < n; i++) {
        const char *h;
        size_t len;
        slot_of[i] = UINT32_MAX;
        if (rule_required_host(t->p.routers[i].compiled, &h, &len) && len < UINT32_MAX) {
            slot_of[i] = 0; /* a placeholder until the slots exist */
            nhosted++;
        } else {
            t->unindexed[t->nunindexed++] = i;
        }
    }
    if (nhosted > 0) {
        uint32_t nslots = 16;
        while (nslots / 2 < nhosted) {
            nslots *= 2;
        }
        t->slots = calloc(nslots, sizeof *t->slots);
        t->hosted = malloc(nhosted * sizeof *t->hosted);
        if (t->slots == NULL || t->hosted == NULL) {
            free(slot_of);
            return false;
        }
        t->nslots = nslots;
        for (uint32_t i = 0; i < n; i++) {
            if (slot_of[i] == UINT32_MAX) {
                continue;
            }
            const char *h;
            size_t len;
            rule_required_host(t->p.routers[i].compiled, &h, &len);
            uint32_t hash = host_hash(h, (uint32_t)len);
            struct host_slot *s = slot_find(t->slots, nslots, hash, h, (uint32_t)len);
            if (s->key == NULL) {
                *s = (struct host_slot){.key = h, .len = (uint32_t)len, .hash = hash};
            }
            s->count++;
            slot_of[i] = (uint32_t)(s - t->slots);
        }
        uint32_t at = 0;
        for (uint32_t k = 0; k < nslots; k++) {
            t->slots[k].start = at;
            at += t->slots[k].count;
            t->slots[k].count = 0;
        }
        /* Routers are visited in match order, so each slot's list comes out ascending. */
        for (uint32_t i = 0; i < n; i++) {
            if (slot_of[i] != UINT32_MAX) {
                struct host_slot *s = &t->slots[slot_of[i]];
                t->hosted[s->start + s->count++] = i;
            }
        }
    }
    free(slot_of);
    return true;
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
    /* The host index: a hash from exact host to the routers whose rule requires that host,
     * each list in match order, plus the list of the other routers. */
    if (!index_build(t)) {
        index_free(t);
        table_parts_fini(&t->p);
        free(t);
        return NULL;
    }
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
    index_free(t);
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

const struct table_router *table_match_linear(const struct table *t, const struct table_request *r)
{
    if (r->entrypoint >= 64) {
        return NULL;
    }
    return scan(t->p.routers, t->p.nrouters, r);
}

const struct table_router *table_match(const struct table *t, const struct table_request *r)
{
    if (r->entrypoint >= 64) {
        return NULL;
    }
    /* The candidates are two lists, both in match order: the index's entry for r->host and
     * the routers whose rule does not pin a host. Every other router requires a host other
     * than r->host, so it cannot match. Walking both lists merged by position in p.routers
     * tries the candidates in exactly scan()'s order. */
    const uint32_t *a = NULL;
    uint32_t na = 0;
    uint32_t hlen = r->host_len;
    if (hlen > 0 && r->host[hlen - 1] == '.') {
        hlen--; /* as the Host matcher does */
    }
    if (t->nslots > 0 && hlen > 0) {
        const struct host_slot *s =
            slot_find(t->slots, t->nslots, host_hash(r->host, hlen), r->host, hlen);
        if (s->key != NULL) {
            a = t->hosted + s->start;
            na = s->count;
        }
    }
    const uint32_t *b = t->unindexed;
    uint32_t nb = t->nunindexed;
    uint64_t bit = UINT64_C(1) << r->entrypoint;
    uint32_t i = 0, j = 0;
    while (i < na || j < nb) {
        uint32_t k = (j >= nb || (i < na && a[i] < b[j])) ? a[i++] : b[j++];
        const struct table_router *rt = &t->p.routers[k];
        if ((rt->entrypoints & bit) != 0 && rule_match(rt->compiled, r)) {
            return rt;
        }
    }
    return NULL;
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

uint32_t table_nmiddlewares(const struct table *t)
{
    return t->p.nmiddlewares;
}

const struct table_middleware *table_middleware_at(const struct table *t, uint32_t i)
{
    return i < t->p.nmiddlewares ? &t->p.middlewares[i] : NULL;
}

const struct table_middleware *table_middleware_find(const struct table *t, const char *name)
{
    uint32_t lo = 0, hi = t->p.nmiddlewares;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int r = strcmp(name, t->p.middlewares[mid].name);
        if (r == 0) {
            return &t->p.middlewares[mid];
        }
        if (r < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}
