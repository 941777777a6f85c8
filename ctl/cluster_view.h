/* What proxyctl's cluster commands print and decide from the admin API's cluster documents
 * (GET /api/cluster/status and /members, /work/cluster-contract.md): the status and member
 * tables, and which voters have not applied a revision yet (`config apply --wait`).
 * Pure functions of a parsed answer, so they are unit-tested without a server.
 * Threading: none.
 */
#ifndef CONCORD_CTL_CLUSTER_VIEW_H
#define CONCORD_CTL_CLUSTER_VIEW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ctl/jsonv.h"

/* `leader: n1  term: 3` ("leader: none" when null), the members as a table (ID ROLE STATE
 * REACHABLE APPLIED COMMIT TABLE-GEN RAFT ADMIN), then `provider NAME on NODE: error` for each
 * provider reporting an error. Missing fields print as "-". */
void cluster_print_status(FILE *out, const struct jv *status);

/* The members of a /members (or /status) answer as a table: ID ROLE RAFT ADMIN VERSION. */
void cluster_print_members(FILE *out, const struct jv *doc);

/* Writes into `why` (cut to `size`) the voters of a status answer that have not applied
 * `revision`: "n2 (unreachable), n3 (tableGeneration 41 < 42)", joined with ", ". A member
 * counts as a voter when its role is "voter"; an unreachable voter has not applied. Returns
 * how many voters lag, or -1 when the answer has no member list (so nothing is known). */
int cluster_lagging(const struct jv *status, uint64_t revision, char *why, size_t size);

/* The unsigned integer of a JSON number (false when absent, negative or not an integer). */
int cluster_uint(const struct jv *j, uint64_t *out);

#endif
