/* buffering (compile in node/table/compile_mw_flow.c; the buffering itself is the exchange's,
 * tested end to end in tests/integration/test_mw_flow.py): limits, retryExpression. */
#include "node/proxy/mw_flow.h"
#include "tests/unit/proxy/mw_fixture.h"

static char yaml[4096];

static const struct mwc_buffering *conf_of(const char *def)
{
    static struct mwt t;
    static bool have;
    if (have) {
        mwt_teardown(&t);
    }
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[b]", def));
    have = true;
    return mwt_router(&t, "r@test")->mws[0]->conf;
}

START_TEST(limits_and_expressions)
{
    const struct mwc_buffering *b;
    b = conf_of("    b: {buffering: {maxRequestBodyBytes: 10, memRequestBodyBytes: 1000, "
                "maxResponseBodyBytes: 20}}\n");
    ck_assert_int_eq(b->max_request, 10);
    ck_assert_int_eq(b->max_response, 20);
    ck_assert_int_eq(b->retry_attempts, 0);
    b = conf_of("    b: {buffering: {retryExpression: 'IsNetworkError() && Attempts() < 2'}}\n");
    ck_assert_int_eq(b->retry_attempts, 2);
    b = conf_of("    b: {buffering: {retryExpression: ' Attempts()<5&&IsNetworkError( ) '}}\n");
    ck_assert_int_eq(b->retry_attempts, 5);
}
END_TEST

START_TEST(retry_expression_counts_attempts)
{
    struct mwt t;
    uint64_t d = 7;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[b]",
                           "    b: {buffering: {retryExpression: "
                           "'IsNetworkError() && Attempts() < 3'}}\n"));
    mwt_request(&t, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\n");
    ck_assert_ptr_nonnull(mw_buffering_of(t.m));
    ck_assert(mw_retry_next(t.m, &d));
    ck_assert_uint_eq(d, 0); /* no backoff */
    ck_assert(mw_retry_next(t.m, &d));
    ck_assert(!mw_retry_next(t.m, &d));
    mwt_teardown(&t);
}
END_TEST

START_TEST(compile_errors)
{
    struct mwt t;
    char out[4096];
    mwt_compile_errors(&t,
                       mwt_yaml(yaml, sizeof yaml, "[a]",
                                "    a: {buffering: {retryExpression: "
                                "'ResponseCode() >= 500'}}\n"
                                "    b: {buffering: {maxRequestBodyBytes: -5}}\n"
                                "    c: {buffering: {retryExpression: "
                                "'IsNetworkError() && Attempts() < 0'}}\n"),
                       out, sizeof out);
    ck_assert_msg(strstr(out, "http.middlewares.a.buffering.retryExpression: unsupported "
                              "expression \"ResponseCode() >= 500\": Concord supports "
                              "\"IsNetworkError() && Attempts() < N\""),
                  "%s", out);
    ck_assert_msg(strstr(out, "http.middlewares.b.buffering.maxRequestBodyBytes: must not be "
                              "negative"),
                  "%s", out);
    ck_assert_msg(strstr(out, "http.middlewares.c.buffering.retryExpression"), "%s", out);
    ck_assert_msg(strstr(out, "http.routers.r.middlewares[0]"), "router disabled: %s", out);
    diags_fini(&t.d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mw_buffering");
    TCase *tc = tcase_create("buffering");
    tcase_add_test(tc, limits_and_expressions);
    tcase_add_test(tc, retry_expression_counts_attempts);
    tcase_add_test(tc, compile_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
