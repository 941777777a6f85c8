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
    /* This node's providers (filled by the control path, sync.h; none before it runs): a
     * cluster-wide one is active only on the leader. error "" when its source is healthy. */
    struct node_view_provider {
        const char *name;
        const char *error;
        const char *skipped; /* objects its last Config left out ("" when none) */
        bool active;
    } providers[16];
    uint32_t nproviders;
};

/* Loads the dynamic configuration, compiles the first table and binds every listener.
 * Errors: -EINVAL (configuration; details already logged), -errno from binding. */
int node_create(const struct static_config *sc, struct node **out, struct err *e);
/* `--check`: loads and compiles the dynamic configuration as a dry run (no socket is bound).
 * Returns 0 when nothing has an error, 1 otherwise (diagnostics are logged). */
int node_check(const struct static_config *sc);

int node_start(struct node *n);
/* Graceful stop (blocks until the workers are done). */
void node_stop(struct node *n);
void node_destroy(struct node *n);
void node_view(const struct node *n, struct node_view *out);

/* ---- the control path (node/sync.c) ----
 * Providers' output (providers/provider.h) reaches a table only through the replicated state:
 * sync.c proposes what they emit, and publishes what the state merges. */

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

uint64_t node_grace_ms(const struct node *n);
uint64_t node_accept_grace_ms(const struct node *n);

#endif
