/* Static (per-node, read-once) configuration: Traefik's entryPoints/providers/serversTransport
 * keys plus Concord's admin/cluster sections, decoded from YAML with file:line:col errors.
 *
 * Decoding is table-driven over the YAML DOM (providers/doc.h). Unknown keys are errors;
 * Traefik static keys we recognise but do not implement yet are warnings naming the key.
 * Relative paths (providers.file.filename/directory, admin.tokenFile, cluster.dataDir,
 * cluster.secretFile) are made relative to the folder of the YAML file.
 * Threading: none; call from the main thread before workers start.
 */
#ifndef CONCORD_PROVIDERS_STATIC_CONFIG_H
#define CONCORD_PROVIDERS_STATIC_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "node/base/cidr.h"
#include "node/base/diag.h"

struct entrypoint_config {
    char *name;
    char *address;     /* as written, e.g. ":8080" or "127.0.0.1:8080" */
    char *host;        /* "" for all addresses (":8080" binds 0.0.0.0 and, if possible, ::) */
    uint16_t port;     /* 0 allowed: the kernel picks; proxyd logs the bound port */
    bool as_default;
    /* transport.respondingTimeouts (ms). readTimeout: whole request incl. body (Traefik: 60s);
     * writeTimeout: 0 = none; idleTimeout: keep-alive idle (Traefik: 180s).
     * readHeaderTimeout (Concord key, default 10s): the head of a request must arrive within it
     * (slowloris defence); 408 and close. */
    uint64_t read_timeout_ms;
    uint64_t write_timeout_ms;
    uint64_t idle_timeout_ms;
    uint64_t read_header_timeout_ms;
    /* transport.lifeCycle (ms): graceTimeOut default 10s; requestAcceptGraceTimeout default 0. */
    uint64_t grace_timeout_ms;
    uint64_t request_accept_grace_timeout_ms;
    /* transport.keepAliveMaxRequests (0 = unlimited) and keepAliveMaxTime (ms, 0 = unlimited). */
    uint32_t keepalive_max_requests;
    /* transport.maxConnections (Concord key, HAProxy's maxconn; 0 = unlimited): connections
     * past it are accepted and closed at once, so existing ones keep working (G7). */
    uint32_t max_connections;
    uint64_t keepalive_max_time_ms;
    /* forwardedHeaders: incoming X-Forwarded-* are kept only when insecure or the peer is in
     * trusted_ips. */
    bool forwarded_insecure;
    struct cidr *trusted_ips;
    uint32_t n_trusted_ips;
    /* http.* limits. maxHeaderBytes is Traefik's key (default 1 MiB there; ours 64 KiB);
     * the others are Concord keys under entryPoints.<n>.http:
     * maxRequestLineBytes (8 KiB), maxHeaderFieldBytes (8 KiB), maxHeaderCount (100),
     * maxRequestBodyBytes (0 = unlimited). */
    uint32_t max_header_bytes;
    uint32_t max_request_line_bytes;
    uint32_t max_header_field_bytes;
    uint32_t max_header_count;
    uint64_t max_request_body_bytes;
    /* http.middlewares: references run before the own middlewares of every router on this
     * entry point ("auth@file"; without '@', the router's namespace). */
    char **http_middlewares;
    uint32_t n_http_middlewares;
    /* http.redirections.entryPoint: every request on this entry point is redirected.
     * to: an entry point name (checked to exist and differ from this one) or ":port";
     * scheme default "https"; permanent default true; priority default INT64_MAX - 1. */
    char *redirect_to; /* NULL: no redirection */
    char *redirect_scheme;
    bool redirect_permanent;
    uint64_t redirect_priority;
};

/* serversTransport (Traefik's static default for every service). */
struct servers_transport_config {
    uint32_t max_idle_conns_per_host;  /* maxIdleConnsPerHost, default 200 */
    uint64_t dial_timeout_ms;          /* forwardingTimeouts.dialTimeout, default 30s */
    uint64_t response_header_timeout_ms; /* forwardingTimeouts.responseHeaderTimeout, 0 = none;
                                            Concord default 60s so a silent backend gets 504 */
    uint64_t idle_conn_timeout_ms;     /* forwardingTimeouts.idleConnTimeout, default 90s */
};

struct file_provider_config {
    bool enabled;
    char *filename;  /* absolute or relative to the static file's folder, resolved */
    char *directory; /* idem */
    bool watch; /* default true, as in Traefik */
};

/* A provider's `tls` block (Traefik's client TLS options): the CA to trust (NULL: the
 * system's store), a client certificate and key, and insecureSkipVerify. Paths are resolved
 * against the static file's folder. `set` when the block is present. */
struct provider_tls_config {
    bool set;
    char *ca;
    char *cert;
    char *key;
    bool insecure_skip_verify;
};

/* providers.http: polls a URL for a dynamic configuration (JSON or YAML). Cluster-wide: the
 * leader runs it (DESIGN.md "Where providers run"). */
struct http_provider_config {
    bool enabled;
    char *endpoint;            /* "http[s]://host[:port]/path" */
    uint64_t poll_interval_ms; /* default 5s */
    uint64_t poll_timeout_ms;  /* default 5s */
    char **headers;            /* "Name: value" */
    uint32_t n_headers;
    uint64_t max_body;         /* maxResponseBodySize, default 16 MiB (Concord: -1 = none not allowed) */
    struct provider_tls_config tls;
};

/* providers.etcd: Traefik's KV layout read from etcd v3's JSON gateway. Cluster-wide: the leader
 * runs it. tls is recognised, not supported yet (a warning). */
struct etcd_provider_config {
    bool enabled;
    char **endpoints; /* "host:port" (or "http[s]://host:port", kept as written); default
                         ["127.0.0.1:2379"] as in Traefik; the first that answers is used */
    uint32_t n_endpoints;
    char *root_key; /* default "traefik", without a trailing '/' */
    char *username; /* NULL: no authentication */
    char *password;
    struct provider_tls_config tls; /* set: every endpoint is https */
};

/* providers.docker: this node's Docker Engine (per node, DESIGN.md "Where providers run"). */
struct docker_provider_config {
    bool enabled;
    char *endpoint;            /* "unix:///var/run/docker.sock" (default) or "tcp://host:port" */
    bool exposed_by_default;   /* default true */
    char *default_rule;        /* NULL: Traefik's "Host(`{{ normalize .Name }}`)" */
    char *constraints;         /* Traefik's expression (checked at load); NULL: none */
    char *network;             /* NULL: the container's first network */
    bool use_bind_port_ip;     /* default false */
    bool watch;                /* default true: follow /events; false: list at start only */
    bool allow_empty_services; /* default false */
    uint64_t http_client_timeout_ms; /* httpClientTimeout for list/inspect; 0 = 30s */
    char *username; /* HTTP basic auth to the endpoint (a proxy in front of the Engine) */
    char *password;
    struct provider_tls_config tls; /* tcp:// endpoints: set = https */
};

/* providers.kubernetesCRD and providers.kubernetesIngress (Traefik's keys, plus Concord's
 * `kubeconfig`). Cluster-wide: the leader runs them. providers/kube_watch.h says how the API
 * server is found. */
struct kube_provider_config {
    bool enabled;
    char *endpoint;       /* "https://10.0.0.1:6443", or "http://127.0.0.1:8001" (kubectl proxy) */
    char *token;          /* bearer token */
    char *cert_auth_file; /* certAuthFilePath: the CA of an https endpoint */
    char *kubeconfig;     /* Concord key; else the KUBECONFIG environment variable */
    char **namespaces;    /* none: all namespaces */
    uint32_t n_namespaces;
    char *label_selector; /* passed to the list/watch of the Traefik objects / Ingresses */
    char *ingress_class;  /* kubernetesIngress only */
    bool allow_cross_namespace;        /* kubernetesCRD only */
    bool allow_external_name_services;
};

struct static_config {
    char *source_file; /* "" when built from defaults only */
    struct entrypoint_config *entrypoints;
    uint32_t n_entrypoints;
    struct servers_transport_config transport;
    struct file_provider_config file;
    struct http_provider_config http;
    struct etcd_provider_config etcd;
    struct docker_provider_config docker;
    struct kube_provider_config kube_crd, kube_ingress;
    uint64_t providers_throttle_ms; /* providers.providersThrottleDuration, default 2s */
    /* admin */
    char *admin_address;    /* default "127.0.0.1:9900" */
    char *admin_token_file; /* NULL: <dataDir>/admin.token is generated */
    /* cluster */
    char *node_id;      /* default: hostname-derived "n1" */
    char *data_dir;     /* default "./concord-data" */
    char *raft_address; /* default "127.0.0.1:9901" */
    char **bootstrap;   /* "id=addr" */
    uint32_t n_bootstrap;
    char *join;
    char *secret_file;
    char *advertise_address; /* cluster.advertiseAddress (peers dial it); NULL = raft_address */
    /* Concord: number of worker threads, 0 = number of cores ("workers" top-level key). */
    uint32_t workers;
    char *log_level; /* log.level: DEBUG INFO WARN ERROR, default INFO */
};

void static_config_tls_fini(struct provider_tls_config *t);

/* Fills `c` with the embedded defaults (one entry point "web" on ":8080"). */
void static_config_defaults(struct static_config *c);

/* Loads `path` over the defaults. Entry points given in the file replace the default "web"
 * entry point. Returns 0, or -EINVAL with at least one DIAG_ERROR in `d`, or -errno when the
 * file cannot be read (also reported in `d`). Warnings may be added on success.
 * `c` must hold the defaults (static_config_defaults) or be zeroed, in which case the defaults
 * are filled first. On error `c` is partly updated but complete: call static_config_fini.
 * A *.toml path is refused (TOML is not supported). Go templates are not rendered: "{{" in a
 * value (docker.defaultRule) is plain text. */
int static_config_load(struct static_config *c, const char *path, struct diags *d);

/* Decodes from a YAML text already in memory (`name` is used in diagnostics, and its folder,
 * if it has one, for relative paths). Errors: as static_config_load. */
int static_config_load_string(struct static_config *c, const char *name, const char *yaml,
                              size_t len, struct diags *d);

/* Parses an address ":8080", "127.0.0.1:8080", "[::1]:8080", "localhost:80" into host and
 * port. Returns 0 or -EINVAL. `host` gets "" for an empty host. A "/tcp" suffix (Traefik's) is
 * accepted; "/udp" and any other suffix are -EINVAL. An IPv6 host needs brackets; port 0 is
 * accepted (callers that need a real port check it). */
int static_config_parse_address(const char *address, char *host, size_t host_size,
                                uint16_t *port);

/* Frees every string and array; `c` is zeroed. */
void static_config_fini(struct static_config *c);

#endif
