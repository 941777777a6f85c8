/* retry: another attempt, on a server picked again by the balancer, when the upstream fails
 * before any response byte (refused, reset, timed out, closed before the head). The exchange
 * decides whether the request can be sent again (exchange.c, flow_retry); this file keeps the
 * count and the policy. */
#include "node/proxy/mw_flow.h"

/* Per exchange: failed attempts so far. Buffering's state starts with the same counter. */
struct retry_state {
    uint32_t failures;
};

static enum mw_result retry_request(struct mw_ctx *m, const struct table_middleware *mw, uint32_t i)
{
    (void)mw;
    m->state[i] = mw_alloc(m, sizeof(struct retry_state));
    return MW_CONTINUE; /* no state (ENOMEM): no retry, the request still goes out */
}

const struct mw_ops mw_retry_ops = {.request = retry_request};

uint64_t mw_retry_backoff(uint64_t initial_ms, uint32_t k)
{
    uint64_t d = initial_ms;
    for (uint32_t j = 1; j < k && d < 2 * initial_ms; j++) {
        d *= 2;
    }
    return d < 2 * initial_ms ? d : 2 * initial_ms;
}

bool mw_retry_next(struct mw_ctx *m, uint64_t *delay_ms)
{
    for (uint32_t i = 0; m != NULL && i < m->nran; i++) {
        const struct table_middleware *mw = m->router->mws[i];
        struct retry_state *st = m->state[i];
        uint32_t attempts;
        uint64_t initial = 0;
        if (mw->kind == MW_RETRY) {
            const struct mwc_retry *r = mw->conf;
            attempts = (uint32_t)r->attempts;
            initial = r->initial_interval_ms;
        } else if (mw->kind == MW_BUFFERING &&
                   ((const struct mwc_buffering *)mw->conf)->retry_attempts > 0) {
            /* "IsNetworkError() && Attempts() < N": N attempts in all, no backoff. */
            attempts = (uint32_t)((const struct mwc_buffering *)mw->conf)->retry_attempts;
        } else {
            continue;
        }
        if (st == NULL) {
            return false;
        }
        st->failures++;
        if (st->failures >= attempts) {
            return false;
        }
        *delay_ms = mw_retry_backoff(initial, st->failures);
        return true;
    }
    return false;
}
