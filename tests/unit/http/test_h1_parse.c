/* Unit tests of the HTTP/1.1 request-head parser: bad-input.md rows A, C, D, E, F1, G1-G3. */
#include "node/http/h1_parse.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every case starts from this prefix (bad-input.md conventions). */
#define P "POST / HTTP/1.1\r\nHost: a\r\n"

static struct h1_header hdrs[128];
static struct h1_msg msg;
static struct h1_limits lim;

static void setup(void)
{
    h1_limits_default(&lim);
    memset(&msg, 0, sizeof msg);
}

static int reqn(const char *s, size_t n)
{
    return h1_parse_request(s, n, &lim, hdrs, 128, &msg);
}

/* Literals may hold NUL bytes, so their length comes from sizeof, not strlen. */
#define REQ(lit) reqn((lit), sizeof(lit) - 1)

#define REFUSED(rc_expr, status)                                                                   \
    do {                                                                                           \
        int rc_ = (rc_expr);                                                                       \
        ck_assert_int_eq(rc_, -(status));                                                          \
        ck_assert_ptr_nonnull(msg.error);                                                          \
    } while (0)

/* A complete head: the whole literal is the head, and no proper prefix of it is complete. */
static void accept_whole(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(reqn(s, i) == 0, "prefix %zu of %zu not incomplete: %s", i, n, msg.error);
    }
    ck_assert_int_eq(reqn(s, n), (int)n);
    ck_assert_ptr_null(msg.error);
    ck_assert_uint_eq(msg.head_len, n);
}
#define ACCEPT(lit) accept_whole((lit), sizeof(lit) - 1)

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    ck_assert_ptr_nonnull(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* Builds "<a><n times c><b>" into a fresh buffer. */
static char *build(const char *a, char c, size_t n, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + n + lb + 1);
    ck_assert_ptr_nonnull(s);
    memcpy(s, a, la);
    memset(s + la, c, n);
    memcpy(s + la + n, b, lb + 1);
    return s;
}

/* ---- positive cases ---- */

START_TEST(test_simple_get)
{
    ACCEPT("GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n");
    ck_assert_int_eq(msg.method, H1_M_GET);
    ck_assert_uint_eq(msg.method_len, 3);
    ck_assert_int_eq(msg.target_form, H1_T_ORIGIN);
    ck_assert_uint_eq(msg.target_len, 15);
    ck_assert_mem_eq(msg.target, "/index.html?q=1", 15);
    ck_assert_int_eq(msg.version_minor, 1);
    ck_assert_uint_eq(msg.nheaders, 2);
    ck_assert_uint_eq(msg.host_len, 11);
    ck_assert_mem_eq(msg.host, "example.com", 11);
    ck_assert_int_eq(msg.body, H1_BODY_NONE);
    ck_assert_uint_eq(msg.flags, 0);
    ck_assert_uint_eq(msg.headers[0].flags, H1_HF_HOST);
    ck_assert_uint_eq(msg.headers[1].value_len, 1);
    ck_assert_ptr_eq(h1_find(&msg, "user-AGENT"), &msg.headers[1]);
    ck_assert_ptr_null(h1_find(&msg, "Accept"));
}
END_TEST

START_TEST(test_methods)
{
    static const struct {
        const char *m;
        enum h1_method id;
    } t[] = {{"GET", H1_M_GET},     {"HEAD", H1_M_HEAD},     {"POST", H1_M_POST},
             {"PUT", H1_M_PUT},     {"DELETE", H1_M_DELETE}, {"OPTIONS", H1_M_OPTIONS},
             {"TRACE", H1_M_TRACE}, {"PATCH", H1_M_PATCH},   {"PROPFIND", H1_M_OTHER},
             {"get", H1_M_OTHER}};
    char buf[128];
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int n = snprintf(buf, sizeof buf, "%s / HTTP/1.1\r\nHost: a\r\n\r\n", t[i].m);
        ck_assert_int_eq(reqn(buf, (size_t)n), n);
        ck_assert_int_eq(msg.method, t[i].id);
    }
}
END_TEST

START_TEST(test_keepalive_flags)
{
    ACCEPT("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    ck_assert_uint_eq(msg.flags & (H1_F_CONN_CLOSE | H1_F_CONN_KEEPALIVE), 0);
    ACCEPT("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    ck_assert_uint_eq(msg.flags & H1_F_CONN_CLOSE, H1_F_CONN_CLOSE);
    ck_assert_uint_eq(msg.headers[1].flags, H1_HF_HOPBYHOP);
    /* HTTP/1.0: close unless "Connection: keep-alive" */
    ACCEPT("GET / HTTP/1.0\r\n\r\n");
    ck_assert_uint_eq(msg.flags, H1_F_CONN_CLOSE);
    ck_assert_int_eq(msg.version_minor, 0);
    ck_assert_ptr_null(msg.host);
    ACCEPT("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    ck_assert_uint_eq(msg.flags, H1_F_CONN_KEEPALIVE);
    ACCEPT("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n");
    ck_assert_uint_eq(msg.flags & H1_F_CONN_CLOSE, H1_F_CONN_CLOSE);
    ACCEPT("GET / HTTP/1.1\r\nHost: a\r\nConnection: ,, keep-alive ,\r\n\r\n");
    ck_assert_uint_eq(msg.flags, H1_F_CONN_KEEPALIVE);
}
END_TEST

START_TEST(test_pipelined_second_request)
{
    static const char two[] =
        "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: b\r\n\r\n";
    int n = REQ(two);
    ck_assert_int_eq(n, 28);
    ck_assert_mem_eq(msg.target, "/1", 2);
    ck_assert_int_eq(reqn(two + n, sizeof two - 1 - (size_t)n), 28);
    ck_assert_mem_eq(msg.target, "/2", 2);
    ck_assert_mem_eq(msg.host, "b", 1);
}
END_TEST

START_TEST(test_value_ows_trimmed)
{
    ACCEPT("GET / HTTP/1.1\r\nHost:\t a \t\r\nX:\r\nY:   \r\n\r\n");
    ck_assert_uint_eq(msg.headers[0].value_len, 1);
    ck_assert_mem_eq(msg.headers[0].value, "a", 1);
    ck_assert_uint_eq(msg.headers[1].value_len, 0);
    ck_assert_uint_eq(msg.headers[2].value_len, 0);
}
END_TEST

START_TEST(test_chunked_request)
{
    ACCEPT(P "Transfer-Encoding: chunked\r\n\r\n");
    ck_assert_int_eq(msg.body, H1_BODY_CHUNKED);
    ck_assert_uint_eq(msg.headers[1].flags, H1_HF_FRAMING | H1_HF_HOPBYHOP);
}
END_TEST

START_TEST(test_content_length_request)
{
    ACCEPT(P "Content-Length: 42\r\n\r\n");
    ck_assert_int_eq(msg.body, H1_BODY_LENGTH);
    ck_assert_uint_eq(msg.content_length, 42);
    ck_assert_uint_eq(msg.headers[1].flags, H1_HF_FRAMING);
    ACCEPT(P "Content-Length: 0\r\n\r\n");
    ck_assert_int_eq(msg.body, H1_BODY_NONE);
}
END_TEST

START_TEST(test_incomplete_cr_at_end)
{
    ck_assert_int_eq(REQ("GET / HTTP/1.1\r"), 0);
    ck_assert_int_eq(REQ("GET / HTTP/1.1\r\nHost: a\r\n\r"), 0);
    ck_assert_int_eq(REQ("\r"), 0);
    ck_assert_int_eq(REQ(""), 0);
}
END_TEST

/* ---- A. Message framing ---- */

START_TEST(test_A1_cl_and_te)
{
    REFUSED(REQ(P "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG"), 400);
    REFUSED(REQ(P "Transfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\nG"), 400);
}
END_TEST

START_TEST(test_A2_chunked_not_last)
{
    REFUSED(REQ(P "Transfer-Encoding: chunked, identity\r\n\r\n"), 400);
    REFUSED(REQ(P "Transfer-Encoding: gzip\r\n\r\n"), 400);
    REFUSED(REQ(P "Transfer-Encoding: gzip, chunked\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_A3_unknown_coding_never_falls_back_to_cl)
{
    REFUSED(REQ(P "Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n\r\nhello"), 501);
    REFUSED(REQ(P "Content-Length: 5\r\nTransfer-Encoding: xchunked\r\n\r\nhello"), 501);
}
END_TEST

START_TEST(test_A4_te_whitespace_mutations)
{
    REFUSED(REQ(P "Transfer-Encoding:\x0b"
                  "chunked\r\n\r\n"),
            400);
    REFUSED(REQ(P "Transfer-Encoding:\x0c"
                  "chunked\r\n\r\n"),
            400);
    REFUSED(REQ(P "Transfer-Encoding : chunked\r\n\r\n"), 400);
    REFUSED(REQ("POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: a\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_A5_te_lines_combine)
{
    REFUSED(REQ(P "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_A6_chunked_case_insensitive)
{
    ACCEPT(P "Transfer-Encoding: CHUNKED\r\n\r\n");
    ck_assert_int_eq(msg.body, H1_BODY_CHUNKED);
    ACCEPT(P "Transfer-Encoding: ChUnKeD\r\n\r\n");
    ck_assert_int_eq(msg.body, H1_BODY_CHUNKED);
}
END_TEST

START_TEST(test_A7_chunked_twice)
{
    REFUSED(REQ(P "Transfer-Encoding: chunked, chunked\r\n\r\n"), 400);
    REFUSED(REQ(P "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_A8_chunked_parameter)
{
    REFUSED(REQ(P "Transfer-Encoding: chunked;ext=1\r\n\r\n"), 400);
    REFUSED(REQ(P "Transfer-Encoding: chunked ; ext=1\r\n\r\n"), 400);
    REFUSED(REQ(P "Transfer-Encoding:\r\n\r\n"), 400);
    REFUSED(REQ(P "Transfer-Encoding: chunked,\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_A9_differing_cl)
{
    REFUSED(REQ(P "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"), 400);
    REFUSED(REQ(P "Content-Length: 5, 6\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_A10_identical_cl_list)
{
    ACCEPT(P "Content-Length: 5, 5\r\n\r\n");
    ck_assert_int_eq(msg.body, H1_BODY_LENGTH);
    ck_assert_uint_eq(msg.content_length, 5);
    ACCEPT(P "Content-Length: 5\r\nContent-Length: 5\r\n\r\n");
    ck_assert_uint_eq(msg.content_length, 5);
}
END_TEST

START_TEST(test_A11_cl_not_digits)
{
    static const char *const bad[] = {"+5", "-1", "0x5", "5.0", "5 a", "", "5,", ", 5", "5,,5"};
    char buf[128];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int n = snprintf(buf, sizeof buf, P "Content-Length: %s\r\n\r\n", bad[i]);
        ck_assert_msg(reqn(buf, (size_t)n) == -400, "accepted CL \"%s\"", bad[i]);
        ck_assert_ptr_nonnull(msg.error);
    }
}
END_TEST

START_TEST(test_A12_cl_overflow)
{
    REFUSED(REQ(P "Content-Length: 99999999999999999999999\r\n\r\n"), 400);
    REFUSED(REQ(P "Content-Length: 9223372036854775808\r\n\r\n"), 400);
    ACCEPT(P "Content-Length: 9223372036854775807\r\n\r\n");
    ck_assert_uint_eq(msg.content_length, 9223372036854775807ULL);
    ACCEPT(P "Content-Length: 000000000000000000000000005\r\n\r\n");
    ck_assert_uint_eq(msg.content_length, 5);
}
END_TEST

START_TEST(test_A13_te_on_http10)
{
    REFUSED(REQ("POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5"
                "\r\n\r\nhello"),
            400);
    REFUSED(REQ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_A14_get_body_is_not_a_request)
{
    static const char s[] = "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 33\r\n\r\n"
                            "GET /admin HTTP/1.1\r\nHost: a\r\n\r\n";
    /* The head ends at the first empty line; what follows is 33 bytes of body (32 here, so
     * the proxy waits for one more byte), never a second request. */
    ck_assert_int_eq(REQ(s), 47);
    ck_assert_int_eq(msg.body, H1_BODY_LENGTH);
    ck_assert_uint_eq(msg.content_length, 33);
}
END_TEST

START_TEST(test_A15_post_without_length)
{
    ACCEPT("POST / HTTP/1.1\r\nHost: a\r\n\r\n");
    ck_assert_int_eq(msg.body, H1_BODY_NONE);
    ck_assert_uint_eq(msg.content_length, 0);
}
END_TEST

/* ---- C. Request line ---- */

START_TEST(test_C1_request_line_whitespace)
{
    REFUSED(REQ("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GET\t/\tHTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GET /\x0bHTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GET /  HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ(" GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_C2_method_token)
{
    REFUSED(REQ("G@T / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GE(T / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    ACCEPT("FOO / HTTP/1.1\r\nHost: a\r\n\r\n");
    ck_assert_int_eq(msg.method, H1_M_OTHER);
    ck_assert_mem_eq(msg.method_str, "FOO", 3);
}
END_TEST

START_TEST(test_C3_long_method)
{
    char *s = build("", 'M', 1024, " / HTTP/1.1\r\nHost: a\r\n\r\n");
    REFUSED(reqn(s, strlen(s)), 501);
    free(s);
    s = build("", 'M', 32, " / HTTP/1.1\r\nHost: a\r\n\r\n");
    ck_assert_int_eq(reqn(s, strlen(s)), (int)strlen(s));
    free(s);
    s = build("", 'M', 33, " / HTTP/1.1\r\nHost: a\r\n\r\n");
    REFUSED(reqn(s, strlen(s)), 501);
    free(s);
    /* Without a line end yet: refused as soon as the line limit is passed. */
    lim.max_request_line = 64;
    s = repeat('M', 65);
    REFUSED(reqn(s, 65), 501);
    ck_assert_int_eq(reqn(s, 64), 0);
    free(s);
}
END_TEST

START_TEST(test_C4_long_target)
{
    /* "GET " + target + " HTTP/1.1" = 13 + target bytes; 8192 is the default line limit. */
    char *s = build("GET /", 'a', 8192 - 14, " HTTP/1.1\r\nHost: a\r\n\r\n");
    ck_assert_int_eq(reqn(s, strlen(s)), (int)strlen(s));
    free(s);
    s = build("GET /", 'a', 8192 - 13, " HTTP/1.1\r\nHost: a\r\n\r\n");
    REFUSED(reqn(s, strlen(s)), 414);
    free(s);
    s = build("GET /", 'a', 9000, "");
    REFUSED(reqn(s, strlen(s)), 414);
    free(s);
}
END_TEST

START_TEST(test_C5_versions)
{
    ACCEPT("GET / HTTP/1.2\r\nHost: a\r\n\r\n");
    ck_assert_int_eq(msg.version_minor, 1);
    ACCEPT("GET / HTTP/1.9\r\nHost: a\r\n\r\n");
    ck_assert_int_eq(msg.version_minor, 1);
    REFUSED(REQ("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
    REFUSED(REQ("GET / HTTP/0.9\r\nHost: a\r\n\r\n"), 505);
    REFUSED(REQ("GET / http/1.1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GET / HTTP/1.10\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GET / HTTP/1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GET / HTTP/11.1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GET / HTTPS/1.1\r\nHost: a\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_C6_http09)
{
    REFUSED(REQ("GET /\r\n\r\n"), 400);
    REFUSED(REQ("GET /\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GET\r\n\r\n"), 400);
    REFUSED(REQ("GET / \r\n\r\n"), 400);
}
END_TEST

START_TEST(test_C7_target_bytes)
{
    REFUSED(REQ("GET /a\x00"
                "b HTTP/1.1\r\nHost: a\r\n\r\n"),
            400);
    REFUSED(REQ("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GET /a% HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_C8_leading_empty_lines)
{
    ACCEPT("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    ck_assert_mem_eq(msg.method_str, "GET", 3);
    ACCEPT("\n\r\n\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    REFUSED(REQ("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("\r\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_C9_absolute_form)
{
    ACCEPT("GET http://b/x?y HTTP/1.1\r\nHost: a\r\n\r\n");
    ck_assert_int_eq(msg.target_form, H1_T_ABSOLUTE);
    ck_assert_uint_eq(msg.abs_authority_len, 1);
    ck_assert_mem_eq(msg.abs_authority, "b", 1);
    ck_assert_uint_eq(msg.abs_path_len, 4);
    ck_assert_mem_eq(msg.abs_path, "/x?y", 4);
    ck_assert_mem_eq(msg.host, "a", 1);
    ACCEPT("GET HTTPS://b.example:8443 HTTP/1.1\r\nHost: a\r\n\r\n");
    ck_assert_mem_eq(msg.abs_authority, "b.example:8443", 14);
    ck_assert_uint_eq(msg.abs_path_len, 0);
    ACCEPT("GET http://[::1]:80?q HTTP/1.1\r\nHost: a\r\n\r\n");
    ck_assert_mem_eq(msg.abs_authority, "[::1]:80", 8);
    ck_assert_mem_eq(msg.abs_path, "?q", 2);
    REFUSED(REQ("GET http://u@b/x HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GET http://u:p@b/x HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GET ftp://b/x HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GET http://b:99999/ HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GET http:/b/x HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GET index.html HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_C10_asterisk_and_connect)
{
    ACCEPT("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
    ck_assert_int_eq(msg.target_form, H1_T_ASTERISK);
    REFUSED(REQ("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"), 501);
}
END_TEST

START_TEST(test_C11_fragment)
{
    REFUSED(REQ("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GET http://b/a#f HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}
END_TEST

/* ---- D. Field syntax ---- */

START_TEST(test_D1_space_before_colon)
{
    REFUSED(REQ("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400);
    REFUSED(REQ(P "Content-Length : 5\r\n\r\n"), 400);
    REFUSED(REQ(P "Content-Length\t: 5\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_D2_obs_fold)
{
    REFUSED(REQ(P "X: a\r\n b\r\n\r\n"), 400);
    REFUSED(REQ(P "X: a\r\n\tb\r\n\r\n"), 400);
    REFUSED(REQ(P "Transfer-Encoding:\r\n chunked\r\n\r\n"), 400);
    REFUSED(REQ(P "Content-Length: 5\r\n 5\r\n\r\n"), 400);
    REFUSED(REQ("GET / HTTP/1.1\r\nHost: a\r\n .b\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_D3_whitespace_led_first_field)
{
    REFUSED(REQ("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), 400);
    REFUSED(REQ("GET / HTTP/1.1\r\n\tHost: a\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_D4_no_colon)
{
    REFUSED(REQ(P "Foo\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_D5_empty_name)
{
    REFUSED(REQ(P ": x\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_D6_name_not_token)
{
    REFUSED(REQ(P "Fo o: x\r\n\r\n"), 400);
    REFUSED(REQ(P "Foo@: x\r\n\r\n"), 400);
    REFUSED(REQ(P "Fo\x00o: x\r\n\r\n"), 400);
    REFUSED(REQ(P "F\xc3\xa9o: x\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_D7_ctl_in_value)
{
    REFUSED(REQ(P "X: a\rb\r\n\r\n"), 400);
    REFUSED(REQ(P "X: a\x00"
                  "b\r\n\r\n"),
            400);
    REFUSED(REQ(P "X: a\x01"
                  "b\r\n\r\n"),
            400);
    REFUSED(REQ(P "X: a\x7f\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_D8_lf_only)
{
    ACCEPT("GET / HTTP/1.1\nHost: a\n\n");
    ck_assert_mem_eq(msg.host, "a", 1);
    ACCEPT("GET / HTTP/1.1\r\nHost: a\nX: y\r\n\n");
    ck_assert_uint_eq(msg.nheaders, 2);
    ACCEPT("GET / HTTP/1.1\nHost: a\n\r\n");
}
END_TEST

START_TEST(test_D9_bare_cr)
{
    REFUSED(REQ("GET / HTTP/1.1\r\nHost: a\rX-Admin: 1\r\n\r\n"), 400);
    REFUSED(REQ("GET / HTTP/1.1\rHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n\r\n"), 400);
    REFUSED(REQ("GET / HTTP/1.1\r\nHost: a\r\nX\r: 1\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_D10_underscore_names)
{
    ACCEPT(P "Content_Length: 5\r\nTransfer_Encoding: chunked\r\nX_Forwarded_For: 1.2.3.4\r\n"
             "\r\n");
    ck_assert_int_eq(msg.body, H1_BODY_NONE);
    ck_assert_uint_eq(msg.headers[1].flags, H1_HF_UNDERSCORE);
    ck_assert_uint_eq(msg.headers[2].flags, H1_HF_UNDERSCORE);
    ck_assert_uint_eq(msg.headers[3].flags, H1_HF_UNDERSCORE);
}
END_TEST

START_TEST(test_D11_cl_ows)
{
    ACCEPT(P "Content-Length:  5 \r\n\r\n");
    ck_assert_uint_eq(msg.content_length, 5);
    ACCEPT(P "Content-Length:\t5\t\r\n\r\n");
    ck_assert_uint_eq(msg.content_length, 5);
}
END_TEST

START_TEST(test_D12_obs_text)
{
    ACCEPT(P "X: caf\xe9\r\n\r\n");
    ck_assert_uint_eq(msg.headers[1].value_len, 4);
    ck_assert_mem_eq(msg.headers[1].value, "caf\xe9", 4);
}
END_TEST

/* ---- E. Host ---- */

START_TEST(test_E1_missing_host)
{
    REFUSED(REQ("GET / HTTP/1.1\r\n\r\n"), 400);
    REFUSED(REQ("GET http://b/ HTTP/1.1\r\n\r\n"), 400);
    ACCEPT("GET / HTTP/1.0\r\n\r\n");
}
END_TEST

START_TEST(test_E2_two_hosts)
{
    REFUSED(REQ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
    REFUSED(REQ("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_E3_invalid_host)
{
    static const char *const bad[] = {"a b",    "a/b",    "a@b",  "a:80:80",  "[::1",    "a,b",
                                      "a:",     ":80",    "a:x",  "a:123456", "a:65536", "[]",
                                      "[::1]x", "[v1.x]", "a%00", "a%zz",     "a\\b"};
    char buf[128];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int n = snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", bad[i]);
        ck_assert_msg(reqn(buf, (size_t)n) == -400, "accepted Host \"%s\"", bad[i]);
    }
    REFUSED(REQ("GET / HTTP/1.1\r\nHost: a\x00\r\n\r\n"), 400);
    REFUSED(REQ("GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n"), 400);
    static const char *const good[] = {
        "a",        "a:80", "a:65535", "[::1]", "[::1]:8080", "10.0.0.1:1", "xn--bcher-kva.example",
        "a_b.c-d~", "%41b"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int n = snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", good[i]);
        ck_assert_msg(reqn(buf, (size_t)n) == n, "refused Host \"%s\": %s", good[i], msg.error);
    }
}
END_TEST

START_TEST(test_E4_empty_host)
{
    REFUSED(REQ("GET / HTTP/1.1\r\nHost:\r\n\r\n"), 400);
    REFUSED(REQ("GET / HTTP/1.1\r\nHost:  \r\n\r\n"), 400);
    ACCEPT("GET http://b/ HTTP/1.1\r\nHost:\r\n\r\n");
    ck_assert_uint_eq(msg.host_len, 0);
    ck_assert_ptr_nonnull(msg.host);
    ck_assert_mem_eq(msg.abs_authority, "b", 1);
}
END_TEST

START_TEST(test_E5_path_forms_kept_raw_nul_refused)
{
    static const char *const raw[] = {"/%61dmin", "/./admin", "//admin", "/x/../admin",
                                      "/admin;x", "/ADMIN",   "/a%2Fb"};
    char buf[128];
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
        int n = snprintf(buf, sizeof buf, "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", raw[i]);
        ck_assert_int_eq(reqn(buf, (size_t)n), n);
        ck_assert_uint_eq(msg.target_len, strlen(raw[i]));
        ck_assert_mem_eq(msg.target, raw[i], strlen(raw[i]));
    }
    REFUSED(REQ("GET /a%00b HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    REFUSED(REQ("GET /a?x=%00 HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}
END_TEST

/* ---- F. Hop-by-hop (parser side) ---- */

START_TEST(test_F1_connection_names_protected_field)
{
    REFUSED(REQ("GET / HTTP/1.1\r\nHost: a\r\nConnection: Host\r\n\r\n"), 400);
    REFUSED(REQ(P "Content-Length: 1\r\nConnection: close, Content-Length\r\n\r\nx"), 400);
    REFUSED(REQ(P "Connection: transfer-encoding\r\n\r\n"), 400);
    REFUSED(REQ(P "Connection: close x\r\n\r\n"), 400);
    ACCEPT("GET / HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4\r\nHost: a\r\n"
           "Connection: close, X-Forwarded-For\r\nX-Other: 1\r\n\r\n");
    ck_assert_uint_eq(msg.flags & H1_F_CONN_CLOSE, H1_F_CONN_CLOSE);
    ck_assert_uint_eq(msg.headers[0].flags, H1_HF_HOPBYHOP);
    ck_assert_uint_eq(msg.headers[1].flags, H1_HF_HOST);
    ck_assert_uint_eq(msg.headers[2].flags, H1_HF_HOPBYHOP);
    ck_assert_uint_eq(msg.headers[3].flags, 0);
}
END_TEST

START_TEST(test_F1_too_many_connection_options)
{
    char *s = build("GET / HTTP/1.1\r\nHost: a\r\nConnection: a", ',', 40, "\r\n\r\n");
    ck_assert_int_eq(reqn(s, strlen(s)), (int)strlen(s)); /* empty elements are free */
    free(s);
    char buf[512] = "GET / HTTP/1.1\r\nHost: a\r\nConnection: x";
    for (int i = 0; i < 40; i++) {
        strcat(buf, ",x");
    }
    strcat(buf, "\r\n\r\n");
    REFUSED(reqn(buf, strlen(buf)), 400);
}
END_TEST

START_TEST(test_F3_hop_by_hop_flags)
{
    ACCEPT("GET / HTTP/1.1\r\nHost: a\r\nKeep-Alive: 5\r\nProxy-Connection: x\r\n"
           "TE: trailers, deflate;q=0.5\r\nUpgrade: websocket\r\nTrailer: X\r\n\r\n");
    for (uint32_t i = 1; i < 6; i++) {
        ck_assert_uint_eq(msg.headers[i].flags, H1_HF_HOPBYHOP);
    }
    ck_assert_uint_eq(msg.flags, H1_F_TE_TRAILERS | H1_F_HAS_UPGRADE);
}
END_TEST

START_TEST(test_F4_h2c_upgrade_marked)
{
    ACCEPT("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n"
           "Connection: Upgrade, HTTP2-Settings\r\n\r\n");
    ck_assert_uint_eq(msg.flags, H1_F_CONN_UPGRADE | H1_F_HAS_UPGRADE);
    ck_assert_uint_eq(msg.headers[1].flags, H1_HF_HOPBYHOP);
    ck_assert_uint_eq(msg.headers[2].flags, H1_HF_HOPBYHOP);
    ck_assert_uint_eq(msg.headers[3].flags, H1_HF_HOPBYHOP);
}
END_TEST

START_TEST(test_F6_expect)
{
    ACCEPT(P "Content-Length: 3\r\nExpect: 100-Continue\r\n\r\n");
    ck_assert_uint_eq(msg.flags, H1_F_EXPECT_CONTINUE);
    ACCEPT(P "Expect: foo\r\n\r\n");
    ck_assert_uint_eq(msg.flags, H1_F_EXPECT_OTHER);
    ACCEPT("POST / HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    ck_assert_uint_eq(msg.flags, H1_F_CONN_CLOSE);
}
END_TEST

/* ---- G. Limits (the parser's share) ---- */

START_TEST(test_G1_field_line_limit)
{
    lim.max_field_line = 32;
    char *s = build("GET / HTTP/1.1\r\nHost: a\r\nX: ", 'v', 29, "\r\n\r\n");
    ck_assert_int_eq(reqn(s, strlen(s)), (int)strlen(s));
    free(s);
    s = build("GET / HTTP/1.1\r\nHost: a\r\nX: ", 'v', 30, "\r\n\r\n");
    REFUSED(reqn(s, strlen(s)), 431);
    free(s);
    /* No line end yet: refused once the bytes prove the line too long, not before. */
    s = build("GET / HTTP/1.1\r\nHost: a\r\nX: ", 'v', 29, "\r");
    ck_assert_int_eq(reqn(s, strlen(s)), 0);
    free(s);
    s = build("GET / HTTP/1.1\r\nHost: a\r\nX: ", 'v', 30, "");
    REFUSED(reqn(s, strlen(s)), 431);
    free(s);
    h1_limits_default(&lim);
    s = build("GET / HTTP/1.1\r\nHost: a\r\nX: ", 'v', 8192, "");
    REFUSED(reqn(s, strlen(s)), 431);
    free(s);
}
END_TEST

START_TEST(test_G1_request_line_limit_exact)
{
    lim.max_request_line = 32;
    /* "GET /" + 18 + " HTTP/1.1" = 32 bytes */
    char *s = build("GET /", 'a', 18, " HTTP/1.1\r\nHost: a\r\n\r\n");
    ck_assert_int_eq(reqn(s, strlen(s)), (int)strlen(s));
    free(s);
    s = build("GET /", 'a', 19, " HTTP/1.1\r\nHost: a\r\n\r\n");
    REFUSED(reqn(s, strlen(s)), 414);
    free(s);
    s = build("GET /", 'a', 27, "\r"); /* 32 bytes then CR: could still be fine */
    ck_assert_int_eq(reqn(s, strlen(s)), 0);
    free(s);
    s = build("GET /", 'a', 28, "");
    REFUSED(reqn(s, strlen(s)), 414);
    free(s);
}
END_TEST

START_TEST(test_G2_head_limit)
{
    static const char base[] = "GET / HTTP/1.1\r\nHost: a\r\nX: \r\n\r\n"; /* 32 bytes + fill */
    lim.max_head = 100;
    char *s = build("GET / HTTP/1.1\r\nHost: a\r\nX: ", 'v', 100 - (sizeof base - 1), "\r\n\r\n");
    ck_assert_uint_eq(strlen(s), 100);
    ck_assert_int_eq(reqn(s, 100), 100);
    free(s);
    s = build("GET / HTTP/1.1\r\nHost: a\r\nX: ", 'v', 101 - (sizeof base - 1), "\r\n\r\n");
    REFUSED(reqn(s, 101), 431);
    ck_assert_int_eq(reqn(s, 100), -431); /* the head cannot end within the limit */
    ck_assert_int_eq(reqn(s, 99), 0);
    free(s);
    h1_limits_default(&lim);
    char *big = malloc(70000);
    ck_assert_ptr_nonnull(big);
    strcpy(big, "GET / HTTP/1.1\r\nHost: a\r\n");
    while (strlen(big) < 66000) {
        strcat(big, "X-Filler: 0123456789012345678901234567890123456789\r\n");
    }
    lim.max_headers = 10000;
    REFUSED(reqn(big, strlen(big)), 431);
    free(big);
}
END_TEST

START_TEST(test_G3_field_count_limit)
{
    lim.max_headers = 3;
    ACCEPT("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n");
    REFUSED(REQ("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), 431);
    REFUSED(REQ("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n"), 431);
    /* the caller's array caps the count as well */
    h1_limits_default(&lim);
    static const char s[] = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
    ck_assert_int_eq(h1_parse_request(s, sizeof s - 1, &lim, hdrs, 3, &msg), (int)sizeof s - 1);
    ck_assert_int_eq(h1_parse_request(s, sizeof s - 1, &lim, hdrs, 2, &msg), -431);
    /* default: 100 fields pass, 101 do not */
    char *big = malloc(4096);
    ck_assert_ptr_nonnull(big);
    strcpy(big, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 1; i < 100; i++) {
        strcat(big, "A: 1\r\n");
    }
    strcat(big, "\r\n");
    ck_assert_int_eq(reqn(big, strlen(big)), (int)strlen(big));
    ck_assert_uint_eq(msg.nheaders, 100);
    strcpy(big + strlen(big) - 2, "A: 1\r\n\r\n");
    REFUSED(reqn(big, strlen(big)), 431);
    free(big);
}
END_TEST

START_TEST(test_G8_large_cl_parsed)
{
    ACCEPT(P "Content-Length: 10737418240\r\n\r\n");
    ck_assert_uint_eq(msg.content_length, 10737418240ULL);
}
END_TEST

START_TEST(test_null_limits_use_defaults)
{
    static const char s[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    ck_assert_int_eq(h1_parse_request(s, sizeof s - 1, NULL, hdrs, 8, &msg), (int)sizeof s - 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("h1_parse");
    TCase *tc = tcase_create("request");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_simple_get);
    tcase_add_test(tc, test_methods);
    tcase_add_test(tc, test_keepalive_flags);
    tcase_add_test(tc, test_pipelined_second_request);
    tcase_add_test(tc, test_value_ows_trimmed);
    tcase_add_test(tc, test_chunked_request);
    tcase_add_test(tc, test_content_length_request);
    tcase_add_test(tc, test_incomplete_cr_at_end);
    tcase_add_test(tc, test_A1_cl_and_te);
    tcase_add_test(tc, test_A2_chunked_not_last);
    tcase_add_test(tc, test_A3_unknown_coding_never_falls_back_to_cl);
    tcase_add_test(tc, test_A4_te_whitespace_mutations);
    tcase_add_test(tc, test_A5_te_lines_combine);
    tcase_add_test(tc, test_A6_chunked_case_insensitive);
    tcase_add_test(tc, test_A7_chunked_twice);
    tcase_add_test(tc, test_A8_chunked_parameter);
    tcase_add_test(tc, test_A9_differing_cl);
    tcase_add_test(tc, test_A10_identical_cl_list);
    tcase_add_test(tc, test_A11_cl_not_digits);
    tcase_add_test(tc, test_A12_cl_overflow);
    tcase_add_test(tc, test_A13_te_on_http10);
    tcase_add_test(tc, test_A14_get_body_is_not_a_request);
    tcase_add_test(tc, test_A15_post_without_length);
    tcase_add_test(tc, test_C1_request_line_whitespace);
    tcase_add_test(tc, test_C2_method_token);
    tcase_add_test(tc, test_C3_long_method);
    tcase_add_test(tc, test_C4_long_target);
    tcase_add_test(tc, test_C5_versions);
    tcase_add_test(tc, test_C6_http09);
    tcase_add_test(tc, test_C7_target_bytes);
    tcase_add_test(tc, test_C8_leading_empty_lines);
    tcase_add_test(tc, test_C9_absolute_form);
    tcase_add_test(tc, test_C10_asterisk_and_connect);
    tcase_add_test(tc, test_C11_fragment);
    tcase_add_test(tc, test_D1_space_before_colon);
    tcase_add_test(tc, test_D2_obs_fold);
    tcase_add_test(tc, test_D3_whitespace_led_first_field);
    tcase_add_test(tc, test_D4_no_colon);
    tcase_add_test(tc, test_D5_empty_name);
    tcase_add_test(tc, test_D6_name_not_token);
    tcase_add_test(tc, test_D7_ctl_in_value);
    tcase_add_test(tc, test_D8_lf_only);
    tcase_add_test(tc, test_D9_bare_cr);
    tcase_add_test(tc, test_D10_underscore_names);
    tcase_add_test(tc, test_D11_cl_ows);
    tcase_add_test(tc, test_D12_obs_text);
    tcase_add_test(tc, test_E1_missing_host);
    tcase_add_test(tc, test_E2_two_hosts);
    tcase_add_test(tc, test_E3_invalid_host);
    tcase_add_test(tc, test_E4_empty_host);
    tcase_add_test(tc, test_E5_path_forms_kept_raw_nul_refused);
    tcase_add_test(tc, test_F1_connection_names_protected_field);
    tcase_add_test(tc, test_F1_too_many_connection_options);
    tcase_add_test(tc, test_F3_hop_by_hop_flags);
    tcase_add_test(tc, test_F4_h2c_upgrade_marked);
    tcase_add_test(tc, test_F6_expect);
    tcase_add_test(tc, test_G1_field_line_limit);
    tcase_add_test(tc, test_G1_request_line_limit_exact);
    tcase_add_test(tc, test_G2_head_limit);
    tcase_add_test(tc, test_G3_field_count_limit);
    tcase_add_test(tc, test_G8_large_cl_parsed);
    tcase_add_test(tc, test_null_limits_use_defaults);
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
