/* Unit tests of node/table/compile: namespacing, priorities, diagnostics, servers, dry run. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/table/compile.h"

/* ---- Building Config messages with the protobuf-c API (heap only: free_unpacked frees). ---- */

typedef Concord__Config__Config Config;
typedef Concord__Config__Router Router;
typedef Concord__Config__Service Service;
typedef Concord__Config__Server Server;
typedef Concord__Config__Mark Mark;

static void *copy(const void *init, size_t size)
{
    void *p = malloc(size);
    ck_assert_ptr_nonnull(p);
    return memcpy(p, init, size);
}

/* A heap copy of a message initialised with its generated INIT macro. */
#define NEW(T, init) ((T *)copy(&(T)init, sizeof(T)))

static Mark *mark(uint32_t line, uint32_t col)
{
    Mark *m = NEW(Mark, CONCORD__CONFIG__MARK__INIT);
    m->file = strdup("dyn.yaml");
    m->line = line;
    m->col = col;
    return m;
}

static void *push(void *arr, size_t *n, void *item)
{
    void **v = realloc(arr, (*n + 1) * sizeof *v);
    ck_assert_ptr_nonnull(v);
    v[(*n)++] = item;
    return v;
}

static Config *config(void)
{
    Config *c = NEW(Config, CONCORD__CONFIG__CONFIG__INIT);
    c->http = NEW(Concord__Config__HttpConfig, CONCORD__CONFIG__HTTP_CONFIG__INIT);
    return c;
}

/* A loadBalancer service declared at line `line`; servers are added with server(). */
static Service *service(Config *c, const char *name, uint32_t line)
{
    Service *s = NEW(Service, CONCORD__CONFIG__SERVICE__INIT);
    s->name = strdup(name);
    s->mark = mark(line, 5);
    s->kind_case = CONCORD__CONFIG__SERVICE__KIND_LOAD_BALANCER;
    s->load_balancer = NEW(Concord__Config__LoadBalancer, CONCORD__CONFIG__LOAD_BALANCER__INIT);
    c->http->services = push(c->http->services, &c->http->n_services, s);
    return s;
}

enum { NO_WEIGHT = -1000 };

static Server *server(Service *s, const char *url, int weight)
{
    Server *v = NEW(Server, CONCORD__CONFIG__SERVER__INIT);
    v->url = strdup(url);
    v->has_weight = weight != NO_WEIGHT;
    v->weight = weight == NO_WEIGHT ? 0 : weight;
    v->mark = mark(s->mark->line + 3 + (uint32_t)s->load_balancer->n_servers, 11);
    s->load_balancer->servers = push(s->load_balancer->servers, &s->load_balancer->n_servers, v);
    return v;
}

static Router *router(Config *c, const char *name, const char *rule, const char *svc, uint32_t line)
{
    Router *r = NEW(Router, CONCORD__CONFIG__ROUTER__INIT);
    r->name = strdup(name);
    r->rule = strdup(rule);
    r->service = strdup(svc);
    r->mark = mark(line, 5);
    c->http->routers = push(c->http->routers, &c->http->n_routers, r);
    return r;
}

static void strs(size_t *n, char ***v, const char *s)
{
    *v = push(*v, n, strdup(s));
}

/* ---- Compiling ---- */

static const char *const eps[] = {"web", "websecure"};

struct fix {
    struct diags d;
    struct table *t;
    int resolves;
};

static int fake_resolve(void *arg, const char *host, uint16_t port, struct sockaddr_storage *a,
                        uint32_t *len, struct err *e)
{
    struct fix *f = arg;
    f->resolves++;
    if (strcmp(host, "backend.test") != 0) {
        return err_set(e, -EHOSTUNREACH, "no such host");
    }
    struct sockaddr_in *in = (struct sockaddr_in *)a;
    memset(a, 0, sizeof *a);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    in->sin_addr.s_addr = htonl(0x0a000001);
    *len = sizeof *in;
    return 0;
}

/* Compiles one or two sources ("file" = a, "docker" = b); out NULL = dry run. */
static int compile2(struct fix *f, const Config *a, const Config *b, bool dry)
{
    struct table_source srcs[] = {{"file", a}, {"docker", b}};
    struct table_compile_opts o = {.entrypoints = eps,
                                   .n_entrypoints = 2,
                                   .generation = 7,
                                   .resolve = fake_resolve,
                                   .resolve_arg = f};
    diags_init(&f->d);
    f->t = NULL;
    f->resolves = 0;
    return table_compile(srcs, b ? 2 : 1, &o, dry ? NULL : &f->t, &f->d);
}

static void compile1(struct fix *f, const Config *a)
{
    ck_assert_int_eq(compile2(f, a, NULL, false), 0);
    ck_assert_ptr_nonnull(f->t);
}

static void done(struct fix *f, Config *a, Config *b)
{
    table_unref(f->t);
    diags_fini(&f->d);
    concord__config__config__free_unpacked(a, NULL);
    if (b) {
        concord__config__config__free_unpacked(b, NULL);
    }
}

/* The formatted diagnostic `i` (see diag_format) equals `want`. */
static void diag_is(const struct fix *f, size_t i, const char *want)
{
    char buf[700];
    ck_assert_msg(i < f->d.n, "only %zu diagnostics, wanted #%zu: %s", f->d.n, i, want);
    diag_format(&f->d.v[i], buf, sizeof buf);
    ck_assert_str_eq(buf, want);
}

static const struct table_router *router_named(const struct table *t, const char *name)
{
    for (uint32_t i = 0; i < table_nrouters(t); i++) {
        if (strcmp(table_router_at(t, i)->name, name) == 0) {
            return table_router_at(t, i);
        }
    }
    return NULL;
}

static const char *route(const struct table *t, const char *host, const char *path, uint32_t ep)
{
    struct table_request q = {.host = host,
                              .host_len = (uint32_t)strlen(host),
                              .path = path,
                              .path_len = (uint32_t)strlen(path),
                              .entrypoint = ep};
    const struct table_router *r = table_match(t, &q);
    return r ? r->name : NULL;
}

START_TEST(basic_table)
{
    struct fix f;
    Config *a = config();
    server(service(a, "svc", 10), "http://127.0.0.1:8081", NO_WEIGHT);
    router(a, "web", "Host(`example.org`)", "svc", 2);
    compile1(&f, a);
    ck_assert_uint_eq(f.d.n, 0);
    ck_assert_uint_eq(table_generation(f.t), 7);
    ck_assert_uint_eq(table_nrouters(f.t), 1);
    const struct table_router *r = table_router_at(f.t, 0);
    ck_assert_str_eq(r->name, "web@file");
    ck_assert_str_eq(r->rule, "Host(`example.org`)");
    ck_assert_int_eq(r->priority, 19);
    ck_assert_uint_eq(r->entrypoints, 3);
    ck_assert_str_eq(r->service->name, "svc@file");
    ck_assert(r->service->pass_host_header);
    ck_assert_uint_eq(r->service->nservers, 1);
    ck_assert_uint_eq(r->service->weights[0], 1);
    const struct table_server *s = r->service->servers[0];
    ck_assert_ptr_eq(s, table_server_at(f.t, 0));
    ck_assert_str_eq(s->url, "http://127.0.0.1:8081");
    ck_assert_str_eq(s->authority, "127.0.0.1:8081");
    ck_assert_str_eq(s->path, "");
    ck_assert_uint_eq(s->weight, 1);
    ck_assert_uint_eq(s->id, 0);
    const struct sockaddr_in *in = (const struct sockaddr_in *)&s->addr;
    ck_assert_int_eq(in->sin_family, AF_INET);
    ck_assert_uint_eq(ntohs(in->sin_port), 8081);
    ck_assert_uint_eq(ntohl(in->sin_addr.s_addr), 0x7f000001);
    ck_assert_uint_eq(s->addrlen, sizeof *in);
    ck_assert_int_eq(f.resolves, 0); /* an IP literal never reaches the resolver */
    ck_assert_str_eq(route(f.t, "example.org", "/", 1), "web@file");
    ck_assert_ptr_null(route(f.t, "example.com", "/", 1));
    done(&f, a, NULL);
}
END_TEST

START_TEST(namespacing)
{
    struct fix f;
    Config *a = config(), *b = config();
    server(service(a, "svc", 10), "http://127.0.0.1:1", NO_WEIGHT);
    server(service(b, "svc", 10), "http://127.0.0.1:2", NO_WEIGHT);
    server(service(b, "other@docker", 20), "http://127.0.0.1:3", NO_WEIGHT);
    router(a, "local", "Path(`/l`)", "svc", 1);
    router(a, "cross", "Path(`/c`)", "svc@docker", 2);
    router(b, "local", "Path(`/d`)", "svc", 1);
    router(b, "named@docker", "Path(`/n`)", "other", 2);
    ck_assert_int_eq(compile2(&f, a, b, false), 0);
    ck_assert_uint_eq(f.d.n, 0);
    ck_assert_uint_eq(table_nservices(f.t), 3);
    ck_assert_str_eq(table_service_at(f.t, 0)->name, "other@docker");
    ck_assert_str_eq(table_service_at(f.t, 1)->name, "svc@docker");
    ck_assert_str_eq(table_service_at(f.t, 2)->name, "svc@file");
    ck_assert_str_eq(router_named(f.t, "local@file")->service->name, "svc@file");
    ck_assert_str_eq(router_named(f.t, "local@docker")->service->name, "svc@docker");
    ck_assert_str_eq(router_named(f.t, "cross@file")->service->name, "svc@docker");
    ck_assert_str_eq(router_named(f.t, "named@docker")->service->name, "other@docker");
    ck_assert_ptr_eq(table_service_find(f.t, "svc@docker"), table_service_at(f.t, 1));
    done(&f, a, b);
}
END_TEST

START_TEST(foreign_namespace_and_empty_names)
{
    struct fix f;
    Config *a = config();
    server(service(a, "svc@docker", 3), "http://127.0.0.1:1", NO_WEIGHT);
    router(a, "", "Path(`/`)", "svc", 9);
    compile1(&f, a);
    ck_assert_uint_eq(f.d.nerrors, 2);
    diag_is(&f, 0,
            "dyn.yaml:3:5: http.services.svc@docker: name \"svc@docker\" is not in "
            "this provider's namespace \"file\"");
    diag_is(&f, 1, "dyn.yaml:9:5: http.routers.: empty name");
    ck_assert_uint_eq(table_nservices(f.t), 0);
    ck_assert_uint_eq(table_nrouters(f.t), 0);
    done(&f, a, NULL);
}
END_TEST

START_TEST(priorities_and_ties)
{
    struct fix f;
    Config *a = config();
    server(service(a, "svc", 1), "http://127.0.0.1:1", NO_WEIGHT);
    router(a, "b-long", "Host(`example.org`)", "svc", 1);   /* 19 */
    router(a, "a-long", "Host(`example.net`)", "svc", 2);   /* 19, name sorts first */
    router(a, "spaced", "Host( `example.org` )", "svc", 3); /* 21: spaces count */
    router(a, "explicit", "Host(`example.org`)", "svc", 4)->priority = 100;
    router(a, "negative", "PathPrefix(`/`)", "svc", 5)->priority = -5;
    router(a, "short", "Path(`/`)", "svc", 6); /* 9 */
    compile1(&f, a);
    ck_assert_uint_eq(f.d.n, 0);
    static const char *order[] = {"explicit@file", "spaced@file", "a-long@file",
                                  "b-long@file",   "short@file",  "negative@file"};
    static const int64_t prio[] = {100, 21, 19, 19, 9, -5};
    for (uint32_t i = 0; i < 6; i++) {
        ck_assert_str_eq(table_router_at(f.t, i)->name, order[i]);
        ck_assert_int_eq(table_router_at(f.t, i)->priority, prio[i]);
    }
    ck_assert_str_eq(route(f.t, "example.org", "/", 0), "explicit@file");
    ck_assert_str_eq(route(f.t, "other", "/", 0), "short@file");
    ck_assert_str_eq(route(f.t, "other", "/x", 0), "negative@file");
    done(&f, a, NULL);
}
END_TEST

START_TEST(priority_above_maximum)
{
    struct fix f;
    Config *a = config();
    server(service(a, "svc", 1), "http://127.0.0.1:1", NO_WEIGHT);
    router(a, "ok", "Path(`/`)", "svc", 4)->priority = INT64_MAX - 1000;
    router(a, "high", "Path(`/`)", "svc", 8)->priority = INT64_MAX - 999;
    compile1(&f, a);
    diag_is(&f, 0,
            "dyn.yaml:8:5: http.routers.high.priority: priority 9223372036854774808 is "
            "above the maximum 9223372036854774807");
    ck_assert_uint_eq(table_nrouters(f.t), 1);
    done(&f, a, NULL);
}
END_TEST

START_TEST(disabled_routers_name_file_line_col)
{
    struct fix f;
    Config *a = config();
    server(service(a, "svc", 1), "http://127.0.0.1:1", NO_WEIGHT);
    router(a, "bad", "(Host(`a`)", "svc", 7);
    router(a, "empty", "", "svc", 12);
    router(a, "lookahead", "HostRegexp(`a(?=b)`)", "svc", 15);
    router(a, "good", "Host(`a`)", "svc", 20);
    compile1(&f, a);
    ck_assert_uint_eq(f.d.n, 3);
    ck_assert_uint_eq(f.d.nerrors, 3);
    diag_is(&f, 0, "dyn.yaml:7:5: http.routers.bad.rule: col 11: expected ')'");
    diag_is(&f, 1, "dyn.yaml:12:5: http.routers.empty.rule: col 1: empty rule");
    diag_is(&f, 2,
            "dyn.yaml:15:5: http.routers.lookahead.rule: col 12: HostRegexp: lookahead (?= is "
            "not supported (RE2 syntax has no such construct)");
    ck_assert_str_eq(f.d.v[0].file, "dyn.yaml");
    ck_assert_uint_eq(f.d.v[0].line, 7);
    ck_assert_uint_eq(f.d.v[0].col, 5);
    ck_assert_str_eq(f.d.v[0].path, "http.routers.bad.rule");
    ck_assert_uint_eq(table_nrouters(f.t), 1);
    ck_assert_str_eq(table_router_at(f.t, 0)->name, "good@file");
    done(&f, a, NULL);
}
END_TEST

START_TEST(dangling_and_disabled_services)
{
    struct fix f;
    Config *a = config();
    server(service(a, "tls", 1), "https://127.0.0.1:443", NO_WEIGHT);
    router(a, "dangling", "Path(`/a`)", "nope", 10);
    router(a, "other-ns", "Path(`/b`)", "svc@docker", 11);
    router(a, "to-tls", "Path(`/c`)", "tls", 12);
    router(a, "none", "Path(`/d`)", "", 13);
    compile1(&f, a);
    ck_assert_uint_eq(f.d.nerrors, 5);
    diag_is(&f, 0,
            "dyn.yaml:4:11: http.services.tls.loadBalancer.servers[0].url: https "
            "upstreams come with TLS support: \"https://127.0.0.1:443\"");
    diag_is(&f, 1,
            "dyn.yaml:10:5: http.routers.dangling.service: service \"nope@file\" does "
            "not exist");
    diag_is(&f, 2, "dyn.yaml:13:5: http.routers.none.service: router has no service");
    diag_is(&f, 3,
            "dyn.yaml:11:5: http.routers.other-ns.service: service \"svc@docker\" does "
            "not exist");
    diag_is(&f, 4,
            "dyn.yaml:12:5: http.routers.to-tls.service: service \"tls@file\" is "
            "disabled by its own errors");
    ck_assert_uint_eq(table_nrouters(f.t), 0);
    ck_assert_uint_eq(table_nservices(f.t), 0);
    ck_assert_uint_eq(table_nservers(f.t), 0);
    done(&f, a, NULL);
}
END_TEST

START_TEST(several_errors_in_one_router)
{
    struct fix f;
    Config *a = config();
    Router *r = router(a, "web", "Path(`x`)", "missing", 3);
    r->rule_syntax = strdup("v1");
    strs(&r->n_middlewares, &r->middlewares, "auth");
    compile1(&f, a);
    ck_assert_uint_eq(f.d.nerrors, 4);
    diag_is(&f, 0,
            "dyn.yaml:3:5: http.routers.web.ruleSyntax: unknown ruleSyntax \"v1\" "
            "(v2 or v3)");
    diag_is(&f, 1, "dyn.yaml:3:5: http.routers.web.rule: col 6: Path: value must start with '/'");
    diag_is(&f, 2,
            "dyn.yaml:3:5: http.routers.web.service: service \"missing@file\" does not "
            "exist");
    diag_is(&f, 3,
            "dyn.yaml:3:5: http.routers.web.middlewares[0]: middleware \"auth@file\" does not "
            "exist");
    ck_assert_uint_eq(table_nrouters(f.t), 0);
    done(&f, a, NULL);
}
END_TEST

START_TEST(rule_syntax_v3_accepted)
{
    struct fix f;
    Config *a = config();
    server(service(a, "svc", 1), "http://127.0.0.1:1", NO_WEIGHT);
    router(a, "web", "Path(`/`)", "svc", 3)->rule_syntax = strdup("v3");
    router(a, "odd", "Path(`/`)", "svc", 4)->rule_syntax = strdup("v4");
    compile1(&f, a);
    ck_assert_uint_eq(f.d.n, 1);
    diag_is(&f, 0,
            "dyn.yaml:4:5: http.routers.odd.ruleSyntax: unknown ruleSyntax \"v4\" "
            "(v2 or v3)");
    ck_assert_uint_eq(table_nrouters(f.t), 1);
    done(&f, a, NULL);
}
END_TEST

/* ruleSyntax: v2 compiles v2 rules; v3-only matchers are errors in v2 routers and v2-only forms
 * in v3 routers, each naming the syntax it belongs to. */
START_TEST(rule_syntax_v2)
{
    struct fix f;
    Config *a = config();
    server(service(a, "svc", 1), "http://127.0.0.1:1", NO_WEIGHT);
    router(a, "multi", "Host(`a.com`, `b.com`) && PathPrefix(`/{id:[0-9]+}`)", "svc", 3)
        ->rule_syntax = strdup("v2");
    router(a, "hdr", "Headers(`X-A`, `1`) && Query(`k=v`)", "svc", 4)->rule_syntax = strdup("v2");
    router(a, "v3in2", "PathRegexp(`^/x`)", "svc", 5)->rule_syntax = strdup("v2");
    router(a, "hdr3in2", "Header(`X-A`, `1`)", "svc", 6)->rule_syntax = strdup("v2");
    router(a, "v2in3", "Headers(`X-A`, `1`)", "svc", 7);
    router(a, "hosts3", "Host(`a.com`, `b.com`)", "svc", 8)->rule_syntax = strdup("v3");
    router(a, "lonekey", "Query(`k`)", "svc", 9)->rule_syntax = strdup("v2");
    router(a, "one", "Host(`C.com.`)", "svc", 10)->rule_syntax = strdup("v2"); /* indexed */
    compile1(&f, a);
    ck_assert_uint_eq(f.d.nerrors, 5);
    /* Diagnostics come in router name order. */
    diag_is(&f, 0,
            "dyn.yaml:6:5: http.routers.hdr3in2.rule: col 1: unknown matcher Header (v3 "
            "syntax; v2 uses Headers)");
    diag_is(&f, 1,
            "dyn.yaml:8:5: http.routers.hosts3.rule: col 1: Host takes 1 value, got 2 "
            "(several values are v2 syntax; use || in v3)");
    diag_is(&f, 2,
            "dyn.yaml:9:5: http.routers.lonekey.rule: col 7: Query: values must be key=value "
            "in v2 syntax (a lone key is v3 syntax)");
    diag_is(&f, 3,
            "dyn.yaml:7:5: http.routers.v2in3.rule: col 1: unknown matcher Headers (v2 "
            "syntax; v3 uses Header)");
    diag_is(&f, 4,
            "dyn.yaml:5:5: http.routers.v3in2.rule: col 1: unknown matcher PathRegexp (v3 "
            "syntax; v2 uses Path or PathPrefix with a `{name:regexp}` template)");
    ck_assert_uint_eq(table_nrouters(f.t), 3);
    const struct table_router *m = router_named(f.t, "multi@file");
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(m->priority, 52); /* len(rule), as in v3 */
    ck_assert_str_eq(route(f.t, "b.com", "/42", 0), "multi@file");
    ck_assert_ptr_null(route(f.t, "b.com", "/x", 0));
    ck_assert_str_eq(route(f.t, "c.com", "/42", 0), "one@file");
    ck_assert_str_eq(route(f.t, "C.com", "/", 0), "one@file");
    ck_assert_ptr_null(route(f.t, "d.com", "/42", 0));
    ck_assert_ptr_nonnull(router_named(f.t, "hdr@file"));
    done(&f, a, NULL);
}
END_TEST

START_TEST(entry_point_bits)
{
    struct fix f;
    Config *a = config();
    server(service(a, "svc", 1), "http://127.0.0.1:1", NO_WEIGHT);
    Router *sec = router(a, "sec", "Path(`/s`)", "svc", 3);
    strs(&sec->n_entry_points, &sec->entry_points, "websecure");
    Router *mix = router(a, "mix", "Path(`/m`)", "svc", 6);
    strs(&mix->n_entry_points, &mix->entry_points, "web");
    strs(&mix->n_entry_points, &mix->entry_points, "admin");
    Router *gone = router(a, "gone", "Path(`/g`)", "svc", 9);
    strs(&gone->n_entry_points, &gone->entry_points, "metrics");
    router(a, "all", "Path(`/a`)", "svc", 12);
    compile1(&f, a);
    ck_assert_uint_eq(f.d.nerrors, 0);
    ck_assert_uint_eq(f.d.n, 2);
    diag_is(&f, 0,
            "dyn.yaml:9:5: http.routers.gone.entryPoints[0]: entry point \"metrics\" is "
            "not defined on this node (warning)");
    diag_is(&f, 1,
            "dyn.yaml:6:5: http.routers.mix.entryPoints[1]: entry point \"admin\" is "
            "not defined on this node (warning)");
    ck_assert_uint_eq(router_named(f.t, "sec@file")->entrypoints, 2);
    ck_assert_uint_eq(router_named(f.t, "mix@file")->entrypoints, 1);
    ck_assert_uint_eq(router_named(f.t, "gone@file")->entrypoints, 0);
    ck_assert_uint_eq(router_named(f.t, "all@file")->entrypoints, 3);
    ck_assert_str_eq(route(f.t, "", "/s", 1), "sec@file");
    ck_assert_ptr_null(route(f.t, "", "/s", 0));
    ck_assert_ptr_null(route(f.t, "", "/g", 0));
    ck_assert_ptr_null(route(f.t, "", "/g", 1));
    ck_assert_str_eq(route(f.t, "", "/a", 1), "all@file");
    done(&f, a, NULL);
}
END_TEST

START_TEST(bad_options)
{
    struct diags d;
    struct table *t = NULL;
    Config *a = config();
    struct table_compile_opts o = {.n_entrypoints = 65};
    struct table_source bad_ns[] = {{"a@b", a}}, ok[] = {{"file", a}};
    diags_init(&d);
    ck_assert_int_eq(table_compile(ok, 1, &o, &t, &d), -EINVAL);
    o.n_entrypoints = 0;
    ck_assert_int_eq(table_compile(bad_ns, 1, &o, &t, &d), -EINVAL);
    bad_ns[0].ns = "";
    ck_assert_int_eq(table_compile(bad_ns, 1, &o, &t, &d), -EINVAL);
    ck_assert_ptr_null(t);
    /* 64 entry points: every bit; no diags list: none kept. */
    static const char *const many[64] = {"e0"};
    o = (struct table_compile_opts){.entrypoints = many, .n_entrypoints = 64};
    router(a, "r", "Path(`/`)", "nope", 1);
    server(service(a, "svc", 2), "http://127.0.0.1:1", NO_WEIGHT);
    router(a, "all", "Path(`/`)", "svc", 3);
    ck_assert_int_eq(table_compile(ok, 1, &o, &t, NULL), 0);
    ck_assert_uint_eq(table_router_at(t, 0)->entrypoints, UINT64_MAX);
    table_unref(t);
    diags_fini(&d);
    concord__config__config__free_unpacked(a, NULL);
}
END_TEST

START_TEST(empty_and_missing_configs)
{
    struct fix f;
    Config *a = config();
    Config *bare = NEW(Config, CONCORD__CONFIG__CONFIG__INIT); /* no http section */
    ck_assert_int_eq(compile2(&f, a, bare, false), 0);
    ck_assert_uint_eq(table_nrouters(f.t), 0);
    ck_assert_uint_eq(table_nservers(f.t), 0);
    done(&f, a, bare);
}
END_TEST

START_TEST(services_and_weights)
{
    struct fix f;
    Config *a = config();
    Service *s = service(a, "svc", 10);
    server(s, "http://127.0.0.1:1", NO_WEIGHT);
    server(s, "http://127.0.0.1:2", 0);
    server(s, "http://127.0.0.1:3", 5);
    server(s, "http://127.0.0.1:4", -2);
    s->load_balancer->has_pass_host_header = true;
    s->load_balancer->pass_host_header = false;
    Service *z = service(a, "zero", 20);
    server(z, "http://127.0.0.1:5", 0);
    service(a, "empty", 30);
    compile1(&f, a);
    ck_assert_uint_eq(f.d.nerrors, 0);
    ck_assert_uint_eq(f.d.n, 3);
    diag_is(&f, 0,
            "dyn.yaml:30:5: http.services.empty.loadBalancer.servers: no servers; "
            "requests to this service get 503 (warning)");
    diag_is(&f, 1,
            "dyn.yaml:16:11: http.services.svc.loadBalancer.servers[3].weight: negative "
            "weight -2 counts as 0: the server gets no traffic (warning)");
    diag_is(&f, 2,
            "dyn.yaml:20:5: http.services.zero.loadBalancer.servers: no server has a "
            "positive weight; requests to this service get 503 (warning)");
    const struct table_service *v = table_service_find(f.t, "svc@file");
    ck_assert(!v->pass_host_header);
    ck_assert_uint_eq(v->nservers, 4);
    ck_assert_uint_eq(v->weights[0], 1);
    ck_assert_uint_eq(v->weights[1], 0);
    ck_assert_uint_eq(v->weights[2], 5);
    ck_assert_uint_eq(v->weights[3], 0);
    ck_assert_uint_eq(table_service_find(f.t, "empty@file")->nservers, 0);
    ck_assert_uint_eq(table_service_find(f.t, "zero@file")->weights[0], 0);
    ck_assert_uint_eq(table_nservices(f.t), 3);
    ck_assert_uint_eq(table_nservers(f.t), 5);
    done(&f, a, NULL);
}
END_TEST

START_TEST(servers_shared_across_services)
{
    struct fix f;
    Config *a = config(), *b = config();
    Service *s1 = service(a, "one", 1), *s2 = service(a, "two", 10), *s3 = service(b, "three", 1);
    server(s1, "http://127.0.0.1:9000", 2);
    server(s1, "http://127.0.0.1:8000", NO_WEIGHT);
    server(s2, "http://127.0.0.1:9000", 7);
    server(s2, "http://127.0.0.1:9000", 1); /* listed twice: two slots, one server */
    server(s3, "http://127.0.0.1:8000", NO_WEIGHT);
    server(s3, "http://127.0.0.1:8000/", NO_WEIGHT); /* a different URL string */
    ck_assert_int_eq(compile2(&f, a, b, false), 0);
    ck_assert_uint_eq(f.d.n, 0);
    ck_assert_uint_eq(table_nservers(f.t), 3);
    for (uint32_t i = 0; i < 3; i++) {
        ck_assert_uint_eq(table_server_at(f.t, i)->id, i);
    }
    /* Numbered in URL order. */
    ck_assert_str_eq(table_server_at(f.t, 0)->url, "http://127.0.0.1:8000");
    ck_assert_str_eq(table_server_at(f.t, 1)->url, "http://127.0.0.1:8000/");
    ck_assert_str_eq(table_server_at(f.t, 1)->path, "/");
    ck_assert_str_eq(table_server_at(f.t, 2)->url, "http://127.0.0.1:9000");
    const struct table_service *one = table_service_find(f.t, "one@file");
    const struct table_service *two = table_service_find(f.t, "two@file");
    const struct table_service *three = table_service_find(f.t, "three@docker");
    ck_assert_ptr_eq(one->servers[0], two->servers[0]);
    ck_assert_ptr_eq(two->servers[0], two->servers[1]);
    ck_assert_ptr_eq(one->servers[1], three->servers[0]);
    ck_assert_ptr_ne(three->servers[0], three->servers[1]);
    ck_assert_uint_eq(one->weights[0], 2);
    ck_assert_uint_eq(two->weights[0], 7);
    ck_assert_uint_eq(two->weights[1], 1);
    done(&f, a, b);
}
END_TEST

START_TEST(server_urls)
{
    struct fix f;
    Config *a = config();
    server(service(a, "v6", 1), "http://[::1]:8080/base/path", NO_WEIGHT);
    server(service(a, "dflt", 5), "HTTP://10.1.2.3", NO_WEIGHT);
    server(service(a, "named", 10), "http://backend.test:81", NO_WEIGHT);
    server(service(a, "lost", 15), "http://unknown.test", NO_WEIGHT);
    compile1(&f, a);
    ck_assert_uint_eq(f.d.n, 1);
    diag_is(&f, 0,
            "dyn.yaml:18:11: http.services.lost.loadBalancer.servers[0].url: cannot "
            "resolve \"unknown.test\" (no such host); requests sent to this server get "
            "502 (warning)");
    ck_assert_int_eq(f.resolves, 2);
    const struct table_server *s = table_service_find(f.t, "v6@file")->servers[0];
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&s->addr;
    ck_assert_int_eq(in6->sin6_family, AF_INET6);
    ck_assert_uint_eq(ntohs(in6->sin6_port), 8080);
    ck_assert(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
    ck_assert_str_eq(s->authority, "[::1]:8080");
    ck_assert_str_eq(s->path, "/base/path");
    s = table_service_find(f.t, "dflt@file")->servers[0];
    ck_assert_uint_eq(ntohs(((const struct sockaddr_in *)&s->addr)->sin_port), 80);
    ck_assert_str_eq(s->authority, "10.1.2.3");
    s = table_service_find(f.t, "named@file")->servers[0];
    ck_assert_uint_eq(ntohl(((const struct sockaddr_in *)&s->addr)->sin_addr.s_addr), 0x0a000001);
    ck_assert_uint_eq(ntohs(((const struct sockaddr_in *)&s->addr)->sin_port), 81);
    s = table_service_find(f.t, "lost@file")->servers[0];
    ck_assert_uint_eq(s->addrlen, 0);
    done(&f, a, NULL);
}
END_TEST

START_TEST(bad_server_urls)
{
    static const struct {
        const char *url, *why;
    } cases[] = {
        {"", "empty url"},
        {"127.0.0.1:80", "url has no scheme (expected http://host[:port])"},
        {"ftp://a", "unsupported scheme (only http for now)"},
        {"https://a", "https upstreams come with TLS support"},
        {"http://", "url has no host"},
        {"http://:80", "url has no host"},
        {"http://a:", "bad port"},
        {"http://a:0", "port out of range (1-65535)"},
        {"http://a:65536", "port out of range (1-65535)"},
        {"http://a:123456", "bad port"},
        {"http://a:8x", "bad port"},
        {"http://u:p@a", "url must not carry user info"},
        {"http://a/?x=1", "url must not have a query or a fragment"},
        {"http://a/#f", "url must not have a query or a fragment"},
        {"http://a b", "url holds a space, a control or a non-ASCII character"},
        {"http://\xc3\xa9.test", "url holds a space, a control or a non-ASCII character"},
        {"http://::1", "bad host (an IPv6 address needs brackets)"},
        {"http://[::1", "bad [IPv6] host"},
        {"http://[]:80", "bad [IPv6] host"},
        {"http://[::1]x", "bad [IPv6] host"},
        {"http://a!b", "bad character in host"},
    };
    char want[400];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fix f;
        Config *a = config();
        server(service(a, "svc", 1), cases[i].url, NO_WEIGHT);
        compile1(&f, a);
        snprintf(want, sizeof want,
                 "dyn.yaml:4:11: http.services.svc.loadBalancer.servers[0].url: %s: \"%s\"",
                 cases[i].why, cases[i].url);
        ck_assert_uint_eq(f.d.n, 1);
        diag_is(&f, 0, want);
        ck_assert_uint_eq(table_nservices(f.t), 0);
        done(&f, a, NULL);
    }
    struct fix f;
    Config *a = config();
    server(service(a, "svc", 1), "http://[zz::q]:80", NO_WEIGHT);
    compile1(&f, a);
    diag_is(&f, 0,
            "dyn.yaml:4:11: http.services.svc.loadBalancer.servers[0].url: bad IPv6 "
            "address \"zz::q\"");
    done(&f, a, NULL);
}
END_TEST

START_TEST(service_kinds_and_transport)
{
    struct fix f;
    Config *a = config();
    Service *none = service(a, "none", 1);
    concord__config__load_balancer__free_unpacked(none->load_balancer, NULL);
    none->load_balancer = NULL;
    none->kind_case = CONCORD__CONFIG__SERVICE__KIND__NOT_SET;
    Service *tr = service(a, "tr", 5);
    server(tr, "http://127.0.0.1:1", NO_WEIGHT);
    tr->load_balancer->servers_transport = strdup("mytransport");
    compile1(&f, a);
    ck_assert_uint_eq(f.d.n, 2);
    diag_is(&f, 0,
            "dyn.yaml:1:5: http.services.none: service has no kind (loadBalancer, weighted, "
            "mirroring or failover)");
    diag_is(&f, 1,
            "dyn.yaml:5:5: http.services.tr.loadBalancer.serversTransport: "
            "serversTransport \"mytransport@file\" does not exist");
    ck_assert_uint_eq(table_nservices(f.t), 0);
    done(&f, a, NULL);
}
END_TEST

START_TEST(duplicates_disable_every_copy)
{
    struct fix f;
    Config *a = config(), *b = config();
    server(service(a, "svc", 1), "http://127.0.0.1:1", NO_WEIGHT);
    server(service(a, "svc", 10), "http://127.0.0.1:2", NO_WEIGHT);
    server(service(a, "keep", 20), "http://127.0.0.1:3", NO_WEIGHT);
    router(a, "web", "Path(`/`)", "svc", 30);
    router(a, "dup", "Path(`/a`)", "keep", 31);
    router(b, "dup", "Path(`/b`)", "keep@file", 32); /* another namespace: no clash */
    router(a, "dup", "Path(`/c`)", "keep", 33);
    ck_assert_int_eq(compile2(&f, a, b, false), 0);
    ck_assert_uint_eq(f.d.nerrors, 5);
    diag_is(&f, 0,
            "dyn.yaml:1:5: http.services.svc: svc@file is defined more than once in "
            "namespace file; every copy is disabled");
    diag_is(&f, 1,
            "dyn.yaml:10:5: http.services.svc: svc@file is defined more than once in "
            "namespace file; every copy is disabled");
    diag_is(&f, 2,
            "dyn.yaml:31:5: http.routers.dup: dup@file is defined more than once in "
            "namespace file; every copy is disabled");
    diag_is(&f, 3,
            "dyn.yaml:33:5: http.routers.dup: dup@file is defined more than once in "
            "namespace file; every copy is disabled");
    diag_is(&f, 4,
            "dyn.yaml:30:5: http.routers.web.service: service \"svc@file\" is disabled "
            "by its own errors");
    ck_assert_uint_eq(table_nrouters(f.t), 1);
    ck_assert_str_eq(table_router_at(f.t, 0)->name, "dup@docker");
    ck_assert_uint_eq(table_nservices(f.t), 1);
    ck_assert_uint_eq(table_nservers(f.t), 1);
    done(&f, a, b);
}
END_TEST

START_TEST(dry_run)
{
    struct fix f, g;
    Config *a = config();
    server(service(a, "svc", 1), "http://backend.test", NO_WEIGHT);
    server(service(a, "bad", 5), "http://a:0", NO_WEIGHT);
    router(a, "web", "Host(`a`", "svc", 10);
    router(a, "ok", "Host(`a`)", "svc", 11);
    ck_assert_int_eq(compile2(&f, a, NULL, true), 0);
    ck_assert_ptr_null(f.t);
    ck_assert_int_eq(f.resolves, 0); /* no DNS in a dry run */
    /* Same diagnostics as a real compile. */
    compile1(&g, a);
    ck_assert_uint_eq(f.d.n, 2);
    ck_assert_uint_eq(g.d.n, f.d.n);
    for (size_t i = 0; i < f.d.n; i++) {
        char x[600], y[600];
        diag_format(&f.d.v[i], x, sizeof x);
        diag_format(&g.d.v[i], y, sizeof y);
        ck_assert_str_eq(x, y);
    }
    diags_fini(&g.d);
    table_unref(g.t);
    done(&f, a, NULL);
}
END_TEST

START_TEST(table_outlives_config_and_refs)
{
    struct fix f;
    Config *a = config();
    server(service(a, "svc", 1), "http://127.0.0.1:1", NO_WEIGHT);
    router(a, "web", "Host(`a.test`) && PathPrefix(`/x`)", "svc", 2);
    compile1(&f, a);
    struct table *t = f.t;
    f.t = NULL;
    done(&f, a, NULL); /* the config is gone; the table owns copies of everything */
    table_ref(t);
    table_unref(t);
    ck_assert_str_eq(route(t, "a.test", "/x/y", 0), "web@file");
    ck_assert_str_eq(table_router_at(t, 0)->rule, "Host(`a.test`) && PathPrefix(`/x`)");
    ck_assert_str_eq(table_router_at(t, 0)->service->servers[0]->url, "http://127.0.0.1:1");
    table_unref(t); /* last reference: ASan reports any leak or later use */
}
END_TEST

START_TEST(default_resolver_and_numeric_hosts)
{
    struct diags d;
    struct table *t = NULL;
    Config *a = config();
    server(service(a, "local", 1), "http://localhost:8080", NO_WEIGHT);
    struct table_source src = {"file", a};
    struct table_compile_opts o = {0};
    diags_init(&d);
    ck_assert_int_eq(table_compile(&src, 1, &o, &t, &d), 0);
    /* localhost comes from /etc/hosts, so this needs no network. */
    const struct table_server *s = table_server_at(t, 0);
    ck_assert_uint_eq(d.n, 0);
    ck_assert_uint_gt(s->addrlen, 0);
    ck_assert(s->addr.ss_family == AF_INET || s->addr.ss_family == AF_INET6);
    table_unref(t);
    diags_fini(&d);
    concord__config__config__free_unpacked(a, NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("table_compile");
    TCase *tc = tcase_create("compile");
    tcase_add_test(tc, basic_table);
    tcase_add_test(tc, namespacing);
    tcase_add_test(tc, foreign_namespace_and_empty_names);
    tcase_add_test(tc, priorities_and_ties);
    tcase_add_test(tc, priority_above_maximum);
    tcase_add_test(tc, disabled_routers_name_file_line_col);
    tcase_add_test(tc, dangling_and_disabled_services);
    tcase_add_test(tc, several_errors_in_one_router);
    tcase_add_test(tc, rule_syntax_v3_accepted);
    tcase_add_test(tc, rule_syntax_v2);
    tcase_add_test(tc, entry_point_bits);
    tcase_add_test(tc, bad_options);
    tcase_add_test(tc, empty_and_missing_configs);
    tcase_add_test(tc, services_and_weights);
    tcase_add_test(tc, servers_shared_across_services);
    tcase_add_test(tc, server_urls);
    tcase_add_test(tc, bad_server_urls);
    tcase_add_test(tc, service_kinds_and_transport);
    tcase_add_test(tc, duplicates_disable_every_copy);
    tcase_add_test(tc, dry_run);
    tcase_add_test(tc, table_outlives_config_and_refs);
    tcase_add_test(tc, default_resolver_and_numeric_hosts);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
