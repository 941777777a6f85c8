/* Unit tests of the chunked-body decoder: bad-input.md rows B1-B9. */
#include "node/http/h1_parse.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char out[1 << 17];
static size_t out_len;
static size_t used_total;
static const char *last_error;

/* Decodes `in` fed in windows of `step` bytes (0: all at once). Returns the last result:
 * DONE, NEED (input ran out), or a refusal; out/out_len hold the data, used_total the bytes
 * consumed. */
static int dechunk_step(const char *in, size_t len, size_t step, uint32_t max_ext)
{
    struct h1_chunked c;
    size_t pos = 0;
    h1_chunked_init(&c);
    c.max_ext = max_ext;
    out_len = 0;
    for (;;) {
        size_t n = len - pos;
        if (step != 0 && n > step) {
            n = step;
        }
        size_t used = 0;
        const char *d;
        size_t dl;
        int rc = h1_chunked_next(&c, in + pos, n, &used, &d, &dl);
        ck_assert_uint_le(used, n);
        pos += used;
        last_error = c.error;
        if (rc == H1_CHUNK_DATA) {
            ck_assert(d >= in && d + dl <= in + pos);
            ck_assert_uint_gt(dl, 0);
            memcpy(out + out_len, d, dl);
            out_len += dl;
            continue;
        }
        if (rc == H1_CHUNK_NEED && pos < len) {
            ck_assert_uint_eq(used, n);
            continue;
        }
        used_total = pos;
        if (rc < 0) {
            ck_assert_ptr_nonnull(c.error);
        }
        return rc;
    }
}

/* The result must not depend on how the bytes arrive: every window size gives the same. */
static int dechunk(const char *in, size_t len)
{
    int rc = dechunk_step(in, len, 0, 0);
    size_t ol = out_len, ut = used_total;
    static char ref[sizeof out];
    memcpy(ref, out, ol);
    for (size_t step = 1; step <= 7; step++) {
        ck_assert_int_eq(dechunk_step(in, len, step, 0), rc);
        ck_assert_uint_eq(out_len, ol);
        ck_assert_mem_eq(out, ref, ol);
        if (rc != H1_CHUNK_NEED) {
            ck_assert_uint_eq(used_total, ut);
        }
    }
    return rc;
}
#define DECHUNK(lit) dechunk((lit), sizeof(lit) - 1)

START_TEST(test_simple_chunks)
{
    ck_assert_int_eq(DECHUNK("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nNEXT"), H1_CHUNK_DONE);
    ck_assert_uint_eq(out_len, 11);
    ck_assert_mem_eq(out, "hello world", 11);
    ck_assert_uint_eq(used_total, 26); /* "NEXT" is not consumed */
    ck_assert_int_eq(DECHUNK("0\r\n\r\n"), H1_CHUNK_DONE);
    ck_assert_uint_eq(out_len, 0);
    ck_assert_int_eq(DECHUNK("a\r\n0123456789\r\nA\r\n0123456789\r\n00\r\n\r\n"), H1_CHUNK_DONE);
    ck_assert_uint_eq(out_len, 20);
    ck_assert_int_eq(DECHUNK("000000000000005\r\nhello\r\n0\r\n\r\n"), H1_CHUNK_DONE);
}
END_TEST

START_TEST(test_done_is_sticky)
{
    struct h1_chunked c;
    size_t used;
    const char *d;
    size_t dl;
    h1_chunked_init(&c);
    ck_assert_int_eq(h1_chunked_next(&c, "0\r\n\r\nX", 6, &used, &d, &dl), H1_CHUNK_DONE);
    ck_assert_uint_eq(used, 5);
    ck_assert_int_eq(h1_chunked_next(&c, "X", 1, &used, &d, &dl), H1_CHUNK_DONE);
    ck_assert_uint_eq(used, 0);
}
END_TEST

START_TEST(test_extensions_accepted)
{
    ck_assert_int_eq(DECHUNK("5;x=y\r\nhello\r\n0\r\n\r\n"), H1_CHUNK_DONE);
    ck_assert_int_eq(DECHUNK("5;x\r\nhello\r\n0;last\r\n\r\n"), H1_CHUNK_DONE);
    ck_assert_int_eq(DECHUNK("5 ; a = b ; c ;d=\"q \\\" ;x\"\r\nhello\r\n0\r\n\r\n"),
                     H1_CHUNK_DONE);
    ck_assert_int_eq(DECHUNK("5;a=\"\"\r\nhello\r\n0\r\n\r\n"), H1_CHUNK_DONE);
    ck_assert_uint_eq(out_len, 5);
}
END_TEST

START_TEST(test_B1_chunk_size_syntax)
{
    static const char *const bad[] = {"5x\r\nhello\r\n0\r\n\r\n", "0x5\r\nhello\r\n0\r\n\r\n",
                                      "+5\r\nhello\r\n0\r\n\r\n", " 5\r\nhello\r\n0\r\n\r\n",
                                      "-1\r\nhello\r\n0\r\n\r\n", "\r\nhello\r\n0\r\n\r\n",
                                      ";x\r\nhello\r\n0\r\n\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(dechunk(bad[i], strlen(bad[i])) == -400, "accepted %s", bad[i]);
    }
}
END_TEST

START_TEST(test_B2_chunk_size_overflow)
{
    ck_assert_int_eq(DECHUNK("FFFFFFFFFFFFFFFF1\r\n"), -413);
    ck_assert_int_eq(DECHUNK("0000000000000000\r\n"), -413);
    /* 15 digits are fine; the data is simply not there yet */
    ck_assert_int_eq(DECHUNK("FFFFFFFFFFFFFFF\r\nabc"), H1_CHUNK_NEED);
    ck_assert_uint_eq(out_len, 3);
}
END_TEST

START_TEST(test_B3_chunk_overrun)
{
    ck_assert_int_eq(DECHUNK("3\r\nabcdef\r\n0\r\n\r\n"), -400);
    ck_assert_uint_eq(out_len, 3); /* the 3 declared bytes went out, nothing after them */
    ck_assert_int_eq(DECHUNK("3\r\nabc\n0\r\n\r\n"), -400);
    ck_assert_int_eq(DECHUNK("3\r\nabc\r0\r\n\r\n"), -400);
}
END_TEST

START_TEST(test_B4_bare_lf)
{
    ck_assert_int_eq(DECHUNK("5\nhello\n0\n\n"), -400);
    ck_assert_int_eq(DECHUNK("5\r\nhello\r\n0\n\n"), -400);
    ck_assert_int_eq(DECHUNK("5\r\nhello\r\n0\r\n\n"), -400);
    ck_assert_int_eq(DECHUNK("5\r\nhello\r\n0\r\nX: y\n\r\n"), -400);
}
END_TEST

START_TEST(test_B5_extension_grammar)
{
    ck_assert_int_eq(DECHUNK("5;a=\"x\r\nhello\r\n0\r\n\r\n"), -400);
    ck_assert_int_eq(DECHUNK("5;\nhello\r\n0\r\n\r\n"), -400);
    ck_assert_int_eq(DECHUNK("5;a\rb\r\nhello\r\n0\r\n\r\n"), -400);
    ck_assert_int_eq(DECHUNK("5;\r\nhello\r\n0\r\n\r\n"), -400);
    ck_assert_int_eq(DECHUNK("5;=b\r\nhello\r\n0\r\n\r\n"), -400);
    ck_assert_int_eq(DECHUNK("5;a=\r\nhello\r\n0\r\n\r\n"), -400);
    ck_assert_int_eq(DECHUNK("5;a=b c\r\nhello\r\n0\r\n\r\n"), -400);
    ck_assert_int_eq(DECHUNK("5;a=\"b\"c\r\nhello\r\n0\r\n\r\n"), -400);
    ck_assert_int_eq(DECHUNK("5;a \r\nhello\r\n0\r\n\r\n"), -400);
    ck_assert_int_eq(DECHUNK("5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n"), -400);
    ck_assert_int_eq(DECHUNK("5;a=\"\\\x01\"\r\nhello\r\n0\r\n\r\n"), -400);
    ck_assert_int_eq(DECHUNK("5;a@=b\r\nhello\r\n0\r\n\r\n"), -400);
}
END_TEST

START_TEST(test_B6_extension_length_limit)
{
    size_t n = 65536;
    char *s = malloc(n + 64);
    ck_assert_ptr_nonnull(s);
    memcpy(s, "5;", 2);
    memset(s + 2, 'a', n);
    strcpy(s + 2 + n, "\r\nhello\r\n0\r\n\r\n");
    ck_assert_int_eq(dechunk_step(s, strlen(s), 0, 0), -400);
    ck_assert_ptr_nonnull(last_error);
    free(s);
    /* exactly at the limit: 7 name bytes plus the CR = 8 */
    ck_assert_int_eq(dechunk_step("5;abcdefg\r\nhello\r\n0\r\n\r\n", 25, 0, 8), H1_CHUNK_DONE);
    ck_assert_int_eq(dechunk_step("5;abcdefgh\r\nhello\r\n0\r\n\r\n", 26, 0, 8), -400);
}
END_TEST

START_TEST(test_B7_truncated_body_never_done)
{
    ck_assert_int_eq(DECHUNK("5\r\nhel"), H1_CHUNK_NEED);
    ck_assert_uint_eq(out_len, 3);
    ck_assert_int_eq(DECHUNK("5\r\nhello\r\n0\r\n"), H1_CHUNK_NEED);
    ck_assert_int_eq(DECHUNK("5\r\nhello\r\n0\r\nX: y\r\n"), H1_CHUNK_NEED);
}
END_TEST

START_TEST(test_B8_trailers_dropped)
{
    ck_assert_int_eq(DECHUNK("5\r\nhello\r\n0\r\nContent-Length: 5\r\nHost: evil\r\n\r\nGET"),
                     H1_CHUNK_DONE);
    ck_assert_uint_eq(out_len, 5);
    ck_assert_mem_eq(out, "hello", 5);
    ck_assert_uint_eq(used_total, 46);
    /* trailer syntax is still checked */
    ck_assert_int_eq(DECHUNK("0\r\nX : y\r\n\r\n"), -400);
    ck_assert_int_eq(DECHUNK("0\r\nX: y\r\n z\r\n\r\n"), -400);
    ck_assert_int_eq(DECHUNK("0\r\n: y\r\n\r\n"), -400);
    ck_assert_int_eq(DECHUNK("0\r\nX: a\x00"
                             "b\r\n\r\n"),
                     -400);
    ck_assert_int_eq(DECHUNK("0\r\nX: a\rb\r\n\r\n"), -400);
    ck_assert_int_eq(DECHUNK("0\r\nX\r\n\r\n"), -400);
}
END_TEST

START_TEST(test_B8_trailer_size_limit)
{
    struct h1_chunked c;
    size_t used;
    const char *d;
    size_t dl;
    static const char s[] = "0\r\nX: 0123456789\r\n\r\n"; /* 17 trailer bytes */
    h1_chunked_init(&c);
    c.max_trailers = 17;
    ck_assert_int_eq(h1_chunked_next(&c, s, sizeof s - 1, &used, &d, &dl), H1_CHUNK_DONE);
    h1_chunked_init(&c);
    c.max_trailers = 16;
    ck_assert_int_eq(h1_chunked_next(&c, s, sizeof s - 1, &used, &d, &dl), -431);
    ck_assert_ptr_nonnull(c.error);
}
END_TEST

START_TEST(test_B9_whitespace_after_size)
{
    ck_assert_int_eq(DECHUNK("5 \r\nhello\r\n0\r\n\r\n"), -400);
    ck_assert_int_eq(DECHUNK("5\t\r\nhello\r\n0\r\n\r\n"), -400);
    ck_assert_int_eq(DECHUNK("5 ;x=y\r\nhello\r\n0\r\n\r\n"), H1_CHUNK_DONE);
    ck_assert_uint_eq(out_len, 5);
    ck_assert_mem_eq(out, "hello", 5);
    ck_assert_int_eq(DECHUNK("5\t ;x=y\r\nhello\r\n0\r\n\r\n"), H1_CHUNK_DONE);
}
END_TEST

START_TEST(test_large_chunk_in_slices)
{
    static char body[70000];
    int n = snprintf(body, sizeof body, "%x\r\n", 65536);
    memset(body + n, 'z', 65536);
    memcpy(body + n + 65536, "\r\n0\r\n\r\n", 7);
    size_t len = (size_t)n + 65536 + 7;
    ck_assert_int_eq(dechunk_step(body, len, 4096, 0), H1_CHUNK_DONE);
    ck_assert_uint_eq(out_len, 65536);
    ck_assert_uint_eq(used_total, len);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("h1_chunked");
    TCase *tc = tcase_create("chunked");
    tcase_add_test(tc, test_simple_chunks);
    tcase_add_test(tc, test_done_is_sticky);
    tcase_add_test(tc, test_extensions_accepted);
    tcase_add_test(tc, test_B1_chunk_size_syntax);
    tcase_add_test(tc, test_B2_chunk_size_overflow);
    tcase_add_test(tc, test_B3_chunk_overrun);
    tcase_add_test(tc, test_B4_bare_lf);
    tcase_add_test(tc, test_B5_extension_grammar);
    tcase_add_test(tc, test_B6_extension_length_limit);
    tcase_add_test(tc, test_B7_truncated_body_never_done);
    tcase_add_test(tc, test_B8_trailers_dropped);
    tcase_add_test(tc, test_B8_trailer_size_limit);
    tcase_add_test(tc, test_B9_whitespace_after_size);
    tcase_add_test(tc, test_large_chunk_in_slices);
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
