/* A raft_uv_transport that authenticates peers: it wraps another transport (libraft's TCP
 * one) and, on every connection it makes or accepts, runs the cluster-secret handshake
 * (raftstore/peer_auth.h) before libraft gets the stream. A peer without the secret is
 * disconnected and logged; libraft never reads a byte from it. Internal to raftstore.
 *
 * Ownership: the caller owns `inner` (initialised, e.g. raft_uv_tcp_init) and the
 * auth_transport; both live until the close callback (libraft calls close through raft_close).
 * Threading: the loop thread.
 * Errors: -EINVAL (empty or too long secret).
 */
#ifndef CONCORD_RAFTSTORE_TRANSPORT_H
#define CONCORD_RAFTSTORE_TRANSPORT_H

#include <raft.h>
#include <raft/uv.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "node/base/dlist.h"
#include "raftstore/peer_auth.h"

/* A handshake that takes longer is abandoned (a peer that connects and says nothing). */
#define AT_HANDSHAKE_TIMEOUT_MS 5000

struct auth_transport {
    struct raft_uv_transport t; /* handed to raft_uv_init; t.impl points back here */
    struct raft_uv_transport *inner;
    uv_loop_t *loop;
    uint8_t secret[PA_SECRET_MAX];
    size_t secret_len;
    raft_uv_accept_cb accept_cb; /* libraft's */
    raft_uv_transport_close_cb close_cb;
    struct dlist handshakes;     /* in progress */
    bool closing;
    uint64_t refused;            /* connections refused so far (tests, logs) */
};

int auth_transport_init(struct auth_transport *a, uv_loop_t *loop,
                        struct raft_uv_transport *inner, const void *secret, size_t secret_len);

#endif
