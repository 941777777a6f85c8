/* Serialising the heads we send: the upstream request (hop-by-hop fields removed, framing and
 * X-Forwarded-* set by us) and the client response. Traefik's forwarding rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/base/cidr.h"
#include "node/proxy/headers.h"

struct sbuf {
    char *p;
    size_t len;
    size_t cap;
    bool overflow;
};

static void put(struct sbuf *b, const char *s, size_t n)
{
    /* Callers size the buffer from an upper bound. Should it ever be short, the head is
     * refused whole: a truncated head would let the peer's body be read as header lines. */
    if (b->overflow || b->len + n > b->cap) {
        b->overflow = true;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static char *finish(struct sbuf *b, uint32_t *out_len)
{
    if (b->overflow) {
        free(b->p);
        return NULL;
    }
    *out_len = (uint32_t)b->len;
    return b->p;
}

static void puts_(struct sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_field(struct sbuf *b, const char *name, const char *v, size_t vlen)
{
    puts_(b, name);
    put(b, ": ", 2);
    put(b, v, vlen);
    put(b, "\r\n", 2);
}

/* Room the live edits need, and writing them. */
static size_t edits_size(const struct mw_hdrs *e)
{
    size_t n = 0;
    for (uint32_t i = 0; e != NULL && i < e->n; i++) {
        n += e->v[i].nlen + e->v[i].vlen + 4;
    }
    return n;
}

static void put_edits(struct sbuf *b, const struct mw_hdrs *e)
{
    for (uint32_t i = 0; e != NULL && i < e->n; i++) {
        const struct mw_hdr *h = &e->v[i];
        if (!h->dead && h->op != MW_HDR_DEL) {
            put(b, h->name, h->nlen);
            put(b, ": ", 2);
            put(b, h->value, h->vlen);
            put(b, "\r\n", 2);
        }
    }
}

static bool hidden(const struct mw_hdrs *e, const struct h1_header *h)
{
    return e != NULL && e->n > 0 && mw_hdrs_hides(e, h->name, h->name_len);
}

static bool name_is(const struct h1_header *h, const char *name)
{
    size_t n = strlen(name);
    return h->name_len == n && strncasecmp(h->name, name, n) == 0;
}

static const char *const xfwd_names[] = {"X-Forwarded-For",  "X-Forwarded-Proto",
                                         "X-Forwarded-Host", "X-Forwarded-Port",
                                         "X-Forwarded-Server", "X-Real-Ip", "Forwarded"};
enum { XFF, XFPROTO, XFHOST, XFPORT, XFSERVER, XREALIP, FORWARDED, NXFWD };

static int xfwd_index(const struct h1_header *h)
{
    if (h->name_len < 9) {
        return -1;
    }
    for (int i = 0; i < NXFWD; i++) {
        if (name_is(h, xfwd_names[i])) {
            return i;
        }
    }
    return -1;
}

bool headers_peer_trusted(const struct proxy_entrypoint *ep, int family, const uint8_t *addr)
{
    if (ep->forwarded_insecure) {
        return true;
    }
    for (uint32_t i = 0; i < ep->n_trusted_ips; i++) {
        if (cidr_contains(&ep->trusted_ips[i], family, addr)) {
            return true;
        }
    }
    return false;
}

char *headers_build_request(const struct req_head_args *a, uint32_t *out_len)
{
    const struct h1_msg *m = a->msg;
    bool seen[NXFWD] = {false}, mwset[NXFWD] = {false};
    size_t xff_len = 0;
    struct sbuf b;
    char num[32];

    /* Upper bound: the received head, the new target, our added fields and the XFF list. */
    for (uint32_t i = 0; i < m->nheaders; i++) {
        if (name_is(&m->headers[i], "X-Forwarded-For")) {
            xff_len += m->headers[i].value_len + 2;
        }
    }
    /* Each received field can grow by two bytes when re-serialised ("a:" + LF -> "a: " +
     * CRLF). */
    b.cap = m->head_len + a->target_len + a->host_len + xff_len + strlen(a->node_id) + strlen(a->via_id) +
            strlen(a->client_ip) * 2 + a->fwd_host_len + 2 * (size_t)m->nheaders + 512 +
            edits_size(a->edits);
    b.p = malloc(b.cap);
    b.len = 0;
    b.overflow = false;
    if (b.p == NULL) {
        return NULL;
    }
    put(&b, m->method_str, m->method_len);
    put(&b, " ", 1);
    put(&b, a->target, a->target_len);
    puts_(&b, " HTTP/1.1\r\n");
    put_field(&b, "Host", a->host, a->host_len);

    for (uint32_t i = 0; i < m->nheaders; i++) {
        const struct h1_header *h = &m->headers[i];
        int xi;
        if (h->flags & (H1_HF_HOPBYHOP | H1_HF_FRAMING | H1_HF_UNDERSCORE | H1_HF_HOST)) {
            continue;
        }
        if (hidden(a->edits, h)) {
            continue; /* a middleware set or removed it */
        }
        xi = xfwd_index(h);
        if (xi >= 0) {
            if (!a->trusted) {
                continue; /* spoofable from an untrusted peer (F2) */
            }
            seen[xi] = true;
            if (xi == XFF || xi == XFSERVER) {
                continue; /* rebuilt below */
            }
        }
        put(&b, h->name, h->name_len);
        put(&b, ": ", 2);
        put(&b, h->value, h->value_len);
        put(&b, "\r\n", 2);
    }
    put_edits(&b, a->edits);
    if (a->websocket) {
        puts_(&b, "Connection: Upgrade\r\nUpgrade: websocket\r\n");
    }
    if (m->body == H1_BODY_CHUNKED) {
        puts_(&b, "Transfer-Encoding: chunked\r\n");
    } else if (m->body == H1_BODY_LENGTH) {
        snprintf(num, sizeof num, "%llu", (unsigned long long)m->content_length);
        put_field(&b, "Content-Length", num, strlen(num));
    } else if (a->zero_length) {
        puts_(&b, "Content-Length: 0\r\n");
    }
    /* A middleware's own value of one of these (customRequestHeaders) replaces ours, as in
     * Traefik, where the forwarded fields are set before the middlewares run. */
    for (int i = 0; i < NXFWD && a->edits != NULL; i++) {
        if (mw_hdrs_hides(a->edits, xfwd_names[i], (uint32_t)strlen(xfwd_names[i]))) {
            seen[i] = true;
            mwset[i] = true;
        }
    }
    /* X-Forwarded-For: the trusted chain, then the peer. */
    if (!mwset[XFF]) {
    puts_(&b, "X-Forwarded-For: ");
    if (a->trusted && seen[XFF]) {
        for (uint32_t i = 0; i < m->nheaders; i++) {
            const struct h1_header *h = &m->headers[i];
            if (name_is(h, "X-Forwarded-For") && h->value_len > 0) {
                put(&b, h->value, h->value_len);
                put(&b, ", ", 2);
            }
        }
    }
    puts_(&b, a->client_ip);
    put(&b, "\r\n", 2);
    }
    if (!seen[XFPROTO]) {
        puts_(&b, "X-Forwarded-Proto: http\r\n");
    }
    if (!seen[XFHOST] && a->fwd_host_len > 0) {
        put_field(&b, "X-Forwarded-Host", a->fwd_host, a->fwd_host_len);
    }
    if (!seen[XFPORT]) {
        snprintf(num, sizeof num, "%u", a->fwd_port);
        put_field(&b, "X-Forwarded-Port", num, strlen(num));
    }
    if (!mwset[XFSERVER]) {
        put_field(&b, "X-Forwarded-Server", a->node_id, strlen(a->node_id));
    }
    if (!seen[XREALIP]) {
        put_field(&b, "X-Real-Ip", a->client_ip, strlen(a->client_ip));
    }
    puts_(&b, "Via: 1.1 ");
    puts_(&b, a->via_id);
    puts_(&b, "\r\n\r\n");
    return finish(&b, out_len);
}

static const char *default_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 204: return "No Content";
    case 304: return "Not Modified";
    default: return "";
    }
}

char *headers_build_response(const struct resp_head_args *a, uint32_t *out_len)
{
    const struct h1_msg *m = a->msg;
    struct sbuf b;
    char num[48];
    b.cap = m->head_len + 2 * (size_t)m->nheaders + 200 + edits_size(a->edits) + a->extra_len;
    b.p = malloc(b.cap);
    b.len = 0;
    b.overflow = false;
    if (b.p == NULL) {
        return NULL;
    }
    snprintf(num, sizeof num, "HTTP/1.1 %03d ", m->status);
    puts_(&b, num);
    if (m->reason_len > 0) {
        put(&b, m->reason, m->reason_len);
    } else {
        puts_(&b, default_reason(m->status));
    }
    put(&b, "\r\n", 2);
    for (uint32_t i = 0; i < m->nheaders; i++) {
        const struct h1_header *h = &m->headers[i];
        if (h->flags & H1_HF_FRAMING) {
            /* Keep the length of a bodiless response (HEAD, 304): it describes the entity. */
            if (a->mode == OUT_NONE && name_is(h, "Content-Length") && m->status >= 200 &&
                m->status != 204) {
                put_field(&b, "Content-Length", h->value, h->value_len);
            }
            continue;
        }
        if (h->flags & H1_HF_HOPBYHOP || hidden(a->edits, h)) {
            continue;
        }
        put(&b, h->name, h->name_len);
        put(&b, ": ", 2);
        put(&b, h->value, h->value_len);
        put(&b, "\r\n", 2);
    }
    put_edits(&b, a->edits);
    if (a->extra_len > 0) {
        put(&b, a->extra, a->extra_len);
    }
    if (m->status == 101) {
        puts_(&b, "Connection: Upgrade\r\nUpgrade: websocket\r\n");
    } else if (m->status >= 200) {
        if (a->mode == OUT_LENGTH) {
            snprintf(num, sizeof num, "%llu", (unsigned long long)m->content_length);
            put_field(&b, "Content-Length", num, strlen(num));
        } else if (a->mode == OUT_CHUNKED) {
            puts_(&b, "Transfer-Encoding: chunked\r\n");
        }
        if (a->close) {
            puts_(&b, "Connection: close\r\n");
        } else if (a->client_minor == 0) {
            puts_(&b, "Connection: keep-alive\r\n");
        }
    }
    put(&b, "\r\n", 2);
    return finish(&b, out_len);
}
