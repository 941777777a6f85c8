/* Rule expressions: a recursive-descent parser into a flat node array, the v3 matchers, and the
 * evaluator (the v2 matchers are built by rule_v2.c). */
#include "node/table/rule.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "node/base/str.h"
#include "node/http/h1_parse.h"
#include "node/table/regex.h"
#include "node/table/rule-parse.h"

struct rule {
    uint32_t nnodes;
    uint32_t root;
    uint32_t nre;
    struct regex **re; /* compiled regexes, owned; read-only once parsed (shareable) */
    const char *pool;
    struct rnode node[];
};

typedef int (*build_fn)(struct parser *p, struct rnode *n, const struct arg *a);

static int build_host(struct parser *p, struct rnode *n, const struct arg *a);
static int build_path(struct parser *p, struct rnode *n, const struct arg *a);
static int build_prefix(struct parser *p, struct rnode *n, const struct arg *a);
static int build_host_re(struct parser *p, struct rnode *n, const struct arg *a);
static int build_path_re(struct parser *p, struct rnode *n, const struct arg *a);
static int build_header(struct parser *p, struct rnode *n, const struct arg *a);
static int build_header_re(struct parser *p, struct rnode *n, const struct arg *a);
static int build_query(struct parser *p, struct rnode *n, const struct arg *a);
static int build_query_re(struct parser *p, struct rnode *n, const struct arg *a);

#define V3 (1u << RULE_V3)
#define V2 (1u << RULE_V2)
#define MANY UINT8_MAX /* no upper bound on the values */

/* Every matcher Traefik knows, in either syntax. A v3 entry has `build` (one node from at
 * most two values); a v2 entry has `build_v2` (any number of values). `elsewhere` is the
 * hint given when the name is used in the syntax that lacks it. */
/* clang-format off */
static const struct matcher_def {
    const char *name;
    uint8_t syntaxes;
    uint8_t min_args, max_args;
    build_fn build;
    build_v2_fn build_v2;
    const char *elsewhere;
} matchers[] = {
    {"Host", V3, 1, 1, build_host, NULL, NULL},
    {"Path", V3, 1, 1, build_path, NULL, NULL},
    {"PathPrefix", V3, 1, 1, build_prefix, NULL, NULL},
    {"HostRegexp", V3, 1, 1, build_host_re, NULL, NULL},
    {"PathRegexp", V3, 1, 1, build_path_re, NULL,
     "v3 syntax; v2 uses Path or PathPrefix with a `{name:regexp}` template"},
    {"Method", V3, 1, 1, rule_build_method, NULL, NULL},
    {"Header", V3, 2, 2, build_header, NULL, "v3 syntax; v2 uses Headers"},
    {"HeaderRegexp", V3, 2, 2, build_header_re, NULL, "v3 syntax; v2 uses HeadersRegexp"},
    {"Query", V3, 1, 2, build_query, NULL, NULL},
    {"QueryRegexp", V3, 1, 2, build_query_re, NULL,
     "v3 syntax; v2 uses Query with a `key={name:regexp}` template"},
    {"ClientIP", V3, 1, 1, rule_build_client_ip, NULL, NULL},
    {"Host", V2, 1, MANY, NULL, rule_v2_host, NULL},
    {"HostHeader", V2, 1, MANY, NULL, rule_v2_host, "v2 syntax; v3 uses Host"},
    {"HostRegexp", V2, 1, MANY, NULL, rule_v2_host_re, NULL},
    {"Path", V2, 1, MANY, NULL, rule_v2_path, NULL},
    {"PathPrefix", V2, 1, MANY, NULL, rule_v2_prefix, NULL},
    {"Method", V2, 1, MANY, NULL, rule_v2_method, NULL},
    {"Headers", V2, 2, MANY, NULL, rule_v2_headers, "v2 syntax; v3 uses Header"},
    {"HeadersRegexp", V2, 2, MANY, NULL, rule_v2_headers_re, "v2 syntax; v3 uses HeaderRegexp"},
    {"Query", V2, 1, MANY, NULL, rule_v2_query, NULL},
    {"ClientIP", V2, 1, MANY, NULL, rule_v2_client_ip, NULL},
};
/* clang-format on */

#define NMATCHERS (sizeof matchers / sizeof matchers[0])

const char *rule_matcher_name(unsigned def)
{
    return def < NMATCHERS ? matchers[def].name : "?";
}

int rule_fail(struct parser *p, size_t pos, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    p->rc = -EINVAL;
    return err_set(p->e, -EINVAL, "rule: col %zu: %s", pos + 1, what);
}

int rule_oom(struct parser *p)
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

uint32_t rule_new_node(struct parser *p, enum rkind kind)
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

int rule_pool_put(struct parser *p, char c)
{
    if (p->plen == p->pcap) {
        size_t cap = p->pcap ? p->pcap * 2 : 64;
        char *v = realloc(p->pool, cap);
        if (v == NULL) {
            return rule_oom(p);
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
        if (rule_pool_put(p, b[i]) != 0) {
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
        return rule_pool_put(p, simple_escape(c));
    }
    if (c >= '0' && c <= '7') {
        /* Go: exactly three octal digits, at most \377. */
        if (read_digits(p, 3, 8, &v) && v <= 255) {
            return rule_pool_put(p, (char)v);
        }
        return rule_fail(p, bs, "invalid escape sequence in string");
    }
    p->pos++;
    if (c == 'x' && read_digits(p, 2, 16, &v)) {
        return rule_pool_put(p, (char)v);
    }
    if ((c == 'u' && read_digits(p, 4, 16, &v)) || (c == 'U' && read_digits(p, 8, 16, &v))) {
        if (v <= 0x10FFFF && (v < 0xD800 || v > 0xDFFF)) {
            return pool_put_utf8(p, v);
        }
    }
    return rule_fail(p, bs, "invalid escape sequence in string");
}

/* A value: `raw` (carriage returns dropped, as Go does) or "interpreted" with Go escapes. */
static int read_value(struct parser *p, struct arg *a)
{
    char q = p->s[p->pos];
    int rc;
    a->col = p->pos;
    a->off = (uint32_t)p->plen;
    if (q != '`' && q != '"') {
        return rule_fail(p, p->pos, "expected a value in backticks or double quotes%s",
                         q == '\'' ? " (single quotes are not allowed)" : "");
    }
    p->pos++;
    for (;;) {
        char c = p->s[p->pos];
        if (c == '\0' || (c == '\n' && q == '"')) {
            return rule_fail(p, a->col, "unterminated string");
        }
        if (c == q) {
            p->pos++;
            break;
        }
        if (c == '\\' && q == '"') {
            rc = read_escape(p);
        } else {
            p->pos++;
            rc = (c == '\r' && q == '`') ? 0 : rule_pool_put(p, c);
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

/* The matcher table entry for the name at `start` in p's syntax; a name that only the other
 * syntax has gets that entry's hint. */
static int lookup_matcher(struct parser *p, size_t start, size_t n)
{
    const char *s = p->s + start;
    const char *hint = NULL;
    for (size_t i = 0; i < NMATCHERS; i++) {
        if (name_is(matchers[i].name, s, n)) {
            if (matchers[i].syntaxes & (1u << p->syntax)) {
                return (int)i;
            }
            hint = hint ? hint : matchers[i].elsewhere;
        }
    }
    if (hint != NULL) {
        return rule_fail(p, start, "unknown matcher %.*s (%s)", (int)n, s, hint);
    }
    return rule_fail(p, start, "unknown matcher %.*s", (int)n, s);
}

/* Reads "( value {, value} [,] )" into p->args; *nargs is their count. */
static int read_args(struct parser *p, unsigned *nargs)
{
    int rc;
    *nargs = 0;
    skip_ws(p);
    if (p->s[p->pos] != '(') {
        return rule_fail(p, p->pos, "expected '('");
    }
    p->pos++;
    skip_ws(p);
    while (p->s[p->pos] != ')') {
        if (*nargs == p->argcap) {
            uint32_t cap = p->argcap ? p->argcap * 2 : 4;
            struct arg *v = realloc(p->args, cap * sizeof *v);
            if (v == NULL) {
                return rule_oom(p);
            }
            p->args = v;
            p->argcap = cap;
        }
        if ((rc = read_value(p, &p->args[*nargs])) != 0) {
            return rc;
        }
        (*nargs)++;
        skip_ws(p);
        if (p->s[p->pos] == ',') {
            p->pos++;
            skip_ws(p);
        } else if (p->s[p->pos] != ')') {
            return rule_fail(p, p->pos, "expected ',' or ')'");
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

/* The wrong-count message; in v3, a hint when v2 would take several values. */
static void bad_count(struct parser *p, size_t start, const struct matcher_def *m, unsigned n)
{
    if (m->max_args == MANY) {
        rule_fail(p, start, "%s takes at least %u value%s, got %u", m->name, m->min_args,
                  m->min_args == 1 ? "" : "s", n);
    } else if (m->min_args != m->max_args) {
        rule_fail(p, start, "%s takes %u or %u values, got %u", m->name, m->min_args, m->max_args,
                  n);
    } else if (m->max_args == 1 && n > 1) {
        rule_fail(p, start, "%s takes 1 value, got %u (several values are v2 syntax; use || in v3)",
                  m->name, n);
    } else {
        rule_fail(p, start, "%s takes %u value%s, got %u", m->name, m->max_args,
                  m->max_args == 1 ? "" : "s", n);
    }
}

static uint32_t parse_matcher(struct parser *p)
{
    size_t start = p->pos;
    unsigned nargs;
    while (is_ident(p->s[p->pos], false)) {
        p->pos++;
    }
    int def = lookup_matcher(p, start, p->pos - start);
    if (def < 0 || read_args(p, &nargs) != 0) {
        return NONE;
    }
    const struct matcher_def *m = &matchers[def];
    const struct arg *a = p->args;
    if (nargs < m->min_args || (m->max_args != MANY && nargs > m->max_args)) {
        bad_count(p, start, m, nargs);
        return NONE;
    }
    for (unsigned k = 0; k < nargs; k++) {
        if (a[k].len == 0) {
            rule_fail(p, a[k].col, "%s: empty value", m->name);
            return NONE;
        }
    }
    if (m->build_v2 != NULL) {
        return m->build_v2(p, (unsigned)def, a, nargs);
    }
    uint32_t i = rule_new_node(p, R_HOST);
    if (i == NONE) {
        rule_oom(p);
        return NONE;
    }
    p->nodes[i].def = (uint8_t)def;
    p->nodes[i].nargs = (uint8_t)nargs;
    return m->build(p, &p->nodes[i], a) == 0 ? i : NONE;
}

static uint32_t parse_unary(struct parser *p, int depth)
{
    skip_ws(p);
    char c = p->s[p->pos];
    if ((c == '!' || c == '(') && depth >= RULE_MAX_DEPTH) {
        rule_fail(p, p->pos, "nested too deeply (at most %d levels)", RULE_MAX_DEPTH);
        return NONE;
    }
    if (c == '!') {
        p->pos++;
        uint32_t child = parse_unary(p, depth + 1);
        uint32_t i = child == NONE ? NONE : rule_new_node(p, R_NOT);
        if (child != NONE && i == NONE) {
            rule_oom(p);
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
            rule_fail(p, p->pos, "expected ')'");
            return NONE;
        }
        p->pos++;
        return i;
    }
    if (is_ident(c, true)) {
        return parse_matcher(p);
    }
    rule_fail(p, p->pos, "expected a matcher, '!' or '('");
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
        rule_fail(p, p->pos, "expected '%c%c'", op, op);
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
    uint32_t list = rule_new_node(p, kind), last = first;
    if (list == NONE) {
        rule_oom(p);
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
        return rule_oom(p);
    }
    r->nnodes = p->n;
    r->root = root;
    r->nre = p->nre;
    r->re = p->re; /* ownership moves to the rule */
    p->re = NULL;
    p->nre = 0;
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
    return rule_parse_syntax(text, RULE_V3, out, e);
}

int rule_parse_syntax(const char *text, enum rule_syntax syntax, struct rule **out, struct err *e)
{
    struct parser p = {.s = text, .syntax = syntax, .e = e};
    int rc;
    if (syntax != RULE_V3 && syntax != RULE_V2) {
        return err_set(e, -EINVAL, "rule: unknown syntax %d", (int)syntax);
    }
    if (strlen(text) >= UINT32_MAX / 2) {
        return err_set(e, -EINVAL, "rule: too long");
    }
    skip_ws(&p);
    if (text[p.pos] == '\0') {
        rc = rule_fail(&p, 0, "empty rule");
        goto out;
    }
    uint32_t root = parse_or(&p, 0);
    if (root == NONE) {
        rc = p.rc;
        goto out;
    }
    skip_ws(&p);
    if (text[p.pos] != '\0') {
        rc = rule_fail(&p, p.pos, "expected '&&', '||' or end of rule");
        goto out;
    }
    rc = finish(&p, root, out);
out:
    free(p.nodes);
    free(p.pool);
    free(p.args);
    for (uint32_t i = 0; i < p.nre; i++) {
        regex_free(p.re[i]);
    }
    free(p.re);
    return rc;
}

/* ---- Matcher builders: validate the arguments and normalise them in the pool. ---- */

static int build_host(struct parser *p, struct rnode *n, const struct arg *a)
{
    char *h = p->pool + a->off;
    uint32_t len = a->len;
    for (uint32_t i = 0; i < len; i++) {
        if ((unsigned char)h[i] >= 0x80) {
            return rule_fail(p, a->col, "Host: value must be ASCII (use punycode)");
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
            return rule_fail(p, a->col, "Host: wildcard needs a domain after '*.'");
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
        return rule_fail(p, a->col, "%s: value must start with '/'", matchers[n->def].name);
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

/* ---- Regexes (node/table/regex.c: RE2 syntax on PCRE2). ---- */

int rule_add_regex(struct parser *p, uint32_t node, const char *pat, size_t len, size_t col)
{
    const char *name = matchers[p->nodes[node].def].name;
    char what[64], msg[120];
    if (regex_re2_lacks(pat, len, what, sizeof what)) {
        return rule_fail(p, col, "%s: %s is not supported (RE2 syntax has no such construct)", name,
                         what);
    }
    if (p->nre == p->recap) {
        uint32_t cap = p->recap ? p->recap * 2 : 4;
        struct regex **v = realloc(p->re, cap * sizeof *v);
        if (v == NULL) {
            return rule_oom(p);
        }
        p->re = v;
        p->recap = cap;
    }
    struct regex *re = NULL;
    size_t at = 0;
    int rc = regex_compile(pat, len, &re, msg, sizeof msg, &at);
    if (rc == -ENOMEM) {
        return rule_oom(p);
    }
    if (rc != 0) {
        return rule_fail(p, col, "%s: invalid regexp at offset %zu: %s", name, at, msg);
    }
    p->nodes[node].re = p->nre;
    p->re[p->nre++] = re;
    return 0;
}

/* Compiles the pattern in `a` as node n's regex. */
static int compile_re(struct parser *p, struct rnode *n, const struct arg *a)
{
    return rule_add_regex(p, (uint32_t)(n - p->nodes), p->pool + a->off, a->len, a->col);
}

static int build_host_re(struct parser *p, struct rnode *n, const struct arg *a)
{
    for (uint32_t i = 0; i < a->len; i++) {
        if ((unsigned char)p->pool[a->off + i] >= 0x80) {
            return rule_fail(p, a->col, "HostRegexp: value must be ASCII (use punycode)");
        }
    }
    n->kind = R_HOST_RE;
    n->off[0] = a->off;
    n->len[0] = a->len;
    return compile_re(p, n, a);
}

static int build_path_re(struct parser *p, struct rnode *n, const struct arg *a)
{
    n->kind = R_PATH_RE;
    n->off[0] = a->off;
    n->len[0] = a->len;
    return compile_re(p, n, a);
}

/* Traefik upper-cases the method at load time and compares it case-sensitively. */
int rule_build_method(struct parser *p, struct rnode *n, const struct arg *a)
{
    char *m = p->pool + a->off;
    for (uint32_t i = 0; i < a->len; i++) {
        if (m[i] >= 'a' && m[i] <= 'z') {
            m[i] = (char)(m[i] & ~0x20);
        }
    }
    n->kind = R_METHOD;
    n->off[0] = a->off;
    n->len[0] = a->len;
    return 0;
}

static void two_args(struct rnode *n, const struct arg *a)
{
    n->off[0] = a[0].off;
    n->len[0] = a[0].len;
    n->off[1] = n->nargs > 1 ? a[1].off : a[0].off;
    n->len[1] = n->nargs > 1 ? a[1].len : 0;
}

static int build_header(struct parser *p, struct rnode *n, const struct arg *a)
{
    (void)p;
    n->kind = R_HEADER;
    two_args(n, a);
    return 0;
}

static int build_header_re(struct parser *p, struct rnode *n, const struct arg *a)
{
    n->kind = R_HEADER_RE;
    two_args(n, a);
    return compile_re(p, n, &a[1]);
}

/* Query(`k`) is Query(`k`, ``): some value of k is empty (`?k` or `?k=`). */
static int build_query(struct parser *p, struct rnode *n, const struct arg *a)
{
    (void)p;
    n->kind = R_QUERY;
    two_args(n, a);
    return 0;
}

/* The one-arg QueryRegexp(`k`) is Query(`k`), as in Traefik. */
static int build_query_re(struct parser *p, struct rnode *n, const struct arg *a)
{
    two_args(n, a);
    if (n->nargs == 1) {
        n->kind = R_QUERY;
        return 0;
    }
    n->kind = R_QUERY_RE;
    return compile_re(p, n, &a[1]);
}

/* An IP (v4 or v6) or a CIDR, as Go's net.ParseIP / net.ParseCIDR accept them; IPv4 is kept
 * as ::ffff:a.b.c.d with 96 more prefix bits, so v4-mapped clients match v4 rules as in Go. */
int rule_build_client_ip(struct parser *p, struct rnode *n, const struct arg *a)
{
    char text[64];
    uint8_t bin[17] = {0};
    long bits = -1;
    if (a->len >= sizeof text || memchr(p->pool + a->off, '\0', a->len) != NULL) {
        return rule_fail(p, a->col, "ClientIP: invalid IP or CIDR");
    }
    memcpy(text, p->pool + a->off, a->len);
    text[a->len] = '\0';
    char *slash = strchr(text, '/');
    if (slash != NULL) {
        *slash = '\0';
        const char *d = slash + 1;
        size_t nd = strspn(d, "0123456789");
        if (nd == 0 || nd > 3 || d[nd] != '\0') {
            return rule_fail(p, a->col, "ClientIP: invalid IP or CIDR");
        }
        bits = strtol(d, NULL, 10);
    }
    if (inet_pton(AF_INET, text, bin + 12) == 1) {
        bin[10] = bin[11] = 0xff;
        if (bits > 32) {
            return rule_fail(p, a->col, "ClientIP: invalid IP or CIDR");
        }
        bits = bits < 0 ? 128 : 96 + bits;
    } else if (inet_pton(AF_INET6, text, bin) == 1) {
        if (bits > 128) {
            return rule_fail(p, a->col, "ClientIP: invalid IP or CIDR");
        }
        bits = bits < 0 ? 128 : bits;
    } else {
        return rule_fail(p, a->col, "ClientIP: invalid IP or CIDR");
    }
    bin[16] = (uint8_t)bits;
    n->kind = R_CLIENT_IP;
    n->off[0] = a->off;
    n->len[0] = a->len;
    n->off[1] = (uint32_t)p->plen;
    n->len[1] = sizeof bin;
    for (size_t i = 0; i < sizeof bin; i++) {
        if (rule_pool_put(p, (char)bin[i]) != 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

/* ---- Evaluation: recursion over the node array, short-circuiting, no allocation. ---- */

uint64_t rule_regex_aborts(void)
{
    return regex_aborts();
}

static bool name_equal(const char *a, const char *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        char x = a[i], y = b[i];
        x = (char)(x >= 'A' && x <= 'Z' ? x | 0x20 : x);
        y = (char)(y >= 'A' && y <= 'Z' ? y | 0x20 : y);
        if (x != y) {
            return false;
        }
    }
    return true;
}

/* Go's server removes Host (moved to req.Host) and Transfer-Encoding (parsed into the framing)
 * from the header map, so Traefik's Header matchers never see them. */
static bool header_hidden(const char *name, uint32_t len)
{
    return (len == 4 && name_equal(name, "host", 4)) ||
           (len == 17 && name_equal(name, "transfer-encoding", 17));
}

static bool match_header(const struct rule *r, const struct rnode *n, const struct table_request *q)
{
    const char *key = r->pool + n->off[0], *want = r->pool + n->off[1];
    if (header_hidden(key, n->len[0])) {
        return false;
    }
    for (uint32_t i = 0; i < q->nheaders; i++) {
        const struct h1_header *h = &q->headers[i];
        if (h->name_len != n->len[0] || !name_equal(h->name, key, n->len[0])) {
            continue;
        }
        if (n->kind == R_HEADER
                ? (h->value_len == n->len[1] && memcmp(h->value, want, n->len[1]) == 0)
                : regex_match(r->re[n->re], h->value, h->value_len)) {
            return true;
        }
    }
    return false;
}

/* Decodes one query component as Go's url.QueryUnescape: '+' is a space, %XX a byte (both hex
 * digits required). Returns the decoded length or -1 on a bad escape; writes to out if given. */
static long query_decode(const char *s, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++, n++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= len) {
                return -1;
            }
            int hi = str_hexval(s[i + 1]), lo = str_hexval(s[i + 2]);
            if (hi < 0 || lo < 0) {
                return -1;
            }
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (out != NULL) {
            out[n] = c;
        }
    }
    return (long)n;
}

/* True when the component decodes (validly) to exactly `want`. No allocation. */
static bool query_equal(const char *s, size_t len, const char *want, size_t wlen)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++, n++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 2 < len ? str_hexval(s[i + 1]) : -1;
            int lo = i + 2 < len ? str_hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                return false;
            }
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (n >= wlen || want[n] != c) {
            return false;
        }
    }
    return n == wlen;
}

/* url.ParseQuery with Traefik's ';' = '&': empty pairs skipped, a pair with a bad escape in its
 * key or value skipped, a key without '=' has the empty value. */
static bool match_query(const struct rule *r, const struct rnode *n, const struct table_request *q)
{
    const char *s = q->query, *end = q->query ? q->query + q->query_len : NULL;
    const char *key = r->pool + n->off[0], *want = r->pool + n->off[1];
    while (s != NULL && s < end) {
        const char *pe = s;
        while (pe < end && *pe != '&' && *pe != ';') {
            pe++;
        }
        const char *eq = memchr(s, '=', (size_t)(pe - s));
        const char *ke = eq ? eq : pe, *v = eq ? eq + 1 : pe;
        size_t vlen = (size_t)(pe - v);
        if (pe > s && query_equal(s, (size_t)(ke - s), key, n->len[0])) {
            if (n->kind == R_QUERY) {
                if (query_equal(v, vlen, want, n->len[1])) {
                    return true;
                }
            } else {
                char *buf = regex_scratch(vlen + 1);
                if (buf == NULL) {
                    return false; /* counted as an abort by regex_scratch */
                }
                long dl = query_decode(v, vlen, buf);
                if (dl >= 0 && regex_match(r->re[n->re], buf, (size_t)dl)) {
                    return true;
                }
            }
        }
        s = pe + 1;
    }
    return false;
}

/* v2 Query (gorilla/mux's Queries): only the first pair whose key decodes to the template's
 * key counts; the template's regex runs on "key=<decoded value>", or on "" when there is no
 * such pair or its value does not decode. */
static bool match_query_tpl(const struct rule *r, const struct rnode *n,
                            const struct table_request *q)
{
    const char *s = q->query, *end = q->query ? q->query + q->query_len : NULL;
    const char *key = r->pool + n->off[1];
    uint32_t klen = n->len[1];
    while (s != NULL && s < end) {
        const char *pe = s;
        while (pe < end && *pe != '&' && *pe != ';') {
            pe++;
        }
        const char *eq = memchr(s, '=', (size_t)(pe - s));
        const char *ke = eq ? eq : pe, *v = eq ? eq + 1 : pe;
        if (pe > s && query_equal(s, (size_t)(ke - s), key, klen)) {
            size_t vlen = (size_t)(pe - v);
            char *buf = regex_scratch((size_t)klen + vlen + 2);
            if (buf == NULL) {
                return false; /* counted as an abort by regex_scratch */
            }
            memcpy(buf, key, klen);
            buf[klen] = '=';
            long dl = query_decode(v, vlen, buf + klen + 1);
            if (dl < 0) {
                break;
            }
            return regex_match(r->re[n->re], buf, klen + 1 + (size_t)dl);
        }
        s = pe + 1;
    }
    return regex_match(r->re[n->re], "", 0);
}

static bool match_client_ip(const struct rule *r, const struct rnode *n,
                            const struct table_request *q)
{
    uint8_t want[17], addr[16] = {0};
    memcpy(want, r->pool + n->off[1], sizeof want);
    if (q->client_family == AF_INET) {
        addr[10] = addr[11] = 0xff;
        memcpy(addr + 12, q->client_addr, 4);
    } else if (q->client_family == AF_INET6) {
        memcpy(addr, q->client_addr, 16);
    } else {
        return false;
    }
    unsigned bits = want[16], full = bits / 8, rest = bits % 8;
    if (memcmp(addr, want, full) != 0) {
        return false;
    }
    return rest == 0 || ((addr[full] ^ want[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

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
    case R_HOST_RE:
        return regex_match(r->re[n->re], q->host, q->host_len);
    case R_PATH_RE:
        return regex_match(r->re[n->re], q->path, q->path_len);
    case R_METHOD:
        return q->method_len == n->len[0] && memcmp(q->method, r->pool + n->off[0], n->len[0]) == 0;
    case R_HEADER:
    case R_HEADER_RE:
        return match_header(r, n, q);
    case R_QUERY:
    case R_QUERY_RE:
        return match_query(r, n, q);
    case R_QUERY_TPL:
        return match_query_tpl(r, n, q);
    case R_CLIENT_IP:
        return match_client_ip(r, n, q);
    }
    return false;
}

bool rule_match(const struct rule *r, const struct table_request *req)
{
    return eval(r, r->root, req);
}

/* The first exact Host matcher that node i requires (itself, or a conjunct of an AND, nested
 * ANDs included); NONE when there is none. */
static uint32_t required_host(const struct rule *r, uint32_t i, int depth)
{
    const struct rnode *n = &r->node[i];
    if (n->kind == R_HOST) {
        return i;
    }
    if (n->kind != R_AND || depth > RULE_MAX_DEPTH) {
        return NONE;
    }
    for (uint32_t c = n->child; c != NONE; c = r->node[c].next) {
        uint32_t h = required_host(r, c, depth + 1);
        if (h != NONE) {
            return h;
        }
    }
    return NONE;
}

bool rule_required_host(const struct rule *r, const char **host, size_t *len)
{
    uint32_t i = required_host(r, r->root, 0);
    if (i == NONE) {
        return false;
    }
    *host = r->pool + r->node[i].off[0];
    *len = r->node[i].len[0];
    return true;
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

/* A value written as pre + v + post: in backticks unless it holds a backtick or a control
 * byte; then as a Go "string". */
static void put_value3(struct out *o, const char *pre, const char *v, uint32_t len,
                       const char *post)
{
    const char *seg[3] = {pre, v, post};
    uint32_t segl[3] = {(uint32_t)strlen(pre), len, (uint32_t)strlen(post)};
    bool raw = true;
    for (int k = 0; k < 3; k++) {
        for (uint32_t i = 0; i < segl[k]; i++) {
            char c = seg[k][i];
            raw &= c != '`' && (unsigned char)c >= 0x20 && c != 0x7f;
        }
    }
    put_str(o, raw ? "`" : "\"");
    for (int k = 0; k < 3; k++) {
        for (uint32_t i = 0; i < segl[k]; i++) {
            unsigned char c = (unsigned char)seg[k][i];
            char esc[8];
            if (raw || (c >= 0x20 && c != 0x7f && c != '"' && c != '\\')) {
                put(o, seg[k] + i, 1);
            } else {
                snprintf(esc, sizeof esc, c == '"' || c == '\\' ? "\\%c" : "\\x%02x", c);
                put_str(o, esc);
            }
        }
    }
    put_str(o, raw ? "`" : "\"");
}

static void put_value(struct out *o, const char *v, uint32_t len)
{
    put_value3(o, "", v, len, "");
}

/* A Host value as parsing stored it. Parsing drops one trailing dot (of a host longer than
 * one byte), so a stored host that still ends in a dot gets one back: the form then parses
 * to the same host. */
static void put_host(struct out *o, const struct rule *r, const struct rnode *n)
{
    const char *h = r->pool + n->off[0];
    uint32_t len = n->len[0];
    bool suffix = n->kind == R_HOST_SUFFIX;
    bool dot = len > 0 && h[len - 1] == '.' && (suffix || len > 1);
    put_value3(o, suffix ? "*" : "", h, len, dot ? "." : "");
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
        if (n->kind == R_HOST_ANY) {
            put_str(o, "`*`");
        } else if (n->kind == R_HOST || n->kind == R_HOST_SUFFIX) {
            put_host(o, r, n);
        } else {
            for (unsigned k = 0; k < n->nargs && k < 2; k++) {
                put_str(o, k ? ", " : "");
                put_value(o, r->pool + n->off[k], n->len[k]);
            }
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

/* ---- Explanation: the evaluation above, saying where it failed. ---- */

static void put_fmt(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put_fmt(struct out *o, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) {
        put(o, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
    }
}

/* A request value in double quotes, with '"', '\\' and control bytes escaped. */
static void put_quoted(struct out *o, const char *v, uint32_t len)
{
    put_str(o, "\"");
    for (uint32_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '"' || c == '\\') {
            put_fmt(o, "\\%c", c);
        } else if (c < 0x20 || c == 0x7f) {
            put_fmt(o, "\\x%02x", c);
        } else {
            put(o, v + i, 1);
        }
    }
    put_str(o, "\"");
}

static void explain_header(const struct rule *r, const struct rnode *n,
                           const struct table_request *q, struct out *o)
{
    const char *key = r->pool + n->off[0];
    bool any = false;
    if (header_hidden(key, n->len[0])) {
        put_str(o, ": this header is never visible to header matchers");
        return;
    }
    for (uint32_t i = 0; i < q->nheaders; i++) {
        const struct h1_header *h = &q->headers[i];
        if (h->name_len == n->len[0] && name_equal(h->name, key, n->len[0])) {
            put_str(o, any ? ", " : " header ");
            if (!any) {
                put_quoted(o, key, n->len[0]);
                put_str(o, " = ");
            }
            put_quoted(o, h->value, h->value_len);
            any = true;
        }
    }
    if (!any) {
        put_str(o, ": no header ");
        put_quoted(o, key, n->len[0]);
    }
}

static void explain_client_ip(const struct table_request *q, struct out *o)
{
    char ip[INET6_ADDRSTRLEN];
    if ((q->client_family != AF_INET && q->client_family != AF_INET6) ||
        inet_ntop(q->client_family, q->client_addr, ip, sizeof ip) == NULL) {
        put_str(o, ": client address unknown");
        return;
    }
    put_str(o, " client IP ");
    put_quoted(o, ip, (uint32_t)strlen(ip));
}

/* Why the matcher node n (which did not match) failed: "<matcher> does not match <what>". */
static void explain_matcher(const struct rule *r, uint32_t i, const struct table_request *q,
                            struct out *o)
{
    const struct rnode *n = &r->node[i];
    format_node(r, i, o);
    put_str(o, " does not match");
    switch ((enum rkind)n->kind) {
    case R_HOST:
    case R_HOST_SUFFIX:
    case R_HOST_ANY:
    case R_HOST_RE:
        put_str(o, " host ");
        put_quoted(o, q->host, q->host_len);
        return;
    case R_PATH:
    case R_PATH_PREFIX:
    case R_PATH_RE:
        put_str(o, " path ");
        put_quoted(o, q->path, q->path_len);
        return;
    case R_METHOD:
        put_str(o, " method ");
        put_quoted(o, q->method, q->method_len);
        return;
    case R_HEADER:
    case R_HEADER_RE:
        explain_header(r, n, q, o);
        return;
    case R_QUERY:
    case R_QUERY_RE:
    case R_QUERY_TPL:
        if (q->query == NULL) {
            put_str(o, ": no query");
        } else {
            put_str(o, " query ");
            put_quoted(o, q->query, q->query_len);
        }
        return;
    case R_CLIENT_IP:
        explain_client_ip(q, o);
        return;
    case R_OR:
    case R_AND:
    case R_NOT:
        return;
    }
}

/* eval() that, when node i does not match, appends why to o; on a match o is left as it was
 * (text written for a failed alternative is dropped by rewinding o->n). */
static bool explain(const struct rule *r, uint32_t i, const struct table_request *q, struct out *o)
{
    const struct rnode *n = &r->node[i];
    size_t mark = o->n;
    switch ((enum rkind)n->kind) {
    case R_OR:
        put_str(o, "no alternative of ");
        format_node(r, i, o);
        put_str(o, " matched: ");
        for (uint32_t c = n->child; c != NONE; c = r->node[c].next) {
            put_str(o, c == n->child ? "" : "; ");
            if (explain(r, c, q, o)) {
                o->n = mark;
                return true;
            }
        }
        return false;
    case R_AND:
        for (uint32_t c = n->child; c != NONE; c = r->node[c].next) {
            if (!explain(r, c, q, o)) {
                return false;
            }
        }
        return true;
    case R_NOT:
        if (!explain(r, n->child, q, o)) {
            o->n = mark;
            return true;
        }
        format_node(r, i, o);
        put_str(o, " does not match: ");
        format_node(r, n->child, o);
        put_str(o, " matches");
        return false;
    default:
        if (eval(r, i, q)) {
            return true;
        }
        explain_matcher(r, i, q, o);
        return false;
    }
}

bool rule_explain(const struct rule *r, const struct table_request *q, char *why, size_t n)
{
    struct out o = {.buf = why, .size = n};
    bool ok = explain(r, r->root, q, &o);
    if (ok) {
        o.n = 0;
    }
    if (n > 0) {
        why[o.n < n ? o.n : n - 1] = '\0';
    }
    return ok;
}

void rule_free(struct rule *r)
{
    if (r == NULL) {
        return;
    }
    for (uint32_t i = 0; i < r->nre; i++) {
        regex_free(r->re[i]);
    }
    free(r->re);
    free(r);
}
