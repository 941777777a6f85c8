/* ipAllowList (and ipWhiteList): only clients inside sourceRange get through; the others get
 * rejectStatusCode (403) with the status text as body, as Traefik answers. */
#include <string.h>

#include "node/proxy/mw.h"

static const char *status_text(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    default:
        return "";
    }
}

static bool allowed(const struct mwc_ip_allow_list *a, int family, const uint8_t *addr)
{
    for (uint32_t i = 0; i < a->n; i++) {
        if (cidr_contains(&a->ranges[i], family, addr)) {
            return true;
        }
    }
    return false;
}

static enum mw_result ip_allow_list_request(struct mw_ctx *m, const struct table_middleware *mw,
                                            uint32_t i)
{
    const struct mwc_ip_allow_list *a = mw->conf;
    char buf[64];
    int family;
    uint8_t addr[16];
    const char *text;
    (void)i;
    /* No address under the strategy (too few X-Forwarded-For entries, junk): refused, the
     * safe reading of Traefik's "the client IP is empty". */
    if (mw_client_ip(m, &a->ip, buf, sizeof buf, &family, addr) && allowed(a, family, addr)) {
        return MW_CONTINUE;
    }
    text = status_text(a->reject_status);
    mw_reply(m, a->reject_status);
    if (text[0] != '\0') {
        mw_reply_header(m, "Content-Type", "text/plain; charset=utf-8");
        mw_reply_body(m, text, (uint32_t)strlen(text));
    }
    return MW_STOP;
}

const struct mw_ops mw_ip_allow_list_ops = {.request = ip_allow_list_request};
