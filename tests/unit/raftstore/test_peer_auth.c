/* raftstore/peer_auth.c: the cluster-secret handshake, both ends driven in memory. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "raftstore/peer_auth.h"

/* Moves a's pending output into b (one byte at a time when `trickle`); returns b's result. */
static int deliver(struct peer_auth *from, struct peer_auth *to, bool trickle, int *rc)
{
    size_t n, used;
    const uint8_t *p = peer_auth_output(from, &n);
    uint8_t copy[128];
    memcpy(copy, p, n);
    peer_auth_sent(from);
    for (size_t i = 0; i < n && *rc == 0;) {
        size_t step = trickle ? 1 : n - i;
        *rc = peer_auth_input(to, copy + i, step, &used);
        i += used;
        if (used == 0) {
            break;
        }
    }
    return *rc;
}

/* Runs the handshake to the end; returns the client's and server's results. */
static void run(struct peer_auth *c, struct peer_auth *s, bool trickle, int *rc_c, int *rc_s)
{
    *rc_c = *rc_s = 0;
    for (int round = 0; round < 4; round++) {
        deliver(c, s, trickle, rc_s);
        deliver(s, c, trickle, rc_c);
    }
}

START_TEST(same_secret_authenticates_both_ends)
{
    for (int trickle = 0; trickle < 2; trickle++) {
        struct peer_auth c, s;
        int rc_c, rc_s;
        ck_assert_int_eq(peer_auth_init(&c, true, "s3cret", 6), 0);
        ck_assert_int_eq(peer_auth_init(&s, false, "s3cret", 6), 0);
        run(&c, &s, trickle, &rc_c, &rc_s);
        ck_assert_int_eq(rc_c, 1);
        ck_assert_int_eq(rc_s, 1);
        ck_assert_int_eq(c.state, PA_DONE);
        peer_auth_fini(&c);
        peer_auth_fini(&s);
    }
}
END_TEST

START_TEST(wrong_secret_fails)
{
    struct peer_auth c, s;
    int rc_c, rc_s;
    peer_auth_init(&c, true, "one", 3);
    peer_auth_init(&s, false, "two", 3);
    run(&c, &s, false, &rc_c, &rc_s);
    /* The end that checks first refuses and sends nothing more; the other never succeeds
     * (it sees the connection close). */
    ck_assert_int_eq(rc_c, -EACCES);
    ck_assert_int_ne(rc_s, 1);
    peer_auth_fini(&c);
    peer_auth_fini(&s);
}
END_TEST

/* Copies a's pending output into buf; returns its length. */
static size_t take_output(struct peer_auth *a, uint8_t *buf)
{
    size_t n;
    const uint8_t *p = peer_auth_output(a, &n);
    memcpy(buf, p, n);
    peer_auth_sent(a);
    return n;
}

START_TEST(bytes_after_the_handshake_are_left_for_raft)
{
    struct peer_auth c, s;
    size_t n, used;
    uint8_t buf[256];
    int rc;
    peer_auth_init(&c, true, "k", 1);
    peer_auth_init(&s, false, "k", 1);
    /* The server's HELLO reaches the client, which answers with HELLO + PROOF. */
    n = take_output(&s, buf);
    ck_assert_int_eq(peer_auth_input(&c, buf, n, &used), 0);
    n = take_output(&c, buf);
    ck_assert_uint_eq(n, PA_HELLO + PA_MAC);
    memcpy(buf + n, "RAFT", 4); /* libraft's first bytes, in the same read */
    rc = peer_auth_input(&s, buf, n + 4, &used);
    ck_assert_int_eq(rc, 1);
    ck_assert_uint_eq(used, n);
    /* The server's PROOF completes the client. */
    n = take_output(&s, buf);
    ck_assert_uint_eq(n, PA_MAC);
    ck_assert_int_eq(peer_auth_input(&c, buf, n, &used), 1);
    peer_auth_fini(&c);
    peer_auth_fini(&s);
}
END_TEST

START_TEST(bad_magic_and_replay_refused)
{
    struct peer_auth c, s, s2;
    size_t n, m, used;
    uint8_t rec[256], tmp[256];
    uint8_t junk[PA_HELLO] = {'G', 'E', 'T', ' '};
    peer_auth_init(&s, false, "k", 1);
    ck_assert_int_eq(peer_auth_input(&s, junk, sizeof junk, &used), -EACCES);
    ck_assert_int_eq(peer_auth_input(&s, junk, 1, &used), -EACCES); /* stays failed */
    peer_auth_fini(&s);
    /* Record what a client sends to one server... */
    peer_auth_init(&c, true, "k", 1);
    peer_auth_init(&s, false, "k", 1);
    n = take_output(&c, rec);                 /* HELLO */
    m = take_output(&s, tmp);
    ck_assert_int_eq(peer_auth_input(&c, tmp, m, &used), 0);
    n += take_output(&c, rec + n);            /* PROOF for s's nonce */
    ck_assert_int_eq(peer_auth_input(&s, rec, n, &used), 1);
    /* ...and replay it to a new server: its nonce differs, so the proof does not hold. */
    peer_auth_init(&s2, false, "k", 1);
    ck_assert_int_eq(peer_auth_input(&s2, rec, n, &used), -EACCES);
    peer_auth_fini(&c);
    peer_auth_fini(&s);
    peer_auth_fini(&s2);
}
END_TEST

START_TEST(reflected_proof_refused)
{
    /* An attacker without the secret sends the server's own HELLO and PROOF back to it. */
    struct peer_auth s;
    size_t n, used;
    uint8_t echo[256];
    peer_auth_init(&s, false, "k", 1);
    n = take_output(&s, echo);
    ck_assert_int_eq(peer_auth_input(&s, echo, n, &used), 0);
    n = take_output(&s, echo);
    ck_assert_uint_eq(n, PA_MAC);
    ck_assert_int_eq(peer_auth_input(&s, echo, n, &used), -EACCES);
    peer_auth_fini(&s);
    ck_assert_int_eq(peer_auth_init(&s, true, "", 0), -EINVAL);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("peer_auth");
    TCase *tc = tcase_create("handshake");
    tcase_add_test(tc, same_secret_authenticates_both_ends);
    tcase_add_test(tc, wrong_secret_fails);
    tcase_add_test(tc, bytes_after_the_handshake_are_left_for_raft);
    tcase_add_test(tc, bad_magic_and_replay_refused);
    tcase_add_test(tc, reflected_proof_refused);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
