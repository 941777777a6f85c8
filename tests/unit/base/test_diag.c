/* Unit tests of node/base/diag: adding, counting, formatting and printing diagnostics. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/diag.h"

START_TEST(add_and_count)
{
    struct diags d;
    diags_init(&d);
    ck_assert_uint_eq(d.n, 0);
    for (int i = 0; i < 20; i++) {
        diags_add(&d, i % 2 ? DIAG_WARNING : DIAG_ERROR, "f.yaml", (uint32_t)i + 1, 3, "a.b",
                  "message %d", i);
    }
    ck_assert_uint_eq(d.n, 20);
    ck_assert_uint_eq(d.nerrors, 10);
    ck_assert_str_eq(d.v[19].msg, "message 19");
    ck_assert_uint_eq(d.v[19].line, 20);
    diags_fini(&d);
    ck_assert_uint_eq(d.n, 0);
    ck_assert_ptr_null(d.v);
}
END_TEST

START_TEST(strings_are_copied)
{
    struct diags d;
    char file[16] = "x.yaml", path[16] = "p.q";
    diags_init(&d);
    diags_add(&d, DIAG_ERROR, file, 1, 2, path, "m");
    strcpy(file, "changed");
    strcpy(path, "changed");
    ck_assert_str_eq(d.v[0].file, "x.yaml");
    ck_assert_str_eq(d.v[0].path, "p.q");
    diags_add(&d, DIAG_ERROR, NULL, 0, 0, NULL, "no file");
    ck_assert_str_eq(d.v[1].file, "");
    ck_assert_str_eq(d.v[1].path, "");
    diags_fini(&d);
}
END_TEST

static const char *fmt(const struct diags *d, size_t i)
{
    static char buf[600];
    int n = diag_format(&d->v[i], buf, sizeof buf);
    ck_assert_int_eq(n, (int)strlen(buf));
    return buf;
}

START_TEST(format)
{
    struct diags d;
    diags_init(&d);
    diags_add(&d, DIAG_ERROR, "static.yaml", 4, 5, "entryPoints.web.adress", "unknown key");
    diags_add(&d, DIAG_WARNING, "d.yaml", 2, 3, "http.routers.r.tls", "not supported yet");
    diags_add(&d, DIAG_ERROR, "d.yaml", 0, 0, "", "cannot read");
    diags_add(&d, DIAG_ERROR, "", 0, 0, "providers.file", "needs filename");
    diags_add(&d, DIAG_ERROR, "", 0, 0, "", "bare");
    diags_add(&d, DIAG_ERROR, "f", 7, 0, "", "no column");
    ck_assert_str_eq(fmt(&d, 0), "static.yaml:4:5: entryPoints.web.adress: unknown key");
    ck_assert_str_eq(fmt(&d, 1), "d.yaml:2:3: http.routers.r.tls: not supported yet (warning)");
    ck_assert_str_eq(fmt(&d, 2), "d.yaml: cannot read");
    ck_assert_str_eq(fmt(&d, 3), "providers.file: needs filename");
    ck_assert_str_eq(fmt(&d, 4), "bare");
    ck_assert_str_eq(fmt(&d, 5), "f:7:1: no column");
    char small[8];
    ck_assert_int_eq(diag_format(&d.v[0], small, sizeof small), 52);
    ck_assert_str_eq(small, "static.");
    diags_fini(&d);
}
END_TEST

START_TEST(print)
{
    struct diags d;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    diags_init(&d);
    diags_add(&d, DIAG_ERROR, "s.yaml", 4, 5, "a.b", "unknown key");
    diags_add(&d, DIAG_WARNING, "s.yaml", 6, 1, "api", "not supported yet");
    diags_add(&d, DIAG_ERROR, "", 0, 0, "", "plain");
    diags_print(&d, f);
    fclose(f);
    ck_assert_str_eq(buf, "s.yaml:4:5: error: a.b: unknown key\n"
                          "s.yaml:6:1: warning: api: not supported yet\n"
                          "error: plain\n");
    free(buf);
    diags_fini(&d);
}
END_TEST

START_TEST(long_message_truncated)
{
    struct diags d;
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    diags_init(&d);
    diags_add(&d, DIAG_ERROR, "f", 1, 1, "", "%s", big);
    ck_assert_uint_eq(strlen(d.v[0].msg), 511);
    diags_fini(&d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("base/diag");
    TCase *tc = tcase_create("diag");
    tcase_add_test(tc, add_and_count);
    tcase_add_test(tc, strings_are_copied);
    tcase_add_test(tc, format);
    tcase_add_test(tc, print);
    tcase_add_test(tc, long_message_truncated);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
