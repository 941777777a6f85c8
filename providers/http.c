/* The HTTP provider (Traefik's providers.http): polls an endpoint for a dynamic configuration
 * (YAML or JSON), with If-None-Match so an unchanged document costs a 304. Cluster-wide: the
 * leader runs it (DESIGN.md "Where providers run"). A failed poll keeps the last contribution
 * and reports its error; the next poll comes after pollInterval, doubled after each failure in
 * a row (up to 30 s, or pollInterval when that is longer). https endpoints
 * verify the server against tls.ca (or the system's store) and the URL's host. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/http/fetch.h"
#include "node/net/tls_client.h"
#include "providers/decode.h"
#include "providers/provider.h"

struct provider {
    uv_loop_t *loop;
    const struct http_provider_config *hc;
    provider_emit_fn emit;
    void *arg;
    char address[256];
    char target[2048];
    char etag[256];
    char host[256];         /* the URL's host: what an https server's certificate must name */
    struct tlsc_ctx *tls;   /* https only */
    uv_timer_t timer;
    struct fetch *inflight;
    uint32_t failures; /* polls failed in a row: the next waits longer (backoff) */
    bool stopped;
};

/* The next poll's delay: pollInterval, doubled for each failure in a row, up to
 * max(pollInterval, BACKOFF_MAX_MS), so a source that is down is not hammered. */
#define BACKOFF_MAX_MS 30000
static uint64_t next_delay(const struct provider *p)
{
    uint64_t d = p->hc->poll_interval_ms, cap = d > BACKOFF_MAX_MS ? d : BACKOFF_MAX_MS;
    for (uint32_t i = 0; i < p->failures && d < cap; i++) {
        d *= 2;
    }
    return d < cap ? d : cap;
}

/* "http[s]://host[:port][/path[?query]]" into address ("host:port"), host and target; *https
 * says which. Returns 0 or -EINVAL. */
static int split_url(const char *url, char *address, size_t asize, char *host, size_t hsize,
                     char *target, size_t tsize, bool *https)
{
    const char *hostport, *slash;
    size_t n;
    *https = strncmp(url, "https://", 8) == 0;
    if (!*https && strncmp(url, "http://", 7) != 0) {
        return -EINVAL;
    }
    hostport = url + (*https ? 8 : 7);
    slash = strchr(hostport, '/');
    n = slash ? (size_t)(slash - hostport) : strlen(hostport);
    if (n == 0 || n + 5 >= asize || n >= hsize) {
        return -EINVAL;
    }
    memcpy(address, hostport, n);
    address[n] = '\0';
    if (strrchr(address, ':') == NULL || address[n - 1] == ']') {
        strcat(address, *https ? ":443" : ":80");
    }
    /* the host alone: "[::1]:8443" -> "::1", "cfg.internal:80" -> "cfg.internal" */
    if (address[0] == '[') {
        const char *close = strchr(address, ']');
        if (close == NULL || close[1] != ':') {
            return -EINVAL;
        }
        snprintf(host, hsize, "%.*s", (int)(close - address - 1), address + 1);
    } else {
        snprintf(host, hsize, "%.*s", (int)(strrchr(address, ':') - address), address);
    }
    if ((size_t)snprintf(target, tsize, "%s", slash ? slash : "/") >= tsize) {
        return -EINVAL;
    }
    return 0;
}

static void poll_now(struct provider *p);

static void on_timer(uv_timer_t *t)
{
    poll_now(t->data);
}

__attribute__((format(printf, 2, 3))) static void emit_error(struct provider *p,
                                                             const char *fmt, ...)
{
    va_list ap;
    char msg[300];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->emit(p->arg, NULL, NULL, 0, msg, NULL);
}

static void on_polled(void *arg, int rc, const struct fetch_resp *r)
{
    struct provider *p = arg;
    Concord__Config__Config *cfg = NULL;
    Concord__Raftlog__FileBlob **files = NULL;
    size_t nfiles = 0;
    struct diags d;
    char name[400];
    p->inflight = NULL;
    if (rc == -ECANCELED || p->stopped) {
        return;
    }
    p->failures = rc != 0 || (r->status != 200 && r->status != 304) ? p->failures + 1 : 0;
    uv_timer_start(&p->timer, on_timer, next_delay(p), 0);
    if (rc != 0) {
        emit_error(p, "endpoint unreachable: %s; the last configuration stays",
                   fetch_strerror(rc));
        return;
    }
    if (r->status == 304) {
        return; /* unchanged */
    }
    if (r->status != 200) {
        emit_error(p, "endpoint answered %d; the last configuration stays", r->status);
        return;
    }
    const struct h1_header *et = h1_find(r->msg, "etag");
    if (et != NULL && et->value_len < sizeof p->etag) {
        memcpy(p->etag, et->value, et->value_len);
        p->etag[et->value_len] = '\0';
    } else {
        p->etag[0] = '\0';
    }
    snprintf(name, sizeof name, "%s", p->hc->endpoint);
    diags_init(&d);
    if (decode_dynamic_string(name, (const char *)r->body, r->body_len, &cfg, &d) != 0) {
        char first[480] = "the document was refused";
        for (size_t i = 0; i < d.n; i++) {
            if (d.v[i].severity == DIAG_ERROR) {
                diag_format(&d.v[i], first, sizeof first);
                break;
            }
        }
        p->etag[0] = '\0'; /* ask again in full next time */
        p->emit(p->arg, NULL, NULL, 0, first, &d);
        diags_fini(&d);
        return;
    }
    if (provider_carry_files(cfg, &files, &nfiles, &d) != 0) {
        provider_files_free(files, nfiles);
        decode_config_free(cfg);
        p->emit(p->arg, NULL, NULL, 0, "out of memory", &d);
        diags_fini(&d);
        return;
    }
    p->emit(p->arg, cfg, files, nfiles, NULL, &d);
    diags_fini(&d);
}

static void poll_now(struct provider *p)
{
    char inm[300];
    const char *hdrs[66];
    size_t n = 0;
    struct fetch_req req;
    int rc;
    for (uint32_t i = 0; i < p->hc->n_headers && n < 64; i++) {
        hdrs[n++] = p->hc->headers[i];
    }
    if (p->etag[0] != '\0') {
        snprintf(inm, sizeof inm, "If-None-Match: %s", p->etag);
        hdrs[n++] = inm;
    }
    hdrs[n] = NULL;
    memset(&req, 0, sizeof req);
    req.address = p->address;
    req.method = "GET";
    req.target = p->target;
    req.headers = hdrs;
    req.timeout_ms = p->hc->poll_timeout_ms;
    req.max_body = p->hc->max_body;
    req.tls = p->tls;
    req.server_name = p->host;
    rc = fetch_start(p->loop, &req, on_polled, p, &p->inflight);
    if (rc != 0) {
        p->inflight = NULL;
        emit_error(p, "cannot poll the endpoint: %s", fetch_strerror(rc));
        p->failures++;
        uv_timer_start(&p->timer, on_timer, next_delay(p), 0);
    }
}

static bool http_enabled(const struct static_config *sc)
{
    return sc->http.enabled;
}

static int http_start(uv_loop_t *loop, const struct static_config *sc, provider_emit_fn emit,
                      void *arg, struct provider **out, struct err *e)
{
    struct provider *p = calloc(1, sizeof *p);
    bool https = false;
    if (p == NULL) {
        return err_set(e, -ENOMEM, "out of memory");
    }
    if (split_url(sc->http.endpoint, p->address, sizeof p->address, p->host, sizeof p->host,
                  p->target, sizeof p->target, &https) != 0) {
        free(p);
        return err_set(e, -EINVAL, "endpoint \"%s\": expected http[s]://host[:port]/path",
                       sc->http.endpoint);
    }
    if (https) {
        const struct provider_tls_config *t = &sc->http.tls;
        struct tlsc_config tc = {.ca_file = t->ca, .cert_file = t->cert, .key_file = t->key,
                                 .insecure_skip_verify = t->insecure_skip_verify};
        int rc = tlsc_ctx_new(&tc, &p->tls, e);
        if (rc != 0) {
            free(p);
            return rc;
        }
    }
    p->loop = loop;
    p->hc = &sc->http;
    p->emit = emit;
    p->arg = arg;
    uv_timer_init(loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, on_timer, 0, 0); /* the first poll on the next iteration */
    *out = p;
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    struct provider *p = h->data;
    tlsc_ctx_free(p->tls);
    free(p);
}

static void http_stop(struct provider *p)
{
    p->stopped = true;
    if (p->inflight != NULL) {
        fetch_cancel(p->inflight); /* its callback fires now and sees `stopped` */
    }
    uv_close((uv_handle_t *)&p->timer, on_timer_closed);
}

const struct provider_ops http_provider_ops = {
    .name = "http",
    .cluster_wide = true,
    .enabled = http_enabled,
    .start = http_start,
    .stop = http_stop,
};
