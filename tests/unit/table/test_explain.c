/* Unit tests of rule_explain (node/table/rule.c) and table_explain (node/table/table.c). */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "node/http/h1_parse.h"
#include "node/table/rule.h"
#include "node/table/table-build.h"
#include "tests/unit/table/table_fixture.h"

static struct table_request req(const char *host, const char *path)
{
    struct table_request q;
    memset(&q, 0, sizeof q);
    q.host = host;
    q.host_len = (uint32_t)strlen(host);
    q.path = path;
    q.path_len = (uint32_t)strlen(path);
    q.method = "GET";
    q.method_len = 3;
    return q;
}

/* Explains `text` against q; checks the result agrees with rule_match and returns the reason
 * (static buffer). */
static const char *why(const char *text, const struct table_request *q, bool want)
{
    static char buf[1024];
    struct rule *r = NULL;
    struct err e = {0};
    ck_assert_msg(rule_parse(text, &r, &e) == 0, "%s", e.msg);
    bool got = rule_explain(r, q, buf, sizeof buf);
    ck_assert_msg(got == want, "%s: explain says %d", text, got);
    ck_assert_msg(rule_match(r, q) == got, "%s: explain and match disagree", text);
    rule_free(r);
    return buf;
}

START_TEST(host_and_path)
{
    struct table_request q = req("b", "/x");
    ck_assert_str_eq(why("Host(`a`)", &q, false), "Host(`a`) does not match host \"b\"");
    ck_assert_str_eq(why("PathPrefix(`/api`)", &q, false),
                     "PathPrefix(`/api`) does not match path \"/x\"");
    ck_assert_str_eq(why("Path(`/y`)", &q, false), "Path(`/y`) does not match path \"/x\"");
    ck_assert_str_eq(why("Host(`*.a`)", &q, false), "Host(`*.a`) does not match host \"b\"");
    ck_assert_str_eq(why("HostRegexp(`^a$`)", &q, false),
                     "HostRegexp(`^a$`) does not match host \"b\"");
    ck_assert_str_eq(why("Host(`b`) && Path(`/x`)", &q, true), "");
    /* The first failing matcher in evaluation order. */
    ck_assert_str_eq(why("Host(`b`) && Path(`/y`) && Host(`c`)", &q, false),
                     "Path(`/y`) does not match path \"/x\"");
}
END_TEST

START_TEST(or_and_not)
{
    struct table_request q = req("b", "/x");
    ck_assert_str_eq(why("Host(`a`) || Path(`/y`)", &q, false),
                     "no alternative of (Host(`a`) || Path(`/y`)) matched: Host(`a`) does not "
                     "match host \"b\"; Path(`/y`) does not match path \"/x\"");
    ck_assert_str_eq(why("Host(`a`) || Path(`/x`)", &q, true), "");
    ck_assert_str_eq(why("!Path(`/x`)", &q, false),
                     "!Path(`/x`) does not match: Path(`/x`) matches");
    ck_assert_str_eq(why("!Path(`/y`) && !!Host(`a`)", &q, false),
                     "!!Host(`a`) does not match: !Host(`a`) matches");
    ck_assert_str_eq(why("Host(`b`) && (Path(`/y`) || !Host(`b`))", &q, false),
                     "no alternative of (Path(`/y`) || !Host(`b`)) matched: Path(`/y`) does not "
                     "match path \"/x\"; !Host(`b`) does not match: Host(`b`) matches");
}
END_TEST

START_TEST(method_header_query_client_ip)
{
    struct h1_header h[2] = {
        {.name = "X-Env", .name_len = 5, .value = "prod", .value_len = 4},
        {.name = "Host", .name_len = 4, .value = "b", .value_len = 1},
    };
    struct table_request q = req("b", "/x");
    ck_assert_str_eq(why("Method(`POST`)", &q, false),
                     "Method(`POST`) does not match method \"GET\"");
    ck_assert_str_eq(why("Header(`X-Env`, `dev`)", &q, false),
                     "Header(`X-Env`, `dev`) does not match: no header \"X-Env\"");
    q.headers = h;
    q.nheaders = 2;
    ck_assert_str_eq(why("Header(`x-env`, `dev`)", &q, false),
                     "Header(`x-env`, `dev`) does not match header \"x-env\" = \"prod\"");
    ck_assert_str_eq(why("HeaderRegexp(`X-Env`, `^d`)", &q, false),
                     "HeaderRegexp(`X-Env`, `^d`) does not match header \"X-Env\" = \"prod\"");
    ck_assert_str_eq(why("Header(`X-Env`, `prod`)", &q, true), "");
    ck_assert_str_eq(why("Header(`Host`, `b`)", &q, false),
                     "Header(`Host`, `b`) does not match: this header is never visible to header "
                     "matchers");
    ck_assert_str_eq(why("Query(`a`, `1`)", &q, false), "Query(`a`, `1`) does not match: no query");
    q.query = "a=2&b";
    q.query_len = 5;
    ck_assert_str_eq(why("Query(`a`, `1`)", &q, false),
                     "Query(`a`, `1`) does not match query \"a=2&b\"");
    ck_assert_str_eq(why("Query(`b`)", &q, true), "");
    ck_assert_str_eq(why("ClientIP(`10.0.0.0/8`)", &q, false),
                     "ClientIP(`10.0.0.0/8`) does not match: client address unknown");
    q.client_family = AF_INET;
    ck_assert_int_eq(inet_pton(AF_INET, "192.168.1.2", q.client_addr), 1);
    ck_assert_str_eq(why("ClientIP(`10.0.0.0/8`)", &q, false),
                     "ClientIP(`10.0.0.0/8`) does not match client IP \"192.168.1.2\"");
    ck_assert_str_eq(why("ClientIP(`192.168.0.0/16`)", &q, true), "");
}
END_TEST

START_TEST(quoting_and_truncation)
{
    struct table_request q = req("b", "/a\"b\\c\x01");
    char small[12];
    struct rule *r = NULL;
    struct err e = {0};
    ck_assert_str_eq(why("Path(`/`)", &q, false),
                     "Path(`/`) does not match path \"/a\\\"b\\\\c\\x01\"");
    ck_assert_int_eq(rule_parse("Host(`a`)", &r, &e), 0);
    ck_assert(!rule_explain(r, &q, small, sizeof small));
    ck_assert_str_eq(small, "Host(`a`) d");
    ck_assert(!rule_explain(r, &q, NULL, 0));
    rule_free(r);
}
END_TEST

/* ---- table_explain ---- */

static struct table *make(const struct rdef *defs, uint32_t n)
{
    return table_fixture(defs, n, 1);
}

/* What table_explain visited, as "name:matched:reason|..." */
struct seen {
    char text[2048];
    int n;
};

static void visit(void *arg, const struct table_router *rt, bool matched, const char *reason)
{
    struct seen *s = arg;
    size_t len = strlen(s->text);
    ck_assert(matched == (reason == NULL));
    snprintf(s->text + len, sizeof s->text - len, "%s%s:%s", s->n++ ? "|" : "", rt->name,
             matched ? "matched" : reason);
}

static const char *explain(const struct table *t, const struct table_request *q, bool want)
{
    static struct seen s;
    memset(&s, 0, sizeof s);
    ck_assert(table_explain(t, q, visit, &s) == want);
    if (q->entrypoint != TABLE_ENTRYPOINT_ANY) {
        const struct table_router *m = table_match(t, q);
        ck_assert(want == (m != NULL));
    }
    return s.text;
}

static const struct rdef sample[] = {
    {"site@f", "Host(`a.com`)", 13, 1},    {"api@f", "Host(`a.com`) && PathPrefix(`/api`)", 34, 1},
    {"admin@f", "Path(`/admin`)", 50, 2},  {"zz@f", "Host(`b.com`)", 13, 1},
    {"nowhere@f", "Host(`a.com`)", 99, 0},
};

START_TEST(priority_order_and_stop)
{
    struct table *t = make(sample, 5);
    struct table_request q = req("a.com", "/x");
    q.entrypoint = 0;
    ck_assert_str_eq(explain(t, &q, true),
                     "api@f:PathPrefix(`/api`) does not match path \"/x\"|site@f:matched");
    q.entrypoint = TABLE_ENTRYPOINT_ANY;
    ck_assert_str_eq(explain(t, &q, true),
                     "admin@f:Path(`/admin`) does not match path \"/x\"|"
                     "api@f:PathPrefix(`/api`) does not match path \"/x\"|site@f:matched");
    table_unref(t);
}
END_TEST

START_TEST(no_match_lists_every_candidate)
{
    struct table *t = make(sample, 5);
    struct table_request q = req("c.com", "/x");
    q.entrypoint = 0;
    ck_assert_str_eq(explain(t, &q, false), "api@f:Host(`a.com`) does not match host \"c.com\"|"
                                            "site@f:Host(`a.com`) does not match host \"c.com\"|"
                                            "zz@f:Host(`b.com`) does not match host \"c.com\"");
    q.entrypoint = 1; /* only admin@f is attached */
    ck_assert_str_eq(explain(t, &q, false), "admin@f:Path(`/admin`) does not match path \"/x\"");
    q.entrypoint = 7; /* nobody */
    ck_assert_str_eq(explain(t, &q, false), "");
    q.entrypoint = 64; /* out of range: as table_match, nothing */
    ck_assert_str_eq(explain(t, &q, false), "");
    table_unref(t);
}
END_TEST

START_TEST(agrees_with_match)
{
    static const char *hosts[] = {"a.com", "b.com", "c.com"};
    static const char *paths[] = {"/", "/api/v1", "/admin"};
    struct table *t = make(sample, 5);
    for (uint32_t ep = 0; ep < 3; ep++) {
        for (int h = 0; h < 3; h++) {
            for (int p = 0; p < 3; p++) {
                struct table_request q = req(hosts[h], paths[p]);
                q.entrypoint = ep;
                explain(t, &q, table_match(t, &q) != NULL);
            }
        }
    }
    table_unref(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("table_explain");
    TCase *tc = tcase_create("explain");
    tcase_add_test(tc, host_and_path);
    tcase_add_test(tc, or_and_not);
    tcase_add_test(tc, method_header_query_client_ip);
    tcase_add_test(tc, quoting_and_truncation);
    tcase_add_test(tc, priority_order_and_stop);
    tcase_add_test(tc, no_match_lists_every_candidate);
    tcase_add_test(tc, agrees_with_match);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
