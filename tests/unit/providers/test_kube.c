/* Unit tests of providers/kube_decode: Kubernetes objects (Traefik CRDs, Ingresses, Services,
 * EndpointSlices) into the Config proto, with Traefik's names. */
#include <errno.h>

#include "providers/decode.h"
#include "providers/doc.h"
#include "providers/kube_decode.h"
#include "tests/unit/providers/helpers.h"

typedef Concord__Config__Config Config;
typedef Concord__Config__Router Router;
typedef Concord__Config__Service Service;
typedef Concord__Config__Middleware Middleware;

static struct diags d;
static Config *cfg;
static struct kube_objs objs;
static struct kube_stream streams[8];
static size_t nstreams;

static void setup(void)
{
    diags_init(&d);
    cfg = NULL;
    memset(&objs, 0, sizeof objs);
    nstreams = 0;
}

static void teardown(void)
{
    decode_config_free(cfg);
    kube_objs_fini(&objs);
    for (size_t i = 0; i < nstreams; i++) {
        kube_stream_fini(&streams[i]);
    }
    diags_fini(&d);
}

/* Parses a multi-document YAML text and files its objects. */
static void load(const char *name, const char *text)
{
    ck_assert_uint_lt(nstreams, 8);
    ck_assert_int_eq(kube_stream_parse(&streams[nstreams], name, text, strlen(text), &d), 0);
    ck_assert_uint_eq(kube_stream_add_all(&streams[nstreams], &objs, &d), 0);
    nstreams++;
}

static void load_file(const char *path)
{
    char *text;
    size_t len;
    ck_assert_int_eq(doc_read_file(path, &text, &len), 0);
    load(path, text);
    free(text);
}

static Router *router(const char *name)
{
    for (size_t i = 0; cfg && i < cfg->http->n_routers; i++) {
        if (strcmp(cfg->http->routers[i]->name, name) == 0) {
            return cfg->http->routers[i];
        }
    }
    return NULL;
}

static Service *service(const char *name)
{
    for (size_t i = 0; cfg && i < cfg->http->n_services; i++) {
        if (strcmp(cfg->http->services[i]->name, name) == 0) {
            return cfg->http->services[i];
        }
    }
    return NULL;
}

static Middleware *middleware(const char *name)
{
    for (size_t i = 0; cfg && i < cfg->http->n_middlewares; i++) {
        if (strcmp(cfg->http->middlewares[i]->name, name) == 0) {
            return cfg->http->middlewares[i];
        }
    }
    return NULL;
}

static void dump(void)
{
    for (size_t i = 0; cfg && i < cfg->http->n_routers; i++) {
        fprintf(stderr, "  router %s -> %s\n", cfg->http->routers[i]->name,
                cfg->http->routers[i]->service);
    }
    for (size_t i = 0; cfg && i < cfg->http->n_services; i++) {
        fprintf(stderr, "  service %s\n", cfg->http->services[i]->name);
    }
}

static Router *must_router(const char *name)
{
    Router *r = router(name);
    if (r == NULL) {
        dump();
        dump_diags(&d);
    }
    ck_assert_msg(r != NULL, "no router %s", name);
    return r;
}

static Service *must_service(const char *name)
{
    Service *s = service(name);
    if (s == NULL) {
        dump();
        dump_diags(&d);
    }
    ck_assert_msg(s != NULL, "no service %s", name);
    return s;
}

/* A load balancer's servers, as "url,url,...". */
static const char *urls(const Service *s)
{
    static char buf[1024];
    size_t o = 0;
    buf[0] = '\0';
    ck_assert_int_eq(s->kind_case, CONCORD__CONFIG__SERVICE__KIND_LOAD_BALANCER);
    for (size_t i = 0; i < s->load_balancer->n_servers; i++) {
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", i ? "," : "",
                              s->load_balancer->servers[i]->url);
    }
    return buf;
}

/* Service <name> with ports "80/http 443/https ..." and a slice of ready endpoints at the
 * given addresses, the target port being port+8000. */
static char *svc_yaml(const char *ns, const char *name, const char *ports, const char *addrs)
{
    char *out, *pl = strdup(""), *sl = strdup(""), *al = strdup("");
    char buf[256];
    const char *p = ports;
    while (*p) {
        int port, n = 0;
        char pname[32];
        ck_assert_int_eq(sscanf(p, "%d/%31s%n", &port, pname, &n), 2);
        char *t;
        ck_assert_int_ge(asprintf(&t, "%s    - {name: %s, port: %d, targetPort: %d}\n", pl, pname,
                                  port, port + 8000),
                         0);
        free(pl);
        pl = t;
        ck_assert_int_ge(asprintf(&t, "%s  - {name: %s, port: %d}\n", sl, pname, port + 8000), 0);
        free(sl);
        sl = t;
        p += n;
        while (*p == ' ') {
            p++;
        }
    }
    snprintf(buf, sizeof buf, "%s", addrs);
    for (char *a = strtok(buf, " "); a; a = strtok(NULL, " ")) {
        char *t;
        ck_assert_int_ge(
            asprintf(&t, "%s  - addresses: [\"%s\"]\n    conditions: {ready: true}\n", al, a), 0);
        free(al);
        al = t;
    }
    ck_assert_int_ge(asprintf(&out,
                              "---\napiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: "
                              "%s}\nspec:\n  ports:\n%s"
                              "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
                              "metadata:\n  name: %s-abc\n  namespace: %s\n  labels: "
                              "{kubernetes.io/service-name: %s}\naddressType: IPv4\nports:\n%s"
                              "endpoints:\n%s",
                              name, ns, pl, name, ns, name, sl, al[0] ? al : "  []\n"),
                     0);
    free(pl);
    free(sl);
    free(al);
    return out;
}

static void load_svc(const char *ns, const char *name, const char *ports, const char *addrs)
{
    char *y = svc_yaml(ns, name, ports, addrs);
    load("services.yml", y);
    free(y);
}

/* ---- CRDs ---- */

START_TEST(test_fixture)
{
    load_file(fixture("kubernetes-crd-resource.yml"));
    load_svc("default", "s1", "80/web", "127.0.0.1 127.0.0.2");
    load_svc("default", "s2", "80/web 433/other", "127.0.0.3");
    load_svc("default", "s3", "80/web 8443/tls", "127.0.0.4");
    load("mw.yml", "apiVersion: traefik.io/v1alpha1\nkind: Middleware\n"
                   "metadata: {name: stripprefix, namespace: default}\n"
                   "spec: {stripPrefix: {prefixes: [/misc]}}\n---\n"
                   "apiVersion: traefik.io/v1alpha1\nkind: Middleware\n"
                   "metadata: {name: addprefix, namespace: default}\n"
                   "spec: {addPrefix: {prefix: /x}}\n");
    ck_assert_int_eq(kube_decode_crd(&objs, NULL, &cfg, &d), 0);
    if (d.nerrors) {
        dump_diags(&d);
    }
    ck_assert_uint_eq(d.nerrors, 0);

    /* Route 0: two Services -> a weighted service named as the router. */
    Router *r = must_router("default-ingressroute-8c5f839d7db7bf34f4bc");
    ck_assert_str_eq(r->rule, "Host(`example.net`) && PathPrefix(`/bar`)");
    ck_assert_int_eq(r->priority, 12);
    ck_assert_uint_eq(r->n_entry_points, 2);
    ck_assert_str_eq(r->entry_points[1], "websecure");
    ck_assert_ptr_nonnull(r->tls); /* spec.tls: TLS-only router */
    ck_assert_str_eq(r->tls->options, "default-my-tls-option");
    Service *s = must_service(r->service);
    ck_assert_int_eq(s->kind_case, CONCORD__CONFIG__SERVICE__KIND_WEIGHTED);
    ck_assert_uint_eq(s->weighted->n_services, 2);
    ck_assert_str_eq(s->weighted->services[0]->name, "default-s1-80");
    ck_assert_int_eq(s->weighted->services[0]->weight, 1);
    ck_assert_str_eq(s->weighted->services[1]->name, "default-s2-433");
    ck_assert_str_eq(urls(must_service("default-s1-80")),
                     "http://127.0.0.1:8080,http://127.0.0.2:8080");
    ck_assert_str_eq(must_service("default-s2-433")->load_balancer->servers_transport,
                     "default-mytransport");

    /* Routes 1 and 2 have the same match: the later one wins, with its https scheme. */
    r = must_router("default-ingressroute-c2708ee3c40e2b87fcaf");
    ck_assert_uint_eq(r->n_middlewares, 0);
    ck_assert_str_eq(r->service, "default-ingressroute-c2708ee3c40e2b87fcaf");
    ck_assert_str_eq(urls(must_service(r->service)), "https://127.0.0.4:16443");
    ck_assert(has_diag_sub(&d, DIAG_WARNING, "same match as an earlier route"));

    /* TraefikServices: weighted of a TraefikService and a Service; mirroring. */
    ck_assert_str_eq(must_router("default-ingressroute-25302a6607d9704af635")->service,
                     "default-wrr1");
    s = must_service("default-wrr1");
    ck_assert_int_eq(s->kind_case, CONCORD__CONFIG__SERVICE__KIND_WEIGHTED);
    ck_assert_str_eq(s->weighted->services[0]->name, "default-wrr2");
    ck_assert_str_eq(s->weighted->services[1]->name, "default-s3-80");
    ck_assert_str_eq(urls(must_service("default-s3-80")), "http://127.0.0.4:8080");
    s = must_service("default-mirror1");
    ck_assert_int_eq(s->kind_case, CONCORD__CONFIG__SERVICE__KIND_MIRRORING);
    ck_assert_str_eq(s->mirroring->service, "default-s1-80");
    ck_assert_uint_eq(s->mirroring->n_mirrors, 2);
    ck_assert_str_eq(s->mirroring->mirrors[1]->name, "default-mirror2");
    ck_assert_int_eq(s->mirroring->mirrors[1]->percent, 20);
    s = must_service("default-mirror2");
    ck_assert(s->mirroring->has_max_body_size);
    ck_assert_int_eq(s->mirroring->max_body_size, 2000000000);
    ck_assert_str_eq(s->mirroring->service, "default-wrr2");

    /* Middlewares, and the kinds not supported yet named in warnings. */
    ck_assert_int_eq(middleware("default-stripprefix")->kind_case,
                     CONCORD__CONFIG__MIDDLEWARE__KIND_STRIP_PREFIX);
    ck_assert(has_diag_sub(&d, DIAG_WARNING,
                           "IngressRouteTCP default/ingressroutetcp.crd: "
                           "recognised Traefik kind, not supported yet"));
    ck_assert(has_diag_sub(&d, DIAG_WARNING, "IngressRoute default/ingressroute: spec.tls"));
    /* ServersTransport: decoded by the dynamic schema; Secrets and TLS keys are warnings. */
    ck_assert_uint_eq(cfg->http->n_servers_transports, 1);
    ck_assert_str_eq(cfg->http->servers_transports[0]->name, "default-mytransport");
    ck_assert_int_eq(cfg->http->servers_transports[0]->max_idle_conns_per_host, 1);
    ck_assert_str_eq(cfg->http->servers_transports[0]->forwarding_timeouts->dial_timeout, "42s");
    ck_assert(has_diag_sub(&d, DIAG_WARNING,
                           "ServersTransport default/mytransport: "
                           "spec.rootCAsSecrets: recognised Traefik key"));
}
END_TEST

static const char *const two_routes =
    "apiVersion: traefik.io/v1alpha1\n"
    "kind: IngressRoute\n"
    "metadata: {name: test.route, namespace: default}\n"
    "spec:\n"
    "  entryPoints: [web]\n"
    "  routes:\n"
    "  - match: Host(`foo.com`) && PathPrefix(`/bar`)\n"
    "    kind: Rule\n"
    "    services: [{name: whoami, port: 80}]\n"
    "  - match: PathPrefix(`/api`)\n"
    "    priority: 5\n"
    "    middlewares: [{name: auth}, {name: other@file}]\n"
    "    services: [{name: whoami, port: https}]\n"
    "---\n"
    "apiVersion: traefik.io/v1alpha1\n"
    "kind: Middleware\n"
    "metadata: {name: auth, namespace: default}\n"
    "spec:\n"
    "  chain:\n"
    "    middlewares: [{name: hdr}]\n"
    "---\n"
    "apiVersion: traefik.io/v1alpha1\n"
    "kind: Middleware\n"
    "metadata: {name: hdr, namespace: default}\n"
    "spec: {headers: {customRequestHeaders: {X-A: b}}}\n"
    "---\n"
    "apiVersion: traefik.io/v1alpha1\n"
    "kind: Middleware\n"
    "metadata: {name: errpage, namespace: default}\n"
    "spec: {errors: {status: [\"500-599\"], query: \"/{status}.html\", service: {name: whoami, "
    "port: 80}}}\n";

START_TEST(test_two_routes_and_middleware)
{
    load("ir.yml", two_routes);
    load_svc("default", "whoami", "80/http 443/https", "127.0.0.5");
    ck_assert_int_eq(kube_decode_crd(&objs, NULL, &cfg, &d), 0);
    ck_assert_uint_eq(d.nerrors, 0);
    ck_assert_uint_eq(cfg->http->n_routers, 2);
    /* Traefik's own name for this object and rule. */
    Router *r = must_router("default-test-route-6b204d94623b3df4370c");
    ck_assert_str_eq(r->entry_points[0], "web");
    ck_assert_str_eq(urls(must_service(r->service)), "http://127.0.0.5:8080");
    r = must_router("default-test-route-29f28a463fb5d5ba16d2");
    ck_assert_int_eq(r->priority, 5);
    ck_assert_uint_eq(r->n_middlewares, 2);
    ck_assert_str_eq(r->middlewares[0], "default-auth@kubernetescrd");
    ck_assert_str_eq(r->middlewares[1], "other@file");
    /* Port named https: scheme https, target port from the slice. */
    ck_assert_str_eq(urls(must_service(r->service)), "https://127.0.0.5:8443");
    Middleware *m = middleware("default-auth");
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(m->kind_case, CONCORD__CONFIG__MIDDLEWARE__KIND_CHAIN);
    ck_assert_str_eq(m->chain->middlewares[0], "default-hdr@kubernetescrd");
    m = middleware("default-hdr");
    ck_assert_int_eq(m->kind_case, CONCORD__CONFIG__MIDDLEWARE__KIND_HEADERS);
    ck_assert_str_eq(m->headers->custom_request_headers[0]->value, "b");
    /* errors.service, a Service reference in Kubernetes, becomes a service of its own. */
    m = middleware("default-errpage");
    ck_assert_int_eq(m->kind_case, CONCORD__CONFIG__MIDDLEWARE__KIND_ERRORS);
    ck_assert_str_eq(m->errors->service, "default-errpage-errorpage-service");
    ck_assert_str_eq(urls(must_service(m->errors->service)), "http://127.0.0.5:8080");
}
END_TEST

START_TEST(test_bad_objects_skipped)
{
    load("ir.yml", two_routes);
    load("bad.yml", "apiVersion: traefik.io/v1alpha1\nkind: IngressRoute\n"
                    "metadata: {name: bad, namespace: default}\n"
                    "spec:\n  routes:\n  - match: PathPrefix(`/x`)\n"
                    "    services: [{name: whoami, port: 9999}]\n"
                    "---\napiVersion: traefik.io/v1alpha1\nkind: IngressRoute\n"
                    "metadata: {name: cross, namespace: default}\n"
                    "spec:\n  routes:\n  - match: PathPrefix(`/y`)\n"
                    "    services: [{name: whoami, namespace: other, port: 80}]\n"
                    "---\napiVersion: traefik.io/v1alpha1\nkind: Middleware\n"
                    "metadata: {name: badmw, namespace: default}\n"
                    "spec: {addPrefix: {prefix: [1]}}\n");
    load_svc("default", "whoami", "80/http 443/https", "127.0.0.5");
    ck_assert_int_eq(kube_decode_crd(&objs, NULL, &cfg, &d), 0);
    ck_assert(has_diag(&d,
                       "bad.yml:7:37: IngressRoute default/bad: "
                       "spec.routes[0].services[0].port: Service default/whoami has no port 9999"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR,
                           "IngressRoute default/cross: spec.routes[0].services[0]: "
                           "namespace other is not the object's"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "Middleware default/badmw: spec."));
    ck_assert_uint_eq(d.nerrors, 3);
    ck_assert_ptr_null(middleware("default-badmw"));
    ck_assert_uint_eq(cfg->http->n_routers, 2); /* test.route's two only */
    must_router("default-test-route-6b204d94623b3df4370c");
    /* allowCrossNamespace lets the second through (its Service does not exist: an error). */
    decode_config_free(cfg);
    diags_fini(&d);
    diags_init(&d);
    struct kube_crd_opts o = {.allow_cross_namespace = true};
    ck_assert_int_eq(kube_decode_crd(&objs, &o, &cfg, &d), 0);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "Service other/whoami not found"));
}
END_TEST

START_TEST(test_no_ready_endpoints)
{
    load("ir.yml", "apiVersion: traefik.io/v1alpha1\nkind: IngressRoute\n"
                   "metadata: {name: r}\n"
                   "spec:\n  routes:\n  - match: Host(`a.com`)\n"
                   "    services: [{name: empty, port: 80}]\n");
    load("svc.yml", "apiVersion: v1\nkind: Service\nmetadata: {name: empty}\n"
                    "spec: {ports: [{port: 80}]}\n---\n"
                    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
                    "metadata: {name: e1, labels: {kubernetes.io/service-name: empty}}\n"
                    "ports: [{port: 8080}]\n"
                    "endpoints: [{addresses: [127.0.0.9], conditions: {ready: false}}]\n");
    ck_assert_int_eq(kube_decode_crd(&objs, NULL, &cfg, &d), 0);
    ck_assert_uint_eq(d.nerrors, 0);
    Router *r = must_router("default-r-ff26c864b5625122e48c");
    Service *s = must_service(r->service);
    ck_assert_str_eq(urls(s), "");
    ck_assert(has_diag_sub(&d, DIAG_WARNING, "has no ready endpoint"));
}
END_TEST

/* ---- Ingress ---- */

static const char *const ingresses =
    "apiVersion: networking.k8s.io/v1\nkind: IngressClass\n"
    "metadata: {name: traefik}\nspec: {controller: traefik.io/ingress-controller}\n"
    "---\napiVersion: networking.k8s.io/v1\nkind: IngressClass\n"
    "metadata: {name: nginx}\nspec: {controller: k8s.io/ingress-nginx}\n"
    "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\n"
    "metadata:\n  name: web\n  namespace: apps\n  annotations:\n"
    "    traefik.ingress.kubernetes.io/router.entrypoints: web,websecure\n"
    "    traefik.ingress.kubernetes.io/router.middlewares: apps-auth@kubernetescrd\n"
    "    traefik.ingress.kubernetes.io/router.priority: \"42\"\n"
    "    traefik.ingress.kubernetes.io/router.tls.certresolver: le\n"
    "spec:\n  ingressClassName: traefik\n"
    "  defaultBackend: {service: {name: whoami, port: {number: 80}}}\n"
    "  rules:\n  - host: example.com\n    http:\n      paths:\n"
    "      - {path: /bar, pathType: Prefix, backend: {service: {name: whoami, port: {number: "
    "80}}}}\n"
    "      - {path: /exact, pathType: Exact, backend: {service: {name: whoami, port: {name: "
    "https}}}}\n"
    "  - host: \"*.example.org\"\n    http:\n      paths:\n"
    "      - {path: /, pathType: ImplementationSpecific, backend: {service: {name: whoami, port: "
    "{number: 80}}}}\n"
    "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\n"
    "metadata: {name: nginxed, namespace: apps}\n"
    "spec:\n  ingressClassName: nginx\n  rules:\n  - http:\n      paths:\n"
    "      - {path: /n, pathType: Prefix, backend: {service: {name: whoami, port: {number: 80}}}}\n"
    "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\n"
    "metadata:\n  name: annotated\n  namespace: apps\n"
    "  annotations: {kubernetes.io/ingress.class: internal}\n"
    "spec:\n  rules:\n  - http:\n      paths:\n"
    "      - {path: /i, pathType: Prefix, backend: {service: {name: whoami, port: {number: 80}}}}\n"
    "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\n"
    "metadata: {name: plain, namespace: apps}\n"
    "spec:\n  rules:\n  - http:\n      paths:\n"
    "      - {path: /p, pathType: Prefix, backend: {service: {name: whoami, port: {number: 80}}}}\n"
    "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\n"
    "metadata: {name: broken, namespace: apps}\n"
    "spec:\n  rules:\n  - http:\n      paths:\n"
    "      - {path: /b, pathType: Prefix, backend: {service: {name: nosuch, port: {number: "
    "80}}}}\n";

START_TEST(test_ingress)
{
    load("ing.yml", ingresses);
    load_svc("apps", "whoami", "80/http 443/https", "127.0.0.7");
    ck_assert_int_eq(kube_decode_ingress(&objs, NULL, &cfg, &d), 0);
    ck_assert(has_diag_sub(&d, DIAG_ERROR,
                           "Ingress apps/broken: spec.rules[0].http.paths[0]"
                           ".backend.service.port: Service apps/nosuch not found"));
    ck_assert_uint_eq(d.nerrors, 1);
    Router *r = must_router("apps-web-example-com-bar");
    ck_assert_str_eq(r->rule, "Host(`example.com`) && PathPrefix(`/bar`)");
    ck_assert_str_eq(r->service, "apps-whoami-80");
    ck_assert_uint_eq(r->n_entry_points, 2);
    ck_assert_str_eq(r->middlewares[0], "apps-auth@kubernetescrd");
    ck_assert_int_eq(r->priority, 42);
    r = must_router("apps-web-example-com-exact");
    ck_assert_str_eq(r->rule, "Host(`example.com`) && Path(`/exact`)");
    ck_assert_str_eq(urls(must_service(r->service)), "https://127.0.0.7:8443");
    r = must_router("apps-web-example-org");
    ck_assert_str_eq(r->rule, "HostRegexp(`^[a-zA-Z0-9-]+\\.example\\.org$`) && PathPrefix(`/`)");
    r = must_router("default-router");
    ck_assert_str_eq(r->rule, "PathPrefix(`/`)");
    ck_assert_int_eq(r->priority, INT32_MIN);
    ck_assert_str_eq(urls(must_service("default-backend")), "http://127.0.0.7:8080");
    ck_assert_str_eq(urls(must_service("apps-whoami-80")), "http://127.0.0.7:8080");
    ck_assert(has_diag_sub(&d, DIAG_WARNING, "router.tls.certresolver]: recognised Traefik key"));
    /* Class filtering: no class is ours by default; nginx and "internal" are not. */
    must_router("apps-plain-p");
    ck_assert_ptr_null(router("apps-nginxed-n"));
    ck_assert_ptr_null(router("apps-annotated-i"));
    ck_assert_uint_eq(cfg->http->n_routers, 5);

    /* ingressClass "internal": only the annotated one. */
    decode_config_free(cfg);
    struct kube_ingress_opts o = {.ingress_class = "internal"};
    ck_assert_int_eq(kube_decode_ingress(&objs, &o, &cfg, &d), 0);
    ck_assert_uint_eq(cfg->http->n_routers, 1);
    must_router("apps-annotated-i");
}
END_TEST

START_TEST(test_ingress_conflicting_paths)
{
    load("ing.yml",
         "apiVersion: networking.k8s.io/v1\nkind: Ingress\n"
         "metadata: {name: c, namespace: t}\n"
         "spec:\n  rules:\n  - http:\n      paths:\n"
         "      - {path: /foo/bar, backend: {service: {name: s, port: {number: 80}}}}\n"
         "      - {path: /foo-bar, backend: {service: {name: s, port: {number: 80}}}}\n");
    load_svc("t", "s", "80/http", "127.0.0.8");
    ck_assert_int_eq(kube_decode_ingress(&objs, NULL, &cfg, &d), 0);
    ck_assert_uint_eq(d.nerrors, 0);
    /* Traefik's names for the same conflict (its test "Ingress with conflicting routers on
     * path" has no Ingress name: here "c" is in the key, the hashes are of the rules). */
    ck_assert_uint_eq(cfg->http->n_routers, 2);
    ck_assert(strncmp(cfg->http->routers[0]->name, "t-c-foo-bar-", 12) == 0);
    ck_assert_uint_eq(strlen(cfg->http->routers[0]->name), 12 + 20);
    ck_assert_str_ne(cfg->http->routers[0]->name, cfg->http->routers[1]->name);
}
END_TEST

START_TEST(test_ingress_service_annotations)
{
    load("ing.yml",
         "apiVersion: networking.k8s.io/v1\nkind: Ingress\n"
         "metadata:\n  name: a\n  namespace: t\n  annotations:\n"
         "    traefik.ingress.kubernetes.io/router.pathmatcher: Path\n"
         "    traefik.ingress.kubernetes.io/router.bogus: x\n"
         "spec:\n  tls: [{secretName: s}]\n  rules:\n  - host: h.com\n    http:\n      paths:\n"
         "      - {path: /x, backend: {service: {name: s, port: {number: 8000}}}}\n"
         "---\napiVersion: v1\nkind: Service\n"
         "metadata:\n  name: s\n  namespace: t\n  annotations:\n"
         "    traefik.ingress.kubernetes.io/service.serversscheme: h2c\n"
         "    traefik.ingress.kubernetes.io/service.passhostheader: \"false\"\n"
         "    traefik.ingress.kubernetes.io/service.sticky.cookie.name: sess\n"
         "spec: {type: ExternalName, externalName: backend.example, ports: [{port: 8000}]}\n");
    ck_assert_int_eq(kube_decode_ingress(&objs, NULL, &cfg, &d), 0);
    /* ExternalName needs allowExternalNameServices. */
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "ExternalName Service, not allowed"));
    ck_assert_uint_eq(cfg->http->n_routers, 0);
    decode_config_free(cfg);
    diags_fini(&d);
    diags_init(&d);
    struct kube_ingress_opts o = {.allow_external_name_services = true};
    ck_assert_int_eq(kube_decode_ingress(&objs, &o, &cfg, &d), 0);
    ck_assert_uint_eq(d.nerrors, 0);
    Router *r = must_router("t-a-h-com-x");
    ck_assert_str_eq(r->rule, "Host(`h.com`) && Path(`/x`)"); /* pathmatcher, no pathType */
    ck_assert_ptr_nonnull(r->tls);
    Service *s = must_service("t-s-8000");
    ck_assert_str_eq(urls(s), "h2c://backend.example:8000");
    ck_assert(s->load_balancer->has_pass_host_header);
    ck_assert(!s->load_balancer->pass_host_header);
    ck_assert_str_eq(s->load_balancer->sticky->cookie->name, "sess");
    ck_assert(has_diag_sub(&d, DIAG_WARNING, "router.bogus]: unknown Traefik annotation"));
    ck_assert(has_diag_sub(&d, DIAG_WARNING, "Ingress t/a: spec.tls: recognised Traefik key"));
}
END_TEST

/* Wrong shapes everywhere: each object is refused with an error, nothing crashes. */
START_TEST(test_wrong_shapes)
{
    load("g.yml", "apiVersion: traefik.io/v1alpha1\nkind: IngressRoute\nmetadata: {name: a}\n"
                  "spec: {routes: x}\n---\n"
                  "apiVersion: traefik.io/v1alpha1\nkind: IngressRoute\nmetadata: {name: b}\n"
                  "spec: {routes: [x, {match: [1], services: [1]}]}\n---\n"
                  "apiVersion: traefik.io/v1alpha1\nkind: IngressRoute\nmetadata: {name: c}\n"
                  "spec: {routes: [{match: m, kind: Foo, services: [{name: s, kind: Bar}]}]}\n---\n"
                  "apiVersion: traefik.io/v1alpha1\nkind: IngressRoute\nmetadata: {name: e}\n"
                  "spec: {routes: [{match: m, services: [{name: s}], middlewares: [[]]}]}\n---\n"
                  "apiVersion: traefik.io/v1alpha1\nkind: Middleware\nmetadata: {name: m}\n"
                  "spec: {chain: {middlewares: [1]}}\n---\n"
                  "apiVersion: traefik.io/v1alpha1\nkind: Middleware\nmetadata: {name: n}\n"
                  "spec: {basicAuth: {secret: s}}\n---\n"
                  "apiVersion: traefik.io/v1alpha1\nkind: Middleware\nmetadata: {namespace: x}\n"
                  "spec: {}\n---\n"
                  "apiVersion: traefik.io/v1alpha1\nkind: TraefikService\nmetadata: {name: t}\n"
                  "spec: {weighted: {services: x}, mirroring: {}}\n---\n"
                  "apiVersion: traefik.io/v1alpha1\nkind: TraefikService\nmetadata: {name: u}\n"
                  "spec: {mirroring: {name: s, port: 80, mirrors: [{name: s, port: 80, percent: "
                  "200}]}}\n---\n"
                  "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\n"
                  "spec: {rules: [{http: {paths: [{pathType: Odd, backend: {}}, {backend: "
                  "{service: {name: s, port: {number: abc}}}}, {backend: {resource: {}}}]}}]}\n"
                  "---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
                  "spec: {ports: [{port: 80}]}\n---\n"
                  "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
                  "metadata: {name: s1, labels: {kubernetes.io/service-name: s}}\n"
                  "ports: [{name: [1], port: 1}, {port: 8080}]\n"
                  "endpoints: [x, {addresses: x}, {addresses: [[1], 127.0.0.1]}]\n");
    ck_assert_int_eq(kube_decode_crd(&objs, NULL, &cfg, &d), 0);
    ck_assert_uint_eq(cfg->http->n_routers, 0);
    ck_assert_uint_eq(cfg->http->n_middlewares, 0);
    ck_assert_uint_eq(cfg->http->n_services, 0);
    const char *names[] = {
        "IngressRoute default/a:", "IngressRoute default/b:",   "IngressRoute default/c:",
        "IngressRoute default/e:", "Middleware default/m:",     "Middleware default/n:",
        "Middleware x/?:",         "TraefikService default/t:", "TraefikService default/u:"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        ck_assert_msg(count_diags(&d, DIAG_ERROR, names[i]) > 0, "%s", names[i]);
    }
    decode_config_free(cfg);
    ck_assert_int_eq(kube_decode_ingress(&objs, NULL, &cfg, &d), 0);
    ck_assert_uint_eq(cfg->http->n_routers, 0);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "Ingress default/i: spec.rules[0].http.paths[0]"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "resource backends are not supported"));
    if (getenv("KUBE_DUMP")) {
        dump_diags(&d);
    }
}
END_TEST

START_TEST(test_stream_and_kinds)
{
    struct kube_stream s;
    const char *text = "# c\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\n---\n---\n"
                       "apiVersion: traefik.containo.us/v1alpha1\nkind: Middleware\n"
                       "metadata: {name: m}\n";
    ck_assert_int_eq(kube_stream_parse(&s, "x.yml", text, strlen(text), &d), 0);
    ck_assert_uint_eq(s.n, 3);
    ck_assert_uint_eq(s.docs[2].root->line, 7); /* marks keep the stream's line numbers */
    ck_assert_uint_eq(kube_stream_add_all(&s, &objs, &d), 2);
    ck_assert(has_diag(&d, "x.yml:3:7: Pod: unknown kind Pod (apiVersion v1)"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "removed in Traefik v3"));
    kube_stream_fini(&s);
    text = "a: [\n---\nb: 1\n";
    ck_assert_int_eq(kube_stream_parse(&s, "bad.yml", text, strlen(text), &d), -EINVAL);
    ck_assert_uint_eq(s.n, 0);
}
END_TEST

/* The API server's JSON, as the provider will give it (one object per document). */
START_TEST(test_json_objects)
{
    load("api.json", "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"w\","
                     "\"namespace\":\"ns1\"},\"spec\":{\"ports\":[{\"name\":\"http\",\"port\":80,"
                     "\"targetPort\":8080}]}}");
    load("api.json", "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\","
                     "\"metadata\":{\"name\":\"w-1\",\"namespace\":\"ns1\",\"labels\":"
                     "{\"kubernetes.io/service-name\":\"w\"}},\"addressType\":\"IPv6\","
                     "\"ports\":[{\"name\":\"http\",\"port\":8080}],\"endpoints\":["
                     "{\"addresses\":[\"::1\"],\"conditions\":{\"ready\":true}},"
                     "{\"addresses\":[\"::2\"]}]}");
    load("api.json",
         "{\"apiVersion\":\"traefik.io/v1alpha1\",\"kind\":\"IngressRoute\","
         "\"metadata\":{\"name\":\"j\",\"namespace\":\"ns1\"},\"spec\":{\"routes\":"
         "[{\"match\":\"Host(`a.com`)\",\"services\":[{\"name\":\"w\",\"port\":80}]}]}}");
    ck_assert_int_eq(kube_decode_crd(&objs, NULL, &cfg, &d), 0);
    ck_assert_uint_eq(d.nerrors, 0);
    Router *r = must_router("ns1-j-ff26c864b5625122e48c");
    /* An endpoint without a ready condition counts as ready (the API's "unknown"). */
    ck_assert_str_eq(urls(must_service(r->service)), "http://[::1]:8080,http://[::2]:8080");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("providers_kube");
    TCase *tc = tcase_create("kube");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_fixture);
    tcase_add_test(tc, test_two_routes_and_middleware);
    tcase_add_test(tc, test_bad_objects_skipped);
    tcase_add_test(tc, test_no_ready_endpoints);
    tcase_add_test(tc, test_ingress);
    tcase_add_test(tc, test_ingress_conflicting_paths);
    tcase_add_test(tc, test_stream_and_kinds);
    tcase_add_test(tc, test_json_objects);
    tcase_add_test(tc, test_wrong_shapes);
    tcase_add_test(tc, test_ingress_service_annotations);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
