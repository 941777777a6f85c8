/* The middleware pipeline: context, arena, header edits, local replies, and the ops table. */
#include "node/proxy/mw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* ---- ops: one row per middleware type that has a runtime ---- */

static const struct mw_ops *const ops_table[MW_KIND_COUNT] = {
    [MW_ADD_PREFIX] = &mw_add_prefix_ops,
    [MW_HEADERS] = &mw_headers_ops,
    [MW_BASIC_AUTH] = &mw_basic_auth_ops,
    [MW_CONTENT_TYPE] = &mw_content_type_ops,
    [MW_IP_ALLOW_LIST] = &mw_ip_allow_list_ops,
    [MW_IN_FLIGHT_REQ] = &mw_in_flight_req_ops,
    [MW_RATE_LIMIT] = &mw_rate_limit_ops,
    [MW_STRIP_PREFIX] = &mw_strip_prefix_ops,
    [MW_STRIP_PREFIX_REGEX] = &mw_strip_prefix_regex_ops,
    [MW_REPLACE_PATH] = &mw_replace_path_ops,
    [MW_REPLACE_PATH_REGEX] = &mw_replace_path_regex_ops,
    [MW_REDIRECT_SCHEME] = &mw_redirect_scheme_ops,
    [MW_REDIRECT_REGEX] = &mw_redirect_regex_ops,
    [MW_RETRY] = &mw_retry_ops,
    [MW_ERRORS] = &mw_errors_ops,
    [MW_COMPRESS] = &mw_compress_ops,
    [MW_BUFFERING] = &mw_buffering_ops,
    [MW_CHAIN] = NULL, /* flattened at compile time: never reaches a router */
};

const struct mw_ops *mw_ops_of(enum mw_kind kind)
{
    return (unsigned)kind < MW_KIND_COUNT ? ops_table[kind] : NULL;
}

/* ---- arena ---- */

struct mw_chunk {
    struct mw_chunk *next;
    size_t used, cap;
    _Alignas(16) char data[];
};

#define MW_CHUNK 2048

void *mw_alloc(struct mw_ctx *m, size_t n)
{
    struct mw_chunk *ch = m->arena;
    void *p;
    n = (n + 15) & ~(size_t)15;
    if (ch == NULL || ch->cap - ch->used < n) {
        size_t cap = n > MW_CHUNK ? n : MW_CHUNK;
        ch = malloc(sizeof *ch + cap);
        if (ch == NULL) {
            return NULL;
        }
        ch->used = 0;
        ch->cap = cap;
        ch->next = m->arena;
        m->arena = ch;
    }
    p = ch->data + ch->used;
    ch->used += n;
    memset(p, 0, n);
    return p;
}

char *mw_strdup(struct mw_ctx *m, const char *s, size_t n)
{
    char *p = mw_alloc(m, n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* ---- context ---- */

static void pending_cancel(struct mw_pending *p);

struct mw_ctx *mw_ctx_create(const struct table_router *rt, uint64_t now_ms, uint32_t worker)
{
    struct mw_ctx *m = calloc(1, sizeof *m);
    if (m == NULL) {
        return NULL;
    }
    m->router = rt;
    m->now_ms = now_ms;
    m->worker = worker;
    m->scheme = "http";
    m->state = mw_alloc(m, rt->nmws * sizeof *m->state);
    if (m->state == NULL) {
        free(m);
        return NULL;
    }
    return m;
}

void mw_ctx_destroy(struct mw_ctx *m)
{
    if (m == NULL) {
        return;
    }
    if (m->pending != NULL) {
        pending_cancel(m->pending);
        m->pending = NULL;
    }
    for (uint32_t i = 0; i < m->nran; i++) {
        const struct table_middleware *mw = m->router->mws[i];
        const struct mw_ops *o = mw_ops_of(mw->kind);
        if (o != NULL && o->done != NULL) {
            o->done(m, mw, i);
        }
    }
    while (m->arena != NULL) {
        struct mw_chunk *next = m->arena->next;
        free(m->arena);
        m->arena = next;
    }
    free(m->req_edits.v);
    free(m->reply_hdrs.v);
    free(m->resp_edits.v);
    free(m);
}

enum mw_result mw_run_request(struct mw_ctx *m)
{
    while (m->next < m->router->nmws) {
        uint32_t i = m->next++;
        const struct table_middleware *mw = m->router->mws[i];
        const struct mw_ops *o = mw_ops_of(mw->kind);
        enum mw_result r = MW_CONTINUE;
        m->nran = i + 1;
        if (o != NULL && o->request != NULL) {
            r = o->request(m, mw, i);
        }
        if (r == MW_PAUSE && m->pending == NULL) {
            mw_reply(m, 500); /* an op that pauses must have started a wait */
            r = MW_STOP;
        }
        if (r == MW_STOP && m->reply_status == 0) {
            m->reply_status = 500; /* a middleware that stops must say how */
        }
        if (r != MW_CONTINUE) {
            return r;
        }
    }
    return MW_CONTINUE;
}

/* ---- waits (MW_PAUSE) ---- */

struct mw_pending {
    struct mw_ctx *m; /* NULL once the exchange is gone: the wait ends without a resume */
    bool is_timer;
    uv_work_t work;
    uv_timer_t timer;
    void (*work_fn)(void *arg);
    mw_after_fn after;
    void (*free_arg)(void *arg);
    void *arg;
};

static void pending_free(struct mw_pending *p)
{
    if (p->free_arg != NULL) {
        p->free_arg(p->arg);
    }
    free(p);
}

/* The wait is over: let the op decide, then tell the exchange (unless the op waits again). */
static void pending_done(struct mw_pending *p)
{
    struct mw_ctx *m = p->m;
    enum mw_result r;
    if (m == NULL) {
        return;
    }
    m->pending = NULL;
    r = p->after(m, p->arg);
    if (r == MW_PAUSE && m->pending == NULL) {
        mw_reply(m, 500);
        r = MW_STOP;
    }
    if (r == MW_STOP && m->reply_status == 0) {
        m->reply_status = 500;
    }
    if (r != MW_PAUSE) {
        m->resume(m->owner, r);
    }
}

static void on_work(uv_work_t *req)
{
    struct mw_pending *p = req->data;
    p->work_fn(p->arg);
}

static void on_work_done(uv_work_t *req, int status)
{
    struct mw_pending *p = req->data;
    if (status == 0) {
        pending_done(p);
    }
    pending_free(p);
}

static void on_timer_closed(uv_handle_t *h)
{
    pending_free(h->data);
}

static void on_timer(uv_timer_t *t)
{
    struct mw_pending *p = t->data;
    pending_done(p);
    uv_close((uv_handle_t *)&p->timer, on_timer_closed);
}

static struct mw_pending *pending_new(struct mw_ctx *m, mw_after_fn after, void *arg,
                                      void (*free_arg)(void *arg))
{
    struct mw_pending *p;
    if (m->loop == NULL || m->resume == NULL || m->pending != NULL ||
        (p = calloc(1, sizeof *p)) == NULL) {
        if (free_arg != NULL) {
            free_arg(arg);
        }
        return NULL;
    }
    p->m = m;
    p->after = after;
    p->arg = arg;
    p->free_arg = free_arg;
    return p;
}

int mw_pause_work(struct mw_ctx *m, void (*work)(void *arg), mw_after_fn after, void *arg,
                  void (*free_arg)(void *arg))
{
    struct mw_pending *p = pending_new(m, after, arg, free_arg);
    int rc;
    if (p == NULL) {
        return -ENOMEM;
    }
    p->work_fn = work;
    p->work.data = p;
    rc = uv_queue_work(m->loop, &p->work, on_work, on_work_done);
    if (rc != 0) {
        pending_free(p);
        return rc;
    }
    m->pending = p;
    return 0;
}

int mw_pause_timer(struct mw_ctx *m, uint64_t ms, mw_after_fn after, void *arg,
                   void (*free_arg)(void *arg))
{
    struct mw_pending *p = pending_new(m, after, arg, free_arg);
    if (p == NULL) {
        return -ENOMEM;
    }
    p->is_timer = true;
    uv_timer_init(m->loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, on_timer, ms, 0);
    m->pending = p;
    return 0;
}

/* The exchange ended during a wait: no resume. A timer is closed now; work already running on
 * the pool cannot be stopped, so it finishes and frees itself (on_work_done). */
static void pending_cancel(struct mw_pending *p)
{
    p->m = NULL;
    if (p->is_timer) {
        uv_timer_stop(&p->timer);
        uv_close((uv_handle_t *)&p->timer, on_timer_closed);
    } else {
        uv_cancel((uv_req_t *)&p->work);
    }
}

void mw_run_response(struct mw_ctx *m, int status, const struct h1_msg *resp)
{
    m->status = status;
    m->resp = resp;
    for (uint32_t i = m->nran; i-- > 0;) {
        const struct table_middleware *mw = m->router->mws[i];
        const struct mw_ops *o = mw_ops_of(mw->kind);
        if (o != NULL && o->response != NULL) {
            o->response(m, mw, i);
        }
    }
}

/* ---- header edits ---- */

static bool name_eq(const char *a, uint32_t alen, const char *b, uint32_t blen)
{
    return alen == blen && strncasecmp(a, b, alen) == 0;
}

bool mw_hdrs_hides(const struct mw_hdrs *e, const char *name, uint32_t nlen)
{
    for (uint32_t i = 0; e != NULL && i < e->n; i++) {
        if (e->v[i].op != MW_HDR_ADD && name_eq(e->v[i].name, e->v[i].nlen, name, nlen)) {
            return true;
        }
    }
    return false;
}

static bool hdrs_push(struct mw_hdrs *e, const char *name, const char *value, uint8_t op)
{
    uint32_t nlen = (uint32_t)strlen(name);
    if (op != MW_HDR_ADD) {
        for (uint32_t i = 0; i < e->n; i++) {
            if (name_eq(e->v[i].name, e->v[i].nlen, name, nlen)) {
                e->v[i].dead = true;
            }
        }
    }
    if (e->n == e->cap) {
        uint32_t cap = e->cap ? e->cap * 2 : 8;
        struct mw_hdr *v = realloc(e->v, cap * sizeof *v);
        if (v == NULL) {
            return false;
        }
        e->v = v;
        e->cap = cap;
    }
    e->v[e->n++] = (struct mw_hdr){.name = name,
                                   .value = value ? value : "",
                                   .nlen = nlen,
                                   .vlen = value ? (uint32_t)strlen(value) : 0,
                                   .op = op,
                                   .dead = op == MW_HDR_DEL};
    return true;
}

/* The last live SET/ADD of `name` in the edits; *hidden tells whether a SET/DEL hides the
 * received fields. */
static const struct mw_hdr *edit_find(const struct mw_hdrs *e, const char *name, uint32_t nlen,
                                      bool *hidden)
{
    const struct mw_hdr *found = NULL;
    *hidden = false;
    for (uint32_t i = 0; i < e->n; i++) {
        if (!name_eq(e->v[i].name, e->v[i].nlen, name, nlen)) {
            continue;
        }
        if (e->v[i].op != MW_HDR_ADD) {
            *hidden = true;
        }
        if (!e->v[i].dead) {
            found = &e->v[i];
        }
    }
    return found;
}

static const char *msg_get(const struct h1_msg *msg, const char *name, uint32_t nlen,
                           uint32_t *vlen)
{
    for (uint32_t i = 0; msg != NULL && i < msg->nheaders; i++) {
        const struct h1_header *h = &msg->headers[i];
        if (name_eq(h->name, h->name_len, name, nlen)) {
            *vlen = h->value_len;
            return h->value;
        }
    }
    return NULL;
}

static const char *get(const struct mw_hdrs *e, const struct mw_hdrs *base_edits,
                       const struct h1_msg *msg, const char *name, uint32_t *vlen)
{
    uint32_t nlen = (uint32_t)strlen(name), dummy;
    bool hidden = false;
    const struct mw_hdr *h = edit_find(e, name, nlen, &hidden);
    vlen = vlen ? vlen : &dummy;
    if (h != NULL) {
        *vlen = h->vlen;
        return h->value;
    }
    if (hidden) {
        return NULL;
    }
    if (base_edits != NULL) {
        h = edit_find(base_edits, name, nlen, &hidden);
        if (h != NULL) {
            *vlen = h->vlen;
            return h->value;
        }
        if (hidden) {
            return NULL;
        }
    }
    return msg_get(msg, name, nlen, vlen);
}

/* The forwarding fields Traefik deletes from an untrusted peer's request before its
 * middlewares run (forwardedheaders). */
static bool forwarding_field(const char *name)
{
    static const char *const names[] = {
        "X-Forwarded-For",    "X-Forwarded-Proto",       "X-Forwarded-Host",
        "X-Forwarded-Port",   "X-Forwarded-Server",      "X-Forwarded-Uri",
        "X-Forwarded-Method", "X-Forwarded-Prefix",      "X-Forwarded-Tls-Client-Cert",
        "X-Forwarded-Scheme", "X-Forwarded-Tls-Client-Cert-Info", "X-Scheme", "X-Real-Ip"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(name, names[i]) == 0) {
            return true;
        }
    }
    return false;
}

const char *mw_req_get(const struct mw_ctx *m, const char *name, uint32_t *vlen)
{
    const char *v;
    bool fwd;
    if (strcasecmp(name, "host") == 0 && m->host_override != NULL) {
        if (vlen) {
            *vlen = (uint32_t)strlen(m->host_override);
        }
        return m->host_override;
    }
    fwd = !m->fwd_trusted && forwarding_field(name);
    v = get(&m->req_edits, NULL, fwd ? NULL : m->msg, name, vlen);
    if (v != NULL || mw_hdrs_hides(&m->req_edits, name, (uint32_t)strlen(name))) {
        return v;
    }
    /* Traefik's forwarded-headers step sets these when they are absent (or untrusted), before
     * the middlewares run; they see the same values here. */
    if (strcasecmp(name, "X-Real-Ip") == 0) {
        v = m->client_ip;
    } else if (strcasecmp(name, "X-Forwarded-Proto") == 0) {
        v = m->scheme;
    } else if (strcasecmp(name, "X-Forwarded-Host") == 0 && m->authority_len > 0) {
        if (vlen) {
            *vlen = m->authority_len;
        }
        return m->authority;
    } else if (strcasecmp(name, "X-Forwarded-Port") == 0 && m->port != 0) {
        char *pt = ((struct mw_ctx *)m)->port_text; /* a cache inside the context */
        if (pt[0] == '\0') {
            snprintf(pt, sizeof m->port_text, "%u", m->port);
        }
        v = pt;
    }
    if (v != NULL && vlen) {
        *vlen = (uint32_t)strlen(v);
    }
    return v;
}

static bool req_edit(struct mw_ctx *m, const char *name, const char *value, uint8_t op)
{
    if (strcasecmp(name, "host") == 0) {
        if (op != MW_HDR_DEL && value != NULL && value[0] != '\0') {
            m->host_override = value;
        }
        return true;
    }
    if (h1_field_proxy_owned(name)) {
        return true;
    }
    return hdrs_push(&m->req_edits, name, value, op);
}

bool mw_req_set(struct mw_ctx *m, const char *name, const char *value)
{
    return req_edit(m, name, value, MW_HDR_SET);
}

bool mw_req_add(struct mw_ctx *m, const char *name, const char *value)
{
    return req_edit(m, name, value, MW_HDR_ADD);
}

bool mw_req_del(struct mw_ctx *m, const char *name)
{
    return req_edit(m, name, NULL, MW_HDR_DEL);
}

void mw_set_path(struct mw_ctx *m, const char *path, uint32_t len)
{
    m->path = path;
    m->path_len = len;
    m->target_changed = true;
}

void mw_set_query(struct mw_ctx *m, const char *query, uint32_t len)
{
    m->query = query;
    m->query_len = query ? len : 0;
    m->target_changed = true;
}

void mw_reply(struct mw_ctx *m, int status)
{
    m->reply_status = status;
}

bool mw_reply_header(struct mw_ctx *m, const char *name, const char *value)
{
    return h1_field_proxy_owned(name) || hdrs_push(&m->reply_hdrs, name, value, MW_HDR_ADD);
}

void mw_reply_body(struct mw_ctx *m, const char *body, uint32_t len)
{
    m->reply_body = body;
    m->reply_len = len;
}

const char *mw_resp_get(const struct mw_ctx *m, const char *name, uint32_t *vlen)
{
    if (m->resp == NULL) {
        return get(&m->resp_edits, &m->reply_hdrs, NULL, name, vlen);
    }
    return get(&m->resp_edits, NULL, m->resp, name, vlen);
}

bool mw_resp_set(struct mw_ctx *m, const char *name, const char *value)
{
    return h1_field_proxy_owned(name) || hdrs_push(&m->resp_edits, name, value, MW_HDR_SET);
}

bool mw_resp_add(struct mw_ctx *m, const char *name, const char *value)
{
    return h1_field_proxy_owned(name) || hdrs_push(&m->resp_edits, name, value, MW_HDR_ADD);
}

bool mw_resp_del(struct mw_ctx *m, const char *name)
{
    return h1_field_proxy_owned(name) || hdrs_push(&m->resp_edits, name, NULL, MW_HDR_DEL);
}

/* ---- local replies ---- */

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "";
    }
}

static size_t hdrs_size(const struct mw_hdrs *e)
{
    size_t n = 0;
    for (uint32_t i = 0; i < e->n; i++) {
        n += e->v[i].nlen + e->v[i].vlen + 4;
    }
    return n;
}

static size_t put_hdrs(char *p, const struct mw_hdrs *e, const struct mw_hdrs *hide)
{
    size_t n = 0;
    for (uint32_t i = 0; i < e->n; i++) {
        const struct mw_hdr *h = &e->v[i];
        if (h->dead || h->op == MW_HDR_DEL || (hide && mw_hdrs_hides(hide, h->name, h->nlen))) {
            continue;
        }
        memcpy(p + n, h->name, h->nlen);
        n += h->nlen;
        memcpy(p + n, ": ", 2);
        n += 2;
        memcpy(p + n, h->value, h->vlen);
        n += h->vlen;
        memcpy(p + n, "\r\n", 2);
        n += 2;
    }
    return n;
}

char *mw_build_reply(const struct mw_ctx *m, bool close, uint32_t *len)
{
    size_t cap = 200 + hdrs_size(&m->reply_hdrs) + hdrs_size(&m->resp_edits) + m->reply_len;
    char *p = malloc(cap);
    size_t n;
    bool bodiless = m->reply_status == 204 || m->reply_status == 304;
    /* A reply to HEAD states the length of the body it does not carry. */
    bool head = m->method_len == 4 && memcmp(m->method, "HEAD", 4) == 0;
    if (p == NULL) {
        return NULL;
    }
    n = (size_t)snprintf(p, cap, "HTTP/1.1 %03d %s\r\n", m->reply_status, reason(m->reply_status));
    n += put_hdrs(p + n, &m->reply_hdrs, &m->resp_edits);
    n += put_hdrs(p + n, &m->resp_edits, NULL);
    if (!bodiless) {
        n += (size_t)snprintf(p + n, cap - n, "Content-Length: %u\r\n", m->reply_len);
    }
    if (close) {
        n += (size_t)snprintf(p + n, cap - n, "Connection: close\r\n");
    }
    memcpy(p + n, "\r\n", 2);
    n += 2;
    if (!bodiless && !head && m->reply_len > 0) {
        memcpy(p + n, m->reply_body, m->reply_len);
        n += m->reply_len;
    }
    *len = (uint32_t)n;
    return p;
}

/* ---- shared state ---- */

void *mw_runtime(const struct table_middleware *mw, void *(*create)(const struct table_middleware *),
                 void (*destroy)(void *))
{
    struct table_middleware *t = (struct table_middleware *)mw; /* only `runtime` changes */
    void *cur = atomic_load_explicit(&t->runtime, memory_order_acquire);
    void *mine;
    if (cur != NULL) {
        return cur;
    }
    mine = create(mw);
    if (mine == NULL) {
        return NULL;
    }
    /* runtime_free is written before the pointer is published, and only by the winner. */
    if (atomic_compare_exchange_strong(&t->runtime, &cur, mine)) {
        t->runtime_free = destroy;
        return mine;
    }
    destroy(mine);
    return cur;
}

/* ---- client address (ipStrategy) ---- */

static bool parse_ip(const char *s, size_t n, int *family, uint8_t addr[16])
{
    char tmp[64];
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        n--;
    }
    if (n == 0 || n >= sizeof tmp) {
        return false;
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, tmp, addr) == 1) {
        *family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, tmp, addr) == 1) {
        *family = AF_INET6;
        return true;
    }
    return false;
}

static bool excluded(const struct mwc_ip_strategy *ip, int family, const uint8_t *addr)
{
    for (uint32_t i = 0; i < ip->nexcluded; i++) {
        if (cidr_contains(&ip->excluded[i], family, addr)) {
            return true;
        }
    }
    return false;
}

/* X-Forwarded-For read from the right, one comma-separated item at a time, across every line
 * of the field (several lines are one list, RFC 9110 §5.3; Traefik reads only the first line,
 * which lets a client hide what a proxy appended as a second line). Reading from the right
 * needs no bound on the number of items: the rightmost ones are those the trusted hops
 * appended, and a client padding the field with junk on the left cannot push them out. */
struct xff_iter {
    const struct h1_msg *msg;
    uint32_t line; /* the next line to read, counting down; 0: none left */
    const char *v; /* the current line */
    uint32_t end;  /* unread bytes of the current line: v[0..end) */
    bool open;     /* the current line still has an item */
};

static bool xff_prev(struct xff_iter *it, const char **p, uint32_t *n)
{
    while (!it->open) {
        const struct h1_header *h;
        if (it->msg == NULL || it->line == 0) {
            return false;
        }
        h = &it->msg->headers[--it->line];
        if (name_eq(h->name, h->name_len, "x-forwarded-for", 15)) {
            it->v = h->value;
            it->end = h->value_len;
            it->open = true;
        }
    }
    uint32_t k = it->end;
    while (k > 0 && it->v[k - 1] != ',') {
        k--;
    }
    *p = it->v + k;
    *n = it->end - k;
    if (k == 0) {
        it->open = false;
    } else {
        it->end = k - 1;
    }
    return true;
}

static bool blank(const char *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t') {
            return false;
        }
    }
    return true;
}

/* Semantics (Traefik's ipStrategy docs): depth > 0 takes the depth-th item from the right and
 * ignores excludedIPs; fewer items means no client address. Otherwise excludedIPs takes the
 * first item from the right that is not excluded (blank items skipped); an item that is not an
 * IP is not excluded either, so it is chosen and yields no address, rather than being skipped
 * (skipping would let junk steer the choice further left). ipv6Subnet applies to the peer and
 * depth strategies only, as Traefik documents. An IPv4-mapped IPv6 address (a dual-stack
 * listener's IPv4 peer, or such an item) is treated as the IPv4 address, so that ipv6Subnet
 * cannot merge every IPv4 client into one source. */
bool mw_client_ip(const struct mw_ctx *m, const struct mwc_ip_strategy *ip, char *buf,
                  size_t size, int *family, uint8_t addr[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    bool subnet = true;
    *family = m->client_family;
    memcpy(addr, m->client_addr, 16);
    if (ip != NULL && (ip->depth > 0 || ip->nexcluded > 0)) {
        /* An untrusted peer's X-Forwarded-For is not there for Traefik (mw_req_get). */
        const struct h1_msg *msg = m->fwd_trusted ? m->msg : NULL;
        struct xff_iter it = {.msg = msg, .line = msg ? msg->nheaders : 0};
        const char *p = NULL;
        uint32_t n = 0, seen = 0;
        bool found = false;
        if (ip->depth > 0) {
            while (seen < ip->depth && xff_prev(&it, &p, &n)) {
                seen++;
            }
            found = seen == ip->depth && parse_ip(p, n, family, addr);
        } else {
            subnet = false;
            while (xff_prev(&it, &p, &n)) {
                if (blank(p, n)) {
                    continue;
                }
                found = parse_ip(p, n, family, addr);
                if (!found || !excluded(ip, *family, addr)) {
                    break;
                }
                found = false;
            }
        }
        if (!found) {
            return false;
        }
    }
    if (*family == AF_INET6 && memcmp(addr, mapped, 12) == 0) {
        memmove(addr, addr + 12, 4);
        memset(addr + 4, 0, 12);
        *family = AF_INET;
    }
    if (subnet && ip != NULL && ip->ipv6_subnet > 0 && *family == AF_INET6) {
        for (uint32_t b = ip->ipv6_subnet; b < 128; b++) {
            addr[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
        }
    }
    return inet_ntop(*family, addr, buf, (socklen_t)size) != NULL;
}
