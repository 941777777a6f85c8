/* Unit tests of node/table/table: assembly order, matching, accessors and reference counting. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/table/rule.h"
#include "node/table/table-build.h"
#include "tests/unit/table/table_fixture.h"

static struct table *make(const struct rdef *defs, uint32_t n)
{
    return table_fixture(defs, n, 42);
}

static const char *route(const struct table *t, const char *host, const char *path, uint32_t ep)
{
    struct table_request q = {.host = host,
                              .host_len = (uint32_t)strlen(host),
                              .path = path,
                              .path_len = (uint32_t)strlen(path),
                              .entrypoint = ep};
    const struct table_router *r = table_match(t, &q);
    return r ? r->name : NULL;
}

static const struct rdef sample[] = {
    {"prefix@f", "Host(`a.com`) && PathPrefix(`/api`)", 34, 1},
    {"host@f", "Host(`a.com`)", 13, 1},
    {"api-b@f", "PathPrefix(`/api`)", 34, 1},
    {"any@f", "Host(`*`)", -1, 3},
    {"second@f", "Host(`b.com`)", 13, 2},
};

START_TEST(assemble_sorts_by_priority_then_name)
{
    struct table *t = make(sample, 5);
    static const char *want[] = {"api-b@f", "prefix@f", "host@f", "second@f", "any@f"};
    ck_assert_uint_eq(table_nrouters(t), 5);
    for (uint32_t i = 0; i < 5; i++) {
        ck_assert_str_eq(table_router_at(t, i)->name, want[i]);
    }
    ck_assert_ptr_null(table_router_at(t, 5));
    ck_assert_uint_eq(table_generation(t), 42);
    table_unref(t);
}
END_TEST

START_TEST(match_first_in_priority_order)
{
    struct table *t = make(sample, 5);
    /* Same priority 34: "api-b@f" sorts before "prefix@f", so it wins. */
    ck_assert_str_eq(route(t, "a.com", "/api/x", 0), "api-b@f");
    ck_assert_str_eq(route(t, "a.com", "/index", 0), "host@f");
    ck_assert_str_eq(route(t, "z.com", "/index", 0), "any@f");
    ck_assert_str_eq(route(t, "", "/", 0), "any@f");
    table_unref(t);
}
END_TEST

START_TEST(match_respects_entrypoints)
{
    struct table *t = make(sample, 5);
    ck_assert_str_eq(route(t, "b.com", "/", 1), "second@f");
    ck_assert_str_eq(route(t, "b.com", "/", 0), "any@f");
    ck_assert_str_eq(route(t, "a.com", "/api", 1), "any@f"); /* others are on ep 0 only */
    ck_assert_ptr_null(route(t, "a.com", "/api", 2));
    ck_assert_ptr_null(route(t, "a.com", "/api", 63));
    ck_assert_ptr_null(route(t, "a.com", "/api", 64));
    ck_assert_ptr_null(route(t, "a.com", "/api", UINT32_MAX));
    table_unref(t);
}
END_TEST

START_TEST(no_match_and_empty_table)
{
    struct table *t = make(sample, 2);
    ck_assert_ptr_null(route(t, "c.com", "/", 0));
    table_unref(t);
    t = make(NULL, 0);
    ck_assert_uint_eq(table_nrouters(t), 0);
    ck_assert_ptr_null(route(t, "a.com", "/", 0));
    table_unref(t);
}
END_TEST

START_TEST(accessors)
{
    struct table *t = make(sample, 1);
    ck_assert_uint_eq(table_nservers(t), 1);
    ck_assert_uint_eq(table_nservices(t), 1);
    ck_assert_str_eq(table_server_at(t, 0)->url, "http://127.0.0.1:1");
    ck_assert_ptr_null(table_server_at(t, 1));
    ck_assert_str_eq(table_service_at(t, 0)->name, "svc@test");
    ck_assert_ptr_null(table_service_at(t, 1));
    ck_assert_ptr_eq(table_service_find(t, "svc@test"), table_service_at(t, 0));
    ck_assert_ptr_null(table_service_find(t, "svc@other"));
    ck_assert_ptr_null(table_service_find(t, ""));
    ck_assert_ptr_eq(table_router_at(t, 0)->service, table_service_at(t, 0));
    table_unref(t);
}
END_TEST

START_TEST(refcount_keeps_table_alive)
{
    struct table *t = make(sample, 5);
    table_ref(t);
    table_ref(t);
    table_unref(t);
    table_unref(t);
    /* One reference left: still readable (ASan would flag a use after free). */
    ck_assert_str_eq(route(t, "b.com", "/", 1), "second@f");
    table_unref(t);
    table_unref(NULL);
}
END_TEST

enum { NTHREADS = 8, NROUNDS = 2000 };

static void *reader(void *arg)
{
    struct table *t = arg;
    for (int i = 0; i < NROUNDS; i++) {
        table_ref(t);
        const char *n = route(t, i % 2 ? "a.com" : "b.com", "/x", 0);
        ck_assert_str_eq(n, i % 2 ? "host@f" : "any@f");
        table_unref(t);
    }
    table_unref(t); /* the reference the creator handed to this thread */
    return NULL;
}

START_TEST(concurrent_readers_release_last)
{
    pthread_t th[NTHREADS];
    struct table *t = make(sample, 5);
    for (int i = 0; i < NTHREADS; i++) {
        table_ref(t);
        ck_assert_int_eq(pthread_create(&th[i], NULL, reader, t), 0);
    }
    table_unref(t); /* the creator lets go first; the last reader frees */
    for (int i = 0; i < NTHREADS; i++) {
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    }
}
END_TEST

START_TEST(many_routers)
{
    enum { N = 2000 };
    static struct rdef defs[N];
    for (int i = 0; i < N; i++) {
        snprintf(defs[i].name, sizeof defs[i].name, "r%04d@f", i);
        snprintf(defs[i].rule, sizeof defs[i].rule, "Host(`h%d.example.com`)", i);
        defs[i].priority = (int64_t)strlen(defs[i].rule);
        defs[i].entrypoints = 1;
    }
    struct table *t = make(defs, N);
    ck_assert_str_eq(route(t, "h1999.example.com", "/", 0), "r1999@f");
    ck_assert_str_eq(route(t, "h7.example.com", "/", 0), "r0007@f");
    ck_assert_ptr_null(route(t, "h2000.example.com", "/", 0));
    table_unref(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("table_table");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, assemble_sorts_by_priority_then_name);
    tcase_add_test(tc, match_first_in_priority_order);
    tcase_add_test(tc, match_respects_entrypoints);
    tcase_add_test(tc, no_match_and_empty_table);
    tcase_add_test(tc, accessors);
    tcase_add_test(tc, refcount_keeps_table_alive);
    tcase_add_test(tc, concurrent_readers_release_last);
    tcase_add_test(tc, many_routers);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
