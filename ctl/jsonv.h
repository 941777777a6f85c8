/* A small JSON reader for proxyctl: parses an admin API answer into a tree, and prints a tree
 * as indented JSON or block YAML (-o json|yaml). Object keys keep their order; numbers keep
 * their text.
 *
 * Ownership: jv_parse fills a tree the caller frees with jv_free. Errors: -EINVAL for text
 * that is not one JSON value (nesting deeper than 64 included), -ENOMEM.
 */
#ifndef CONCORD_CTL_JSONV_H
#define CONCORD_CTL_JSONV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum jv_type { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ };

struct jv {
    enum jv_type t;
    bool b;
    char *s;      /* JV_STR: the decoded string (UTF-8); JV_NUM: the number as written */
    struct jv *v; /* JV_ARR, JV_OBJ: the elements */
    char **keys;  /* JV_OBJ: keys[i] names v[i] */
    size_t n;
};

int jv_parse(const char *text, size_t len, struct jv *out);
void jv_free(struct jv *j);

/* The member `key` of an object, NULL when absent or `j` is not an object. */
const struct jv *jv_get(const struct jv *j, const char *key);
/* The string of a JV_STR (NULL otherwise). */
const char *jv_str(const struct jv *j);

/* The strings of an array joined with `sep` ("" for none or not an array); malloc'd, NULL when
 * out of memory. */
char *jv_join(const struct jv *arr, const char *sep);

void jv_print_json(FILE *out, const struct jv *j);
void jv_print_yaml(FILE *out, const struct jv *j);

#endif
