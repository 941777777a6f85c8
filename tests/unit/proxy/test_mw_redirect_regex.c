/* redirectRegex (node/proxy/mw_redirect_regex.c). */
#include "tests/unit/proxy/mw_fixture.h"

static char yaml[4096];

static const char *run(struct mwt *t, const char *method, const char *target, const char *host)
{
    char req[512];
    snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\n\r\n", method,
             target, host);
    mwt_end(t);
    if (mwt_request(t, req) == MW_CONTINUE) {
        return NULL;
    }
    return mwt_reply(t);
}

START_TEST(redirects_with_groups)
{
    struct mwt t;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[r]",
                           "    r: {redirectRegex: {regex: '^http://localhost/(.*)', "
                           "replacement: 'http://mydomain/${1}', permanent: true}}\n"));
    ck_assert_str_eq(run(&t, "GET", "/a/b?c=d", "localhost"),
                     "HTTP/1.1 301 Moved Permanently\r\nLocation: http://mydomain/a/b?c=d\r\n"
                     "Content-Length: 17\r\n\r\nMoved Permanently");
    ck_assert_ptr_nonnull(strstr(run(&t, "DELETE", "/", "localhost"), "HTTP/1.1 308 "));
    /* No match: the request goes on. The port is part of the URL. */
    ck_assert_ptr_null(run(&t, "GET", "/a", "other"));
    ck_assert_ptr_null(run(&t, "GET", "/a", "localhost:8080"));
    mwt_teardown(&t);
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[r]",
                           "    r: {redirectRegex: {regex: '^http://(?P<h>[^/:]+)(:\\d+)?/old', "
                           "replacement: 'https://$h/new'}}\n"));
    ck_assert_ptr_nonnull(strstr(run(&t, "GET", "/old/x", "a.example:81"),
                                 "HTTP/1.1 302 Found\r\nLocation: https://a.example/new/x\r\n"));
    ck_assert_ptr_nonnull(strstr(run(&t, "POST", "/old", "a"), "HTTP/1.1 307 "));
    mwt_teardown(&t);
}
END_TEST

START_TEST(same_url_is_no_redirect)
{
    struct mwt t;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[r]",
                           "    r: {redirectRegex: {regex: '^(http://h/.*)', "
                           "replacement: '$1'}}\n"));
    ck_assert_ptr_null(run(&t, "GET", "/x", "h"));
    mwt_teardown(&t);
}
END_TEST

START_TEST(compile_errors)
{
    struct mwt t;
    char out[4096];
    mwt_compile_errors(&t, mwt_yaml(yaml, sizeof yaml, "[a, b]",
                                    "    a: {redirectRegex: {regex: '(?<=x)y', "
                                    "replacement: 'http://x/'}}\n"
                                    "    b: {redirectRegex: {regex: '.*'}}\n"),
                       out, sizeof out);
    ck_assert_msg(strstr(out, "http.middlewares.a.redirectRegex.regex: lookbehind"), "%s", out);
    ck_assert_msg(strstr(out, "http.middlewares.b.redirectRegex.replacement: replacement must "
                              "not be empty"),
                  "%s", out);
    ck_assert_msg(strstr(out, "middleware \"a@test\" is disabled"), "%s", out);
    diags_fini(&t.d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mw_redirect_regex");
    TCase *tc = tcase_create("mw_redirect_regex");
    tcase_add_test(tc, redirects_with_groups);
    tcase_add_test(tc, same_url_is_no_redirect);
    tcase_add_test(tc, compile_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
