/* Token bucket as GCRA in integer nanoseconds (see ratelimit.h). */
#include "node/proxy/ratelimit.h"

#include <stddef.h>

#define NS_PER_MS 1000000ull
/* Keeps window_ns, and now + interval, far from overflow (about 73 years). */
#define NS_CAP (UINT64_MAX / 8)

void rl_params_init(struct rl_params *p, int64_t average, uint64_t period_ms, int64_t burst)
{
    uint64_t period_ns;
    p->interval_ns = 0;
    p->window_ns = 0;
    if (average <= 0) {
        return;
    }
    if (burst < 1) {
        burst = 1;
    }
    period_ns = period_ms > NS_CAP / NS_PER_MS ? NS_CAP : period_ms * NS_PER_MS;
    p->interval_ns = period_ns / (uint64_t)average;
    if (p->interval_ns == 0) {
        p->interval_ns = 1; /* more than one token per nanosecond: as good as no limit */
    }
    p->window_ns =
        (uint64_t)burst > NS_CAP / p->interval_ns ? NS_CAP : (uint64_t)burst * p->interval_ns;
}

static uint64_t to_ns(uint64_t ms)
{
    return ms > NS_CAP / NS_PER_MS ? NS_CAP : ms * NS_PER_MS;
}

bool rl_take(const struct rl_params *p, struct rl_bucket *b, uint64_t now_ms, uint64_t *wait_ms)
{
    uint64_t now = to_ns(now_ms), tat;
    if (p->interval_ns == 0) {
        return true;
    }
    /* A bucket whose arrival time is in the past is full: it starts from now. */
    tat = (b->tat_ns > now ? b->tat_ns : now) + p->interval_ns;
    if (tat - now <= p->window_ns) {
        b->tat_ns = tat;
        return true;
    }
    if (wait_ms != NULL) {
        uint64_t wait = tat - now - p->window_ns;
        *wait_ms = (wait + NS_PER_MS - 1) / NS_PER_MS;
    }
    return false;
}

bool rl_take_within(const struct rl_params *p, struct rl_bucket *b, uint64_t now_ms,
                    uint64_t max_delay_ms, uint64_t *delay_ms, uint64_t *wait_ms)
{
    uint64_t now = to_ns(now_ms), tat, wait;
    *delay_ms = 0;
    if (p->interval_ns == 0) {
        return true;
    }
    tat = (b->tat_ns > now ? b->tat_ns : now) + p->interval_ns;
    if (tat - now <= p->window_ns) {
        b->tat_ns = tat;
        return true;
    }
    wait = tat - now - p->window_ns;
    if (wait <= to_ns(max_delay_ms)) {
        b->tat_ns = tat; /* the token is this request's: later ones queue behind it */
        *delay_ms = (wait + NS_PER_MS - 1) / NS_PER_MS;
        return true;
    }
    if (wait_ms != NULL) {
        *wait_ms = (wait + NS_PER_MS - 1) / NS_PER_MS;
    }
    return false;
}

uint64_t rl_max_delay_ms(int64_t average, uint64_t period_ms)
{
    /* rate = average / period per second; above 1/s the wait is at most 1/(2*rate). */
    if (average <= 0 || period_ms == 0) {
        return 0;
    }
    if ((uint64_t)average * 1000 < period_ms) {
        return 500;
    }
    return period_ms / (2 * (uint64_t)average);
}

bool rl_full(const struct rl_bucket *b, uint64_t now_ms)
{
    return b->tat_ns <= to_ns(now_ms);
}
