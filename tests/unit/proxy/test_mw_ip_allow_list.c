/* ipAllowList / ipWhiteList (node/proxy/mw_ip_allow_list.c) and the ipStrategy client address
 * (mw_client_ip() in node/proxy/mw.c). */
#include "tests/unit/proxy/mw_fixture.h"

static char yaml[8192];

static void setup(struct mwt *t, const char *defs)
{
    mwt_setup(t, mwt_yaml(yaml, sizeof yaml, "[a]", defs));
}

/* The status of a request from `ip` with extra header lines `extra`. */
static int status_from(struct mwt *t, const char *ip, const char *extra)
{
    char raw[4096];
    int st;
    snprintf(raw, sizeof raw, "GET / HTTP/1.1\r\nHost: h\r\n%s\r\n", extra);
    st = mwt_request_from(t, NULL, raw, ip) == MW_CONTINUE ? 200 : t->m->reply_status;
    mwt_end(t);
    return st;
}

START_TEST(by_peer_v4_v6_and_ranges)
{
    struct mwt t;
    setup(&t, "    a: {ipAllowList: {sourceRange: ['10.0.0.0/8', '192.168.1.7', 'fd00::/8', "
              "'::1']}}\n");
    ck_assert_int_eq(status_from(&t, "10.1.2.3", ""), 200);
    ck_assert_int_eq(status_from(&t, "192.168.1.7", ""), 200);
    ck_assert_int_eq(status_from(&t, "192.168.1.8", ""), 403);
    ck_assert_int_eq(status_from(&t, "11.0.0.1", ""), 403);
    ck_assert_int_eq(status_from(&t, "fd12::5", ""), 200);
    ck_assert_int_eq(status_from(&t, "::1", ""), 200);
    ck_assert_int_eq(status_from(&t, "2001:db8::1", ""), 403);
    /* A dual-stack listener's IPv4 peer. */
    ck_assert_int_eq(status_from(&t, "::ffff:10.9.9.9", ""), 200);
    ck_assert_int_eq(status_from(&t, "::ffff:11.9.9.9", ""), 403);
    /* The peer strategy ignores X-Forwarded-For. */
    ck_assert_int_eq(status_from(&t, "11.0.0.1", "X-Forwarded-For: 10.0.0.1\r\n"), 403);
    mwt_teardown(&t);
}
END_TEST

START_TEST(reply_bytes_and_reject_status)
{
    struct mwt t;
    setup(&t, "    a: {ipAllowList: {sourceRange: ['10.0.0.0/8']}}\n");
    ck_assert_int_eq(mwt_request_from(&t, NULL, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "1.2.3.4"),
                     MW_STOP);
    ck_assert_msg(strstr(mwt_reply(&t), "HTTP/1.1 403 Forbidden\r\n") != NULL, "%s", t.reply);
    ck_assert_msg(strstr(t.reply, "\r\n\r\nForbidden") != NULL, "%s", t.reply);
    mwt_teardown(&t);
    setup(&t, "    a: {ipAllowList: {sourceRange: ['10.0.0.0/8'], rejectStatusCode: 404}}\n");
    ck_assert_int_eq(status_from(&t, "1.2.3.4", ""), 404);
    ck_assert_int_eq(status_from(&t, "10.0.0.4", ""), 200);
    mwt_teardown(&t);
}
END_TEST

START_TEST(ip_white_list_alias)
{
    struct mwt t;
    setup(&t, "    a: {ipWhiteList: {sourceRange: ['127.0.0.1/32'], ipStrategy: {depth: 1}}}\n");
    ck_assert_uint_eq(mwt_router(&t, "r@test")->mws[0]->kind, MW_IP_ALLOW_LIST);
    ck_assert_int_eq(status_from(&t, "1.1.1.1", "X-Forwarded-For: 127.0.0.1\r\n"), 200);
    ck_assert_int_eq(status_from(&t, "127.0.0.1", "X-Forwarded-For: 1.1.1.1\r\n"), 403);
    mwt_teardown(&t);
}
END_TEST

START_TEST(depth)
{
    struct mwt t;
    char many[4096];
    size_t n = 0;
    setup(&t, "    a: {ipAllowList: {sourceRange: ['10.0.0.0/8'], ipStrategy: {depth: 2}}}\n");
    ck_assert_int_eq(status_from(&t, "1.1.1.1", "X-Forwarded-For: 2.2.2.2, 10.0.0.5, 3.3.3.3\r\n"),
                     200);
    ck_assert_int_eq(status_from(&t, "10.0.0.1", "X-Forwarded-For: 10.0.0.5, 3.3.3.3, 4.4.4.4\r\n"),
                     403);
    /* Fewer entries than depth: no client address, refused. */
    ck_assert_int_eq(status_from(&t, "10.0.0.1", "X-Forwarded-For: 10.0.0.5\r\n"), 403);
    ck_assert_int_eq(status_from(&t, "10.0.0.1", ""), 403);
    /* Several lines are one list, in order. */
    ck_assert_int_eq(status_from(&t, "1.1.1.1",
                                 "X-Forwarded-For: 2.2.2.2\r\nX-Forwarded-For: 10.0.0.5\r\n"
                                 "X-Forwarded-For: 3.3.3.3\r\n"),
                     200);
    ck_assert_int_eq(
        status_from(&t, "1.1.1.1",
                    "X-Forwarded-For: 10.0.0.5,3.3.3.3\r\nX-Forwarded-For: 4.4.4.4\r\n"),
        403);
    /* Junk at the entry: refused. */
    ck_assert_int_eq(status_from(&t, "1.1.1.1", "X-Forwarded-For: 10.0.0.5, x, 3.3.3.3\r\n"), 403);
    /* Padding on the left (more entries than any fixed array) cannot move the count. */
    n += (size_t)snprintf(many, sizeof many, "X-Forwarded-For: ");
    for (int i = 0; i < 200; i++) {
        n += (size_t)snprintf(many + n, sizeof many - n, "10.0.0.%d,", i % 250);
    }
    snprintf(many + n, sizeof many - n, "6.6.6.6, 7.7.7.7\r\n");
    ck_assert_int_eq(status_from(&t, "10.0.0.1", many), 403);
    mwt_teardown(&t);
}
END_TEST

START_TEST(excluded_ips)
{
    struct mwt t;
    setup(&t, "    a: {ipAllowList: {sourceRange: ['10.0.0.0/8'], "
              "ipStrategy: {excludedIPs: ['3.3.3.0/24', '4.4.4.4']}}}\n");
    ck_assert_int_eq(status_from(&t, "1.1.1.1", "X-Forwarded-For: 2.2.2.2, 10.0.0.5, 3.3.3.9\r\n"),
                     200);
    ck_assert_int_eq(
        status_from(&t, "1.1.1.1", "X-Forwarded-For: 10.0.0.5, 2.2.2.2, 3.3.3.3, 4.4.4.4\r\n"),
        403);
    /* Blank entries are skipped; a junk entry is the client (and refused), not skipped. */
    ck_assert_int_eq(status_from(&t, "1.1.1.1", "X-Forwarded-For: 10.0.0.5, , 4.4.4.4\r\n"), 200);
    ck_assert_int_eq(status_from(&t, "1.1.1.1", "X-Forwarded-For: 10.0.0.5, junk, 4.4.4.4\r\n"),
                     403);
    /* All excluded, or no field: no address. */
    ck_assert_int_eq(status_from(&t, "10.0.0.1", "X-Forwarded-For: 4.4.4.4, 3.3.3.1\r\n"), 403);
    ck_assert_int_eq(status_from(&t, "10.0.0.1", ""), 403);
    mwt_teardown(&t);
}
END_TEST

/* mw_client_ip directly: the text it produces, ipv6Subnet and IPv4-mapped peers. */
static const char *client_ip(struct mwt *t, const char *peer, const char *extra,
                             const struct mwc_ip_strategy *ip)
{
    static char buf[64];
    char raw[2048];
    int family;
    uint8_t addr[16];
    snprintf(raw, sizeof raw, "GET / HTTP/1.1\r\nHost: h\r\n%s\r\n", extra);
    mwt_request_from(t, NULL, raw, peer);
    if (!mw_client_ip(t->m, ip, buf, sizeof buf, &family, addr)) {
        snprintf(buf, sizeof buf, "(none)");
    }
    mwt_end(t);
    return buf;
}

START_TEST(client_ip_strategies)
{
    struct mwt t;
    struct cidr ex;
    struct mwc_ip_strategy peer = {0}, sub = {.ipv6_subnet = 64},
                           d1 = {.depth = 1, .ipv6_subnet = 48},
                           exs = {.excluded = &ex, .nexcluded = 1, .ipv6_subnet = 64};
    ck_assert_int_eq(cidr_parse("9.9.9.9", &ex), 0);
    setup(&t, "    a: {addPrefix: {prefix: /a}}\n");
    ck_assert_str_eq(client_ip(&t, "10.0.0.1", "", NULL), "10.0.0.1");
    ck_assert_str_eq(client_ip(&t, "10.0.0.1", "", &peer), "10.0.0.1");
    ck_assert_str_eq(client_ip(&t, "2001:db8:1:2:3:4:5:6", "", &sub), "2001:db8:1:2::");
    ck_assert_str_eq(client_ip(&t, "::ffff:10.1.2.3", "", &sub), "10.1.2.3");
    ck_assert_str_eq(client_ip(&t, "10.0.0.1", "X-Forwarded-For: 2001:db8:aa:bb::1\r\n", &d1),
                     "2001:db8:aa::");
    ck_assert_str_eq(client_ip(&t, "10.0.0.1", "X-Forwarded-For:  5.5.5.5 \r\n", &d1), "5.5.5.5");
    ck_assert_str_eq(client_ip(&t, "10.0.0.1", "X-Forwarded-For: ::ffff:5.5.5.5\r\n", &d1),
                     "5.5.5.5");
    /* Traefik applies ipv6Subnet to the peer and depth strategies only. */
    ck_assert_str_eq(client_ip(&t, "10.0.0.1", "X-Forwarded-For: 2001:db8::7, 9.9.9.9\r\n", &exs),
                     "2001:db8::7");
    ck_assert_str_eq(client_ip(&t, "10.0.0.1", "X-Forwarded-For: 9.9.9.9\r\n", &exs), "(none)");
    ck_assert_str_eq(client_ip(&t, "10.0.0.1", "X-Forwarded-For:\r\n", &d1), "(none)");
    mwt_teardown(&t);
}
END_TEST

/* A peer the entry point does not trust with X-Forwarded-* (forwardedHeaders): Traefik deletes
 * its X-Forwarded-* and X-Real-Ip before any middleware runs, so a client talking to the proxy
 * directly cannot pick the address an ipStrategy sees, nor a header-keyed source. */
START_TEST(untrusted_peer_cannot_spoof_forwarded_for)
{
    struct mwt t;
    setup(&t, "    a: {ipAllowList: {sourceRange: ['198.51.100.7'], ipStrategy: {depth: 1}}}\n");
    t.untrusted = true;
    ck_assert_int_eq(status_from(&t, "1.1.1.1", "X-Forwarded-For: 198.51.100.7\r\n"), 403);
    ck_assert_int_eq(status_from(&t, "198.51.100.7", "X-Forwarded-For: 198.51.100.7\r\n"), 403);
    t.untrusted = false;
    ck_assert_int_eq(status_from(&t, "1.1.1.1", "X-Forwarded-For: 198.51.100.7\r\n"), 200);
    mwt_teardown(&t);
    setup(&t, "    a: {ipAllowList: {sourceRange: ['198.51.100.7'], "
              "ipStrategy: {excludedIPs: ['10.0.0.0/8']}}}\n");
    t.untrusted = true;
    ck_assert_int_eq(status_from(&t, "1.1.1.1", "X-Forwarded-For: 198.51.100.7, 10.0.0.1\r\n"),
                     403);
    mwt_teardown(&t);
    /* What middlewares read: no received X-Forwarded-*; X-Real-Ip, -Proto, -Host and -Port
     * are what Traefik's forwarded-headers step sets before the middlewares (the peer, our
     * scheme, the Host asked for, our port); X-Forwarded-For comes only at forwarding. */
    setup(&t, "    a: {addPrefix: {prefix: /a}}\n");
    t.untrusted = true;
    ck_assert_int_eq(mwt_request_from(&t, NULL,
                                      "GET / HTTP/1.1\r\nHost: h\r\nX-Real-Ip: 9.9.9.9\r\n"
                                      "X-Forwarded-For: 9.9.9.9\r\nX-Forwarded-Proto: https\r\n"
                                      "X-Forwarded-Host: evil\r\n\r\n",
                                      "1.1.1.1"),
                     MW_CONTINUE);
    ck_assert_ptr_null(mwt_req_field(&t, "X-Forwarded-For"));
    ck_assert_str_eq(mwt_req_field(&t, "x-forwarded-proto"), "http");
    ck_assert_str_eq(mwt_req_field(&t, "X-Forwarded-Host"), "h");
    ck_assert_str_eq(mwt_req_field(&t, "X-Forwarded-Port"), "80");
    ck_assert_str_eq(mwt_req_field(&t, "X-Real-Ip"), "1.1.1.1");
    mwt_end(&t);
    t.untrusted = false;
    ck_assert_int_eq(mwt_request_from(&t, NULL,
                                      "GET / HTTP/1.1\r\nHost: h\r\nX-Real-Ip: 9.9.9.9\r\n"
                                      "X-Forwarded-Proto: https\r\n\r\n",
                                      "1.1.1.1"),
                     MW_CONTINUE);
    ck_assert_str_eq(mwt_req_field(&t, "X-Real-Ip"), "9.9.9.9");
    ck_assert_str_eq(mwt_req_field(&t, "X-Forwarded-Proto"), "https");
    mwt_end(&t);
    ck_assert_int_eq(mwt_request_from(&t, NULL, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "1.1.1.1"),
                     MW_CONTINUE);
    ck_assert_str_eq(mwt_req_field(&t, "X-Real-Ip"), "1.1.1.1");
    mwt_teardown(&t);
}
END_TEST

START_TEST(compile_errors)
{
    struct mwt t;
    char out[8192];
    mwt_compile_errors(&t,
                       mwt_yaml(yaml, sizeof yaml, "[bad]",
                                "    bad:\n      ipAllowList:\n        sourceRange: ['10.0.0.0/8', "
                                "'10.0.0.300', '::1/129']\n"
                                "        rejectStatusCode: 99\n"
                                "        ipStrategy: {depth: -1, excludedIPs: ['nope']}\n"
                                "    empty: {ipAllowList: {sourceRange: []}}\n"
                                "    both: {ipAllowList: {sourceRange: ['::1'], "
                                "ipStrategy: {depth: 1, excludedIPs: ['1.1.1.1']}}}\n"),
                       out, sizeof out);
    ck_assert_msg(
        strstr(out,
               "dyn.yaml:9:7: http.middlewares.bad.ipAllowList.sourceRange[1]: \"10.0.0.300\" is "
               "not an IP address or CIDR range") != NULL,
        "%s", out);
    ck_assert_msg(strstr(out, "sourceRange[2]: \"::1/129\"") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "rejectStatusCode: 99 is not a final HTTP status") != NULL, "%s",
                  out);
    ck_assert_msg(strstr(out, "ipStrategy.depth: depth must not be negative") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "ipStrategy.excludedIPs[0]: \"nope\"") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "http.middlewares.empty.ipAllowList.sourceRange: sourceRange must "
                              "list at least one") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "both.ipAllowList.ipStrategy.excludedIPs: ignored") != NULL, "%s",
                  out);
    ck_assert_msg(strstr(out, "http.routers.r.middlewares[0]: middleware \"bad@test\" is "
                              "disabled by its own errors") != NULL,
                  "%s", out);
    diags_fini(&t.d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mw_ip_allow_list");
    TCase *tc = tcase_create("ip_allow_list");
    tcase_add_test(tc, by_peer_v4_v6_and_ranges);
    tcase_add_test(tc, reply_bytes_and_reject_status);
    tcase_add_test(tc, ip_white_list_alias);
    tcase_add_test(tc, depth);
    tcase_add_test(tc, excluded_ips);
    tcase_add_test(tc, client_ip_strategies);
    tcase_add_test(tc, untrusted_peer_cannot_spoof_forwarded_for);
    tcase_add_test(tc, compile_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
