/* Flat keys (Docker labels, KV paths) into a doc tree, decoded by the YAML decoder. */
#include "providers/labels.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "providers/decode.h"
#include "providers/doc.h"

#define MAX_SEGMENTS 64 /* deeper than any Traefik key; bounds the recursion below */

/* A segment of a key: a name, or a list index ("[3]" with dots, "3" in either syntax). */
struct token {
    const char *s; /* not NUL-terminated; len bytes */
    size_t len;
    bool is_index;
    unsigned long idx;
};

/* The builder tree: one node per distinct key prefix. */
struct bnode {
    char *seg; /* as first written (an index: its decimal text) */
    bool is_index;
    unsigned long idx;
    const char *value; /* borrowed from the input, NULL when no label ends here */
    struct bnode **kids;
    size_t n, cap;
};

struct build {
    const struct labels_opts *o;
    struct labels_servers *servers;
    struct diags *d;
    char sep;
    size_t errors;
    struct bnode root;
    void **allocs; /* every doc node and array handed to the decoder */
    size_t nallocs, capallocs;
};

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (p == NULL) {
        abort(); /* as the decoder does: a configuration has no sane way on without memory */
    }
    return p;
}

static void *grow(void *arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) {
        return arr;
    }
    *cap = *cap ? *cap * 2 : 4;
    arr = realloc(arr, *cap * elem);
    if (arr == NULL) {
        abort();
    }
    return arr;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (p == NULL) {
        abort();
    }
    return p;
}

static void keep(struct build *b, void *p)
{
    b->allocs = grow(b->allocs, &b->capallocs, b->nallocs, sizeof *b->allocs);
    b->allocs[b->nallocs++] = p;
}

static void report(struct build *b, enum diag_severity sev, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report(struct build *b, enum diag_severity sev, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diags_add(b->d, sev, b->o->source, 0, 0, path, "%s", msg);
    b->errors += sev == DIAG_ERROR;
}

/* "http.routers.r1.tls.domains[0]": the decoder's spelling of a key path. */
static void path_of(const struct token *t, size_t n, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < size; i++) {
        int w = t[i].is_index ? snprintf(buf + len, size - len, "[%lu]", t[i].idx)
                              : snprintf(buf + len, size - len, "%s%.*s", len ? "." : "",
                                         (int)t[i].len, t[i].s);
        len += w > 0 ? (size_t)w : 0;
    }
}

static bool tok_is(const struct token *t, const char *s)
{
    return !t->is_index && t->len == strlen(s) && strncasecmp(t->s, s, t->len) == 0;
}

static bool parse_index(const char *s, size_t len, unsigned long *out)
{
    unsigned long v = 0;
    if (len == 0 || len > 9) { /* a list of a billion items is a typo */
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* The segment after <section>.<kind> names an object (a router "0" is a name), except under
 * tls.certificates, which is a list. */
static bool is_name_level(const struct token *t, size_t i)
{
    return i == 2 && !(tok_is(&t[0], "tls") && tok_is(&t[1], "certificates"));
}

/* Splits the key after "<root><sep>" into tokens. Returns the count, or 0 after an error. */
static size_t split(struct build *b, const char *key, struct token *t)
{
    size_t n = 0;
    const char *p = key;
    for (;;) {
        const char *end = strchr(p, b->sep);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *br = b->sep == '.' ? memchr(p, '[', len) : NULL;
        if (n + 2 > MAX_SEGMENTS) {
            report(b, DIAG_ERROR, key, "label key has more than %d segments", MAX_SEGMENTS);
            return 0;
        }
        if (len == 0 || br == p) {
            report(b, DIAG_ERROR, key, "label key has an empty segment");
            return 0;
        }
        t[n] = (struct token){.s = p, .len = br ? (size_t)(br - p) : len};
        /* KV writes list items as numeric segments; labels only as name[N] (a numeric label
         * segment is a map key, such as a status code). */
        t[n].is_index =
            b->sep == '/' && !is_name_level(t, n) && parse_index(p, t[n].len, &t[n].idx);
        n++;
        if (br) { /* "domains[0]": a name, then an index */
            if (p[len - 1] != ']' ||
                !parse_index(br + 1, (size_t)(p + len - 1 - br - 1), &t[n].idx)) {
                report(b, DIAG_ERROR, key, "bad list index in \"%.*s\" (expected name[N])",
                       (int)len, p);
                return 0;
            }
            t[n].s = br + 1;
            t[n].len = (size_t)(p + len - 1 - br - 1);
            t[n++].is_index = true;
        }
        if (end == NULL) {
            return n;
        }
        p = end + 1;
    }
}

static struct bnode *child(struct bnode *parent, const struct token *t, bool exact)
{
    struct bnode *k;
    for (size_t i = 0; i < parent->n; i++) {
        k = parent->kids[i];
        if (k->is_index != t->is_index) {
            continue;
        }
        if (t->is_index
                ? k->idx == t->idx
                : strlen(k->seg) == t->len && (exact ? strncmp(k->seg, t->s, t->len)
                                                     : strncasecmp(k->seg, t->s, t->len)) == 0) {
            return k;
        }
    }
    k = xcalloc(1, sizeof *k);
    k->is_index = t->is_index;
    k->idx = t->idx;
    k->seg = xstrndup(t->s, t->len);
    parent->kids = grow(parent->kids, &parent->cap, parent->n, sizeof *parent->kids);
    parent->kids[parent->n++] = k;
    return k;
}

/* Sets the value at t[0..n). `weak` (a value this module adds) never replaces one. */
static void insert(struct build *b, const struct token *t, size_t n, const char *value, bool weak)
{
    struct bnode *node = &b->root;
    char path[1024];
    for (size_t i = 0; i < n; i++) {
        node = child(node, &t[i], is_name_level(t, i));
    }
    if (node->value && !weak) {
        path_of(t, n, path, sizeof path);
        report(b, DIAG_ERROR, path, "key given twice (keys are case-insensitive)");
    } else if (!node->value) {
        node->value = value;
    }
}

static struct labels_server *server_hint(struct labels_servers *s, const struct token *name)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strlen(s->v[i].service) == name->len &&
            strncmp(s->v[i].service, name->s, name->len) == 0) {
            return &s->v[i];
        }
    }
    s->v = realloc(s->v, (s->n + 1) * sizeof *s->v);
    if (s->v == NULL) {
        abort();
    }
    s->v[s->n] = (struct labels_server){.service = xstrndup(name->s, name->len)};
    return &s->v[s->n++];
}

/* Labels' `<proto>.services.<s>.loadbalancer.server.<opt>`: Traefik's label form of the
 * servers list, one server (the container). Returns true when the label was consumed. */
static bool server_label(struct build *b, struct token *t, size_t *n, const char *value)
{
    static const struct token servers = {.s = "servers", .len = 7};
    char path[1024];

    if (b->sep != '.' || *n < 5 || !tok_is(&t[1], "services") || !tok_is(&t[3], "loadbalancer") ||
        !tok_is(&t[4], "server") ||
        !(tok_is(&t[0], "http") || tok_is(&t[0], "tcp") || tok_is(&t[0], "udp"))) {
        return false;
    }
    if (*n == 6 && (tok_is(&t[5], "port") || tok_is(&t[5], "scheme"))) {
        bool port = tok_is(&t[5], "port");
        /* The service exists with a load balancer even when this is its only label. */
        insert(b, t, 4, "true", true);
        path_of(t, *n, path, sizeof path);
        if (!tok_is(&t[0], "http")) {
            return true; /* tcp/udp: the service is reported as not supported yet */
        }
        if (b->servers == NULL) {
            report(b, DIAG_WARNING, path, "read by the Docker provider only; ignored");
            return true;
        }
        struct labels_server *h = server_hint(b->servers, &t[2]);
        char **slot = port ? &h->port : &h->scheme;
        if (*slot != NULL) {
            report(b, DIAG_ERROR, path, "key given twice (keys are case-insensitive)");
        } else {
            *slot = xstrndup(value, strlen(value));
        }
        return true;
    }
    /* server.<opt> -> servers[0].<opt> */
    memmove(&t[6], &t[5], (*n - 5) * sizeof *t);
    t[4] = servers;
    t[5] = (struct token){.s = "0", .len = 1, .is_index = true, .idx = 0};
    (*n)++;
    return false;
}

static void add_label(struct build *b, const struct label_kv *kv)
{
    const char *root = b->o->root ? b->o->root : "traefik";
    size_t rlen = strlen(root), n;
    struct token t[MAX_SEGMENTS + 1];

    if (strncasecmp(kv->key, root, rlen) != 0 || kv->key[rlen] != b->sep ||
        kv->key[rlen + 1] == '\0') {
        return; /* another tool's label, or the root key itself */
    }
    n = split(b, kv->key + rlen + 1, t);
    if (n == 0) {
        return;
    }
    if (b->sep == '.' && (tok_is(&t[0], "docker") || (n == 1 && tok_is(&t[0], "enable")))) {
        return; /* the Docker provider's own labels */
    }
    if (server_label(b, t, &n, kv->value ? kv->value : "")) {
        return;
    }
    insert(b, t, n, kv->value ? kv->value : "", false);
}

/* --- builder tree -> doc tree --- */

static struct doc_node *new_doc(struct build *b, enum doc_kind kind)
{
    struct doc_node *d = xcalloc(1, sizeof *d);
    keep(b, d);
    d->kind = kind;
    d->file = b->o->source;
    return d; /* line 0: diagnostics print "source: path: message" */
}

static struct doc_node *scalar(struct build *b, const char *s)
{
    struct doc_node *d = new_doc(b, DOC_SCALAR);
    d->str = s;
    d->len = strlen(s);
    d->plain = false; /* a label value is a string: "" or "null" is not YAML's null */
    d->object_true = strcasecmp(s, "true") == 0;
    d->object_false = strcasecmp(s, "false") == 0;
    return d;
}

static int cmp_kids(const void *pa, const void *pb)
{
    const struct bnode *a = *(const struct bnode *const *)pa, *c = *(const struct bnode *const *)pb;
    int r;
    if (a->is_index && c->is_index) {
        return a->idx < c->idx ? -1 : a->idx > c->idx;
    }
    r = strcasecmp(a->seg, c->seg);
    return r ? r : strcmp(a->seg, c->seg);
}

static const struct doc_node *to_doc(struct build *b, struct bnode *n, char *path, size_t plen,
                                     size_t size)
{
    bool all_index = true;
    struct doc_node *d;

    if (n->n == 0) {
        return scalar(b, n->value ? n->value : "");
    }
    if (n->value && strcasecmp(n->value, "true") != 0) {
        report(b, DIAG_ERROR, path,
               "has a value (\"%s\") and sub-keys; only \"true\" may stand "
               "beside sub-keys",
               n->value);
    }
    qsort(n->kids, n->n, sizeof *n->kids, cmp_kids);
    for (size_t i = 0; i < n->n; i++) {
        all_index = all_index && n->kids[i]->is_index;
    }
    d = new_doc(b, all_index ? DOC_SEQ : DOC_MAP);
    d->n = n->n;
    if (all_index) {
        const struct doc_node **items = xcalloc(n->n, sizeof *items);
        keep(b, items);
        for (size_t i = 0; i < n->n; i++) {
            snprintf(path + plen, size - plen, "[%lu]", n->kids[i]->idx);
            items[i] = to_doc(b, n->kids[i], path, strlen(path), size);
        }
        d->items = (const struct doc_node *const *)items;
    } else {
        struct doc_pair *pairs = xcalloc(n->n, sizeof *pairs);
        keep(b, pairs);
        for (size_t i = 0; i < n->n; i++) {
            snprintf(path + plen, size - plen, "%s%s", plen ? "." : "", n->kids[i]->seg);
            pairs[i].key = scalar(b, n->kids[i]->seg);
            pairs[i].value = to_doc(b, n->kids[i], path, strlen(path), size);
        }
        d->pairs = pairs;
    }
    path[plen] = '\0';
    return d;
}

static void free_bnode(struct bnode *n)
{
    for (size_t i = 0; i < n->n; i++) {
        free_bnode(n->kids[i]);
        free(n->kids[i]);
    }
    free(n->kids);
    free(n->seg);
}

void labels_servers_fini(struct labels_servers *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].service);
        free(s->v[i].port);
        free(s->v[i].scheme);
    }
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static int cmp_keys(const void *pa, const void *pb)
{
    const struct label_kv *a = *(const struct label_kv *const *)pa;
    const struct label_kv *c = *(const struct label_kv *const *)pb;
    return strcmp(a->key, c->key);
}

int labels_decode(const struct label_kv *kv, size_t n, const struct labels_opts *o,
                  Concord__Config__Config **out, struct labels_servers *servers, struct diags *d)
{
    struct build b = {.o = o, .servers = servers, .d = d};
    const struct label_kv **order = xcalloc(n, sizeof *order);
    char path[1024] = "";
    int rc = 0;

    *out = NULL;
    b.sep = o->syntax == LABELS_SLASHES ? '/' : '.';
    /* Key order decides which spelling of a case-insensitive key is kept: sort the input so
     * that the result does not depend on the order the source listed its labels in. */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (kv[i].key != NULL) {
            order[m++] = &kv[i];
        }
    }
    qsort(order, m, sizeof *order, cmp_keys);
    for (size_t i = 0; i < m; i++) {
        add_label(&b, order[i]);
    }
    if (b.errors == 0) {
        const struct doc_node *root = b.root.n ? to_doc(&b, &b.root, path, 0, sizeof path) : NULL;
        if (b.errors == 0) {
            rc = decode_dynamic(root, out, d);
        }
    }
    if (b.errors > 0) {
        rc = -EINVAL;
    }
    if (rc != 0 && servers != NULL) {
        labels_servers_fini(servers);
    }
    for (size_t i = 0; i < b.nallocs; i++) {
        free(b.allocs[i]);
    }
    free(b.allocs);
    free_bnode(&b.root);
    free(order);
    return rc;
}
