/* fetch against a real libuv TCP server on 127.0.0.1:0 (or a unix socket in a temp dir) in
 * the same loop: framings (length, chunked, close-delimited), interim 1xx, the request bytes
 * fetch writes, every error it reports (refused, timeout, over max_body, not HTTP, truncated,
 * cancelled, bad arguments), streaming (on_data: pieces in order, idle timeout, cancel, chunk
 * limit), and that each test's loop closes cleanly (every handle closed, nothing left to
 * free). */
#include <check.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/http/fetch.h"

static uv_loop_t loop;

/* ---- the test server: accepts one connection, reads one whole request, then acts ---- */

enum srv_mode {
    SRV_REPLY,   /* write `reply`, then close */
    SRV_ECHO,    /* answer 200 with the request body as the response body, then close */
    SRV_SILENT,  /* never answer */
    SRV_TRICKLE, /* write `reply` one byte per write (the next from the last one's callback),
                    so the client mostly sees it a byte per read: heads and chunks split
                    everywhere. Nothing depends on the split actually happening. */
    SRV_PIECES,  /* write pieces[0]; each next piece only once the client's on_data has seen
                    all the body the previous ones carry (marks[]), and then from a timer: a
                    client that buffered the body would never get the rest. After the last
                    piece: close, or keep the connection open when `hold` is set. */
};

#define MAX_PIECES 8

union srv_handle {
    uv_handle_t h;
    uv_stream_t s;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
};

static struct {
    union srv_handle lis;
    union srv_handle conn;
    bool lis_open, conn_open;
    bool unix_sock;
    uint16_t port;
    enum srv_mode mode;
    const char *reply;
    size_t reply_len;
    char *req; /* the request bytes received */
    size_t req_len, req_cap;
    size_t sent; /* SRV_TRICKLE: bytes of reply written so far */
    bool answered;
    uv_write_t wr;
    uv_shutdown_t sh;
    char *out;
    void (*on_request)(void); /* hook run when the whole request is in */
    /* SRV_PIECES */
    const char *pieces[MAX_PIECES];
    size_t marks[MAX_PIECES]; /* body bytes the client has once it read pieces[0..i] */
    size_t npieces, next;
    bool hold;
    uint64_t pause_ms; /* between pieces; 0 = 10 */
    uv_timer_t pace;
    bool pace_open;
} S;

static char sock_dir[64];
static char sock_path[128];

static char addr[160];

/* What the fetch callback saw. */
static struct {
    int calls;
    int rc;
    int status;
    char ctype[128];
    bool has_ctype;
    char *body;
    size_t body_len;
    char x_extra[64];
    /* streaming */
    bool streaming;
    int heads;       /* on_data calls with the head (len 0) */
    int data_calls;  /* on_data calls with body bytes */
    int head_status; /* status seen by the first on_data call */
    char stream[256];
    size_t stream_len;
    bool cancel_in_data; /* cancel from on_data once the first body byte arrived */
} R;
static bool in_start;
static struct fetch *cur;

static void srv_stop(void)
{
    if (S.lis_open && !uv_is_closing((uv_handle_t *)&S.lis)) {
        uv_close((uv_handle_t *)&S.lis, NULL);
    }
    if (S.conn_open && !uv_is_closing((uv_handle_t *)&S.conn)) {
        uv_close((uv_handle_t *)&S.conn, NULL);
    }
    if (S.pace_open && !uv_is_closing((uv_handle_t *)&S.pace)) {
        uv_close((uv_handle_t *)&S.pace, NULL);
    }
}

static void srv_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    if (S.req_cap - S.req_len < 65536) {
        S.req_cap = S.req_cap * 2 + 65536;
        S.req = realloc(S.req, S.req_cap);
        ck_assert_ptr_nonnull(S.req);
    }
    /* one byte short of the end: request_complete() writes a NUL after the data */
    *b = uv_buf_init(S.req + S.req_len, (unsigned int)(S.req_cap - S.req_len - 1));
}

/* Length of the whole request in S.req once it is complete, else 0 (Content-Length only). */
static size_t request_complete(void)
{
    char *end, *cl;
    size_t head, body = 0;

    if (S.req_len == 0) {
        return 0;
    }
    S.req[S.req_len] = '\0'; /* srv_alloc always leaves spare room */
    end = strstr(S.req, "\r\n\r\n");
    if (end == NULL) {
        return 0;
    }
    head = (size_t)(end - S.req) + 4;
    cl = strcasestr(S.req, "\r\nContent-Length: ");
    if (cl != NULL && cl < end) {
        body = strtoul(cl + 18, NULL, 10);
    }
    return S.req_len >= head + body ? head + body : 0;
}

static void srv_closed_after_write(uv_shutdown_t *sh, int status)
{
    if (!uv_is_closing((uv_handle_t *)&S.conn)) {
        uv_close((uv_handle_t *)&S.conn, NULL);
    }
}

static void srv_written(uv_write_t *w, int status)
{
    if (status != 0 || uv_is_closing((uv_handle_t *)&S.conn)) {
        return;
    }
    if (S.mode == SRV_TRICKLE && S.sent < S.reply_len) {
        uv_buf_t b = uv_buf_init((char *)S.reply + S.sent++, 1);
        ck_assert_int_eq(uv_write(&S.wr, (uv_stream_t *)&S.conn, &b, 1, srv_written), 0);
        return;
    }
    if (S.mode == SRV_PIECES && (S.next < S.npieces || S.hold)) {
        return; /* the client's progress sends the next piece */
    }
    uv_shutdown(&S.sh, (uv_stream_t *)&S.conn, srv_closed_after_write);
}

/* SRV_PIECES: writes the next piece (the write callback closes after the last one). */
static void srv_send_next(void)
{
    uv_buf_t b;

    if (S.next >= S.npieces || uv_is_closing((uv_handle_t *)&S.conn)) {
        return;
    }
    b = uv_buf_init((char *)S.pieces[S.next], (unsigned int)strlen(S.pieces[S.next]));
    S.next++;
    ck_assert_int_eq(uv_write(&S.wr, (uv_stream_t *)&S.conn, &b, 1, srv_written), 0);
}

static void srv_pace(uv_timer_t *t)
{
    srv_send_next();
}

/* Called from on_data: once the client has all the body sent so far, the next piece follows
 * after a pause (so it arrives in a read of its own). */
static void srv_client_progress(void)
{
    if (S.mode == SRV_PIECES && S.next > 0 && S.next < S.npieces &&
        R.stream_len == S.marks[S.next - 1] && !uv_is_active((uv_handle_t *)&S.pace)) {
        ck_assert_int_eq(uv_timer_start(&S.pace, srv_pace, S.pause_ms > 0 ? S.pause_ms : 10, 0), 0);
    }
}

static void srv_answer(size_t total)
{
    uv_buf_t b;

    S.answered = true;
    if (S.on_request != NULL) {
        S.on_request();
    }
    if (S.mode == SRV_SILENT || uv_is_closing((uv_handle_t *)&S.conn)) {
        return;
    }
    if (S.mode == SRV_ECHO) {
        char *body = strstr(S.req, "\r\n\r\n") + 4;
        size_t n = total - (size_t)(body - S.req);
        S.out = malloc(n + 128);
        ck_assert_ptr_nonnull(S.out);
        int h = snprintf(S.out, 128,
                         "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         "Content-Length: %zu\r\n\r\n",
                         n);
        memcpy(S.out + h, body, n);
        b = uv_buf_init(S.out, (unsigned int)(h + (int)n));
    } else if (S.mode == SRV_TRICKLE) {
        b = uv_buf_init((char *)S.reply, 0); /* srv_written sends the bytes */
    } else if (S.mode == SRV_PIECES) {
        srv_send_next();
        return;
    } else {
        b = uv_buf_init((char *)S.reply, (unsigned int)S.reply_len);
    }
    ck_assert_int_eq(uv_write(&S.wr, (uv_stream_t *)&S.conn, &b, 1, srv_written), 0);
}

static void srv_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    size_t total;

    if (n < 0) {
        if (!uv_is_closing((uv_handle_t *)s)) {
            uv_close((uv_handle_t *)s, NULL);
        }
        return;
    }
    S.req_len += (size_t)n;
    if (!S.answered && (total = request_complete()) > 0) {
        srv_answer(total);
    }
}

static void srv_accept(uv_stream_t *lis, int status)
{
    ck_assert_int_eq(status, 0);
    ck_assert(!S.conn_open); /* one connection per test */
    if (S.unix_sock) {
        ck_assert_int_eq(uv_pipe_init(&loop, &S.conn.pipe, 0), 0);
    } else {
        ck_assert_int_eq(uv_tcp_init(&loop, &S.conn.tcp), 0);
    }
    S.conn_open = true;
    ck_assert_int_eq(uv_accept(lis, (uv_stream_t *)&S.conn), 0);
    ck_assert_int_eq(uv_read_start((uv_stream_t *)&S.conn, srv_alloc, srv_read), 0);
}

/* Binds 127.0.0.1:0 and fills `addr` with the real address; or, when S.unix_sock is set,
 * binds sock_path in a fresh temp dir and fills `addr` with "unix://<path>". */
static void srv_bind(void)
{
    struct sockaddr_in sa;
    struct sockaddr_storage got;
    int len = sizeof got;

    if (S.unix_sock) {
        snprintf(sock_dir, sizeof sock_dir, "/tmp/fetch-test-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(sock_dir));
        snprintf(sock_path, sizeof sock_path, "%s/d.sock", sock_dir);
        ck_assert_int_eq(uv_pipe_init(&loop, &S.lis.pipe, 0), 0);
        S.lis_open = true;
        ck_assert_int_eq(uv_pipe_bind(&S.lis.pipe, sock_path), 0);
        snprintf(addr, sizeof addr, "unix://%s", sock_path);
        return;
    }
    ck_assert_int_eq(uv_tcp_init(&loop, &S.lis.tcp), 0);
    S.lis_open = true;
    uv_ip4_addr("127.0.0.1", 0, &sa);
    ck_assert_int_eq(uv_tcp_bind(&S.lis.tcp, (const struct sockaddr *)&sa, 0), 0);
    ck_assert_int_eq(uv_tcp_getsockname(&S.lis.tcp, (struct sockaddr *)&got, &len), 0);
    S.port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    snprintf(addr, sizeof addr, "127.0.0.1:%u", S.port);
}

static void srv_start(enum srv_mode mode, const char *reply, size_t reply_len)
{
    S.mode = mode;
    S.reply = reply;
    S.reply_len = reply_len;
    if (mode == SRV_PIECES) {
        ck_assert_int_eq(uv_timer_init(&loop, &S.pace), 0);
        S.pace_open = true;
    }
    srv_bind();
    ck_assert_int_eq(uv_listen((uv_stream_t *)&S.lis, 8, srv_accept), 0);
}
#define SRV_REPLY_LIT(lit) srv_start(SRV_REPLY, (lit), sizeof(lit) - 1)

/* ---- the client side ---- */

static void on_done(void *arg, int rc, const struct fetch_resp *resp)
{
    ck_assert_msg(!in_start, "callback inside fetch_start");
    ck_assert_ptr_eq(arg, &R);
    R.calls++;
    R.rc = rc;
    if (rc == 0 && R.streaming) {
        ck_assert_ptr_nonnull(resp);
        ck_assert_ptr_null(resp->body);
        ck_assert_uint_eq(resp->body_len, 0);
        R.status = resp->status;
    } else if (rc == 0) {
        ck_assert_ptr_nonnull(resp);
        ck_assert_ptr_nonnull(resp->body);
        ck_assert_int_eq(resp->body[resp->body_len], '\0');
        R.status = resp->status;
        R.has_ctype = resp->content_type != NULL;
        if (R.has_ctype) {
            snprintf(R.ctype, sizeof R.ctype, "%s", resp->content_type);
        }
        R.body = malloc(resp->body_len + 1);
        ck_assert_ptr_nonnull(R.body);
        memcpy(R.body, resp->body, resp->body_len + 1);
        R.body_len = resp->body_len;
        const struct h1_header *x = h1_find(resp->msg, "x-extra");
        if (x != NULL) {
            snprintf(R.x_extra, sizeof R.x_extra, "%.*s", (int)x->value_len, x->value);
        }
    } else {
        ck_assert_ptr_null(resp);
    }
    srv_stop(); /* lets uv_run return once the fetch's handles are closed too */
}

static void on_data(void *arg, const struct fetch_resp *head, const uint8_t *data, size_t len)
{
    ck_assert_msg(!in_start, "on_data inside fetch_start");
    ck_assert_ptr_eq(arg, &R);
    ck_assert_int_eq(R.calls, 0); /* never after the final callback */
    ck_assert_ptr_nonnull(head);
    ck_assert_ptr_null(head->body);
    ck_assert_ptr_nonnull(head->msg);
    if (len == 0) {
        ck_assert_ptr_null(data);
        ck_assert_int_eq(R.heads, 0);
        ck_assert_int_eq(R.data_calls, 0);
        R.heads++;
        R.head_status = head->status;
    } else {
        ck_assert_int_eq(R.heads, 1); /* the head came first */
        ck_assert_uint_le(R.stream_len + len, sizeof R.stream - 1);
        memcpy(R.stream + R.stream_len, data, len);
        R.stream_len += len;
        R.stream[R.stream_len] = '\0';
        R.data_calls++;
        if (R.cancel_in_data) {
            fetch_cancel(cur);
            ck_assert_int_eq(R.calls, 1);
            ck_assert_int_eq(R.rc, -ECANCELED);
            return;
        }
    }
    srv_client_progress();
}

static int start(const struct fetch_req *req)
{
    in_start = true;
    int rc = fetch_start(&loop, req, on_done, &R, &cur);
    in_start = false;
    return rc;
}

/* Runs the loop until everything is closed; the loop must then close cleanly. */
static void run_to_end(void)
{
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(R.calls, 1);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}

static void fetch_get(const char *target, uint64_t timeout_ms, size_t max_body)
{
    struct fetch_req req = {.address = addr,
                            .method = "GET",
                            .target = target,
                            .timeout_ms = timeout_ms,
                            .max_body = max_body};
    ck_assert_int_eq(start(&req), 0);
    ck_assert_int_eq(R.calls, 0);
    run_to_end();
}

static void setup(void)
{
    memset(&S, 0, sizeof S);
    memset(&R, 0, sizeof R);
    ck_assert_int_eq(uv_loop_init(&loop), 0);
}

static void teardown(void)
{
    if (sock_dir[0] != '\0') {
        unlink(sock_path); /* libuv removes it when the listener closes; this is a fallback */
        ck_assert_int_eq(rmdir(sock_dir), 0);
        sock_dir[0] = '\0';
    }
    free(S.req);
    free(S.out);
    free(R.body);
}

/* ---- tests ---- */

START_TEST(test_get_content_length)
{
    SRV_REPLY_LIT("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Extra: yes\r\n"
                  "Content-Length: 11\r\n\r\n{\"ok\":true}");
    /* the request strings are the caller's to free once fetch_start returns */
    char *target = strdup("/api/cluster/status?stale=true");
    char *hdr = strdup("Authorization: Bearer t0k");
    const char *headers[] = {hdr, "Accept: application/json", NULL};
    struct fetch_req req = {.address = addr, .method = "GET", .target = target, .headers = headers};
    ck_assert_int_eq(start(&req), 0);
    memset(target, 'x', strlen(target));
    memset(hdr, 'x', strlen(hdr));
    free(target);
    free(hdr);
    run_to_end();

    ck_assert_int_eq(R.rc, 0);
    ck_assert_int_eq(R.status, 200);
    ck_assert(R.has_ctype);
    ck_assert_str_eq(R.ctype, "application/json");
    ck_assert_str_eq(R.x_extra, "yes");
    ck_assert_uint_eq(R.body_len, 11);
    ck_assert_str_eq(R.body, "{\"ok\":true}");

    char want[512];
    snprintf(want, sizeof want,
             "GET /api/cluster/status?stale=true HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
             "Authorization: Bearer t0k\r\nAccept: application/json\r\n\r\n",
             addr);
    ck_assert_uint_eq(S.req_len, strlen(want));
    ck_assert_mem_eq(S.req, want, S.req_len);
}
END_TEST

START_TEST(test_post_body_echoed)
{
    srv_start(SRV_ECHO, NULL, 0);
    /* large enough to take several reads and writes on each side */
    size_t n = 300000;
    char *body = malloc(n);
    ck_assert_ptr_nonnull(body);
    for (size_t i = 0; i < n; i++) {
        body[i] = (char)('a' + i % 26);
    }
    struct fetch_req req = {
        .address = addr, .method = "POST", .target = "/api/config", .body = body, .body_len = n};
    ck_assert_int_eq(start(&req), 0);
    free(body);
    run_to_end();

    ck_assert_int_eq(R.rc, 0);
    ck_assert_int_eq(R.status, 200);
    ck_assert_str_eq(R.ctype, "application/octet-stream");
    ck_assert_uint_eq(R.body_len, n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(R.body[i], (char)('a' + i % 26));
    }
    ck_assert_ptr_nonnull(strstr(S.req, "\r\nContent-Length: 300000\r\n"));
    ck_assert(strncmp(S.req, "POST /api/config HTTP/1.1\r\n", 27) == 0);
}
END_TEST

START_TEST(test_put_without_body_sends_length_zero)
{
    SRV_REPLY_LIT("HTTP/1.1 204 No Content\r\n\r\n");
    struct fetch_req req = {.address = addr, .method = "PUT", .target = "/x"};
    ck_assert_int_eq(start(&req), 0);
    run_to_end();
    ck_assert_int_eq(R.rc, 0);
    ck_assert_int_eq(R.status, 204);
    ck_assert_uint_eq(R.body_len, 0);
    ck_assert(!R.has_ctype);
    ck_assert_ptr_nonnull(strstr(S.req, "\r\nContent-Length: 0\r\n"));
}
END_TEST

START_TEST(test_chunked)
{
    SRV_REPLY_LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n1;ext=1\r\n,\r\n6\r\n world\r\n0\r\nTrailer-X: 1\r\n\r\n");
    fetch_get("/c", 0, 0);
    ck_assert_int_eq(R.rc, 0);
    ck_assert_int_eq(R.status, 200);
    ck_assert_str_eq(R.body, "hello, world");
}
END_TEST

START_TEST(test_close_delimited)
{
    SRV_REPLY_LIT("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
    fetch_get("/e", 0, 0);
    ck_assert_int_eq(R.rc, 0);
    ck_assert_str_eq(R.ctype, "text/plain");
    ck_assert_str_eq(R.body, "until the end");
}
END_TEST

START_TEST(test_interim_1xx_skipped)
{
    SRV_REPLY_LIT("HTTP/1.1 100 Continue\r\n\r\n"
                  "HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n"
                  "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
    fetch_get("/i", 0, 0);
    ck_assert_int_eq(R.rc, 0);
    ck_assert_int_eq(R.status, 201);
    ck_assert_str_eq(R.body, "ok");
}
END_TEST

START_TEST(test_localhost_and_head)
{
    /* HEAD: Content-Length describes the GET body; none follows */
    SRV_REPLY_LIT("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
    snprintf(addr, sizeof addr, "localhost:%u", S.port);
    struct fetch_req req = {.address = addr, .method = "HEAD", .target = "/"};
    ck_assert_int_eq(start(&req), 0);
    run_to_end();
    ck_assert_int_eq(R.rc, 0);
    ck_assert_uint_eq(R.body_len, 0);
    ck_assert_ptr_nonnull(strstr(S.req, "\r\nHost: localhost:"));
}
END_TEST

START_TEST(test_connection_refused)
{
    srv_bind(); /* a port nobody listens on any more */
    uv_close((uv_handle_t *)&S.lis, NULL);
    S.lis_open = false;
    uv_run(&loop, UV_RUN_DEFAULT);
    fetch_get("/", 0, 0);
    ck_assert_int_eq(R.rc, -ECONNREFUSED);
}
END_TEST

START_TEST(test_timeout)
{
    srv_start(SRV_SILENT, NULL, 0);
    fetch_get("/slow", 100, 0);
    ck_assert_int_eq(R.rc, -ETIMEDOUT);
}
END_TEST

START_TEST(test_over_max_body_length)
{
    SRV_REPLY_LIT("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n0123456789a");
    fetch_get("/", 0, 10);
    ck_assert_int_eq(R.rc, -EMSGSIZE);
}
END_TEST

START_TEST(test_at_max_body_length)
{
    SRV_REPLY_LIT("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789");
    fetch_get("/", 0, 10);
    ck_assert_int_eq(R.rc, 0);
    ck_assert_str_eq(R.body, "0123456789");
}
END_TEST

START_TEST(test_over_max_body_chunked)
{
    SRV_REPLY_LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "6\r\n012345\r\n5\r\n6789a\r\n0\r\n\r\n");
    fetch_get("/", 0, 10);
    ck_assert_int_eq(R.rc, -EMSGSIZE);
}
END_TEST

START_TEST(test_over_max_body_close_delimited)
{
    SRV_REPLY_LIT("HTTP/1.1 200 OK\r\n\r\n0123456789a");
    fetch_get("/", 0, 10);
    ck_assert_int_eq(R.rc, -EMSGSIZE);
}
END_TEST

START_TEST(test_garbage_is_eproto)
{
    SRV_REPLY_LIT("SSH-2.0-OpenSSH_9.2\r\n\r\n");
    fetch_get("/", 0, 0);
    ck_assert_int_eq(R.rc, -EPROTO);
}
END_TEST

START_TEST(test_bad_framing_is_eproto)
{
    /* Content-Length and Transfer-Encoding together (H1) */
    SRV_REPLY_LIT("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "0\r\n\r\n");
    fetch_get("/", 0, 0);
    ck_assert_int_eq(R.rc, -EPROTO);
}
END_TEST

START_TEST(test_bad_chunk_is_eproto)
{
    SRV_REPLY_LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    fetch_get("/", 0, 0);
    ck_assert_int_eq(R.rc, -EPROTO);
}
END_TEST

START_TEST(test_truncated_body_is_eproto)
{
    SRV_REPLY_LIT("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
    fetch_get("/", 0, 0);
    ck_assert_int_eq(R.rc, -EPROTO);
}
END_TEST

START_TEST(test_closed_without_answer_is_eproto)
{
    SRV_REPLY_LIT("");
    fetch_get("/", 0, 0);
    ck_assert_int_eq(R.rc, -EPROTO);
}
END_TEST

START_TEST(test_switching_protocols_is_eproto)
{
    SRV_REPLY_LIT("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n");
    fetch_get("/", 0, 0);
    ck_assert_int_eq(R.rc, -EPROTO);
}
END_TEST

START_TEST(test_trickled_response)
{
    srv_start(SRV_TRICKLE, NULL, 0);
    S.reply = "HTTP/1.1 100 Continue\r\n\r\n"
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
              "5\r\nhello\r\n7;a=b\r\n, world\r\n0\r\n\r\n";
    S.reply_len = strlen(S.reply);
    fetch_get("/t", 0, 0);
    ck_assert_int_eq(R.rc, 0);
    ck_assert_int_eq(R.status, 200);
    ck_assert_str_eq(R.ctype, "text/plain");
    ck_assert_str_eq(R.body, "hello, world");
}
END_TEST

START_TEST(test_trickled_length_body)
{
    srv_start(SRV_TRICKLE, NULL, 0);
    S.reply = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello, world";
    S.reply_len = strlen(S.reply);
    fetch_get("/t", 0, 0);
    ck_assert_int_eq(R.rc, 0);
    ck_assert_str_eq(R.body, "hello, world");
}
END_TEST

START_TEST(test_huge_head_is_eproto)
{
    /* the parser refuses a head past 64 KiB; fetch must not buffer without bound */
    static char reply[100000];
    size_t n = (size_t)snprintf(reply, sizeof reply, "HTTP/1.1 200 OK\r\n");
    while (n + 4100 < sizeof reply) { /* each line is 4009 bytes */
        n += (size_t)snprintf(reply + n, sizeof reply - n, "X-Pad: %04000d\r\n", 0);
    }
    srv_start(SRV_REPLY, reply, n);
    fetch_get("/", 0, 0);
    ck_assert_int_eq(R.rc, -EPROTO);
}
END_TEST

static void cancel_now(void)
{
    fetch_cancel(cur);
    /* the callback has run inside fetch_cancel */
    ck_assert_int_eq(R.calls, 1);
    ck_assert_int_eq(R.rc, -ECANCELED);
}

/* The machine's own name into host; true when it is a valid host name that resolves (from
 * /etc/hosts on Debian) to 127.0.0.1, so a fetch by that name stays on loopback. */
static bool own_name_on_loopback(char *host, size_t size)
{
    struct addrinfo hints, *res = NULL;
    bool loopback = false;
    host[size - 1] = '\0';
    ck_assert_int_eq(gethostname(host, size - 1), 0);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    if (getaddrinfo(host, NULL, &hints, &res) == 0) {
        loopback = ((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr == htonl(0x7f000001);
        freeaddrinfo(res);
    }
    return loopback && strchr(host, '_') == NULL;
}

/* A host name goes through the resolver (libuv's thread pool). The machine's own name is in
 * /etc/hosts on Debian; where it maps to a loopback address, fetch by name reaches the server
 * on 127.0.0.1 (elsewhere it checks nothing: tests send traffic to loopback only). */
START_TEST(test_host_name_resolved)
{
    char host[100];
    SRV_REPLY_LIT("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    if (own_name_on_loopback(host, sizeof host)) {
        snprintf(addr, sizeof addr, "%s:%u", host, S.port);
        fetch_get("/n", 0, 0);
        ck_assert_int_eq(R.rc, 0);
        ck_assert_str_eq(R.body, "ok");
    }
}
END_TEST

/* Two fetches of one name share its lookup; the first is cancelled while it waits, the second
 * still gets its answer (and the loop closes clean: nothing of the first is left behind). */
static struct {
    int calls[2], rc[2], status[2];
} two;

static void on_two(void *arg, int rc, const struct fetch_resp *r)
{
    int i = arg != NULL;
    two.calls[i]++;
    two.rc[i] = rc;
    two.status[i] = r != NULL ? r->status : 0;
    if (i == 1) {
        srv_stop(); /* lets uv_run return */
    }
}

START_TEST(test_host_name_lookup_shared)
{
    char host[100];
    struct fetch *a = NULL, *b = NULL;
    if (!own_name_on_loopback(host, sizeof host)) {
        return; /* traffic stays on loopback */
    }
    SRV_REPLY_LIT("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    snprintf(addr, sizeof addr, "%s:%u", host, S.port);
    struct fetch_req req = {.address = addr, .method = "GET", .target = "/two"};
    ck_assert_int_eq(fetch_start(&loop, &req, on_two, NULL, &a), 0);
    ck_assert_int_eq(fetch_start(&loop, &req, on_two, &two, &b), 0);
    fetch_cancel(a);
    ck_assert_int_eq(two.calls[0], 1);
    ck_assert_int_eq(two.rc[0], -ECANCELED);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(two.calls[0], 1);
    ck_assert_int_eq(two.calls[1], 1);
    ck_assert_int_eq(two.rc[1], 0);
    ck_assert_int_eq(two.status[1], 200);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

START_TEST(test_host_name_cancelled_while_resolving)
{
    /* cancel right after the start: the resolution may still be running on the pool. The
     * machine's own name (answered from /etc/hosts, never a slow DNS server) */
    char host[100];
    host[sizeof host - 1] = '\0';
    ck_assert_int_eq(gethostname(host, sizeof host - 1), 0);
    snprintf(addr, sizeof addr, "%s:80", host);
    struct fetch_req req = {.address = addr, .method = "GET", .target = "/"};
    if (strchr(host, '_') != NULL) {
        ck_assert_int_eq(start(&req), -EINVAL); /* not a valid host name */
        return;
    }
    ck_assert_int_eq(start(&req), 0);
    ck_assert_int_eq(R.calls, 0);
    cancel_now();
    ck_assert_int_eq(R.rc, -ECANCELED);
    run_to_end();
}
END_TEST

START_TEST(test_cancel_while_waiting_for_response)
{
    srv_start(SRV_SILENT, NULL, 0);
    S.on_request = cancel_now;
    fetch_get("/", 0, 0);
    ck_assert(S.answered);
    ck_assert_int_eq(R.rc, -ECANCELED);
}
END_TEST

START_TEST(test_cancel_before_connect)
{
    srv_start(SRV_SILENT, NULL, 0);
    struct fetch_req req = {.address = addr, .method = "GET", .target = "/"};
    ck_assert_int_eq(start(&req), 0);
    ck_assert_int_eq(R.calls, 0);
    cancel_now();
    run_to_end();
}
END_TEST

START_TEST(test_bad_arguments)
{
    static const char *const bad_addr[] = {
        "bad_name!:80",    "-a.test:80",      "a..b:80",    "a-.test:80",
        "127.0.0.1",       "127.0.0.1:",      "127.0.0.1:0",
        "127.0.0.1:65536", "127.0.0.1:80x",   "::1:80",     "[::1]80",
        "[]:80",           "1.2.3:80",        ":80",        "[nothost]:80",
        "unix://",         "unix://rel.sock", "unix:rel",
    };
    for (size_t i = 0; i < sizeof bad_addr / sizeof bad_addr[0]; i++) {
        struct fetch_req req = {.address = bad_addr[i], .method = "GET", .target = "/"};
        ck_assert_msg(start(&req) == -EINVAL, "%s", bad_addr[i]);
    }
    static const char *const bad_hdr[][2] = {
        {"X-A: b\r\nX-B: c", NULL},  {"Host: other", NULL},
        {"content-length: 5", NULL}, {"NoColon", NULL},
        {"Bad Name: v", NULL},       {"Connection: keep-alive", NULL},
        {"X: a\nb", NULL},           {"Transfer-Encoding: x", NULL},
    };
    for (size_t i = 0; i < sizeof bad_hdr / sizeof bad_hdr[0]; i++) {
        struct fetch_req req = {
            .address = "127.0.0.1:9", .method = "GET", .target = "/", .headers = bad_hdr[i]};
        ck_assert_msg(start(&req) == -EINVAL, "%s", bad_hdr[i][0]);
    }
    struct fetch_req r1 = {.address = "127.0.0.1:9", .method = "G T", .target = "/"};
    ck_assert_int_eq(start(&r1), -EINVAL);
    struct fetch_req r2 = {.address = "127.0.0.1:9", .method = "GET", .target = "/a b"};
    ck_assert_int_eq(start(&r2), -EINVAL);
    struct fetch_req r3 = {.address = "127.0.0.1:9", .method = "GET", .target = "http://x/"};
    ck_assert_int_eq(start(&r3), -EINVAL);
    char long_path[200]; /* longer than sun_path: refused, never cut */
    memset(long_path, 'a', sizeof long_path - 1);
    long_path[0] = '/';
    long_path[sizeof long_path - 1] = '\0';
    struct fetch_req r4 = {.address = long_path, .method = "GET", .target = "/"};
    ck_assert_int_eq(start(&r4), -EINVAL);
    ck_assert_ptr_null(cur);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(R.calls, 0);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

START_TEST(test_ipv6_loopback)
{
    /* [::1] may be unavailable in a container; then there is nothing to test */
    struct sockaddr_in6 sa;
    struct sockaddr_storage got;
    int len = sizeof got;
    ck_assert_int_eq(uv_tcp_init(&loop, &S.lis.tcp), 0);
    S.lis_open = true;
    uv_ip6_addr("::1", 0, &sa);
    if (uv_tcp_bind(&S.lis.tcp, (const struct sockaddr *)&sa, 0) != 0 ||
        uv_listen((uv_stream_t *)&S.lis, 8, srv_accept) != 0) {
        srv_stop();
        uv_run(&loop, UV_RUN_DEFAULT);
        ck_assert_int_eq(uv_loop_close(&loop), 0);
        return;
    }
    ck_assert_int_eq(uv_tcp_getsockname(&S.lis.tcp, (struct sockaddr *)&got, &len), 0);
    snprintf(addr, sizeof addr, "[::1]:%u", ntohs(((struct sockaddr_in6 *)&got)->sin6_port));
    S.mode = SRV_REPLY;
    S.reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nv6";
    S.reply_len = strlen(S.reply);
    fetch_get("/", 0, 0);
    ck_assert_int_eq(R.rc, 0);
    ck_assert_str_eq(R.body, "v6");
}
END_TEST

/* ---- unix sockets ---- */

START_TEST(test_unix_socket_get)
{
    S.unix_sock = true;
    SRV_REPLY_LIT("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                  "Content-Length: 15\r\n\r\n{\"Version\":\"1\"}");
    struct fetch_req req = {.address = addr, .method = "GET", .target = "/v1.43/version"};
    ck_assert_int_eq(start(&req), 0);
    run_to_end();
    ck_assert_int_eq(R.rc, 0);
    ck_assert_int_eq(R.status, 200);
    ck_assert_str_eq(R.body, "{\"Version\":\"1\"}");
    const char *want =
        "GET /v1.43/version HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    ck_assert_uint_eq(S.req_len, strlen(want));
    ck_assert_mem_eq(S.req, want, S.req_len);
}
END_TEST

START_TEST(test_unix_socket_plain_path_post)
{
    S.unix_sock = true;
    srv_start(SRV_ECHO, NULL, 0);
    snprintf(addr, sizeof addr, "%s", sock_path); /* no scheme: an absolute path */
    struct fetch_req req = {
        .address = addr, .method = "POST", .target = "/x", .body = "ping", .body_len = 4};
    ck_assert_int_eq(start(&req), 0);
    run_to_end();
    ck_assert_int_eq(R.rc, 0);
    ck_assert_str_eq(R.body, "ping");
    ck_assert_ptr_nonnull(strstr(S.req, "\r\nHost: localhost\r\n"));
}
END_TEST

START_TEST(test_unix_socket_cancel_before_connect)
{
    S.unix_sock = true;
    srv_start(SRV_SILENT, NULL, 0);
    struct fetch_req req = {.address = addr, .method = "GET", .target = "/"};
    ck_assert_int_eq(start(&req), 0);
    cancel_now();
    run_to_end();
}
END_TEST

START_TEST(test_unix_socket_missing)
{
    /* the error comes through the callback, like ECONNREFUSED over TCP */
    struct fetch_req req = {
        .address = "unix:///nonexistent-dir-fetch/d.sock", .method = "GET", .target = "/"};
    ck_assert_int_eq(start(&req), 0);
    ck_assert_int_eq(R.calls, 0);
    run_to_end();
    ck_assert_int_eq(R.rc, -ENOENT);
}
END_TEST

/* ---- streaming ---- */

/* Starts a SRV_PIECES server with pieces p[i] (NULL-terminated) and marks m[i]. */
static void srv_pieces(const char *const *p, const size_t *m, bool hold)
{
    for (S.npieces = 0; p[S.npieces] != NULL; S.npieces++) {
        ck_assert_uint_lt(S.npieces, MAX_PIECES);
        S.pieces[S.npieces] = p[S.npieces];
        S.marks[S.npieces] = m[S.npieces];
    }
    S.hold = hold;
    srv_start(SRV_PIECES, NULL, 0);
}

static void stream_get(uint64_t timeout_ms, uint64_t idle_ms, size_t max_chunk)
{
    struct fetch_req req = {.address = addr,
                            .method = "GET",
                            .target = "/events",
                            .timeout_ms = timeout_ms,
                            .on_data = on_data,
                            .max_chunk = max_chunk,
                            .idle_timeout_ms = idle_ms,
                            .max_body = 1}; /* does not apply when streaming */
    R.streaming = true;
    ck_assert_int_eq(start(&req), 0);
    ck_assert_int_eq(R.calls, 0);
    run_to_end();
}

START_TEST(test_stream_chunked_pieces)
{
    static const char *const p[] = {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n",
                                    "8\r\n{\"a\":1}\n\r\n",
                                    "9\r\n{\"b\":22}\n\r\n",
                                    "5\r\n{\"c\":\r\n", /* a JSON line split across chunks */
                                    "4\r\n33}\n\r\n0\r\n\r\n",
                                    NULL};
    static const size_t m[] = {0, 8, 17, 22, 26};
    srv_pieces(p, m, true); /* held open: the last chunk alone ends the stream */
    stream_get(0, 0, 0);
    ck_assert_int_eq(R.rc, 0);
    ck_assert_int_eq(R.status, 200);
    ck_assert_int_eq(R.heads, 1);
    ck_assert_int_eq(R.head_status, 200);
    ck_assert_uint_eq(S.next, 5); /* each piece was sent only after the last one arrived */
    ck_assert_int_ge(R.data_calls, 4);
    ck_assert_str_eq(R.stream, "{\"a\":1}\n{\"b\":22}\n{\"c\":33}\n");
}
END_TEST

START_TEST(test_stream_content_length)
{
    static const char *const p[] = {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "01234",
                                    "56789", NULL};
    static const size_t m[] = {0, 5, 10};
    srv_pieces(p, m, true);
    stream_get(0, 0, 0);
    ck_assert_int_eq(R.rc, 0);
    ck_assert_int_eq(R.heads, 1);
    ck_assert_int_ge(R.data_calls, 2);
    ck_assert_str_eq(R.stream, "0123456789");
}
END_TEST

START_TEST(test_stream_close_delimited)
{
    static const char *const p[] = {"HTTP/1.1 200 OK\r\n\r\n", "first,", "second", NULL};
    static const size_t m[] = {0, 6, 12};
    srv_pieces(p, m, false); /* the close ends the body */
    stream_get(0, 0, 0);
    ck_assert_int_eq(R.rc, 0);
    ck_assert_str_eq(R.stream, "first,second");
}
END_TEST

START_TEST(test_stream_no_body)
{
    SRV_REPLY_LIT("HTTP/1.1 204 No Content\r\n\r\n");
    stream_get(0, 0, 0);
    ck_assert_int_eq(R.rc, 0);
    ck_assert_int_eq(R.status, 204);
    ck_assert_int_eq(R.heads, 1);
    ck_assert_int_eq(R.data_calls, 0);
}
END_TEST

START_TEST(test_stream_idle_timeout)
{
    static const char *const p[] = {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                                    "3\r\nabc\r\n", NULL};
    static const size_t m[] = {0, 3};
    srv_pieces(p, m, true); /* then silence */
    stream_get(0, 100, 0);
    ck_assert_int_eq(R.rc, -ETIMEDOUT);
    ck_assert_int_eq(R.heads, 1);
    ck_assert_str_eq(R.stream, "abc");
}
END_TEST

START_TEST(test_stream_timeout_before_head)
{
    srv_start(SRV_SILENT, NULL, 0);
    stream_get(100, 0, 0);
    ck_assert_int_eq(R.rc, -ETIMEDOUT);
    ck_assert_int_eq(R.heads, 0);
}
END_TEST

START_TEST(test_stream_timeout_covers_head_only)
{
    /* the body comes later than timeout_ms after the start: only the head is bounded by it */
    static const char *const p[] = {"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n", "late", NULL};
    static const size_t m[] = {0, 4};
    srv_pieces(p, m, true);
    S.pause_ms = 600;
    stream_get(500, 0, 0);
    ck_assert_int_eq(R.rc, 0);
    ck_assert_str_eq(R.stream, "late");
}
END_TEST

START_TEST(test_stream_cancel_in_on_data)
{
    static const char *const p[] = {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                                    "3\r\nabc\r\n3\r\ndef\r\n", "3\r\nghi\r\n", NULL};
    static const size_t m[] = {0, 6, 9};
    srv_pieces(p, m, true);
    R.cancel_in_data = true;
    stream_get(0, 0, 0);
    ck_assert_int_eq(R.rc, -ECANCELED);
    ck_assert_int_eq(R.data_calls, 1); /* nothing after the cancel, not even "def" */
    ck_assert_str_eq(R.stream, "abc");
}
END_TEST

static void cancel_from_timer(uv_timer_t *t)
{
    fetch_cancel(cur);
    ck_assert_int_eq(R.calls, 1);
    ck_assert_int_eq(R.rc, -ECANCELED);
    uv_close((uv_handle_t *)t, NULL);
}

START_TEST(test_stream_cancel_between_reads)
{
    static const char *const p[] = {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                                    "3\r\nabc\r\n", NULL};
    static const size_t m[] = {0, 3};
    static uv_timer_t t;
    srv_pieces(p, m, true); /* then silence: only the cancel ends it */
    S.on_request = NULL;
    R.streaming = true;
    struct fetch_req req = {.address = addr, .method = "GET", .target = "/", .on_data = on_data};
    ck_assert_int_eq(start(&req), 0);
    /* run until the stream is idle with "abc" delivered, then cancel from outside on_data */
    while (R.stream_len < 3) {
        ck_assert_int_ne(uv_run(&loop, UV_RUN_ONCE), 0);
    }
    ck_assert_int_eq(uv_timer_init(&loop, &t), 0);
    ck_assert_int_eq(uv_timer_start(&t, cancel_from_timer, 10, 0), 0);
    run_to_end();
    ck_assert_int_eq(R.rc, -ECANCELED);
    ck_assert_str_eq(R.stream, "abc");
}
END_TEST

START_TEST(test_stream_chunk_over_limit_announced)
{
    /* the size line alone is enough to refuse: no data of the chunk needs to arrive */
    static const char *const p[] = {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                                    "10\r\n0123456789abcdef\r\n", "11\r\n", NULL};
    static const size_t m[] = {0, 16, 16};
    srv_pieces(p, m, true);
    stream_get(0, 0, 16);
    ck_assert_int_eq(R.rc, -EMSGSIZE);
    ck_assert_str_eq(R.stream, "0123456789abcdef"); /* a chunk at the limit passes */
}
END_TEST

START_TEST(test_stream_chunk_over_limit_with_data)
{
    /* head, size line and data in one read */
    SRV_REPLY_LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "11\r\n0123456789abcdefg\r\n0\r\n\r\n");
    stream_get(0, 0, 16);
    ck_assert_int_eq(R.rc, -EMSGSIZE);
    ck_assert_int_eq(R.data_calls, 0);
}
END_TEST

START_TEST(test_stream_trickled)
{
    /* every byte in a read of its own: the head, sizes and data split everywhere */
    srv_start(SRV_TRICKLE, NULL, 0);
    S.reply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
              "5\r\nhello\r\n7;a=b\r\n, world\r\n0\r\n\r\n";
    S.reply_len = strlen(S.reply);
    stream_get(0, 0, 7);
    ck_assert_int_eq(R.rc, 0);
    ck_assert_str_eq(R.stream, "hello, world");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fetch");
    TCase *tc = tcase_create("fetch");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_get_content_length);
    tcase_add_test(tc, test_post_body_echoed);
    tcase_add_test(tc, test_put_without_body_sends_length_zero);
    tcase_add_test(tc, test_chunked);
    tcase_add_test(tc, test_close_delimited);
    tcase_add_test(tc, test_interim_1xx_skipped);
    tcase_add_test(tc, test_localhost_and_head);
    tcase_add_test(tc, test_trickled_response);
    tcase_add_test(tc, test_trickled_length_body);
    tcase_add_test(tc, test_huge_head_is_eproto);
    tcase_add_test(tc, test_connection_refused);
    tcase_add_test(tc, test_timeout);
    tcase_add_test(tc, test_over_max_body_length);
    tcase_add_test(tc, test_at_max_body_length);
    tcase_add_test(tc, test_over_max_body_chunked);
    tcase_add_test(tc, test_over_max_body_close_delimited);
    tcase_add_test(tc, test_garbage_is_eproto);
    tcase_add_test(tc, test_bad_framing_is_eproto);
    tcase_add_test(tc, test_bad_chunk_is_eproto);
    tcase_add_test(tc, test_truncated_body_is_eproto);
    tcase_add_test(tc, test_closed_without_answer_is_eproto);
    tcase_add_test(tc, test_switching_protocols_is_eproto);
    tcase_add_test(tc, test_cancel_while_waiting_for_response);
    tcase_add_test(tc, test_cancel_before_connect);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_ipv6_loopback);
    tcase_add_test(tc, test_unix_socket_get);
    tcase_add_test(tc, test_unix_socket_plain_path_post);
    tcase_add_test(tc, test_unix_socket_missing);
    tcase_add_test(tc, test_unix_socket_cancel_before_connect);
    tcase_add_test(tc, test_stream_chunked_pieces);
    tcase_add_test(tc, test_stream_content_length);
    tcase_add_test(tc, test_stream_close_delimited);
    tcase_add_test(tc, test_stream_no_body);
    tcase_add_test(tc, test_stream_idle_timeout);
    tcase_add_test(tc, test_stream_timeout_before_head);
    tcase_add_test(tc, test_stream_timeout_covers_head_only);
    tcase_add_test(tc, test_stream_cancel_in_on_data);
    tcase_add_test(tc, test_stream_cancel_between_reads);
    tcase_add_test(tc, test_stream_chunk_over_limit_announced);
    tcase_add_test(tc, test_stream_chunk_over_limit_with_data);
    tcase_add_test(tc, test_stream_trickled);
    tcase_add_test(tc, test_host_name_resolved);
    tcase_add_test(tc, test_host_name_cancelled_while_resolving);
    tcase_add_test(tc, test_host_name_lookup_shared);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as proxyd does: a peer closing first is an error, not a kill */
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
