/* Unit tests of node/proxy/balance.c: exact weighted splits, nested weighted services,
 * failover on "no usable server", the mirroring counter, sticky cookies (lookup, fallback to a
 * normal pick, the Set-Cookie line). Tables come from YAML through the real compiler. */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/proxy/balance.h"
#include "node/table/compile.h"
#include "providers/decode.h"

struct bt {
    struct table *t;
    struct balance b;
    struct diags d;
};

/* Host names never resolve here: "down.invalid" makes an unusable server. */
static int no_resolve(void *arg, const char *host, uint16_t port, struct sockaddr_storage *addr,
                      uint32_t *addrlen, struct err *e)
{
    (void)arg, (void)host, (void)port, (void)addr, (void)addrlen;
    snprintf(e->msg, sizeof e->msg, "test: no DNS");
    return -ENOENT;
}

static void setup(struct bt *f, const char *yaml)
{
    Concord__Config__Config *cfg = NULL;
    const char *eps[] = {"web"};
    struct table_compile_opts o = {
        .entrypoints = eps, .n_entrypoints = 1, .generation = 1, .resolve = no_resolve};
    struct table_source src;
    memset(f, 0, sizeof *f);
    diags_init(&f->d);
    ck_assert_int_eq(decode_dynamic_string("dyn.yaml", yaml, strlen(yaml), &cfg, &f->d), 0);
    src.ns = "test";
    src.cfg = cfg;
    ck_assert_int_eq(table_compile(&src, 1, &o, &f->t, &f->d), 0);
    ck_assert_uint_eq(f->d.nerrors, 0);
    decode_config_free(cfg);
    ck_assert_int_eq(balance_init(&f->b, f->t), 0);
}

static void teardown(struct bt *f)
{
    balance_fini(&f->b);
    table_unref(f->t);
    diags_fini(&f->d);
}

static const struct table_service *svc(struct bt *f, const char *name)
{
    const struct table_service *s = table_service_find(f->t, name);
    ck_assert_msg(s != NULL, "no service %s", name);
    return s;
}

/* The port of the picked server's URL ("http://127.0.0.1:<port>"). */
static int pick_port(struct bt *f, const char *name, const struct h1_header *h, uint32_t nh,
                     struct bal_pick *p)
{
    struct bal_pick local;
    p = p ? p : &local;
    if (balance_pick(&f->b, svc(f, name), h, nh, p) != 0) {
        return -1;
    }
    return atoi(strrchr(p->server->url, ':') + 1);
}

/* The current sticky value of `name` (a static buffer per call site use). */
static const char *val(const char *name)
{
    static char buf[4][TABLE_STICKY_LEN + 1];
    static int k;
    k = (k + 1) % 4;
    table_sticky_value(name, buf[k]);
    return buf[k];
}

/* FNV-1 64 in hex, Traefik's older sticky values. */
static const char *fnv(const char *s)
{
    static char buf[17];
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++) {
        h *= 1099511628211ull;
        h ^= (unsigned char)*s;
    }
    snprintf(buf, sizeof buf, "%" PRIx64, h);
    return buf;
}

#define SRV(port) "{url: 'http://127.0.0.1:" #port "'}"

START_TEST(lb_weights_exact_over_1000)
{
    struct bt f;
    int n[4] = {0};
    setup(&f, "http:\n  services:\n    s: {loadBalancer: {servers: [{url: 'http://127.0.0.1:1', "
              "weight: 5}, {url: 'http://127.0.0.1:2', weight: 3}, {url: 'http://127.0.0.1:3', "
              "weight: 2}, {url: 'http://127.0.0.1:4', weight: 0}]}}\n");
    for (int i = 0; i < 1000; i++) {
        int port = pick_port(&f, "s@test", NULL, 0, NULL);
        ck_assert(port >= 1 && port <= 3);
        n[port]++;
    }
    ck_assert_int_eq(n[1], 500);
    ck_assert_int_eq(n[2], 300);
    ck_assert_int_eq(n[3], 200);
    teardown(&f);
}
END_TEST

START_TEST(weighted_nested_exact)
{
    struct bt f;
    int n[4] = {0};
    setup(&f, "http:\n  services:\n"
              "    w: {weighted: {services: [{name: v, weight: 3}, {name: c, weight: 1}]}}\n"
              "    v: {weighted: {services: [{name: a, weight: 2}, {name: b, weight: 1}]}}\n"
              "    a: {loadBalancer: {servers: [" SRV(1) "]}}\n"
              "    b: {loadBalancer: {servers: [" SRV(2) "]}}\n"
              "    c: {loadBalancer: {servers: [" SRV(3) "]}}\n");
    for (int i = 0; i < 1200; i++) {
        struct bal_pick p;
        int port = pick_port(&f, "w@test", NULL, 0, &p);
        ck_assert(port >= 1 && port <= 3);
        n[port]++;
        ck_assert_ptr_eq(p.leaf, svc(&f, port == 1 ? "a@test" : port == 2 ? "b@test" : "c@test"));
        ck_assert_uint_eq(p.nset, 0);
    }
    /* w: 900 to v (600 a, 300 b), 300 to c. */
    ck_assert_int_eq(n[1], 600);
    ck_assert_int_eq(n[2], 300);
    ck_assert_int_eq(n[3], 300);
    teardown(&f);
}
END_TEST

START_TEST(failover_on_no_usable_server)
{
    struct bt f;
    setup(&f, "http:\n  services:\n"
              "    f0: {failover: {service: zero, fallback: b}}\n"
              "    f1: {failover: {service: dns, fallback: b}}\n"
              "    f2: {failover: {service: a, fallback: b}}\n"
              "    f3: {failover: {service: f0, fallback: a}}\n"
              "    f4: {failover: {service: zero, fallback: dns}}\n"
              "    a: {loadBalancer: {servers: [" SRV(1) "]}}\n"
              "    b: {loadBalancer: {servers: [" SRV(2) "]}}\n"
              "    zero: {loadBalancer: {servers: [{url: 'http://127.0.0.1:3', weight: 0}]}}\n"
              "    dns: {loadBalancer: {servers: [{url: 'http://down.invalid:4'}]}}\n");
    ck_assert_int_eq(pick_port(&f, "f0@test", NULL, 0, NULL), 2);
    ck_assert_int_eq(pick_port(&f, "f1@test", NULL, 0, NULL), 2);
    ck_assert_int_eq(pick_port(&f, "f2@test", NULL, 0, NULL), 1);
    ck_assert_int_eq(pick_port(&f, "f3@test", NULL, 0, NULL), 2); /* f0 usable through b */
    ck_assert(balance_usable(svc(&f, "f0@test")));
    ck_assert(!balance_usable(svc(&f, "f4@test")));
    ck_assert(!balance_usable(svc(&f, "zero@test")));
    /* Neither usable: the fallback is tried; an unresolved server is still picked (502). */
    struct bal_pick p;
    ck_assert_int_eq(balance_pick(&f.b, svc(&f, "f4@test"), NULL, 0, &p), 0);
    ck_assert_ptr_eq(p.leaf, svc(&f, "dns@test"));
    ck_assert_int_eq(balance_pick(&f.b, svc(&f, "zero@test"), NULL, 0, &p), -ENOENT);
    teardown(&f);
}
END_TEST

START_TEST(mirroring_counter_exact)
{
    struct bt f;
    int copies[3] = {0};
    setup(&f, "http:\n  services:\n"
              "    m: {mirroring: {service: a, mirrors: [{name: b, percent: 25}, {name: b, "
              "percent: 50}, {name: b, percent: 0}]}}\n"
              "    a: {loadBalancer: {servers: [" SRV(1) "]}}\n"
              "    b: {loadBalancer: {servers: [" SRV(2) "]}}\n");
    uint64_t prev = 0;
    for (int i = 0; i < 400; i++) {
        struct bal_pick p;
        ck_assert_int_eq(pick_port(&f, "m@test", NULL, 0, &p), 1);
        ck_assert_ptr_eq(p.mirroring, svc(&f, "m@test"));
        if (i == 0) {
            ck_assert_uint_eq(p.mirror_mask, 3); /* as Traefik: the first request is copied */
        }
        for (int k = 0; k < 3; k++) {
            copies[k] += (p.mirror_mask >> k) & 1;
        }
        if (i > 0) {
            /* 50%: every other request, never two in a row. */
            ck_assert(((p.mirror_mask >> 1) & 1) != ((prev >> 1) & 1));
        }
        prev = p.mirror_mask;
        if (i % 100 == 99) {
            ck_assert_int_eq(copies[0], (i + 1) / 4);
            ck_assert_int_eq(copies[1], (i + 1) / 2);
        }
    }
    ck_assert_int_eq(copies[2], 0);
    /* Picking the main service directly reports no mirroring. */
    struct bal_pick p;
    ck_assert_int_eq(pick_port(&f, "a@test", NULL, 0, &p), 1);
    ck_assert_ptr_null(p.mirroring);
    teardown(&f);
}
END_TEST

/* A second pick for the same request (a retry, balance_repick) must not count as another
 * request through the mirroring service: with 50%, a request retried each time would otherwise
 * always land on a copied tick. */
START_TEST(mirroring_counter_ignores_repicks)
{
    struct bt f;
    int copies = 0;
    setup(&f, "http:\n  services:\n"
              "    m: {mirroring: {service: a, mirrors: [{name: b, percent: 50}]}}\n"
              "    a: {loadBalancer: {servers: [" SRV(1) ", " SRV(3) "]}}\n"
              "    b: {loadBalancer: {servers: [" SRV(2) "]}}\n");
    for (int i = 0; i < 100; i++) {
        struct bal_pick p, r;
        ck_assert_int_eq(balance_pick(&f.b, svc(&f, "m@test"), NULL, 0, &p), 0);
        copies += (int)(p.mirror_mask & 1);
        ck_assert_int_eq(balance_repick(&f.b, svc(&f, "m@test"), &r), 0);
        ck_assert_ptr_nonnull(r.server);
        ck_assert_uint_eq(r.mirror_mask, 0);
    }
    ck_assert_int_eq(copies, 50);
    teardown(&f);
}
END_TEST

static struct h1_header cookie_hdr(const char *v)
{
    return (struct h1_header){.name = "Cookie", .name_len = 6, .value = v,
                              .value_len = (uint32_t)strlen(v)};
}

START_TEST(sticky_lb)
{
    struct bt f;
    char v[80];
    struct bal_pick p;
    setup(&f, "http:\n  services:\n"
              "    s: {loadBalancer: {sticky: {cookie: {name: lb}}, servers: [" SRV(1) ", " SRV(2)
              ", {url: 'http://127.0.0.1:3', weight: 0}]}}\n");
    /* No cookie: round robin, and the cookie of the chosen server is to be set. */
    ck_assert_int_eq(pick_port(&f, "s@test", NULL, 0, &p), 1);
    ck_assert_uint_eq(p.nset, 1);
    ck_assert_str_eq(p.set[0].ck->name, "lb");
    ck_assert_str_eq(p.set[0].value, val("http://127.0.0.1:1"));
    /* A cookie naming server 2 sticks, and sets nothing. */
    snprintf(v, sizeof v, "x=1; lb=%s; y=2", val("http://127.0.0.1:2"));
    struct h1_header h[2] = {cookie_hdr("a=b"), cookie_hdr(v)};
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(pick_port(&f, "s@test", h, 2, &p), 2);
        ck_assert_uint_eq(p.nset, 0);
    }
    /* Older values (the raw URL; its FNV-1 64 hash; that hash hashed again) stick too, and
     * the cookie is rewritten with the current value. */
    h[1] = cookie_hdr("lb=\"http://127.0.0.1:1\"");
    ck_assert_int_eq(pick_port(&f, "s@test", h, 2, &p), 1);
    ck_assert_uint_eq(p.nset, 1);
    ck_assert_str_eq(p.set[0].value, val("http://127.0.0.1:1"));
    snprintf(v, sizeof v, "lb=%s", fnv("http://127.0.0.1:2"));
    h[1] = cookie_hdr(v);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(pick_port(&f, "s@test", h, 2, &p), 2);
        ck_assert_uint_eq(p.nset, 1);
    }
    char f1[20];
    snprintf(f1, sizeof f1, "%s", fnv("http://127.0.0.1:1"));
    snprintf(v, sizeof v, "lb=%s", fnv(f1));
    h[1] = cookie_hdr(v);
    ck_assert_int_eq(pick_port(&f, "s@test", h, 2, &p), 1);
    /* A server of weight 0 or an unknown value: normal pick, new cookie. */
    snprintf(v, sizeof v, "lb=%s", val("http://127.0.0.1:3"));
    h[1] = cookie_hdr(v);
    ck_assert_int_ne(pick_port(&f, "s@test", h, 2, &p), 3);
    ck_assert_uint_eq(p.nset, 1);
    h[1] = cookie_hdr("lb=ffff");
    pick_port(&f, "s@test", h, 2, &p);
    ck_assert_uint_eq(p.nset, 1);
    teardown(&f);
}
END_TEST

START_TEST(sticky_weighted_and_lb_both_set)
{
    struct bt f;
    struct bal_pick p;
    char v[120];
    setup(&f, "http:\n  services:\n"
              "    w: {weighted: {sticky: {cookie: {name: w}}, services: [{name: a}, {name: "
              "b}]}}\n"
              "    a: {loadBalancer: {sticky: {cookie: {name: l}}, servers: [" SRV(1) ", " SRV(3)
              "]}}\n"
              "    b: {loadBalancer: {servers: [" SRV(2) "]}}\n");
    ck_assert_int_eq(pick_port(&f, "w@test", NULL, 0, &p), 1);
    ck_assert_uint_eq(p.nset, 2);
    ck_assert_str_eq(p.set[0].ck->name, "w");
    ck_assert_str_eq(p.set[0].value, val("a")); /* the child's name as written */
    ck_assert_str_eq(p.set[1].ck->name, "l");
    /* Both cookies: child a, then server 3 of a. */
    snprintf(v, sizeof v, "w=%s; l=", val("a"));
    snprintf(v + strlen(v), sizeof v - strlen(v), "%s", val("http://127.0.0.1:3"));
    struct h1_header h = cookie_hdr(v);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(pick_port(&f, "w@test", &h, 1, &p), 3);
        ck_assert_uint_eq(p.nset, 0);
    }
    teardown(&f);
}
END_TEST

START_TEST(set_cookie_line)
{
    char buf[300];
    struct table_cookie ck = {.name = "sess", .same_site = "lax", .path = "/app",
                              .domain = "example.com", .max_age = 30, .secure = true,
                              .http_only = true};
    struct bal_cookie c = {.ck = &ck, .value = "abc"};
    size_t n = balance_set_cookie(&c, buf, sizeof buf);
    ck_assert_str_eq(buf, "Set-Cookie: sess=abc; Path=/app; Domain=example.com; Max-Age=30; "
                          "HttpOnly; Secure; SameSite=Lax\r\n");
    ck_assert_uint_eq(n, strlen(buf));
    struct table_cookie neg = {.name = "n", .same_site = "none", .path = "", .domain = "",
                               .max_age = -1};
    c.ck = &neg;
    balance_set_cookie(&c, buf, sizeof buf);
    ck_assert_str_eq(buf, "Set-Cookie: n=abc; Max-Age=0; SameSite=None\r\n");
    ck_assert_uint_eq(balance_set_cookie(&c, buf, 20), 0); /* does not fit */
}
END_TEST

START_TEST(cookie_get)
{
    uint32_t n = 0;
    struct h1_header h[2] = {cookie_hdr("a=1;b=2"), cookie_hdr(" c = 3 ; lb=\"q\" ")};
    const char *v = balance_cookie_get(h, 2, "b", &n);
    ck_assert(v != NULL && n == 1 && v[0] == '2');
    v = balance_cookie_get(h, 2, "lb", &n);
    ck_assert(v != NULL && n == 1 && v[0] == 'q');
    ck_assert_ptr_null(balance_cookie_get(h, 2, "l", &n));
    ck_assert_ptr_null(balance_cookie_get(h, 2, "c", &n)); /* "c " is not "c" */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("proxy_balance");
    TCase *tc = tcase_create("balance");
    tcase_add_test(tc, lb_weights_exact_over_1000);
    tcase_add_test(tc, weighted_nested_exact);
    tcase_add_test(tc, failover_on_no_usable_server);
    tcase_add_test(tc, mirroring_counter_exact);
    tcase_add_test(tc, mirroring_counter_ignores_repicks);
    tcase_add_test(tc, sticky_lb);
    tcase_add_test(tc, sticky_weighted_and_lb_both_set);
    tcase_add_test(tc, set_cookie_line);
    tcase_add_test(tc, cookie_get);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
