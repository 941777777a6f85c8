/* Running containers (Engine API inspect documents) into one Config, as Traefik's Docker
 * provider builds it: per-container labels, default services and routers, then the merge. */
#include "providers/docker_decode.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "providers/decode.h"
#include "providers/docker_template.h"
#include "providers/labels.h"

typedef Concord__Config__Config Config;
typedef Concord__Config__HttpConfig HttpConfig;
typedef Concord__Config__Service Service;
typedef Concord__Config__Server Server;

#define NAME_MAX_LEN 256
#define RULE_MAX_LEN 4096

/* One container's facts, borrowed from its inspect document. */
struct ctr {
    const struct doc_node *doc;
    const char *id;
    char name[NAME_MAX_LEN];    /* "web-1" (the leading "/" removed) */
    char service[NAME_MAX_LEN]; /* normalized service name */
    char source[NAME_MAX_LEN + 16];
    struct label_kv *kv;
    size_t nkv;
    const char *health;   /* "" when it has no health check */
    const char *net_mode; /* HostConfig.NetworkMode, "" when absent */
};

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (p == NULL) {
        abort(); /* as the other decoders: no sane way on without memory */
    }
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (p == NULL) {
        abort();
    }
    return p;
}

/* Appends one pointer slot to a protobuf-c repeated field. */
static void push(void ***arr, size_t *n, void *item)
{
    void **grown = realloc(*arr, (*n + 1) * sizeof **arr);
    if (grown == NULL) {
        abort();
    }
    grown[(*n)++] = item;
    *arr = grown;
}

__attribute__((format(printf, 3, 4))) static void cerr(struct diags *d, const struct ctr *c,
                                                       const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diags_add(d, DIAG_ERROR, c->source, 0, 0, "", "%s", msg);
}

/* The scalar text under a path of map keys, or NULL. */
static const char *str_at(const struct doc_node *n, const char *k1, const char *k2, const char *k3)
{
    const char *keys[3] = {k1, k2, k3};
    for (int i = 0; i < 3 && keys[i] != NULL; i++) {
        n = doc_map_get(n, keys[i]);
    }
    if (n == NULL || n->kind != DOC_SCALAR || doc_is_null(n)) {
        return NULL;
    }
    return n->str;
}

static const char *label(const struct ctr *c, const char *key)
{
    for (size_t i = 0; i < c->nkv; i++) {
        if (strcmp(c->kv[i].key, key) == 0) {
            return c->kv[i].value;
        }
    }
    return NULL;
}

/* Go's strconv.ParseBool, which Traefik's label decoder uses. */
static int parse_bool(const char *s, bool *out)
{
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < 6; i++) {
        if (strcmp(s, t[i]) == 0 || strcmp(s, f[i]) == 0) {
            *out = strcmp(s, t[i]) == 0;
            return 0;
        }
    }
    return -EINVAL;
}

static void read_container(const struct doc_node *doc, struct ctr *c)
{
    const struct doc_node *labels = doc_map_get(doc_map_get(doc, "Config"), "Labels");
    const char *name = str_at(doc, "Name", NULL, NULL), *proj, *svc;
    char raw[2 * NAME_MAX_LEN];
    memset(c, 0, sizeof *c);
    c->doc = doc;
    c->id = str_at(doc, "Id", NULL, NULL);
    if (c->id == NULL) {
        c->id = "";
    }
    if (name == NULL || name[0] == '\0') {
        name = c->id;
    }
    snprintf(c->name, sizeof c->name, "%s", name[0] == '/' ? name + 1 : name);
    snprintf(c->source, sizeof c->source, "container %s", c->name);
    if (labels != NULL && labels->kind == DOC_MAP) {
        c->kv = xcalloc(labels->n, sizeof *c->kv);
        for (size_t i = 0; i < labels->n; i++) {
            const struct doc_node *v = labels->pairs[i].value;
            if (v->kind == DOC_SCALAR) {
                c->kv[c->nkv++] = (struct label_kv){labels->pairs[i].key->str, v->str};
            }
        }
    }
    c->health = str_at(doc, "State", "Health", "Status");
    c->health = c->health ? c->health : "";
    c->net_mode = str_at(doc, "HostConfig", "NetworkMode", NULL);
    c->net_mode = c->net_mode ? c->net_mode : "";
    proj = label(c, "com.docker.compose.project");
    svc = label(c, "com.docker.compose.service");
    if (proj != NULL && proj[0] != '\0' && svc != NULL && svc[0] != '\0') {
        snprintf(raw, sizeof raw, "%s_%s", svc, proj);
    } else {
        snprintf(raw, sizeof raw, "%s", c->name);
    }
    docker_normalize(raw, c->service, sizeof c->service);
}

/* ---- the container's address ---- */

static const char *network_ip(const struct doc_node *net)
{
    const char *ip = str_at(net, "IPAddress", NULL, NULL);
    if (ip == NULL || ip[0] == '\0') {
        ip = str_at(net, "GlobalIPv6Address", NULL, NULL);
    }
    return ip ? ip : "";
}

static const struct ctr *find_ctr(const struct ctr *all, size_t n, const char *ref)
{
    size_t len = strlen(ref);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(all[i].name, ref[0] == '/' ? ref + 1 : ref) == 0 ||
            (len >= 12 && strncmp(all[i].id, ref, len) == 0)) {
            return &all[i];
        }
    }
    return NULL;
}

/* Traefik's getIPAddress: the named network's address, else the host's for host networking,
 * else the joined container's, else the first network's (by name, for a stable result). */
static const char *container_ip(const struct ctr *all, size_t nall, const struct ctr *c,
                                const char *network, const char *host_ip, int depth,
                                struct diags *d)
{
    const struct doc_node *nets = doc_map_get(doc_map_get(c->doc, "NetworkSettings"), "Networks");
    const struct doc_node *first = NULL;
    const char *first_name = NULL;
    if (network != NULL && network[0] != '\0' && nets != NULL && nets->kind == DOC_MAP) {
        const struct doc_node *net = doc_map_get(nets, network);
        if (net != NULL) {
            return network_ip(net);
        }
        diags_add(d, DIAG_WARNING, c->source, 0, 0, "",
                  "network \"%s\" not found (missing the Compose project prefix?); using the "
                  "first network",
                  network);
    }
    if (strcmp(c->net_mode, "host") == 0) {
        return host_ip;
    }
    if (strncmp(c->net_mode, "container:", 10) == 0) {
        const struct ctr *other = find_ctr(all, nall, c->net_mode + 10);
        if (other == NULL || depth > 3) {
            cerr(d, c, "network mode \"%s\": that container is not running", c->net_mode);
            return "";
        }
        const char *net = label(other, "traefik.docker.network");
        return container_ip(all, nall, other, net ? net : network, host_ip, depth + 1, d);
    }
    for (size_t i = 0; nets != NULL && nets->kind == DOC_MAP && i < nets->n; i++) {
        if (first_name == NULL || strcmp(nets->pairs[i].key->str, first_name) < 0) {
            first_name = nets->pairs[i].key->str;
            first = nets->pairs[i].value;
        }
    }
    return first ? network_ip(first) : "";
}

/* The lowest port of NetworkSettings.Ports ("80/tcp"), "" when there is none. */
static void lowest_port(const struct ctr *c, char *out, size_t size)
{
    const struct doc_node *ports = doc_map_get(doc_map_get(c->doc, "NetworkSettings"), "Ports");
    long best = -1;
    out[0] = '\0';
    for (size_t i = 0; ports != NULL && ports->kind == DOC_MAP && i < ports->n; i++) {
        long p = strtol(ports->pairs[i].key->str, NULL, 10);
        p = p > 65535 ? -1 : p;
        if (p > 0 && (best < 0 || p < best)) {
            best = p;
        }
    }
    if (best > 0) {
        snprintf(out, size, "%ld", best);
    }
}

/* useBindPortIP: the first host binding of `port` (tcp or udp) with a specific IP. */
static bool bound(const struct ctr *c, const char *port, const char **ip, const char **hport)
{
    const struct doc_node *ports = doc_map_get(doc_map_get(c->doc, "NetworkSettings"), "Ports");
    size_t plen = strlen(port);
    for (size_t i = 0; ports != NULL && ports->kind == DOC_MAP && i < ports->n; i++) {
        const char *k = ports->pairs[i].key->str;
        const struct doc_node *b = ports->pairs[i].value;
        if (strncmp(k, port, plen) != 0 ||
            (strcasecmp(k + plen, "/tcp") != 0 && strcasecmp(k + plen, "/udp") != 0)) {
            continue;
        }
        if (b == NULL || b->kind != DOC_SEQ || b->n == 0) {
            return false;
        }
        *ip = str_at(b->items[0], "HostIp", NULL, NULL);
        *hport = str_at(b->items[0], "HostPort", NULL, NULL);
        return *ip != NULL && (*ip)[0] != '\0' && strcmp(*ip, "0.0.0.0") != 0 && *hport != NULL;
    }
    return false;
}

/* ---- one container's services and routers ---- */

struct build {
    const struct docker_opts *o;
    const char *host_ip;
    const struct ctr *all;
    size_t nall;
    struct diags *d;
};

static const struct labels_server *hint_for(const struct labels_servers *h, const char *svc)
{
    for (size_t i = 0; i < h->n; i++) {
        if (strcmp(h->v[i].service, svc) == 0) {
            return &h->v[i];
        }
    }
    return NULL;
}

static void drop_servers(Concord__Config__LoadBalancer *lb)
{
    for (size_t i = 0; i < lb->n_servers; i++) {
        concord__config__server__free_unpacked(lb->servers[i], NULL);
    }
    lb->n_servers = 0;
}

/* Traefik's addServer for one load balancer: servers[0] gets the container's URL. */
static int add_server(struct build *b, const struct ctr *c, Service *svc,
                      const struct labels_server *hint)
{
    Concord__Config__LoadBalancer *lb = svc->load_balancer;
    const char *ip, *port, *net = label(c, "traefik.docker.network"), *scheme;
    char lowest[24], url[600];
    if (lb->n_servers == 0) {
        Server *s = xcalloc(1, sizeof *s);
        concord__config__server__init(s);
        s->url = xstrdup("");
        push((void ***)&lb->servers, &lb->n_servers, s);
    }
    if (lb->servers[0]->url[0] != '\0') {
        if (hint != NULL && (hint->port != NULL || hint->scheme != NULL)) {
            cerr(b->d, c,
                 "service \"%s\": defining scheme or port is not allowed when url is "
                 "defined",
                 svc->name);
            return -EINVAL;
        }
        return 0;
    }
    port = hint ? hint->port : NULL;
    if (port == NULL) {
        lowest_port(c, lowest, sizeof lowest);
        port = lowest;
    }
    ip = NULL;
    if (b->o->use_bind_port_ip) {
        const char *bip, *bport;
        if (bound(c, port, &bip, &bport)) {
            ip = bip;
            port = bport;
        }
    }
    if (ip == NULL) {
        ip = container_ip(b->all, b->nall, c, net ? net : b->o->network, b->host_ip, 0, b->d);
    }
    if (ip[0] == '\0') {
        cerr(b->d, c, "service \"%s\": unable to find the IP address of the container", svc->name);
        return -EINVAL;
    }
    if (port[0] == '\0') {
        cerr(b->d, c,
             "service \"%s\": port is missing (set the label "
             "traefik.http.services.%s.loadbalancer.server.port)",
             svc->name, svc->name);
        return -EINVAL;
    }
    scheme = hint && hint->scheme ? hint->scheme : "http";
    snprintf(url, sizeof url, strchr(ip, ':') ? "%s://[%s]:%s" : "%s://%s:%s", scheme, ip, port);
    if (lb->servers[0]->url != protobuf_c_empty_string) {
        free(lb->servers[0]->url);
    }
    lb->servers[0]->url = xstrdup(url);
    return 0;
}

/* Traefik's buildServiceConfiguration: a default service, then every server. */
static int build_services(struct build *b, const struct ctr *c, HttpConfig *h,
                          const struct labels_servers *hints, bool healthy)
{
    if (h->n_services == 0) {
        Service *s = xcalloc(1, sizeof *s);
        concord__config__service__init(s);
        s->name = xstrdup(c->service);
        s->kind_case = CONCORD__CONFIG__SERVICE__KIND_LOAD_BALANCER;
        s->load_balancer = xcalloc(1, sizeof *s->load_balancer);
        concord__config__load_balancer__init(s->load_balancer);
        push((void ***)&h->services, &h->n_services, s);
    }
    for (size_t i = 0; i < h->n_services; i++) {
        Service *s = h->services[i];
        if (s->kind_case != CONCORD__CONFIG__SERVICE__KIND_LOAD_BALANCER) {
            continue; /* weighted, mirroring, failover: they name other services */
        }
        if (!healthy) {
            drop_servers(s->load_balancer); /* allowEmptyServices: kept, with no server */
            continue;
        }
        if (add_server(b, c, s, hint_for(hints, s->name)) != 0) {
            return -EINVAL;
        }
    }
    return 0;
}

/* Traefik's BuildRouterConfiguration: a default router, default rules, implied services. */
static void build_routers(struct build *b, const struct ctr *c, HttpConfig *h)
{
    const char *tpl = b->o->default_rule ? b->o->default_rule : DOCKER_DEFAULT_RULE;
    size_t keep = 0;
    if (h->n_routers == 0) {
        if (h->n_services > 1) {
            diags_add(b->d, DIAG_WARNING, c->source, 0, 0, "",
                      "no router created for the container: it has several services");
            return;
        }
        Concord__Config__Router *r = xcalloc(1, sizeof *r);
        concord__config__router__init(r);
        r->name = xstrdup(c->service);
        push((void ***)&h->routers, &h->n_routers, r);
    }
    for (size_t i = 0; i < h->n_routers; i++) {
        Concord__Config__Router *r = h->routers[i];
        bool ok = true;
        if (r->rule[0] == '\0') {
            char rule[RULE_MAX_LEN], msg[400];
            if (docker_render_rule(tpl, c->service, c->name, c->kv, c->nkv, rule, sizeof rule, msg,
                                   sizeof msg) != 0) {
                cerr(b->d, c, "router \"%s\": %s", r->name, msg);
                ok = false;
            } else if (rule[0] == '\0') {
                cerr(b->d, c, "router \"%s\": undefined rule (the defaultRule gave \"\")", r->name);
                ok = false;
            } else {
                if (r->rule != protobuf_c_empty_string) {
                    free(r->rule);
                }
                r->rule = xstrdup(rule);
            }
        }
        if (ok && r->service[0] == '\0') {
            if (h->n_services > 1) {
                cerr(b->d, c,
                     "router \"%s\": cannot be linked automatically with several "
                     "services; set its service label",
                     r->name);
                ok = false;
            } else if (h->n_services == 1) {
                if (r->service != protobuf_c_empty_string) {
                    free(r->service);
                }
                r->service = xstrdup(h->services[0]->name);
            }
        }
        if (ok) {
            h->routers[keep++] = r;
        } else {
            concord__config__router__free_unpacked(r, NULL);
        }
    }
    h->n_routers = keep;
}

/* ---- merging the containers' configurations (Traefik's provider.Merge) ---- */

/* Whether two messages are equal once their marks are left out. */
static bool same_but_marks(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    uint8_t *buf[2] = {NULL, NULL};
    size_t len[2];
    const ProtobufCMessage *m[2] = {a, b};
    bool same;
    for (int i = 0; i < 2; i++) {
        size_t n = protobuf_c_message_get_packed_size(m[i]);
        uint8_t *raw = xcalloc(n, 1);
        ProtobufCMessage *copy;
        protobuf_c_message_pack(m[i], raw);
        copy = protobuf_c_message_unpack(m[i]->descriptor, NULL, n, raw);
        free(raw);
        if (copy == NULL) {
            abort();
        }
        decode_strip_marks(copy); /* containers name themselves in marks */
        len[i] = protobuf_c_message_get_packed_size(copy);
        buf[i] = xcalloc(len[i], 1);
        protobuf_c_message_pack(copy, buf[i]);
        protobuf_c_message_free_unpacked(copy, NULL);
    }
    same = len[0] == len[1] && memcmp(buf[0], buf[1], len[0]) == 0;
    free(buf[0]);
    free(buf[1]);
    return same;
}

/* Every named message kind has its name as field 1. */
static const char *msg_name(const ProtobufCMessage *m)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, "name");
    return *(const char *const *)(const void *)((const char *)m + f->offset);
}

struct conflicts {
    char **names;
    size_t n;
};

static bool in_conflict(const struct conflicts *cf, const char *name)
{
    for (size_t i = 0; i < cf->n; i++) {
        if (strcmp(cf->names[i], name) == 0) {
            return true;
        }
    }
    return false;
}

/* Two services merge when everything but their servers is equal; the servers are united. */
static bool merge_service(Service *into, Service *from)
{
    Concord__Config__LoadBalancer *a = into->load_balancer, *b = from->load_balancer;
    size_t na, nb;
    bool same;
    if (into->kind_case != CONCORD__CONFIG__SERVICE__KIND_LOAD_BALANCER ||
        from->kind_case != CONCORD__CONFIG__SERVICE__KIND_LOAD_BALANCER) {
        return same_but_marks(&into->base, &from->base);
    }
    na = a->n_servers;
    nb = b->n_servers;
    a->n_servers = b->n_servers = 0;
    same = same_but_marks(&into->base, &from->base);
    a->n_servers = na;
    b->n_servers = nb;
    if (!same) {
        return false;
    }
    for (size_t i = 0; i < b->n_servers; i++) {
        bool dup = false;
        for (size_t k = 0; k < a->n_servers && !dup; k++) {
            dup = strcmp(a->servers[k]->url, b->servers[i]->url) == 0;
        }
        if (dup) {
            concord__config__server__free_unpacked(b->servers[i], NULL);
        } else {
            push((void ***)&a->servers, &a->n_servers, b->servers[i]);
        }
    }
    b->n_servers = 0;
    return true;
}

/* Moves the items of one container's list into the merged list. */
static void merge_list(ProtobufCMessage ***into, size_t *nto, ProtobufCMessage **from,
                       size_t *nfrom, bool services, struct conflicts *cf)
{
    for (size_t i = 0; i < *nfrom; i++) {
        ProtobufCMessage *m = from[i], *have = NULL;
        for (size_t k = 0; k < *nto && have == NULL; k++) {
            if (strcmp(msg_name((*into)[k]), msg_name(m)) == 0) {
                have = (*into)[k];
            }
        }
        if (have == NULL) {
            push((void ***)into, nto, m);
            continue;
        }
        bool ok = services ? merge_service((Service *)have, (Service *)m) : same_but_marks(have, m);
        if (!ok && !in_conflict(cf, msg_name(m))) {
            push((void ***)&cf->names, &cf->n, xstrdup(msg_name(m)));
        }
        protobuf_c_message_free_unpacked(m, NULL);
    }
    *nfrom = 0;
}

/* Drops the objects named in cf from a merged list, with an error each. */
static void drop_conflicts(ProtobufCMessage **v, size_t *n, struct conflicts *cf, const char *what,
                           struct diags *d)
{
    size_t keep = 0;
    for (size_t i = 0; i < *n; i++) {
        if (in_conflict(cf, msg_name(v[i]))) {
            diags_add(d, DIAG_ERROR, "docker", 0, 0, "",
                      "%s \"%s\" defined by several containers with different configurations; "
                      "dropped",
                      what, msg_name(v[i]));
            protobuf_c_message_free_unpacked(v[i], NULL);
        } else {
            v[keep++] = v[i];
        }
    }
    *n = keep;
    for (size_t i = 0; i < cf->n; i++) {
        free(cf->names[i]);
    }
    free(cf->names);
    cf->names = NULL;
    cf->n = 0;
}

static int cmp_msg_name(const void *a, const void *b)
{
    return strcmp(msg_name(*(ProtobufCMessage *const *)a), msg_name(*(ProtobufCMessage *const *)b));
}

static void sort_named(ProtobufCMessage **v, size_t n)
{
    if (n > 1) { /* qsort's base may not be NULL, even for no element */
        qsort(v, n, sizeof *v, cmp_msg_name);
    }
}

static int cmp_ctr(const void *a, const void *b)
{
    return strcmp(((const struct ctr *)a)->name, ((const struct ctr *)b)->name);
}

/* Only tcp/udp labels (not supported yet): Traefik builds no http service for such a one. */
static bool tcp_udp_only(const struct ctr *c, const HttpConfig *h)
{
    bool other = false;
    if (h->n_routers || h->n_services || h->n_middlewares) {
        return false;
    }
    for (size_t i = 0; i < c->nkv; i++) {
        other = other || strncasecmp(c->kv[i].key, "traefik.tcp.", 12) == 0 ||
                strncasecmp(c->kv[i].key, "traefik.udp.", 12) == 0;
    }
    return other;
}

/* One container: its own Config (NULL when it is left out). */
static Config *build_container(struct build *b, const struct ctr *c)
{
    const struct docker_opts *o = b->o;
    const char *en = label(c, "traefik.enable");
    bool enabled = o->exposed_by_default, healthy;
    struct labels_opts lo = {.syntax = LABELS_DOTS, .root = "traefik", .source = c->source};
    struct labels_servers hints = {0};
    Config *cfg = NULL;
    if (en != NULL && parse_bool(en, &enabled) != 0) {
        cerr(b->d, c, "traefik.enable: expected a boolean, got \"%s\"", en);
        return NULL;
    }
    if (!enabled || !docker_constraint_match(o->constraints, c->kv, c->nkv)) {
        return NULL;
    }
    healthy = c->health[0] == '\0' || strcmp(c->health, "healthy") == 0;
    if (!healthy && !o->allow_empty_services) {
        return NULL; /* Traefik's filter of starting and unhealthy containers */
    }
    if (labels_decode(c->kv, c->nkv, &lo, &cfg, &hints, b->d) != 0) {
        labels_servers_fini(&hints);
        return NULL; /* its errors are in d, each naming the container */
    }
    if (tcp_udp_only(c, cfg->http) || build_services(b, c, cfg->http, &hints, healthy) != 0) {
        labels_servers_fini(&hints);
        decode_config_free(cfg);
        return NULL;
    }
    labels_servers_fini(&hints);
    build_routers(b, c, cfg->http);
    return cfg;
}

int docker_decode(const struct doc_node *containers, const struct docker_opts *o,
                  const char *host_ip, Config **out, struct diags *d)
{
    struct build b = {.o = o, .host_ip = host_ip ? host_ip : "127.0.0.1", .d = d};
    struct ctr *all;
    size_t n = 0;
    HttpConfig *h;
    struct conflicts cr = {0}, cs = {0}, cm = {0}, ct = {0};
    *out = NULL;
    if (containers != NULL && !doc_is_null(containers) && containers->kind != DOC_SEQ) {
        diags_add(d, DIAG_ERROR, "docker", 0, 0, "", "expected a list of containers, got %s",
                  doc_kind_name(containers));
        return -EINVAL;
    }
    *out = decode_config_new();
    h = (*out)->http;
    n = containers != NULL && containers->kind == DOC_SEQ ? containers->n : 0;
    all = xcalloc(n, sizeof *all);
    for (size_t i = 0; i < n; i++) {
        read_container(containers->items[i], &all[i]);
    }
    if (n > 1) {
        qsort(all, n, sizeof *all, cmp_ctr);
    }
    b.all = all;
    b.nall = n;
    for (size_t i = 0; i < n; i++) {
        Config *c = build_container(&b, &all[i]);
        if (c == NULL) {
            continue;
        }
        merge_list((ProtobufCMessage ***)&h->routers, &h->n_routers,
                   (ProtobufCMessage **)c->http->routers, &c->http->n_routers, false, &cr);
        merge_list((ProtobufCMessage ***)&h->services, &h->n_services,
                   (ProtobufCMessage **)c->http->services, &c->http->n_services, true, &cs);
        merge_list((ProtobufCMessage ***)&h->middlewares, &h->n_middlewares,
                   (ProtobufCMessage **)c->http->middlewares, &c->http->n_middlewares, false, &cm);
        merge_list((ProtobufCMessage ***)&h->servers_transports, &h->n_servers_transports,
                   (ProtobufCMessage **)c->http->servers_transports, &c->http->n_servers_transports,
                   false, &ct);
        decode_config_free(c);
    }
    drop_conflicts((ProtobufCMessage **)h->routers, &h->n_routers, &cr, "router", d);
    drop_conflicts((ProtobufCMessage **)h->services, &h->n_services, &cs, "service", d);
    drop_conflicts((ProtobufCMessage **)h->middlewares, &h->n_middlewares, &cm, "middleware", d);
    drop_conflicts((ProtobufCMessage **)h->servers_transports, &h->n_servers_transports, &ct,
                   "serversTransport", d);
    sort_named((ProtobufCMessage **)h->routers, h->n_routers);
    sort_named((ProtobufCMessage **)h->services, h->n_services);
    sort_named((ProtobufCMessage **)h->middlewares, h->n_middlewares);
    sort_named((ProtobufCMessage **)h->servers_transports, h->n_servers_transports);
    for (size_t i = 0; i < n; i++) {
        free(all[i].kv);
    }
    free(all);
    return 0;
}
