/* Capture groups and Go-style ReplaceAllString / Expand (node/table/regex.c). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/table/regex.h"

static struct regex *rx(const char *pat)
{
    char msg[200];
    size_t at = 0;
    struct regex *re = NULL;
    ck_assert_int_eq(regex_compile(pat, strlen(pat), &re, msg, sizeof msg, &at), 0);
    return re;
}

/* ReplaceAllString(src, tmpl) as a string; "<nomatch>" when nothing matched. */
static const char *repl(const char *pat, const char *src, const char *tmpl)
{
    static char buf[1024];
    struct regex *re = rx(pat);
    char *out = NULL;
    size_t n = 0;
    int rc = regex_replace_all(re, src, strlen(src), tmpl, &out, &n);
    ck_assert_int_ge(rc, 0);
    if (rc == 0) {
        ck_assert_ptr_null(out);
        snprintf(buf, sizeof buf, "<nomatch>");
    } else {
        ck_assert_uint_eq(strlen(out), n);
        snprintf(buf, sizeof buf, "%s", out);
    }
    free(out);
    regex_free(re);
    return buf;
}

START_TEST(groups_offsets)
{
    struct regex *re = rx("^/(a+)(x)?(b)");
    long ov[10];
    ck_assert_uint_eq(regex_ngroups(re), 3);
    ck_assert(regex_match_groups(re, "/aab/c", 6, 0, ov, 10));
    ck_assert_int_eq(ov[0], 0);
    ck_assert_int_eq(ov[1], 4);
    ck_assert_int_eq(ov[2], 1);
    ck_assert_int_eq(ov[3], 3);
    ck_assert_int_eq(ov[4], -1); /* (x)? took no part */
    ck_assert_int_eq(ov[6], 3);
    ck_assert_int_eq(ov[8], -1); /* beyond the groups */
    ck_assert(!regex_match_groups(re, "/c", 2, 0, ov, 10));
    /* ^ still means the start of the text when searching from an offset. */
    ck_assert(!regex_match_groups(re, "x/ab", 4, 1, ov, 10));
    regex_free(re);
    re = rx("(?P<first>\\w+)-(?<second>\\w+)");
    ck_assert_int_eq(regex_group_number(re, "first", 5), 1);
    ck_assert_int_eq(regex_group_number(re, "second", 6), 2);
    ck_assert_int_eq(regex_group_number(re, "third", 5), -1);
    regex_free(re);
}
END_TEST

START_TEST(expand_syntax)
{
    ck_assert_str_eq(repl("^/foo/(.*)", "/foo/bar", "/bar/$1"), "/bar/bar");
    ck_assert_str_eq(repl("^/foo/(.*)", "/foo/bar", "/x/${1}y"), "/x/bary");
    /* "$1y" is the group named "1y", which does not exist: nothing. */
    ck_assert_str_eq(repl("^/foo/(.*)", "/foo/bar", "/x/$1y"), "/x/");
    ck_assert_str_eq(repl("^/(?P<v>v\\d+)/(?P<rest>.*)", "/v2/users", "/${rest}/api-$v"),
                     "/users/api-v2");
    ck_assert_str_eq(repl("^/(a)", "/a", "$$1=$1"), "$1=a");
    /* Malformed references keep the '$' as text. */
    ck_assert_str_eq(repl("^/(a)", "/a", "${1"), "${1");
    ck_assert_str_eq(repl("^/(a)", "/a", "x$-y$"), "x$-y$");
    /* Group 0, an absent group, a group that took no part, leading zero (a name). */
    ck_assert_str_eq(repl("^/(a)(b)?", "/a", "[$0][$2][$5][$01]"), "[/a][][][]");
    ck_assert_str_eq(repl("b+", "abc", "X"), "aXc");
    ck_assert_str_eq(repl("q", "abc", "X"), "<nomatch>");
}
END_TEST

START_TEST(replace_all_like_go)
{
    /* Every match is replaced, not only the first. */
    ck_assert_str_eq(repl("/", "/a/b/", "_"), "_a_b_");
    ck_assert_str_eq(repl("a(\\d)", "a1-a2-a3", "<$1>"), "<1>-<2>-<3>");
    /* Go: an empty match right after a match is not replaced; "x*" on "abc" gives "-a-b-c-",
     * and on "xxa" gives "-a-". */
    ck_assert_str_eq(repl("x*", "abc", "-"), "-a-b-c-");
    ck_assert_str_eq(repl("x*", "xxa", "-"), "-a-");
    ck_assert_str_eq(repl("^", "abc", "-"), "-abc");
    ck_assert_str_eq(repl("$", "abc", "-"), "abc-");
    /* Everything replaced by nothing is an empty string, not "no match". */
    ck_assert_str_eq(repl(".*", "abc", ""), "");
    /* Multibyte characters advance whole. */
    ck_assert_str_eq(repl("", "\xc3\xa9", "."), ".\xc3\xa9.");
}
END_TEST

START_TEST(hostile_pattern_is_bounded)
{
    /* A pattern that backtracks exponentially hits the match limit: no match, counted. */
    char s[64];
    uint64_t before = regex_aborts();
    memset(s, 'a', 40);
    s[40] = '!';
    s[41] = '\0';
    ck_assert_str_eq(repl("^(a|aa)+$", s, "x"), "<nomatch>");
    ck_assert_uint_gt(regex_aborts(), before);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("regex_expand");
    TCase *tc = tcase_create("expand");
    tcase_add_test(tc, groups_offsets);
    tcase_add_test(tc, expand_syntax);
    tcase_add_test(tc, replace_all_like_go);
    tcase_add_test(tc, hostile_pattern_is_bounded);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
