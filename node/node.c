/* proxyd's composition root: wires static config, the file provider, the table compiler and
 * the data plane together. */
#include "node/node.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/base/diag.h"
#include "node/base/log.h"
#include "node/proxy/proxy.h"
#include "node/table/compile.h"
#include "providers/decode.h"
#include "providers/file.h"
#include "raftstore/raftstore.h"

struct node {
    const struct static_config *sc; /* owned by the caller, outlives the node */
    struct proxy *proxy;
    struct table *table; /* the generation last published */
    uint64_t generation;
    uint64_t grace_ms;
    uint64_t accept_grace_ms;
    char **ep_names;
    uint32_t n_eps;
    /* entryPoints.<name>.http for the compiler; redirect ports are the bound ones once the
     * listeners exist (an entry point on port 0 learns its port then). */
    struct table_ep_http *ep_http;
    /* What the live table was compiled from, kept for the admin API (node_view). */
    struct table_source *srcs;
    char **nss;
    Concord__Config__Config **cfgs;
    size_t nsrcs;
    struct diags diags;
};

static void log_diags(const struct diags *d)
{
    char line[1200];
    for (size_t i = 0; i < d->n; i++) {
        diag_format(&d->v[i], line, sizeof line);
        if (d->v[i].severity == DIAG_ERROR) {
            log_error("%s", line);
        } else {
            log_warn("%s", line);
        }
    }
}

static void to_proxy_entrypoint(const struct entrypoint_config *in, struct proxy_entrypoint *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%s", in->name);
    snprintf(o->host, sizeof o->host, "%s", in->host ? in->host : "");
    o->port = in->port;
    o->read_header_timeout_ms = in->read_header_timeout_ms;
    o->read_timeout_ms = in->read_timeout_ms;
    o->write_timeout_ms = in->write_timeout_ms;
    o->idle_timeout_ms = in->idle_timeout_ms;
    o->keepalive_max_requests = in->keepalive_max_requests;
    o->keepalive_max_time_ms = in->keepalive_max_time_ms;
    o->max_connections = in->max_connections;
    o->forwarded_insecure = in->forwarded_insecure;
    o->trusted_ips = in->trusted_ips;
    o->n_trusted_ips = in->n_trusted_ips;
    o->max_request_line = in->max_request_line_bytes;
    o->max_field_line = in->max_header_field_bytes;
    o->max_head = in->max_header_bytes;
    o->max_headers = in->max_header_count;
    o->max_body = in->max_request_body_bytes;
    o->fd = -1;
}

/* Fills n->ep_http from the static config; `bound`: the proxy's listeners exist and give the
 * ports of entry points configured with port 0. Returns 0 or -ENOMEM. */
static int build_ep_http(struct node *n, bool bound)
{
    const struct static_config *sc = n->sc;
    if (n->ep_http == NULL && !(n->ep_http = calloc(n->n_eps + 1, sizeof *n->ep_http))) {
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < n->n_eps; i++) {
        const struct entrypoint_config *ep = &sc->entrypoints[i];
        struct table_ep_http *h = &n->ep_http[i];
        h->middlewares = (const char *const *)ep->http_middlewares;
        h->n_middlewares = ep->n_http_middlewares;
        h->redirect_to = NULL;
        if (ep->redirect_to == NULL) {
            continue;
        }
        h->redirect_scheme = ep->redirect_scheme;
        h->redirect_permanent = ep->redirect_permanent;
        h->redirect_priority = (int64_t)ep->redirect_priority;
        if (ep->redirect_to[0] == ':') { /* ":443": a port, named by it as Traefik does */
            h->redirect_to = ep->redirect_to + 1;
            h->redirect_port = (uint16_t)atoi(ep->redirect_to + 1);
            continue;
        }
        for (uint32_t k = 0; k < n->n_eps; k++) {
            if (strcmp(sc->entrypoints[k].name, ep->redirect_to) == 0) {
                h->redirect_to = ep->redirect_to;
                h->redirect_port = bound && n->proxy ? proxy_bound_port(n->proxy, k)
                                                     : sc->entrypoints[k].port;
            }
        }
    }
    return 0;
}

/* Whether a redirection targets an entry point whose port is known only once bound. */
static bool redirect_needs_bound_port(const struct node *n)
{
    for (uint32_t i = 0; i < n->n_eps; i++) {
        const char *to = n->sc->entrypoints[i].redirect_to;
        for (uint32_t k = 0; to != NULL && to[0] != ':' && k < n->n_eps; k++) {
            if (strcmp(n->sc->entrypoints[k].name, to) == 0 && n->sc->entrypoints[k].port == 0) {
                return true;
            }
        }
    }
    return false;
}

/* A file a config refers to, from the copies the proposals carried (merged per namespace):
 * every node compiles the same bytes, whatever its own disk holds. */
static int read_carried(void *arg, const char *ns, const char *path, char **data, size_t *len)
{
    const struct rs_merged *m = arg;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < m->n; i++) {
            if (pass == 0 && strcmp(m->v[i].ns, ns) != 0) {
                continue; /* the namespace's own copy first, then any */
            }
            for (size_t k = 0; k < m->v[i].nfiles; k++) {
                const Concord__Raftlog__FileBlob *b = m->v[i].files[k];
                if (strcmp(b->path, path) == 0) {
                    *data = malloc(b->content.len + 1);
                    if (*data == NULL) {
                        return -ENOMEM;
                    }
                    memcpy(*data, b->content.data, b->content.len);
                    *len = b->content.len;
                    return 0;
                }
            }
        }
    }
    return -ENOENT;
}

/* Compiles `srcs` into a table of generation `gen`; out == NULL: a dry run. The diagnostics
 * go to `d`. `carried`: the merged state whose file copies usersFile reads (NULL: the disk). */
static int compile_srcs(struct node *n, const struct table_source *srcs, uint32_t nsrcs,
                        uint64_t gen, const struct rs_merged *carried, struct table **out,
                        struct diags *d)
{
    struct table_compile_opts o = {.entrypoints = (const char *const *)n->ep_names,
                                   .n_entrypoints = n->n_eps,
                                   .ep_http = n->ep_http,
                                   .generation = gen,
                                   .read_file = carried ? read_carried : NULL,
                                   .read_arg = (void *)carried};
    return table_compile(srcs, nsrcs, &o, out, d);
}


/* The empty table a node serves until the committed state gives it one. */
static int compile_empty(struct node *n, struct table **out, struct err *e)
{
    Concord__Config__Config empty = CONCORD__CONFIG__CONFIG__INIT;
    struct table_source src = {.ns = "file", .cfg = &empty};
    struct diags d;
    int rc;
    diags_init(&d);
    rc = compile_srcs(n, &src, 1, 0, NULL, out, &d);
    diags_fini(&d);
    return rc != 0 ? err_set(e, rc, "the empty routing table could not be built") : 0;
}

/* --check: the file provider's document(s) (none configured: *out NULL, 0). */
static int file_load(const struct static_config *sc, Concord__Config__Config **out,
                     struct diags *d)
{
    *out = NULL;
    if (!sc->file.enabled) {
        return 0;
    }
    return file_provider_load(&sc->file, out, d);
}

static void merged_free(struct node *n)
{
    for (size_t i = 0; i < n->nsrcs; i++) {
        decode_config_free(n->cfgs[i]);
        free(n->nss[i]);
    }
    free(n->cfgs);
    free(n->nss);
    free(n->srcs);
    n->cfgs = NULL;
    n->nss = NULL;
    n->srcs = NULL;
    n->nsrcs = 0;
}

/* Moves the merged namespaces' configs out of `m` into table sources. */
static int take_sources(struct rs_merged *m, struct table_source **srcs, char ***nss,
                        Concord__Config__Config ***cfgs)
{
    size_t k = m->n ? m->n : 1;
    *srcs = calloc(k, sizeof **srcs);
    *nss = calloc(k, sizeof **nss);
    *cfgs = calloc(k, sizeof **cfgs);
    if (*srcs == NULL || *nss == NULL || *cfgs == NULL) {
        free(*srcs);
        free(*nss);
        free(*cfgs);
        return -ENOMEM;
    }
    for (size_t i = 0; i < m->n; i++) {
        (*nss)[i] = strdup(m->v[i].ns); /* m keeps its names: its file copies are read by them */
        (*cfgs)[i] = m->v[i].cfg;
        m->v[i].cfg = NULL;
        if ((*nss)[i] == NULL) {
            for (size_t j = 0; j <= i; j++) {
                decode_config_free((*cfgs)[j]);
                free((*nss)[j]);
            }
            free(*srcs);
            free(*nss);
            free(*cfgs);
            return -ENOMEM;
        }
        (*srcs)[i].ns = (*nss)[i];
        (*srcs)[i].cfg = (*cfgs)[i];
    }
    return 0;
}

int node_publish(struct node *n, struct rs_merged *m, uint64_t generation, struct err *e)
{
    struct table_source *srcs;
    Concord__Config__Config **cfgs;
    char **nss;
    struct table *t = NULL;
    struct diags d;
    uint64_t t0 = uv_hrtime(), t1;
    int rc;
    if (take_sources(m, &srcs, &nss, &cfgs) != 0) {
        return err_set(e, -ENOMEM, "out of memory");
    }
    diags_init(&d);
    for (size_t i = 0; i < m->nerrors; i++) {
        diags_add(&d, DIAG_ERROR, "", 0, 0, "", "%s", m->errors[i]);
    }
    rc = compile_srcs(n, srcs, (uint32_t)m->n, generation, m, &t, &d);
    t1 = uv_hrtime();
    log_diags(&d);
    if (rc != 0) {
        diags_fini(&d);
        for (size_t i = 0; i < m->n; i++) {
            decode_config_free(cfgs[i]);
            free(nss[i]);
        }
        free(srcs);
        free(nss);
        free(cfgs);
        return err_set(e, rc, "the committed configuration could not be compiled");
    }
    merged_free(n);
    n->srcs = srcs;
    n->nss = nss;
    n->cfgs = cfgs;
    n->nsrcs = m->n;
    diags_fini(&n->diags);
    n->diags = d;
    n->generation = generation;
    proxy_set_table(n->proxy, t);
    table_unref(n->table);
    n->table = t;
    log_info("routing table generation %llu: %u router(s), %u server(s); table compiled in "
             "%.2f ms",
             (unsigned long long)generation, table_nrouters(t), table_nservers(t),
             (double)(t1 - t0) / 1e6);
    return 0;
}

int node_dry_run(struct node *n, const struct rs_merged *m, struct diags *d)
{
    struct table_source *srcs = calloc(m->n ? m->n : 1, sizeof *srcs);
    int rc;
    if (srcs == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < m->n; i++) {
        srcs[i].ns = m->v[i].ns;
        srcs[i].cfg = m->v[i].cfg;
    }
    for (size_t i = 0; i < m->nerrors; i++) {
        diags_add(d, DIAG_ERROR, "", 0, 0, "", "%s", m->errors[i]);
    }
    rc = compile_srcs(n, srcs, (uint32_t)m->n, 0, m, NULL, d);
    free(srcs);
    return rc;
}

int node_decode_config(const char *name, const char *text, size_t len,
                       Concord__Config__Config **out, struct diags *d)
{
    return decode_dynamic_string(name, text, len, out, d);
}

void node_config_free(Concord__Config__Config *cfg)
{
    decode_config_free(cfg);
}

uint64_t node_table_generation(const struct node *n)
{
    return n->generation;
}

int node_create(const struct static_config *sc, struct node **out, struct err *e)
{
    struct node *n = calloc(1, sizeof *n);
    struct proxy_config pc;
    int rc;
    if (n == NULL) {
        return err_set(e, -ENOMEM, "out of memory");
    }
    memset(&pc, 0, sizeof pc);
    n->n_eps = sc->n_entrypoints;
    n->ep_names = calloc(n->n_eps + 1, sizeof *n->ep_names);
    pc.entrypoints = calloc(n->n_eps + 1, sizeof *pc.entrypoints);
    if (n->ep_names == NULL || pc.entrypoints == NULL) {
        rc = err_set(e, -ENOMEM, "out of memory");
        goto err_after_alloc;
    }
    for (uint32_t i = 0; i < n->n_eps; i++) {
        const struct entrypoint_config *ep = &sc->entrypoints[i];
        n->ep_names[i] = ep->name;
        to_proxy_entrypoint(ep, &pc.entrypoints[i]);
        if (ep->grace_timeout_ms > n->grace_ms) {
            n->grace_ms = ep->grace_timeout_ms;
        }
        if (ep->request_accept_grace_timeout_ms > n->accept_grace_ms) {
            n->accept_grace_ms = ep->request_accept_grace_timeout_ms;
        }
    }
    pc.n_entrypoints = n->n_eps;
    pc.workers = sc->workers;
    snprintf(pc.node_id, sizeof pc.node_id, "%s", sc->node_id ? sc->node_id : "concord");
    pc.max_idle_per_server = sc->transport.max_idle_conns_per_host;
    pc.dial_timeout_ms = sc->transport.dial_timeout_ms;
    pc.response_timeout_ms = sc->transport.response_header_timeout_ms;
    pc.upstream_idle_timeout_ms = sc->transport.idle_conn_timeout_ms;

    n->sc = sc;
    if (build_ep_http(n, false) != 0) {
        rc = err_set(e, -ENOMEM, "out of memory");
        goto err_after_alloc;
    }
    rc = compile_empty(n, &n->table, e);
    if (rc != 0) {
        goto err_after_alloc;
    }
    rc = proxy_create(&pc, n->table, &n->proxy, e);
    if (rc != 0) {
        goto err_after_alloc;
    }
    if (redirect_needs_bound_port(n)) {
        /* A redirection to an entry point on port 0: every later compile uses the bound port
         * (the first committed table comes after the listeners exist). */
        build_ep_http(n, true);
    }
    free(pc.entrypoints);
    *out = n;
    return 0;

err_after_alloc:
    free(pc.entrypoints);
    node_destroy(n);
    return rc;
}

int node_start(struct node *n)
{
    return proxy_start(n->proxy);
}

void node_stop(struct node *n)
{
    proxy_shutdown(n->proxy, n->grace_ms);
}

void node_destroy(struct node *n)
{
    if (n == NULL) {
        return;
    }
    proxy_destroy(n->proxy);
    if (n->table != NULL) {
        table_unref(n->table);
    }
    free(n->ep_names);
    free(n->ep_http);
    diags_fini(&n->diags);
    merged_free(n);
    free(n);
}

void node_view(const struct node *n, struct node_view *out)
{
    out->table = n->table;
    out->srcs = n->srcs;
    out->nsrcs = (uint32_t)n->nsrcs;
    out->diags = &n->diags;
    out->entrypoints = (const char *const *)n->ep_names;
    out->n_entrypoints = n->n_eps;
    out->nproviders = 0; /* the control path adds its own (node/main.c) */
}

uint64_t node_grace_ms(const struct node *n)
{
    return n->grace_ms;
}

uint64_t node_accept_grace_ms(const struct node *n)
{
    return n->accept_grace_ms;
}

int node_check(const struct static_config *sc)
{
    struct node n;
    Concord__Config__Config empty = CONCORD__CONFIG__CONFIG__INIT;
    Concord__Config__Config *cfg = NULL;
    struct table_source src = {.ns = "file", .cfg = &empty};
    struct diags d;
    int rc;
    memset(&n, 0, sizeof n);
    n.sc = sc;
    n.n_eps = sc->n_entrypoints;
    n.ep_names = calloc(n.n_eps + 1, sizeof *n.ep_names);
    if (n.ep_names == NULL) {
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < n.n_eps; i++) {
        n.ep_names[i] = sc->entrypoints[i].name;
    }
    diags_init(&d);
    rc = build_ep_http(&n, false);
    if (rc == 0) {
        rc = file_load(sc, &cfg, &d);
    }
    if (rc == 0) {
        src.cfg = cfg != NULL ? cfg : &empty;
        rc = compile_srcs(&n, &src, 1, 0, NULL, NULL, &d);
    }
    log_diags(&d);
    free(n.ep_names);
    free(n.ep_http);
    decode_config_free(cfg);
    if (rc != 0) {
        diags_fini(&d);
        log_error("the dynamic configuration could not be loaded");
        return 1;
    }
    rc = d.nerrors > 0 ? 1 : 0;
    diags_fini(&d);
    return rc;
}
