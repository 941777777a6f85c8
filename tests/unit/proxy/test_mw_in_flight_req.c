/* inFlightReq (node/proxy/mw_in_flight_req.c), its sourceCriterion (mw_source.c) and the
 * shared per-source map (srcmap.c). */
#include <errno.h>
#include <pthread.h>

#include "node/proxy/mw_source.h"
#include "node/proxy/srcmap.h"
#include "tests/unit/proxy/mw_fixture.h"

static char yaml[8192];

/* Runs the request phase and keeps the exchange open (returned, to end with mw_ctx_destroy). */
static struct mw_ctx *open_from(struct mwt *t, const char *ip, const char *extra, int *status)
{
    char raw[2048];
    struct mw_ctx *m;
    snprintf(raw, sizeof raw, "GET / HTTP/1.1\r\nHost: h.example\r\n%s\r\n", extra);
    *status = mwt_request_from(t, NULL, raw, ip) == MW_CONTINUE ? 200 : t->m->reply_status;
    m = t->m;
    t->m = NULL;
    return m;
}

static size_t map_size(struct mwt *t)
{
    return mw_source_count(mwt_router(t, "r@test")->mws[0]);
}

START_TEST(limit_per_peer_and_release)
{
    struct mwt t;
    struct mw_ctx *held[3];
    int st;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[a]", "    a: {inFlightReq: {amount: 2}}\n"));
    held[0] = open_from(&t, "10.0.0.1", "", &st);
    ck_assert_int_eq(st, 200);
    held[1] = open_from(&t, "10.0.0.1", "", &st);
    ck_assert_int_eq(st, 200);
    held[2] = open_from(&t, "10.0.0.1", "", &st);
    ck_assert_int_eq(st, 429);
    mw_ctx_destroy(held[2]);
    /* Another source has its own count. */
    held[2] = open_from(&t, "10.0.0.2", "", &st);
    ck_assert_int_eq(st, 200);
    ck_assert_uint_eq(map_size(&t), 2);
    /* Ending one exchange (here without any response: an aborted one) gives its slot back. */
    mw_ctx_destroy(held[0]);
    held[0] = open_from(&t, "10.0.0.1", "", &st);
    ck_assert_int_eq(st, 200);
    for (int i = 0; i < 3; i++) {
        mw_ctx_destroy(held[i]);
    }
    /* Entries go at zero. */
    ck_assert_uint_eq(map_size(&t), 0);
    mwt_teardown(&t);
}
END_TEST

START_TEST(reply_bytes)
{
    struct mwt t;
    struct mw_ctx *h;
    int st;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[a]", "    a: {inFlightReq: {amount: 1}}\n"));
    h = open_from(&t, "10.0.0.1", "", &st);
    ck_assert_int_eq(mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"), MW_STOP);
    ck_assert_msg(strstr(mwt_reply(&t), "HTTP/1.1 429 Too Many Requests\r\n") != NULL, "%s",
                  t.reply);
    mwt_end(&t);
    mw_ctx_destroy(h);
    mwt_teardown(&t);
}
END_TEST

/* A later middleware that answers locally: the count taken is still released. */
START_TEST(released_when_a_later_middleware_stops)
{
    struct mwt t;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[a, deny]",
                           "    a: {inFlightReq: {amount: 1}}\n"
                           "    deny: {ipAllowList: {sourceRange: ['192.0.2.1']}}\n"));
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"), MW_STOP);
        ck_assert_int_eq(t.m->reply_status, 403);
        mwt_end(&t);
    }
    ck_assert_uint_eq(map_size(&t), 0);
    mwt_teardown(&t);
}
END_TEST

START_TEST(source_criteria)
{
    struct mwt t;
    struct mw_ctx *h[4];
    int st;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[a]",
                           "    a: {inFlightReq: {amount: 1, sourceCriterion: "
                           "{requestHeaderName: X-User}}}\n"));
    h[0] = open_from(&t, "10.0.0.1", "X-User: ann\r\n", &st);
    ck_assert_int_eq(st, 200);
    h[1] = open_from(&t, "10.0.0.1", "X-User: bob\r\n", &st);
    ck_assert_int_eq(st, 200);
    h[2] = open_from(&t, "10.0.0.9", "X-User: ann\r\n", &st);
    ck_assert_int_eq(st, 429);
    /* No header: the empty source, shared by all such requests. */
    h[3] = open_from(&t, "10.0.0.1", "", &st);
    ck_assert_int_eq(st, 200);
    mw_ctx_destroy(open_from(&t, "10.0.0.2", "", &st));
    ck_assert_int_eq(st, 429);
    for (int i = 0; i < 4; i++) {
        mw_ctx_destroy(h[i]);
    }
    mwt_teardown(&t);

    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[a]",
                           "    a: {inFlightReq: {amount: 1, sourceCriterion: "
                           "{requestHost: true}}}\n"));
    h[0] = open_from(&t, "10.0.0.1", "", &st);
    ck_assert_int_eq(st, 200);
    mw_ctx_destroy(open_from(&t, "10.0.0.2", "", &st));
    ck_assert_int_eq(st, 429);
    mw_ctx_destroy(h[0]);
    mwt_teardown(&t);

    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[a]",
                           "    a: {inFlightReq: {amount: 1, sourceCriterion: "
                           "{ipStrategy: {depth: 1}}}}\n"));
    h[0] = open_from(&t, "10.0.0.1", "X-Forwarded-For: 1.1.1.1\r\n", &st);
    ck_assert_int_eq(st, 200);
    h[1] = open_from(&t, "10.0.0.1", "X-Forwarded-For: 2.2.2.2\r\n", &st);
    ck_assert_int_eq(st, 200);
    mw_ctx_destroy(open_from(&t, "10.0.0.7", "X-Forwarded-For: 9.9.9.9, 1.1.1.1\r\n", &st));
    ck_assert_int_eq(st, 429);
    mw_ctx_destroy(h[0]);
    mw_ctx_destroy(h[1]);
    mwt_teardown(&t);
}
END_TEST

START_TEST(compile_errors)
{
    struct mwt t;
    char out[8192];
    mwt_compile_errors(&t,
                       mwt_yaml(yaml, sizeof yaml, "[zero]",
                                "    zero: {inFlightReq: {amount: 0}}\n"
                                "    neg: {inFlightReq: {amount: -3}}\n"
                                "    two: {inFlightReq: {amount: 1, sourceCriterion: "
                                "{requestHost: true, requestHeaderName: X}}}\n"
                                "    badip: {inFlightReq: {amount: 1, sourceCriterion: "
                                "{ipStrategy: {excludedIPs: ['x']}}}}\n"),
                       out, sizeof out);
    ck_assert_msg(strstr(out, "http.middlewares.zero.inFlightReq.amount: amount must be greater "
                              "than 0") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "http.middlewares.neg.inFlightReq.amount:") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "two.inFlightReq.sourceCriterion: ipStrategy, requestHeaderName and "
                              "requestHost are mutually exclusive") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "badip.inFlightReq.sourceCriterion.ipStrategy.excludedIPs[0]:") !=
                      NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "http.routers.r.middlewares[0]: middleware \"zero@test\" is "
                              "disabled by its own errors") != NULL,
                  "%s", out);
    diags_fini(&t.d);
}
END_TEST

/* ---- srcmap under several threads ---- */

struct counter_arg {
    int64_t limit;
    bool ok;
};

static bool inc(void *v, bool fresh, void *arg)
{
    int64_t *c = v;
    struct counter_arg *a = arg;
    (void)fresh;
    a->ok = *c < a->limit;
    if (a->ok) {
        (*c)++;
    }
    return *c == 0;
}

static bool dec(void *v, bool fresh, void *arg)
{
    int64_t *c = v;
    (void)fresh;
    (void)arg;
    (*c)--;
    return *c == 0;
}

static struct srcmap *shared;

static void *hammer(void *p)
{
    char key[16];
    (void)p;
    for (int i = 0; i < 20000; i++) {
        struct counter_arg a = {.limit = 1000000};
        int n = snprintf(key, sizeof key, "k%d", i % 37);
        ck_assert_int_eq(srcmap_update(shared, key, (size_t)n, true, 0, inc, &a), 0);
        ck_assert(a.ok);
        ck_assert_int_eq(srcmap_update(shared, key, (size_t)n, false, 0, dec, NULL), 0);
    }
    return NULL;
}

START_TEST(srcmap_threads_balance_to_empty)
{
    pthread_t th[4];
    shared = srcmap_new(sizeof(int64_t), 0, NULL);
    ck_assert_ptr_nonnull(shared);
    for (int i = 0; i < 4; i++) {
        pthread_create(&th[i], NULL, hammer, NULL);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
    }
    ck_assert_uint_eq(srcmap_size(shared), 0);
    srcmap_free(shared);
}
END_TEST

START_TEST(srcmap_bound_and_growth)
{
    struct srcmap *s = srcmap_new(sizeof(int64_t), 160, NULL);
    char key[32];
    struct counter_arg a = {.limit = 10};
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "source-%d", i);
        ck_assert_int_eq(srcmap_update(s, key, (size_t)n, true, 0, inc, &a), 0);
    }
    ck_assert_uint_le(srcmap_size(s), 160);
    /* The most recent ones are still there; the oldest were evicted. */
    ck_assert_int_eq(srcmap_update(s, "source-4999", 11, false, 0, inc, &a), 0);
    ck_assert_int_eq(srcmap_update(s, "source-0", 8, false, 0, inc, &a), -ENOENT);
    srcmap_free(s);
    /* Unbounded: all kept, chains grown. */
    s = srcmap_new(sizeof(int64_t), 0, NULL);
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "source-%d", i);
        ck_assert_int_eq(srcmap_update(s, key, (size_t)n, true, 0, inc, &a), 0);
    }
    ck_assert_uint_eq(srcmap_size(s), 5000);
    ck_assert_int_eq(srcmap_update(s, "source-0", 8, false, 0, inc, &a), 0);
    srcmap_free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mw_in_flight_req");
    TCase *tc = tcase_create("in_flight_req");
    tcase_add_test(tc, limit_per_peer_and_release);
    tcase_add_test(tc, reply_bytes);
    tcase_add_test(tc, released_when_a_later_middleware_stops);
    tcase_add_test(tc, source_criteria);
    tcase_add_test(tc, compile_errors);
    tcase_add_test(tc, srcmap_threads_balance_to_empty);
    tcase_add_test(tc, srcmap_bound_and_growth);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
