/* Rule expressions: a recursive-descent parser into a flat node array, and its evaluator. */
#include "node/table/rule.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/str.h"

#define NONE UINT32_MAX

enum rkind {
    R_OR,          /* children: any true */
    R_AND,         /* children: all true */
    R_NOT,         /* one child */
    R_HOST,        /* arg 0: lower-case host without trailing dot */
    R_HOST_SUFFIX, /* Host(`*.x`): arg 0 is ".x"; exactly one label before it */
    R_HOST_ANY,    /* Host(`*`): every request */
    R_PATH,        /* exact routing path */
    R_PATH_PREFIX, /* plain string prefix of the routing path */
};

/* One node; children of AND/OR/NOT are chained through `next`. Matcher arguments live in the
 * rule's string pool as (offset, length) pairs, so a rule is a single allocation. */
struct rnode {
    uint8_t kind;
    uint8_t def; /* index in matchers[] for matcher nodes */
    uint32_t child;
    uint32_t next;
    uint32_t off[2];
    uint32_t len[2];
};

struct rule {
    uint32_t nnodes;
    uint32_t root;
    const char *pool;
    struct rnode node[];
};

struct parser {
    const char *s;
    size_t pos;
    struct rnode *nodes;
    uint32_t n, cap;
    char *pool;
    size_t plen, pcap;
    struct err *e;
    int rc; /* first error; the parse functions return NONE once it is set */
};

/* A parsed argument before validation: where it started and its decoded bytes in the pool. */
struct arg {
    size_t col;
    uint32_t off, len;
};

typedef int (*build_fn)(struct parser *p, struct rnode *n, const struct arg *a);

static int build_host(struct parser *p, struct rnode *n, const struct arg *a);
static int build_path(struct parser *p, struct rnode *n, const struct arg *a);
static int build_prefix(struct parser *p, struct rnode *n, const struct arg *a);

/* Every v3 matcher Traefik knows; those without a builder come with the next issues. */
/* clang-format off */
static const struct matcher_def {
    const char *name;
    uint8_t min_args, max_args;
    build_fn build;
} matchers[] = {
    {"Host", 1, 1, build_host},
    {"Path", 1, 1, build_path},
    {"PathPrefix", 1, 1, build_prefix},
    {"HostRegexp", 1, 1, NULL},
    {"PathRegexp", 1, 1, NULL},
    {"Method", 1, 1, NULL},
    {"Header", 2, 2, NULL},
    {"HeaderRegexp", 2, 2, NULL},
    {"Query", 1, 2, NULL},
    {"QueryRegexp", 1, 2, NULL},
    {"ClientIP", 1, 1, NULL},
};
/* clang-format on */

/* v2-only names, refused with a pointer to their v3 replacement. */
static const struct {
    const char *v2, *v3;
} v2_names[] = {{"Headers", "Header"}, {"HeadersRegexp", "HeaderRegexp"}, {"HostHeader", "Host"}};

static int fail(struct parser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, size_t pos, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    p->rc = -EINVAL;
    return err_set(p->e, -EINVAL, "rule: col %zu: %s", pos + 1, what);
}

static int oom(struct parser *p)
{
    p->rc = -ENOMEM;
    return err_set(p->e, -ENOMEM, "rule: out of memory");
}

static void skip_ws(struct parser *p)
{
    while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
           p->s[p->pos] == '\r') {
        p->pos++;
    }
}

/* Appends a node; returns its index or NONE when out of memory. */
static uint32_t new_node(struct parser *p, enum rkind kind)
{
    if (p->n == p->cap) {
        uint32_t cap = p->cap ? p->cap * 2 : 8;
        struct rnode *v = realloc(p->nodes, cap * sizeof *v);
        if (v == NULL) {
            return NONE;
        }
        p->nodes = v;
        p->cap = cap;
    }
    p->nodes[p->n] = (struct rnode){.kind = (uint8_t)kind, .child = NONE, .next = NONE};
    return p->n++;
}

static int pool_put(struct parser *p, char c)
{
    if (p->plen == p->pcap) {
        size_t cap = p->pcap ? p->pcap * 2 : 64;
        char *v = realloc(p->pool, cap);
        if (v == NULL) {
            return oom(p);
        }
        p->pool = v;
        p->pcap = cap;
    }
    p->pool[p->plen++] = c;
    return 0;
}

static int pool_put_utf8(struct parser *p, uint32_t cp)
{
    char b[4];
    int n;
    if (cp < 0x80) {
        b[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | cp >> 6), b[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | cp >> 12), b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        b[0] = (char)(0xF0 | cp >> 18), b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    }
    for (int i = 0; i < n; i++) {
        if (pool_put(p, b[i]) != 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

/* Reads `ndigits` digits of base 8 or 16 at p->pos into *v. */
static bool read_digits(struct parser *p, int ndigits, int base, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < ndigits; i++) {
        int d = str_hexval(p->s[p->pos]);
        if (d < 0 || d >= base) {
            return false;
        }
        *v = *v * (uint32_t)base + (uint32_t)d;
        p->pos++;
    }
    return true;
}

static char simple_escape(char c)
{
    switch (c) {
    case 'a':
        return '\a';
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'v':
        return '\v';
    case '\\':
        return '\\';
    case '"':
        return '"';
    default:
        return 0;
    }
}

/* One Go escape sequence; p->pos is on the backslash. */
static int read_escape(struct parser *p)
{
    size_t bs = p->pos++;
    char c = p->s[p->pos];
    uint32_t v;
    if (simple_escape(c) != 0) {
        p->pos++;
        return pool_put(p, simple_escape(c));
    }
    if (c >= '0' && c <= '7') {
        /* Go: exactly three octal digits, at most \377. */
        if (read_digits(p, 3, 8, &v) && v <= 255) {
            return pool_put(p, (char)v);
        }
        return fail(p, bs, "invalid escape sequence in string");
    }
    p->pos++;
    if (c == 'x' && read_digits(p, 2, 16, &v)) {
        return pool_put(p, (char)v);
    }
    if ((c == 'u' && read_digits(p, 4, 16, &v)) || (c == 'U' && read_digits(p, 8, 16, &v))) {
        if (v <= 0x10FFFF && (v < 0xD800 || v > 0xDFFF)) {
            return pool_put_utf8(p, v);
        }
    }
    return fail(p, bs, "invalid escape sequence in string");
}

/* A value: `raw` (carriage returns dropped, as Go does) or "interpreted" with Go escapes. */
static int read_value(struct parser *p, struct arg *a)
{
    char q = p->s[p->pos];
    int rc;
    a->col = p->pos;
    a->off = (uint32_t)p->plen;
    if (q != '`' && q != '"') {
        return fail(p, p->pos, "expected a value in backticks or double quotes%s",
                    q == '\'' ? " (single quotes are not allowed)" : "");
    }
    p->pos++;
    for (;;) {
        char c = p->s[p->pos];
        if (c == '\0' || (c == '\n' && q == '"')) {
            return fail(p, a->col, "unterminated string");
        }
        if (c == q) {
            p->pos++;
            break;
        }
        if (c == '\\' && q == '"') {
            rc = read_escape(p);
        } else {
            p->pos++;
            rc = (c == '\r' && q == '`') ? 0 : pool_put(p, c);
        }
        if (rc != 0) {
            return rc;
        }
    }
    a->len = (uint32_t)(p->plen - a->off);
    return 0;
}

/* Matcher names: as in the table, all-lower, ALL-UPPER or Title-case (Traefik's rule). */
static bool name_is(const char *canon, const char *s, size_t n)
{
    bool same = true, lower = true, upper = true, title = true;
    if (strlen(canon) != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = canon[i], lc = (char)(c | 0x20), uc = (char)(c & ~0x20);
        same &= s[i] == c;
        lower &= s[i] == lc;
        upper &= s[i] == uc;
        title &= s[i] == (i == 0 ? uc : lc);
    }
    return same || lower || upper || title;
}

static int lookup_matcher(struct parser *p, size_t start, size_t n)
{
    const char *s = p->s + start;
    for (size_t i = 0; i < sizeof matchers / sizeof matchers[0]; i++) {
        if (name_is(matchers[i].name, s, n)) {
            if (matchers[i].build == NULL) {
                return fail(p, start, "matcher %.*s not supported yet", (int)n, s);
            }
            return (int)i;
        }
    }
    for (size_t i = 0; i < sizeof v2_names / sizeof v2_names[0]; i++) {
        if (name_is(v2_names[i].v2, s, n)) {
            return fail(p, start, "unknown matcher %.*s (v2 syntax; v3 uses %s)", (int)n, s,
                        v2_names[i].v3);
        }
    }
    return fail(p, start, "unknown matcher %.*s", (int)n, s);
}

/* Reads "( value {, value} [,] )"; stores up to two args and counts them all. */
static int read_args(struct parser *p, struct arg a[2], unsigned *nargs)
{
    int rc;
    *nargs = 0;
    skip_ws(p);
    if (p->s[p->pos] != '(') {
        return fail(p, p->pos, "expected '('");
    }
    p->pos++;
    skip_ws(p);
    while (p->s[p->pos] != ')') {
        struct arg tmp;
        if ((rc = read_value(p, *nargs < 2 ? &a[*nargs] : &tmp)) != 0) {
            return rc;
        }
        (*nargs)++;
        skip_ws(p);
        if (p->s[p->pos] == ',') {
            p->pos++;
            skip_ws(p);
        } else if (p->s[p->pos] != ')') {
            return fail(p, p->pos, "expected ',' or ')'");
        }
    }
    p->pos++;
    return 0;
}

static bool is_ident(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

static uint32_t parse_or(struct parser *p, int depth);

static uint32_t parse_matcher(struct parser *p)
{
    size_t start = p->pos;
    struct arg a[2];
    unsigned nargs;
    while (is_ident(p->s[p->pos], false)) {
        p->pos++;
    }
    int def = lookup_matcher(p, start, p->pos - start);
    if (def < 0 || read_args(p, a, &nargs) != 0) {
        return NONE;
    }
    const struct matcher_def *m = &matchers[def];
    if (nargs < m->min_args || nargs > m->max_args) {
        if (m->min_args == m->max_args) {
            fail(p, start, "%s takes %u value%s, got %u", m->name, m->max_args,
                 m->max_args == 1 ? "" : "s", nargs);
        } else {
            fail(p, start, "%s takes %u or %u values, got %u", m->name, m->min_args, m->max_args,
                 nargs);
        }
        return NONE;
    }
    uint32_t i = new_node(p, R_HOST);
    if (i == NONE) {
        oom(p);
        return NONE;
    }
    p->nodes[i].def = (uint8_t)def;
    for (unsigned k = 0; k < nargs; k++) {
        if (a[k].len == 0) {
            fail(p, a[k].col, "%s: empty value", m->name);
            return NONE;
        }
    }
    return m->build(p, &p->nodes[i], a) == 0 ? i : NONE;
}

static uint32_t parse_unary(struct parser *p, int depth)
{
    skip_ws(p);
    char c = p->s[p->pos];
    if ((c == '!' || c == '(') && depth >= RULE_MAX_DEPTH) {
        fail(p, p->pos, "nested too deeply (at most %d levels)", RULE_MAX_DEPTH);
        return NONE;
    }
    if (c == '!') {
        p->pos++;
        uint32_t child = parse_unary(p, depth + 1);
        uint32_t i = child == NONE ? NONE : new_node(p, R_NOT);
        if (child != NONE && i == NONE) {
            oom(p);
        } else if (i != NONE) {
            p->nodes[i].child = child;
        }
        return i;
    }
    if (c == '(') {
        p->pos++;
        uint32_t i = parse_or(p, depth + 1);
        if (i == NONE) {
            return NONE;
        }
        skip_ws(p);
        if (p->s[p->pos] != ')') {
            fail(p, p->pos, "expected ')'");
            return NONE;
        }
        p->pos++;
        return i;
    }
    if (is_ident(c, true)) {
        return parse_matcher(p);
    }
    fail(p, p->pos, "expected a matcher, '!' or '('");
    return NONE;
}

/* True when the operator `op` (&& or ||) is next; a lone '&' or '|' is an error. */
static bool at_op(struct parser *p, char op, bool *bad)
{
    skip_ws(p);
    if (p->s[p->pos] != op) {
        return false;
    }
    if (p->s[p->pos + 1] != op) {
        fail(p, p->pos, "expected '%c%c'", op, op);
        *bad = true;
        return false;
    }
    p->pos += 2;
    return true;
}

/* One level of a left-associative n-ary operator: first {op next}. */
static uint32_t parse_list(struct parser *p, int depth, enum rkind kind)
{
    bool bad = false;
    char op = kind == R_OR ? '|' : '&';
    uint32_t first = kind == R_OR ? parse_list(p, depth, R_AND) : parse_unary(p, depth);
    if (first == NONE || !at_op(p, op, &bad)) {
        return bad ? NONE : first;
    }
    uint32_t list = new_node(p, kind), last = first;
    if (list == NONE) {
        oom(p);
        return NONE;
    }
    p->nodes[list].child = first;
    do {
        uint32_t next = kind == R_OR ? parse_list(p, depth, R_AND) : parse_unary(p, depth);
        if (next == NONE) {
            return NONE;
        }
        p->nodes[last].next = next;
        last = next;
    } while (at_op(p, op, &bad));
    return bad ? NONE : list;
}

static uint32_t parse_or(struct parser *p, int depth)
{
    return parse_list(p, depth, R_OR);
}

static int finish(struct parser *p, uint32_t root, struct rule **out)
{
    size_t nodes = (size_t)p->n * sizeof(struct rnode);
    struct rule *r = malloc(sizeof *r + nodes + p->plen + 1);
    if (r == NULL) {
        return oom(p);
    }
    r->nnodes = p->n;
    r->root = root;
    memcpy(r->node, p->nodes, nodes);
    char *pool = (char *)r->node + nodes;
    if (p->plen > 0) {
        memcpy(pool, p->pool, p->plen);
    }
    pool[p->plen] = '\0';
    r->pool = pool;
    *out = r;
    return 0;
}

int rule_parse(const char *text, struct rule **out, struct err *e)
{
    struct parser p = {.s = text, .e = e};
    int rc;
    if (strlen(text) >= UINT32_MAX / 2) {
        return err_set(e, -EINVAL, "rule: too long");
    }
    skip_ws(&p);
    if (text[p.pos] == '\0') {
        rc = fail(&p, 0, "empty rule");
        goto out;
    }
    uint32_t root = parse_or(&p, 0);
    if (root == NONE) {
        rc = p.rc;
        goto out;
    }
    skip_ws(&p);
    if (text[p.pos] != '\0') {
        rc = fail(&p, p.pos, "expected '&&', '||' or end of rule");
        goto out;
    }
    rc = finish(&p, root, out);
out:
    free(p.nodes);
    free(p.pool);
    return rc;
}

/* ---- Matcher builders: validate the arguments and normalise them in the pool. ---- */

static int build_host(struct parser *p, struct rnode *n, const struct arg *a)
{
    char *h = p->pool + a->off;
    uint32_t len = a->len;
    for (uint32_t i = 0; i < len; i++) {
        if ((unsigned char)h[i] >= 0x80) {
            return fail(p, a->col, "Host: value must be ASCII (use punycode)");
        }
        if (h[i] >= 'A' && h[i] <= 'Z') {
            h[i] = (char)(h[i] | 0x20);
        }
    }
    if (len == 1 && h[0] == '*') {
        n->kind = R_HOST_ANY;
        return 0;
    }
    if (len > 1 && h[len - 1] == '.') {
        len--; /* a trailing dot on either side is ignored; the request's is cut at match time */
    }
    n->kind = R_HOST;
    n->off[0] = a->off;
    n->len[0] = len;
    if (h[0] == '*' && (len == 1 || h[1] == '.')) {
        if (len <= 2) { /* "*." or "*.." */
            return fail(p, a->col, "Host: wildcard needs a domain after '*.'");
        }
        n->kind = R_HOST_SUFFIX; /* keep the dot: ".example.com" */
        n->off[0] = a->off + 1;
        n->len[0] = len - 1;
    }
    return 0;
}

static int build_path_kind(struct parser *p, struct rnode *n, const struct arg *a, enum rkind kind)
{
    if (p->pool[a->off] != '/') {
        return fail(p, a->col, "%s: value must start with '/'", matchers[n->def].name);
    }
    n->kind = (uint8_t)kind;
    n->off[0] = a->off;
    n->len[0] = a->len;
    return 0;
}

static int build_path(struct parser *p, struct rnode *n, const struct arg *a)
{
    return build_path_kind(p, n, a, R_PATH);
}

static int build_prefix(struct parser *p, struct rnode *n, const struct arg *a)
{
    return build_path_kind(p, n, a, R_PATH_PREFIX);
}

/* ---- Evaluation: recursion over the node array, short-circuiting, no allocation. ---- */

static bool host_equal(const char *want, uint32_t wlen, const char *host, uint32_t hlen)
{
    if (wlen != hlen) {
        return false;
    }
    for (uint32_t i = 0; i < hlen; i++) {
        char c = host[i];
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c | 0x20);
        }
        if (c != want[i]) {
            return false;
        }
    }
    return true;
}

static bool match_host(const struct rule *r, const struct rnode *n, const struct table_request *q)
{
    const char *want = r->pool + n->off[0], *host = q->host;
    uint32_t hlen = q->host_len;
    if (hlen > 0 && host[hlen - 1] == '.') {
        hlen--;
    }
    if (hlen == 0) {
        return false;
    }
    if (n->kind == R_HOST) {
        return host_equal(want, n->len[0], host, hlen);
    }
    /* R_HOST_SUFFIX: one non-empty leftmost label, then exactly ".domain". */
    if (hlen <= n->len[0]) {
        return false;
    }
    uint32_t label = hlen - n->len[0];
    return memchr(host, '.', label) == NULL && host_equal(want, n->len[0], host + label, n->len[0]);
}

static bool eval(const struct rule *r, uint32_t i, const struct table_request *q)
{
    const struct rnode *n = &r->node[i];
    switch ((enum rkind)n->kind) {
    case R_OR:
        for (uint32_t c = n->child; c != NONE; c = r->node[c].next) {
            if (eval(r, c, q)) {
                return true;
            }
        }
        return false;
    case R_AND:
        for (uint32_t c = n->child; c != NONE; c = r->node[c].next) {
            if (!eval(r, c, q)) {
                return false;
            }
        }
        return true;
    case R_NOT:
        return !eval(r, n->child, q);
    case R_HOST:
    case R_HOST_SUFFIX:
        return match_host(r, n, q);
    case R_HOST_ANY:
        return true;
    case R_PATH:
        return q->path_len == n->len[0] && memcmp(q->path, r->pool + n->off[0], n->len[0]) == 0;
    case R_PATH_PREFIX:
        return q->path_len >= n->len[0] && memcmp(q->path, r->pool + n->off[0], n->len[0]) == 0;
    }
    return false;
}

bool rule_match(const struct rule *r, const struct table_request *req)
{
    return eval(r, r->root, req);
}

/* ---- Canonical text form. ---- */

struct out {
    char *buf;
    size_t size, n;
};

static void put(struct out *o, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++, o->n++) {
        if (o->n + 1 < o->size) {
            o->buf[o->n] = s[i];
        }
    }
}

static void put_str(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* Backticks unless the value holds a backtick or a control byte; then a Go "string". */
static void put_value(struct out *o, const char *v, uint32_t len)
{
    bool raw = true;
    for (uint32_t i = 0; i < len; i++) {
        raw &= v[i] != '`' && (unsigned char)v[i] >= 0x20 && v[i] != 0x7f;
    }
    put_str(o, raw ? "`" : "\"");
    for (uint32_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        char esc[8];
        if (raw || (c >= 0x20 && c != 0x7f && c != '"' && c != '\\')) {
            put(o, v + i, 1);
        } else {
            snprintf(esc, sizeof esc, c == '"' || c == '\\' ? "\\%c" : "\\x%02x", c);
            put_str(o, esc);
        }
    }
    put_str(o, raw ? "`" : "\"");
}

static void format_node(const struct rule *r, uint32_t i, struct out *o)
{
    const struct rnode *n = &r->node[i];
    switch ((enum rkind)n->kind) {
    case R_OR:
    case R_AND:
        put_str(o, "(");
        for (uint32_t c = n->child; c != NONE; c = r->node[c].next) {
            format_node(r, c, o);
            if (r->node[c].next != NONE) {
                put_str(o, n->kind == R_OR ? " || " : " && ");
            }
        }
        put_str(o, ")");
        return;
    case R_NOT:
        put_str(o, "!");
        format_node(r, n->child, o);
        return;
    default:
        put_str(o, matchers[n->def].name);
        put_str(o, "(");
        if (n->kind == R_HOST_ANY || n->kind == R_HOST_SUFFIX) {
            put_str(o, "`*");
            put(o, r->pool + n->off[0], n->len[0]);
            put_str(o, "`");
        } else {
            put_value(o, r->pool + n->off[0], n->len[0]);
        }
        put_str(o, ")");
    }
}

int rule_format(const struct rule *r, char *buf, size_t size)
{
    struct out o = {.buf = buf, .size = size};
    format_node(r, r->root, &o);
    if (size > 0) {
        buf[o.n < size ? o.n : size - 1] = '\0';
    }
    return (int)o.n;
}

void rule_free(struct rule *r)
{
    free(r);
}
