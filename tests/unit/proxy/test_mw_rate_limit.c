/* rateLimit (node/proxy/mw_rate_limit.c) and the token bucket (node/proxy/ratelimit.c), on an
 * injected clock. */
#include "node/proxy/ratelimit.h"
#include "node/proxy/mw_source.h"
#include "tests/unit/proxy/mw_fixture.h"

static char yaml[8192];

/* ---- the bucket alone ---- */

START_TEST(bucket_burst_then_refill)
{
    struct rl_params p;
    struct rl_bucket b = {0};
    uint64_t t0 = 5000000, wait = 0;
    rl_params_init(&p, 10, 1000, 3); /* 10/s: one token per 100 ms, 3 at most */
    ck_assert(rl_full(&b, t0));
    for (int i = 0; i < 3; i++) {
        ck_assert(rl_take(&p, &b, t0, NULL));
    }
    ck_assert(!rl_take(&p, &b, t0, &wait));
    ck_assert_uint_eq(wait, 100);
    ck_assert(!rl_take(&p, &b, t0 + 99, &wait));
    ck_assert_uint_eq(wait, 1);
    ck_assert(rl_take(&p, &b, t0 + 100, NULL));
    ck_assert(!rl_take(&p, &b, t0 + 100, NULL));
    /* Refused takes cost nothing: full again 300 ms after the last token went. */
    ck_assert(!rl_full(&b, t0 + 399));
    ck_assert(rl_full(&b, t0 + 400));
    ck_assert(rl_take(&p, &b, t0 + 400, NULL));
    ck_assert(rl_take(&p, &b, t0 + 400, NULL));
    ck_assert(rl_take(&p, &b, t0 + 400, NULL));
    ck_assert(!rl_take(&p, &b, t0 + 400, NULL));
}
END_TEST

START_TEST(bucket_long_run_rate)
{
    struct rl_params p;
    struct rl_bucket b = {0};
    int passed = 0;
    rl_params_init(&p, 3, 1000, 2); /* 3/s: intervals of 333.33 ms */
    /* One attempt per millisecond for 10 s: burst + 30 tokens. */
    for (uint64_t t = 1000; t < 11000; t++) {
        passed += rl_take(&p, &b, t, NULL);
    }
    ck_assert_int_ge(passed, 31);
    ck_assert_int_le(passed, 32);
}
END_TEST

START_TEST(bucket_edge_params)
{
    struct rl_params p;
    struct rl_bucket b = {0};
    uint64_t wait = 0;
    rl_params_init(&p, 0, 1000, 5); /* no limit */
    for (int i = 0; i < 1000; i++) {
        ck_assert(rl_take(&p, &b, 1, NULL));
    }
    rl_params_init(&p, 1, 1000, 0); /* burst 0 is 1 */
    b.tat_ns = 0;
    ck_assert(rl_take(&p, &b, 10, NULL));
    ck_assert(!rl_take(&p, &b, 10, &wait));
    ck_assert_uint_eq(wait, 1000);
    rl_params_init(&p, INT64_MAX, 1, INT64_MAX); /* absurd values stay defined */
    b.tat_ns = 0;
    ck_assert(rl_take(&p, &b, 10, NULL));
    rl_params_init(&p, 1, UINT64_MAX / 2, INT64_MAX);
    b.tat_ns = 0;
    ck_assert(rl_take(&p, &b, 10, NULL));
}
END_TEST

/* ---- the middleware ---- */

static int status_at(struct mwt *t, uint64_t now, const char *ip, const char *extra)
{
    char raw[2048];
    int st;
    snprintf(raw, sizeof raw, "GET / HTTP/1.1\r\nHost: h\r\n%s\r\n", extra);
    t->now_ms = now;
    st = mwt_request_from(t, NULL, raw, ip) == MW_CONTINUE ? 200 : t->m->reply_status;
    mwt_end(t);
    return st;
}

START_TEST(per_source_buckets)
{
    struct mwt t;
    uint64_t t0 = 1000000;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[a]",
                           "    a: {rateLimit: {average: 1, period: 1m, burst: 3}}\n"));
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(status_at(&t, t0, "10.0.0.1", ""), 200);
    }
    ck_assert_int_eq(status_at(&t, t0, "10.0.0.1", ""), 429);
    /* Under 1 request/s a request may wait up to 500ms for its token (Traefik). */
    ck_assert_int_eq(status_at(&t, t0 + 59499, "10.0.0.1", ""), 429);
    ck_assert_int_eq(status_at(&t, t0, "10.0.0.2", ""), 200);
    ck_assert_int_eq(status_at(&t, t0 + 59500, "10.0.0.1", ""), 200); /* reserved, waits */
    ck_assert_int_eq(status_at(&t, t0 + 60000, "10.0.0.1", ""), 429); /* that token is gone */
    ck_assert_int_eq(status_at(&t, t0 + 120000, "10.0.0.1", ""), 200);
    mwt_teardown(&t);
}
END_TEST

START_TEST(retry_after)
{
    struct mwt t;
    uint64_t t0 = 1000000;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[a]",
                           "    a: {rateLimit: {average: 1, period: 1m, burst: 3}}\n"
                           "    b: {rateLimit: {average: 2}}\n"));
    for (int i = 0; i < 3; i++) {
        status_at(&t, t0, "10.0.0.1", "");
    }
    t.now_ms = t0 + 500;
    ck_assert_int_eq(mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"), MW_STOP);
    mwt_reply(&t);
    ck_assert_msg(strstr(t.reply, "HTTP/1.1 429 Too Many Requests\r\n") != NULL, "%s", t.reply);
    ck_assert_msg(strstr(t.reply, "\r\nRetry-After: 60\r\n") != NULL, "%s", t.reply);
    ck_assert_msg(strstr(t.reply, "\r\nX-Retry-In: 59.5s\r\n") != NULL, "%s", t.reply);
    ck_assert_msg(strstr(t.reply, "\r\n\r\nToo Many Requests") != NULL, "%s", t.reply);
    mwt_end(&t);
    /* 60 s later: one more token; wait of exactly one interval reads "1m0s". */
    ck_assert_int_eq(status_at(&t, t0 + 60000, "10.0.0.1", ""), 200);
    t.now_ms = t0 + 60000;
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    mwt_reply(&t);
    ck_assert_msg(strstr(t.reply, "\r\nX-Retry-In: 1m0s\r\n") != NULL, "%s", t.reply);
    mwt_teardown(&t);
}
END_TEST

START_TEST(average_zero_is_no_limit)
{
    struct mwt t;
    mwt_setup(&t,
              mwt_yaml(yaml, sizeof yaml, "[a]", "    a: {rateLimit: {average: 0, burst: 1}}\n"));
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(status_at(&t, 1000, "10.0.0.1", ""), 200);
    }
    ck_assert_ptr_null(atomic_load(&mwt_router(&t, "r@test")->mws[0]->runtime));
    mwt_teardown(&t);
}
END_TEST

START_TEST(defaults_period_1s_burst_1)
{
    struct mwt t;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[a]", "    a: {rateLimit: {average: 2}}\n"));
    /* 2/s: a token every 500ms; a request may wait up to 1/(2*rate) = 250ms for one. */
    ck_assert_int_eq(status_at(&t, 1000, "10.0.0.1", ""), 200);
    ck_assert_int_eq(status_at(&t, 1000, "10.0.0.1", ""), 429);
    ck_assert_int_eq(status_at(&t, 1249, "10.0.0.1", ""), 429);
    ck_assert_int_eq(status_at(&t, 1250, "10.0.0.1", ""), 200); /* waits 250ms */
    ck_assert_int_eq(status_at(&t, 1500, "10.0.0.1", ""), 429);
    ck_assert_int_eq(status_at(&t, 2000, "10.0.0.1", ""), 200);
    mwt_teardown(&t);
}
END_TEST

START_TEST(short_wait_pauses_on_a_timer)
{
    struct mwt t;
    uv_loop_t loop;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[a]", "    a: {rateLimit: {average: 20}}\n"));
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    t.loop = &loop;
    t.now_ms = 1000;
    ck_assert_int_eq(mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"), MW_CONTINUE);
    mwt_end(&t);
    t.now_ms = 1030; /* the next token is due at 1050: wait 20ms (at most 25ms at 20/s) */
    ck_assert_int_eq(mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"), MW_PAUSE);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(t.resumed, 1);
    ck_assert_int_eq(t.resumed_with, MW_CONTINUE);
    mwt_teardown(&t);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

START_TEST(header_source)
{
    struct mwt t;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[a]",
                           "    a: {rateLimit: {average: 1, period: 1h, "
                           "sourceCriterion: {requestHeaderName: X-Key}}}\n"));
    ck_assert_int_eq(status_at(&t, 1000, "10.0.0.1", "X-Key: a\r\n"), 200);
    ck_assert_int_eq(status_at(&t, 1000, "10.0.0.2", "X-Key: a\r\n"), 429);
    ck_assert_int_eq(status_at(&t, 1000, "10.0.0.1", "X-Key: b\r\n"), 200);
    mwt_teardown(&t);
}
END_TEST

/* A spray of sources cannot grow the map past its bound; idle buckets go as it is used. */
START_TEST(bounded_sources)
{
    struct mwt t;
    const struct table_middleware *mw;
    char ip[32];
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[a]",
                           "    a: {rateLimit: {average: 1, period: 1s, burst: 1}}\n"));
    mw = mwt_router(&t, "r@test")->mws[0];
    for (int i = 0; i < 70000; i++) {
        snprintf(ip, sizeof ip, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        ck_assert_int_eq(status_at(&t, 5000, ip, ""), 200);
    }
    ck_assert_uint_le(mw_source_count(mw), 65536);
    ck_assert_uint_ge(mw_source_count(mw), 60000);
    /* The newest source still has its (empty) bucket. */
    ck_assert_int_eq(status_at(&t, 5000, ip, ""), 429);
    /* 2 s later every bucket is full again: new sources sweep idle ones as they come, so the
     * map tracks about the active sources only. */
    for (int i = 0; i < 1000; i++) {
        snprintf(ip, sizeof ip, "11.0.%d.%d", (i >> 8) & 255, i & 255);
        ck_assert_int_eq(status_at(&t, 7000, ip, ""), 200);
    }
    ck_assert_uint_le(mw_source_count(mw), 65536 - 1000);
    mwt_teardown(&t);
}
END_TEST

START_TEST(compile_errors)
{
    struct mwt t;
    char out[8192];
    mwt_compile_errors(&t,
                       mwt_yaml(yaml, sizeof yaml, "[neg]",
                                "    neg: {rateLimit: {average: -1}}\n"
                                "    per: {rateLimit: {average: 1, period: soon}}\n"
                                "    b0: {rateLimit: {average: 1, burst: 0}}\n"
                                "    two: {rateLimit: {average: 1, sourceCriterion: "
                                "{ipStrategy: {depth: 1}, requestHost: true}}}\n"),
                       out, sizeof out);
    ck_assert_msg(strstr(out, "http.middlewares.neg.rateLimit.average: average must not be "
                              "negative") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "http.middlewares.per.rateLimit.period: \"soon\" is not a "
                              "duration") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "http.middlewares.b0.rateLimit.burst: burst 0 is taken as 1") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "two.rateLimit.sourceCriterion: ipStrategy, requestHeaderName and "
                              "requestHost are mutually exclusive") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "http.routers.r.middlewares[0]: middleware \"neg@test\" is "
                              "disabled by its own errors") != NULL,
                  "%s", out);
    diags_fini(&t.d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mw_rate_limit");
    TCase *tc = tcase_create("rate_limit");
    tcase_add_test(tc, bucket_burst_then_refill);
    tcase_add_test(tc, bucket_long_run_rate);
    tcase_add_test(tc, bucket_edge_params);
    tcase_add_test(tc, per_source_buckets);
    tcase_add_test(tc, retry_after);
    tcase_add_test(tc, average_zero_is_no_limit);
    tcase_add_test(tc, defaults_period_1s_burst_1);
    tcase_add_test(tc, short_wait_pauses_on_a_timer);
    tcase_add_test(tc, header_source);
    tcase_add_test(tc, bounded_sources);
    tcase_add_test(tc, compile_errors);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
