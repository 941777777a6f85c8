/* The cluster's replicated state on libraft: the only public header of raftstore/. Every
 * raft_* call stays in this folder.
 *
 * A raftstore is one node: libraft with its libuv I/O in `data_dir`, the TCP transport
 * wrapped by the cluster-secret handshake (raftstore/transport.h), and the state machine
 * (raftstore/fsm.h). Settings follow raft-notes.md section 6: pre-vote, election 300-600 ms,
 * heartbeat 50 ms, connect retry 100 ms, install-snapshot timeout 3 s, snapshots every 4096
 * entries keeping 1024. A node that becomes leader issues a barrier and reports itself ready
 * (raftstore_leader_ready) only after it: writes and linearizable reads wait for that.
 *
 * Ownership: raftstore_open() allocates; raftstore_close() frees, in its callback.
 * Threading: the loop given to raftstore_open() only.
 * Errors: -EINVAL (bad options), -EPERM (data dir on tmpfs without allow_tmpfs), -ENOMEM, or
 * libraft's failure with its text in e->msg (-EIO).
 */
#ifndef CONCORD_RAFTSTORE_RAFTSTORE_H
#define CONCORD_RAFTSTORE_RAFTSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "node/base/err.h"
#include "proto/raftlog.pb-c.h"
/* The state's read accessors (rs_state_contribution*, rs_state_member*, rs_state_merged,
 * rs_state_config_index, rs_state_snapshot) and its result codes are part of this interface:
 * callers read raftstore_state() through them, on the loop's thread, and never keep the
 * pointers past the next apply. Everything that changes the state stays inside raftstore/. */
#include "raftstore/state.h"

struct raftstore;

struct raftstore_peer {
    uint64_t raft_id; /* 1.. */
    const char *address;
};

struct raftstore_opts {
    uint64_t raft_id;
    const char *raft_address; /* "127.0.0.1:9901": libraft needs a fixed port */
    const char *data_dir;     /* must exist */
    const void *secret;       /* the cluster secret; required when there is more than one peer */
    size_t secret_len;
    bool allow_tmpfs;         /* tests only: libraft's data on tmpfs is not durable */
    /* A new cluster: every voter (this node included). Ignored when the data dir has state. */
    const struct raftstore_peer *bootstrap;
    unsigned nbootstrap;
    /* proxyd --force-new-cluster: before starting, rewrite the configuration to this node
     * alone as voter (libraft's raft_recover), keeping the state. For a survivor of a lost
     * quorum; the others then join again with empty data dirs. */
    bool force_new_cluster;
    /* Snapshot every `snapshot_threshold` entries keeping `snapshot_trailing` (0: 4096 and
     * 1024, raft-notes.md 6.4). Tests lower them to exercise InstallSnapshot. */
    unsigned snapshot_threshold;
    unsigned snapshot_trailing;
    /* After every applied entry and after a snapshot is restored, on every node (e.g.
     * recompile the table when rs_state_config_index moved). */
    void (*on_apply)(void *arg, uint64_t index);
    void *arg;
};

/* 16 random bytes: a proposal's request id (Entry.request_id). Returns 0 or -EIO. */
int raftstore_request_id(uint8_t out[16]);

/* libraft's numeric id for a node id: a 63-bit FNV-1a hash, never 0. Every node computes the
 * same number from the same name, so a bootstrap list or a join needs only names. */
uint64_t raftstore_raft_id(const char *node_id);

int raftstore_open(uv_loop_t *loop, const struct raftstore_opts *o, struct raftstore **out,
                   struct err *e);

/* This node leads and its post-election barrier has completed. */
bool raftstore_leader_ready(const struct raftstore *rs);

/* The result of a proposal: `code` is an rs_code (raftstore/state.h: 0 = applied), `msg` says
 * why not; status is 0, or a negative code when the entry was not committed here: -ETIMEDOUT
 * when leadership was lost after the append (it may still apply: retry with the same request
 * id), else the libraft failure as rs_raft_errno says. */
typedef void (*raftstore_propose_cb)(void *arg, int status, uint64_t index, int code,
                                     const char *msg);

/* Proposes `e` (its request_id set by the caller, see rs_request_id) on this node, which must
 * be the ready leader (else -EAGAIN without a callback). The callback fires exactly once. */
int raftstore_propose(struct raftstore *rs, const Concord__Raftlog__Entry *e,
                      raftstore_propose_cb cb, void *arg);

uint64_t raftstore_applied_index(const struct raftstore *rs);

/* What `e` would do if it were applied now, without proposing it: the result (code,
 * revision, message) and, when out_merged is not NULL, the merged configuration afterwards.
 * A leader's check before raftstore_propose (the real outcome can still differ when another
 * write lands in between: the apply's compare-and-set decides). Returns 0. */
int raftstore_preview(const struct raftstore *rs, const Concord__Raftlog__Entry *e,
                      struct rs_result *res, struct rs_merged *out_merged);
const struct rs_state *raftstore_state(const struct raftstore *rs);

/* Writes a consistent copy of the state (a Snapshot message, raftstore/state.h) to `path`:
 * written to path + ".tmp", synced, then renamed, so a reader never sees half a file. For
 * `proxyctl snapshot save` and disaster recovery. Returns 0 or -errno (text in e). */
int raftstore_snapshot_save(const struct raftstore *rs, const char *path, struct err *e);

/* ---- Leadership, membership (raftstore/membership.c) ---- */

enum raftstore_role { RAFTSTORE_VOTER, RAFTSTORE_STANDBY, RAFTSTORE_SPARE };
const char *raftstore_role_name(enum raftstore_role r); /* "voter" "standby" "spare" */
int raftstore_role_parse(const char *s, enum raftstore_role *out); /* 0 or -EINVAL */

struct raftstore_info {
    const char *state; /* "leader" "follower" "candidate" "unavailable" */
    bool ready;        /* leader with its barrier done */
    uint64_t term;
    uint64_t commit_index;
    uint64_t applied_index;
    uint64_t leader_id; /* 0: none known */
    char leader_address[128];
};
void raftstore_info(const struct raftstore *rs, struct raftstore_info *out);

struct raftstore_server {
    uint64_t raft_id;
    char address[128];
    enum raftstore_role role;
};
/* The latest configuration this node knows (committed or not), at most `max` servers.
 * Returns the number of servers in it (may exceed max). */
size_t raftstore_servers(const struct raftstore *rs, struct raftstore_server *out, size_t max);

/* The outcome of a membership change, transfer or barrier: status 0, or a negative code with
 * the reason in msg. Fires exactly once (also on close, with -ECANCELED). */
typedef void (*raftstore_done_cb)(void *arg, int status, const char *msg);

/* Leader only (else -EAGAIN, no callback). Adds a server as spare, then assigns `role`
 * (libraft catches a new voter up before the configuration change). */
int raftstore_add(struct raftstore *rs, uint64_t raft_id, const char *address,
                  enum raftstore_role role, raftstore_done_cb cb, void *arg);
/* Changes a server's role (-EALREADY when it has it: no callback). */
int raftstore_assign(struct raftstore *rs, uint64_t raft_id, enum raftstore_role role,
                     raftstore_done_cb cb, void *arg);
/* Removes a server, demoting a voter to spare first. -ENOENT when it is not a member. */
int raftstore_remove(struct raftstore *rs, uint64_t raft_id, raftstore_done_cb cb, void *arg);
/* Hands leadership to `raft_id` (0: libraft picks a voter). The callback's status is 0 when
 * the leader afterwards is the target (or, for 0, another node). */
int raftstore_transfer(struct raftstore *rs, uint64_t raft_id, raftstore_done_cb cb, void *arg);
/* A linearizable read point: once the callback says 0, this node's state holds every write
 * acknowledged before the call. Leader only (-EAGAIN). */
int raftstore_barrier(struct raftstore *rs, raftstore_done_cb cb, void *arg);

/* HMAC-SHA256 under the cluster secret, for node-to-node admin calls (node/sync.c). A node
 * without a configured secret uses a random one, so nothing verifies. Returns 0 or -EIO. */
int raftstore_sign(const struct raftstore *rs, const void *data, size_t len, uint8_t mac[32]);
bool raftstore_verify(const struct raftstore *rs, const void *data, size_t len,
                      const uint8_t mac[32]);
/* Whether the cluster secret came from cluster.secretFile (a single node may run without). */
bool raftstore_has_secret(const struct raftstore *rs);

/* Stops libraft (pending proposals fail) and frees everything; `cb` fires once done. */
void raftstore_close(struct raftstore *rs, void (*cb)(void *arg), void *arg);

#endif
