/* redirectScheme: redirects to the same URL with the configured scheme and port. As in
 * Traefik, the request URL is compared with the target and nothing happens when they are the
 * same (a request already on that scheme and port): no redirect loop. A port equal to the
 * scheme's default (80 for http, 443 for https) is left out of both, and so is an unset port
 * in the target. */
#include <string.h>

#include "node/proxy/mw.h"
#include "node/proxy/mw_path.h"

/* The host part of an authority ("h", "h:1", "[::1]:1"): its length without the port. */
static uint32_t host_part(const char *a, uint32_t n, const char **port, uint32_t *port_len)
{
    uint32_t end = n;
    if (n > 0 && a[0] == '[') {
        const char *rb = memchr(a, ']', n);
        end = rb ? (uint32_t)(rb - a) + 1 : n;
    } else {
        const char *colon = memchr(a, ':', n);
        end = colon ? (uint32_t)(colon - a) : n;
    }
    *port = end < n && a[end] == ':' ? a + end + 1 : NULL;
    *port_len = *port ? n - end - 1 : 0;
    return end;
}

static bool default_port(const char *scheme, const char *p, uint32_t n)
{
    return (n == 2 && memcmp(p, "80", 2) == 0 && strcmp(scheme, "http") == 0) ||
           (n == 3 && memcmp(p, "443", 3) == 0 && strcmp(scheme, "https") == 0);
}

/* "scheme://host[:port]path[?query]" into buf (size >= the bound computed by the caller). */
static uint32_t build(char *buf, const char *scheme, const char *host, uint32_t hlen,
                      const char *port, uint32_t plen, const struct mw_ctx *m)
{
    char *o = buf;
    size_t sl = strlen(scheme);
    memcpy(o, scheme, sl);
    o += sl;
    memcpy(o, "://", 3);
    o += 3;
    memcpy(o, host, hlen);
    o += hlen;
    if (port != NULL && plen > 0 && !default_port(scheme, port, plen)) {
        *o++ = ':';
        memcpy(o, port, plen);
        o += plen;
    }
    memcpy(o, m->path, m->path_len);
    o += m->path_len;
    if (m->query != NULL) {
        *o++ = '?';
        memcpy(o, m->query, m->query_len);
        o += m->query_len;
    }
    *o = '\0';
    return (uint32_t)(o - buf);
}

static enum mw_result redirect_scheme_request(struct mw_ctx *m, const struct table_middleware *mw,
                                              uint32_t i)
{
    const struct mwc_redirect_scheme *r = mw->conf;
    const char *scheme = m->scheme ? m->scheme : "http";
    const char *port;
    uint32_t port_len, hlen, olen, nlen;
    size_t cap;
    char *old, *new;
    (void)i;
    hlen = host_part(m->authority, m->authority_len, &port, &port_len);
    cap = strlen(scheme) + strlen(r->scheme) + 8 + m->authority_len +
          (r->port ? strlen(r->port) : 0) + m->path_len + m->query_len + 2;
    old = mw_alloc(m, cap);
    new = mw_alloc(m, cap);
    if (old == NULL || new == NULL) {
        mw_reply(m, 500);
        return MW_STOP;
    }
    olen = build(old, scheme, m->authority, hlen, port, port_len, m);
    nlen = build(new, r->scheme, m->authority, hlen, r->port,
                 r->port ? (uint32_t)strlen(r->port) : 0, m);
    if (olen == nlen && memcmp(old, new, olen) == 0) {
        return MW_CONTINUE;
    }
    return mw_redirect(m, new, nlen, r->permanent);
}

const struct mw_ops mw_redirect_scheme_ops = {.request = redirect_scheme_request};
