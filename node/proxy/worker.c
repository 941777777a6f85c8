/* Worker threads: one libuv loop each, with its own SO_REUSEPORT listeners, buffer freelist
 * and upstream pools. Nothing here is shared with other workers except the proxy's control
 * fields, which are read under a mutex only when the async handle fires. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/base/log.h"
#include "node/proxy/proxy-int.h"

void worker_main(void *arg);
int worker_init(struct worker *w, struct proxy *p, uint32_t index);
void worker_fini(struct worker *w);

uint64_t worker_now_ms(struct worker *w)
{
    return uv_now(&w->loop);
}

char *worker_buf_get(struct worker *w, bool big)
{
    if (big) {
        return w->nfreebig > 0 ? w->freebig[--w->nfreebig] : malloc(IOBUF_BIG);
    }
    return w->nfree > 0 ? w->freebufs[--w->nfree] : malloc(IOBUF_SIZE);
}

void worker_buf_put(struct worker *w, char *buf, bool big)
{
    if (big && w->nfreebig < IOBUF_BIG_FREELIST_MAX) {
        w->freebig[w->nfreebig++] = buf;
    } else if (!big && w->nfree < IOBUF_FREELIST_MAX) {
        w->freebufs[w->nfree++] = buf;
    } else {
        free(buf);
    }
}

/* Adopts the newest table generation, if the control thread published one. */
static void worker_refresh_table(struct worker *w)
{
    struct proxy *p = w->proxy;
    struct table *t;
    pthread_mutex_lock(&p->mu);
    t = p->next_table;
    if (t != NULL && t != w->table) {
        table_ref(t);
    } else {
        t = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    if (t == NULL) {
        return;
    }
    struct balance bal;
    if (balance_init(&bal, t) != 0) {
        table_unref(t);
        log_error("worker %u: out of memory adopting table generation", w->index);
        return;
    }
    if (w->table != NULL) {
        table_unref(w->table);
    }
    balance_fini(&w->bal);
    w->table = t;
    w->bal = bal;
}

static void on_listener_closed(uv_handle_t *h)
{
    (void)h;
}

static void on_handle_closed_noop(uv_handle_t *h)
{
    (void)h;
}

static void worker_maybe_finish(struct worker *w)
{
    if (!w->stopping || w->nconns > 0 || w->finished) {
        return;
    }
    w->finished = true;
    mirror_close_all(w);
    upstream_pools_close(w);
    uv_timer_stop(&w->grace_timer);
    uv_close((uv_handle_t *)&w->grace_timer, on_handle_closed_noop);
    uv_close((uv_handle_t *)&w->async, on_handle_closed_noop);
}

void worker_conn_closed(struct worker *w)
{
    w->nconns--;
    worker_maybe_finish(w);
}

static void on_grace_expired(uv_timer_t *t)
{
    struct worker *w = t->data;
    struct dlist *it = w->conns.next;
    log_info("worker %u: grace period over, closing %u connection(s)", w->index, w->nconns);
    while (it != &w->conns) {
        struct conn *c = DLIST_ENTRY(it, struct conn, link);
        it = it->next;
        conn_close(c);
    }
}

static void worker_begin_stop(struct worker *w, uint64_t grace_ms)
{
    struct dlist *it;
    if (w->stopping) {
        return;
    }
    w->stopping = true;
    for (uint32_t i = 0; i < w->nlisteners; i++) {
        uv_close((uv_handle_t *)&w->listeners[i], on_listener_closed);
    }
    w->listeners_closed = true;
    it = w->conns.next;
    while (it != &w->conns) {
        struct conn *c = DLIST_ENTRY(it, struct conn, link);
        it = it->next;
        conn_begin_drain(c);
    }
    uv_timer_start(&w->grace_timer, on_grace_expired, grace_ms, 0);
    worker_maybe_finish(w);
}

static void on_async(uv_async_t *a)
{
    struct worker *w = a->data;
    struct proxy *p = w->proxy;
    bool stop;
    uint64_t grace;
    worker_refresh_table(w);
    pthread_mutex_lock(&p->mu);
    stop = p->stop;
    grace = p->grace_ms;
    pthread_mutex_unlock(&p->mu);
    if (stop) {
        worker_begin_stop(w, grace);
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    struct worker *w = server->loop->data;
    uint32_t ep = (uint32_t)(uintptr_t)server->data;
    if (status < 0) {
        /* EMFILE and friends repeat for every pending connection: log once a second. */
        if (worker_now_ms(w) - w->refused_logged_ms > 1000) {
            w->refused_logged_ms = worker_now_ms(w);
            log_warn("accept on entry point %s: %s", w->proxy->cfg.entrypoints[ep].name,
                     uv_strerror(status));
        }
        return;
    }
    if (w->stopping) {
        return;
    }
    conn_accept(w, server, ep);
}

int worker_init(struct worker *w, struct proxy *p, uint32_t index)
{
    const struct proxy_config *cfg = &p->cfg;
    int rc;
    memset(w, 0, sizeof *w);
    w->proxy = p;
    w->index = index;
    dlist_init(&w->conns);
    dlist_init(&w->mirrors);
    rc = uv_loop_init(&w->loop);
    if (rc != 0) {
        return rc;
    }
    w->loop.data = w;
    w->listeners = calloc(cfg->n_entrypoints, sizeof *w->listeners);
    w->listen_fds = calloc(cfg->n_entrypoints, sizeof *w->listen_fds);
    w->ep_conns = calloc(cfg->n_entrypoints, sizeof *w->ep_conns);
    w->freebufs = calloc(IOBUF_FREELIST_MAX, sizeof *w->freebufs);
    w->freebig = calloc(IOBUF_BIG_FREELIST_MAX, sizeof *w->freebig);
    w->freews = calloc(256, sizeof *w->freews);
    for (uint32_t i = 0; i < cfg->n_entrypoints; i++) {
        if (cfg->entrypoints[i].max_headers > w->max_hdrs) {
            w->max_hdrs = cfg->entrypoints[i].max_headers;
        }
    }
    w->max_hdrs += 1;
    w->hdrs = calloc(w->max_hdrs, sizeof *w->hdrs);
    if (!w->listeners || !w->listen_fds || !w->ep_conns || !w->freebufs || !w->freebig || !w->freews || !w->hdrs) {
        return UV_ENOMEM;
    }
    for (uint32_t i = 0; i < cfg->n_entrypoints; i++) {
        w->listen_fds[i] = -1;
    }
    uv_async_init(&w->loop, &w->async, on_async);
    w->async.data = w;
    uv_timer_init(&w->loop, &w->grace_timer);
    w->grace_timer.data = w;
    return 0;
}

/* Opens the listening sockets already bound by proxy_create() in this worker's loop. */
static int worker_listen(struct worker *w)
{
    const struct proxy_config *cfg = &w->proxy->cfg;
    for (uint32_t i = 0; i < cfg->n_entrypoints; i++) {
        int rc;
        uv_tcp_init(&w->loop, &w->listeners[i]);
        w->nlisteners++;
        w->listeners[i].data = (void *)(uintptr_t)i;
        rc = uv_tcp_open(&w->listeners[i], w->listen_fds[i]);
        if (rc == 0) {
            w->listen_fds[i] = -1; /* owned by the handle now */
            rc = uv_listen((uv_stream_t *)&w->listeners[i], 4096, on_connection);
        }
        if (rc != 0) {
            log_error("worker %u: listen on %s: %s", w->index, cfg->entrypoints[i].name,
                      uv_strerror(rc));
            return rc;
        }
    }
    return 0;
}

void worker_main(void *arg)
{
    struct worker *w = arg;
    worker_refresh_table(w);
    if (worker_listen(w) != 0) {
        /* Keep the loop consistent: behave as if a stop was requested. */
        worker_begin_stop(w, 0);
    }
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

void worker_fini(struct worker *w)
{
    int rc;
    if (!w->finished) {
        /* The worker never ran (start-up failed): close its handles here. */
        w->stopping = true;
        uv_close((uv_handle_t *)&w->grace_timer, on_handle_closed_noop);
        uv_close((uv_handle_t *)&w->async, on_handle_closed_noop);
        uv_run(&w->loop, UV_RUN_DEFAULT);
    }
    if (w->listen_fds != NULL) {
        for (uint32_t i = 0; i < w->proxy->cfg.n_entrypoints; i++) {
            if (w->listen_fds[i] >= 0) {
                close(w->listen_fds[i]);
            }
        }
    }
    rc = uv_loop_close(&w->loop);
    if (rc != 0) {
        log_error("worker %u: loop closed with live handles: %s", w->index, uv_strerror(rc));
    }
    for (uint32_t i = 0; i < w->nfree; i++) {
        free(w->freebufs[i]);
    }
    free(w->freebufs);
    for (uint32_t i = 0; i < w->nfreebig; i++) {
        free(w->freebig[i]);
    }
    free(w->freebig);
    ws_freelist_fini(w);
    free(w->pools);
    free(w->listeners);
    free(w->listen_fds);
    free(w->ep_conns);
    free(w->hdrs);
    balance_fini(&w->bal);
    if (w->table != NULL) {
        table_unref(w->table);
    }
}
