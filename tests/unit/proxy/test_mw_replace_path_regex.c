/* replacePathRegex (node/proxy/mw_replace_path_regex.c). */
#include "tests/unit/proxy/mw_fixture.h"

static char yaml[4096];

static enum mw_result run(struct mwt *t, const char *target)
{
    char req[512];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", target);
    mwt_end(t);
    return mwt_request(t, req);
}

START_TEST(rewrites_with_groups)
{
    struct mwt t;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[p]",
                           "    p: {replacePathRegex: {regex: '^/foo/(.*)', "
                           "replacement: '/bar/$1'}}\n"));
    ck_assert_int_eq(run(&t, "/foo/a/b?x=1"), MW_CONTINUE);
    ck_assert_str_eq(mwt_target(&t), "/bar/a/b?x=1");
    ck_assert_str_eq(mwt_req_field(&t, "X-Replaced-Path"), "/foo/a/b");
    ck_assert_int_eq(run(&t, "/nomatch"), MW_CONTINUE);
    ck_assert_str_eq(mwt_target(&t), "/nomatch");
    ck_assert(!t.m->target_changed);
    ck_assert_ptr_null(mwt_req_field(&t, "X-Replaced-Path"));
    mwt_teardown(&t);
    /* Named groups, ${n}, and every match replaced. */
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[p]",
                           "    p: {replacePathRegex: {regex: '/(?P<seg>[a-z]+)', "
                           "replacement: '/${seg}-${1}'}}\n"));
    run(&t, "/ab/cd");
    ck_assert_str_eq(mwt_target(&t), "/ab-ab/cd-cd");
    mwt_teardown(&t);
}
END_TEST

START_TEST(result_is_safe_for_the_request_line)
{
    struct mwt t;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[p]",
                           "    p: {replacePathRegex: {regex: '^/(\\w+)', "
                           "replacement: 'x y?#$1'}}\n"));
    /* A missing leading slash is supplied; space, '?', '#' are escaped. */
    run(&t, "/abc");
    ck_assert_str_eq(mwt_target(&t), "/x%20y%3F%23abc");
    mwt_teardown(&t);
    /* A bad percent escape in the result: 500, as Traefik. */
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[p]",
                           "    p: {replacePathRegex: {regex: '^/a', replacement: '/%zz'}}\n"));
    ck_assert_int_eq(run(&t, "/a"), MW_STOP);
    ck_assert_int_eq(t.m->reply_status, 500);
    mwt_teardown(&t);
    /* An empty replacement does nothing (Traefik), with a warning. */
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[p]",
                           "    p: {replacePathRegex: {regex: '^/a', replacement: ''}}\n"));
    ck_assert_uint_eq(t.d.n, 1);
    run(&t, "/a/b");
    ck_assert_str_eq(mwt_target(&t), "/a/b");
    mwt_teardown(&t);
}
END_TEST

START_TEST(compile_errors)
{
    struct mwt t;
    char out[4096];
    mwt_compile_errors(&t, mwt_yaml(yaml, sizeof yaml, "[p]",
                                    "    p: {replacePathRegex: {regex: '(a)\\1', "
                                    "replacement: /x}}\n"
                                    "    q: {replacePathRegex: {replacement: /x}}\n"),
                       out, sizeof out);
    ck_assert_msg(strstr(out, "http.middlewares.p.replacePathRegex.regex: backreference"), "%s",
                  out);
    ck_assert_msg(strstr(out, "http.middlewares.q.replacePathRegex.regex: empty regular"), "%s",
                  out);
    ck_assert_msg(strstr(out, "middleware \"p@test\" is disabled"), "%s", out);
    diags_fini(&t.d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mw_replace_path_regex");
    TCase *tc = tcase_create("mw_replace_path_regex");
    tcase_add_test(tc, rewrites_with_groups);
    tcase_add_test(tc, result_is_safe_for_the_request_line);
    tcase_add_test(tc, compile_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
