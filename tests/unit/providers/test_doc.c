/* Unit tests of providers/doc: parsing, marks, aliases, refusals and typed reads. */
#include <errno.h>

#include "providers/doc.h"
#include "tests/unit/providers/helpers.h"

static struct diags d;
static struct doc doc;

static void setup(void)
{
    diags_init(&d);
    memset(&doc, 0, sizeof doc);
}

static void teardown(void)
{
    doc_fini(&doc);
    diags_fini(&d);
}

static int parse(const char *text)
{
    doc_fini(&doc);
    return doc_parse(&doc, "t.yaml", text, strlen(text), 0, &d);
}

START_TEST(marks_and_shapes)
{
    ck_assert_int_eq(parse("a:\n  b: [1, two]\n  c: 'x'\n"), 0);
    const struct doc_node *r = doc.root;
    ck_assert_int_eq(r->kind, DOC_MAP);
    ck_assert_uint_eq(r->n, 1);
    ck_assert_str_eq(r->pairs[0].key->str, "a");
    ck_assert_uint_eq(r->pairs[0].key->line, 1);
    ck_assert_uint_eq(r->pairs[0].key->col, 1);
    const struct doc_node *a = r->pairs[0].value;
    ck_assert_int_eq(a->kind, DOC_MAP);
    ck_assert_uint_eq(a->line, 2);
    ck_assert_uint_eq(a->col, 3);
    const struct doc_node *b = doc_map_get(a, "b");
    ck_assert_int_eq(b->kind, DOC_SEQ);
    ck_assert_uint_eq(b->n, 2);
    ck_assert_uint_eq(b->line, 2);
    ck_assert_uint_eq(b->col, 6);
    ck_assert_str_eq(b->items[1]->str, "two");
    ck_assert_uint_eq(b->items[1]->col, 10);
    ck_assert(b->items[1]->plain);
    const struct doc_node *c = doc_map_get(a, "c");
    ck_assert_str_eq(c->str, "x");
    ck_assert(!c->plain);
    ck_assert_str_eq(c->file, "t.yaml");
    ck_assert_ptr_null(doc_map_get(a, "zz"));
    ck_assert_ptr_null(doc_map_get(c, "x"));
}
END_TEST

START_TEST(empty_streams)
{
    ck_assert_int_eq(parse(""), 0);
    ck_assert_ptr_null(doc.root);
    ck_assert_int_eq(parse("# only a comment\n"), 0);
    ck_assert_ptr_null(doc.root);
    ck_assert_int_eq(parse("---\n"), 0);
    ck_assert(doc_is_null(doc.root));
    ck_assert_uint_eq(d.n, 0);
}
END_TEST

START_TEST(syntax_error)
{
    ck_assert_int_eq(parse("a: 1\nb: [1, 2\nc: 3\n"), -EINVAL);
    ck_assert_ptr_null(doc.root);
    ck_assert_uint_eq(d.nerrors, 1);
    ck_assert_str_eq(d.v[0].file, "t.yaml");
    ck_assert_uint_eq(d.v[0].line, 3);
    ck_assert(strncmp(d.v[0].msg, "yaml: ", 6) == 0);
    char buf[512];
    diag_format(&d.v[0], buf, sizeof buf);
    ck_assert_msg(strncmp(buf, "t.yaml:3:", 9) == 0, "%s", buf);
}
END_TEST

START_TEST(tab_indentation_is_an_error)
{
    ck_assert_int_eq(parse("a:\n\tb: 1\n"), -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "t.yaml:2:1: yaml: found character that cannot start"));
}
END_TEST

START_TEST(invalid_utf8_has_a_position)
{
    ck_assert_int_eq(parse("a: 1\nb: \xff\n"), -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "t.yaml:2:4: yaml: invalid"));
}
END_TEST

START_TEST(aliases_are_resolved)
{
    ck_assert_int_eq(parse("base: &b {x: 1}\nother: *b\nlist: [*b, *b]\n"), 0);
    const struct doc_node *other = doc_map_get(doc.root, "other");
    ck_assert_int_eq(other->kind, DOC_MAP);
    ck_assert_str_eq(doc_map_get(other, "x")->str, "1");
    ck_assert_ptr_eq(other, doc_map_get(doc.root, "base"));
    ck_assert_ptr_eq(doc_map_get(doc.root, "list")->items[1], other);
}
END_TEST

START_TEST(merge_keys)
{
    ck_assert_int_eq(parse("base: &b {x: 1, y: 2}\n"
                           "more: &m {z: 5}\n"
                           "other:\n  <<: [*b, *m]\n  y: 3\n"),
                     0);
    const struct doc_node *other = doc_map_get(doc.root, "other");
    ck_assert_uint_eq(other->n, 3);
    ck_assert_str_eq(doc_map_get(other, "x")->str, "1");
    ck_assert_str_eq(doc_map_get(other, "y")->str, "3");
    ck_assert_str_eq(doc_map_get(other, "z")->str, "5");
    ck_assert_ptr_null(doc_map_get(other, "<<"));
}
END_TEST

START_TEST(bad_merge_key)
{
    ck_assert_int_eq(parse("a:\n  <<: 5\n"), -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "yaml: a merge key (<<) needs a map"));
}
END_TEST

START_TEST(undefined_alias)
{
    ck_assert_int_eq(parse("a: *nope\n"), -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "t.yaml:1:4: yaml: found undefined alias"));
}
END_TEST

START_TEST(recursive_alias)
{
    ck_assert_int_eq(parse("a: &x\n  b: *x\n"), -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "recursive alias"));
}
END_TEST

START_TEST(billion_laughs)
{
    /* 9 levels of 10 references: 10^9 nodes once expanded. */
    char text[4096];
    size_t n = (size_t)sprintf(text, "l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n");
    for (int i = 1; i <= 9; i++) {
        n += (size_t)sprintf(text + n, "l%d: &l%d [", i, i);
        for (int j = 0; j < 10; j++) {
            n += (size_t)sprintf(text + n, "%s*l%d", j ? ", " : "", i - 1);
        }
        n += (size_t)sprintf(text + n, "]\n");
    }
    ck_assert_int_eq(parse(text), -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "document too large once aliases are expanded"));
}
END_TEST

START_TEST(multi_document_refused)
{
    ck_assert_int_eq(parse("a: 1\n---\nb: 2\n"), -EINVAL);
    ck_assert(has_diag(&d, "t.yaml:2:1: yaml: multiple documents in one file are not supported"));
}
END_TEST

START_TEST(duplicate_key)
{
    ck_assert_int_eq(parse("a: 1\nb: 2\na: 3\n"), -EINVAL);
    ck_assert(has_diag(&d, "t.yaml:3:1: yaml: key \"a\" already defined at line 1"));
}
END_TEST

START_TEST(non_scalar_key)
{
    ck_assert_int_eq(parse("? [a, b]\n: 1\n"), -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "yaml: map keys must be scalars"));
}
END_TEST

START_TEST(deep_nesting_refused)
{
    char text[1024];
    memset(text, '[', 300);
    memset(text + 300, ']', 300);
    text[600] = '\0';
    ck_assert_int_eq(parse(text), -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "nesting deeper than 200 levels"));
}
END_TEST

START_TEST(go_template_refused)
{
    const char *t = "http:\n  routers:\n    r{{ $i }}: {}\n";
    ck_assert_int_eq(doc_parse(&doc, "t.yaml", t, strlen(t), DOC_NO_TEMPLATES, &d), -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "t.yaml:3:6: Go templates are not supported"));
    doc_fini(&doc);
    /* Without the flag (static config: docker.defaultRule holds a template) it is text. */
    ck_assert_int_eq(parse("rule: \"Host(`{{ normalize .Name }}`)\"\n"), 0);
}
END_TEST

START_TEST(template_fixture_refused)
{
    ck_assert_int_eq(doc_load_file(&doc, fixture("template_file.yml"), DOC_NO_TEMPLATES, &d),
                     -EINVAL);
    ck_assert_uint_eq(d.nerrors, 1);
    ck_assert_uint_eq(d.v[0].line, 3);
    ck_assert_uint_eq(d.v[0].col, 3);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "Go templates are not supported"));
}
END_TEST

START_TEST(toml_refused)
{
    ck_assert_int_eq(doc_load_file(&doc, fixture("simple_muxer.toml"), 0, &d), -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "simple_muxer.toml: TOML is not supported, use YAML"));
}
END_TEST

START_TEST(missing_file)
{
    char *buf;
    size_t len;
    ck_assert_int_eq(doc_read_file("/nonexistent/x.yaml", &buf, &len), -ENOENT);
    ck_assert_int_eq(doc_load_file(&doc, "/nonexistent/x.yaml", 0, &d), -ENOENT);
    ck_assert(has_diag(&d, "/nonexistent/x.yaml: cannot read: No such file or directory"));
    ck_assert_int_eq(doc_read_file("/", &buf, &len), -EISDIR);
}
END_TEST

START_TEST(load_file_marks_use_path)
{
    ck_assert_int_eq(doc_load_file(&doc, fixture("simple_file_01.yml"), 0, &d), 0);
    ck_assert_str_eq(doc.root->file, fixture("simple_file_01.yml"));
    ck_assert_str_eq(doc.root->pairs[1].key->str, "tls");
    ck_assert_uint_eq(doc.root->pairs[1].key->line, 35);
    ck_assert_uint_eq(doc_map_get(doc.root, "tls")->line, 36); /* a map starts at its 1st key */
}
END_TEST

/* --- typed reads --- */

static const struct doc_node *val(const char *yaml)
{
    ck_assert_int_eq(parse(yaml), 0);
    return doc_map_get(doc.root, "v");
}

START_TEST(read_str)
{
    const char *s;
    ck_assert_int_eq(doc_read_str(val("v: hello\n"), "p", &s, &d), 0);
    ck_assert_str_eq(s, "hello");
    ck_assert_int_eq(doc_read_str(val("v: 42\n"), "p", &s, &d), 0);
    ck_assert_str_eq(s, "42");
    ck_assert_int_eq(doc_read_str(val("v: ''\n"), "p", &s, &d), 0);
    ck_assert_str_eq(s, "");
    ck_assert_int_eq(doc_read_str(val("v:\n"), "p", &s, &d), 1);
    ck_assert_int_eq(doc_read_str(val("v: ~\n"), "p", &s, &d), 1);
    ck_assert_int_eq(doc_read_str(NULL, "p", &s, &d), 1);
    ck_assert_uint_eq(d.n, 0);
    ck_assert_int_eq(doc_read_str(val("v: {a: 1}\n"), "x.v", &s, &d), -EINVAL);
    ck_assert(has_diag(&d, "t.yaml:1:4: x.v: expected a string, got a map"));
    ck_assert_int_eq(doc_read_str(val("v: [1]\n"), "x.v", &s, &d), -EINVAL);
    ck_assert(has_diag(&d, "t.yaml:1:4: x.v: expected a string, got a list"));
    ck_assert_int_eq(doc_read_str(val("v: \"a\\0b\"\n"), "x.v", &s, &d), -EINVAL);
    ck_assert(has_diag(&d, "t.yaml:1:4: x.v: string contains a NUL byte"));
}
END_TEST

START_TEST(read_bool)
{
    static const char *const yes[] = {"true", "True", "TRUE", "1", "t", "T", "\"true\""};
    static const char *const no[] = {"false", "False", "FALSE", "0", "f", "F", "'false'"};
    char text[64];
    bool b;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        snprintf(text, sizeof text, "v: %s\n", yes[i]);
        b = false;
        ck_assert_int_eq(doc_read_bool(val(text), "p", &b, &d), 0);
        ck_assert_msg(b, "%s", yes[i]);
        snprintf(text, sizeof text, "v: %s\n", no[i]);
        ck_assert_int_eq(doc_read_bool(val(text), "p", &b, &d), 0);
        ck_assert_msg(!b, "%s", no[i]);
    }
    ck_assert_int_eq(doc_read_bool(val("v:\n"), "p", &b, &d), 1);
    ck_assert_uint_eq(d.n, 0);
    ck_assert_int_eq(doc_read_bool(val("v: yes\n"), "a.b", &b, &d), -EINVAL);
    ck_assert(has_diag(&d, "t.yaml:1:4: a.b: expected true or false, got \"yes\""));
    ck_assert_int_eq(doc_read_bool(val("v: on\n"), "a.b", &b, &d), -EINVAL);
    ck_assert_int_eq(doc_read_bool(val("v: [true]\n"), "a.b", &b, &d), -EINVAL);
}
END_TEST

START_TEST(read_int)
{
    int64_t x;
    ck_assert_int_eq(doc_read_int(val("v: 42\n"), "p", INT64_MIN, INT64_MAX, &x, &d), 0);
    ck_assert_int_eq(x, 42);
    ck_assert_int_eq(doc_read_int(val("v: -7\n"), "p", INT64_MIN, INT64_MAX, &x, &d), 0);
    ck_assert_int_eq(x, -7);
    ck_assert_int_eq(doc_read_int(val("v: +7\n"), "p", INT64_MIN, INT64_MAX, &x, &d), 0);
    ck_assert_int_eq(x, 7);
    ck_assert_int_eq(doc_read_int(val("v: \"42\"\n"), "p", INT64_MIN, INT64_MAX, &x, &d), 0);
    ck_assert_int_eq(x, 42);
    ck_assert_int_eq(doc_read_int(val("v: 0x1F\n"), "p", INT64_MIN, INT64_MAX, &x, &d), 0);
    ck_assert_int_eq(x, 31);
    ck_assert_int_eq(doc_read_int(val("v: 0o17\n"), "p", INT64_MIN, INT64_MAX, &x, &d), 0);
    ck_assert_int_eq(x, 15);
    ck_assert_int_eq(
        doc_read_int(val("v: 9223372036854775807\n"), "p", INT64_MIN, INT64_MAX, &x, &d), 0);
    ck_assert_int_eq(x, INT64_MAX);
    ck_assert_int_eq(
        doc_read_int(val("v: -9223372036854775808\n"), "p", INT64_MIN, INT64_MAX, &x, &d), 0);
    ck_assert_int_eq(x, INT64_MIN);
    ck_assert_int_eq(doc_read_int(val("v:\n"), "p", 0, 1, &x, &d), 1);
    ck_assert_uint_eq(d.n, 0);
    ck_assert_int_eq(doc_read_int(val("v: abc\n"), "r.priority", 0, 10, &x, &d), -EINVAL);
    ck_assert(has_diag(&d, "t.yaml:1:4: r.priority: expected an integer, got \"abc\""));
    ck_assert_int_eq(doc_read_int(val("v: 1.5\n"), "p", 0, 10, &x, &d), -EINVAL);
    ck_assert_int_eq(doc_read_int(val("v: 0x\n"), "p", 0, 10, &x, &d), -EINVAL);
    ck_assert_int_eq(doc_read_int(val("v: 0o8\n"), "p", 0, 10, &x, &d), -EINVAL);
    ck_assert_int_eq(doc_read_int(val("v: 11\n"), "p", 0, 10, &x, &d), -EINVAL);
    ck_assert(has_diag(&d, "t.yaml:1:4: p: 11 is out of range (0 to 10)"));
    ck_assert_int_eq(
        doc_read_int(val("v: 9223372036854775808\n"), "p", INT64_MIN, INT64_MAX, &x, &d), -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "9223372036854775808 is out of range"));
}
END_TEST

START_TEST(read_duration)
{
    uint64_t ms;
    ck_assert_int_eq(doc_read_duration_ms(val("v: 1m30s\n"), "p", &ms, &d), 0);
    ck_assert_uint_eq(ms, 90000);
    ck_assert_int_eq(doc_read_duration_ms(val("v: 42\n"), "p", &ms, &d), 0);
    ck_assert_uint_eq(ms, 42000);
    ck_assert_int_eq(doc_read_duration_ms(val("v: 500ms\n"), "p", &ms, &d), 0);
    ck_assert_uint_eq(ms, 500);
    ck_assert_int_eq(doc_read_duration_ms(val("v:\n"), "p", &ms, &d), 1);
    ck_assert_uint_eq(d.n, 0);
    ck_assert_int_eq(doc_read_duration_ms(val("v: soon\n"), "t.readTimeout", &ms, &d), -EINVAL);
    ck_assert(has_diag(&d, "t.yaml:1:4: t.readTimeout: invalid duration \"soon\" (examples: "
                           "500ms, 10s, 1m30s, or 42 for seconds)"));
    ck_assert_int_eq(doc_read_duration_ms(val("v: -5s\n"), "p", &ms, &d), -EINVAL);
    ck_assert(has_diag(&d, "t.yaml:1:4: p: duration \"-5s\" is negative or too large"));
    ck_assert_int_eq(doc_read_duration_ms(val("v: {a: 1}\n"), "p", &ms, &d), -EINVAL);
}
END_TEST

START_TEST(read_strlist)
{
    char **v;
    size_t n;
    ck_assert_int_eq(doc_read_strlist(val("v: [web, websecure]\n"), "p", &v, &n, &d), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(v[0], "web");
    ck_assert_str_eq(v[1], "websecure");
    doc_strlist_free(v, n);
    ck_assert_int_eq(doc_read_strlist(val("v: \"web, websecure,,\"\n"), "p", &v, &n, &d), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(v[1], "websecure");
    doc_strlist_free(v, n);
    ck_assert_int_eq(doc_read_strlist(val("v: []\n"), "p", &v, &n, &d), 0);
    ck_assert_uint_eq(n, 0);
    doc_strlist_free(v, n);
    ck_assert_int_eq(doc_read_strlist(val("v:\n"), "p", &v, &n, &d), 1);
    ck_assert_uint_eq(d.n, 0);
    ck_assert_int_eq(doc_read_strlist(val("v: {a: b}\n"), "r.entryPoints", &v, &n, &d), -EINVAL);
    ck_assert(has_diag(&d, "t.yaml:1:4: r.entryPoints: expected a list, got a map"));
    ck_assert_int_eq(doc_read_strlist(val("v:\n  - a\n  - {b: c}\n  -\n"), "r.m", &v, &n, &d),
                     -EINVAL);
    ck_assert(has_diag(&d, "t.yaml:3:5: r.m[1]: expected a string, got a map"));
    ck_assert(has_diag(&d, "t.yaml:4:4: r.m[2]: expected a string, got null"));
}
END_TEST

START_TEST(kind_names)
{
    ck_assert_str_eq(doc_kind_name(NULL), "null");
    ck_assert_str_eq(doc_kind_name(val("v: x\n")), "a string");
    ck_assert_str_eq(doc_kind_name(val("v: 'null'\n")), "a string");
    ck_assert_str_eq(doc_kind_name(val("v: null\n")), "null");
    ck_assert_str_eq(doc_kind_name(val("v: []\n")), "a list");
    ck_assert_str_eq(doc_kind_name(val("v: {}\n")), "a map");
}
END_TEST

static Suite *doc_suite(void)
{
    Suite *s = suite_create("providers/doc");
    TCase *tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, marks_and_shapes);
    tcase_add_test(tc, empty_streams);
    tcase_add_test(tc, syntax_error);
    tcase_add_test(tc, tab_indentation_is_an_error);
    tcase_add_test(tc, invalid_utf8_has_a_position);
    tcase_add_test(tc, aliases_are_resolved);
    tcase_add_test(tc, merge_keys);
    tcase_add_test(tc, bad_merge_key);
    tcase_add_test(tc, undefined_alias);
    tcase_add_test(tc, recursive_alias);
    tcase_add_test(tc, billion_laughs);
    tcase_add_test(tc, multi_document_refused);
    tcase_add_test(tc, duplicate_key);
    tcase_add_test(tc, non_scalar_key);
    tcase_add_test(tc, deep_nesting_refused);
    tcase_add_test(tc, go_template_refused);
    tcase_add_test(tc, template_fixture_refused);
    tcase_add_test(tc, toml_refused);
    tcase_add_test(tc, missing_file);
    tcase_add_test(tc, load_file_marks_use_path);
    suite_add_tcase(s, tc);
    tc = tcase_create("typed");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, read_str);
    tcase_add_test(tc, read_bool);
    tcase_add_test(tc, read_int);
    tcase_add_test(tc, read_duration);
    tcase_add_test(tc, read_strlist);
    tcase_add_test(tc, kind_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(doc_suite());
}
