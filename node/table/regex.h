/* Regexes with RE2's syntax and meaning (as Traefik's Go regexp) on PCRE2: constructs RE2
 * lacks are refused before compiling, and matching runs under per-thread limits so a hostile
 * pattern cannot stall a worker (DESIGN.md "Regexes").
 *
 * Threading: a compiled regex is read-only and shared by every worker; the match state is
 * per thread (created on a thread's first match, freed at thread exit).
 */
#ifndef CONCORD_TABLE_REGEX_H
#define CONCORD_TABLE_REGEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct regex; /* opaque: a compiled pattern */

/* Finds the first construct of `s` that PCRE2 accepts but RE2 does not (backreferences,
 * lookaround, atomic groups, possessive or nested quantifiers, recursion, conditionals, verbs,
 * comments, escapes RE2 lacks). Writes its description to `what` and returns true. */
bool regex_re2_lacks(const char *s, size_t n, char *what, size_t wsize);

/* Compiles `pat` (callers check regex_re2_lacks first). Returns 0, -ENOMEM, or -EINVAL with
 * PCRE2's message in `msg` and the offending offset in `*at`. */
int regex_compile(const char *pat, size_t len, struct regex **out, char *msg, size_t msize,
                  size_t *at);

void regex_free(struct regex *re);

/* Number of capturing groups in the pattern (gorilla/mux templates refuse them). */
uint32_t regex_captures(const struct regex *re);

/* Unanchored search. A match that runs into a limit (or out of memory) is no match, counted. */
bool regex_match(const struct regex *re, const char *s, size_t len);

/* Capture groups of the pattern (not counting group 0, the whole match). */
uint32_t regex_ngroups(const struct regex *re);

/* The number of the group named `name` (len bytes), or -1 when there is none. */
int regex_group_number(const struct regex *re, const char *name, size_t len);

/* Unanchored search from offset `start` (the text before it still counts for ^ and \b), under
 * the same limits as regex_match. On a match, ov[2*i] and ov[2*i+1] are the start and end of
 * group i (0: the whole match; -1, -1: the group took no part), for i < nov / 2, and the result
 * is true. A limit or out of memory is no match, counted. */
bool regex_match_groups(const struct regex *re, const char *s, size_t len, size_t start,
                        long *ov, uint32_t nov);

/* Go's regexp.ReplaceAllString(src, tmpl): every non-overlapping match is replaced by `tmpl`
 * expanded as Go's Expand does: $1 or ${1} (group number), $name or ${name} (named group; a
 * name is the longest run of letters, digits and '_', so "$1x" means the group "1x"), $$ for a
 * '$'; a group that does not exist or took no part expands to nothing; a malformed reference
 * ("${1", "$-") leaves the '$' as text. An empty match right after a previous match is not
 * replaced (Go's rule). Writes a malloc'd NUL-terminated result to *out (its length to
 * *outlen) and returns 1 when at least one match was replaced, 0 when nothing matched (*out is
 * then NULL), -ENOMEM. */
int regex_replace_all(const struct regex *re, const char *src, size_t len, const char *tmpl,
                      char **out, size_t *outlen);

/* A per-thread scratch buffer of at least `need` bytes (percent-decoded query values), or NULL
 * (counted as an abort). Valid until the thread's next call. */
char *regex_scratch(size_t need);

/* Matches abandoned at a limit so far, every thread together. */
uint64_t regex_aborts(void);

#endif
