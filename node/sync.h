/* The control path: providers -> raftstore proposal (forwarded to the leader) -> apply on every
 * node -> merge -> table compile -> swap. Also the node's own membership upkeep (its member
 * record, joining a cluster) and the calls one node makes to another's admin API.
 *
 * A node serves only tables built from the committed state: the file provider's document is
 * proposed as this node's contribution to the namespace "file", and goes live when it is
 * applied, on every node alike. A single node is the smallest cluster.
 *
 * Ownership: sync_open() allocates; sync_close() frees, in its callback.
 * Threading: the control loop only.
 * Errors: -EINVAL (bad cluster options, with the reason), -EACCES (secret file), or the
 * raftstore's (raftstore.h).
 */
#ifndef CONCORD_NODE_SYNC_H
#define CONCORD_NODE_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "node/base/err.h"
#include "proto/raftlog.pb-c.h"

struct sync;
struct node;
struct raftstore;
struct static_config;

struct sync_opts {
    const struct static_config *sc;
    struct node *node;
    const char *admin_address; /* as bound: other nodes call it */
    bool force_new_cluster;
    void (*on_ready)(void *arg, bool ready); /* readiness for /ping */
    void *arg;
};

int sync_open(uv_loop_t *loop, const struct sync_opts *o, struct sync **out, struct err *e);

/* Stops proposing, hands leadership away when this node leads (raft-notes.md 6.5), closes the
 * raftstore; `cb` fires once everything is freed. */
void sync_close(struct sync *s, void (*cb)(void *arg), void *arg);

struct raftstore *sync_raftstore(const struct sync *s);
const char *sync_node_id(const struct sync *s);
/* The raft index of the configuration the live table was built from (0: none yet). */
uint64_t sync_table_generation(const struct sync *s);
/* This node's providers and their last error ("" when none). */
size_t sync_nproviders(const struct sync *s);
void sync_provider(const struct sync *s, size_t i, const char **name, const char **error);
/* What provider i's last Config left out ("" when nothing): objects of the source with an
 * error, skipped while the rest went live. */
const char *sync_provider_skipped(const struct sync *s, size_t i);
/* Whether provider i runs on this node now (a cluster-wide one only while this node leads). */
bool sync_provider_active(const struct sync *s, size_t i);
/* This node's member record was deleted: it proposes nothing any more. */
bool sync_removed(const struct sync *s);

/* ---- writes ---- */

/* A proposal refused by the leader's check (proxyctl config apply without --force). */
#define SYNC_INVALID 100

struct sync_result {
    int status;        /* 0: committed; negative: not (-EAGAIN no leader, -ETIMEDOUT, -EIO) */
    uint64_t index;    /* the entry's raft index when committed */
    int code;          /* enum rs_code, or SYNC_INVALID */
    uint64_t revision; /* rs_result.revision */
    const char *msg;   /* why not (several lines for SYNC_INVALID); "" when applied */
};
typedef void (*sync_cb)(void *arg, const struct sync_result *r);

/* Proposes `e` through the leader: on the ready leader it is checked (a preview of its result,
 * and with SetContribution.strict a dry-run compile that must add no error) and proposed; on a
 * follower it is forwarded to the leader's admin API. `e`'s request id is set here when empty.
 * The callback fires exactly once and may fire before sync_submit returns. */
void sync_submit(struct sync *s, Concord__Raftlog__Entry *e, sync_cb cb, void *arg);

/* The same for an entry already packed (a forwarded proposal). */
void sync_submit_packed(struct sync *s, const uint8_t *buf, size_t len, sync_cb cb, void *arg);

/* ---- reads ---- */

/* A linearizable read point: the callback says 0 once this node's state holds every write
 * acknowledged before the call (a barrier on the leader; on a follower the leader's read
 * index, then waiting to apply it). May fire before it returns. */
typedef void (*sync_done_cb)(void *arg, int status, const char *msg);
void sync_read(struct sync *s, sync_done_cb cb, void *arg);

/* Calls back once this node serves a table built from the state at `index` or later (or after
 * about 5 s when it cannot: the callback still says 0, the write being done). May fire before
 * it returns. The admin API answers a config write after it, so the node written to serves
 * the change when the call returns. */
void sync_wait_table(struct sync *s, uint64_t index, sync_done_cb cb, void *arg);

/* The leader's read index (the leader's side of sync_read on a follower). */
void sync_read_index(struct sync *s, void (*cb)(void *arg, int status, uint64_t index),
                     void *arg);

/* ---- node to node ---- */

/* The answer of another node's admin API: rc 0 with status/body, or a negative code. */
typedef void (*sync_call_cb)(void *arg, int rc, int status, const uint8_t *body, size_t len);

/* Calls `address`'s admin API signed with the cluster secret. Returns 0 (cb fires later) or a
 * negative code (no callback). */
int sync_call(struct sync *s, const char *address, const char *method, const char *target,
              const void *body, size_t len, uint64_t timeout_ms, sync_call_cb cb, void *arg);

/* The leader's admin address ("" when no leader or its record is not known yet), and id. */
const char *sync_leader_admin(const struct sync *s, const char **leader_id);

/* sync_close() was called: the cluster API answers 503 from then on. */
bool sync_closing(const struct sync *s);

/* Whether this node is the leader and has passed its barrier. */
bool sync_is_leader(const struct sync *s);

#endif
