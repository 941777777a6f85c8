/* Unit tests of node/base/base64: RFC 4648 vectors both ways, strict decoding. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/base64.h"

static const char *const VEC[][2] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

START_TEST(rfc4648_vectors)
{
    for (size_t i = 0; i < sizeof VEC / sizeof VEC[0]; i++) {
        char enc[64];
        uint8_t dec[64];
        size_t n = 99;
        base64_encode(VEC[i][0], strlen(VEC[i][0]), enc);
        ck_assert_str_eq(enc, VEC[i][1]);
        ck_assert_uint_eq(strlen(enc), BASE64_ENCODED_LEN(strlen(VEC[i][0])));
        ck_assert_int_eq(base64_decode(VEC[i][1], strlen(VEC[i][1]), dec, &n), 0);
        ck_assert_uint_eq(n, strlen(VEC[i][0]));
        ck_assert(memcmp(dec, VEC[i][0], n) == 0);
    }
}
END_TEST

START_TEST(binary_round_trip)
{
    uint8_t in[256], dec[256];
    char enc[BASE64_ENCODED_LEN(256) + 1];
    for (int i = 0; i < 256; i++) {
        in[i] = (uint8_t)(255 - i);
    }
    for (size_t n = 0; n <= 256; n += 37) {
        size_t got = 0;
        base64_encode(in, n, enc);
        ck_assert_int_eq(base64_decode(enc, strlen(enc), dec, &got), 0);
        ck_assert_uint_eq(got, n);
        ck_assert(memcmp(in, dec, n) == 0);
    }
    /* the alphabet's last two symbols */
    base64_encode("\xfb\xff", 2, enc);
    ck_assert_str_eq(enc, "+/8=");
}
END_TEST

START_TEST(strict_decoding)
{
    static const char *const bad[] = {
        "Zg",       /* length not a multiple of 4 */
        "Zg=",      /* idem */
        "Zm9v\n",   /* whitespace */
        "Zm 9",     /* a space */
        "Zm-v",     /* URL alphabet */
        "Z===",     /* too much padding */
        "=Zm9",     /* padding first */
        "Zg==Zm9v", /* padding in the middle */
        "Zh==",     /* non-zero bits under the padding */
        "Zm9=",     /* idem, one '=' */
        "Zm=v",     /* '=' before a symbol */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t dec[16];
        size_t n;
        ck_assert_msg(base64_decode(bad[i], strlen(bad[i]), dec, &n) == -EINVAL, "%s", bad[i]);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("base64");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, rfc4648_vectors);
    tcase_add_test(tc, binary_round_trip);
    tcase_add_test(tc, strict_decoding);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
