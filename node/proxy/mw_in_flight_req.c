/* inFlightReq: at most `amount` requests in flight per source on this node, across all its
 * workers; over the limit, 429. The count is taken in the request phase and given back in
 * `done`, which runs however the exchange ends (answered, failed upstream, client gone). */
#include <stdlib.h>
#include <string.h>

#include "node/proxy/mw.h"
#include "node/proxy/mw_source.h"
#include "node/proxy/srcmap.h"

/* The runtime's map: source -> int64_t count, an entry removed at zero. It needs no size
 * bound: it never holds more entries than requests in flight. */
static void in_flight_destroy(void *p)
{
    struct mw_source_rt *rt = p;
    srcmap_free(rt->map);
    free(rt);
}

static void *in_flight_create(const struct table_middleware *mw)
{
    struct mw_source_rt *rt = calloc(1, sizeof *rt);
    (void)mw;
    if (rt != NULL && (rt->map = srcmap_new(sizeof(int64_t), 0, NULL)) == NULL) {
        free(rt);
        rt = NULL;
    }
    return rt;
}

struct acquire {
    int64_t amount;
    bool ok;
};

static bool acquire(void *value, bool fresh, void *arg)
{
    int64_t *count = value;
    struct acquire *a = arg;
    (void)fresh;
    a->ok = *count < a->amount;
    if (a->ok) {
        (*count)++;
    }
    return *count == 0;
}

static bool release(void *value, bool fresh, void *arg)
{
    int64_t *count = value;
    (void)fresh;
    (void)arg;
    if (*count > 0) {
        (*count)--;
    }
    return *count == 0;
}

/* What `done` needs: the key the count was taken under. */
struct held {
    char *key;
    size_t klen;
};

static enum mw_result in_flight_request(struct mw_ctx *m, const struct table_middleware *mw,
                                        uint32_t i)
{
    const struct mwc_in_flight_req *c = mw->conf;
    struct mw_source_rt *rt = mw_runtime(mw, in_flight_create, in_flight_destroy);
    struct acquire a = {.amount = c->amount};
    struct held *h;
    char buf[64];
    const char *key;
    size_t klen;
    mw_source_key(m, &c->source, buf, sizeof buf, &key, &klen);
    if (klen > SRCMAP_KEY_MAX) {
        klen = SRCMAP_KEY_MAX;
    }
    h = mw_alloc(m, sizeof *h);
    if (rt == NULL || h == NULL || (h->key = mw_strdup(m, key, klen)) == NULL) {
        mw_reply(m, 500);
        return MW_STOP;
    }
    h->klen = klen;
    if (srcmap_update(rt->map, h->key, klen, true, m->now_ms, acquire, &a) != 0) {
        mw_reply(m, 500);
        return MW_STOP;
    }
    if (!a.ok) {
        mw_reply(m, 429);
        mw_reply_header(m, "Content-Type", "text/plain; charset=utf-8");
        mw_reply_body(m, "Too Many Requests", 17);
        return MW_STOP;
    }
    m->state[i] = h;
    return MW_CONTINUE;
}

static void in_flight_done(struct mw_ctx *m, const struct table_middleware *mw, uint32_t i)
{
    struct held *h = m->state[i];
    struct mw_source_rt *rt =
        atomic_load_explicit(&((struct table_middleware *)mw)->runtime, memory_order_acquire);
    if (h == NULL || rt == NULL) {
        return;
    }
    srcmap_update(rt->map, h->key, h->klen, false, m->now_ms, release, NULL);
    m->state[i] = NULL;
}

const struct mw_ops mw_in_flight_req_ops = {.request = in_flight_request, .done = in_flight_done};
