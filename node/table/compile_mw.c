/* Middleware compilation: the per-type dispatch table and helpers shared by compile_mw_*.c. */
#include "node/table/compile_mw.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/duration.h"
#include "node/table/regex.h"

static void vreport(struct mwc_ctx *c, enum diag_severity sev, const Mark *m, const char *field,
                    const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void vreport(struct mwc_ctx *c, enum diag_severity sev, const Mark *m, const char *field,
                    const char *fmt, va_list ap)
{
    char msg[400], path[400];
    const Mark *at = m ? m : c->mark;
    vsnprintf(msg, sizeof msg, fmt, ap);
    snprintf(path, sizeof path, "%s%s%s", c->path, field[0] ? "." : "", field);
    diags_add(c->d, sev, at && at->file ? at->file : "", at ? at->line : 0, at ? at->col : 0,
              path, "%s", msg);
}

void mwc_error(struct mwc_ctx *c, const Mark *m, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(c, DIAG_ERROR, m, field, fmt, ap);
    va_end(ap);
}

void mwc_warning(struct mwc_ctx *c, const Mark *m, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(c, DIAG_WARNING, m, field, fmt, ap);
    va_end(ap);
}

int mwc_regex(struct mwc_ctx *c, const Mark *m, const char *field, const char *pat,
              struct regex **out)
{
    char what[200], msg[200];
    size_t at = 0;
    int rc;
    *out = NULL;
    if (pat == NULL || pat[0] == '\0') {
        mwc_error(c, m, field, "empty regular expression");
        return -EINVAL;
    }
    if (regex_re2_lacks(pat, strlen(pat), what, sizeof what)) {
        mwc_error(c, m, field, "%s is not supported (Go/RE2 regular expression syntax)", what);
        return -EINVAL;
    }
    rc = regex_compile(pat, strlen(pat), out, msg, sizeof msg, &at);
    if (rc == -EINVAL) {
        mwc_error(c, m, field, "bad regular expression at offset %zu: %s", at, msg);
    }
    return rc;
}

int mwc_duration(struct mwc_ctx *c, const Mark *m, const char *field, const char *s,
                 uint64_t dflt, uint64_t *ms)
{
    if (s == NULL || s[0] == '\0') {
        *ms = dflt;
        return 0;
    }
    if (duration_parse_ms(s, ms) != 0) {
        mwc_error(c, m, field, "\"%s\" is not a duration (like \"100ms\", \"1m30s\")", s);
        return -EINVAL;
    }
    return 0;
}

int mwc_ip_strategy(struct mwc_ctx *c, const char *field, const Concord__Config__IPStrategy *in,
                    struct mwc_ip_strategy *out)
{
    char f[200];
    int rc = 0;
    memset(out, 0, sizeof *out);
    if (in == NULL) {
        return 0;
    }
    if (in->depth < 0) {
        snprintf(f, sizeof f, "%s.depth", field);
        mwc_error(c, in->mark, f, "depth must not be negative");
        rc = -EINVAL;
    }
    out->depth = in->depth > 0 ? (uint32_t)in->depth : 0;
    if (in->ipv6_subnet < 0 || in->ipv6_subnet > 128) {
        snprintf(f, sizeof f, "%s.ipv6Subnet", field);
        mwc_error(c, in->mark, f, "ipv6Subnet must be between 0 and 128");
        rc = -EINVAL;
    }
    out->ipv6_subnet = in->ipv6_subnet > 0 ? (uint32_t)in->ipv6_subnet : 0;
    if (in->n_excluded_ips > 0) {
        out->excluded = calloc(in->n_excluded_ips, sizeof *out->excluded);
        if (out->excluded == NULL) {
            return -ENOMEM;
        }
    }
    for (size_t i = 0; i < in->n_excluded_ips; i++) {
        if (cidr_parse(in->excluded_ips[i], &out->excluded[out->nexcluded]) != 0) {
            snprintf(f, sizeof f, "%s.excludedIPs[%zu]", field, i);
            mwc_error(c, in->mark, f, "\"%s\" is not an IP address or CIDR range",
                      in->excluded_ips[i]);
            rc = -EINVAL;
            continue;
        }
        out->nexcluded++;
    }
    if (rc != 0) {
        mwc_ip_strategy_fini(out);
    }
    return rc;
}

void mwc_ip_strategy_fini(struct mwc_ip_strategy *s)
{
    free(s->excluded);
    memset(s, 0, sizeof *s);
}

/* clang-format off */
#define KIND(pcase, k, key, fn) [CONCORD__CONFIG__MIDDLEWARE__KIND_##pcase] = {k, key, fn}
/* clang-format on */

struct kind_row {
    enum mw_kind kind;
    const char *key;
    mwc_compile_fn fn;
};

/* Indexed by the proto oneof case. A NULL fn: recognised, not supported yet. */
static const struct kind_row kinds[] = {
    KIND(ADD_PREFIX, MW_ADD_PREFIX, "addPrefix", mwc_add_prefix),
    KIND(STRIP_PREFIX, MW_STRIP_PREFIX, "stripPrefix", mwc_strip_prefix),
    KIND(STRIP_PREFIX_REGEX, MW_STRIP_PREFIX_REGEX, "stripPrefixRegex", mwc_strip_prefix_regex),
    KIND(REPLACE_PATH, MW_REPLACE_PATH, "replacePath", mwc_replace_path),
    KIND(REPLACE_PATH_REGEX, MW_REPLACE_PATH_REGEX, "replacePathRegex", mwc_replace_path_regex),
    KIND(HEADERS, MW_HEADERS, "headers", mwc_headers),
    KIND(BASIC_AUTH, MW_BASIC_AUTH, "basicAuth", mwc_basic_auth),
    KIND(REDIRECT_SCHEME, MW_REDIRECT_SCHEME, "redirectScheme", mwc_redirect_scheme),
    KIND(REDIRECT_REGEX, MW_REDIRECT_REGEX, "redirectRegex", mwc_redirect_regex),
    KIND(IP_ALLOW_LIST, MW_IP_ALLOW_LIST, "ipAllowList", mwc_ip_allow_list),
    KIND(IN_FLIGHT_REQ, MW_IN_FLIGHT_REQ, "inFlightReq", mwc_in_flight_req),
    KIND(RATE_LIMIT, MW_RATE_LIMIT, "rateLimit", mwc_rate_limit),
    KIND(RETRY, MW_RETRY, "retry", mwc_retry),
    KIND(CHAIN, MW_CHAIN, "chain", NULL),
    KIND(COMPRESS, MW_COMPRESS, "compress", mwc_compress),
    KIND(BUFFERING, MW_BUFFERING, "buffering", mwc_buffering),
    KIND(ERRORS, MW_ERRORS, "errors", mwc_errors),
    KIND(CONTENT_TYPE, MW_CONTENT_TYPE, "contentType", mwc_content_type),
};

bool mwc_kind_of(MwMsg *m, enum mw_kind *kind, const char **type_key)
{
    size_t k = (size_t)m->kind_case;
    if (k == 0 || k >= sizeof kinds / sizeof kinds[0] || kinds[k].key == NULL) {
        return false;
    }
    *kind = kinds[k].kind;
    *type_key = kinds[k].key;
    return true;
}

mwc_compile_fn mwc_compiler(enum mw_kind kind)
{
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        if (kinds[k].key != NULL && kinds[k].kind == kind) {
            return kinds[k].fn;
        }
    }
    return NULL;
}
