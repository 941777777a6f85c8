/* Peer authentication around libraft's transport: the cluster-secret handshake runs on every
 * stream before libraft sees it. */
#include "raftstore/transport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/log.h"

/* One handshake in progress. The stream is ours until it is handed to libraft (success) or
 * closed (failure, timeout, transport closing). */
struct hs {
    struct dlist link; /* in auth_transport.handshakes */
    struct auth_transport *at;
    uv_stream_t *stream;
    uv_timer_t timer;
    struct peer_auth pa;
    bool client;
    bool done;
    /* accepting side: what libraft's inner transport told us */
    raft_id id;
    char *address;
    /* connecting side: libraft's request, and ours to the inner transport */
    struct raft_uv_connect *req;
    struct raft_uv_connect inner_req;
    uint8_t rbuf[PA_HELLO];
};

struct wreq {
    uv_write_t req;
    uint8_t data[PA_HELLO + PA_MAC];
};

static void on_written(uv_write_t *req, int status)
{
    (void)status; /* a failed write shows up as a failed read on the same stream */
    free(req->data);
}

static int flush(struct hs *h)
{
    size_t n;
    const uint8_t *p = peer_auth_output(&h->pa, &n);
    struct wreq *w;
    uv_buf_t b;
    if (n == 0) {
        return 0;
    }
    w = malloc(sizeof *w);
    if (w == NULL) {
        return UV_ENOMEM;
    }
    memcpy(w->data, p, n);
    peer_auth_sent(&h->pa);
    w->req.data = w;
    b = uv_buf_init((char *)w->data, (unsigned)n);
    return uv_write(&w->req, h->stream, &b, 1, on_written);
}

static void on_stream_closed(uv_handle_t *handle)
{
    free(handle);
}

static void on_timer_closed(uv_handle_t *handle)
{
    struct hs *h = handle->data;
    peer_auth_fini(&h->pa);
    free(h->address);
    free(h);
}

/* Ends a handshake: hands the stream over (ok) or closes it, then frees the handshake. */
static void finish(struct hs *h, bool ok, int status)
{
    struct auth_transport *at = h->at;
    uv_stream_t *stream = h->stream;
    if (h->done) {
        return;
    }
    h->done = true;
    dlist_remove(&h->link);
    uv_timer_stop(&h->timer);
    if (stream != NULL) {
        uv_read_stop(stream);
    }
    if (!ok && stream != NULL) {
        uv_close((uv_handle_t *)stream, on_stream_closed);
        stream = NULL;
    }
    if (h->client) {
        h->req->cb(h->req, stream, ok ? 0 : status);
    } else if (ok && !at->closing) {
        at->accept_cb(&at->t, h->id, h->address, stream);
    }
    uv_close((uv_handle_t *)&h->timer, on_timer_closed);
}

static void refuse(struct hs *h, const char *why)
{
    h->at->refused++;
    log_warn("raft peer %s%s: %s; disconnected", h->client ? "at " : "",
             h->address ? h->address : "?", why);
    finish(h, false, RAFT_NOCONNECTION);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct hs *h = handle->data;
    size_t want = peer_auth_want(&h->pa);
    (void)suggested;
    /* Exactly what the handshake still needs: bytes after it belong to libraft and must stay
     * in the socket. */
    *buf = uv_buf_init((char *)h->rbuf, (unsigned)(want > 0 ? want : 1));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct hs *h = stream->data;
    size_t used = 0;
    int rc;
    if (nread == 0) {
        return;
    }
    if (nread < 0) {
        refuse(h, "connection closed during the handshake");
        return;
    }
    rc = peer_auth_input(&h->pa, buf->base, (size_t)nread, &used);
    if (flush(h) != 0) {
        refuse(h, "cannot answer the handshake");
        return;
    }
    if (rc < 0) {
        refuse(h, "wrong cluster secret");
    } else if (rc == 1) {
        finish(h, true, 0);
    }
}

static void on_timeout(uv_timer_t *t)
{
    refuse(t->data, "handshake timed out");
}

static struct hs *hs_new(struct auth_transport *at, bool client)
{
    struct hs *h = calloc(1, sizeof *h);
    if (h == NULL) {
        return NULL;
    }
    h->at = at;
    h->client = client;
    if (peer_auth_init(&h->pa, client, at->secret, at->secret_len) != 0) {
        free(h);
        return NULL;
    }
    uv_timer_init(at->loop, &h->timer);
    h->timer.data = h;
    dlist_insert_tail(&at->handshakes, &h->link);
    return h;
}

/* The stream is connected (either way): say HELLO and read the peer's. */
static void start(struct hs *h, uv_stream_t *stream)
{
    h->stream = stream;
    stream->data = h;
    uv_timer_start(&h->timer, on_timeout, AT_HANDSHAKE_TIMEOUT_MS, 0);
    if (flush(h) != 0 || uv_read_start(stream, on_alloc, on_read) != 0) {
        refuse(h, "cannot start the handshake");
    }
}

static void on_inner_accept(struct raft_uv_transport *inner, raft_id id, const char *address,
                            uv_stream_t *stream)
{
    struct auth_transport *at = inner->data;
    struct hs *h = at->closing ? NULL : hs_new(at, false);
    if (h == NULL) {
        uv_close((uv_handle_t *)stream, on_stream_closed);
        return;
    }
    h->id = id;
    h->address = strdup(address);
    start(h, stream);
}

static void on_inner_connect(struct raft_uv_connect *req, uv_stream_t *stream, int status)
{
    struct hs *h = req->data;
    if (status != 0 || h->at->closing) {
        if (stream != NULL) {
            uv_close((uv_handle_t *)stream, on_stream_closed);
        }
        finish(h, false, status != 0 ? status : RAFT_CANCELED);
        return;
    }
    start(h, stream);
}

static int at_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
    struct auth_transport *at = t->impl;
    int rc = at->inner->init(at->inner, id, address);
    if (rc != 0) {
        memcpy(t->errmsg, at->inner->errmsg, sizeof t->errmsg);
    }
    return rc;
}

static int at_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
    struct auth_transport *at = t->impl;
    int rc;
    at->accept_cb = cb;
    rc = at->inner->listen(at->inner, on_inner_accept);
    if (rc != 0) {
        memcpy(t->errmsg, at->inner->errmsg, sizeof t->errmsg);
    }
    return rc;
}

static int at_connect(struct raft_uv_transport *t, struct raft_uv_connect *req, raft_id id,
                      const char *address, raft_uv_connect_cb cb)
{
    struct auth_transport *at = t->impl;
    struct hs *h = hs_new(at, true);
    int rc;
    if (h == NULL) {
        return RAFT_NOMEM;
    }
    req->cb = cb;
    h->req = req;
    h->id = id;
    h->address = strdup(address);
    h->inner_req.data = h;
    rc = at->inner->connect(at->inner, &h->inner_req, id, address, on_inner_connect);
    if (rc != 0) {
        h->done = true; /* no callback for a request that never started */
        dlist_remove(&h->link);
        uv_close((uv_handle_t *)&h->timer, on_timer_closed);
        memcpy(t->errmsg, at->inner->errmsg, sizeof t->errmsg);
    }
    return rc;
}

static void on_inner_closed(struct raft_uv_transport *inner)
{
    struct auth_transport *at = inner->data;
    at->close_cb(&at->t);
}

static void at_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
    struct auth_transport *at = t->impl;
    at->closing = true;
    at->close_cb = cb;
    /* Handshakes with a stream end now; connects still in the inner transport are cancelled
     * by its close, which calls on_inner_connect. */
    for (struct dlist *l = at->handshakes.next; l != &at->handshakes;) {
        struct hs *h = DLIST_ENTRY(l, struct hs, link);
        l = l->next;
        if (h->stream != NULL) {
            finish(h, false, RAFT_CANCELED);
        }
    }
    at->inner->close(at->inner, on_inner_closed);
}

int auth_transport_init(struct auth_transport *a, uv_loop_t *loop,
                        struct raft_uv_transport *inner, const void *secret, size_t secret_len)
{
    memset(a, 0, sizeof *a);
    if (secret == NULL || secret_len == 0 || secret_len > PA_SECRET_MAX) {
        return -EINVAL;
    }
    a->inner = inner;
    a->loop = loop;
    memcpy(a->secret, secret, secret_len);
    a->secret_len = secret_len;
    dlist_init(&a->handshakes);
    inner->data = a;
    a->t.impl = a;
    a->t.init = at_init;
    a->t.listen = at_listen;
    a->t.connect = at_connect;
    a->t.close = at_close;
    return 0;
}
