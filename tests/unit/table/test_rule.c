/* Unit tests of node/table/rule: grammar, parse errors with columns, matcher semantics. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/table/rule.h"

static struct rule *parse_ok(const char *text)
{
    struct rule *r = NULL;
    struct err e = {0};
    int rc = rule_parse(text, &r, &e);
    ck_assert_msg(rc == 0, "%s: %s", text, e.msg);
    ck_assert_ptr_nonnull(r);
    return r;
}

static void parse_fails(const char *text, const char *msg)
{
    struct rule *r = (struct rule *)&r; /* must stay untouched */
    struct err e = {0};
    int rc = rule_parse(text, &r, &e);
    ck_assert_msg(rc == -EINVAL, "%s: rc %d", text, rc);
    ck_assert_str_eq(e.msg, msg);
    ck_assert_ptr_eq(r, (struct rule *)&r);
}

static bool match(const char *text, const char *host, const char *path)
{
    struct rule *r = parse_ok(text);
    struct table_request q = {.host = host,
                              .host_len = (uint32_t)strlen(host),
                              .path = path,
                              .path_len = (uint32_t)strlen(path)};
    bool m = rule_match(r, &q);
    rule_free(r);
    return m;
}

static void canon(const char *text, const char *want)
{
    char buf[256];
    struct rule *r = parse_ok(text);
    int n = rule_format(r, buf, sizeof buf);
    ck_assert_str_eq(buf, want);
    ck_assert_int_eq(n, (int)strlen(want));
    rule_free(r);
}

START_TEST(precedence)
{
    canon("Host(`a`) || Host(`b`) && Host(`c`)", "(Host(`a`) || (Host(`b`) && Host(`c`)))");
    canon("Host(`a`) && Host(`b`) || Host(`c`)", "((Host(`a`) && Host(`b`)) || Host(`c`))");
    canon("!Host(`a`) && Host(`b`)", "(!Host(`a`) && Host(`b`))");
    canon("Host(`a`) && Host(`b`) && Host(`c`)", "(Host(`a`) && Host(`b`) && Host(`c`))");
    canon("Host(`a`) || Host(`b`) || Host(`c`)", "(Host(`a`) || Host(`b`) || Host(`c`))");
    /* && binds tighter: a || b && c is true for host a whatever the path. */
    ck_assert(match("Host(`a`) || Host(`b`) && Path(`/x`)", "a", "/y"));
    ck_assert(!match("Host(`a`) || Host(`b`) && Path(`/x`)", "b", "/y"));
    ck_assert(match("Host(`a`) || Host(`b`) && Path(`/x`)", "b", "/x"));
}
END_TEST

START_TEST(parentheses)
{
    canon("(Host(`a`) || Host(`b`)) && Host(`c`)", "((Host(`a`) || Host(`b`)) && Host(`c`))");
    canon("((Host(`a`)))", "Host(`a`)");
    ck_assert(!match("(Host(`a`) || Host(`b`)) && Path(`/x`)", "a", "/y"));
    ck_assert(match("(Host(`a`) || Host(`b`)) && Path(`/x`)", "b", "/x"));
}
END_TEST

START_TEST(negation)
{
    ck_assert(!match("!Host(`a`)", "a", "/"));
    ck_assert(match("!Host(`a`)", "b", "/"));
    ck_assert(match("!!Host(`a`)", "a", "/"));
    ck_assert(!match("!(Host(`a`) || Host(`b`))", "b", "/"));
    ck_assert(match("!(Host(`a`) || Host(`b`))", "c", "/"));
    ck_assert(match("Host(`a`) && !PathPrefix(`/admin`)", "a", "/x"));
    ck_assert(!match("Host(`a`) && !PathPrefix(`/admin`)", "a", "/admin/x"));
    canon("! ! Host(`a`)", "!!Host(`a`)");
}
END_TEST

START_TEST(quotes_and_escapes)
{
    ck_assert(match("Host(\"a\")", "a", "/"));
    ck_assert(match("Path(\"/a\\x20b\")", "", "/a b"));
    ck_assert(match("Path(\"/\\101\\t\")", "", "/A\t"));
    ck_assert(match("Path(\"/\\u00e9\\U0001F600\")", "", "/\xc3\xa9\xf0\x9f\x98\x80"));
    ck_assert(match("Path(\"/a\\\"b\\\\\")", "", "/a\"b\\"));
    /* Raw strings keep backslashes and drop carriage returns, as Go does. */
    ck_assert(match("Path(`/a\\x`)", "", "/a\\x"));
    ck_assert(match("Path(`/a\rb`)", "", "/ab"));
    /* A backtick inside a double-quoted value is printed back in Go quotes. */
    canon("Path(\"/a`b\")", "Path(\"/a`b\")");
    canon("Path(\"/a\\x01\")", "Path(\"/a\\x01\")");
    /* A trailing comma is valid Go call syntax. */
    ck_assert(match("Host(`a`,)", "a", "/"));
}
END_TEST

START_TEST(whitespace)
{
    ck_assert(match("  Host ( `a` )  &&\n\tPath(`/`) ", "a", "/"));
    ck_assert(match("Host(`a`)&&Path(`/`)||!Host(`b`)", "c", "/x"));
    ck_assert(match("( Host( `a` , ) )", "a", "/"));
}
END_TEST

START_TEST(matcher_name_case)
{
    ck_assert(match("host(`a`)", "a", "/"));
    ck_assert(match("HOST(`a`)", "a", "/"));
    ck_assert(match("pathprefix(`/a`)", "", "/ab"));
    ck_assert(match("PATHPREFIX(`/a`)", "", "/ab"));
    ck_assert(match("Pathprefix(`/a`)", "", "/ab"));
    parse_fails("pathPrefix(`/a`)", "rule: col 1: unknown matcher pathPrefix");
    parse_fails("PAthPrefix(`/a`)", "rule: col 1: unknown matcher PAthPrefix");
}
END_TEST

/* Every parse error names its 1-based column and what was expected there. */
START_TEST(parse_errors)
{
    parse_fails("", "rule: col 1: empty rule");
    parse_fails("  \t ", "rule: col 1: empty rule");
    parse_fails("(Host(`a`)", "rule: col 11: expected ')'");
    parse_fails("(Host(`a`) || Path(`/`) x", "rule: col 25: expected ')'");
    parse_fails("Host(`a`) &&", "rule: col 13: expected a matcher, '!' or '('");
    parse_fails("Host(`a`) & Path(`/`)", "rule: col 11: expected '&&'");
    parse_fails("Host(`a`) | Path(`/`)", "rule: col 11: expected '||'");
    parse_fails("Host(`a`) Path(`/`)", "rule: col 11: expected '&&', '||' or end of rule");
    parse_fails("Host(`a`))", "rule: col 10: expected '&&', '||' or end of rule");
    parse_fails("Host `a`", "rule: col 6: expected '('");
    parse_fails("Host", "rule: col 5: expected '('");
    parse_fails("Host(a)", "rule: col 6: expected a value in backticks or double quotes");
    parse_fails("Host('a')", "rule: col 6: expected a value in backticks or double quotes "
                             "(single quotes are not allowed)");
    parse_fails("Host(`a`", "rule: col 9: expected ',' or ')'");
    parse_fails("Host(`a` `b`)", "rule: col 10: expected ',' or ')'");
    parse_fails("Host(`a)", "rule: col 6: unterminated string");
    parse_fails("Host(\"a)", "rule: col 6: unterminated string");
    parse_fails("Host(\"a\nb\")", "rule: col 6: unterminated string");
    parse_fails("Path(\"/a\\qb\")", "rule: col 9: invalid escape sequence in string");
    parse_fails("Path(\"/\\x4\")", "rule: col 8: invalid escape sequence in string");
    parse_fails("Path(\"/\\400\")", "rule: col 8: invalid escape sequence in string");
    parse_fails("Path(\"/\\uD800\")", "rule: col 8: invalid escape sequence in string");
    parse_fails("Path(\"/\\'\")", "rule: col 8: invalid escape sequence in string");
    parse_fails("!", "rule: col 2: expected a matcher, '!' or '('");
    parse_fails("()", "rule: col 2: expected a matcher, '!' or '('");
    parse_fails("@", "rule: col 1: expected a matcher, '!' or '('");
    parse_fails("Host(`a`) && 9", "rule: col 14: expected a matcher, '!' or '('");
}
END_TEST

START_TEST(argument_errors)
{
    parse_fails("Host(`a`,`b`)", "rule: col 1: Host takes 1 value, got 2"
                                 " (several values are v2 syntax; use || in v3)");
    parse_fails("Host(`a`,`b`,`c`)", "rule: col 1: Host takes 1 value, got 3"
                                     " (several values are v2 syntax; use || in v3)");
    parse_fails("Path()", "rule: col 1: Path takes 1 value, got 0");
    parse_fails("Host(``)", "rule: col 6: Host: empty value");
    parse_fails("Host(`\xc3\xa9.com`)", "rule: col 6: Host: value must be ASCII (use punycode)");
    parse_fails("Host(\"\\u00e9.com\")", "rule: col 6: Host: value must be ASCII (use punycode)");
    parse_fails("Host(`*.`)", "rule: col 6: Host: wildcard needs a domain after '*.'");
    parse_fails("Path(`a`)", "rule: col 6: Path: value must start with '/'");
    parse_fails("PathPrefix(`a`)", "rule: col 12: PathPrefix: value must start with '/'");
    parse_fails("Host(`a`) && pathprefix( \"x\")",
                "rule: col 26: PathPrefix: value must start with '/'");
}
END_TEST

START_TEST(unknown_matchers)
{
    parse_fails("Foo(`a`)", "rule: col 1: unknown matcher Foo");
    parse_fails("Host(`a`) && hostRegexp(`a`)", "rule: col 14: unknown matcher hostRegexp");
    parse_fails("Headers(`a`,`b`)",
                "rule: col 1: unknown matcher Headers (v2 syntax; v3 uses Header)");
    parse_fails("HostHeader(`a`)",
                "rule: col 1: unknown matcher HostHeader (v2 syntax; v3 uses Host)");
}
END_TEST

START_TEST(nesting_limit)
{
    char deep[2 * RULE_MAX_DEPTH + 32], *p = deep;
    for (int i = 0; i < RULE_MAX_DEPTH; i++) {
        *p++ = '(';
    }
    strcpy(p, "Host(`a`)");
    p += strlen(p);
    for (int i = 0; i < RULE_MAX_DEPTH; i++) {
        *p++ = ')';
    }
    *p = '\0';
    ck_assert(match(deep, "a", "/"));
    memmove(deep + 1, deep, strlen(deep) + 1);
    deep[0] = '!';
    parse_fails(deep, "rule: col 65: nested too deeply (at most 64 levels)");
}
END_TEST

START_TEST(host_semantics)
{
    /* Case-insensitive; the request side is normally lower-cased already. */
    ck_assert(match("Host(`Example.COM`)", "example.com", "/"));
    ck_assert(match("Host(`example.com`)", "EXAMPLE.com", "/"));
    ck_assert(!match("Host(`example.com`)", "example.co", "/"));
    ck_assert(!match("Host(`example.com`)", "example.comm", "/"));
    ck_assert(!match("Host(`example.com`)", "", "/"));
    /* A trailing dot on either side is ignored. */
    ck_assert(match("Host(`example.com.`)", "example.com", "/"));
    ck_assert(match("Host(`example.com`)", "example.com.", "/"));
    ck_assert(match("Host(`example.com.`)", "example.com.", "/"));
    canon("Host(`Example.COM.`)", "Host(`example.com`)");
}
END_TEST

START_TEST(host_wildcards)
{
    const char *w = "Host(`*.Example.com`)";
    ck_assert(match(w, "a.example.com", "/"));
    ck_assert(match(w, "www.example.com.", "/"));
    ck_assert(match(w, "A.EXAMPLE.COM", "/"));
    ck_assert(!match(w, "example.com", "/"));
    ck_assert(!match(w, "a.b.example.com", "/"));
    ck_assert(!match(w, ".example.com", "/"));
    ck_assert(!match(w, "aexample.com", "/"));
    ck_assert(!match(w, "a.example.org", "/"));
    canon(w, "Host(`*.example.com`)");
    /* The catch-all matches everything, even a request without a host. */
    ck_assert(match("Host(`*`)", "", "/"));
    ck_assert(match("Host(`*`)", "anything", ""));
    canon("Host(`*`)", "Host(`*`)");
}
END_TEST

START_TEST(path_and_prefix)
{
    ck_assert(match("PathPrefix(`/css`)", "", "/css-foo"));
    ck_assert(match("PathPrefix(`/css`)", "", "/css/a.css"));
    ck_assert(match("PathPrefix(`/css`)", "", "/css"));
    ck_assert(!match("PathPrefix(`/css`)", "", "/cs"));
    ck_assert(!match("PathPrefix(`/css`)", "", "/CSS"));
    ck_assert(!match("PathPrefix(`/`)", "", "")); /* empty routing path: no slash */
    ck_assert(match("PathPrefix(`/`)", "", "/anything"));
    ck_assert(match("Path(`/css`)", "", "/css"));
    ck_assert(!match("Path(`/css`)", "", "/css/"));
    ck_assert(!match("Path(`/css`)", "", "/css-foo"));
    ck_assert(!match("Path(`/css`)", "", "/cs"));
    /* Matched in escaped form: the caller decodes only unreserved escapes. */
    ck_assert(!match("Path(`/a/b`)", "", "/a%2Fb"));
}
END_TEST

START_TEST(free_null_and_format_truncation)
{
    char small[6];
    rule_free(NULL);
    struct rule *r = parse_ok("Host(`abc`)");
    ck_assert_int_eq(rule_format(r, small, sizeof small), 11);
    ck_assert_str_eq(small, "Host(");
    ck_assert_int_eq(rule_format(r, NULL, 0), 11);
    rule_free(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("table_rule");
    TCase *tc = tcase_create("rule");
    tcase_add_test(tc, precedence);
    tcase_add_test(tc, parentheses);
    tcase_add_test(tc, negation);
    tcase_add_test(tc, quotes_and_escapes);
    tcase_add_test(tc, whitespace);
    tcase_add_test(tc, matcher_name_case);
    tcase_add_test(tc, parse_errors);
    tcase_add_test(tc, argument_errors);
    tcase_add_test(tc, unknown_matchers);
    tcase_add_test(tc, nesting_limit);
    tcase_add_test(tc, host_semantics);
    tcase_add_test(tc, host_wildcards);
    tcase_add_test(tc, path_and_prefix);
    tcase_add_test(tc, free_null_and_format_truncation);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
