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

struct raftstore;
struct rs_state;

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
    /* After every applied entry, on every node (e.g. recompile the table). */
    void (*on_apply)(void *arg, uint64_t index);
    void *arg;
};

int raftstore_open(uv_loop_t *loop, const struct raftstore_opts *o, struct raftstore **out,
                   struct err *e);

/* This node leads and its post-election barrier has completed. */
bool raftstore_leader_ready(const struct raftstore *rs);

/* The result of a proposal: `code` is an rs_code (raftstore/state.h: 0 = applied), `msg` says
 * why not; status is 0, or a negative code when the entry was not committed here (not the
 * leader, leadership lost: it may still apply, retry with the same request id). */
typedef void (*raftstore_propose_cb)(void *arg, int status, uint64_t index, int code,
                                     const char *msg);

/* Proposes `e` (its request_id set by the caller, see rs_request_id) on this node, which must
 * be the ready leader (else -EAGAIN without a callback). The callback fires exactly once. */
int raftstore_propose(struct raftstore *rs, const Concord__Raftlog__Entry *e,
                      raftstore_propose_cb cb, void *arg);

uint64_t raftstore_applied_index(const struct raftstore *rs);
const struct rs_state *raftstore_state(const struct raftstore *rs);

/* Writes a consistent copy of the state (a Snapshot message, raftstore/state.h) to `path`:
 * written to path + ".tmp", synced, then renamed, so a reader never sees half a file. For
 * `proxyctl snapshot save` and disaster recovery. Returns 0 or -errno (text in e). */
int raftstore_snapshot_save(const struct raftstore *rs, const char *path, struct err *e);

/* Stops libraft (pending proposals fail) and frees everything; `cb` fires once done. */
void raftstore_close(struct raftstore *rs, void (*cb)(void *arg), void *arg);

#endif
