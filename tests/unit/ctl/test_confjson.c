/* Unit tests of ctl/confjson.c: YAML to JSON trees, merging contributions, structural diff. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/confjson.h"
#include "node/base/diag.h"

static void json(const char *s, struct jv *j)
{
    ck_assert_int_eq(jv_parse(s, strlen(s), j), 0);
}

static void yaml(const char *s, struct jv *j)
{
    struct doc doc;
    struct diags d;
    diags_init(&d);
    ck_assert_int_eq(doc_parse(&doc, "t.yaml", s, strlen(s), 0, &d), 0);
    ck_assert_int_eq(confjson_from_doc(doc.root, j), 0);
    doc_fini(&doc);
    diags_fini(&d);
}

/* The diff of two JSON texts as printed; *n gets the line count. */
static char *diff_json(const struct jv *a, const struct jv *b, size_t *n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    *n = confjson_diff(f, a, b);
    fclose(f);
    return buf;
}

START_TEST(yaml_scalars_are_typed)
{
    struct jv j;
    char *buf = NULL;
    size_t len = 0;
    FILE *f;
    yaml("a: 10\nb: \"10\"\nc: true\nd: ~\ne: [x, -3]\nf: {}\n", &j);
    ck_assert_int_eq(jv_get(&j, "a")->t, JV_NUM);
    ck_assert_int_eq(jv_get(&j, "b")->t, JV_STR);
    ck_assert(jv_get(&j, "c")->t == JV_BOOL && jv_get(&j, "c")->b);
    ck_assert_int_eq(jv_get(&j, "d")->t, JV_NULL);
    ck_assert_int_eq(jv_get(&j, "e")->v[1].t, JV_NUM);
    f = open_memstream(&buf, &len);
    jv_print_json(f, &j);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "\"a\": 10,"));
    ck_assert_ptr_nonnull(strstr(buf, "\"b\": \"10\","));
    free(buf);
    jv_free(&j);
    ck_assert_int_eq(confjson_from_doc(NULL, &j), 0);
    ck_assert(j.t == JV_OBJ && j.n == 0);
    jv_free(&j);
}
END_TEST

START_TEST(equal_despite_form)
{
    /* What the API writes for a file: numbers typed, entryPoints a list, Traefik's key case,
     * empty values left out. */
    struct jv api, file;
    size_t n;
    char *out;
    json("{\"http\": {\"routers\": {\"web\": {\"rule\": \"Host(`a`)\", \"service\": \"s\","
         " \"entryPoints\": [\"web\", \"websecure\"], \"priority\": 10}},"
         " \"services\": {\"s\": {\"loadBalancer\": {\"servers\": [{\"url\": \"http://x\"}],"
         " \"passHostHeader\": false}}}}}",
         &api);
    yaml("http:\n"
         "  routers:\n"
         "    web:\n"
         "      Rule: \"Host(`a`)\"\n"
         "      service: s\n"
         "      entrypoints: web, websecure\n"
         "      priority: \"10\"\n"
         "      middlewares: []\n"
         "  services:\n"
         "    s:\n"
         "      loadBalancer:\n"
         "        servers:\n"
         "          - url: http://x\n"
         "        passHostHeader: False\n"
         "  middlewares: {}\n",
         &file);
    out = diff_json(&api, &file, &n);
    ck_assert_msg(n == 0, "unexpected diff:\n%s", out);
    ck_assert_str_eq(out, "");
    free(out);
    jv_free(&api);
    jv_free(&file);
}
END_TEST

START_TEST(differences_sorted_by_path)
{
    struct jv a, b;
    size_t n;
    char *out;
    json("{\"http\": {\"routers\": {\"web\": {\"rule\": \"Host(`a`)\", \"service\": \"s\"},"
         " \"old\": {\"rule\": \"Path(`/o`)\", \"service\": \"s\"}},"
         " \"services\": {\"s\": {\"loadBalancer\": {\"servers\": [{\"url\": \"http://x\"},"
         " {\"url\": \"http://y\"}]}}}}}",
         &a);
    json("{\"http\": {\"services\": {\"s\": {\"loadBalancer\": {\"servers\": [{\"url\": "
         "\"http://x\"}]}}}, \"routers\": {\"web\": {\"service\": \"s\", \"rule\": \"Host(`b`)\","
         " \"entryPoints\": [\"web\"]}}}}",
         &b);
    out = diff_json(&a, &b, &n);
    ck_assert_str_eq(out, "- http.routers.old.rule: \"Path(`/o`)\"\n"
                          "- http.routers.old.service: \"s\"\n"
                          "+ http.routers.web.entryPoints[0]: \"web\"\n"
                          "- http.routers.web.rule: \"Host(`a`)\"\n"
                          "+ http.routers.web.rule: \"Host(`b`)\"\n"
                          "- http.services.s.loadBalancer.servers[1].url: \"http://y\"\n");
    ck_assert_uint_eq(n, 6);
    free(out);
    jv_free(&a);
    jv_free(&b);
}
END_TEST

START_TEST(type_changes_and_scalars)
{
    struct jv a, b;
    size_t n;
    char *out;
    json("{\"x\": {\"k\": 1}, \"y\": true, \"z\": \"a,b\", \"w\": [\"a\", \"b\", \"c\"]}", &a);
    json("{\"x\": \"flat\", \"y\": \"TRUE\", \"z\": [\"a\", \"b\"], \"w\": \"a,b\"}", &b);
    out = diff_json(&a, &b, &n);
    ck_assert_str_eq(out, "- w[0]: \"a\"\n- w[1]: \"b\"\n- w[2]: \"c\"\n+ w: \"a,b\"\n"
                          "- x.k: 1\n+ x: \"flat\"\n");
    free(out);
    jv_free(&a);
    jv_free(&b);
}
END_TEST

START_TEST(merge_contributions)
{
    struct jv answer, merged, want;
    size_t n;
    char *out;
    json("{\"namespace\": \"docker\", \"revision\": 7, \"contributions\": ["
         "{\"node\": \"n1\", \"revision\": 5, \"config\": {\"http\": {\"routers\": {\"a\":"
         " {\"rule\": \"Host(`a`)\"}}, \"services\": {\"s\": {\"loadBalancer\": {}}}}}},"
         "{\"node\": \"n2\", \"revision\": 7, \"config\": {\"http\": {\"routers\": {\"a\":"
         " {\"rule\": \"Host(`other`)\"}, \"b\": {\"rule\": \"Host(`b`)\"}}}}}]}",
         &answer);
    ck_assert_int_eq(confjson_merge(&answer, &merged), 0);
    json("{\"http\": {\"routers\": {\"a\": {\"rule\": \"Host(`a`)\"}, \"b\": {\"rule\":"
         " \"Host(`b`)\"}}, \"services\": {\"s\": {\"loadBalancer\": {}}}}}",
         &want);
    out = diff_json(&want, &merged, &n);
    ck_assert_msg(n == 0, "merge differs:\n%s", out);
    free(out);
    jv_free(&merged);
    jv_free(&answer);
    json("{\"namespace\": \"api\", \"revision\": 0, \"contributions\": []}", &answer);
    ck_assert_int_eq(confjson_merge(&answer, &merged), 0);
    ck_assert(merged.t == JV_OBJ && merged.n == 0);
    jv_free(&merged);
    jv_free(&answer);
    jv_free(&want);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ctl_confjson");
    TCase *tc = tcase_create("confjson");
    SRunner *sr;
    int failed;
    tcase_add_test(tc, yaml_scalars_are_typed);
    tcase_add_test(tc, equal_despite_form);
    tcase_add_test(tc, differences_sorted_by_path);
    tcase_add_test(tc, type_changes_and_scalars);
    tcase_add_test(tc, merge_contributions);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
