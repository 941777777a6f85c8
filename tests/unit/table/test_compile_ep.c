/* Entry point defaults in table_compile (compile.h "struct table_ep_http"): default
 * middlewares per entry point (one router copy per distinct list) and redirections (a
 * generated router and redirectScheme middleware). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "node/table/compile.h"
#include "node/table/mw_conf.h"
#include "providers/decode.h"

static const char *dyn =
    "http:\n"
    "  routers:\n"
    "    r: {rule: 'PathPrefix(`/`)', service: s, middlewares: [own]}\n"
    "    plain: {rule: 'Host(`p`)', service: s}\n"
    "  services:\n"
    "    s: {loadBalancer: {servers: [{url: 'http://127.0.0.1:1'}]}}\n"
    "  middlewares:\n"
    "    own: {addPrefix: {prefix: /own}}\n"
    "    a: {addPrefix: {prefix: /a}}\n"
    "    zz: {addPrefix: {prefix: /zz}}\n";

static const char *eps[] = {"web", "admin", "websecure"};
static const char *dyn_override; /* a test's own dynamic config, else `dyn` */

struct ct {
    struct table *t;
    struct diags d;
    char out[4096];
};

static void compile(struct ct *c, const struct table_ep_http *h)
{
    Concord__Config__Config *cfg = NULL;
    struct table_compile_opts o = {.entrypoints = eps, .n_entrypoints = 3, .ep_http = h,
                                   .generation = 1};
    struct table_source src = {.ns = "test"};
    size_t used = 0;
    memset(c, 0, sizeof *c);
    diags_init(&c->d);
    const char *text = dyn_override ? dyn_override : dyn;
    ck_assert_int_eq(decode_dynamic_string("dyn.yaml", text, strlen(text), &cfg, &c->d), 0);
    src.cfg = cfg;
    ck_assert_int_eq(table_compile(&src, 1, &o, &c->t, &c->d), 0);
    decode_config_free(cfg);
    for (size_t i = 0; i < c->d.n && used + 1 < sizeof c->out; i++) {
        char buf[600];
        diag_format(&c->d.v[i], buf, sizeof buf);
        used += (size_t)snprintf(c->out + used, sizeof c->out - used, "%s\n", buf);
    }
}

static void fini(struct ct *c)
{
    table_unref(c->t);
    diags_fini(&c->d);
}

/* The copy of router `name` attached to entry point `ep` (NULL: none). */
static const struct table_router *on(struct ct *c, const char *name, uint32_t ep)
{
    for (uint32_t i = 0; i < table_nrouters(c->t); i++) {
        const struct table_router *r = table_router_at(c->t, i);
        if (strcmp(r->name, name) == 0 && (r->entrypoints >> ep & 1)) {
            return r;
        }
    }
    return NULL;
}

static uint32_t copies(struct ct *c, const char *name)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < table_nrouters(c->t); i++) {
        n += strcmp(table_router_at(c->t, i)->name, name) == 0;
    }
    return n;
}

static const char *mw_names(const struct table_router *r)
{
    static char buf[512];
    size_t used = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < r->nmws; i++) {
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", i ? "," : "",
                                 r->mws[i]->name);
    }
    return buf;
}

START_TEST(no_defaults_no_copies)
{
    struct ct c;
    struct table_ep_http h[3] = {{0}};
    compile(&c, h);
    ck_assert_uint_eq(copies(&c, "r@test"), 1);
    ck_assert_uint_eq(on(&c, "r@test", 0)->entrypoints, 7);
    ck_assert_str_eq(mw_names(on(&c, "r@test", 0)), "own@test");
    ck_assert_uint_eq(on(&c, "plain@test", 0)->nmws, 0);
    fini(&c);
}
END_TEST

START_TEST(defaults_first_one_copy_per_list)
{
    struct ct c;
    const char *web[] = {"a@test", "zz"}; /* "zz": the router's namespace */
    const char *sec[] = {"a@test", "zz"};
    struct table_ep_http h[3] = {{.middlewares = web, .n_middlewares = 2},
                                 {0},
                                 {.middlewares = sec, .n_middlewares = 2}};
    compile(&c, h);
    ck_assert_msg(c.d.nerrors == 0, "%s", c.out);
    /* web and websecure share a list: one copy for both, one for admin. */
    ck_assert_uint_eq(copies(&c, "r@test"), 2);
    ck_assert_uint_eq(on(&c, "r@test", 0)->entrypoints, 5);
    ck_assert_str_eq(mw_names(on(&c, "r@test", 0)), "a@test,zz@test,own@test");
    ck_assert_uint_eq(on(&c, "r@test", 1)->entrypoints, 2);
    ck_assert_str_eq(mw_names(on(&c, "r@test", 1)), "own@test");
    /* A router without middlewares of its own gets the defaults alone. */
    ck_assert_str_eq(mw_names(on(&c, "plain@test", 2)), "a@test,zz@test");
    ck_assert_uint_eq(on(&c, "plain@test", 1)->nmws, 0);
    fini(&c);
}
END_TEST

START_TEST(missing_default_disables_that_copy_only)
{
    struct ct c;
    const char *web[] = {"nope@file"};
    struct table_ep_http h[3] = {{.middlewares = web, .n_middlewares = 1}};
    compile(&c, h);
    ck_assert_msg(strstr(c.out, "dyn.yaml:3:5: entryPoints.web.http.middlewares[0]: middleware "
                                "\"nope@file\" does not exist (router r@test is not served on "
                                "entry point web)"),
                  "%s", c.out);
    ck_assert_ptr_null(on(&c, "r@test", 0));
    ck_assert_ptr_nonnull(on(&c, "r@test", 1));
    ck_assert_ptr_nonnull(on(&c, "r@test", 2));
    fini(&c);
}
END_TEST

START_TEST(redirection_router_and_middleware)
{
    struct ct c;
    const char *web[] = {"a@test"};
    struct table_ep_http h[3] = {{.middlewares = web, .n_middlewares = 1,
                                  .redirect_to = "websecure", .redirect_port = 8443,
                                  .redirect_permanent = true,
                                  .redirect_priority = INT64_MAX - 1}};
    const struct table_router *rr;
    const struct table_middleware *m;
    const struct mwc_redirect_scheme *rs;
    compile(&c, h);
    ck_assert_msg(c.d.nerrors == 0, "%s", c.out);
    rr = on(&c, "web-to-websecure@internal", 0);
    ck_assert_ptr_nonnull(rr);
    ck_assert_uint_eq(rr->entrypoints, 1);
    ck_assert_int_eq(rr->priority, INT64_MAX - 1);
    ck_assert_ptr_null(rr->service);
    ck_assert_str_eq(rr->rule, "PathPrefix(`/`)");
    ck_assert_str_eq(mw_names(rr), "redirect-web-to-websecure@internal");
    /* It wins over every user router on web: the table's first router. */
    ck_assert_ptr_eq(table_router_at(c.t, 0), rr);
    m = table_middleware_find(c.t, "redirect-web-to-websecure@internal");
    ck_assert_ptr_eq(m, rr->mws[0]);
    ck_assert_int_eq(m->kind, MW_REDIRECT_SCHEME);
    rs = m->conf;
    ck_assert_str_eq(rs->scheme, "https");
    ck_assert_str_eq(rs->port, "8443");
    ck_assert(rs->permanent);
    /* The user middlewares are still found by name, with ids in name order. */
    for (uint32_t i = 0; i < table_nmiddlewares(c.t); i++) {
        const struct table_middleware *x = table_middleware_at(c.t, i);
        ck_assert_uint_eq(x->id, i);
        ck_assert_ptr_eq(table_middleware_find(c.t, x->name), x);
    }
    ck_assert_str_eq(mw_names(on(&c, "r@test", 0)), "a@test,own@test");
    ck_assert_str_eq(mw_names(on(&c, "r@test", 1)), "own@test");
    fini(&c);
}
END_TEST

START_TEST(redirection_to_a_port_with_default_scheme)
{
    struct ct c;
    struct table_ep_http h[3] = {{0},
                                 {.redirect_to = "443", .redirect_port = 443,
                                  .redirect_scheme = "HTTPS", .redirect_permanent = false,
                                  .redirect_priority = 10}};
    const struct mwc_redirect_scheme *rs;
    compile(&c, h);
    ck_assert_ptr_nonnull(on(&c, "admin-to-443@internal", 1));
    ck_assert_int_eq(on(&c, "admin-to-443@internal", 1)->priority, 10);
    rs = table_middleware_find(c.t, "redirect-admin-to-443@internal")->conf;
    ck_assert_str_eq(rs->scheme, "https");
    ck_assert(!rs->permanent);
    fini(&c);
}
END_TEST

/* A ruleSyntax v2 router copied for another list of defaults keeps its v2 rule (the copy's
 * rule is parsed again, with the router's syntax). */
START_TEST(v2_router_copies_keep_their_syntax)
{
    struct ct c;
    const char *web[] = {"a@test"};
    struct table_ep_http h[3] = {{.middlewares = web, .n_middlewares = 1}};
    struct table_request rq = {.host = "h", .host_len = 1, .path = "/b", .path_len = 2,
                               .method = "GET", .method_len = 3};
    const struct table_router *m;
    dyn_override = "http:\n"
                   "  routers:\n"
                   "    v2: {rule: 'Path(`/a`, `/b`)', ruleSyntax: v2, service: s}\n"
                   "  services:\n"
                   "    s: {loadBalancer: {servers: [{url: 'http://127.0.0.1:1'}]}}\n"
                   "  middlewares:\n"
                   "    a: {addPrefix: {prefix: /a}}\n";
    compile(&c, h);
    dyn_override = NULL;
    ck_assert_msg(c.d.nerrors == 0, "%s", c.out);
    ck_assert_uint_eq(copies(&c, "v2@test"), 2);
    for (uint32_t ep = 0; ep < 3; ep++) {
        rq.entrypoint = ep;
        m = table_match(c.t, &rq);
        ck_assert_ptr_nonnull(m);
        ck_assert_str_eq(m->name, "v2@test");
        ck_assert_str_eq(mw_names(m), ep == 0 ? "a@test" : "");
    }
    fini(&c);
}
END_TEST

/* A router with tls is TLS only in Traefik: with no TLS yet it is attached to no entry
 * point, with a warning at its tls key. */
START_TEST(tls_router_not_served)
{
    struct ct c;
    struct table_ep_http h[3] = {{0}};
    dyn_override = "http:\n"
                   "  routers:\n"
                   "    sec: {rule: 'Host(`a`)', service: s, tls: {}}\n"
                   "    plain: {rule: 'Host(`a`)', service: s}\n"
                   "  services:\n"
                   "    s: {loadBalancer: {servers: [{url: 'http://127.0.0.1:1'}]}}\n";
    compile(&c, h);
    dyn_override = NULL;
    ck_assert_msg(c.d.nerrors == 0, "%s", c.out);
    ck_assert_msg(strstr(c.out, "dyn.yaml:3:42: http.routers.sec.tls: TLS is not supported yet: "
                                "this router (TLS only in Traefik) is not served") != NULL,
                  "%s", c.out);
    ck_assert_uint_eq(copies(&c, "sec@test"), 1);
    ck_assert_ptr_null(on(&c, "sec@test", 0));
    ck_assert_ptr_nonnull(on(&c, "plain@test", 0));
    fini(&c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("compile_ep");
    TCase *tc = tcase_create("entry point defaults");
    tcase_add_test(tc, no_defaults_no_copies);
    tcase_add_test(tc, defaults_first_one_copy_per_list);
    tcase_add_test(tc, missing_default_disables_that_copy_only);
    tcase_add_test(tc, redirection_router_and_middleware);
    tcase_add_test(tc, redirection_to_a_port_with_default_scheme);
    tcase_add_test(tc, v2_router_copies_keep_their_syntax);
    tcase_add_test(tc, tls_router_not_served);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
