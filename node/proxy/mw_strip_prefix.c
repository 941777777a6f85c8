/* stripPrefix: removes the first configured prefix the path starts with (config order) and
 * tells the backend what was removed in X-Forwarded-Prefix, as Traefik does. */
#include <string.h>

#include "node/proxy/mw.h"

static enum mw_result strip_prefix_request(struct mw_ctx *m, const struct table_middleware *mw,
                                           uint32_t i)
{
    const struct mwc_strip_prefix *s = mw->conf;
    (void)i;
    for (uint32_t k = 0; k < s->n; k++) {
        const char *p = s->prefixes[k];
        size_t plen = strlen(p), cut = plen;
        char *rest;
        if (m->path_len < plen || memcmp(m->path, p, plen) != 0) {
            continue;
        }
        /* forceSlash: false keeps the slash a "/foo/" prefix ends with ("/foo/bar" -> "/bar"
         * either way; the difference is only in how much is cut). */
        if (!s->force_slash && plen > 1 && p[plen - 1] == '/') {
            cut = plen - 1;
        }
        /* Set, not added: a client must not smuggle its own X-Forwarded-Prefix past us.
         * Whatever is left gets a leading '/'; nothing left is "/", never "". */
        if (!mw_req_set(m, "X-Forwarded-Prefix", p)) {
            mw_reply(m, 500);
            return MW_STOP;
        }
        if (m->path_len - cut > 0 && m->path[cut] == '/') {
            mw_set_path(m, m->path + cut, (uint32_t)(m->path_len - cut));
        } else if ((rest = mw_alloc(m, m->path_len - cut + 2)) == NULL) {
            mw_reply(m, 500);
            return MW_STOP;
        } else {
            rest[0] = '/';
            memcpy(rest + 1, m->path + cut, m->path_len - cut);
            mw_set_path(m, rest, (uint32_t)(m->path_len - cut + 1));
        }
        return MW_CONTINUE;
    }
    return MW_CONTINUE;
}

const struct mw_ops mw_strip_prefix_ops = {.request = strip_prefix_request};
