/* Unit tests of providers/schema: key lookup, unknown keys, warnings, known-key patterns. */
#include <stddef.h>

#include "providers/schema.h"
#include "tests/unit/providers/helpers.h"

struct obj {
    char *name;
    bool on;
    uint32_t count;
    uint64_t big;
    uint64_t wait_ms;
    char **list;
    uint32_t n_list;
};

static const struct schema_row inner_rows[] = {
    SCHEMA_RANGE("count", schema_u32, struct obj, count, 1, 10),
    {0},
};

static const struct schema_row rows[] = {
    SCHEMA_FIELD("name", schema_str, struct obj, name),
    SCHEMA_FIELD("on", schema_bool, struct obj, on),
    SCHEMA_FIELD("big", schema_u64, struct obj, big),
    SCHEMA_FIELD("wait", schema_dur, struct obj, wait_ms),
    SCHEMA_LIST("list", struct obj, list, n_list),
    SCHEMA_SUB("inner", inner_rows),
    SCHEMA_TODO("later", "a b.c d.*.e f.**"),
    SCHEMA_TODO("anything", NULL),
    SCHEMA_EACH_TODO("things", "x"),
    {0},
};

static struct diags d;
static struct doc doc;
static struct obj o;

static void setup(void)
{
    diags_init(&d);
    memset(&doc, 0, sizeof doc);
    memset(&o, 0, sizeof o);
}

static void teardown(void)
{
    free(o.name);
    doc_strlist_free(o.list, o.n_list);
    doc_fini(&doc);
    diags_fini(&d);
}

static void run(const char *yaml)
{
    struct schema_ctx c;
    ck_assert_int_eq(doc_parse(&doc, "s.yaml", yaml, strlen(yaml), 0, &d), 0);
    schema_ctx_init(&c, &d, "");
    schema_map(&c, doc.root, &o, rows);
    ck_assert_uint_eq(c.plen, 0);
}

START_TEST(typed_fields)
{
    run("name: x\non: true\nbig: 12345678901\nwait: 2s\nlist: [a, b]\ninner: {count: 3}\n");
    ck_assert_uint_eq(d.n, 0);
    ck_assert_str_eq(o.name, "x");
    ck_assert(o.on);
    ck_assert_uint_eq(o.big, 12345678901u);
    ck_assert_uint_eq(o.wait_ms, 2000);
    ck_assert_uint_eq(o.n_list, 2);
    ck_assert_str_eq(o.list[1], "b");
    ck_assert_uint_eq(o.count, 3);
}
END_TEST

START_TEST(keys_are_case_insensitive)
{
    run("NAME: x\nInner: {COUNT: 4}\n");
    ck_assert_uint_eq(d.n, 0);
    ck_assert_str_eq(o.name, "x");
    ck_assert_uint_eq(o.count, 4);
}
END_TEST

START_TEST(same_key_twice_in_two_cases)
{
    run("name: x\nName: y\n");
    ck_assert(has_diag(&d, "s.yaml:2:1: Name: key given twice (keys are case-insensitive)"));
    ck_assert_str_eq(o.name, "x");
}
END_TEST

START_TEST(unknown_key_names_the_path)
{
    run("inner:\n  count: 1\n  cuont: 2\n");
    ck_assert_uint_eq(d.nerrors, 1);
    ck_assert(has_diag(&d, "s.yaml:3:3: inner.cuont: unknown key"));
}
END_TEST

START_TEST(type_errors)
{
    run("name: [a]\ninner: 5\nbig: -1\ninner2: 1\n");
    ck_assert(has_diag(&d, "s.yaml:1:7: name: expected a string, got a list"));
    ck_assert(has_diag(&d, "s.yaml:2:8: inner: expected a map, got a string"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "s.yaml:3:6: big: -1 is out of range"));
    ck_assert(has_diag(&d, "s.yaml:4:1: inner2: unknown key"));
    ck_assert_uint_eq(d.nerrors, 4);
}
END_TEST

START_TEST(range)
{
    run("inner: {count: 11}\n");
    ck_assert(has_diag(&d, "s.yaml:1:16: inner.count: 11 is out of range (1 to 10)"));
}
END_TEST

START_TEST(unsupported_warns_and_checks_keys)
{
    run("later:\n"
        "  a: 1\n"
        "  b: {c: 2}\n"
        "  d:\n"
        "    any: {e: 3}\n"
        "  f: {deep: {deeper: [1, {x: 2}]}}\n");
    ck_assert_uint_eq(d.nerrors, 0);
    ck_assert(has_diag(&d, "s.yaml:1:1: later: recognised Traefik key, not supported yet "
                           "(warning)"));
    ck_assert_uint_eq(d.n, 1);
}
END_TEST

START_TEST(unsupported_unknown_inside)
{
    run("later:\n  b: {c: 2, cc: 3}\n  d:\n    n: {e: 1, ee: [{z: 1}]}\n  zz: 1\n");
    ck_assert(has_diag(&d, "s.yaml:2:13: later.b.cc: unknown key"));
    ck_assert(has_diag(&d, "s.yaml:4:15: later.d.n.ee: unknown key"));
    ck_assert(has_diag(&d, "s.yaml:5:3: later.zz: unknown key"));
    ck_assert_uint_eq(d.nerrors, 3);
}
END_TEST

START_TEST(unsupported_lists_are_transparent)
{
    run("later:\n  b:\n    - c: 1\n    - c: 2\n      q: 3\n");
    ck_assert(has_diag(&d, "s.yaml:5:7: later.b[1].q: unknown key"));
    ck_assert_uint_eq(d.nerrors, 1);
}
END_TEST

START_TEST(unsupported_accepting_anything)
{
    run("anything: {x: {y: [1, {z: 2}]}}\n");
    ck_assert_uint_eq(d.nerrors, 0);
    ck_assert_uint_eq(d.n, 1);
}
END_TEST

START_TEST(each_unsupported_warns_per_object)
{
    run("things:\n  one: {x: 1}\n  two: {y: 1}\n");
    ck_assert(has_diag(&d, "s.yaml:2:3: things.one: recognised Traefik key, not supported yet "
                           "(warning)"));
    ck_assert(has_diag(&d, "s.yaml:3:3: things.two: recognised Traefik key, not supported yet "
                           "(warning)"));
    ck_assert(has_diag(&d, "s.yaml:3:9: things.two.y: unknown key"));
}
END_TEST

START_TEST(null_values_keep_defaults)
{
    o.count = 7;
    run("name:\ninner:\nlist:\n");
    ck_assert_uint_eq(d.n, 0);
    ck_assert_ptr_null(o.name);
    ck_assert_uint_eq(o.count, 7);
}
END_TEST

START_TEST(find_is_case_insensitive)
{
    ck_assert_int_eq(doc_parse(&doc, "s.yaml", "Address: x\n", 11, 0, &d), 0);
    ck_assert_str_eq(schema_find(doc.root, "address")->str, "x");
    ck_assert_ptr_null(schema_find(doc.root, "port"));
    ck_assert_ptr_null(schema_find(NULL, "port"));
}
END_TEST

START_TEST(long_paths_are_cut_not_overflowed)
{
    struct schema_ctx c;
    char key[300];
    schema_ctx_init(&c, &d, "");
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    for (int i = 0; i < 10; i++) {
        schema_push_key(&c, key);
    }
    ck_assert_uint_eq(c.plen, sizeof c.path - 1);
    ck_assert_uint_eq(strlen(c.path), sizeof c.path - 1);
    schema_pop(&c, 0);
    ck_assert_str_eq(c.path, "");
}
END_TEST

static Suite *schema_suite(void)
{
    Suite *s = suite_create("providers/schema");
    TCase *tc = tcase_create("schema");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, typed_fields);
    tcase_add_test(tc, keys_are_case_insensitive);
    tcase_add_test(tc, same_key_twice_in_two_cases);
    tcase_add_test(tc, unknown_key_names_the_path);
    tcase_add_test(tc, type_errors);
    tcase_add_test(tc, range);
    tcase_add_test(tc, unsupported_warns_and_checks_keys);
    tcase_add_test(tc, unsupported_unknown_inside);
    tcase_add_test(tc, unsupported_lists_are_transparent);
    tcase_add_test(tc, unsupported_accepting_anything);
    tcase_add_test(tc, each_unsupported_warns_per_object);
    tcase_add_test(tc, null_values_keep_defaults);
    tcase_add_test(tc, find_is_case_insensitive);
    tcase_add_test(tc, long_paths_are_cut_not_overflowed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(schema_suite());
}
