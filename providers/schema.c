/* Table-driven YAML map decoding: key lookup, unknown-key errors, warnings, typed handlers. */
#include "providers/schema.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_KEY_DEPTH 32

void schema_ctx_init(struct schema_ctx *c, struct diags *d, const char *base_dir)
{
    memset(c, 0, sizeof *c);
    c->d = d;
    c->base_dir = base_dir ? base_dir : "";
}

static size_t push(struct schema_ctx *c, const char *sep, const char *s)
{
    size_t old = c->plen;
    int n = snprintf(c->path + c->plen, sizeof c->path - c->plen, "%s%s", sep, s);
    /* A path longer than the buffer is cut: the location (file:line:col) still points at it. */
    c->plen = n < 0 ? old : c->plen + (size_t)n;
    if (c->plen >= sizeof c->path) {
        c->plen = sizeof c->path - 1;
    }
    return old;
}

size_t schema_push_key(struct schema_ctx *c, const char *key)
{
    return push(c, c->plen ? "." : "", key);
}

size_t schema_push_index(struct schema_ctx *c, size_t i)
{
    char buf[32];
    snprintf(buf, sizeof buf, "[%zu]", i);
    return push(c, "", buf);
}

void schema_pop(struct schema_ctx *c, size_t len)
{
    c->plen = len;
    c->path[len] = '\0';
}

static void vreport(struct schema_ctx *c, enum diag_severity sev, const struct doc_node *n,
                    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static void vreport(struct schema_ctx *c, enum diag_severity sev, const struct doc_node *n,
                    const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (n) {
        diags_add(c->d, sev, n->file, n->line, n->col, c->path, "%s", msg);
    } else {
        diags_add(c->d, sev, "", 0, 0, c->path, "%s", msg);
    }
}

void schema_error(struct schema_ctx *c, const struct doc_node *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(c, DIAG_ERROR, n, fmt, ap);
    va_end(ap);
}

void schema_warning(struct schema_ctx *c, const struct doc_node *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(c, DIAG_WARNING, n, fmt, ap);
    va_end(ap);
}

bool schema_expect_map(struct schema_ctx *c, const struct doc_node *n)
{
    if (doc_is_null(n) || (n->kind == DOC_SCALAR && (n->object_true || n->object_false))) {
        return false;
    }
    if (n->kind != DOC_MAP) {
        schema_error(c, n, "expected a map, got %s", doc_kind_name(n));
        return false;
    }
    return true;
}

static const struct schema_row *find_row(const struct schema_row *rows, const char *key,
                                         size_t *index)
{
    for (size_t i = 0; rows[i].key; i++) {
        if (strcasecmp(rows[i].key, key) == 0) {
            *index = i;
            return &rows[i];
        }
    }
    return NULL;
}

const struct doc_node *schema_find(const struct doc_node *map, const char *key)
{
    if (map == NULL || map->kind != DOC_MAP) {
        return NULL;
    }
    for (size_t i = 0; i < map->n; i++) {
        if (strcasecmp(map->pairs[i].key->str, key) == 0) {
            return map->pairs[i].value;
        }
    }
    return NULL;
}

void schema_map(struct schema_ctx *c, const struct doc_node *map, void *obj,
                const struct schema_row *rows)
{
    const struct doc_node *saved_key = c->key;
    uint64_t seen = 0;

    if (!schema_expect_map(c, map)) {
        return;
    }
    for (size_t i = 0; i < map->n; i++) {
        const struct doc_node *k = map->pairs[i].key;
        size_t idx = 0, len = schema_push_key(c, k->str);
        const struct schema_row *r = find_row(rows, k->str, &idx);
        if (r == NULL) {
            schema_error(c, k, "unknown key");
        } else if (idx < 64 && (seen & (1ull << idx))) {
            schema_error(c, k, "key given twice (keys are case-insensitive)");
        } else {
            seen |= idx < 64 ? 1ull << idx : 0;
            c->key = k;
            r->fn(c, map->pairs[i].value, obj, r);
        }
        schema_pop(c, len);
    }
    c->key = saved_key;
}

void schema_each(struct schema_ctx *c, const struct doc_node *map,
                 void (*fn)(struct schema_ctx *c, const struct doc_node *name,
                            const struct doc_node *value, void *obj),
                 void *obj)
{
    const struct doc_node *saved_key = c->key;
    if (!schema_expect_map(c, map)) {
        return;
    }
    for (size_t i = 0; i < map->n; i++) {
        size_t len = schema_push_key(c, map->pairs[i].key->str);
        c->key = map->pairs[i].key;
        fn(c, map->pairs[i].key, map->pairs[i].value, obj);
        schema_pop(c, len);
    }
    c->key = saved_key;
}

/* --- known-key patterns --- */

/* Matches the key path comps[0..n) against one pattern token [p, end). */
static bool token_matches(const char *p, const char *end, const char *const *comps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        const char *ce = dot ? dot : end;
        size_t len = (size_t)(ce - p);
        if (p >= end) {
            return false;
        }
        if (len == 2 && p[0] == '*' && p[1] == '*') {
            return true;
        }
        if (!(len == 1 && p[0] == '*') &&
            (strlen(comps[i]) != len || strncasecmp(p, comps[i], len) != 0)) {
            return false;
        }
        p = dot ? dot + 1 : end;
    }
    return true;
}

static bool known(const char *patterns, const char *const *comps, size_t n)
{
    const char *p = patterns;
    while (*p) {
        while (*p == ' ' || *p == '\n') {
            p++;
        }
        const char *end = p;
        while (*end && *end != ' ' && *end != '\n') {
            end++;
        }
        if (end > p && token_matches(p, end, comps, n)) {
            return true;
        }
        p = end;
    }
    return false;
}

static void check_keys(struct schema_ctx *c, const struct doc_node *n, const char *patterns,
                       const char **comps, size_t depth)
{
    if (n == NULL || depth >= MAX_KEY_DEPTH) {
        return;
    }
    if (n->kind == DOC_SEQ) {
        for (size_t i = 0; i < n->n; i++) {
            size_t len = schema_push_index(c, i);
            check_keys(c, n->items[i], patterns, comps, depth);
            schema_pop(c, len);
        }
    } else if (n->kind == DOC_MAP) {
        for (size_t i = 0; i < n->n; i++) {
            const struct doc_node *k = n->pairs[i].key;
            size_t len = schema_push_key(c, k->str);
            comps[depth] = k->str;
            if (!known(patterns, comps, depth + 1)) {
                schema_error(c, k, "unknown key");
            } else {
                check_keys(c, n->pairs[i].value, patterns, comps, depth + 1);
            }
            schema_pop(c, len);
        }
    }
}

void schema_check_keys(struct schema_ctx *c, const struct doc_node *n, const char *patterns)
{
    const char *comps[MAX_KEY_DEPTH];
    if (patterns != NULL) {
        check_keys(c, n, patterns, comps, 0);
    }
}

/* --- row handlers --- */

void schema_sub(struct schema_ctx *c, const struct doc_node *v, void *obj,
                const struct schema_row *r)
{
    schema_map(c, v, obj, r->arg);
}

void schema_unsupported(struct schema_ctx *c, const struct doc_node *v, void *obj,
                        const struct schema_row *r)
{
    schema_warning(c, c->key ? c->key : v, SCHEMA_UNSUPPORTED_MSG);
    schema_check_keys(c, v, r->arg);
}

static void each_unsupported(struct schema_ctx *c, const struct doc_node *name,
                             const struct doc_node *value, void *obj)
{
    schema_warning(c, name, SCHEMA_UNSUPPORTED_MSG);
    schema_check_keys(c, value, obj);
}

void schema_each_unsupported(struct schema_ctx *c, const struct doc_node *v, void *obj,
                             const struct schema_row *r)
{
    schema_each(c, v, each_unsupported, (void *)r->arg);
}

#define FIELD(type, obj, r) ((type *)(void *)((char *)(obj) + (r)->off))

void schema_str(struct schema_ctx *c, const struct doc_node *v, void *obj,
                const struct schema_row *r)
{
    const char *s;
    if (doc_read_str(v, c->path, &s, c->d) == 0) {
        char **p = FIELD(char *, obj, r);
        free(*p);
        *p = strdup(s);
        if (*p == NULL) {
            abort();
        }
    }
}

void schema_bool(struct schema_ctx *c, const struct doc_node *v, void *obj,
                 const struct schema_row *r)
{
    doc_read_bool(v, c->path, FIELD(bool, obj, r), c->d);
}

void schema_u32(struct schema_ctx *c, const struct doc_node *v, void *obj,
                const struct schema_row *r)
{
    int64_t x;
    int64_t max = r->max ? r->max : UINT32_MAX;
    if (doc_read_int(v, c->path, r->min, max, &x, c->d) == 0) {
        *FIELD(uint32_t, obj, r) = (uint32_t)x;
    }
}

void schema_u64(struct schema_ctx *c, const struct doc_node *v, void *obj,
                const struct schema_row *r)
{
    int64_t x;
    int64_t max = r->max ? r->max : INT64_MAX;
    if (doc_read_int(v, c->path, r->min, max, &x, c->d) == 0) {
        *FIELD(uint64_t, obj, r) = (uint64_t)x;
    }
}

void schema_dur(struct schema_ctx *c, const struct doc_node *v, void *obj,
                const struct schema_row *r)
{
    doc_read_duration_ms(v, c->path, FIELD(uint64_t, obj, r), c->d);
}

void schema_strlist(struct schema_ctx *c, const struct doc_node *v, void *obj,
                    const struct schema_row *r)
{
    char **list;
    size_t n;
    if (doc_read_strlist(v, c->path, &list, &n, c->d) == 0) {
        char ***p = FIELD(char **, obj, r);
        uint32_t *count = (uint32_t *)(void *)((char *)obj + r->off2);
        doc_strlist_free(*p, *count);
        *p = list;
        *count = (uint32_t)n;
    }
}
