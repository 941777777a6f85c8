/* TLS client sessions over memory BIOs, for the control path's outgoing calls (providers' HTTP
 * endpoints, the Kubernetes API, etcd): OpenSSL does the crypto, the caller moves bytes over
 * whatever libuv stream it owns. No socket here, so one session type serves TCP and unix
 * sockets alike and is testable without a network.
 *
 * A context (tlsc_ctx) holds the trust and the client certificate and is made once per
 * configuration (loading a CA file costs milliseconds); a session (tlsc) is one connection.
 * Verification is on unless insecure_skip_verify: the peer's chain against ca_file (or the
 * system's store when ca_file is NULL) and its name against server_name (a DNS name, or an IP
 * literal matched against the certificate's IP addresses). TLS 1.2 at least.
 *
 * Data flow: tlsc_handshake / tlsc_write produce ciphertext, taken with tlsc_take_out and sent
 * by the caller; ciphertext the caller receives goes in with tlsc_feed, plaintext comes out of
 * tlsc_read.
 *
 * Errors: -EINVAL (bad arguments), -ENOMEM, -EACCES (a CA / certificate / key file cannot be
 * loaded; e->msg says which and why), -EPROTO (the handshake or a record failed; tlsc_error
 * gives OpenSSL's reason, e.g. "certificate verify failed"). Threading: a session belongs to
 * one thread; a context may be shared once made.
 */
#ifndef CONCORD_NET_TLS_CLIENT_H
#define CONCORD_NET_TLS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "node/base/err.h"

struct tlsc_config {
    const char *ca_file;   /* PEM bundle to trust; NULL: the system's default store */
    const char *cert_file; /* client certificate (PEM), with key_file; NULL: none */
    const char *key_file;
    bool insecure_skip_verify;
    /* The same given as PEM text instead of files (a kubeconfig's *-data fields); each, when
     * set, replaces its file. */
    const char *ca_pem;
    const char *cert_pem;
    const char *key_pem;
};

struct tlsc_ctx;
struct tlsc;

int tlsc_ctx_new(const struct tlsc_config *c, struct tlsc_ctx **out, struct err *e);
void tlsc_ctx_free(struct tlsc_ctx *c);

/* server_name: SNI (when a DNS name) and the name checked; NULL or "" skips the name check
 * (the chain is still verified). */
int tlsc_new(struct tlsc_ctx *c, const char *server_name, struct tlsc **out);
void tlsc_free(struct tlsc *t);

/* Advances the handshake: 1 done, 0 needs more bytes from the peer (send what tlsc_take_out gives first),
 * -EPROTO failed. */
int tlsc_handshake(struct tlsc *t);
/* Encrypts all of p (after the handshake). 0 or -EPROTO. */
int tlsc_write(struct tlsc *t, const void *p, size_t n);
/* The ciphertext waiting to be sent, moved into a malloc'd buffer (*out, the caller frees it
 * once written; NULL and 0 when nothing waits). Returns 0 or -ENOMEM. */
int tlsc_take_out(struct tlsc *t, char **out, size_t *len);
/* Bytes received from the peer. 0 or -ENOMEM. */
int tlsc_feed(struct tlsc *t, const void *p, size_t n);
/* Plaintext: >0 bytes read into buf, 0 none available now, -EPIPE the peer closed the session
 * cleanly (close_notify), -EPROTO a bad record. */
long tlsc_read(struct tlsc *t, void *buf, size_t cap);
/* Why the last call failed ("" when none). */
const char *tlsc_error(const struct tlsc *t);

#endif
