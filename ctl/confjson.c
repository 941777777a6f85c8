/* Dynamic configuration as JSON trees (confjson.h): YAML to jsonv, merge, structural diff. */
#include "ctl/confjson.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl/output.h"

/* Appends a zeroed element (with `key` for an object, owned from now on) to j. */
static struct jv *add(struct jv *j, char *key)
{
    struct jv *nv = realloc(j->v, (j->n + 1) * sizeof *nv);
    if (nv == NULL) {
        free(key);
        return NULL;
    }
    j->v = nv;
    if (j->t == JV_OBJ) {
        char **nk = realloc(j->keys, (j->n + 1) * sizeof *nk);
        if (nk == NULL) {
            free(key);
            return NULL;
        }
        j->keys = nk;
        j->keys[j->n] = key;
    }
    memset(&j->v[j->n], 0, sizeof j->v[0]);
    return &j->v[j->n++];
}

int confjson_copy(const struct jv *src, struct jv *dst)
{
    memset(dst, 0, sizeof *dst);
    dst->t = src->t;
    dst->b = src->b;
    if (src->s != NULL && (dst->s = strdup(src->s)) == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < src->n; i++) {
        char *key = NULL;
        struct jv *e;
        if (src->t == JV_OBJ && (key = strdup(src->keys[i])) == NULL) {
            return -ENOMEM;
        }
        if ((e = add(dst, key)) == NULL || confjson_copy(&src->v[i], e) != 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

static bool plain_int(const char *s)
{
    s += *s == '-' || *s == '+';
    if (*s == '\0') {
        return false;
    }
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9') {
            return false;
        }
    }
    return true;
}

static int scalar_from_doc(const struct doc_node *n, struct jv *out)
{
    const char *s = n->str;
    if (n->plain && (n->len == 0 || strcmp(s, "~") == 0 || strcasecmp(s, "null") == 0)) {
        out->t = JV_NULL;
        return 0;
    }
    if (n->plain && (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0)) {
        out->t = JV_BOOL;
        out->b = s[0] == 't' || s[0] == 'T';
        return 0;
    }
    out->t = n->plain && plain_int(s) ? JV_NUM : JV_STR;
    out->s = strdup(s);
    return out->s != NULL ? 0 : -ENOMEM;
}

int confjson_from_doc(const struct doc_node *root, struct jv *out)
{
    memset(out, 0, sizeof *out);
    if (root == NULL) {
        out->t = JV_OBJ;
        return 0;
    }
    if (root->kind == DOC_SCALAR) {
        return scalar_from_doc(root, out);
    }
    out->t = root->kind == DOC_MAP ? JV_OBJ : JV_ARR;
    for (size_t i = 0; i < root->n; i++) {
        char *key = NULL;
        const struct doc_node *v = root->kind == DOC_MAP ? root->pairs[i].value : root->items[i];
        struct jv *e;
        if (root->kind == DOC_MAP && (key = strdup(root->pairs[i].key->str)) == NULL) {
            return -ENOMEM;
        }
        if ((e = add(out, key)) == NULL || confjson_from_doc(v, e) != 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

/* Merges `src` into the object `dst`: keys dst lacks are copied, objects on both sides merged. */
static int merge_into(struct jv *dst, const struct jv *src)
{
    for (size_t i = 0; src->t == JV_OBJ && i < src->n; i++) {
        struct jv *have = (struct jv *)jv_get(dst, src->keys[i]);
        char *key;
        if (have != NULL) {
            if (have->t == JV_OBJ && src->v[i].t == JV_OBJ && merge_into(have, &src->v[i]) != 0) {
                return -ENOMEM;
            }
            continue;
        }
        if ((key = strdup(src->keys[i])) == NULL || (have = add(dst, key)) == NULL ||
            confjson_copy(&src->v[i], have) != 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

int confjson_merge(const struct jv *answer, struct jv *out)
{
    const struct jv *cs = jv_get(answer, "contributions");
    memset(out, 0, sizeof *out);
    out->t = JV_OBJ;
    for (size_t i = 0; cs != NULL && cs->t == JV_ARR && i < cs->n; i++) {
        const struct jv *c = jv_get(&cs->v[i], "config");
        if (c != NULL && c->t == JV_OBJ && merge_into(out, c) != 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

/* ---- diff ---------------------------------------------------------------------------- */

struct differ {
    FILE *out;
    size_t lines;
    char path[4096];
};

static bool empty(const struct jv *j)
{
    return j == NULL || j->t == JV_NULL || (j->t == JV_STR && j->s[0] == '\0') ||
           ((j->t == JV_ARR || j->t == JV_OBJ) && j->n == 0);
}

/* A scalar's text for comparison (NULL for containers). */
static const char *text(const struct jv *j)
{
    switch (j->t) {
    case JV_NULL:
        return "null";
    case JV_BOOL:
        return j->b ? "true" : "false";
    case JV_NUM:
    case JV_STR:
        return j->s;
    default:
        return NULL;
    }
}

static bool scalar_eq(const struct jv *a, const struct jv *b)
{
    const char *x = text(a), *y = text(b);
    if (x == NULL || y == NULL) {
        return false;
    }
    if (a->t == JV_BOOL || b->t == JV_BOOL) {
        return strcasecmp(x, y) == 0;
    }
    return strcmp(x, y) == 0;
}

/* True when the string `s` is the array of scalars `arr` written "a,b,c" (spaces around the
 * items ignored), as Traefik reads a string where it wants a list. */
static bool csv_eq(const struct jv *s, const struct jv *arr)
{
    const char *p;
    if (s->t != JV_STR || arr->t != JV_ARR || arr->n == 0) {
        return false;
    }
    p = s->s;
    for (size_t i = 0; i < arr->n; i++) {
        const char *want = text(&arr->v[i]), *end;
        size_t n;
        p += strspn(p, " ");
        end = p + strcspn(p, ",");
        n = (size_t)(end - p);
        while (n > 0 && p[n - 1] == ' ') {
            n--;
        }
        if (want == NULL || strlen(want) != n || strncmp(p, want, n) != 0) {
            return false;
        }
        if (*end == '\0') {
            return i + 1 == arr->n;
        }
        p = end + 1;
    }
    return false; /* more items in the string */
}

static void leaf(struct differ *d, char sign, const struct jv *j);

/* Every leaf of j under the current path, with `sign`. */
static void leaves(struct differ *d, char sign, const struct jv *j);

static size_t push_path(struct differ *d, const char *key, size_t index, bool is_index)
{
    size_t at = strlen(d->path);
    if (is_index) {
        snprintf(d->path + at, sizeof d->path - at, "[%zu]", index);
    } else {
        snprintf(d->path + at, sizeof d->path - at, "%s%s", at ? "." : "", key);
    }
    return at;
}

static void leaf(struct differ *d, char sign, const struct jv *j)
{
    fprintf(d->out, "%c %s: ", sign, d->path[0] ? d->path : ".");
    if (j->t == JV_STR) {
        output_quote(d->out, j->s);
    } else {
        fputs(text(j) != NULL ? text(j) : j->t == JV_ARR ? "[]" : "{}", d->out);
    }
    fputc('\n', d->out);
    d->lines++;
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The object's keys sorted (a malloc'd array of borrowed strings). */
static const char **sorted_keys(const struct jv *o)
{
    const char **k = malloc((o->n + 1) * sizeof *k);
    if (k == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < o->n; i++) {
        k[i] = o->keys[i];
    }
    qsort(k, o->n, sizeof *k, cmp_keys);
    return k;
}

static void leaves(struct differ *d, char sign, const struct jv *j)
{
    if (empty(j)) {
        return;
    }
    if (j->t == JV_OBJ) {
        const char **k = sorted_keys(j);
        for (size_t i = 0; k != NULL && i < j->n; i++) {
            size_t at = push_path(d, k[i], 0, false);
            leaves(d, sign, jv_get(j, k[i]));
            d->path[at] = '\0';
        }
        free(k);
    } else if (j->t == JV_ARR) {
        for (size_t i = 0; i < j->n; i++) {
            size_t at = push_path(d, NULL, i, true);
            leaves(d, sign, &j->v[i]);
            d->path[at] = '\0';
        }
    } else {
        leaf(d, sign, j);
    }
}

/* The member of o named `key`: exactly, else case-insensitively (keys match that way when
 * decoded, and the API writes Traefik's spelling). */
static const struct jv *find_key(const struct jv *o, const char *key)
{
    const struct jv *v = jv_get(o, key);
    for (size_t i = 0; v == NULL && i < o->n; i++) {
        if (strcasecmp(o->keys[i], key) == 0) {
            v = &o->v[i];
        }
    }
    return v;
}

static void diff_at(struct differ *d, const struct jv *a, const struct jv *b);

static void diff_objects(struct differ *d, const struct jv *a, const struct jv *b)
{
    const char **ka = sorted_keys(a), **kb = sorted_keys(b);
    size_t i = 0, j = 0;
    if (ka == NULL || kb == NULL) {
        free(ka);
        free(kb);
        return;
    }
    /* Walk both sorted key lists; a key of b that matched one of a case-insensitively is
     * consumed there, so it is skipped when its turn comes. */
    while (i < a->n || j < b->n) {
        int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(ka[i], kb[j]);
        const char *key = c <= 0 ? ka[i] : kb[j];
        size_t at = push_path(d, key, 0, false);
        if (c == 0) {
            diff_at(d, jv_get(a, ka[i++]), jv_get(b, kb[j++]));
        } else if (c < 0) {
            const struct jv *other = find_key(b, key);
            diff_at(d, jv_get(a, ka[i++]), other);
        } else {
            const struct jv *other = find_key(a, key);
            if (other == NULL) {
                leaves(d, '+', jv_get(b, kb[j]));
            }
            j++;
        }
        d->path[at] = '\0';
    }
    free(ka);
    free(kb);
}

static void diff_at(struct differ *d, const struct jv *a, const struct jv *b)
{
    if (empty(a) || empty(b)) {
        if (!empty(a)) {
            leaves(d, '-', a);
        }
        if (!empty(b)) {
            leaves(d, '+', b);
        }
        return;
    }
    if (a->t == JV_OBJ && b->t == JV_OBJ) {
        diff_objects(d, a, b);
    } else if (a->t == JV_ARR && b->t == JV_ARR) {
        size_t n = a->n > b->n ? a->n : b->n;
        for (size_t i = 0; i < n; i++) {
            size_t at = push_path(d, NULL, i, true);
            diff_at(d, i < a->n ? &a->v[i] : NULL, i < b->n ? &b->v[i] : NULL);
            d->path[at] = '\0';
        }
    } else if (!scalar_eq(a, b) && !csv_eq(a, b) && !csv_eq(b, a)) {
        leaves(d, '-', a);
        leaves(d, '+', b);
    }
}

size_t confjson_diff(FILE *out, const struct jv *old, const struct jv *new_)
{
    struct differ d = {.out = out};
    diff_at(&d, old, new_);
    return d.lines;
}
