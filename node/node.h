/* The composition root of proxyd: static config -> dynamic config -> table -> data plane.
 * Later issues add raftstore, providers and the admin API here. */
#ifndef CONCORD_NODE_H
#define CONCORD_NODE_H

#include <stdint.h>
#include <uv.h>

#include "node/base/err.h"
#include "providers/static_config.h"

struct node;
struct table;
struct diags;
struct Concord__Config__Config;

/* What the admin API reads (node/admin/api_http.c): the live table, the configuration it was
 * compiled from and that compile's diagnostics (the only trace of disabled objects). Control
 * thread only: valid until the next hot swap, which runs on the same thread. */
struct node_view {
    const struct table *table;
    const struct Concord__Config__Config *cfg; /* NULL: no file provider */
    const char *ns;                            /* cfg's namespace ("file") */
    const struct diags *diags;
    const char *const *entrypoints; /* this node's entry point names, index = table bit */
    uint32_t n_entrypoints;
};

/* Loads the dynamic configuration, compiles the first table and binds every listener.
 * Errors: -EINVAL (configuration; details already logged), -errno from binding. */
int node_create(const struct static_config *sc, struct node **out, struct err *e);
/* `--check`: loads and compiles the dynamic configuration as a dry run (no socket is bound).
 * Returns 0 when nothing has an error, 1 otherwise (diagnostics are logged). */
int node_check(const struct static_config *sc);

int node_start(struct node *n);
/* Watches the file provider's source (when `providers.file.watch`) and hot-swaps the table on
 * every change that compiles; a change that does not parse keeps the running table. */
int node_watch(struct node *n, uv_loop_t *loop);
/* Stops watching (on the loop's thread, before node_stop). */
void node_unwatch(struct node *n);
/* Graceful stop (blocks until the workers are done). */
void node_stop(struct node *n);
void node_destroy(struct node *n);
void node_view(const struct node *n, struct node_view *out);
uint64_t node_grace_ms(const struct node *n);
uint64_t node_accept_grace_ms(const struct node *n);

#endif
