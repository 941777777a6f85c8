/* headers: custom request/response fields, CORS, and the security fields, with Traefik's
 * semantics (its headers middleware wraps the unrolled/secure one):
 *  - request phase: a CORS preflight (OPTIONS with Origin and Access-Control-Request-Method,
 *    when any CORS option is set) is answered here with 200 and the Access-Control-* fields;
 *    otherwise the custom request fields are applied ("" deletes), then allowedHosts is
 *    checked (a host not listed gets 500 "Bad Host", unrolled/secure's answer);
 *  - response phase: the security fields, then the custom response fields (so a custom field
 *    can override or delete a security one, as in Traefik), then the CORS fields.
 * Field order within a phase is fixed (Go's header maps have none). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "node/proxy/mw.h"
#include "node/table/regex.h"

/* What the response phase needs from the request (the request head is gone by then). */
struct hdr_state {
    const char *origin; /* NULL: no Origin field */
    uint32_t origin_len;
    bool ssl;
    bool preflight; /* answered here: Traefik sends it without the other fields */
    bool bad_host;  /* refused: the security fields are not added (unrolled/secure stops) */
};

static bool field_eq(const char *v, uint32_t n, const char *s)
{
    return v != NULL && strlen(s) == n && memcmp(v, s, n) == 0;
}

/* Whether `origin` is allowed; *match is the Access-Control-Allow-Origin value. */
static bool origin_allowed(const struct mwc_headers *h, const char *origin, uint32_t olen,
                           const char **match)
{
    for (uint32_t i = 0; i < h->nallow_origins; i++) {
        if (strcmp(h->allow_origins[i], "*") == 0) {
            /* With credentials a browser refuses "*": echo the origin instead (what current
             * Traefik does too). Without an Origin field "*" is sent as is. */
            *match = h->allow_credentials && origin != NULL ? origin : "*";
            return true;
        }
        if (origin != NULL && field_eq(origin, olen, h->allow_origins[i])) {
            *match = h->allow_origins[i];
            return true;
        }
    }
    for (uint32_t i = 0; origin != NULL && olen > 0 && i < h->nallow_origin_re; i++) {
        if (regex_match(h->allow_origin_re[i], origin, olen)) {
            *match = origin;
            return true;
        }
    }
    return false;
}

static enum mw_result fail(struct mw_ctx *m)
{
    mw_reply(m, 500);
    return MW_STOP;
}

/* Whether the joined list ("a,b") has a "*" item. With credentials a browser reads "*" as a
 * literal name, so Traefik answers with what the request asked for (or leaves the field out). */
static bool star_with_credentials(const struct mwc_headers *h, const char *list)
{
    if (!h->allow_credentials || list == NULL) {
        return false;
    }
    for (const char *p = list; *p != '\0';) {
        size_t n = strcspn(p, ",");
        if (n == 1 && p[0] == '*') {
            return true;
        }
        p += n + (p[n] == ',');
    }
    return false;
}

/* The request field `name` as a NUL-terminated copy, NULL when absent or empty. */
static const char *req_copy(struct mw_ctx *m, const char *name)
{
    uint32_t n = 0;
    const char *v = mw_req_get(m, name, &n);
    return v != NULL && n > 0 ? mw_strdup(m, v, n) : NULL;
}

static enum mw_result preflight(struct mw_ctx *m, const struct mwc_headers *h, const char *origin)
{
    char age[32];
    const char *match = NULL, *v;
    bool ok = true;
    mw_reply(m, 200);
    if (h->allow_credentials) {
        ok = ok && mw_reply_header(m, "Access-Control-Allow-Credentials", "true");
    }
    if (star_with_credentials(h, h->allow_headers)) {
        if ((v = req_copy(m, "Access-Control-Request-Headers")) != NULL) {
            ok = ok && mw_reply_header(m, "Access-Control-Allow-Headers", v);
        }
    } else if (h->allow_headers != NULL) {
        ok = ok && mw_reply_header(m, "Access-Control-Allow-Headers", h->allow_headers);
    }
    if (star_with_credentials(h, h->allow_methods)) {
        if ((v = req_copy(m, "Access-Control-Request-Method")) != NULL) {
            ok = ok && mw_reply_header(m, "Access-Control-Allow-Methods", v);
        }
    } else if (h->allow_methods != NULL) {
        ok = ok && mw_reply_header(m, "Access-Control-Allow-Methods", h->allow_methods);
    }
    if (origin_allowed(h, origin, (uint32_t)strlen(origin), &match)) {
        ok = ok && mw_reply_header(m, "Access-Control-Allow-Origin", match);
    }
    /* Traefik sends Max-Age when it is configured; the model cannot tell 0 from unset, so it
     * is always sent, 0 included (what Traefik did before the field became optional). */
    snprintf(age, sizeof age, "%lld", (long long)h->max_age);
    ok = ok && mw_reply_header(m, "Access-Control-Max-Age", mw_strdup(m, age, strlen(age)));
    if (h->expose_headers != NULL && !star_with_credentials(h, h->expose_headers)) {
        ok = ok && mw_reply_header(m, "Access-Control-Expose-Headers", h->expose_headers);
    }
    return ok ? MW_STOP : fail(m);
}

/* The host allowedHosts is checked against: the first non-empty hostsProxyHeaders field, else
 * the Host as the upstream will see it (as received, port included, as Go's r.Host). */
static const char *checked_host(const struct mw_ctx *m, const struct mwc_headers *h, uint32_t *len)
{
    for (uint32_t i = 0; i < h->nhosts_proxy_headers; i++) {
        const char *v = mw_req_get(m, h->hosts_proxy_headers[i], len);
        if (v != NULL && *len > 0) {
            return v;
        }
    }
    if (m->host_override != NULL) {
        *len = (uint32_t)strlen(m->host_override);
        return m->host_override;
    }
    *len = m->authority_len;
    return m->authority;
}

static bool host_allowed(const struct mw_ctx *m, const struct mwc_headers *h)
{
    uint32_t n = 0;
    const char *host = checked_host(m, h, &n);
    for (uint32_t i = 0; i < h->nallowed_hosts; i++) {
        if (strlen(h->allowed_hosts[i]) == n && strncasecmp(h->allowed_hosts[i], host, n) == 0) {
            return true;
        }
    }
    return false;
}

static enum mw_result headers_request(struct mw_ctx *m, const struct table_middleware *mw,
                                      uint32_t i)
{
    const struct mwc_headers *h = mw->conf;
    struct hdr_state *st = mw_alloc(m, sizeof *st);
    uint32_t olen = 0, alen = 0;
    const char *origin = mw_req_get(m, "Origin", &olen);
    if (st == NULL) {
        return fail(m);
    }
    m->state[i] = st;
    if (origin != NULL && (st->origin = mw_strdup(m, origin, olen)) == NULL) {
        return fail(m);
    }
    st->origin_len = olen;
    if (h->has_cors && origin != NULL && olen > 0 &&
        mw_req_get(m, "Access-Control-Request-Method", &alen) != NULL && alen > 0 &&
        m->method_len == 7 && memcmp(m->method, "OPTIONS", 7) == 0) {
        st->preflight = true;
        return preflight(m, h, st->origin);
    }
    /* HTTPS: the connection's scheme, or a sslProxyHeaders field with its exact value. */
    st->ssl = strcmp(m->scheme, "https") == 0;
    for (uint32_t k = 0; !st->ssl && k < h->nssl_proxy; k++) {
        uint32_t vlen = 0;
        const char *v = mw_req_get(m, h->ssl_proxy[k].name, &vlen);
        st->ssl = field_eq(v, vlen, h->ssl_proxy[k].value);
    }
    for (uint32_t k = 0; k < h->nreq; k++) {
        bool ok = h->req[k].value[0] == '\0' ? mw_req_del(m, h->req[k].name)
                                             : mw_req_set(m, h->req[k].name, h->req[k].value);
        if (!ok) {
            return fail(m);
        }
    }
    if (h->nallowed_hosts > 0 && !h->is_development && !host_allowed(m, h)) {
        st->bad_host = true;
        mw_reply(m, 500);
        mw_reply_header(m, "Content-Type", "text/plain; charset=utf-8");
        mw_reply_header(m, "X-Content-Type-Options", "nosniff");
        mw_reply_body(m, "Bad Host\n", 9);
        return MW_STOP;
    }
    return MW_CONTINUE;
}

static void set_if(struct mw_ctx *m, bool cond, const char *name, const char *value)
{
    if (cond && value != NULL) {
        mw_resp_set(m, name, value);
    }
}

/* Vary gets "Origin" appended unless it already names it (or is "*"). */
static void add_vary(struct mw_ctx *m)
{
    uint32_t n = 0;
    const char *v = mw_resp_get(m, "Vary", &n);
    char *nv;
    for (uint32_t s = 0; v != NULL && s < n;) {
        uint32_t e = s;
        while (e < n && v[e] != ',') {
            e++;
        }
        uint32_t a = s, b = e;
        while (a < b && (v[a] == ' ' || v[a] == '\t')) {
            a++;
        }
        while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t')) {
            b--;
        }
        if ((b - a == 6 && strncasecmp(v + a, "origin", 6) == 0) || (b - a == 1 && v[a] == '*')) {
            return;
        }
        s = e + 1;
    }
    if (v == NULL || n == 0) {
        mw_resp_set(m, "Vary", "Origin");
        return;
    }
    if ((nv = mw_alloc(m, n + 8)) != NULL) {
        memcpy(nv, v, n);
        memcpy(nv + n, ",Origin", 8);
        mw_resp_set(m, "Vary", nv);
    }
}

static void headers_response(struct mw_ctx *m, const struct table_middleware *mw, uint32_t i)
{
    const struct mwc_headers *h = mw->conf;
    const struct hdr_state *st = m->state[i];
    const char *match = NULL;
    bool ssl = st != NULL && st->ssl, sec = st != NULL && !st->bad_host;
    if (st == NULL || st->preflight) {
        return;
    }
    set_if(m, sec && (ssl || h->force_sts) && !h->is_development, "Strict-Transport-Security",
           h->sts);
    set_if(m, sec, "X-Frame-Options", h->frame_options);
    set_if(m, sec && h->nosniff, "X-Content-Type-Options", "nosniff");
    set_if(m, sec, "X-XSS-Protection", h->xss);
    set_if(m, sec && ssl && !h->is_development, "Public-Key-Pins", h->public_key);
    set_if(m, sec, "Content-Security-Policy", h->csp);
    set_if(m, sec, "Content-Security-Policy-Report-Only", h->csp_report_only);
    set_if(m, sec, "Referrer-Policy", h->referrer_policy);
    set_if(m, sec, "Permissions-Policy", h->permissions_policy);
    for (uint32_t k = 0; k < h->nresp; k++) {
        if (h->resp[k].value[0] == '\0') {
            mw_resp_del(m, h->resp[k].name);
        } else {
            mw_resp_set(m, h->resp[k].name, h->resp[k].value);
        }
    }
    if (origin_allowed(h, st->origin, st->origin_len, &match)) {
        mw_resp_set(m, "Access-Control-Allow-Origin", match);
    }
    set_if(m, h->allow_credentials, "Access-Control-Allow-Credentials", "true");
    set_if(m, !star_with_credentials(h, h->expose_headers), "Access-Control-Expose-Headers",
           h->expose_headers);
    if (h->add_vary) {
        add_vary(m);
    }
}

const struct mw_ops mw_headers_ops = {.request = headers_request, .response = headers_response};
