/* Unit tests of node/table/rule: the matchers beyond Host/Path/PathPrefix (Method, Header,
 * HeaderRegexp, Query, QueryRegexp, ClientIP, HostRegexp, PathRegexp) with Traefik's semantics
 * (docs/traefik-rules.md), RE2-only regex syntax, and the regex match limits. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "node/http/h1_parse.h"
#include "node/table/rule.h"

/* A request; fields are set by the tests before match(). */
static struct table_request req;
static struct h1_header hdrs[8];

static void reset(void)
{
    memset(&req, 0, sizeof req);
    memset(hdrs, 0, sizeof hdrs);
    req.host = "example.com";
    req.host_len = 11;
    req.path = "/";
    req.path_len = 1;
    req.method = "GET";
    req.method_len = 3;
    req.headers = hdrs;
}

static void set_method(const char *m)
{
    req.method = m;
    req.method_len = (uint32_t)strlen(m);
}

static void set_host(const char *h)
{
    req.host = h;
    req.host_len = (uint32_t)strlen(h);
}

static void set_path(const char *p)
{
    req.path = p;
    req.path_len = (uint32_t)strlen(p);
}

static void add_header(const char *name, const char *value)
{
    struct h1_header *h = &hdrs[req.nheaders++];
    h->name = name;
    h->name_len = (uint32_t)strlen(name);
    h->value = value;
    h->value_len = (uint32_t)strlen(value);
}

static void set_query(const char *q)
{
    req.query = q;
    req.query_len = q ? (uint32_t)strlen(q) : 0;
}

static void set_client(const char *ip)
{
    if (inet_pton(AF_INET, ip, req.client_addr) == 1) {
        req.client_family = AF_INET;
    } else {
        ck_assert_int_eq(inet_pton(AF_INET6, ip, req.client_addr), 1);
        req.client_family = AF_INET6;
    }
}

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
    struct rule *r = NULL;
    struct err e = {0};
    int rc = rule_parse(text, &r, &e);
    ck_assert_msg(rc == -EINVAL, "%s: rc %d", text, rc);
    ck_assert_ptr_null(r);
    ck_assert_str_eq(e.msg, msg);
}

/* The error starts with `prefix` (the rest is PCRE2's wording). */
static void parse_fails_prefix(const char *text, const char *prefix)
{
    struct rule *r = NULL;
    struct err e = {0};
    ck_assert_msg(rule_parse(text, &r, &e) == -EINVAL, "%s parsed", text);
    ck_assert_msg(strncmp(e.msg, prefix, strlen(prefix)) == 0, "%s: %s", text, e.msg);
}

static bool match(const char *text)
{
    struct rule *r = parse_ok(text);
    bool m = rule_match(r, &req);
    rule_free(r);
    return m;
}

static void canon(const char *text, const char *want)
{
    char buf[256];
    struct rule *r = parse_ok(text);
    rule_format(r, buf, sizeof buf);
    ck_assert_str_eq(buf, want);
    rule_free(r);
}

START_TEST(method)
{
    reset();
    ck_assert(match("Method(`GET`)"));
    ck_assert(match("Method(`get`)")); /* upper-cased at load */
    ck_assert(match("method(`Get`)"));
    ck_assert(!match("Method(`POST`)"));
    canon("Method(`get`)", "Method(`GET`)");
    set_method("get"); /* compared case-sensitively: a lower-case method never matches */
    ck_assert(!match("Method(`get`)"));
    ck_assert(!match("Method(`GET`)"));
    set_method("PURGE");
    ck_assert(match("Method(`purge`) && Host(`example.com`)"));
    ck_assert(!match("Method(`PURG`)"));
    req.method = NULL, req.method_len = 0;
    ck_assert(!match("Method(`GET`)"));
    parse_fails("Method(`GET`,`POST`)", "rule: col 1: Method takes 1 value, got 2"
                                        " (several values are v2 syntax; use || in v3)");
    parse_fails("Method(``)", "rule: col 8: Method: empty value");
}
END_TEST

START_TEST(header)
{
    reset();
    add_header("Host", "example.com");
    add_header("X-Foo", "a, b");
    add_header("x-foo", "c");
    add_header("Accept", "text/html");
    ck_assert(match("Header(`X-Foo`,`c`)"));
    ck_assert(match("Header(`x-foo`,`a, b`)")); /* name in any case; value per line, exact */
    ck_assert(match("Header(`X-FOO`,`c`)"));
    ck_assert(!match("Header(`X-Foo`,`a`)")); /* no splitting of comma lists */
    ck_assert(!match("Header(`X-Foo`,`b`)"));
    ck_assert(!match("Header(`X-Foo`,`C`)")); /* values are case-sensitive */
    ck_assert(!match("Header(`X-Foo`,`a,b`)"));
    ck_assert(!match("Header(`X-Bar`,`c`)"));
    ck_assert(!match("Header(`X-Fo`,`c`)"));
    ck_assert(match("Header(`accept`,`text/html`)"));
    /* Go moves Host out of the header map: Header(`Host`, ...) never matches. */
    ck_assert(!match("Header(`Host`,`example.com`)"));
    ck_assert(!match("HeaderRegexp(`Host`,`.`)"));
    add_header("Transfer-Encoding", "chunked");
    ck_assert(!match("Header(`Transfer-Encoding`,`chunked`)"));
    canon("header(`X-Foo`,\"c\")", "Header(`X-Foo`, `c`)");
    parse_fails("Header(`X-Foo`)", "rule: col 1: Header takes 2 values, got 1");
    parse_fails("Header(`X-Foo`,``)", "rule: col 16: Header: empty value");
    parse_fails("Header(``,`a`)", "rule: col 8: Header: empty value");
    req.nheaders = 0;
    ck_assert(!match("Header(`X-Foo`,`c`)"));
}
END_TEST

START_TEST(header_regexp)
{
    reset();
    add_header("User-Agent", "Mozilla/5.0 (iPhone) Mobile Safari");
    add_header("X-Num", "abc");
    add_header("x-num", "123");
    ck_assert(match("HeaderRegexp(`User-Agent`,`Mobile`)")); /* unanchored */
    ck_assert(!match("HeaderRegexp(`User-Agent`,`^Mobile`)"));
    ck_assert(!match("HeaderRegexp(`User-Agent`,`mobile`)")); /* case-sensitive */
    ck_assert(match("HeaderRegexp(`User-Agent`,`(?i)mobile`)"));
    ck_assert(match("HeaderRegexp(`x-NUM`,`^[0-9]+$`)")); /* any line */
    ck_assert(!match("HeaderRegexp(`X-Num`,`^[0-9]+[a-z]$`)"));
    ck_assert(!match("HeaderRegexp(`X-None`,`.*`)"));
    canon("HeaderRegexp(`a`,`b+`)", "HeaderRegexp(`a`, `b+`)");
    parse_fails("HeaderRegexp(`a`)", "rule: col 1: HeaderRegexp takes 2 values, got 1");
}
END_TEST

START_TEST(query)
{
    reset();
    set_query("a=1&b=2;c&d=&e=x%20y&f=a+b&g=%zz&g=ok&x=1&x=2&my+key=v&bad%=1&h=%4A%4b&&=z");
    ck_assert(match("Query(`a`,`1`)"));
    ck_assert(match("Query(`b`,`2`)"));
    ck_assert(match("Query(`c`)")); /* ';' separates; a key without '=' has the empty value */
    ck_assert(match("Query(`d`)"));
    ck_assert(!match("Query(`a`)")); /* one-arg form: the value must be empty */
    ck_assert(!match("Query(`c`,`1`)"));
    ck_assert(match("Query(`e`,`x y`)")); /* percent-decoded */
    ck_assert(match("Query(`f`,`a b`)")); /* '+' is a space */
    ck_assert(match("Query(`g`,`ok`)"));
    ck_assert(!match("Query(`g`,`%zz`)")); /* bad escape: the pair is dropped */
    ck_assert(!match("Query(`bad%`,`1`)"));
    ck_assert(match("Query(`x`,`1`)"));
    ck_assert(match("Query(`x`,`2`)")); /* any value */
    ck_assert(!match("Query(`x`,`3`)"));
    ck_assert(match("Query(`my key`,`v`)"));
    ck_assert(match("Query(`h`,`JK`)"));
    ck_assert(!match("Query(`A`,`1`)")); /* keys are case-sensitive */
    ck_assert(!match("Query(`a`,`1 `)"));
    ck_assert(!match("Query(`z`)"));
    canon("query(`c`)", "Query(`c`)");
    canon("Query(`a`,`1`)", "Query(`a`, `1`)");
    set_query("mobile");
    ck_assert(match("Query(`mobile`)"));
    set_query("");
    ck_assert(!match("Query(`mobile`)"));
    set_query(NULL);
    ck_assert(!match("Query(`mobile`)"));
    parse_fails("Query(`a`,`b`,`c`)", "rule: col 1: Query takes 1 or 2 values, got 3");
    parse_fails("Query()", "rule: col 1: Query takes 1 or 2 values, got 0");
    parse_fails("Query(`a`,``)", "rule: col 11: Query: empty value");
}
END_TEST

START_TEST(query_regexp)
{
    reset();
    set_query("id=4a&id=42&n=%34%32&flag&e=");
    ck_assert(match("QueryRegexp(`id`,`^[0-9]+$`)")); /* any value */
    ck_assert(!match("QueryRegexp(`id`,`^[a-z]+$`)"));
    ck_assert(match("QueryRegexp(`id`,`a`)"));   /* unanchored */
    ck_assert(match("QueryRegexp(`n`,`^42$`)")); /* on the decoded value */
    ck_assert(!match("QueryRegexp(`ID`,`.`)"));
    ck_assert(match("QueryRegexp(`flag`,`^$`)"));
    /* The one-arg form is Query(k): some value is empty. */
    ck_assert(match("QueryRegexp(`flag`)"));
    ck_assert(match("QueryRegexp(`e`)"));
    ck_assert(!match("QueryRegexp(`id`)"));
    canon("QueryRegexp(`flag`)", "QueryRegexp(`flag`)");
    canon("QueryRegexp(`id`,`[0-9]`)", "QueryRegexp(`id`, `[0-9]`)");
    /* A long value goes through the per-thread decode buffer. */
    static char big[20000];
    memcpy(big, "k=", 2);
    memset(big + 2, 'x', sizeof big - 4);
    big[sizeof big - 2] = 'y';
    big[sizeof big - 1] = '\0';
    set_query(big);
    ck_assert(match("QueryRegexp(`k`,`xy$`)"));
    ck_assert(!match("QueryRegexp(`k`,`z`)"));
}
END_TEST

START_TEST(client_ip)
{
    reset();
    set_client("127.0.0.1");
    ck_assert(match("ClientIP(`127.0.0.1`)"));
    ck_assert(!match("ClientIP(`127.0.0.2`)"));
    ck_assert(match("ClientIP(`127.0.0.0/8`)"));
    ck_assert(match("ClientIP(`127.1.2.3/8`)")); /* host bits in a CIDR are ignored, as in Go */
    ck_assert(match("ClientIP(`0.0.0.0/0`)"));
    ck_assert(!match("ClientIP(`::1`)"));
    ck_assert(!match("ClientIP(`::1/128`)"));
    set_client("10.1.2.3");
    ck_assert(match("ClientIP(`10.0.0.0/8`)"));
    ck_assert(match("ClientIP(`10.1.2.0/23`)"));
    ck_assert(!match("ClientIP(`10.1.4.0/23`)"));
    ck_assert(!match("ClientIP(`11.0.0.0/8`)"));
    ck_assert(match("ClientIP(`10.1.2.3/32`)"));
    set_client("::ffff:10.1.2.3"); /* v4-mapped clients match v4 rules, as net.IP does */
    ck_assert(match("ClientIP(`10.0.0.0/8`)"));
    ck_assert(match("ClientIP(`10.1.2.3`)"));
    set_client("::1");
    ck_assert(match("ClientIP(`::1`)"));
    ck_assert(match("ClientIP(`::1/128`)"));
    ck_assert(!match("ClientIP(`127.0.0.1`)"));
    ck_assert(!match("ClientIP(`0.0.0.0/0`)"));
    ck_assert(match("ClientIP(`::/0`)"));
    set_client("2001:db8:1234::5");
    ck_assert(match("ClientIP(`2001:db8::/32`)"));
    ck_assert(match("ClientIP(`2001:db8:1234::/48`)"));
    ck_assert(!match("ClientIP(`2001:db8:1235::/48`)"));
    ck_assert(match("ClientIP(`2001:db8:1234::/47`) && !ClientIP(`2001:db9::/32`)"));
    req.client_family = 0; /* unknown remote address: never matches */
    ck_assert(!match("ClientIP(`::/0`)"));
    ck_assert(!match("ClientIP(`0.0.0.0/0`)"));
    canon("clientip(`10.0.0.0/8`)", "ClientIP(`10.0.0.0/8`)");
    static const char *bad[] = {"300.1.1.1",   "10.0.0.0/33", "a",         "::1/129",
                                "10.0.0.1/",   "10.0.0.1/-1", "010.0.0.1", "fe80::1%eth0",
                                "1.2.3.4/8/8", "1.2.3"};
    char text[64];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "ClientIP(`%s`)", bad[i]);
        parse_fails(text, "rule: col 10: ClientIP: invalid IP or CIDR");
    }
    parse_fails("ClientIP(`1.2.3.4`,`::1`)", "rule: col 1: ClientIP takes 1 value, got 2"
                                             " (several values are v2 syntax; use || in v3)");
}
END_TEST

START_TEST(host_regexp)
{
    reset();
    /* The caller lower-cases the host, so an upper-case class never matches. */
    set_host("example.com");
    ck_assert(!match("HostRegexp(`^[A-Z]+\\.com$`)"));
    ck_assert(match("HostRegexp(`^[a-z]+\\.com$`)"));
    ck_assert(match("HostRegexp(`(?i)^[A-Z]+\\.com$`)"));
    ck_assert(match("HostRegexp(`ample`)")); /* unanchored */
    ck_assert(match("HostRegexp(`com$`)"));
    ck_assert(!match("HostRegexp(`^ample`)"));
    ck_assert(match("hostregexp(`^example\\.(com|org)$`)"));
    /* `$` is the end of the text only, as in RE2 (not before a final newline). */
    set_host("a\n");
    ck_assert(!match("HostRegexp(`^a$`)"));
    /* v2 template text is literal in v3: `{` not starting a repeat is a literal. */
    set_host("{sub:x}.example.com");
    ck_assert(match("HostRegexp(`^{sub:[a-z]+}\\.example\\.com$`)"));
    set_host("x.example.com");
    ck_assert(!match("HostRegexp(`^{sub:[a-z]+}\\.example\\.com$`)"));
    set_host("");
    ck_assert(match("HostRegexp(`^$`)"));
    canon("HostRegexp(`^a+$`)", "HostRegexp(`^a+$`)");
    parse_fails("HostRegexp(`\xc3\xa9`)", "rule: col 12: HostRegexp: value must be ASCII "
                                          "(use punycode)");
    parse_fails_prefix("HostRegexp(`(`)", "rule: col 12: HostRegexp: invalid regexp at offset 1: ");
    parse_fails_prefix("HostRegexp(`a{2,1}`)", "rule: col 12: HostRegexp: repeat count");
}
END_TEST

START_TEST(path_regexp)
{
    reset();
    set_path("/static/app.css");
    ck_assert(match("PathRegexp(`\\.(css|js)$`)"));
    ck_assert(match("PathRegexp(`static`)")); /* unanchored, no leading '/' needed */
    ck_assert(!match("PathRegexp(`^static`)"));
    ck_assert(!match("PathRegexp(`\\.CSS$`)"));
    set_path("/static/app.cssx");
    ck_assert(!match("PathRegexp(`\\.(css|js)$`)"));
    set_path("/a%2Fb"); /* matched in escaped form */
    ck_assert(!match("PathRegexp(`^/a/b$`)"));
    ck_assert(match("PathRegexp(`^/a%2Fb$`)"));
    set_path("/caf\xc3\xa9");
    ck_assert(match("PathRegexp(`^/caf.$`)")); /* UTF-8: '.' is one character */
    set_path("/caf\xe9"); /* invalid UTF-8 in the subject: no error, no match across it */
    ck_assert(!match("PathRegexp(`^/caf.$`)"));
    ck_assert(match("PathRegexp(`^/caf`)"));
    parse_fails_prefix("PathRegexp(`[a`)", "rule: col 12: PathRegexp: invalid regexp at offset");
}
END_TEST

/* Everything PCRE2 has and RE2 lacks is refused, naming the construct. */
START_TEST(refused_constructs)
{
    static const struct {
        const char *re, *what;
    } cases[] = {
        {"(a)\\1", "backreference \\1"},
        {"(?P<n>a)(?P=n)", "backreference (?P="},
        {"(?<n>a)\\k<n>", "backreference \\k"},
        {"(a)\\g1", "backreference \\g"},
        {"a(?=b)", "lookahead (?="},
        {"a(?!b)", "negative lookahead (?!"},
        {"(?<=a)b", "lookbehind (?<="},
        {"(?<!a)b", "negative lookbehind (?<!"},
        {"(?>a+)b", "group (?>"},
        {"(?R)", "group (?R"},
        {"(?#note)a", "group (?#"},
        {"(?x)a b", "group (?x"},
        {"(?|a|b)", "group (?|"},
        {"(*FAIL)", "verb (*"},
        {"a++", "possessive quantifier ++"},
        {"a*+", "possessive quantifier *+"},
        {"a**", "nested quantifier **"},
        {"a+?+", "nested quantifier ?+"},
        {"a{2}{3}", "nested quantifier {3}"},
        {"a\\Z", "escape \\Z"},
        {"\\Ka", "escape \\K"},
        {"\\h", "escape \\h"},
        {"\\R", "escape \\R"},
        {"\\C", "escape \\C"},
        {"a{1001}", "repeat count {1001} (at most 1000)"},
    };
    static const char *matchers[] = {"PathRegexp(", "HostRegexp(", "HeaderRegexp(`k`,",
                                     "QueryRegexp(`k`,"};
    static const int cols[] = {12, 12, 18, 17};
    static const char *names[] = {"PathRegexp", "HostRegexp", "HeaderRegexp", "QueryRegexp"};
    char text[128], want[256];
    for (size_t m = 0; m < 4; m++) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            snprintf(text, sizeof text, "%s`%s`)", matchers[m], cases[i].re);
            snprintf(want, sizeof want,
                     "rule: col %d: %s: %s is not supported (RE2 syntax has no such construct)",
                     cols[m], names[m], cases[i].what);
            parse_fails(text, want);
        }
    }
    /* Look-alikes that are RE2: escaped or quoted parens, classes, flags, named groups, lazy
     * quantifiers, POSIX classes, \x{..}, \p{..}. */
    static const char *fine[] = {"[(?=]",        "\\(?=",        "\\Q(?=\\1\\E", "(?i:a)b",
                                 "(?i)a(?-i)b",  "(?P<n>a)",     "(?<n>a)",      "a*?b+?c??",
                                 "a{2,3}?",      "[[:alpha:]]+", "\\x{41}{2}",   "\\p{Greek}+",
                                 "[]a]",         "[^]a]",        "a{,3}",        "\\d\\s\\w\\b",
                                 "\\.\\*\\+\\?", "(?s).",        "(?U)a+",       "a{1000}"};
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        snprintf(text, sizeof text, "PathRegexp(`%s`)", fine[i]);
        rule_free(parse_ok(text));
    }
    reset();
    set_path("/x(?=y");
    ck_assert(match("PathRegexp(`\\Q(?=\\E`)"));
}
END_TEST

/* `(a+)+$` on "aaa…ab" backtracks exponentially; the match limit stops it: no match, counted. */
START_TEST(pathological_pattern)
{
    static char path[64];
    reset();
    path[0] = '/';
    memset(path + 1, 'a', 48);
    path[49] = 'b';
    path[50] = '\0';
    set_path(path);
    uint64_t before = rule_regex_aborts();
    ck_assert(!match("PathRegexp(`(a+)+$`)"));
    ck_assert_uint_eq(rule_regex_aborts(), before + 1);
    add_header("X-A", path + 1);
    ck_assert(!match("HeaderRegexp(`X-A`,`^(a|aa)+$`)"));
    ck_assert_uint_eq(rule_regex_aborts(), before + 2);
    /* Ordinary patterns on the same input stay under the limits. */
    ck_assert(match("PathRegexp(`a+b$`)"));
    ck_assert(!match("PathRegexp(`a+c$`)"));
    ck_assert_uint_eq(rule_regex_aborts(), before + 2);
}
END_TEST

/* Several threads evaluate the same rule at once (per-thread match data). */
static struct rule *shared;

static void *worker(void *arg)
{
    struct h1_header h = {.name = "X-Id", .name_len = 4};
    char value[32], qbuf[48];
    long id = (long)arg, ok = 0;
    for (int i = 0; i < 2000; i++) {
        struct table_request q = {.host = "api.example.com",
                                  .host_len = 15,
                                  .path = "/v1/items/42",
                                  .path_len = 12,
                                  .method = "GET",
                                  .method_len = 3,
                                  .headers = &h,
                                  .nheaders = 1};
        int n = snprintf(value, sizeof value, "%ld-%d", id, i);
        h.value = value;
        h.value_len = (uint32_t)n;
        n = snprintf(qbuf, sizeof qbuf, "page=%d", i);
        q.query = qbuf;
        q.query_len = (uint32_t)n;
        bool want = i % 2 == 0;
        ok += rule_match(shared, &q) == want;
    }
    return (void *)ok;
}

START_TEST(concurrent_threads)
{
    shared = parse_ok("HostRegexp(`^api\\.`) && PathRegexp(`/[0-9]+$`) && "
                      "HeaderRegexp(`x-id`,`^[0-9]+-[0-9]+$`) && "
                      "QueryRegexp(`page`,`[02468]$`) && Method(`GET`)");
    pthread_t t[4];
    for (long i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_create(&t[i], NULL, worker, (void *)i), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *ok;
        pthread_join(t[i], &ok);
        ck_assert_int_eq((long)ok, 2000);
    }
    rule_free(shared);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("table_rule_matchers");
    TCase *tc = tcase_create("matchers");
    tcase_add_test(tc, method);
    tcase_add_test(tc, header);
    tcase_add_test(tc, header_regexp);
    tcase_add_test(tc, query);
    tcase_add_test(tc, query_regexp);
    tcase_add_test(tc, client_ip);
    tcase_add_test(tc, host_regexp);
    tcase_add_test(tc, path_regexp);
    tcase_add_test(tc, refused_constructs);
    tcase_add_test(tc, pathological_pattern);
    tcase_add_test(tc, concurrent_threads);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
