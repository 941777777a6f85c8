/* Shared by the middleware unit tests: compile a dynamic YAML config, parse a raw request,
 * and run the request (and response) phases of router "r@test" on it, as the exchange does.
 *
 *   struct mwt t;
 *   mwt_setup(&t, "http:\n  routers: {r: {rule: 'PathPrefix(`/`)', service: s, "
 *                 "middlewares: [m]}}\n  services: {s: {loadBalancer: {servers: "
 *                 "[{url: 'http://127.0.0.1:1'}]}}}\n  middlewares: {m: {addPrefix: {prefix: /a}}}\n");
 *   ck_assert_int_eq(mwt_request(&t, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n"), MW_CONTINUE);
 *   ck_assert_str_eq(mwt_path(&t), "/a/x");
 *   mwt_teardown(&t);
 */
#ifndef CONCORD_TESTS_MW_FIXTURE_H
#define CONCORD_TESTS_MW_FIXTURE_H

#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "node/http/uri.h"
#include "node/proxy/mw.h"
#include "node/table/compile.h"
#include "providers/decode.h"

struct mwt {
    struct table *t;
    struct diags d;
    struct mw_ctx *m;
    struct h1_header hdrs[64];
    struct h1_msg msg;
    char req[4096];
    char host[256];
    char path[1024];
    struct h1_header rhdrs[64];
    struct h1_msg rmsg;
    char resp[4096];
    char *reply; /* mw_build_reply output */
    uint32_t reply_len;
    uint64_t now_ms;
    /* Set `loop` before mwt_request to let middlewares pause (MW_PAUSE): run the loop, then
     * `resumed` counts the resume calls and `resumed_with` holds the last result. */
    uv_loop_t *loop;
    /* The peer is not trusted with X-Forwarded-* (default: trusted, as behind a proxy). */
    bool untrusted;
    int resumed;
    enum mw_result resumed_with;
};

static inline void mwt_on_resume(void *owner, enum mw_result r)
{
    struct mwt *t = owner;
    t->resumed++;
    t->resumed_with = r;
}

/* Compiles `yaml` (namespace "test"); the config must compile without errors. */
static inline void mwt_setup(struct mwt *t, const char *yaml)
{
    Concord__Config__Config *cfg = NULL;
    const char *eps[] = {"web"};
    struct table_compile_opts o = {.entrypoints = eps, .n_entrypoints = 1, .generation = 1};
    struct table_source src;
    memset(t, 0, sizeof *t);
    diags_init(&t->d);
    ck_assert_int_eq(decode_dynamic_string("dyn.yaml", yaml, strlen(yaml), &cfg, &t->d), 0);
    src.ns = "test";
    src.cfg = cfg;
    ck_assert_int_eq(table_compile(&src, 1, &o, &t->t, &t->d), 0);
    for (size_t i = 0; i < t->d.n; i++) {
        char buf[600];
        diag_format(&t->d.v[i], buf, sizeof buf);
        ck_assert_msg(t->d.v[i].severity != DIAG_ERROR, "compile error: %s", buf);
    }
    decode_config_free(cfg);
    t->now_ms = 1000000;
}

/* Compiles `yaml` expecting errors: returns the diagnostics formatted, one per line. */
static inline const char *mwt_compile_errors(struct mwt *t, const char *yaml, char *out,
                                             size_t size)
{
    Concord__Config__Config *cfg = NULL;
    const char *eps[] = {"web"};
    struct table_compile_opts o = {.entrypoints = eps, .n_entrypoints = 1, .generation = 1};
    struct table_source src;
    size_t used = 0;
    memset(t, 0, sizeof *t);
    diags_init(&t->d);
    out[0] = '\0';
    if (decode_dynamic_string("dyn.yaml", yaml, strlen(yaml), &cfg, &t->d) == 0) {
        src.ns = "test";
        src.cfg = cfg;
        table_compile(&src, 1, &o, NULL, &t->d);
        decode_config_free(cfg);
    }
    for (size_t i = 0; i < t->d.n && used + 1 < size; i++) {
        char buf[600];
        diag_format(&t->d.v[i], buf, sizeof buf);
        used += (size_t)snprintf(out + used, size - used, "%s\n", buf);
    }
    return out;
}

static inline const struct table_router *mwt_router(struct mwt *t, const char *name)
{
    for (uint32_t i = 0; i < table_nrouters(t->t); i++) {
        if (strcmp(table_router_at(t->t, i)->name, name) == 0) {
            return table_router_at(t->t, i);
        }
    }
    ck_abort_msg("no router %s", name);
    return NULL;
}

/* Parses `raw` (a whole request head) and runs the request phase of router `router`
 * ("r@test" when NULL) from client `client_ip`. */
static inline enum mw_result mwt_request_from(struct mwt *t, const char *router, const char *raw,
                                              const char *client_ip)
{
    struct h1_limits lim;
    const struct table_router *rt = mwt_router(t, router ? router : "r@test");
    struct mw_ctx *m;
    char *q;
    h1_limits_default(&lim);
    snprintf(t->req, sizeof t->req, "%s", raw);
    ck_assert_int_gt(h1_parse_request(t->req, strlen(t->req), &lim, t->hdrs, 64, &t->msg), 0);
    m = mw_ctx_create(rt, t->now_ms, 0);
    ck_assert_ptr_nonnull(m);
    t->m = m;
    if (t->loop != NULL) {
        m->loop = t->loop;
        m->resume = mwt_on_resume;
        m->owner = t;
    }
    m->msg = &t->msg;
    m->method = t->msg.method_str;
    m->method_len = t->msg.method_len;
    m->authority = t->msg.host ? t->msg.host : "";
    m->authority_len = t->msg.host ? t->msg.host_len : 0;
    m->host_len = (uint32_t)uri_normalize_host(m->authority, m->authority_len, t->host);
    m->host = t->host;
    m->client_ip = client_ip;
    m->client_family = strchr(client_ip, ':') ? AF_INET6 : AF_INET;
    ck_assert_int_eq(inet_pton(m->client_family, client_ip, m->client_addr), 1);
    m->port = 80;
    m->fwd_trusted = !t->untrusted;
    snprintf(t->path, sizeof t->path, "%.*s", (int)t->msg.target_len, t->msg.target);
    q = strchr(t->path, '?');
    m->path = t->path;
    m->path_len = q ? (uint32_t)(q - t->path) : (uint32_t)strlen(t->path);
    if (q != NULL) {
        m->query = q + 1;
        m->query_len = (uint32_t)strlen(q + 1);
    }
    m->has_body = t->msg.body != H1_BODY_NONE;
    return mw_run_request(m);
}

static inline enum mw_result mwt_request(struct mwt *t, const char *raw)
{
    return mwt_request_from(t, NULL, raw, "10.0.0.1");
}

/* The path (and query) as it would be sent upstream, in a static buffer. */
static inline const char *mwt_target(struct mwt *t)
{
    static char buf[2048];
    snprintf(buf, sizeof buf, "%.*s%s%.*s", (int)t->m->path_len, t->m->path,
             t->m->query ? "?" : "", (int)t->m->query_len, t->m->query ? t->m->query : "");
    return buf;
}

/* The request field as it would be sent (NULL: absent), in a static buffer. */
static inline const char *mwt_req_field(struct mwt *t, const char *name)
{
    static char buf[2048];
    uint32_t n = 0;
    const char *v = mw_req_get(t->m, name, &n);
    if (v == NULL) {
        return NULL;
    }
    snprintf(buf, sizeof buf, "%.*s", (int)n, v);
    return buf;
}

/* After MW_STOP: runs the response phase and builds the reply; returns its bytes. */
static inline const char *mwt_reply(struct mwt *t)
{
    mw_run_response(t->m, t->m->reply_status, NULL);
    free(t->reply);
    t->reply = mw_build_reply(t->m, false, &t->reply_len);
    ck_assert_ptr_nonnull(t->reply);
    t->reply = realloc(t->reply, t->reply_len + 1);
    t->reply[t->reply_len] = '\0';
    return t->reply;
}

/* After MW_CONTINUE: runs the response phase on `raw_head` (an upstream response head). */
static inline void mwt_response(struct mwt *t, const char *raw_head)
{
    struct h1_limits lim;
    h1_limits_default(&lim);
    snprintf(t->resp, sizeof t->resp, "%s", raw_head);
    ck_assert_int_gt(h1_parse_response(t->resp, strlen(t->resp), &lim, t->msg.method, t->rhdrs,
                                       64, &t->rmsg),
                     0);
    mw_run_response(t->m, t->rmsg.status, &t->rmsg);
}

/* The response field after the response phase (NULL: absent), in a static buffer. */
static inline const char *mwt_resp_field(struct mwt *t, const char *name)
{
    static char buf[2048];
    uint32_t n = 0;
    const char *v = mw_resp_get(t->m, name, &n);
    if (v == NULL) {
        return NULL;
    }
    snprintf(buf, sizeof buf, "%.*s", (int)n, v);
    return buf;
}

/* Ends the exchange (runs `done`), keeps the table for another request. */
static inline void mwt_end(struct mwt *t)
{
    mw_ctx_destroy(t->m);
    t->m = NULL;
    free(t->reply);
    t->reply = NULL;
}

static inline void mwt_teardown(struct mwt *t)
{
    mwt_end(t);
    table_unref(t->t);
    diags_fini(&t->d);
}

/* A one-router config: router r (PathPrefix(`/`)) -> service s, with middlewares `mws` (a YAML
 * flow list such as "[a, b]") and the http.middlewares body `defs` (YAML lines indented by 4
 * spaces, e.g. "    a:\n      addPrefix: {prefix: /x}\n"). */
static inline const char *mwt_yaml(char *buf, size_t size, const char *mws, const char *defs)
{
    snprintf(buf, size,
             "http:\n  routers:\n    r: {rule: 'PathPrefix(`/`)', service: s, middlewares: %s}\n"
             "  services:\n    s: {loadBalancer: {servers: [{url: 'http://127.0.0.1:1'}]}}\n"
             "    errsvc: {loadBalancer: {servers: [{url: 'http://127.0.0.1:2'}]}}\n"
             "  middlewares:\n%s",
             mws, defs);
    return buf;
}

#endif
