/* retry (node/proxy/mw_retry.c, compile in node/table/compile_mw_flow.c): the attempt count,
 * the backoff, and compile errors. The exchange's side runs end to end in
 * tests/integration/test_mw_flow.py. */
#include "node/proxy/mw_flow.h"
#include "tests/unit/proxy/mw_fixture.h"

static char yaml[4096];

START_TEST(counts_attempts_with_backoff)
{
    struct mwt t;
    uint64_t d = 99;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[r]",
                           "    r: {retry: {attempts: 3, initialInterval: 10ms}}\n"));
    ck_assert_int_eq(mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"), MW_CONTINUE);
    ck_assert(mw_retry_next(t.m, &d)); /* 1st failure: 2 attempts left */
    ck_assert_uint_eq(d, 10);
    ck_assert(mw_retry_next(t.m, &d));
    ck_assert_uint_eq(d, 20);
    ck_assert(!mw_retry_next(t.m, &d)); /* 3 attempts made */
    mwt_end(&t);
    /* A new exchange counts from zero. */
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    ck_assert(mw_retry_next(t.m, &d));
    mwt_teardown(&t);
}
END_TEST

START_TEST(default_interval_and_single_attempt)
{
    struct mwt t;
    uint64_t d = 0;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[a, b]",
                           "    a: {retry: {attempts: 2}}\n    b: {retry: {attempts: 1}}\n"));
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    ck_assert(mw_retry_next(t.m, &d)); /* the outermost (a) decides */
    ck_assert_uint_eq(d, 100);
    ck_assert(!mw_retry_next(t.m, &d));
    mwt_teardown(&t);
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[b]", "    b: {retry: {attempts: 1}}\n"));
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    ck_assert(!mw_retry_next(t.m, &d));
    mwt_teardown(&t);
    ck_assert(!mw_retry_next(NULL, &d));
}
END_TEST

START_TEST(backoff_doubles_up_to_twice_the_initial)
{
    ck_assert_uint_eq(mw_retry_backoff(100, 1), 100);
    ck_assert_uint_eq(mw_retry_backoff(100, 2), 200);
    ck_assert_uint_eq(mw_retry_backoff(100, 7), 200);
    ck_assert_uint_eq(mw_retry_backoff(0, 3), 0);
}
END_TEST

START_TEST(compile_errors)
{
    struct mwt t;
    char out[4096];
    mwt_compile_errors(&t,
                       mwt_yaml(yaml, sizeof yaml, "[z]",
                                "    z: {retry: {attempts: 0}}\n"
                                "    d: {retry: {attempts: 2, initialInterval: soon}}\n"),
                       out, sizeof out);
    ck_assert_msg(strstr(out, "dyn.yaml:") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "http.middlewares.z.retry.attempts: attempts must be at least 1"),
                  "%s", out);
    ck_assert_msg(strstr(out, "http.middlewares.d.retry.initialInterval: \"soon\" is not a "
                              "duration"),
                  "%s", out);
    ck_assert_msg(strstr(out, "http.routers.r.middlewares[0]"), "router disabled: %s", out);
    diags_fini(&t.d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mw_retry");
    TCase *tc = tcase_create("retry");
    tcase_add_test(tc, counts_attempts_with_backoff);
    tcase_add_test(tc, default_interval_and_single_attempt);
    tcase_add_test(tc, backoff_doubles_up_to_twice_the_initial);
    tcase_add_test(tc, compile_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
