/* Unit tests of ctl/jsonv.c: proxyctl's JSON reader and its JSON/YAML printers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/jsonv.h"

static int parse(const char *s, struct jv *j)
{
    return jv_parse(s, strlen(s), j);
}

START_TEST(values_and_escapes)
{
    struct jv j;
    ck_assert_int_eq(
        parse(" {\"a\": [1, -2.5e3, true, false, null], \"s\": \"x\\u00e9\\ud83d\\ude00"
              "\\n\\\"\", \"o\": {}} ",
              &j),
        0);
    ck_assert_int_eq(j.t, JV_OBJ);
    ck_assert_uint_eq(jv_get(&j, "a")->n, 5);
    ck_assert_str_eq(jv_get(&j, "a")->v[1].s, "-2.5e3");
    ck_assert(jv_get(&j, "a")->v[2].b && !jv_get(&j, "a")->v[3].b);
    ck_assert_int_eq(jv_get(&j, "a")->v[4].t, JV_NULL);
    ck_assert_str_eq(jv_str(jv_get(&j, "s")), "x\xc3\xa9\xf0\x9f\x98\x80\n\"");
    ck_assert_int_eq(jv_get(&j, "o")->t, JV_OBJ);
    ck_assert_ptr_null(jv_get(&j, "missing"));
    jv_free(&j);
}
END_TEST

START_TEST(refuses_bad_text)
{
    static const char *const bad[] = {"",    "{",     "[1,]",      "{\"a\" 1}", "\"x",
                                      "tru", "[1] x", "\"a\x01\"", "{1:2}",     "\"\\q\""};
    struct jv j;
    char deep[200];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(parse(bad[i], &j) != 0, "accepted %s", bad[i]);
    }
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    ck_assert_int_ne(jv_parse(deep, sizeof deep, &j), 0);
}
END_TEST

static char *printed(void (*fn)(FILE *, const struct jv *), const char *text)
{
    struct jv j;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(parse(text, &j), 0);
    fn(f, &j);
    fclose(f);
    jv_free(&j);
    return buf;
}

START_TEST(printers)
{
    char *s = printed(jv_print_yaml, "[{\"a\":1,\"b\":[\"x\"]},{}]");
    ck_assert_str_eq(s, "- a: 1\n  b:\n    - \"x\"\n- {}\n");
    free(s);
    /* keys YAML would read differently stay quoted */
    s = printed(jv_print_yaml, "{\"on\":1,\"a b\":2,\"-x\":3,\"web@file\":4}");
    ck_assert_str_eq(s, "\"on\": 1\n\"a b\": 2\n\"-x\": 3\nweb@file: 4\n");
    free(s);
    s = printed(jv_print_json, "{\"a\":[1,{}],\"b\":\"\\t\"}");
    ck_assert_str_eq(s, "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": \"\\t\"\n}\n");
    free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ctl_jsonv");
    TCase *tc = tcase_create("jsonv");
    SRunner *sr;
    int failed;
    tcase_add_test(tc, values_and_escapes);
    tcase_add_test(tc, refuses_bad_text);
    tcase_add_test(tc, printers);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
