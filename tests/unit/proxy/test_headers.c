/* Unit tests of node/proxy/headers.c: what the proxy sends upstream and downstream. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "node/base/cidr.h"
#include "node/proxy/headers.h"

static struct h1_header hdrs[64];

static void parse_req(const char *raw, struct h1_msg *m)
{
    struct h1_limits l;
    h1_limits_default(&l);
    ck_assert_int_gt(h1_parse_request(raw, strlen(raw), &l, hdrs, 64, m), 0);
}

static char *build(const char *raw, bool trusted, uint32_t *len)
{
    static struct h1_msg m;
    struct req_head_args a;
    parse_req(raw, &m);
    memset(&a, 0, sizeof a);
    a.msg = &m;
    a.target = "/x";
    a.target_len = 2;
    a.host = "a";
    a.host_len = 1;
    a.fwd_host = "a";
    a.fwd_host_len = 1;
    a.fwd_port = 80;
    a.client_ip = "10.1.2.3";
    a.node_id = "n1";
    a.via_id = "n1-0000beef";
    a.trusted = trusted;
    a.zero_length = m.body == H1_BODY_NONE && m.method == H1_M_POST;
    char *out = headers_build_request(&a, len);
    ck_assert_ptr_nonnull(out);
    out = realloc(out, *len + 1);
    out[*len] = '\0';
    return out;
}

START_TEST(test_hop_by_hop_removed)
{
    uint32_t len;
    char *h = build("GET /x HTTP/1.1\r\nHost: a\r\nConnection: close, X-Secret\r\n"
                    "X-Secret: 1\r\nKeep-Alive: 5\r\nProxy-Connection: x\r\nTE: trailers\r\n"
                    "Upgrade: h2c\r\nX-Keep: yes\r\nX_Under: 1\r\n\r\n",
                    false, &len);
    ck_assert_ptr_null(strstr(h, "X-Secret"));
    ck_assert_ptr_null(strstr(h, "Keep-Alive"));
    ck_assert_ptr_null(strstr(h, "Proxy-Connection"));
    ck_assert_ptr_null(strstr(h, "TE:"));
    ck_assert_ptr_null(strstr(h, "Upgrade"));
    ck_assert_ptr_null(strstr(h, "Connection"));
    ck_assert_ptr_null(strstr(h, "X_Under"));
    ck_assert_ptr_nonnull(strstr(h, "\r\nX-Keep: yes\r\n"));
    ck_assert(strncmp(h, "GET /x HTTP/1.1\r\nHost: a\r\n", 26) == 0);
    ck_assert(len > 4 && memcmp(h + len - 4, "\r\n\r\n", 4) == 0);
    free(h);
}
END_TEST

START_TEST(test_forwarded_untrusted_replaced)
{
    uint32_t len;
    char *h = build("GET /x HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 6.6.6.6\r\n"
                    "X-Real-Ip: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n\r\n",
                    false, &len);
    ck_assert_ptr_null(strstr(h, "6.6.6.6"));
    ck_assert_ptr_nonnull(strstr(h, "\r\nX-Forwarded-For: 10.1.2.3\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "\r\nX-Real-Ip: 10.1.2.3\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "\r\nX-Forwarded-Proto: http\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "\r\nX-Forwarded-Host: a\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "\r\nX-Forwarded-Port: 80\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "\r\nX-Forwarded-Server: n1\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "\r\nVia: 1.1 n1-0000beef\r\n"));
    free(h);
}
END_TEST

START_TEST(test_forwarded_trusted_appended)
{
    uint32_t len;
    char *h = build("GET /x HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1\r\n"
                    "X-Forwarded-Proto: https\r\n\r\n",
                    true, &len);
    ck_assert_ptr_nonnull(strstr(h, "\r\nX-Forwarded-For: 1.1.1.1, 10.1.2.3\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "\r\nX-Forwarded-Proto: https\r\n"));
    ck_assert_ptr_null(strstr(h, "X-Forwarded-Proto: http\r\n"));
    free(h);
}
END_TEST

START_TEST(test_framing_reserialised)
{
    uint32_t len;
    char *h = build("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", false, &len);
    ck_assert_ptr_nonnull(strstr(h, "\r\nContent-Length: 5\r\n"));
    ck_assert_ptr_null(strstr(h, "5, 5"));
    free(h);
    h = build("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n", false, &len);
    ck_assert_ptr_nonnull(strstr(h, "\r\nTransfer-Encoding: chunked\r\n"));
    ck_assert_ptr_null(strstr(h, "CHUNKED"));
    free(h);
    h = build("POST /x HTTP/1.1\r\nHost: a\r\n\r\n", false, &len);
    ck_assert_ptr_nonnull(strstr(h, "\r\nContent-Length: 0\r\n"));
    free(h);
}
END_TEST

START_TEST(test_response_head)
{
    const char *raw = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive, X-H\r\n"
                      "X-H: 1\r\nServer: b\r\n\r\n";
    struct h1_limits l;
    struct h1_msg m;
    struct resp_head_args a;
    uint32_t len;
    h1_limits_default(&l);
    ck_assert_int_gt(h1_parse_response(raw, strlen(raw), &l, H1_M_GET, hdrs, 64, &m), 0);
    memset(&a, 0, sizeof a);
    a.msg = &m;
    a.mode = OUT_LENGTH;
    a.client_minor = 1;
    a.close = true;
    char *h = headers_build_response(&a, &len);
    h = realloc(h, len + 1);
    h[len] = '\0';
    ck_assert_str_eq(h, "HTTP/1.1 200 OK\r\nServer: b\r\nContent-Length: 3\r\n"
                        "Connection: close\r\n\r\n");
    free(h);
}
END_TEST

START_TEST(test_trusted_cidr)
{
    struct proxy_entrypoint ep;
    struct cidr c;
    uint8_t a[4] = {10, 9, 8, 7}, b[4] = {11, 0, 0, 1};
    memset(&ep, 0, sizeof ep);
    ck_assert_int_eq(cidr_parse("10.0.0.0/8", &c), 0);
    ep.trusted_ips = &c;
    ep.n_trusted_ips = 1;
    ck_assert(headers_peer_trusted(&ep, AF_INET, a));
    ck_assert(!headers_peer_trusted(&ep, AF_INET, b));
    ep.forwarded_insecure = true;
    ck_assert(headers_peer_trusted(&ep, AF_INET, b));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("proxy_headers");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    tcase_add_test(tc, test_hop_by_hop_removed);
    tcase_add_test(tc, test_forwarded_untrusted_replaced);
    tcase_add_test(tc, test_forwarded_trusted_appended);
    tcase_add_test(tc, test_framing_reserialised);
    tcase_add_test(tc, test_response_head);
    tcase_add_test(tc, test_trusted_cidr);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
