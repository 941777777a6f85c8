/* addPrefix: prepends a prefix to the path sent upstream (routing already happened). */
#include <string.h>

#include "node/proxy/mw.h"

static enum mw_result add_prefix_request(struct mw_ctx *m, const struct table_middleware *mw,
                                         uint32_t i)
{
    const struct mwc_add_prefix *a = mw->conf;
    size_t plen = strlen(a->prefix);
    char *p;
    (void)i;
    p = mw_alloc(m, plen + m->path_len + 1);
    if (p == NULL) {
        mw_reply(m, 500);
        return MW_STOP;
    }
    /* "/api" + "/x" = "/api/x": Traefik joins the two without a doubled slash check, and a
     * prefix ending in '/' with a path starting with '/' gives "//"; so do we. */
    memcpy(p, a->prefix, plen);
    memcpy(p + plen, m->path, m->path_len);
    mw_set_path(m, p, (uint32_t)(plen + m->path_len));
    return MW_CONTINUE;
}

const struct mw_ops mw_add_prefix_ops = {.request = add_prefix_request};
