/* stripPrefix (node/proxy/mw_strip_prefix.c, compile in compile_mw_path.c). */
#include "tests/unit/proxy/mw_fixture.h"

static char yaml[4096];

static void run(struct mwt *t, const char *target)
{
    char req[512];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: h\r\nX-Forwarded-Prefix: /evil\r\n\r\n",
             target);
    mwt_end(t);
    ck_assert_int_eq(mwt_request(t, req), MW_CONTINUE);
}

START_TEST(strips_first_matching_prefix)
{
    struct mwt t;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[s]",
                           "    s: {stripPrefix: {prefixes: [/api, /foo/]}}\n"));
    run(&t, "/api/users?id=1");
    ck_assert_str_eq(mwt_target(&t), "/users?id=1");
    ck_assert_str_eq(mwt_req_field(&t, "X-Forwarded-Prefix"), "/api");
    /* Everything stripped: "/", never "". */
    run(&t, "/api");
    ck_assert_str_eq(mwt_target(&t), "/");
    run(&t, "/api?q");
    ck_assert_str_eq(mwt_target(&t), "/?q");
    /* A plain string prefix, as Traefik: "/apix" loses "/api" too. */
    run(&t, "/apix");
    ck_assert_str_eq(mwt_target(&t), "/x");
    run(&t, "/foo/bar");
    ck_assert_str_eq(mwt_target(&t), "/bar");
    ck_assert_str_eq(mwt_req_field(&t, "X-Forwarded-Prefix"), "/foo/");
    /* No prefix: untouched, and the client's own field is not ours to change. */
    run(&t, "/other");
    ck_assert_str_eq(mwt_target(&t), "/other");
    ck_assert(!t.m->target_changed);
    ck_assert_str_eq(mwt_req_field(&t, "X-Forwarded-Prefix"), "/evil");
    mwt_teardown(&t);
}
END_TEST

START_TEST(force_slash_false)
{
    struct mwt t;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[s]",
                           "    s: {stripPrefix: {prefixes: [/foo/], forceSlash: false}}\n"));
    run(&t, "/foo/bar");
    ck_assert_str_eq(mwt_target(&t), "/bar");
    run(&t, "/foo/");
    ck_assert_str_eq(mwt_target(&t), "/");
    mwt_teardown(&t);
}
END_TEST

START_TEST(compile_errors)
{
    struct mwt t;
    char out[4096];
    mwt_compile_errors(&t, mwt_yaml(yaml, sizeof yaml, "[s]",
                                    "    s: {stripPrefix: {prefixes: [/ok, '', 'a b']}}\n"),
                       out, sizeof out);
    ck_assert_msg(strstr(out, "dyn.yaml:") && strstr(out, "http.middlewares.s.stripPrefix."
                                                          "prefixes[1]: prefix must not be empty"),
                  "%s", out);
    ck_assert_msg(strstr(out, "http.middlewares.s.stripPrefix.prefixes[2]: prefix must not hold"),
                  "%s", out);
    ck_assert_msg(strstr(out, "http.routers.r.middlewares[0]: middleware \"s@test\" is disabled"),
                  "%s", out);
    diags_fini(&t.d);
    /* No prefixes at all: a warning, the router still serves. */
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[s]", "    s: {stripPrefix: {prefixes: []}}\n"));
    ck_assert_uint_eq(t.d.n, 1);
    run(&t, "/x");
    ck_assert_str_eq(mwt_target(&t), "/x");
    mwt_teardown(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mw_strip_prefix");
    TCase *tc = tcase_create("mw_strip_prefix");
    tcase_add_test(tc, strips_first_matching_prefix);
    tcase_add_test(tc, force_slash_false);
    tcase_add_test(tc, compile_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
