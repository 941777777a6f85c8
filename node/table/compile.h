/* Compiles the canonical configuration (proto) into a table generation. All semantic
 * validation of dynamic configuration lives here; it also runs as a dry run (no table built)
 * for `proxyctl check`. The only file of node/table that sees proto types.
 *
 * Objects with a semantic error (bad rule, dangling service reference, bad server URL) are
 * disabled and reported in `d` with their file:line:col (from the proto Mark) and key path;
 * the rest is compiled. Names are namespaced: an object `x` of source namespace `file` becomes
 * `x@file`; a reference without '@' means the same namespace.
 * Threading: any thread; allocates. Errors: -ENOMEM.
 */
#ifndef CONCORD_TABLE_COMPILE_H
#define CONCORD_TABLE_COMPILE_H

#include <stdint.h>

#include "node/base/diag.h"
#include "node/table/table.h"
#include "proto/config.pb-c.h"

struct table_source {
    const char *ns; /* "file", "docker", "api", ... */
    const Concord__Config__Config *cfg;
};

struct table_compile_opts {
    const char *const *entrypoints; /* names of this node's entry points, index = bit */
    uint32_t n_entrypoints;
    uint64_t generation; /* stamped on the table (later: the raft index) */
};

/* Builds a table from the sources (out may be NULL for a dry run). Returns 0 when a table was
 * built (possibly with disabled objects reported in `d`), or a negative code. */
int table_compile(const struct table_source *srcs, uint32_t nsrcs,
                  const struct table_compile_opts *o, struct table **out, struct diags *d);

#endif
