/* replacePathRegex: when the regex matches the path, every match is replaced by the
 * replacement (Go's ReplaceAllString with $1 / ${name} references, regex.h); the original path
 * goes to X-Replaced-Path. The result is made safe for the request line (mw_path_encode). */
#include <stdlib.h>
#include <string.h>

#include "node/proxy/mw.h"
#include "node/proxy/mw_path.h"
#include "node/table/regex.h"

static enum mw_result replace_path_regex_request(struct mw_ctx *m,
                                                 const struct table_middleware *mw, uint32_t i)
{
    const struct mwc_replace_path_regex *r = mw->conf;
    char *res = NULL, *orig;
    size_t rlen = 0;
    const char *path;
    uint32_t plen;
    int rc;
    bool ok;
    (void)i;
    if (r->replacement[0] == '\0') {
        return MW_CONTINUE; /* Traefik: an empty replacement leaves the path alone */
    }
    rc = regex_replace_all(r->re, m->path, m->path_len, r->replacement, &res, &rlen);
    if (rc == 0) {
        return MW_CONTINUE;
    }
    orig = rc > 0 ? mw_strdup(m, m->path, m->path_len) : NULL;
    ok = orig != NULL && mw_req_set(m, "X-Replaced-Path", orig) &&
         mw_path_encode(m, res, (uint32_t)rlen, &path, &plen);
    free(res);
    if (!ok) {
        mw_reply(m, 500);
        return MW_STOP;
    }
    mw_set_path(m, path, plen);
    return MW_CONTINUE;
}

const struct mw_ops mw_replace_path_regex_ops = {.request = replace_path_regex_request};
