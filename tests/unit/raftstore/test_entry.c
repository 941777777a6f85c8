/* raftstore/entry.c: the framing of log entries (length prefix, zero padding to 8 bytes). */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "raftstore/entry.h"

static Concord__Raftlog__Entry *contribution(const char *ns, const char *node, size_t pad)
{
    Concord__Raftlog__Entry *e = calloc(1, sizeof *e);
    Concord__Raftlog__SetContribution *s = calloc(1, sizeof *s);
    char *name = malloc(pad + 2);
    concord__raftlog__entry__init(e);
    concord__raftlog__set_contribution__init(s);
    memset(name, 'x', pad + 1);
    name[pad + 1] = '\0';
    (void)node;
    s->namespace_ = strdup(ns);
    s->node_id = name; /* a node id of pad+1 bytes: every payload length mod 8 gets covered */
    s->has_expected_revision = 1;
    s->expected_revision = pad;
    e->command_case = CONCORD__RAFTLOG__ENTRY__COMMAND_SET_CONTRIBUTION;
    e->set_contribution = s;
    e->request_id.len = RS_REQUEST_ID_LEN;
    e->request_id.data = calloc(1, RS_REQUEST_ID_LEN);
    ck_assert_int_eq(rs_request_id(e->request_id.data), 0);
    return e;
}

static void entry_free(Concord__Raftlog__Entry *e)
{
    concord__raftlog__entry__free_unpacked(e, NULL); /* frees with free(), as allocated */
}

START_TEST(round_trip_and_padding)
{
    for (size_t pad = 0; pad < 40; pad++) {
        Concord__Raftlog__Entry *e = contribution("file", "n1", pad), *d = NULL;
        void *buf;
        size_t len;
        ck_assert_int_eq(rs_entry_encode(e, malloc, &buf, &len), 0);
        ck_assert_uint_eq(len % 8, 0);
        ck_assert_int_eq(rs_entry_decode(buf, len, &d), 0);
        ck_assert_uint_eq(d->format_version, RS_ENTRY_FORMAT);
        ck_assert_int_eq(d->command_case, CONCORD__RAFTLOG__ENTRY__COMMAND_SET_CONTRIBUTION);
        ck_assert_str_eq(d->set_contribution->namespace_, "file");
        ck_assert_str_eq(d->set_contribution->node_id, e->set_contribution->node_id);
        ck_assert_uint_eq(d->set_contribution->expected_revision, pad);
        ck_assert(memcmp(d->request_id.data, e->request_id.data, RS_REQUEST_ID_LEN) == 0);
        rs_entry_free(d);
        free(buf);
        entry_free(e);
    }
}
END_TEST

START_TEST(refuses_bad_framing)
{
    Concord__Raftlog__Entry *e = contribution("docker", "n2", 3), *d = NULL;
    uint8_t *buf;
    size_t len;
    ck_assert_int_eq(rs_entry_encode(e, malloc, (void **)&buf, &len), 0);
    ck_assert_int_eq(rs_entry_decode(buf, len - 8, &d), -EINVAL);  /* truncated */
    ck_assert_int_eq(rs_entry_decode(buf, len - 1, &d), -EINVAL);  /* not a multiple of 8 */
    ck_assert_int_eq(rs_entry_decode(buf, 4, &d), -EINVAL);        /* shorter than a header */
    buf[4] = 1;                                                     /* reserved word */
    ck_assert_int_eq(rs_entry_decode(buf, len, &d), -EINVAL);
    buf[4] = 0;
    if (len > RS_ENTRY_HEADER + (size_t)buf[0]) {
        buf[len - 1] = 7; /* padding must be zero */
        ck_assert_int_eq(rs_entry_decode(buf, len, &d), -EINVAL);
        buf[len - 1] = 0;
    }
    buf[0] ^= 0x40; /* a length that disagrees with the buffer */
    ck_assert_int_eq(rs_entry_decode(buf, len, &d), -EINVAL);
    buf[0] ^= 0x40;
    ck_assert_int_eq(rs_entry_decode(buf, len, &d), 0);
    rs_entry_free(d);
    /* Extra zero words after the padding: more than padding is not allowed either. */
    uint8_t *big = calloc(1, len + 8);
    memcpy(big, buf, len);
    ck_assert_int_eq(rs_entry_decode(big, len + 8, &d), -EINVAL);
    free(big);
    free(buf);
    entry_free(e);
}
END_TEST

START_TEST(refuses_newer_format_and_no_command)
{
    Concord__Raftlog__Entry *e = contribution("api", "api", 1), *d = NULL;
    Concord__Raftlog__Entry empty;
    void *buf;
    size_t len;
    e->format_version = RS_ENTRY_FORMAT + 1;
    ck_assert_int_eq(rs_entry_encode(e, malloc, &buf, &len), 0);
    ck_assert_int_eq(rs_entry_decode(buf, len, &d), -ENOTSUP);
    ck_assert_ptr_null(d);
    free(buf);
    concord__raftlog__entry__init(&empty);
    ck_assert_int_eq(rs_entry_encode(&empty, malloc, &buf, &len), -EINVAL);
    /* An entry without a command that another writer framed: refused on decode too. */
    {
        uint8_t raw[8 + 8] = {2, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x01};
        ck_assert_int_eq(rs_entry_decode(raw, sizeof raw, &d), -EINVAL);
    }
    entry_free(e);
}
END_TEST

START_TEST(request_ids_differ)
{
    uint8_t a[RS_REQUEST_ID_LEN], b[RS_REQUEST_ID_LEN];
    ck_assert_int_eq(rs_request_id(a), 0);
    ck_assert_int_eq(rs_request_id(b), 0);
    ck_assert(memcmp(a, b, sizeof a) != 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("entry");
    TCase *tc = tcase_create("entry");
    tcase_add_test(tc, round_trip_and_padding);
    tcase_add_test(tc, refuses_bad_framing);
    tcase_add_test(tc, refuses_newer_format_and_no_command);
    tcase_add_test(tc, request_ids_differ);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
