/* Unit tests of the Docker provider's pure parts: inspect documents into a Config
 * (providers/docker_decode) and the constraints language (providers/docker_constraints). */
#include <errno.h>
#include <stdarg.h>

#include "providers/decode.h"
#include "providers/doc.h"
#include "providers/docker_constraints.h"
#include "providers/docker_decode.h"
#include "tests/unit/providers/helpers.h"

typedef Concord__Config__Config Config;

static struct diags d;
static Config *cfg;
static struct docker_opts opts;
static struct docker_constraint *expr;
static char arr[1 << 18];

static void setup(void)
{
    diags_init(&d);
    cfg = NULL;
    expr = NULL;
    memset(&opts, 0, sizeof opts);
    opts.exposed_by_default = true;
    arr[0] = '\0';
}

static void teardown(void)
{
    decode_config_free(cfg);
    docker_constraint_free(expr);
    diags_fini(&d);
}

/* One inspect document, shaped as the Engine API v1.41 writes it (no spaces after ':'). */
static void add_ctr(const char *name, const char *labels, const char *mode, const char *networks,
                    const char *ports, const char *health)
{
    static char one[1 << 16];
    snprintf(one, sizeof one,
             "{\"Id\":\"%032x%032x\",\"Name\":\"/%s\",\"State\":{\"Status\":\"running\"%s%s%s},"
             "\"HostConfig\":{\"NetworkMode\":\"%s\"},\"Config\":{\"Labels\":{%s}},"
             "\"NetworkSettings\":{\"Ports\":{%s},\"Networks\":{%s}}}",
             (unsigned)strlen(name), (unsigned)name[0], name,
             health ? ",\"Health\":{\"Status\":\"" : "", health ? health : "", health ? "\"}" : "",
             mode, labels, ports ? ports : "", networks ? networks : "");
    ck_assert_uint_lt(strlen(arr) + strlen(one) + 2, sizeof arr);
    if (arr[0] != '\0') {
        strcat(arr, ",");
    }
    strcat(arr, one);
}

#define BRIDGE(ip) "\"bridge\":{\"IPAddress\":\"" ip "\",\"GlobalIPv6Address\":\"\"}"

static int decode(const char *host_ip)
{
    char text[sizeof arr + 2];
    struct doc doc;
    int rc;
    snprintf(text, sizeof text, "[%s]", arr);
    ck_assert_int_eq(doc_parse(&doc, "docker", text, strlen(text), 0, &d), 0);
    decode_config_free(cfg);
    cfg = NULL;
    rc = docker_decode(doc.root, &opts, host_ip, &cfg, &d);
    doc_fini(&doc);
    return rc;
}

static Concord__Config__Router *router(const char *name)
{
    for (size_t i = 0; cfg && i < cfg->http->n_routers; i++) {
        if (strcmp(cfg->http->routers[i]->name, name) == 0) {
            return cfg->http->routers[i];
        }
    }
    return NULL;
}

static Concord__Config__Service *service(const char *name)
{
    for (size_t i = 0; cfg && i < cfg->http->n_services; i++) {
        if (strcmp(cfg->http->services[i]->name, name) == 0) {
            return cfg->http->services[i];
        }
    }
    return NULL;
}

static const char *url0(const char *svc)
{
    Concord__Config__Service *s = service(svc);
    ck_assert_msg(s != NULL, "service %s missing", svc);
    ck_assert_uint_ge(s->load_balancer->n_servers, 1);
    return s->load_balancer->servers[0]->url;
}

START_TEST(labels_to_routers_services_middlewares)
{
    add_ctr("web-1",
            "\"traefik.http.routers.web.rule\":\"Host(`web.test`)\","
            "\"traefik.http.routers.web.middlewares\":\"strip\","
            "\"traefik.http.routers.web.entrypoints\":\"web\","
            "\"traefik.http.middlewares.strip.stripprefix.prefixes\":\"/api\","
            "\"traefik.http.services.websvc.loadbalancer.server.port\":\"8080\","
            "\"traefik.http.services.websvc.loadbalancer.passhostheader\":\"false\","
            "\"com.example.other\":\"x\"",
            "bridge", BRIDGE("172.17.0.2"), "\"80/tcp\":null", NULL);
    ck_assert_int_eq(decode("10.0.0.1"), 0);
    ck_assert_uint_eq(d.nerrors, 0);
    ck_assert_uint_eq(cfg->http->n_routers, 1);
    Concord__Config__Router *r = router("web");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->rule, "Host(`web.test`)");
    ck_assert_str_eq(r->service, "websvc"); /* the only service */
    ck_assert_uint_eq(r->n_middlewares, 1);
    ck_assert_str_eq(r->middlewares[0], "strip");
    ck_assert_uint_eq(cfg->http->n_middlewares, 1);
    ck_assert_str_eq(cfg->http->middlewares[0]->name, "strip");
    ck_assert_uint_eq(cfg->http->n_services, 1);
    ck_assert_str_eq(url0("websvc"), "http://172.17.0.2:8080");
    ck_assert(service("websvc")->load_balancer->has_pass_host_header);
    ck_assert(!service("websvc")->load_balancer->pass_host_header);
    ck_assert_ptr_nonnull(r->mark);
    ck_assert_str_eq(r->mark->file, "container web-1");
}
END_TEST

/* No labels at all: a service named after the container on its lowest port, and a router of
 * the same name with the default rule. */
START_TEST(defaults_from_the_container)
{
    add_ctr("/My_App.1", "", "bridge", BRIDGE("172.17.0.3"), "\"9000/tcp\":null,\"443/tcp\":null",
            NULL);
    ck_assert_int_eq(decode("10.0.0.1"), 0);
    ck_assert_uint_eq(d.nerrors, 0);
    ck_assert_str_eq(url0("My-App-1"), "http://172.17.0.3:443");
    ck_assert_ptr_nonnull(router("My-App-1"));
    ck_assert_str_eq(router("My-App-1")->rule, "Host(`My-App-1`)");
    ck_assert_str_eq(router("My-App-1")->service, "My-App-1");
}
END_TEST

/* A service label and no router label: the router is named after the container. */
START_TEST(router_named_after_the_container)
{
    add_ctr("api", "\"traefik.http.services.backend.loadbalancer.server.port\":\"81\"", "bridge",
            BRIDGE("172.17.0.4"), NULL, NULL);
    ck_assert_int_eq(decode(NULL), 0);
    ck_assert_ptr_nonnull(router("api"));
    ck_assert_str_eq(router("api")->service, "backend");
    ck_assert_str_eq(router("api")->rule, "Host(`api`)");
    ck_assert_str_eq(url0("backend"), "http://172.17.0.4:81");
}
END_TEST

START_TEST(compose_names)
{
    add_ctr("proj-web-1",
            "\"com.docker.compose.project\":\"proj\",\"com.docker.compose.service\":\"web\"",
            "proj_default", "\"proj_default\":{\"IPAddress\":\"172.18.0.2\"}", "\"80/tcp\":null",
            NULL);
    ck_assert_int_eq(decode(NULL), 0);
    ck_assert_str_eq(url0("web-proj"), "http://172.18.0.2:80");
    ck_assert_str_eq(router("web-proj")->rule, "Host(`web-proj`)");
}
END_TEST

START_TEST(default_rule_templates)
{
    char out[256], msg[300];
    struct label_kv kv[] = {{"app.domain", "Example.COM"}, {"x", "y"}};
    ck_assert_int_eq(docker_render_rule("Host(`{{ normalize .Name }}.{{ index .Labels "
                                        "\"app.domain\" }}`)",
                                        "web-1", "web_1", kv, 2, out, sizeof out, msg, sizeof msg),
                     0);
    ck_assert_str_eq(out, "Host(`web-1.Example.COM`)");
    ck_assert_int_eq(docker_render_rule("Host(`{{.ContainerName}}`) || Host(`{{ .Name }}`) "
                                        "|| Host(`{{ normalize (index .Labels `app.domain`) }}`)"
                                        "{{- index .Labels \"missing\" -}}",
                                        "n", "c_1", kv, 2, out, sizeof out, msg, sizeof msg),
                     0);
    ck_assert_str_eq(out, "Host(`c_1`) || Host(`n`) || Host(`Example-COM`)");
    ck_assert_int_eq(docker_render_rule("Host(`{{ .Name | lower }}`)", "n", "c", kv, 2, out,
                                        sizeof out, msg, sizeof msg),
                     -EINVAL);
    ck_assert_str_eq(msg, "defaultRule: unsupported template action \"{{ .Name | lower }}\" "
                          "(supported: .Name, .ContainerName, index .Labels \"key\", each "
                          "optionally in normalize)");
    ck_assert_int_eq(
        docker_render_rule("Host(`{{ .Name`)", "n", "c", kv, 2, out, sizeof out, msg, sizeof msg),
        -EINVAL);
    ck_assert_str_eq(msg, "defaultRule: unterminated \"{{\"");
    docker_normalize("--a__b..c--", out, sizeof out);
    ck_assert_str_eq(out, "a-b-c");
}
END_TEST

/* An unsupported defaultRule is an error for each container that needs it; a container with
 * its own rule is not affected. */
START_TEST(default_rule_option)
{
    opts.default_rule = "Host(`{{ normalize .Name }}.docker.test`)";
    add_ctr("a", "\"traefik.http.services.a.loadbalancer.server.port\":\"1\"", "bridge",
            BRIDGE("172.17.0.5"), NULL, NULL);
    ck_assert_int_eq(decode(NULL), 0);
    ck_assert_str_eq(router("a")->rule, "Host(`a.docker.test`)");
    opts.default_rule = "Host(`{{ .Nope }}`)";
    add_ctr("b",
            "\"traefik.http.routers.b.rule\":\"Path(`/b`)\","
            "\"traefik.http.services.b.loadbalancer.server.port\":\"1\"",
            "bridge", BRIDGE("172.17.0.6"), NULL, NULL);
    ck_assert_int_eq(decode(NULL), 0);
    ck_assert_ptr_null(router("a"));
    ck_assert_ptr_nonnull(service("a")); /* the service stays; only its router is dropped */
    ck_assert_ptr_nonnull(router("b"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR,
                           "container a: router \"a\": defaultRule: unsupported "
                           "template action \"{{ .Nope }}\""));
}
END_TEST

START_TEST(enable_and_exposed_by_default)
{
    add_ctr("on", "\"traefik.enable\":\"true\"", "bridge", BRIDGE("172.17.0.7"), "\"80/tcp\":null",
            NULL);
    add_ctr("off", "\"traefik.enable\":\"false\"", "bridge", BRIDGE("172.17.0.8"),
            "\"80/tcp\":null", NULL);
    add_ctr("plain", "", "bridge", BRIDGE("172.17.0.9"), "\"80/tcp\":null", NULL);
    add_ctr("bad", "\"traefik.enable\":\"yes\"", "bridge", BRIDGE("172.17.0.10"), "\"80/tcp\":null",
            NULL);
    ck_assert_int_eq(decode(NULL), 0);
    ck_assert_ptr_nonnull(service("on"));
    ck_assert_ptr_null(service("off"));
    ck_assert_ptr_nonnull(service("plain"));
    ck_assert_ptr_null(service("bad"));
    ck_assert(has_diag(&d, "container bad: traefik.enable: expected a boolean, got \"yes\""));
    opts.exposed_by_default = false;
    ck_assert_int_eq(decode(NULL), 0);
    ck_assert_ptr_nonnull(service("on"));
    ck_assert_ptr_null(service("plain"));
    ck_assert_uint_eq(cfg->http->n_services, 1);
}
END_TEST

static bool matches(const char *e, const struct label_kv *kv, size_t n)
{
    char msg[200];
    bool m;
    ck_assert_int_eq(docker_constraint_parse(e, &expr, msg, sizeof msg), 0);
    m = docker_constraint_match(expr, kv, n);
    docker_constraint_free(expr);
    expr = NULL;
    return m;
}

START_TEST(constraints_language)
{
    struct label_kv kv[] = {{"env", "prod"}, {"team", "blue-7"}};
    ck_assert(matches("", kv, 2));
    ck_assert(matches("Label(`env`, `prod`)", kv, 2));
    ck_assert(!matches("Label(`env`, `dev`)", kv, 2));
    ck_assert(matches("Label(\"env\",\"prod\") && LabelRegex(`team`, `^blue-[0-9]+$`)", kv, 2));
    ck_assert(!matches("!Label(`env`, `prod`)", kv, 2));
    ck_assert(matches("Label(`env`, `dev`) || Label(`team`, `blue-7`)", kv, 2));
    ck_assert(matches("!(Label(`env`, `dev`) || Label(`x`, `y`)) && Label(`missing`, ``)", kv, 2));
    ck_assert(matches("LabelRegex(`team`, `lue`)", kv, 2)); /* unanchored, as Go's */
    /* && binds tighter than || */
    ck_assert(matches("Label(`env`, `prod`) || Label(`x`, `1`) && Label(`y`, `2`)", kv, 2));
    ck_assert(!matches("(Label(`env`, `prod`) || Label(`x`, `1`)) && Label(`y`, `2`)", kv, 2));
}
END_TEST

START_TEST(constraints_errors)
{
    char msg[200];
    static const char *const bad[][2] = {
        {"Label(`a`)", "constraints: column 10: expected ',' between the two arguments"},
        {"Label(`a`, `b`", "constraints: column 15: expected ')' after the second argument"},
        {"Labels(`a`, `b`)", "constraints: column 1: expected Label(...), LabelRegex(...), "
                             "'!' or '(', got \"Labels(`a`, `b`)\""},
        {"Label(`a`, `b`) &&", "constraints: column 19: unexpected end of the expression"},
        {"Label(`a`, `b`) Label(`c`, `d`)", "constraints: column 17: unexpected \"Label(`c`, "
                                            "`d`)\" (expected '&&', '||' or the end)"},
        {"(Label(`a`, `b`)", "constraints: column 17: expected ')'"},
        {"Label(`a, `b`)", "constraints: column 12: expected ',' between the two arguments"},
        {"Label(`a`, \"b)", "constraints: column 12: unterminated string"},
        {"LabelRegex(`a`, `(`)", "constraints: column 21: LabelRegex `(`: missing closing "
                                 "parenthesis at offset 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(docker_constraint_parse(bad[i][0], &expr, msg, sizeof msg), -EINVAL);
        ck_assert_ptr_null(expr);
        ck_assert_str_eq(msg, bad[i][1]);
    }
}
END_TEST

START_TEST(constraints_filter_containers)
{
    char msg[200];
    ck_assert_int_eq(docker_constraint_parse("Label(`env`, `prod`)", &expr, msg, sizeof msg), 0);
    opts.constraints = expr;
    add_ctr("p", "\"env\":\"prod\"", "bridge", BRIDGE("172.17.0.11"), "\"80/tcp\":null", NULL);
    add_ctr("q", "\"env\":\"dev\"", "bridge", BRIDGE("172.17.0.12"), "\"80/tcp\":null", NULL);
    ck_assert_int_eq(decode(NULL), 0);
    ck_assert_ptr_nonnull(service("p"));
    ck_assert_ptr_null(service("q"));
    ck_assert_uint_eq(d.n, 0);
}
END_TEST

START_TEST(network_choice)
{
    const char *two =
        "\"zeta\":{\"IPAddress\":\"10.1.0.2\"},\"alpha\":{\"IPAddress\":\"10.2.0.2\"}";
    add_ctr("first", "", "zeta", two, "\"80/tcp\":null", NULL);
    add_ctr("labelled", "\"traefik.docker.network\":\"zeta\"", "zeta", two, "\"80/tcp\":null",
            NULL);
    add_ctr("missing", "\"traefik.docker.network\":\"nope\"", "zeta", two, "\"80/tcp\":null", NULL);
    add_ctr("v6", "", "v6net", "\"v6net\":{\"IPAddress\":\"\",\"GlobalIPv6Address\":\"fd00::2\"}",
            "\"80/tcp\":null", NULL);
    ck_assert_int_eq(decode(NULL), 0);
    ck_assert_str_eq(url0("first"), "http://10.2.0.2:80"); /* the first network by name */
    ck_assert_str_eq(url0("labelled"), "http://10.1.0.2:80");
    ck_assert_str_eq(url0("missing"), "http://10.2.0.2:80");
    ck_assert(has_diag_sub(&d, DIAG_WARNING, "container missing: network \"nope\" not found"));
    ck_assert_str_eq(url0("v6"), "http://[fd00::2]:80");
    opts.network = "zeta"; /* the option; the label still wins */
    ck_assert_int_eq(decode(NULL), 0);
    ck_assert_str_eq(url0("first"), "http://10.1.0.2:80");
}
END_TEST

/* Host networking: the node's advertised address and the port from the label; a container
 * joined to another's network ("container:<name>") uses that one's address. */
START_TEST(host_and_container_network)
{
    add_ctr("h", "\"traefik.http.services.h.loadbalancer.server.port\":\"18555\"", "host",
            "\"host\":{\"IPAddress\":\"\"}", NULL, NULL);
    add_ctr("side", "", "container:main", NULL, "\"8081/tcp\":null", NULL);
    add_ctr("main", "\"traefik.enable\":\"false\"", "bridge", BRIDGE("172.17.0.20"), NULL, NULL);
    add_ctr("noport", "", "host", "\"host\":{\"IPAddress\":\"\"}", NULL, NULL);
    ck_assert_int_eq(decode("192.0.2.7"), 0);
    ck_assert_str_eq(url0("h"), "http://192.0.2.7:18555");
    ck_assert_str_eq(url0("side"), "http://172.17.0.20:8081");
    ck_assert_ptr_null(service("noport"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR,
                           "container noport: service \"noport\": port is "
                           "missing"));
}
END_TEST

START_TEST(bind_port_ip)
{
    opts.use_bind_port_ip = true;
    add_ctr("b", "", "bridge", BRIDGE("172.17.0.30"),
            "\"80/tcp\":[{\"HostIp\":\"192.0.2.1\",\"HostPort\":\"8000\"}]", NULL);
    add_ctr("any", "", "bridge", BRIDGE("172.17.0.31"),
            "\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"8001\"}]", NULL);
    ck_assert_int_eq(decode(NULL), 0);
    ck_assert_str_eq(url0("b"), "http://192.0.2.1:8000");
    ck_assert_str_eq(url0("any"), "http://172.17.0.31:80"); /* no specific IP: the internal one */
}
END_TEST

START_TEST(server_scheme_and_url)
{
    add_ctr("s",
            "\"traefik.http.services.s.loadbalancer.server.scheme\":\"https\","
            "\"traefik.http.services.s.loadbalancer.server.port\":\"8443\"",
            "bridge", BRIDGE("172.17.0.40"), NULL, NULL);
    add_ctr("u", "\"traefik.http.services.u.loadbalancer.server.url\":\"http://192.0.2.9:1\"",
            "bridge", BRIDGE("172.17.0.41"), NULL, NULL);
    add_ctr("both",
            "\"traefik.http.services.x.loadbalancer.server.url\":\"http://192.0.2.9:1\","
            "\"traefik.http.services.x.loadbalancer.server.port\":\"2\"",
            "bridge", BRIDGE("172.17.0.42"), NULL, NULL);
    ck_assert_int_eq(decode(NULL), 0);
    ck_assert_str_eq(url0("s"), "https://172.17.0.40:8443");
    ck_assert_str_eq(url0("u"), "http://192.0.2.9:1");
    ck_assert_ptr_null(service("x"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR,
                           "container both: service \"x\": defining scheme or "
                           "port is not allowed when url is defined"));
}
END_TEST

/* Two containers of one service: one service with both servers, one router. Routers of one
 * name that differ are dropped, with an error. */
START_TEST(merge_two_containers)
{
    const char *labels = "\"traefik.http.routers.app.rule\":\"Host(`app.test`)\","
                         "\"traefik.http.services.app.loadbalancer.server.port\":\"80\"";
    add_ctr("app-2", labels, "bridge", BRIDGE("172.17.0.51"), NULL, NULL);
    add_ctr("app-1", labels, "bridge", BRIDGE("172.17.0.50"), NULL, NULL);
    add_ctr("other-1", "\"traefik.http.routers.clash.rule\":\"Host(`a`)\"", "bridge",
            BRIDGE("172.17.0.52"), "\"80/tcp\":null", NULL);
    add_ctr("other-2", "\"traefik.http.routers.clash.rule\":\"Host(`b`)\"", "bridge",
            BRIDGE("172.17.0.53"), "\"80/tcp\":null", NULL);
    ck_assert_int_eq(decode(NULL), 0);
    ck_assert_uint_eq(service("app")->load_balancer->n_servers, 2);
    ck_assert_str_eq(service("app")->load_balancer->servers[0]->url, "http://172.17.0.50:80");
    ck_assert_str_eq(service("app")->load_balancer->servers[1]->url, "http://172.17.0.51:80");
    ck_assert_ptr_nonnull(router("app"));
    ck_assert_str_eq(router("app")->mark->file, "container app-1"); /* the first by name */
    ck_assert_ptr_null(router("clash"));
    ck_assert(has_diag(&d, "docker: router \"clash\" defined by several containers with "
                           "different configurations; dropped"));
    ck_assert_ptr_nonnull(service("other-1"));
    ck_assert_ptr_nonnull(service("other-2"));
    /* names come out sorted, whatever the input order */
    for (size_t i = 1; i < cfg->http->n_services; i++) {
        ck_assert_int_lt(strcmp(cfg->http->services[i - 1]->name, cfg->http->services[i]->name), 0);
    }
}
END_TEST

START_TEST(health)
{
    add_ctr("ok", "", "bridge", BRIDGE("172.17.0.60"), "\"80/tcp\":null", "healthy");
    add_ctr("starting", "", "bridge", BRIDGE("172.17.0.61"), "\"80/tcp\":null", "starting");
    add_ctr("sick", "", "bridge", BRIDGE("172.17.0.62"), "\"80/tcp\":null", "unhealthy");
    ck_assert_int_eq(decode(NULL), 0);
    ck_assert_ptr_nonnull(service("ok"));
    ck_assert_ptr_null(service("starting"));
    ck_assert_ptr_null(service("sick"));
    opts.allow_empty_services = true; /* kept, with no server */
    ck_assert_int_eq(decode(NULL), 0);
    ck_assert_uint_eq(service("sick")->load_balancer->n_servers, 0);
    ck_assert_uint_eq(service("starting")->load_balancer->n_servers, 0);
    ck_assert_ptr_nonnull(router("sick"));
    ck_assert_uint_eq(service("ok")->load_balancer->n_servers, 1);
}
END_TEST

/* One bad container does not hide the others; several services and no router: no router. */
START_TEST(bad_container_isolated)
{
    add_ctr("bad", "\"traefik.http.routers.r.priority\":\"high\"", "bridge", BRIDGE("172.17.0.70"),
            "\"80/tcp\":null", NULL);
    add_ctr("two",
            "\"traefik.http.services.s1.loadbalancer.server.port\":\"1\","
            "\"traefik.http.services.s2.loadbalancer.server.port\":\"2\"",
            "bridge", BRIDGE("172.17.0.71"), NULL, NULL);
    add_ctr("amb",
            "\"traefik.http.routers.amb.rule\":\"Host(`x`)\","
            "\"traefik.http.services.s3.loadbalancer.server.port\":\"1\","
            "\"traefik.http.services.s4.loadbalancer.server.port\":\"2\"",
            "bridge", BRIDGE("172.17.0.72"), NULL, NULL);
    add_ctr("tcp", "\"traefik.tcp.routers.t.rule\":\"HostSNI(`*`)\"", "bridge",
            BRIDGE("172.17.0.73"), "\"80/tcp\":null", NULL);
    add_ctr("good", "", "bridge", BRIDGE("172.17.0.74"), "\"80/tcp\":null", NULL);
    ck_assert_int_eq(decode(NULL), 0);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "container bad: http.routers.r.priority: "));
    ck_assert_ptr_null(router("r"));
    ck_assert_ptr_nonnull(service("s1"));
    ck_assert_ptr_null(router("two"));
    ck_assert(has_diag_sub(&d, DIAG_WARNING, "container two: no router created"));
    ck_assert_ptr_null(router("amb"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "container amb: router \"amb\": cannot be linked"));
    ck_assert_ptr_null(service("tcp"));
    ck_assert_ptr_nonnull(service("good"));
    ck_assert_ptr_nonnull(router("good"));
}
END_TEST

START_TEST(empty_and_not_a_list)
{
    ck_assert_int_eq(decode(NULL), 0);
    ck_assert_uint_eq(cfg->http->n_routers + cfg->http->n_services, 0);
    decode_config_free(cfg);
    struct doc doc;
    ck_assert_int_eq(doc_parse(&doc, "docker", "{\"a\":1}", 7, 0, &d), 0);
    ck_assert_int_eq(docker_decode(doc.root, &opts, NULL, &cfg, &d), -EINVAL);
    ck_assert_ptr_null(cfg);
    doc_fini(&doc);
}
END_TEST

/* The reference labels of Traefik's docs, as one container's labels: they decode (warnings
 * only for the keys not supported yet), and service03 gets its server from the container. */
START_TEST(traefik_reference_labels)
{
    struct doc doc;
    char labels[1 << 15] = "";
    ck_assert_int_eq(doc_load_file(&doc, fixture("docker-labels-reference.yml"), 0, &d), 0);
    for (size_t i = 0; i < doc.root->n; i++) {
        const char *kv = doc.root->items[i]->str, *eq = strchr(kv, '=');
        char one[1024];
        ck_assert_ptr_nonnull(eq);
        /* port and scheme "foobar" would not make a URL: give real values */
        if (strstr(kv, "loadbalancer.server.port=") != NULL) {
            eq = "=8080";
        } else if (strstr(kv, "loadbalancer.server.scheme=") != NULL) {
            eq = "=http";
        } else if (strstr(kv, "loadbalancer.server.url=") != NULL) {
            continue; /* url and port together are refused; the url case is tested above */
        }
        snprintf(one, sizeof one, "%s\"%.*s\":\"", labels[0] ? "," : "",
                 (int)(strchr(kv, '=') - kv), kv);
        strcat(labels, one);
        for (const char *s = eq + 1; *s; s++) {
            if (*s == '"' || *s == '\\') {
                strcat(labels, "\\");
            }
            strncat(labels, s, 1);
        }
        strcat(labels, "\"");
    }
    doc_fini(&doc);
    add_ctr("ref", labels, "bridge", BRIDGE("172.17.0.80"), NULL, NULL);
    ck_assert_int_eq(decode(NULL), 0);
    ck_assert_uint_eq(d.nerrors, 0);
    ck_assert_uint_eq(count_diags(&d, DIAG_WARNING, "recognised Traefik key, not supported yet"),
                      d.n);
    ck_assert_uint_eq(cfg->http->n_routers, 2);
    ck_assert_uint_eq(cfg->http->n_middlewares, 25);
    ck_assert_uint_eq(cfg->http->n_services, 1);
    ck_assert_str_eq(url0("service03"), "http://172.17.0.80:8080");
}
END_TEST

static Suite *docker_suite(void)
{
    Suite *s = suite_create("providers/docker");
    TCase *tc = tcase_create("docker");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, labels_to_routers_services_middlewares);
    tcase_add_test(tc, defaults_from_the_container);
    tcase_add_test(tc, router_named_after_the_container);
    tcase_add_test(tc, compose_names);
    tcase_add_test(tc, default_rule_templates);
    tcase_add_test(tc, default_rule_option);
    tcase_add_test(tc, enable_and_exposed_by_default);
    tcase_add_test(tc, constraints_language);
    tcase_add_test(tc, constraints_errors);
    tcase_add_test(tc, constraints_filter_containers);
    tcase_add_test(tc, network_choice);
    tcase_add_test(tc, host_and_container_network);
    tcase_add_test(tc, bind_port_ip);
    tcase_add_test(tc, server_scheme_and_url);
    tcase_add_test(tc, merge_two_containers);
    tcase_add_test(tc, health);
    tcase_add_test(tc, bad_container_isolated);
    tcase_add_test(tc, empty_and_not_a_list);
    tcase_add_test(tc, traefik_reference_labels);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(docker_suite());
}
