/* Compiling the header middlewares: headers (custom fields, CORS, security fields) and
 * contentType. The behaviour is node/proxy/mw_headers.c and mw_content_type.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/http/h1_parse.h"
#include "node/table/compile_mw.h"
#include "node/table/regex.h"

typedef Concord__Config__Headers Headers;
typedef Concord__Config__KV KV;

/* RFC 9110 token characters: what a field name may hold. */
static bool is_token(const char *s)
{
    if (s == NULL || *s == '\0') {
        return false;
    }
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              strchr("!#$%&'*+-.^_`|~", ch) != NULL)) {
            return false;
        }
    }
    return true;
}

/* A field value we can write as is: no CR, LF, NUL or other control byte (HTAB is fine). A
 * value with a line break would let a config inject fields. */
static bool is_field_value(const char *s)
{
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            return false;
        }
    }
    return true;
}

/* Checks and copies a customRequestHeaders / customResponseHeaders map. */
static int compile_kvs(struct mwc_ctx *c, const char *field, KV **in, size_t n, struct mwc_kv **out,
                       uint32_t *nout)
{
    char f[300];
    int rc = 0;
    *out = n ? calloc(n, sizeof **out) : NULL;
    if (n && *out == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = in[i]->name ? in[i]->name : "";
        const char *value = in[i]->value ? in[i]->value : "";
        snprintf(f, sizeof f, "%s.%s", field, name);
        if (!is_token(name)) {
            mwc_error(c, in[i]->mark, f, "\"%s\" is not a valid header field name", name);
            rc = -EINVAL;
            continue;
        }
        if (!is_field_value(value)) {
            mwc_error(c, in[i]->mark, f, "the value holds a line break or control character");
            rc = -EINVAL;
            continue;
        }
        if (h1_field_proxy_owned(name)) {
            mwc_warning(c, in[i]->mark, f,
                        "%s is a framing/hop-by-hop field the proxy manages itself: ignored", name);
            continue;
        }
        (*out)[*nout].name = strdup(name);
        (*out)[*nout].value = strdup(value);
        if ((*out)[*nout].name == NULL || (*out)[*nout].value == NULL) {
            free((*out)[*nout].name);
            free((*out)[*nout].value);
            return -ENOMEM;
        }
        (*nout)++;
    }
    return rc;
}

static void kvs_free(struct mwc_kv *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].value);
    }
    free(v);
}

static int copy_list(char **in, size_t n, char ***out, uint32_t *nout)
{
    *out = n ? calloc(n, sizeof **out) : NULL;
    if (n && *out == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (((*out)[i] = strdup(in[i] ? in[i] : "")) == NULL) {
            return -ENOMEM;
        }
        (*nout)++;
    }
    return 0;
}

static void list_free(char **v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

/* The list joined with "," (Traefik joins CORS lists without a space); NULL when empty. */
static int join_list(struct mwc_ctx *c, const Mark *m, const char *field, char **in, size_t n,
                     char **out)
{
    size_t len = 0, at = 0;
    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!is_field_value(in[i])) {
            mwc_error(c, m, field, "entry %zu holds a line break or control character", i);
            return -EINVAL;
        }
        len += strlen(in[i]) + 1;
    }
    if (n == 0) {
        return 0;
    }
    if ((*out = malloc(len)) == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(in[i]);
        memcpy(*out + at, in[i], l);
        at += l;
        (*out)[at++] = i + 1 < n ? ',' : '\0';
    }
    return 0;
}

static void headers_free(void *p)
{
    struct mwc_headers *h = p;
    kvs_free(h->req, h->nreq);
    kvs_free(h->resp, h->nresp);
    kvs_free(h->ssl_proxy, h->nssl_proxy);
    free(h->allow_headers);
    free(h->allow_methods);
    list_free(h->allow_origins, h->nallow_origins);
    for (uint32_t i = 0; i < h->nallow_origin_re; i++) {
        regex_free(h->allow_origin_re[i]);
    }
    free(h->allow_origin_re);
    free(h->expose_headers);
    list_free(h->allowed_hosts, h->nallowed_hosts);
    list_free(h->hosts_proxy_headers, h->nhosts_proxy_headers);
    free(h->sts);
    free(h->frame_options);
    free(h->xss);
    free(h->csp);
    free(h->csp_report_only);
    free(h->public_key);
    free(h->referrer_policy);
    free(h->permissions_policy);
    free(h);
}

/* One string option that becomes a response field value. */
static int value_opt(struct mwc_ctx *c, const Mark *m, const char *field, const char *in,
                     char **out)
{
    if (in == NULL || in[0] == '\0') {
        return 0;
    }
    if (!is_field_value(in)) {
        mwc_error(c, m, field, "the value holds a line break or control character");
        return -EINVAL;
    }
    return (*out = strdup(in)) ? 0 : -ENOMEM;
}

static int compile_cors(struct mwc_ctx *c, const Headers *in, struct mwc_headers *h)
{
    int rc = 0, r;
    h->has_cors = in->access_control_allow_credentials || in->n_access_control_allow_headers ||
                  in->n_access_control_allow_methods || in->n_access_control_allow_origin_list ||
                  in->n_access_control_allow_origin_list_regex ||
                  in->n_access_control_expose_headers || in->access_control_max_age != 0 ||
                  in->add_vary_header;
    h->allow_credentials = in->access_control_allow_credentials;
    h->max_age = in->access_control_max_age;
    h->add_vary = in->add_vary_header;
    if ((r = join_list(c, in->mark, "accessControlAllowHeaders", in->access_control_allow_headers,
                       in->n_access_control_allow_headers, &h->allow_headers)) != 0 ||
        (r = join_list(c, in->mark, "accessControlAllowMethods", in->access_control_allow_methods,
                       in->n_access_control_allow_methods, &h->allow_methods)) != 0 ||
        (r = join_list(c, in->mark, "accessControlExposeHeaders", in->access_control_expose_headers,
                       in->n_access_control_expose_headers, &h->expose_headers)) != 0) {
        return r;
    }
    for (size_t i = 0; i < in->n_access_control_allow_origin_list; i++) {
        if (!is_field_value(in->access_control_allow_origin_list[i])) {
            mwc_error(c, in->mark, "accessControlAllowOriginList",
                      "entry %zu holds a line break or control character", i);
            return -EINVAL;
        }
    }
    if ((r = copy_list(in->access_control_allow_origin_list, in->n_access_control_allow_origin_list,
                       &h->allow_origins, &h->nallow_origins)) != 0) {
        return r;
    }
    if (in->n_access_control_allow_origin_list_regex > 0) {
        h->allow_origin_re =
            calloc(in->n_access_control_allow_origin_list_regex, sizeof *h->allow_origin_re);
        if (h->allow_origin_re == NULL) {
            return -ENOMEM;
        }
    }
    for (size_t i = 0; i < in->n_access_control_allow_origin_list_regex; i++) {
        char f[80];
        snprintf(f, sizeof f, "accessControlAllowOriginListRegex[%zu]", i);
        r = mwc_regex(c, in->mark, f, in->access_control_allow_origin_list_regex[i],
                      &h->allow_origin_re[h->nallow_origin_re]);
        if (r == -ENOMEM) {
            return r;
        }
        if (r != 0) {
            rc = r;
            continue;
        }
        h->nallow_origin_re++;
    }
    return rc;
}

static int compile_secure(struct mwc_ctx *c, const Headers *in, struct mwc_headers *h)
{
    const Mark *m = in->mark;
    int rc = 0, r;
    if (in->sts_seconds < 0) {
        mwc_error(c, m, "stsSeconds", "stsSeconds must not be negative");
        rc = -EINVAL;
    } else if (in->sts_seconds > 0) {
        char buf[100];
        /* The value unrolled/secure (Traefik) writes: max-age, then the two flags. */
        snprintf(buf, sizeof buf, "max-age=%lld%s%s", (long long)in->sts_seconds,
                 in->sts_include_subdomains ? "; includeSubDomains" : "",
                 in->sts_preload ? "; preload" : "");
        if ((h->sts = strdup(buf)) == NULL) {
            return -ENOMEM;
        }
    } else if (in->sts_include_subdomains || in->sts_preload || in->force_sts_header) {
        mwc_warning(c, m, "stsSeconds",
                    "stsIncludeSubdomains/stsPreload/forceSTSHeader have no effect without "
                    "stsSeconds");
    }
    h->force_sts = in->force_sts_header;
    h->nosniff = in->content_type_nosniff;
    h->is_development = in->is_development;
    if (in->custom_frame_options_value && in->custom_frame_options_value[0]) {
        r = value_opt(c, m, "customFrameOptionsValue", in->custom_frame_options_value,
                      &h->frame_options);
    } else {
        r = in->frame_deny ? ((h->frame_options = strdup("DENY")) ? 0 : -ENOMEM) : 0;
    }
    rc = r ? r : rc;
    if (in->custom_browser_xss_value && in->custom_browser_xss_value[0]) {
        r = value_opt(c, m, "customBrowserXSSValue", in->custom_browser_xss_value, &h->xss);
    } else {
        r = in->browser_xss_filter ? ((h->xss = strdup("1; mode=block")) ? 0 : -ENOMEM) : 0;
    }
    rc = r ? r : rc;
    struct {
        const char *key, *val;
        char **out;
    } vals[] = {
        {"contentSecurityPolicy", in->content_security_policy, &h->csp},
        {"contentSecurityPolicyReportOnly", in->content_security_policy_report_only,
         &h->csp_report_only},
        {"publicKey", in->public_key, &h->public_key},
        {"referrerPolicy", in->referrer_policy, &h->referrer_policy},
        {"permissionsPolicy", in->permissions_policy, &h->permissions_policy},
    };
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        if ((r = value_opt(c, m, vals[i].key, vals[i].val, vals[i].out)) != 0) {
            if (r == -ENOMEM) {
                return r;
            }
            rc = r;
        }
        if (i < 2 && vals[i].val && strstr(vals[i].val, "$NONCE") != NULL) {
            /* A per-request nonce only helps when the page's producer knows it; Traefik keeps
             * it in the Go request context, which the backend never sees. */
            mwc_warning(c, m, vals[i].key,
                        "$NONCE is not replaced: the policy is sent as "
                        "written");
        }
    }
    for (size_t i = 0; i < in->n_hosts_proxy_headers; i++) {
        if (!is_token(in->hosts_proxy_headers[i])) {
            mwc_error(c, m, "hostsProxyHeaders", "\"%s\" is not a valid header field name",
                      in->hosts_proxy_headers[i]);
            rc = -EINVAL;
        }
    }
    if ((r = copy_list(in->allowed_hosts, in->n_allowed_hosts, &h->allowed_hosts,
                       &h->nallowed_hosts)) != 0 ||
        (r = copy_list(in->hosts_proxy_headers, in->n_hosts_proxy_headers, &h->hosts_proxy_headers,
                       &h->nhosts_proxy_headers)) != 0 ||
        (r = compile_kvs(c, "sslProxyHeaders", in->ssl_proxy_headers, in->n_ssl_proxy_headers,
                         &h->ssl_proxy, &h->nssl_proxy)) != 0) {
        return r == -ENOMEM ? r : -EINVAL;
    }
    return rc;
}

int mwc_headers(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out)
{
    const Headers *in = m->headers;
    struct mwc_headers *h;
    int rc = 0, r;
    bool any;
    if (in == NULL) {
        mwc_error(c, NULL, "", "headers configuration not valid: no option is set");
        return -EINVAL;
    }
    /* Traefik refuses a headers middleware with nothing to do ("headers configuration not
     * valid"); so do we, so that a typo'd option does not silently protect nothing. */
    any = in->n_custom_request_headers || in->n_custom_response_headers || in->n_allowed_hosts ||
          in->n_hosts_proxy_headers || in->n_ssl_proxy_headers || in->sts_seconds ||
          in->sts_include_subdomains || in->sts_preload || in->force_sts_header || in->frame_deny ||
          (in->custom_frame_options_value && *in->custom_frame_options_value) ||
          in->content_type_nosniff || in->browser_xss_filter ||
          (in->custom_browser_xss_value && *in->custom_browser_xss_value) ||
          (in->content_security_policy && *in->content_security_policy) ||
          (in->content_security_policy_report_only && *in->content_security_policy_report_only) ||
          (in->public_key && *in->public_key) || (in->referrer_policy && *in->referrer_policy) ||
          (in->permissions_policy && *in->permissions_policy) || in->is_development;
    if ((h = calloc(1, sizeof *h)) == NULL) {
        return -ENOMEM;
    }
    if ((r = compile_kvs(c, "customRequestHeaders", in->custom_request_headers,
                         in->n_custom_request_headers, &h->req, &h->nreq)) != 0) {
        rc = r;
    }
    if (rc != -ENOMEM &&
        (r = compile_kvs(c, "customResponseHeaders", in->custom_response_headers,
                         in->n_custom_response_headers, &h->resp, &h->nresp)) != 0) {
        rc = r;
    }
    if (rc != -ENOMEM && (r = compile_cors(c, in, h)) != 0) {
        rc = r;
    }
    if (rc != -ENOMEM && (r = compile_secure(c, in, h)) != 0) {
        rc = r;
    }
    if (rc == 0 && !any && !h->has_cors) {
        mwc_error(c, in->mark, "", "headers configuration not valid: no option is set");
        rc = -EINVAL;
    }
    if (rc != 0) {
        headers_free(h);
        return rc;
    }
    out->conf = h;
    out->conf_free = headers_free;
    return 0;
}

/* ---- contentType ---- */

int mwc_content_type(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out)
{
    const Concord__Config__ContentType *in = m->content_type;
    struct mwc_content_type *ct = calloc(1, sizeof *ct);
    if (ct == NULL) {
        return -ENOMEM;
    }
    /* Traefik v3: the middleware's presence enables detection; autoDetect is deprecated and
     * redundant. (false and absent are the same to the decoder, so only true can be seen.) */
    if (in != NULL && in->auto_detect) {
        mwc_warning(c, in->mark, "autoDetect",
                    "autoDetect is deprecated (Traefik v3): the contentType middleware itself "
                    "enables detection");
    }
    ct->auto_detect = true;
    out->conf = ct;
    out->conf_free = free;
    return 0;
}
