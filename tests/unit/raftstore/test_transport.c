/* raftstore/transport.c over libraft's real TCP transport on loopback: a peer with the
 * cluster secret gets through and its bytes after the handshake reach libraft intact; a peer
 * with another secret is disconnected on both sides and never reaches libraft. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "raftstore/transport.h"

static uv_loop_t loop;
static struct raft_uv_transport inner_s, inner_c;
static struct auth_transport srv, cli;
static char srv_addr[64], cli_addr[64];
static int accepted, connected_ok, connected_fail, closed;
static uv_stream_t *server_stream;
static char got[64];
static size_t got_len;

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void on_closed_stream(uv_handle_t *h)
{
    free(h);
}

static void alloc_cb(uv_handle_t *h, size_t s, uv_buf_t *b)
{
    static char buf[64];
    (void)h;
    (void)s;
    *b = uv_buf_init(buf, sizeof buf);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    if (n > 0 && got_len + (size_t)n <= sizeof got) {
        memcpy(got + got_len, b->base, (size_t)n);
        got_len += (size_t)n;
    }
    if (n < 0 || got_len >= 10) {
        uv_read_stop(s);
        uv_close((uv_handle_t *)s, on_closed_stream);
    }
}

static void on_accept(struct raft_uv_transport *t, raft_id id, const char *address,
                      uv_stream_t *stream)
{
    (void)t;
    ck_assert_uint_eq(id, 2);
    ck_assert_str_eq(address, cli_addr);
    accepted++;
    server_stream = stream;
    uv_read_start(stream, alloc_cb, read_cb); /* as libraft would: its bytes come next */
}

static void on_written(uv_write_t *req, int status)
{
    uv_stream_t *s = req->data;
    (void)status;
    free(req);
    uv_close((uv_handle_t *)s, on_closed_stream);
}

static void on_connect(struct raft_uv_connect *req, uv_stream_t *stream, int status)
{
    (void)req;
    if (status != 0) {
        ck_assert_ptr_null(stream);
        connected_fail++;
        return;
    }
    connected_ok++;
    /* libraft's first message bytes, right after the handshake */
    uv_write_t *w = malloc(sizeof *w);
    uv_buf_t b = uv_buf_init("hello raft", 10);
    w->data = stream;
    uv_write(w, stream, &b, 1, on_written);
}

static void on_closed(struct raft_uv_transport *t)
{
    (void)t;
    closed++;
}

static void start_pair(const char *server_secret, const char *client_secret)
{
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    snprintf(srv_addr, sizeof srv_addr, "127.0.0.1:%d", free_port());
    snprintf(cli_addr, sizeof cli_addr, "127.0.0.1:%d", free_port());
    ck_assert_int_eq(raft_uv_tcp_init(&inner_s, &loop), 0);
    ck_assert_int_eq(raft_uv_tcp_init(&inner_c, &loop), 0);
    ck_assert_int_eq(auth_transport_init(&srv, &loop, &inner_s, server_secret,
                                         strlen(server_secret)),
                     0);
    ck_assert_int_eq(auth_transport_init(&cli, &loop, &inner_c, client_secret,
                                         strlen(client_secret)),
                     0);
    ck_assert_int_eq(srv.t.init(&srv.t, 1, srv_addr), 0);
    ck_assert_int_eq(cli.t.init(&cli.t, 2, cli_addr), 0);
    ck_assert_int_eq(srv.t.listen(&srv.t, on_accept), 0);
    accepted = connected_ok = connected_fail = closed = 0;
    got_len = 0;
    server_stream = NULL;
}

static void run_until(int *counter, int want)
{
    for (int i = 0; i < 2000 && *counter < want; i++) {
        uv_run(&loop, UV_RUN_ONCE);
    }
}

static void stop_pair(void)
{
    srv.t.close(&srv.t, on_closed);
    cli.t.close(&cli.t, on_closed);
    run_until(&closed, 2);
    uv_run(&loop, UV_RUN_DEFAULT);
    raft_uv_tcp_close(&inner_s);
    raft_uv_tcp_close(&inner_c);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}

START_TEST(same_secret_reaches_raft_with_bytes_intact)
{
    struct raft_uv_connect req;
    start_pair("cluster-secret", "cluster-secret");
    ck_assert_int_eq(cli.t.connect(&cli.t, &req, 1, srv_addr, on_connect), 0);
    run_until(&connected_ok, 1);
    run_until(&accepted, 1);
    for (int i = 0; i < 2000 && got_len < 10; i++) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    ck_assert_int_eq(connected_ok, 1);
    ck_assert_int_eq(accepted, 1);
    ck_assert_uint_eq(got_len, 10);
    ck_assert(memcmp(got, "hello raft", 10) == 0);
    ck_assert_uint_eq(srv.refused, 0);
    stop_pair();
}
END_TEST

START_TEST(wrong_secret_never_reaches_raft)
{
    struct raft_uv_connect req;
    start_pair("cluster-secret", "not-the-secret");
    ck_assert_int_eq(cli.t.connect(&cli.t, &req, 1, srv_addr, on_connect), 0);
    run_until(&connected_fail, 1);
    for (int i = 0; i < 200 && srv.refused == 0; i++) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    ck_assert_int_eq(connected_fail, 1);
    ck_assert_int_eq(connected_ok, 0);
    ck_assert_int_eq(accepted, 0);
    ck_assert_uint_ge(srv.refused + cli.refused, 1);
    stop_pair();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("transport");
    TCase *tc = tcase_create("auth");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, same_secret_reaches_raft_with_bytes_intact);
    tcase_add_test(tc, wrong_secret_never_reaches_raft);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
