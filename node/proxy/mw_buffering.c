/* buffering: the request body is read whole before anything goes upstream (413 beyond
 * maxRequestBodyBytes, chunked bodies included) and sent with a Content-Length; the response
 * body is read whole (beyond maxResponseBodyBytes the client gets a 500) and sent with a
 * Content-Length. Concord keeps these buffers in memory, bounded by the max values (no
 * temporary files; memRequestBodyBytes / memResponseBodyBytes have no effect). The exchange
 * does the buffering (exchange.c, the flow_buf_* hooks); this file holds the per-exchange
 * state, whose first field is the retry counter retryExpression uses (mw_retry.c). */
#include "node/proxy/mw_flow.h"

struct buffering_state {
    uint32_t failures; /* first: shared layout with retry's state */
};

static enum mw_result buffering_request(struct mw_ctx *m, const struct table_middleware *mw,
                                        uint32_t i)
{
    (void)mw;
    m->state[i] = mw_alloc(m, sizeof(struct buffering_state));
    return MW_CONTINUE;
}

const struct mw_ops mw_buffering_ops = {.request = buffering_request};

const struct mwc_buffering *mw_buffering_of(const struct mw_ctx *m)
{
    for (uint32_t i = 0; m != NULL && i < m->nran; i++) {
        if (m->router->mws[i]->kind == MW_BUFFERING) {
            return m->router->mws[i]->conf;
        }
    }
    return NULL;
}
