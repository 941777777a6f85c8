/* replacePath: the path sent upstream becomes the configured one (the query stays); the
 * original path goes to X-Replaced-Path. */
#include <string.h>

#include "node/proxy/mw.h"

static enum mw_result replace_path_request(struct mw_ctx *m, const struct table_middleware *mw,
                                           uint32_t i)
{
    const struct mwc_replace_path *r = mw->conf;
    char *orig = mw_strdup(m, m->path, m->path_len);
    (void)i;
    if (orig == NULL || !mw_req_set(m, "X-Replaced-Path", orig)) {
        mw_reply(m, 500);
        return MW_STOP;
    }
    mw_set_path(m, r->path, (uint32_t)strlen(r->path));
    return MW_CONTINUE;
}

const struct mw_ops mw_replace_path_ops = {.request = replace_path_request};
