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

/* A per-thread scratch buffer of at least `need` bytes (percent-decoded query values), or NULL
 * (counted as an abort). Valid until the thread's next call. */
char *regex_scratch(size_t need);

/* Matches abandoned at a limit so far, every thread together. */
uint64_t regex_aborts(void);

#endif
