/* The v2 rule matchers (Traefik's `ruleSyntax: v2`, built on gorilla/mux): several values per
 * matcher, Headers/HeadersRegexp/Query pairs, and `{name:re}` templates turned into anchored
 * regexes. Each builder lowers its values to the one-value nodes rule.c evaluates. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "node/table/regex.h"
#include "node/table/rule-parse.h"

/* One-value leaves joined under an OR or AND node as they are built. */
struct chain {
    uint32_t head, tail, n;
};

static void chain_add(struct parser *p, struct chain *c, uint32_t leaf)
{
    if (c->n++ == 0) {
        c->head = leaf;
    } else {
        p->nodes[c->tail].next = leaf;
    }
    c->tail = leaf;
}

/* The chain as one node: its only leaf, or a `kind` node over all of them. */
static uint32_t chain_end(struct parser *p, const struct chain *c, enum rkind kind)
{
    if (c->n == 1) {
        return c->head;
    }
    uint32_t i = rule_new_node(p, kind);
    if (i == NONE) {
        rule_oom(p);
        return NONE;
    }
    p->nodes[i].child = c->head;
    return i;
}

/* A leaf of matcher `def` whose first value is `a`. */
static uint32_t new_leaf(struct parser *p, unsigned def, enum rkind kind, const struct arg *a)
{
    uint32_t i = rule_new_node(p, kind);
    if (i == NONE) {
        rule_oom(p);
        return NONE;
    }
    struct rnode *n = &p->nodes[i];
    n->def = (uint8_t)def;
    n->nargs = 1;
    n->off[0] = a->off;
    n->len[0] = a->len;
    return i;
}

static bool ascii(const struct parser *p, const struct arg *a)
{
    for (uint32_t i = 0; i < a->len; i++) {
        if ((unsigned char)p->pool[a->off + i] >= 0x80) {
            return false;
        }
    }
    return true;
}

/* ---- gorilla/mux templates ---- */

enum tpl_kind { TPL_HOST, TPL_PATH, TPL_PREFIX, TPL_QUERY };

/* A pattern being assembled. */
struct pbuf {
    char *b;
    size_t n, cap;
    bool oom;
};

static void pb_put(struct pbuf *pb, const char *s, size_t n)
{
    if (pb->oom) {
        return;
    }
    if (pb->n + n > pb->cap) {
        size_t cap = (pb->n + n) * 2 + 16;
        char *v = realloc(pb->b, cap);
        if (v == NULL) {
            pb->oom = true;
            return;
        }
        pb->b = v;
        pb->cap = cap;
    }
    memcpy(pb->b + pb->n, s, n);
    pb->n += n;
}

static void pb_str(struct pbuf *pb, const char *s)
{
    pb_put(pb, s, strlen(s));
}

/* Template text outside the variables is literal (Go's regexp.QuoteMeta). A backslash before
 * ASCII punctuation is always a literal in PCRE2, so every punctuation byte is escaped. */
static void pb_literal(struct pbuf *pb, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool punct = (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) ||
                     (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
        if (punct) {
            pb_put(pb, "\\", 1);
        }
        pb_put(pb, s + i, 1);
    }
}

/* Variable names seen in the earlier templates of one Query matcher: gorilla refuses a name
 * used by two of them ("duplicated route variable"). Offsets into the pool. */
struct names {
    uint32_t *off, *len;
    uint32_t n, cap;
};

static int names_add(struct parser *p, struct names *nm, uint32_t off, uint32_t len)
{
    if (nm->n == nm->cap) {
        uint32_t cap = nm->cap ? nm->cap * 2 : 8;
        uint32_t *o = realloc(nm->off, cap * sizeof *o);
        if (o == NULL) {
            return rule_oom(p);
        }
        nm->off = o;
        uint32_t *l = realloc(nm->len, cap * sizeof *l);
        if (l == NULL) {
            return rule_oom(p);
        }
        nm->len = l;
        nm->cap = cap;
    }
    nm->off[nm->n] = off;
    nm->len[nm->n++] = len;
    return 0;
}

/* A variable's own pattern must be a valid RE2 regexp (gorilla compiles `^re$` on its own)
 * with no capturing group (gorilla panics on one: it counts groups to find the variables). */
static int check_var(struct parser *p, const char *mname, const char *re, size_t len, size_t col)
{
    char what[64], msg[120];
    size_t at = 0;
    struct regex *rx = NULL;
    if (regex_re2_lacks(re, len, what, sizeof what)) {
        return rule_fail(p, col, "%s: %s is not supported (RE2 syntax has no such construct)",
                         mname, what);
    }
    int rc = regex_compile(re, len, &rx, msg, sizeof msg, &at);
    if (rc == -ENOMEM) {
        return rule_oom(p);
    }
    if (rc != 0) {
        return rule_fail(p, col, "%s: invalid regexp in a {name:regexp} variable at offset %zu: %s",
                         mname, at, msg);
    }
    uint32_t groups = regex_captures(rx);
    regex_free(rx);
    if (groups > 0) {
        return rule_fail(
            p, col, "%s: capturing group in a {name:regexp} variable (use (?:...) instead)", mname);
    }
    return 0;
}

/* True when the braces of the template balance as gorilla counts them (no escapes). */
static bool braces_balance(const char *t, uint32_t len)
{
    int level = 0;
    for (uint32_t i = 0; i < len; i++) {
        if (t[i] == '{') {
            level++;
        } else if (t[i] == '}' && --level < 0) {
            return false;
        }
    }
    return level == 0;
}

/* Adds one variable `{name}` / `{name:re}` (t[open..close] inclusive) to the pattern. */
static int add_var(struct parser *p, struct pbuf *pb, const char *mname, enum tpl_kind kind,
                   uint32_t off, uint32_t open, uint32_t close, size_t col, struct names *nm,
                   uint32_t nold)
{
    static const char *const dflt[] = {"[^.]+", "[^/]+", "[^/]+", ".*"};
    const char *in = p->pool + off + open + 1;
    uint32_t ilen = close - open - 1;
    const char *colon = memchr(in, ':', ilen);
    uint32_t nlen = colon ? (uint32_t)(colon - in) : ilen;
    const char *re = colon ? colon + 1 : dflt[kind];
    size_t relen = colon ? ilen - nlen - 1 : strlen(re);
    if (nlen == 0 || relen == 0) {
        return rule_fail(p, col,
                         "%s: a variable needs a name and a pattern ({name} or "
                         "{name:regexp})",
                         mname);
    }
    if (colon != NULL && check_var(p, mname, re, relen, col) != 0) {
        return p->rc;
    }
    if (nm != NULL) {
        for (uint32_t k = 0; k < nold; k++) {
            if (nm->len[k] == nlen && memcmp(p->pool + nm->off[k], in, nlen) == 0) {
                return rule_fail(p, col, "%s: variable name used twice", mname);
            }
        }
        if (names_add(p, nm, off + open + 1, nlen) != 0) {
            return -ENOMEM;
        }
    }
    pb_str(pb, "(?:");
    pb_put(pb, re, relen);
    pb_str(pb, ")");
    return 0;
}

/* Compiles template pool[off, off+len) as the regex of node `node`, as gorilla/mux does: variables
 * become their pattern, the rest is literal, anchored at the start (and at the end, except for
 * PathPrefix); hosts ignore case; a query template "key=" with nothing after the '=' takes any
 * value. `nm` (Query only) collects variable names. */
static int tpl_regex(struct parser *p, uint32_t node, enum tpl_kind kind, uint32_t off,
                     uint32_t len, size_t col, struct names *nm)
{
    uint32_t lit = 0, nold = nm ? nm->n : 0;
    const char *mname = rule_matcher_name(p->nodes[node].def);
    struct pbuf pb = {0};
    int rc = 0;
    if (!braces_balance(p->pool + off, len)) {
        return rule_fail(p, col, "%s: unbalanced braces in template", mname);
    }
    pb_str(&pb, kind == TPL_HOST ? "(?i)^" : "^");
    for (uint32_t i = 0; i < len && rc == 0; i++) {
        if (p->pool[off + i] != '{') {
            continue;
        }
        uint32_t open = i;
        for (int level = 0; i < len; i++) {
            char c = p->pool[off + i];
            level += c == '{' ? 1 : c == '}' ? -1 : 0;
            if (level == 0) {
                break;
            }
        }
        pb_literal(&pb, p->pool + off + lit, open - lit);
        rc = add_var(p, &pb, mname, kind, off, open, i, col, nm, nold);
        lit = i + 1;
    }
    if (rc == 0) {
        pb_literal(&pb, p->pool + off + lit, len - lit);
        const char *eq = memchr(p->pool + off, '=', len);
        if (kind == TPL_QUERY && eq != NULL && eq == p->pool + off + len - 1) {
            pb_str(&pb, ".*");
        }
        if (kind != TPL_PREFIX) {
            pb_str(&pb, "$");
        }
        rc = pb.oom ? rule_oom(p) : rule_add_regex(p, node, pb.b, pb.n, col);
    }
    free(pb.b);
    return rc;
}

/* ---- The matchers ---- */

/* Host / HostHeader: any of the hosts, compared like a v3 Host but with no wildcard (`*` and
 * `*.x` are literal names in v2). */
uint32_t rule_v2_host(struct parser *p, unsigned def, const struct arg *a, unsigned nargs)
{
    struct chain c = {0};
    for (unsigned k = 0; k < nargs; k++) {
        if (!ascii(p, &a[k])) {
            rule_fail(p, a[k].col, "%s: value must be ASCII (use punycode)",
                      rule_matcher_name(def));
            return NONE;
        }
        char *h = p->pool + a[k].off;
        for (uint32_t i = 0; i < a[k].len; i++) {
            h[i] = (char)(h[i] >= 'A' && h[i] <= 'Z' ? h[i] | 0x20 : h[i]);
        }
        uint32_t i = new_leaf(p, def, R_HOST, &a[k]);
        if (i == NONE) {
            return NONE;
        }
        if (a[k].len > 1 && h[a[k].len - 1] == '.') {
            p->nodes[i].len[0]--; /* as in v3: a trailing dot on either side is ignored */
        }
        chain_add(p, &c, i);
    }
    return chain_end(p, &c, R_OR);
}

uint32_t rule_v2_host_re(struct parser *p, unsigned def, const struct arg *a, unsigned nargs)
{
    struct chain c = {0};
    for (unsigned k = 0; k < nargs; k++) {
        if (!ascii(p, &a[k])) {
            rule_fail(p, a[k].col, "HostRegexp: value must be ASCII (use punycode)");
            return NONE;
        }
        uint32_t i = new_leaf(p, def, R_HOST_RE, &a[k]);
        if (i == NONE || tpl_regex(p, i, TPL_HOST, a[k].off, a[k].len, a[k].col, NULL) != 0) {
            return NONE;
        }
        chain_add(p, &c, i);
    }
    return chain_end(p, &c, R_OR);
}

/* Path / PathPrefix: a template without variables is a plain string (equality or prefix),
 * one with variables an anchored regex on the routing path. */
static uint32_t paths(struct parser *p, unsigned def, const struct arg *a, unsigned nargs,
                      bool prefix)
{
    struct chain c = {0};
    for (unsigned k = 0; k < nargs; k++) {
        const char *t = p->pool + a[k].off;
        if (t[0] != '/') {
            rule_fail(p, a[k].col, "%s: value must start with '/'", rule_matcher_name(def));
            return NONE;
        }
        bool plain = memchr(t, '{', a[k].len) == NULL && memchr(t, '}', a[k].len) == NULL;
        enum rkind kind = plain ? (prefix ? R_PATH_PREFIX : R_PATH) : R_PATH_RE;
        uint32_t i = new_leaf(p, def, kind, &a[k]);
        if (i == NONE) {
            return NONE;
        }
        if (!plain && tpl_regex(p, i, prefix ? TPL_PREFIX : TPL_PATH, a[k].off, a[k].len, a[k].col,
                                NULL) != 0) {
            return NONE;
        }
        chain_add(p, &c, i);
    }
    return chain_end(p, &c, R_OR);
}

uint32_t rule_v2_path(struct parser *p, unsigned def, const struct arg *a, unsigned nargs)
{
    return paths(p, def, a, nargs, false);
}

uint32_t rule_v2_prefix(struct parser *p, unsigned def, const struct arg *a, unsigned nargs)
{
    return paths(p, def, a, nargs, true);
}

uint32_t rule_v2_method(struct parser *p, unsigned def, const struct arg *a, unsigned nargs)
{
    struct chain c = {0};
    for (unsigned k = 0; k < nargs; k++) {
        uint32_t i = new_leaf(p, def, R_METHOD, &a[k]);
        if (i == NONE || rule_build_method(p, &p->nodes[i], &a[k]) != 0) {
            return NONE;
        }
        chain_add(p, &c, i);
    }
    return chain_end(p, &c, R_OR);
}

uint32_t rule_v2_client_ip(struct parser *p, unsigned def, const struct arg *a, unsigned nargs)
{
    struct chain c = {0};
    for (unsigned k = 0; k < nargs; k++) {
        uint32_t i = new_leaf(p, def, R_CLIENT_IP, &a[k]);
        if (i == NONE || rule_build_client_ip(p, &p->nodes[i], &a[k]) != 0) {
            return NONE;
        }
        chain_add(p, &c, i);
    }
    return chain_end(p, &c, R_OR);
}

/* Headers / HeadersRegexp: key, value, key, value...; every pair must match. Gorilla keeps
 * the pairs in a map, so of two pairs with the same key as written only the last counts. */
static uint32_t header_pairs(struct parser *p, unsigned def, const struct arg *a, unsigned nargs,
                             bool regexp)
{
    struct chain c = {0};
    if (nargs % 2 != 0) {
        rule_fail(p, a[nargs - 1].col, "%s takes key/value pairs, got %u values",
                  rule_matcher_name(def), nargs);
        return NONE;
    }
    for (unsigned k = 0; k < nargs; k += 2) {
        bool later = false;
        for (unsigned j = k + 2; j < nargs && !later; j += 2) {
            later = a[j].len == a[k].len &&
                    memcmp(p->pool + a[j].off, p->pool + a[k].off, a[k].len) == 0;
        }
        if (later) {
            continue;
        }
        uint32_t i = new_leaf(p, def, regexp ? R_HEADER_RE : R_HEADER, &a[k]);
        if (i == NONE) {
            return NONE;
        }
        p->nodes[i].nargs = 2;
        p->nodes[i].off[1] = a[k + 1].off;
        p->nodes[i].len[1] = a[k + 1].len;
        if (regexp &&
            rule_add_regex(p, i, p->pool + a[k + 1].off, a[k + 1].len, a[k + 1].col) != 0) {
            return NONE;
        }
        chain_add(p, &c, i);
    }
    return chain_end(p, &c, R_AND);
}

uint32_t rule_v2_headers(struct parser *p, unsigned def, const struct arg *a, unsigned nargs)
{
    return header_pairs(p, def, a, nargs, false);
}

uint32_t rule_v2_headers_re(struct parser *p, unsigned def, const struct arg *a, unsigned nargs)
{
    return header_pairs(p, def, a, nargs, true);
}

/* Copies pool[off, off+len) to the end of the pool. */
static int pool_copy(struct parser *p, uint32_t off, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++) {
        if (rule_pool_put(p, p->pool[off + i]) != 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

/* One Query template "key=value" from two pieces, as a R_QUERY_TPL leaf. */
static uint32_t query_leaf(struct parser *p, unsigned def, const struct arg *k, const struct arg *v,
                           struct names *nm)
{
    struct arg t = {.col = k->col, .off = (uint32_t)p->plen};
    if (pool_copy(p, k->off, k->len) != 0 || rule_pool_put(p, '=') != 0 ||
        pool_copy(p, v->off, v->len) != 0) {
        return NONE;
    }
    t.len = (uint32_t)p->plen - t.off;
    uint32_t i = new_leaf(p, def, R_QUERY_TPL, &t);
    if (i == NONE) {
        return NONE;
    }
    /* The key is the template up to its first '=' (gorilla's templateKey). */
    const char *eq = memchr(p->pool + t.off, '=', t.len);
    p->nodes[i].off[1] = t.off;
    p->nodes[i].len[1] = (uint32_t)(eq - (p->pool + t.off));
    return tpl_regex(p, i, TPL_QUERY, t.off, t.len, t.col, nm) == 0 ? i : NONE;
}

/* Query: Traefik splits each value at its first '=' and hands the pieces to gorilla's
 * Queries(key, value, key, value...), so `Query(`a`, `b`)` is `Query(`a=b`)` and a lone key
 * is an error. Every template must match. */
uint32_t rule_v2_query(struct parser *p, unsigned def, const struct arg *a, unsigned nargs)
{
    struct arg *pc = malloc(2 * (size_t)nargs * sizeof *pc);
    struct names nm = {0};
    struct chain c = {0};
    uint32_t root = NONE, np = 0;
    if (pc == NULL) {
        rule_oom(p);
        return NONE;
    }
    for (unsigned k = 0; k < nargs; k++) {
        const char *s = p->pool + a[k].off, *eq = memchr(s, '=', a[k].len);
        uint32_t klen = eq ? (uint32_t)(eq - s) : a[k].len;
        pc[np++] = (struct arg){.col = a[k].col, .off = a[k].off, .len = klen};
        if (eq != NULL) {
            pc[np++] = (struct arg){
                .col = a[k].col, .off = a[k].off + klen + 1, .len = a[k].len - klen - 1};
        }
    }
    if (np % 2 != 0) {
        rule_fail(p, a[0].col,
                  "Query: values must be key=value in v2 syntax (a lone key is v3 syntax)");
        goto out;
    }
    for (uint32_t k = 0; k < np; k += 2) {
        uint32_t i = query_leaf(p, def, &pc[k], &pc[k + 1], &nm);
        if (i == NONE) {
            goto out;
        }
        chain_add(p, &c, i);
    }
    root = chain_end(p, &c, R_AND);
out:
    free(pc);
    free(nm.off);
    free(nm.len);
    return root;
}
