/* Internals of the rule parser shared by rule.c (grammar, v3 matchers, evaluation) and
 * rule_v2.c (the v2 matchers and gorilla/mux templates). Not a public header: only
 * node/table/rule*.c include it; everyone else uses rule.h.
 */
#ifndef CONCORD_TABLE_RULE_PARSE_H
#define CONCORD_TABLE_RULE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/base/err.h"
#include "node/table/rule.h"

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
    R_HOST_RE,     /* regex `re` on the host, unanchored (v2 templates anchor it themselves) */
    R_PATH_RE,     /* regex `re` on the routing path, unanchored (likewise) */
    R_METHOD,      /* arg 0: upper-cased method, compared case-sensitively */
    R_HEADER,      /* any line named arg 0 (any case) has exactly the value arg 1 */
    R_HEADER_RE,   /* any line named arg 0 has a value matching `re` */
    R_QUERY,       /* any value of key arg 0 equals arg 1 (length 0 in the one-arg form) */
    R_QUERY_RE,    /* any value of key arg 0 matches `re` */
    R_CLIENT_IP,   /* arg 1: 16-byte address (IPv4 mapped to ::ffff:a.b.c.d) + prefix bits */
    R_QUERY_TPL,   /* v2 Query: arg 0 is the template "key=value", arg 1 its key; `re` runs on
                      "key=<first value of key, decoded>" ("" when the key is absent) */
};

/* One node; children of AND/OR/NOT are chained through `next`. Matcher arguments live in the
 * rule's string pool as (offset, length) pairs, so a rule is a single allocation. */
struct rnode {
    uint8_t kind;
    uint8_t def;   /* index in the matcher table for matcher nodes (its name, for messages) */
    uint8_t nargs; /* values rule_format prints (at most 2) */
    uint32_t re;   /* regex kinds: index in rule->re */
    uint32_t child;
    uint32_t next;
    uint32_t off[2];
    uint32_t len[2];
};

/* A parsed argument before validation: where it started and its decoded bytes in the pool. */
struct arg {
    size_t col;
    uint32_t off, len;
};

struct regex;

struct parser {
    const char *s;
    size_t pos;
    enum rule_syntax syntax;
    struct rnode *nodes;
    uint32_t n, cap;
    char *pool;
    size_t plen, pcap;
    struct regex **re;
    uint32_t nre, recap;
    struct arg *args; /* the current matcher's values (all of them) */
    uint32_t argcap;
    struct err *e;
    int rc; /* first error; the parse functions return NONE once it is set */
};

/* Sets the parse error "rule: col <pos+1>: <fmt...>" (first error wins in p->rc); returns
 * -EINVAL. */
int rule_fail(struct parser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int rule_oom(struct parser *p); /* -ENOMEM, with its message */

/* Appends a node of `kind` (no children, no args); its index, or NONE when out of memory
 * (p->nodes may move: hold indexes, not pointers, across this call). */
uint32_t rule_new_node(struct parser *p, enum rkind kind);
/* Appends one byte to the string pool (p->pool may move). 0 or -ENOMEM (error set). */
int rule_pool_put(struct parser *p, char c);

/* The name of matcher table entry `def` as the docs spell it ("Host", "HeadersRegexp"). */
const char *rule_matcher_name(unsigned def);

/* Compiles `pat` (RE2 syntax checked first) and makes it node `node`'s regex. Errors name the
 * node's matcher and column `col`. 0, -EINVAL or -ENOMEM (error set). */
int rule_add_regex(struct parser *p, uint32_t node, const char *pat, size_t len, size_t col);

/* Single-value builders shared by both syntaxes: validate `a` and fill node n (kind too). */
int rule_build_method(struct parser *p, struct rnode *n, const struct arg *a);
int rule_build_client_ip(struct parser *p, struct rnode *n, const struct arg *a);

/* v2 matchers (rule_v2.c): build the node(s) for `nargs` (>= 1, none empty) values of matcher
 * table entry `def`; several values become an OR (an AND for Headers pairs and Query) of
 * one-value leaves. Return the root node's index, or NONE with the error set. */
typedef uint32_t (*build_v2_fn)(struct parser *p, unsigned def, const struct arg *a,
                                unsigned nargs);
uint32_t rule_v2_host(struct parser *p, unsigned def, const struct arg *a, unsigned nargs);
uint32_t rule_v2_host_re(struct parser *p, unsigned def, const struct arg *a, unsigned nargs);
uint32_t rule_v2_path(struct parser *p, unsigned def, const struct arg *a, unsigned nargs);
uint32_t rule_v2_prefix(struct parser *p, unsigned def, const struct arg *a, unsigned nargs);
uint32_t rule_v2_method(struct parser *p, unsigned def, const struct arg *a, unsigned nargs);
uint32_t rule_v2_headers(struct parser *p, unsigned def, const struct arg *a, unsigned nargs);
uint32_t rule_v2_headers_re(struct parser *p, unsigned def, const struct arg *a, unsigned nargs);
uint32_t rule_v2_query(struct parser *p, unsigned def, const struct arg *a, unsigned nargs);
uint32_t rule_v2_client_ip(struct parser *p, unsigned def, const struct arg *a, unsigned nargs);

#endif
