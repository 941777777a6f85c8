/* The exchange's side of the flow middlewares (mw_flow.h): retry (another attempt after a
 * backoff timer), errors (the page fetched from the error service), compress (the body
 * through gzip) and buffering (whole bodies before sending). exchange.c calls these hooks at
 * a few points; the policies are in mw_retry.c, mw_errors.c, mw_compress.c, mw_buffering.c.
 * Declared in proxy-int.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/proxy/mw_flow.h"
#include "node/proxy/proxy-int.h"

static const char CRLF[] = "\r\n";

struct retry_wait {
    uv_timer_t timer;
    struct conn *c; /* NULL once the exchange has ended */
};

static void retry_wait_closed(uv_handle_t *h)
{
    free(h->data);
}

void flow_end(struct exchange *x)
{
    struct retry_wait *rw = x->retry_wait;
    if (rw == NULL) {
        return;
    }
    x->retry_wait = NULL;
    rw->c = NULL;
    uv_timer_stop(&rw->timer);
    uv_close((uv_handle_t *)&rw->timer, retry_wait_closed);
}

static void flow_connect(struct conn *c)
{
    struct exchange *x = &c->x;
    int err = 0;
    x->up = upstream_get(c->w, x->server, c, exchange_idempotent(x->method), &err);
    if (x->up == NULL) {
        exchange_upstream_failed(c, 502);
    } else if (x->up->state == UP_BUSY) {
        exchange_upstream_ready(c);
    } else {
        conn_arm_timer(c);
    }
}

static void on_retry_timer(uv_timer_t *t)
{
    struct retry_wait *rw = t->data;
    struct conn *c = rw->c;
    if (c != NULL && c->x.active && c->x.up == NULL && c->state == C_EXCHANGE) {
        flow_connect(c);
    }
}

/* retry: another attempt, on a server the balancer picks again, when the upstream failed
 * before any response byte. Only when the request can be sent again as it was: no body byte
 * has left the client buffer for the failed upstream, and for a non-idempotent method only
 * when its head never went out (the connect failed), so the server cannot have acted on it.
 * With passHostHeader false the Host stays the first server's (the head is built once).
 * Returns true when an attempt was started or scheduled. */
bool flow_retry(struct conn *c)
{
    struct exchange *x = &c->x;
    const struct table_server *s;
    uint64_t delay = 0;
    if (x->mw == NULL || x->resp_seen || x->err_status != 0 || x->req_abandoned ||
        x->req_body_sent || x->upgrade || (x->head_sent && !exchange_idempotent(x->method)) ||
        !mw_retry_next(x->mw, &delay) || (s = exchange_pick(c, x->router->service)) == NULL) {
        return false;
    }
    if (x->up != NULL) {
        x->up->owner = NULL;
        upstream_close(x->up);
        x->up = NULL;
    }
    x->server = s;
    x->retries++;
    x->head_sent = false;
    x->resp_timer_armed = false;
    x->up_eof = false;
    if (delay > 0 && x->retry_wait == NULL && (x->retry_wait = calloc(1, sizeof *x->retry_wait))) {
        uv_timer_init(&c->w->loop, &x->retry_wait->timer);
        x->retry_wait->timer.data = x->retry_wait;
        x->retry_wait->c = c;
    }
    if (delay == 0 || x->retry_wait == NULL) {
        flow_connect(c);
    } else {
        uv_timer_start(&x->retry_wait->timer, on_retry_timer, delay, 0);
    }
    return true;
}

/* errors: the upstream's status is in the ranges. Its response is dropped (the connection
 * closed: its body is not wanted) and the page is fetched from the error service; the client
 * gets it under the original status (response_head). If the page cannot be had, the client
 * gets the original status with a short body (exchange_upstream_failed). */
void flow_errors_divert(struct conn *c, const struct mwc_errors *e, int status)
{
    struct exchange *x = &c->x;
    const struct table_server *s;
    uint32_t len = 0;
    char *head;
    int err = 0;
    x->err_status = status;
    ws_release(c->w, &c->ws); /* nothing is queued for the client yet */
    x->up->owner = NULL;
    upstream_close(x->up);
    x->up = NULL;
    s = exchange_pick(c, e->service);
    head = s ? mw_errors_head(x->mw, e, status, s->authority, c->w->proxy->via_id, &len) : NULL;
    if (head == NULL) {
        exchange_upstream_failed(c, status);
        return;
    }
    free(x->head);
    x->head = head;
    x->head_len = len;
    x->head_sent = false;
    x->req_body = H1_BODY_NONE;
    x->method = H1_M_GET;
    x->server = s;
    x->resp_timer_armed = false;
    x->up_eof = false;
    x->up_keepalive = false;
    x->up = upstream_get(c->w, s, c, true, &err);
    if (x->up == NULL) {
        exchange_upstream_failed(c, status);
    } else if (x->up->state == UP_BUSY) {
        exchange_upstream_ready(c);
    }
}

/* buffering: Concord keeps the buffered bodies in memory. A max of 0 (Traefik: no limit,
 * spilled to disk) is bounded here instead, so one exchange can never take unbounded memory. */
#define FLOW_BUF_CAP ((uint64_t)64 << 20)

static uint64_t buf_limit(int64_t max)
{
    return max > 0 && (uint64_t)max < FLOW_BUF_CAP ? (uint64_t)max : FLOW_BUF_CAP;
}

/* Appends to the body being buffered; false when it would pass `limit` (nothing appended). */
static bool buf_append(struct exchange *x, const char *p, size_t n, uint64_t limit, bool *nomem)
{
    *nomem = false;
    if (x->buf_len + n > limit) {
        return false;
    }
    if (x->buf_len + n > x->buf_cap) {
        uint64_t cap = x->buf_cap ? x->buf_cap * 2 : 16384;
        char *b;
        while (cap < x->buf_len + n) {
            cap *= 2;
        }
        cap = cap < limit ? cap : limit;
        if ((b = realloc(x->buf, cap)) == NULL) {
            *nomem = true;
            return false;
        }
        x->buf = b;
        x->buf_cap = cap;
    }
    memcpy(x->buf + x->buf_len, p, n);
    x->buf_len += n;
    return true;
}

/* The head, with "Transfer-Encoding: chunked" (written by headers.c on a line of its own, the
 * only one: framing fields from the peer are never copied) replaced by a Content-Length of
 * `len`, and `body` after it. malloc'd; NULL on ENOMEM. */
static char *with_length(const char *head, uint32_t hlen, uint64_t len, const char *body,
                         uint64_t blen, uint32_t *out_hlen)
{
    static const char te[] = "\r\nTransfer-Encoding: chunked\r\n";
    const char *at = memmem(head, hlen, te, sizeof te - 1);
    char cl[64];
    int cln = snprintf(cl, sizeof cl, "\r\nContent-Length: %llu\r\n", (unsigned long long)len);
    uint32_t pre = at ? (uint32_t)(at - head) : hlen;
    uint32_t post = at ? (uint32_t)(hlen - pre - (sizeof te - 1)) : 0;
    uint32_t nh = at ? pre + (uint32_t)cln + post : hlen;
    char *o = malloc(nh + blen + 1);
    if (o == NULL) {
        return NULL;
    }
    memcpy(o, head, pre);
    if (at != NULL) {
        memcpy(o + pre, cl, (size_t)cln);
        memcpy(o + pre + cln, at + sizeof te - 1, post);
    }
    if (blen > 0) {
        memcpy(o + nh, body, blen);
    }
    *out_hlen = nh;
    return o;
}

/* Request side: moves body bytes from the client buffer into x->buf. Returns 1 when the body
 * is whole, 0 when more is needed, -1 after answering (413, or a bad chunked body). */
static int buf_collect_request(struct conn *c, uint64_t limit)
{
    struct exchange *x = &c->x;
    bool nomem;
    while (!x->req_done && c->in.start < c->in.end) {
        const char *p = c->in.data + c->in.start, *data = p;
        size_t avail = c->in.end - c->in.start, dlen;
        if (x->req_body == H1_BODY_LENGTH) {
            dlen = avail < x->req_left ? avail : (size_t)x->req_left;
            c->in.start += (uint32_t)dlen;
            x->req_left -= dlen;
            x->req_done = x->req_left == 0;
        } else {
            size_t consumed = 0;
            int rc = h1_chunked_next(&x->req_ck, p, avail, &consumed, &data, &dlen);
            c->in.start += (uint32_t)consumed;
            if (rc < 0) {
                conn_reply(c, -rc, true);
                return -1;
            }
            if (rc == H1_CHUNK_DONE) {
                x->req_done = true;
                break;
            }
            if (rc != H1_CHUNK_DATA) {
                if (consumed == 0) {
                    break;
                }
                continue;
            }
        }
        if (!buf_append(x, data, dlen, limit, &nomem)) {
            conn_reply(c, nomem ? 500 : 413, true);
            return -1;
        }
    }
    return x->req_done ? 1 : 0;
}

void flow_buf_pump(struct conn *c)
{
    struct exchange *x = &c->x;
    const struct mwc_buffering *b = mw_buffering_of(x->mw);
    uint64_t limit = buf_limit(b->max_request);
    uint32_t hlen = 0;
    char *head;
    int rc;
    if (c->ep->max_body > 0 && c->ep->max_body < limit) {
        limit = c->ep->max_body;
    }
    rc = buf_collect_request(c, limit);
    if (rc < 0) {
        return;
    }
    if (rc == 0) {
        if (c->in.start == c->in.end) {
            c->in.start = c->in.end = 0;
        }
        if (c->in.data == NULL || iobuf_make_room(c->w, &c->in, IOBUF_SIZE)) {
            conn_read_start(c);
        } else {
            conn_read_stop(c);
        }
        return;
    }
    /* Whole: the head says Content-Length and carries the body, so a retry resends both. */
    head = with_length(x->head, x->head_len, x->buf_len, x->buf, x->buf_len, &hlen);
    if (head == NULL) {
        conn_reply(c, 500, true);
        return;
    }
    x->head_len = hlen + (uint32_t)x->buf_len;
    free(x->head);
    x->head = head;
    free(x->buf);
    x->buf = NULL;
    x->buf_len = x->buf_cap = 0;
    x->req_body = H1_BODY_NONE;
    x->buf_req = false;
    conn_arm_timer(c);
    flow_connect(c);
}

/* Called once the request head is built: with a buffering middleware the body is read whole
 * first (413 past maxRequestBodyBytes, at once when a Content-Length says so). Returns true
 * when it took the exchange over. */
bool flow_buf_start(struct conn *c, bool expect_continue)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    struct exchange *x = &c->x;
    const struct mwc_buffering *b = mw_buffering_of(x->mw);
    struct outq *q;
    if (b == NULL || x->req_done || x->upgrade) {
        return false;
    }
    if (x->req_body == H1_BODY_LENGTH && x->req_left > buf_limit(b->max_request)) {
        conn_reply(c, 413, true);
        return true;
    }
    x->buf_req = true;
    /* The client waits for a 100 before the body, and no upstream will send it yet. */
    if (expect_continue && !c->write_pending && (q = ws_acquire(c->w, &c->ws)) != NULL) {
        outq_reset(q);
        outq_push_copy(q, cont, sizeof cont - 1);
        conn_write_flush(c);
        if (c->state == C_CLOSED) {
            return true;
        }
    }
    flow_buf_pump(c);
    return true;
}

/* Response side, from response_head: whether this response is buffered. Returns 1 (yes: the
 * head is built chunked and rewritten with the length at the end), 0 (no), -1 after answering
 * 500 (a Content-Length past maxResponseBodyBytes). */
int flow_buf_resp_begin(struct conn *c, const struct h1_msg *m)
{
    struct exchange *x = &c->x;
    const struct mwc_buffering *b = mw_buffering_of(x->mw);
    if (b == NULL || m->status < 200 || m->body == H1_BODY_NONE ||
        (m->body == H1_BODY_LENGTH && m->content_length == 0)) {
        return 0;
    }
    if (m->body == H1_BODY_LENGTH && m->content_length > buf_limit(b->max_response)) {
        exchange_upstream_failed(c, 500);
        return -1;
    }
    x->buf_resp = true;
    x->out_mode = OUT_LENGTH;
    return 1;
}

/* Response body bytes into the buffer; false after answering 500 (too big, or ENOMEM). */
bool flow_buf_resp_add(struct conn *c, const char *p, size_t n)
{
    bool nomem;
    if (n > 0 &&
        !buf_append(&c->x, p, n, buf_limit(mw_buffering_of(c->x.mw)->max_response), &nomem)) {
        exchange_upstream_failed(c, 500);
        return false;
    }
    return true;
}

/* The whole response: the head with its length, then the body. */
bool flow_buf_resp_send(struct conn *c)
{
    struct exchange *x = &c->x;
    uint32_t hlen = 0;
    char *head = with_length(x->rhead, x->rhead_len, x->buf_len, NULL, 0, &hlen);
    if (head == NULL) {
        exchange_upstream_failed(c, 500);
        return false;
    }
    free(x->rhead);
    x->rhead = head;
    outq_push(&c->ws->q, head, hlen);
    if (x->buf_len > 0) {
        outq_push(&c->ws->q, x->buf, x->buf_len);
    }
    x->resp_started = true;
    return true;
}

/* compress: deflates this read's body bytes and queues the output as one chunk (or into the
 * buffered response); the gzip stream ends with the body. False after closing/answering. */
bool flow_gzip_out(struct conn *c, const char *p, size_t len)
{
    struct outq *q = &c->ws->q;
    const char *out;
    size_t n = 0;
    if (len == 0 && !c->x.resp_done) {
        return true;
    }
    if (mw_gzip_write(c->x.gz, p, len, c->x.resp_done, &out, &n) != 0) {
        conn_close(c);
        return false;
    }
    if (c->x.buf_resp) {
        return flow_buf_resp_add(c, out, n);
    }
    if (n > 0) {
        outq_push_chunk_header(q, n);
        outq_push(q, out, n);
        outq_push(q, CRLF, 2);
    }
    return true;
}
