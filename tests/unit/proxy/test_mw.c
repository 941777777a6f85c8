/* The middleware pipeline (node/proxy/mw.c): order, header edits, local replies, chains. */
#include "tests/unit/proxy/mw_fixture.h"

static char yaml[4096];

START_TEST(add_prefix_and_chain_order)
{
    struct mwt t;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[both, c]",
                           "    a: {addPrefix: {prefix: /a}}\n    b: {addPrefix: {prefix: b}}\n"
                           "    c: {addPrefix: {prefix: /c}}\n"
                           "    both: {chain: {middlewares: [a, b]}}\n"));
    ck_assert_uint_eq(mwt_router(&t, "r@test")->nmws, 3);
    ck_assert_int_eq(mwt_request(&t, "GET /x?q=1 HTTP/1.1\r\nHost: h\r\n\r\n"), MW_CONTINUE);
    ck_assert_str_eq(mwt_target(&t), "/c/b/a/x?q=1");
    ck_assert(t.m->target_changed);
    mwt_teardown(&t);
}
END_TEST

START_TEST(header_edits)
{
    struct mwt t;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[a]", "    a: {addPrefix: {prefix: /a}}\n"));
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-A: 2\r\nX-B: b\r\n\r\n");
    ck_assert_str_eq(mwt_req_field(&t, "x-a"), "1");
    ck_assert(mw_req_set(t.m, "X-A", "set"));
    ck_assert_str_eq(mwt_req_field(&t, "X-A"), "set");
    ck_assert(mw_hdrs_hides(&t.m->req_edits, "x-a", 3));
    ck_assert(mw_req_del(t.m, "X-A"));
    ck_assert_ptr_null(mwt_req_field(&t, "X-A"));
    ck_assert(mw_req_add(t.m, "X-A", "again"));
    ck_assert_str_eq(mwt_req_field(&t, "X-A"), "again");
    ck_assert(!mw_hdrs_hides(&t.m->req_edits, "x-b", 3));
    /* The proxy owns framing: such edits are ignored. Host goes to host_override. */
    ck_assert(mw_req_set(t.m, "Content-Length", "5"));
    ck_assert_uint_eq(t.m->req_edits.n, 3);
    ck_assert(mw_req_set(t.m, "Host", "other.example"));
    ck_assert_str_eq(t.m->host_override, "other.example");
    ck_assert_str_eq(mwt_req_field(&t, "host"), "other.example");
    mwt_teardown(&t);
}
END_TEST

START_TEST(local_reply_bytes)
{
    struct mwt t;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[a]", "    a: {addPrefix: {prefix: /a}}\n"));
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    mw_reply(t.m, 302);
    mw_reply_header(t.m, "Location", "http://x/");
    mw_reply_header(t.m, "Transfer-Encoding", "chunked"); /* ignored */
    mw_reply_body(t.m, "Found", 5);
    mw_resp_set(t.m, "X-Resp", "1");
    ck_assert_str_eq(mwt_reply(&t), "HTTP/1.1 302 Found\r\nLocation: http://x/\r\nX-Resp: 1\r\n"
                                    "Content-Length: 5\r\n\r\nFound");
    ck_assert_str_eq(mwt_resp_field(&t, "location"), "http://x/");
    mwt_teardown(&t);
}
END_TEST

START_TEST(local_reply_to_head)
{
    struct mwt t;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[a]", "    a: {addPrefix: {prefix: /a}}\n"));
    mwt_request(&t, "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n");
    mw_reply(t.m, 401);
    mw_reply_body(t.m, "Unauthorized", 12);
    ck_assert_str_eq(mwt_reply(&t), "HTTP/1.1 401 Unauthorized\r\nContent-Length: 12\r\n\r\n");
    mwt_teardown(&t);
}
END_TEST

START_TEST(response_edits_on_upstream_head)
{
    struct mwt t;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[a]", "    a: {addPrefix: {prefix: /a}}\n"));
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    mwt_response(&t, "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 0\r\n\r\n");
    ck_assert_str_eq(mwt_resp_field(&t, "server"), "x");
    mw_resp_del(t.m, "Server");
    ck_assert_ptr_null(mwt_resp_field(&t, "server"));
    mwt_teardown(&t);
}
END_TEST

START_TEST(compile_errors)
{
    struct mwt t;
    char out[4096];
    mwt_compile_errors(&t, mwt_yaml(yaml, sizeof yaml, "[loop1, empty]",
                                    "    loop1: {chain: {middlewares: [loop2]}}\n"
                                    "    loop2: {chain: {middlewares: [loop1]}}\n"
                                    "    empty: {addPrefix: {prefix: ''}}\n"),
                       out, sizeof out);
    ck_assert_msg(strstr(out, "http.middlewares.empty.addPrefix.prefix: prefix must not be "
                              "empty") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "includes itself") != NULL || strstr(out, "cycle") != NULL, "%s",
                  out);
    ck_assert_msg(strstr(out, "http.routers.r.middlewares[0]: middleware \"loop1@test\" is "
                              "disabled by its own errors") != NULL,
                  "%s", out);
    diags_fini(&t.d);
}
END_TEST

/* An addPrefix prefix lands in the request line sent upstream: a space, '?', '#' or a control
 * character (CR LF above all) would split or corrupt it, so they are errors, as for
 * replacePath. */
START_TEST(add_prefix_request_line_text)
{
    struct mwt t;
    char out[4096];
    mwt_compile_errors(&t, mwt_yaml(yaml, sizeof yaml, "[sp, crlf]",
                                    "    sp: {addPrefix: {prefix: '/a b'}}\n"
                                    "    crlf: {addPrefix: {prefix: \"/a\\r\\nX-Evil: 1\"}}\n"),
                       out, sizeof out);
    ck_assert_msg(strstr(out, "dyn.yaml:8:10: http.middlewares.sp.addPrefix.prefix: prefix must "
                              "not hold spaces") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "http.middlewares.crlf.addPrefix.prefix: prefix must not hold") !=
                      NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "http.routers.r.middlewares[0]: middleware \"sp@test\" is "
                              "disabled by its own errors") != NULL,
                  "%s", out);
    diags_fini(&t.d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mw");
    TCase *tc = tcase_create("pipeline");
    tcase_add_test(tc, add_prefix_and_chain_order);
    tcase_add_test(tc, header_edits);
    tcase_add_test(tc, local_reply_bytes);
    tcase_add_test(tc, response_edits_on_upstream_head);
    tcase_add_test(tc, local_reply_to_head);
    tcase_add_test(tc, compile_errors);
    tcase_add_test(tc, add_prefix_request_line_text);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
