/* raftstore.c with real libraft I/O on loopback: one loop, real data dirs, real TCP with the
 * cluster-secret transport. A single node leads on its own; three nodes elect a leader that
 * barriers before it accepts writes, and a proposal applies on all three. Bounded loops; the
 * only waiting is libraft's own timers. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "raftstore/entry.h"
#include "raftstore/raftstore.h"
#include "raftstore/state.h"

static uv_loop_t loop;
static int closed, proposed, last_code;
static uint64_t last_index;

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

static char *tmpdir(void)
{
    char *d = strdup("/tmp/concord-raftstore-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(d));
    return d;
}

static void rmdir_all(const char *d)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    ck_assert_int_eq(system(cmd), 0);
}

static void on_closed(void *arg)
{
    (void)arg;
    closed++;
}

static void on_proposed(void *arg, int status, uint64_t index, int code, const char *msg)
{
    (void)arg;
    (void)msg;
    ck_assert_int_eq(status, 0);
    last_code = code;
    last_index = index;
    proposed++;
}

static void propose(struct raftstore *rs, const char *ns, const char *node)
{
    Concord__Raftlog__Entry e;
    Concord__Raftlog__SetContribution s;
    Concord__Config__Config cfg;
    uint8_t rid[RS_REQUEST_ID_LEN];
    concord__raftlog__entry__init(&e);
    concord__raftlog__set_contribution__init(&s);
    concord__config__config__init(&cfg);
    s.namespace_ = (char *)ns;
    s.node_id = (char *)node;
    s.config = &cfg;
    ck_assert_int_eq(rs_request_id(rid), 0);
    e.request_id.data = rid;
    e.request_id.len = sizeof rid;
    e.command_case = CONCORD__RAFTLOG__ENTRY__COMMAND_SET_CONTRIBUTION;
    e.set_contribution = &s;
    ck_assert_int_eq(raftstore_propose(rs, &e, on_proposed, NULL), 0);
}

/* Runs the loop until pred() or about 20 s of libraft time. */
static bool run_until(bool (*pred)(void *), void *arg)
{
    for (int i = 0; i < 200000 && !pred(arg); i++) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    return pred(arg);
}

static struct raftstore *nodes[3];
static int nnodes;

static bool some_ready(void *arg)
{
    (void)arg;
    for (int i = 0; i < nnodes; i++) {
        if (nodes[i] != NULL && raftstore_leader_ready(nodes[i])) {
            return true;
        }
    }
    return false;
}

static bool all_applied(void *arg)
{
    uint64_t idx = *(uint64_t *)arg;
    for (int i = 0; i < nnodes; i++) {
        if (raftstore_applied_index(nodes[i]) < idx) {
            return false;
        }
    }
    return true;
}

static bool proposal_done(void *arg)
{
    (void)arg;
    return proposed > 0;
}

static bool all_closed(void *arg)
{
    return closed >= *(int *)arg;
}

START_TEST(single_node_leads_and_applies)
{
    char addr[64], *dir = tmpdir();
    struct raftstore_peer peer;
    struct raftstore_opts o = {0};
    struct err e = {0};
    int want = 1;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", free_port());
    peer = (struct raftstore_peer){1, addr};
    o = (struct raftstore_opts){.raft_id = 1, .raft_address = addr, .data_dir = dir,
                                .bootstrap = &peer, .nbootstrap = 1};
    ck_assert_msg(raftstore_open(&loop, &o, &nodes[0], &e) == 0, "%s", e.msg);
    nnodes = 1;
    closed = proposed = 0;
    ck_assert(run_until(some_ready, NULL));
    propose(nodes[0], "file", "n1");
    ck_assert(run_until(proposal_done, NULL));
    ck_assert_int_eq(last_code, RS_APPLIED);
    ck_assert_ptr_nonnull(rs_state_contribution(raftstore_state(nodes[0]), "file", "n1"));
    {
        /* A saved snapshot restores to the same state, byte for byte. */
        char path[300];
        uint8_t *live, *file_data;
        size_t live_len, file_len;
        struct rs_state *copy = rs_state_create();
        FILE *f;
        snprintf(path, sizeof path, "%s/saved.snapshot", dir);
        ck_assert_msg(raftstore_snapshot_save(nodes[0], path, &e) == 0, "%s", e.msg);
        f = fopen(path, "rb");
        ck_assert_ptr_nonnull(f);
        file_data = malloc(1 << 16);
        file_len = fread(file_data, 1, 1 << 16, f);
        fclose(f);
        ck_assert_int_eq(rs_state_restore(copy, file_data, file_len), 0);
        ck_assert_int_eq(rs_state_snapshot(raftstore_state(nodes[0]), &live, &live_len), 0);
        free(file_data);
        ck_assert_int_eq(rs_state_snapshot(copy, &file_data, &file_len), 0);
        ck_assert(file_len == live_len && memcmp(file_data, live, live_len) == 0);
        free(live);
        free(file_data);
        rs_state_destroy(copy);
        ck_assert_int_eq(access(path, R_OK), 0);
    }
    raftstore_close(nodes[0], on_closed, NULL);
    ck_assert(run_until(all_closed, &want));
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    rmdir_all(dir);
    free(dir);
}
END_TEST

START_TEST(three_nodes_replicate_with_a_secret)
{
    char addr[3][64], *dir[3];
    struct raftstore_peer peers[3];
    struct err e = {0};
    int leader = -1, want = 3;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    for (int i = 0; i < 3; i++) {
        snprintf(addr[i], sizeof addr[i], "127.0.0.1:%d", free_port());
        peers[i] = (struct raftstore_peer){(uint64_t)i + 1, addr[i]};
        dir[i] = tmpdir();
    }
    for (int i = 0; i < 3; i++) {
        struct raftstore_opts o = {.raft_id = (uint64_t)i + 1, .raft_address = addr[i],
                                   .data_dir = dir[i], .secret = "s3cret", .secret_len = 6,
                                   .bootstrap = peers, .nbootstrap = 3};
        ck_assert_msg(raftstore_open(&loop, &o, &nodes[i], &e) == 0, "%s", e.msg);
    }
    nnodes = 3;
    closed = proposed = 0;
    ck_assert(run_until(some_ready, NULL));
    for (int i = 0; i < 3; i++) {
        if (raftstore_leader_ready(nodes[i])) {
            leader = i;
        } else {
            Concord__Raftlog__Entry none;
            concord__raftlog__entry__init(&none);
            ck_assert_int_eq(raftstore_propose(nodes[i], &none, on_proposed, NULL), -EAGAIN);
        }
    }
    propose(nodes[leader], "docker", "n2");
    ck_assert(run_until(proposal_done, NULL));
    ck_assert_int_eq(last_code, RS_APPLIED);
    ck_assert(run_until(all_applied, &last_index));
    for (int i = 0; i < 3; i++) {
        const Concord__Raftlog__Contribution *c =
            rs_state_contribution(raftstore_state(nodes[i]), "docker", "n2");
        ck_assert_ptr_nonnull(c);
        ck_assert_uint_eq(c->revision, last_index);
    }
    for (int i = 0; i < 3; i++) {
        raftstore_close(nodes[i], on_closed, NULL);
    }
    ck_assert(run_until(all_closed, &want));
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    for (int i = 0; i < 3; i++) {
        rmdir_all(dir[i]);
        free(dir[i]);
    }
}
END_TEST

static int done_count, done_status;

static void on_done(void *arg, int status, const char *msg)
{
    (void)arg;
    (void)msg;
    done_status = status;
    done_count++;
}

static bool op_done(void *arg)
{
    return done_count >= *(int *)arg;
}

static bool ready_at(void *arg)
{
    return raftstore_leader_ready(nodes[*(int *)arg]);
}

static size_t voters(struct raftstore *rs)
{
    struct raftstore_server sv[8];
    size_t n = raftstore_servers(rs, sv, 8), v = 0;
    for (size_t i = 0; i < n; i++) {
        v += sv[i].role == RAFTSTORE_VOTER;
    }
    return v;
}

/* A one-node cluster adds a second node (spare, caught up, voter), hands leadership to it,
 * and the new leader removes the first (demoted, then removed); barriers and the info on
 * the way. Real libraft I/O over loopback. */
START_TEST(membership_and_transfer)
{
    char addr[2][64], *dir[2];
    struct raftstore_peer self;
    struct raftstore_info info;
    struct err e = {0};
    int want, a = 0, b = 1;
    uint64_t ida = raftstore_raft_id("na"), idb = raftstore_raft_id("nb");
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    for (int i = 0; i < 2; i++) {
        snprintf(addr[i], sizeof addr[i], "127.0.0.1:%d", free_port());
        dir[i] = tmpdir();
    }
    self = (struct raftstore_peer){ida, addr[0]};
    struct raftstore_opts oa = {.raft_id = ida, .raft_address = addr[0], .data_dir = dir[0],
                                .secret = "0123456789abcdef", .secret_len = 16,
                                .bootstrap = &self, .nbootstrap = 1};
    struct raftstore_opts ob = {.raft_id = idb, .raft_address = addr[1], .data_dir = dir[1],
                                .secret = "0123456789abcdef", .secret_len = 16};
    ck_assert_msg(raftstore_open(&loop, &oa, &nodes[0], &e) == 0, "%s", e.msg);
    ck_assert_msg(raftstore_open(&loop, &ob, &nodes[1], &e) == 0, "%s", e.msg);
    nnodes = 2;
    closed = proposed = done_count = 0;
    ck_assert(run_until(ready_at, &a));
    ck_assert_uint_eq(raftstore_servers(nodes[1], NULL, 0), 0); /* not a member yet */
    propose(nodes[0], "file", "na");
    ck_assert(run_until(proposal_done, NULL));

    /* add: spare, then promoted once caught up */
    ck_assert_int_eq(raftstore_add(nodes[1], idb, addr[1], RAFTSTORE_VOTER, on_done, NULL),
                     -EAGAIN); /* not the leader */
    ck_assert_int_eq(raftstore_add(nodes[0], idb, addr[1], RAFTSTORE_VOTER, on_done, NULL), 0);
    want = 1;
    ck_assert(run_until(op_done, &want));
    ck_assert_int_eq(done_status, 0);
    ck_assert_uint_eq(voters(nodes[0]), 2);
    ck_assert_int_eq(raftstore_add(nodes[0], idb, addr[1], RAFTSTORE_VOTER, on_done, NULL),
                     -EEXIST);
    ck_assert_int_eq(raftstore_assign(nodes[0], idb, RAFTSTORE_VOTER, on_done, NULL),
                     -EALREADY);
    ck_assert(run_until(all_applied, &last_index));
    ck_assert_ptr_nonnull(rs_state_contribution(raftstore_state(nodes[1]), "file", "na"));

    /* a read barrier on the leader */
    ck_assert_int_eq(raftstore_barrier(nodes[1], on_done, NULL), -EAGAIN);
    ck_assert_int_eq(raftstore_barrier(nodes[0], on_done, NULL), 0);
    want = 2;
    ck_assert(run_until(op_done, &want));
    ck_assert_int_eq(done_status, 0);

    /* transfer to b */
    ck_assert_int_eq(raftstore_transfer(nodes[0], ida, on_done, NULL), -EALREADY);
    ck_assert_int_eq(raftstore_transfer(nodes[0], 12345, on_done, NULL), -ENOENT);
    ck_assert_int_eq(raftstore_transfer(nodes[0], idb, on_done, NULL), 0);
    want = 3;
    ck_assert(run_until(op_done, &want));
    ck_assert_int_eq(done_status, 0);
    ck_assert(run_until(ready_at, &b));
    raftstore_info(nodes[0], &info);
    ck_assert_uint_eq(info.leader_id, idb);
    ck_assert_str_eq(info.leader_address, addr[1]);
    raftstore_info(nodes[1], &info);
    ck_assert_str_eq(info.state, "leader");
    ck_assert(info.ready);
    ck_assert_uint_ge(info.commit_index, last_index);

    /* b removes a: demoted to spare, then removed */
    ck_assert_int_eq(raftstore_remove(nodes[1], idb, on_done, NULL), -EINVAL); /* itself */
    ck_assert_int_eq(raftstore_remove(nodes[1], ida, on_done, NULL), 0);
    want = 4;
    ck_assert(run_until(op_done, &want));
    ck_assert_int_eq(done_status, 0);
    ck_assert_uint_eq(raftstore_servers(nodes[1], NULL, 0), 1);
    ck_assert_int_eq(raftstore_remove(nodes[1], ida, on_done, NULL), -ENOENT);

    for (int i = 0; i < 2; i++) {
        raftstore_close(nodes[i], on_closed, NULL);
    }
    want = 2;
    ck_assert(run_until(all_closed, &want));
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    for (int i = 0; i < 2; i++) {
        rmdir_all(dir[i]);
        free(dir[i]);
    }
}
END_TEST

/* The pure helpers of the public header. */
START_TEST(ids_roles_and_macs)
{
    enum raftstore_role r;
    ck_assert_uint_eq(raftstore_raft_id("n1"), raftstore_raft_id("n1"));
    ck_assert_uint_ne(raftstore_raft_id("n1"), raftstore_raft_id("n2"));
    ck_assert_uint_ne(raftstore_raft_id(""), 0);
    ck_assert_uint_lt(raftstore_raft_id("n1"), (uint64_t)1 << 63);
    ck_assert_int_eq(raftstore_role_parse("standby", &r), 0);
    ck_assert_int_eq(r, RAFTSTORE_STANDBY);
    ck_assert_str_eq(raftstore_role_name(r), "standby");
    ck_assert_int_eq(raftstore_role_parse("leader", &r), -EINVAL);
}
END_TEST

/* raftstore_preview says what an entry would do without changing the state. */
START_TEST(preview_changes_nothing)
{
    char addr[64], *dir = tmpdir();
    struct raftstore_peer self;
    struct err e = {0};
    struct rs_result res;
    struct rs_merged m;
    uint8_t mac[32];
    int a = 0, want = 1;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", free_port());
    self = (struct raftstore_peer){1, addr};
    struct raftstore_opts o = {.raft_id = 1, .raft_address = addr, .data_dir = dir,
                               .bootstrap = &self, .nbootstrap = 1};
    ck_assert_msg(raftstore_open(&loop, &o, &nodes[0], &e) == 0, "%s", e.msg);
    nnodes = 1;
    closed = proposed = 0;
    ck_assert(run_until(ready_at, &a));
    ck_assert(!raftstore_has_secret(nodes[0])); /* a random one signs */
    ck_assert_int_eq(raftstore_sign(nodes[0], "abc", 3, mac), 0);
    ck_assert(raftstore_verify(nodes[0], "abc", 3, mac));
    ck_assert(!raftstore_verify(nodes[0], "abd", 3, mac));
    propose(nodes[0], "api", "api");
    ck_assert(run_until(proposal_done, NULL));
    {
        Concord__Raftlog__Entry en = CONCORD__RAFTLOG__ENTRY__INIT;
        Concord__Raftlog__SetContribution sc = CONCORD__RAFTLOG__SET_CONTRIBUTION__INIT;
        Concord__Config__Config cfg = CONCORD__CONFIG__CONFIG__INIT;
        uint64_t applied = raftstore_applied_index(nodes[0]);
        sc.namespace_ = "api";
        sc.node_id = "api";
        sc.config = &cfg;
        sc.has_expected_revision = true;
        sc.expected_revision = 1; /* wrong */
        en.format_version = RS_FORMAT_VERSION;
        en.command_case = CONCORD__RAFTLOG__ENTRY__COMMAND_SET_CONTRIBUTION;
        en.set_contribution = &sc;
        ck_assert_int_eq(raftstore_preview(nodes[0], &en, &res, NULL), 0);
        ck_assert_int_eq(res.code, RS_REVISION_MISMATCH);
        sc.expected_revision = last_index;
        ck_assert_int_eq(raftstore_preview(nodes[0], &en, &res, &m), 0);
        ck_assert_int_eq(res.code, RS_APPLIED);
        ck_assert_uint_eq(m.n, 1);
        rs_merged_fini(&m);
        ck_assert_uint_eq(raftstore_applied_index(nodes[0]), applied);
        ck_assert_uint_eq(rs_state_contribution(raftstore_state(nodes[0]), "api", "api")->revision,
                          last_index);
    }
    raftstore_close(nodes[0], on_closed, NULL);
    ck_assert(run_until(all_closed, &want));
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    rmdir_all(dir);
    free(dir);
}
END_TEST

START_TEST(refused_options)
{
    char *dir = tmpdir();
    struct raftstore_peer peers[2] = {{1, "127.0.0.1:1"}, {2, "127.0.0.1:2"}};
    struct raftstore_opts o = {.raft_id = 1, .raft_address = "127.0.0.1:1", .data_dir = dir,
                               .bootstrap = peers, .nbootstrap = 2};
    struct raftstore *rs = NULL;
    struct err e = {0};
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    ck_assert_int_eq(raftstore_open(&loop, &o, &rs, &e), -EINVAL); /* two nodes, no secret */
    ck_assert_msg(strstr(e.msg, "secretFile") != NULL, "%s", e.msg);
    if (access("/dev/shm", W_OK) == 0) {
        char shm[] = "/dev/shm/concord-raftstore-XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(shm));
        o.data_dir = shm;
        o.nbootstrap = 0;
        ck_assert_int_eq(raftstore_open(&loop, &o, &rs, &e), -EPERM);
        ck_assert_msg(strstr(e.msg, "tmpfs") != NULL, "%s", e.msg);
        rmdir(shm);
    }
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    rmdir_all(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("raftstore");
    TCase *tc = tcase_create("raftstore");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, single_node_leads_and_applies);
    tcase_add_test(tc, three_nodes_replicate_with_a_secret);
    tcase_add_test(tc, refused_options);
    tcase_add_test(tc, membership_and_transfer);
    tcase_add_test(tc, ids_roles_and_macs);
    tcase_add_test(tc, preview_changes_nothing);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
