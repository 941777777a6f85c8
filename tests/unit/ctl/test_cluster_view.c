/* Unit tests of ctl/cluster_view.c (status and member tables, the --wait check) and
 * ctl/cmdline.c (flags, counts, durations). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/cluster_view.h"
#include "ctl/cmdline.h"

static const char status_doc[] =
    "{\"leader\": \"n1\", \"term\": 3, \"commitIndex\": 42, \"appliedIndex\": 42, \"node\": \"n1\","
    " \"members\": ["
    "{\"id\": \"n1\", \"raftId\": 1, \"raftAddress\": \"127.0.0.1:7001\", \"adminAddress\":"
    " \"127.0.0.1:9001\", \"role\": \"voter\", \"state\": \"leader\", \"reachable\": true,"
    " \"appliedIndex\": 42, \"commitIndex\": 42, \"tableGeneration\": 42, \"version\": \"0.1.0\"},"
    "{\"id\": \"n2\", \"raftId\": 2, \"raftAddress\": \"127.0.0.1:7002\", \"adminAddress\":"
    " \"127.0.0.1:9002\", \"role\": \"voter\", \"state\": \"unavailable\", \"reachable\": false,"
    " \"appliedIndex\": 0, \"commitIndex\": 0, \"tableGeneration\": 0, \"version\": \"\"},"
    "{\"id\": \"n3\", \"raftId\": 3, \"raftAddress\": \"127.0.0.1:7003\", \"adminAddress\":"
    " \"127.0.0.1:9003\", \"role\": \"voter\", \"state\": \"follower\", \"reachable\": true,"
    " \"appliedIndex\": 41, \"commitIndex\": 42, \"tableGeneration\": 41, \"version\": \"0.1.0\"},"
    "{\"id\": \"n4\", \"raftId\": 4, \"raftAddress\": \"127.0.0.1:7004\", \"adminAddress\":"
    " \"127.0.0.1:9004\", \"role\": \"spare\", \"state\": \"follower\", \"reachable\": true,"
    " \"appliedIndex\": 3, \"commitIndex\": 3, \"tableGeneration\": 3, \"version\": \"0.1.0\"}],"
    " \"providers\": [{\"name\": \"file\", \"node\": \"n1\", \"error\": null},"
    " {\"name\": \"docker\", \"node\": \"n3\", \"error\": \"cannot reach the socket\"}]}";

static void parse(const char *s, struct jv *j)
{
    ck_assert_int_eq(jv_parse(s, strlen(s), j), 0);
}

static char *render(void (*fn)(FILE *, const struct jv *), const char *text)
{
    struct jv j;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    parse(text, &j);
    fn(f, &j);
    fclose(f);
    jv_free(&j);
    return buf;
}

START_TEST(status_table)
{
    char *s = render(cluster_print_status, status_doc);
    ck_assert_str_eq(
        s, "leader: n1  term: 3\n"
           "ID  ROLE   STATE        REACHABLE  APPLIED  COMMIT  TABLE-GEN  RAFT            ADMIN\n"
           "n1  voter  leader       true       42       42      42         127.0.0.1:7001  "
           "127.0.0.1:9001\n"
           "n2  voter  unavailable  false      0        0       0          127.0.0.1:7002  "
           "127.0.0.1:9002\n"
           "n3  voter  follower     true       41       42      41         127.0.0.1:7003  "
           "127.0.0.1:9003\n"
           "n4  spare  follower     true       3        3       3          127.0.0.1:7004  "
           "127.0.0.1:9004\n"
           "provider docker on n3: cannot reach the socket\n");
    free(s);
    s = render(cluster_print_status, "{\"leader\": null, \"term\": 5, \"members\": []}");
    ck_assert_str_eq(s, "leader: none  term: 5\n"
                        "ID  ROLE  STATE  REACHABLE  APPLIED  COMMIT  TABLE-GEN  RAFT  ADMIN\n");
    free(s);
}
END_TEST

START_TEST(members_table)
{
    char *s = render(cluster_print_members, status_doc);
    ck_assert_str_eq(s, "ID  ROLE   RAFT            ADMIN           VERSION\n"
                        "n1  voter  127.0.0.1:7001  127.0.0.1:9001  0.1.0\n"
                        "n2  voter  127.0.0.1:7002  127.0.0.1:9002  -\n"
                        "n3  voter  127.0.0.1:7003  127.0.0.1:9003  0.1.0\n"
                        "n4  spare  127.0.0.1:7004  127.0.0.1:9004  0.1.0\n");
    free(s);
}
END_TEST

START_TEST(lagging_voters)
{
    struct jv j;
    char why[256], tiny[8];
    parse(status_doc, &j);
    ck_assert_int_eq(cluster_lagging(&j, 42, why, sizeof why), 2);
    ck_assert_str_eq(why, "n2 (unreachable), n3 (tableGeneration 41 < 42)");
    ck_assert_int_eq(cluster_lagging(&j, 41, why, sizeof why), 1);
    ck_assert_str_eq(why, "n2 (unreachable)");
    ck_assert_int_eq(cluster_lagging(&j, 42, tiny, sizeof tiny), 2); /* cut, still counted */
    ck_assert_uint_eq(strlen(tiny), sizeof tiny - 1);
    jv_free(&j);
    parse(
        "{\"members\": [{\"id\": \"n1\", \"role\": \"voter\", \"reachable\": true,"
        " \"tableGeneration\": 9}, {\"id\": \"n9\", \"role\": \"standby\", \"reachable\": false}]}",
        &j);
    ck_assert_int_eq(cluster_lagging(&j, 9, why, sizeof why), 0);
    ck_assert_str_eq(why, "");
    jv_free(&j);
    parse("{\"error\": \"x\"}", &j);
    ck_assert_int_eq(cluster_lagging(&j, 1, why, sizeof why), -1);
    jv_free(&j);
}
END_TEST

START_TEST(durations)
{
    uint64_t ms;
    static const struct {
        const char *s;
        uint64_t ms;
    } ok[] = {{"10s", 10000}, {"500ms", 500}, {"1m30s", 90000}, {"2", 2000},
              {"1.5s", 1500}, {"0", 0},       {"1h", 3600000},  {"10", 10000}};
    static const char *const bad[] = {"", "s", "10x", "-1s", "1s5", "ms", " 1s"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ck_assert_msg(ctl_parse_duration_ms(ok[i].s, &ms) == 0 && ms == ok[i].ms, "%s", ok[i].s);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(ctl_parse_duration_ms(bad[i], &ms) != 0, "accepted \"%s\"", bad[i]);
    }
    ck_assert_int_ne(ctl_parse_duration_ms(NULL, &ms), 0);
}
END_TEST

START_TEST(counts)
{
    uint64_t v;
    ck_assert(ctl_parse_u64("0", &v) == 0 && v == 0);
    ck_assert(ctl_parse_u64("18446744073709551615", &v) == 0 && v == UINT64_MAX);
    ck_assert_int_ne(ctl_parse_u64("18446744073709551616", &v), 0);
    ck_assert_int_ne(ctl_parse_u64("-1", &v), 0);
    ck_assert_int_ne(ctl_parse_u64("", &v), 0);
    ck_assert_int_ne(ctl_parse_u64("4x", &v), 0);
}
END_TEST

START_TEST(flags_and_positionals)
{
    const char *file = NULL, *pos[3];
    bool force = false;
    const struct ctl_opt opts[] = {{.name = "--file", .alias = "-f", .value = &file},
                                   {.name = "--force", .on = &force}};
    char a0[] = "n1", a1[] = "-f", a2[] = "x.yaml", a3[] = "--force", a4[] = "--", a5[] = "-n2";
    char *argv[] = {a0, a1, a2, a3, a4, a5};
    char b0[] = "--file=y.yaml", b1[] = "--force=1", b2[] = "--bogus", b3[] = "-f";
    char *bad1[] = {b1}, *bad2[] = {b2}, *bad3[] = {b3}, *good[] = {b0};
    int n;
    FILE *saved = stderr;
    ck_assert_int_eq(ctl_args("t", "u\n", 6, argv, opts, 2, pos, 1, 3, &n), CTL_ARGS_OK);
    ck_assert(n == 2 && strcmp(pos[0], "n1") == 0 && strcmp(pos[1], "-n2") == 0);
    ck_assert(force && strcmp(file, "x.yaml") == 0);
    ck_assert_int_eq(ctl_args("t", "u\n", 1, good, opts, 2, pos, 0, 0, &n), CTL_ARGS_OK);
    ck_assert_str_eq(file, "y.yaml");
    stderr = fopen("/dev/null", "w"); /* the usage errors */
    ck_assert_int_eq(ctl_args("t", "u\n", 1, bad1, opts, 2, pos, 0, 0, &n), CTL_ARGS_BAD);
    ck_assert_int_eq(ctl_args("t", "u\n", 1, bad2, opts, 2, pos, 0, 0, &n), CTL_ARGS_BAD);
    ck_assert_int_eq(ctl_args("t", "u\n", 1, bad3, opts, 2, pos, 0, 0, &n), CTL_ARGS_BAD);
    ck_assert_int_eq(ctl_args("t", "u\n", 6, argv, opts, 2, pos, 0, 1, &n), CTL_ARGS_BAD);
    ck_assert_int_eq(ctl_args("t", "u\n", 0, argv, opts, 2, pos, 1, 1, &n), CTL_ARGS_BAD);
    fclose(stderr);
    stderr = saved;
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ctl_cluster_view");
    TCase *tc = tcase_create("cluster_view");
    SRunner *sr;
    int failed;
    tcase_add_test(tc, status_table);
    tcase_add_test(tc, members_table);
    tcase_add_test(tc, lagging_voters);
    tcase_add_test(tc, durations);
    tcase_add_test(tc, counts);
    tcase_add_test(tc, flags_and_positionals);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
