/* struct sync, shared by node/sync.c (table, submitting, calls) and node/sync_node.c (open and
 * close, the file provider, this node's membership, read waiters). Internal to node/. */
#ifndef CONCORD_NODE_SYNC_INT_H
#define CONCORD_NODE_SYNC_INT_H

#include "node/sync.h"
#include "proto/config.pb-c.h"
#include "raftstore/raftstore.h"

enum slot_state {
    SLOT_UNSYNCED, /* the provider's document differs from this node's contribution */
    SLOT_INFLIGHT, /* proposed, waiting for the answer */
    SLOT_SYNCED,   /* the state holds it (or there is nothing to contribute yet) */
};

struct sync;
struct provider;
struct provider_ops;

/* One provider of this node and its contribution (providers/provider.h). */
struct slot {
    struct sync *s;
    const struct provider_ops *ops;
    struct provider *p;
    enum slot_state state;
    uint8_t *cfg; /* the last emission, packed Config */
    size_t cfg_len;
    Concord__Raftlog__FileBlob **blobs; /* the files it names, as read */
    size_t nblobs;
    uint8_t req[16];        /* the request id of the current proposal (retries reuse it) */
    uint64_t seq;           /* counts proposals: an answer is for the latest one or ignored */
    uint64_t retry_at;
    uint64_t committed_min; /* the raft index that committed it */
    uint64_t proposed_at;   /* loop ms of its last proposal: providersThrottleDuration */
    char error[512];        /* the source's last error ("" when fine) */
    char skipped[512];      /* what its last Config left out: "N object(s) left out: <the
                               first one's error>" ("" when nothing); DESIGN.md "Bad config" */
};

struct waiter {
    bool table; /* wait for the table built from the state at index, not only the apply */
    uint64_t index;
    uint64_t deadline_ms;
    sync_done_cb cb;
    void *arg;
    struct waiter *next;
};

struct call;

struct sync {
    uv_loop_t *loop;
    const struct static_config *sc;
    struct node *node;
    struct raftstore *rs;
    char node_id[80]; /* nodeId: up to 64 bytes (static_config.c) */
    uint64_t raft_id;
    char admin_address[128];
    char raft_address[128];
    uv_timer_t tick;
    uv_timer_t compile;
    int handles;
    bool closing;
    bool compile_pending;
    bool ready;
    bool was_member;
    bool removed;
    uint64_t table_gen;
    void (*on_ready)(void *arg, bool ready);
    void *arg;
    /* the providers this node runs */
    struct slot *slots;
    size_t nslots;
    /* this node's member record */
    bool member_inflight;
    uint64_t member_retry_at;
    /* --force-new-cluster: the records of the members left behind are removed once leading */
    bool reconcile_pending;
    int reconcile_inflight;
    /* joining: cluster.join */
    bool join_inflight;
    bool joined;
    uint64_t join_retry_at;
    struct waiter *waiters;
    struct call *calls;
    void (*close_cb)(void *arg);
    void *close_arg;
};

/* sync.c */
void sync_on_apply(void *arg, uint64_t index); /* raftstore's on_apply */
void sync_set_ready(struct sync *s);          /* latches readiness once it holds */
void sync_calls_cancel(struct sync *s);       /* every call in flight fails with -ECANCELED */

/* sync_node.c */
void sync_file_check(struct sync *s); /* every slot */
void sync_slot_check(struct slot *sl);
void sync_waiters_check(struct sync *s);
/* A strict proposal: 0 when the merged configuration afterwards has no error that the current
 * one lacks; otherwise -EINVAL with the new errors, one per line, in *why (malloc'd). */
int sync_strict_check(struct sync *s, const struct rs_merged *after, char **why);

#endif
