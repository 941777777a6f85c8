/* Unit tests of the host index of node/table/table: rule_required_host(), and table_match()
 * agreeing with the linear scan (table_match_linear()) on generated tables and requests. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/table/rule.h"
#include "node/table/table-build.h"
#include "tests/unit/table/table_fixture.h"

/* ---- rule_required_host ---- */

static void want_host(const char *text, const char *host)
{
    struct rule *r = NULL;
    struct err e = {0};
    ck_assert_msg(rule_parse(text, &r, &e) == 0, "%s: %s", text, e.msg);
    const char *h = NULL;
    size_t len = 0;
    bool got = rule_required_host(r, &h, &len);
    if (host == NULL) {
        ck_assert_msg(!got, "%s: unexpected host %.*s", text, (int)len, h);
    } else {
        ck_assert_msg(got, "%s: no host", text);
        ck_assert_msg(len == strlen(host) && memcmp(h, host, len) == 0, "%s: got %.*s", text,
                      (int)len, h);
    }
    rule_free(r);
}

START_TEST(required_host_cases)
{
    want_host("Host(`a.com`)", "a.com");
    want_host("Host(`A.Com.`)", "a.com");
    want_host("Host(`a.com`) && PathPrefix(`/x`)", "a.com");
    want_host("PathPrefix(`/x`) && Host(`a.com`)", "a.com");
    want_host("Method(`GET`) && (PathPrefix(`/x`) && Host(`b.com`))", "b.com");
    want_host("(Host(`a.com`))", "a.com");
    want_host("Host(`*.a.com`)", NULL);
    want_host("Host(`*`)", NULL);
    want_host("Host(`*`) && Host(`c.com`)", "c.com");
    want_host("HostRegexp(`^a\\.com$`)", NULL);
    want_host("PathPrefix(`/`)", NULL);
    want_host("Host(`a.com`) || Host(`b.com`)", NULL);
    want_host("!Host(`a.com`)", NULL);
    want_host("!Host(`a.com`) && PathPrefix(`/`)", NULL);
    want_host("(Host(`a.com`) || Path(`/x`)) && Method(`GET`)", NULL);
}
END_TEST

/* ---- Tables ---- */

static struct table *make(const struct rdef *defs, uint32_t n)
{
    return table_fixture(defs, n, 1);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

enum { NHOSTS = 40 };

/* Host number k in a random spelling (case, trailing dot) for rules or requests. */
static void host_text(char *out, size_t size, uint32_t k, bool vary)
{
    snprintf(out, size, "h%u.example.com", k);
    if (!vary) {
        return;
    }
    if (rnd(3) == 0) {
        for (char *c = out; *c; c++) {
            if (rnd(2) == 0 && *c >= 'a' && *c <= 'z') {
                *c = (char)(*c - 32);
            }
        }
    }
    if (rnd(4) == 0) {
        strcat(out, ".");
    }
}

static void gen_rule(char *out, size_t size)
{
    char h1[64], h2[64];
    host_text(h1, sizeof h1, rnd(NHOSTS), true);
    host_text(h2, sizeof h2, rnd(NHOSTS), true);
    static const char *paths[] = {"/", "/api", "/api/v1", "/static", "/x"};
    const char *path = paths[rnd(5)];
    switch (rnd(14)) {
    case 0:
    case 1:
    case 2:
        snprintf(out, size, "Host(`%s`)", h1);
        break;
    case 3:
    case 4:
        snprintf(out, size, "Host(`%s`) && PathPrefix(`%s`)", h1, path);
        break;
    case 5:
        snprintf(out, size, "PathPrefix(`%s`) && (Method(`GET`) && Host(`%s`))", path, h1);
        break;
    case 6:
        snprintf(out, size, "HostRegexp(`^h%u\\.example\\.com$`)", rnd(NHOSTS));
        break;
    case 7:
        snprintf(out, size, "PathPrefix(`%s`)", path);
        break;
    case 8:
        snprintf(out, size, "Host(`%s`) || Host(`%s`)", h1, h2);
        break;
    case 9:
        snprintf(out, size, "!Host(`%s`)", h1);
        break;
    case 10:
        snprintf(out, size, "Host(`*.example.com`) && PathPrefix(`%s`)", path);
        break;
    case 11:
        snprintf(out, size, "Host(`*`) && Path(`%s`)", path);
        break;
    case 12:
        snprintf(out, size, "(Host(`%s`) || PathPrefix(`%s`)) && Method(`GET`)", h1, path);
        break;
    default:
        snprintf(out, size, "!Host(`%s`) && Host(`%s`)", h1, h2);
        break;
    }
}

static void check_same(const struct table *t, const struct table_request *q)
{
    const struct table_router *a = table_match(t, q), *b = table_match_linear(t, q);
    ck_assert_msg(a == b, "host %.*s path %.*s ep %u: index %s, scan %s", (int)q->host_len, q->host,
                  (int)q->path_len, q->path, q->entrypoint, a ? a->name : "(none)",
                  b ? b->name : "(none)");
}

START_TEST(index_agrees_with_scan)
{
    enum { NTABLES = 20, NROUTERS = 300, NREQ = 3000 };
    static struct rdef defs[NROUTERS];
    static const char *paths[] = {"/", "/api", "/api/v1/x", "/static/a.css", "/x", "/y"};
    static const char *methods[] = {"GET", "POST"};
    for (int tn = 0; tn < NTABLES; tn++) {
        uint32_t n = tn == 0 ? 0 : 1 + rnd(NROUTERS);
        for (uint32_t i = 0; i < n; i++) {
            /* Random order among equal priorities; the suffix keeps names unique. */
            snprintf(defs[i].name, sizeof defs[i].name, "r%05u-%u@f", rnd(100000), i);
            gen_rule(defs[i].rule, sizeof defs[i].rule);
            /* Few distinct priorities, so that ties (broken by name) are common. */
            defs[i].priority = rnd(2) ? (int64_t)rnd(5) : (int64_t)strlen(defs[i].rule);
            defs[i].entrypoints = 1 + rnd(3);
        }
        struct table *t = make(defs, n);
        for (int k = 0; k < NREQ; k++) {
            char host[64];
            switch (rnd(8)) {
            case 0:
                strcpy(host, rnd(2) ? "" : ".");
                break;
            case 1:
                snprintf(host, sizeof host, "other%u.test", rnd(3));
                break;
            case 2:
                snprintf(host, sizeof host, "a.b.example.com");
                break;
            default:
                host_text(host, sizeof host, rnd(NHOSTS + 2), true);
                break;
            }
            const char *path = paths[rnd(6)];
            const char *method = methods[rnd(2)];
            struct table_request q = {.host = host,
                                      .host_len = (uint32_t)strlen(host),
                                      .path = path,
                                      .path_len = (uint32_t)strlen(path),
                                      .method = method,
                                      .method_len = (uint32_t)strlen(method),
                                      .entrypoint = rnd(3)};
            check_same(t, &q);
        }
        table_unref(t);
    }
}
END_TEST

START_TEST(ten_thousand_host_routers)
{
    enum { N = 10000 };
    static struct rdef defs[N + 2];
    for (uint32_t i = 0; i < N; i++) {
        snprintf(defs[i].name, sizeof defs[i].name, "r%05u@f", i);
        snprintf(defs[i].rule, sizeof defs[i].rule, "Host(`h%u.example`) && PathPrefix(`/`)", i);
        defs[i].priority = (int64_t)strlen(defs[i].rule);
        defs[i].entrypoints = 1;
    }
    /* Two unindexed routers around them in priority: one above (only /admin), one below. */
    defs[N] = (struct rdef){"admin@f", "PathPrefix(`/admin`)", 1000, 1};
    defs[N + 1] = (struct rdef){"fallback@f", "PathPrefix(`/`)", 1, 1};
    struct table *t = make(defs, N + 2);
    char host[64], want[32];
    for (uint32_t i = 0; i < N; i += 7) {
        snprintf(host, sizeof host, i % 2 ? "H%u.Example." : "h%u.example", i);
        snprintf(want, sizeof want, "r%05u@f", i);
        struct table_request q = {
            .host = host, .host_len = (uint32_t)strlen(host), .path = "/p", .path_len = 2};
        const struct table_router *r = table_match(t, &q);
        ck_assert_ptr_nonnull(r);
        ck_assert_str_eq(r->name, want);
        check_same(t, &q);
        q.path = "/admin/x";
        q.path_len = 8;
        ck_assert_str_eq(table_match(t, &q)->name, "admin@f");
    }
    struct table_request q = {.host = "h10000.example", .host_len = 14, .path = "/", .path_len = 1};
    ck_assert_str_eq(table_match(t, &q)->name, "fallback@f");
    q.entrypoint = 1;
    ck_assert_ptr_null(table_match(t, &q));
    table_unref(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("table_index");
    TCase *tc = tcase_create("index");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, required_host_cases);
    tcase_add_test(tc, index_agrees_with_scan);
    tcase_add_test(tc, ten_thousand_host_routers);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
