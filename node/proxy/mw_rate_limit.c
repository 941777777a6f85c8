/* rateLimit: a token bucket per source (rate average/period, size burst), shared by the
 * workers of this node. The arithmetic is node/proxy/ratelimit.c; the buckets live in a
 * bounded srcmap.
 *
 * As Traefik: when no token is available but the next one comes soon (within 1/(2*rate), or
 * 500ms under 1 req/s), the token is reserved and the request waits for it (MW_PAUSE on a
 * timer, the worker stays free); otherwise the answer is 429 with Traefik's Retry-After
 * (whole seconds, rounded up) and X-Retry-In (Go duration) fields. None passes above the
 * configured rate.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "node/proxy/mw.h"
#include "node/proxy/mw_source.h"
#include "node/proxy/ratelimit.h"
#include "node/proxy/srcmap.h"

/* Traefik bounds its map to this many sources too. Buckets that are full again (idle) are
 * dropped as the map is used, so this bound only matters under a spray of sources, where the
 * least recently used bucket goes first. Dropping a bucket can only let its source through
 * sooner, never block anyone. */
#define RATE_LIMIT_MAX_SOURCES 65536

struct rate_rt {
    struct mw_source_rt src; /* first: mw_source_count() reads it */
    struct rl_params p;
    uint64_t max_delay_ms;
};

static bool bucket_idle(const void *value, uint64_t now_ms)
{
    return rl_full(value, now_ms);
}

static void rate_destroy(void *p)
{
    struct rate_rt *r = p;
    srcmap_free(r->src.map);
    free(r);
}

static void *rate_create(const struct table_middleware *mw)
{
    const struct mwc_rate_limit *c = mw->conf;
    struct rate_rt *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return NULL;
    }
    rl_params_init(&r->p, c->average, c->period_ms, c->burst);
    r->max_delay_ms = rl_max_delay_ms(c->average, c->period_ms);
    r->src.map = srcmap_new(sizeof(struct rl_bucket), RATE_LIMIT_MAX_SOURCES, bucket_idle);
    if (r->src.map == NULL) {
        free(r);
        return NULL;
    }
    return r;
}

struct take {
    const struct rl_params *p;
    uint64_t now_ms, wait_ms, max_delay_ms, delay_ms;
    bool ok;
};

static bool take(void *value, bool fresh, void *arg)
{
    struct take *t = arg;
    (void)fresh;
    t->ok = rl_take_within(t->p, value, t->now_ms, t->max_delay_ms, &t->delay_ms, &t->wait_ms);
    return false;
}

/* Go's time.Duration text for a whole number of milliseconds ("350ms", "1.5s", "2m0s"). */
static void go_duration(uint64_t ms, char *buf, size_t size)
{
    uint64_t h = ms / 3600000, mn = ms / 60000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
    int n = 0;
    if (ms < 1000) {
        snprintf(buf, size, "%" PRIu64 "ms", ms);
        return;
    }
    if (h > 0) {
        n = snprintf(buf, size, "%" PRIu64 "h%" PRIu64 "m", h, mn);
    } else if (mn > 0) {
        n = snprintf(buf, size, "%" PRIu64 "m", mn);
    }
    if (frac == 0) {
        snprintf(buf + n, size - (size_t)n, "%" PRIu64 "s", s);
    } else if (frac % 100 == 0) {
        snprintf(buf + n, size - (size_t)n, "%" PRIu64 ".%" PRIu64 "s", s, frac / 100);
    } else if (frac % 10 == 0) {
        snprintf(buf + n, size - (size_t)n, "%" PRIu64 ".%02" PRIu64 "s", s, frac / 10);
    } else {
        snprintf(buf + n, size - (size_t)n, "%" PRIu64 ".%03" PRIu64 "s", s, frac);
    }
}

static enum mw_result too_many(struct mw_ctx *m, uint64_t wait_ms)
{
    char *after = mw_alloc(m, 32), *in = mw_alloc(m, 48);
    mw_reply(m, 429);
    if (after != NULL && in != NULL) {
        snprintf(after, 32, "%" PRIu64, (wait_ms + 999) / 1000);
        go_duration(wait_ms, in, 48);
        mw_reply_header(m, "Retry-After", after);
        mw_reply_header(m, "X-Retry-In", in);
    }
    mw_reply_header(m, "Content-Type", "text/plain; charset=utf-8");
    mw_reply_body(m, "Too Many Requests", 17);
    return MW_STOP;
}

static enum mw_result delayed(struct mw_ctx *m, void *arg)
{
    (void)m;
    (void)arg;
    return MW_CONTINUE;
}

static enum mw_result rate_request(struct mw_ctx *m, const struct table_middleware *mw, uint32_t i)
{
    const struct mwc_rate_limit *c = mw->conf;
    struct rate_rt *r;
    struct take t = {.now_ms = m->now_ms};
    char buf[64];
    const char *key;
    size_t klen;
    (void)i;
    if (c->average <= 0) {
        return MW_CONTINUE; /* average 0: no limit */
    }
    r = mw_runtime(mw, rate_create, rate_destroy);
    if (r == NULL) {
        mw_reply(m, 500);
        return MW_STOP;
    }
    t.p = &r->p;
    t.max_delay_ms = r->max_delay_ms;
    mw_source_key(m, &c->source, buf, sizeof buf, &key, &klen);
    if (srcmap_update(r->src.map, key, klen, true, m->now_ms, take, &t) != 0) {
        mw_reply(m, 500);
        return MW_STOP;
    }
    if (!t.ok) {
        return too_many(m, t.wait_ms);
    }
    if (t.delay_ms > 0 && mw_pause_timer(m, t.delay_ms, delayed, NULL, NULL) == 0) {
        return MW_PAUSE; /* the token is reserved: go when it is due */
    }
    return MW_CONTINUE;
}

const struct mw_ops mw_rate_limit_ops = {.request = rate_request};
