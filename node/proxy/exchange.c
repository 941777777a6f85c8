/* One request/response exchange: route, pick a server, send the re-serialised request head
 * and body upstream, stream the response back re-framed for the client, and decide whether
 * each side may be reused. Backpressure: a side stops reading while the write it feeds is
 * pending, so memory per exchange is bounded by two buffers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/base/log.h"
#include "node/http/uri.h"
#include "node/proxy/headers.h"
#include "node/proxy/mw.h"
#include "node/proxy/mw_flow.h"
#include "node/proxy/proxy-int.h"

static const char CRLF[] = "\r\n";
static const char LAST_CHUNK[] = "0\r\n\r\n";

static void client_read(struct conn *c, bool on)
{
    if (on) {
        conn_read_start(c);
    } else {
        conn_read_stop(c);
    }
}

static void held_free(struct held *h);

static void exchange_clear(struct conn *c)
{
    struct exchange *x = &c->x;
    flow_end(x);
    free(x->head);
    free(x->rhead);
    free(x->buf);
    mw_ctx_destroy(x->mw); /* cancels a middleware's wait */
    held_free(x->held);
    if (x->table != NULL) {
        table_unref(x->table);
    }
    memset(x, 0, sizeof *x);
}

void exchange_abort(struct conn *c)
{
    if (c->x.up != NULL) {
        c->x.up->owner = NULL;
        upstream_close(c->x.up);
    }
    exchange_clear(c);
}

static bool has_token_header(const struct h1_msg *m, const char *name, const char *token)
{
    size_t tl = strlen(token);
    for (uint32_t i = 0; i < m->nheaders; i++) {
        const struct h1_header *h = &m->headers[i];
        if (h->name_len != strlen(name) || strncasecmp(h->name, name, h->name_len) != 0) {
            continue;
        }
        for (uint32_t p = 0; p + tl <= h->value_len; p++) {
            if (strncasecmp(h->value + p, token, tl) == 0) {
                bool left = p == 0 || h->value[p - 1] == ',' || h->value[p - 1] == ' ';
                bool right = p + tl == h->value_len || h->value[p + tl] == ',' ||
                             h->value[p + tl] == ' ';
                if (left && right) {
                    return true;
                }
            }
        }
    }
    return false;
}

/* Requests answered here, before routing: TRACE (disabled, F7), OPTIONS with Max-Forwards 0,
 * unknown expectations (F6), loops through ourselves (F8). Returns a status or 0. */
static int early_status(const struct conn *c, const struct h1_msg *m)
{
    const struct h1_header *mf;
    if (m->method == H1_M_TRACE) {
        return 405;
    }
    if (m->flags & H1_F_EXPECT_OTHER) {
        return 417;
    }
    if (m->method == H1_M_OPTIONS && (mf = h1_find(m, "max-forwards")) != NULL &&
        mf->value_len == 1 && mf->value[0] == '0') {
        return 200;
    }
    if (has_token_header(m, "via", c->w->proxy->via_id)) {
        return 400;
    }
    if (m->body == H1_BODY_LENGTH && c->ep->max_body > 0 && m->content_length > c->ep->max_body) {
        return 413;
    }
    return 0;
}

static bool is_idempotent(enum h1_method m)
{
    return m == H1_M_GET || m == H1_M_HEAD || m == H1_M_OPTIONS || m == H1_M_PUT ||
           m == H1_M_DELETE;
}

/* Chooses the server through the router's service (balance.h): weighted, failover and
 * mirroring services, sticky cookies. Records the choice in x->pick (the loadBalancer whose
 * settings apply, the cookies to set, the mirrors to copy to). NULL: no server (503). */
static const struct table_server *pick_server(struct conn *c, const struct h1_msg *m,
                                              const struct table_service *s)
{
    struct bal_pick *p = &c->x.pick;
    if (exchange_balance_pick(c, s, m->headers, m->nheaders, 0, p) != 0) {
        return NULL;
    }
    return p->server;
}

int exchange_balance_pick(struct conn *c, const struct table_service *s,
                          const struct h1_header *hdrs, uint32_t nhdrs, int skip,
                          struct bal_pick *out)
{
    struct balance tmp;
    int rc;
    if (c->x.table == NULL || c->x.table == c->w->table) {
        return balance_pick(&c->w->bal, s, hdrs, nhdrs, out);
    }
    /* The worker's balancer state is indexed by the service ids of ITS table: `s` belongs to
     * an older generation (a request held by a middleware, or retried, across a swap), whose
     * ids may index past that state. Such a pick uses a fresh state of its own generation
     * (rare: only exchanges that straddle a swap pay the allocation), advanced `skip` picks
     * so that retries still move on to the next server. */
    if (balance_init(&tmp, c->x.table) != 0) {
        return -ENOMEM;
    }
    rc = balance_pick(&tmp, s, hdrs, nhdrs, out);
    for (int k = 0; rc == 0 && k < skip; k++) {
        rc = balance_pick(&tmp, s, hdrs, nhdrs, out);
    }
    balance_fini(&tmp);
    return rc;
}

const struct table_server *exchange_pick(struct conn *c, const struct table_service *s)
{
    /* A fresh pick through the balancer (no Cookie: a retry or an error page need not stick; a
     * mirroring service does not count the request twice); only its loadBalancer is kept,
     * whose transport the next connection uses. */
    struct bal_pick p;
    int rc = c->x.table == NULL || c->x.table == c->w->table
                 ? balance_repick(&c->w->bal, s, &p)
                 : exchange_balance_pick(c, s, NULL, 0, c->x.retries + 1, &p);
    if (rc != 0) {
        return NULL;
    }
    c->x.pick.leaf = p.leaf;
    return p.server;
}

bool exchange_idempotent(enum h1_method m)
{
    return is_idempotent(m);
}

/* The request-target we route on and forward, normalised once: `buf` holds the path and the
 * query; the first `path_len` bytes are the routing path. */
struct target {
    char *buf;
    uint32_t len;
    uint32_t path_len;
};

/* Returns 0 or the status to answer with. */
static int normalize_target(const struct h1_msg *m, struct target *t)
{
    const char *target = m->target_form == H1_T_ABSOLUTE ? m->abs_path : m->target;
    uint32_t tlen = m->target_form == H1_T_ABSOLUTE ? m->abs_path_len : m->target_len;
    const char *q = memchr(target, '?', tlen);
    uint32_t plen = q ? (uint32_t)(q - target) : tlen;
    int n;
    t->buf = malloc(tlen + 2);
    if (t->buf == NULL) {
        return 500;
    }
    if (m->target_form == H1_T_ASTERISK) {
        t->buf[0] = '*';
        n = 1;
    } else if ((n = uri_normalize_path(target, plen, t->buf)) < 0) {
        free(t->buf);
        t->buf = NULL;
        return 400;
    }
    t->path_len = (uint32_t)n;
    if (q != NULL) {
        memcpy(t->buf + n, q, tlen - plen);
        n += (int)(tlen - plen);
    }
    t->len = (uint32_t)n;
    return 0;
}

/* Builds the upstream head for `m`; returns 0 or the status to answer with. */
static int build_head(struct conn *c, const struct h1_msg *m, const struct target *t,
                      const char *authority, uint32_t authority_len,
                      const struct table_service *svc, bool websocket)
{
    struct exchange *x = &c->x;
    struct req_head_args a;
    memset(&a, 0, sizeof a);
    a.msg = m;
    a.target = t->buf;
    a.target_len = t->len;
    if (x->mw != NULL) {
        a.edits = &x->mw->req_edits;
    }
    if (x->mw != NULL && x->mw->host_override != NULL) {
        a.host = x->mw->host_override;
        a.host_len = (uint32_t)strlen(a.host);
    } else if (svc->pass_host_header) {
        a.host = authority;
        a.host_len = authority_len;
    } else {
        a.host = x->server->authority;
        a.host_len = (uint32_t)strlen(x->server->authority);
    }
    a.fwd_host = authority;
    a.fwd_host_len = authority_len;
    a.fwd_port = uri_host_port(authority, authority_len);
    if (a.fwd_port == 0) {
        a.fwd_port = 80;
    }
    a.client_ip = c->peer_ip;
    a.node_id = c->w->proxy->cfg.node_id;
    a.via_id = c->w->proxy->via_id;
    a.trusted = headers_peer_trusted(c->ep, c->peer_family, c->peer_addr);
    a.websocket = websocket;
    a.zero_length = m->body == H1_BODY_NONE &&
                    (m->method == H1_M_POST || m->method == H1_M_PUT ||
                     m->method == H1_M_PATCH || h1_find(m, "content-length") != NULL);
    x->head = headers_build_request(&a, &x->head_len);
    return x->head ? 0 : 500;
}

/* Routing: normalised host and path (the query is not part of path matchers; "*" routes as
 * "/"), method, header lines, raw query and client address. */
static const struct table_router *route(struct conn *c, const struct h1_msg *m,
                                        const struct target *t, const char *authority,
                                        uint32_t authority_len, int *status)
{
    char hostbuf[256], pathbuf[1024];
    char *heap = NULL;
    struct table_request r;
    const struct table_router *rt;
    if (authority_len >= sizeof hostbuf) {
        *status = 400;
        return NULL;
    }
    memset(&r, 0, sizeof r);
    r.host = hostbuf;
    r.host_len = (uint32_t)uri_normalize_host(authority, authority_len, hostbuf);
    r.path = t->buf[0] == '*' ? "/" : t->buf;
    r.path_len = t->buf[0] == '*' ? 1 : t->path_len;
    if (memchr(r.path, '%', r.path_len) != NULL) {
        /* Rules see non-reserved escapes decoded (traefik-rules.md); paths without any
         * escape, nearly all of them, skip this. */
        if (r.path_len < sizeof pathbuf) {
            r.path_len = (uint32_t)uri_route_path(r.path, r.path_len, pathbuf);
            r.path = pathbuf;
        } else if ((heap = malloc(r.path_len)) != NULL) {
            r.path_len = (uint32_t)uri_route_path(r.path, r.path_len, heap);
            r.path = heap;
        } else {
            *status = 500;
            return NULL;
        }
    }
    r.entrypoint = c->ep_index;
    r.method = m->method_str;
    r.method_len = m->method_len;
    r.headers = m->headers;
    r.nheaders = m->nheaders;
    if (t->len > t->path_len && t->buf[t->path_len] == '?') {
        r.query = t->buf + t->path_len + 1;
        r.query_len = t->len - t->path_len - 1;
    }
    r.client_family = c->peer_family;
    memcpy(r.client_addr, c->peer_addr, sizeof r.client_addr);
    rt = c->w->table ? table_match(c->w->table, &r) : NULL;
    free(heap);
    *status = rt ? 0 : 404;
    return rt;
}

/* The scheme the client used, for the middlewares: "http" on our listeners, or "https" when
 * a trusted proxy in front says so in X-Forwarded-Proto (so redirectScheme does not loop
 * behind a TLS-terminating proxy; an untrusted peer's field is ignored, as it is upstream). */
static const char *client_scheme(const struct conn *c, const struct h1_msg *m)
{
    if (!headers_peer_trusted(c->ep, c->peer_family, c->peer_addr)) {
        return "http";
    }
    for (uint32_t i = 0; i < m->nheaders; i++) {
        const struct h1_header *h = &m->headers[i];
        if (h->name_len == 17 && strncasecmp(h->name, "X-Forwarded-Proto", 17) == 0) {
            return h->value_len == 5 && strncasecmp(h->value, "https", 5) == 0 ? "https"
                                                                                : "http";
        }
    }
    return "http";
}

/* After the request phase said CONTINUE: the target the middlewares rewrote goes into *t.
 * Returns 0 or 500. */
static int apply_target(struct mw_ctx *mx, struct target *t)
{
    if (mx->target_changed) {
        /* path + '?' + query into a new buffer; both may point into the old one. */
        size_t len = mx->path_len + (mx->query ? mx->query_len + 1 : 0);
        char *buf = malloc(len + 1);
        if (buf == NULL) {
            return 500;
        }
        memcpy(buf, mx->path, mx->path_len);
        if (mx->query != NULL) {
            buf[mx->path_len] = '?';
            memcpy(buf + mx->path_len + 1, mx->query, mx->query_len);
        }
        buf[len] = '\0';
        free(t->buf);
        t->buf = buf;
        t->len = (uint32_t)len;
        t->path_len = mx->path_len;
        mx->path = buf;
        mx->query = mx->query ? buf + mx->path_len + 1 : NULL;
        mx->target_changed = false;
    }
    mx->msg = NULL; /* the head is consumed once the exchange starts */
    return 0;
}

static void on_mw_resume(void *owner, enum mw_result r);

/* Runs the router's middlewares on the request. Returns 0 with *out set to continue (the
 * target in *t possibly rewritten), MW_RC_STOP with *out set when a middleware answered (the
 * reply is in it, after the response phase), MW_RC_PAUSE with *out set when one waits (see
 * hold()), or a status to answer with (*out NULL). */
#define MW_RC_STOP (-1)
#define MW_RC_PAUSE (-2)
static int run_middlewares(struct conn *c, const struct h1_msg *m, struct target *t,
                           const char *authority, uint32_t authority_len,
                           const struct table_router *rt, struct mw_ctx **out)
{
    struct mw_ctx *mx = mw_ctx_create(rt, worker_now_ms(c->w), c->w->index);
    char *host;
    enum mw_result r;
    *out = NULL;
    if (mx == NULL || (host = mw_alloc(mx, authority_len + 1)) == NULL) {
        mw_ctx_destroy(mx);
        return 500;
    }
    mx->msg = m;
    mx->method = m->method_str;
    mx->method_len = m->method_len;
    mx->authority = authority;
    mx->authority_len = authority_len;
    mx->host = host;
    mx->host_len = (uint32_t)uri_normalize_host(authority, authority_len, host);
    mx->client_ip = c->peer_ip;
    mx->client_family = c->peer_family;
    memcpy(mx->client_addr, c->peer_addr, sizeof mx->client_addr);
    mx->port = uri_host_port(authority, authority_len);
    if (mx->port == 0) {
        mx->port = c->ep->port ? c->ep->port : 80;
    }
    mx->scheme = client_scheme(c, m);
    mx->fwd_trusted = headers_peer_trusted(c->ep, c->peer_family, c->peer_addr);
    mx->has_body = !(m->body == H1_BODY_NONE ||
                     (m->body == H1_BODY_LENGTH && m->content_length == 0));
    mx->path = t->buf[0] == '*' ? "/" : t->buf;
    mx->path_len = t->buf[0] == '*' ? 1 : t->path_len;
    if (t->len > t->path_len && t->buf[t->path_len] == '?') {
        mx->query = t->buf + t->path_len + 1;
        mx->query_len = t->len - t->path_len - 1;
    }
    mx->loop = &c->w->loop;
    mx->resume = on_mw_resume;
    mx->owner = c;
    *out = mx;
    r = mw_run_request(mx);
    if (r == MW_PAUSE) {
        return MW_RC_PAUSE;
    }
    if (r == MW_STOP) {
        mw_run_response(mx, mx->reply_status, NULL);
        return MW_RC_STOP;
    }
    if (apply_target(mx, t) != 0) {
        mw_ctx_destroy(mx);
        *out = NULL;
        return 500;
    }
    return 0;
}

/* Writes the local reply a middleware made (after the response phase) and ends the context. */
static void reply_from_middleware(struct conn *c, struct mw_ctx *mx, bool close)
{
    uint32_t len = 0;
    char *buf;
    close = close || mx->has_body || c->draining;
    buf = mw_build_reply(mx, close, &len);
    mw_ctx_destroy(mx);
    if (buf == NULL) {
        conn_reply(c, 500, true);
        return;
    }
    conn_reply_buf(c, buf, len, close);
}

/* A request whose middleware waits (MW_PAUSE). The parsed head is copied out of the worker's
 * scratch (other connections parse into it meanwhile); the bytes it points to stay in the
 * client buffer, which is not read into until the exchange goes on (reading stops). */
struct held {
    struct h1_msg msg;
    struct target t;
    const char *authority;
    uint32_t authority_len;
    bool keep;
    const struct table_router *rt;
    struct h1_header hdrs[]; /* msg.headers */
};

static void exchange_go(struct conn *c, const struct h1_msg *m, struct target *t,
                        const char *authority, uint32_t authority_len, bool keep,
                        const struct table_router *rt);

static void held_free(struct held *h)
{
    if (h != NULL) {
        free(h->t.buf);
        free(h);
    }
}

static void hold(struct conn *c, const struct h1_msg *m, const struct target *t,
                 const char *authority, uint32_t authority_len, bool keep,
                 const struct table_router *rt, struct mw_ctx *mx)
{
    struct exchange *x = &c->x;
    struct held *h = malloc(sizeof *h + m->nheaders * sizeof h->hdrs[0]);
    if (h == NULL) {
        mw_ctx_destroy(mx);
        free(t->buf);
        c->in.start += m->head_len;
        conn_reply(c, 500, true);
        return;
    }
    h->msg = *m;
    memcpy(h->hdrs, m->headers, m->nheaders * sizeof h->hdrs[0]);
    h->msg.headers = h->hdrs;
    h->t = *t;
    h->authority = authority;
    h->authority_len = authority_len;
    h->keep = keep;
    h->rt = rt;
    mx->msg = &h->msg;
    x->held = h;
    x->mw = mx;
    x->table = c->w->table; /* the generation `rt` belongs to, whatever is published meanwhile */
    table_ref(x->table);
    conn_read_stop(c);
    conn_arm_timer(c); /* the head is whole: from its deadline to the request's (readTimeout) */
}

/* A held request's middleware is done waiting (mw.h): run the rest of the middlewares, then
 * answer or go on as exchange_start would have. */
static void on_mw_resume(void *owner, enum mw_result r)
{
    struct conn *c = owner;
    struct exchange *x = &c->x;
    struct held *h = x->held;
    struct mw_ctx *mx = x->mw;
    if (r == MW_CONTINUE) {
        r = mw_run_request(mx);
    }
    if (r == MW_PAUSE) {
        return; /* another wait */
    }
    x->held = NULL;
    if (r == MW_CONTINUE && apply_target(mx, &h->t) != 0) {
        r = MW_STOP;
        mw_reply(mx, 500);
    }
    if (r == MW_STOP) {
        /* The reply's fields and the middlewares' `done` read the generation's config: it is
         * let go only after them (a swap during the wait may leave the last reference here). */
        struct table *gen = x->table;
        x->mw = NULL;
        x->table = NULL;
        mw_run_response(mx, mx->reply_status, NULL);
        free(h->t.buf);
        c->in.start += h->msg.head_len;
        reply_from_middleware(c, mx, !h->keep);
        table_unref(gen);
    } else {
        exchange_go(c, &h->msg, &h->t, h->authority, h->authority_len, h->keep, h->rt);
    }
    free(h);
    if (c->state != C_CLOSED) {
        conn_process(c); /* as after exchange_start: pump the body, or the next request */
    }
}

void exchange_start(struct conn *c, const struct h1_msg *m)
{
    struct exchange *x = &c->x;
    const char *authority = m->host;
    uint32_t authority_len = m->host ? m->host_len : 0;
    const struct table_router *rt;
    struct target t;
    bool keep;
    int status;

    memset(x, 0, sizeof *x);
    x->method = m->method;
    x->minor = m->version_minor;
    x->client_close = (m->flags & H1_F_CONN_CLOSE) != 0;
    x->req_body = m->body;
    keep = !x->client_close && m->body == H1_BODY_NONE;
    if (m->target_form == H1_T_ABSOLUTE && m->abs_authority_len > 0) {
        authority = m->abs_authority;
        authority_len = m->abs_authority_len;
    }
    status = early_status(c, m);
    if (status != 0) {
        c->in.start += m->head_len;
        conn_reply(c, status, !keep || status == 400 || status == 413);
        return;
    }
    status = normalize_target(m, &t);
    if (status != 0) {
        c->in.start += m->head_len;
        conn_reply(c, status, true);
        return;
    }
    rt = route(c, m, &t, authority ? authority : "", authority_len, &status);
    /* A router with middlewares runs them first (one may answer locally, e.g. a redirect on
     * a router without a usable service, like the entry point redirections); the service is
     * checked after them, as in Traefik. */
    if (rt == NULL || (rt->nmws == 0 && (rt->service == NULL ||
                                         (rt->service->kind == TABLE_SVC_LB &&
                                          rt->service->nservers == 0)))) {
        free(t.buf);
        c->in.start += m->head_len;
        conn_reply(c, rt ? 503 : status, !keep || status == 400);
        return;
    }
    if (rt->nmws > 0) {
        struct mw_ctx *mx = NULL;
        status = run_middlewares(c, m, &t, authority ? authority : "", authority_len, rt, &mx);
        if (status == MW_RC_PAUSE) {
            hold(c, m, &t, authority ? authority : "", authority_len, keep, rt, mx);
            return;
        }
        if (status != 0 || mx == NULL) {
            free(t.buf);
            c->in.start += m->head_len;
            if (mx != NULL) {
                reply_from_middleware(c, mx, !keep);
            } else {
                conn_reply(c, status ? status : 500, true);
            }
            return;
        }
        x->mw = mx;
    }
    exchange_go(c, m, &t, authority ? authority : "", authority_len, keep, rt);
}

/* The exchange after its middlewares: the server, the upstream head, the connection. Takes
 * t->buf. x->table is the table `rt` belongs to when already pinned (a held request). */
static void exchange_go(struct conn *c, const struct h1_msg *m, struct target *t,
                        const char *authority, uint32_t authority_len, bool keep,
                        const struct table_router *rt)
{
    struct exchange *x = &c->x;
    bool websocket;
    int status, err = 0;
    x->active = true;
    if (x->table == NULL) {
        x->table = c->w->table;
        table_ref(x->table);
    }
    x->router = rt;
    x->server = rt->service != NULL ? pick_server(c, m, rt->service) : NULL;
    if (x->server == NULL) {
        free(t->buf);
        exchange_clear(c);
        c->in.start += m->head_len;
        conn_reply(c, 503, !keep);
        return;
    }
    websocket = (m->flags & H1_F_CONN_UPGRADE) && has_token_header(m, "upgrade", "websocket");
    x->upgrade = websocket;
    status = build_head(c, m, t, authority, authority_len, x->pick.leaf, websocket);
    free(t->buf);
    c->in.start += m->head_len;
    if (status != 0) {
        conn_reply(c, status, true);
        return;
    }
    if (m->body == H1_BODY_NONE || (m->body == H1_BODY_LENGTH && m->content_length == 0)) {
        x->req_done = true;
    } else if (m->body == H1_BODY_LENGTH) {
        x->req_left = m->content_length;
    } else {
        h1_chunked_init(&x->req_ck);
    }
    mirror_start(c, m); /* copies for a mirroring service's mirrors, if any */
    conn_arm_timer(c); /* from the head deadline to the body deadline */
    if (x->mw != NULL && flow_buf_start(c, (m->flags & H1_F_EXPECT_CONTINUE) != 0)) {
        return; /* buffering: the whole body first, then the upstream */
    }
    x->up = upstream_get(c->w, x->server, c, is_idempotent(x->method), &err);
    if (x->up == NULL) {
        conn_reply(c, 502, true);
        return;
    }
    if (x->up->state == UP_BUSY) {
        exchange_upstream_ready(c);
    } else {
        conn_arm_timer(c);
    }
}

void exchange_upstream_ready(struct conn *c)
{
    upstream_read_start(c->x.up);
    exchange_pump_request(c);
}

/* Moves request body bytes from the client buffer into the upstream queue. Returns false
 * after answering an error. */
/* Consecutive decoded chunks in one buffer are moved together ("run") and sent as one chunk:
 * a body of many tiny chunks then costs one write per read, not one per chunk. Decoded data
 * never overtakes the bytes still to decode, so the move stays behind the read position. */
struct run {
    char *p;
    size_t len;
};

static void run_add(struct run *r, const char *data, size_t dlen)
{
    if (r->p == NULL) {
        r->p = (char *)data; /* our own buffer; the decoder hands out const views of it */
    } else if (data != r->p + r->len) {
        memmove(r->p + r->len, data, dlen);
    }
    r->len += dlen;
}

static void run_flush(struct run *r, struct outq *q, bool chunked, bool *pinned)
{
    if (r->len == 0) {
        return;
    }
    if (chunked) {
        outq_push_chunk_header(q, r->len);
    }
    outq_push(q, r->p, r->len);
    if (chunked) {
        outq_push(q, CRLF, 2);
    }
    *pinned = true;
    r->p = NULL;
    r->len = 0;
}

static bool fill_request(struct conn *c, struct upconn *u, bool *pinned)
{
    struct exchange *x = &c->x;
    struct run run = {NULL, 0};
    while (!x->req_done && c->in.start < c->in.end && !outq_full(&u->ws->q)) {
        const char *p = c->in.data + c->in.start;
        size_t avail = c->in.end - c->in.start;
        if (x->req_body == H1_BODY_LENGTH) {
            size_t n = avail < x->req_left ? avail : (size_t)x->req_left;
            outq_push(&u->ws->q, p, n);
            c->in.start += (uint32_t)n;
            x->req_left -= n;
            *pinned = true;
            x->req_done = x->req_left == 0;
        } else {
            const char *data;
            size_t consumed = 0, dlen = 0;
            int rc = h1_chunked_next(&x->req_ck, p, avail, &consumed, &data, &dlen);
            c->in.start += (uint32_t)consumed;
            if (rc < 0) {
                conn_reply(c, -rc, true);
                return false;
            }
            if (rc == H1_CHUNK_DATA) {
                x->req_total += dlen;
                if (c->ep->max_body > 0 && x->req_total > c->ep->max_body) {
                    conn_reply(c, 413, true);
                    return false;
                }
                run_add(&run, data, dlen);
            } else if (rc == H1_CHUNK_DONE) {
                run_flush(&run, &u->ws->q, true, pinned);
                outq_push(&u->ws->q, LAST_CHUNK, sizeof LAST_CHUNK - 1);
                x->req_done = true;
            } else if (consumed == 0) {
                break;
            }
        }
    }
    run_flush(&run, &u->ws->q, true, pinned);
    return true;
}

void exchange_pump_request(struct conn *c)
{
    struct exchange *x = &c->x;
    struct upconn *u = x->up;
    if (x->buf_req) {
        flow_buf_pump(c);
        return;
    }
    for (;;) {
        bool pinned = false;
        if (!x->active || u == NULL || u->state != UP_BUSY || u->write_pending ||
            x->req_abandoned || c->state != C_EXCHANGE) {
            break;
        }
        if (ws_acquire(c->w, &u->ws) == NULL) {
            exchange_upstream_failed(c, 502);
            return;
        }
        outq_reset(&u->ws->q);
        if (!x->head_sent) {
            outq_push(&u->ws->q, x->head, x->head_len);
            x->head_sent = true;
            if (x->req_done && x->req_body == H1_BODY_CHUNKED) {
                outq_push(&u->ws->q, LAST_CHUNK, sizeof LAST_CHUNK - 1); /* a retry */
            }
        }
        if (!fill_request(c, u, &pinned)) {
            return;
        }
        if (u->ws->q.n == 0) {
            ws_release(c->w, &u->ws);
            break;
        }
        if (pinned) {
            x->req_body_sent = true;
        }
        u->pins_client = pinned;
        if (upstream_flush(u) < 0) {
            exchange_upstream_failed(c, 502);
            return;
        }
        if (u->write_pending) {
            break;
        }
        u->pins_client = false;
    }
    if (c->state != C_EXCHANGE || !x->active) {
        return;
    }
    if (x->req_done && u != NULL && u->state == UP_BUSY &&
        !x->resp_head_done && !x->resp_timer_armed) {
        x->resp_timer_armed = true;
        upstream_arm_response_timer(u);
        conn_arm_timer(c);
    }
    /* Read on while the body is incomplete and nothing pins the buffer; after the body, read
     * ahead (pipelined requests, EOF) until the buffer is full. */
    if (u != NULL && u->write_pending && u->pins_client) {
        client_read(c, false);
        return;
    }
    if (c->in.start == c->in.end) {
        /* Nothing buffered: hand the buffer back while we wait, so a connection waiting for
         * its response holds no buffer (memory per connection under load); a large body
         * streams through a big one instead. */
        c->in.start = c->in.end = 0;
        if (!x->req_done && (x->req_body != H1_BODY_LENGTH || x->req_left > IOBUF_SIZE)) {
            iobuf_upgrade(c->w, &c->in);
        } else {
            iobuf_release(c->w, &c->in);
        }
    }
    if (c->in.data == NULL || iobuf_make_room(c->w, &c->in, IOBUF_SIZE)) {
        client_read(c, true);
    } else {
        client_read(c, false);
    }
}

void exchange_upstream_failed(struct conn *c, int status)
{
    struct exchange *x = &c->x;
    if (!x->active) {
        return;
    }
    if (x->resp_started) {
        conn_close(c);
        return;
    }
    if (flow_retry(c)) {
        return;
    }
    if (x->err_status != 0) {
        status = x->err_status; /* errors: the page failed; the client gets the original */
    }
    conn_reply(c, status, !x->req_done || x->client_close);
    if (c->state == C_IDLE && !c->write_pending) {
        conn_process(c); /* pipelined requests behind the failed one */
    }
}

/* Retries a request whose reused keep-alive connection died before answering: the server
 * closed it while idle. Only for idempotent requests whose body was not sent (H6). */
static bool try_retry(struct conn *c)
{
    struct exchange *x = &c->x;
    int err = 0;
    if (!x->up->reused || x->retries > 0 || x->req_body_sent || x->resp_head_done ||
        x->up->in.end != x->up->in.start || !is_idempotent(x->method)) {
        return false;
    }
    x->retries++;
    x->up->owner = NULL;
    upstream_close(x->up);
    x->head_sent = false;
    x->resp_timer_armed = false;
    x->up_eof = false; /* that was the stale connection's end, not the new one's */
    x->up = upstream_get(c->w, x->server, c, is_idempotent(x->method), &err);
    if (x->up == NULL) {
        return false;
    }
    if (x->up->state == UP_BUSY) {
        exchange_upstream_ready(c);
    }
    return true;
}

void exchange_upstream_eof(struct conn *c)
{
    struct exchange *x = &c->x;
    x->up_eof = true;
    x->up_keepalive = false;
    if (c->state == C_TUNNEL) {
        tunnel_pump(c);
        return;
    }
    if (!x->resp_head_done) {
        if (!try_retry(c)) {
            exchange_upstream_failed(c, 502);
        }
        return;
    }
    exchange_pump_response(c);
}

static enum out_mode choose_mode(const struct exchange *x, const struct h1_msg *m)
{
    switch (m->body) {
    case H1_BODY_NONE:
        return OUT_NONE;
    case H1_BODY_LENGTH:
        return OUT_LENGTH;
    default:
        /* Chunked and close-delimited bodies: re-chunk for HTTP/1.1 clients; an HTTP/1.0
         * client has no chunking, so it gets the raw bytes and a close (H10). */
        return x->minor >= 1 ? OUT_CHUNKED : OUT_CLOSE;
    }
}

/* The body bytes that came with the response head, for the middlewares that look at them
 * (contentType): never more than the body, never consumed; a chunked body's first data slice. */
static void resp_peek(struct mw_ctx *mx, const struct h1_msg *m, const char *p, size_t avail)
{
    mx->resp_peek = p;
    mx->resp_peek_len = 0;
    if (m->body == H1_BODY_LENGTH || m->body == H1_BODY_EOF) {
        if (m->body == H1_BODY_LENGTH && avail > m->content_length) {
            avail = (size_t)m->content_length;
        }
        mx->resp_peek_len = avail > 4096 ? 4096 : (uint32_t)avail;
    } else if (m->body == H1_BODY_CHUNKED) {
        struct h1_chunked ck;
        const char *data = NULL;
        size_t used = 0, dlen = 0;
        h1_chunked_init(&ck);
        if (h1_chunked_next(&ck, p, avail, &used, &data, &dlen) == H1_CHUNK_DATA) {
            mx->resp_peek = data;
            mx->resp_peek_len = dlen > 4096 ? 4096 : (uint32_t)dlen;
        }
    }
}

/* The Set-Cookie lines of the sticky cookies the pick asked for (a cookie too long is
 * skipped). */
static size_t sticky_cookies(const struct exchange *x, char *buf, size_t size)
{
    size_t len = 0;
    for (uint32_t i = 0; i < x->pick.nset; i++) {
        len += balance_set_cookie(&x->pick.set[i], buf + len, size - len);
    }
    return len;
}

/* Parses one response head from the upstream buffer and queues its re-serialised form for
 * the client. Returns 1 when a final (or 101) head was queued, 2 when an interim head was
 * consumed, 0 when more bytes are needed, -1 after an error was answered. */
static int response_head(struct conn *c, struct upconn *u)
{
    struct exchange *x = &c->x;
    struct worker *w = c->w;
    struct h1_limits lim = {.max_request_line = 8192, .max_field_line = 65536,
                            .max_head = 65536, .max_headers = w->max_hdrs - 1};
    struct h1_msg m;
    struct resp_head_args a;
    uint32_t hlen = 0;
    int rc;
    if (u->in.start == u->in.end) {
        return 0;
    }
    x->resp_seen = true;
    rc = h1_parse_response(u->in.data + u->in.start, u->in.end - u->in.start, &lim, x->method,
                           w->hdrs, w->max_hdrs, &m);
    if (rc == 0) {
        if (!iobuf_make_room(w, &u->in, 65536 + 1024)) {
            exchange_upstream_failed(c, 502);
            return -1;
        }
        return 0;
    }
    if (rc < 0 || (m.status == 101 && !x->upgrade)) {
        log_debug("upstream %s: bad response: %s", x->server->authority,
                  rc < 0 && m.error ? m.error : "unsolicited 101");
        exchange_upstream_failed(c, 502);
        return -1;
    }
    memset(&a, 0, sizeof a);
    a.msg = &m;
    a.client_minor = x->minor;
    if (m.status < 200 && m.status != 101) {
        /* Interim responses (100, 103) go to HTTP/1.1 clients; 1.0 clients never get them. */
        if (x->minor >= 1) {
            free(x->rhead);
            a.mode = OUT_NONE;
            x->rhead = headers_build_response(&a, &hlen);
            if (x->rhead == NULL) {
                exchange_upstream_failed(c, 502);
                return -1;
            }
            outq_push(&c->ws->q, x->rhead, hlen);
        }
        u->in.start += m.head_len;
        return 2;
    }
    /* Not for 204 and 304 either: the page would go out as the body of a status that has
     * none, and a kept-alive client would read it as the next response (Go's server, under
     * Traefik, drops such a body; passing the bodiless response through is as safe). */
    if (x->err_status == 0 && x->mw != NULL && m.status != 101 && m.status != 204 &&
        m.status != 304 && x->req_done && !x->upgrade && x->method != H1_M_HEAD) {
        const struct mwc_errors *e = mw_errors_match(x->mw, m.status);
        if (e != NULL) {
            flow_errors_divert(c, e, m.status);
            return -1;
        }
    }
    x->status = m.status;
    x->resp_body = m.body;
    x->resp_left = m.content_length;
    x->out_mode = m.status == 101 ? OUT_NONE : choose_mode(x, &m);
    x->up_keepalive = !(m.flags & H1_F_CONN_CLOSE) && m.version_minor >= 1 &&
                      m.body != H1_BODY_EOF;
    if (x->out_mode == OUT_CLOSE || !x->req_done || c->draining ||
        (c->ep->keepalive_max_requests > 0 && c->nreq >= c->ep->keepalive_max_requests) ||
        (c->ep->keepalive_max_time_ms > 0 &&
         worker_now_ms(c->w) - c->accepted_ms >= c->ep->keepalive_max_time_ms)) {
        x->client_close = true;
    }
    if (x->err_status != 0) {
        /* errors: the page's head and body, under the upstream's status. */
        m.status = x->err_status;
        m.reason = NULL;
        m.reason_len = 0;
        if (x->out_mode == OUT_NONE) {
            /* A page without a body (204, 304): the original status has one, and a 304's
             * Content-Length describes an entity not sent; the body is empty. */
            m.content_length = 0;
            x->out_mode = OUT_LENGTH;
        }
    }
    if (x->mw != NULL && m.status != 101) {
        resp_peek(x->mw, &m, u->in.data + u->in.start + m.head_len,
                  u->in.end - u->in.start - m.head_len);
        mw_run_response(x->mw, m.status, &m);
        x->mw->resp_peek = NULL;
        x->mw->resp = NULL; /* points into the upstream buffer */
        a.edits = &x->mw->resp_edits;
        x->gz = mw_compress_stream(x->mw);
        if (x->gz != NULL) {
            x->out_mode = OUT_CHUNKED; /* the compressed length is unknown up front */
        }
    }
    a.mode = x->out_mode;
    a.close = x->client_close && m.status != 101;
    if (x->mw != NULL && m.status != 101) {
        int b = flow_buf_resp_begin(c, &m);
        if (b < 0) {
            return -1;
        }
        a.mode = b > 0 ? OUT_CHUNKED : a.mode; /* rewritten with the length once whole */
    }
    char cookies[BAL_MAX_COOKIES * 512];
    if (m.status != 101) {
        a.extra = cookies;
        a.extra_len = (uint32_t)sticky_cookies(x, cookies, sizeof cookies);
    }
    free(x->rhead);
    x->rhead = headers_build_response(&a, &hlen);
    if (x->rhead == NULL) {
        exchange_upstream_failed(c, 502);
        return -1;
    }
    u->in.start += m.head_len;
    x->rhead_len = hlen;
    x->resp_head_done = true;
    if (!x->buf_resp) {
        outq_push(&c->ws->q, x->rhead, hlen);
        x->resp_started = true;
    }
    upstream_stop_timer(u);
    if (m.body == H1_BODY_CHUNKED) {
        h1_chunked_init(&x->resp_ck);
    }
    if (m.status != 101 &&
        (m.body == H1_BODY_NONE || (m.body == H1_BODY_LENGTH && m.content_length == 0))) {
        x->resp_done = true;
    }
    return 1;
}

/* Moves response body bytes from the upstream buffer into the client queue, re-framed.
 * Returns false after the connection was closed. */
static bool fill_response(struct conn *c, struct upconn *u, bool *pinned)
{
    struct exchange *x = &c->x;
    struct run run = {NULL, 0};
    bool chunked_out = x->out_mode == OUT_CHUNKED;
    while (!x->resp_done && u->in.start < u->in.end && !outq_full(&c->ws->q)) {
        const char *p = u->in.data + u->in.start;
        size_t avail = u->in.end - u->in.start;
        const char *data = p;
        size_t dlen = avail;
        if (x->resp_body == H1_BODY_LENGTH) {
            dlen = avail < x->resp_left ? avail : (size_t)x->resp_left;
            u->in.start += (uint32_t)dlen;
            x->resp_left -= dlen;
            x->resp_done = x->resp_left == 0;
        } else if (x->resp_body == H1_BODY_CHUNKED) {
            size_t consumed = 0;
            int rc = h1_chunked_next(&x->resp_ck, p, avail, &consumed, &data, &dlen);
            u->in.start += (uint32_t)consumed;
            if (rc < 0) {
                /* The client already has our head: all we can do is cut the connection. */
                conn_close(c);
                return false;
            }
            if (rc == H1_CHUNK_DONE) {
                x->resp_done = true;
                break;
            }
            if (rc != H1_CHUNK_DATA) {
                if (consumed == 0) {
                    break;
                }
                continue;
            }
        } else {
            u->in.start += (uint32_t)dlen; /* close-delimited: everything is body */
        }
        run_add(&run, data, dlen);
    }
    if (x->gz == NULL && x->buf_resp) {
        if (!flow_buf_resp_add(c, run.p, run.len)) {
            return false;
        }
        run.len = 0;
    } else if (x->gz == NULL) {
        run_flush(&run, &c->ws->q, chunked_out, pinned);
    }
    if (!x->resp_done && x->up_eof && u->in.start == u->in.end) {
        if (x->resp_body != H1_BODY_EOF) {
            /* Truncated response: the client must see a cut, not an end (a 502 when nothing
             * was sent yet: a buffered response). */
            exchange_upstream_failed(c, 502);
            return false;
        }
        x->resp_done = true;
    }
    if (x->gz != NULL) {
        if (!flow_gzip_out(c, run.p, run.len)) {
            return false;
        }
        run.len = 0;
    }
    if (x->buf_resp && x->resp_done && !x->resp_started && !flow_buf_resp_send(c)) {
        return false;
    }
    if (x->resp_done && chunked_out && !x->last_chunk_sent) {
        outq_push(&c->ws->q, LAST_CHUNK, sizeof LAST_CHUNK - 1);
        x->last_chunk_sent = true;
    }
    if (x->resp_done && u->in.start != u->in.end) {
        x->up_keepalive = false; /* bytes after the end of a response (H5): never reuse */
    }
    return true;
}

void exchange_pump_response(struct conn *c)
{
    struct exchange *x = &c->x;
    struct upconn *u = x->up;
    for (;;) {
        bool pinned = false;
        if (!x->active || u == NULL || c->state != C_EXCHANGE) {
            return;
        }
        if (c->write_pending) {
            upstream_read_stop(u);
            return;
        }
        if (ws_acquire(c->w, &c->ws) == NULL) {
            conn_close(c);
            return;
        }
        outq_reset(&c->ws->q);
        while (!x->resp_head_done) {
            int rc = response_head(c, u);
            if (rc < 0) {
                return;
            }
            if (rc == 0 || (rc == 2 && c->ws->q.n > 0)) {
                break;
            }
        }
        if (x->resp_head_done && x->status == 101) {
            c->state = C_TUNNEL;
            conn_arm_timer(c);
            conn_write_flush(c);
            if (c->state == C_TUNNEL && !c->write_pending) {
                tunnel_pump(c);
            }
            return;
        }
        if (x->resp_head_done && !fill_response(c, u, &pinned)) {
            return;
        }
        if (c->ws->q.n > 0) {
            c->pins_up = pinned;
            conn_write_flush(c);
            if (c->state == C_CLOSED) {
                return;
            }
            if (c->write_pending) {
                upstream_read_stop(u);
                return;
            }
            c->pins_up = false;
            continue;
        }
        ws_release(c->w, &c->ws);
        if (x->resp_done) {
            exchange_finish(c);
            return;
        }
        if (x->up_eof) {
            exchange_upstream_failed(c, 502);
            return;
        }
        if (u->in.start == u->in.end) {
            u->in.start = u->in.end = 0;
            if (x->resp_head_done && (x->resp_body != H1_BODY_LENGTH || x->resp_left > u->in.cap)) {
                iobuf_upgrade(c->w, &u->in);
            }
        } else if (!iobuf_make_room(c->w, &u->in, u->in.cap)) {
            exchange_upstream_failed(c, 502);
            return;
        }
        upstream_read_start(u);
        return;
    }
}

void exchange_finish(struct conn *c)
{
    struct exchange *x = &c->x;
    struct upconn *u = x->up;
    bool keep_up = x->up_keepalive && x->req_done && !u->write_pending &&
                   u->in.start == u->in.end && !x->up_eof;
    bool close = x->client_close || !x->req_done || c->draining;
    bool unread = !x->req_done;
    x->up = NULL;
    u->owner = NULL;
    upstream_release(u, keep_up);
    exchange_clear(c);
    if (close) {
        c->close_after_write = true;
        c->state = C_FINAL;
        client_read(c, false);
        conn_finish_close(c, unread);
        return;
    }
    c->state = C_IDLE;
    conn_process(c);
}

/* After a 101: bytes flow both ways until either side closes. */
void tunnel_pump(struct conn *c)
{
    struct exchange *x = &c->x;
    struct upconn *u = x->up;
    if (c->state != C_TUNNEL || u == NULL) {
        return;
    }
    if (!u->write_pending && c->in.start < c->in.end) {
        if (ws_acquire(c->w, &u->ws) == NULL) {
            conn_close(c);
            return;
        }
        outq_reset(&u->ws->q);
        outq_push(&u->ws->q, c->in.data + c->in.start, c->in.end - c->in.start);
        c->in.start = c->in.end;
        u->pins_client = true;
        if (upstream_flush(u) < 0) {
            conn_close(c);
            return;
        }
        if (!u->write_pending) {
            u->pins_client = false;
            c->in.start = c->in.end = 0;
        }
    }
    if (!c->write_pending && u->in.start < u->in.end) {
        if (ws_acquire(c->w, &c->ws) == NULL) {
            conn_close(c);
            return;
        }
        outq_reset(&c->ws->q);
        outq_push(&c->ws->q, u->in.data + u->in.start, u->in.end - u->in.start);
        u->in.start = u->in.end;
        c->pins_up = true;
        conn_write_flush(c);
        if (c->state == C_CLOSED) {
            return;
        }
        if (!c->write_pending) {
            c->pins_up = false;
            u->in.start = u->in.end = 0;
        }
    }
    if ((c->peer_eof || x->up_eof) && !u->write_pending && !c->write_pending &&
        c->in.start == c->in.end && u->in.start == u->in.end) {
        conn_close(c);
        return;
    }
    if (!u->write_pending && c->in.start == c->in.end) {
        c->in.start = c->in.end = 0;
    }
    if (!c->write_pending && u->in.start == u->in.end) {
        u->in.start = u->in.end = 0;
    }
    client_read(c, !u->write_pending);
    if (c->write_pending) {
        upstream_read_stop(u);
    } else if (!x->up_eof) {
        upstream_read_start(u);
    }
}
