/* The composition root of proxyd: static config -> dynamic config -> table -> data plane.
 * Later issues add raftstore, providers and the admin API here. */
#ifndef CONCORD_NODE_H
#define CONCORD_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "node/base/err.h"
#include "providers/static_config.h"

struct node;
struct table;
struct table_source;
struct rs_merged;
struct diags;
struct Concord__Config__Config;

/* What the admin API reads (node/admin/api_http.c): the live table, the configuration it was
 * compiled from and that compile's diagnostics (the only trace of disabled objects). Control
 * thread only: valid until the next hot swap, which runs on the same thread. */
struct node_view {
    const struct table *table;
    const struct table_source *srcs; /* the merged namespaces the table was built from */
    uint32_t nsrcs;
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
int node_watch(struct node *n, uv_loop_t *loop, void (*cb)(void *arg), void *arg);
/* Stops watching (on the loop's thread, before node_stop). */
void node_unwatch(struct node *n);
/* Graceful stop (blocks until the workers are done). */
void node_stop(struct node *n);
void node_destroy(struct node *n);
void node_view(const struct node *n, struct node_view *out);

/* ---- the control path (node/sync.c) ----
 * Providers' output reaches a table only through the replicated state: sync.c proposes what
 * node_file_load() reads, and publishes what the state merges. */

/* Loads the file provider's document(s) (none configured: *out NULL, 0). A document that does
 * not parse: -EINVAL with the errors in d. Warnings and semantic errors go to d as well. */
int node_file_load(struct node *n, struct Concord__Config__Config **out, struct diags *d);
bool node_file_enabled(const struct node *n);

/* Compiles the merged cluster configuration into a table of that generation (the raft index
 * it was built from) and swaps it in; the merged configs move into the node (m keeps the
 * rest for rs_merged_fini). On failure the running table stays. */
int node_publish(struct node *n, struct rs_merged *m, uint64_t generation, struct err *e);
/* Compiles `m` without building anything: its diagnostics (merge errors included) go to d.
 * Returns 0 or a negative code when it cannot be compiled at all. */
int node_dry_run(struct node *n, const struct rs_merged *m, struct diags *d);
uint64_t node_table_generation(const struct node *n);

/* A dynamic configuration sent to the admin API (YAML or JSON), decoded as the file provider
 * decodes a file; `name` names it in diagnostics. Errors: -EINVAL with the errors in d. */
int node_decode_config(const char *name, const char *text, size_t len,
                       struct Concord__Config__Config **out, struct diags *d);
void node_config_free(struct Concord__Config__Config *cfg);

/* The files `cfg` refers to (basicAuth.usersFile), read now by this proposing node, as blobs
 * for the proposal (DESIGN.md "Files referenced from config"). One that cannot be read is a
 * warning in d and is left out (every node's compile then says so). Returns 0 or -ENOMEM;
 * free with node_carried_free either way. */
struct Concord__Raftlog__FileBlob;
int node_carry_files(const struct Concord__Config__Config *cfg,
                     struct Concord__Raftlog__FileBlob ***out, size_t *n, struct diags *d);
void node_carried_free(struct Concord__Raftlog__FileBlob **v, size_t n);
uint64_t node_grace_ms(const struct node *n);
uint64_t node_accept_grace_ms(const struct node *n);

#endif
