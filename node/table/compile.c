/* Compiles the canonical configuration into a table generation, with every semantic check. */
#include "node/table/compile.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/table/compile_mw.h"
#include "node/table/rule.h"
#include "node/table/table-build.h"

typedef Concord__Config__Server Server;
typedef Concord__Config__LoadBalancer LoadBalancer;
typedef Concord__Config__Service Service;
typedef Concord__Config__Router Router;
typedef Concord__Config__Middleware Middleware;

/* Traefik reserves the priorities above MaxInt64 - 1000 for its @internal routers. */
#define MAX_USER_PRIORITY (INT64_MAX - 1000)

/* One named object of one source, before it is compiled. */
struct cand {
    const char *section; /* "services", "routers" or "middlewares", for key paths */
    const char *ns;
    const char *raw; /* the name as written: the key in diagnostics' paths */
    char *full;      /* "name@ns" */
    const Mark *mark;
    const void *msg; /* Service, Router or Middleware */
    uint32_t order;  /* position across the sources: duplicates sort stably */
    bool ok;
    uint32_t id;           /* services, middlewares: index in parts.<section> once compiled */
    uint32_t spec0, nspec; /* services: their servers in cctx.specs */
};

struct cands {
    struct cand *v;
    uint32_t n;
};

/* One server line of one service, parsed from its URL, before deduplication. */
struct spec {
    const char *url;
    const Mark *mark;
    const struct cand *svc;
    uint32_t slot; /* index in the service's servers, for key paths */
    char host[256];
    uint16_t port;
    bool bracketed; /* host was an [IPv6] literal */
    size_t auth_off, auth_len;
    size_t path_off;
    struct sockaddr_storage addr; /* IP literals only; addrlen 0 for a host name */
    uint32_t addrlen;
    uint32_t weight;
    uint32_t server; /* id once deduplicated */
};

/* A middleware candidate while compiling: its built object (before it moves into the parts),
 * and for a chain, the flattened leaves (indices into cctx.mws). */
struct mwinfo {
    enum mw_kind kind;
    const char *type_key;
    struct table_middleware built;
    uint8_t visit; /* chains: 0 not yet, 1 being flattened, 2 done */
    uint32_t *leaves;
    uint32_t nleaves;
};

struct cctx {
    const struct table_source *srcs;
    uint32_t nsrcs;
    const struct table_compile_opts *o;
    struct diags *d;
    bool dry;
    int rc; /* -ENOMEM once an allocation failed */
    struct cands svcs, rts, mws;
    struct mwinfo *mwi; /* parallel to mws */
    struct spec *specs;
    uint32_t nspecs, capspecs;
    struct table_parts parts;
};

static const char *str(const char *s)
{
    return s ? s : "";
}

static char *dup_or_fail(struct cctx *c, const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (p == NULL) {
        c->rc = -ENOMEM;
    }
    return p;
}

static char *printf_or_fail(struct cctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static char *printf_or_fail(struct cctx *c, const char *fmt, ...)
{
    char *p = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&p, fmt, ap) < 0) {
        p = NULL;
        c->rc = -ENOMEM;
    }
    va_end(ap);
    return p;
}

/* ---- Diagnostics ---- */

static void report(struct cctx *c, enum diag_severity sev, const Mark *m, const char *path,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void report(struct cctx *c, enum diag_severity sev, const Mark *m, const char *path,
                   const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diags_add(c->d, sev, m ? str(m->file) : "", m ? m->line : 0, m ? m->col : 0, path, "%s", msg);
}

/* Key path of an object or one of its fields: "http.routers.web" + ".rule". */
static const char *key(char *buf, size_t size, const struct cand *k, const char *field)
{
    snprintf(buf, size, "http.%s.%s%s%s", k->section, k->raw, field[0] ? "." : "", field);
    return buf;
}

/* ---- Names ---- */

/* "x" -> "x@ns"; "x@ns" stays; "x@other" is an error (NULL, c->rc untouched). */
static char *full_name(struct cctx *c, const char *section, const char *ns, const char *raw,
                       const Mark *m)
{
    char path[300];
    const char *at = strrchr(raw, '@');
    snprintf(path, sizeof path, "http.%s.%s", section, raw);
    if (raw[0] == '\0' || at == raw) {
        report(c, DIAG_ERROR, m, path, "empty name");
        return NULL;
    }
    if (at == NULL) {
        return printf_or_fail(c, "%s@%s", raw, ns);
    }
    if (strcmp(at + 1, ns) != 0) {
        report(c, DIAG_ERROR, m, path, "name \"%s\" is not in this provider's namespace \"%s\"",
               raw, ns);
        return NULL;
    }
    return dup_or_fail(c, raw, strlen(raw));
}

static int cand_order(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    int r = strcmp(x->full, y->full);
    return r != 0 ? r : (x->order > y->order) - (x->order < y->order);
}

/* Sorts by full name and disables every copy of a name defined more than once. */
static void sort_and_flag_duplicates(struct cctx *c, struct cands *l)
{
    char path[300];
    if (l->n > 1) {
        qsort(l->v, l->n, sizeof *l->v, cand_order);
    }
    for (uint32_t i = 0; i + 1 < l->n; i++) {
        if (strcmp(l->v[i].full, l->v[i + 1].full) == 0) {
            l->v[i].ok = l->v[i + 1].ok = false;
        }
    }
    for (uint32_t i = 0; i < l->n; i++) {
        struct cand *k = &l->v[i];
        if (!k->ok) {
            report(c, DIAG_ERROR, k->mark, key(path, sizeof path, k, ""),
                   "%s is defined more than once in namespace %s; every copy is disabled", k->full,
                   k->ns);
        }
    }
}

static int add_cand(struct cctx *c, struct cands *l, const char *section, const char *ns,
                    const char *raw, const Mark *m, const void *msg)
{
    char *full = full_name(c, section, ns, raw, m);
    if (full == NULL) {
        return c->rc;
    }
    l->v[l->n] = (struct cand){.section = section,
                               .ns = ns,
                               .raw = raw,
                               .full = full,
                               .mark = m,
                               .msg = msg,
                               .order = l->n,
                               .ok = true};
    l->n++;
    return 0;
}

enum section { SEC_SERVICES, SEC_ROUTERS, SEC_MIDDLEWARES };

static size_t section_count(const Concord__Config__HttpConfig *h, enum section sec)
{
    if (h == NULL) {
        return 0;
    }
    return sec == SEC_ROUTERS ? h->n_routers : sec == SEC_SERVICES ? h->n_services
                                                                    : h->n_middlewares;
}

/* Gathers every object of one section of every source. */
static int collect(struct cctx *c, struct cands *l, enum section sec)
{
    size_t total = 0;
    for (uint32_t s = 0; s < c->nsrcs; s++) {
        const Concord__Config__HttpConfig *h = c->srcs[s].cfg ? c->srcs[s].cfg->http : NULL;
        total += section_count(h, sec);
    }
    if (total > UINT32_MAX / 2 || (total > 0 && !(l->v = calloc(total, sizeof *l->v)))) {
        return c->rc = -ENOMEM;
    }
    for (uint32_t s = 0; s < c->nsrcs; s++) {
        const char *ns = c->srcs[s].ns;
        const Concord__Config__HttpConfig *h = c->srcs[s].cfg ? c->srcs[s].cfg->http : NULL;
        size_t n = section_count(h, sec);
        for (size_t i = 0; i < n; i++) {
            int rc;
            if (sec == SEC_ROUTERS) {
                const Router *r = h->routers[i];
                rc = add_cand(c, l, "routers", ns, str(r->name), r->mark, r);
            } else if (sec == SEC_MIDDLEWARES) {
                const Middleware *m = h->middlewares[i];
                rc = add_cand(c, l, "middlewares", ns, str(m->name), m->mark, m);
            } else {
                const Service *v = h->services[i];
                rc = add_cand(c, l, "services", ns, str(v->name), v->mark, v);
            }
            if (rc != 0) {
                return rc;
            }
        }
    }
    sort_and_flag_duplicates(c, l);
    return 0;
}

static void cands_fini(struct cands *l)
{
    for (uint32_t i = 0; i < l->n; i++) {
        free(l->v[i].full);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

static const struct cand *find_cand(const struct cands *l, const char *full)
{
    uint32_t lo = 0, hi = l->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int r = strcmp(full, l->v[mid].full);
        if (r == 0) {
            return &l->v[mid];
        }
        if (r < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}

/* ---- Services ---- */

/* Splits "http://host[:port][/path]" into *s. Returns NULL, or what is wrong. */
static const char *parse_url(const char *url, struct spec *s)
{
    const char *p, *end, *colon = NULL;
    if (url[0] == '\0') {
        return "empty url";
    }
    for (p = url; *p; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
            return "url holds a space, a control or a non-ASCII character";
        }
    }
    if (strpbrk(url, "?#") != NULL) {
        return "url must not have a query or a fragment";
    }
    p = strstr(url, "://");
    if (p == NULL) {
        return "url has no scheme (expected http://host[:port])";
    }
    if ((size_t)(p - url) == 5 && strncasecmp(url, "https", 5) == 0) {
        return "https upstreams come with TLS support";
    }
    if ((size_t)(p - url) != 4 || strncasecmp(url, "http", 4) != 0) {
        return "unsupported scheme (only http for now)";
    }
    s->auth_off = (size_t)(p + 3 - url);
    end = url + s->auth_off + strcspn(url + s->auth_off, "/");
    s->auth_len = (size_t)(end - (url + s->auth_off));
    s->path_off = (size_t)(end - url);
    p = url + s->auth_off;
    if (memchr(p, '@', s->auth_len) != NULL) {
        return "url must not carry user info";
    }
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (rb == NULL || rb == p + 1 || (rb + 1 < end && rb[1] != ':')) {
            return "bad [IPv6] host";
        }
        s->bracketed = true;
        colon = rb + 1 < end ? rb + 1 : NULL;
        p++;
        end = rb;
    } else {
        colon = memchr(p, ':', (size_t)(end - p));
        if (colon != NULL && memchr(colon + 1, ':', (size_t)(end - colon - 1)) != NULL) {
            return "bad host (an IPv6 address needs brackets)";
        }
    }
    const char *hend = colon && !s->bracketed ? colon : end;
    if (hend == p) {
        return "url has no host";
    }
    if ((size_t)(hend - p) >= sizeof s->host) {
        return "host name too long";
    }
    memcpy(s->host, p, (size_t)(hend - p));
    s->host[hend - p] = '\0';
    if (!s->bracketed && s->host[strspn(s->host, "abcdefghijklmnopqrstuvwxyz"
                                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_~")]) {
        return "bad character in host";
    }
    s->port = 80;
    if (colon != NULL) {
        const char *q = colon + 1, *pend = url + s->path_off;
        unsigned long port = 0;
        if (q == pend || pend - q > 5) {
            return "bad port";
        }
        for (; q < pend; q++) {
            if (*q < '0' || *q > '9') {
                return "bad port";
            }
            port = port * 10 + (unsigned long)(*q - '0');
        }
        if (port == 0 || port > 65535) {
            return "port out of range (1-65535)";
        }
        s->port = (uint16_t)port;
    }
    return NULL;
}

/* getaddrinfo for one TCP address; `flags` may ask for a numeric host only. */
static int lookup(const char *host, uint16_t port, int flags, struct sockaddr_storage *addr,
                  uint32_t *addrlen, struct err *e)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV | flags};
    struct addrinfo *res;
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%u", port);
    int rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0) {
        return err_set(e, -EHOSTUNREACH, "%s", gai_strerror(rc));
    }
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *addrlen = (uint32_t)res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* Checks one server line; appends its spec. Returns false when the service must go. */
static bool check_server(struct cctx *c, struct cand *k, uint32_t slot, const Server *sv)
{
    char path[400], field[80];
    struct spec s = {.url = str(sv->url),
                     .mark = sv->mark ? sv->mark : k->mark,
                     .svc = k,
                     .slot = slot,
                     .weight = 1};
    snprintf(field, sizeof field, "loadBalancer.servers[%u]", slot);
    const char *why = parse_url(s.url, &s);
    if (why != NULL) {
        snprintf(field, sizeof field, "loadBalancer.servers[%u].url", slot);
        report(c, DIAG_ERROR, s.mark, key(path, sizeof path, k, field), "%s: \"%s\"", why, s.url);
        return false;
    }
    if (lookup(s.host, s.port, AI_NUMERICHOST, &s.addr, &s.addrlen, NULL) != 0) {
        s.addrlen = 0;
        if (s.bracketed) {
            snprintf(field, sizeof field, "loadBalancer.servers[%u].url", slot);
            report(c, DIAG_ERROR, s.mark, key(path, sizeof path, k, field),
                   "bad IPv6 address \"%s\"", s.host);
            return false;
        }
    }
    if (sv->has_weight) {
        if (sv->weight < 0) {
            snprintf(field, sizeof field, "loadBalancer.servers[%u].weight", slot);
            report(c, DIAG_WARNING, s.mark, key(path, sizeof path, k, field),
                   "negative weight %d counts as 0: the server gets no traffic", (int)sv->weight);
        }
        s.weight = sv->weight < 0 ? 0 : (uint32_t)sv->weight;
    }
    if (c->nspecs == c->capspecs) {
        uint32_t cap = c->capspecs ? c->capspecs * 2 : 16;
        struct spec *v = realloc(c->specs, cap * sizeof *v);
        if (v == NULL) {
            c->rc = -ENOMEM;
            return false;
        }
        c->specs = v;
        c->capspecs = cap;
    }
    c->specs[c->nspecs++] = s;
    return true;
}

/* Validates one service; on success its servers are specs[k->spec0 .. +k->nspec). */
static void check_service(struct cctx *c, struct cand *k)
{
    char path[400];
    const Service *v = k->msg;
    const LoadBalancer *lb =
        v->kind_case == CONCORD__CONFIG__SERVICE__KIND_LOAD_BALANCER ? v->load_balancer : NULL;
    uint32_t positive = 0;
    if (lb == NULL) {
        report(c, DIAG_ERROR, k->mark, key(path, sizeof path, k, ""),
               "service has no loadBalancer");
        k->ok = false;
        return;
    }
    k->spec0 = c->nspecs;
    for (size_t i = 0; i < lb->n_servers && k->ok; i++) {
        k->ok = check_server(c, k, (uint32_t)i, lb->servers[i]);
        positive += k->ok && c->specs[c->nspecs - 1].weight > 0;
    }
    if (!k->ok) {
        c->nspecs = k->spec0; /* drop the servers already checked */
        return;
    }
    k->nspec = c->nspecs - k->spec0;
    if (str(lb->servers_transport)[0] != '\0') {
        report(c, DIAG_WARNING, lb->mark ? lb->mark : k->mark,
               key(path, sizeof path, k, "loadBalancer.serversTransport"),
               "serversTransport is not supported yet and is ignored");
    }
    if (positive == 0) {
        report(c, DIAG_WARNING, k->mark, key(path, sizeof path, k, "loadBalancer.servers"),
               "%s; requests to this service get 503",
               k->nspec == 0 ? "no servers" : "no server has a positive weight");
    }
}

static int default_resolve(void *arg, const char *host, uint16_t port,
                           struct sockaddr_storage *addr, uint32_t *addrlen, struct err *e)
{
    return lookup(host, port, 0, addr, addrlen, e);
}

/* Resolves a server named by host name (IP literals were done in check_server). Only when a
 * table is really built: a dry run must not depend on this machine's DNS. */
static void resolve_name(struct cctx *c, const struct spec *s, struct table_server *srv)
{
    char path[400], field[80];
    struct err e = {0};
    table_resolve_fn fn = c->o->resolve ? c->o->resolve : default_resolve;
    if (c->dry || s->addrlen > 0) {
        return;
    }
    if (fn(c->o->resolve_arg, s->host, s->port, &srv->addr, &srv->addrlen, &e) != 0) {
        srv->addrlen = 0;
        snprintf(field, sizeof field, "loadBalancer.servers[%u].url", s->slot);
        report(c, DIAG_WARNING, s->mark, key(path, sizeof path, s->svc, field),
               "cannot resolve \"%s\" (%s); requests sent to this server get 502", s->host,
               e.msg[0] ? e.msg : "no address");
    }
}

static int spec_by_url(const void *a, const void *b)
{
    const struct spec *const *x = a, *const *y = b;
    int r = strcmp((*x)->url, (*y)->url);
    return r != 0 ? r : ((*x) > (*y)) - ((*x) < (*y));
}

static int fill_server(struct cctx *c, const struct spec *s, struct table_server *srv, uint32_t id)
{
    srv->id = id;
    srv->weight = s->weight;
    srv->url = dup_or_fail(c, s->url, strlen(s->url));
    srv->authority = dup_or_fail(c, s->url + s->auth_off, s->auth_len);
    srv->path = dup_or_fail(c, s->url + s->path_off, strlen(s->url + s->path_off));
    memcpy(&srv->addr, &s->addr, sizeof srv->addr);
    srv->addrlen = s->addrlen;
    resolve_name(c, s, srv);
    return c->rc;
}

/* One table_server per distinct URL, numbered in URL order; sets every spec's `server`. */
static int build_servers(struct cctx *c)
{
    struct spec **by_url = calloc(c->nspecs ? c->nspecs : 1, sizeof *by_url);
    uint32_t n = 0;
    if (by_url == NULL ||
        (c->nspecs > 0 && !(c->parts.servers = calloc(c->nspecs, sizeof *c->parts.servers)))) {
        free(by_url);
        return c->rc = -ENOMEM;
    }
    for (uint32_t i = 0; i < c->nspecs; i++) {
        by_url[i] = &c->specs[i];
    }
    if (c->nspecs > 1) {
        qsort(by_url, c->nspecs, sizeof *by_url, spec_by_url);
    }
    for (uint32_t i = 0; i < c->nspecs && c->rc == 0; i++) {
        if (i == 0 || strcmp(by_url[i]->url, by_url[i - 1]->url) != 0) {
            c->parts.nservers = n + 1; /* counted before filling, so fini frees a partial one */
            fill_server(c, by_url[i], &c->parts.servers[n], n);
            n++;
        }
        by_url[i]->server = n - 1;
    }
    free(by_url);
    return c->rc;
}

static int fill_service(struct cctx *c, struct cand *k, struct table_service *ts, uint32_t id)
{
    const Service *v = k->msg;
    const LoadBalancer *lb = v->load_balancer;
    k->id = id;
    ts->id = id;
    ts->pass_host_header = lb->has_pass_host_header ? lb->pass_host_header : true;
    ts->name = dup_or_fail(c, k->full, strlen(k->full));
    ts->nservers = k->nspec;
    ts->servers = calloc(k->nspec ? k->nspec : 1, sizeof *ts->servers);
    ts->weights = calloc(k->nspec ? k->nspec : 1, sizeof *ts->weights);
    if (ts->servers == NULL || ts->weights == NULL) {
        return c->rc = -ENOMEM;
    }
    for (uint32_t i = 0; i < k->nspec; i++) {
        const struct spec *s = &c->specs[k->spec0 + i];
        ts->servers[i] = &c->parts.servers[s->server];
        ts->weights[i] = s->weight;
    }
    return c->rc;
}

static int compile_services(struct cctx *c)
{
    uint32_t nok = 0;
    if (collect(c, &c->svcs, SEC_SERVICES) != 0) {
        return c->rc;
    }
    for (uint32_t i = 0; i < c->svcs.n && c->rc == 0; i++) {
        if (c->svcs.v[i].ok) {
            check_service(c, &c->svcs.v[i]);
            nok += c->svcs.v[i].ok;
        }
    }
    if (c->rc != 0 || build_servers(c) != 0) {
        return c->rc;
    }
    if (nok > 0 && !(c->parts.services = calloc(nok, sizeof *c->parts.services))) {
        return c->rc = -ENOMEM;
    }
    /* Candidates are sorted by name, so the services are too, as table_service_find needs. */
    for (uint32_t i = 0; i < c->svcs.n && c->rc == 0; i++) {
        if (c->svcs.v[i].ok) {
            uint32_t id = c->parts.nservices++;
            fill_service(c, &c->svcs.v[i], &c->parts.services[id], id);
        }
    }
    return c->rc;
}

/* ---- Routers ---- */

static bool check_rule(struct cctx *c, const struct cand *k, struct table_router *tr)
{
    char path[400];
    const Router *r = k->msg;
    const char *syntax = str(r->rule_syntax);
    struct err e = {0};
    struct rule *rule = NULL;
    bool ok = true;
    enum rule_syntax rs = strcmp(syntax, "v2") == 0 ? RULE_V2 : RULE_V3;
    if (syntax[0] != '\0' && strcmp(syntax, "v3") != 0 && rs != RULE_V2) {
        report(c, DIAG_ERROR, k->mark, key(path, sizeof path, k, "ruleSyntax"),
               "unknown ruleSyntax \"%s\" (v2 or v3)", syntax);
        ok = false;
    }
    int rc = rule_parse_syntax(str(r->rule), rs, &rule, &e);
    if (rc == -ENOMEM) {
        c->rc = rc;
        return false;
    }
    if (rc != 0) {
        /* The key path already says "rule". */
        const char *msg = strncmp(e.msg, "rule: ", 6) == 0 ? e.msg + 6 : e.msg;
        report(c, DIAG_ERROR, k->mark, key(path, sizeof path, k, "rule"), "%s", msg);
        return false;
    }
    tr->compiled = rule;
    tr->priority = r->priority != 0 ? r->priority : (int64_t)strlen(str(r->rule));
    if (r->priority > MAX_USER_PRIORITY) {
        report(c, DIAG_ERROR, k->mark, key(path, sizeof path, k, "priority"),
               "priority %lld is above the maximum %lld", (long long)r->priority,
               (long long)MAX_USER_PRIORITY);
        ok = false;
    }
    return ok;
}

static bool check_service_ref(struct cctx *c, const struct cand *k, struct table_router *tr)
{
    char path[400];
    const Router *r = k->msg;
    const char *ref = str(r->service);
    key(path, sizeof path, k, "service");
    if (ref[0] == '\0') {
        report(c, DIAG_ERROR, k->mark, path, "router has no service");
        return false;
    }
    char *full = strchr(ref, '@') ? dup_or_fail(c, ref, strlen(ref))
                                  : printf_or_fail(c, "%s@%s", ref, k->ns);
    if (full == NULL) {
        return false;
    }
    const struct cand *s = find_cand(&c->svcs, full);
    if (s == NULL) {
        report(c, DIAG_ERROR, k->mark, path, "service \"%s\" does not exist", full);
    } else if (!s->ok) {
        report(c, DIAG_ERROR, k->mark, path, "service \"%s\" is disabled by its own errors", full);
    } else {
        tr->service = &c->parts.services[s->id];
    }
    free(full);
    return tr->service != NULL;
}

/* "x" -> "x@ns"; NULL (and c->rc) on ENOMEM. */
static char *qualify(struct cctx *c, const char *ns, const char *ref)
{
    return strchr(ref, '@') ? dup_or_fail(c, ref, strlen(ref)) : printf_or_fail(c, "%s@%s", ref, ns);
}

/* Appends the leaves that reference `ref` (from namespace `ns`) stands for to *list. Returns
 * false after reporting (at `m`, `path`) a reference that does not resolve. */
static bool add_mw_ref(struct cctx *c, const char *ns, const char *ref, const Mark *m,
                       const char *path, const struct table_middleware ***list, uint32_t *n)
{
    char *full = qualify(c, ns, ref);
    const struct cand *k;
    bool ok = false;
    if (full == NULL) {
        return false;
    }
    k = find_cand(&c->mws, full);
    if (k == NULL) {
        report(c, DIAG_ERROR, m, path, "middleware \"%s\" does not exist", full);
    } else if (!k->ok) {
        report(c, DIAG_ERROR, m, path, "middleware \"%s\" is disabled by %s", full,
               c->mwi[k - c->mws.v].type_key ? "its own errors" : "a type not supported yet");
    } else {
        const struct mwinfo *mi = &c->mwi[k - c->mws.v];
        uint32_t add = mi->kind == MW_CHAIN ? mi->nleaves : 1;
        const struct table_middleware **v = realloc((void *)*list, (*n + add) * sizeof *v);
        if (v == NULL) {
            c->rc = -ENOMEM;
        } else {
            *list = v;
            for (uint32_t i = 0; i < add; i++) {
                uint32_t leaf = mi->kind == MW_CHAIN ? mi->leaves[i] : (uint32_t)(k - c->mws.v);
                v[(*n)++] = &c->parts.middlewares[c->mws.v[leaf].id];
            }
            ok = true;
        }
    }
    free(full);
    return ok;
}

static bool check_middlewares(struct cctx *c, const struct cand *k, struct table_router *tr)
{
    char path[400], field[80];
    const Router *r = k->msg;
    const struct table_middleware **list = NULL;
    uint32_t n = 0;
    bool ok = true;
    for (size_t i = 0; i < r->n_middlewares && c->rc == 0; i++) {
        snprintf(field, sizeof field, "middlewares[%zu]", i);
        ok = add_mw_ref(c, k->ns, str(r->middlewares[i]), k->mark,
                        key(path, sizeof path, k, field), &list, &n) && ok;
    }
    if (!ok || c->rc != 0 || n == 0) {
        free(list);
        return ok;
    }
    tr->mws = list;
    tr->nmws = n;
    return true;
}

/* ---- Middlewares ---- */

static const struct table_service *mw_find_service(void *arg, const char *ns, const char *ref,
                                                   const char **why)
{
    struct cctx *c = arg;
    char *full = qualify(c, ns, ref);
    const struct cand *k = full ? find_cand(&c->svcs, full) : NULL;
    free(full);
    *why = k == NULL ? "does not exist" : !k->ok ? "is disabled by its own errors" : NULL;
    return k && k->ok ? &c->parts.services[k->id] : NULL;
}

static void compile_one_mw(struct cctx *c, struct cand *k, struct mwinfo *mi)
{
    char path[400];
    const Middleware *m = k->msg;
    struct mwc_ctx mc;
    mwc_compile_fn fn;
    int rc;
    if (!mwc_kind_of(m, &mi->kind, &mi->type_key)) {
        /* The decoder reported it: no type at all is an error there, a Traefik type Concord
         * lacks (circuitBreaker...) a warning. Disabled either way; a router using it is the
         * error. */
        mi->type_key = NULL;
        k->ok = false;
        return;
    }
    if (mi->kind == MW_CHAIN) {
        return; /* flattened once every middleware is known */
    }
    key(path, sizeof path, k, mi->type_key);
    fn = mwc_compiler(mi->kind);
    if (fn == NULL) {
        /* Refused rather than skipped: a router must never serve without its auth. */
        report(c, DIAG_ERROR, k->mark, path, "middleware type %s is not supported yet",
               mi->type_key);
        k->ok = false;
        return;
    }
    mc = (struct mwc_ctx){.d = c->d, .mark = k->mark, .path = path, .ns = k->ns, .dry = c->dry,
                          .find_service = mw_find_service, .arg = c};
    rc = fn(&mc, m, &mi->built);
    if (rc == -ENOMEM) {
        c->rc = rc;
    }
    if (rc != 0) {
        if (mi->built.conf != NULL && mi->built.conf_free != NULL) {
            mi->built.conf_free(mi->built.conf);
        }
        memset(&mi->built, 0, sizeof mi->built);
        k->ok = false;
    }
}

/* Flattens a chain into the leaves it stands for; a cycle, a missing or disabled member
 * disables the chain (and so every chain and router that uses it). */
static bool flatten_chain(struct cctx *c, uint32_t idx)
{
    char path[400], field[80];
    struct cand *k = &c->mws.v[idx];
    struct mwinfo *mi = &c->mwi[idx];
    const Concord__Config__Chain *ch = ((const Middleware *)k->msg)->chain;
    if (mi->visit == 2) {
        return k->ok;
    }
    if (mi->visit == 1) {
        report(c, DIAG_ERROR, k->mark, key(path, sizeof path, k, "chain.middlewares"),
               "chain %s includes itself", k->full);
        return false;
    }
    mi->visit = 1;
    for (size_t i = 0; k->ok && ch != NULL && i < ch->n_middlewares && c->rc == 0; i++) {
        char *full = qualify(c, k->ns, str(ch->middlewares[i]));
        struct cand *m = full ? (struct cand *)find_cand(&c->mws, full) : NULL;
        snprintf(field, sizeof field, "chain.middlewares[%zu]", i);
        key(path, sizeof path, k, field);
        if (full == NULL) {
            break;
        }
        if (m == NULL) {
            report(c, DIAG_ERROR, ch->mark ? ch->mark : k->mark, path,
                   "middleware \"%s\" does not exist", full);
            k->ok = false;
        } else if (c->mwi[m - c->mws.v].kind == MW_CHAIN && m->ok &&
                   !flatten_chain(c, (uint32_t)(m - c->mws.v))) {
            if (c->mwi[m - c->mws.v].visit == 1) {
                report(c, DIAG_ERROR, ch->mark ? ch->mark : k->mark, path,
                       "chain cycle through \"%s\"", full);
            } else {
                report(c, DIAG_ERROR, ch->mark ? ch->mark : k->mark, path,
                       "middleware \"%s\" is disabled by its own errors", full);
            }
            k->ok = false;
        } else if (!m->ok) {
            report(c, DIAG_ERROR, ch->mark ? ch->mark : k->mark, path,
                   "middleware \"%s\" is disabled by its own errors", full);
            k->ok = false;
        } else {
            const struct mwinfo *sub = &c->mwi[m - c->mws.v];
            uint32_t add = sub->kind == MW_CHAIN ? sub->nleaves : 1;
            uint32_t *v = realloc(mi->leaves, (mi->nleaves + add) * sizeof *v);
            if (v == NULL) {
                c->rc = -ENOMEM;
            } else {
                mi->leaves = v;
                for (uint32_t j = 0; j < add; j++) {
                    v[mi->nleaves++] = sub->kind == MW_CHAIN ? sub->leaves[j]
                                                             : (uint32_t)(m - c->mws.v);
                }
            }
        }
        free(full);
    }
    mi->visit = 2;
    return k->ok;
}

static int compile_middlewares(struct cctx *c)
{
    uint32_t nok = 0;
    if (collect(c, &c->mws, SEC_MIDDLEWARES) != 0) {
        return c->rc;
    }
    if (c->mws.n > 0 && !(c->mwi = calloc(c->mws.n, sizeof *c->mwi))) {
        return c->rc = -ENOMEM;
    }
    for (uint32_t i = 0; i < c->mws.n && c->rc == 0; i++) {
        if (c->mws.v[i].ok) {
            compile_one_mw(c, &c->mws.v[i], &c->mwi[i]);
        }
    }
    for (uint32_t i = 0; i < c->mws.n && c->rc == 0; i++) {
        if (c->mws.v[i].ok && c->mwi[i].kind == MW_CHAIN) {
            flatten_chain(c, i);
        }
    }
    for (uint32_t i = 0; i < c->mws.n; i++) {
        nok += c->mws.v[i].ok;
    }
    if (c->rc != 0) {
        return c->rc;
    }
    if (nok > 0 && !(c->parts.middlewares = calloc(nok, sizeof *c->parts.middlewares))) {
        return c->rc = -ENOMEM;
    }
    /* Name order, as table_middleware_find needs; the built objects move into the parts. */
    for (uint32_t i = 0; i < c->mws.n && c->rc == 0; i++) {
        struct cand *k = &c->mws.v[i];
        struct table_middleware *tm;
        if (!k->ok) {
            continue;
        }
        k->id = c->parts.nmiddlewares++;
        tm = &c->parts.middlewares[k->id];
        *tm = c->mwi[i].built;
        memset(&c->mwi[i].built, 0, sizeof c->mwi[i].built);
        tm->kind = c->mwi[i].kind;
        tm->id = k->id;
        tm->name = dup_or_fail(c, k->full, strlen(k->full));
    }
    return c->rc;
}

static void mwinfo_free(struct cctx *c)
{
    for (uint32_t i = 0; c->mwi != NULL && i < c->mws.n; i++) {
        struct mwinfo *mi = &c->mwi[i];
        if (mi->built.conf != NULL && mi->built.conf_free != NULL) {
            mi->built.conf_free(mi->built.conf);
        }
        free(mi->leaves);
    }
    free(c->mwi);
    c->mwi = NULL;
}

/* Entry point names -> bits; names this node lacks are warnings (docs: "Entry points"). */
static void attach_entrypoints(struct cctx *c, const struct cand *k, struct table_router *tr)
{
    char path[400], field[80];
    const Router *r = k->msg;
    uint32_t n = c->o->n_entrypoints;
    if (r->n_entry_points == 0) {
        tr->entrypoints = n == 64 ? UINT64_MAX : (UINT64_C(1) << n) - 1;
        return;
    }
    for (size_t i = 0; i < r->n_entry_points; i++) {
        const char *name = str(r->entry_points[i]);
        uint32_t b = 0;
        while (b < n && strcmp(c->o->entrypoints[b], name) != 0) {
            b++;
        }
        if (b < n) {
            tr->entrypoints |= UINT64_C(1) << b;
            continue;
        }
        snprintf(field, sizeof field, "entryPoints[%zu]", i);
        report(c, DIAG_WARNING, k->mark, key(path, sizeof path, k, field),
               "entry point \"%s\" is not defined on this node", name);
    }
}

static void compile_router(struct cctx *c, const struct cand *k)
{
    struct table_router *tr = &c->parts.routers[c->parts.nrouters];
    const Router *r = k->msg;
    bool ok = check_rule(c, k, tr);
    ok = check_service_ref(c, k, tr) && ok;
    ok = check_middlewares(c, k, tr) && ok;
    if (!ok || c->rc != 0) {
        rule_free((struct rule *)tr->compiled);
        free((void *)tr->mws);
        memset(tr, 0, sizeof *tr);
        return;
    }
    attach_entrypoints(c, k, tr);
    c->parts.nrouters++; /* counted before the copies, so fini frees a partial one */
    tr->name = dup_or_fail(c, k->full, strlen(k->full));
    tr->rule = dup_or_fail(c, str(r->rule), strlen(str(r->rule)));
}

static int compile_routers(struct cctx *c)
{
    if (collect(c, &c->rts, SEC_ROUTERS) != 0) {
        return c->rc;
    }
    if (c->rts.n > 0 && !(c->parts.routers = calloc(c->rts.n, sizeof *c->parts.routers))) {
        return c->rc = -ENOMEM;
    }
    for (uint32_t i = 0; i < c->rts.n && c->rc == 0; i++) {
        if (c->rts.v[i].ok) {
            compile_router(c, &c->rts.v[i]);
        }
    }
    return c->rc;
}

static bool bad_ns(const char *ns)
{
    return ns == NULL || ns[0] == '\0' || strchr(ns, '@') != NULL;
}

int table_compile(const struct table_source *srcs, uint32_t nsrcs,
                  const struct table_compile_opts *o, struct table **out, struct diags *d)
{
    struct diags local;
    struct cctx c = {.srcs = srcs, .nsrcs = nsrcs, .o = o, .d = d, .dry = out == NULL};
    if (o->n_entrypoints > 64) {
        return -EINVAL;
    }
    if (d == NULL) {
        diags_init(&local);
        c.d = &local;
    }
    for (uint32_t i = 0; i < nsrcs; i++) {
        if (bad_ns(srcs[i].ns)) {
            return -EINVAL;
        }
    }
    if (compile_services(&c) == 0 && compile_middlewares(&c) == 0) {
        compile_routers(&c);
    }
    mwinfo_free(&c);
    cands_fini(&c.svcs);
    cands_fini(&c.rts);
    cands_fini(&c.mws);
    free(c.specs);
    if (d == NULL) {
        diags_fini(&local);
    }
    if (c.rc != 0 || out == NULL) {
        table_parts_fini(&c.parts);
        return c.rc;
    }
    *out = table_assemble(&c.parts, o->generation);
    return *out ? 0 : -ENOMEM;
}
