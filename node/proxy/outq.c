/* Output queues: gather slices and generated text into one writev, try it synchronously and
 * hand only the remainder to libuv, so the common small response costs one write(2). */
#include <stdlib.h>
#include <string.h>

#include "node/proxy/proxy-int.h"

void outq_reset(struct outq *q)
{
    q->n = 0;
    q->hdr_used = 0;
}

bool outq_full(const struct outq *q)
{
    /* Room for one chunk (size line, data, CRLF) plus the last-chunk marker. */
    return q->n + 4 > OUTQ_MAX || q->hdr_used + 24 > sizeof q->hdr;
}

bool outq_push(struct outq *q, const void *base, size_t len)
{
    if (len == 0) {
        return true;
    }
    if (q->n == OUTQ_MAX) {
        return false;
    }
    q->iov[q->n++] = uv_buf_init((char *)base, (unsigned)len);
    return true;
}

bool outq_push_copy(struct outq *q, const void *data, size_t len)
{
    if (q->hdr_used + len > sizeof q->hdr) {
        return false;
    }
    memcpy(q->hdr + q->hdr_used, data, len);
    if (!outq_push(q, q->hdr + q->hdr_used, len)) {
        return false;
    }
    q->hdr_used += (uint32_t)len;
    return true;
}

bool outq_push_chunk_header(struct outq *q, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char tmp[20];
    int i = (int)sizeof tmp;
    tmp[--i] = '\n';
    tmp[--i] = '\r';
    do {
        tmp[--i] = hex[n & 15];
        n >>= 4;
    } while (n > 0);
    return outq_push_copy(q, tmp + i, sizeof tmp - (size_t)i);
}

#define WS_FREELIST_MAX 256

struct outq *ws_acquire(struct worker *w, struct wstate **ws)
{
    if (*ws == NULL) {
        *ws = w->nfreews > 0 ? w->freews[--w->nfreews] : malloc(sizeof **ws);
        if (*ws == NULL) {
            return NULL;
        }
        outq_reset(&(*ws)->q);
    }
    return &(*ws)->q;
}

void ws_release(struct worker *w, struct wstate **ws)
{
    if (*ws == NULL) {
        return;
    }
    if (w->nfreews < WS_FREELIST_MAX) {
        w->freews[w->nfreews++] = *ws;
    } else {
        free(*ws);
    }
    *ws = NULL;
}

void ws_freelist_fini(struct worker *w)
{
    for (uint32_t i = 0; i < w->nfreews; i++) {
        free(w->freews[i]);
    }
    free(w->freews);
    w->freews = NULL;
    w->nfreews = 0;
}

int outq_flush(uv_stream_t *s, struct wstate *ws, uv_write_cb cb, bool *pending)
{
    struct outq *q = &ws->q;
    uv_write_t *req = &ws->req;
    uint32_t first = 0;
    int rc;
    *pending = false;
    if (q->n == 0) {
        return 0;
    }
    rc = uv_try_write(s, q->iov, q->n);
    if (rc == UV_EAGAIN) {
        rc = 0;
    } else if (rc < 0) {
        return rc;
    }
    /* Skip what the kernel took. */
    size_t done = (size_t)rc;
    while (first < q->n && done >= q->iov[first].len) {
        done -= q->iov[first].len;
        first++;
    }
    if (first == q->n) {
        outq_reset(q);
        return 0;
    }
    q->iov[first].base += done;
    q->iov[first].len -= done;
    req->data = s->data;
    rc = uv_write(req, s, q->iov + first, q->n - first, cb);
    if (rc < 0) {
        return rc;
    }
    *pending = true;
    /* libuv copied the iovec array (not the data), so the queue can be reused for bookkeeping
     * but the bytes it pointed at must stay until the callback. */
    q->n = 0;
    return 0;
}
