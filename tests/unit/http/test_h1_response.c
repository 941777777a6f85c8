/* Unit tests of the HTTP/1.1 response-head parser: bad-input.md rows H (the parser's share). */
#include "node/http/h1_parse.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static struct h1_header hdrs[64];
static struct h1_msg msg;
static struct h1_limits lim;

static void setup(void)
{
    h1_limits_default(&lim);
    memset(&msg, 0, sizeof msg);
}

static int respn(const char *s, size_t n, enum h1_method m)
{
    return h1_parse_response(s, n, &lim, m, hdrs, 64, &msg);
}

#define RESP(lit) respn((lit), sizeof(lit) - 1, H1_M_GET)
#define RESP_TO(lit, m) respn((lit), sizeof(lit) - 1, (m))

/* Every refusal of a backend's response is a 502 for the client, with a reason for the log. */
#define BAD_GATEWAY(rc_expr)                                                                       \
    do {                                                                                           \
        int rc_ = (rc_expr);                                                                       \
        ck_assert_int_eq(rc_, -502);                                                               \
        ck_assert_ptr_nonnull(msg.error);                                                          \
    } while (0)

static void accept_whole(const char *s, size_t n, enum h1_method m)
{
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(respn(s, i, m) == 0, "prefix %zu of %zu: %s", i, n, msg.error);
    }
    ck_assert_int_eq(respn(s, n, m), (int)n);
    ck_assert_ptr_null(msg.error);
}
#define ACCEPT(lit) accept_whole((lit), sizeof(lit) - 1, H1_M_GET)
#define ACCEPT_TO(lit, m) accept_whole((lit), sizeof(lit) - 1, (m))

START_TEST(test_status_line)
{
    ACCEPT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
    ck_assert_int_eq(msg.status, 200);
    ck_assert_uint_eq(msg.reason_len, 2);
    ck_assert_mem_eq(msg.reason, "OK", 2);
    ck_assert_int_eq(msg.version_minor, 1);
    ck_assert_int_eq(msg.body, H1_BODY_LENGTH);
    ck_assert_uint_eq(msg.content_length, 5);
    ACCEPT("HTTP/1.1 404 Not \tFound\xff\r\nContent-Length: 0\r\n\r\n");
    ck_assert_uint_eq(msg.reason_len, 11);
    ck_assert_int_eq(msg.body, H1_BODY_NONE);
    ACCEPT("HTTP/1.1 200 \r\n\r\n");
    ck_assert_uint_eq(msg.reason_len, 0);
    /* a missing "SP reason" is tolerated: it carries no framing */
    ACCEPT("HTTP/1.1 200\r\n\r\n");
    ck_assert_int_eq(msg.status, 200);
    ACCEPT("HTTP/1.2 999 X\n\n");
    ck_assert_int_eq(msg.version_minor, 1);
}
END_TEST

START_TEST(test_status_line_invalid)
{
    BAD_GATEWAY(RESP("HTTP/1.1 20 OK\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.1 2000 OK\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.1 099 X\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.1  200 OK\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/2.0 200 OK\r\n\r\n"));
    BAD_GATEWAY(RESP("http/1.1 200 OK\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.1 200 O\rK\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.1 200 O\x00K\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.1\r\n\r\n"));
    BAD_GATEWAY(RESP("\r\nHTTP/1.1 200 OK\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.1 2x0 OK\r\n\r\n"));
}
END_TEST

START_TEST(test_body_eof_and_chunked)
{
    ACCEPT("HTTP/1.1 200 OK\r\n\r\n");
    ck_assert_int_eq(msg.body, H1_BODY_EOF);
    ACCEPT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    ck_assert_int_eq(msg.body, H1_BODY_CHUNKED);
    ck_assert_uint_eq(msg.headers[0].flags, H1_HF_FRAMING | H1_HF_HOPBYHOP);
    /* we are strict: any coding but exactly chunked is refused rather than read to EOF */
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: foo\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"));
}
END_TEST

START_TEST(test_connection_flags)
{
    ACCEPT("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n");
    ck_assert_uint_eq(msg.flags, H1_F_CONN_CLOSE);
    ACCEPT("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n");
    ck_assert_uint_eq(msg.flags, H1_F_CONN_KEEPALIVE);
    ACCEPT("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n");
    ck_assert_uint_eq(msg.flags, H1_F_CONN_CLOSE);
    ACCEPT("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    ck_assert_uint_eq(msg.flags, H1_F_CONN_UPGRADE | H1_F_HAS_UPGRADE);
    ck_assert_int_eq(msg.body, H1_BODY_NONE);
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 1\r\n\r\n"));
}
END_TEST

START_TEST(test_pipelined_responses)
{
    static const char two[] = "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n\r\n";
    ck_assert_int_eq(RESP(two), 27);
    ck_assert_int_eq(msg.status, 204);
    ck_assert_int_eq(respn(two + 27, sizeof two - 28, H1_M_GET), 19);
    ck_assert_int_eq(msg.status, 200);
}
END_TEST

START_TEST(test_H1_cl_and_te)
{
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.1 204 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"));
}
END_TEST

START_TEST(test_H2_duplicate_or_invalid_cl)
{
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\nContent-Length: 5a\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n"));
    ACCEPT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n");
    ck_assert_uint_eq(msg.content_length, 5);
}
END_TEST

START_TEST(test_H3_obs_fold)
{
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\n\tX: a\r\n\r\n"));
}
END_TEST

START_TEST(test_H4_space_before_colon)
{
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\nServer : x\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n"));
}
END_TEST

START_TEST(test_H5_no_body_after_head_204_304)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK";
    ck_assert_int_eq(RESP_TO(head, H1_M_HEAD), 38);
    ck_assert_int_eq(msg.body, H1_BODY_NONE);
    ck_assert_uint_eq(msg.content_length, 5);
    ACCEPT_TO("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", H1_M_HEAD);
    ck_assert_int_eq(msg.body, H1_BODY_NONE);
    ACCEPT("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n");
    ck_assert_int_eq(msg.body, H1_BODY_NONE);
    ACCEPT("HTTP/1.1 304 Not Modified\r\nContent-Length: 500\r\n\r\n");
    ck_assert_int_eq(msg.body, H1_BODY_NONE);
    ACCEPT("HTTP/1.1 304 Not Modified\r\n\r\n");
    ck_assert_int_eq(msg.body, H1_BODY_NONE);
    ACCEPT("HTTP/1.1 205 Reset\r\n\r\n");
    ck_assert_int_eq(msg.body, H1_BODY_EOF);
}
END_TEST

START_TEST(test_H8_1xx_have_no_body)
{
    ACCEPT("HTTP/1.1 100 Continue\r\n\r\n");
    ck_assert_int_eq(msg.body, H1_BODY_NONE);
    ACCEPT("HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n");
    ck_assert_int_eq(msg.body, H1_BODY_NONE);
    ck_assert_int_eq(msg.status, 103);
    ACCEPT("HTTP/1.1 101 Switching Protocols\r\n\r\n");
    ck_assert_int_eq(msg.body, H1_BODY_NONE);
}
END_TEST

START_TEST(test_H9_ctl_in_field)
{
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\nX: a\rSet-Cookie: x=1\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\nX: a\x00"
                     "b\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\nX\x00: a\r\n\r\n"));
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\nX: a\r\r\n\r\n"));
}
END_TEST

START_TEST(test_H10_chunked_is_reported_for_dechunking)
{
    /* The parser reports chunked; turning it into EOF or CL for a 1.0 client is the proxy's. */
    ACCEPT("HTTP/1.1 200 OK\r\nTransfer-Encoding: CHUNKED\r\n\r\n");
    ck_assert_int_eq(msg.body, H1_BODY_CHUNKED);
}
END_TEST

START_TEST(test_response_limits_are_502)
{
    lim.max_head = 64;
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\nX-Filler: 01234567890123456789012345678901234567890\r\n"));
    h1_limits_default(&lim);
    lim.max_headers = 1;
    BAD_GATEWAY(RESP("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n"));
    h1_limits_default(&lim);
    lim.max_request_line = 16;
    BAD_GATEWAY(RESP("HTTP/1.1 200 OKOKOKOKOKOK\r\n\r\n"));
}
END_TEST

START_TEST(test_underscore_and_host_flags)
{
    ACCEPT("HTTP/1.1 200 OK\r\nX_Y: 1\r\nContent-Length: 0\r\n\r\n");
    ck_assert_uint_eq(msg.headers[0].flags, H1_HF_UNDERSCORE);
    ck_assert_ptr_eq(h1_find(&msg, "content-length"), &msg.headers[1]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("h1_response");
    TCase *tc = tcase_create("response");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_status_line);
    tcase_add_test(tc, test_status_line_invalid);
    tcase_add_test(tc, test_body_eof_and_chunked);
    tcase_add_test(tc, test_connection_flags);
    tcase_add_test(tc, test_pipelined_responses);
    tcase_add_test(tc, test_H1_cl_and_te);
    tcase_add_test(tc, test_H2_duplicate_or_invalid_cl);
    tcase_add_test(tc, test_H3_obs_fold);
    tcase_add_test(tc, test_H4_space_before_colon);
    tcase_add_test(tc, test_H5_no_body_after_head_204_304);
    tcase_add_test(tc, test_H8_1xx_have_no_body);
    tcase_add_test(tc, test_H9_ctl_in_field);
    tcase_add_test(tc, test_H10_chunked_is_reported_for_dechunking);
    tcase_add_test(tc, test_response_limits_are_502);
    tcase_add_test(tc, test_underscore_and_host_flags);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
