/* proxyd: command line, static configuration, signals. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "node/admin/admin.h"
#include "node/admin/api_cluster.h"
#include "node/sync.h"
#include "node/base/diag.h"
#include "node/base/log.h"
#include "node/node.h"
#include "providers/static_config.h"

#ifndef CONCORD_VERSION
#define CONCORD_VERSION "0.0.0"
#endif

static const char usage[] =
    "usage: proxyd [options]\n"
    "  --config FILE          static configuration (Traefik-style YAML)\n"
    "  --check                validate the configuration and exit (0 ok, 1 errors)\n"
    "  --workers N            worker threads (default: number of cores)\n"
    "  --node-id ID           this node's id (default from the config, else \"n1\")\n"
    "  --data-dir DIR         data directory (default ./concord-data)\n"
    "  --raft-address ADDR    raft address (default 127.0.0.1:9901)\n"
    "  --admin-address ADDR   admin API address (default 127.0.0.1:9900)\n"
    "  --bootstrap ID=ADDR,.. form a new cluster from these peers\n"
    "  --join ADDR            join a running cluster through a member's admin address\n"
    "  --force-new-cluster    restart this survivor of a lost quorum as a one-member\n"
    "                         cluster keeping its state (README: recovery)\n"
    "  --log-level LEVEL      DEBUG, INFO, WARN or ERROR\n"
    "  --version, --help\n";

struct run {
    uv_loop_t loop;
    uv_signal_t sigterm;
    uv_signal_t sigint;
    uv_timer_t accept_grace;
    uv_work_t drain;
    struct node *node;
    struct admin *admin;
    struct sync *sync;
    struct api_cluster *api;
    bool stopping;
    int stop_pending;
};

/* Draining blocks until the workers are done, so it runs on libuv's thread pool: the control
 * loop stays free to answer /ping with 503 meanwhile. */
static void drain_work(uv_work_t *w)
{
    struct run *r = w->data;
    node_stop(r->node);
}

/* Both the data plane's drain and the cluster's close must end before the admin listener and
 * the signal handles close (then the loop ends). */
static void stop_step_done(struct run *r)
{
    if (--r->stop_pending > 0) {
        return;
    }
    if (r->admin != NULL) {
        admin_close(r->admin);
    }
    api_cluster_destroy(r->api);
    r->api = NULL;
    uv_close((uv_handle_t *)&r->sigterm, NULL);
    uv_close((uv_handle_t *)&r->sigint, NULL);
    uv_close((uv_handle_t *)&r->accept_grace, NULL);
}

static void on_sync_closed(void *arg)
{
    struct run *r = arg;
    r->sync = NULL;
    if (r->admin != NULL) {
        admin_set_handler(r->admin, NULL, NULL);
        admin_set_peer(r->admin, NULL, NULL);
    }
    stop_step_done(r);
}

static void drain_done(uv_work_t *w, int status)
{
    (void)status;
    stop_step_done(w->data);
}

/* The data plane drains (on the thread pool) while the cluster side hands leadership over and
 * closes: a leader that is stopping must not hold writes up for a whole grace period. */
static void stop_now(struct run *r)
{
    log_info("stopping: finishing in-flight requests (grace %llu ms)",
             (unsigned long long)node_grace_ms(r->node));
    if (r->admin != NULL) {
        admin_set_ready(r->admin, false);
    }
    r->stop_pending = 2;
    r->drain.data = r;
    if (uv_queue_work(&r->loop, &r->drain, drain_work, drain_done) != 0) {
        drain_work(&r->drain);
        drain_done(&r->drain, 0);
    }
    if (r->sync != NULL) {
        sync_close(r->sync, on_sync_closed, r); /* hands leadership over first */
    } else {
        stop_step_done(r);
    }
}

static void on_accept_grace(uv_timer_t *t)
{
    stop_now(t->data);
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct run *r = s->data;
    if (r->stopping) {
        return;
    }
    r->stopping = true;
    log_info("received %s", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    if (node_accept_grace_ms(r->node) > 0) {
        /* Traefik's requestAcceptGraceTimeout: keep serving a while so load balancers in
         * front notice the stop first. */
        uv_timer_start(&r->accept_grace, on_accept_grace, node_accept_grace_ms(r->node), 0);
        return;
    }
    stop_now(r);
}

/* The admin listener: /ping for probes; its token is read from admin.tokenFile or generated
 * in the data directory (DESIGN.md "Defaults"). */
static int start_admin(struct run *r, const struct static_config *sc)
{
    struct err e = {0, ""};
    char *token = NULL, *path = NULL;
    int rc = admin_token_load(sc->admin_token_file, sc->data_dir, &token, &path, &e);
    if (rc == 0) {
        log_info("admin token: %s", path);
        rc = admin_start(&r->loop, sc->admin_address, token, CONCORD_VERSION, &r->admin, &e);
    }
    if (rc != 0) {
        log_error("%s", e.msg);
    }
    free(token);
    free(path);
    return rc;
}

static void on_ready(void *arg, bool ready)
{
    struct run *r = arg;
    if (r->admin != NULL && !r->stopping) {
        admin_set_ready(r->admin, ready);
    }
    if (ready) {
        log_info("proxyd %s ready", CONCORD_VERSION);
    }
}

/* The cluster side: raftstore, the providers' proposals, the cluster API. */
static int start_sync(struct run *r, const struct static_config *sc, bool force_new_cluster)
{
    struct sync_opts o = {.sc = sc,
                          .node = r->node,
                          .admin_address = admin_bound_address(r->admin),
                          .force_new_cluster = force_new_cluster,
                          .on_ready = on_ready,
                          .arg = r};
    struct err e = {0, ""};
    int rc = sync_open(&r->loop, &o, &r->sync, &e);
    if (rc != 0) {
        log_error("cluster: %s", e.msg);
        return rc;
    }
    r->api = api_cluster_create(r->sync, r->node);
    if (r->api == NULL) {
        return -ENOMEM;
    }
    admin_set_handler(r->admin, api_cluster_handle, r->api);
    admin_set_peer(r->admin, api_cluster_peer_ok, r->api);
    return 0;
}

/* The node's view plus this node's providers and their errors (/api/overview). */
static void node_view_of(void *arg, struct node_view *out)
{
    struct run *r = arg;
    node_view(r->node, out);
    for (size_t i = 0; r->sync != NULL && i < sync_nproviders(r->sync) &&
                       out->nproviders < sizeof out->providers / sizeof out->providers[0];
         i++) {
        struct node_view_provider *p = &out->providers[out->nproviders++];
        sync_provider(r->sync, i, &p->name, &p->error);
        p->skipped = sync_provider_skipped(r->sync, i);
        p->active = sync_provider_active(r->sync, i);
    }
}

static int set_log_level(const char *s)
{
    static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            log_set_level((enum log_level)i);
            return 0;
        }
    }
    return -EINVAL;
}

enum { OPT_CONFIG = 1, OPT_CHECK, OPT_WORKERS, OPT_NODE_ID, OPT_DATA_DIR, OPT_RAFT, OPT_ADMIN,
       OPT_BOOTSTRAP, OPT_JOIN, OPT_FORCE_NEW, OPT_LOG, OPT_VERSION, OPT_HELP };

static const struct option options[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"check", no_argument, NULL, OPT_CHECK},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"node-id", required_argument, NULL, OPT_NODE_ID},
    {"data-dir", required_argument, NULL, OPT_DATA_DIR},
    {"raft-address", required_argument, NULL, OPT_RAFT},
    {"admin-address", required_argument, NULL, OPT_ADMIN},
    {"bootstrap", required_argument, NULL, OPT_BOOTSTRAP},
    {"join", required_argument, NULL, OPT_JOIN},
    {"force-new-cluster", no_argument, NULL, OPT_FORCE_NEW},
    {"log-level", required_argument, NULL, OPT_LOG},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static void replace(char **field, const char *value)
{
    free(*field);
    *field = strdup(value);
}

/* Flags override the YAML, so they are applied after loading it. */
struct flags {
    const char *config, *workers, *node_id, *data_dir, *raft, *admin, *bootstrap, *join, *log;
    bool check;
    bool force_new_cluster;
};

static int parse_flags(int argc, char **argv, struct flags *f)
{
    int opt;
    memset(f, 0, sizeof *f);
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case OPT_CONFIG: f->config = optarg; break;
        case OPT_CHECK: f->check = true; break;
        case OPT_WORKERS: f->workers = optarg; break;
        case OPT_NODE_ID: f->node_id = optarg; break;
        case OPT_DATA_DIR: f->data_dir = optarg; break;
        case OPT_RAFT: f->raft = optarg; break;
        case OPT_ADMIN: f->admin = optarg; break;
        case OPT_BOOTSTRAP: f->bootstrap = optarg; break;
        case OPT_JOIN: f->join = optarg; break;
        case OPT_FORCE_NEW: f->force_new_cluster = true; break;
        case OPT_LOG: f->log = optarg; break;
        case OPT_VERSION: printf("proxyd %s\n", CONCORD_VERSION); exit(0);
        case OPT_HELP: fputs(usage, stdout); exit(0);
        default: fputs(usage, stderr); return -EINVAL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "proxyd: unexpected argument \"%s\"\n%s", argv[optind], usage);
        return -EINVAL;
    }
    return 0;
}

static int apply_flags(const struct flags *f, struct static_config *sc)
{
    if (f->workers != NULL) {
        char *end;
        long n = strtol(f->workers, &end, 10);
        if (*end != '\0' || n < 0 || n > 1024) {
            fprintf(stderr, "proxyd: --workers: expected a number from 0 to 1024\n");
            return -EINVAL;
        }
        sc->workers = (uint32_t)n;
    }
    if (f->node_id) replace(&sc->node_id, f->node_id);
    if (f->data_dir) replace(&sc->data_dir, f->data_dir);
    if (f->raft) replace(&sc->raft_address, f->raft);
    if (f->admin) replace(&sc->admin_address, f->admin);
    if (f->join) replace(&sc->join, f->join);
    if (f->bootstrap) { /* "n1=addr,n2=addr" */
        char *list = strdup(f->bootstrap), *save = NULL;
        for (uint32_t i = 0; i < sc->n_bootstrap; i++) {
            free(sc->bootstrap[i]);
        }
        free(sc->bootstrap);
        sc->bootstrap = NULL;
        sc->n_bootstrap = 0;
        for (char *t = strtok_r(list, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
            char **grown = realloc(sc->bootstrap, (sc->n_bootstrap + 1) * sizeof *grown);
            if (grown == NULL || strchr(t, '=') == NULL) {
                fprintf(stderr, "proxyd: --bootstrap: expected id=host:port,...\n");
                if (grown != NULL) {
                    sc->bootstrap = grown;
                }
                free(list);
                return -EINVAL;
            }
            sc->bootstrap = grown;
            sc->bootstrap[sc->n_bootstrap++] = strdup(t);
        }
        free(list);
    }
    if (f->log != NULL && set_log_level(f->log) != 0) {
        fprintf(stderr, "proxyd: --log-level: expected DEBUG, INFO, WARN or ERROR\n");
        return -EINVAL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct static_config sc;
    struct flags f;
    struct diags d;
    struct run r;
    struct err e = {0, ""};
    int rc, exit_code = 0;

    signal(SIGPIPE, SIG_IGN);
    /* libuv's thread pool (4 threads by default) runs basicAuth's bcrypt, the drain, and the
     * providers' name lookups; a lookup that a dead DNS server stalls keeps its thread even
     * after its fetch gave up, so give the pool room (an explicit setting wins). */
    setenv("UV_THREADPOOL_SIZE", "16", 0);
    if (parse_flags(argc, argv, &f) != 0) {
        return 2;
    }
    static_config_defaults(&sc);
    diags_init(&d);
    rc = f.config ? static_config_load(&sc, f.config, &d) : 0;
    diags_print(&d, stderr);
    diags_fini(&d);
    if (rc != 0) {
        static_config_fini(&sc);
        return f.check ? 1 : 2;
    }
    if (sc.log_level != NULL && set_log_level(sc.log_level) != 0) {
        log_warn("log.level \"%s\" unknown, using INFO", sc.log_level);
    }
    if (apply_flags(&f, &sc) != 0) {
        static_config_fini(&sc);
        return 2;
    }
    if (f.check) {
        rc = node_check(&sc);
        static_config_fini(&sc);
        printf("%s\n", rc == 0 ? "configuration OK" : "configuration has errors");
        return rc == 0 ? 0 : 1;
    }
    memset(&r, 0, sizeof r);
    rc = node_create(&sc, &r.node, &e);
    if (rc != 0) {
        log_error("%s", e.msg);
        static_config_fini(&sc);
        return 1;
    }
    uv_loop_init(&r.loop);
    uv_signal_init(&r.loop, &r.sigterm);
    uv_signal_init(&r.loop, &r.sigint);
    uv_timer_init(&r.loop, &r.accept_grace);
    r.sigterm.data = r.sigint.data = r.accept_grace.data = &r;
    uv_signal_start(&r.sigterm, on_signal, SIGTERM);
    uv_signal_start(&r.sigint, on_signal, SIGINT);
    rc = start_admin(&r, &sc);
    if (rc == 0) {
        admin_set_view(r.admin, node_view_of, &r);
        rc = node_start(r.node);
        if (rc != 0) {
            log_error("starting workers: %s", uv_strerror(rc));
        } else {
            rc = start_sync(&r, &sc, f.force_new_cluster);
        }
    }
    if (rc != 0) {
        exit_code = 1;
        r.stopping = true;
        stop_now(&r);
    }
    uv_run(&r.loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(&r.loop);
    node_destroy(r.node);
    static_config_fini(&sc);
    if (rc != 0) {
        log_error("main loop closed with live handles");
        return 1;
    }
    log_info("stopped");
    return exit_code;
}
