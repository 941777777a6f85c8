/* The raft_fsm callbacks: apply committed entries to rs_state, snapshot and restore it. */
#include "raftstore/fsm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/log.h"
#include "raftstore/entry.h"

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    struct rs_fsm *f = fsm->data;
    uint64_t applied = rs_state_applied_index(f->state);
    uint64_t index = f->raft != NULL ? raft_last_applied(f->raft) + 1 : applied + 1;
    Concord__Raftlog__Entry *e = NULL, noop_entry;
    Concord__Raftlog__Noop noop;
    int rc;
    if (index <= applied) {
        index = applied + 1; /* never go back, whatever libraft reports */
    }
    rc = rs_entry_decode(buf->base, buf->len, &e);
    if (rc != 0) {
        /* Committed but unreadable (a newer format, corruption): a no-op here, so the log
         * keeps moving; the proposer's check should have stopped it before the append. */
        concord__raftlog__entry__init(&noop_entry);
        concord__raftlog__noop__init(&noop);
        noop_entry.format_version = RS_ENTRY_FORMAT;
        noop_entry.command_case = CONCORD__RAFTLOG__ENTRY__COMMAND_NOOP;
        noop_entry.noop = &noop;
        rs_state_apply(f->state, index, &noop_entry, &f->last);
        f->last.code = rc == -ENOTSUP ? RS_FORMAT_TOO_NEW : RS_MALFORMED;
        snprintf(f->last.msg, sizeof f->last.msg, "entry %llu cannot be read (%s); skipped",
                 (unsigned long long)index, rc == -ENOTSUP ? "a newer format" : "malformed");
    } else {
        rs_state_apply(f->state, index, e, &f->last);
        rs_entry_free(e);
    }
    if (f->on_apply != NULL) {
        f->on_apply(f->arg, index, &f->last);
    }
    *result = &f->last;
    return 0;
}

static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n)
{
    struct rs_fsm *f = fsm->data;
    uint8_t *data = NULL;
    size_t len = 0;
    struct raft_buffer *b;
    if (rs_state_snapshot(f->state, &data, &len) != 0) {
        return RAFT_NOMEM;
    }
    /* libraft frees what it is given with raft_free (FSM version 1). */
    b = raft_malloc(sizeof *b);
    if (b == NULL || (b->base = raft_malloc(len ? len : 1)) == NULL) {
        raft_free(b);
        free(data);
        return RAFT_NOMEM;
    }
    memcpy(b->base, data, len);
    b->len = len;
    free(data);
    *bufs = b;
    *n = 1;
    return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    struct rs_fsm *f = fsm->data;
    int rc = rs_state_restore(f->state, buf->base, buf->len);
    raft_free(buf->base); /* ours now (raft-notes.md 2) */
    if (rc == -ENOMEM) {
        return RAFT_NOMEM;
    }
    if (rc != 0) {
        return RAFT_MALFORMED;
    }
    /* at start-up from the local snapshot, or from the leader's InstallSnapshot */
    log_info("raft: state restored from a snapshot (applied index %llu)",
             (unsigned long long)rs_state_applied_index(f->state));
    if (f->on_apply != NULL) { /* the state jumped: its users must look again */
        f->last.code = RS_APPLIED;
        f->last.revision = 0;
        f->last.msg[0] = '\0';
        f->on_apply(f->arg, rs_state_applied_index(f->state), &f->last);
    }
    return 0;
}

int rs_fsm_init(struct rs_fsm *f)
{
    memset(f, 0, sizeof *f);
    f->state = rs_state_create();
    if (f->state == NULL) {
        return -ENOMEM;
    }
    f->fsm.version = 1;
    f->fsm.data = f;
    f->fsm.apply = fsm_apply;
    f->fsm.snapshot = fsm_snapshot;
    f->fsm.restore = fsm_restore;
    return 0;
}

void rs_fsm_fini(struct rs_fsm *f)
{
    rs_state_destroy(f->state);
    f->state = NULL;
}
