/* libraft's state machine over the replicated state (raftstore/state.h): decodes each
 * committed entry (raftstore/entry.h) and applies it, takes and restores snapshots.
 * Internal to raftstore.
 *
 * apply never fails (raft-notes.md 2: a failing apply stalls the log for good): a malformed
 * entry counts as a no-op whose result says so. The entry's raft index (a contribution's
 * revision) is raft_last_applied() + 1 while libraft applies it (libraft 0.15 advances
 * last_applied after each apply); the FSM checks that against its own count and keeps
 * applied_index increasing whatever happens.
 *
 * Results: libraft hands `*result` to the proposer's raft_apply callback on the leader, in
 * the same call; it points at the FSM's last result, valid until the next apply (copy it).
 * Threading: the control loop only.
 */
#ifndef CONCORD_RAFTSTORE_FSM_H
#define CONCORD_RAFTSTORE_FSM_H

#include <raft.h>
#include <stdint.h>

#include "raftstore/state.h"

struct rs_fsm {
    struct raft_fsm fsm; /* fsm.data points back here */
    struct raft *raft;   /* set once raft_init has run (the index source) */
    struct rs_state *state;
    struct rs_result last;
    /* Called after every applied entry (on every node), e.g. to recompile the table. */
    void (*on_apply)(void *arg, uint64_t index, const struct rs_result *res);
    void *arg;
};

/* Returns 0 or -ENOMEM. */
int rs_fsm_init(struct rs_fsm *f);
void rs_fsm_fini(struct rs_fsm *f);

#endif
