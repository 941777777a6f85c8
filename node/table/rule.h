/* Router rule expressions (Traefik v3 syntax, and v2 on request): parse once at compile time,
 * evaluate per request.
 *
 * Grammar (whitespace allowed between any two tokens):
 *     expr    = and { "||" and }
 *     and     = unary { "&&" unary }
 *     unary   = "!" unary | "(" expr ")" | matcher
 *     matcher = name "(" [ value { "," value } [ "," ] ] ")"
 *     value   = `raw` | "Go-escaped"
 * so `!` binds tighter than `&&`, which binds tighter than `||` (Go precedence). Matcher names
 * are accepted as written in the table, all-lower, ALL-UPPER or Title-case (traefik-rules.md).
 * Matchers: Host, HostRegexp, Path, PathPrefix, PathRegexp, Method, Header, HeaderRegexp,
 * Query, QueryRegexp, ClientIP, with the semantics of docs/traefik-rules.md (v3 syntax).
 *
 * v2 syntax (`ruleSyntax: v2`, deprecated in Traefik): the same grammar with v2's matchers:
 * Host/HostHeader, HostRegexp, Path, PathPrefix, Method and ClientIP take one or more values
 * (any one matches); Headers/HeadersRegexp take key/value pairs and Query takes `key=value`
 * values (all must match). HostRegexp, Path, PathPrefix and Query values are gorilla/mux
 * templates: `{name}` or `{name:re}` is a variable (default re: `[^.]+` in hosts, `[^/]+` in
 * paths, `.*` in query values), the rest is literal; HostRegexp and Path match the whole host
 * or path (host case-insensitively), PathPrefix a prefix, Query the first value of its key.
 * A variable's re may not have capturing groups (use `(?:...)`). PathRegexp, QueryRegexp,
 * Header and HeaderRegexp do not exist in v2, and a v2 Host has no `*` wildcard. Unlike
 * Traefik v2, HostRegexp sees the host without its port, so a template naming a port
 * (`{h}.com:8080`) never matches.
 *
 * Regexes take RE2 syntax (Go's regexp, as Traefik): constructs RE2 lacks (backreferences,
 * lookaround, atomic groups, possessive quantifiers, recursion, PCRE-only escapes) are parse
 * errors. They run on PCRE2 (UTF-8, `$` = end of text) with per-match limits, so a pattern
 * that backtracks badly gives up quickly: that counts as no match, and rule_regex_aborts().
 *
 * Ownership: a struct rule is owned by the caller of rule_parse(), released with rule_free();
 * it keeps no pointer into the source text.
 * Threading: rule_parse() on any thread; rule_match() takes no locks and never changes the
 * rule, so any number of workers may evaluate the same rule at once. Regex matching uses
 * per-thread state (match data, limits, a decode buffer) allocated on a thread's first regex
 * match and freed when the thread exits.
 */
#ifndef CONCORD_TABLE_RULE_H
#define CONCORD_TABLE_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/base/err.h"
#include "node/table/table.h"

struct rule;

/* Deepest nesting of parentheses and `!` a rule may use, so that parsing and evaluation
 * (both recursive) have a bounded stack. */
#define RULE_MAX_DEPTH 64

enum rule_syntax {
    RULE_V3 = 0, /* the default */
    RULE_V2 = 1, /* ruleSyntax: v2 */
};

/* Parses `text` (NUL-terminated) in the given syntax into *out.
 * Errors: -EINVAL with e->msg "rule: col N: <what>" where N is the 1-based byte column in
 * `text` (for instance "rule: col 12: expected ')'", "rule: col 1: unknown matcher Headers
 * (v2 syntax; v3 uses Header)", "rule: col 1: empty rule"); -ENOMEM. *out is untouched on
 * error. */
int rule_parse_syntax(const char *text, enum rule_syntax syntax, struct rule **out, struct err *e);

/* rule_parse_syntax(text, RULE_V3, out, e). */
int rule_parse(const char *text, struct rule **out, struct err *e);

/* True when the request satisfies the rule. Allocation-free once the thread's regex state
 * is warm (QueryRegexp's decode buffer grows to the longest value seen). */
bool rule_match(const struct rule *r, const struct table_request *req);

/* rule_match() that also says why not: on no match, writes to `why` (truncated to n - 1
 * bytes, always NUL-terminated when n > 0) the first failing matcher in evaluation order, e.g.
 * "Host(`a`) does not match host \"b\"" or "PathPrefix(`/api`) does not match path \"/x\"";
 * an `||` that fails lists each alternative's reason ("no alternative of (A || B) matched:
 * <why A>; <why B>"), a `!` that fails names what matched ("!Path(`/x`) does not match:
 * Path(`/x`) matches"). On a match `why` is "". Same threading and results as rule_match(). */
bool rule_explain(const struct rule *r, const struct table_request *q, char *why, size_t n);

/* Regex matches abandoned at a limit (match steps, depth, heap) or for lack of memory since
 * the process started, all threads together. Each counted as no match. */
uint64_t rule_regex_aborts(void);

/* True when the rule can only match requests for one exact host: its root is a Host(`h`)
 * matcher with one value (v3: not `*`, not `*.x`; v2: not several hosts), or an `&&` one of whose
 * conjuncts is (looking through nested
 * `&&`, never through `||` or `!`). Then *host / *len are that host as the matcher compares it
 * (lower-case, trailing dot removed; points into the rule, valid while it lives). The table
 * indexes such rules by host (table.c). */
bool rule_required_host(const struct rule *r, const char **host, size_t *len);

/* NULL is allowed. */
void rule_free(struct rule *r);

/* Canonical form of the parsed rule, for logs and tests: matchers in table spelling with
 * backtick values, binary operators fully parenthesised, e.g. "(Host(`a`) && !Path(`/x`))".
 * A v2 matcher with several values shows as the OR (AND for Headers pairs and Query) of
 * one-value matchers: "(Host(`a`) || Host(`b`))". Returns the snprintf-style length. */
int rule_format(const struct rule *r, char *buf, size_t size);

#endif
