/* stripPrefixRegex (node/proxy/mw_strip_prefix_regex.c). */
#include "tests/unit/proxy/mw_fixture.h"

static char yaml[4096];

static void run(struct mwt *t, const char *target)
{
    char req[512];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", target);
    mwt_end(t);
    ck_assert_int_eq(mwt_request(t, req), MW_CONTINUE);
}

START_TEST(strips_matched_prefix)
{
    struct mwt t;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[s]",
                           "    s: {stripPrefixRegex: {regex: ['/x/[0-9]+', '^/user/[a-z]+/']}}\n"));
    run(&t, "/user/bob/profile?a=b");
    ck_assert_str_eq(mwt_target(&t), "/profile?a=b");
    ck_assert_str_eq(mwt_req_field(&t, "X-Forwarded-Prefix"), "/user/bob/");
    run(&t, "/x/123/y");
    ck_assert_str_eq(mwt_target(&t), "/y");
    ck_assert_str_eq(mwt_req_field(&t, "X-Forwarded-Prefix"), "/x/123");
    run(&t, "/x/123");
    ck_assert_str_eq(mwt_target(&t), "/");
    /* The leftmost match must start at the beginning of the path. */
    run(&t, "/a/x/123/y");
    ck_assert_str_eq(mwt_target(&t), "/a/x/123/y");
    ck_assert_ptr_null(mwt_req_field(&t, "X-Forwarded-Prefix"));
    /* What is left gets its leading slash. */
    run(&t, "/x/12ab");
    ck_assert_str_eq(mwt_target(&t), "/ab");
    mwt_teardown(&t);
}
END_TEST

/* An empty match strips nothing and is skipped, as Traefik does: the next regex gets its turn,
 * and no empty X-Forwarded-Prefix is sent. */
START_TEST(empty_match_skipped)
{
    struct mwt t;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[s]",
                           "    s: {stripPrefixRegex: {regex: ['x*', '^/api']}}\n"));
    run(&t, "/api/v1");
    ck_assert_str_eq(mwt_target(&t), "/v1");
    ck_assert_str_eq(mwt_req_field(&t, "X-Forwarded-Prefix"), "/api");
    run(&t, "/other");
    ck_assert_str_eq(mwt_target(&t), "/other");
    ck_assert_ptr_null(mwt_req_field(&t, "X-Forwarded-Prefix"));
    mwt_teardown(&t);
}
END_TEST

START_TEST(compile_errors)
{
    struct mwt t;
    char out[4096];
    mwt_compile_errors(&t, mwt_yaml(yaml, sizeof yaml, "[s]",
                                    "    s: {stripPrefixRegex: {regex: ['/ok', '(?=x)', '(']}}\n"),
                       out, sizeof out);
    ck_assert_msg(strstr(out, "http.middlewares.s.stripPrefixRegex.regex[1]: lookahead"), "%s",
                  out);
    ck_assert_msg(strstr(out, "http.middlewares.s.stripPrefixRegex.regex[2]: bad regular"), "%s",
                  out);
    ck_assert_msg(strstr(out, "middleware \"s@test\" is disabled"), "%s", out);
    diags_fini(&t.d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mw_strip_prefix_regex");
    TCase *tc = tcase_create("mw_strip_prefix_regex");
    tcase_add_test(tc, strips_matched_prefix);
    tcase_add_test(tc, empty_match_skipped);
    tcase_add_test(tc, compile_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
