/* Upstream connections: connect with a deadline, per-worker idle pools keyed by server
 * address (so pools survive table swaps), response and idle timers. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "node/base/log.h"
#include "node/proxy/proxy-int.h"

static void on_up_closed(uv_handle_t *h)
{
    struct upconn *u = h->data;
    if (--u->handles > 0) {
        return;
    }
    u->in.start = u->in.end;
    iobuf_release(u->w, &u->in);
    ws_release(u->w, &u->ws);
    free(u);
}

void upstream_close(struct upconn *u)
{
    if (u->state == UP_CLOSED) {
        return;
    }
    if (u->state == UP_IDLE && u->pool != NULL) {
        dlist_remove(&u->link);
        u->pool->nidle--;
    }
    u->state = UP_CLOSED;
    u->owner = NULL;
    uv_timer_stop(&u->timer);
    uv_close((uv_handle_t *)&u->tcp, on_up_closed);
    uv_close((uv_handle_t *)&u->timer, on_up_closed);
}

static struct pool *pool_for(struct worker *w, const struct table_server *s)
{
    struct pool *p;
    for (uint32_t i = 0; i < w->npools; i++) {
        p = w->pools[i];
        if (p->addrlen == s->addrlen && memcmp(&p->addr, &s->addr, s->addrlen) == 0) {
            return p;
        }
    }
    if (w->npools == w->cap_pools) {
        uint32_t cap = w->cap_pools ? w->cap_pools * 2 : 16;
        struct pool **v = realloc(w->pools, cap * sizeof *v);
        if (v == NULL) {
            return NULL;
        }
        w->pools = v;
        w->cap_pools = cap;
    }
    p = calloc(1, sizeof *p);
    if (p == NULL) {
        return NULL;
    }
    memcpy(&p->addr, &s->addr, s->addrlen);
    p->addrlen = s->addrlen;
    dlist_init(&p->idle);
    w->pools[w->npools++] = p;
    return p;
}

static void on_up_timer(uv_timer_t *t)
{
    struct upconn *u = t->data;
    struct conn *owner = u->owner;
    if (u->mirror != NULL) {
        mirror_failed(u);
        return;
    }
    if (u->state == UP_IDLE || owner == NULL) {
        upstream_close(u);
        return;
    }
    /* Connect or response-head deadline. */
    exchange_upstream_failed(owner, 504);
}

static void on_up_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct upconn *u = h->data;
    (void)suggested;
    if (!iobuf_ensure(u->w, &u->in)) {
        buf->base = NULL;
        buf->len = 0;
        return;
    }
    /* Reading implies no pending client write points into this buffer, so it may move. */
    assert(u->owner == NULL || !(u->owner->write_pending && u->owner->pins_up));
    if (u->in.end == u->in.cap && u->in.start > 0) {
        iobuf_compact(&u->in);
    }
    buf->base = u->in.data + u->in.end;
    buf->len = u->in.cap - u->in.end;
}

static void on_up_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct upconn *u = s->data;
    struct conn *c = u->owner;
    (void)buf;
    if (nread == 0) {
        return;
    }
    if (nread == UV_ENOBUFS) {
        upstream_read_stop(u);
        return;
    }
    if (u->mirror != NULL) {
        mirror_on_read(u, nread);
        return;
    }
    if (u->state == UP_IDLE || c == NULL) {
        /* An idle connection that speaks or closes is finished. */
        upstream_close(u);
        return;
    }
    if (nread < 0) {
        upstream_read_stop(u);
        exchange_upstream_eof(c);
        return;
    }
    u->in.end += (uint32_t)nread;
    if (c->state == C_TUNNEL) {
        tunnel_pump(c);
    } else {
        exchange_pump_response(c);
    }
}

void upstream_read_start(struct upconn *u)
{
    if (!u->reading && u->state != UP_CLOSED && u->state != UP_CONNECTING) {
        u->reading = true;
        uv_read_start((uv_stream_t *)&u->tcp, on_up_alloc, on_up_read);
    }
}

void upstream_read_stop(struct upconn *u)
{
    if (u->reading) {
        u->reading = false;
        uv_read_stop((uv_stream_t *)&u->tcp);
    }
}

static void on_connect(uv_connect_t *req, int status)
{
    struct upconn *u = req->data;
    struct conn *c = u->owner;
    if (u->state == UP_CLOSED) {
        return;
    }
    if (u->mirror != NULL) {
        if (status < 0) {
            mirror_failed(u);
        } else {
            u->state = UP_BUSY;
            uv_timer_stop(&u->timer);
            mirror_on_ready(u);
        }
        return;
    }
    if (status < 0 || c == NULL) {
        if (c != NULL) {
            log_debug("upstream connect: %s", uv_strerror(status));
            exchange_upstream_failed(c, 502);
        } else {
            upstream_close(u);
        }
        return;
    }
    u->state = UP_BUSY;
    uv_timer_stop(&u->timer);
    uv_tcp_nodelay(&u->tcp, 1);
    exchange_upstream_ready(c);
}

/* A request that may not be retried (POST, PATCH) must not be sent on a connection whose
 * FIN is already queued but not yet read by the loop: a non-blocking peek tells. One syscall,
 * paid only by those requests. */
static bool still_open(struct upconn *u)
{
    char b;
    int fd;
    ssize_t n;
    if (uv_fileno((uv_handle_t *)&u->tcp, &fd) != 0) {
        return false;
    }
    n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

struct upconn *upstream_get(struct worker *w, const struct table_server *s, struct conn *owner,
                            bool safe, int *err)
{
    const struct table_service *leaf = owner ? owner->x.pick.leaf : NULL;
    return upstream_get_tp(w, s, leaf ? leaf->transport : NULL, owner, safe, err);
}

/* The transport's settings, each falling back to the static config's. */
static void apply_transport(struct upconn *u, const struct table_transport *tp)
{
    const struct proxy_config *cfg = &u->w->proxy->cfg;
    u->resp_timeout_ms = tp && tp->has_response_header ? tp->response_header_timeout_ms
                                                       : cfg->response_timeout_ms;
    u->idle_timeout_ms = tp && tp->has_idle ? tp->idle_conn_timeout_ms
                                            : cfg->upstream_idle_timeout_ms;
    u->max_idle = tp && tp->has_max_idle ? tp->max_idle_per_host : cfg->max_idle_per_server;
}

struct upconn *upstream_get_tp(struct worker *w, const struct table_server *s,
                               const struct table_transport *tp, struct conn *owner, bool safe,
                               int *err)
{
    const struct proxy_config *cfg = &w->proxy->cfg;
    uint64_t dial_ms = tp && tp->has_dial ? tp->dial_timeout_ms : cfg->dial_timeout_ms;
    struct pool *p;
    struct upconn *u;
    int rc;
    if (s->addrlen == 0) {
        *err = UV_EAI_NONAME; /* the server's host name did not resolve */
        return NULL;
    }
    p = pool_for(w, s);
    if (p == NULL) {
        *err = UV_ENOMEM;
        return NULL;
    }
    while (!dlist_empty(&p->idle)) {
        u = DLIST_ENTRY(p->idle.next, struct upconn, link);
        if (!safe && !still_open(u)) {
            upstream_close(u); /* the server closed it in this very tick */
            continue;
        }
        dlist_remove(&u->link);
        p->nidle--;
        u->state = UP_BUSY;
        u->owner = owner;
        u->reused = true;
        uv_timer_stop(&u->timer);
        apply_transport(u, tp);
        return u;
    }
    u = calloc(1, sizeof *u);
    if (u == NULL) {
        *err = UV_ENOMEM;
        return NULL;
    }
    u->w = w;
    u->pool = p;
    u->owner = owner;
    u->state = UP_CONNECTING;
    dlist_init(&u->link);
    uv_tcp_init(&w->loop, &u->tcp);
    uv_timer_init(&w->loop, &u->timer);
    u->tcp.data = u;
    u->timer.data = u;
    u->creq.data = u;
    u->handles = 2;
    apply_transport(u, tp);
    rc = uv_tcp_connect(&u->creq, &u->tcp, (const struct sockaddr *)&s->addr, on_connect);
    if (rc != 0) {
        *err = rc;
        upstream_close(u);
        return NULL;
    }
    if (dial_ms > 0) {
        uv_timer_start(&u->timer, on_up_timer, dial_ms, 0);
    }
    return u;
}

void upstream_release(struct upconn *u, bool keepalive)
{
    u->owner = NULL;
    u->mirror = NULL;
    if (!keepalive || u->w->stopping || u->pool->nidle >= u->max_idle ||
        u->state != UP_BUSY) {
        upstream_close(u);
        return;
    }
    u->state = UP_IDLE;
    u->in.start = u->in.end = 0;
    iobuf_release(u->w, &u->in);
    dlist_insert_head(&u->pool->idle, &u->link);
    u->pool->nidle++;
    if (u->idle_timeout_ms > 0) {
        uv_timer_start(&u->timer, on_up_timer, u->idle_timeout_ms, 0);
    }
    /* Keep reading: a server that closes an idle connection is noticed here, not when the
     * next request is written to it. */
    upstream_read_start(u);
}

void upstream_arm_response_timer(struct upconn *u)
{
    uint64_t ms = u->resp_timeout_ms;
    if (ms > 0) {
        uv_timer_start(&u->timer, on_up_timer, ms, 0);
    }
}

void upstream_stop_timer(struct upconn *u)
{
    uv_timer_stop(&u->timer);
}

static void on_up_write(uv_write_t *req, int status)
{
    struct upconn *u = req->data;
    struct conn *c = u->owner;
    u->write_pending = false;
    u->pins_client = false;
    if (u->state == UP_CLOSED) {
        return; /* the close callback returns the write state */
    }
    ws_release(u->w, &u->ws);
    if (u->mirror != NULL) {
        mirror_on_written(u, status);
        return;
    }
    if (c == NULL) {
        return;
    }
    if (status < 0) {
        if (c->state == C_TUNNEL) {
            conn_close(c);
            return;
        }
        if (c->x.resp_head_done) {
            /* The server answered early and stopped reading: finish the response, then close
             * the client (its request body was not fully consumed). */
            c->x.req_abandoned = true;
            c->x.up_keepalive = false;
            return;
        }
        exchange_upstream_failed(c, 502);
        return;
    }
    if (c->state == C_TUNNEL) {
        /* Only the bytes the write carried are done; read-ahead behind them stays. */
        if (c->in.start == c->in.end) {
            c->in.start = c->in.end = 0;
        }
        tunnel_pump(c);
    } else {
        iobuf_compact(&c->in);
        exchange_pump_request(c);
    }
}

int upstream_flush(struct upconn *u)
{
    int rc;
    if (u->ws == NULL) {
        return 0;
    }
    rc = outq_flush((uv_stream_t *)&u->tcp, u->ws, on_up_write, &u->write_pending);
    if (rc == 0 && !u->write_pending) {
        ws_release(u->w, &u->ws);
    }
    return rc;
}

void upstream_pools_close(struct worker *w)
{
    for (uint32_t i = 0; i < w->npools; i++) {
        struct pool *p = w->pools[i];
        while (!dlist_empty(&p->idle)) {
            struct upconn *u = DLIST_ENTRY(p->idle.next, struct upconn, link);
            upstream_close(u);
        }
        free(p);
    }
    w->npools = 0;
}
