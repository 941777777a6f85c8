/* Dynamic configuration as JSON trees, for `proxyctl config get|diff`: a YAML document as a
 * jsonv tree, the merge of a namespace's contributions, and a structural diff of two trees.
 *
 * The admin API renders a namespace's config from its proto form (Traefik key names, fields
 * written only when set). A file's YAML is not turned into proto here (the admin's renderer is
 * node/admin's, which ctl may not link), so the diff is lenient where the two forms differ
 * without differing in meaning: scalars compare by text (80 = "80", true = "true"), an object
 * key matches case-insensitively when no key matches exactly (the decoder's rule), a scalar
 * matches a list of strings when it is that list comma-separated ("web,websecure"), and null,
 * "" and empty lists or objects count as absent.
 *
 * Ownership: trees built here belong to the caller (jv_free). Threading: none.
 * Errors: -ENOMEM.
 */
#ifndef CONCORD_CTL_CONFJSON_H
#define CONCORD_CTL_CONFJSON_H

#include <stdio.h>

#include "ctl/jsonv.h"
#include "providers/doc.h"

/* The YAML tree as JSON: maps become objects (keys in order), lists arrays; a plain scalar
 * that reads as an integer becomes a number, true/false a bool, null/~/empty null; every
 * other scalar a string. NULL root: an empty object. */
int confjson_from_doc(const struct doc_node *root, struct jv *out);

/* The namespace's config from a GET /api/cluster/config/{ns} answer: the `config` objects of
 * its contributions merged (objects key by key, recursively; for anything else the first
 * contribution wins). An empty object when there is none. */
int confjson_merge(const struct jv *answer, struct jv *out);

/* Prints the differences from `old` to `new`, one leaf per line, sorted by key path:
 * `- http.routers.web.rule: "Host(`a`)"` for a value only `old` has (or had before),
 * `+ ...` for `new`'s. Returns how many lines were printed (0: no difference). */
size_t confjson_diff(FILE *out, const struct jv *old, const struct jv *new_);

/* A deep copy of `src` into *dst. */
int confjson_copy(const struct jv *src, struct jv *dst);

#endif
