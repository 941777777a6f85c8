/* The handshake that proves a Raft peer holds the cluster secret (issue 4: peers authenticate
 * before libraft sees the stream). Pure: bytes in, bytes out, no I/O, so the transport wrapper
 * (raftstore/transport.c, later) only moves bytes, and tests drive both ends directly.
 *
 * Protocol (both ends run it at once on a fresh connection):
 *   1. each sends HELLO = "CRA1" + a fresh 32-byte random nonce;
 *   2. on the peer's HELLO, each sends PROOF = HMAC-SHA256(secret, label || nonce_self ||
 *      nonce_peer), label "concord raft client" for the connecting end and "concord raft
 *      server" for the accepting end, so a proof cannot be reflected back to its sender;
 *   3. each checks the peer's PROOF (constant-time compare); only then is the stream handed to
 *      libraft. Fresh nonces on both sides make a recorded proof useless on a new connection.
 * The secret itself never crosses the wire. Anything else (a wrong magic, a wrong proof, bytes
 * past the handshake before it completes are fine and stay unread) fails the handshake.
 *
 * Errors: -EACCES (a wrong proof or magic: disconnect and log), -EINVAL (bad use), -EIO (no
 * randomness).
 */
#ifndef CONCORD_RAFTSTORE_PEER_AUTH_H
#define CONCORD_RAFTSTORE_PEER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PA_NONCE 32
#define PA_MAC 32
#define PA_HELLO (4 + PA_NONCE)
#define PA_SECRET_MAX 256

enum pa_state { PA_SEND_HELLO, PA_WAIT_HELLO, PA_WAIT_PROOF, PA_DONE, PA_FAILED };

struct peer_auth {
    enum pa_state state;
    bool client;
    uint8_t secret[PA_SECRET_MAX];
    size_t secret_len;
    uint8_t nonce[PA_NONCE];
    uint8_t peer_nonce[PA_NONCE];
    uint8_t in[PA_HELLO]; /* the peer's message being assembled */
    size_t have;
    uint8_t out[PA_HELLO + PA_MAC];
    size_t out_len; /* bytes waiting in `out` for the caller to send */
};

/* `client`: this end connected. The secret is copied (1..PA_SECRET_MAX bytes). */
int peer_auth_init(struct peer_auth *a, bool client, const void *secret, size_t secret_len);

/* Bytes to send now (may be 0); the caller sends them all, then calls peer_auth_sent(). */
const uint8_t *peer_auth_output(const struct peer_auth *a, size_t *len);
void peer_auth_sent(struct peer_auth *a);

/* Feeds received bytes. Returns 1 when the peer is authenticated (stop feeding: *used says how
 * many bytes the handshake took; the rest belongs to libraft), 0 when more bytes are needed (all
 * were used), or -EACCES. Call peer_auth_output() after each call: a PROOF may be due. */
int peer_auth_input(struct peer_auth *a, const void *data, size_t len, size_t *used);

/* Bytes still needed to complete the message being read (0 once done or failed): a reader
 * that asks the socket for exactly this many never takes bytes that belong to libraft. */
size_t peer_auth_want(const struct peer_auth *a);

/* Wipes the secret and state. */
void peer_auth_fini(struct peer_auth *a);

#endif
