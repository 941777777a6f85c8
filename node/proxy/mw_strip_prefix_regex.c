/* stripPrefixRegex: the first regex (config order) whose leftmost match starts at the
 * beginning of the path (and is not empty) removes that matched prefix; X-Forwarded-Prefix
 * names it. */
#include <string.h>

#include "node/proxy/mw.h"
#include "node/table/regex.h"

static enum mw_result strip_prefix_regex_request(struct mw_ctx *m,
                                                 const struct table_middleware *mw, uint32_t i)
{
    const struct mwc_strip_prefix_regex *s = mw->conf;
    long ov[2];
    (void)i;
    for (uint32_t k = 0; k < s->n; k++) {
        char *prefix, *rest;
        uint32_t cut, left;
        /* Traefik takes the leftmost match and uses it only when it starts at 0 and is not
         * empty (an empty one strips nothing: the next regex is tried). */
        if (!regex_match_groups(s->re[k], m->path, m->path_len, 0, ov, 2) || ov[0] != 0 ||
            ov[1] == 0) {
            continue;
        }
        cut = (uint32_t)ov[1];
        left = m->path_len - cut;
        prefix = mw_strdup(m, m->path, cut);
        rest = mw_alloc(m, left + 2);
        if (prefix == NULL || rest == NULL || !mw_req_set(m, "X-Forwarded-Prefix", prefix)) {
            mw_reply(m, 500);
            return MW_STOP;
        }
        if (left > 0 && m->path[cut] == '/') {
            memcpy(rest, m->path + cut, left);
        } else {
            rest[0] = '/';
            memcpy(rest + 1, m->path + cut, left);
            left++;
        }
        mw_set_path(m, rest, left);
        return MW_CONTINUE;
    }
    return MW_CONTINUE;
}

const struct mw_ops mw_strip_prefix_regex_ops = {.request = strip_prefix_regex_request};
