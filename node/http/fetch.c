/* fetch: one HTTP/1.1 request per TCP or unix-socket connection on a libuv loop (fetch.h).
 *
 * Life of a fetch: fetch_start copies the request into one buffer (head + body), starts the
 * deadline timer and the connect. On connect the whole request is written in one uv_write and
 * reading starts. Received bytes go to `in`; the head is parsed from there (again from its
 * start each time, the parser is stateless), interim 1xx heads are dropped, and the final head
 * is copied aside so `in` can be compacted while the body is decoded into `body`. fetch_finish()
 * runs the callback exactly once and closes both handles; the memory goes when the second
 * close callback has run. Streaming (on_data) differs only in where body bytes go: straight
 * from `in` (or the chunk decoder's slice of it) to the caller, and in the timer, which after
 * the head becomes the idle timer. Every libuv callback checks `done` first: closing the
 * connection's handle (TCP or pipe) cancels a pending connect or write, and their callbacks
 * still arrive (with UV_ECANCELED) before the close callback. A host name is resolved first
 * (fetch_addr.c); https runs the bytes through a TLS session (fetch_tls.c).
 */
#include "node/http/fetch.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "node/base/log.h"
#include "node/http/fetch-int.h"
#include "node/net/tls_client.h"

/* ---- request validation and serialisation ---- */

static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool valid_token(const char *s, size_t n)
{
    if (n == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_tchar((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

/* Origin-form only: the admin API has no use for the other forms, and a target with a space
 * or a control byte would let a caller smuggle a second request line. */
static bool valid_target(const char *s)
{
    if (s[0] != '/') {
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p <= 0x20 || *p >= 0x7f) {
            return false;
        }
    }
    return true;
}

/* "Name: value" with a token name, no control byte but HTAB in the value, and not a field
 * fetch writes itself (a second Host or Content-Length would make the request ambiguous). */
static bool valid_header(const char *line)
{
    static const char *const owned[] = {"host", "connection", "content-length",
                                        "transfer-encoding"};
    const char *colon = strchr(line, ':');

    if (colon == NULL || !valid_token(line, (size_t)(colon - line))) {
        return false;
    }
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) {
        if ((size_t)(colon - line) == strlen(owned[i]) &&
            strncasecmp(line, owned[i], strlen(owned[i])) == 0) {
            return false;
        }
    }
    for (const unsigned char *p = (const unsigned char *)colon + 1; *p != '\0'; p++) {
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
            return false;
        }
    }
    return true;
}

static enum h1_method method_of(const char *m)
{
    return strcmp(m, "HEAD") == 0 ? H1_M_HEAD : H1_M_OTHER; /* only HEAD changes framing */
}

static char *put(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

/* Validates `req` and writes the request bytes into f->out. */
static int build_request(struct fetch *f, const struct fetch_req *req)
{
    bool with_length =
        req->body != NULL || strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0;
    size_t body_len = req->body != NULL ? req->body_len : 0;
    size_t size;
    char cl[48];
    char *p;

    if (!valid_token(req->method, strlen(req->method)) || !valid_target(req->target)) {
        return -EINVAL;
    }
    size = strlen(req->method) + strlen(req->target) + strlen(req->address) + 64 + body_len;
    for (const char *const *h = req->headers; h != NULL && *h != NULL; h++) {
        if (!valid_header(*h)) {
            return -EINVAL;
        }
        size += strlen(*h) + 2;
    }
    cl[0] = '\0';
    if (with_length) {
        snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", body_len);
        size += strlen(cl);
    }
    f->out = malloc(size);
    if (f->out == NULL) {
        return -ENOMEM;
    }
    p = f->out;
    p = put(p, req->method);
    p = put(p, " ");
    p = put(p, req->target);
    p = put(p, " HTTP/1.1\r\nHost: ");
    p = put(p, f->path != NULL ? "localhost" : req->address); /* Docker accepts any name */
    p = put(p, "\r\nConnection: close\r\n");
    p = put(p, cl);
    for (const char *const *h = req->headers; h != NULL && *h != NULL; h++) {
        p = put(p, *h);
        p = put(p, "\r\n");
    }
    p = put(p, "\r\n");
    if (body_len > 0) {
        memcpy(p, req->body, body_len);
        p += body_len;
    }
    f->out_len = (size_t)(p - f->out);
    return 0;
}

/* ---- completion and teardown ---- */

static void release(struct fetch *f)
{
    if (--f->open_handles > 0) {
        return;
    }
    free(f->out);
    free(f->path);
    free(f->name);
    free(f->in);
    free(f->head);
    free(f->content_type);
    free(f->body);
    tlsc_free(f->tls);
    free(f);
}

static void on_close(uv_handle_t *h)
{
    release(h->data);
}

static void close_handles(struct fetch *f)
{
    fetch_resolve_drop(f);
    uv_close(&f->conn.handle, on_close);
    uv_close((uv_handle_t *)&f->timer, on_close);
}

/* The response as the callbacks see it; the body only when buffered. */
static void fill_resp(struct fetch *f, struct fetch_resp *resp)
{
    static const uint8_t empty[1] = {0};

    memset(resp, 0, sizeof *resp);
    resp->status = f->msg.status;
    resp->content_type = f->content_type;
    resp->msg = &f->msg;
    if (f->on_data == NULL) {
        resp->body = f->body != NULL ? f->body : empty;
        resp->body_len = f->body_len;
        if (f->body != NULL) {
            f->body[f->body_len] = '\0';
        }
    }
}

/* Runs the callback once (rc 0: with the response) and starts the teardown. */
void fetch_finish(struct fetch *f, int rc)
{
    struct fetch_resp resp;

    if (f->done) {
        return;
    }
    f->done = true;
    uv_timer_stop(&f->timer);
    if (rc == 0) {
        fill_resp(f, &resp);
    }
    f->cb(f->arg, rc, rc == 0 ? &resp : NULL);
    close_handles(f);
}

void fetch_cancel(struct fetch *f)
{
    if (f != NULL) {
        fetch_finish(f, -ECANCELED);
    }
}

void fetch_on_timer(uv_timer_t *t)
{
    fetch_finish(t->data, -ETIMEDOUT);
}

/* ---- response parsing ---- */

/* Streaming: hands a piece to the caller. -ECANCELED when it cancelled (stop at once). */
static int stream_out(struct fetch *f, const void *data, size_t n)
{
    struct fetch_resp head;

    fill_resp(f, &head);
    f->on_data(f->arg, &head, data, n);
    return f->done ? -ECANCELED : 0;
}

/* Appends decoded body bytes, keeping one spare byte for the NUL fetch_finish() writes; or, when
 * streaming, passes them on. */
static int body_append(struct fetch *f, const void *data, size_t n)
{
    if (f->on_data != NULL) {
        return n > 0 ? stream_out(f, data, n) : 0;
    }
    if (n > f->max_body - f->body_len) {
        return -EMSGSIZE;
    }
    if (f->body_len + n + 1 > f->body_cap) {
        size_t cap = f->body_cap > 0 ? f->body_cap : 4096;
        uint8_t *nb;
        while (cap < f->body_len + n + 1) {
            cap *= 2;
        }
        if (cap > f->max_body + 1) {
            cap = f->max_body + 1;
        }
        nb = realloc(f->body, cap);
        if (nb == NULL) {
            return -ENOMEM;
        }
        f->body = nb;
        f->body_cap = cap;
    }
    memcpy(f->body + f->body_len, data, n);
    f->body_len += n;
    return 0;
}

/* The final head is complete in p[0..n): keep a copy (msg points into it) and set up the body
 * decoding. */
static int keep_final_head(struct fetch *f, const char *p, size_t n)
{
    const struct h1_header *ct;

    f->head = malloc(n);
    if (f->head == NULL) {
        return -ENOMEM;
    }
    memcpy(f->head, p, n);
    memset(&f->msg, 0, sizeof f->msg);
    if (h1_parse_response(f->head, n, NULL, f->method, f->hdrs, FETCH_MAX_HEADERS, &f->msg) !=
        (int)n) {
        return -EPROTO; /* cannot happen: the same bytes parsed a moment ago */
    }
    ct = h1_find(&f->msg, "content-type");
    if (ct != NULL && (f->content_type = strndup(ct->value, ct->value_len)) == NULL) {
        return -ENOMEM;
    }
    switch (f->msg.body) {
    case H1_BODY_NONE:
        f->phase = PH_DONE;
        break;
    case H1_BODY_LENGTH:
        f->body_left = f->msg.content_length;
        f->phase = f->body_left > 0 ? PH_BODY : PH_DONE;
        if (f->on_data != NULL) {
            break;
        }
        if (f->msg.content_length > f->max_body) {
            return -EMSGSIZE;
        }
        f->body_cap = (size_t)f->msg.content_length + 1;
        if ((f->body = malloc(f->body_cap)) == NULL) {
            return -ENOMEM;
        }
        break;
    case H1_BODY_CHUNKED:
        h1_chunked_init(&f->chunked);
        f->phase = PH_BODY;
        break;
    case H1_BODY_EOF:
        f->phase = PH_BODY;
        break;
    }
    return 0;
}

/* Parses one head at p[0..n). Returns its length (consumed), 0 when incomplete, or -errno. */
static int take_head(struct fetch *f, const char *p, size_t n)
{
    int rc;

    memset(&f->msg, 0, sizeof f->msg);
    rc = h1_parse_response(p, n, NULL, f->method, f->hdrs, FETCH_MAX_HEADERS, &f->msg);
    if (rc <= 0) {
        return rc == 0 ? 0 : -EPROTO;
    }
    if (f->msg.status < 200) {
        /* Interim responses (100 Continue, 103 Early Hints) are skipped; 101 would switch
         * protocols, which this client never asks for. */
        return f->msg.status == 101 ? -EPROTO : rc;
    }
    int krc = keep_final_head(f, p, (size_t)rc);
    if (krc < 0) {
        return krc;
    }
    if (f->on_data != NULL) {
        /* From here on only the idle limit holds: a watch may rightly last for days. */
        uv_timer_stop(&f->timer);
        if (f->idle_ms > 0) {
            uv_timer_start(&f->timer, fetch_on_timer, f->idle_ms, 0);
        }
        if ((krc = stream_out(f, NULL, 0)) < 0) {
            return krc;
        }
    }
    return rc;
}

/* Streaming, chunked: refuses a chunk announced larger than max_chunk, as soon as its size
 * line is in (remaining is then the whole chunk) or at its first data slice. */
static int check_chunk(struct fetch *f, int rc, size_t data_len)
{
    if (f->on_data == NULL) {
        return 0;
    }
    if (rc == H1_CHUNK_DATA) {
        if (f->chunk_left == 0) {
            uint64_t size = f->chunked.remaining + data_len;
            if (size > f->max_chunk) {
                return -EMSGSIZE;
            }
            f->chunk_left = size;
        }
        f->chunk_left -= data_len;
    } else if (rc == H1_CHUNK_NEED && f->chunk_left == 0 && f->chunked.remaining > f->max_chunk) {
        return -EMSGSIZE;
    }
    return 0;
}

/* Decodes body bytes p[0..n) (all of them are consumed). Returns 1 when the body is complete,
 * 0 when more is needed, or -errno. */
static int take_body(struct fetch *f, const char *p, size_t n)
{
    int rc;

    switch (f->msg.body) {
    case H1_BODY_LENGTH: {
        size_t take = n < f->body_left ? n : (size_t)f->body_left;
        if (f->on_data != NULL) {
            if (take > 0 && (rc = stream_out(f, p, take)) < 0) {
                return rc;
            }
        } else {
            memcpy(f->body + f->body_len, p, take); /* sized to Content-Length at the head */
            f->body_len += take;
        }
        f->body_left -= take;
        return f->body_left == 0 ? 1 : 0;
    }
    case H1_BODY_EOF:
        rc = body_append(f, p, n);
        return rc < 0 ? rc : 0;
    case H1_BODY_CHUNKED:
        while (n > 0) {
            size_t used = 0, data_len = 0;
            const char *data = NULL;
            rc = h1_chunked_next(&f->chunked, p, n, &used, &data, &data_len);
            if (rc < 0) {
                return -EPROTO;
            }
            int crc = check_chunk(f, rc, data_len);
            if (crc < 0) {
                return crc;
            }
            p += used;
            n -= used;
            if (rc == H1_CHUNK_DONE) {
                return 1;
            }
            if (rc == H1_CHUNK_DATA && (rc = body_append(f, data, data_len)) < 0) {
                return rc;
            }
            if (used == 0) {
                break; /* the decoder promises progress; never spin if it makes none */
            }
        }
        return 0;
    default:
        return 1;
    }
}

/* Processes what is in f->in. Returns 1 when the response is complete, 0 for more, -errno. */
int fetch_consume(struct fetch *f)
{
    size_t pos = 0;
    int rc = 0;

    while (f->phase == PH_HEAD) {
        rc = take_head(f, f->in + pos, f->in_len - pos);
        if (rc <= 0) {
            break;
        }
        pos += (size_t)rc;
        rc = 0;
    }
    if (rc == 0 && f->phase == PH_BODY) {
        rc = take_body(f, f->in + pos, f->in_len - pos);
        pos = f->in_len;
        if (rc == 1) {
            f->phase = PH_DONE;
        }
    }
    if (rc < 0) {
        return rc;
    }
    memmove(f->in, f->in + pos, f->in_len - pos);
    f->in_len -= pos;
    return f->phase == PH_DONE ? 1 : 0;
}

/* The peer closed: only a close-delimited body may end this way. */
int fetch_at_eof(struct fetch *f)
{
    if (f->phase == PH_BODY && f->msg.body == H1_BODY_EOF) {
        return 0;
    }
    return -EPROTO;
}

/* ---- libuv callbacks ---- */

/* Makes room for FETCH_READ_MIN more bytes in `in`. 0 or -ENOMEM. */
int fetch_in_room(struct fetch *f)
{
    /* `in` stays small: a head is refused past 64 KiB, and body bytes are consumed at once. */
    if (f->in_cap - f->in_len < FETCH_READ_MIN) {
        size_t cap = f->in_cap > 0 ? f->in_cap * 2 : 2 * FETCH_READ_MIN;
        char *nb = realloc(f->in, cap);
        if (nb == NULL) {
            return -ENOMEM;
        }
        f->in = nb;
        f->in_cap = cap;
    }
    return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct fetch *f = h->data;

    if (f->tls != NULL) {
        *buf = uv_buf_init(f->raw, sizeof f->raw);
    } else if (fetch_in_room(f) != 0) {
        *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS to on_read */
    } else {
        *buf = uv_buf_init(f->in + f->in_len, (unsigned int)(f->in_cap - f->in_len));
    }
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct fetch *f = s->data;
    int rc;

    if (f->done || n == 0) {
        return;
    }
    if (n < 0 && n != UV_EOF) {
        fetch_finish(f, (int)n);
        return;
    }
    if (f->tls != NULL) {
        rc = n > 0 ? tlsc_feed(f->tls, buf->base, (size_t)n) : 0;
        if (rc == 0) {
            rc = fetch_tls_step(f, n == UV_EOF);
        }
        if (rc != 0) {
            fetch_finish(f, rc > 0 ? 0 : rc);
        }
        return;
    }
    if (n == UV_EOF) {
        fetch_finish(f, fetch_at_eof(f));
        return;
    }
    f->in_len += (size_t)n;
    f->got_bytes = true;
    if (f->on_data != NULL && f->phase == PH_BODY && f->idle_ms > 0) {
        uv_timer_start(&f->timer, fetch_on_timer, f->idle_ms, 0); /* a new gap starts now */
    }
    rc = fetch_consume(f);
    if (rc != 0) {
        fetch_finish(f, rc > 0 ? 0 : rc);
    }
}

static void on_write(uv_write_t *w, int status)
{
    struct fetch *f = w->data;

    /* A peer may answer early and close (e.g. a 413 before reading our body); once a response
     * is arriving, let the read side decide. */
    if (!f->done && status < 0 && !f->got_bytes) {
        fetch_finish(f, status);
    }
}

static void on_connect(uv_connect_t *c, int status)
{
    struct fetch *f = c->data;
    uv_buf_t b;
    int rc;

    if (f->done) {
        return;
    }
    if (status < 0) {
        fetch_finish(f, status);
        return;
    }
    rc = uv_read_start(&f->conn.stream, on_alloc, on_read);
    if (rc == 0 && f->tls != NULL) {
        rc = fetch_tls_step(f, false); /* the ClientHello */
    } else if (rc == 0) {
        b = uv_buf_init(f->out, (unsigned int)f->out_len);
        rc = uv_write(&f->write, &f->conn.stream, &b, 1, on_write);
    }
    if (rc < 0) {
        fetch_finish(f, rc);
    }
}

void fetch_resolved(struct fetch *f, int rc)
{
    if (f->done) {
        return;
    }
    if (rc == 0) {
        rc = uv_tcp_connect(&f->connect, &f->conn.tcp, (const struct sockaddr *)&f->addr,
                            on_connect);
    }
    if (rc < 0) {
        fetch_finish(f, rc);
    }
}

const char *fetch_strerror(int rc)
{
    switch (rc) {
    case -EKEYREJECTED:
        return "TLS: the server's certificate was not accepted (see the log)";
    case -EPROTO:
        return "protocol error (not HTTP, bad framing, or a TLS failure)";
    case -EMSGSIZE:
        return "response too large";
    case -EHOSTUNREACH:
        return "the host name does not resolve";
    default:
        return strerror(-rc);
    }
}

int fetch_start(uv_loop_t *loop, const struct fetch_req *req, fetch_cb cb, void *arg,
                struct fetch **out)
{
    struct fetch *f;
    int rc;

    if (out != NULL) {
        *out = NULL;
    }
    if (loop == NULL || req == NULL || cb == NULL || req->address == NULL || req->method == NULL ||
        req->target == NULL || (req->body == NULL && req->body_len > 0) ||
        req->body_len > UINT32_MAX / 2) {
        return -EINVAL;
    }
    if ((f = calloc(1, sizeof *f)) == NULL) {
        return -ENOMEM;
    }
    f->cb = cb;
    f->arg = arg;
    f->method = method_of(req->method);
    f->max_body = req->max_body > 0 ? req->max_body : FETCH_DEFAULT_MAX_BODY;
    f->on_data = req->on_data;
    f->max_chunk = req->max_chunk > 0 ? req->max_chunk : FETCH_DEFAULT_MAX_CHUNK;
    f->idle_ms = req->idle_timeout_ms;
    if (f->max_body > SIZE_MAX / 2) {
        f->max_body = SIZE_MAX / 2; /* so max_body + 1 (the NUL) never wraps */
    }
    if ((rc = fetch_parse_unix(req->address, &f->path)) == 0 && f->path == NULL) {
        rc = fetch_parse_address(req->address, &f->addr, &f->name, f->port);
    }
    if (rc == 0) {
        rc = build_request(f, req);
    }
    if (rc == 0 && req->tls != NULL) {
        if (req->server_name != NULL) {
            snprintf(f->server_name, sizeof f->server_name, "%s", req->server_name);
        } else if (f->path == NULL) {
            fetch_server_name_of(req->address, f->server_name, sizeof f->server_name);
        }
        rc = tlsc_new(req->tls, f->server_name, &f->tls);
    }
    if (rc == 0) {
        rc = f->path != NULL ? uv_pipe_init(loop, &f->conn.pipe, 0)
                             : uv_tcp_init(loop, &f->conn.tcp);
    }
    if (rc < 0) {
        free(f->out);
        free(f->path);
        free(f->name);
        tlsc_free(f->tls);
        free(f);
        return rc;
    }
    uv_timer_init(loop, &f->timer); /* cannot fail */
    f->conn.handle.data = f->timer.data = f->connect.data = f->write.data = f;
    f->open_handles = 2;
    rc = uv_timer_start(&f->timer, fetch_on_timer,
                        req->timeout_ms > 0 ? req->timeout_ms : FETCH_DEFAULT_TIMEOUT_MS, 0);
    if (rc == 0 && f->path != NULL) {
        /* reports every failure (ENOENT, ECONNREFUSED) through on_connect, never in here */
        uv_pipe_connect(&f->connect, &f->conn.pipe, f->path, on_connect);
    } else if (rc == 0 && f->name != NULL) {
        rc = fetch_resolve(loop, f);
        if (rc == 1) { /* cached */
            rc = uv_tcp_connect(&f->connect, &f->conn.tcp, (const struct sockaddr *)&f->addr,
                                on_connect);
        }
    } else if (rc == 0) {
        rc = uv_tcp_connect(&f->connect, &f->conn.tcp, (const struct sockaddr *)&f->addr,
                            on_connect);
    }
    if (rc < 0) {
        f->done = true; /* cb never fires; the close callbacks free f */
        close_handles(f);
        return rc;
    }
    if (out != NULL) {
        *out = f;
    }
    return 0;
}
