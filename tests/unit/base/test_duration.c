/* Unit tests of node/base/duration: Go-style durations and bare seconds. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "node/base/duration.h"

static uint64_t ms(const char *s)
{
    uint64_t v = 12345;
    ck_assert_msg(duration_parse_ms(s, &v) == 0, "%s", s);
    return v;
}

static int err(const char *s)
{
    uint64_t v = 12345;
    int rc = duration_parse_ms(s, &v);
    ck_assert_uint_eq(v, 12345); /* untouched on error */
    return rc;
}

START_TEST(go_units)
{
    ck_assert_uint_eq(ms("500ms"), 500);
    ck_assert_uint_eq(ms("10s"), 10000);
    ck_assert_uint_eq(ms("1m30s"), 90000);
    ck_assert_uint_eq(ms("1h"), 3600000);
    ck_assert_uint_eq(ms("2h45m0.5s"), 9900500);
    ck_assert_uint_eq(ms("1500us"), 1);
    ck_assert_uint_eq(ms("2000\xc2\xb5s"), 2);
    ck_assert_uint_eq(ms("3000\xce\xbcs"), 3);
    ck_assert_uint_eq(ms("5000000ns"), 5);
    ck_assert_uint_eq(ms("+5s"), 5000);
    ck_assert_uint_eq(ms("0s"), 0);
}
END_TEST

START_TEST(fractions_are_exact)
{
    ck_assert_uint_eq(ms("1.5s"), 1500);
    ck_assert_uint_eq(ms("2.3s"), 2300);
    ck_assert_uint_eq(ms("0.1s"), 100);
    ck_assert_uint_eq(ms("4.35s"), 4350);
    ck_assert_uint_eq(ms(".5s"), 500);
    ck_assert_uint_eq(ms("1.s"), 1000);
    ck_assert_uint_eq(ms("1.5m"), 90000);
    ck_assert_uint_eq(ms("0.000000000000000000001h"), 0);
}
END_TEST

START_TEST(bare_integers_are_seconds)
{
    ck_assert_uint_eq(ms("0"), 0);
    ck_assert_uint_eq(ms("42"), 42000);
    ck_assert_uint_eq(ms("+3"), 3000);
    ck_assert_uint_eq(ms("9223372036"), 9223372036000);
}
END_TEST

START_TEST(sub_millisecond_rounds_up)
{
    ck_assert_uint_eq(ms("1ns"), 1);
    ck_assert_uint_eq(ms("999us"), 1);
    ck_assert_uint_eq(ms("1001us"), 1);
}
END_TEST

START_TEST(syntax_errors)
{
    static const char *const bad[] = {"",     "+",   "s",   "5",   "5x",   "1s5",   "abc",   "1.5",
                                      "..5s", "5 s", " 5s", "5s ", "1e3s", "0x10s", "1m-5s", ".s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (i == 3) {
            continue; /* "5" is a bare integer */
        }
        ck_assert_msg(err(bad[i]) == -EINVAL, "\"%s\"", bad[i]);
    }
    ck_assert_int_eq(duration_parse_ms(NULL, &(uint64_t){0}), -EINVAL);
}
END_TEST

START_TEST(range_errors)
{
    ck_assert_int_eq(err("-1s"), -ERANGE);
    ck_assert_int_eq(err("-5"), -ERANGE);
    ck_assert_int_eq(err("9223372037"), -ERANGE);
    ck_assert_int_eq(err("99999999999999999999999"), -ERANGE);
    ck_assert_int_eq(err("2562048h"), -ERANGE);
    ck_assert_int_eq(err("2562047h50m"), -ERANGE);
    ck_assert_int_eq(err("99999999999999999999999ns"), -ERANGE);
    ck_assert_uint_eq(ms("2562047h"), 2562047ull * 3600000);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("base/duration");
    TCase *tc = tcase_create("duration");
    tcase_add_test(tc, go_units);
    tcase_add_test(tc, fractions_are_exact);
    tcase_add_test(tc, bare_integers_are_seconds);
    tcase_add_test(tc, sub_millisecond_rounds_up);
    tcase_add_test(tc, syntax_errors);
    tcase_add_test(tc, range_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
