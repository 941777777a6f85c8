/* Middlewares on the data path (node/proxy internal): the per-exchange context, the request
 * and response views with the edits middlewares make, and the ops table each middleware type
 * fills in node/proxy/mw_<name>.c (listed in mw.c).
 *
 * Flow, per exchange whose router has middlewares (routers without any never create a
 * context, so they pay nothing):
 *  1. request phase, in router order: each `request` op may edit the request (target, header
 *     fields, the Host sent upstream) and returns MW_CONTINUE, or answers it locally
 *     (mw_reply*) and returns MW_STOP; the middlewares after it do not run. An op that must
 *     wait (a bcrypt check on the thread pool, a rate-limit delay) starts the wait with
 *     mw_pause_work()/mw_pause_timer() and returns MW_PAUSE: the exchange holds the request,
 *     reads nothing more from the client, and goes on when the wait's `after` function has
 *     decided (CONTINUE: the next middleware; STOP: the reply). If the exchange ends first
 *     (the client went away, a timeout), the wait is cancelled and `after` never runs.
 *  2. response phase, in reverse order over the middlewares whose request phase ran (all of
 *     them, or those before the one that stopped): each `response` op sees the status and the
 *     header fields (the upstream's, or the local reply's) and may edit the header fields.
 *  3. `done`, once per middleware whose request phase ran, when the exchange ends in any way
 *     (counters are released there).
 *
 * Memory: everything a middleware allocates for an exchange comes from mw_alloc() (freed with
 * the context). Strings handed to the mw_* setters must live as long as the context (table
 * config strings do; build others with mw_alloc/mw_strdup).
 * Threading: a context belongs to one worker thread. Shared per-middleware state goes through
 * mw_runtime() (atomic, created once per table generation).
 */
#ifndef CONCORD_PROXY_MW_H
#define CONCORD_PROXY_MW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "node/http/h1_parse.h"
#include "node/table/mw_conf.h"
#include "node/table/table.h"

enum mw_result { MW_CONTINUE, MW_STOP, MW_PAUSE };

enum mw_hdr_op { MW_HDR_SET, MW_HDR_ADD, MW_HDR_DEL };

/* One header edit. SET and DEL hide every received field of that name and every earlier edit
 * of it; ADD appends one more field. */
struct mw_hdr {
    const char *name;
    const char *value;
    uint32_t nlen, vlen;
    uint8_t op;
    bool dead; /* hidden by a later SET/DEL of the same name */
};

struct mw_hdrs {
    struct mw_hdr *v;
    uint32_t n, cap;
};

struct mw_chunk;
struct mw_pending;

struct mw_ctx {
    const struct table_router *router;
    uint64_t now_ms;
    uint32_t worker; /* index of the worker thread */

    /* ---- the request as received (the fields point into the client buffer: valid during
     * the request phase only) ---- */
    const struct h1_msg *msg;
    const char *method;
    uint32_t method_len;
    const char *authority; /* Host as received (absolute-form authority wins), may hold a port */
    uint32_t authority_len;
    const char *host; /* normalised: lower case, no port, no trailing dot */
    uint32_t host_len;
    const char *client_ip;   /* the connection's peer, text */
    int client_family;       /* AF_INET / AF_INET6 */
    uint8_t client_addr[16];
    const char *scheme;      /* "http" (TLS comes later) */
    /* The peer may set X-Forwarded-* (the entry point's forwardedHeaders trusts it). When
     * false, the received X-Forwarded-* and X-Real-Ip fields are invisible to middlewares
     * (mw_req_get, ipStrategy), as Traefik deletes them before its middlewares run. */
    bool fwd_trusted;
    uint16_t port;           /* the port the client connected to (X-Forwarded-Port) */
    char port_text[8];       /* `port` as text, made on first use by mw_req_get */
    bool has_body;           /* the request has a body still to read */

    /* ---- the request as it will be sent (mutable) ---- */
    const char *path; /* normalised path, without the query */
    uint32_t path_len;
    const char *query; /* raw query without '?'; NULL: none */
    uint32_t query_len;
    bool target_changed;
    struct mw_hdrs req_edits;
    const char *host_override; /* the Host field sent upstream, NULL: the usual rule */

    /* ---- a local reply (after MW_STOP) ---- */
    int reply_status;
    struct mw_hdrs reply_hdrs;
    const char *reply_body;
    uint32_t reply_len;

    /* ---- the response phase ---- */
    int status;                /* the upstream's status, or reply_status */
    const struct h1_msg *resp; /* the upstream's head; NULL for a local reply */
    struct mw_hdrs resp_edits;
    /* The first body bytes of the upstream response that arrived with its head (decoded when
     * chunked): what is there, possibly fewer than the body or none; response phase only. */
    const char *resp_peek;
    uint32_t resp_peek_len;

    uint32_t nran; /* middlewares whose request phase ran (or is paused) */
    uint32_t next; /* the next middleware whose request phase runs */
    /* Pausing: the worker's loop, and how the exchange is told the wait is over (set by the
     * exchange; a context without a loop cannot pause). */
    uv_loop_t *loop;
    void (*resume)(void *owner, enum mw_result r);
    void *owner;
    struct mw_pending *pending; /* the wait in progress, NULL when none */
    void **state;  /* per middleware (index in router->mws), for the ops' own use */
    struct mw_chunk *arena;
};

struct mw_ops {
    /* Each may be NULL: nothing to do in that phase. `i` is the middleware's index in
     * m->router->mws (for m->state[i]). */
    enum mw_result (*request)(struct mw_ctx *m, const struct table_middleware *mw, uint32_t i);
    void (*response)(struct mw_ctx *m, const struct table_middleware *mw, uint32_t i);
    void (*done)(struct mw_ctx *m, const struct table_middleware *mw, uint32_t i);
};

/* ---- for the exchange ---- */

/* A context for `rt` (rt->nmws > 0); NULL on ENOMEM. */
struct mw_ctx *mw_ctx_create(const struct table_router *rt, uint64_t now_ms, uint32_t worker);
/* Runs `done` for the middlewares that ran, then frees everything. NULL is allowed. */
void mw_ctx_destroy(struct mw_ctx *m);
/* Runs the request phase from the next middleware: CONTINUE when all ran, STOP with a reply,
 * or PAUSE (m->resume will be called with CONTINUE or STOP; on CONTINUE call this again). */
enum mw_result mw_run_request(struct mw_ctx *m);
/* Runs the response phase for status `status` (`resp`: the upstream head, or NULL when the
 * context holds a local reply). */
void mw_run_response(struct mw_ctx *m, int status, const struct h1_msg *resp);
/* The local reply as bytes to write (after mw_run_response): status line, the reply's and the
 * response edits' fields, Content-Length and body; `close` adds "Connection: close". A
 * malloc'd buffer, or NULL on ENOMEM. */
char *mw_build_reply(const struct mw_ctx *m, bool close, uint32_t *len);
/* Whether a received field is hidden by the edits (SET/DEL of its name). */
bool mw_hdrs_hides(const struct mw_hdrs *e, const char *name, uint32_t nlen);

/* ---- for middlewares ---- */

/* Called when a wait is over, on the worker thread, with the context and the op's `arg`:
 * returns CONTINUE, STOP (after mw_reply*) or PAUSE (after starting another wait). */
typedef enum mw_result (*mw_after_fn)(struct mw_ctx *m, void *arg);

/* Runs work(arg) on libuv's thread pool, then after(m, arg) on the worker. `arg` is the op's
 * own malloc'd state: it must not point into the context or the table (the exchange, and with
 * it the table generation, may be gone when the work finishes); free_arg(arg) runs exactly
 * once at the end, whatever happens. Returns 0 (return MW_PAUSE) or a negative code (then
 * free_arg already ran; answer without pausing). */
int mw_pause_work(struct mw_ctx *m, void (*work)(void *arg), mw_after_fn after, void *arg,
                  void (*free_arg)(void *arg));

/* Calls after(m, arg) on the worker after `ms` milliseconds. Same rules as mw_pause_work. */
int mw_pause_timer(struct mw_ctx *m, uint64_t ms, mw_after_fn after, void *arg,
                   void (*free_arg)(void *arg));

void *mw_alloc(struct mw_ctx *m, size_t n); /* zeroed; NULL on ENOMEM */
char *mw_strdup(struct mw_ctx *m, const char *s, size_t n); /* NUL-terminated copy */

/* The request field `name` as it will be sent (case-insensitive name): the last edit that
 * sets or adds it, else the first received line; NULL when absent or deleted. */
const char *mw_req_get(const struct mw_ctx *m, const char *name, uint32_t *vlen);
/* Request edits. Setting "Host" sets host_override instead; framing and hop-by-hop fields
 * (Content-Length, Transfer-Encoding, Connection, ...) are ignored: the proxy owns those.
 * Return false on ENOMEM. */
bool mw_req_set(struct mw_ctx *m, const char *name, const char *value);
bool mw_req_add(struct mw_ctx *m, const char *name, const char *value);
bool mw_req_del(struct mw_ctx *m, const char *name);
/* Replaces the path (must start with '/') or the query (NULL: none). The strings must live
 * as long as the context. */
void mw_set_path(struct mw_ctx *m, const char *path, uint32_t len);
void mw_set_query(struct mw_ctx *m, const char *query, uint32_t len);

/* A local reply: status, extra fields, a body (Content-Type is a field like the others). */
void mw_reply(struct mw_ctx *m, int status);
bool mw_reply_header(struct mw_ctx *m, const char *name, const char *value);
void mw_reply_body(struct mw_ctx *m, const char *body, uint32_t len);

/* The response field `name` (upstream's or the reply's, after edits); NULL when absent. */
const char *mw_resp_get(const struct mw_ctx *m, const char *name, uint32_t *vlen);
bool mw_resp_set(struct mw_ctx *m, const char *name, const char *value);
bool mw_resp_add(struct mw_ctx *m, const char *name, const char *value);
bool mw_resp_del(struct mw_ctx *m, const char *name);

/* Shared state of one middleware object across the workers, created on first use with
 * `create` (returns NULL on ENOMEM) and freed with `destroy` when the table generation dies.
 * Returns NULL on ENOMEM. */
void *mw_runtime(const struct table_middleware *mw, void *(*create)(const struct table_middleware *),
                 void (*destroy)(void *));

/* The client address a middleware should use under `ip` (ipStrategy): the peer, or an entry
 * of X-Forwarded-For counted from the right (depth), skipping excluded ranges. Writes the text
 * to buf (size >= 64). Returns false when the strategy finds no address (the middleware then
 * treats the request as from an unknown client). */
bool mw_client_ip(const struct mw_ctx *m, const struct mwc_ip_strategy *ip, char *buf,
                  size_t size, int *family, uint8_t addr[16]);

/* One per middleware type, defined in mw_<name>.c and listed in mw.c's table. */
extern const struct mw_ops mw_add_prefix_ops;
extern const struct mw_ops mw_headers_ops;
extern const struct mw_ops mw_basic_auth_ops;
extern const struct mw_ops mw_content_type_ops;
/* contentType's sniffer: the MIME type of a body starting with `data` (len > 0). */
const char *mw_sniff_content_type(const char *data, size_t len);
extern const struct mw_ops mw_ip_allow_list_ops;
extern const struct mw_ops mw_in_flight_req_ops;
extern const struct mw_ops mw_rate_limit_ops;
extern const struct mw_ops mw_strip_prefix_ops;
extern const struct mw_ops mw_strip_prefix_regex_ops;
extern const struct mw_ops mw_replace_path_ops;
extern const struct mw_ops mw_replace_path_regex_ops;
extern const struct mw_ops mw_redirect_scheme_ops;
extern const struct mw_ops mw_redirect_regex_ops;
extern const struct mw_ops mw_retry_ops;
extern const struct mw_ops mw_errors_ops;
extern const struct mw_ops mw_compress_ops;
extern const struct mw_ops mw_buffering_ops;

/* The ops of each middleware type (NULL: none yet; compile refuses those types). */
const struct mw_ops *mw_ops_of(enum mw_kind kind);

#endif
