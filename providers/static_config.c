/* Static configuration: embedded defaults and the table-driven decoder of the static YAML. */
#include "providers/static_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "providers/doc.h"
#include "providers/schema.h"
#include "providers/static_config-int.h"
#include "providers/traefik_keys.h"

#define KIB 1024u

char *sc_xstrdup(const char *s)
{
    char *p = strdup(s);
    if (p == NULL) {
        abort();
    }
    return p;
}

void *sc_xgrow(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (q == NULL) {
        abort();
    }
    return q;
}

static void ep_defaults(struct entrypoint_config *ep)
{
    memset(ep, 0, sizeof *ep);
    ep->read_timeout_ms = 60000;
    ep->idle_timeout_ms = 180000;
    ep->read_header_timeout_ms = 10000;
    ep->grace_timeout_ms = 10000;
    ep->max_header_bytes = 64 * KIB;
    ep->max_request_line_bytes = 8 * KIB;
    ep->max_header_field_bytes = 8 * KIB;
    ep->max_header_count = 100;
    ep->redirect_permanent = true;
    ep->redirect_priority = INT64_MAX - 1; /* Traefik: MaxInt - 1, above every user router */
}

static void ep_fini(struct entrypoint_config *ep)
{
    free(ep->name);
    free(ep->address);
    free(ep->host);
    free(ep->trusted_ips);
    doc_strlist_free(ep->http_middlewares, ep->n_http_middlewares);
    free(ep->redirect_to);
    free(ep->redirect_scheme);
}

void static_config_defaults(struct static_config *c)
{
    memset(c, 0, sizeof *c);
    c->source_file = sc_xstrdup("");
    c->entrypoints = calloc(1, sizeof *c->entrypoints);
    if (c->entrypoints == NULL) {
        abort();
    }
    ep_defaults(&c->entrypoints[0]);
    c->entrypoints[0].name = sc_xstrdup("web");
    c->entrypoints[0].address = sc_xstrdup(":8080");
    c->entrypoints[0].host = sc_xstrdup("");
    c->entrypoints[0].port = 8080;
    c->n_entrypoints = 1;
    c->transport.max_idle_conns_per_host = 200;
    c->transport.dial_timeout_ms = 30000;
    c->transport.response_header_timeout_ms = 60000;
    c->transport.idle_conn_timeout_ms = 90000;
    static_providers_defaults(c);
    c->admin_address = sc_xstrdup("127.0.0.1:9900");
    c->node_id = sc_xstrdup("n1");
    c->data_dir = sc_xstrdup("./concord-data");
    c->raft_address = sc_xstrdup("127.0.0.1:9901");
    c->log_level = sc_xstrdup("INFO");
}

void static_config_fini(struct static_config *c)
{
    for (uint32_t i = 0; i < c->n_entrypoints; i++) {
        ep_fini(&c->entrypoints[i]);
    }
    free(c->entrypoints);
    static_providers_fini(c);
    free(c->source_file);
    free(c->admin_address);
    free(c->admin_token_file);
    free(c->node_id);
    free(c->data_dir);
    free(c->raft_address);
    doc_strlist_free(c->bootstrap, c->n_bootstrap);
    free(c->join);
    free(c->secret_file);
    free(c->advertise_address);
    free(c->log_level);
    memset(c, 0, sizeof *c);
}

/* --- addresses --- */

static bool host_chars_ok(const char *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = h[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '.' || ch == '_')) {
            return false;
        }
    }
    return true;
}

static bool ipv6_ok(const char *h, size_t n)
{
    char buf[INET6_ADDRSTRLEN + 1];
    unsigned char addr[16];
    const char *zone = memchr(h, '%', n);
    size_t len = zone ? (size_t)(zone - h) : n; /* "fe80::1%eth0": the zone is the kernel's */
    if (len == 0 || len >= sizeof buf) {
        return false;
    }
    memcpy(buf, h, len);
    buf[len] = '\0';
    return inet_pton(AF_INET6, buf, addr) == 1;
}

static int parse_port(const char *p, size_t n, uint16_t *port)
{
    unsigned v = 0;
    if (n == 0 || n > 5) {
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -EINVAL;
        }
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    if (v > 65535) {
        return -EINVAL;
    }
    *port = (uint16_t)v;
    return 0;
}

int static_config_parse_address(const char *address, char *host, size_t host_size, uint16_t *port)
{
    size_t n = strlen(address);
    const char *h = address, *colon;
    size_t hlen;

    if (n >= 4 && strcasecmp(address + n - 4, "/tcp") == 0) {
        n -= 4; /* Traefik's protocol suffix; "/udp" is refused below like any other '/' */
    }
    if (memchr(address, '/', n) != NULL) {
        return -EINVAL;
    }
    if (n > 0 && address[0] == '[') {
        const char *close = memchr(address, ']', n);
        if (close == NULL || close + 1 >= address + n || close[1] != ':') {
            return -EINVAL;
        }
        h = address + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
        if (!ipv6_ok(h, hlen)) {
            return -EINVAL;
        }
    } else {
        colon = NULL;
        for (const char *p = address; p < address + n; p++) {
            if (*p == ':') {
                if (colon) {
                    return -EINVAL; /* an IPv6 address needs brackets */
                }
                colon = p;
            }
        }
        if (colon == NULL) {
            return -EINVAL;
        }
        hlen = (size_t)(colon - address);
        if (!host_chars_ok(h, hlen)) {
            return -EINVAL;
        }
    }
    if (hlen >= host_size || parse_port(colon + 1, (size_t)(address + n - colon - 1), port)) {
        return -EINVAL;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    return 0;
}

/* --- handlers --- */

struct static_dec {
    struct static_config *c;
    bool replaced_entrypoints;
};

void sc_set_str(char **field, const char *s)
{
    free(*field);
    *field = sc_xstrdup(s);
}

/* A path relative to the YAML file's folder. */
void sc_d_path(struct schema_ctx *c, const struct doc_node *v, void *obj,
               const struct schema_row *r)
{
    const char *s;
    char **field = (char **)(void *)((char *)obj + r->off);
    if (doc_read_str(v, c->path, &s, c->d) != 0) {
        return;
    }
    if (s[0] == '\0') {
        schema_error(c, v, "empty path");
        return;
    }
    if (s[0] == '/' || c->base_dir[0] == '\0') {
        sc_set_str(field, s);
        return;
    }
    size_t n = strlen(c->base_dir) + strlen(s) + 2;
    free(*field);
    *field = malloc(n);
    if (*field == NULL) {
        abort();
    }
    bool sep = c->base_dir[strlen(c->base_dir) - 1] != '/';
    snprintf(*field, n, "%s%s%s", c->base_dir, sep ? "/" : "", s);
}

/* An address "host:port"; r->min == 1 refuses port 0. */
static void d_addr(struct schema_ctx *c, const struct doc_node *v, void *obj,
                   const struct schema_row *r)
{
    const char *s;
    char host[256];
    uint16_t port;
    if (doc_read_str(v, c->path, &s, c->d) != 0) {
        return;
    }
    if (static_config_parse_address(s, host, sizeof host, &port) != 0) {
        schema_error(c, v, "invalid address \"%s\" (want host:port, e.g. 127.0.0.1:9900)", s);
    } else if (port == 0 && r->min == 1) {
        schema_error(c, v, "port 0 is not allowed here: peers must know the port");
    } else {
        sc_set_str((char **)(void *)((char *)obj + r->off), s);
    }
}

static void ep_address(struct schema_ctx *c, const struct doc_node *v, void *obj,
                       const struct schema_row *r)
{
    struct entrypoint_config *ep = obj;
    const char *s;
    char host[256];
    size_t n;
    if (doc_read_str(v, c->path, &s, c->d) != 0) {
        return;
    }
    n = strlen(s);
    if (n >= 4 && strcasecmp(s + n - 4, "/udp") == 0) {
        schema_error(c, v, "UDP entry points are not supported (\"%s\")", s);
        return;
    }
    if (static_config_parse_address(s, host, sizeof host, &ep->port) != 0) {
        schema_error(c, v,
                     "invalid address \"%s\" (want [host]:port, e.g. \":8080\", "
                     "\"127.0.0.1:8080\" or \"[::1]:8080\")",
                     s);
        return;
    }
    sc_set_str(&ep->address, s);
    sc_set_str(&ep->host, host);
}

static void ep_redirect_to(struct schema_ctx *c, const struct doc_node *v, void *obj,
                           const struct schema_row *r)
{
    struct entrypoint_config *ep = obj;
    const char *s;
    char host[256];
    uint16_t port;
    if (doc_read_str(v, c->path, &s, c->d) != 0) {
        return;
    }
    if (s[0] == '\0') {
        schema_error(c, v, "an entry point name or \":port\" is required");
        return;
    }
    if (s[0] == ':' && (static_config_parse_address(s, host, sizeof host, &port) != 0 ||
                        port == 0)) {
        schema_error(c, v, "invalid port \"%s\" (want an entry point name or \":443\")", s);
        return;
    }
    /* Whether a name is an entry point is checked once all are read (static_config_check). */
    sc_set_str(&ep->redirect_to, s);
}

static void ep_redirect_scheme(struct schema_ctx *c, const struct doc_node *v, void *obj,
                               const struct schema_row *r)
{
    struct entrypoint_config *ep = obj;
    const char *s;
    if (doc_read_str(v, c->path, &s, c->d) != 0) {
        return;
    }
    for (const char *p = s; *p != '\0'; p++) {
        bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z');
        if (!alpha && (p == s || !((*p >= '0' && *p <= '9') || strchr("+-.", *p)))) {
            schema_error(c, v, "\"%s\" is not a URL scheme", s);
            return;
        }
    }
    if (s[0] == '\0') {
        schema_error(c, v, "scheme must not be empty");
        return;
    }
    sc_set_str(&ep->redirect_scheme, s);
}

static void ep_trusted_ips(struct schema_ctx *c, const struct doc_node *v, void *obj,
                           const struct schema_row *r)
{
    struct entrypoint_config *ep = obj;
    char **list;
    size_t n;
    if (doc_read_strlist(v, c->path, &list, &n, c->d) != 0) {
        return;
    }
    free(ep->trusted_ips);
    ep->trusted_ips = calloc(n ? n : 1, sizeof *ep->trusted_ips);
    if (ep->trusted_ips == NULL) {
        abort();
    }
    ep->n_trusted_ips = 0;
    for (size_t i = 0; i < n; i++) {
        if (cidr_parse(list[i], &ep->trusted_ips[ep->n_trusted_ips]) == 0) {
            ep->n_trusted_ips++;
            continue;
        }
        const struct doc_node *at = v->kind == DOC_SEQ ? v->items[i] : v;
        size_t len = v->kind == DOC_SEQ ? schema_push_index(c, i) : c->plen;
        schema_error(c, at, "invalid IP address or CIDR range \"%s\"", list[i]);
        schema_pop(c, len);
    }
    doc_strlist_free(list, n);
}

static void d_log_level(struct schema_ctx *c, const struct doc_node *v, void *obj,
                        const struct schema_row *r)
{
    /* Traefik's zerolog levels, folded onto ours. */
    static const char *const names[][2] = {
        {"trace", "DEBUG"},  {"debug", "DEBUG"}, {"info", "INFO"},   {"warn", "WARN"},
        {"warning", "WARN"}, {"error", "ERROR"}, {"fatal", "ERROR"}, {"panic", "ERROR"}};
    struct static_config *sc = obj;
    const char *s;
    if (doc_read_str(v, c->path, &s, c->d) != 0) {
        return;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(s, names[i][0]) == 0) {
            sc_set_str(&sc->log_level, names[i][1]);
            return;
        }
    }
    schema_error(c, v, "unknown log level \"%s\" (DEBUG, INFO, WARN or ERROR)", s);
}

static bool node_id_ok(const char *s, size_t n)
{
    return n > 0 && n <= 64 && host_chars_ok(s, n);
}

static void d_node_id(struct schema_ctx *c, const struct doc_node *v, void *obj,
                      const struct schema_row *r)
{
    struct static_config *sc = obj;
    const char *s;
    if (doc_read_str(v, c->path, &s, c->d) != 0) {
        return;
    }
    if (!node_id_ok(s, strlen(s))) {
        schema_error(c, v, "invalid node id \"%s\" (1-64 of A-Z a-z 0-9 . _ -)", s);
        return;
    }
    sc_set_str(&sc->node_id, s);
}

static void d_bootstrap(struct schema_ctx *c, const struct doc_node *v, void *obj,
                        const struct schema_row *r)
{
    struct static_config *sc = obj;
    char **list, host[256];
    size_t n, bad = 0;
    uint16_t port;
    if (doc_read_strlist(v, c->path, &list, &n, c->d) != 0) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(list[i], '=');
        if (eq && node_id_ok(list[i], (size_t)(eq - list[i])) &&
            static_config_parse_address(eq + 1, host, sizeof host, &port) == 0 && port != 0) {
            continue;
        }
        const struct doc_node *at = v->kind == DOC_SEQ ? v->items[i] : v;
        size_t len = v->kind == DOC_SEQ ? schema_push_index(c, i) : c->plen;
        schema_error(c, at, "invalid bootstrap member \"%s\" (want id=host:port)", list[i]);
        schema_pop(c, len);
        bad++;
    }
    if (bad) {
        doc_strlist_free(list, n);
        return;
    }
    doc_strlist_free(sc->bootstrap, sc->n_bootstrap);
    sc->bootstrap = list;
    sc->n_bootstrap = (uint32_t)n;
}

static void d_misplaced_dynamic(struct schema_ctx *c, const struct doc_node *v, void *obj,
                                const struct schema_row *r)
{
    schema_error(c, c->key,
                 "unknown key (dynamic configuration belongs in a file read by providers.file)");
}

/* --- tables --- */

#define EP struct entrypoint_config
#define SC struct static_config

static const struct schema_row ep_lifecycle_rows[] = {
    SCHEMA_FIELD("requestAcceptGraceTimeout", schema_dur, EP, request_accept_grace_timeout_ms),
    SCHEMA_FIELD("graceTimeOut", schema_dur, EP, grace_timeout_ms),
    {0},
};

static const struct schema_row ep_responding_rows[] = {
    SCHEMA_FIELD("readTimeout", schema_dur, EP, read_timeout_ms),
    SCHEMA_FIELD("writeTimeout", schema_dur, EP, write_timeout_ms),
    SCHEMA_FIELD("idleTimeout", schema_dur, EP, idle_timeout_ms),
    SCHEMA_FIELD("readHeaderTimeout", schema_dur, EP, read_header_timeout_ms), /* Concord */
    {0},
};

static const struct schema_row ep_transport_rows[] = {
    SCHEMA_SUB("lifeCycle", ep_lifecycle_rows),
    SCHEMA_SUB("respondingTimeouts", ep_responding_rows),
    SCHEMA_FIELD("keepAliveMaxTime", schema_dur, EP, keepalive_max_time_ms),
    SCHEMA_FIELD("keepAliveMaxRequests", schema_u32, EP, keepalive_max_requests),
    SCHEMA_FIELD("maxConnections", schema_u32, EP, max_connections), /* Concord */
    {0},
};

static const struct schema_row ep_forwarded_rows[] = {
    SCHEMA_FIELD("insecure", schema_bool, EP, forwarded_insecure),
    {.key = "trustedIPs", .fn = ep_trusted_ips},
    SCHEMA_TODO("connection", ""),
    SCHEMA_TODO("addXForwardedSchemeHeaders", ""),
    SCHEMA_TODO("notAppendXForwardedFor", ""),
    {0},
};

static const struct schema_row ep_redirect_rows[] = {
    {.key = "to", .fn = ep_redirect_to},
    {.key = "scheme", .fn = ep_redirect_scheme},
    SCHEMA_FIELD("permanent", schema_bool, EP, redirect_permanent),
    SCHEMA_RANGE("priority", schema_u64, EP, redirect_priority, 1, INT64_MAX),
    {0},
};

static const struct schema_row ep_redirections_rows[] = {
    SCHEMA_SUB("entryPoint", ep_redirect_rows),
    {0},
};

static const struct schema_row ep_http_rows[] = {
    SCHEMA_RANGE("maxHeaderBytes", schema_u32, EP, max_header_bytes, 1, 0),
    /* Concord's limits (docs/bad-input.md): */
    SCHEMA_RANGE("maxRequestLineBytes", schema_u32, EP, max_request_line_bytes, 1, 0),
    SCHEMA_RANGE("maxHeaderFieldBytes", schema_u32, EP, max_header_field_bytes, 1, 0),
    SCHEMA_RANGE("maxHeaderCount", schema_u32, EP, max_header_count, 1, 0),
    SCHEMA_FIELD("maxRequestBodyBytes", schema_u64, EP, max_request_body_bytes),
    SCHEMA_SUB("redirections", ep_redirections_rows),
    SCHEMA_LIST("middlewares", EP, http_middlewares, n_http_middlewares),
    SCHEMA_TODO("tls", KEYS_EP_TLS),
    SCHEMA_TODO("encodedCharacters", KEYS_EP_ENCODED_CHARACTERS),
    SCHEMA_TODO("encodeQuerySemicolons", ""),
    SCHEMA_TODO("sanitizePath", ""),
    SCHEMA_TODO("underscoreHeadersStrategy", ""),
    {0},
};

static const struct schema_row ep_rows[] = {
    {.key = "address", .fn = ep_address},
    SCHEMA_FIELD("asDefault", schema_bool, EP, as_default),
    SCHEMA_SUB("transport", ep_transport_rows),
    SCHEMA_SUB("forwardedHeaders", ep_forwarded_rows),
    SCHEMA_SUB("http", ep_http_rows),
    SCHEMA_TODO("allowACMEByPass", ""),
    SCHEMA_TODO("reusePort", ""),
    SCHEMA_TODO("proxyProtocol", "insecure trustedIPs"),
    SCHEMA_TODO("http2",
                "maxConcurrentStreams maxDecoderHeaderTableSize maxEncoderHeaderTableSize"),
    SCHEMA_TODO("http3", "advertisedPort"),
    SCHEMA_TODO("udp", "timeout"),
    SCHEMA_TODO("observability", "accessLogs metrics tracing traceVerbosity"),
    {0},
};

static const struct schema_row forwarding_rows[] = {
    SCHEMA_FIELD("dialTimeout", schema_dur, SC, transport.dial_timeout_ms),
    SCHEMA_FIELD("responseHeaderTimeout", schema_dur, SC, transport.response_header_timeout_ms),
    SCHEMA_FIELD("idleConnTimeout", schema_dur, SC, transport.idle_conn_timeout_ms),
    SCHEMA_TODO("readIdleTimeout", ""),
    SCHEMA_TODO("pingTimeout", ""),
    {0},
};

static const struct schema_row servers_transport_rows[] = {
    SCHEMA_FIELD("maxIdleConnsPerHost", schema_u32, SC, transport.max_idle_conns_per_host),
    SCHEMA_SUB("forwardingTimeouts", forwarding_rows),
    SCHEMA_TODO("insecureSkipVerify", ""),
    SCHEMA_TODO("rootCAs", ""),
    SCHEMA_TODO("spiffe", "ids trustDomain"),
    {0},
};

static const struct schema_row log_rows[] = {
    {.key = "level", .fn = d_log_level}, SCHEMA_TODO("format", ""),
    SCHEMA_TODO("noColor", ""),          SCHEMA_TODO("filePath", ""),
    SCHEMA_TODO("maxSize", ""),          SCHEMA_TODO("maxAge", ""),
    SCHEMA_TODO("maxBackups", ""),       SCHEMA_TODO("compress", ""),
    SCHEMA_TODO("otlp", KEYS_LOG_OTLP),  {0},
};

static const struct schema_row admin_rows[] = {
    {.key = "address", .fn = d_addr, .off = offsetof(SC, admin_address)},
    {.key = "tokenFile", .fn = sc_d_path, .off = offsetof(SC, admin_token_file)},
    {0},
};

static const struct schema_row cluster_rows[] = {
    {.key = "nodeId", .fn = d_node_id},
    {.key = "dataDir", .fn = sc_d_path, .off = offsetof(SC, data_dir)},
    {.key = "raftAddress", .fn = d_addr, .off = offsetof(SC, raft_address), .min = 1},
    {.key = "bootstrap", .fn = d_bootstrap},
    {.key = "join", .fn = d_addr, .off = offsetof(SC, join), .min = 1},
    {.key = "secretFile", .fn = sc_d_path, .off = offsetof(SC, secret_file)},
    {.key = "advertiseAddress", .fn = d_addr, .off = offsetof(SC, advertise_address), .min = 1},
    {0},
};

static void d_entrypoints(struct schema_ctx *c, const struct doc_node *v, void *obj,
                          const struct schema_row *r);

static const struct schema_row top_rows[] = {
    {.key = "entryPoints", .fn = d_entrypoints},
    SCHEMA_SUB("serversTransport", servers_transport_rows),
    SCHEMA_SUB("providers", static_providers_rows),
    SCHEMA_SUB("log", log_rows),
    /* Concord's own sections. */
    SCHEMA_SUB("admin", admin_rows),
    SCHEMA_SUB("cluster", cluster_rows),
    SCHEMA_RANGE("workers", schema_u32, SC, workers, 0, 4096),
    /* Traefik sections not implemented yet. */
    SCHEMA_TODO("global", KEYS_GLOBAL),
    SCHEMA_TODO("tcpServersTransport", KEYS_TCP_SERVERS_TRANSPORT),
    SCHEMA_TODO("api", KEYS_API),
    SCHEMA_TODO("metrics", KEYS_METRICS),
    SCHEMA_TODO("ping", KEYS_PING),
    SCHEMA_TODO("accessLog", KEYS_ACCESS_LOG),
    SCHEMA_TODO("tracing", KEYS_TRACING),
    SCHEMA_TODO("hostResolver", KEYS_HOST_RESOLVER),
    SCHEMA_TODO("certificatesResolvers", KEYS_CERTIFICATES_RESOLVERS),
    SCHEMA_TODO("experimental", KEYS_EXPERIMENTAL),
    SCHEMA_TODO("core", KEYS_CORE),
    SCHEMA_TODO("spiffe", KEYS_SPIFFE),
    SCHEMA_TODO("ocsp", KEYS_OCSP),
    /* Dynamic sections in a static file: a common mistake, so say where they belong. */
    {.key = "http", .fn = d_misplaced_dynamic},
    {.key = "tcp", .fn = d_misplaced_dynamic},
    {.key = "udp", .fn = d_misplaced_dynamic},
    {.key = "tls", .fn = d_misplaced_dynamic},
    {0},
};

static void one_entrypoint(struct schema_ctx *c, const struct doc_node *name,
                           const struct doc_node *value, void *obj)
{
    struct static_config *sc = obj;
    struct entrypoint_config *v = realloc(sc->entrypoints, (sc->n_entrypoints + 1) * sizeof *v);
    struct entrypoint_config *ep;
    if (v == NULL) {
        abort();
    }
    sc->entrypoints = v;
    ep = &v[sc->n_entrypoints++];
    ep_defaults(ep);
    ep->name = sc_xstrdup(name->str);
    schema_map(c, value, ep, ep_rows);
    const struct doc_node *a = schema_find(value, "address");
    if (ep->address == NULL && doc_is_null(a) && (doc_is_null(value) || value->kind == DOC_MAP)) {
        schema_error(c, name, "address is required");
    }
    if (ep->address == NULL) {
        /* Keep the struct complete for users of a config that failed to load. */
        ep->address = sc_xstrdup("");
        ep->host = sc_xstrdup("");
    }
}

static void d_entrypoints(struct schema_ctx *c, const struct doc_node *v, void *obj,
                          const struct schema_row *r)
{
    struct static_config *sc = obj;
    if (!schema_expect_map(c, v) || v->n == 0) {
        return; /* none given: the default "web" stays */
    }
    for (uint32_t i = 0; i < sc->n_entrypoints; i++) {
        ep_fini(&sc->entrypoints[i]);
    }
    sc->n_entrypoints = 0;
    schema_each(c, v, one_entrypoint, sc);
}

#undef EP
#undef SC

/* --- loading --- */

/* redirections.entryPoint.to names an entry point of this file (not the one redirecting). */
static void check_redirections(struct schema_ctx *ctx, const struct static_config *c)
{
    for (uint32_t i = 0; i < c->n_entrypoints; i++) {
        const struct entrypoint_config *ep = &c->entrypoints[i];
        uint32_t k = 0;
        size_t len;
        if (ep->redirect_to == NULL || ep->redirect_to[0] == ':') {
            continue;
        }
        while (k < c->n_entrypoints && strcmp(c->entrypoints[k].name, ep->redirect_to) != 0) {
            k++;
        }
        if (k < c->n_entrypoints && k != i) {
            continue;
        }
        len = schema_push_key(ctx, "entryPoints");
        schema_push_key(ctx, ep->name);
        schema_push_key(ctx, "http.redirections.entryPoint.to");
        schema_error(ctx, NULL, k == i ? "entry point %s redirects to itself"
                                       : "entry point \"%s\" is not defined",
                     k == i ? ep->name : ep->redirect_to);
        schema_pop(ctx, len);
    }
}

static int decode_doc(struct static_config *c, const struct doc *doc, struct diags *d)
{
    size_t before = d->nerrors;
    const char *slash = strrchr(doc->file, '/');
    char *base = sc_xstrdup(doc->file);
    struct schema_ctx ctx;

    base[slash ? (slash == doc->file ? 1 : (size_t)(slash - doc->file)) : 0] = '\0';
    schema_ctx_init(&ctx, d, base);
    sc_set_str(&c->source_file, doc->file);
    if (doc->root && !doc_is_null(doc->root) && doc->root->kind != DOC_MAP) {
        schema_error(&ctx, doc->root, "the top level must be a map, got %s",
                     doc_kind_name(doc->root));
    } else {
        schema_map(&ctx, doc->root, c, top_rows);
        check_redirections(&ctx, c);
    }
    free(base);
    return d->nerrors > before ? -EINVAL : 0;
}

int static_config_load_string(struct static_config *c, const char *name, const char *yaml,
                              size_t len, struct diags *d)
{
    struct doc doc;
    int rc;
    if (c->source_file == NULL) {
        static_config_defaults(c);
    }
    rc = doc_parse(&doc, name, yaml, len, 0, d);
    if (rc == 0) {
        rc = decode_doc(c, &doc, d);
    }
    doc_fini(&doc);
    return rc;
}

int static_config_load(struct static_config *c, const char *path, struct diags *d)
{
    struct doc doc;
    int rc;
    if (c->source_file == NULL) {
        static_config_defaults(c);
    }
    rc = doc_load_file(&doc, path, 0, d);
    if (rc == 0) {
        rc = decode_doc(c, &doc, d);
    }
    doc_fini(&doc);
    return rc;
}
