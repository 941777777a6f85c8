/* The replicated cluster state: pure, deterministic apply of log entries, merge, snapshots. */
#ifndef CONCORD_RAFTSTORE_STATE_H
#define CONCORD_RAFTSTORE_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/raftlog.pb-c.h"

/* Internal to raftstore/ (raftstore.h is the public header). No I/O, no clock, no randomness:
 * the same sequence of entries gives byte-identical snapshots on every node, which is what
 * lets Raft replicate it. Not thread-safe: the FSM owns one state and calls it from one thread.
 *
 * The state holds:
 *  - contributions keyed by (namespace, node_id), each with the raft index that last set it
 *    (its revision), its Config and the files it carries;
 *  - members keyed by id (metadata only: raft membership itself is libraft's configuration);
 *  - settings (the feature level);
 *  - applied_index;
 *  - the request ids of the last RS_RECENT_MAX applied entries, so a retried proposal applies
 *    once.
 *
 * Allocation failure aborts the process, in apply and everywhere else: a replica that stopped
 * half-way through an entry would diverge from the others, and restarting to replay the log is
 * the only safe answer. The results below are therefore never "out of memory". */

/* The entry format this code understands and writes (Entry.format_version). */
#define RS_FORMAT_VERSION 1u
/* The snapshot format this code writes and the only one rs_state_restore accepts. */
#define RS_SNAPSHOT_FORMAT 1u
/* How many request ids the deduplication ring remembers. Every node must use the same value
 * (it decides which retries are recognised); changing it needs a new snapshot format. */
#define RS_RECENT_MAX 1024u
/* Longer request ids are refused as malformed (the proposer sends 16 bytes). */
#define RS_REQUEST_ID_MAX 64u

/* What an entry did, for the proposer. Every code but RS_APPLIED means "no change" (except
 * applied_index, which always advances). */
enum rs_code {
    RS_APPLIED = 0,
    RS_DUPLICATE,         /* its request id was applied already (within the last RS_RECENT_MAX) */
    RS_REVISION_MISMATCH, /* has_expected_revision and the current revision differs */
    RS_UNKNOWN_MEMBER,    /* RemoveMember of an id with no metadata and no contributions */
    RS_FORMAT_TOO_NEW,    /* format_version above the cluster's feature level */
    RS_MALFORMED,         /* no command, empty namespace/node/member id, id too long, ... */
};

struct rs_result {
    enum rs_code code;
    /* SetContribution/DeleteContribution: the contribution's revision after the entry (0 when it
     * does not exist); on RS_REVISION_MISMATCH the current one, so the proposer can say it. */
    uint64_t revision;
    char msg[256]; /* "" for RS_APPLIED; otherwise a sentence for the proposer */
};

const char *rs_code_name(enum rs_code c);

struct rs_state;

/* A new empty state: applied_index 0, feature level RS_FORMAT_VERSION, nothing else. */
struct rs_state *rs_state_create(void);
void rs_state_destroy(struct rs_state *s);

/* Applies the entry at raft index `index` (must be above applied_index). `out` may be NULL.
 * Deterministic: the result and the new state depend only on the state and the entry.
 *  - SetContribution replaces the (namespace, node_id) contribution whole and sets its
 *    revision to `index`; with has_expected_revision it applies only if the current revision
 *    equals expected_revision (0: it must not exist).
 *  - DeleteContribution removes it; node_id "" removes every node's contribution to the
 *    namespace (the expected revision is then compared with the namespace's highest revision).
 *    Deleting what does not exist is applied (nothing to do).
 *  - UpsertMember adds or replaces a member's metadata. RemoveMember deletes it and every
 *    contribution whose node_id is that id.
 *  - SetSettings replaces the settings; a feature level of 0 reads as RS_FORMAT_VERSION.
 *  - Noop changes nothing but applied_index.
 * Returns 0 (the outcome is in out->code), or -EINVAL when index <= applied_index or e is
 * NULL (a caller bug; nothing changes). */
int rs_state_apply(struct rs_state *s, uint64_t index, const Concord__Raftlog__Entry *e,
                   struct rs_result *out);

uint64_t rs_state_applied_index(const struct rs_state *s);
/* The index of the last applied entry that changed a contribution (a SetContribution,
 * DeleteContribution or RemoveMember that applied): the merged configuration is the same at
 * every index from there to applied_index. Nodes compare tables by it (tableGeneration). */
uint64_t rs_state_config_index(const struct rs_state *s);
uint32_t rs_state_feature_level(const struct rs_state *s);

/* Read access; the pointers stay valid until the next apply or restore. Contributions are in
 * (namespace, node_id) order, members in id order (strcmp, bytewise). */
size_t rs_state_ncontributions(const struct rs_state *s);
const Concord__Raftlog__Contribution *rs_state_contribution_at(const struct rs_state *s, size_t i);
const Concord__Raftlog__Contribution *rs_state_contribution(const struct rs_state *s,
                                                            const char *ns, const char *node_id);
size_t rs_state_nmembers(const struct rs_state *s);
const Concord__Raftlog__Member *rs_state_member_at(const struct rs_state *s, size_t i);
const Concord__Raftlog__Member *rs_state_member(const struct rs_state *s, const char *id);

/* ---- Merge: one Config per namespace, as DESIGN.md "Conventions" says ----
 *
 * Objects of the same name contributed by several nodes to one namespace:
 *  - services: load balancers whose settings other than the servers are identical get the
 *    union of the servers (deduplicated by URL, the first node in id order wins); if the kinds
 *    or the other settings differ, or a non-loadBalancer service differs, the service is left
 *    out with an error naming the nodes;
 *  - routers, middlewares, serversTransports, TLS options and stores must be identical (the
 *    packed protobuf messages compared byte for byte, Mark fields ignored), else the object is
 *    left out with an error such as
 *      namespace docker: router "web" differs between nodes n1 and n2; disabled
 *  - TLS certificates: the union of the distinct ones;
 *  - files: the union by path; the same path with different content keeps the first node's and
 *    says so in an error.
 * Objects are emitted sorted by name; the Marks kept are those of the first node. References
 * to a left-out object dangle, which the table compiler reports and handles object by object. */
struct rs_merged_ns {
    char *ns;
    Concord__Config__Config *cfg;       /* owned, from protobuf-c unpack */
    Concord__Raftlog__FileBlob **files; /* owned */
    size_t nfiles;
};

struct rs_merged {
    struct rs_merged_ns *v; /* sorted by namespace; namespaces without contributions absent */
    size_t n;
    char **errors; /* each a sentence, in namespace then object kind then name order */
    size_t nerrors;
};

/* Builds `out` (which the caller then frees with rs_merged_fini). Returns 0. */
int rs_state_merged(const struct rs_state *s, struct rs_merged *out);
void rs_merged_fini(struct rs_merged *m);

/* ---- Snapshots ---- */

/* A packed Snapshot (format RS_SNAPSHOT_FORMAT) of the whole state in a malloc'd buffer the
 * caller frees. Contributions sorted by (namespace, node_id), members by id, request ids oldest
 * first: equal states give equal bytes. Returns 0. */
int rs_state_snapshot(const struct rs_state *s, uint8_t **buf, size_t *len);

/* Replaces the state whole with a snapshot's. Errors (the state is then unchanged):
 *  -EINVAL   the bytes do not parse, or two contributions/members share a key
 *  -ENOTSUP  format_version is not RS_SNAPSHOT_FORMAT */
int rs_state_restore(struct rs_state *s, const uint8_t *buf, size_t len);

#endif
