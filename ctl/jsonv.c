/* proxyctl's JSON reader and printers (jsonv.h): recursive descent over the text. */
#include "ctl/jsonv.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl/output.h"

#define MAX_DEPTH 64

struct parser {
    const char *p, *end;
    int depth;
};

static void ws(struct parser *ps)
{
    while (ps->p < ps->end &&
           (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) {
        ps->p++;
    }
}

static int hex4(const char *p, const char *end, uint32_t *out)
{
    uint32_t v = 0;
    if (end - p < 4) {
        return -EINVAL;
    }
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (uint32_t)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v |= (uint32_t)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v |= (uint32_t)(c - 'A' + 10);
        } else {
            return -EINVAL;
        }
    }
    *out = v;
    return 0;
}

static size_t utf8(uint32_t cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* At the opening quote; *out is malloc'd (escapes decoded never grow the text). */
static int string(struct parser *ps, char **out)
{
    const char *p = ps->p + 1, *q = p;
    char *s, *o;
    /* The raw length bounds the decoded one: find the closing quote first (skipping escapes),
     * so each string allocates its own size, not the rest of the document. */
    while (q < ps->end && *q != '"') {
        q += *q == '\\' ? 2 : 1;
    }
    s = malloc((size_t)(q - p) + 1);
    o = s;
    if (s == NULL) {
        return -ENOMEM;
    }
    while (p < ps->end && *p != '"') {
        uint32_t cp, lo;
        if ((unsigned char)*p < 0x20) {
            goto bad;
        }
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        if (++p >= ps->end) {
            goto bad;
        }
        switch (*p) {
        case '"':
        case '\\':
        case '/':
            *o++ = *p;
            break;
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u':
            if (hex4(p + 1, ps->end, &cp) != 0) {
                goto bad;
            }
            p += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && ps->end - p > 6 && p[1] == '\\' && p[2] == 'u' &&
                hex4(p + 3, ps->end, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            }
            o += utf8(cp, o);
            break;
        default:
            goto bad;
        }
        p++;
    }
    if (p >= ps->end) {
        goto bad;
    }
    *o = '\0';
    ps->p = p + 1;
    *out = s;
    return 0;
bad:
    free(s);
    return -EINVAL;
}

static int value(struct parser *ps, struct jv *j);

static int push(struct jv *j, size_t *cap, char *key)
{
    if (j->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        struct jv *nv = realloc(j->v, nc * sizeof *nv);
        char **nk;
        if (nv == NULL) {
            return -ENOMEM;
        }
        j->v = nv;
        if (j->t == JV_OBJ) {
            if ((nk = realloc(j->keys, nc * sizeof *nk)) == NULL) {
                return -ENOMEM;
            }
            j->keys = nk;
        }
        *cap = nc;
    }
    memset(&j->v[j->n], 0, sizeof j->v[0]);
    if (j->t == JV_OBJ) {
        j->keys[j->n] = key;
    }
    j->n++;
    return 0;
}

/* Arrays and objects: elements separated by ',' up to `close`. */
static int container(struct parser *ps, struct jv *j, char close)
{
    size_t cap = 0;
    int rc;
    if (++ps->depth > MAX_DEPTH) {
        return -EINVAL;
    }
    ps->p++;
    ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        ps->depth--;
        return 0;
    }
    for (;;) {
        char *key = NULL;
        ws(ps);
        if (j->t == JV_OBJ) {
            if (ps->p >= ps->end || *ps->p != '"' || (rc = string(ps, &key)) != 0) {
                return -EINVAL;
            }
            ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                free(key);
                return -EINVAL;
            }
            ps->p++;
        }
        if ((rc = push(j, &cap, key)) != 0) {
            free(key);
            return rc;
        }
        if ((rc = value(ps, &j->v[j->n - 1])) != 0) {
            return rc;
        }
        ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            ps->depth--;
            return 0;
        }
        return -EINVAL;
    }
}

static bool word(struct parser *ps, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, w, n) == 0) {
        ps->p += n;
        return true;
    }
    return false;
}

static int number(struct parser *ps, struct jv *j)
{
    const char *s = ps->p;
    size_t n;
    while (ps->p < ps->end && strchr("+-0123456789.eE", *ps->p) != NULL) {
        ps->p++;
    }
    n = (size_t)(ps->p - s);
    if (n == 0 || (j->s = strndup(s, n)) == NULL) {
        return n == 0 ? -EINVAL : -ENOMEM;
    }
    j->t = JV_NUM;
    return 0;
}

static int value(struct parser *ps, struct jv *j)
{
    ws(ps);
    if (ps->p >= ps->end) {
        return -EINVAL;
    }
    switch (*ps->p) {
    case '{':
        j->t = JV_OBJ;
        return container(ps, j, '}');
    case '[':
        j->t = JV_ARR;
        return container(ps, j, ']');
    case '"':
        j->t = JV_STR;
        return string(ps, &j->s);
    default:
        break;
    }
    if (word(ps, "true") || word(ps, "false")) {
        j->t = JV_BOOL;
        j->b = ps->p[-4] == 't';
        return 0;
    }
    if (word(ps, "null")) {
        j->t = JV_NULL;
        return 0;
    }
    return number(ps, j);
}

int jv_parse(const char *text, size_t len, struct jv *out)
{
    struct parser ps = {text, text + len, 0};
    int rc;
    memset(out, 0, sizeof *out);
    rc = value(&ps, out);
    ws(&ps);
    if (rc == 0 && ps.p != ps.end) {
        rc = -EINVAL;
    }
    if (rc != 0) {
        jv_free(out);
    }
    return rc;
}

void jv_free(struct jv *j)
{
    for (size_t i = 0; i < j->n; i++) {
        jv_free(&j->v[i]);
        if (j->keys != NULL) {
            free(j->keys[i]);
        }
    }
    free(j->v);
    free(j->keys);
    free(j->s);
    memset(j, 0, sizeof *j);
}

const struct jv *jv_get(const struct jv *j, const char *key)
{
    for (size_t i = 0; j != NULL && j->t == JV_OBJ && i < j->n; i++) {
        if (strcmp(j->keys[i], key) == 0) {
            return &j->v[i];
        }
    }
    return NULL;
}

const char *jv_str(const struct jv *j)
{
    return j != NULL && j->t == JV_STR ? j->s : NULL;
}

char *jv_join(const struct jv *arr, const char *sep)
{
    bool is_arr = arr != NULL && arr->t == JV_ARR;
    size_t len = 1;
    char *s;
    for (size_t i = 0; is_arr && i < arr->n; i++) {
        len += strlen(jv_str(&arr->v[i]) ? arr->v[i].s : "") + strlen(sep);
    }
    if ((s = calloc(1, len)) == NULL) {
        return NULL;
    }
    for (size_t i = 0; is_arr && i < arr->n; i++) {
        if (i > 0) {
            strcat(s, sep);
        }
        strcat(s, jv_str(&arr->v[i]) ? arr->v[i].s : "");
    }
    return s;
}

static void scalar(FILE *out, const struct jv *j)
{
    switch (j->t) {
    case JV_NULL:
        fputs("null", out);
        break;
    case JV_BOOL:
        fputs(j->b ? "true" : "false", out);
        break;
    case JV_NUM:
        fputs(j->s, out);
        break;
    case JV_STR:
        output_quote(out, j->s);
        break;
    case JV_ARR:
        fputs("[]", out);
        break;
    case JV_OBJ:
        fputs("{}", out);
        break;
    }
}

static void json_at(FILE *out, const struct jv *j, int ind)
{
    if ((j->t != JV_ARR && j->t != JV_OBJ) || j->n == 0) {
        scalar(out, j);
        return;
    }
    fputc(j->t == JV_ARR ? '[' : '{', out);
    for (size_t i = 0; i < j->n; i++) {
        fprintf(out, "%s\n%*s", i ? "," : "", ind + 2, "");
        if (j->t == JV_OBJ) {
            output_quote(out, j->keys[i]);
            fputs(": ", out);
        }
        json_at(out, &j->v[i], ind + 2);
    }
    fprintf(out, "\n%*s%c", ind, "", j->t == JV_ARR ? ']' : '}');
}

void jv_print_json(FILE *out, const struct jv *j)
{
    json_at(out, j, 0);
    fputc('\n', out);
}

static bool nested(const struct jv *j)
{
    return (j->t == JV_ARR || j->t == JV_OBJ) && j->n > 0;
}

/* A key YAML reads as the same plain string: letters, digits and "_-.@/", not starting with
 * a character YAML gives a meaning to, and not a word YAML reads as a bool or null. */
static bool plain_key(const char *k)
{
    static const char *const words[] = {"true", "false", "yes", "no", "on", "off", "null", "y",
                                        "n", "~"};
    if (k[0] == '\0' || strchr("-.@/", k[0]) != NULL) {
        return false;
    }
    for (const char *p = k; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("_-.@/", *p) != NULL)) {
            return false;
        }
    }
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strcasecmp(k, words[i]) == 0) {
            return false;
        }
    }
    return true;
}

/* Block YAML: strings double-quoted (JSON escapes are valid there), keys plain when that reads
 * back the same, else quoted. An array element that is itself a collection starts on the "- "
 * line (`inline_first`). */
static void yaml_at(FILE *out, const struct jv *j, int ind, bool inline_first)
{
    for (size_t i = 0; i < j->n; i++) {
        const struct jv *e = &j->v[i];
        if (i > 0 || !inline_first) {
            fprintf(out, "%*s", ind, "");
        }
        if (j->t == JV_ARR) {
            fputs("-", out);
        } else {
            if (plain_key(j->keys[i])) {
                fputs(j->keys[i], out);
            } else {
                output_quote(out, j->keys[i]);
            }
            fputs(":", out);
        }
        if (!nested(e)) {
            fputc(' ', out);
            scalar(out, e);
            fputc('\n', out);
        } else if (j->t == JV_ARR) {
            fputc(' ', out);
            yaml_at(out, e, ind + 2, true);
        } else {
            fputc('\n', out);
            yaml_at(out, e, ind + 2, false);
        }
    }
}

void jv_print_yaml(FILE *out, const struct jv *j)
{
    if (!nested(j)) {
        scalar(out, j);
        fputc('\n', out);
        return;
    }
    yaml_at(out, j, 0, false);
}
