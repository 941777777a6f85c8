/* errors: when the upstream answers with a status in the ranges, the client gets the page the
 * error service serves at `query`, with the ORIGINAL status (as Traefik). The exchange drops
 * the upstream's body and fetches the page (exchange.c, flow_errors_divert); this file
 * matches statuses and builds the page's request.
 *
 * Scope (safe choices where Traefik's behaviour is not spelled out): only upstream responses
 * are replaced, not local replies of other middlewares; a HEAD request, a WebSocket upgrade
 * and a request whose body is still being sent keep the upstream's response as it is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/proxy/mw_flow.h"

/* Per exchange: what the page request needs from the request (valid after the request phase,
 * when m->msg is gone). */
struct errors_state {
    char *authority; /* Host as received */
    char *url;       /* path?query as this middleware saw it */
};

static enum mw_result errors_request(struct mw_ctx *m, const struct table_middleware *mw,
                                     uint32_t i)
{
    struct errors_state *st = mw_alloc(m, sizeof *st);
    char *url;
    (void)mw;
    if (st == NULL) {
        return MW_CONTINUE; /* no state (ENOMEM): the upstream's response goes through */
    }
    st->authority = mw_strdup(m, m->authority ? m->authority : "", m->authority_len);
    url = mw_alloc(m, m->path_len + m->query_len + 2);
    if (st->authority == NULL || url == NULL) {
        return MW_CONTINUE;
    }
    memcpy(url, m->path, m->path_len);
    if (m->query != NULL) {
        url[m->path_len] = '?';
        memcpy(url + m->path_len + 1, m->query, m->query_len);
    }
    st->url = url;
    m->state[i] = st;
    return MW_CONTINUE;
}

const struct mw_ops mw_errors_ops = {.request = errors_request};

bool mw_errors_status_in(const struct mwc_errors *e, int status)
{
    for (uint32_t i = 0; i < e->nranges; i++) {
        if (status >= e->ranges[i].lo && status <= e->ranges[i].hi) {
            return true;
        }
    }
    return false;
}

static const struct table_middleware *match_mw(const struct mw_ctx *m, int status, uint32_t *idx)
{
    /* Innermost first: the middleware nearest the service sees the response first. */
    for (uint32_t i = m ? m->nran : 0; i-- > 0;) {
        const struct table_middleware *mw = m->router->mws[i];
        if (mw->kind == MW_ERRORS && m->state[i] != NULL && mw_errors_status_in(mw->conf, status)) {
            *idx = i;
            return mw;
        }
    }
    return NULL;
}

const struct mwc_errors *mw_errors_match(const struct mw_ctx *m, int status)
{
    uint32_t i;
    const struct table_middleware *mw = match_mw(m, status, &i);
    return mw ? mw->conf : NULL;
}

static struct errors_state *state_of(const struct mw_ctx *m, const struct mwc_errors *e)
{
    for (uint32_t i = 0; i < m->nran; i++) {
        if (m->router->mws[i]->conf == e) {
            return m->state[i];
        }
    }
    return NULL;
}

/* Query-escaping (Go's url.QueryEscape): unreserved bytes stay, ' ' is '+', others %XX. */
static size_t query_escape(const char *s, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            out[n++] = (char)ch;
        } else if (ch == ' ') {
            out[n++] = '+';
        } else {
            out[n++] = '%';
            out[n++] = hex[ch >> 4];
            out[n++] = hex[ch & 15];
        }
    }
    return n;
}

char *mw_errors_target(struct mw_ctx *m, const struct mwc_errors *e, int status)
{
    const struct errors_state *st = state_of(m, e);
    const char *url = st && st->url ? st->url : "/";
    const char *q = e->query;
    size_t cap = 1, n = 0;
    char *out;
    /* Bound: every placeholder may become the escaped URL (3 bytes per byte). */
    for (const char *p = q; *p; p++) {
        cap += *p == '{' ? 3 * strlen(url) + 16 : 1;
    }
    out = mw_alloc(m, cap);
    if (out == NULL) {
        return NULL;
    }
    while (*q) {
        if (strncmp(q, "{status}", 8) == 0 || strncmp(q, "{originalStatus}", 16) == 0) {
            /* No statusRewrites in Concord's model: both are the upstream's status. */
            n += (size_t)snprintf(out + n, cap - n, "%d", status);
            q += q[1] == 's' ? 8 : 16;
        } else if (strncmp(q, "{url}", 5) == 0) {
            n += query_escape(url, out + n);
            q += 5;
        } else {
            out[n++] = *q++;
        }
    }
    out[n] = '\0';
    return out;
}

char *mw_errors_head(struct mw_ctx *m, const struct mwc_errors *e, int status,
                     const char *server_authority, const char *via_id, uint32_t *len)
{
    const struct errors_state *st = state_of(m, e);
    const char *target = mw_errors_target(m, e, status);
    const char *host = e->service->pass_host_header && st && st->authority && st->authority[0]
                           ? st->authority
                           : server_authority;
    size_t cap;
    char *p;
    int n;
    if (target == NULL) {
        return NULL;
    }
    cap = strlen(target) + strlen(host) + strlen(via_id) + 64;
    p = malloc(cap);
    if (p == NULL) {
        return NULL;
    }
    n = snprintf(p, cap, "GET %s HTTP/1.1\r\nHost: %s\r\nVia: 1.1 %s\r\n\r\n", target, host,
                 via_id);
    *len = (uint32_t)n;
    return p;
}
