/* Unit tests of the service kinds compile (compile_svc_kinds.c): weighted, mirroring and
 * failover references (namespaces, forward references, cycles, disabled targets), sticky
 * cookies, serversTransports and responseForwarding. Configs are YAML, decoded by providers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/table/compile.h"
#include "node/table/digest.h"
#include "providers/decode.h"

struct fx {
    struct table *t;
    struct diags d;
    char text[8192]; /* every diagnostic, one per line */
};

/* Compiles `a` (namespace "test") and optionally `b` (namespace "other"). */
static void compile(struct fx *f, const char *a, const char *b)
{
    Concord__Config__Config *ca = NULL, *cb = NULL;
    const char *eps[] = {"web"};
    struct table_compile_opts o = {.entrypoints = eps, .n_entrypoints = 1, .generation = 1};
    struct table_source src[2];
    size_t used = 0;
    memset(f, 0, sizeof *f);
    diags_init(&f->d);
    ck_assert_int_eq(decode_dynamic_string("dyn.yaml", a, strlen(a), &ca, &f->d), 0);
    src[0] = (struct table_source){"test", ca};
    if (b != NULL) {
        ck_assert_int_eq(decode_dynamic_string("b.yaml", b, strlen(b), &cb, &f->d), 0);
        src[1] = (struct table_source){"other", cb};
    }
    ck_assert_int_eq(table_compile(src, b ? 2 : 1, &o, &f->t, &f->d), 0);
    decode_config_free(ca);
    if (cb != NULL) {
        decode_config_free(cb);
    }
    for (size_t i = 0; i < f->d.n && used + 1 < sizeof f->text; i++) {
        char buf[600];
        diag_format(&f->d.v[i], buf, sizeof buf);
        used += (size_t)snprintf(f->text + used, sizeof f->text - used, "%s\n", buf);
    }
}

static void done(struct fx *f)
{
    table_unref(f->t);
    diags_fini(&f->d);
}

static void has(const struct fx *f, const char *line)
{
    ck_assert_msg(strstr(f->text, line) != NULL, "missing diagnostic \"%s\" in:\n%s", line,
                  f->text);
}

static const struct table_service *svc(const struct fx *f, const char *name)
{
    return table_service_find(f->t, name);
}

#define LB(name, port) "    " name ": {loadBalancer: {servers: [{url: 'http://127.0.0.1:" port "'}]}}\n"

START_TEST(kinds_and_forward_references)
{
    struct fx f;
    compile(&f,
            "http:\n"
            "  routers: {r: {rule: 'PathPrefix(`/`)', service: a}}\n"
            "  services:\n"
            "    a: {weighted: {services: [{name: z, weight: 3}, {name: m}, {name: x@other, "
            "weight: 0}]}}\n"
            "    f: {failover: {service: z, fallback: y}}\n"
            "    m: {mirroring: {service: z, mirrorBody: false, maxBodySize: 100, mirrors: "
            "[{name: y, percent: 25}, {name: f, percent: 100}]}}\n" LB("y", "2") LB("z", "1"),
            "http:\n  services:\n" LB("x", "3"));
    ck_assert_uint_eq(f.d.nerrors, 0);
    const struct table_service *a = svc(&f, "a@test"), *z = svc(&f, "z@test");
    const struct table_service *m = svc(&f, "m@test"), *fo = svc(&f, "f@test");
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(a->kind, TABLE_SVC_WEIGHTED);
    ck_assert_uint_eq(a->nchildren, 3);
    ck_assert_ptr_eq(a->children[0].svc, z);
    ck_assert_uint_eq(a->children[0].weight, 3);
    ck_assert_ptr_eq(a->children[1].svc, m);
    ck_assert_uint_eq(a->children[1].weight, 1); /* default */
    ck_assert_ptr_eq(a->children[2].svc, svc(&f, "x@other"));
    ck_assert_uint_eq(a->children[2].weight, 0);
    char v[TABLE_STICKY_LEN + 1];
    table_sticky_value("z", v); /* the name as written */
    ck_assert_str_eq(a->children[0].sticky, v);
    ck_assert_str_eq(a->children[2].ref, "x@other");
    ck_assert_int_eq(z->kind, TABLE_SVC_LB);
    ck_assert_str_eq(z->sticky_values[0], "10d8eb39449320b2"); /* SHA-256 of the URL */
    ck_assert_ptr_null(z->sticky);
    ck_assert_ptr_null(z->transport);
    ck_assert_int_eq(m->kind, TABLE_SVC_MIRRORING);
    ck_assert_ptr_eq(m->main, z);
    ck_assert(!m->mirror_body);
    ck_assert_int_eq(m->max_body_size, 100);
    ck_assert_uint_eq(m->nmirrors, 2);
    ck_assert_ptr_eq(m->mirrors[0].svc, svc(&f, "y@test"));
    ck_assert_uint_eq(m->mirrors[0].percent, 25);
    ck_assert_ptr_eq(m->mirrors[1].svc, fo);
    ck_assert_int_eq(fo->kind, TABLE_SVC_FAILOVER);
    ck_assert_ptr_eq(fo->main, z);
    ck_assert_ptr_eq(fo->fallback, svc(&f, "y@test"));
    ck_assert_ptr_eq(table_router_at(f.t, 0)->service, a);
    done(&f);
}
END_TEST

START_TEST(mirroring_defaults)
{
    struct fx f;
    compile(&f, "http:\n  services:\n    m: {mirroring: {service: z}}\n" LB("z", "1"), NULL);
    const struct table_service *m = svc(&f, "m@test");
    ck_assert(m->mirror_body);
    ck_assert_int_eq(m->max_body_size, -1);
    ck_assert_uint_eq(m->nmirrors, 0);
    done(&f);
}
END_TEST

START_TEST(reference_errors)
{
    struct fx f;
    compile(&f,
            "http:\n"
            "  routers: {r: {rule: 'PathPrefix(`/`)', service: top}}\n"
            "  services:\n"
            "    top: {weighted: {services: [{name: mid}]}}\n"
            "    mid: {failover: {service: gone, fallback: z}}\n"
            "    other: {failover: {service: z, fallback: z@elsewhere}}\n"
            "    nofb: {failover: {service: z}}\n" LB("z", "1"),
            NULL);
    has(&f, "dyn.yaml:5:11: http.services.mid.failover.service: service \"gone@test\" does "
            "not exist");
    has(&f, "http.services.top.weighted.services[0].name: service \"mid@test\" is disabled; "
            "so is this one");
    has(&f, "http.services.other.failover.fallback: service \"z@elsewhere\" does not exist");
    has(&f, "http.services.nofb.failover.fallback: no service named");
    has(&f, "http.routers.r.service: service \"top@test\" is disabled by its own errors");
    ck_assert_ptr_null(svc(&f, "top@test"));
    ck_assert_ptr_null(svc(&f, "mid@test"));
    ck_assert_ptr_nonnull(svc(&f, "z@test"));
    ck_assert_uint_eq(table_nrouters(f.t), 0);
    done(&f);
}
END_TEST

START_TEST(cycles_are_errors)
{
    struct fx f;
    compile(&f,
            "http:\n"
            "  services:\n"
            "    a: {weighted: {services: [{name: b}, {name: z}]}}\n"
            "    b: {weighted: {services: [{name: c}]}}\n"
            "    c: {failover: {service: a, fallback: z}}\n"
            "    self: {mirroring: {service: z, mirrors: [{name: self, percent: 1}]}}\n"
            "    user: {weighted: {services: [{name: c}]}}\n" LB("z", "1"),
            NULL);
    has(&f, "http.services.a: services reference each other in a loop: a@test -> b@test -> "
            "c@test -> a@test");
    has(&f, "http.services.b: services reference each other in a loop");
    has(&f, "http.services.c: services reference each other in a loop");
    has(&f, "http.services.self: services reference each other in a loop: self@test -> "
            "self@test");
    has(&f, "http.services.user.weighted.services[0].name: service \"c@test\" is disabled");
    ck_assert_uint_eq(table_nservices(f.t), 1);
    done(&f);
}
END_TEST

START_TEST(field_errors)
{
    struct fx f;
    compile(&f,
            "http:\n"
            "  services:\n"
            "    w0: {weighted: {services: [{name: z, weight: 0}]}}\n"
            "    wn: {weighted: {services: [{name: z, weight: -1}, {name: z}]}}\n"
            "    we: {weighted: {services: []}}\n"
            "    mp: {mirroring: {service: z, mirrors: [{name: z, percent: 101}]}}\n"
            "    mn: {mirroring: {service: z, mirrors: [{name: z, percent: -1}]}}\n"
            "    ms: {mirroring: {mirrors: [{name: z, percent: 1}]}}\n"
            "    ss: {loadBalancer: {sticky: {cookie: {sameSite: sideways}}, servers: [{url: "
            "'http://127.0.0.1:1'}]}}\n"
            "    sn: {loadBalancer: {sticky: {cookie: {name: 'a b'}}, servers: [{url: "
            "'http://127.0.0.1:1'}]}}\n"
            "    sp: {loadBalancer: {sticky: {cookie: {path: '/a;b'}}, servers: [{url: "
            "'http://127.0.0.1:1'}]}}\n"
            "    fi: {loadBalancer: {responseForwarding: {flushInterval: soon}, servers: [{url: "
            "'http://127.0.0.1:1'}]}}\n"
            "    fn: {loadBalancer: {responseForwarding: {flushInterval: '-1'}, servers: [{url: "
            "'http://127.0.0.1:1'}]}}\n"
            "    fm: {loadBalancer: {responseForwarding: {flushInterval: 100ms}, servers: [{url: "
            "'http://127.0.0.1:1'}]}}\n"
            "    ws: {weighted: {sticky: {cookie: {sameSite: no}}, services: [{name: z}]}}\n"
            LB("z", "1"),
            NULL);
    has(&f, "http.services.w0.weighted.services: no service has a positive weight");
    has(&f, "http.services.wn.weighted.services[0].weight: weight must not be negative");
    has(&f, "http.services.we.weighted.services: a weighted service needs at least one service");
    has(&f, "http.services.mp.mirroring.mirrors[0].percent: percent 101 is not in 0..100");
    has(&f, "http.services.mn.mirroring.mirrors[0].percent: percent -1 is not in 0..100");
    has(&f, "http.services.ms.mirroring.service: no service named");
    has(&f, "http.services.ss.loadBalancer.sticky.cookie.sameSite: \"sideways\" is not one of "
            "none, lax, strict");
    has(&f, "http.services.sn.loadBalancer.sticky.cookie.name: \"a b\" is not a valid cookie "
            "name (an HTTP token): characters outside one become '_', as Traefik does "
            "(warning)");
    ck_assert_str_eq(svc(&f, "sn@test")->sticky->name, "a_b");
    has(&f, "http.services.sp.loadBalancer.sticky.cookie.path: holds a ';'");
    has(&f, "http.services.fi.loadBalancer.responseForwarding.flushInterval: \"soon\" is not a "
            "duration");
    has(&f, "http.services.ws.weighted.sticky.cookie.sameSite:");
    ck_assert_uint_eq(f.d.nerrors, 10);
    /* Accepted: sn (sanitised name), fn (negative = immediate), fm, z. */
    ck_assert_uint_eq(table_nservices(f.t), 4);
    ck_assert_ptr_nonnull(svc(&f, "fn@test"));
    ck_assert_ptr_nonnull(svc(&f, "fm@test"));
    done(&f);
}
END_TEST

START_TEST(sticky_cookie)
{
    struct fx f;
    compile(&f,
            "http:\n"
            "  services:\n"
            "    s: {loadBalancer: {sticky: {cookie: {}}, servers: [{url: "
            "'http://127.0.0.1:1'}]}}\n"
            "    t: {loadBalancer: {sticky: {cookie: {name: sess, secure: true, httpOnly: true, "
            "sameSite: Strict, maxAge: 30, path: /app, domain: example.com}}, servers: [{url: "
            "'http://127.0.0.1:1'}]}}\n"
            "    u: {weighted: {sticky: {cookie: {name: w}}, services: [{name: s}]}}\n",
            NULL);
    ck_assert_uint_eq(f.d.nerrors, 0);
    const struct table_cookie *s = svc(&f, "s@test")->sticky, *t = svc(&f, "t@test")->sticky;
    ck_assert_ptr_nonnull(s);
    /* "_" + SHA-1("_TRAEFIK_BACKEND_s@test")[:5 hex] */
    ck_assert_str_eq(s->name, "_ea8dc");
    ck_assert_str_eq(s->path, "/");
    ck_assert_str_eq(s->domain, "");
    ck_assert_str_eq(s->same_site, "");
    ck_assert(!s->secure && !s->http_only && s->max_age == 0);
    ck_assert_str_eq(t->name, "sess");
    ck_assert_str_eq(t->path, "/app");
    ck_assert_str_eq(t->domain, "example.com");
    ck_assert_str_eq(t->same_site, "strict");
    ck_assert(t->secure && t->http_only && t->max_age == 30);
    ck_assert_str_eq(svc(&f, "u@test")->sticky->name, "w");
    done(&f);
}
END_TEST

START_TEST(servers_transports)
{
    struct fx f;
    compile(&f,
            "http:\n"
            "  serversTransports:\n"
            "    fast: {maxIdleConnsPerHost: 7, forwardingTimeouts: {dialTimeout: 2s, "
            "responseHeaderTimeout: 1500ms, idleConnTimeout: 1m}}\n"
            "    part: {forwardingTimeouts: {dialTimeout: 1s}}\n"
            "    bad: {maxIdleConnsPerHost: -1, forwardingTimeouts: {idleConnTimeout: later}}\n"
            "  services:\n"
            "    a: {loadBalancer: {serversTransport: fast, servers: [{url: "
            "'http://127.0.0.1:1'}]}}\n"
            "    b: {loadBalancer: {serversTransport: part@test, servers: [{url: "
            "'http://127.0.0.1:1'}]}}\n"
            "    c: {loadBalancer: {serversTransport: bad, servers: [{url: "
            "'http://127.0.0.1:1'}]}}\n"
            "    d: {loadBalancer: {serversTransport: fast@other, servers: [{url: "
            "'http://127.0.0.1:1'}]}}\n"
            "    e: {loadBalancer: {servers: [{url: 'http://127.0.0.1:1'}]}}\n",
            "http:\n  serversTransports:\n    fast: {forwardingTimeouts: {dialTimeout: 9s}}\n");
    has(&f, "http.serversTransports.bad.maxIdleConnsPerHost: must not be negative");
    has(&f, "http.serversTransports.bad.forwardingTimeouts.idleConnTimeout: \"later\" is not a "
            "duration");
    has(&f, "http.services.c.loadBalancer.serversTransport: serversTransport \"bad@test\" is "
            "disabled by its own errors");
    ck_assert_uint_eq(f.d.nerrors, 3);
    const struct table_transport *a = svc(&f, "a@test")->transport;
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(a->name, "fast@test");
    ck_assert(a->has_dial && a->dial_timeout_ms == 2000);
    ck_assert(a->has_response_header && a->response_header_timeout_ms == 1500);
    ck_assert(a->has_idle && a->idle_conn_timeout_ms == 60000);
    ck_assert(a->has_max_idle && a->max_idle_per_host == 7);
    const struct table_transport *b = svc(&f, "b@test")->transport;
    ck_assert_str_eq(b->name, "part@test");
    ck_assert(b->has_dial && !b->has_response_header && !b->has_idle && !b->has_max_idle);
    ck_assert_ptr_null(svc(&f, "c@test"));
    ck_assert_str_eq(svc(&f, "d@test")->transport->name, "fast@other");
    ck_assert_uint_eq(svc(&f, "d@test")->transport->dial_timeout_ms, 9000);
    ck_assert_ptr_null(svc(&f, "e@test")->transport);
    done(&f);
}
END_TEST

START_TEST(missing_transport_and_kindless_service)
{
    struct fx f;
    compile(&f,
            "http:\n"
            "  routers: {r: {rule: 'PathPrefix(`/`)', service: a}}\n"
            "  services:\n"
            "    a: {loadBalancer: {serversTransport: nope, servers: [{url: "
            "'http://127.0.0.1:1'}]}}\n",
            NULL);
    has(&f, "http.services.a.loadBalancer.serversTransport: serversTransport \"nope@test\" does "
            "not exist");
    ck_assert_uint_eq(table_nservices(f.t), 0);
    ck_assert_uint_eq(table_nrouters(f.t), 0);
    done(&f);
}
END_TEST

static void hex(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", d[i]);
    }
}

START_TEST(digests_known_answers)
{
    unsigned char d[32];
    char h[65], in[201];
    digest_sha256("abc", 3, d);
    hex(d, 32, h);
    ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    digest_sha1("abc", 3, d);
    hex(d, 20, h);
    ck_assert_str_eq(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
    memset(in, 'a', 200); /* several blocks, padding in a block of its own */
    digest_sha256(in, 200, d);
    hex(d, 32, h);
    ck_assert_str_eq(h, "c2a908d98f5df987ade41b5fce213067efbcc21ef2240212a41e54b5e7c28ae5");
    digest_sha1(in, 200, d);
    hex(d, 20, h);
    ck_assert_str_eq(h, "e61cfffe0d9195a525fc6cf06ca2d77119c24a40");
    char v[TABLE_STICKY_LEN + 1];
    table_sticky_value("http://127.0.0.1:1", v);
    ck_assert_str_eq(v, "10d8eb39449320b2");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("table_services");
    TCase *tc = tcase_create("services");
    tcase_add_test(tc, kinds_and_forward_references);
    tcase_add_test(tc, mirroring_defaults);
    tcase_add_test(tc, reference_errors);
    tcase_add_test(tc, cycles_are_errors);
    tcase_add_test(tc, field_errors);
    tcase_add_test(tc, sticky_cookie);
    tcase_add_test(tc, servers_transports);
    tcase_add_test(tc, missing_transport_and_kindless_service);
    tcase_add_test(tc, digests_known_answers);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
