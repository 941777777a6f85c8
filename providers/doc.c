/* YAML document model: libyaml's composed document converted into marked, alias-resolved nodes. */
#include "providers/doc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "node/base/duration.h"

#define DOC_MAX_DEPTH 200

enum { ST_NEW, ST_BUSY, ST_DONE };

/* State of one conversion from a yaml_document_t to doc nodes. */
struct conv {
    struct doc *doc;
    yaml_document_t *yd;
    struct doc_node **memo; /* by yaml node index - 1: an alias yields the same node */
    unsigned char *state;
    struct diags *d;
};

static struct doc_node *node_new(struct doc *doc, enum doc_kind kind, const yaml_mark_t *m,
                                 size_t extra)
{
    struct doc_node *n = calloc(1, sizeof *n + extra);
    if (n == NULL) {
        abort(); /* like diags: config documents are small, and there is no sane recovery */
    }
    n->kind = kind;
    n->file = doc->file;
    n->line = (uint32_t)m->line + 1;
    n->col = (uint32_t)m->column + 1;
    n->next_alloc = doc->all;
    doc->all = n;
    return n;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (p == NULL) {
        abort();
    }
    return p;
}

static uint32_t sat_add(uint32_t a, uint32_t b)
{
    return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

static void conv_error(struct conv *c, const yaml_mark_t *m, const char *msg, const char *arg)
{
    diags_add(c->d, DIAG_ERROR, c->doc->file, (uint32_t)m->line + 1, (uint32_t)m->column + 1, "",
              "yaml: %s%s", msg, arg ? arg : "");
}

static struct doc_node *convert(struct conv *c, int idx, int depth);

static struct doc_node *conv_scalar(struct conv *c, yaml_node_t *yn)
{
    size_t len = yn->data.scalar.length;
    struct doc_node *n = node_new(c->doc, DOC_SCALAR, &yn->start_mark, len + 1);
    char *s = (char *)(n + 1);
    memcpy(s, yn->data.scalar.value, len);
    s[len] = '\0';
    n->str = s;
    n->len = len;
    n->plain = yn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    n->expanded = 1;
    return n;
}

static struct doc_node *conv_seq(struct conv *c, yaml_node_t *yn, int depth)
{
    size_t count = (size_t)(yn->data.sequence.items.top - yn->data.sequence.items.start);
    struct doc_node *n = node_new(c->doc, DOC_SEQ, &yn->start_mark, 0);
    const struct doc_node **items = xcalloc(count, sizeof *items);
    n->items = items;
    n->expanded = 1;
    for (size_t i = 0; i < count; i++) {
        items[i] = convert(c, yn->data.sequence.items.start[i], depth + 1);
        if (items[i] == NULL) {
            return NULL;
        }
        n->n++;
        n->expanded = sat_add(n->expanded, items[i]->expanded);
    }
    return n;
}

static bool is_merge_key(const struct doc_node *k)
{
    return k->plain && strcmp(k->str, "<<") == 0;
}

static bool has_key(const struct doc_pair *p, size_t n, const struct doc_node *key)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i].key->len == key->len && memcmp(p[i].key->str, key->str, key->len) == 0) {
            return true;
        }
    }
    return false;
}

/* Appends the pairs of `src` (a map) whose keys `map` lacks: explicit keys win over merged
 * ones, and earlier merge sources over later ones, as YAML's merge-key spec says. */
static int merge_from(struct conv *c, struct doc_node *map, size_t *cap, const struct doc_node *src,
                      const yaml_mark_t *m)
{
    if (src->kind != DOC_MAP) {
        conv_error(c, m, "a merge key (<<) needs a map or a list of maps", NULL);
        return -EINVAL;
    }
    struct doc_pair *pairs = (struct doc_pair *)map->pairs;
    for (size_t i = 0; i < src->n; i++) {
        if (has_key(pairs, map->n, src->pairs[i].key)) {
            continue;
        }
        if (map->n == *cap) {
            *cap = *cap * 2 + 4;
            pairs = realloc(pairs, *cap * sizeof *pairs);
            if (pairs == NULL) {
                abort();
            }
            map->pairs = pairs;
        }
        pairs[map->n++] = src->pairs[i];
    }
    return 0;
}

static int key_cmp(const void *a, const void *b)
{
    const struct doc_pair *x = *(const struct doc_pair *const *)a;
    const struct doc_pair *y = *(const struct doc_pair *const *)b;
    if (x->key->len != y->key->len) {
        return x->key->len < y->key->len ? -1 : 1;
    }
    int r = memcmp(x->key->str, y->key->str, x->key->len);
    if (r != 0) {
        return r;
    }
    return x < y ? -1 : x > y; /* same key: document order, so the first one is reported */
}

/* A key written twice in one map is an error, as yaml.v3 (Traefik's parser) has it. Sorting
 * keeps maps of thousands of routers cheap. */
static int check_duplicates(struct conv *c, const struct doc_node *map)
{
    const struct doc_pair **v;
    int rc = 0;

    if (map->n < 2) {
        return 0;
    }
    v = xcalloc(map->n, sizeof *v);
    for (size_t i = 0; i < map->n; i++) {
        v[i] = &map->pairs[i];
    }
    qsort(v, map->n, sizeof *v, key_cmp);
    for (size_t i = 1; i < map->n && rc == 0; i++) {
        const struct doc_node *o = v[i - 1]->key, *k = v[i]->key;
        if (o->len == k->len && memcmp(o->str, k->str, k->len) == 0) {
            diags_add(c->d, DIAG_ERROR, k->file, k->line, k->col, "",
                      "yaml: key \"%s\" already defined at line %u", k->str, o->line);
            rc = -EINVAL;
        }
    }
    free(v);
    return rc;
}

static int conv_merge(struct conv *c, struct doc_node *n, size_t *cap, const struct doc_node *v,
                      const yaml_mark_t *m)
{
    if (v->kind != DOC_SEQ) {
        return merge_from(c, n, cap, v, m);
    }
    for (size_t i = 0; i < v->n; i++) {
        if (merge_from(c, n, cap, v->items[i], m) != 0) {
            return -EINVAL;
        }
    }
    return 0;
}

static struct doc_node *conv_map(struct conv *c, yaml_node_t *yn, int depth)
{
    yaml_node_pair_t *start = yn->data.mapping.pairs.start;
    size_t count = (size_t)(yn->data.mapping.pairs.top - start), cap = count;
    struct doc_node *n = node_new(c->doc, DOC_MAP, &yn->start_mark, 0);
    struct doc_pair *pairs = xcalloc(count, sizeof *pairs);
    const struct doc_node *merges[8];
    size_t n_merges = 0;

    n->pairs = pairs;
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *yk = yaml_document_get_node(c->yd, start[i].key);
        struct doc_node *k = convert(c, start[i].key, depth + 1);
        struct doc_node *v = k ? convert(c, start[i].value, depth + 1) : NULL;
        if (v == NULL) {
            return NULL;
        }
        if (k->kind != DOC_SCALAR) {
            conv_error(c, &yk->start_mark, "map keys must be scalars", NULL);
            return NULL;
        }
        if (is_merge_key(k)) {
            if (n_merges == sizeof merges / sizeof merges[0]) {
                conv_error(c, &yk->start_mark, "too many merge keys in one map", NULL);
                return NULL;
            }
            merges[n_merges++] = v;
            continue;
        }
        pairs[n->n].key = k;
        pairs[n->n].value = v;
        n->n++;
    }
    if (check_duplicates(c, n) != 0) {
        return NULL;
    }
    for (size_t i = 0; i < n_merges; i++) {
        if (conv_merge(c, n, &cap, merges[i], &yn->start_mark) != 0) {
            return NULL;
        }
    }
    n->expanded = 1;
    for (size_t i = 0; i < n->n; i++) {
        n->expanded = sat_add(n->expanded, n->pairs[i].key->expanded);
        n->expanded = sat_add(n->expanded, n->pairs[i].value->expanded);
    }
    return n;
}

static struct doc_node *convert(struct conv *c, int idx, int depth)
{
    yaml_node_t *yn = yaml_document_get_node(c->yd, idx);
    struct doc_node *n = NULL;

    if (c->state[idx - 1] == ST_DONE) {
        return c->memo[idx - 1];
    }
    if (c->state[idx - 1] == ST_BUSY) {
        conv_error(c, &yn->start_mark, "recursive alias (an anchor used inside itself)", NULL);
        return NULL;
    }
    if (depth > DOC_MAX_DEPTH) {
        conv_error(c, &yn->start_mark, "nesting deeper than 200 levels", NULL);
        return NULL;
    }
    c->state[idx - 1] = ST_BUSY;
    switch (yn->type) {
    case YAML_SCALAR_NODE:
        n = conv_scalar(c, yn);
        break;
    case YAML_SEQUENCE_NODE:
        n = conv_seq(c, yn, depth);
        break;
    case YAML_MAPPING_NODE:
        n = conv_map(c, yn, depth);
        break;
    default:
        conv_error(c, &yn->start_mark, "empty node", NULL);
        break;
    }
    if (n == NULL) {
        return NULL;
    }
    c->state[idx - 1] = ST_DONE;
    c->memo[idx - 1] = n;
    return n;
}

static void mark_from_offset(const char *text, size_t len, size_t off, yaml_mark_t *m)
{
    memset(m, 0, sizeof *m);
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            m->line++;
            m->column = 0;
        } else if (((unsigned char)text[i] & 0xc0) != 0x80) {
            m->column++;
        }
    }
}

static void parser_error(struct doc *doc, yaml_parser_t *p, const char *text, size_t len,
                         struct diags *d)
{
    yaml_mark_t m = p->problem_mark;
    const char *problem = p->problem ? p->problem : "cannot parse";
    if (p->error == YAML_READER_ERROR) {
        mark_from_offset(text, len, p->problem_offset, &m);
    }
    if (p->context) {
        diags_add(d, DIAG_ERROR, doc->file, (uint32_t)m.line + 1, (uint32_t)m.column + 1, "",
                  "yaml: %s (%s)", problem, p->context);
    } else {
        diags_add(d, DIAG_ERROR, doc->file, (uint32_t)m.line + 1, (uint32_t)m.column + 1, "",
                  "yaml: %s", problem);
    }
}

static int check_template(struct doc *doc, const char *text, size_t len, struct diags *d)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (text[i] == '{' && text[i + 1] == '{') {
            yaml_mark_t m;
            mark_from_offset(text, len, i, &m);
            diags_add(d, DIAG_ERROR, doc->file, (uint32_t)m.line + 1, (uint32_t)m.column + 1, "",
                      "Go templates are not supported: Concord reads this file as plain YAML "
                      "(render the template before giving the file to Concord)");
            return -EINVAL;
        }
    }
    return 0;
}

static int convert_document(struct doc *doc, yaml_document_t *yd, struct diags *d)
{
    size_t count = (size_t)(yd->nodes.top - yd->nodes.start);
    struct conv c = {.doc = doc, .yd = yd, .d = d};
    const struct doc_node *root;

    if (count == 0) {
        return 0;
    }
    c.memo = xcalloc(count, sizeof *c.memo);
    c.state = xcalloc(count, 1);
    root = convert(&c, 1, 0);
    free(c.memo);
    free(c.state);
    if (root == NULL) {
        return -EINVAL;
    }
    if (root->expanded > DOC_MAX_EXPANDED) {
        diags_add(d, DIAG_ERROR, doc->file, root->line, root->col, "",
                  "yaml: document too large once aliases are expanded (over %u nodes)",
                  DOC_MAX_EXPANDED);
        return -EINVAL;
    }
    doc->root = root;
    return 0;
}

/* Loads the first document, then makes sure no second one follows. */
static int load_stream(struct doc *doc, yaml_parser_t *p, const char *text, size_t len,
                       struct diags *d)
{
    yaml_document_t yd;
    int rc;

    if (!yaml_parser_load(p, &yd)) {
        parser_error(doc, p, text, len, d);
        return -EINVAL;
    }
    rc = convert_document(doc, &yd, d);
    yaml_document_delete(&yd);
    if (rc != 0) {
        return rc;
    }
    if (!yaml_parser_load(p, &yd)) {
        parser_error(doc, p, text, len, d);
        return -EINVAL;
    }
    if (yaml_document_get_root_node(&yd) != NULL) {
        diags_add(d, DIAG_ERROR, doc->file, (uint32_t)yd.start_mark.line + 1,
                  (uint32_t)yd.start_mark.column + 1, "",
                  "yaml: multiple documents in one file are not supported");
        rc = -EINVAL;
    }
    yaml_document_delete(&yd);
    return rc;
}

static void free_nodes(struct doc *doc)
{
    struct doc_node *n = doc->all;
    while (n) {
        struct doc_node *next = n->next_alloc;
        free((void *)n->pairs);
        free((void *)n->items);
        free(n);
        n = next;
    }
    doc->all = NULL;
    doc->root = NULL;
}

int doc_parse(struct doc *doc, const char *file, const char *text, size_t len, unsigned flags,
              struct diags *d)
{
    yaml_parser_t p;
    int rc;

    memset(doc, 0, sizeof *doc);
    doc->file = strdup(file ? file : "");
    if (doc->file == NULL) {
        abort();
    }
    if ((flags & DOC_NO_TEMPLATES) && check_template(doc, text, len, d) != 0) {
        return -EINVAL;
    }
    if (!yaml_parser_initialize(&p)) {
        abort();
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    rc = load_stream(doc, &p, text, len, d);
    yaml_parser_delete(&p);
    if (rc != 0) {
        free_nodes(doc);
    }
    return rc;
}

int doc_read_file(const char *path, char **out, size_t *len)
{
    struct stat st;
    size_t got = 0;
    char *buf;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return -errno;
    }
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        int e = S_ISDIR(st.st_mode) ? EISDIR : errno;
        close(fd);
        return -e;
    }
    if ((uint64_t)st.st_size > DOC_MAX_FILE_BYTES) {
        close(fd);
        return -EFBIG;
    }
    buf = xcalloc((size_t)st.st_size + 1, 1);
    for (;;) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return -e;
        }
        if (r == 0 || (got += (size_t)r) == (size_t)st.st_size) {
            break;
        }
    }
    close(fd);
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}

static bool has_suffix_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

int doc_load_file(struct doc *doc, const char *path, unsigned flags, struct diags *d)
{
    char *text;
    size_t len;
    int rc;

    memset(doc, 0, sizeof *doc);
    if (has_suffix_ci(path, ".toml")) {
        diags_add(d, DIAG_ERROR, path, 0, 0, "",
                  "TOML is not supported, use YAML (the same keys, written in YAML)");
        return -EINVAL;
    }
    rc = doc_read_file(path, &text, &len);
    if (rc != 0) {
        diags_add(d, DIAG_ERROR, path, 0, 0, "", "cannot read: %s",
                  rc == -EFBIG ? "file too large" : strerror(-rc));
        return rc;
    }
    rc = doc_parse(doc, path, text, len, flags, d);
    free(text);
    return rc;
}

void doc_fini(struct doc *doc)
{
    free_nodes(doc);
    free(doc->file);
    doc->file = NULL;
}

/* --- navigation and typed reads --- */

bool doc_is_null(const struct doc_node *n)
{
    if (n == NULL) {
        return true;
    }
    if (n->kind != DOC_SCALAR || !n->plain) {
        return false;
    }
    return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
           strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

const char *doc_kind_name(const struct doc_node *n)
{
    if (doc_is_null(n)) {
        return "null";
    }
    switch (n->kind) {
    case DOC_MAP:
        return "a map";
    case DOC_SEQ:
        return "a list";
    default:
        return "a string";
    }
}

const struct doc_node *doc_map_get(const struct doc_node *map, const char *key)
{
    if (map == NULL || map->kind != DOC_MAP) {
        return NULL;
    }
    for (size_t i = 0; i < map->n; i++) {
        if (strcmp(map->pairs[i].key->str, key) == 0) {
            return map->pairs[i].value;
        }
    }
    return NULL;
}

static int type_error(const struct doc_node *n, const char *path, struct diags *d, const char *want)
{
    diags_add(d, DIAG_ERROR, n->file, n->line, n->col, path, "expected %s, got %s", want,
              doc_kind_name(n));
    return -EINVAL;
}

int doc_read_str(const struct doc_node *n, const char *path, const char **out, struct diags *d)
{
    if (doc_is_null(n)) {
        return 1;
    }
    if (n->kind != DOC_SCALAR) {
        return type_error(n, path, d, "a string");
    }
    if (strlen(n->str) != n->len) {
        diags_add(d, DIAG_ERROR, n->file, n->line, n->col, path, "string contains a NUL byte");
        return -EINVAL;
    }
    *out = n->str;
    return 0;
}

int doc_read_bool(const struct doc_node *n, const char *path, bool *out, struct diags *d)
{
    static const char *const yes[] = {"true", "True", "TRUE", "1", "t", "T"};
    static const char *const no[] = {"false", "False", "FALSE", "0", "f", "F"};
    const char *s;
    int rc = doc_read_str(n, path, &s, d);

    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
            *out = strcmp(s, yes[i]) == 0;
            return 0;
        }
    }
    diags_add(d, DIAG_ERROR, n->file, n->line, n->col, path, "expected true or false, got \"%s\"",
              s);
    return -EINVAL;
}

/* Parses YAML 1.2 core integers: [-+]?[0-9]+, 0x[0-9a-fA-F]+, 0o[0-7]+. */
static int parse_int(const char *s, int64_t *out)
{
    bool neg = false;
    unsigned base = 10;
    uint64_t v = 0, limit;

    if (*s == '-' || *s == '+') {
        neg = *s++ == '-';
    }
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
        base = s[1] == 'x' ? 16 : 8;
        s += 2;
    }
    if (*s == '\0') {
        return -EINVAL;
    }
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; *s; s++) {
        unsigned dv;
        if (*s >= '0' && *s <= '9') {
            dv = (unsigned)(*s - '0');
        } else if (base == 16 && ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')) {
            dv = (unsigned)((*s | 0x20) - 'a' + 10);
        } else {
            return -EINVAL;
        }
        if (dv >= base) {
            return -EINVAL;
        }
        if (v > (limit - dv) / base) {
            return -ERANGE;
        }
        v = v * base + dv;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

int doc_read_int(const struct doc_node *n, const char *path, int64_t min, int64_t max, int64_t *out,
                 struct diags *d)
{
    const char *s;
    int64_t v;
    int rc = doc_read_str(n, path, &s, d);

    if (rc != 0) {
        return rc;
    }
    rc = parse_int(s, &v);
    if (rc == -EINVAL) {
        diags_add(d, DIAG_ERROR, n->file, n->line, n->col, path, "expected an integer, got \"%s\"",
                  s);
        return -EINVAL;
    }
    if (rc != 0 || v < min || v > max) {
        diags_add(d, DIAG_ERROR, n->file, n->line, n->col, path,
                  "%s is out of range (%lld to %lld)", s, (long long)min, (long long)max);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

int doc_read_duration_ms(const struct doc_node *n, const char *path, uint64_t *out, struct diags *d)
{
    const char *s;
    int rc = doc_read_str(n, path, &s, d);

    if (rc != 0) {
        return rc;
    }
    rc = duration_parse_ms(s, out);
    if (rc == -ERANGE) {
        diags_add(d, DIAG_ERROR, n->file, n->line, n->col, path,
                  "duration \"%s\" is negative or too large", s);
    } else if (rc != 0) {
        diags_add(d, DIAG_ERROR, n->file, n->line, n->col, path,
                  "invalid duration \"%s\" (examples: 500ms, 10s, 1m30s, or 42 for seconds)", s);
    }
    return rc == 0 ? 0 : -EINVAL;
}

void doc_strlist_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (p == NULL) {
        abort();
    }
    return p;
}

/* "a, b,,c" -> {"a", "b", "c"}: Traefik splits string-slice values on commas. */
static size_t split_commas(const char *s, char **v)
{
    size_t n = 0;
    while (*s) {
        const char *end = strchr(s, ',');
        const char *e = end ? end : s + strlen(s);
        const char *b = s;
        while (b < e && (*b == ' ' || *b == '\t')) {
            b++;
        }
        while (e > b && (e[-1] == ' ' || e[-1] == '\t')) {
            e--;
        }
        if (e > b) {
            if (v) {
                v[n] = xstrndup(b, (size_t)(e - b));
            }
            n++;
        }
        s = end ? end + 1 : s + strlen(s);
    }
    return n;
}

static int read_seq(const struct doc_node *n, const char *path, char ***out, size_t *n_out,
                    struct diags *d)
{
    char **v = xcalloc(n->n, sizeof *v);
    char sub[512];
    int bad = 0;

    for (size_t i = 0; i < n->n; i++) {
        const char *s = NULL;
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        int rc = doc_read_str(n->items[i], sub, &s, d);
        if (rc == 1) {
            const struct doc_node *it = n->items[i];
            diags_add(d, DIAG_ERROR, it->file, it->line, it->col, sub,
                      "expected a string, got null");
        }
        if (rc != 0) {
            bad = 1;
            continue;
        }
        v[i] = xstrndup(s, strlen(s));
    }
    if (bad) {
        doc_strlist_free(v, n->n);
        return -EINVAL;
    }
    *out = v;
    *n_out = n->n;
    return 0;
}

int doc_read_strlist(const struct doc_node *n, const char *path, char ***out, size_t *n_out,
                     struct diags *d)
{
    if (doc_is_null(n)) {
        return 1;
    }
    if (n->kind == DOC_SEQ) {
        return read_seq(n, path, out, n_out, d);
    }
    const char *s;
    if (n->kind != DOC_SCALAR) {
        return type_error(n, path, d, "a list");
    }
    if (doc_read_str(n, path, &s, d) != 0) {
        return -EINVAL;
    }
    *n_out = split_commas(s, NULL);
    *out = xcalloc(*n_out, sizeof **out);
    split_commas(s, *out);
    return 0;
}
