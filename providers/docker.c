/* The Docker provider (Traefik's providers.docker): lists this node's running containers over
 * the Engine API (v1.41), inspects each, and emits the Config their labels describe
 * (providers/docker_decode.h); with `watch` it follows /events and lists again after a
 * container starts, stops, dies, is removed or renamed, or changes health (bursts coalesced).
 * Per node (DESIGN.md "Where providers run"): every node with providers.docker contributes its
 * own containers, and services of the same name merge across nodes.
 *
 * When the daemon cannot be reached (or the event stream breaks), the provider emits an error
 * (the last committed contribution stays and status shows it) and reconnects after a backoff
 * that doubles from 1 s to 30 s; a successful list resets it. A list with no matching
 * container is a real state: it emits an empty Config, and the routes go.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/http/fetch.h"
#include "node/base/base64.h"
#include "node/base/log.h"
#include "node/net/tls_client.h"
#include "providers/decode.h"
#include "providers/doc.h"
#include "providers/docker_constraints.h"
#include "providers/docker_decode.h"
#include "providers/provider.h"

#define API "/v1.41"
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
#define COALESCE_MS 20 /* events closer than this make one list */
#define MAX_EVENT_LINE (64u << 10)
/* While the event stream is open, a GET /_ping every PROBE_MS (with that deadline): a daemon
 * that hangs keeps its connection open and the stream silent, so only a request notices. */
#define PROBE_MS 5000

struct provider {
    uv_loop_t *loop;
    const struct docker_provider_config *dc;
    struct docker_constraint *constraints;
    provider_emit_fn emit;
    void *arg;
    char address[300]; /* for fetch: "unix:///path" or "host:port" */
    char host_ip[256]; /* the address of host-network containers */
    char *auth;        /* "Authorization: Basic ..." with a username, else NULL */
    const char *hdrs[2];
    struct tlsc_ctx *tls; /* tcp:// with a tls block */
    uv_timer_t reconnect, coalesce, probe_timer;
    struct fetch *probe; /* a /_ping in flight */
    int open_handles;
    struct fetch *events; /* the /events stream, when watching */
    struct fetch *req;    /* the list or an inspect in flight */
    bool listing, relist; /* a list runs; another is wanted after it */
    uint64_t backoff_ms;
    bool stopped;
    /* the list being built: container ids, and the inspect documents as a JSON array text */
    char **ids;
    size_t nids, next;
    char *arr;
    size_t arr_len, arr_cap;
    /* the event stream's partial line */
    char *line;
    size_t line_len;
};

static void connect_now(struct provider *p);
static void on_reconnect(uv_timer_t *t);
static void list_now(struct provider *p);

static uint64_t client_timeout(const struct provider *p)
{
    return p->dc->http_client_timeout_ms ? p->dc->http_client_timeout_ms : 30000;
}

static int append(char **buf, size_t *len, size_t *cap, const void *data, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t ncap = (*cap ? *cap * 2 : 4096);
        while (ncap < *len + n + 1) {
            ncap *= 2;
        }
        char *g = realloc(*buf, ncap);
        if (g == NULL) {
            return -ENOMEM;
        }
        *buf = g;
        *cap = ncap;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

static void free_list(struct provider *p)
{
    for (size_t i = 0; i < p->nids; i++) {
        free(p->ids[i]);
    }
    free(p->ids);
    p->ids = NULL;
    p->nids = p->next = 0;
    p->arr_len = 0;
}

/* The source failed: report it (the last contribution stays), drop every exchange, and try
 * again after the backoff. */
__attribute__((format(printf, 2, 3))) static void fail(struct provider *p, const char *fmt, ...)
{
    va_list ap;
    char msg[400];
    int n;
    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof msg) {
        snprintf(msg + n, sizeof msg - (size_t)n,
                 "; retrying in %llus, the last configuration "
                 "stays",
                 (unsigned long long)(p->backoff_ms / 1000));
    }
    if (p->events != NULL) {
        struct fetch *f = p->events;
        p->events = NULL;
        fetch_cancel(f); /* its cb sees -ECANCELED and does nothing */
    }
    if (p->req != NULL) {
        struct fetch *f = p->req;
        p->req = NULL;
        fetch_cancel(f);
    }
    if (p->probe != NULL) {
        struct fetch *f = p->probe;
        p->probe = NULL;
        fetch_cancel(f);
    }
    uv_timer_stop(&p->probe_timer);
    p->listing = p->relist = false;
    p->line_len = 0;
    free_list(p);
    uv_timer_stop(&p->coalesce);
    p->emit(p->arg, NULL, NULL, 0, msg, NULL);
    uv_timer_start(&p->reconnect, on_reconnect, p->backoff_ms, 0);
    p->backoff_ms = p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->backoff_ms * 2;
}

static int get(struct provider *p, const char *target, fetch_cb cb, struct fetch **out)
{
    struct fetch_req req = {.address = p->address,
                            .method = "GET",
                            .target = target,
                            .timeout_ms = client_timeout(p),
                            .headers = p->hdrs,
                            .tls = p->tls};
    return fetch_start(p->loop, &req, cb, p, out);
}

/* Every container is inspected: decode, emit, and list again if events came meanwhile. */
static void finish_list(struct provider *p)
{
    struct docker_opts o = {.exposed_by_default = p->dc->exposed_by_default,
                            .default_rule = p->dc->default_rule,
                            .constraints = p->constraints,
                            .network = p->dc->network,
                            .use_bind_port_ip = p->dc->use_bind_port_ip,
                            .allow_empty_services = p->dc->allow_empty_services};
    Concord__Config__Config *cfg = NULL;
    Concord__Raftlog__FileBlob **files = NULL;
    size_t nfiles = 0;
    struct doc doc = {0};
    struct diags d;
    diags_init(&d);
    if (append(&p->arr, &p->arr_len, &p->arr_cap, "]", 1) != 0 ||
        doc_parse(&doc, "docker", p->arr, p->arr_len, 0, &d) != 0 ||
        docker_decode(doc.root, &o, p->host_ip, &cfg, &d) != 0) {
        doc_fini(&doc);
        diags_fini(&d);
        fail(p, "the Engine's container documents could not be read");
        return;
    }
    doc_fini(&doc);
    free_list(p);
    p->listing = false;
    p->backoff_ms = BACKOFF_MIN_MS;
    if (provider_carry_files(cfg, &files, &nfiles, &d) != 0) {
        provider_files_free(files, nfiles);
        decode_config_free(cfg);
        p->emit(p->arg, NULL, NULL, 0, "out of memory", &d);
    } else {
        p->emit(p->arg, cfg, files, nfiles, NULL, &d);
    }
    diags_fini(&d);
    if (p->relist) {
        p->relist = false;
        list_now(p);
    }
}

static void inspect_next(struct provider *p);

static void on_inspected(void *arg, int rc, const struct fetch_resp *r)
{
    struct provider *p = arg;
    if (rc == -ECANCELED || p->stopped) {
        return;
    }
    p->req = NULL;
    if (rc != 0) {
        fail(p, "inspecting container %.12s: %s", p->ids[p->next], fetch_strerror(rc));
        return;
    }
    if (r->status == 200) {
        if ((p->arr_len > 1 && append(&p->arr, &p->arr_len, &p->arr_cap, ",", 1) != 0) ||
            append(&p->arr, &p->arr_len, &p->arr_cap, r->body, r->body_len) != 0) {
            fail(p, "out of memory");
            return;
        }
    } else if (r->status != 404) { /* 404: it went away since the list; its event follows */
        fail(p, "inspecting container %.12s: the Engine answered %d", p->ids[p->next], r->status);
        return;
    }
    p->next++;
    inspect_next(p);
}

static void inspect_next(struct provider *p)
{
    char target[400];
    int rc;
    if (p->next == p->nids) {
        finish_list(p);
        return;
    }
    snprintf(target, sizeof target, API "/containers/%s/json", p->ids[p->next]);
    rc = get(p, target, on_inspected, &p->req);
    if (rc != 0) {
        p->req = NULL;
        fail(p, "cannot inspect container %.12s: %s", p->ids[p->next], fetch_strerror(rc));
    }
}

/* Container ids are hexadecimal; anything else is not put into a request target. */
static bool valid_id(const char *s)
{
    size_t n = strspn(s, "0123456789abcdef");
    return n > 0 && n < 128 && s[n] == '\0';
}

static void on_listed(void *arg, int rc, const struct fetch_resp *r)
{
    struct provider *p = arg;
    struct doc doc = {0};
    struct diags d;
    if (rc == -ECANCELED || p->stopped) {
        return;
    }
    p->req = NULL;
    if (rc != 0) {
        fail(p, "cannot list containers at %s: %s", p->dc->endpoint, fetch_strerror(rc));
        return;
    }
    if (r->status != 200) {
        fail(p, "listing containers: the Engine answered %d", r->status);
        return;
    }
    diags_init(&d);
    if (doc_parse(&doc, "docker", (const char *)r->body, r->body_len, 0, &d) != 0 ||
        (doc.root != NULL && doc.root->kind != DOC_SEQ)) {
        doc_fini(&doc);
        diags_fini(&d);
        fail(p, "listing containers: not a JSON list");
        return;
    }
    diags_fini(&d);
    free_list(p);
    p->ids = calloc(doc.root ? doc.root->n + 1 : 1, sizeof *p->ids);
    for (size_t i = 0; p->ids != NULL && doc.root != NULL && i < doc.root->n; i++) {
        const struct doc_node *id = doc_map_get(doc.root->items[i], "Id");
        if (id != NULL && id->kind == DOC_SCALAR && valid_id(id->str)) {
            p->ids[p->nids] = strdup(id->str);
            if (p->ids[p->nids] != NULL) {
                p->nids++;
            }
        }
    }
    doc_fini(&doc);
    if (p->ids == NULL || append(&p->arr, &p->arr_len, &p->arr_cap, "[", 1) != 0) {
        fail(p, "out of memory");
        return;
    }
    inspect_next(p);
}

static void list_now(struct provider *p)
{
    int rc;
    if (p->listing) {
        p->relist = true; /* after this one: what it lists may predate the event */
        return;
    }
    p->listing = true;
    rc = get(p, API "/containers/json", on_listed, &p->req);
    if (rc != 0) {
        p->req = NULL;
        fail(p, "cannot list containers at %s: %s", p->dc->endpoint, fetch_strerror(rc));
    }
}

static void on_coalesced(uv_timer_t *t)
{
    list_now(t->data);
}

/* One event line: a container's state changed in a way that can change the routes. */
static void on_event_line(struct provider *p, const char *line)
{
    static const char *const actions[] = {"start", "die",     "stop", "destroy", "rename",
                                          "pause", "unpause", "kill", "update",  "health_status"};
    const char *a = strstr(line, "\"Action\"");
    if (a == NULL) {
        return;
    }
    a += 8; /* then optional spaces, ':', optional spaces, '"' (JSON allows the spaces) */
    a += strspn(a, " \t");
    if (*a++ != ':') {
        return;
    }
    a += strspn(a, " \t");
    if (*a++ != '"') {
        return;
    }
    for (size_t i = 0; i < sizeof actions / sizeof *actions; i++) {
        size_t n = strlen(actions[i]);
        if (strncmp(a, actions[i], n) == 0 && (a[n] == '"' || a[n] == ':')) {
            if (!uv_is_active((uv_handle_t *)&p->coalesce)) {
                uv_timer_start(&p->coalesce, on_coalesced, COALESCE_MS, 0);
            }
            return;
        }
    }
}

static void on_probe(void *arg, int rc, const struct fetch_resp *r)
{
    struct provider *p = arg;
    p->probe = NULL;
    if (rc == -ECANCELED || p->stopped) {
        return;
    }
    if (rc != 0 || r->status != 200) {
        fail(p, "the Engine at %s stopped answering (/_ping: %s)", p->dc->endpoint,
             rc != 0 ? fetch_strerror(rc) : "not 200");
    }
}

static void on_probe_timer(uv_timer_t *t)
{
    struct provider *p = t->data;
    struct fetch_req req = {.address = p->address,
                            .method = "GET",
                            .target = "/_ping",
                            .timeout_ms = PROBE_MS,
                            .headers = p->hdrs,
                            .tls = p->tls};
    if (p->probe != NULL || p->events == NULL) {
        return;
    }
    if (fetch_start(p->loop, &req, on_probe, p, &p->probe) != 0) {
        p->probe = NULL;
    }
}

static void on_event_data(void *arg, const struct fetch_resp *head, const uint8_t *data, size_t len)
{
    struct provider *p = arg;
    if (p->stopped) {
        return;
    }
    if (data == NULL) { /* the head */
        if (head->status != 200) {
            fail(p, "following events: the Engine answered %d", head->status);
            return;
        }
        list_now(p); /* after subscribing, so no change falls between the list and the stream */
        uv_timer_start(&p->probe_timer, on_probe_timer, PROBE_MS, PROBE_MS);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n') {
            p->line[p->line_len] = '\0';
            on_event_line(p, p->line);
            p->line_len = 0;
        } else if (p->line_len + 1 < MAX_EVENT_LINE) {
            p->line[p->line_len++] = (char)data[i];
        }
    }
}

static void on_events_end(void *arg, int rc, const struct fetch_resp *r)
{
    struct provider *p = arg;
    (void)r;
    if (rc == -ECANCELED || p->stopped) {
        return;
    }
    p->events = NULL;
    fail(p, "the event stream of %s ended: %s", p->dc->endpoint,
         rc == 0 ? "closed by the Engine" : fetch_strerror(rc));
}

static void connect_now(struct provider *p)
{
    struct fetch_req req = {
        .address = p->address,
        .method = "GET",
        /* {"type":["container"]} */
        .target = API "/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D",
        .timeout_ms = client_timeout(p),
        .on_data = on_event_data,
        .headers = p->hdrs,
        .tls = p->tls,
    };
    int rc;
    if (!p->dc->watch) {
        list_now(p);
        return;
    }
    p->line_len = 0;
    rc = fetch_start(p->loop, &req, on_events_end, p, &p->events);
    if (rc != 0) {
        p->events = NULL;
        fail(p, "cannot follow events at %s: %s", p->dc->endpoint, fetch_strerror(rc));
    }
}

static void on_reconnect(uv_timer_t *t)
{
    connect_now(t->data);
}

/* The address of host-network containers: the node's advertised host (cluster.advertiseAddress,
 * else the raft address's host), so that the other nodes can reach them. */
static void advertised_host(const struct static_config *sc, char *out, size_t size)
{
    const char *a = sc->advertise_address ? sc->advertise_address : sc->raft_address;
    uint16_t port;
    if (a == NULL || static_config_parse_address(a, out, size, &port) != 0 || out[0] == '\0' ||
        strcmp(out, "0.0.0.0") == 0 || strcmp(out, "::") == 0) {
        log_warn("docker provider: no address other nodes can reach this one at (set "
                 "cluster.advertiseAddress); host-network containers are served at 127.0.0.1, "
                 "which only this node reaches");
        snprintf(out, size, "127.0.0.1");
    }
}

static bool docker_enabled(const struct static_config *sc)
{
    return sc->docker.enabled;
}

static int docker_start(uv_loop_t *loop, const struct static_config *sc, provider_emit_fn emit,
                        void *arg, struct provider **out, struct err *e)
{
    const char *ep = sc->docker.endpoint;
    char msg[300];
    struct provider *p = calloc(1, sizeof *p);
    if (p == NULL || (p->line = malloc(MAX_EVENT_LINE)) == NULL) {
        free(p);
        return err_set(e, -ENOMEM, "out of memory");
    }
    if (docker_constraint_parse(sc->docker.constraints, &p->constraints, msg, sizeof msg) != 0) {
        free(p->line);
        free(p);
        return err_set(e, -EINVAL, "%s", msg);
    }
    if (strncmp(ep, "unix:///", 8) == 0) {
        snprintf(p->address, sizeof p->address, "%s", ep);
    } else if (strncmp(ep, "tcp://", 6) == 0) {
        snprintf(p->address, sizeof p->address, "%s", ep + 6);
    } else {
        docker_constraint_free(p->constraints);
        free(p->line);
        free(p);
        return err_set(e, -EINVAL, "endpoint \"%s\": expected unix:///path or tcp://host:port", ep);
    }
    if (sc->docker.tls.set && strncmp(ep, "tcp://", 6) == 0) {
        const struct provider_tls_config *t = &sc->docker.tls;
        struct tlsc_config tc = {.ca_file = t->ca, .cert_file = t->cert, .key_file = t->key,
                                 .insecure_skip_verify = t->insecure_skip_verify};
        int rc = tlsc_ctx_new(&tc, &p->tls, e);
        if (rc != 0) {
            docker_constraint_free(p->constraints);
            free(p->line);
            free(p);
            return rc;
        }
    }
    if (sc->docker.username != NULL) {
        size_t n = strlen(sc->docker.username) + 1 + strlen(sc->docker.password);
        char *plain = malloc(n + 1);
        p->auth = malloc(sizeof "Authorization: Basic " + BASE64_ENCODED_LEN(n));
        if (plain == NULL || p->auth == NULL) {
            free(plain);
            free(p->auth);
            tlsc_ctx_free(p->tls);
            docker_constraint_free(p->constraints);
            free(p->line);
            free(p);
            return err_set(e, -ENOMEM, "out of memory");
        }
        snprintf(plain, n + 1, "%s:%s", sc->docker.username, sc->docker.password);
        strcpy(p->auth, "Authorization: Basic ");
        base64_encode(plain, n, p->auth + strlen(p->auth));
        free(plain);
        p->hdrs[0] = p->auth;
    }
    advertised_host(sc, p->host_ip, sizeof p->host_ip);
    p->loop = loop;
    p->dc = &sc->docker;
    p->emit = emit;
    p->arg = arg;
    p->backoff_ms = BACKOFF_MIN_MS;
    uv_timer_init(loop, &p->reconnect);
    uv_timer_init(loop, &p->coalesce);
    p->reconnect.data = p->coalesce.data = p;
    uv_timer_init(loop, &p->probe_timer);
    p->probe_timer.data = p;
    p->open_handles = 3;
    uv_timer_start(&p->reconnect, on_reconnect, 0, 0); /* on the next iteration */
    *out = p;
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    struct provider *p = h->data;
    if (--p->open_handles > 0) {
        return;
    }
    free_list(p);
    free(p->arr);
    free(p->line);
    free(p->auth);
    tlsc_ctx_free(p->tls);
    docker_constraint_free(p->constraints);
    free(p);
}

static void docker_stop(struct provider *p)
{
    p->stopped = true;
    if (p->events != NULL) {
        fetch_cancel(p->events); /* its callbacks fire now and see `stopped` */
        p->events = NULL;
    }
    if (p->req != NULL) {
        fetch_cancel(p->req);
        p->req = NULL;
    }
    if (p->probe != NULL) {
        fetch_cancel(p->probe);
        p->probe = NULL;
    }
    uv_close((uv_handle_t *)&p->reconnect, on_closed);
    uv_close((uv_handle_t *)&p->coalesce, on_closed);
    uv_close((uv_handle_t *)&p->probe_timer, on_closed);
}

const struct provider_ops docker_provider_ops = {
    .name = "docker",
    .cluster_wide = false,
    .enabled = docker_enabled,
    .start = docker_start,
    .stop = docker_stop,
};
