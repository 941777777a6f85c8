/* The Traefik-compatible reads (api_http.h): JSON rendering of the api_model's objects. */
#include "node/admin/api_http.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/admin/api_model.h"
#include "node/admin/json.h"
#include "node/admin/pbjson.h"
#include "node/base/diag.h"
#include "node/table/mw_conf.h"
#include "node/table/compile.h"
#include "node/table/table.h"
#include "proto/config.pb-c.h"

static const char *const status_name[] = {"enabled", "warning", "disabled"};
static const char *const section_path[API_NSECTIONS] = {"routers", "services", "middlewares"};

/* Traefik's key of each middleware type (mw_kind order), for the compiler's own objects. */
static const char *const mw_key[MW_KIND_COUNT] = {
    "addPrefix",
    "stripPrefix",
    "stripPrefixRegex",
    "replacePath",
    "replacePathRegex",
    "headers",
    "basicAuth",
    "redirectScheme",
    "redirectRegex",
    "ipAllowList",
    "inFlightReq",
    "rateLimit",
    "retry",
    "chain",
    "compress",
    "buffering",
    "errors",
    "contentType",
};

static const char *const svc_key[] = {"loadBalancer", "weighted", "mirroring", "failover"};

/* Traefik's "type": the kind's key in lower case ("loadbalancer", "stripprefix"). */
static void type_field(struct jw *w, const char *key)
{
    char t[64];
    size_t i = 0;
    for (; key[i] != '\0' && i + 1 < sizeof t; i++) {
        t[i] = (char)tolower((unsigned char)key[i]);
    }
    t[i] = '\0';
    jw_kstr(w, "type", t);
}

static void eps_field(struct jw *w, const char *key, const struct node_view *v, uint64_t bits)
{
    jw_key(w, key);
    jw_arr(w);
    for (uint32_t i = 0; i < v->n_entrypoints && i < 64; i++) {
        if (bits & (UINT64_C(1) << i)) {
            jw_str(w, v->entrypoints[i]);
        }
    }
    jw_aend(w);
}

/* "status", "error" (Traefik lists errors and warnings there) and, when asked, "usedBy". */
static void common_fields(struct jw *w, const struct api_model *m, const struct api_obj *o,
                          bool used_by)
{
    char line[1200];
    jw_kstr(w, "status", status_name[o->status]);
    if (o->ndiags > 0) {
        jw_key(w, "error");
        jw_arr(w);
        for (uint32_t i = 0; i < o->ndiags; i++) {
            diag_format(&m->v->diags->v[o->diags[i]], line, sizeof line);
            jw_str(w, line);
        }
        jw_aend(w);
    }
    if (used_by && o->nused_by > 0) {
        jw_key(w, "usedBy");
        jw_arr(w);
        for (uint32_t i = 0; i < o->nused_by; i++) {
            jw_str(w, o->used_by[i]);
        }
        jw_aend(w);
    }
}

static void name_fields(struct jw *w, const struct api_obj *o)
{
    jw_kstr(w, "name", o->name);
    jw_kstr(w, "provider", o->provider);
}

static void router_json(struct jw *w, const struct api_model *m, const struct api_obj *o,
                        bool named)
{
    const Concord__Config__Router *r = (const Concord__Config__Router *)o->msg;
    const struct table_router *tr = o->compiled;
    const char *rule = r ? r->rule : tr->rule;
    char q[512];
    jw_obj(w);
    if (r != NULL && r->n_entry_points > 0) {
        jw_key(w, "entryPoints");
        jw_arr(w);
        for (size_t i = 0; i < r->n_entry_points; i++) {
            jw_str(w, r->entry_points[i]);
        }
        jw_aend(w);
    } else { /* none listed: every entry point of the node */
        eps_field(w, "entryPoints", m->v, tr && !r ? o->eps : UINT64_MAX);
    }
    if (r != NULL && r->n_middlewares > 0) {
        jw_key(w, "middlewares");
        jw_arr(w);
        for (size_t i = 0; i < r->n_middlewares; i++) {
            jw_str(w, api_qualify(r->middlewares[i], o->provider, q, sizeof q));
        }
        jw_aend(w);
    } else if (r == NULL && tr->nmws > 0) {
        jw_key(w, "middlewares");
        jw_arr(w);
        for (uint32_t i = 0; i < tr->nmws; i++) {
            jw_str(w, tr->mws[i]->name);
        }
        jw_aend(w);
    }
    if (r != NULL && r->service != NULL && r->service[0] != '\0') {
        jw_kstr(w, "service", api_qualify(r->service, o->provider, q, sizeof q));
    } else if (r == NULL && tr->service != NULL) {
        jw_kstr(w, "service", tr->service->name);
    }
    jw_kstr(w, "rule", rule ? rule : "");
    if (r != NULL && r->rule_syntax != NULL && r->rule_syntax[0] != '\0') {
        jw_kstr(w, "ruleSyntax", r->rule_syntax);
    }
    jw_kint(w, "priority",
            tr                 ? tr->priority
            : r->priority != 0 ? r->priority
                               : (int64_t)strlen(rule ? rule : ""));
    common_fields(w, m, o, false);
    if (tr != NULL) {
        eps_field(w, "using", m->v, o->eps);
    }
    if (named) {
        name_fields(w, o);
    }
    jw_end(w);
}

/* loadBalancer as written, with Traefik's default passHostHeader shown. */
static void lb_json(struct jw *w, const Concord__Config__LoadBalancer *lb)
{
    jw_obj(w);
    jw_key(w, "servers");
    jw_arr(w);
    for (size_t i = 0; i < lb->n_servers; i++) {
        const Concord__Config__Server *s = lb->servers[i];
        jw_obj(w);
        jw_kstr(w, "url", s->url ? s->url : "");
        if (s->has_weight) {
            jw_kint(w, "weight", s->weight);
        }
        jw_end(w);
    }
    jw_aend(w);
    jw_kbool(w, "passHostHeader", lb->has_pass_host_header ? lb->pass_host_header : true);
    if (lb->sticky != NULL) {
        jw_key(w, "sticky");
        pbjson_message(w, &lb->sticky->base);
    }
    if (lb->servers_transport != NULL && lb->servers_transport[0] != '\0') {
        jw_kstr(w, "serversTransport", lb->servers_transport);
    }
    if (lb->response_forwarding != NULL) {
        jw_key(w, "responseForwarding");
        pbjson_message(w, &lb->response_forwarding->base);
    }
    jw_end(w);
}

/* A compiled load balancer with no config message (made by the compiler). */
static void lb_table_json(struct jw *w, const struct table_service *ts)
{
    jw_obj(w);
    jw_key(w, "servers");
    jw_arr(w);
    for (uint32_t i = 0; i < ts->nservers; i++) {
        jw_obj(w);
        jw_kstr(w, "url", ts->servers[i]->url);
        jw_kint(w, "weight", ts->weights[i]);
        jw_end(w);
    }
    jw_aend(w);
    jw_kbool(w, "passHostHeader", ts->pass_host_header);
    jw_end(w);
}

static void service_json(struct jw *w, const struct api_model *m, const struct api_obj *o,
                         bool named)
{
    const struct table_service *ts = o->compiled;
    const ProtobufCMessage *sub = NULL;
    const ProtobufCFieldDescriptor *f = o->msg ? pbjson_oneof_set(o->msg, &sub) : NULL;
    char key[64] = "";
    jw_obj(w);
    if (f != NULL) {
        pbjson_key(f->name, key, sizeof key);
        jw_key(w, key);
        if (strcmp(f->name, "load_balancer") == 0) {
            lb_json(w, (const Concord__Config__LoadBalancer *)sub);
        } else {
            pbjson_message(w, sub);
        }
    } else if (ts != NULL) {
        snprintf(key, sizeof key, "%s", svc_key[ts->kind]);
        jw_key(w, key);
        if (ts->kind == TABLE_SVC_LB) {
            lb_table_json(w, ts);
        } else {
            jw_obj(w);
            jw_end(w);
        }
    }
    common_fields(w, m, o, true);
    if (ts != NULL && ts->kind == TABLE_SVC_LB) {
        /* No health checks yet: a server is UP once its address is known. */
        jw_key(w, "serverStatus");
        jw_obj(w);
        for (uint32_t i = 0; i < ts->nservers; i++) {
            jw_kstr(w, ts->servers[i]->url, ts->servers[i]->addrlen ? "UP" : "DOWN");
        }
        jw_end(w);
    }
    if (named) {
        name_fields(w, o);
    }
    if (key[0] != '\0') {
        type_field(w, key);
    }
    jw_end(w);
}

static void middleware_json(struct jw *w, const struct api_model *m, const struct api_obj *o,
                            bool named)
{
    const struct table_middleware *tm = o->compiled;
    const ProtobufCMessage *sub = NULL;
    const ProtobufCFieldDescriptor *f = o->msg ? pbjson_oneof_set(o->msg, &sub) : NULL;
    char key[64] = "";
    jw_obj(w);
    if (f != NULL) {
        pbjson_key(f->name, key, sizeof key);
        jw_key(w, key);
        pbjson_message(w, sub);
    } else if (tm != NULL && tm->kind < MW_KIND_COUNT) {
        snprintf(key, sizeof key, "%s", mw_key[tm->kind]);
        jw_key(w, key);
        jw_obj(w);
        if (tm->kind == MW_REDIRECT_SCHEME) {
            const struct mwc_redirect_scheme *rs = tm->conf;
            jw_kstr(w, "scheme", rs->scheme);
            if (rs->port != NULL) {
                jw_kstr(w, "port", rs->port);
            }
            jw_kbool(w, "permanent", rs->permanent);
        }
        jw_end(w);
    }
    common_fields(w, m, o, true);
    if (named) {
        name_fields(w, o);
    }
    if (key[0] != '\0') {
        type_field(w, key);
    }
    jw_end(w);
}

typedef void (*obj_json_fn)(struct jw *w, const struct api_model *m, const struct api_obj *o,
                            bool named);
static const obj_json_fn obj_json[API_NSECTIONS] = {router_json, service_json, middleware_json};

/* ---- Requests ---- */

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Percent-decodes s[0..n) into out (NUL-terminated); `plus`: '+' is a space (query values).
 * Returns false for a bad escape, a NUL byte or no room. */
static bool pct_decode(const char *s, size_t n, bool plus, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= n) {
                return false;
            }
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0) {
                return false;
            }
            c = hi * 16 + lo;
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (c == 0 || o + 1 >= size) {
            return false;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return true;
}

/* The list filters Traefik's API takes (pagination aside). */
struct filters {
    char search[256];
    char status[32];
    char service[512];
    char middleware[512];
};

static bool parse_query(const char *q, size_t n, struct filters *f)
{
    size_t i = 0;
    memset(f, 0, sizeof *f);
    while (i < n) {
        size_t end = i, eq;
        char *dst = NULL;
        size_t dsize = 0;
        while (end < n && q[end] != '&') {
            end++;
        }
        for (eq = i; eq < end && q[eq] != '='; eq++) {
        }
#define PARAM(name, field)                                                                         \
    if (eq - i == sizeof name - 1 && memcmp(q + i, name, eq - i) == 0) {                           \
        dst = f->field;                                                                            \
        dsize = sizeof f->field;                                                                   \
    }
        PARAM("search", search)
        PARAM("status", status)
        PARAM("serviceName", service)
        PARAM("middlewareName", middleware)
#undef PARAM
        if (dst != NULL && eq < end && !pct_decode(q + eq + 1, end - eq - 1, true, dst, dsize)) {
            return false;
        }
        i = end + 1;
    }
    return true;
}

static bool router_refers(const struct api_model *m, const struct api_obj *o, enum api_section s,
                          const char *want)
{
    const struct api_obj *t = api_model_find(m, s, want);
    if (t == NULL) {
        return false;
    }
    for (uint32_t i = 0; i < t->nused_by; i++) {
        if (strcmp(t->used_by[i], o->name) == 0) {
            return true;
        }
    }
    return false;
}

static bool keep(const struct api_model *m, enum api_section s, const struct api_obj *o,
                 const struct filters *f)
{
    if (f->search[0] != '\0' && strcasestr(o->name, f->search) == NULL) {
        return false;
    }
    if (f->status[0] != '\0' && strcmp(f->status, status_name[o->status]) != 0) {
        return false;
    }
    if (s == API_ROUTERS && f->service[0] != '\0' &&
        !router_refers(m, o, API_SERVICES, f->service)) {
        return false;
    }
    if (s == API_ROUTERS && f->middleware[0] != '\0' &&
        !router_refers(m, o, API_MIDDLEWARES, f->middleware)) {
        return false;
    }
    return true;
}

static void counts(struct jw *w, const struct api_model *m, enum api_section s)
{
    uint32_t warn = 0, err = 0;
    for (uint32_t i = 0; i < m->n[s]; i++) {
        warn += m->obj[s][i].status == API_WARNING;
        err += m->obj[s][i].status == API_DISABLED;
    }
    jw_key(w, section_path[s]);
    jw_obj(w);
    jw_kint(w, "total", m->n[s]);
    jw_kint(w, "warnings", warn);
    jw_kint(w, "errors", err);
    jw_end(w);
}

static void zero_counts(struct jw *w, const char *key)
{
    jw_key(w, key);
    jw_obj(w);
    jw_kint(w, "total", 0);
    jw_kint(w, "warnings", 0);
    jw_kint(w, "errors", 0);
    jw_end(w);
}

static void overview(struct jw *w, const struct api_model *m)
{
    jw_obj(w);
    jw_key(w, "http");
    jw_obj(w);
    for (int s = 0; s < API_NSECTIONS; s++) {
        counts(w, m, (enum api_section)s);
    }
    jw_end(w);
    jw_key(w, "tcp"); /* Concord has no TCP or UDP routing (yet): Traefik's shape, all zero */
    jw_obj(w);
    zero_counts(w, "routers");
    zero_counts(w, "services");
    zero_counts(w, "middlewares");
    jw_end(w);
    jw_key(w, "udp");
    jw_obj(w);
    zero_counts(w, "routers");
    zero_counts(w, "services");
    jw_end(w);
    jw_key(w, "features");
    jw_obj(w);
    jw_kstr(w, "tracing", "");
    jw_kstr(w, "metrics", "");
    jw_kbool(w, "accessLog", false);
    jw_end(w);
    jw_key(w, "providers");
    jw_arr(w);
    for (uint32_t i = 0; i < m->v->nsrcs; i++) { /* Traefik's provider names: "File" */
        char name[64];
        snprintf(name, sizeof name, "%s", m->v->srcs[i].ns);
        name[0] = (char)toupper((unsigned char)name[0]);
        jw_str(w, name);
    }
    jw_aend(w);
    /* Concord: this node's providers, with the error of a failed source (its last committed
     * contribution stays meanwhile). A cluster-wide provider is active on the leader only. */
    jw_key(w, "providerStatus");
    jw_arr(w);
    for (uint32_t i = 0; i < m->v->nproviders; i++) {
        const struct node_view_provider *p = &m->v->providers[i];
        jw_obj(w);
        jw_kstr(w, "name", p->name);
        jw_kbool(w, "active", p->active);
        jw_kstr(w, "error", p->error ? p->error : "");
        jw_kstr(w, "skipped", p->skipped ? p->skipped : "");
        jw_end(w);
    }
    jw_aend(w);
    jw_kint(w, "tableGeneration", m->v->table ? (int64_t)table_generation(m->v->table) : 0);
    jw_end(w);
}

static void rawdata(struct jw *w, const struct api_model *m)
{
    static const char *const empty[] = {"tcpRouters", "tcpMiddlewares", "tcpServices", "udpRouters",
                                        "udpServices"};
    jw_obj(w);
    for (int s = 0; s < API_NSECTIONS; s++) {
        jw_key(w, section_path[s]);
        jw_obj(w);
        for (uint32_t i = 0; i < m->n[s]; i++) {
            jw_key(w, m->obj[s][i].name);
            obj_json[s](w, m, &m->obj[s][i], false);
        }
        jw_end(w);
    }
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        jw_key(w, empty[i]);
        jw_obj(w);
        jw_end(w);
    }
    jw_kint(w, "tableGeneration", m->v->table ? (int64_t)table_generation(m->v->table) : 0);
    jw_end(w);
}

static void error_doc(struct jw *w, const char *msg)
{
    jw_obj(w);
    jw_kstr(w, "error", msg);
    jw_end(w);
}

/* /api/http/<section>[/<name>]: fills w, returns the status. */
static int http_objects(struct jw *w, const struct api_model *m, enum api_section s,
                        const char *rest, size_t rlen, const char *query, size_t qlen)
{
    struct filters f;
    char name[512];
    const struct api_obj *o;
    if (rlen == 0 || (rlen == 1 && rest[0] == '/')) {
        if (!parse_query(query, qlen, &f)) {
            error_doc(w, "bad query string");
            return 400;
        }
        jw_arr(w);
        for (uint32_t i = 0; i < m->n[s]; i++) {
            if (keep(m, s, &m->obj[s][i], &f)) {
                obj_json[s](w, m, &m->obj[s][i], true);
            }
        }
        jw_aend(w);
        return 200;
    }
    if (rest[0] != '/' || memchr(rest + 1, '/', rlen - 1) != NULL ||
        !pct_decode(rest + 1, rlen - 1, false, name, sizeof name)) {
        error_doc(w, "bad object name in the path");
        return 400;
    }
    o = api_model_find(m, s, name);
    if (o == NULL) {
        char msg[600];
        snprintf(msg, sizeof msg, "%.*s not found: %s", (int)strlen(section_path[s]) - 1,
                 section_path[s], name);
        error_doc(w, msg);
        return 404;
    }
    obj_json[s](w, m, o, true);
    return 200;
}

static bool path_is(const char *p, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(p, want, n) == 0;
}

/* Which endpoint `path` names: -1 none, 0..2 a section, 3 overview, 4 rawdata. */
static int endpoint(const char *path, size_t plen, size_t *rest_off)
{
    static const char prefix[] = "/api/http/";
    if (path_is(path, plen, "/api/overview")) {
        return 3;
    }
    if (path_is(path, plen, "/api/rawdata")) {
        return 4;
    }
    if (plen < sizeof prefix - 1 || memcmp(path, prefix, sizeof prefix - 1) != 0) {
        return -1;
    }
    for (int s = 0; s < API_NSECTIONS; s++) {
        size_t off = sizeof prefix - 1, kl = strlen(section_path[s]);
        if (plen >= off + kl && memcmp(path + off, section_path[s], kl) == 0 &&
            (plen == off + kl || path[off + kl] == '/')) {
            *rest_off = off + kl;
            return s;
        }
    }
    return -1;
}

bool api_http_serve(const struct node_view *v, bool is_get, const char *path, size_t plen,
                    const char *query, size_t qlen, struct api_reply *r)
{
    struct api_model m;
    struct jw w;
    size_t rest = 0;
    int ep = endpoint(path, plen, &rest);
    if (ep < 0) {
        return false;
    }
    jw_init(&w);
    if (!is_get) {
        error_doc(&w, "method not allowed (the API is read-only here)");
        r->status = 405;
    } else if (api_model_build(v, &m) != 0) {
        r->status = 500;
    } else {
        if (ep == 3) {
            overview(&w, &m);
            r->status = 200;
        } else if (ep == 4) {
            rawdata(&w, &m);
            r->status = 200;
        } else {
            r->status =
                http_objects(&w, &m, (enum api_section)ep, path + rest, plen - rest, query, qlen);
        }
        api_model_free(&m);
    }
    r->body = jw_finish(&w, &r->len);
    if (r->body == NULL) {
        r->status = 500;
    }
    return true;
}
