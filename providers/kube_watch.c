/* List+watch of Kubernetes resources into stores, and the provider built on it (kube_watch.h).
 *
 * Objects are kept as nodes of the parsed JSON document they came in (a List answer holds many,
 * a watch event one); each document is refcounted by the objects that live in it, so a relist
 * frees the previous List once none of its objects remains. */
#include "providers/kube_watch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/http/fetch.h"
#include "providers/decode.h"
#include "providers/doc.h"

#define DEBOUNCE_MS 50
#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 5000
#define WATCH_SECONDS 300 /* timeoutSeconds of a watch; the server ends it, we restart */
#define MAX_LIST_BYTES (256u << 20)
#define MAX_LINE_BYTES (16u << 20)

/* ---- stores ---- */

struct kdoc {
    struct doc doc;
    size_t refs;
};

struct kobj {
    char *key; /* "namespace/name" */
    struct kdoc *doc;
    const struct doc_node *node;
};

enum wstate { W_IDLE, W_LIST, W_WATCH };

struct watcher {
    struct provider *p;
    const struct kube_resource *res;
    const char *ns; /* NULL: all namespaces (borrowed from the static config) */
    struct kobj *objs;
    size_t n, cap;
    char rv[128];
    bool listed, failing, gone, rewatch;
    enum wstate state;
    struct fetch *f;
    uv_timer_t retry;
    uint64_t backoff_ms;
    int watch_status;
    size_t watch_events;
    char *line;
    size_t llen, lcap;
};

struct provider {
    uv_loop_t *loop;
    const struct kube_provider_def *def;
    const struct kube_provider_config *kc;
    struct kube_api api;
    provider_emit_fn emit;
    void *arg;
    struct watcher *w;
    size_t nw;
    uv_timer_t debounce;
    char last_reason[400]; /* of the last error emitted; "" once a Config is emitted */
    size_t open_handles;
    bool stopped;
};

static void kdoc_unref(struct kdoc *k)
{
    if (k != NULL && --k->refs == 0) {
        doc_fini(&k->doc);
        free(k);
    }
}

static const char *meta(const struct doc_node *obj, const char *key)
{
    const struct doc_node *v = doc_map_get(doc_map_get(obj, "metadata"), key);
    return v != NULL && v->kind == DOC_SCALAR ? v->str : NULL;
}

static char *obj_key(const struct doc_node *obj)
{
    const char *ns = meta(obj, "namespace"), *name = meta(obj, "name");
    char *k;
    if (name == NULL) {
        return NULL;
    }
    k = malloc(strlen(ns ? ns : "") + strlen(name) + 2);
    if (k != NULL) {
        sprintf(k, "%s/%s", ns ? ns : "", name);
    }
    return k;
}

static void store_clear(struct watcher *wt)
{
    for (size_t i = 0; i < wt->n; i++) {
        free(wt->objs[i].key);
        kdoc_unref(wt->objs[i].doc);
    }
    wt->n = 0;
}

/* Appends the object (key taken; a reference to k taken): a List's keys are unique. */
static void store_append(struct watcher *wt, char *key, struct kdoc *k, const struct doc_node *node)
{
    if (wt->n == wt->cap) {
        wt->cap = wt->cap ? wt->cap * 2 : 16;
        wt->objs = realloc(wt->objs, wt->cap * sizeof *wt->objs);
        if (wt->objs == NULL) {
            abort();
        }
    }
    k->refs++;
    wt->objs[wt->n++] = (struct kobj){key, k, node};
}

/* Adds or replaces the object (key taken; a reference to k taken). Linear in the store's
 * size per event (a hash would serve stores of many thousands of objects better). */
static void store_put(struct watcher *wt, char *key, struct kdoc *k, const struct doc_node *node)
{
    for (size_t i = 0; i < wt->n; i++) {
        if (strcmp(wt->objs[i].key, key) == 0) {
            free(key);
            kdoc_unref(wt->objs[i].doc);
            k->refs++;
            wt->objs[i].doc = k;
            wt->objs[i].node = node;
            return;
        }
    }
    store_append(wt, key, k, node);
}

static void store_del(struct watcher *wt, const char *key)
{
    for (size_t i = 0; i < wt->n; i++) {
        if (strcmp(wt->objs[i].key, key) == 0) {
            free(wt->objs[i].key);
            kdoc_unref(wt->objs[i].doc);
            wt->objs[i] = wt->objs[--wt->n];
            return;
        }
    }
}

/* ---- emissions ---- */

static void on_debounce(uv_timer_t *t)
{
    struct provider *p = t->data;
    struct kube_objs objs;
    Concord__Config__Config *cfg = NULL;
    struct diags d;
    for (size_t i = 0; i < p->nw; i++) {
        if (!p->w[i].listed || p->w[i].failing) {
            return; /* a partial view must not withdraw routes; the last list re-arms us */
        }
    }
    memset(&objs, 0, sizeof objs);
    for (size_t i = 0; i < p->nw; i++) {
        struct kube_list *l = &objs.k[p->w[i].res->kind];
        for (size_t j = 0; j < p->w[i].n; j++) {
            if (l->n == l->cap) {
                l->cap = l->cap ? l->cap * 2 : 16;
                l->v = realloc(l->v, l->cap * sizeof *l->v);
                if (l->v == NULL) {
                    abort();
                }
            }
            l->v[l->n++] = p->w[i].objs[j].node;
        }
    }
    diags_init(&d);
    p->def->decode(&objs, p->kc, &cfg, &d);
    kube_objs_fini(&objs);
    p->last_reason[0] = '\0';
    p->emit(p->arg, cfg, NULL, 0, NULL, &d);
    diags_fini(&d);
}

/* The first change arms the timer and later ones join it, so a steady stream of events still
 * gives an emission every DEBOUNCE_MS. */
static void changed(struct provider *p)
{
    if (!uv_is_active((uv_handle_t *)&p->debounce)) {
        uv_timer_start(&p->debounce, on_debounce, DEBOUNCE_MS, 0);
    }
}

/* ---- requests ---- */

static void start_list(struct watcher *wt);
static void start_watch(struct watcher *wt);

static void on_retry(uv_timer_t *t)
{
    struct watcher *wt = t->data;
    if (wt->rewatch) {
        wt->rewatch = false;
        start_watch(wt);
    } else {
        start_list(wt);
    }
}

__attribute__((format(printf, 2, 3))) static void fail(struct watcher *wt, const char *fmt, ...)
{
    struct provider *p = wt->p;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    wt->failing = true;
    wt->rewatch = false;
    wt->state = W_IDLE;
    wt->backoff_ms = wt->backoff_ms ? wt->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (wt->backoff_ms > BACKOFF_MAX_MS) {
        wt->backoff_ms = BACKOFF_MAX_MS;
    }
    uv_timer_start(&wt->retry, on_retry, wt->backoff_ms, 0);
    /* once per distinct reason until the next emission: an API that is down is not a log line
     * per resource and retry */
    const char *reason = strstr(msg, ": ");
    reason = reason ? reason + 2 : msg;
    if (strcmp(reason, p->last_reason) != 0) {
        snprintf(p->last_reason, sizeof p->last_reason, "%s", reason);
        p->emit(p->arg, NULL, NULL, 0, msg, NULL);
    }
}

/* The resource's path: /api/v1[/namespaces/NS]/services or /apis/G/V[/namespaces/NS]/P. */
static void res_path(const struct watcher *wt, char *out, size_t size)
{
    const struct kube_resource *r = wt->res;
    char nsp[300] = "";
    if (r->namespaced && wt->ns != NULL) {
        snprintf(nsp, sizeof nsp, "/namespaces/%s", wt->ns);
    }
    if (r->group[0] == '\0') {
        snprintf(out, size, "%s/api/%s%s/%s", wt->p->api.prefix, r->version, nsp, r->plural);
    } else {
        snprintf(out, size, "%s/apis/%s/%s%s/%s", wt->p->api.prefix, r->group, r->version, nsp,
                 r->plural);
    }
}

/* "&labelSelector=..." percent-encoded, or "". */
static void selector_param(const struct watcher *wt, char *out, size_t size)
{
    const char *s = wt->p->kc->label_selector;
    size_t n;
    out[0] = '\0';
    if (!wt->res->selected || s == NULL || s[0] == '\0') {
        return;
    }
    n = (size_t)snprintf(out, size, "&labelSelector=");
    for (; *s != '\0' && n + 4 < size; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            out[n++] = (char)ch;
        } else {
            n += (size_t)sprintf(out + n, "%%%02X", ch);
        }
    }
    out[n] = '\0';
}

/* The Authorization header line into out (token file re-read each time), "" for none. */
static const char *auth_header(struct provider *p, char *out, size_t size)
{
    const char *tok = p->api.token;
    char *data = NULL;
    size_t len = 0;
    out[0] = '\0';
    if (p->api.token_file[0] != '\0' && doc_read_file(p->api.token_file, &data, &len) == 0) {
        while (len > 0 &&
               (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' ')) {
            data[--len] = '\0';
        }
        tok = data;
    }
    if (tok[0] != '\0') {
        snprintf(out, size, "Authorization: Bearer %s", tok);
    }
    free(data);
    return out[0] ? out : NULL;
}

static int kreq(struct watcher *wt, const char *target, bool stream, fetch_cb cb,
                void (*on_data)(void *, const struct fetch_resp *, const uint8_t *, size_t))
{
    char auth[4200];
    const char *hdrs[3] = {"Accept: application/json", NULL, NULL};
    struct fetch_req req;
    hdrs[1] = auth_header(wt->p, auth, sizeof auth);
    memset(&req, 0, sizeof req);
    req.address = wt->p->api.address;
    req.tls = wt->p->api.tls;
    req.server_name = wt->p->api.server_name[0] ? wt->p->api.server_name : NULL;
    req.method = "GET";
    req.target = target;
    req.headers = hdrs;
    req.timeout_ms = stream ? 30000 : 60000; /* a list: the whole answer */
    if (stream) {
        req.on_data = on_data;
        req.idle_timeout_ms = (WATCH_SECONDS + 60) * 1000ull;
    } else {
        req.max_body = MAX_LIST_BYTES;
    }
    return fetch_start(wt->p->loop, &req, cb, wt, &wt->f);
}

static const char *status_hint(int status)
{
    return status == 401   ? " (unauthorized: check the token)"
           : status == 403 ? " (forbidden: check the RBAC, deploy/kubernetes/rbac.yaml)"
                           : "";
}

static void on_listed(void *arg, int rc, const struct fetch_resp *r)
{
    struct watcher *wt = arg;
    struct kdoc *k;
    struct diags d;
    const struct doc_node *items;
    const char *rv;
    wt->f = NULL;
    if (rc == -ECANCELED || wt->p->stopped) {
        return;
    }
    if (rc != 0) {
        fail(wt, "list %s: %s", wt->res->plural, fetch_strerror(rc));
        return;
    }
    if (r->status != 200) {
        fail(wt, "list %s: HTTP %d%s", wt->res->plural, r->status, status_hint(r->status));
        return;
    }
    k = calloc(1, sizeof *k);
    if (k == NULL) {
        fail(wt, "list %s: out of memory", wt->res->plural);
        return;
    }
    diags_init(&d);
    rc = doc_parse(&k->doc, wt->res->plural, (const char *)r->body, r->body_len, 0, &d);
    diags_fini(&d);
    items = doc_map_get(k->doc.root, "items");
    rv = meta(k->doc.root, "resourceVersion");
    if (rc != 0 || rv == NULL || (items != NULL && items->kind != DOC_SEQ && !doc_is_null(items))) {
        doc_fini(&k->doc);
        free(k);
        fail(wt, "list %s: not a Kubernetes List", wt->res->plural);
        return;
    }
    k->refs = 1; /* ours during the swap */
    store_clear(wt);
    for (size_t i = 0; items != NULL && items->kind == DOC_SEQ && i < items->n; i++) {
        char *key = obj_key(items->items[i]);
        if (key != NULL) {
            store_append(wt, key, k, items->items[i]);
        }
    }
    snprintf(wt->rv, sizeof wt->rv, "%s", rv); /* before: k may go with the last reference */
    kdoc_unref(k);
    wt->listed = true;
    wt->failing = false;
    wt->backoff_ms = 0;
    changed(wt->p);
    start_watch(wt);
}

static void start_list(struct watcher *wt)
{
    char path[1024], sel[600], target[1700];
    int rc;
    res_path(wt, path, sizeof path);
    selector_param(wt, sel, sizeof sel);
    snprintf(target, sizeof target, "%s%s%s", path, sel[0] ? "?" : "", sel[0] ? sel + 1 : "");
    wt->state = W_LIST;
    wt->gone = false;
    rc = kreq(wt, target, false, on_listed, NULL);
    if (rc != 0) {
        wt->f = NULL;
        fail(wt, "list %s: %s", wt->res->plural, fetch_strerror(rc));
    }
}

/* One watch event line. Returns false when the watch must stop (410: relist; else failed). */
static bool on_event(struct watcher *wt, const char *line, size_t len)
{
    struct kdoc *k = calloc(1, sizeof *k);
    struct diags d;
    const struct doc_node *type, *obj;
    const char *rv;
    int rc;
    if (k == NULL) {
        fail(wt, "watch %s: out of memory", wt->res->plural);
        return false;
    }
    diags_init(&d);
    rc = doc_parse(&k->doc, wt->res->plural, line, len, 0, &d);
    diags_fini(&d);
    type = doc_map_get(k->doc.root, "type");
    obj = doc_map_get(k->doc.root, "object");
    if (rc != 0 || type == NULL || type->kind != DOC_SCALAR || obj == NULL ||
        obj->kind != DOC_MAP) {
        doc_fini(&k->doc);
        free(k);
        /* an event we cannot read may be a change we would miss: start again from a list */
        fail(wt, "watch %s: an event that is not a JSON watch event", wt->res->plural);
        return false;
    }
    k->refs = 1;
    wt->watch_events++;
    rv = meta(obj, "resourceVersion");
    if (strcmp(type->str, "ERROR") == 0) {
        const struct doc_node *code = doc_map_get(obj, "code"), *msg = doc_map_get(obj, "message");
        bool gone = code != NULL && code->kind == DOC_SCALAR && strcmp(code->str, "410") == 0;
        if (!gone) {
            char m[300];
            snprintf(m, sizeof m, "%s", msg && msg->kind == DOC_SCALAR ? msg->str : "?");
            kdoc_unref(k);
            wt->gone = false;
            fail(wt, "watch %s: error event: %s", wt->res->plural, m);
            return false;
        }
        kdoc_unref(k);
        wt->gone = true;
        return false;
    }
    if (rv != NULL) {
        snprintf(wt->rv, sizeof wt->rv, "%s", rv);
    }
    if (strcmp(type->str, "ADDED") == 0 || strcmp(type->str, "MODIFIED") == 0) {
        char *key = obj_key(obj);
        if (key != NULL) {
            store_put(wt, key, k, obj);
            changed(wt->p);
        }
    } else if (strcmp(type->str, "DELETED") == 0) {
        char *key = obj_key(obj);
        if (key != NULL) {
            store_del(wt, key);
            free(key);
            changed(wt->p);
        }
    }
    kdoc_unref(k);
    return true;
}

static void on_watch_data(void *arg, const struct fetch_resp *head, const uint8_t *data, size_t len)
{
    struct watcher *wt = arg;
    size_t start = 0;
    if (data == NULL) {
        wt->watch_status = head->status;
        return;
    }
    if (wt->watch_status != 200) {
        return; /* a Status body: the end callback decides */
    }
    if (wt->llen + len > MAX_LINE_BYTES) {
        fetch_cancel(wt->f); /* our end callback sees the state and fails */
        return;
    }
    if (wt->llen + len + 1 > wt->lcap) {
        wt->lcap = (wt->llen + len + 1) * 2;
        wt->line = realloc(wt->line, wt->lcap);
        if (wt->line == NULL) {
            abort();
        }
    }
    memcpy(wt->line + wt->llen, data, len);
    wt->llen += len;
    for (size_t i = 0; i < wt->llen; i++) {
        if (wt->line[i] != '\n') {
            continue;
        }
        if (i > start && !on_event(wt, wt->line + start, i - start)) {
            wt->llen = 0;
            if (wt->f != NULL) {
                fetch_cancel(wt->f); /* the end callback relists (gone) or has failed */
            }
            return;
        }
        start = i + 1;
    }
    memmove(wt->line, wt->line + start, wt->llen - start);
    wt->llen -= start;
}

static void on_watch_end(void *arg, int rc, const struct fetch_resp *r)
{
    struct watcher *wt = arg;
    (void)r;
    wt->f = NULL;
    wt->llen = 0;
    if (wt->p->stopped || wt->state != W_WATCH) {
        return; /* stopped, or an error event already failed (and scheduled a relist) */
    }
    if (wt->gone || (rc == 0 && wt->watch_status == 410)) {
        start_list(wt); /* resourceVersion too old: relist */
        return;
    }
    if (rc == -ECANCELED) {
        fail(wt, "watch %s: an event line over %u bytes", wt->res->plural, MAX_LINE_BYTES);
        return;
    }
    if (rc != 0) {
        fail(wt, "watch %s: %s", wt->res->plural, fetch_strerror(rc));
        return;
    }
    if (wt->watch_status != 200) {
        fail(wt, "watch %s: HTTP %d%s", wt->res->plural, wt->watch_status,
             status_hint(wt->watch_status));
        return;
    }
    if (wt->watch_events == 0) {
        /* ended at once with nothing: wait a little, so a server that does so does not spin us */
        wt->state = W_IDLE;
        wt->rewatch = true;
        uv_timer_start(&wt->retry, on_retry, BACKOFF_MIN_MS, 0);
        return;
    }
    wt->backoff_ms = 0;
    start_watch(wt); /* a normal end (timeoutSeconds, server restart): go on from rv */
}

static void start_watch(struct watcher *wt)
{
    char path[1024], sel[600], target[2000];
    int rc;
    res_path(wt, path, sizeof path);
    selector_param(wt, sel, sizeof sel);
    snprintf(target, sizeof target,
             "%s?watch=1&resourceVersion=%s&allowWatchBookmarks=true&timeoutSeconds=%d%s", path,
             wt->rv, WATCH_SECONDS, sel);
    wt->state = W_WATCH;
    wt->gone = false;
    wt->watch_status = 0;
    wt->watch_events = 0;
    rc = kreq(wt, target, true, on_watch_end, on_watch_data);
    if (rc != 0) {
        wt->f = NULL;
        fail(wt, "watch %s: %s", wt->res->plural, fetch_strerror(rc));
    }
}

/* ---- the provider ---- */

int kube_provider_start(const struct kube_provider_def *def, const struct kube_provider_config *kc,
                        uv_loop_t *loop, provider_emit_fn emit, void *arg, struct provider **out,
                        struct err *e)
{
    struct provider *p = calloc(1, sizeof *p);
    size_t nns = kc->n_namespaces ? kc->n_namespaces : 1;
    int rc;
    if (p == NULL) {
        return err_set(e, -ENOMEM, "out of memory");
    }
    rc = kube_api_resolve(kc, &p->api, e);
    if (rc != 0) {
        kube_api_fini(&p->api);
        free(p);
        return rc;
    }
    p->loop = loop;
    p->def = def;
    p->kc = kc;
    p->emit = emit;
    p->arg = arg;
    p->w = calloc(def->nres * nns, sizeof *p->w);
    if (p->w == NULL) {
        kube_api_fini(&p->api);
        free(p);
        return err_set(e, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < def->nres; i++) {
        /* a cluster-scoped resource, or all namespaces: one watcher; else one per namespace */
        size_t per = def->res[i].namespaced ? nns : 1;
        for (size_t j = 0; j < per; j++) {
            struct watcher *wt = &p->w[p->nw++];
            wt->p = p;
            wt->res = &def->res[i];
            wt->ns = def->res[i].namespaced && kc->n_namespaces ? kc->namespaces[j] : NULL;
            uv_timer_init(loop, &wt->retry);
            wt->retry.data = wt;
            p->open_handles++;
        }
    }
    uv_timer_init(loop, &p->debounce);
    p->debounce.data = p;
    p->open_handles++;
    for (size_t i = 0; i < p->nw; i++) {
        uv_timer_start(&p->w[i].retry, on_retry, 0, 0); /* the first lists, next iteration */
    }
    *out = p;
    return 0;
}

static void release(struct provider *p)
{
    if (--p->open_handles > 0) {
        return;
    }
    for (size_t i = 0; i < p->nw; i++) {
        store_clear(&p->w[i]);
        free(p->w[i].objs);
        free(p->w[i].line);
    }
    free(p->w);
    kube_api_fini(&p->api);
    free(p);
}

static void on_retry_closed(uv_handle_t *h)
{
    release(((struct watcher *)h->data)->p);
}

static void on_debounce_closed(uv_handle_t *h)
{
    release(h->data);
}

void kube_provider_stop(struct provider *p)
{
    p->stopped = true;
    for (size_t i = 0; i < p->nw; i++) {
        if (p->w[i].f != NULL) {
            fetch_cancel(p->w[i].f); /* its callback fires now and sees `stopped` */
        }
    }
    for (size_t i = 0; i < p->nw; i++) {
        uv_close((uv_handle_t *)&p->w[i].retry, on_retry_closed);
    }
    uv_close((uv_handle_t *)&p->debounce, on_debounce_closed);
}
