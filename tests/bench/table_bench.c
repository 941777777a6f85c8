/* Routing-table micro-benchmark: compiles configurations of 10 and 10,000 routers
 * (Host(`hN.example`) && PathPrefix(`/`)) with table_compile() and measures table_match()
 * on random hosts of the set, next to the linear scan it replaced (table_match_linear(), fewer
 * lookups). Not a test: it prints figures and has no pass/fail.
 *
 * Usage: table_bench [lookups]     (default 2,000,000 lookups per table size)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/table/compile.h"
#include "node/table/table-build.h" /* table_match_linear(), for comparison */
#include "node/table/table.h"

typedef Concord__Config__Config Config;
typedef Concord__Config__Router Router;
typedef Concord__Config__Service Service;
typedef Concord__Config__Server Server;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (p == NULL) {
        fprintf(stderr, "table_bench: out of memory\n");
        exit(1);
    }
    return p;
}

static char *xstrdup(const char *s)
{
    return strcpy(xcalloc(strlen(s) + 1, 1), s);
}

/* The configuration (one service, n routers) as a heap tree of protobuf-c messages. */
struct cfg {
    Config c;
    Concord__Config__HttpConfig http;
    Service svc;
    Concord__Config__LoadBalancer lb;
    Server srv;
    Service *svcs[1];
    Server *srvs[1];
    Router *routers; /* n */
    Router **rp;
};

static struct cfg *cfg_new(uint32_t n)
{
    struct cfg *g = xcalloc(1, sizeof *g);
    g->c = (Config)CONCORD__CONFIG__CONFIG__INIT;
    g->http = (Concord__Config__HttpConfig)CONCORD__CONFIG__HTTP_CONFIG__INIT;
    g->svc = (Service)CONCORD__CONFIG__SERVICE__INIT;
    g->lb = (Concord__Config__LoadBalancer)CONCORD__CONFIG__LOAD_BALANCER__INIT;
    g->srv = (Server)CONCORD__CONFIG__SERVER__INIT;
    g->srv.url = xstrdup("http://127.0.0.1:8081");
    g->srvs[0] = &g->srv;
    g->lb.servers = g->srvs;
    g->lb.n_servers = 1;
    g->svc.name = xstrdup("svc");
    g->svc.kind_case = CONCORD__CONFIG__SERVICE__KIND_LOAD_BALANCER;
    g->svc.load_balancer = &g->lb;
    g->svcs[0] = &g->svc;
    g->http.services = g->svcs;
    g->http.n_services = 1;
    g->routers = xcalloc(n, sizeof *g->routers);
    g->rp = xcalloc(n, sizeof *g->rp);
    for (uint32_t i = 0; i < n; i++) {
        char buf[80];
        Router *r = &g->routers[i];
        *r = (Router)CONCORD__CONFIG__ROUTER__INIT;
        snprintf(buf, sizeof buf, "r%u", i);
        r->name = xstrdup(buf);
        snprintf(buf, sizeof buf, "Host(`h%u.example`) && PathPrefix(`/`)", i);
        r->rule = xstrdup(buf);
        r->service = xstrdup("svc");
        g->rp[i] = r;
    }
    g->http.routers = g->rp;
    g->http.n_routers = n;
    g->c.http = &g->http;
    return g;
}

static void cfg_free(struct cfg *g, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        free(g->routers[i].name);
        free(g->routers[i].rule);
        free(g->routers[i].service);
    }
    free(g->routers);
    free(g->rp);
    free(g->srv.url);
    free(g->svc.name);
    free(g);
}

static const char *const eps[] = {"web"};

/* Compiles n routers; returns the table and stores the compile time in seconds. */
static struct table *compile(uint32_t n, double *secs)
{
    struct cfg *g = cfg_new(n);
    struct table_source src = {"file", &g->c};
    struct table_compile_opts o = {.entrypoints = eps, .n_entrypoints = 1, .generation = 1};
    struct table *t = NULL;
    double t0 = now();
    int rc = table_compile(&src, 1, &o, &t, NULL);
    *secs = now() - t0;
    cfg_free(g, n);
    if (rc != 0 || t == NULL || table_nrouters(t) != n) {
        fprintf(stderr, "table_bench: compiling %u routers failed (%d)\n", n, rc);
        exit(1);
    }
    return t;
}

static uint64_t rng = 88172645463325252u;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* Lookups per second over `lookups` requests for random hosts of the set. */
static double lookups_per_sec(const struct table *t, uint32_t n, uint32_t lookups, bool linear)
{
    enum { NREQ = 4096 };
    static char hosts[NREQ][32];
    static struct table_request q[NREQ];
    for (uint32_t i = 0; i < NREQ; i++) {
        int len = snprintf(hosts[i], sizeof hosts[i], "h%u.example", rnd(n));
        q[i] = (struct table_request){
            .host = hosts[i], .host_len = (uint32_t)len, .path = "/index.html", .path_len = 11};
    }
    uint32_t misses = 0;
    double t0 = now();
    for (uint32_t i = 0; i < lookups; i++) {
        const struct table_request *r = &q[i % NREQ];
        misses += (linear ? table_match_linear(t, r) : table_match(t, r)) == NULL;
    }
    double dt = now() - t0;
    if (misses != 0) {
        fprintf(stderr, "table_bench: %u lookups found no router\n", misses);
        exit(1);
    }
    return (double)lookups / dt;
}

int main(int argc, char **argv)
{
    uint32_t lookups = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 2000000;
    if (lookups == 0) {
        fprintf(stderr, "usage: table_bench [lookups]\n");
        return 2;
    }
    static const uint32_t sizes[] = {10, 10000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        double secs;
        struct table *t = compile(sizes[k], &secs);
        double lps = lookups_per_sec(t, sizes[k], lookups, false);
        uint32_t nlin = lookups / (sizes[k] / 10 > 0 ? sizes[k] / 10 : 1);
        double lin = lookups_per_sec(t, sizes[k], nlin > 1000 ? nlin : 1000, true);
        printf("%6u routers: compile %8.2f ms, indexed %12.0f lookups/s, linear scan %12.0f "
               "lookups/s\n",
               sizes[k], secs * 1e3, lps, lin);
        table_unref(t);
    }
    return 0;
}
