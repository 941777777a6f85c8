/* The etcd provider (Traefik's providers.etcd): Traefik's KV layout under rootKey
 * (traefik/http/routers/<name>/rule, ...) read from etcd v3 through its JSON gateway.
 * Cluster-wide: the leader runs it (DESIGN.md "Where providers run").
 *
 * One cycle: [POST /v3/auth/authenticate when a username is set] -> POST /v3/kv/range of every
 * key under "<root>/" (all pairs and the store's revision, one snapshot) -> emit -> POST
 * /v3/watch from revision + 1, a stream of one JSON object per batch of events. Each batch
 * updates the in-memory copy of the keys and is emitted once: every event of one etcd
 * revision (a transaction writing several keys) comes in one batch, so a multi-key change
 * becomes one proposal, never a half-applied one (Traefik applies KV changes key by key).
 * After a failure the next cycle watches from the last revision seen (etcd replays what was
 * missed); a compacted start revision makes it read every key again. While watching, a small
 * read every 5 s catches an etcd that froze with the connection open. Any failure moves to the
 * next endpoint; when every endpoint has failed in a row the provider emits an error (the last
 * committed contribution stays, status shows why) and tries again after a backoff of 1 s
 * doubling to 30 s; once the watch is up again, the error clears. Endpoints are host:port
 * (names resolved by fetch), http:// or https://; with a tls block every endpoint is https.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/log.h"
#include "node/http/fetch.h"
#include "node/net/tls_client.h"
#include "providers/decode.h"
#include "providers/etcd_decode.h"
#include "providers/labels.h"
#include "providers/provider.h"

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
#define REQUEST_TIMEOUT_MS 5000
#define MAX_ANSWER (64u << 20) /* a range answer, and one line of the watch stream */
/* While watching, a small read every PROBE_MS: an etcd that stops answering (a stopped
 * process, a frozen host) keeps its TCP connection open and the watch silent, so only a
 * request with a deadline notices. */
#define PROBE_MS 5000

/* What the watch stream's end leads to, decided in on_data before it cancels the fetch. */
enum after { AFTER_FAIL, AFTER_RESTART };

struct provider {
    uv_loop_t *loop;
    const struct etcd_provider_config *ec;
    provider_emit_fn emit;
    void *arg;
    char *prefix;    /* "<rootKey>/" */
    uint32_t ep;     /* the endpoint in use */
    uint32_t failed; /* endpoints failed in a row */
    uint64_t backoff_ms;
    char *auth; /* "Authorization: <token>", NULL without a username */
    struct tlsc_ctx *tls; /* https: an endpoint "https://..." or a tls block */
    struct etcd_kvs kvs;
    int64_t revision;
    struct etcd_lines lines;
    uv_timer_t timer;
    struct fetch *inflight; /* auth, range or the watch */
    uv_timer_t probe_timer;
    struct fetch *probe;
    int handles; /* timers not closed yet */
    enum after after;
    char after_msg[300];
    bool resume;   /* kvs and revision hold a state: a new watch continues from it */
    bool reported; /* an error was emitted since the last Config */
    bool stopped;
};

static void cycle(struct provider *p);
static void on_probe_timer(uv_timer_t *t);

/* Whether endpoint ep is spoken to over TLS: "https://", or any endpoint with a tls block
 * (Traefik's rule: tls applies to every endpoint). */
static bool endpoint_tls(const struct provider *p, const char *ep)
{
    return strncmp(ep, "https://", 8) == 0 || p->ec->tls.set;
}

/* The endpoint as fetch wants it: the scheme and a trailing '/' dropped. */
static void endpoint_address(const char *ep, char *out, size_t size)
{
    size_t n;
    snprintf(out, size, "%s",
             strncmp(ep, "http://", 7) == 0    ? ep + 7
             : strncmp(ep, "https://", 8) == 0 ? ep + 8
                                               : ep);
    n = strlen(out);
    while (n > 0 && out[n - 1] == '/') {
        out[--n] = '\0';
    }
}

static void on_timer(uv_timer_t *t)
{
    cycle(t->data);
}

/* The current endpoint failed: the next one is tried at once, unless every one has failed in
 * a row: then the error is emitted and the round starts again after the backoff. */
__attribute__((format(printf, 2, 3))) static void fail(struct provider *p, const char *fmt, ...)
{
    va_list ap;
    char msg[300], full[420];
    const char *ep = p->ec->endpoints[p->ep];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    free(p->auth);
    p->auth = NULL;
    p->ep = (p->ep + 1) % p->ec->n_endpoints;
    if (++p->failed < p->ec->n_endpoints) {
        log_warn("etcd provider: %s: %s; trying %s", ep, msg, p->ec->endpoints[p->ep]);
        uv_timer_start(&p->timer, on_timer, 0, 0);
        return;
    }
    p->failed = 0;
    p->reported = true;
    if (p->ec->n_endpoints > 1) {
        snprintf(full, sizeof full, "every etcd endpoint failed; the last, %s: %s (retry in %llus)",
                 ep, msg, (unsigned long long)(p->backoff_ms / 1000));
    } else {
        snprintf(full, sizeof full, "etcd %s: %s (retry in %llus)", ep, msg,
                 (unsigned long long)(p->backoff_ms / 1000));
    }
    p->emit(p->arg, NULL, NULL, 0, full, NULL);
    uv_timer_start(&p->timer, on_timer, p->backoff_ms, 0);
    p->backoff_ms = p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->backoff_ms * 2;
}

/* The keys as a Config, emitted (or the decoding error, keeping the last contribution). */
static void emit_config(struct provider *p)
{
    struct label_kv *kv = calloc(p->kvs.n ? p->kvs.n : 1, sizeof *kv);
    struct labels_opts o = {.syntax = LABELS_SLASHES, .root = p->ec->root_key, .source = "etcd"};
    Concord__Config__Config *cfg = NULL;
    Concord__Raftlog__FileBlob **files = NULL;
    size_t nfiles = 0;
    struct diags d;
    if (kv == NULL) {
        p->emit(p->arg, NULL, NULL, 0, "out of memory", NULL);
        return;
    }
    for (size_t i = 0; i < p->kvs.n; i++) {
        kv[i].key = p->kvs.v[i].key;
        kv[i].value = p->kvs.v[i].value;
    }
    diags_init(&d);
    if (labels_decode(kv, p->kvs.n, &o, &cfg, NULL, &d) != 0) {
        char first[480] = "the keys were refused";
        for (size_t i = 0; i < d.n; i++) {
            if (d.v[i].severity == DIAG_ERROR) {
                diag_format(&d.v[i], first, sizeof first);
                break;
            }
        }
        p->emit(p->arg, NULL, NULL, 0, first, &d);
    } else if (provider_carry_files(cfg, &files, &nfiles, &d) != 0) {
        provider_files_free(files, nfiles);
        decode_config_free(cfg);
        p->emit(p->arg, NULL, NULL, 0, "out of memory", &d);
    } else {
        p->emit(p->arg, cfg, files, nfiles, NULL, &d);
    }
    diags_fini(&d);
    free(kv);
}

/* POSTs body (taken) to target on the current endpoint. Returns 0 or the fetch_start error. */
static int post(struct provider *p, const char *target, char *body, fetch_cb cb,
                void (*on_data)(void *, const struct fetch_resp *, const uint8_t *, size_t),
                struct fetch **out)
{
    char address[300];
    const char *hdrs[3] = {"Content-Type: application/json", p->auth, NULL};
    struct fetch_req req;
    int rc;
    if (body == NULL) {
        return -ENOMEM;
    }
    endpoint_address(p->ec->endpoints[p->ep], address, sizeof address);
    memset(&req, 0, sizeof req);
    req.address = address;
    req.method = "POST";
    req.target = target;
    req.headers = hdrs;
    req.body = body;
    req.body_len = strlen(body);
    req.timeout_ms = REQUEST_TIMEOUT_MS;
    req.max_body = MAX_ANSWER;
    req.on_data = on_data;
    req.max_chunk = MAX_ANSWER;
    req.tls = endpoint_tls(p, p->ec->endpoints[p->ep]) ? p->tls : NULL;
    rc = fetch_start(p->loop, &req, cb, p, out);
    free(body);
    if (rc != 0) {
        *out = NULL;
    }
    return rc;
}

/* The answer's problem as text: a transport error or a non-200 status with etcd's message.
 * Returns false when the answer is a 200. */
static bool answer_failed(int rc, const struct fetch_resp *r, char *buf, size_t size)
{
    char text[160];
    if (rc != 0) {
        snprintf(buf, size, "%s", rc == -EINVAL ? "bad endpoint address" : fetch_strerror(rc));
        return true;
    }
    if (r->status != 200) {
        etcd_error_text((const char *)r->body, r->body_len, text, sizeof text);
        snprintf(buf, size, "answered %d: %s", r->status, text);
        return true;
    }
    return false;
}

/* Why fetch_start refused. */
static const char *start_error(int rc)
{
    return rc == -EINVAL ? "bad endpoint address (want host:port)" : fetch_strerror(rc);
}

/* ---- the watch ---- */

static void on_probe(void *arg, int rc, const struct fetch_resp *r)
{
    struct provider *p = arg;
    char why[240];
    p->probe = NULL;
    if (p->stopped || rc == -ECANCELED || p->inflight == NULL) {
        return;
    }
    if (answer_failed(rc, r, why, sizeof why)) {
        p->after = AFTER_FAIL;
        snprintf(p->after_msg, sizeof p->after_msg, "etcd stopped answering (%s)", why);
        fetch_cancel(p->inflight); /* on_watch_end runs now and fails over */
        return;
    }
    uv_timer_start(&p->probe_timer, on_probe_timer, PROBE_MS, 0);
}

static void on_probe_timer(uv_timer_t *t)
{
    struct provider *p = t->data;
    int rc;
    if (p->inflight == NULL || p->probe != NULL) {
        return;
    }
    rc = post(p, "/v3/kv/range", etcd_count_body(p->prefix), on_probe, NULL, &p->probe);
    if (rc != 0) {
        uv_timer_start(&p->probe_timer, on_probe_timer, PROBE_MS, 0);
    }
}

/* One line of the stream. Returns the keys it changed, or -1 after choosing p->after. */
static int watch_line(struct provider *p, const char *line, size_t len)
{
    struct etcd_watch_msg w;
    struct err e = {0};
    int changed;
    if (etcd_parse_watch(line, len, &w, &e) != 0) {
        p->after = AFTER_FAIL;
        snprintf(p->after_msg, sizeof p->after_msg, "watch: %s", e.msg);
        return -1;
    }
    if (w.canceled) {
        if (w.compact_revision > 0) {
            log_info("etcd provider: revision %lld was compacted (etcd keeps %lld on); reading "
                     "every key again",
                     (long long)(p->revision + 1), (long long)w.compact_revision);
            p->after = AFTER_RESTART;
            p->resume = false; /* events are lost: read every key again */
        } else {
            p->after = AFTER_FAIL;
            snprintf(p->after_msg, sizeof p->after_msg, "the watch was canceled: %s",
                     w.cancel_reason ? w.cancel_reason : "no reason given");
        }
        etcd_watch_msg_fini(&w);
        return -1;
    }
    if (w.created) {
        /* Watching again: the backoff starts over, and a Config (the same one, which sync
         * does not propose again) replaces the error status shows. */
        p->failed = 0;
        p->backoff_ms = BACKOFF_MIN_MS;
        if (p->reported) {
            p->reported = false;
            etcd_watch_msg_fini(&w);
            return 1; /* "changed": the caller emits */
        }
    }
    changed = etcd_apply_events(&p->kvs, &w);
    /* A batch's header is its revision; so is a progress notification's. The creation's
     * header is the store's current revision, which the watch has not replayed yet: taking it
     * would skip events after a resumed watch. */
    if (changed >= 0 && !w.created && w.revision > p->revision) {
        p->revision = w.revision;
    }
    if (changed > 0) {
        log_info("etcd provider: revision %lld: %zu event(s), %d key(s) changed, one emission",
                 (long long)w.revision, w.n_events, changed);
    }
    etcd_watch_msg_fini(&w);
    if (changed < 0) {
        p->after = AFTER_FAIL;
        snprintf(p->after_msg, sizeof p->after_msg, "out of memory");
    }
    return changed;
}

static void on_watch_data(void *arg, const struct fetch_resp *head, const uint8_t *data, size_t len)
{
    struct provider *p = arg;
    const char *line;
    size_t n;
    int changed = 0, rc;
    if (data == NULL) {
        if (head->status == 200) {
            uv_timer_start(&p->probe_timer, on_probe_timer, PROBE_MS, 0);
            return; /* the watch counts as up once etcd says it was created (watch_line) */
        }
        p->after = AFTER_FAIL;
        snprintf(p->after_msg, sizeof p->after_msg, "watch answered %d", head->status);
        fetch_cancel(p->inflight);
        return;
    }
    if ((rc = etcd_lines_append(&p->lines, data, len)) != 0) {
        p->after = AFTER_FAIL;
        snprintf(p->after_msg, sizeof p->after_msg, "watch: %s",
                 rc == -EMSGSIZE ? "an answer over 64 MiB" : "out of memory");
        fetch_cancel(p->inflight);
        return;
    }
    /* Every complete line of this piece is applied before one emission: lines are whole
     * revisions, so what is emitted is always a state etcd had. */
    while ((line = etcd_lines_next(&p->lines, &n)) != NULL) {
        int c = watch_line(p, line, n);
        if (c < 0) {
            if (changed > 0) {
                emit_config(p);
            }
            fetch_cancel(p->inflight); /* on_watch_end runs now and follows p->after */
            return;
        }
        changed += c;
    }
    if (changed > 0) {
        emit_config(p);
    }
}

static void on_watch_end(void *arg, int rc, const struct fetch_resp *r)
{
    struct provider *p = arg;
    (void)r;
    p->inflight = NULL;
    if (p->stopped) {
        return;
    }
    uv_timer_stop(&p->probe_timer);
    if (p->probe != NULL) {
        fetch_cancel(p->probe); /* on_probe sees the watch gone and does nothing */
    }
    if (rc == -ECANCELED && p->after == AFTER_RESTART) {
        uv_timer_start(&p->timer, on_timer, 0, 0);
    } else if (rc == -ECANCELED) {
        fail(p, "%s", p->after_msg);
    } else if (rc == 0) {
        fail(p, "the watch stream ended");
    } else {
        fail(p, "watch: %s", fetch_strerror(rc));
    }
}

static void watch(struct provider *p)
{
    int rc;
    etcd_lines_reset(&p->lines);
    p->after = AFTER_FAIL;
    rc = post(p, "/v3/watch", etcd_watch_body(p->prefix, p->revision + 1), on_watch_end,
              on_watch_data, &p->inflight);
    if (rc != 0) {
        fail(p, "cannot watch: %s", start_error(rc));
    }
}

/* ---- range and authentication ---- */

static void on_range(void *arg, int rc, const struct fetch_resp *r)
{
    struct provider *p = arg;
    struct err e = {0};
    char why[300];
    p->inflight = NULL;
    if (p->stopped) {
        return;
    }
    if (answer_failed(rc, r, why, sizeof why)) {
        fail(p, "range: %s", why);
        return;
    }
    if (etcd_parse_range((const char *)r->body, r->body_len, &p->kvs, &p->revision, &e) != 0) {
        fail(p, "%s", e.msg);
        return;
    }
    log_info("etcd provider: %s: revision %lld, %zu key(s) under %s", p->ec->endpoints[p->ep],
             (long long)p->revision, p->kvs.n, p->prefix);
    p->failed = 0;
    p->backoff_ms = BACKOFF_MIN_MS;
    p->resume = true;
    p->reported = false;
    emit_config(p);
    watch(p);
}

static void range(struct provider *p)
{
    int rc = post(p, "/v3/kv/range", etcd_range_body(p->prefix), on_range, NULL, &p->inflight);
    if (rc != 0) {
        fail(p, "cannot read: %s", start_error(rc));
    }
}

/* After a failure the watch continues from the last revision seen (no emission when nothing
 * changed meanwhile); the first time, or after a compaction, every key is read. */
static void read_or_watch(struct provider *p)
{
    if (p->resume) {
        watch(p);
    } else {
        range(p);
    }
}

static void on_auth(void *arg, int rc, const struct fetch_resp *r)
{
    struct provider *p = arg;
    struct err e = {0};
    char why[300], *token;
    p->inflight = NULL;
    if (p->stopped) {
        return;
    }
    if (answer_failed(rc, r, why, sizeof why)) {
        fail(p, "authenticate: %s", why);
        return;
    }
    if (etcd_parse_auth((const char *)r->body, r->body_len, &token, &e) != 0) {
        fail(p, "%s", e.msg);
        return;
    }
    free(p->auth);
    if (asprintf(&p->auth, "Authorization: %s", token) < 0) {
        p->auth = NULL;
    }
    free(token);
    if (p->auth == NULL) {
        fail(p, "out of memory");
        return;
    }
    read_or_watch(p);
}

/* A new cycle on the current endpoint (from the timer: never inside a fetch callback). */
static void cycle(struct provider *p)
{
    int rc;
    if (p->ec->username == NULL) {
        read_or_watch(p);
        return;
    }
    rc = post(p, "/v3/auth/authenticate", etcd_auth_body(p->ec->username, p->ec->password), on_auth,
              NULL, &p->inflight);
    if (rc != 0) {
        fail(p, "cannot authenticate: %s", start_error(rc));
    }
}

/* ---- the ops ---- */

static bool etcd_enabled(const struct static_config *sc)
{
    return sc->etcd.enabled;
}

static int etcd_start(uv_loop_t *loop, const struct static_config *sc, provider_emit_fn emit,
                      void *arg, struct provider **out, struct err *e)
{
    struct provider *p;
    if (sc->etcd.n_endpoints == 0 || sc->etcd.root_key == NULL) {
        return err_set(e, -EINVAL, "no endpoint or no rootKey");
    }
    if ((p = calloc(1, sizeof *p)) == NULL) {
        return err_set(e, -ENOMEM, "out of memory");
    }
    if (asprintf(&p->prefix, "%s/", sc->etcd.root_key) < 0) {
        free(p);
        return err_set(e, -ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < sc->etcd.n_endpoints && p->tls == NULL; i++) {
        const struct provider_tls_config *t = &sc->etcd.tls;
        struct tlsc_config tc = {.ca_file = t->ca, .cert_file = t->cert, .key_file = t->key,
                                 .insecure_skip_verify = t->insecure_skip_verify};
        int rc;
        p->ec = &sc->etcd;
        if (!endpoint_tls(p, sc->etcd.endpoints[i])) {
            continue;
        }
        if ((rc = tlsc_ctx_new(&tc, &p->tls, e)) != 0) {
            free(p->prefix);
            free(p);
            return rc;
        }
    }
    p->loop = loop;
    p->ec = &sc->etcd;
    p->emit = emit;
    p->arg = arg;
    p->backoff_ms = BACKOFF_MIN_MS;
    p->lines.max = MAX_ANSWER;
    uv_timer_init(loop, &p->timer);
    p->timer.data = p;
    uv_timer_init(loop, &p->probe_timer);
    p->probe_timer.data = p;
    p->handles = 2;
    uv_timer_start(&p->timer, on_timer, 0, 0); /* the first cycle on the next iteration */
    *out = p;
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    struct provider *p = h->data;
    if (--p->handles > 0) {
        return;
    }
    etcd_kvs_fini(&p->kvs);
    etcd_lines_fini(&p->lines);
    free(p->auth);
    free(p->prefix);
    tlsc_ctx_free(p->tls);
    free(p);
}

static void etcd_stop(struct provider *p)
{
    p->stopped = true;
    if (p->inflight != NULL) {
        fetch_cancel(p->inflight); /* its callback fires now and sees `stopped` */
    }
    if (p->probe != NULL) {
        fetch_cancel(p->probe);
    }
    uv_close((uv_handle_t *)&p->timer, on_timer_closed);
    uv_close((uv_handle_t *)&p->probe_timer, on_timer_closed);
}

const struct provider_ops etcd_provider_ops = {
    .name = "etcd",
    .cluster_wide = true,
    .enabled = etcd_enabled,
    .start = etcd_start,
    .stop = etcd_stop,
};
