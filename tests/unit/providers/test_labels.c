/* Unit tests of providers/labels: flat keys (Docker labels, KV paths) into the Config proto,
 * compared with what the YAML decoder makes of the same configuration. */
#include <errno.h>
#include <strings.h>

#include "providers/decode.h"
#include "providers/doc.h"
#include "providers/labels.h"
#include "tests/unit/providers/helpers.h"

typedef Concord__Config__Config Config;

static struct diags d;
static Config *cfg, *want;
static struct labels_servers hints;

static void setup(void)
{
    diags_init(&d);
    cfg = want = NULL;
    memset(&hints, 0, sizeof hints);
}

static void teardown(void)
{
    decode_config_free(cfg);
    decode_config_free(want);
    labels_servers_fini(&hints);
    diags_fini(&d);
}

/* Decodes "key=value" strings (split at the first '='). */
static int dec_syn(enum labels_syntax syn, const char *const *labels, size_t n)
{
    struct label_kv *kv = calloc(n ? n : 1, sizeof *kv);
    char **keys = calloc(n ? n : 1, sizeof *keys);
    struct labels_opts o = {.syntax = syn, .source = "container web-1"};
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(labels[i], '=');
        ck_assert_ptr_nonnull(eq);
        keys[i] = strndup(labels[i], (size_t)(eq - labels[i]));
        kv[i] = (struct label_kv){keys[i], eq + 1};
    }
    decode_config_free(cfg);
    labels_servers_fini(&hints);
    int rc = labels_decode(kv, n, &o, &cfg, &hints, &d);
    for (size_t i = 0; i < n; i++) {
        free(keys[i]);
    }
    free(keys);
    free(kv);
    return rc;
}

#define DEC(...)                                                                                   \
    dec_syn(LABELS_DOTS, (const char *const[]){__VA_ARGS__},                                       \
            sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))
#define DEC_KV(...)                                                                                \
    dec_syn(LABELS_SLASHES, (const char *const[]){__VA_ARGS__},                                    \
            sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static void dec_yaml(const char *yaml)
{
    decode_config_free(want);
    ck_assert_int_eq(decode_dynamic_string("want.yaml", yaml, strlen(yaml), &want, &d), 0);
}

/* Packs a message with its marks stripped and its name replaced by "x". */
static size_t packed(ProtobufCMessage *m, char **name, uint8_t **out)
{
    char *saved = name ? *name : NULL;
    decode_strip_marks(m);
    if (name) {
        *name = "x";
    }
    size_t len = protobuf_c_message_get_packed_size(m);
    *out = malloc(len + 1);
    protobuf_c_message_pack(m, *out);
    if (name) {
        *name = saved;
    }
    return len;
}

static void assert_same(ProtobufCMessage *a, char **an, ProtobufCMessage *b, char **bn,
                        const char *what)
{
    uint8_t *pa, *pb;
    size_t la = packed(a, an, &pa), lb = packed(b, bn, &pb);
    ck_assert_msg(la == lb && memcmp(pa, pb, la) == 0, "%s differs", what);
    free(pa);
    free(pb);
}

#define SAME(a, b, what) assert_same(&(a)->base, &(a)->name, &(b)->base, &(b)->name, what)

#define FIND(cfgp, kind, nm)                                                                       \
    ({                                                                                             \
        __typeof__((cfgp)->http->kind[0]) found_ = NULL;                                           \
        for (size_t i_ = 0; i_ < (cfgp)->http->n_##kind; i_++) {                                   \
            if (strcasecmp((cfgp)->http->kind[i_]->name, nm) == 0) {                               \
                found_ = (cfgp)->http->kind[i_];                                                   \
            }                                                                                      \
        }                                                                                          \
        ck_assert_msg(found_ != NULL, "%s not found", nm);                                         \
        found_;                                                                                    \
    })

/* The reference labels of Traefik's docs (every key) decode with warnings only, and give what
 * the reference YAML gives for the same objects. */
START_TEST(traefik_reference)
{
    struct doc doc;
    ck_assert_int_eq(doc_load_file(&doc, fixture("docker-labels-reference.yml"), 0, &d), 0);
    ck_assert_int_eq(doc.root->kind, DOC_SEQ);
    const char **labels = calloc(doc.root->n, sizeof *labels);
    for (size_t i = 0; i < doc.root->n; i++) {
        labels[i] = doc.root->items[i]->str;
    }
    ck_assert_int_eq(dec_syn(LABELS_DOTS, labels, doc.root->n), 0);
    free(labels);
    doc_fini(&doc);
    ck_assert_uint_eq(d.nerrors, 0);
    ck_assert_uint_eq(count_diags(&d, DIAG_WARNING, "recognised Traefik key, not supported yet"),
                      d.n);
    ck_assert(has_diag(&d, "container web-1: http.middlewares.middleware05.circuitbreaker: "
                           "recognised Traefik key, not supported yet (warning)"));
    ck_assert(has_diag_sub(&d, DIAG_WARNING, "container web-1: tcp.routers.tcprouter0: recog"));
    ck_assert(has_diag_sub(&d, DIAG_WARNING, "container web-1: udp.services.udpservice01: rec"));
    ck_assert(has_diag_sub(&d, DIAG_WARNING, "container web-1: tls.stores.store0: recognised"));
    ck_assert(has_diag_sub(&d, DIAG_WARNING,
                           "http.services.service03.loadbalancer.servers[0].preservepath: rec"));
    ck_assert_uint_eq(hints.n, 1);
    ck_assert_str_eq(hints.v[0].service, "service03");
    ck_assert_str_eq(hints.v[0].port, "foobar");
    ck_assert_str_eq(hints.v[0].scheme, "foobar");

    ck_assert_int_eq(decode_dynamic_file(fixture("dynamic-file-reference.yaml"), &want, &d), 0);
    ck_assert_uint_eq(cfg->http->n_routers, 2);
    for (size_t i = 0; i < cfg->http->n_routers; i++) {
        Concord__Config__Router *r = cfg->http->routers[i];
        SAME(r, FIND(want, routers, r->name), r->name);
    }
    ck_assert_uint_eq(cfg->http->n_middlewares, 25);
    for (size_t i = 0; i < cfg->http->n_middlewares; i++) {
        Concord__Config__Middleware *m = cfg->http->middlewares[i];
        SAME(m, FIND(want, middlewares, m->name), m->name);
    }
    /* Labels give a service its one server; the reference YAML has two of the same. */
    ck_assert_uint_eq(cfg->http->n_services, 1);
    Concord__Config__Service *s = FIND(want, services, "service03");
    ck_assert_uint_eq(s->load_balancer->n_servers, 2);
    concord__config__server__free_unpacked(s->load_balancer->servers[1], NULL);
    s->load_balancer->n_servers = 1;
    SAME(cfg->http->services[0], s, "service03");
    ck_assert_str_eq(cfg->http->services[0]->load_balancer->servers[0]->url, "foobar");
}
END_TEST

START_TEST(router_service_middleware)
{
    ck_assert_int_eq(DEC("traefik.http.routers.web.rule=Host(`a.example`)",
                         "traefik.http.routers.web.entrypoints=web, websecure",
                         "traefik.http.routers.web.middlewares=hdr,strip@file",
                         "traefik.http.routers.web.priority=10",
                         "traefik.http.routers.web.service=api",
                         "traefik.http.services.api.loadbalancer.server.port=8080",
                         "traefik.http.services.api.loadbalancer.passhostheader=false",
                         "traefik.http.middlewares.hdr.headers.customrequestheaders.X-Script=on",
                         "traefik.http.middlewares.hdr.headers.customresponseheaders.X-Gone=",
                         "traefik.http.middlewares.gz.compress=true",
                         "traefik.http.middlewares.rl.ratelimit.average=100",
                         "traefik.http.middlewares.rl.ratelimit.period=1m",
                         "traefik.http.middlewares.ch.chain.middlewares=hdr, gz"),
                     0);
    ck_assert_uint_eq(d.n, 0);
    dec_yaml("http:\n"
             "  routers:\n"
             "    web:\n"
             "      rule: Host(`a.example`)\n"
             "      entryPoints: [web, websecure]\n"
             "      middlewares: [hdr, strip@file]\n"
             "      priority: 10\n"
             "      service: api\n"
             "  services:\n"
             "    api:\n"
             "      loadBalancer:\n"
             "        passHostHeader: false\n"
             "  middlewares:\n"
             "    ch: {chain: {middlewares: [hdr, gz]}}\n"
             "    gz: {compress: {}}\n"
             "    hdr:\n"
             "      headers:\n"
             "        customRequestHeaders: {X-Script: \"on\"}\n"
             "        customResponseHeaders: {X-Gone: \"\"}\n"
             "    rl: {rateLimit: {average: 100, period: 1m}}\n");
    ck_assert_str_eq(cfg->http->routers[0]->mark->file, "container web-1");
    ck_assert_uint_eq(cfg->http->routers[0]->mark->line, 0);
    ck_assert_str_eq(cfg->http->middlewares[2]->headers->custom_request_headers[0]->name,
                     "X-Script");
    assert_same(&cfg->base, NULL, &want->base, NULL, "config");
    ck_assert_uint_eq(hints.n, 1);
    ck_assert_str_eq(hints.v[0].service, "api");
    ck_assert_str_eq(hints.v[0].port, "8080");
    ck_assert_ptr_null(hints.v[0].scheme);
}
END_TEST

START_TEST(kv_paths)
{
    ck_assert_int_eq(DEC_KV("traefik/http/routers/r/rule=Path(`/`)",
                            "traefik/http/routers/r/entrypoints/0=web",
                            "traefik/http/routers/r/entrypoints/1=websecure",
                            "traefik/http/routers/r/tls=true", "traefik/http/routers/0/service=s",
                            "traefik/http/services/s/loadBalancer/servers/0/url=http://a:1",
                            "traefik/http/services/s/loadBalancer/servers/1/url=http://b:2",
                            "traefik/http/services/s/loadBalancer/servers/1/weight=3",
                            "traefik/http/services/w/weighted/services/0/name=s",
                            "traefik/http/services/w/weighted/services/0/weight=2",
                            "traefik/http/middlewares/m/headers/customRequestHeaders/X-A=1",
                            "traefik/http/middlewares/m/headers/sslProxyHeaders/X-P=https",
                            "other/http/routers/x/rule=ignored"),
                     0);
    ck_assert_uint_eq(d.nerrors, 0);
    ck_assert(has_diag(&d, "container web-1: http.routers.r.tls: recognised Traefik key, not "
                           "supported yet (warning)"));
    dec_yaml(
        "http:\n"
        "  routers:\n"
        "    \"0\": {service: s}\n"
        "    r: {rule: Path(`/`), entryPoints: [web, websecure], tls: {}}\n"
        "  services:\n"
        "    s:\n"
        "      loadBalancer:\n"
        "        servers:\n"
        "          - url: http://a:1\n"
        "          - {url: \"http://b:2\", weight: 3}\n"
        "    w: {weighted: {services: [{name: s, weight: 2}]}}\n"
        "  middlewares:\n"
        "    m: {headers: {customRequestHeaders: {X-A: \"1\"}, sslProxyHeaders: {X-P: https}}}\n");
    assert_same(&cfg->base, NULL, &want->base, NULL, "config");
    ck_assert_uint_eq(hints.n, 0);
}
END_TEST

START_TEST(case_insensitive_keys)
{
    ck_assert_int_eq(DEC("Traefik.HTTP.Routers.Web.RULE=Host(`x`)",
                         "traefik.http.routers.Web.Priority=5",
                         "traefik.http.routers.web.rule=Host(`y`)",
                         "traefik.http.Middlewares.h.Headers.CustomRequestHeaders.X-Up=1",
                         "traefik.http.middlewares.h.headers.customrequestheaders.X-Down=2",
                         "traefik.http.services.S.LoadBalancer.Server.URL=http://a:1"),
                     0);
    ck_assert_uint_eq(d.n, 0);
    dec_yaml("http:\n"
             "  routers:\n"
             "    Web: {rule: Host(`x`), priority: 5}\n"
             "    web: {rule: Host(`y`)}\n"
             "  services:\n"
             "    S: {loadBalancer: {servers: [{url: \"http://a:1\"}]}}\n"
             "  middlewares:\n"
             "    h: {headers: {customRequestHeaders: {X-Down: \"2\", X-Up: \"1\"}}}\n");
    assert_same(&cfg->base, NULL, &want->base, NULL, "config");
    ck_assert_str_eq(cfg->http->routers[0]->name, "Web");

    /* The same key in two spellings. */
    ck_assert_int_eq(DEC("traefik.http.routers.r.rule=a", "traefik.http.routers.r.RULE=b"),
                     -EINVAL);
    ck_assert(has_diag(&d, "container web-1: http.routers.r.rule: key given twice (keys are "
                           "case-insensitive)"));
}
END_TEST

START_TEST(label_order_does_not_matter)
{
    uint8_t *a, *b;
    ck_assert_int_eq(DEC("traefik.http.routers.b.rule=B", "traefik.http.routers.a.rule=A",
                         "traefik.http.routers.a.entrypoints=web"),
                     0);
    size_t la = packed(&cfg->base, NULL, &a);
    ck_assert_int_eq(DEC("traefik.http.routers.a.entrypoints=web", "traefik.http.routers.a.rule=A",
                         "traefik.http.routers.b.rule=B"),
                     0);
    size_t lb = packed(&cfg->base, NULL, &b);
    ck_assert(la == lb && memcmp(a, b, la) == 0);
    ck_assert_str_eq(cfg->http->routers[0]->name, "a");
    free(a);
    free(b);
}
END_TEST

START_TEST(errors_name_the_label)
{
    ck_assert_int_eq(DEC("traefik.http.routers.r1.rulez=x"), -EINVAL);
    ck_assert_ptr_null(cfg);
    ck_assert(has_diag(&d, "container web-1: http.routers.r1.rulez: unknown key"));

    ck_assert_int_eq(DEC("traefik.http.routers.r1.priority=abc"), -EINVAL);
    ck_assert(has_diag(&d, "container web-1: http.routers.r1.priority: expected an integer, got "
                           "\"abc\""));

    ck_assert_int_eq(DEC("traefik.http.services.s.loadbalancer.server.weight=heavy"), -EINVAL);
    ck_assert(has_diag(&d, "container web-1: http.services.s.loadbalancer.servers[0].weight: "
                           "expected an integer, got \"heavy\""));
    ck_assert_uint_eq(hints.n, 0);

    ck_assert_int_eq(DEC("traefik.http.middlewares.m.headers=yes",
                         "traefik.http.middlewares.m.headers.framedeny=true"),
                     -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR,
                           "container web-1: http.middlewares.m.headers: has a "
                           "value (\"yes\") and sub-keys"));

    ck_assert_int_eq(DEC("traefik.http.middlewares.m.compress=maybe"), -EINVAL);
    ck_assert(has_diag(&d, "container web-1: http.middlewares.m.compress: expected a map, got a "
                           "string"));

    ck_assert_int_eq(DEC("traefik.http.routers..rule=x"), -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "label key has an empty segment"));
    ck_assert_int_eq(DEC("traefik.http.routers.r.tls.domains[x].main=a"), -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "bad list index in \"domains[x]\""));
    ck_assert_int_eq(DEC("traefik.foo=bar"), -EINVAL);
    ck_assert(has_diag(&d, "container web-1: foo: unknown key"));
}
END_TEST

/* "true" on an object key makes the object, "false" leaves it out; on other keys they are
 * booleans. */
START_TEST(true_and_false_objects)
{
    ck_assert_int_eq(DEC("traefik.http.routers.on.tls=true", "traefik.http.routers.off.tls=false",
                         "traefik.http.services.s.loadbalancer.sticky=false",
                         "traefik.http.services.s.loadbalancer.passhostheader=false",
                         "traefik.http.services.t.loadbalancer.sticky.cookie=TRUE",
                         "traefik.http.middlewares.e.errors.statusrewrites.418=200"),
                     0);
    ck_assert_uint_eq(d.nerrors, 0);
    ck_assert_ptr_null(FIND(cfg, routers, "off")->tls);
    ck_assert_ptr_nonnull(FIND(cfg, routers, "on")->tls);
    const Concord__Config__LoadBalancer *lb = FIND(cfg, services, "s")->load_balancer;
    ck_assert_ptr_null(lb->sticky);
    ck_assert(lb->has_pass_host_header && !lb->pass_host_header);
    lb = FIND(cfg, services, "t")->load_balancer;
    ck_assert_ptr_nonnull(lb->sticky);
    ck_assert_ptr_nonnull(lb->sticky->cookie);
    ck_assert_str_eq(lb->sticky->cookie->name, "");

    /* A numeric label segment is a map key, not a list index (labels write lists name[N]). */
    ck_assert_int_eq(DEC("traefik.http.routers.r.entrypoints.0=web"), -EINVAL);
    ck_assert(has_diag(&d, "container web-1: http.routers.r.entrypoints: expected a list, got a "
                           "map"));
}
END_TEST

START_TEST(other_labels_ignored)
{
    ck_assert_int_eq(DEC("com.docker.compose.project=web", "traefikx.http.routers.r.rule=x",
                         "traefik=1", "traefik.enable=true", "traefik.docker.network=front",
                         "traefik.docker.allownonrunning=true", "maintainer=me"),
                     0);
    ck_assert_uint_eq(d.n, 0);
    ck_assert_ptr_nonnull(cfg->http);
    ck_assert_uint_eq(cfg->http->n_routers + cfg->http->n_services + cfg->http->n_middlewares, 0);
    /* In KV, traefik/enable is nobody's: an unknown key. */
    ck_assert_int_eq(DEC_KV("traefik/enable=true"), -EINVAL);
    ck_assert(has_diag(&d, "container web-1: enable: unknown key"));
}
END_TEST

START_TEST(server_port_and_lists)
{
    /* A port alone makes the service, with a load balancer and no server yet. */
    ck_assert_int_eq(DEC("traefik.http.services.app.loadbalancer.server.port=9000",
                         "traefik.http.services.app.loadbalancer.server.scheme=h2c",
                         "traefik.http.routers.r.tls.domains[1].main=b.example",
                         "traefik.http.routers.r.tls.domains[0].main=a.example",
                         "traefik.tcp.services.t.loadbalancer.server.port=5432"),
                     0);
    ck_assert_uint_eq(d.nerrors, 0);
    ck_assert_uint_eq(cfg->http->n_services, 1);
    const Concord__Config__Service *s = cfg->http->services[0];
    ck_assert_int_eq(s->kind_case, CONCORD__CONFIG__SERVICE__KIND_LOAD_BALANCER);
    ck_assert_uint_eq(s->load_balancer->n_servers, 0);
    ck_assert_str_eq(hints.v[0].port, "9000");
    ck_assert_str_eq(hints.v[0].scheme, "h2c");
    ck_assert(has_diag_sub(&d, DIAG_WARNING, "tcp.services.t: recognised"));

    /* servers[n] (the newer label form) is read as KV's servers/n; with `server` it is two
     * spellings of servers[0]. */
    ck_assert_int_eq(DEC("traefik.http.services.a.loadbalancer.servers[1].url=http://b:2",
                         "traefik.http.services.a.loadbalancer.servers[0].url=http://a:1"),
                     0);
    ck_assert_uint_eq(cfg->http->services[0]->load_balancer->n_servers, 2);
    ck_assert_str_eq(cfg->http->services[0]->load_balancer->servers[0]->url, "http://a:1");
    ck_assert_int_eq(DEC("traefik.http.services.a.loadbalancer.servers[0].url=http://b:2",
                         "traefik.http.services.a.loadbalancer.server.url=http://a:1"),
                     -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "servers[0].url: key given twice"));
}
END_TEST

START_TEST(kv_without_hints)
{
    struct label_kv kv[] = {{"traefik.http.services.s.loadbalancer.server.port", "80"},
                            {"traefik.http.routers.r.rule", "Path(`/`)"},
                            {NULL, "skipped"}};
    struct labels_opts o = {.syntax = LABELS_DOTS, .root = "TRAEFIK", .source = "src"};
    ck_assert_int_eq(labels_decode(kv, 3, &o, &cfg, NULL, &d), 0);
    ck_assert(has_diag(&d, "src: http.services.s.loadbalancer.server.port: read by the Docker "
                           "provider only; ignored (warning)"));
    ck_assert_uint_eq(cfg->http->n_routers, 1);
    ck_assert_uint_eq(cfg->http->n_services, 1);
    /* No labels at all: an empty Config. */
    decode_config_free(cfg);
    ck_assert_int_eq(labels_decode(kv, 0, &o, &cfg, NULL, &d), 0);
    ck_assert_uint_eq(cfg->http->n_routers, 0);
}
END_TEST

static Suite *labels_suite(void)
{
    Suite *s = suite_create("labels");
    TCase *tc = tcase_create("labels");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, traefik_reference);
    tcase_add_test(tc, router_service_middleware);
    tcase_add_test(tc, kv_paths);
    tcase_add_test(tc, case_insensitive_keys);
    tcase_add_test(tc, label_order_does_not_matter);
    tcase_add_test(tc, errors_name_the_label);
    tcase_add_test(tc, true_and_false_objects);
    tcase_add_test(tc, other_labels_ignored);
    tcase_add_test(tc, server_port_and_lists);
    tcase_add_test(tc, kv_without_hints);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(labels_suite());
}
