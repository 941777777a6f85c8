/* Merges the nodes' contributions to each namespace into one Config (DESIGN.md "Conventions"). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftstore/state-int.h"
#include "raftstore/state.h"

/* The named object lists, walked through protobuf-c's descriptors so that one piece of code
 * serves them all: each list is a repeated message field of HttpConfig or TlsConfig whose
 * elements have a string field "name". Services get their own rule (the union of servers). */
enum where { IN_HTTP, IN_TLS };

/* clang-format off */
static const struct kind {
    const char *label; /* as the error names it */
    enum where where;
    const char *field;
} kinds[] = {
    {"router", IN_HTTP, "routers"},
    {"service", IN_HTTP, "services"},
    {"middleware", IN_HTTP, "middlewares"},
    {"serversTransport", IN_HTTP, "servers_transports"},
    {"TLS options", IN_TLS, "options"},
    {"TLS store", IN_TLS, "stores"},
};
/* clang-format on */

struct item {
    const ProtobufCMessage *m;
    const char *name;
    const char *node;
    size_t order; /* position of appearance: node id order, then list order */
};

struct items {
    struct item *v;
    size_t n, cap;
};

/* Scaffolding built while merging one namespace (shallow message copies, pointer arrays): it
 * only lives until the scaffold Config is deep-copied, then all of it is freed at once. */
struct scratch {
    void **v;
    size_t n, cap;
};

static void *scratch_add(struct scratch *s, void *p)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = rs_must(realloc(s->v, s->cap * sizeof(*s->v)));
    }
    s->v[s->n++] = rs_must(p);
    return p;
}

static void scratch_free(struct scratch *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i]);
    }
    free(s->v);
    *s = (struct scratch){0};
}

static void items_push(struct items *it, const ProtobufCMessage *m, const char *name,
                       const char *node)
{
    if (it->n == it->cap) {
        it->cap = it->cap ? it->cap * 2 : 16;
        it->v = rs_must(realloc(it->v, it->cap * sizeof(*it->v)));
    }
    it->v[it->n] = (struct item){m, name, node, it->n};
    it->n++;
}

static int item_cmp(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    if (r != 0) {
        return r;
    }
    return x->order < y->order ? -1 : x->order > y->order;
}

static void add_error(struct rs_merged *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_error(struct rs_merged *out, const char *fmt, ...)
{
    char *msg;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n < 0) {
        rs_must(NULL);
    }
    out->errors = rs_must(realloc(out->errors, (out->nerrors + 1) * sizeof(*out->errors)));
    out->errors[out->nerrors++] = msg;
}

/* "nodes n1 and n2", "nodes n1, n2 and n3" (distinct ids, in order) or "node n1". */
static void name_nodes(const struct item *v, size_t n, char *buf, size_t size)
{
    const char **distinct = rs_must(calloc(n, sizeof(*distinct)));
    size_t nd = 0;
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < nd && !seen; j++) {
            seen = strcmp(distinct[j], v[i].node) == 0;
        }
        if (!seen) {
            distinct[nd++] = v[i].node;
        }
    }
    size_t off = (size_t)snprintf(buf, size, nd > 1 ? "nodes " : "node ");
    for (size_t j = 0; j < nd && off < size; j++) {
        const char *sep = j == 0 ? "" : j + 1 == nd ? " and " : ", ";
        off += (size_t)snprintf(buf + off, size - off, "%s%s", sep, distinct[j]);
    }
    free(distinct);
}

/* ---- Comparing messages with their Marks ignored ---- */

/* Frees every Mark in an unpacked tree and clears the pointer, recursing into submessages. */
static void strip_marks(ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE) {
            continue;
        }
        char *member = (char *)m + f->offset;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id) {
            continue; /* another case of the oneof owns the union */
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
            ProtobufCMessage **arr = *(ProtobufCMessage ***)member;
            for (size_t j = 0; j < n; j++) {
                strip_marks(arr[j]);
            }
            continue;
        }
        ProtobufCMessage **sub = (ProtobufCMessage **)member;
        if (*sub == NULL) {
            continue;
        }
        if (f->descriptor == &concord__config__mark__descriptor) {
            protobuf_c_message_free_unpacked(*sub, NULL);
            *sub = NULL;
        } else {
            strip_marks(*sub);
        }
    }
}

struct canon {
    uint8_t *data;
    size_t len;
};

/* The packed bytes of m without its Marks. protobuf-c packs fields in number order and
 * repeated fields in list order, so equal messages give equal bytes. */
static struct canon canon_of(const ProtobufCMessage *m)
{
    ProtobufCMessage *copy = rs_pb_copy(m);
    strip_marks(copy);
    struct canon c;
    c.len = protobuf_c_message_get_packed_size(copy);
    c.data = rs_must(malloc(c.len ? c.len : 1));
    protobuf_c_message_pack(copy, c.data);
    protobuf_c_message_free_unpacked(copy, NULL);
    return c;
}

static bool canon_eq(struct canon a, struct canon b)
{
    return a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
}

/* Whether every item's message equals the first's, Marks ignored. `view` may replace each
 * message by a shallow variant to compare (for load balancers: without their servers). */
static bool all_equal(const struct item *v, size_t n,
                      const ProtobufCMessage *(*view)(const ProtobufCMessage *, void *), void *buf)
{
    struct canon first = canon_of(view ? view(v[0].m, buf) : v[0].m);
    bool eq = true;
    for (size_t i = 1; i < n && eq; i++) {
        struct canon c = canon_of(view ? view(v[i].m, buf) : v[i].m);
        eq = canon_eq(first, c);
        free(c.data);
    }
    free(first.data);
    return eq;
}

/* ---- Services: the union of load balancer servers ---- */

static const ProtobufCMessage *lb_without_servers(const ProtobufCMessage *m, void *buf)
{
    Concord__Config__LoadBalancer *lb = buf;
    *lb = *((const Concord__Config__Service *)m)->load_balancer;
    lb->n_servers = 0;
    lb->servers = NULL;
    return &lb->base;
}

/* The merged service for a group defined by several nodes, or NULL (with an error) when
 * their definitions cannot be merged. */
static const ProtobufCMessage *merge_service(const struct item *v, size_t n, const char *ns,
                                             struct scratch *sc, struct rs_merged *out)
{
    bool all_lb = true;
    size_t nservers = 0;
    for (size_t i = 0; i < n; i++) {
        const Concord__Config__Service *svc = (const void *)v[i].m;
        all_lb = all_lb && svc->kind_case == CONCORD__CONFIG__SERVICE__KIND_LOAD_BALANCER &&
                 svc->load_balancer != NULL;
        if (all_lb) {
            nservers += svc->load_balancer->n_servers;
        }
    }
    Concord__Config__LoadBalancer tmp;
    if (all_lb ? !all_equal(v, n, lb_without_servers, &tmp) : !all_equal(v, n, NULL, NULL)) {
        char nodes[256];
        name_nodes(v, n, nodes, sizeof(nodes));
        add_error(out, "namespace %s: service \"%s\" differs between %s%s; disabled", ns, v[0].name,
                  nodes, all_lb ? " (loadBalancer settings)" : "");
        return NULL;
    }
    if (!all_lb) {
        return v[0].m;
    }
    const Concord__Config__Service *first = (const void *)v[0].m;
    Concord__Config__Service *svc = scratch_add(sc, malloc(sizeof(*svc)));
    Concord__Config__LoadBalancer *lb = scratch_add(sc, malloc(sizeof(*lb)));
    Concord__Config__Server **servers =
        scratch_add(sc, calloc(nservers ? nservers : 1, sizeof(*servers)));
    *svc = *first;
    *lb = *first->load_balancer;
    svc->load_balancer = lb;
    lb->servers = servers;
    lb->n_servers = 0;
    /* Quadratic, but a service has tens of servers, not thousands. */
    for (size_t i = 0; i < n; i++) {
        const Concord__Config__LoadBalancer *from =
            ((const Concord__Config__Service *)v[i].m)->load_balancer;
        for (size_t j = 0; j < from->n_servers; j++) {
            bool dup = false;
            for (size_t k = 0; k < lb->n_servers && !dup; k++) {
                dup = strcmp(lb->servers[k]->url, from->servers[j]->url) == 0;
            }
            if (!dup) {
                lb->servers[lb->n_servers++] = from->servers[j];
            }
        }
    }
    return &svc->base;
}

/* ---- One namespace ---- */

static ProtobufCMessage *list_parent(const Concord__Config__Config *cfg, enum where w)
{
    if (cfg == NULL) {
        return NULL;
    }
    return w == IN_HTTP ? (ProtobufCMessage *)cfg->http : (ProtobufCMessage *)cfg->tls;
}

/* Merges one kind of named object over the contributions c[0..nc) into the scaffold list. */
static void merge_kind(const struct kind *k, const Concord__Raftlog__Contribution *const *c,
                       size_t nc, ProtobufCMessage *dst, struct scratch *sc, struct rs_merged *out)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(dst->descriptor, k->field);
    const ProtobufCFieldDescriptor *fname =
        protobuf_c_message_descriptor_get_field_by_name(f->descriptor, "name");
    struct items it = {0};
    for (size_t i = 0; i < nc; i++) {
        const ProtobufCMessage *src = list_parent(c[i]->config, k->where);
        if (src == NULL) {
            continue;
        }
        size_t n = *(const size_t *)((const char *)src + f->quantifier_offset);
        ProtobufCMessage *const *arr =
            *(ProtobufCMessage *const *const *)((const char *)src + f->offset);
        for (size_t j = 0; j < n; j++) {
            const char *name = *(const char *const *)((const char *)arr[j] + fname->offset);
            items_push(&it, arr[j], name, c[i]->node_id);
        }
    }
    if (it.n > 1) {
        qsort(it.v, it.n, sizeof(*it.v), item_cmp);
    }
    const ProtobufCMessage **res = scratch_add(sc, calloc(it.n ? it.n : 1, sizeof(*res)));
    size_t nres = 0;
    for (size_t g = 0, h; g < it.n; g = h) {
        for (h = g + 1; h < it.n && strcmp(it.v[h].name, it.v[g].name) == 0; h++) {
        }
        const ProtobufCMessage *m = it.v[g].m;
        if (h - g > 1 && strcmp(k->label, "service") == 0) {
            m = merge_service(it.v + g, h - g, c[0]->namespace_, sc, out);
        } else if (h - g > 1 && !all_equal(it.v + g, h - g, NULL, NULL)) {
            char nodes[256];
            name_nodes(it.v + g, h - g, nodes, sizeof(nodes));
            add_error(out, "namespace %s: %s \"%s\" differs between %s; disabled", c[0]->namespace_,
                      k->label, it.v[g].name, nodes);
            m = NULL;
        }
        if (m != NULL) {
            res[nres++] = m;
        }
    }
    *(size_t *)((char *)dst + f->quantifier_offset) = nres;
    *(const ProtobufCMessage ***)((char *)dst + f->offset) = res;
    free(it.v);
}

/* TLS certificates have no name: the union of the distinct ones, in node order. */
static void merge_certificates(const Concord__Raftlog__Contribution *const *c, size_t nc,
                               Concord__Config__TlsConfig *dst, struct scratch *sc)
{
    size_t total = 0;
    for (size_t i = 0; i < nc; i++) {
        total += c[i]->config && c[i]->config->tls ? c[i]->config->tls->n_certificates : 0;
    }
    dst->certificates = scratch_add(sc, calloc(total ? total : 1, sizeof(*dst->certificates)));
    struct canon *seen = rs_must(calloc(total ? total : 1, sizeof(*seen)));
    for (size_t i = 0; i < nc; i++) {
        if (c[i]->config == NULL || c[i]->config->tls == NULL) {
            continue;
        }
        for (size_t j = 0; j < c[i]->config->tls->n_certificates; j++) {
            Concord__Config__TlsCertificate *cert = c[i]->config->tls->certificates[j];
            struct canon k = canon_of(&cert->base);
            bool dup = false;
            for (size_t x = 0; x < dst->n_certificates && !dup; x++) {
                dup = canon_eq(seen[x], k);
            }
            if (dup) {
                free(k.data);
                continue;
            }
            seen[dst->n_certificates] = k;
            dst->certificates[dst->n_certificates++] = cert;
        }
    }
    for (size_t x = 0; x < dst->n_certificates; x++) {
        free(seen[x].data);
    }
    free(seen);
}

/* Files: the union by path; the first node's content wins, and a difference is an error. */
static void merge_files(const Concord__Raftlog__Contribution *const *c, size_t nc,
                        struct rs_merged_ns *mns, struct rs_merged *out)
{
    struct items it = {0};
    for (size_t i = 0; i < nc; i++) {
        for (size_t j = 0; j < c[i]->n_files; j++) {
            items_push(&it, &c[i]->files[j]->base, c[i]->files[j]->path, c[i]->node_id);
        }
    }
    if (it.n > 1) {
        qsort(it.v, it.n, sizeof(*it.v), item_cmp);
    }
    mns->files = rs_must(calloc(it.n ? it.n : 1, sizeof(*mns->files)));
    for (size_t g = 0, h; g < it.n; g = h) {
        const Concord__Raftlog__FileBlob *first = (const void *)it.v[g].m;
        bool differ = false;
        for (h = g + 1; h < it.n && strcmp(it.v[h].name, it.v[g].name) == 0; h++) {
            const Concord__Raftlog__FileBlob *other = (const void *)it.v[h].m;
            differ = differ || other->content.len != first->content.len ||
                     (first->content.len > 0 &&
                      memcmp(other->content.data, first->content.data, first->content.len) != 0);
        }
        if (differ) {
            char nodes[256];
            name_nodes(it.v + g, h - g, nodes, sizeof(nodes));
            add_error(out, "namespace %s: file \"%s\" differs between %s; node %s's is used",
                      mns->ns, first->path, nodes, it.v[g].node);
        }
        mns->files[mns->nfiles++] = (void *)rs_pb_copy(&first->base);
    }
    free(it.v);
}

static void merge_namespace(const Concord__Raftlog__Contribution *const *c, size_t nc,
                            struct rs_merged_ns *mns, struct rs_merged *out)
{
    Concord__Config__Config cfg = CONCORD__CONFIG__CONFIG__INIT;
    Concord__Config__HttpConfig http = CONCORD__CONFIG__HTTP_CONFIG__INIT;
    Concord__Config__TlsConfig tls = CONCORD__CONFIG__TLS_CONFIG__INIT;
    struct scratch sc = {0};
    cfg.http = &http;
    for (size_t i = 0; i < nc; i++) {
        if (c[i]->config != NULL && c[i]->config->tls != NULL) {
            cfg.tls = &tls; /* only when someone has TLS config, as a single node would */
        }
    }
    mns->ns = rs_must(strdup(c[0]->namespace_));
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        ProtobufCMessage *dst = kinds[k].where == IN_HTTP ? &http.base : &tls.base;
        merge_kind(&kinds[k], c, nc, dst, &sc, out);
    }
    merge_certificates(c, nc, &tls, &sc);
    merge_files(c, nc, mns, out);
    mns->cfg = (void *)rs_pb_copy(&cfg.base);
    scratch_free(&sc);
}

int rs_state_merged(const struct rs_state *s, struct rs_merged *out)
{
    *out = (struct rs_merged){0};
    size_t n = rs_state_ncontributions(s);
    const Concord__Raftlog__Contribution **c = rs_must(calloc(n ? n : 1, sizeof(*c)));
    size_t nns = 0;
    for (size_t i = 0; i < n; i++) {
        c[i] = rs_state_contribution_at(s, i);
        nns += i == 0 || strcmp(c[i]->namespace_, c[i - 1]->namespace_) != 0;
    }
    out->v = rs_must(calloc(nns ? nns : 1, sizeof(*out->v)));
    /* Contributions are sorted by (namespace, node id): each namespace is one run, its nodes
     * in id order, which fixes the order of everything below. */
    for (size_t a = 0, b; a < n; a = b) {
        for (b = a + 1; b < n && strcmp(c[b]->namespace_, c[a]->namespace_) == 0; b++) {
        }
        merge_namespace(c + a, b - a, &out->v[out->n++], out);
    }
    free(c);
    return 0;
}

void rs_merged_fini(struct rs_merged *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].ns);
        if (m->v[i].cfg != NULL) {
            concord__config__config__free_unpacked(m->v[i].cfg, NULL);
        }
        for (size_t j = 0; j < m->v[i].nfiles; j++) {
            concord__raftlog__file_blob__free_unpacked(m->v[i].files[j], NULL);
        }
        free(m->v[i].files);
    }
    free(m->v);
    for (size_t i = 0; i < m->nerrors; i++) {
        free(m->errors[i]);
    }
    free(m->errors);
    *m = (struct rs_merged){0};
}
