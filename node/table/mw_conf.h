/* Compiled middleware configuration: what table_compile() makes of each `http.middlewares`
 * object, for node/proxy to run (types only; the behaviour is node/proxy/mw_<name>.c).
 *
 * Ownership: a table owns its middlewares; each conf is freed with its `conf_free`. A router
 * lists its middlewares in the order they run, chains already flattened (a chain object never
 * reaches a router). Everything here is immutable once compiled, except `runtime`, which the
 * proxy may set once (atomically) to state shared by its workers (rate-limit buckets, in-flight
 * counters); the table frees it with `runtime_free` when the generation dies.
 */
#ifndef CONCORD_TABLE_MW_CONF_H
#define CONCORD_TABLE_MW_CONF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "node/base/cidr.h"

struct regex; /* node/table/regex.h */
struct table_service;

enum mw_kind {
    MW_ADD_PREFIX,
    MW_STRIP_PREFIX,
    MW_STRIP_PREFIX_REGEX,
    MW_REPLACE_PATH,
    MW_REPLACE_PATH_REGEX,
    MW_HEADERS,
    MW_BASIC_AUTH,
    MW_REDIRECT_SCHEME,
    MW_REDIRECT_REGEX,
    MW_IP_ALLOW_LIST,
    MW_IN_FLIGHT_REQ,
    MW_RATE_LIMIT,
    MW_RETRY,
    MW_CHAIN,
    MW_COMPRESS,
    MW_BUFFERING,
    MW_ERRORS,
    MW_CONTENT_TYPE,
    MW_KIND_COUNT
};

struct table_middleware {
    char *name; /* "name@namespace" */
    enum mw_kind kind;
    uint32_t id;                 /* index, 0..table_nmiddlewares()-1 (name order) */
    void *conf;                  /* struct mwc_<kind> below */
    void (*conf_free)(void *conf);
    _Atomic(void *) runtime;     /* set once by the proxy; see above */
    void (*runtime_free)(void *runtime);
};

/* Where a middleware takes the client address from (ipStrategy). depth 0 and no excluded IPs:
 * the connection's peer. depth N: the Nth entry from the right of X-Forwarded-For. */
struct mwc_ip_strategy {
    uint32_t depth;
    struct cidr *excluded;
    uint32_t nexcluded;
    uint32_t ipv6_subnet; /* 0: whole address */
};

/* sourceCriterion: exactly one of the three (Traefik's default: the ip strategy). */
struct mwc_source {
    struct mwc_ip_strategy ip;
    char *header;      /* requestHeaderName, or NULL */
    bool request_host; /* requestHost */
};

struct mwc_add_prefix {
    char *prefix;
};

struct mwc_strip_prefix {
    char **prefixes;
    uint32_t n;
    bool force_slash;
};

struct mwc_strip_prefix_regex {
    struct regex **re;
    uint32_t n;
};

struct mwc_replace_path {
    char *path;
};

struct mwc_replace_path_regex {
    struct regex *re;
    char *replacement;
};

struct mwc_kv {
    char *name;
    char *value; /* "" in a custom header: remove the field */
};

/* headers: custom fields, CORS and the security fields (Traefik's "secure" part). Lists are
 * joined with "," as Traefik sends them. */
struct mwc_headers {
    struct mwc_kv *req; /* customRequestHeaders, in the order written */
    uint32_t nreq;
    struct mwc_kv *resp; /* customResponseHeaders */
    uint32_t nresp;
    bool has_cors; /* any accessControl* / addVaryHeader option: preflights are answered */
    bool allow_credentials;
    char *allow_headers; /* joined, or NULL */
    char *allow_methods;
    char **allow_origins; /* list; "*" allowed */
    uint32_t nallow_origins;
    struct regex **allow_origin_re;
    uint32_t nallow_origin_re;
    char *expose_headers;
    int64_t max_age; /* sent on preflights, 0 included (as Traefik) */
    bool add_vary;
    char **allowed_hosts; /* compared with the Host as received, port included */
    uint32_t nallowed_hosts;
    char **hosts_proxy_headers; /* fields that carry the host when present */
    uint32_t nhosts_proxy_headers;
    struct mwc_kv *ssl_proxy; /* a request field equal to this value means HTTPS */
    uint32_t nssl_proxy;
    bool is_development; /* skips allowedHosts, STS and Public-Key-Pins */
    /* security fields, already formatted; NULL when unset */
    char *sts; /* Strict-Transport-Security value (HTTPS or force_sts only) */
    bool force_sts;
    char *frame_options; /* X-Frame-Options */
    bool nosniff;
    char *xss; /* X-XSS-Protection */
    char *csp;
    char *csp_report_only;
    char *public_key; /* Public-Key-Pins (HTTPS only) */
    char *referrer_policy;
    char *permissions_policy;
};

struct mwc_basic_auth {
    char **users;  /* "user" */
    char **hashes; /* "$2y$...", "{SHA}...", "$apr1$..." */
    uint32_t n;
    char *realm;   /* default "traefik" */
    char *challenge; /* the WWW-Authenticate value: Basic realm="<realm>" */
    bool remove_header;
    char *header_field; /* NULL: none */
};

struct mwc_redirect_scheme {
    char *scheme;
    char *port; /* NULL: the scheme's default */
    bool permanent;
};

struct mwc_redirect_regex {
    struct regex *re;
    char *replacement;
    bool permanent;
};

struct mwc_ip_allow_list {
    struct cidr *ranges;
    uint32_t n;
    struct mwc_ip_strategy ip;
    int reject_status; /* default 403 */
};

struct mwc_in_flight_req {
    int64_t amount;
    struct mwc_source source;
};

struct mwc_rate_limit {
    int64_t average;   /* requests per period; 0: no limit */
    uint64_t period_ms;
    int64_t burst;     /* default 1 */
    struct mwc_source source;
};

struct mwc_retry {
    int32_t attempts;
    uint64_t initial_interval_ms;
};

struct mwc_compress {
    char **excluded;   /* media types, lower case, without blanks */
    uint32_t nexcluded;
    char **included;   /* when given, only these are compressed */
    uint32_t nincluded;
    int64_t min_bytes; /* default 1024 */
    bool gzip;         /* gzip is among `encodings` (or encodings is empty) */
    bool default_gzip; /* defaultEncoding gzip: compress when Accept-Encoding is absent */
};

struct mwc_buffering {
    int64_t max_request;  /* 0: no limit */
    int64_t max_response; /* 0: no limit */
    int32_t retry_attempts; /* from retryExpression "IsNetworkError() && Attempts() < N"; 0: none */
};

struct mwc_status_range {
    int lo, hi;
};

struct mwc_errors {
    struct mwc_status_range *ranges;
    uint32_t nranges;
    const struct table_service *service;
    char *query;
};

/* contentType: its presence enables sniffing (Traefik v3); autoDetect is deprecated there. */
struct mwc_content_type {
    bool auto_detect;
};

#endif
