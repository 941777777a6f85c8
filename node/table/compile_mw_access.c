/* Compiling the access middlewares: ipAllowList (and its deprecated name ipWhiteList, decoded
 * into the same message), inFlightReq and rateLimit, with their sourceCriterion. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/table/compile_mw.h"

/* ---- ipAllowList ---- */

static void ip_allow_list_free(void *p)
{
    struct mwc_ip_allow_list *a = p;
    free(a->ranges);
    mwc_ip_strategy_fini(&a->ip);
    free(a);
}

/* excludedIPs is documented as ignored when depth is set: say so, it is surely a mistake. */
static void warn_depth_and_excluded(struct mwc_ctx *c, const char *field,
                                    const Concord__Config__IPStrategy *in)
{
    char f[200];
    if (in != NULL && in->depth > 0 && in->n_excluded_ips > 0) {
        snprintf(f, sizeof f, "%s.excludedIPs", field);
        mwc_warning(c, in->mark, f, "ignored: depth is set, and depth takes precedence");
    }
}

int mwc_ip_allow_list(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out)
{
    const Concord__Config__IPAllowList *in = m->ip_allow_list;
    const Mark *mark = in ? in->mark : NULL;
    struct mwc_ip_allow_list *a;
    int rc = 0, src;
    char f[64];
    if (in == NULL || in->n_source_range == 0) {
        /* An empty list would refuse everyone (or, read the other way, allow everyone):
         * neither is what a user means, and Traefik refuses it too. */
        mwc_error(c, mark, "sourceRange", "sourceRange must list at least one IP or CIDR range");
        return -EINVAL;
    }
    a = calloc(1, sizeof *a);
    if (a == NULL || (a->ranges = calloc(in->n_source_range, sizeof *a->ranges)) == NULL) {
        free(a);
        return -ENOMEM;
    }
    for (size_t i = 0; i < in->n_source_range; i++) {
        if (cidr_parse(in->source_range[i], &a->ranges[a->n]) != 0) {
            snprintf(f, sizeof f, "sourceRange[%zu]", i);
            mwc_error(c, mark, f, "\"%s\" is not an IP address or CIDR range", in->source_range[i]);
            rc = -EINVAL;
            continue;
        }
        a->n++;
    }
    src = mwc_ip_strategy(c, "ipStrategy", in->ip_strategy, &a->ip);
    if (src == -ENOMEM || (src != 0 && rc == 0)) {
        rc = src;
    }
    warn_depth_and_excluded(c, "ipStrategy", in->ip_strategy);
    a->reject_status = in->reject_status_code == 0 ? 403 : in->reject_status_code;
    /* A 1xx is not a final answer and would break the exchange's framing. */
    if (a->reject_status < 200 || a->reject_status > 599) {
        mwc_error(c, mark, "rejectStatusCode", "%d is not a final HTTP status (200-599)",
                  in->reject_status_code);
        rc = rc ? rc : -EINVAL;
    }
    if (rc != 0) {
        ip_allow_list_free(a);
        return rc;
    }
    out->conf = a;
    out->conf_free = ip_allow_list_free;
    return 0;
}

/* ---- sourceCriterion (inFlightReq, rateLimit) ---- */

static void source_fini(struct mwc_source *s)
{
    mwc_ip_strategy_fini(&s->ip);
    free(s->header);
    s->header = NULL;
}

/* At most one of the three; none: the client address (the peer). */
static int source_compile(struct mwc_ctx *c, const Concord__Config__SourceCriterion *in,
                          struct mwc_source *out)
{
    const char *hdr = in && in->request_header_name ? in->request_header_name : "";
    int set, rc;
    memset(out, 0, sizeof *out);
    if (in == NULL) {
        return 0;
    }
    set = (in->ip_strategy != NULL) + (hdr[0] != '\0') + (in->request_host ? 1 : 0);
    if (set > 1) {
        mwc_error(c, in->mark, "sourceCriterion",
                  "ipStrategy, requestHeaderName and requestHost are mutually exclusive");
        return -EINVAL;
    }
    rc = mwc_ip_strategy(c, "sourceCriterion.ipStrategy", in->ip_strategy, &out->ip);
    if (rc != 0) {
        return rc;
    }
    warn_depth_and_excluded(c, "sourceCriterion.ipStrategy", in->ip_strategy);
    out->request_host = in->request_host;
    if (hdr[0] != '\0' && (out->header = strdup(hdr)) == NULL) {
        mwc_ip_strategy_fini(&out->ip);
        return -ENOMEM;
    }
    return 0;
}

/* ---- inFlightReq ---- */

static void in_flight_req_free(void *p)
{
    struct mwc_in_flight_req *a = p;
    source_fini(&a->source);
    free(a);
}

int mwc_in_flight_req(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out)
{
    const Concord__Config__InFlightReq *in = m->in_flight_req;
    struct mwc_in_flight_req *a;
    int rc;
    if (in == NULL || in->amount <= 0) {
        mwc_error(c, in ? in->mark : NULL, "amount", "amount must be greater than 0");
        return -EINVAL;
    }
    a = calloc(1, sizeof *a);
    if (a == NULL) {
        return -ENOMEM;
    }
    a->amount = in->amount;
    rc = source_compile(c, in->source_criterion, &a->source);
    if (rc != 0) {
        free(a);
        return rc;
    }
    out->conf = a;
    out->conf_free = in_flight_req_free;
    return 0;
}

/* ---- rateLimit ---- */

static void rate_limit_free(void *p)
{
    struct mwc_rate_limit *a = p;
    source_fini(&a->source);
    free(a);
}

int mwc_rate_limit(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out)
{
    static const Concord__Config__RateLimit none = CONCORD__CONFIG__RATE_LIMIT__INIT;
    const Concord__Config__RateLimit *in = m->rate_limit ? m->rate_limit : &none;
    struct mwc_rate_limit *a;
    uint64_t period = 0;
    int rc = 0;
    if (in->average < 0) {
        mwc_error(c, in->mark, "average", "average must not be negative (0: no limit)");
        rc = -EINVAL;
    }
    if (mwc_duration(c, in->mark, "period", in->period, 1000, &period) != 0) {
        rc = -EINVAL;
    }
    if (in->has_burst && in->burst < 1) {
        mwc_warning(c, in->mark, "burst", "burst %lld is taken as 1", (long long)in->burst);
    }
    if (rc != 0) {
        return rc;
    }
    a = calloc(1, sizeof *a);
    if (a == NULL) {
        return -ENOMEM;
    }
    a->average = in->average;
    a->period_ms = period == 0 ? 1000 : period; /* Traefik: a zero period is one second */
    a->burst = in->has_burst && in->burst >= 1 ? in->burst : 1;
    rc = source_compile(c, in->source_criterion, &a->source);
    if (rc != 0) {
        free(a);
        return rc;
    }
    out->conf = a;
    out->conf_free = rate_limit_free;
    return 0;
}
