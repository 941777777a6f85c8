/* Helpers shared by the path and redirect middlewares (see mw_path.h). */
#include "node/proxy/mw_path.h"

#include <string.h>

static bool hexdig(char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static bool must_escape(unsigned char c)
{
    return c <= 0x20 || c >= 0x7f || strchr("?#\"<>\\^`{|}", c) != NULL;
}

bool mw_path_encode(struct mw_ctx *m, const char *s, uint32_t n, const char **out, uint32_t *outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    bool slash = n == 0 || s[0] != '/';
    size_t need = n + slash;
    char *p, *o;
    for (uint32_t i = 0; i < n; i++) {
        if (s[i] == '%' && (i + 2 >= n || !hexdig(s[i + 1]) || !hexdig(s[i + 2]))) {
            return false;
        }
        need += must_escape((unsigned char)s[i]) ? 2 : 0;
    }
    if ((p = mw_alloc(m, need + 1)) == NULL) {
        return false;
    }
    o = p;
    if (slash) {
        *o++ = '/';
    }
    for (uint32_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (must_escape(c)) {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        } else {
            *o++ = (char)c;
        }
    }
    *o = '\0';
    *out = p;
    *outlen = (uint32_t)(o - p);
    return true;
}

char *mw_request_url(struct mw_ctx *m, uint32_t *len)
{
    const char *scheme = m->scheme ? m->scheme : "http";
    size_t sl = strlen(scheme);
    size_t n = sl + 3 + m->authority_len + m->path_len + (m->query ? m->query_len + 1 : 0);
    char *u = mw_alloc(m, n + 1), *o;
    if (u == NULL) {
        return NULL;
    }
    o = u;
    memcpy(o, scheme, sl);
    o += sl;
    memcpy(o, "://", 3);
    o += 3;
    memcpy(o, m->authority, m->authority_len);
    o += m->authority_len;
    memcpy(o, m->path, m->path_len);
    o += m->path_len;
    if (m->query != NULL) {
        *o++ = '?';
        memcpy(o, m->query, m->query_len);
        o += m->query_len;
    }
    *o = '\0';
    *len = (uint32_t)n;
    return u;
}

enum mw_result mw_redirect(struct mw_ctx *m, const char *location, uint32_t len, bool permanent)
{
    bool get = m->method_len == 3 && memcmp(m->method, "GET", 3) == 0;
    int status = permanent ? (get ? 301 : 308) : (get ? 302 : 307);
    const char *text = status == 301   ? "Moved Permanently"
                       : status == 308 ? "Permanent Redirect"
                       : status == 302 ? "Found"
                                       : "Temporary Redirect";
    char *loc;
    for (uint32_t i = 0; i < len; i++) {
        if ((unsigned char)location[i] < 0x20 || location[i] == 0x7f) {
            mw_reply(m, 500); /* never split the reply head */
            return MW_STOP;
        }
    }
    if ((loc = mw_strdup(m, location, len)) == NULL || !mw_reply_header(m, "Location", loc)) {
        mw_reply(m, 500);
        return MW_STOP;
    }
    mw_reply(m, status);
    /* No body for HEAD: mw_build_reply writes whatever body it is given, and body bytes after
     * a HEAD reply would be read as the next response on a kept-alive connection. */
    if (!(m->method_len == 4 && memcmp(m->method, "HEAD", 4) == 0)) {
        mw_reply_body(m, text, (uint32_t)strlen(text));
    }
    return MW_STOP;
}
