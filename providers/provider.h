/* The provider contract (DESIGN.md "Where providers run"): a provider observes its source and
 * emits a complete Config for its namespace each time the source changes; node/sync.c turns an
 * emission into this node's contribution (a proposal forwarded to the leader), skips one that
 * equals the committed revision, and retries until it is committed.
 *
 * One ops table per provider, listed in provider_registry (DESIGN.md style 7). A provider that
 * fails or loses its source emits an error and no Config: the last committed contribution
 * stays (nothing is withdrawn because a socket dropped). A healthy source with no objects
 * emits an empty Config: its routes go.
 *
 * Threading: the control loop. Ownership: emissions hand their Config and file blobs over.
 */
#ifndef CONCORD_PROVIDERS_PROVIDER_H
#define CONCORD_PROVIDERS_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "node/base/diag.h"
#include "node/base/err.h"
#include "proto/config.pb-c.h"
#include "proto/raftlog.pb-c.h"
#include "providers/static_config.h"

struct provider;

/* An emission: cfg (taken; NULL when the source failed: `error` says why, the contribution
 * stays) and the files it names, read now (taken; see DESIGN.md "Files referenced from
 * config"). Diagnostics of the source (warnings, objects skipped) are in d, valid during the
 * call. */
typedef void (*provider_emit_fn)(void *arg, Concord__Config__Config *cfg,
                                 Concord__Raftlog__FileBlob **files, size_t nfiles,
                                 const char *error, const struct diags *d);

struct provider_ops {
    const char *name;   /* the namespace: "file", later "docker", "etcd", ... */
    bool cluster_wide;  /* runs on the leader only (kubernetes, http, etcd); false: per node */
    bool (*enabled)(const struct static_config *sc);
    /* Starts observing; the first emission may come before it returns (the file provider
     * reads its file at once). Returns 0 or a negative code (no emission, e->msg says why). */
    int (*start)(uv_loop_t *loop, const struct static_config *sc, provider_emit_fn emit,
                 void *arg, struct provider **out, struct err *e);
    /* No emission after it returns; memory goes asynchronously. */
    void (*stop)(struct provider *p);
};

/* Every provider, NULL-terminated. */
extern const struct provider_ops *const provider_registry[];

/* The files `cfg` names (basicAuth.usersFile), read from this node's disk, as blobs for a
 * proposal. One that cannot be read is a warning in d and is left out (every node's compile
 * then says so). Returns 0 or -ENOMEM; free with provider_files_free either way. */
int provider_carry_files(const Concord__Config__Config *cfg, Concord__Raftlog__FileBlob ***out,
                         size_t *n, struct diags *d);
void provider_files_free(Concord__Raftlog__FileBlob **v, size_t n);

#endif
