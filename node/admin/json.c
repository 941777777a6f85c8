/* The admin API's JSON writer: a growable buffer and a "first element" flag per depth. */
#include "node/admin/json.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jw_init(struct jw *w)
{
    memset(w, 0, sizeof *w);
    w->first[0] = true;
}

static void put(struct jw *w, const char *s, size_t n)
{
    if (w->oom) {
        return;
    }
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 1024;
        char *b;
        while (w->len + n + 1 > cap) {
            cap *= 2;
        }
        b = realloc(w->buf, cap);
        if (b == NULL) {
            w->oom = true;
            return;
        }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void puts_(struct jw *w, const char *s)
{
    put(w, s, strlen(s));
}

/* Before any value or key: a comma unless it is the first at this depth or follows a key. */
static void sep(struct jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (!w->first[w->depth]) {
        put(w, ",", 1);
    }
    w->first[w->depth] = false;
}

static void open_(struct jw *w, const char *c)
{
    sep(w);
    put(w, c, 1);
    assert(w->depth < JW_MAX_DEPTH);
    w->first[++w->depth] = true;
}

static void close_(struct jw *w, const char *c)
{
    assert(w->depth > 0);
    w->depth--;
    put(w, c, 1);
}

void jw_obj(struct jw *w)
{
    open_(w, "{");
}

void jw_end(struct jw *w)
{
    close_(w, "}");
}

void jw_arr(struct jw *w)
{
    open_(w, "[");
}

void jw_aend(struct jw *w)
{
    close_(w, "]");
}

static void quoted(struct jw *w, const char *s, size_t n)
{
    char esc[8];
    size_t run = 0;
    put(w, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        const char *rep = NULL;
        switch (ch) {
        case '"':
            rep = "\\\"";
            break;
        case '\\':
            rep = "\\\\";
            break;
        case '\n':
            rep = "\\n";
            break;
        case '\r':
            rep = "\\r";
            break;
        case '\t':
            rep = "\\t";
            break;
        default:
            if (ch < 0x20 || ch == 0x7f) {
                snprintf(esc, sizeof esc, "\\u%04x", ch);
                rep = esc;
            }
        }
        if (rep != NULL) {
            put(w, s + run, i - run);
            puts_(w, rep);
            run = i + 1;
        }
    }
    put(w, s + run, n - run);
    put(w, "\"", 1);
}

void jw_key(struct jw *w, const char *k)
{
    sep(w);
    quoted(w, k, strlen(k));
    put(w, ":", 1);
    w->after_key = true;
}

void jw_strn(struct jw *w, const char *s, size_t n)
{
    sep(w);
    quoted(w, s, n);
}

void jw_str(struct jw *w, const char *s)
{
    if (s == NULL) {
        jw_null(w);
        return;
    }
    jw_strn(w, s, strlen(s));
}

void jw_int(struct jw *w, int64_t v)
{
    char b[24];
    sep(w);
    snprintf(b, sizeof b, "%" PRId64, v);
    puts_(w, b);
}

void jw_uint(struct jw *w, uint64_t v)
{
    char b[24];
    sep(w);
    snprintf(b, sizeof b, "%" PRIu64, v);
    puts_(w, b);
}

void jw_bool(struct jw *w, bool v)
{
    sep(w);
    puts_(w, v ? "true" : "false");
}

void jw_null(struct jw *w)
{
    sep(w);
    puts_(w, "null");
}

void jw_kstr(struct jw *w, const char *k, const char *s)
{
    jw_key(w, k);
    jw_str(w, s);
}

void jw_kint(struct jw *w, const char *k, int64_t v)
{
    jw_key(w, k);
    jw_int(w, v);
}

void jw_kbool(struct jw *w, const char *k, bool v)
{
    jw_key(w, k);
    jw_bool(w, v);
}

char *jw_finish(struct jw *w, size_t *len)
{
    char *b;
    if (w->buf == NULL) {
        put(w, "", 0);
    }
    if (w->oom) {
        jw_discard(w);
        return NULL;
    }
    b = w->buf;
    if (len != NULL) {
        *len = w->len;
    }
    w->buf = NULL;
    return b;
}

void jw_discard(struct jw *w)
{
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}
