/* errors (node/proxy/mw_errors.c, compile in node/table/compile_mw_flow.c): status ranges,
 * the page's target and head, compile errors. */
#include "node/proxy/mw_flow.h"
#include "tests/unit/proxy/mw_fixture.h"

static char yaml[4096];

START_TEST(status_ranges)
{
    struct mwt t;
    const struct mwc_errors *e;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[e]",
                           "    e: {errors: {status: ['500-599', '404', '400,418'], "
                           "service: errsvc, query: '/{status}.html'}}\n"));
    e = mwt_router(&t, "r@test")->mws[0]->conf;
    ck_assert_uint_eq(e->nranges, 4);
    ck_assert(mw_errors_status_in(e, 500) && mw_errors_status_in(e, 599));
    ck_assert(mw_errors_status_in(e, 404) && mw_errors_status_in(e, 400));
    ck_assert(mw_errors_status_in(e, 418));
    ck_assert(!mw_errors_status_in(e, 499) && !mw_errors_status_in(e, 200));
    ck_assert(!mw_errors_status_in(e, 401));
    ck_assert_str_eq(e->service->name, "errsvc@test");
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    ck_assert_ptr_eq(mw_errors_match(t.m, 503), e);
    ck_assert_ptr_null(mw_errors_match(t.m, 200));
    mwt_teardown(&t);
}
END_TEST

START_TEST(page_target_and_head)
{
    struct mwt t;
    const struct mwc_errors *e;
    uint32_t len = 0;
    char *head;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[e]",
                           "    e: {errors: {status: ['500'], service: errsvc, "
                           "query: '/e/{status}?u={url}&o={originalStatus}'}}\n"));
    e = mwt_router(&t, "r@test")->mws[0]->conf;
    mwt_request(&t, "GET /a%20b?x=1&y HTTP/1.1\r\nHost: Shop.example:8080\r\n\r\n");
    ck_assert_str_eq(mw_errors_target(t.m, e, 500), "/e/500?u=%2Fa%2520b%3Fx%3D1%26y&o=500");
    head = mw_errors_head(t.m, e, 500, "127.0.0.1:2", "node-x", &len);
    ck_assert_ptr_nonnull(head);
    ck_assert_int_eq(len, strlen(head));
    ck_assert_str_eq(head, "GET /e/500?u=%2Fa%2520b%3Fx%3D1%26y&o=500 HTTP/1.1\r\n"
                           "Host: Shop.example:8080\r\nVia: 1.1 node-x\r\n\r\n");
    free(head);
    mwt_teardown(&t);
}
END_TEST

START_TEST(host_of_the_error_service_without_pass_host_header)
{
    struct mwt t;
    const struct mwc_errors *e;
    uint32_t len = 0;
    char *head;
    mwt_setup(&t, "http:\n  routers:\n"
                  "    r: {rule: 'PathPrefix(`/`)', service: s, middlewares: [e]}\n"
                  "  services:\n    s: {loadBalancer: {servers: [{url: 'http://127.0.0.1:1'}]}}\n"
                  "    p: {loadBalancer: {passHostHeader: false, "
                  "servers: [{url: 'http://127.0.0.1:2'}]}}\n"
                  "  middlewares:\n"
                  "    e: {errors: {status: ['404'], service: p, query: '/{status}'}}\n");
    e = mwt_router(&t, "r@test")->mws[0]->conf;
    mwt_request(&t, "GET /x HTTP/1.1\r\nHost: client.example\r\n\r\n");
    head = mw_errors_head(t.m, e, 404, "127.0.0.1:2", "v", &len);
    ck_assert_str_eq(head, "GET /404 HTTP/1.1\r\nHost: 127.0.0.1:2\r\nVia: 1.1 v\r\n\r\n");
    free(head);
    mwt_teardown(&t);
}
END_TEST

START_TEST(default_query)
{
    struct mwt t;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[e]",
                           "    e: {errors: {status: ['500'], service: errsvc}}\n"));
    ck_assert_str_eq(((const struct mwc_errors *)mwt_router(&t, "r@test")->mws[0]->conf)->query,
                     "/");
    mwt_teardown(&t);
}
END_TEST

START_TEST(compile_errors)
{
    struct mwt t;
    char out[4096];
    mwt_compile_errors(&t,
                       mwt_yaml(yaml, sizeof yaml, "[a]",
                                "    a: {errors: {status: ['5xx', '600', '510-500'], "
                                "service: nope, query: 'x'}}\n"
                                "    b: {errors: {service: errsvc}}\n"),
                       out, sizeof out);
    ck_assert_msg(strstr(out, "http.middlewares.a.errors.status[0]: \"5xx\" is not a status"), "%s",
                  out);
    ck_assert_msg(strstr(out, "errors.status[1]: \"600\""), "%s", out);
    ck_assert_msg(strstr(out, "errors.status[2]: \"510-500\""), "%s", out);
    ck_assert_msg(strstr(out, "http.middlewares.a.errors.service: service \"nope\" does not "
                              "exist"),
                  "%s", out);
    ck_assert_msg(strstr(out, "http.middlewares.a.errors.query: query must start with '/'"), "%s",
                  out);
    ck_assert_msg(strstr(out, "http.middlewares.b.errors.status: at least one status"), "%s", out);
    ck_assert_msg(strstr(out, "http.routers.r.middlewares[0]"), "router disabled: %s", out);
    diags_fini(&t.d);
}
END_TEST

/* The query becomes the error page's request line: a space or a control character (CR LF)
 * would split it. */
START_TEST(query_request_line_text)
{
    struct mwt t;
    char out[4096];
    mwt_compile_errors(&t,
                       mwt_yaml(yaml, sizeof yaml, "[sp, crlf]",
                                "    sp: {errors: {status: ['500'], service: errsvc, "
                                "query: '/{status} x.html'}}\n"
                                "    crlf: {errors: {status: ['500'], service: errsvc, "
                                "query: \"/e\\r\\nX-Evil: 1\"}}\n"),
                       out, sizeof out);
    ck_assert_msg(strstr(out, "http.middlewares.sp.errors.query: query must not hold spaces"),
                  "%s", out);
    ck_assert_msg(strstr(out, "http.middlewares.crlf.errors.query: query must not hold"), "%s",
                  out);
    ck_assert_msg(strstr(out, "http.routers.r.middlewares[0]"), "router disabled: %s", out);
    diags_fini(&t.d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mw_errors");
    TCase *tc = tcase_create("errors");
    tcase_add_test(tc, status_ranges);
    tcase_add_test(tc, page_target_and_head);
    tcase_add_test(tc, host_of_the_error_service_without_pass_host_header);
    tcase_add_test(tc, default_query);
    tcase_add_test(tc, compile_errors);
    tcase_add_test(tc, query_request_line_text);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
