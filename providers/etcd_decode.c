/* etcd v3 JSON gateway bodies and answers, the watched key map and the watch stream's lines. */
#include "providers/etcd_decode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/base64.h"
#include "providers/doc.h"

/* ---- the key map ---- */

/* Index of key, or of where it would go (with *found false). */
static size_t kvs_find(const struct etcd_kvs *m, const char *key, bool *found)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->v[mid].key, key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = false;
    return lo;
}

int etcd_kvs_put(struct etcd_kvs *m, const char *key, const char *value)
{
    bool found;
    size_t i = kvs_find(m, key, &found);
    char *v = strdup(value), *k = NULL;
    if (v == NULL) {
        return -ENOMEM;
    }
    if (found) {
        free(m->v[i].value);
        m->v[i].value = v;
        return 0;
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        struct etcd_kv *grown = realloc(m->v, cap * sizeof *grown);
        if (grown == NULL) {
            free(v);
            return -ENOMEM;
        }
        m->v = grown;
        m->cap = cap;
    }
    if ((k = strdup(key)) == NULL) {
        free(v);
        return -ENOMEM;
    }
    memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof m->v[0]);
    m->v[i].key = k;
    m->v[i].value = v;
    m->n++;
    return 0;
}

void etcd_kvs_del(struct etcd_kvs *m, const char *key)
{
    bool found;
    size_t i = kvs_find(m, key, &found);
    if (!found) {
        return;
    }
    free(m->v[i].key);
    free(m->v[i].value);
    memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof m->v[0]);
    m->n--;
}

const char *etcd_kvs_get(const struct etcd_kvs *m, const char *key)
{
    bool found;
    size_t i = kvs_find(m, key, &found);
    return found ? m->v[i].value : NULL;
}

void etcd_kvs_fini(struct etcd_kvs *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].key);
        free(m->v[i].value);
    }
    free(m->v);
    memset(m, 0, sizeof *m);
}

/* ---- requests ---- */

size_t etcd_prefix_end(const char *prefix, char *out)
{
    size_t n = strlen(prefix);
    memcpy(out, prefix, n + 1);
    while (n > 0) {
        if ((unsigned char)out[n - 1] < 0xff) {
            out[n - 1] = (char)((unsigned char)out[n - 1] + 1);
            out[n] = '\0';
            return n;
        }
        n--;
    }
    /* etcd reads a range_end of one zero byte as "every key from key on" */
    out[0] = '\0';
    return 1;
}

static char *b64(const void *s, size_t n)
{
    char *out = malloc(BASE64_ENCODED_LEN(n) + 1);
    if (out != NULL) {
        base64_encode(s, n, out);
    }
    return out;
}

/* key and range_end of the prefix's range, base64, or -ENOMEM. */
static int range_keys(const char *prefix, char **key, char **end)
{
    char *e = malloc(strlen(prefix) + 2);
    size_t elen;
    *key = *end = NULL;
    if (e == NULL) {
        return -ENOMEM;
    }
    elen = etcd_prefix_end(prefix, e);
    *key = b64(prefix, strlen(prefix));
    *end = b64(e, elen);
    free(e);
    if (*key == NULL || *end == NULL) {
        free(*key);
        free(*end);
        return -ENOMEM;
    }
    return 0;
}

char *etcd_range_body(const char *prefix)
{
    char *key, *end, *out = NULL;
    if (range_keys(prefix, &key, &end) != 0) {
        return NULL;
    }
    if (asprintf(&out, "{\"key\":\"%s\",\"range_end\":\"%s\"}", key, end) < 0) {
        out = NULL;
    }
    free(key);
    free(end);
    return out;
}

char *etcd_count_body(const char *prefix)
{
    char *key, *end, *out = NULL;
    if (range_keys(prefix, &key, &end) != 0) {
        return NULL;
    }
    if (asprintf(&out, "{\"key\":\"%s\",\"range_end\":\"%s\",\"count_only\":true}", key, end) < 0) {
        out = NULL;
    }
    free(key);
    free(end);
    return out;
}

char *etcd_watch_body(const char *prefix, int64_t start_revision)
{
    char *key, *end, *out = NULL;
    if (range_keys(prefix, &key, &end) != 0) {
        return NULL;
    }
    if (asprintf(&out,
                 "{\"create_request\":{\"key\":\"%s\",\"range_end\":\"%s\","
                 "\"start_revision\":\"%lld\"}}",
                 key, end, (long long)start_revision) < 0) {
        out = NULL;
    }
    free(key);
    free(end);
    return out;
}

/* s as a JSON string with its quotes, malloc'd. */
static char *json_str(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = malloc(n * 6 + 3);
    if (out == NULL) {
        return NULL;
    }
    out[o++] = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)sprintf(out + o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

char *etcd_auth_body(const char *user, const char *password)
{
    char *u = json_str(user), *p = json_str(password), *out = NULL;
    if (u != NULL && p != NULL && asprintf(&out, "{\"name\":%s,\"password\":%s}", u, p) < 0) {
        out = NULL;
    }
    free(u);
    free(p);
    return out;
}

/* ---- answers ---- */

/* Parses json into doc; on error e says why (with the parser's first message). */
static int parse_json(struct doc *doc, const char *what, const char *json, size_t len,
                      struct err *e)
{
    struct diags d;
    int rc;
    memset(doc, 0, sizeof *doc);
    if (json == NULL || len == 0) {
        return err_set(e, -EINVAL, "%s: empty", what);
    }
    diags_init(&d);
    rc = doc_parse(doc, what, json, len, 0, &d);
    if (rc == 0 && (doc->root == NULL || doc->root->kind != DOC_MAP)) {
        rc = -EINVAL;
        err_set(e, rc, "%s: expected a JSON object", what);
    } else if (rc != 0) {
        char first[200] = "not JSON";
        if (d.n > 0) {
            snprintf(first, sizeof first, "%s", d.v[0].msg);
        }
        rc = rc == -ENOMEM ? -ENOMEM : -EINVAL;
        err_set(e, rc, "%s: not JSON: %s", what, first);
    }
    diags_fini(&d);
    return rc;
}

/* The scalar under key in map, or NULL (absent, null or not a scalar). */
static const char *scalar(const struct doc_node *map, const char *key)
{
    const struct doc_node *n = doc_map_get(map, key);
    return n != NULL && n->kind == DOC_SCALAR && !doc_is_null(n) ? n->str : NULL;
}

/* An int64 written as a string or a number; absent is 0. */
static int read_i64(const struct doc_node *map, const char *key, int64_t *out, const char *what,
                    struct err *e)
{
    const char *s = scalar(map, key);
    char *end;
    long long v;
    *out = 0;
    if (s == NULL) {
        return 0;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0) {
        return err_set(e, -EINVAL, "%s: %s \"%s\" is not a revision", what, key, s);
    }
    *out = v;
    return 0;
}

/* The base64 field `key` of `obj` decoded into a malloc'd C string. Absent is "". */
static int read_b64(const struct doc_node *obj, const char *key, char **out, const char *what,
                    struct err *e)
{
    const char *s = scalar(obj, key);
    size_t n = s ? strlen(s) : 0, got = 0;
    uint8_t *buf = malloc(BASE64_DECODED_MAX(n) + 1);
    *out = NULL;
    if (buf == NULL) {
        return err_set(e, -ENOMEM, "out of memory");
    }
    if (n > 0 && base64_decode(s, n, buf, &got) != 0) {
        free(buf);
        return err_set(e, -EINVAL, "%s: %s \"%.40s%s\" is not base64", what, key, s,
                       n > 40 ? "..." : "");
    }
    if (memchr(buf, '\0', got) != NULL) {
        free(buf);
        return err_set(e, -EINVAL, "%s: a %s holds a NUL byte", what, key);
    }
    buf[got] = '\0';
    *out = (char *)buf;
    return 0;
}

int etcd_parse_range(const char *json, size_t len, struct etcd_kvs *kvs, int64_t *revision,
                     struct err *e)
{
    const char *what = "etcd range answer";
    struct etcd_kvs fresh = {0};
    struct doc doc;
    const struct doc_node *list;
    int rc = parse_json(&doc, what, json, len, e);
    if (rc != 0) {
        doc_fini(&doc);
        return rc;
    }
    rc = read_i64(doc_map_get(doc.root, "header"), "revision", revision, what, e);
    list = doc_map_get(doc.root, "kvs");
    if (rc == 0 && list != NULL && !doc_is_null(list) && list->kind != DOC_SEQ) {
        rc = err_set(e, -EINVAL, "%s: kvs is not a list", what);
    }
    for (size_t i = 0; rc == 0 && list != NULL && list->kind == DOC_SEQ && i < list->n; i++) {
        char *k = NULL, *v = NULL;
        if ((rc = read_b64(list->items[i], "key", &k, what, e)) == 0 &&
            (rc = read_b64(list->items[i], "value", &v, what, e)) == 0 &&
            (rc = etcd_kvs_put(&fresh, k, v)) != 0) {
            err_set(e, rc, "out of memory");
        }
        free(k);
        free(v);
    }
    doc_fini(&doc);
    if (rc != 0) {
        etcd_kvs_fini(&fresh);
        return rc;
    }
    etcd_kvs_fini(kvs);
    *kvs = fresh;
    return 0;
}

static int read_events(const struct doc_node *list, struct etcd_watch_msg *w, const char *what,
                       struct err *e)
{
    if (list == NULL || doc_is_null(list)) {
        return 0;
    }
    if (list->kind != DOC_SEQ) {
        return err_set(e, -EINVAL, "%s: events is not a list", what);
    }
    w->events = calloc(list->n ? list->n : 1, sizeof *w->events);
    if (w->events == NULL) {
        return err_set(e, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < list->n; i++) {
        const struct doc_node *ev = list->items[i], *kv = doc_map_get(ev, "kv");
        const char *type = scalar(ev, "type");
        struct etcd_event *out = &w->events[w->n_events];
        int rc;
        if (type == NULL || strcmp(type, "PUT") == 0) {
            out->type = ETCD_EVENT_PUT; /* the default value is left out of the JSON */
        } else if (strcmp(type, "DELETE") == 0) {
            out->type = ETCD_EVENT_DELETE;
        } else {
            return err_set(e, -EINVAL, "%s: event type \"%s\"", what, type);
        }
        if (kv == NULL || kv->kind != DOC_MAP) {
            return err_set(e, -EINVAL, "%s: an event without kv", what);
        }
        w->n_events++; /* counted first so _fini frees what the reads below allocate */
        if ((rc = read_b64(kv, "key", &out->key, what, e)) != 0 ||
            (rc = read_b64(kv, "value", &out->value, what, e)) != 0) {
            return rc;
        }
    }
    return 0;
}

int etcd_parse_watch(const char *json, size_t len, struct etcd_watch_msg *out, struct err *e)
{
    const char *what = "etcd watch answer";
    const struct doc_node *res, *errn;
    struct doc doc;
    int rc = parse_json(&doc, what, json, len, e);
    memset(out, 0, sizeof *out);
    if (rc != 0) {
        doc_fini(&doc);
        return rc;
    }
    res = doc_map_get(doc.root, "result");
    errn = doc_map_get(doc.root, "error");
    if (errn != NULL && !doc_is_null(errn)) {
        const char *m = errn->kind == DOC_MAP ? scalar(errn, "message") : scalar(doc.root, "error");
        rc = err_set(e, -EPROTO, "etcd: %s", m ? m : "error in the watch stream");
    } else if (res == NULL || res->kind != DOC_MAP) {
        rc = err_set(e, -EINVAL, "%s: no result", what);
    } else {
        const char *reason = scalar(res, "cancel_reason");
        const char *created = scalar(res, "created"), *canceled = scalar(res, "canceled");
        out->created = created != NULL && strcmp(created, "true") == 0;
        out->canceled = canceled != NULL && strcmp(canceled, "true") == 0;
        if (reason != NULL && (out->cancel_reason = strdup(reason)) == NULL) {
            rc = err_set(e, -ENOMEM, "out of memory");
        }
        if (rc == 0) {
            rc = read_i64(doc_map_get(res, "header"), "revision", &out->revision, what, e);
        }
        if (rc == 0) {
            rc = read_i64(res, "compact_revision", &out->compact_revision, what, e);
        }
        if (rc == 0) {
            rc = read_events(doc_map_get(res, "events"), out, what, e);
        }
    }
    doc_fini(&doc);
    if (rc != 0) {
        etcd_watch_msg_fini(out);
    }
    return rc;
}

void etcd_watch_msg_fini(struct etcd_watch_msg *w)
{
    for (size_t i = 0; i < w->n_events; i++) {
        free(w->events[i].key);
        free(w->events[i].value);
    }
    free(w->events);
    free(w->cancel_reason);
    memset(w, 0, sizeof *w);
}

int etcd_apply_events(struct etcd_kvs *kvs, const struct etcd_watch_msg *w)
{
    int changed = 0;
    for (size_t i = 0; i < w->n_events; i++) {
        const struct etcd_event *ev = &w->events[i];
        const char *old = etcd_kvs_get(kvs, ev->key);
        if (ev->type == ETCD_EVENT_DELETE) {
            if (old != NULL) {
                etcd_kvs_del(kvs, ev->key);
                changed++;
            }
        } else if (old == NULL || strcmp(old, ev->value) != 0) {
            if (etcd_kvs_put(kvs, ev->key, ev->value) != 0) {
                return -ENOMEM;
            }
            changed++;
        }
    }
    return changed;
}

int etcd_parse_auth(const char *json, size_t len, char **token, struct err *e)
{
    struct doc doc;
    const char *t;
    int rc = parse_json(&doc, "etcd authenticate answer", json, len, e);
    *token = NULL;
    if (rc == 0) {
        t = scalar(doc.root, "token");
        if (t == NULL || t[0] == '\0' || strpbrk(t, "\r\n") != NULL) {
            rc = err_set(e, -EINVAL, "etcd authenticate answer: no token");
        } else if ((*token = strdup(t)) == NULL) {
            rc = err_set(e, -ENOMEM, "out of memory");
        }
    }
    doc_fini(&doc);
    return rc;
}

void etcd_error_text(const char *body, size_t len, char *buf, size_t size)
{
    struct doc doc;
    struct err e;
    const char *m = NULL;
    if (parse_json(&doc, "etcd error", body, len, &e) == 0) {
        const struct doc_node *en = doc_map_get(doc.root, "error");
        m = scalar(doc.root, "message");
        if (m == NULL && en != NULL && en->kind == DOC_MAP) {
            m = scalar(en, "message");
        } else if (m == NULL) {
            m = scalar(doc.root, "error");
        }
    }
    if (m != NULL) {
        snprintf(buf, size, "%s", m);
    } else {
        size_t n = len < 120 ? len : 120;
        snprintf(buf, size, "%.*s", (int)n, body ? body : "");
        for (char *p = buf; *p; p++) {
            if ((unsigned char)*p < 0x20) {
                *p = ' ';
            }
        }
    }
    doc_fini(&doc);
}

/* ---- the stream's lines ---- */

int etcd_lines_append(struct etcd_lines *l, const uint8_t *data, size_t len)
{
    if (l->start > 0) { /* drop the lines already read */
        memmove(l->buf, l->buf + l->start, l->len - l->start);
        l->len -= l->start;
        l->start = 0;
    }
    if (l->len + len > l->max) {
        return -EMSGSIZE;
    }
    if (l->len + len + 1 > l->cap) {
        size_t cap = l->cap ? l->cap : 4096;
        char *grown;
        while (cap < l->len + len + 1) {
            cap *= 2;
        }
        if ((grown = realloc(l->buf, cap)) == NULL) {
            return -ENOMEM;
        }
        l->buf = grown;
        l->cap = cap;
    }
    memcpy(l->buf + l->len, data, len);
    l->len += len;
    return 0;
}

const char *etcd_lines_next(struct etcd_lines *l, size_t *len)
{
    while (l->start < l->len) {
        char *line = l->buf + l->start;
        char *nl = memchr(line, '\n', l->len - l->start);
        size_t n;
        if (nl == NULL) {
            return NULL;
        }
        *nl = '\0';
        n = (size_t)(nl - line);
        l->start += n + 1;
        if (n > 0 && line[n - 1] == '\r') {
            line[--n] = '\0';
        }
        if (n > 0) {
            *len = n;
            return line;
        }
    }
    return NULL;
}

void etcd_lines_reset(struct etcd_lines *l)
{
    l->len = l->start = 0;
}

void etcd_lines_fini(struct etcd_lines *l)
{
    free(l->buf);
    memset(l, 0, sizeof *l);
}
