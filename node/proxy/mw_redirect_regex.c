/* redirectRegex: the request URL "scheme://host/path?query" (Host as received, the path as it
 * stands after the middlewares before this one) is matched against the regex; on a match the
 * client is redirected to the URL with every match replaced (Go's ReplaceAllString, regex.h).
 * A result equal to the request URL is no redirect (Traefik's loop guard). */
#include <stdlib.h>
#include <string.h>

#include "node/proxy/mw.h"
#include "node/proxy/mw_path.h"
#include "node/table/regex.h"

static enum mw_result redirect_regex_request(struct mw_ctx *m, const struct table_middleware *mw,
                                             uint32_t i)
{
    const struct mwc_redirect_regex *r = mw->conf;
    uint32_t ulen = 0;
    char *url = mw_request_url(m, &ulen), *res = NULL;
    size_t rlen = 0;
    enum mw_result out = MW_CONTINUE;
    int rc;
    (void)i;
    if (url == NULL) {
        mw_reply(m, 500);
        return MW_STOP;
    }
    rc = regex_replace_all(r->re, url, ulen, r->replacement, &res, &rlen);
    if (rc < 0) {
        mw_reply(m, 500);
        return MW_STOP;
    }
    if (rc > 0 && !(rlen == ulen && memcmp(res, url, ulen) == 0)) {
        out = mw_redirect(m, res, (uint32_t)rlen, r->permanent);
    }
    free(res);
    return out;
}

const struct mw_ops mw_redirect_regex_ops = {.request = redirect_regex_request};
