/* Unit tests of providers/decode: Traefik dynamic YAML into the Config proto. */
#include <errno.h>

#include "providers/decode.h"
#include "tests/unit/providers/helpers.h"

typedef Concord__Config__Config Config;

static struct diags d;
static Config *cfg;

static void setup(void)
{
    diags_init(&d);
    cfg = NULL;
}

static void teardown(void)
{
    decode_config_free(cfg);
    diags_fini(&d);
}

static int dec(const char *yaml)
{
    decode_config_free(cfg);
    cfg = NULL;
    return decode_dynamic_string("dyn.yaml", yaml, strlen(yaml), &cfg, &d);
}

static const char full[] = "http:\n"
                           "  routers:\n"
                           "    web:\n"
                           "      rule: \"Host(`a.example`) && PathPrefix(`/api`)\"\n"
                           "      ruleSyntax: v3\n"
                           "      priority: 10\n"
                           "      entryPoints: [web, websecure]\n"
                           "      middlewares:\n"
                           "        - auth\n"
                           "        - strip@file\n"
                           "      service: api\n"
                           "    bare: {}\n"
                           "  services:\n"
                           "    api:\n"
                           "      loadBalancer:\n"
                           "        servers:\n"
                           "          - url: \"http://127.0.0.1:8081\"\n"
                           "            weight: 3\n"
                           "          - url: \"http://127.0.0.1:8082\"\n"
                           "        passHostHeader: false\n"
                           "        serversTransport: slow\n";

START_TEST(every_decoded_key)
{
    ck_assert_int_eq(dec(full), 0);
    ck_assert_uint_eq(d.n, 0);
    ck_assert_ptr_nonnull(cfg->http);
    ck_assert_uint_eq(cfg->http->n_routers, 2);
    const Concord__Config__Router *r = cfg->http->routers[0];
    ck_assert_str_eq(r->name, "web");
    ck_assert_str_eq(r->rule, "Host(`a.example`) && PathPrefix(`/api`)");
    ck_assert_str_eq(r->rule_syntax, "v3");
    ck_assert_int_eq(r->priority, 10);
    ck_assert_uint_eq(r->n_entry_points, 2);
    ck_assert_str_eq(r->entry_points[1], "websecure");
    ck_assert_uint_eq(r->n_middlewares, 2);
    ck_assert_str_eq(r->middlewares[1], "strip@file");
    ck_assert_str_eq(r->service, "api");
    ck_assert_str_eq(r->mark->file, "dyn.yaml");
    ck_assert_uint_eq(r->mark->line, 3);
    ck_assert_uint_eq(r->mark->col, 5);
    r = cfg->http->routers[1];
    ck_assert_str_eq(r->name, "bare");
    ck_assert_str_eq(r->rule, "");
    ck_assert_int_eq(r->priority, 0);
    ck_assert_uint_eq(r->n_entry_points, 0);

    ck_assert_uint_eq(cfg->http->n_services, 1);
    const Concord__Config__Service *s = cfg->http->services[0];
    ck_assert_str_eq(s->name, "api");
    ck_assert_uint_eq(s->mark->line, 14);
    ck_assert_int_eq(s->kind_case, CONCORD__CONFIG__SERVICE__KIND_LOAD_BALANCER);
    const Concord__Config__LoadBalancer *lb = s->load_balancer;
    ck_assert_uint_eq(lb->mark->line, 15);
    ck_assert_uint_eq(lb->mark->col, 7);
    ck_assert_uint_eq(lb->n_servers, 2);
    ck_assert_str_eq(lb->servers[0]->url, "http://127.0.0.1:8081");
    ck_assert(lb->servers[0]->has_weight);
    ck_assert_int_eq(lb->servers[0]->weight, 3);
    ck_assert_uint_eq(lb->servers[0]->mark->line, 17);
    ck_assert_uint_eq(lb->servers[0]->mark->col, 13);
    ck_assert(!lb->servers[1]->has_weight);
    ck_assert(lb->has_pass_host_header);
    ck_assert(!lb->pass_host_header);
    ck_assert_str_eq(lb->servers_transport, "slow");
}
END_TEST

START_TEST(proto_round_trip)
{
    ck_assert_int_eq(dec(full), 0);
    size_t n = concord__config__config__get_packed_size(cfg);
    uint8_t *buf = malloc(n);
    ck_assert_uint_eq(concord__config__config__pack(cfg, buf), n);
    Config *back = concord__config__config__unpack(NULL, n, buf);
    ck_assert_ptr_nonnull(back);
    ck_assert_str_eq(back->http->routers[0]->middlewares[0], "auth");
    ck_assert_int_eq(back->http->services[0]->load_balancer->servers[0]->weight, 3);
    ck_assert_uint_eq(back->http->services[0]->mark->line, 14);
    concord__config__config__free_unpacked(back, NULL);
    free(buf);
}
END_TEST

START_TEST(defaults_of_optional_fields)
{
    ck_assert_int_eq(dec("http:\n  services:\n    s:\n      loadBalancer:\n        servers:\n"
                         "          - url: http://x\n"),
                     0);
    const Concord__Config__LoadBalancer *lb = cfg->http->services[0]->load_balancer;
    ck_assert(!lb->has_pass_host_header);
    ck_assert_str_eq(lb->servers_transport, "");
    ck_assert(!lb->servers[0]->has_weight);
}
END_TEST

START_TEST(empty_documents)
{
    ck_assert_int_eq(dec(""), 0);
    ck_assert_ptr_nonnull(cfg->http);
    ck_assert_uint_eq(cfg->http->n_routers, 0);
    ck_assert_int_eq(dec("http:\n"), 0);
    ck_assert_int_eq(dec("http:\n  routers:\n"), 0);
    ck_assert_uint_eq(d.n, 0);
}
END_TEST

START_TEST(unknown_key_exact_text)
{
    ck_assert_int_eq(dec("http:\n  routers:\n    web:\n      rulee: x\n"), -EINVAL);
    ck_assert_ptr_null(cfg);
    ck_assert(has_diag(&d, "dyn.yaml:4:7: http.routers.web.rulee: unknown key"));
    ck_assert_uint_eq(d.nerrors, 1);
}
END_TEST

START_TEST(unknown_keys_everywhere)
{
    ck_assert_int_eq(dec("htp: {}\n"
                         "http:\n"
                         "  service: {}\n"
                         "  services:\n"
                         "    s:\n"
                         "      loadbalancr: {}\n"
                         "      loadBalancer:\n"
                         "        servers:\n"
                         "          - uri: http://x\n"
                         "  middlewares:\n"
                         "    m:\n"
                         "      addPrefixx: {prefix: /a}\n"),
                     -EINVAL);
    ck_assert(has_diag(&d, "dyn.yaml:1:1: htp: unknown key"));
    ck_assert(has_diag(&d, "dyn.yaml:3:3: http.service: unknown key"));
    ck_assert(has_diag(&d, "dyn.yaml:6:7: http.services.s.loadbalancr: unknown key"));
    ck_assert(has_diag(&d, "dyn.yaml:9:13: http.services.s.loadBalancer.servers[0].uri: "
                           "unknown key"));
    ck_assert(has_diag(&d, "dyn.yaml:12:7: http.middlewares.m.addPrefixx: unknown key"));
    ck_assert_uint_eq(d.nerrors, 5);
}
END_TEST

START_TEST(wrong_types_refuse_the_document)
{
    ck_assert_int_eq(dec("http:\n"
                         "  routers:\n"
                         "    a:\n"
                         "      rule: {Host: x}\n"
                         "      priority: abc\n"
                         "      entryPoints: {web: 1}\n"
                         "  services:\n"
                         "    s:\n"
                         "      loadBalancer:\n"
                         "        servers: {url: x}\n"
                         "        passHostHeader: maybe\n"
                         "    t:\n"
                         "      loadBalancer:\n"
                         "        servers:\n"
                         "          - url: [x]\n"
                         "            weight: 3000000000\n"
                         "          - http://bare\n"),
                     -EINVAL);
    ck_assert_ptr_null(cfg);
    ck_assert(has_diag(&d, "dyn.yaml:4:13: http.routers.a.rule: expected a string, got a map"));
    ck_assert(has_diag(&d, "dyn.yaml:5:17: http.routers.a.priority: expected an integer, got "
                           "\"abc\""));
    ck_assert(has_diag(&d, "dyn.yaml:6:20: http.routers.a.entryPoints: expected a list, got a "
                           "map"));
    ck_assert(has_diag(&d, "dyn.yaml:10:18: http.services.s.loadBalancer.servers: expected a "
                           "list, got a map"));
    ck_assert(has_diag(&d, "dyn.yaml:11:25: http.services.s.loadBalancer.passHostHeader: "
                           "expected true or false, got \"maybe\""));
    ck_assert(has_diag(&d, "dyn.yaml:15:18: http.services.t.loadBalancer.servers[0].url: "
                           "expected a string, got a list"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "servers[0].weight: 3000000000 is out of range"));
    ck_assert(has_diag(&d, "dyn.yaml:17:13: http.services.t.loadBalancer.servers[1]: expected "
                           "a map, got a string"));
    ck_assert_uint_eq(d.nerrors, 8);
}
END_TEST

START_TEST(top_level_not_a_map)
{
    ck_assert_int_eq(dec("- http\n"), -EINVAL);
    ck_assert(has_diag(&d, "dyn.yaml:1:1: the top level must be a map, got a list"));
    ck_assert_int_eq(dec("http: [routers]\n"), -EINVAL);
    ck_assert(has_diag(&d, "dyn.yaml:1:7: http: expected a map, got a list"));
}
END_TEST

START_TEST(recognised_keys_warn)
{
    ck_assert_int_eq(dec("http:\n"
                         "  routers:\n"
                         "    r:\n"
                         "      service: s\n"
                         "      tls: {}\n"
                         "  middlewares:\n"
                         "    foo:\n"
                         "      circuitBreaker:\n"
                         "        expression: x\n"
                         "  services:\n"
                         "    s:\n"
                         "      loadBalancer:\n"
                         "        sticky: {cookie: {name: c}}\n"
                         "        servers: [{url: 'http://a', preservePath: true}]\n"
                         "tcp:\n"
                         "  routers:\n"
                         "    t: {rule: 'HostSNI(`*`)', service: x}\n"),
                     0);
    ck_assert_uint_eq(d.nerrors, 0);
    ck_assert(has_diag(&d, "dyn.yaml:5:7: http.routers.r.tls: recognised Traefik key, not "
                           "supported yet (warning)"));
    ck_assert(has_diag(&d, "dyn.yaml:8:7: http.middlewares.foo.circuitBreaker: recognised "
                           "Traefik key, not supported yet (warning)"));
    ck_assert(has_diag(&d, "dyn.yaml:14:37: http.services.s.loadBalancer.servers[0]."
                           "preservePath: recognised Traefik key, not supported yet (warning)"));
    ck_assert(has_diag(&d, "dyn.yaml:17:5: tcp.routers.t: recognised Traefik key, not supported "
                           "yet (warning)"));
    ck_assert_uint_eq(d.n, 4);
    ck_assert_str_eq(cfg->http->services[0]->load_balancer->sticky->cookie->name, "c");
    ck_assert_uint_eq(cfg->http->n_routers, 1);
    ck_assert_str_eq(cfg->http->services[0]->load_balancer->servers[0]->url, "http://a");
}
END_TEST

START_TEST(typo_inside_recognised_key)
{
    ck_assert_int_eq(dec("http:\n  middlewares:\n    foo:\n      addPrefix:\n        prefx: /x\n"
                         "tls:\n  options:\n    o: {minVersion: x, sniStrikt: true}\n"),
                     -EINVAL);
    ck_assert(has_diag(&d, "dyn.yaml:5:9: http.middlewares.foo.addPrefix.prefx: unknown key"));
    ck_assert(has_diag(&d, "dyn.yaml:8:24: tls.options.o.sniStrikt: unknown key"));
    ck_assert_uint_eq(d.nerrors, 2);
}
END_TEST

START_TEST(unimplemented_service_kind_is_kept)
{
    ck_assert_int_eq(dec("http:\n  services:\n    w:\n      highestRandomWeight:\n"
                         "        services:\n          - name: a\n            weight: 2\n"),
                     0);
    ck_assert(has_diag(&d, "dyn.yaml:4:7: http.services.w.highestRandomWeight: recognised "
                           "Traefik key, not supported yet (warning)"));
    ck_assert_uint_eq(cfg->http->n_services, 1);
    ck_assert_str_eq(cfg->http->services[0]->name, "w");
    ck_assert_int_eq(cfg->http->services[0]->kind_case, CONCORD__CONFIG__SERVICE__KIND__NOT_SET);
}
END_TEST

START_TEST(two_service_kinds)
{
    ck_assert_int_eq(dec("http:\n  services:\n    s:\n      loadBalancer: {}\n"
                         "      mirroring: {service: x}\n"),
                     -EINVAL);
    ck_assert(has_diag(&d, "dyn.yaml:3:5: http.services.s: a service has one kind, this one has "
                           "loadBalancer and mirroring"));
}
END_TEST

START_TEST(two_middleware_types)
{
    ck_assert_int_eq(dec("http:\n  middlewares:\n    m:\n      addPrefix: {prefix: /a}\n"
                         "      stripPrefix: {prefixes: [/b]}\n"),
                     -EINVAL);
    ck_assert(has_diag(&d, "dyn.yaml:3:5: http.middlewares.m: a middleware has one type, this "
                           "one has addPrefix and stripPrefix"));
}
END_TEST

START_TEST(case_insensitive_and_comma_lists)
{
    ck_assert_int_eq(dec("HTTP:\n  Routers:\n    r:\n      EntryPoints: \"web, websecure\"\n"
                         "      Rule: Path(`/`)\n"),
                     0);
    const Concord__Config__Router *r = cfg->http->routers[0];
    ck_assert_uint_eq(r->n_entry_points, 2);
    ck_assert_str_eq(r->entry_points[0], "web");
    ck_assert_str_eq(r->entry_points[1], "websecure");
    ck_assert_str_eq(r->rule, "Path(`/`)");
    ck_assert_int_eq(dec("http:\n  routers:\n    r:\n      rule: a\n      Rule: b\n"), -EINVAL);
    ck_assert(has_diag(&d, "dyn.yaml:5:7: http.routers.r.Rule: key given twice (keys are "
                           "case-insensitive)"));
}
END_TEST

START_TEST(quoted_numbers_and_bools)
{
    ck_assert_int_eq(dec("http:\n  routers:\n    r: {priority: \"-5\"}\n  services:\n    s:\n"
                         "      loadBalancer: {passHostHeader: \"true\", servers: "
                         "[{url: u, weight: '0'}]}\n"),
                     0);
    ck_assert_int_eq(cfg->http->routers[0]->priority, -5);
    ck_assert(cfg->http->services[0]->load_balancer->pass_host_header);
    ck_assert(cfg->http->services[0]->load_balancer->servers[0]->has_weight);
}
END_TEST

START_TEST(static_document_refused_with_a_hint)
{
    ck_assert_int_eq(dec("entryPoints:\n  web: {address: ':80'}\n"), -EINVAL);
    ck_assert(has_diag(&d, "dyn.yaml:1:1: entryPoints: unknown key (a static configuration key: "
                           "it belongs in proxyd's static file)"));
}
END_TEST

START_TEST(anchors_in_dynamic_config)
{
    ck_assert_int_eq(dec("x-common: &lb\n  servers: [{url: 'http://a'}]\n"), -EINVAL);
    ck_assert(has_diag(&d, "dyn.yaml:1:1: x-common: unknown key"));
    ck_assert_int_eq(dec("http:\n  services:\n    a:\n      loadBalancer: &lb\n"
                         "        servers: [{url: 'http://a'}]\n"
                         "    b:\n      loadBalancer: *lb\n"),
                     0);
    ck_assert_uint_eq(cfg->http->n_services, 2);
    ck_assert_str_eq(cfg->http->services[1]->load_balancer->servers[0]->url, "http://a");
}
END_TEST

START_TEST(traefik_reference)
{
    const char *path = fixture("dynamic-file-reference.yaml");
    char want[1200];
    ck_assert_int_eq(decode_dynamic_file(path, &cfg, &d), 0);
    ck_assert_uint_eq(d.nerrors, 0);
    ck_assert_uint_eq(count_diags(&d, DIAG_WARNING, "recognised Traefik key, not supported yet"),
                      69);
    ck_assert_uint_eq(d.n, 69);
    snprintf(want, sizeof want,
             "%s:170:7: http.middlewares.Middleware05.circuitBreaker: recognised Traefik key, not "
             "supported yet (warning)",
             path);
    ck_assert(has_diag(&d, want));
    ck_assert(has_diag_sub(&d, DIAG_WARNING, "tcp.routers.TCPRouter0: recognised"));
    ck_assert(has_diag_sub(&d, DIAG_WARNING, "udp.services.UDPService02: recognised"));
    ck_assert(has_diag_sub(&d, DIAG_WARNING, "tls.stores.Store1: recognised"));
    ck_assert(has_diag_sub(&d, DIAG_WARNING, "http.serversTransports.ServersTransport0.serverName: recog"));
    ck_assert_uint_eq(cfg->http->n_routers, 2);
    const Concord__Config__Router *r = cfg->http->routers[0];
    ck_assert_str_eq(r->rule, "foobar");
    ck_assert_str_eq(r->rule_syntax, "foobar");
    ck_assert_int_eq(r->priority, 42);
    ck_assert_uint_eq(r->n_entry_points, 2);
    ck_assert_uint_eq(r->n_middlewares, 2);
    ck_assert_str_eq(r->service, "foobar");
    ck_assert_uint_eq(cfg->http->n_services, 5);
    const Concord__Config__Service *s = cfg->http->services[2];
    ck_assert_str_eq(s->name, "Service03");
    ck_assert_int_eq(s->kind_case, CONCORD__CONFIG__SERVICE__KIND_LOAD_BALANCER);
    ck_assert_uint_eq(s->load_balancer->n_servers, 2);
    ck_assert_int_eq(s->load_balancer->servers[1]->weight, 42);
    ck_assert(s->load_balancer->pass_host_header);
    ck_assert_str_eq(s->load_balancer->servers_transport, "foobar");
    ck_assert_int_eq(cfg->http->services[0]->kind_case, CONCORD__CONFIG__SERVICE__KIND_FAILOVER);
    ck_assert_uint_eq(cfg->http->n_middlewares, 25);
    ck_assert_uint_eq(cfg->http->n_servers_transports, 2);
}
END_TEST

START_TEST(simple_file_fixture)
{
    ck_assert_int_eq(decode_dynamic_file(fixture("simple_file_01.yml"), &cfg, &d), 0);
    ck_assert_uint_eq(d.nerrors, 0);
    ck_assert(has_diag_sub(&d, DIAG_WARNING, "simple_file_01.yml:36:3: tls.certificates"));
    ck_assert_uint_eq(cfg->http->n_routers, 3);
    ck_assert_str_eq(cfg->http->routers[2]->service, "application-3");
    ck_assert_uint_eq(cfg->http->n_services, 6);
    ck_assert_str_eq(cfg->http->services[5]->load_balancer->servers[0]->url,
                     "http://172.17.0.6:80");
}
END_TEST

START_TEST(template_and_toml_refused)
{
    ck_assert_int_eq(decode_dynamic_file(fixture("template_file.yml"), &cfg, &d), -EINVAL);
    ck_assert_ptr_null(cfg);
    ck_assert(has_diag_sub(&d, DIAG_ERROR,
                           "template_file.yml:3:3: Go templates are not "
                           "supported"));
    ck_assert_int_eq(decode_dynamic_file(fixture("simple_muxer.toml"), &cfg, &d), -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR,
                           "simple_muxer.toml: TOML is not supported, use "
                           "YAML"));
    ck_assert_int_eq(decode_dynamic_file("/nonexistent.yml", &cfg, &d), -ENOENT);
}
END_TEST

START_TEST(document_kind)
{
    struct doc doc;
    static const struct {
        const char *yaml;
        int kind;
    } cases[] = {{"", DECODE_DOC_EMPTY},
                 {"{}", DECODE_DOC_EMPTY},
                 {"entryPoints: {}\nlog: {}\n", DECODE_DOC_STATIC},
                 {"cluster: {nodeId: a}\n", DECODE_DOC_STATIC},
                 {"Admin: {}\n", DECODE_DOC_STATIC},
                 {"http: {}\ntls: {}\n", DECODE_DOC_DYNAMIC},
                 {"udp: {}\n", DECODE_DOC_DYNAMIC},
                 {"entryPoints: {}\nhttp: {}\n", -EINVAL},
                 {"foo: 1\n", -EINVAL},
                 {"[1]\n", -EINVAL}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(doc_parse(&doc, "k.yaml", cases[i].yaml, strlen(cases[i].yaml), 0, &d), 0);
        ck_assert_msg(decode_document_kind(doc.root, &d) == cases[i].kind, "%s", cases[i].yaml);
        doc_fini(&doc);
    }
    ck_assert(has_diag(&d, "k.yaml:2:1: http: dynamic configuration mixed with static "
                           "configuration (\"entryPoints\" at line 1); put each in its own file"));
    ck_assert(has_diag(&d, "k.yaml:1:1: neither a static nor a dynamic configuration: no known "
                           "top-level key"));
    ck_assert_uint_eq(d.nerrors, 3);
}
END_TEST

static Suite *decode_suite(void)
{
    Suite *s = suite_create("providers/decode");
    TCase *tc = tcase_create("decode");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, every_decoded_key);
    tcase_add_test(tc, proto_round_trip);
    tcase_add_test(tc, defaults_of_optional_fields);
    tcase_add_test(tc, empty_documents);
    tcase_add_test(tc, unknown_key_exact_text);
    tcase_add_test(tc, unknown_keys_everywhere);
    tcase_add_test(tc, wrong_types_refuse_the_document);
    tcase_add_test(tc, top_level_not_a_map);
    tcase_add_test(tc, recognised_keys_warn);
    tcase_add_test(tc, typo_inside_recognised_key);
    tcase_add_test(tc, unimplemented_service_kind_is_kept);
    tcase_add_test(tc, two_service_kinds);
    tcase_add_test(tc, two_middleware_types);
    tcase_add_test(tc, case_insensitive_and_comma_lists);
    tcase_add_test(tc, quoted_numbers_and_bools);
    tcase_add_test(tc, static_document_refused_with_a_hint);
    tcase_add_test(tc, anchors_in_dynamic_config);
    tcase_add_test(tc, traefik_reference);
    tcase_add_test(tc, simple_file_fixture);
    tcase_add_test(tc, template_and_toml_refused);
    tcase_add_test(tc, document_kind);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(decode_suite());
}
