/* replacePath (node/proxy/mw_replace_path.c). */
#include "tests/unit/proxy/mw_fixture.h"

static char yaml[4096];

START_TEST(replaces_path_keeps_query)
{
    struct mwt t;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[p, q]",
                           "    p: {replacePath: {path: /new/place}}\n"
                           "    q: {replacePath: {path: 'noslash'}}\n"));
    ck_assert_int_eq(mwt_request(&t, "GET /old/x%20y?a=1 HTTP/1.1\r\nHost: h\r\n"
                                     "X-Replaced-Path: /client\r\n\r\n"),
                     MW_CONTINUE);
    /* p then q: the last one wins the path; X-Replaced-Path holds what q replaced. */
    ck_assert_str_eq(mwt_target(&t), "/noslash?a=1");
    ck_assert_str_eq(mwt_req_field(&t, "X-Replaced-Path"), "/new/place");
    mwt_teardown(&t);
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[p]", "    p: {replacePath: {path: /new}}\n"));
    mwt_request(&t, "GET /old/x%20y HTTP/1.1\r\nHost: h\r\n\r\n");
    ck_assert_str_eq(mwt_target(&t), "/new");
    ck_assert_str_eq(mwt_req_field(&t, "X-Replaced-Path"), "/old/x%20y");
    mwt_teardown(&t);
}
END_TEST

START_TEST(compile_errors)
{
    struct mwt t;
    char out[4096];
    mwt_compile_errors(&t, mwt_yaml(yaml, sizeof yaml, "[e, s]",
                                    "    e: {replacePath: {path: ''}}\n"
                                    "    s: {replacePath: {path: \"/a\\r\\nX: y\"}}\n"),
                       out, sizeof out);
    ck_assert_msg(strstr(out, "dyn.yaml:8:9: ") &&
                      strstr(out, "http.middlewares.e.replacePath.path: path must not be empty"),
                  "%s", out);
    ck_assert_msg(strstr(out, "http.middlewares.s.replacePath.path: path must not hold"), "%s",
                  out);
    ck_assert_msg(strstr(out, "http.routers.r.middlewares[0]: middleware \"e@test\" is disabled"),
                  "%s", out);
    diags_fini(&t.d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mw_replace_path");
    TCase *tc = tcase_create("mw_replace_path");
    tcase_add_test(tc, replaces_path_keeps_query);
    tcase_add_test(tc, compile_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
