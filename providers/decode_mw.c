/* Traefik dynamic configuration, continued: middlewares, serversTransports, and the service
 * kinds beyond a plain load balancer (sticky, weighted, mirroring, failover). Values are kept
 * as written (durations as text); table/compile*.c checks their meaning. */
#include <stdlib.h>
#include <string.h>

#include "providers/decode-int.h"
#include "providers/traefik_keys.h"

typedef Concord__Config__HttpConfig HttpConfig;
typedef Concord__Config__Middleware Middleware;
typedef Concord__Config__KV KV;

/* ---- generic handlers ---- */

void p_i32(struct schema_ctx *c, const struct doc_node *v, void *obj, const struct schema_row *r)
{
    int64_t x;
    if (doc_read_int(v, c->path, INT32_MIN, INT32_MAX, &x, c->d) == 0) {
        *FIELD(int32_t, obj, r) = (int32_t)x;
    }
}

void p_str_has(struct schema_ctx *c, const struct doc_node *v, void *obj,
               const struct schema_row *r)
{
    if (!doc_is_null(v)) {
        p_str(c, v, obj, r);
        *FIELD2(protobuf_c_boolean, obj, r) = 1;
    }
}

void p_i64_has(struct schema_ctx *c, const struct doc_node *v, void *obj,
               const struct schema_row *r)
{
    int64_t x;
    if (doc_read_int(v, c->path, INT64_MIN, INT64_MAX, &x, c->d) == 0) {
        *FIELD(int64_t, obj, r) = x;
        *FIELD2(protobuf_c_boolean, obj, r) = 1;
    }
}

void p_bool(struct schema_ctx *c, const struct doc_node *v, void *obj, const struct schema_row *r)
{
    bool b;
    if (doc_read_bool(v, c->path, &b, c->d) == 0) {
        *FIELD(protobuf_c_boolean, obj, r) = b;
    }
}

void p_kvmap(struct schema_ctx *c, const struct doc_node *v, void *obj, const struct schema_row *r)
{
    KV ***arr = FIELD(KV **, obj, r);
    size_t *n = FIELD2(size_t, obj, r);
    if (doc_is_null(v) || !schema_expect_map(c, v)) {
        return;
    }
    for (size_t i = 0; i < v->n; i++) {
        const struct doc_node *k = v->pairs[i].key, *val = v->pairs[i].value;
        size_t len = schema_push_key(c, k->str);
        const char *s = "";
        KV *kv;
        if (!doc_is_null(val) && doc_read_str(val, c->path, &s, c->d) != 0) {
            schema_pop(c, len);
            continue;
        }
        kv = xmalloc(sizeof *kv);
        concord__config__kv__init(kv);
        kv->name = xstrdup(k->str);
        kv->value = xstrdup(s);
        kv->mark = new_mark(k);
        *arr = append(*arr, n, sizeof **arr);
        (*arr)[*n - 1] = kv;
        schema_pop(c, len);
    }
}

static void *new_msg(const ProtobufCMessageDescriptor *desc, const struct doc_node *at)
{
    ProtobufCMessage *m = xmalloc(desc->sizeof_message);
    const ProtobufCFieldDescriptor *f;
    protobuf_c_message_init(desc, m);
    f = protobuf_c_message_descriptor_get_field_by_name(desc, "mark");
    if (f != NULL && at != NULL) {
        *(Concord__Config__Mark **)(void *)((char *)m + f->offset) = new_mark(at);
    }
    return m;
}

void p_msg(struct schema_ctx *c, const struct doc_node *v, void *obj, const struct schema_row *r)
{
    const struct msg_spec *sp = r->arg;
    void **slot = FIELD(void *, obj, r);
    if ((doc_is_null(v) && sp->case_off == 0) || (v != NULL && v->object_false)) {
        return;
    }
    /* A label "true" (object_true) makes the message with its defaults, as `{}` does; "false"
     * (object_false, above) none. */
    if (!doc_is_null(v) && !v->object_true && !schema_expect_map(c, v)) {
        return;
    }
    if (*slot != NULL) {
        protobuf_c_message_free_unpacked(*slot, NULL);
    }
    *slot = new_msg(sp->desc, c->key);
    if (sp->case_off != 0) {
        *(int *)(void *)((char *)obj + sp->case_off) = sp->case_val;
    }
    schema_map(c, v, *slot, sp->rows);
}

/* ---- shared pieces ---- */

static const struct schema_row ip_strategy_rows[] = {
    P_FIELD("depth", p_i32, Concord__Config__IPStrategy, depth),
    P_PAIR("excludedIPs", p_strlist, Concord__Config__IPStrategy, excluded_ips, n_excluded_ips),
    P_FIELD("ipv6Subnet", p_i32, Concord__Config__IPStrategy, ipv6_subnet),
    {0},
};
static const struct msg_spec ip_strategy_spec = {&concord__config__ipstrategy__descriptor,
                                                 ip_strategy_rows, 0, 0};

static const struct schema_row source_rows[] = {
    P_MSG("ipStrategy", Concord__Config__SourceCriterion, ip_strategy, &ip_strategy_spec),
    P_FIELD("requestHeaderName", p_str, Concord__Config__SourceCriterion, request_header_name),
    P_FIELD("requestHost", p_bool, Concord__Config__SourceCriterion, request_host),
    {0},
};
static const struct msg_spec source_spec = {&concord__config__source_criterion__descriptor,
                                            source_rows, 0, 0};

/* ---- one table per middleware type ---- */

#define MW_SPEC(name, type, rows, CASE)                                                            \
    static const struct msg_spec name = {&concord__config__##type##__descriptor, rows,             \
                                         offsetof(Middleware, kind_case),                          \
                                         CONCORD__CONFIG__MIDDLEWARE__KIND_##CASE}

static const struct schema_row add_prefix_rows[] = {
    P_FIELD("prefix", p_str, Concord__Config__AddPrefix, prefix),
    {0},
};
MW_SPEC(add_prefix_spec, add_prefix, add_prefix_rows, ADD_PREFIX);

static const struct schema_row strip_prefix_rows[] = {
    P_PAIR("prefixes", p_strlist, Concord__Config__StripPrefix, prefixes, n_prefixes),
    P_PAIR("forceSlash", p_bool_has, Concord__Config__StripPrefix, force_slash, has_force_slash),
    {0},
};
MW_SPEC(strip_prefix_spec, strip_prefix, strip_prefix_rows, STRIP_PREFIX);

static const struct schema_row strip_prefix_regex_rows[] = {
    P_PAIR("regex", p_strlist, Concord__Config__StripPrefixRegex, regex, n_regex),
    {0},
};
MW_SPEC(strip_prefix_regex_spec, strip_prefix_regex, strip_prefix_regex_rows,
        STRIP_PREFIX_REGEX);

static const struct schema_row replace_path_rows[] = {
    P_FIELD("path", p_str, Concord__Config__ReplacePath, path),
    {0},
};
MW_SPEC(replace_path_spec, replace_path, replace_path_rows, REPLACE_PATH);

static const struct schema_row replace_path_regex_rows[] = {
    P_FIELD("regex", p_str, Concord__Config__ReplacePathRegex, regex),
    P_FIELD("replacement", p_str, Concord__Config__ReplacePathRegex, replacement),
    {0},
};
MW_SPEC(replace_path_regex_spec, replace_path_regex, replace_path_regex_rows,
        REPLACE_PATH_REGEX);

typedef Concord__Config__Headers Headers;
static const struct schema_row headers_rows[] = {
    P_PAIR("customRequestHeaders", p_kvmap, Headers, custom_request_headers,
           n_custom_request_headers),
    P_PAIR("customResponseHeaders", p_kvmap, Headers, custom_response_headers,
           n_custom_response_headers),
    P_FIELD("accessControlAllowCredentials", p_bool, Headers, access_control_allow_credentials),
    P_PAIR("accessControlAllowHeaders", p_strlist, Headers, access_control_allow_headers,
           n_access_control_allow_headers),
    P_PAIR("accessControlAllowMethods", p_strlist, Headers, access_control_allow_methods,
           n_access_control_allow_methods),
    P_PAIR("accessControlAllowOriginList", p_strlist, Headers, access_control_allow_origin_list,
           n_access_control_allow_origin_list),
    P_PAIR("accessControlAllowOriginListRegex", p_strlist, Headers,
           access_control_allow_origin_list_regex, n_access_control_allow_origin_list_regex),
    P_PAIR("accessControlExposeHeaders", p_strlist, Headers, access_control_expose_headers,
           n_access_control_expose_headers),
    P_FIELD("accessControlMaxAge", p_i64, Headers, access_control_max_age),
    P_FIELD("addVaryHeader", p_bool, Headers, add_vary_header),
    P_PAIR("allowedHosts", p_strlist, Headers, allowed_hosts, n_allowed_hosts),
    P_PAIR("hostsProxyHeaders", p_strlist, Headers, hosts_proxy_headers, n_hosts_proxy_headers),
    P_PAIR("sslProxyHeaders", p_kvmap, Headers, ssl_proxy_headers, n_ssl_proxy_headers),
    P_FIELD("stsSeconds", p_i64, Headers, sts_seconds),
    P_FIELD("stsIncludeSubdomains", p_bool, Headers, sts_include_subdomains),
    P_FIELD("stsPreload", p_bool, Headers, sts_preload),
    P_FIELD("forceSTSHeader", p_bool, Headers, force_sts_header),
    P_FIELD("frameDeny", p_bool, Headers, frame_deny),
    P_FIELD("customFrameOptionsValue", p_str, Headers, custom_frame_options_value),
    P_FIELD("contentTypeNosniff", p_bool, Headers, content_type_nosniff),
    P_FIELD("browserXssFilter", p_bool, Headers, browser_xss_filter),
    P_FIELD("customBrowserXSSValue", p_str, Headers, custom_browser_xss_value),
    P_FIELD("contentSecurityPolicy", p_str, Headers, content_security_policy),
    P_FIELD("contentSecurityPolicyReportOnly", p_str, Headers,
            content_security_policy_report_only),
    P_FIELD("publicKey", p_str, Headers, public_key),
    P_FIELD("referrerPolicy", p_str, Headers, referrer_policy),
    P_FIELD("permissionsPolicy", p_str, Headers, permissions_policy),
    P_FIELD("isDevelopment", p_bool, Headers, is_development),
    SCHEMA_TODO("featurePolicy", ""),
    SCHEMA_TODO("sslRedirect", ""),
    SCHEMA_TODO("sslTemporaryRedirect", ""),
    SCHEMA_TODO("sslHost", ""),
    SCHEMA_TODO("sslForceHost", ""),
    {0},
};
MW_SPEC(headers_spec, headers, headers_rows, HEADERS);

static const struct schema_row basic_auth_rows[] = {
    P_PAIR("users", p_strlist, Concord__Config__BasicAuth, users, n_users),
    P_FIELD("usersFile", p_str, Concord__Config__BasicAuth, users_file),
    P_FIELD("realm", p_str, Concord__Config__BasicAuth, realm),
    P_FIELD("removeHeader", p_bool, Concord__Config__BasicAuth, remove_header),
    P_FIELD("headerField", p_str, Concord__Config__BasicAuth, header_field),
    {0},
};
MW_SPEC(basic_auth_spec, basic_auth, basic_auth_rows, BASIC_AUTH);

static const struct schema_row redirect_scheme_rows[] = {
    P_FIELD("scheme", p_str, Concord__Config__RedirectScheme, scheme),
    P_FIELD("port", p_str, Concord__Config__RedirectScheme, port),
    P_FIELD("permanent", p_bool, Concord__Config__RedirectScheme, permanent),
    {0},
};
MW_SPEC(redirect_scheme_spec, redirect_scheme, redirect_scheme_rows, REDIRECT_SCHEME);

static const struct schema_row redirect_regex_rows[] = {
    P_FIELD("regex", p_str, Concord__Config__RedirectRegex, regex),
    P_FIELD("replacement", p_str, Concord__Config__RedirectRegex, replacement),
    P_FIELD("permanent", p_bool, Concord__Config__RedirectRegex, permanent),
    {0},
};
MW_SPEC(redirect_regex_spec, redirect_regex, redirect_regex_rows, REDIRECT_REGEX);

static const struct schema_row ip_allow_list_rows[] = {
    P_PAIR("sourceRange", p_strlist, Concord__Config__IPAllowList, source_range, n_source_range),
    P_MSG("ipStrategy", Concord__Config__IPAllowList, ip_strategy, &ip_strategy_spec),
    P_FIELD("rejectStatusCode", p_i32, Concord__Config__IPAllowList, reject_status_code),
    {0},
};
MW_SPEC(ip_allow_list_spec, ipallow_list, ip_allow_list_rows, IP_ALLOW_LIST);

/* ipWhiteList: Traefik's deprecated name of ipAllowList (without rejectStatusCode). */
static const struct schema_row ip_white_list_rows[] = {
    P_PAIR("sourceRange", p_strlist, Concord__Config__IPAllowList, source_range, n_source_range),
    P_MSG("ipStrategy", Concord__Config__IPAllowList, ip_strategy, &ip_strategy_spec),
    {0},
};
MW_SPEC(ip_white_list_spec, ipallow_list, ip_white_list_rows, IP_ALLOW_LIST);

static const struct schema_row in_flight_req_rows[] = {
    P_FIELD("amount", p_i64, Concord__Config__InFlightReq, amount),
    P_MSG("sourceCriterion", Concord__Config__InFlightReq, source_criterion, &source_spec),
    {0},
};
MW_SPEC(in_flight_req_spec, in_flight_req, in_flight_req_rows, IN_FLIGHT_REQ);

static const struct schema_row rate_limit_rows[] = {
    P_FIELD("average", p_i64, Concord__Config__RateLimit, average),
    P_FIELD("period", p_str, Concord__Config__RateLimit, period),
    P_PAIR("burst", p_i64_has, Concord__Config__RateLimit, burst, has_burst),
    P_MSG("sourceCriterion", Concord__Config__RateLimit, source_criterion, &source_spec),
    SCHEMA_TODO("redis", "endpoints tls.ca tls.cert tls.key tls.insecureSkipVerify username "
                         "password db poolSize minIdleConns maxActiveConns readTimeout "
                         "writeTimeout dialTimeout"),
    {0},
};
MW_SPEC(rate_limit_spec, rate_limit, rate_limit_rows, RATE_LIMIT);

static const struct schema_row retry_rows[] = {
    P_FIELD("attempts", p_i32, Concord__Config__Retry, attempts),
    P_FIELD("initialInterval", p_str, Concord__Config__Retry, initial_interval),
    SCHEMA_TODO("timeout", ""),
    SCHEMA_TODO("maxRequestBodyBytes", ""),
    SCHEMA_TODO("status", ""),
    SCHEMA_TODO("disableRetryOnNetworkError", ""),
    SCHEMA_TODO("retryNonIdempotentMethod", ""),
    {0},
};
MW_SPEC(retry_spec, retry, retry_rows, RETRY);

static const struct schema_row chain_rows[] = {
    P_PAIR("middlewares", p_strlist, Concord__Config__Chain, middlewares, n_middlewares),
    {0},
};
MW_SPEC(chain_spec, chain, chain_rows, CHAIN);

static const struct schema_row compress_rows[] = {
    P_PAIR("excludedContentTypes", p_strlist, Concord__Config__Compress, excluded_content_types,
           n_excluded_content_types),
    P_PAIR("includedContentTypes", p_strlist, Concord__Config__Compress, included_content_types,
           n_included_content_types),
    P_PAIR("minResponseBodyBytes", p_i64_has, Concord__Config__Compress, min_response_body_bytes,
           has_min_response_body_bytes),
    P_PAIR("encodings", p_strlist, Concord__Config__Compress, encodings, n_encodings),
    P_FIELD("defaultEncoding", p_str, Concord__Config__Compress, default_encoding),
    {0},
};
MW_SPEC(compress_spec, compress, compress_rows, COMPRESS);

static const struct schema_row buffering_rows[] = {
    P_FIELD("maxRequestBodyBytes", p_i64, Concord__Config__Buffering, max_request_body_bytes),
    P_FIELD("memRequestBodyBytes", p_i64, Concord__Config__Buffering, mem_request_body_bytes),
    P_FIELD("maxResponseBodyBytes", p_i64, Concord__Config__Buffering, max_response_body_bytes),
    P_FIELD("memResponseBodyBytes", p_i64, Concord__Config__Buffering, mem_response_body_bytes),
    P_FIELD("retryExpression", p_str, Concord__Config__Buffering, retry_expression),
    {0},
};
MW_SPEC(buffering_spec, buffering, buffering_rows, BUFFERING);

static const struct schema_row errors_rows[] = {
    P_PAIR("status", p_strlist, Concord__Config__Errors, status, n_status),
    P_FIELD("service", p_str, Concord__Config__Errors, service),
    P_FIELD("query", p_str, Concord__Config__Errors, query),
    SCHEMA_TODO("statusRewrites", "*"),
    SCHEMA_TODO("errorRequestHeaders", ""),
    {0},
};
MW_SPEC(errors_spec, errors, errors_rows, ERRORS);

static const struct schema_row content_type_rows[] = {
    P_FIELD("autoDetect", p_bool, Concord__Config__ContentType, auto_detect),
    {0},
};
MW_SPEC(content_type_spec, content_type, content_type_rows, CONTENT_TYPE);

/* clang-format off */
#define MW_ROW(k, spec) {.key = (k), .fn = p_msg, .off = offsetof(Middleware, add_prefix), .arg = &(spec)}
/* clang-format on */

/* Every oneof member shares one offset (a union), so each row stores at add_prefix's. */
static const struct schema_row middleware_rows[] = {
    MW_ROW("addPrefix", add_prefix_spec),
    MW_ROW("basicAuth", basic_auth_spec),
    MW_ROW("buffering", buffering_spec),
    MW_ROW("chain", chain_spec),
    SCHEMA_TODO("circuitBreaker", KEYS_MW_CIRCUIT_BREAKER),
    MW_ROW("compress", compress_spec),
    MW_ROW("contentType", content_type_spec),
    SCHEMA_TODO("digestAuth", KEYS_MW_DIGEST_AUTH),
    MW_ROW("errors", errors_spec),
    SCHEMA_TODO("forwardAuth", KEYS_MW_FORWARD_AUTH),
    SCHEMA_TODO("grpcWeb", KEYS_MW_GRPC_WEB),
    MW_ROW("headers", headers_spec),
    MW_ROW("ipAllowList", ip_allow_list_spec),
    MW_ROW("ipWhiteList", ip_white_list_spec),
    MW_ROW("inFlightReq", in_flight_req_spec),
    SCHEMA_TODO("passTLSClientCert", KEYS_MW_PASS_TLS_CLIENT_CERT),
    SCHEMA_TODO("plugin", KEYS_MW_PLUGIN),
    MW_ROW("rateLimit", rate_limit_spec),
    MW_ROW("redirectRegex", redirect_regex_spec),
    MW_ROW("redirectScheme", redirect_scheme_spec),
    MW_ROW("replacePath", replace_path_spec),
    MW_ROW("replacePathRegex", replace_path_regex_spec),
    MW_ROW("retry", retry_spec),
    MW_ROW("stripPrefix", strip_prefix_spec),
    MW_ROW("stripPrefixRegex", strip_prefix_regex_spec),
    {0},
};

void decode_one_middleware(struct schema_ctx *c, const struct doc_node *name,
                           const struct doc_node *value, void *obj)
{
    HttpConfig *h = obj;
    Middleware *m = xmalloc(sizeof *m);
    concord__config__middleware__init(m);
    m->name = xstrdup(name->str);
    m->mark = new_mark(name);
    h->middlewares = append(h->middlewares, &h->n_middlewares, sizeof *h->middlewares);
    h->middlewares[h->n_middlewares - 1] = m;
    if (doc_is_null(value) || !schema_expect_map(c, value)) {
        schema_error(c, name, "a middleware needs a type (addPrefix, headers, ...)");
        return;
    }
    /* One type per middleware, as Traefik requires; the second is reported before decoding so
     * that the first's message is not overwritten behind the error. */
    if (decode_one_of(c, name, value, middleware_rows, "a middleware has one type")) {
        schema_map(c, value, m, middleware_rows);
    }
}

void decode_http_middlewares(struct schema_ctx *c, const struct doc_node *v, void *obj,
                             const struct schema_row *r)
{
    (void)r;
    schema_each(c, v, decode_one_middleware, obj);
}

/* ---- serversTransports ---- */

typedef Concord__Config__ServersTransport ServersTransport;

static const struct schema_row fwd_timeouts_rows[] = {
    P_FIELD("dialTimeout", p_str, Concord__Config__ForwardingTimeouts, dial_timeout),
    P_FIELD("responseHeaderTimeout", p_str, Concord__Config__ForwardingTimeouts,
            response_header_timeout),
    P_FIELD("idleConnTimeout", p_str, Concord__Config__ForwardingTimeouts, idle_conn_timeout),
    SCHEMA_TODO("readIdleTimeout", ""),
    SCHEMA_TODO("pingTimeout", ""),
    {0},
};
static const struct msg_spec fwd_timeouts_spec = {
    &concord__config__forwarding_timeouts__descriptor, fwd_timeouts_rows, 0, 0};

static const struct schema_row transport_rows[] = {
    P_PAIR("maxIdleConnsPerHost", p_i32_has, ServersTransport, max_idle_conns_per_host,
           has_max_idle_conns_per_host),
    P_MSG("forwardingTimeouts", ServersTransport, forwarding_timeouts, &fwd_timeouts_spec),
    SCHEMA_TODO("serverName", ""),
    SCHEMA_TODO("insecureSkipVerify", ""),
    SCHEMA_TODO("rootCAs", ""),
    SCHEMA_TODO("certificates", "certFile keyFile"),
    SCHEMA_TODO("cipherSuites", ""),
    SCHEMA_TODO("minVersion", ""),
    SCHEMA_TODO("maxVersion", ""),
    SCHEMA_TODO("disableHTTP2", ""),
    SCHEMA_TODO("peerCertURI", ""),
    SCHEMA_TODO("spiffe", "ids trustDomain"),
    SCHEMA_TODO("peerCertSANs", ""),
    {0},
};

void decode_one_transport(struct schema_ctx *c, const struct doc_node *name,
                          const struct doc_node *value, void *obj)
{
    HttpConfig *h = obj;
    ServersTransport *t = xmalloc(sizeof *t);
    concord__config__servers_transport__init(t);
    t->name = xstrdup(name->str);
    t->mark = new_mark(name);
    h->servers_transports =
        append(h->servers_transports, &h->n_servers_transports, sizeof *h->servers_transports);
    h->servers_transports[h->n_servers_transports - 1] = t;
    schema_map(c, value, t, transport_rows);
}

void decode_http_servers_transports(struct schema_ctx *c, const struct doc_node *v, void *obj,
                                    const struct schema_row *r)
{
    (void)r;
    schema_each(c, v, decode_one_transport, obj);
}

/* ---- services beyond a plain load balancer ---- */

typedef Concord__Config__Cookie Cookie;
static const struct schema_row cookie_rows[] = {
    P_FIELD("name", p_str, Cookie, name),
    P_FIELD("secure", p_bool, Cookie, secure),
    P_FIELD("httpOnly", p_bool, Cookie, http_only),
    P_FIELD("sameSite", p_str, Cookie, same_site),
    P_FIELD("maxAge", p_i32, Cookie, max_age),
    P_PAIR("path", p_str_has, Cookie, path, has_path),
    P_FIELD("domain", p_str, Cookie, domain),
    {0},
};
static const struct msg_spec cookie_spec = {&concord__config__cookie__descriptor, cookie_rows, 0,
                                            0};

static const struct schema_row sticky_rows[] = {
    P_MSG("cookie", Concord__Config__Sticky, cookie, &cookie_spec),
    {0},
};
const struct msg_spec decode_sticky_spec = {&concord__config__sticky__descriptor, sticky_rows, 0,
                                            0};

static const struct schema_row response_forwarding_rows[] = {
    P_FIELD("flushInterval", p_str, Concord__Config__ResponseForwarding, flush_interval),
    {0},
};
const struct msg_spec decode_response_forwarding_spec = {
    &concord__config__response_forwarding__descriptor, response_forwarding_rows, 0, 0};

/* weighted.services, mirroring.mirrors: lists of maps. */
static void p_weighted_services(struct schema_ctx *c, const struct doc_node *v, void *obj,
                                const struct schema_row *r);
static void p_mirrors(struct schema_ctx *c, const struct doc_node *v, void *obj,
                      const struct schema_row *r);

static const struct schema_row weighted_rows[] = {
    {.key = "services", .fn = p_weighted_services},
    P_MSG("sticky", Concord__Config__Weighted, sticky, &decode_sticky_spec),
    SCHEMA_TODO("healthCheck", ""),
    {0},
};
const struct msg_spec decode_weighted_spec = {
    &concord__config__weighted__descriptor, weighted_rows,
    offsetof(Concord__Config__Service, kind_case), CONCORD__CONFIG__SERVICE__KIND_WEIGHTED};

static const struct schema_row mirroring_rows[] = {
    P_FIELD("service", p_str, Concord__Config__Mirroring, service),
    P_PAIR("mirrorBody", p_bool_has, Concord__Config__Mirroring, mirror_body, has_mirror_body),
    P_PAIR("maxBodySize", p_i64_has, Concord__Config__Mirroring, max_body_size,
           has_max_body_size),
    {.key = "mirrors", .fn = p_mirrors},
    SCHEMA_TODO("healthCheck", ""),
    {0},
};
const struct msg_spec decode_mirroring_spec = {
    &concord__config__mirroring__descriptor, mirroring_rows,
    offsetof(Concord__Config__Service, kind_case), CONCORD__CONFIG__SERVICE__KIND_MIRRORING};

static const struct schema_row failover_rows[] = {
    P_FIELD("service", p_str, Concord__Config__Failover, service),
    P_FIELD("fallback", p_str, Concord__Config__Failover, fallback),
    SCHEMA_TODO("healthCheck", ""),
    SCHEMA_TODO("errors", "status maxRequestBodyBytes"),
    {0},
};
const struct msg_spec decode_failover_spec = {
    &concord__config__failover__descriptor, failover_rows,
    offsetof(Concord__Config__Service, kind_case), CONCORD__CONFIG__SERVICE__KIND_FAILOVER};

static const struct schema_row weighted_service_rows[] = {
    P_FIELD("name", p_str, Concord__Config__WeightedService, name),
    P_PAIR("weight", p_i32_has, Concord__Config__WeightedService, weight, has_weight),
    {0},
};

static const struct schema_row mirror_rows[] = {
    P_FIELD("name", p_str, Concord__Config__Mirror, name),
    P_FIELD("percent", p_i32, Concord__Config__Mirror, percent),
    {0},
};

/* A list of maps, each decoded into a new message appended to the repeated field at off
 * (count at off2). */
static void p_msg_list(struct schema_ctx *c, const struct doc_node *v, void *obj, size_t off,
                       size_t off2, const ProtobufCMessageDescriptor *desc,
                       const struct schema_row *rows)
{
    void ***arr = (void ***)(void *)((char *)obj + off);
    size_t *n = (size_t *)(void *)((char *)obj + off2);
    if (doc_is_null(v)) {
        return;
    }
    if (v->kind != DOC_SEQ) {
        schema_error(c, v, "expected a list, got %s", doc_kind_name(v));
        return;
    }
    for (size_t i = 0; i < v->n; i++) {
        size_t len = schema_push_index(c, i);
        void *m = new_msg(desc, v->items[i]);
        *arr = append(*arr, n, sizeof **arr);
        (*arr)[*n - 1] = m;
        if (doc_is_null(v->items[i])) {
            schema_error(c, v->items[i], "expected a map, got null");
        }
        schema_map(c, v->items[i], m, rows);
        schema_pop(c, len);
    }
}

static void p_weighted_services(struct schema_ctx *c, const struct doc_node *v, void *obj,
                                const struct schema_row *r)
{
    (void)r;
    p_msg_list(c, v, obj, offsetof(Concord__Config__Weighted, services),
               offsetof(Concord__Config__Weighted, n_services),
               &concord__config__weighted_service__descriptor, weighted_service_rows);
}

static void p_mirrors(struct schema_ctx *c, const struct doc_node *v, void *obj,
                      const struct schema_row *r)
{
    (void)r;
    p_msg_list(c, v, obj, offsetof(Concord__Config__Mirroring, mirrors),
               offsetof(Concord__Config__Mirroring, n_mirrors),
               &concord__config__mirror__descriptor, mirror_rows);
}
