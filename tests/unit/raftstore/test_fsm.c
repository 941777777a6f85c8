/* raftstore/fsm.c on libraft's in-memory fixture (deterministic, simulated time, no sleeps):
 * three servers agree on the state through elections, a killed leader, snapshots sent to a
 * server that fell behind, duplicate request ids, and an unreadable committed entry. */
#include <check.h>
#include <raft.h>
#include <raft/fixture.h>
#include <stdlib.h>
#include <string.h>

#include "raftstore/entry.h"
#include "raftstore/fsm.h"

#define N 3

static struct raft_fixture fx;
static struct rs_fsm fsms[N + 1]; /* one more for the membership test */
static unsigned nservers = N;
static int applied_cb;
static struct rs_result last_res;

static void setup(void)
{
    struct raft_configuration conf;
    memset(&fx, 0, sizeof fx);
    ck_assert_int_eq(raft_fixture_initialize(&fx), 0);
    for (unsigned i = 0; i < N; i++) {
        ck_assert_int_eq(rs_fsm_init(&fsms[i]), 0);
        ck_assert_int_eq(raft_fixture_grow(&fx, &fsms[i].fsm), 0);
        fsms[i].raft = raft_fixture_get(&fx, i);
        /* Small snapshots so that a server that falls behind is caught up by one. */
        raft_set_snapshot_threshold(fsms[i].raft, 8);
        raft_set_snapshot_trailing(fsms[i].raft, 2);
    }
    ck_assert_int_eq(raft_fixture_configuration(&fx, N, &conf), 0);
    ck_assert_int_eq(raft_fixture_bootstrap(&fx, &conf), 0);
    raft_configuration_close(&conf);
    ck_assert_int_eq(raft_fixture_start(&fx), 0);
    ck_assert(raft_fixture_step_until_has_leader(&fx, 10000));
    applied_cb = 0;
}

static void teardown(void)
{
    raft_fixture_close(&fx);
    for (unsigned i = 0; i < nservers; i++) {
        rs_fsm_fini(&fsms[i]);
    }
    nservers = N;
}

static void on_applied(struct raft_apply *req, int status, void *result)
{
    ck_assert_int_eq(status, 0);
    last_res = *(struct rs_result *)result;
    applied_cb++;
    free(req);
}

/* Proposes SetContribution(ns, node, "svc-<v>") on the leader; returns the entry's index. */
static raft_index propose(const char *ns, const char *node, int v, const uint8_t *rid)
{
    Concord__Raftlog__Entry e;
    Concord__Raftlog__SetContribution s;
    Concord__Config__Config cfg;
    Concord__Config__HttpConfig http;
    Concord__Config__Service svc, *svcs[1] = {&svc};
    char name[32];
    uint8_t id[RS_REQUEST_ID_LEN];
    struct raft_buffer buf;
    struct raft_apply *req = calloc(1, sizeof *req);
    struct raft *leader = raft_fixture_get(&fx, raft_fixture_leader_index(&fx));
    concord__raftlog__entry__init(&e);
    concord__raftlog__set_contribution__init(&s);
    concord__config__config__init(&cfg);
    concord__config__http_config__init(&http);
    concord__config__service__init(&svc);
    snprintf(name, sizeof name, "svc-%d", v);
    svc.name = name;
    http.n_services = 1;
    http.services = svcs;
    cfg.http = &http;
    s.namespace_ = (char *)ns;
    s.node_id = (char *)node;
    s.config = &cfg;
    if (rid == NULL) {
        ck_assert_int_eq(rs_request_id(id), 0);
        rid = id;
    }
    e.request_id.data = (uint8_t *)rid;
    e.request_id.len = RS_REQUEST_ID_LEN;
    e.command_case = CONCORD__RAFTLOG__ENTRY__COMMAND_SET_CONTRIBUTION;
    e.set_contribution = &s;
    ck_assert_int_eq(rs_entry_encode(&e, raft_malloc, &buf.base, &buf.len), 0);
    ck_assert_int_eq(raft_apply(leader, req, &buf, 1, on_applied), 0);
    return req->index;
}

static void converge(raft_index index)
{
    for (unsigned i = 0; i < nservers; i++) {
        if (raft_fixture_alive(&fx, i)) {
            ck_assert_msg(raft_fixture_step_until_applied(&fx, i, index, 20000),
                          "server %u did not apply %llu", i, (unsigned long long)index);
        }
    }
}

/* Every live server's state serialises to the same bytes. */
static void same_state(void)
{
    uint8_t *first = NULL, *other;
    size_t flen = 0, olen;
    for (unsigned i = 0; i < nservers; i++) {
        if (!raft_fixture_alive(&fx, i)) {
            continue;
        }
        ck_assert_int_eq(rs_state_snapshot(fsms[i].state, &other, &olen), 0);
        if (first == NULL) {
            first = other;
            flen = olen;
            continue;
        }
        ck_assert_msg(olen == flen && memcmp(first, other, olen) == 0, "server %u differs", i);
        free(other);
    }
    free(first);
}

START_TEST(replicated_and_revision_is_the_raft_index)
{
    raft_index idx = 0;
    for (int v = 0; v < 5; v++) {
        idx = propose("file", "n1", v, NULL);
        converge(idx);
    }
    ck_assert_int_eq(applied_cb, 5);
    ck_assert_int_eq(last_res.code, RS_APPLIED);
    for (unsigned i = 0; i < N; i++) {
        const Concord__Raftlog__Contribution *c = rs_state_contribution(fsms[i].state, "file",
                                                                        "n1");
        ck_assert_ptr_nonnull(c);
        ck_assert_uint_eq(c->revision, idx);
        ck_assert_str_eq(c->config->http->services[0]->name, "svc-4");
    }
    same_state();
}
END_TEST

START_TEST(duplicate_request_id_applies_once)
{
    uint8_t rid[RS_REQUEST_ID_LEN];
    raft_index a, b;
    ck_assert_int_eq(rs_request_id(rid), 0);
    a = propose("api", "api", 1, rid);
    converge(a);
    ck_assert_int_eq(last_res.code, RS_APPLIED);
    b = propose("api", "api", 2, rid); /* a client retry with the same id */
    converge(b);
    ck_assert_int_eq(last_res.code, RS_DUPLICATE);
    for (unsigned i = 0; i < N; i++) {
        const Concord__Raftlog__Contribution *c = rs_state_contribution(fsms[i].state, "api",
                                                                        "api");
        ck_assert_str_eq(c->config->http->services[0]->name, "svc-1");
        ck_assert_uint_eq(c->revision, a);
    }
    same_state();
}
END_TEST

START_TEST(leader_killed_and_revived_by_snapshot)
{
    unsigned old = raft_fixture_leader_index(&fx);
    raft_index idx = propose("file", "n1", 0, NULL);
    converge(idx);
    raft_fixture_kill(&fx, old);
    ck_assert(raft_fixture_step_until_has_no_leader(&fx, 10000));
    ck_assert(raft_fixture_step_until_has_leader(&fx, 20000));
    ck_assert_uint_ne(raft_fixture_leader_index(&fx), old);
    /* Enough entries past the snapshot threshold that the old leader needs a snapshot. */
    for (int v = 1; v <= 30; v++) {
        idx = propose("docker", "n2", v, NULL);
        converge(idx);
    }
    raft_fixture_revive(&fx, old);
    converge(idx);
    ck_assert(raft_fixture_step_until_applied(&fx, old, idx, 30000));
    same_state();
    ck_assert_str_eq(
        rs_state_contribution(fsms[old].state, "docker", "n2")->config->http->services[0]->name,
        "svc-30");
}
END_TEST

START_TEST(unreadable_entry_is_a_noop)
{
    struct raft_buffer buf;
    struct raft_apply *req = calloc(1, sizeof *req);
    struct raft *leader = raft_fixture_get(&fx, raft_fixture_leader_index(&fx));
    buf.len = 16;
    buf.base = raft_malloc(buf.len);
    memset(buf.base, 0xAB, buf.len); /* not our framing */
    ck_assert_int_eq(raft_apply(leader, req, &buf, 1, on_applied), 0);
    converge(req->index);
    ck_assert_int_eq(last_res.code, RS_MALFORMED);
    /* The log keeps moving: a good entry after it applies everywhere. */
    raft_index idx = propose("file", "n3", 7, NULL);
    converge(idx);
    ck_assert_int_eq(last_res.code, RS_APPLIED);
    same_state();
}
END_TEST

/* The leader cut off from both followers (messages dropped both ways): they elect a new
 * leader that takes writes; once healed, the old leader steps down and catches up. */
START_TEST(partitioned_leader_is_replaced_and_catches_up)
{
    unsigned old = raft_fixture_leader_index(&fx), now;
    raft_index idx = propose("file", "n1", 1, NULL);
    converge(idx);
    for (unsigned i = 0; i < N; i++) {
        if (i != old) {
            raft_fixture_saturate(&fx, old, i);
            raft_fixture_saturate(&fx, i, old);
        }
    }
    ck_assert(raft_fixture_step_until_has_no_leader(&fx, 10000));
    ck_assert(raft_fixture_step_until_has_leader(&fx, 20000));
    now = raft_fixture_leader_index(&fx);
    ck_assert_uint_ne(now, old);
    idx = propose("file", "n1", 2, NULL);
    for (unsigned i = 0; i < N; i++) {
        if (i != old) {
            ck_assert(raft_fixture_step_until_applied(&fx, i, idx, 20000));
        }
    }
    for (unsigned i = 0; i < N; i++) {
        if (i != old) {
            raft_fixture_desaturate(&fx, old, i);
            raft_fixture_desaturate(&fx, i, old);
        }
    }
    converge(idx);
    same_state();
    ck_assert_str_eq(
        rs_state_contribution(fsms[old].state, "file", "n1")->config->http->services[0]->name,
        "svc-2");
}
END_TEST

static int transferred;

static void on_transfer(struct raft_transfer *req)
{
    (void)req;
    transferred++;
}

/* Leadership handed to a chosen follower; the new leader takes writes. */
START_TEST(leadership_transfer)
{
    unsigned old = raft_fixture_leader_index(&fx), target = (old + 1) % N;
    struct raft_transfer req;
    transferred = 0;
    ck_assert_int_eq(raft_transfer(raft_fixture_get(&fx, old), &req, target + 1, on_transfer),
                     0);
    for (int i = 0; i < 100000 && transferred == 0; i++) {
        raft_fixture_step(&fx);
    }
    ck_assert_int_eq(transferred, 1);
    ck_assert(raft_fixture_step_until_has_leader(&fx, 10000));
    ck_assert_uint_eq(raft_fixture_leader_index(&fx), target);
    raft_index idx = propose("api", "api", 3, NULL);
    converge(idx);
    same_state();
}
END_TEST

static int changes;

static void on_change(struct raft_change *req, int status)
{
    ck_assert_int_eq(status, 0);
    (void)req;
    changes++;
}

/* A fourth server joins as a spare, is promoted to voter, and ends with the same state. */
START_TEST(membership_change)
{
    struct raft_change req;
    struct raft *leader;
    raft_index idx = propose("file", "n1", 4, NULL);
    converge(idx);
    ck_assert_int_eq(rs_fsm_init(&fsms[N]), 0);
    ck_assert_int_eq(raft_fixture_grow(&fx, &fsms[N].fsm), 0);
    nservers = N + 1;
    fsms[N].raft = raft_fixture_get(&fx, N);
    ck_assert_int_eq(raft_start(fsms[N].raft), 0);
    leader = raft_fixture_get(&fx, raft_fixture_leader_index(&fx));
    changes = 0;
    ck_assert_int_eq(raft_add(leader, &req, N + 1, "4", on_change), 0);
    for (int i = 0; i < 100000 && changes == 0; i++) {
        raft_fixture_step(&fx);
    }
    ck_assert_int_eq(changes, 1);
    ck_assert_int_eq(raft_assign(leader, &req, N + 1, RAFT_VOTER, on_change), 0);
    for (int i = 0; i < 200000 && changes == 1; i++) {
        raft_fixture_step(&fx);
    }
    ck_assert_int_eq(changes, 2);
    idx = propose("docker", "n4", 5, NULL);
    converge(idx);
    same_state();
    ck_assert_ptr_nonnull(rs_state_contribution(fsms[N].state, "file", "n1"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fsm");
    TCase *tc = tcase_create("fixture");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, replicated_and_revision_is_the_raft_index);
    tcase_add_test(tc, duplicate_request_id_applies_once);
    tcase_add_test(tc, leader_killed_and_revived_by_snapshot);
    tcase_add_test(tc, unreadable_entry_is_a_noop);
    tcase_add_test(tc, partitioned_leader_is_replaced_and_catches_up);
    tcase_add_test(tc, leadership_transfer);
    tcase_add_test(tc, membership_change);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
