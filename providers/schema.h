/* Table-driven decoding of YAML maps (providers/doc.h) into C structs, shared by the static and
 * dynamic configuration decoders.
 *
 * A table is an array of rows ending with a row whose key is NULL. schema_map() walks a map
 * node: each key is looked up in the table (ASCII case-insensitively, as Traefik matches keys);
 * an unknown key is an error "<file>:<line>:<col>: <path>: unknown key" at the key, a key given
 * twice (e.g. "rule" and "Rule") is an error, and a known key's handler decodes the value.
 * Handlers report problems as diagnostics and never stop the walk, so one pass lists every
 * error; callers compare d->nerrors before and after to decide.
 *
 * Keys Traefik has but Concord does not implement yet use schema_unsupported: a warning
 * "recognised Traefik key, not supported yet" naming the key path, and the keys inside are still
 * checked against a list of patterns, so a typo in them is an error.
 * Threading: none; a context is used by one thread.
 */
#ifndef CONCORD_PROVIDERS_SCHEMA_H
#define CONCORD_PROVIDERS_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "node/base/diag.h"
#include "providers/doc.h"

#define SCHEMA_UNSUPPORTED_MSG "recognised Traefik key, not supported yet"

struct schema_ctx {
    struct diags *d;
    const char *base_dir;       /* folder of the YAML file, for relative paths; "" = keep */
    const struct doc_node *key; /* key of the value a handler is decoding (NULL at the top) */
    void *user;                 /* decoder-specific state */
    size_t plen;
    char path[1024]; /* key path of the value being decoded, e.g. "http.routers.web.rule" */
};

struct schema_row;
typedef void (*schema_fn)(struct schema_ctx *c, const struct doc_node *v, void *obj,
                          const struct schema_row *r);

struct schema_row {
    const char *key; /* NULL ends the table */
    schema_fn fn;
    size_t off;       /* field offset in obj, for the typed handlers below */
    size_t off2;      /* a second field: element count of a list */
    const void *arg;  /* nested table (schema_sub), key patterns (schema_unsupported), or data */
    int64_t min, max; /* range of an integer field */
};

void schema_ctx_init(struct schema_ctx *c, struct diags *d, const char *base_dir);

/* Decodes `map` (NULL or null: nothing to do; anything else than a map: an error) with
 * `rows` into `obj`. Tables hold at most 64 rows. */
void schema_map(struct schema_ctx *c, const struct doc_node *map, void *obj,
                const struct schema_row *rows);

/* Calls fn for every entry of a map of user-chosen names (routers, entry points), with the name
 * pushed on the path and c->key set. A non-map is an error. */
void schema_each(struct schema_ctx *c, const struct doc_node *map,
                 void (*fn)(struct schema_ctx *c, const struct doc_node *name,
                            const struct doc_node *value, void *obj),
                 void *obj);

/* The value under `key` in `map`, matched as schema_map matches keys, or NULL. */
const struct doc_node *schema_find(const struct doc_node *map, const char *key);

/* Path helpers: push returns the length to give back to pop. */
size_t schema_push_key(struct schema_ctx *c, const char *key);
size_t schema_push_index(struct schema_ctx *c, size_t i);
void schema_pop(struct schema_ctx *c, size_t len);

/* Diagnostics at a node's mark (or the file with no position when n is NULL), with the current
 * path. */
void schema_error(struct schema_ctx *c, const struct doc_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void schema_warning(struct schema_ctx *c, const struct doc_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* True when n is a map; otherwise reports "expected a map, got X" (null, and a flat source's
 * "true"/"false" standing for an object or none (doc.h object_true), are empty maps: false but
 * no error). */
bool schema_expect_map(struct schema_ctx *c, const struct doc_node *n);

/* Checks every key under `n` against `patterns`: space-separated dotted key paths relative to
 * n, where "*" is any one name and "**" anything below. Lists are transparent ("servers.url"
 * covers servers[3].url). NULL patterns accept anything. Unknown keys are errors. */
void schema_check_keys(struct schema_ctx *c, const struct doc_node *n, const char *patterns);

/* --- row handlers --- */

/* Nested map decoded into the same obj with table r->arg. */
void schema_sub(struct schema_ctx *c, const struct doc_node *v, void *obj,
                const struct schema_row *r);
/* Recognised Traefik key not implemented: one warning at the key, keys below checked against
 * r->arg patterns. */
void schema_unsupported(struct schema_ctx *c, const struct doc_node *v, void *obj,
                        const struct schema_row *r);
/* A map of user-named objects (e.g. tcp.routers) none of which is implemented: one warning per
 * object, keys below each checked against r->arg. */
void schema_each_unsupported(struct schema_ctx *c, const struct doc_node *v, void *obj,
                             const struct schema_row *r);
/* Typed fields at r->off: char * (malloc'd, the old value freed), bool, uint32_t and uint64_t
 * (range r->min..r->max, a max of 0 meaning the type's maximum), uint64_t milliseconds from a
 * duration, and a char ** list with its uint32_t count at r->off2. */
void schema_str(struct schema_ctx *c, const struct doc_node *v, void *obj,
                const struct schema_row *r);
void schema_bool(struct schema_ctx *c, const struct doc_node *v, void *obj,
                 const struct schema_row *r);
void schema_u32(struct schema_ctx *c, const struct doc_node *v, void *obj,
                const struct schema_row *r);
void schema_u64(struct schema_ctx *c, const struct doc_node *v, void *obj,
                const struct schema_row *r);
void schema_dur(struct schema_ctx *c, const struct doc_node *v, void *obj,
                const struct schema_row *r);
void schema_strlist(struct schema_ctx *c, const struct doc_node *v, void *obj,
                    const struct schema_row *r);

/* Row builders. */
/* clang-format off */
#define SCHEMA_SUB(k, table) {.key = (k), .fn = schema_sub, .arg = (table)}
#define SCHEMA_TODO(k, patterns) {.key = (k), .fn = schema_unsupported, .arg = (patterns)}
#define SCHEMA_EACH_TODO(k, patterns)                                                            \
    {.key = (k), .fn = schema_each_unsupported, .arg = (patterns)}
#define SCHEMA_FIELD(k, fn_, type, field) {.key = (k), .fn = (fn_), .off = offsetof(type, field)}
#define SCHEMA_RANGE(k, fn_, type, field, lo, hi)                                                \
    {.key = (k), .fn = (fn_), .off = offsetof(type, field), .min = (lo), .max = (hi)}
#define SCHEMA_LIST(k, type, field, count)                                                       \
    {.key = (k), .fn = schema_strlist, .off = offsetof(type, field), .off2 = offsetof(type, count)}
/* clang-format on */

#endif
