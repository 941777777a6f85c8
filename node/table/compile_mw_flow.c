/* Compiling the middlewares that change the exchange's flow: retry, errors, compress and
 * buffering (their runtime is node/proxy/mw_retry.c, mw_errors.c, mw_compress.c,
 * mw_buffering.c). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/table/compile_mw.h"

/* ---- retry ---- */

int mwc_retry(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out)
{
    const Concord__Config__Retry *in = m->retry;
    const Mark *mk = in ? in->mark : NULL;
    struct mwc_retry *r;
    uint64_t ms = 0;
    int rc = 0;
    /* Traefik requires attempts ("mandatory"); 0 or less would never send the request. */
    if (in == NULL || in->attempts <= 0) {
        mwc_error(c, mk, "attempts", "attempts must be at least 1");
        rc = -EINVAL;
    }
    /* "" gives 100ms (Concord's default, see docs/traefik-compat.md); "0s" retries at once. */
    if (mwc_duration(c, mk, "initialInterval", in ? in->initial_interval : NULL, 100, &ms) != 0) {
        rc = -EINVAL;
    }
    if (rc != 0) {
        return rc;
    }
    r = calloc(1, sizeof *r);
    if (r == NULL) {
        return -ENOMEM;
    }
    r->attempts = in->attempts;
    r->initial_interval_ms = ms;
    out->conf = r;
    out->conf_free = free;
    return 0;
}

/* ---- errors ---- */

static void errors_free(void *p)
{
    struct mwc_errors *e = p;
    free(e->ranges);
    free(e->query);
    free(e);
}

/* One status item: "404" or "500-599". Returns false when it is not one. */
static bool parse_status_item(const char *s, size_t n, struct mwc_status_range *r)
{
    char buf[32];
    char *end;
    long lo, hi;
    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1])) {
        n--;
    }
    if (n == 0 || n >= sizeof buf) {
        return false;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (!isdigit((unsigned char)buf[0])) {
        return false;
    }
    lo = strtol(buf, &end, 10);
    hi = lo;
    if (*end == '-') {
        if (!isdigit((unsigned char)end[1])) {
            return false;
        }
        hi = strtol(end + 1, &end, 10);
    }
    if (*end != '\0' || lo < 100 || hi > 599 || lo > hi) {
        return false;
    }
    r->lo = (int)lo;
    r->hi = (int)hi;
    return true;
}

/* Each `status` entry may itself be a comma-separated list (the label syntax). */
static int errors_status(struct mwc_ctx *c, const Concord__Config__Errors *in, struct mwc_errors *e)
{
    size_t cap = 0;
    int rc = 0;
    for (size_t i = 0; i < in->n_status; i++) {
        cap += 1;
        for (const char *p = in->status[i]; *p; p++) {
            cap += *p == ',';
        }
    }
    if (cap == 0) {
        mwc_error(c, in->mark, "status", "at least one status or range is required");
        return -EINVAL;
    }
    e->ranges = calloc(cap, sizeof *e->ranges);
    if (e->ranges == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < in->n_status; i++) {
        const char *p = in->status[i];
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            if (!parse_status_item(p, n, &e->ranges[e->nranges])) {
                char f[64];
                snprintf(f, sizeof f, "status[%zu]", i);
                mwc_error(c, in->mark, f,
                          "\"%.*s\" is not a status (100-599) or a range like \"500-599\"", (int)n,
                          p);
                rc = -EINVAL;
            } else {
                e->nranges++;
            }
            if (comma == NULL) {
                break;
            }
            p = comma + 1;
        }
    }
    return rc;
}

int mwc_errors(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out)
{
    const Concord__Config__Errors *in = m->errors;
    const char *why = NULL;
    struct mwc_errors *e;
    int rc;
    if (in == NULL) {
        mwc_error(c, NULL, "", "status and service are required");
        return -EINVAL;
    }
    e = calloc(1, sizeof *e);
    if (e == NULL) {
        return -ENOMEM;
    }
    rc = errors_status(c, in, e);
    if (rc == -ENOMEM) {
        errors_free(e);
        return rc;
    }
    if (in->service == NULL || in->service[0] == '\0') {
        mwc_error(c, in->mark, "service", "service is required");
        rc = -EINVAL;
    } else {
        e->service = c->find_service(c->arg, c->ns, in->service, &why);
        if (e->service == NULL) {
            mwc_error(c, in->mark, "service", "service \"%s\" %s", in->service,
                      why ? why : "does not exist");
            rc = -EINVAL;
        } else if (e->service->kind == TABLE_SVC_LB && e->service->nservers == 0) {
            mwc_error(c, in->mark, "service", "service \"%s\" has no servers", in->service);
            rc = -EINVAL;
        }
    }
    /* The page's URL: Traefik sends "/" when no query is given; a query must be a path. */
    if (in->query != NULL && in->query[0] != '\0' && in->query[0] != '/') {
        mwc_error(c, in->mark, "query", "query must start with '/' (like \"/{status}.html\")");
        rc = -EINVAL;
    }
    /* It goes into the page's request line: a space or CR LF would split it. */
    for (const char *p = in->query ? in->query : ""; *p != '\0'; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
            mwc_error(c, in->mark, "query", "query must not hold spaces or control characters");
            rc = -EINVAL;
            break;
        }
    }
    if (rc != 0) {
        errors_free(e);
        return rc;
    }
    e->query = strdup(in->query && in->query[0] ? in->query : "/");
    if (e->query == NULL) {
        errors_free(e);
        return -ENOMEM;
    }
    out->conf = e;
    out->conf_free = errors_free;
    return 0;
}

/* ---- compress ---- */

static void strv_free(char **v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

static void compress_free(void *p)
{
    struct mwc_compress *z = p;
    strv_free(z->excluded, z->nexcluded);
    strv_free(z->included, z->nincluded);
    free(z);
}

/* A content type as compared at run time: lower case, blanks removed. NULL on ENOMEM. */
static char *norm_ctype(const char *s)
{
    char *o = malloc(strlen(s) + 1), *p = o;
    if (o == NULL) {
        return NULL;
    }
    for (; *s; s++) {
        if (!isspace((unsigned char)*s)) {
            *p++ = (char)tolower((unsigned char)*s);
        }
    }
    *p = '\0';
    return o;
}

static int ctype_list(struct mwc_ctx *c, const Mark *mk, const char *field, char **in, size_t n,
                      char ***out, uint32_t *nout)
{
    int rc = 0;
    if (n == 0) {
        return 0;
    }
    *out = calloc(n, sizeof **out);
    if (*out == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        char f[64];
        char *t = norm_ctype(in[i]);
        if (t == NULL) {
            return -ENOMEM;
        }
        (*out)[(*nout)++] = t;
        if (strchr(t, '/') == NULL || t[0] == '/') {
            snprintf(f, sizeof f, "%s[%zu]", field, i);
            mwc_error(c, mk, f, "\"%s\" is not a media type (like \"text/html\")", in[i]);
            rc = -EINVAL;
        }
    }
    return rc;
}

int mwc_compress(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out)
{
    const Concord__Config__Compress *in = m->compress;
    const Mark *mk = in ? in->mark : NULL;
    struct mwc_compress *z = calloc(1, sizeof *z);
    int rc = 0, r;
    if (z == NULL) {
        return -ENOMEM;
    }
    z->min_bytes = 1024;
    z->gzip = true;
    if (in != NULL) {
        if (in->n_excluded_content_types > 0 && in->n_included_content_types > 0) {
            mwc_error(c, mk, "includedContentTypes",
                      "excludedContentTypes and includedContentTypes are mutually exclusive");
            rc = -EINVAL;
        }
        r = ctype_list(c, mk, "excludedContentTypes", in->excluded_content_types,
                       in->n_excluded_content_types, &z->excluded, &z->nexcluded);
        rc = r == -ENOMEM ? r : r != 0 && rc == 0 ? r : rc;
        r = ctype_list(c, mk, "includedContentTypes", in->included_content_types,
                       in->n_included_content_types, &z->included, &z->nincluded);
        rc = r == -ENOMEM ? r : r != 0 && rc == 0 ? r : rc;
        if (in->has_min_response_body_bytes) {
            if (in->min_response_body_bytes < 0) {
                mwc_error(c, mk, "minResponseBodyBytes", "must not be negative");
                rc = rc ? rc : -EINVAL;
            }
            z->min_bytes = in->min_response_body_bytes;
        }
        /* Concord compresses with gzip only: br and zstd are accepted and ignored. */
        if (in->n_encodings > 0) {
            z->gzip = false;
        }
        for (size_t i = 0; i < in->n_encodings; i++) {
            char f[64];
            if (strcasecmp(in->encodings[i], "gzip") == 0) {
                z->gzip = true;
                continue;
            }
            snprintf(f, sizeof f, "encodings[%zu]", i);
            mwc_warning(c, mk, f, "encoding \"%s\" is not supported (gzip only): ignored",
                        in->encodings[i]);
        }
        if (!z->gzip) {
            mwc_warning(c, mk, "encodings",
                        "gzip is not listed: this middleware compresses "
                        "nothing");
        }
        if (in->default_encoding != NULL && in->default_encoding[0] != '\0') {
            if (strcasecmp(in->default_encoding, "gzip") == 0) {
                z->default_gzip = true;
            } else {
                mwc_warning(c, mk, "defaultEncoding",
                            "encoding \"%s\" is not supported (gzip only): ignored",
                            in->default_encoding);
            }
        }
    }
    if (rc != 0) {
        compress_free(z);
        return rc;
    }
    out->conf = z;
    out->conf_free = compress_free;
    return 0;
}

/* ---- buffering ---- */

static const char *skip_ws(const char *s)
{
    while (isspace((unsigned char)*s)) {
        s++;
    }
    return s;
}

/* Matches `lit` at *s (blanks between tokens allowed); advances on success. */
static bool eat(const char **s, const char *lit)
{
    const char *p = skip_ws(*s);
    size_t n = strlen(lit);
    if (strncmp(p, lit, n) != 0) {
        return false;
    }
    *s = p + n;
    return true;
}

static bool eat_attempts(const char **s, long *n)
{
    char *end;
    const char *p;
    if (!eat(s, "Attempts") || !eat(s, "(") || !eat(s, ")") || !eat(s, "<")) {
        return false;
    }
    p = skip_ws(*s);
    if (!isdigit((unsigned char)*p)) {
        return false;
    }
    *n = strtol(p, &end, 10);
    *s = end;
    return true;
}

/* retryExpression: Concord supports the documented form "IsNetworkError() && Attempts() < N"
 * (either order). Returns N (the total number of attempts), or -1. "" gives 0 (no retry). */
static long parse_retry_expression(const char *e)
{
    const char *s = e;
    long n = -1;
    if (*skip_ws(s) == '\0') {
        return 0;
    }
    if (eat(&s, "IsNetworkError") && eat(&s, "(") && eat(&s, ")") && eat(&s, "&&") &&
        eat_attempts(&s, &n) && *skip_ws(s) == '\0') {
        return n >= 1 && n <= 1000 ? n : -1;
    }
    s = e;
    if (eat_attempts(&s, &n) && eat(&s, "&&") && eat(&s, "IsNetworkError") && eat(&s, "(") &&
        eat(&s, ")") && *skip_ws(s) == '\0') {
        return n >= 1 && n <= 1000 ? n : -1;
    }
    return -1;
}

int mwc_buffering(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out)
{
    const Concord__Config__Buffering *in = m->buffering;
    const Mark *mk = in ? in->mark : NULL;
    struct mwc_buffering *b;
    long n = 0;
    int rc = 0;
    if (in != NULL && in->max_request_body_bytes < 0) {
        mwc_error(c, mk, "maxRequestBodyBytes", "must not be negative");
        rc = -EINVAL;
    }
    if (in != NULL && in->max_response_body_bytes < 0) {
        mwc_error(c, mk, "maxResponseBodyBytes", "must not be negative");
        rc = -EINVAL;
    }
    /* memRequestBodyBytes / memResponseBodyBytes: Concord keeps the whole buffer in memory
     * (no temporary files), bounded by the max values; the mem thresholds have no effect. */
    if (in != NULL && in->retry_expression != NULL &&
        (n = parse_retry_expression(in->retry_expression)) < 0) {
        mwc_error(c, mk, "retryExpression",
                  "unsupported expression \"%s\": Concord supports "
                  "\"IsNetworkError() && Attempts() < N\" (N from 1 to 1000)",
                  in->retry_expression);
        rc = -EINVAL;
    }
    if (rc != 0) {
        return rc;
    }
    b = calloc(1, sizeof *b);
    if (b == NULL) {
        return -ENOMEM;
    }
    b->max_request = in ? in->max_request_body_bytes : 0;
    b->max_response = in ? in->max_response_body_bytes : 0;
    b->retry_attempts = (int32_t)n;
    out->conf = b;
    out->conf_free = free;
    return 0;
}
