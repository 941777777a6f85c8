/* redirectScheme (node/proxy/mw_redirect_scheme.c). */
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

START_TEST(to_https)
{
    struct mwt t;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[s]",
                           "    s: {redirectScheme: {scheme: https, permanent: true}}\n"));
    ck_assert_str_eq(run(&t, "GET", "/a?b=c", "example.com:8080"),
                     "HTTP/1.1 301 Moved Permanently\r\nLocation: https://example.com/a?b=c\r\n"
                     "Content-Length: 17\r\n\r\nMoved Permanently");
    /* Other methods keep their method: 308. */
    ck_assert_ptr_nonnull(strstr(run(&t, "POST", "/a", "example.com"), "HTTP/1.1 308 "));
    ck_assert_str_eq(run(&t, "HEAD", "/a", "[::1]:80"),
                     "HTTP/1.1 308 Permanent Redirect\r\nLocation: https://[::1]/a\r\n"
                     "Content-Length: 0\r\n\r\n");
    mwt_teardown(&t);
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[s]",
                           "    s: {redirectScheme: {scheme: HTTPS, port: '8443'}}\n"));
    ck_assert_str_eq(run(&t, "GET", "/", "h"),
                     "HTTP/1.1 302 Found\r\nLocation: https://h:8443/\r\n"
                     "Content-Length: 5\r\n\r\nFound");
    ck_assert_ptr_nonnull(strstr(run(&t, "PUT", "/", "h"), "HTTP/1.1 307 Temporary Redirect"));
    mwt_teardown(&t);
}
END_TEST

START_TEST(no_redirect_when_already_there)
{
    struct mwt t;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[s]",
                           "    s: {redirectScheme: {scheme: http, port: '8080'}}\n"));
    /* Same scheme, same port: the URL would not change, so the request goes on. */
    ck_assert_ptr_null(run(&t, "GET", "/x", "h:8080"));
    /* Same scheme, another port: redirected to the configured port. */
    ck_assert_ptr_nonnull(strstr(run(&t, "GET", "/x", "h:9090"), "Location: http://h:8080/x"));
    mwt_teardown(&t);
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[s]",
                           "    s: {redirectScheme: {scheme: http, port: '80'}}\n"));
    ck_assert_ptr_null(run(&t, "GET", "/x", "h"));
    ck_assert_ptr_null(run(&t, "GET", "/x", "h:80"));
    mwt_teardown(&t);
}
END_TEST

START_TEST(compile_errors)
{
    struct mwt t;
    char out[4096];
    mwt_compile_errors(&t, mwt_yaml(yaml, sizeof yaml, "[a, b]",
                                    "    a: {redirectScheme: {permanent: true}}\n"
                                    "    b: {redirectScheme: {scheme: 'ht tp', port: '99999'}}\n"),
                       out, sizeof out);
    ck_assert_msg(strstr(out, "http.middlewares.a.redirectScheme.scheme: a target scheme is "
                              "required"),
                  "%s", out);
    ck_assert_msg(strstr(out, "http.middlewares.b.redirectScheme.scheme: \"ht tp\" is not"), "%s",
                  out);
    ck_assert_msg(strstr(out, "http.middlewares.b.redirectScheme.port: \"99999\" is not a port"),
                  "%s", out);
    ck_assert_msg(strstr(out, "middleware \"a@test\" is disabled"), "%s", out);
    diags_fini(&t.d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mw_redirect_scheme");
    TCase *tc = tcase_create("mw_redirect_scheme");
    tcase_add_test(tc, to_https);
    tcase_add_test(tc, no_redirect_when_already_there);
    tcase_add_test(tc, compile_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
