/* Internal to node/table: how compile.c hands the objects it built over to table.c.
 *
 * Not for other components: node/proxy and the rest only see table.h. This header has no .c
 * of its own because its functions belong to the table object (table.c).
 */
#ifndef CONCORD_TABLE_TABLE_BUILD_H
#define CONCORD_TABLE_TABLE_BUILD_H

#include <stdint.h>

#include "node/table/table.h"

/* Everything a generation owns. Each array is malloc'd and owns the strings, the rule and the
 * server-pointer arrays inside its elements; table_service.servers point into `servers` and
 * table_router.service into `services`, so neither array may move once those are set.
 * Services must be sorted by name (table_service_find() searches them) with id = index;
 * servers must have id = index. Router order does not matter. */
struct table_parts {
    struct table_router *routers;
    uint32_t nrouters;
    struct table_service *services;
    uint32_t nservices;
    struct table_server *servers;
    uint32_t nservers;
    /* Sorted by name; table_service.transport points into it. A service owns its children,
     * mirrors, hashes and sticky cookie (malloc'd). */
    struct table_transport *transports;
    uint32_t ntransports;
    /* Sorted by name, id = index; routers' mws arrays (malloc'd, owned by the router) point
     * into it. */
    struct table_middleware *middlewares;
    uint32_t nmiddlewares;
};

/* Takes everything in *p (which is zeroed), sorts the routers (priority desc, then name asc)
 * and builds the match structures. Returns a table with one reference, or NULL on -ENOMEM,
 * in which case the parts have been freed. */
struct table *table_assemble(struct table_parts *p, uint64_t generation);

/* Frees what *p owns (any prefix of it may be filled; NULL pointers are skipped) and zeroes it. */
void table_parts_fini(struct table_parts *p);

/* table_match() without the host index: tries every router in match order. Same results;
 * kept for tests (equivalence) and benchmarks. */
const struct table_router *table_match_linear(const struct table *t, const struct table_request *r);

#endif
