/* Services: the loadBalancer's servers (URL parsing, resolution, deduplication into the
 * table's shared servers) and the driver that compiles every service (compile-int.h). */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/table/compile-int.h"

typedef Concord__Config__Server Server;
typedef Concord__Config__LoadBalancer LoadBalancer;
typedef Concord__Config__Service Service;

static char *dupn(struct cctx *c, const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (p == NULL) {
        c->rc = -ENOMEM;
    }
    return p;
}

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
    struct spec s = {.url = cc_str(sv->url),
                     .mark = sv->mark ? sv->mark : k->mark,
                     .svc = k,
                     .slot = slot,
                     .weight = 1};
    snprintf(field, sizeof field, "loadBalancer.servers[%u]", slot);
    const char *why = parse_url(s.url, &s);
    if (why != NULL) {
        snprintf(field, sizeof field, "loadBalancer.servers[%u].url", slot);
        cc_report(c, DIAG_ERROR, s.mark, cc_key(path, sizeof path, k, field), "%s: \"%s\"", why, s.url);
        return false;
    }
    if (lookup(s.host, s.port, AI_NUMERICHOST, &s.addr, &s.addrlen, NULL) != 0) {
        s.addrlen = 0;
        if (s.bracketed) {
            snprintf(field, sizeof field, "loadBalancer.servers[%u].url", slot);
            cc_report(c, DIAG_ERROR, s.mark, cc_key(path, sizeof path, k, field),
                   "bad IPv6 address \"%s\"", s.host);
            return false;
        }
    }
    if (sv->has_weight) {
        if (sv->weight < 0) {
            snprintf(field, sizeof field, "loadBalancer.servers[%u].weight", slot);
            cc_report(c, DIAG_WARNING, s.mark, cc_key(path, sizeof path, k, field),
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

/* Validates one service; on success a loadBalancer's servers are specs[k->spec0 .. +nspec).
 * The other kinds and the loadBalancer's extras are compile_svc_kinds.c's. */
static void check_service(struct cctx *c, struct cand *k)
{
    char path[400];
    const Service *v = k->msg;
    const LoadBalancer *lb =
        v->kind_case == CONCORD__CONFIG__SERVICE__KIND_LOAD_BALANCER ? v->load_balancer : NULL;
    uint32_t positive = 0;
    if (v->kind_case == CONCORD__CONFIG__SERVICE__KIND__NOT_SET) {
        cc_report(c, DIAG_ERROR, k->mark, cc_key(path, sizeof path, k, ""),
                  "service has no kind (loadBalancer, weighted, mirroring or failover)");
        k->ok = false;
        return;
    }
    if (lb == NULL) {
        k->ok = svc_check(c, k);
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
    if (!svc_check(c, k)) {
        k->ok = false;
        c->nspecs = k->spec0;
        k->nspec = 0;
        return;
    }
    if (positive == 0) {
        cc_report(c, DIAG_WARNING, k->mark, cc_key(path, sizeof path, k, "loadBalancer.servers"),
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
        cc_report(c, DIAG_WARNING, s->mark, cc_key(path, sizeof path, s->svc, field),
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
    srv->url = dupn(c, s->url, strlen(s->url));
    srv->authority = dupn(c, s->url + s->auth_off, s->auth_len);
    srv->path = dupn(c, s->url + s->path_off, strlen(s->url + s->path_off));
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

static int fill_service(struct cctx *c, struct cand *k, struct table_service *ts)
{
    const Service *v = k->msg;
    const LoadBalancer *lb = v->load_balancer;
    ts->id = k->id;
    ts->name = dupn(c, k->full, strlen(k->full));
    if (v->kind_case != CONCORD__CONFIG__SERVICE__KIND_LOAD_BALANCER) {
        ts->pass_host_header = true; /* unused: the loadBalancer that serves decides */
        return c->rc != 0 ? c->rc : svc_fill(c, k, ts);
    }
    ts->kind = TABLE_SVC_LB;
    ts->pass_host_header = lb->has_pass_host_header ? lb->pass_host_header : true;
    ts->nservers = k->nspec;
    ts->servers = calloc(k->nspec ? k->nspec : 1, sizeof *ts->servers);
    ts->weights = calloc(k->nspec ? k->nspec : 1, sizeof *ts->weights);
    ts->sticky_values = calloc(k->nspec ? k->nspec : 1, sizeof *ts->sticky_values);
    if (ts->servers == NULL || ts->weights == NULL || ts->sticky_values == NULL) {
        return c->rc = -ENOMEM;
    }
    for (uint32_t i = 0; i < k->nspec; i++) {
        const struct spec *s = &c->specs[k->spec0 + i];
        ts->servers[i] = &c->parts.servers[s->server];
        ts->weights[i] = s->weight;
        table_sticky_value(s->url, ts->sticky_values[i]);
    }
    return c->rc != 0 ? c->rc : svc_fill(c, k, ts);
}

int compile_services(struct cctx *c)
{
    uint32_t nok = 0;
    if (cc_collect_services(c) != 0 || svc_prepare(c) != 0) {
        return c->rc;
    }
    for (uint32_t i = 0; i < c->svcs.n && c->rc == 0; i++) {
        if (c->svcs.v[i].ok) {
            check_service(c, &c->svcs.v[i]);
        }
    }
    /* References between services (weighted, mirroring, failover) may point at services
     * compiled later in name order: they are resolved once every service was checked. */
    if (c->rc != 0 || svc_check_refs(c) != 0 || build_servers(c) != 0) {
        return c->rc;
    }
    for (uint32_t i = 0; i < c->svcs.n; i++) {
        nok += c->svcs.v[i].ok;
    }
    if (nok > 0 && !(c->parts.services = calloc(nok, sizeof *c->parts.services))) {
        return c->rc = -ENOMEM;
    }
    /* Ids first (children point at services filled later); candidates are sorted by name, so
     * the services are too, as table_service_find needs. */
    for (uint32_t i = 0; i < c->svcs.n; i++) {
        if (c->svcs.v[i].ok) {
            c->svcs.v[i].id = c->parts.nservices++;
        }
    }
    for (uint32_t i = 0; i < c->svcs.n && c->rc == 0; i++) {
        if (c->svcs.v[i].ok) {
            fill_service(c, &c->svcs.v[i], &c->parts.services[c->svcs.v[i].id]);
        }
    }
    return c->rc;
}
