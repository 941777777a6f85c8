/* A small asynchronous HTTP/1.1 client on a libuv loop: one request per connection
 * ("Connection: close"), used by the control thread to call another node's admin API
 * (forward a write to the Raft leader, query a member's status, join a cluster), and by
 * providers to follow long-lived streams (Docker's /events over its unix socket, etcd's
 * /v3/watch, Kubernetes watches) with `on_data`.
 *
 * https: set `tls` (a context from node/net/tls_client.h, made once per configuration); the
 * session verifies the server against `server_name`. Not a general client: no redirects, no
 * keep-alive. The response head is read with the proxy's strict parser (h1_parse_response), so a peer that
 * speaks broken HTTP is refused rather than guessed at.
 *
 * Threading: a fetch belongs to the loop it was started on; every call is made on that loop's
 * thread. The process must ignore SIGPIPE (proxyd does), as with any libuv writer.
 */
#ifndef CONCORD_HTTP_FETCH_H
#define CONCORD_HTTP_FETCH_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "node/http/h1_parse.h"

struct fetch_resp;

struct fetch_req {
    /* "127.0.0.1:9900", "[::1]:9900", "localhost:9900" (mapped to 127.0.0.1) or
     * "name:port" (a host name, resolved on libuv's thread pool, its first IPv4 address
     * preferred; -EHOSTUNREACH when it does not resolve). Also sent as Host.
     * Or a unix socket: "unix:///var/run/docker.sock" or the plain absolute path
     * "/var/run/docker.sock" (shorter than sun_path, else -EINVAL); Host is then "localhost". */
    const char *address;
    const char *method;         /* "GET", "POST", "PUT", "DELETE" (any token is accepted) */
    const char *target;         /* "/api/cluster/status?stale=true" (origin-form) */
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated, may be NULL;
                                   Host, Connection, Content-Length and Transfer-Encoding are
                                   written by fetch itself and refused here (-EINVAL) */
    const void *body;
    size_t body_len;     /* sent with Content-Length when body != NULL or method is POST/PUT */
    uint64_t timeout_ms; /* whole exchange: connect + send + full response; 0 = 5000.
                            Streaming: connect + send + response head only */
    size_t max_body;     /* response body cap; 0 = 16 MiB; above it: -EMSGSIZE (not streaming) */
    /* Request bodies are limited to 2 GiB (-EINVAL above), libuv's buffer length. */

    /* Streaming (optional): when on_data is set the body is never buffered. on_data is called
     * once with the final head as soon as it has arrived (data NULL, len 0), then once per
     * piece of body as it arrives (len > 0; de-chunked; Content-Length and close-delimited
     * bodies alike; a piece is not aligned with chunks or lines). `head` (status, headers;
     * body NULL) and `data` are valid during the call only. It may call fetch_cancel. cb then
     * fires once at the end: rc 0 when the body ended (last chunk, Content-Length reached, or
     * the peer closed a close-delimited body), else an error; resp->body is NULL then. */
    void (*on_data)(void *arg, const struct fetch_resp *head, const uint8_t *data, size_t len);
    size_t max_chunk;         /* streaming, chunked: a chunk announced larger -> -EMSGSIZE;
                                 0 = 16 MiB (so a consumer buffering a chunk stays bounded) */
    uint64_t idle_timeout_ms; /* streaming: the longest gap between two reads once the head is
                                 in (-ETIMEDOUT); 0 = none. Ignored when not streaming. */

    /* TLS (optional): the request goes over a TLS session made from this context (the caller
     * keeps it alive until cb). server_name: the name (or IP) the certificate must match and
     * the SNI; NULL = the host of `address`. A certificate that is not accepted fails with
     * -EKEYREJECTED (the reason is logged), any other TLS failure with -EPROTO. */
    struct tlsc_ctx *tls;
    const char *server_name;
};

struct fetch_resp {
    int status;               /* final status (1xx interim responses are skipped) */
    const char *content_type; /* NULL if none; valid during the callback only */
    const uint8_t *body;      /* valid during the callback only, NUL-terminated; NULL (and
                                 body_len 0) when streaming */
    size_t body_len;
    /* Every field of the final head (Content-Type included), valid during the callback only;
     * look one up with h1_find(resp->msg, "name"). */
    const struct h1_msg *msg;
};

/* rc 0 with resp filled (streaming: the body has ended; resp->body is NULL); or
 * -ECONNREFUSED, -EHOSTUNREACH, -ETIMEDOUT, -EKEYREJECTED (https: the certificate), -EPROTO (not HTTP, bad framing, a connection closed before the
 * response ended, an unrequested 101), -EMSGSIZE, -ECANCELED or another -errno (e.g.
 * -ECONNRESET, -ENOENT for a missing unix socket); resp is NULL then. */
typedef void (*fetch_cb)(void *arg, int rc, const struct fetch_resp *resp);

struct fetch;
struct tlsc_ctx;

/* A message for a fetch error code (its own codes first, then strerror). */
const char *fetch_strerror(int rc);

/* Starts the request. Everything needed from `req` is copied, so the caller may free its
 * strings and body once this returns. Returns 0 (cb will fire exactly once, later, never
 * inside fetch_start) or -errno (cb never fires): -EINVAL for a bad address, method, target or
 * header line, -ENOMEM, or what libuv says about the socket. *out (may be NULL) is the handle
 * for fetch_cancel; it is valid until cb has fired. */
int fetch_start(uv_loop_t *loop, const struct fetch_req *req, fetch_cb cb, void *arg,
                struct fetch **out);

/* Cancels a fetch whose cb has not fired yet (at any stage, from inside on_data too): cb
 * fires with -ECANCELED right away, inside fetch_cancel (so once fetch_cancel returns, `arg` is
 * never touched again and the caller may free it). The memory is freed later, after the handles'
 * close callbacks, so the loop must run once more before uv_loop_close(). A no-op from inside cb;
 * must not be called once cb has returned (the fetch may already be freed). */
void fetch_cancel(struct fetch *f);

#endif
