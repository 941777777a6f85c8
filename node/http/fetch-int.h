/* Internal to node/http/fetch*.c: the fetch itself and what its three files share.
 *   fetch.c       the request, the response parser, completion and teardown
 *   fetch_addr.c  addresses: parsing, host names resolved (cached, one lookup per name)
 *   fetch_tls.c   the TLS session between the socket and the parser
 * Threading: a fetch belongs to the loop it was started on (fetch.h); the resolver's cache is
 * shared by every loop under a mutex. */
#ifndef CONCORD_HTTP_FETCH_INT_H
#define CONCORD_HTTP_FETCH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "node/http/fetch.h"
#include "node/http/h1_parse.h"

struct tlsc;
struct fetch_lookup;

#define FETCH_DEFAULT_TIMEOUT_MS 5000
#define FETCH_DEFAULT_MAX_BODY ((size_t)16 << 20)
#define FETCH_MAX_HEADERS 100 /* the parser's default limit */
#define FETCH_READ_MIN 16384  /* free space offered to each read */
#define FETCH_DEFAULT_MAX_CHUNK ((size_t)16 << 20)

enum fetch_phase { PH_HEAD, PH_BODY, PH_DONE };

struct fetch {
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } conn;
    uv_timer_t timer;
    uv_connect_t connect;
    uv_write_t write;
    fetch_cb cb;
    void *arg;
    bool done;        /* cb has fired (or fetch_start failed): later events are ignored */
    bool got_bytes;   /* some of the response arrived (a failed write is then not fatal) */
    int open_handles; /* handles not closed yet; the memory is freed when this reaches 0 */

    struct sockaddr_storage addr;
    char *path;            /* unix socket path, or NULL for TCP */
    char *name;            /* a host name to resolve first (fetch_addr.c), or NULL */
    char port[8];          /* its port */
    struct fetch_lookup *lookup; /* the lookup this fetch waits for, or NULL */
    struct fetch *next_waiter;   /* the next fetch waiting for the same lookup */
    enum h1_method method; /* HEAD responses have no body */
    size_t max_body;
    void (*on_data)(void *arg, const struct fetch_resp *head, const uint8_t *data, size_t len);
    size_t max_chunk;
    uint64_t idle_ms;
    uint64_t chunk_left; /* streaming, chunked: data bytes of the current chunk still to come */
    char *out;           /* the serialised request, head and body */
    size_t out_len;

    char *in; /* bytes received and not consumed yet */
    size_t in_len, in_cap;
    enum fetch_phase phase;
    char *head;         /* copy of the final head; msg and hdrs point into it */
    char *content_type; /* NUL-terminated copy of the Content-Type value */
    struct h1_msg msg;
    struct h1_header hdrs[FETCH_MAX_HEADERS];
    struct h1_chunked chunked;
    uint64_t body_left; /* H1_BODY_LENGTH: bytes still to come */
    uint8_t *body;      /* the decoded body, always one byte longer for the NUL */
    size_t body_len, body_cap;

    /* https: the session, and whether the request has been handed to it (after the
     * handshake). Reads land in `raw` (ciphertext) and their plaintext is appended to `in`. */
    struct tlsc *tls;
    char server_name[256];
    bool sent;
    char raw[FETCH_READ_MIN];
};

/* One write of TLS output: its own buffer, freed by its callback. */
struct fetch_wr {
    uv_write_t w;
    struct fetch *f;
    char *buf;
};

/* ---- fetch.c ---- */

/* Runs the callback once (rc 0: with the response) and starts the teardown. */
void fetch_finish(struct fetch *f, int rc);
/* Parses what `in` holds: 1 the response is complete, 0 more is needed, or -errno. */
int fetch_consume(struct fetch *f);
/* The peer closed: 0 when that ends the response (a close-delimited body), else -EPROTO. */
int fetch_at_eof(struct fetch *f);
/* Makes room for FETCH_READ_MIN more bytes in `in`. 0 or -ENOMEM. */
int fetch_in_room(struct fetch *f);
void fetch_on_timer(uv_timer_t *t);
/* The name was resolved (rc 0, f->addr set) or not (-EHOSTUNREACH): connect, or finish. */
void fetch_resolved(struct fetch *f, int rc);

/* ---- fetch_addr.c ---- */

/* "a.b.c.d:port", "[v6]:port" or "localhost:port" -> *ss; "name:port" -> *name (a copy) and
 * port. 0, -EINVAL or -ENOMEM. */
int fetch_parse_address(const char *address, struct sockaddr_storage *ss, char **name,
                        char *port_out);
/* "unix:///abs/path" or "/abs/path" -> *path (a copy); NULL for other addresses. */
int fetch_parse_unix(const char *address, char **path);
/* The host of "host:port" / "[v6]:port": the name TLS verifies. */
void fetch_server_name_of(const char *address, char *out, size_t size);
/* Resolves f->name: 1 known now (f->addr set from the cache), 0 pending (fetch_resolved comes
 * later, never inside), or -errno. Fetches that want the same name on the same loop share one
 * lookup, so a stalled DNS server holds one pool thread per name, not one per fetch. */
int fetch_resolve(uv_loop_t *loop, struct fetch *f);
/* f stops waiting for its lookup (it is finishing); the lookup goes on for the others. */
void fetch_resolve_drop(struct fetch *f);

/* ---- fetch_tls.c ---- */

/* Moves the TLS session on after a read (eof: the peer closed) or at connect: the handshake,
 * the request, then the plaintext into `in` for the parser. 1 when the response is complete,
 * 0 to go on, or -errno (-EKEYREJECTED: the server's certificate was refused). */
int fetch_tls_step(struct fetch *f, bool eof);

#endif
