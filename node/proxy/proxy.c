/* The data plane's public face: binds entry points, runs workers, publishes tables, stops. */
#include "node/proxy/proxy.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "node/base/log.h"
#include "node/net/listen.h"
#include "node/proxy/proxy-int.h"

void worker_main(void *arg);
int worker_init(struct worker *w, struct proxy *p, uint32_t index);
void worker_fini(struct worker *w);

static int copy_config(struct proxy_config *dst, const struct proxy_config *src)
{
    *dst = *src;
    dst->entrypoints = calloc(src->n_entrypoints, sizeof *dst->entrypoints);
    if (dst->entrypoints == NULL) {
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < src->n_entrypoints; i++) {
        struct proxy_entrypoint *ep = &dst->entrypoints[i];
        *ep = src->entrypoints[i];
        ep->trusted_ips = NULL;
        if (ep->n_trusted_ips > 0) {
            ep->trusted_ips = calloc(ep->n_trusted_ips, sizeof *ep->trusted_ips);
            if (ep->trusted_ips == NULL) {
                return -ENOMEM;
            }
            memcpy(ep->trusted_ips, src->entrypoints[i].trusted_ips,
                   ep->n_trusted_ips * sizeof *ep->trusted_ips);
        }
    }
    return 0;
}

/* Binds entry point `i` on every worker. With port 0 the first socket picks the port and the
 * others join it through SO_REUSEPORT. */
static int bind_entrypoint(struct proxy *p, uint32_t i, struct err *e)
{
    struct proxy_entrypoint *ep = &p->cfg.entrypoints[i];
    struct sockaddr_storage ss;
    socklen_t len;
    char addr[80];
    int rc = net_resolve(ep->host, ep->port, &ss, &len, e);
    if (rc != 0) {
        return err_wrap(e, "entry point %s: ", ep->name);
    }
    for (uint32_t k = 0; k < p->nworkers; k++) {
        int fd;
        if (k == 0 && ep->fd >= 0) {
            fd = ep->fd;
        } else {
            fd = net_listen(&ss, len, true, 4096, e);
        }
        if (fd < 0) {
            return err_wrap(e, "entry point %s: ", ep->name);
        }
        p->workers[k].listen_fds[i] = fd;
        if (k == 0) {
            uint16_t port = net_bound_port(fd);
            if (ss.ss_family == AF_INET) {
                ((struct sockaddr_in *)&ss)->sin_port = htons(port);
            } else {
                ((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
            }
            ep->port = port;
        }
    }
    net_format_addr((struct sockaddr *)&ss, addr, sizeof addr);
    log_info("listener entrypoint=%s addr=%s workers=%u", ep->name, addr, p->nworkers);
    return 0;
}

int proxy_create(const struct proxy_config *cfg, struct table *table, struct proxy **out,
                 struct err *e)
{
    struct proxy *p = calloc(1, sizeof *p);
    int rc;
    if (p == NULL) {
        return err_set(e, -ENOMEM, "out of memory");
    }
    pthread_mutex_init(&p->mu, NULL);
    {
        uint32_t r = 0;
        if (getentropy(&r, sizeof r) != 0) {
            r = (uint32_t)getpid() ^ (uint32_t)time(NULL);
        }
        snprintf(p->via_id, sizeof p->via_id, "%s-%08x", cfg->node_id, r);
    }
    rc = copy_config(&p->cfg, cfg);
    if (rc != 0) {
        err_set(e, rc, "out of memory");
        goto err_after_alloc;
    }
    p->nworkers = cfg->workers;
    if (p->nworkers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        p->nworkers = n > 0 ? (uint32_t)n : 1;
    }
    p->workers = calloc(p->nworkers, sizeof *p->workers);
    if (p->workers == NULL) {
        rc = err_set(e, -ENOMEM, "out of memory");
        goto err_after_alloc;
    }
    for (uint32_t k = 0; k < p->nworkers; k++) {
        rc = worker_init(&p->workers[k], p, k);
        if (rc != 0) {
            err_set(e, rc, "worker %u: %s", k, uv_strerror(rc));
            goto err_after_alloc;
        }
    }
    table_ref(table);
    p->next_table = table;
    for (uint32_t i = 0; i < p->cfg.n_entrypoints; i++) {
        rc = bind_entrypoint(p, i, e);
        if (rc != 0) {
            goto err_after_alloc;
        }
    }
    *out = p;
    return 0;

err_after_alloc:
    proxy_destroy(p);
    return rc;
}

int proxy_start(struct proxy *p)
{
    for (uint32_t k = 0; k < p->nworkers; k++) {
        int rc = uv_thread_create(&p->workers[k].thread, worker_main, &p->workers[k]);
        if (rc != 0) {
            return rc;
        }
        p->nstarted++;
    }
    return 0;
}

void proxy_set_table(struct proxy *p, struct table *t)
{
    struct table *old;
    table_ref(t);
    pthread_mutex_lock(&p->mu);
    old = p->next_table;
    p->next_table = t;
    pthread_mutex_unlock(&p->mu);
    if (old != NULL) {
        table_unref(old);
    }
    for (uint32_t k = 0; k < p->nworkers; k++) {
        uv_async_send(&p->workers[k].async);
    }
}

void proxy_shutdown(struct proxy *p, uint64_t grace_ms)
{
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    p->grace_ms = grace_ms;
    pthread_mutex_unlock(&p->mu);
    for (uint32_t k = 0; k < p->nworkers; k++) {
        uv_async_send(&p->workers[k].async);
    }
    /* Only started workers are joined; a worker that never ran is cleaned up by
     * proxy_destroy(). */
    for (uint32_t k = 0; k < p->nstarted; k++) {
        uv_thread_join(&p->workers[k].thread);
    }
}

void proxy_destroy(struct proxy *p)
{
    if (p == NULL) {
        return;
    }
    if (p->workers != NULL) {
        for (uint32_t k = 0; k < p->nworkers; k++) {
            if (p->workers[k].proxy != NULL) {
                worker_fini(&p->workers[k]);
            }
        }
        free(p->workers);
    }
    if (p->next_table != NULL) {
        table_unref(p->next_table);
    }
    for (uint32_t i = 0; i < p->cfg.n_entrypoints && p->cfg.entrypoints; i++) {
        free(p->cfg.entrypoints[i].trusted_ips);
    }
    free(p->cfg.entrypoints);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

uint16_t proxy_bound_port(const struct proxy *p, uint32_t i)
{
    return p->cfg.entrypoints[i].port;
}
