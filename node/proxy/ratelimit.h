/* Token bucket arithmetic (pure: no locks, no clock; the caller passes the time). Kept apart
 * from the middleware so that the cluster-wide rate limiter (DESIGN.md) can reuse it.
 *
 * The bucket is kept in its GCRA form (a "theoretical arrival time"), which is exactly a token
 * bucket of `burst` tokens refilled at `average` tokens per `period`, in integer nanoseconds:
 * no floating-point drift, and a single 64-bit word per source. A fresh bucket is full.
 */
#ifndef CONCORD_PROXY_RATELIMIT_H
#define CONCORD_PROXY_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct rl_params {
    uint64_t interval_ns; /* time to refill one token; 0: no limit */
    uint64_t window_ns;   /* burst * interval_ns: a full bucket */
};

struct rl_bucket {
    uint64_t tat_ns; /* when the bucket is full again; 0: fresh (full) */
};

/* rate = average / period; burst < 1 counts as 1 (as Traefik); average <= 0: no limit. */
void rl_params_init(struct rl_params *p, int64_t average, uint64_t period_ms, int64_t burst);

/* Takes one token at `now_ms`. Returns true when the request may pass; otherwise false and,
 * when wait_ms is not NULL, the time until a token is available (rounded up, >= 1). */
bool rl_take(const struct rl_params *p, struct rl_bucket *b, uint64_t now_ms, uint64_t *wait_ms);

/* rl_take() that may also reserve a token a little ahead: when the next token comes within
 * `max_delay_ms`, it is taken now and *delay_ms says how long the request must wait before it
 * goes (Traefik's reservation). Returns false (and *wait_ms as rl_take) when it is further. */
bool rl_take_within(const struct rl_params *p, struct rl_bucket *b, uint64_t now_ms,
                    uint64_t max_delay_ms, uint64_t *delay_ms, uint64_t *wait_ms);

/* Traefik's longest wait for a token: half a token interval above 1 request/s, else 500ms. */
uint64_t rl_max_delay_ms(int64_t average, uint64_t period_ms);

/* True when the bucket is full at `now_ms`: it then behaves exactly like a fresh one and may
 * be forgotten without changing any decision. */
bool rl_full(const struct rl_bucket *b, uint64_t now_ms);

#endif
