/* The static configuration's `providers` section (static_config.h): the file, HTTP, etcd,
 * Docker and Kubernetes providers' keys, their defaults and checks. Kept apart from the rest of
 * the static schema (static_config.c) because each provider brings its own rows. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/doc.h"
#include "providers/docker_constraints.h"
#include "providers/schema.h"
#include "providers/static_config-int.h"
#include "providers/static_config.h"
#include "providers/traefik_keys.h"

#define SC struct static_config

void static_providers_defaults(struct static_config *c)
{
    c->providers_throttle_ms = 2000;
    c->file.watch = true; /* Traefik's default */
    c->http.poll_interval_ms = 5000; /* Traefik's defaults */
    c->http.poll_timeout_ms = 5000;
    c->http.max_body = 16u << 20;
    c->etcd.root_key = sc_xstrdup("traefik"); /* Traefik's defaults */
    c->etcd.endpoints = sc_xgrow(NULL, sizeof *c->etcd.endpoints);
    c->etcd.endpoints[0] = sc_xstrdup("127.0.0.1:2379");
    c->etcd.n_endpoints = 1;
    c->docker.endpoint = sc_xstrdup("unix:///var/run/docker.sock"); /* Traefik's defaults */
    c->docker.exposed_by_default = true;
    c->docker.watch = true;
}

static void kube_config_fini(struct kube_provider_config *k)
{
    free(k->endpoint);
    free(k->token);
    free(k->kubeconfig);
    doc_strlist_free(k->namespaces, k->n_namespaces);
    free(k->label_selector);
    free(k->ingress_class);
    free(k->cert_auth_file);
}

void static_providers_fini(struct static_config *c)
{
    free(c->file.filename);
    free(c->file.directory);
    free(c->http.endpoint);
    for (uint32_t i = 0; i < c->http.n_headers; i++) {
        free(c->http.headers[i]);
    }
    free(c->http.headers);
    static_config_tls_fini(&c->http.tls);
    doc_strlist_free(c->etcd.endpoints, c->etcd.n_endpoints);
    free(c->etcd.root_key);
    free(c->etcd.username);
    free(c->etcd.password);
    static_config_tls_fini(&c->etcd.tls);
    free(c->docker.endpoint);
    free(c->docker.default_rule);
    free(c->docker.constraints);
    free(c->docker.network);
    free(c->docker.username);
    free(c->docker.password);
    static_config_tls_fini(&c->docker.tls);
    kube_config_fini(&c->kube_crd);
    kube_config_fini(&c->kube_ingress);
}

static const struct schema_row file_rows[] = {
    {.key = "filename", .fn = sc_d_path, .off = offsetof(SC, file.filename)},
    {.key = "directory", .fn = sc_d_path, .off = offsetof(SC, file.directory)},
    SCHEMA_FIELD("watch", schema_bool, SC, file.watch),
    SCHEMA_TODO("debugLogGeneratedTemplate", ""),
    {0},
};

static void d_file_provider(struct schema_ctx *c, const struct doc_node *v, void *obj,
                            const struct schema_row *r)
{
    struct static_config *sc = obj;
    sc->file.enabled = true;
    schema_map(c, v, obj, file_rows);
    if (sc->file.filename && sc->file.directory) {
        schema_error(c, c->key, "filename and directory are mutually exclusive");
    } else if (!sc->file.filename && !sc->file.directory) {
        schema_error(c, c->key, "needs filename or directory");
    }
}

static void d_http_headers(struct schema_ctx *c, const struct doc_node *v, void *obj,
                           const struct schema_row *r)
{
    struct static_config *sc = obj;
    (void)r;
    if (!schema_expect_map(c, v)) {
        return;
    }
    for (size_t i = 0; i < v->n; i++) {
        const char *val;
        char *line;
        if (doc_read_str(v->pairs[i].value, c->path, &val, c->d) != 0) {
            continue;
        }
        line = sc_xgrow(NULL, strlen(v->pairs[i].key->str) + strlen(val) + 3);
        sprintf(line, "%s: %s", v->pairs[i].key->str, val);
        sc->http.headers = sc_xgrow(sc->http.headers,
                                 (sc->http.n_headers + 1) * sizeof *sc->http.headers);
        sc->http.headers[sc->http.n_headers++] = line;
    }
}

void static_config_tls_fini(struct provider_tls_config *t)
{
    free(t->ca);
    free(t->cert);
    free(t->key);
    memset(t, 0, sizeof *t);
}

/* Rows of a `tls` block, relative to the struct provider_tls_config (obj points at it). */
static const struct schema_row tls_client_rows[] = {
    {.key = "ca", .fn = sc_d_path, .off = offsetof(struct provider_tls_config, ca)},
    {.key = "cert", .fn = sc_d_path, .off = offsetof(struct provider_tls_config, cert)},
    {.key = "key", .fn = sc_d_path, .off = offsetof(struct provider_tls_config, key)},
    SCHEMA_FIELD("insecureSkipVerify", schema_bool, struct provider_tls_config,
                 insecure_skip_verify),
    {0},
};

/* A provider's tls block; r->off locates its struct provider_tls_config in obj. */
static void d_tls_client(struct schema_ctx *c, const struct doc_node *v, void *obj,
                         const struct schema_row *r)
{
    struct provider_tls_config *t = (void *)((char *)obj + r->off);
    static_config_tls_fini(t); /* the block replaces one loaded before */
    t->set = true;
    schema_map(c, v, t, tls_client_rows);
    if ((t->cert == NULL) != (t->key == NULL)) {
        schema_error(c, c->key, "cert and key go together");
    }
}

static const struct schema_row http_provider_rows[] = {
    SCHEMA_FIELD("endpoint", schema_str, SC, http.endpoint),
    SCHEMA_FIELD("pollInterval", schema_dur, SC, http.poll_interval_ms),
    SCHEMA_FIELD("pollTimeout", schema_dur, SC, http.poll_timeout_ms),
    {.key = "headers", .fn = d_http_headers},
    SCHEMA_FIELD("maxResponseBodySize", schema_u64, SC, http.max_body),
    {.key = "tls", .fn = d_tls_client, .off = offsetof(SC, http.tls)},
    {0},
};

static void d_http_provider(struct schema_ctx *c, const struct doc_node *v, void *obj,
                            const struct schema_row *r)
{
    struct static_config *sc = obj;
    (void)r;
    sc->http.enabled = true;
    schema_map(c, v, obj, http_provider_rows);
    if (sc->http.endpoint == NULL || sc->http.endpoint[0] == '\0') {
        schema_error(c, c->key, "needs endpoint");
    } else if (strncmp(sc->http.endpoint, "http://", 7) != 0 &&
               strncmp(sc->http.endpoint, "https://", 8) != 0) {
        schema_error(c, c->key, "endpoint \"%s\": expected an http:// or https:// URL",
                     sc->http.endpoint);
    }
    if (sc->http.poll_interval_ms == 0) {
        schema_error(c, c->key, "pollInterval must be more than 0");
    }
}

static const struct schema_row etcd_provider_rows[] = {
    SCHEMA_LIST("endpoints", SC, etcd.endpoints, etcd.n_endpoints),
    SCHEMA_FIELD("rootKey", schema_str, SC, etcd.root_key),
    SCHEMA_FIELD("username", schema_str, SC, etcd.username),
    SCHEMA_FIELD("password", schema_str, SC, etcd.password),
    {.key = "tls", .fn = d_tls_client, .off = offsetof(SC, etcd.tls)},
    {0},
};

/* "host:port" or "http[s]://host:port[/]". */
static void etcd_check_endpoint(struct schema_ctx *c, const char *ep)
{
    bool http = strncmp(ep, "http://", 7) == 0 || strncmp(ep, "https://", 8) == 0;
    const char *hp = http ? strstr(ep, "://") + 3 : ep, *colon = NULL;
    for (const char *q = hp; *q != '\0'; q++) { /* the last ':' (strrchr upsets GCC's -O2
                                                  overread check after the offset) */
        if (*q == ':') {
            colon = q;
        }
    }
    if (strstr(ep, "://") != NULL && !http) {
        schema_error(c, c->key, "endpoint \"%s\": expected host:port, http:// or https://", ep);
    } else if (hp[0] == '\0' || colon == NULL || colon == hp || colon[1] == '\0') {
        schema_error(c, c->key, "endpoint \"%s\": expected host:port", ep);
    }
}

static void d_etcd_provider(struct schema_ctx *c, const struct doc_node *v, void *obj,
                            const struct schema_row *r)
{
    struct static_config *sc = obj;
    size_t n;
    (void)r;
    sc->etcd.enabled = true;
    schema_map(c, v, obj, etcd_provider_rows);
    if (sc->etcd.n_endpoints == 0) {
        schema_error(c, c->key, "needs at least one endpoint");
    }
    for (uint32_t i = 0; i < sc->etcd.n_endpoints; i++) {
        etcd_check_endpoint(c, sc->etcd.endpoints[i]);
    }
    n = strlen(sc->etcd.root_key);
    while (n > 0 && sc->etcd.root_key[n - 1] == '/') {
        sc->etcd.root_key[--n] = '\0'; /* "traefik/" and "traefik" are one root */
    }
    if (n == 0) {
        schema_error(c, c->key, "rootKey must not be empty");
    }
    if ((sc->etcd.username == NULL) != (sc->etcd.password == NULL)) {
        schema_error(c, c->key, "username and password go together");
    }
}

static const struct schema_row docker_provider_rows[] = {
    SCHEMA_FIELD("endpoint", schema_str, SC, docker.endpoint),
    SCHEMA_FIELD("exposedByDefault", schema_bool, SC, docker.exposed_by_default),
    SCHEMA_FIELD("defaultRule", schema_str, SC, docker.default_rule),
    SCHEMA_FIELD("constraints", schema_str, SC, docker.constraints),
    SCHEMA_FIELD("network", schema_str, SC, docker.network),
    SCHEMA_FIELD("useBindPortIP", schema_bool, SC, docker.use_bind_port_ip),
    SCHEMA_FIELD("watch", schema_bool, SC, docker.watch),
    SCHEMA_FIELD("allowEmptyServices", schema_bool, SC, docker.allow_empty_services),
    SCHEMA_FIELD("httpClientTimeout", schema_dur, SC, docker.http_client_timeout_ms),
    SCHEMA_FIELD("username", schema_str, SC, docker.username),
    SCHEMA_FIELD("password", schema_str, SC, docker.password),
    {.key = "tls", .fn = d_tls_client, .off = offsetof(SC, docker.tls)},
    {0},
};

static void d_docker_provider(struct schema_ctx *c, const struct doc_node *v, void *obj,
                              const struct schema_row *r)
{
    struct static_config *sc = obj;
    struct docker_constraint *expr;
    char msg[300];
    (void)r;
    sc->docker.enabled = true;
    schema_map(c, v, obj, docker_provider_rows);
    if (strncmp(sc->docker.endpoint, "tcp://", 6) == 0) {
        char host[256];
        uint16_t port;
        if (static_config_parse_address(sc->docker.endpoint + 6, host, sizeof host, &port) != 0 ||
            port == 0 || host[0] == '\0') {
            schema_error(c, c->key, "endpoint \"%s\": expected tcp://host:port",
                         sc->docker.endpoint);
        }
    } else if (strncmp(sc->docker.endpoint, "unix:///", 8) != 0) {
        schema_error(c, c->key, "endpoint \"%s\": expected unix:///path or tcp://host:port",
                     sc->docker.endpoint);
    } else if (sc->docker.tls.set) {
        schema_error(c, c->key, "tls applies to tcp:// endpoints, not to a unix socket");
    }
    if ((sc->docker.username == NULL) != (sc->docker.password == NULL)) {
        schema_error(c, c->key, "username and password go together");
    }
    if (docker_constraint_parse(sc->docker.constraints, &expr, msg, sizeof msg) != 0) {
        schema_error(c, c->key, "%s", msg);
    }
    docker_constraint_free(expr);
}

/* providers.kubernetesCRD / kubernetesIngress (kube_watch.h). */
#define KUBE_COMMON_ROWS(f)                                                                      \
    SCHEMA_FIELD("endpoint", schema_str, SC, f.endpoint),                                        \
        SCHEMA_FIELD("token", schema_str, SC, f.token),                                          \
        {.key = "kubeconfig", .fn = sc_d_path, .off = offsetof(SC, f.kubeconfig)},                  \
        SCHEMA_LIST("namespaces", SC, f.namespaces, f.n_namespaces),                             \
        SCHEMA_FIELD("labelSelector", schema_str, SC, f.label_selector),                         \
        SCHEMA_FIELD("allowExternalNameServices", schema_bool, SC,                               \
                     f.allow_external_name_services),                                            \
        {.key = "certAuthFilePath", .fn = sc_d_path, .off = offsetof(SC, f.cert_auth_file)},       \
        SCHEMA_TODO("throttleDuration", ""),                                                     \
        SCHEMA_TODO("allowEmptyServices", ""), SCHEMA_TODO("nativeLBByDefault", ""),             \
        SCHEMA_TODO("disableClusterScopeResources", "")

static const struct schema_row kube_crd_rows[] = {
    KUBE_COMMON_ROWS(kube_crd),
    SCHEMA_FIELD("allowCrossNamespace", schema_bool, SC, kube_crd.allow_cross_namespace),
    SCHEMA_TODO("ingressClass", ""),
    {0},
};

static const struct schema_row kube_ingress_rows[] = {
    KUBE_COMMON_ROWS(kube_ingress),
    SCHEMA_FIELD("ingressClass", schema_str, SC, kube_ingress.ingress_class),
    SCHEMA_TODO("ingressEndpoint", "ip hostname publishedService"),
    SCHEMA_TODO("disableIngressClassLookup", ""),
    SCHEMA_TODO("strictPrefixMatching", ""),
    {0},
};

static void kube_check(struct schema_ctx *c, const struct kube_provider_config *k)
{
    if (k->endpoint != NULL && k->endpoint[0] != '\0' && strncmp(k->endpoint, "http://", 7) != 0 &&
        strncmp(k->endpoint, "https://", 8) != 0) {
        schema_error(c, c->key, "endpoint \"%s\": expected http[s]://host[:port]", k->endpoint);
    }
}

static void d_kube_crd(struct schema_ctx *c, const struct doc_node *v, void *obj,
                       const struct schema_row *r)
{
    struct static_config *sc = obj;
    (void)r;
    sc->kube_crd.enabled = true;
    schema_map(c, v, obj, kube_crd_rows);
    kube_check(c, &sc->kube_crd);
}

static void d_kube_ingress(struct schema_ctx *c, const struct doc_node *v, void *obj,
                           const struct schema_row *r)
{
    struct static_config *sc = obj;
    (void)r;
    sc->kube_ingress.enabled = true;
    schema_map(c, v, obj, kube_ingress_rows);
    kube_check(c, &sc->kube_ingress);
}

const struct schema_row static_providers_rows[] = {
    SCHEMA_FIELD("providersThrottleDuration", schema_dur, SC, providers_throttle_ms),
    {.key = "file", .fn = d_file_provider},
    SCHEMA_TODO("precedence", ""),
    {.key = "docker", .fn = d_docker_provider},
    SCHEMA_TODO("swarm", KEYS_PROVIDER_SWARM),
    {.key = "kubernetesIngress", .fn = d_kube_ingress},
    SCHEMA_TODO("kubernetesIngressNGINX", KEYS_PROVIDER_KUBERNETES_INGRESS_NGINX),
    {.key = "kubernetesCRD", .fn = d_kube_crd},
    SCHEMA_TODO("kubernetesGateway", KEYS_PROVIDER_KUBERNETES_GATEWAY),
    SCHEMA_TODO("knative", NULL), /* v3.6+; its keys are not in the reference file */
    SCHEMA_TODO("rest", KEYS_PROVIDER_REST),
    SCHEMA_TODO("consulCatalog", KEYS_PROVIDER_CONSUL_CATALOG),
    SCHEMA_TODO("nomad", KEYS_PROVIDER_NOMAD),
    SCHEMA_TODO("ecs", KEYS_PROVIDER_ECS),
    SCHEMA_TODO("consul", KEYS_PROVIDER_CONSUL),
    {.key = "etcd", .fn = d_etcd_provider},
    SCHEMA_TODO("zooKeeper", KEYS_PROVIDER_ZOO_KEEPER),
    SCHEMA_TODO("redis", KEYS_PROVIDER_REDIS),
    {.key = "http", .fn = d_http_provider},
    SCHEMA_TODO("plugin", "*.**"),
    {0},
};

