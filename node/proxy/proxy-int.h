/* Types shared by the data-path stages of node/proxy (not a public header). */
#ifndef CONCORD_PROXY_INT_H
#define CONCORD_PROXY_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "node/base/dlist.h"
#include "node/http/h1_parse.h"
#include "node/proxy/balance.h"
#include "node/proxy/proxy.h"
#include "node/table/table.h"

/* I/O buffers: bytes [start, end) are unread; a pooled buffer of IOBUF_SIZE is attached only
 * while a connection has bytes in flight, so an idle keep-alive connection holds none. */
#define IOBUF_SIZE (16 * 1024)
#define IOBUF_FREELIST_MAX 256
/* Bodies stream through bigger buffers: fewer read/write rounds per response. */
#define IOBUF_BIG (64 * 1024)
#define IOBUF_BIG_FREELIST_MAX 64
#define OUTQ_MAX 48 /* iovecs in one write */

struct iobuf {
    char *data;
    uint32_t cap;
    uint32_t start;
    uint32_t end;
    uint8_t pooled; /* 0: malloc'd; 1: small freelist (IOBUF_SIZE); 2: big (IOBUF_BIG) */
};

/* One queued write: up to OUTQ_MAX slices; chunk-size lines and trailers live in `hdr`. */
struct outq {
    uv_buf_t iov[OUTQ_MAX];
    uint32_t n;
    uint32_t hdr_used;
    char hdr[1024];
};

/* A write in progress: the queue and libuv's request. Taken from a per-worker freelist only
 * while a side writes, so idle connections carry neither (memory per idle connection). */
struct wstate {
    struct outq q;
    uv_write_t req;
};

struct worker;
struct conn;
struct mw_ctx;
struct held;

enum up_state { UP_CONNECTING, UP_BUSY, UP_IDLE, UP_CLOSED };

/* An upstream connection. Busy ones belong to one exchange; idle ones sit in a pool. */
struct upconn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t creq;
    struct wstate *ws;
    struct worker *w;
    struct pool *pool;
    struct dlist link; /* in pool->idle */
    struct conn *owner;
    enum up_state state;
    struct iobuf in;
    bool write_pending;
    bool reading;
    bool reused;       /* came from the idle pool: a failure before any response byte may be
                          a stale keep-alive connection, so an idempotent request may retry */
    bool pins_client;  /* the pending write references the client's input buffer */
    int handles;       /* open libuv handles; freed when it reaches 0 after close */
    struct mirror *mirror; /* a mirroring copy's connection (mirror.c), with no owner */
    /* From the service's serversTransport (else the static config), fixed at upstream_get. */
    uint64_t resp_timeout_ms;
    uint64_t idle_timeout_ms;
    uint32_t max_idle;
};

/* Idle upstream connections to one server address, per worker. */
struct pool {
    struct sockaddr_storage addr;
    uint32_t addrlen;
    struct dlist idle;
    uint32_t nidle;
};

enum out_mode { OUT_NONE, OUT_LENGTH, OUT_CHUNKED, OUT_CLOSE };

/* One request/response exchange on a client connection. */
/* Fields are grouped by size (pointers and 64-bit counters, then 32-bit, then flags) so the
 * struct has no padding holes: every connection carries one, idle or not. */
struct exchange {
    struct table *table; /* pinned generation */
    const struct table_router *router;
    const struct table_server *server;
    struct upconn *up;
    /* request side */
    char *head;          /* serialised upstream request head (malloc) */
    uint64_t req_left;
    uint64_t req_total;
    struct h1_chunked req_ck;
    /* response side */
    uint64_t resp_left;
    struct h1_chunked resp_ck;
    char *rhead;         /* serialised response head (malloc), freed after the write */
    struct mw_ctx *mw;   /* the router's middlewares at work; NULL when it has none */
    struct held *held;   /* the request while a middleware waits (MW_PAUSE); not active */
    struct bal_pick pick; /* how `server` was chosen: its service, sticky cookies to set */
    /* flow middlewares (mw_flow.h) */
    struct retry_wait *retry_wait; /* retry: the backoff timer, while one exists */
    struct mw_gzip *gz;  /* compress: the response body goes out gzipped (owned by mw) */
    char *buf;           /* buffering: the body being collected (malloc) */
    uint64_t buf_len, buf_cap;
    /* 32-bit */
    enum h1_method method;
    int minor;
    uint32_t head_len;
    enum h1_body req_body;
    int retries;
    int status;
    enum h1_body resp_body;
    enum out_mode out_mode;
    int err_status;      /* errors: the upstream's status while its error page is fetched */
    uint32_t rhead_len;
    /* flags */
    bool active;
    bool client_close;   /* the client asked for close, or HTTP/1.0 without keep-alive */
    bool upgrade;        /* a WebSocket upgrade was requested and forwarded */
    bool expect_continue;
    bool head_sent;
    bool req_done;
    bool req_body_sent;  /* body bytes reached the upstream (no retry after that) */
    bool resp_head_done;
    bool resp_started;   /* bytes of a final response went to the client */
    bool resp_done;
    bool last_chunk_sent;
    bool up_keepalive;   /* the upstream may be reused after this response */
    bool up_eof;         /* the upstream closed its side */
    bool req_abandoned;  /* writing the request failed after the response began */
    bool resp_timer_armed;
    bool resp_seen;      /* a response byte arrived: the upstream answered, no retry */
    bool buf_req;        /* buffering: reading the whole request body before connecting */
    bool buf_resp;       /* buffering: reading the whole response body before answering */
};

/* IDLE: waiting for a request's first byte; HEAD: reading a head; EXCHANGE: a request is being
 * proxied; TUNNEL: after a 101, bytes flow both ways; FINAL: a last local reply is being
 * written, then the connection closes; CLOSED: handles are closing. */
enum conn_state { C_IDLE, C_HEAD, C_EXCHANGE, C_TUNNEL, C_FINAL, C_CLOSED };

/* A client (downstream) connection. */
struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    struct wstate *ws;
    struct worker *w;
    const struct proxy_entrypoint *ep;
    struct dlist link; /* in worker->conns */
    struct iobuf in;
    uint64_t head_start_ms; /* when the first byte of the current head arrived */
    uint64_t req_start_ms;
    uint64_t accepted_ms;
    char *reply_buf;     /* a local reply too big for the write queue, until it is written */
    uint32_t ep_index;
    enum conn_state state;
    int handles;
    uint32_t nreq;
    uint32_t linger_bytes; /* discarded while lingering; past a bound the close is immediate */
    int peer_family;
    bool reading;
    bool write_pending;
    bool pins_up;        /* the pending write references the upstream's input buffer */
    bool close_after_write;
    bool peer_eof;
    bool draining;       /* the worker is shutting down: close after this exchange */
    bool closing;
    bool lingering;      /* final reply sent, write side shut: discard input until EOF */
    uint8_t peer_addr[16];
    char peer_ip[48];
    struct exchange x;
};

struct worker {
    struct proxy *proxy;
    uint32_t index;
    uv_loop_t loop;
    uv_thread_t thread;
    uv_async_t async;
    uv_timer_t grace_timer;
    uv_tcp_t *listeners;
    uint32_t nlisteners; /* initialised listener handles */
    int *listen_fds;
    struct table *table; /* the generation new exchanges pin */
    /* Balancing state per service of `table` (balance.h). Per worker, so no lock; nodes and
     * workers each spread evenly. */
    struct balance bal;
    struct dlist mirrors; /* mirroring copies in flight (mirror.c) */
    uint32_t nmirrors;
    struct dlist conns;
    uint32_t nconns;
    uint32_t *ep_conns;     /* open connections per entry point */
    uint64_t refused_logged_ms;
    struct pool **pools;
    uint32_t npools;
    uint32_t cap_pools;
    char **freebufs;
    uint32_t nfree;
    char **freebig;
    uint32_t nfreebig;
    struct wstate **freews;
    uint32_t nfreews;
    struct h1_header *hdrs; /* parse scratch, max_headers of the largest entry point */
    uint32_t max_hdrs;
    bool stopping;
    bool listeners_closed;
    bool grace_armed;
    bool finished;
};

struct proxy {
    struct proxy_config cfg;
    struct worker *workers;
    uint32_t nworkers;
    uint32_t nstarted; /* worker threads running (joined on shutdown) */
    /* The Via pseudonym: the node id plus a random suffix drawn at start, so two deployments
     * that both call a node "n1" never mistake each other for a loop (F8). */
    char via_id[96];
    pthread_mutex_t mu; /* guards next_table and stop requests (control path only) */
    struct table *next_table;
    bool stop;
    uint64_t grace_ms;
};

/* worker.c */
char *worker_buf_get(struct worker *w, bool big);
void worker_buf_put(struct worker *w, char *buf, bool big);
void worker_conn_closed(struct worker *w);

/* iobuf helpers (downstream.c) */
void iobuf_release(struct worker *w, struct iobuf *b);
void iobuf_compact(struct iobuf *b);
/* Makes room for more bytes: compacts, then grows past IOBUF_SIZE up to `max` bytes.
 * Returns false when the buffer is already `max` bytes and full. */
bool iobuf_make_room(struct worker *w, struct iobuf *b, uint32_t max);
/* Attaches a pooled buffer when none is attached; returns false on ENOMEM. */
bool iobuf_ensure(struct worker *w, struct iobuf *b);
/* Swaps an empty small buffer for a big one (body streaming). */
void iobuf_upgrade(struct worker *w, struct iobuf *b);

/* downstream.c */
void conn_accept(struct worker *w, uv_stream_t *server, uint32_t ep_index);
void conn_process(struct conn *c);
void conn_reply(struct conn *c, int status, bool close);
/* A local reply already serialised (malloc'd; the connection takes it and frees it once
 * written). */
void conn_reply_buf(struct conn *c, char *buf, uint32_t len, bool close);
void conn_close(struct conn *c);
/* Closes after the last response, lingering when the client may still be sending. */
void conn_finish_close(struct conn *c, bool unread);
void conn_write_flush(struct conn *c);
void conn_begin_drain(struct conn *c);
void conn_arm_timer(struct conn *c);
void conn_read_start(struct conn *c);
void conn_read_stop(struct conn *c);

/* exchange.c */
void exchange_start(struct conn *c, const struct h1_msg *m);
void exchange_pump_request(struct conn *c);
void exchange_pump_response(struct conn *c);
void exchange_finish(struct conn *c);
void exchange_abort(struct conn *c);
void exchange_upstream_ready(struct conn *c);
void exchange_upstream_failed(struct conn *c, int status);
void exchange_upstream_eof(struct conn *c);
void tunnel_pump(struct conn *c);
/* balance_pick() for the exchange's table generation (x->table, else the worker's): the
 * worker's state when that is the worker's table, else a fresh one (after a swap) on which
 * `skip` picks are made first (a retry's rotation). */
int exchange_balance_pick(struct conn *c, const struct table_service *s,
                          const struct h1_header *hdrs, uint32_t nhdrs, int skip,
                          struct bal_pick *out);
/* A server of `s` for another attempt or an error page (the balancer's pick). */
const struct table_server *exchange_pick(struct conn *c, const struct table_service *s);
bool exchange_idempotent(enum h1_method m);

/* exchange_flow.c: hooks of the flow middlewares (see there and mw_flow.h) */
struct mwc_errors;
void flow_end(struct exchange *x);            /* the exchange ends: the retry timer goes */
bool flow_retry(struct conn *c);              /* true: another attempt started or scheduled */
void flow_errors_divert(struct conn *c, const struct mwc_errors *e, int status);
bool flow_gzip_out(struct conn *c, const char *p, size_t n); /* false: connection closed */
bool flow_buf_start(struct conn *c, bool expect_continue);  /* true: buffering took over */
void flow_buf_pump(struct conn *c);
int flow_buf_resp_begin(struct conn *c, const struct h1_msg *m); /* 1 buffered, 0, -1 */
bool flow_buf_resp_add(struct conn *c, const char *p, size_t n); /* false: answered 500 */
bool flow_buf_resp_send(struct conn *c);

/* upstream.c */
/* `safe`: the request may be retried on another connection if this one turns out stale.
 * Timeouts and pool size come from the owner's service (owner->x.pick.leaf->transport). */
struct upconn *upstream_get(struct worker *w, const struct table_server *s, struct conn *owner,
                            bool safe, int *err);
/* The same with an explicit transport (NULL: the static config); owner may be NULL. */
struct upconn *upstream_get_tp(struct worker *w, const struct table_server *s,
                               const struct table_transport *tp, struct conn *owner, bool safe,
                               int *err);
void upstream_release(struct upconn *u, bool keepalive);
void upstream_close(struct upconn *u);
void upstream_read_start(struct upconn *u);
void upstream_read_stop(struct upconn *u);
void upstream_arm_response_timer(struct upconn *u);
void upstream_stop_timer(struct upconn *u);
int upstream_flush(struct upconn *u);
void upstream_pools_close(struct worker *w);

/* Write state (outq.c): acquire returns the (reset when newly taken) queue or NULL on
 * ENOMEM; release returns it to the worker unless a write is pending. */
struct outq *ws_acquire(struct worker *w, struct wstate **ws);
void ws_release(struct worker *w, struct wstate **ws);
void ws_freelist_fini(struct worker *w);

/* outq helpers (outq.c) */
void outq_reset(struct outq *q);
bool outq_push(struct outq *q, const void *base, size_t len);
bool outq_push_chunk_header(struct outq *q, size_t n);
bool outq_full(const struct outq *q);
/* Copies small generated text (a local reply) into the queue's own storage. */
bool outq_push_copy(struct outq *q, const void *data, size_t len);
/* Writes what it can now (uv_try_write); the rest goes out with uv_write and `*pending` is
 * set. Returns 0 or a negative libuv error. */
int outq_flush(uv_stream_t *s, struct wstate *ws, uv_write_cb cb, bool *pending);

uint64_t worker_now_ms(struct worker *w);

/* mirror.c: copies of a request to the mirrors balance_pick() chose (fire and forget). */
void mirror_start(struct conn *c, const struct h1_msg *m);
void mirror_on_ready(struct upconn *u);
void mirror_on_read(struct upconn *u, ssize_t nread);
void mirror_on_written(struct upconn *u, int status);
void mirror_failed(struct upconn *u);
void mirror_close_all(struct worker *w);

#endif
