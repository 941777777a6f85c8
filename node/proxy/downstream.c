/* Client connections: accept, read request heads, local replies, keep-alive, timeouts,
 * lingering close. The exchange itself (routing, upstream, bodies) is in exchange.c. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "node/base/log.h"
#include "node/net/listen.h"
#include "node/proxy/proxy-int.h"

#define LINGER_MS 2000
#define LINGER_MAX_BYTES (1u << 20)

static void on_client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void on_client_write(uv_write_t *req, int status);

/* ---- buffers ---- */

bool iobuf_ensure(struct worker *w, struct iobuf *b)
{
    if (b->data != NULL) {
        return true;
    }
    b->data = worker_buf_get(w, false);
    if (b->data == NULL) {
        return false;
    }
    b->cap = IOBUF_SIZE;
    b->start = b->end = 0;
    b->pooled = 1;
    return true;
}

static void iobuf_drop(struct worker *w, struct iobuf *b)
{
    if (b->pooled) {
        worker_buf_put(w, b->data, b->pooled == 2);
    } else {
        free(b->data);
    }
    b->data = NULL;
}

void iobuf_upgrade(struct worker *w, struct iobuf *b)
{
    char *big;
    if (b->cap >= IOBUF_BIG || b->start != b->end) {
        return;
    }
    big = worker_buf_get(w, true);
    if (big == NULL) {
        return; /* keep the small one: slower, still correct */
    }
    if (b->data != NULL) {
        iobuf_drop(w, b);
    }
    b->data = big;
    b->cap = IOBUF_BIG;
    b->start = b->end = 0;
    b->pooled = 2;
}

void iobuf_release(struct worker *w, struct iobuf *b)
{
    if (b->data == NULL || b->start != b->end) {
        return;
    }
    iobuf_drop(w, b);
    b->cap = b->start = b->end = 0;
}

void iobuf_compact(struct iobuf *b)
{
    if (b->start == 0) {
        return;
    }
    if (b->start != b->end) {
        memmove(b->data, b->data + b->start, b->end - b->start);
    }
    b->end -= b->start;
    b->start = 0;
}

bool iobuf_make_room(struct worker *w, struct iobuf *b, uint32_t max)
{
    char *bigger;
    uint32_t cap;
    if (b->end < b->cap) {
        return true;
    }
    if (b->start > 0) {
        iobuf_compact(b);
        return true;
    }
    if (b->cap >= max) {
        return false;
    }
    cap = b->cap * 2 > max ? max : b->cap * 2;
    bigger = malloc(cap);
    if (bigger == NULL) {
        return false;
    }
    memcpy(bigger, b->data, b->end);
    iobuf_drop(w, b);
    b->data = bigger;
    b->cap = cap;
    b->pooled = 0;
    return true;
}

/* ---- reading ---- */

static void on_client_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;
    (void)suggested;
    if (!iobuf_ensure(c->w, &c->in)) {
        buf->base = NULL;
        buf->len = 0;
        return;
    }
    /* Reading implies no pending upstream write points into this buffer, so it may move. */
    assert(c->x.up == NULL || !(c->x.up->write_pending && c->x.up->pins_client));
    if (c->in.end == c->in.cap && c->in.start > 0) {
        iobuf_compact(&c->in);
    }
    buf->base = c->in.data + c->in.end;
    buf->len = c->in.cap - c->in.end;
}

void conn_read_start(struct conn *c)
{
    if (!c->reading && c->state != C_CLOSED && !c->peer_eof) {
        c->reading = true;
        uv_read_start((uv_stream_t *)&c->tcp, on_client_alloc, on_client_read);
    }
}

void conn_read_stop(struct conn *c)
{
    if (c->reading) {
        c->reading = false;
        uv_read_stop((uv_stream_t *)&c->tcp);
    }
}

/* ---- closing ---- */

static void on_conn_handle_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    struct worker *w = c->w;
    if (--c->handles > 0) {
        return;
    }
    c->in.start = c->in.end;
    iobuf_release(w, &c->in);
    ws_release(w, &c->ws); /* any write callback ran (cancelled) before the close callback */
    free(c->reply_buf);
    dlist_remove(&c->link);
    w->ep_conns[c->ep_index]--;
    free(c);
    worker_conn_closed(w);
}

void conn_close(struct conn *c)
{
    if (c->closing) {
        return;
    }
    c->closing = true;
    c->state = C_CLOSED;
    if (c->x.active || c->x.held != NULL) {
        exchange_abort(c);
    }
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
}

/* After a final reply on a connection we close: shut our write side and discard what the
 * client still sends for a while, so the kernel does not answer its unread data with a reset
 * that would destroy the reply before the client reads it. */
static void conn_linger(struct conn *c)
{
    int fd;
    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0 || c->peer_eof) {
        conn_close(c);
        return;
    }
    shutdown(fd, SHUT_WR);
    c->lingering = true;
    c->in.start = c->in.end = 0;
    conn_arm_timer(c);
    conn_read_start(c);
}

void conn_finish_close(struct conn *c, bool unread)
{
    /* Unread bytes would make the kernel reset the connection, which can destroy the
     * response in flight; linger only then. */
    if (unread || c->in.start != c->in.end) {
        conn_linger(c);
    } else {
        conn_close(c);
    }
}

/* ---- timers ---- */

static void on_conn_timer(uv_timer_t *t)
{
    struct conn *c = t->data;
    if (c->lingering) {
        conn_close(c);
        return;
    }
    switch (c->state) {
    case C_IDLE:
        conn_close(c);
        break;
    case C_HEAD:
        conn_reply(c, 408, true);
        break;
    case C_EXCHANGE:
        if (!c->x.req_done && !c->x.resp_started && !c->write_pending) {
            conn_reply(c, 408, true);
        } else {
            conn_close(c);
        }
        break;
    default:
        conn_close(c);
        break;
    }
}

void conn_arm_timer(struct conn *c)
{
    const struct proxy_entrypoint *ep = c->ep;
    uint64_t now = worker_now_ms(c->w), deadline = 0, after;
    if (c->lingering) {
        deadline = now + LINGER_MS;
    } else if (c->write_pending && ep->write_timeout_ms > 0) {
        deadline = now + ep->write_timeout_ms;
    } else if (c->write_pending && c->state != C_TUNNEL && ep->idle_timeout_ms > 0) {
        /* writeTimeout 0 (Traefik's default) must not let a client that never reads hold a
         * connection forever (G6): a write that makes no progress for idleTimeout ends it. */
        deadline = now + ep->idle_timeout_ms;
    } else if (c->state == C_IDLE && ep->idle_timeout_ms > 0) {
        deadline = now + ep->idle_timeout_ms;
    } else if (c->state == C_HEAD && ep->read_header_timeout_ms > 0) {
        deadline = c->head_start_ms + ep->read_header_timeout_ms;
    } else if (c->state == C_EXCHANGE && !c->x.req_done && ep->read_timeout_ms > 0) {
        deadline = c->req_start_ms + ep->read_timeout_ms;
    }
    if (deadline == 0) {
        uv_timer_stop(&c->timer);
        return;
    }
    after = deadline > now ? deadline - now : 0;
    uv_timer_start(&c->timer, on_conn_timer, after, 0);
}

/* ---- accept ---- */

/* The entry point's connection limit is shared by the workers: each gets an equal part. */
static bool over_limit(struct worker *w, const struct proxy_entrypoint *ep)
{
    uint32_t n = w->proxy->nworkers, limit;
    if (ep->max_connections == 0) {
        return false;
    }
    limit = (ep->max_connections + n - 1) / n;
    if (w->ep_conns[ep - w->proxy->cfg.entrypoints] <= limit) {
        return false;
    }
    if (worker_now_ms(w) - w->refused_logged_ms > 1000) {
        w->refused_logged_ms = worker_now_ms(w);
        log_warn("entry point %s: maxConnections (%u) reached, refusing connections", ep->name,
                 ep->max_connections);
    }
    return true;
}

void conn_accept(struct worker *w, uv_stream_t *server, uint32_t ep_index)
{
    struct conn *c = calloc(1, sizeof *c);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (c == NULL) {
        log_error("out of memory accepting a connection");
        return;
    }
    c->w = w;
    c->ep = &w->proxy->cfg.entrypoints[ep_index];
    c->ep_index = ep_index;
    c->accepted_ms = worker_now_ms(w);
    w->ep_conns[ep_index]++;
    uv_tcp_init(&w->loop, &c->tcp);
    uv_timer_init(&w->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->handles = 2;
    dlist_insert_tail(&w->conns, &c->link);
    w->nconns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    if (over_limit(w, c->ep)) {
        /* Refuse the excess at once; connections already open keep working (G7). */
        c->closing = true;
        c->state = C_CLOSED;
        uv_tcp_close_reset(&c->tcp, on_conn_handle_closed);
        uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        net_format_ip((struct sockaddr *)&ss, c->peer_ip, sizeof c->peer_ip);
        c->peer_family = ss.ss_family;
        if (ss.ss_family == AF_INET) {
            memcpy(c->peer_addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
        } else {
            memcpy(c->peer_addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
        }
    }
    c->state = C_IDLE;
    conn_arm_timer(c);
    conn_read_start(c);
}

void conn_begin_drain(struct conn *c)
{
    c->draining = true;
    if (c->state == C_IDLE && c->in.start == c->in.end && !c->write_pending) {
        conn_close(c);
    }
}

/* ---- writing ---- */

static void conn_after_write(struct conn *c)
{
    if (c->close_after_write) {
        conn_linger(c);
        return;
    }
    switch (c->state) {
    case C_EXCHANGE:
        exchange_pump_response(c);
        break;
    case C_TUNNEL:
        tunnel_pump(c);
        break;
    case C_IDLE:
    case C_HEAD:
        conn_process(c);
        break;
    default:
        break;
    }
}

void conn_write_flush(struct conn *c)
{
    int rc;
    if (c->ws == NULL) {
        return; /* nothing queued */
    }
    rc = outq_flush((uv_stream_t *)&c->tcp, c->ws, on_client_write, &c->write_pending);
    if (rc < 0) {
        conn_close(c);
        return;
    }
    if (c->write_pending) {
        conn_arm_timer(c);
    } else {
        ws_release(c->w, &c->ws);
    }
}

static void on_client_write(uv_write_t *req, int status)
{
    struct conn *c = req->data;
    c->write_pending = false;
    if (c->state == C_CLOSED) {
        return; /* the close callback returns the write state */
    }
    free(c->reply_buf);
    c->reply_buf = NULL;
    ws_release(c->w, &c->ws);
    if (status < 0) {
        conn_close(c);
        return;
    }
    c->pins_up = false;
    conn_arm_timer(c);
    conn_after_write(c);
}

/* ---- local replies ---- */

static const char *reason_for(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
    }
}

void conn_reply(struct conn *c, int status, bool close)
{
    struct outq *q;
    char text[400];
    const char *reason = reason_for(status);
    int n;
    if (c->state == C_CLOSED) {
        return;
    }
    if (c->x.held != NULL) {
        exchange_abort(c); /* a middleware was waiting: the wait is cancelled */
    }
    if (c->x.active) {
        if (c->x.resp_started) {
            conn_close(c);
            return;
        }
        exchange_abort(c);
    }
    if (c->draining) {
        close = true;
    }
    n = snprintf(text, sizeof text,
                 "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 "Content-Length: %zu\r\n%s%s\r\n%s\n",
                 status, reason, strlen(reason) + 1, close ? "Connection: close\r\n" : "",
                 status == 405 ? "Allow: GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH\r\n" : "",
                 reason);
    q = c->write_pending ? NULL : ws_acquire(c->w, &c->ws);
    if (q == NULL || !outq_push_copy(q, text, (size_t)n)) {
        conn_close(c);
        return;
    }
    if (close) {
        c->close_after_write = true;
        conn_read_stop(c);
        c->state = C_FINAL;
    } else {
        c->state = C_IDLE;
    }
    conn_write_flush(c);
    if (!c->write_pending && c->state != C_CLOSED && close) {
        conn_linger(c);
    }
}

void conn_reply_buf(struct conn *c, char *buf, uint32_t len, bool close)
{
    struct outq *q;
    if (c->state == C_CLOSED) {
        free(buf);
        return;
    }
    if (c->x.held != NULL) {
        exchange_abort(c); /* a middleware was waiting: the wait is cancelled */
    }
    if (c->x.active) {
        if (c->x.resp_started) {
            free(buf);
            conn_close(c);
            return;
        }
        exchange_abort(c);
    }
    q = c->write_pending || c->reply_buf != NULL ? NULL : ws_acquire(c->w, &c->ws);
    if (q == NULL || !outq_push(q, buf, len)) {
        free(buf);
        conn_close(c);
        return;
    }
    c->reply_buf = buf;
    if (close || c->draining) {
        c->close_after_write = true;
        conn_read_stop(c);
        c->state = C_FINAL;
    } else {
        c->state = C_IDLE;
    }
    conn_write_flush(c);
    if (!c->write_pending && c->state != C_CLOSED) {
        free(c->reply_buf);
        c->reply_buf = NULL;
        if (c->close_after_write) {
            conn_linger(c);
        }
    }
}

/* ---- the read path ---- */

static void conn_on_eof(struct conn *c)
{
    c->peer_eof = true;
    conn_read_stop(c);
    if (c->lingering) {
        conn_close(c);
        return;
    }
    switch (c->state) {
    case C_IDLE:
    case C_HEAD:
        if (!c->write_pending) {
            conn_process(c);
        }
        break;
    case C_FINAL:
        if (!c->write_pending) {
            conn_close(c);
        }
        break;
    case C_EXCHANGE:
        if (!c->x.req_done) {
            /* A truncated request must never be committed upstream (B7). */
            conn_close(c);
        }
        break;
    default:
        conn_close(c);
        break;
    }
}

static void on_client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    (void)buf;
    if (nread == 0) {
        return;
    }
    if (nread == UV_ENOBUFS) {
        conn_read_stop(c);
        return;
    }
    if (nread < 0) {
        conn_on_eof(c);
        return;
    }
    if (c->lingering) {
        c->in.start = c->in.end = 0;
        c->linger_bytes += (uint32_t)nread;
        if (c->linger_bytes > LINGER_MAX_BYTES) {
            conn_close(c);
        }
        return;
    }
    c->in.end += (uint32_t)nread;
    if (c->state == C_IDLE) {
        c->state = C_HEAD;
        c->head_start_ms = worker_now_ms(c->w);
        conn_arm_timer(c);
    }
    conn_process(c);
}

static void limits_of(const struct proxy_entrypoint *ep, struct h1_limits *l)
{
    l->max_request_line = ep->max_request_line;
    l->max_field_line = ep->max_field_line;
    l->max_head = ep->max_head;
    l->max_headers = ep->max_headers;
}

/* Parses the next request head when one is complete; loops over pipelined requests answered
 * locally without waiting (a proxied one continues from upstream callbacks). */
void conn_process(struct conn *c)
{
    struct h1_limits lim;
    struct h1_msg m;
    limits_of(c->ep, &lim);
    for (;;) {
        int rc;
        if (c->state == C_EXCHANGE) {
            if (c->x.active) {
                exchange_pump_request(c);
            }
            return;
        }
        if (c->state == C_TUNNEL) {
            tunnel_pump(c);
            return;
        }
        if (c->state != C_IDLE && c->state != C_HEAD) {
            return; /* FINAL or CLOSED */
        }
        if (c->write_pending) {
            return; /* a local reply is still going out; continue when it is written */
        }
        if (c->in.start == c->in.end) {
            if (c->state == C_HEAD) {
                c->state = C_IDLE;
            }
            c->in.start = c->in.end = 0;
            iobuf_release(c->w, &c->in);
            if (c->draining || c->peer_eof) {
                conn_close(c);
                return;
            }
            conn_arm_timer(c);
            conn_read_start(c);
            return;
        }
        if (c->state == C_IDLE) {
            c->state = C_HEAD;
            c->head_start_ms = worker_now_ms(c->w);
            conn_arm_timer(c);
        }
        rc = h1_parse_request(c->in.data + c->in.start, c->in.end - c->in.start, &lim,
                              c->w->hdrs, c->w->max_hdrs, &m);
        if (rc == 0) {
            if (c->peer_eof) {
                conn_close(c); /* an incomplete head before EOF */
                return;
            }
            if (!iobuf_make_room(c->w, &c->in, c->ep->max_head + 1024)) {
                conn_reply(c, 431, true);
                return;
            }
            conn_read_start(c);
            return;
        }
        if (rc < 0) {
            log_debug("client %s: request refused (%d): %s", c->peer_ip, -rc,
                      m.error ? m.error : "");
            conn_reply(c, -rc, true);
            return;
        }
        c->state = C_EXCHANGE;
        c->nreq++;
        c->req_start_ms = worker_now_ms(c->w);
        exchange_start(c, &m);
    }
}
