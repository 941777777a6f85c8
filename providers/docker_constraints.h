/* Traefik's `constraints` expression for the Docker provider: which containers to consider,
 * from their labels. Grammar (Traefik's, written from its documentation):
 *   expr   := and ( "||" and )*
 *   and    := unary ( "&&" unary )*
 *   unary  := "!" unary | "(" expr ")" | call
 *   call   := "Label" "(" str "," str ")" | "LabelRegex" "(" str "," str ")"
 *   str    := `text` | "text" (backslash escapes \" and \\ in double quotes)
 * Label(`k`, `v`) is true when the container's label k equals v (a missing label reads as "",
 * as Traefik's lookup in a Go map does); LabelRegex(`k`, `re`) when the label's value contains a
 * match of re (unanchored, as Go's regexp.MatchString). Regexes run on PCRE2 with a match limit;
 * RE2-only syntax differences are not checked (operator-written static config, not hostile).
 * Function names match case-sensitively, as in Traefik.
 *
 * Ownership: the parsed expression belongs to the caller (docker_constraint_free).
 * Threading: none; a parsed expression may be shared read-only.
 */
#ifndef CONCORD_PROVIDERS_DOCKER_CONSTRAINTS_H
#define CONCORD_PROVIDERS_DOCKER_CONSTRAINTS_H

#include <stdbool.h>
#include <stddef.h>

#include "providers/labels.h"

struct docker_constraint;

/* Parses `expr`. An empty or blank expression gives *out NULL, which matches every container.
 * Errors: -EINVAL with a message naming the column in `msg` (syntax, unknown function, bad
 * regex); -ENOMEM. */
int docker_constraint_parse(const char *expr, struct docker_constraint **out, char *msg,
                            size_t msize);

/* Whether the labels satisfy the expression (NULL: always true). */
bool docker_constraint_match(const struct docker_constraint *c, const struct label_kv *labels,
                             size_t n);

void docker_constraint_free(struct docker_constraint *c);

#endif
