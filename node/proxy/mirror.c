/* Mirroring: copies of a request to the mirror services balance_pick() selected, fire and
 * forget. A copy is an upstream request with no client: its response is read and discarded,
 * and whatever happens to it (refused connection, timeout, garbage) never reaches the client,
 * whose exchange goes on independently.
 *
 * What is copied (bodies would need buffering that the streaming data path does not do):
 *  - a request without body: always;
 *  - mirrorBody false: the head, sent with "Content-Length: 0" when the request had a body;
 *  - a Content-Length body that is already entirely in the client's input buffer (it arrived
 *    with the head, so up to one buffer, 16 KiB) and not larger than maxBodySize: head and body;
 *  - any other body (larger than maxBodySize, chunked, or still on its way): not mirrored.
 * Copies leave when the request starts (Traefik sends them after the main response): the
 * body must still be in the client buffer. They carry the head sent to the main server (the
 * same Host and X-Forwarded-* fields).
 * Each copy goes on its own request with "Connection: close" (the mirror's response is read to
 * its end, then the connection closes); WebSocket upgrades are never mirrored. A copy lives at
 * most the transport's responseHeaderTimeout (else the static response timeout, else
 * MIRROR_DEFAULT_MS), and a worker keeps at most MIRROR_MAX copies in flight (more are
 * dropped): a slow mirror can never hold memory without bound.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/base/log.h"
#include "node/proxy/proxy-int.h"

#define MIRROR_MAX 1024
#define MIRROR_DEFAULT_MS 30000

struct mirror {
    struct dlist link; /* in worker->mirrors */
    struct worker *w;
    struct upconn *up;
    char *buf; /* head and body */
    uint32_t len;
};

static void mirror_end(struct mirror *mi)
{
    struct upconn *u = mi->up;
    if (u != NULL) {
        u->mirror = NULL;
        upstream_close(u);
    }
    dlist_remove(&mi->link);
    mi->w->nmirrors--;
    free(mi->buf);
    free(mi);
}

static bool line_is(const char *p, size_t len, const char *name)
{
    size_t n = strlen(name);
    return len > n && p[n] == ':' && strncasecmp(p, name, n) == 0;
}

/* The upstream head (x->head) rewritten for a copy: framing and connection fields replaced by
 * "Content-Length: <body_len>" (when the request had a body) and "Connection: close". */
static char *copy_head(const char *head, uint32_t hlen, bool had_body, uint64_t body_len,
                       uint32_t *out_len)
{
    char *out = malloc((size_t)hlen + 64);
    size_t o = 0;
    const char *p = head, *end = head + hlen;
    if (out == NULL) {
        return NULL;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p + 1) : (size_t)(end - p);
        if (len <= 2 && p != head) {
            break; /* the empty line that ends the head */
        }
        if (!line_is(p, len, "content-length") && !line_is(p, len, "transfer-encoding") &&
            !line_is(p, len, "connection") && !line_is(p, len, "keep-alive")) {
            memcpy(out + o, p, len);
            o += len;
        }
        p += len;
    }
    if (had_body) {
        o += (size_t)snprintf(out + o, 40, "Content-Length: %llu\r\n",
                              (unsigned long long)body_len);
    }
    memcpy(out + o, "Connection: close\r\n\r\n", 21);
    o += 21;
    *out_len = (uint32_t)o;
    return out;
}

/* The bytes of one copy, or NULL when this request is not mirrored (see the top comment). */
static char *copy_request(const struct conn *c, const struct h1_msg *m,
                          const struct table_service *ms, uint32_t *len)
{
    const struct exchange *x = &c->x;
    bool had_body = !(m->body == H1_BODY_NONE);
    uint64_t body = 0;
    uint32_t hlen = 0;
    char *buf;
    if (x->upgrade) {
        return NULL;
    }
    if (had_body && ms->mirror_body) {
        if (m->body != H1_BODY_LENGTH ||
            (ms->max_body_size >= 0 && m->content_length > (uint64_t)ms->max_body_size) ||
            c->in.end - c->in.start < m->content_length) {
            return NULL;
        }
        body = m->content_length;
    }
    buf = copy_head(x->head, x->head_len, had_body, body, &hlen);
    if (buf == NULL || body == 0) {
        *len = hlen;
        return buf;
    }
    char *all = realloc(buf, hlen + body);
    if (all == NULL) {
        free(buf);
        return NULL;
    }
    memcpy(all + hlen, c->in.data + c->in.start, body);
    *len = hlen + (uint32_t)body;
    return all;
}

static void send_copy(struct conn *c, const struct table_service *svc, char *buf, uint32_t len)
{
    struct worker *w = c->w;
    struct bal_pick p;
    struct mirror *mi;
    int err = 0;
    /* svc is of the exchange's generation, which may be older than the worker's table. */
    if (w->nmirrors >= MIRROR_MAX || exchange_balance_pick(c, svc, NULL, 0, 0, &p) != 0 ||
        (mi = calloc(1, sizeof *mi)) == NULL) {
        free(buf);
        return;
    }
    mi->w = w;
    mi->buf = buf;
    mi->len = len;
    dlist_insert_head(&w->mirrors, &mi->link);
    w->nmirrors++;
    mi->up = upstream_get_tp(w, p.server, p.leaf->transport, NULL, true, &err);
    if (mi->up == NULL) {
        log_debug("mirror %s: %s", p.server->authority, uv_strerror(err));
        mirror_end(mi);
        return;
    }
    mi->up->mirror = mi;
    if (mi->up->state == UP_BUSY) {
        mirror_on_ready(mi->up); /* a pooled connection; may end the copy */
    }
}

void mirror_start(struct conn *c, const struct h1_msg *m)
{
    const struct table_service *ms = c->x.pick.mirroring;
    uint64_t mask = c->x.pick.mirror_mask;
    if (ms == NULL || mask == 0) {
        return;
    }
    for (uint32_t i = 0; i < ms->nmirrors && i < 64; i++) {
        uint32_t len = 0;
        char *buf;
        if (!(mask & (1ull << i))) {
            continue;
        }
        buf = copy_request(c, m, ms, &len);
        if (buf == NULL) {
            return; /* the same for every mirror */
        }
        send_copy(c, ms->mirrors[i].svc, buf, len);
    }
}

void mirror_on_ready(struct upconn *u)
{
    struct mirror *mi = u->mirror;
    /* The rest of the copy is bounded in time from here. */
    if (u->resp_timeout_ms == 0) {
        u->resp_timeout_ms = MIRROR_DEFAULT_MS;
    }
    upstream_arm_response_timer(u);
    if (ws_acquire(u->w, &u->ws) == NULL) {
        mirror_end(mi);
        return;
    }
    outq_reset(&u->ws->q);
    outq_push(&u->ws->q, mi->buf, mi->len);
    upstream_read_start(u);
    if (upstream_flush(u) < 0) {
        mirror_end(mi);
    }
}

void mirror_on_written(struct upconn *u, int status)
{
    if (status < 0) {
        mirror_end(u->mirror);
    }
}

/* The response is discarded; the copy ends when the mirror closes its side. */
void mirror_on_read(struct upconn *u, ssize_t nread)
{
    if (nread < 0) {
        mirror_end(u->mirror);
        return;
    }
    u->in.start = u->in.end = 0;
}

void mirror_failed(struct upconn *u)
{
    mirror_end(u->mirror);
}

void mirror_close_all(struct worker *w)
{
    while (!dlist_empty(&w->mirrors)) {
        mirror_end(DLIST_ENTRY(w->mirrors.next, struct mirror, link));
    }
}
