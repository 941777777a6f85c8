/* Admin listener: /ping, /api/version and the reads of api_http.c, bearer-token checked, one
 * request per connection (the API's callers are tools and probes, not browsers in a hurry). */
#include "node/admin/admin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "node/admin/api_http.h"
#include "node/base/log.h"
#include "node/http/h1_parse.h"
#include "node/net/listen.h"
#include "node/node.h"

#define ADMIN_BUF 8192
#define ADMIN_MAX_HEADERS 64
#define ADMIN_READ_MS 10000
#define ADMIN_MAX_BODY (64u << 20) /* a config of tens of thousands of routers */

struct admin {
    uv_tcp_t listener;
    char *token;
    char *version;
    bool ready;
    bool closing;
    int handles; /* the listener plus open connections */
    admin_view_fn view_fn;
    void *view_arg;
    admin_handler_fn handler;
    void *handler_arg;
    admin_peer_fn peer_fn;
    void *peer_arg;
    char bound[80];
};

struct aconn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wreq;
    struct admin *a;
    char buf[ADMIN_BUF];
    size_t len;
    size_t head_len;
    uint8_t *body; /* the request body (Content-Length only) */
    size_t body_len, body_want;
    char *reply;
    int handles; /* tcp, timer, and one while a handler owes its reply */
    bool done;
    bool pending; /* a handler took the request and will call admin_reply */
};

static void admin_unref(struct admin *a)
{
    if (--a->handles == 0) {
        free(a->token);
        free(a->version);
        free(a);
    }
}

static void on_aconn_closed(uv_handle_t *h)
{
    struct aconn *c = h->data;
    if (--c->handles > 0) {
        return;
    }
    struct admin *a = c->a;
    free(c->reply);
    free(c->body);
    free(c);
    admin_unref(a);
}

static void aconn_close(struct aconn *c)
{
    if (c->done) {
        return;
    }
    c->done = true;
    uv_close((uv_handle_t *)&c->tcp, on_aconn_closed);
    uv_close((uv_handle_t *)&c->timer, on_aconn_closed);
}

static void on_written(uv_write_t *req, int status)
{
    (void)status;
    aconn_close(req->data);
}

static void respond_n(struct aconn *c, int status, const char *reason, const char *ctype,
                      const char *body, size_t blen)
{
    if (c->done) { /* the client left (or timed out) while a handler worked */
        return;
    }
    size_t cap = blen + 256;
    uv_buf_t b;
    int n;
    c->reply = malloc(cap);
    if (c->reply == NULL) {
        aconn_close(c);
        return;
    }
    n = snprintf(c->reply, cap,
                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                 "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                 status, reason, ctype, blen);
    memcpy(c->reply + n, body, blen);
    b = uv_buf_init(c->reply, (unsigned)((size_t)n + blen));
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        aconn_close(c);
    }
}

static void respond(struct aconn *c, int status, const char *reason, const char *ctype,
                    const char *body)
{
    respond_n(c, status, reason, ctype, body, strlen(body));
}

static const char *reason_of(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 404:
        return "Not Found";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 422:
        return "Unprocessable Content";
    case 502:
        return "Bad Gateway";
    case 504:
        return "Gateway Timeout";
    case 405:
        return "Method Not Allowed";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

/* The reads of api_http.c; false when the path is not one of theirs. */
static bool serve_api(struct aconn *c, const struct h1_msg *m, size_t plen)
{
    struct admin *a = c->a;
    struct node_view v;
    struct api_reply r = {0, NULL, 0};
    const char *q = plen < m->target_len ? m->target + plen + 1 : "";
    size_t qlen = plen < m->target_len ? m->target_len - plen - 1 : 0;
    bool is_get = m->method == H1_M_GET;
    memset(&v, 0, sizeof v);
    if (a->view_fn != NULL) {
        a->view_fn(a->view_arg, &v);
    }
    if (!api_http_serve(&v, is_get, m->target, plen, q, qlen, &r)) {
        return false;
    }
    if (a->view_fn == NULL || v.table == NULL) {
        respond(c, 503, reason_of(503), "application/json", "{\"error\":\"no table yet\"}");
    } else if (r.body == NULL) {
        respond(c, 500, reason_of(500), "application/json", "{\"error\":\"out of memory\"}");
    } else {
        respond_n(c, r.status, reason_of(r.status), "application/json", r.body, r.len);
    }
    free(r.body);
    return true;
}

/* Constant-time comparison: the token must not leak through response timing. */
static bool token_ok(const struct admin *a, const struct h1_msg *m)
{
    const struct h1_header *h = h1_find(m, "authorization");
    size_t tl = strlen(a->token);
    unsigned char diff = 0;
    if (h == NULL || h->value_len != 7 + tl || strncasecmp(h->value, "Bearer ", 7) != 0) {
        return false;
    }
    for (size_t i = 0; i < tl; i++) {
        diff |= (unsigned char)(h->value[7 + i] ^ a->token[i]);
    }
    return diff == 0;
}

/* Node-to-node calls carry "X-Concord-Peer: TIME HEXMAC", an HMAC under the cluster secret
 * of "METHOD TARGET\nTIME\n" followed by the body; raftstore checks it (the secret stays
 * there). The time bounds how long a recorded call can be replayed. */
static bool peer_ok(struct aconn *c, const struct h1_msg *m)
{
    struct admin *a = c->a;
    const struct h1_header *h = h1_find(m, "x-concord-peer");
    char line[2048], mac[65];
    const char *sp;
    long long t, now;
    int n;
    if (h == NULL || a->peer_fn == NULL || h->value_len > 100) {
        return false;
    }
    sp = memchr(h->value, ' ', h->value_len);
    if (sp == NULL || (size_t)(h->value + h->value_len - sp - 1) != 64) {
        return false;
    }
    t = strtoll(h->value, NULL, 10);
    now = (long long)time(NULL);
    if (t < now - 120 || t > now + 120) { /* no subtraction: t is the caller's, any value */
        return false;
    }
    memcpy(mac, sp + 1, 64);
    mac[64] = '\0';
    n = snprintf(line, sizeof line, "%.*s %.*s\n%lld\n", (int)m->method_len, m->method_str,
                 (int)m->target_len, m->target, t);
    if (n < 0 || (size_t)n >= sizeof line) {
        return false;
    }
    return a->peer_fn(a->peer_arg, line, (size_t)n, c->body, c->body_len, mac);
}

static void route(struct aconn *c, const struct h1_msg *m)
{
    struct admin *a = c->a;
    char body[256];
    const char *q = memchr(m->target, '?', m->target_len);
    size_t plen = q ? (size_t)(q - m->target) : m->target_len;
    if (plen == 5 && memcmp(m->target, "/ping", 5) == 0) {
        if (a->ready) {
            respond(c, 200, "OK", "text/plain; charset=utf-8", "OK");
        } else {
            respond(c, 503, "Service Unavailable", "text/plain; charset=utf-8",
                    "starting or draining");
        }
        return;
    }
    bool peer = peer_ok(c, m);
    if (!peer && !token_ok(a, m)) {
        respond(c, 401, "Unauthorized", "application/json",
                "{\"error\":\"missing or wrong bearer token\"}");
        return;
    }
    if (a->handler != NULL) {
        const struct h1_header *ct = h1_find(m, "content-type");
        char ctype[128] = "";
        if (ct != NULL && ct->value_len < sizeof ctype) {
            memcpy(ctype, ct->value, ct->value_len);
            ctype[ct->value_len] = '\0';
        }
        struct admin_http h = {.method = m->method_str,
                               .content_type = ctype,
                               .method_len = m->method_len,
                               .path = m->target,
                               .plen = plen,
                               .query = q ? q + 1 : "",
                               .qlen = q ? m->target_len - plen - 1 : 0,
                               .body = c->body,
                               .body_len = c->body_len,
                               .peer = peer};
        c->pending = true;
        c->handles++;
        if (a->handler(a->handler_arg, (struct admin_req *)c, &h)) {
            return;
        }
        c->pending = false;
        c->handles--;
    }
    if (plen == 12 && memcmp(m->target, "/api/version", 12) == 0 && m->method == H1_M_GET) {
        snprintf(body, sizeof body, "{\"Version\":\"%s\",\"Codename\":\"concord\"}", a->version);
        respond(c, 200, "OK", "application/json", body);
        return;
    }
    if (serve_api(c, m, plen)) {
        return;
    }
    respond(c, 404, "Not Found", "application/json", "{\"error\":\"no such endpoint\"}");
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct aconn *c = h->data;
    (void)suggested;
    if (c->body != NULL) {
        buf->base = (char *)c->body + c->body_len;
        buf->len = c->body_want - c->body_len;
        return;
    }
    buf->base = c->buf + c->len;
    buf->len = sizeof c->buf - c->len;
}

static void dispatch(struct aconn *c)
{
    struct h1_header hdrs[ADMIN_MAX_HEADERS];
    struct h1_limits lim;
    struct h1_msg m;
    h1_limits_default(&lim);
    lim.max_head = ADMIN_BUF;
    /* The head is parsed again: its fields point into c->buf, which did not move. */
    h1_parse_request(c->buf, c->head_len, &lim, hdrs, ADMIN_MAX_HEADERS, &m);
    uv_timer_stop(&c->timer);
    uv_read_stop((uv_stream_t *)&c->tcp);
    route(c, &m);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct aconn *c = s->data;
    struct h1_header hdrs[ADMIN_MAX_HEADERS];
    struct h1_limits lim;
    struct h1_msg m;
    int rc;
    (void)buf;
    if (nread == 0) {
        return;
    }
    if (nread < 0) {
        aconn_close(c);
        return;
    }
    if (c->body != NULL) {
        c->body_len += (size_t)nread;
        if (c->body_len == c->body_want) {
            dispatch(c);
        }
        return;
    }
    c->len += (size_t)nread;
    h1_limits_default(&lim);
    lim.max_head = ADMIN_BUF;
    rc = h1_parse_request(c->buf, c->len, &lim, hdrs, ADMIN_MAX_HEADERS, &m);
    if (rc == 0 && c->len < sizeof c->buf) {
        return;
    }
    if (rc <= 0) {
        respond(c, 400, "Bad Request", "text/plain; charset=utf-8", "bad request");
        return;
    }
    c->head_len = (size_t)rc;
    if (m.body == H1_BODY_CHUNKED) {
        respond(c, 411, reason_of(411), "application/json",
                "{\"error\":\"send the body with Content-Length\"}");
        return;
    }
    if (m.body == H1_BODY_LENGTH && m.content_length > 0 &&
        h1_find(&m, "x-concord-peer") == NULL && !token_ok(c->a, &m)) {
        /* refused from its head: no body is buffered for a caller with no credential (a
         * peer's MAC covers the body, so that one is checked once the body is in) */
        respond(c, 401, "Unauthorized", "application/json",
                "{\"error\":\"missing or wrong bearer token\"}");
        return;
    }
    if (m.body == H1_BODY_LENGTH && m.content_length > 0) {
        size_t have = c->len - c->head_len;
        if (m.content_length > ADMIN_MAX_BODY) {
            respond(c, 413, reason_of(413), "application/json",
                    "{\"error\":\"request body over 64 MiB\"}");
            return;
        }
        c->body_want = (size_t)m.content_length;
        c->body = malloc(c->body_want + 1);
        if (c->body == NULL) {
            aconn_close(c);
            return;
        }
        if (have > c->body_want) {
            have = c->body_want; /* pipelined bytes: one request per connection, ignored */
        }
        memcpy(c->body, c->buf + c->head_len, have);
        c->body_len = have;
        c->body[c->body_want] = 0;
        if (c->body_len < c->body_want) {
            return;
        }
    }
    dispatch(c);
}

void admin_reply(struct admin_req *r, int status, const char *ctype, const void *body,
                 size_t len)
{
    struct aconn *c = (struct aconn *)r;
    c->pending = false;
    respond_n(c, status, reason_of(status), ctype, body, len);
    /* the handler's hold on the connection ends; a closed one is freed here */
    on_aconn_closed((uv_handle_t *)&c->timer);
}

static void on_timeout(uv_timer_t *t)
{
    aconn_close(t->data);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct admin *a = server->data;
    struct aconn *c;
    if (status < 0 || a->closing || (c = calloc(1, sizeof *c)) == NULL) {
        return;
    }
    c->a = a;
    a->handles++;
    c->handles = 2;
    uv_tcp_init(server->loop, &c->tcp);
    uv_timer_init(server->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        aconn_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_timeout, ADMIN_READ_MS, 0);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int admin_start(uv_loop_t *loop, const char *address, const char *token, const char *version,
                struct admin **out, struct err *e)
{
    char host[256], shown[80];
    struct sockaddr_storage ss;
    socklen_t len;
    const char *colon = strrchr(address, ':');
    long port;
    int fd, rc;
    struct admin *a;

    if (colon == NULL || (size_t)(colon - address) >= sizeof host) {
        return err_set(e, -EINVAL, "admin address \"%s\": expected host:port", address);
    }
    memcpy(host, address, (size_t)(colon - address));
    host[colon - address] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    port = strtol(colon + 1, NULL, 10);
    if (port < 0 || port > 65535) {
        return err_set(e, -EINVAL, "admin address \"%s\": bad port", address);
    }
    rc = net_resolve(host, (uint16_t)port, &ss, &len, e);
    if (rc != 0) {
        return err_wrap(e, "admin: ");
    }
    fd = net_listen(&ss, len, false, 128, e);
    if (fd < 0) {
        return err_wrap(e, "admin: ");
    }
    a = calloc(1, sizeof *a);
    if (a == NULL || (a->token = strdup(token)) == NULL ||
        (a->version = strdup(version)) == NULL) {
        close(fd);
        if (a != NULL) {
            free(a->token);
        }
        free(a);
        return err_set(e, -ENOMEM, "out of memory");
    }
    a->handles = 1;
    uv_tcp_init(loop, &a->listener);
    a->listener.data = a;
    rc = uv_tcp_open(&a->listener, fd);
    if (rc == 0) {
        rc = uv_listen((uv_stream_t *)&a->listener, 128, on_connection);
    }
    if (rc != 0) {
        err_set(e, rc, "admin listen: %s", uv_strerror(rc));
        admin_close(a);
        return rc;
    }
    if (ss.ss_family == AF_INET) {
        ((struct sockaddr_in *)&ss)->sin_port = htons(net_bound_port(fd));
    } else {
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons(net_bound_port(fd));
    }
    net_format_addr((struct sockaddr *)&ss, shown, sizeof shown);
    snprintf(a->bound, sizeof a->bound, "%s", shown);
    log_info("listener admin addr=%s", shown);
    *out = a;
    return 0;
}

void admin_set_handler(struct admin *a, admin_handler_fn fn, void *arg)
{
    a->handler = fn;
    a->handler_arg = arg;
}

void admin_set_peer(struct admin *a, admin_peer_fn fn, void *arg)
{
    a->peer_fn = fn;
    a->peer_arg = arg;
}

const char *admin_bound_address(const struct admin *a)
{
    return a->bound;
}

void admin_set_ready(struct admin *a, bool ready)
{
    a->ready = ready;
}

void admin_set_view(struct admin *a, admin_view_fn fn, void *arg)
{
    a->view_fn = fn;
    a->view_arg = arg;
}

static void on_listener_closed(uv_handle_t *h)
{
    admin_unref(h->data);
}

void admin_close(struct admin *a)
{
    a->closing = true;
    a->ready = false;
    uv_close((uv_handle_t *)&a->listener, on_listener_closed);
    /* Open admin connections finish their one reply (or time out) on their own. */
}

static int read_token(const char *path, char **out, struct err *e)
{
    char line[512];
    FILE *f = fopen(path, "r");
    size_t n;
    if (f == NULL) {
        return err_set(e, -errno, "admin token file %s: %s", path, strerror(errno));
    }
    if (fgets(line, sizeof line, f) == NULL) {
        line[0] = '\0';
    }
    fclose(f);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
                     line[n - 1] == '\t')) {
        line[--n] = '\0';
    }
    char *start = line;
    while (*start == ' ' || *start == '\t') {
        start++;
    }
    if (*start == '\0') {
        return err_set(e, -EINVAL, "admin token file %s: empty first line", path);
    }
    *out = strdup(start);
    return *out ? 0 : err_set(e, -ENOMEM, "out of memory");
}

static int mkdir_p(const char *dir, struct err *e)
{
    char tmp[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof tmp) {
        return err_set(e, -EINVAL, "data directory \"%s\": bad path", dir);
    }
    memcpy(tmp, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
                return err_set(e, -errno, "creating %s: %s", tmp, strerror(errno));
            }
            tmp[i] = c;
        }
    }
    return 0;
}

int admin_token_load(const char *path, const char *data_dir, char **out, char **used_path,
                     struct err *e)
{
    char gen[4096];
    unsigned char raw[32];
    char hex[65];
    int fd, rc;
    if (path != NULL) {
        *used_path = strdup(path);
        return read_token(path, out, e);
    }
    rc = mkdir_p(data_dir, e);
    if (rc != 0) {
        return rc;
    }
    snprintf(gen, sizeof gen, "%s/admin.token", data_dir);
    *used_path = strdup(gen);
    fd = open(gen, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
            close(fd);
            unlink(gen);
            return err_set(e, -EIO, "no randomness for the admin token");
        }
        for (size_t i = 0; i < sizeof raw; i++) {
            snprintf(hex + 2 * i, 3, "%02x", raw[i]);
        }
        hex[64] = '\n';
        if (write(fd, hex, 65) != 65 || fsync(fd) != 0) {
            rc = -errno;
            close(fd);
            unlink(gen);
            return err_set(e, rc, "writing %s: %s", gen, strerror(-rc));
        }
        close(fd);
    } else if (errno != EEXIST) {
        return err_set(e, -errno, "creating %s: %s", gen, strerror(errno));
    }
    return read_token(gen, out, e);
}
