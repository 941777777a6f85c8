/* struct raftstore, shared by raftstore.c and membership.c (internal to raftstore/). */
#ifndef CONCORD_RAFTSTORE_RAFTSTORE_INT_H
#define CONCORD_RAFTSTORE_RAFTSTORE_INT_H

#include <raft.h>
#include <raft/uv.h>

#include "raftstore/fsm.h"
#include "raftstore/peer_auth.h"
#include "raftstore/raftstore.h"
#include "raftstore/transport.h"

struct raftstore {
    uv_loop_t *loop;
    struct raft_uv_transport tcp;
    struct auth_transport auth;
    bool use_auth;     /* always, from this issue on: a random secret when none is given */
    bool has_secret;   /* the secret came from the configuration */
    uint8_t secret[PA_SECRET_MAX];
    size_t secret_len;
    struct raft_io io;
    struct rs_fsm fsm;
    struct raft raft;
    uv_check_t check; /* notices leadership changes (libraft has no callback for them) */
    struct raft_barrier barrier;
    bool was_leader;
    bool barrier_pending;
    struct raft_barrier notify; /* pushes a new commit index to the followers (raftstore.c) */
    bool notify_pending;
    bool notify_again;
    bool ready;
    void (*on_apply)(void *arg, uint64_t index);
    /* raft_start can apply entries itself (a lone voter: --force-new-cluster, a one-node
     * restart) before raftstore_open has returned the store to its caller: on_apply is then
     * delivered from the first loop iteration instead. */
    bool started;
    uint64_t deferred_apply;
    void *arg;
    void (*close_cb)(void *arg);
    void *close_arg;
    int closing_handles;
};

/* A libraft error code as a negative errno (raftstore.h's convention): -EAGAIN for "not the
 * leader (any more)", -EBUSY, -EEXIST, -ENOENT, -EALREADY, -ECANCELED, -ENOMEM, else -EIO. */
int rs_raft_errno(int rc);

#endif
