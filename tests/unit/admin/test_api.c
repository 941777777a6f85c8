/* Unit tests of node/admin: json.c's writer, and api_http_serve() over a table compiled from
 * YAML (statuses, diagnostics owned by the right object, Traefik's key spellings). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "node/admin/api_http.h"
#include "node/admin/json.h"
#include "node/base/diag.h"
#include "node/node.h"
#include "node/table/compile.h"
#include "providers/decode.h"

START_TEST(writer_commas_nesting_escapes)
{
    struct jw w;
    size_t len;
    char *s;
    jw_init(&w);
    jw_obj(&w);
    jw_kstr(&w, "a", "q\"b\\\n\x01");
    jw_key(&w, "l");
    jw_arr(&w);
    jw_int(&w, -3);
    jw_bool(&w, true);
    jw_null(&w);
    jw_obj(&w);
    jw_end(&w);
    jw_arr(&w);
    jw_aend(&w);
    jw_aend(&w);
    jw_kint(&w, "n", 7);
    jw_end(&w);
    s = jw_finish(&w, &len);
    ck_assert_str_eq(s, "{\"a\":\"q\\\"b\\\\\\n\\u0001\",\"l\":[-3,true,null,{},[]],\"n\":7}");
    ck_assert_uint_eq(len, strlen(s));
    free(s);
}
END_TEST

struct fixture {
    Concord__Config__Config *cfg;
    struct table *t;
    struct diags d;
    struct table_source src;
    struct node_view v;
};

static const char *const eps[] = {"web"};

static void setup(struct fixture *f, const char *yaml)
{
    struct table_compile_opts o = {.entrypoints = eps, .n_entrypoints = 1, .generation = 5};
    struct table_source src = {.ns = "file"};
    diags_init(&f->d);
    ck_assert_int_eq(decode_dynamic_string("t.yml", yaml, strlen(yaml), &f->cfg, &f->d), 0);
    src.cfg = f->cfg;
    ck_assert_int_eq(table_compile(&src, 1, &o, &f->t, &f->d), 0);
    f->src = src;
    f->v = (struct node_view){.table = f->t, .srcs = &f->src, .nsrcs = 1, .diags = &f->d,
                              .entrypoints = eps, .n_entrypoints = 1};
}

static void teardown(struct fixture *f)
{
    table_unref(f->t);
    decode_config_free(f->cfg);
    diags_fini(&f->d);
}

/* GETs `path`, expects `status`, returns the body (malloc'd). */
static char *get(struct fixture *f, const char *path, int status)
{
    struct api_reply r;
    const char *q = strchr(path, '?');
    size_t plen = q ? (size_t)(q - path) : strlen(path);
    ck_assert(api_http_serve(&f->v, true, path, plen, q ? q + 1 : "", q ? strlen(q + 1) : 0, &r));
    ck_assert_msg(r.status == status, "%s: %d %s", path, r.status, r.body);
    ck_assert_ptr_nonnull(r.body);
    return r.body;
}

static void contains(const char *body, const char *want)
{
    ck_assert_msg(strstr(body, want) != NULL, "%s not in %s", want, body);
}

START_TEST(dotted_names_own_their_diagnostics)
{
    struct fixture f;
    char *b;
    setup(&f,
          "http:\n"
          "  routers:\n"
          "    a:\n      rule: \"Host(`a`)\"\n      service: s\n"
          "    a.b:\n      rule: \"Host(`b`\"\n      service: s\n"
          "  services:\n"
          "    s:\n      loadBalancer:\n        servers:\n          - url: http://10.0.0.1:80\n");
    b = get(&f, "/api/http/routers/a@file", 200);
    contains(b, "\"status\":\"enabled\"");
    ck_assert_ptr_null(strstr(b, "\"error\""));
    free(b);
    b = get(&f, "/api/http/routers/a.b%40file", 200);
    contains(b, "\"status\":\"disabled\"");
    contains(b, "http.routers.a.b.rule");
    free(b);
    b = get(&f, "/api/overview", 200);
    contains(b, "\"routers\":{\"total\":2,\"warnings\":0,\"errors\":1}");
    contains(b, "\"tableGeneration\":5");
    free(b);
    teardown(&f);
}
END_TEST

START_TEST(traefik_key_spellings)
{
    struct fixture f;
    char *b;
    setup(&f, "http:\n"
              "  middlewares:\n"
              "    h:\n      headers:\n        forceSTSHeader: true\n"
              "        customBrowserXSSValue: \"1\"\n"
              "        customRequestHeaders:\n          X-A: \"1\"\n          X-B: \"\"\n"
              "    ip:\n      ipAllowList:\n        sourceRange: [10.0.0.0/8]\n"
              "        ipStrategy:\n          excludedIPs: [10.1.0.0/16]\n"
              "    sp:\n      stripPrefix:\n        prefixes: [/x]\n        forceSlash: false\n");
    b = get(&f, "/api/http/middlewares/h@file", 200);
    contains(b, "\"headers\":{\"customRequestHeaders\":{\"X-A\":\"1\",\"X-B\":\"\"}");
    contains(b, "\"forceSTSHeader\":true");
    contains(b, "\"customBrowserXSSValue\":\"1\"");
    contains(b, "\"type\":\"headers\"");
    free(b);
    b = get(&f, "/api/http/middlewares/ip@file", 200);
    contains(b, "\"ipStrategy\":{\"excludedIPs\":[\"10.1.0.0/16\"]}");
    contains(b, "\"type\":\"ipallowlist\"");
    free(b);
    b = get(&f, "/api/http/middlewares/sp@file", 200);
    contains(b, "{\"stripPrefix\":{\"prefixes\":[\"/x\"],\"forceSlash\":false}");
    free(b);
    b = get(&f, "/api/http/middlewares?search=IP", 200);
    contains(b, "\"name\":\"ip@file\"");
    ck_assert_ptr_null(strstr(b, "\"name\":\"h@file\""));
    free(b);
    teardown(&f);
}
END_TEST

START_TEST(service_kinds)
{
    struct fixture f;
    char *b;
    setup(&f, "http:\n"
              "  services:\n"
              "    a:\n      loadBalancer:\n        passHostHeader: false\n"
              "        servers:\n          - url: http://10.0.0.1:80\n            weight: 2\n"
              "    b:\n      loadBalancer:\n        servers:\n          - url: http://10.0.0.2:80\n"
              "    m:\n      mirroring:\n        service: a\n        mirrors:\n"
              "          - name: b\n            percent: 10\n"
              "    fo:\n      failover:\n        service: a\n        fallback: b\n");
    b = get(&f, "/api/http/services/a@file", 200);
    contains(b, "{\"loadBalancer\":{\"servers\":[{\"url\":\"http://10.0.0.1:80\",\"weight\":2}],"
                "\"passHostHeader\":false}");
    contains(b, "\"usedBy\":[\"fo@file\",\"m@file\"]");
    contains(b, "\"serverStatus\":{\"http://10.0.0.1:80\":\"UP\"}");
    free(b);
    b = get(&f, "/api/http/services/m@file", 200);
    contains(b, "{\"mirroring\":{\"service\":\"a\",\"mirrors\":[{\"name\":\"b\",\"percent\":10}]}");
    contains(b, "\"type\":\"mirroring\"");
    ck_assert_ptr_null(strstr(b, "serverStatus"));
    free(b);
    b = get(&f, "/api/http/services/fo@file", 200);
    contains(b, "{\"failover\":{\"service\":\"a\",\"fallback\":\"b\"}");
    contains(b, "\"type\":\"failover\"");
    free(b);
    teardown(&f);
}
END_TEST

START_TEST(not_ours_and_errors)
{
    struct fixture f;
    struct api_reply r;
    char *b;
    setup(&f, "http: {}\n");
    ck_assert(!api_http_serve(&f.v, true, "/api/version", 12, "", 0, &r));
    ck_assert(!api_http_serve(&f.v, true, "/api/http/routersx", 18, "", 0, &r));
    b = get(&f, "/api/http/services/none", 404);
    ck_assert_str_eq(b, "{\"error\":\"service not found: none\"}");
    free(b);
    b = get(&f, "/api/http/routers", 200);
    ck_assert_str_eq(b, "[]");
    free(b);
    b = get(&f, "/api/http/routers?search=%zz", 400);
    free(b);
    ck_assert(api_http_serve(&f.v, false, "/api/rawdata", 12, "", 0, &r));
    ck_assert_int_eq(r.status, 405);
    free(r.body);
    teardown(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("admin_api");
    TCase *tc = tcase_create("api");
    SRunner *sr;
    int failed;
    tcase_add_test(tc, writer_commas_nesting_escapes);
    tcase_add_test(tc, dotted_names_own_their_diagnostics);
    tcase_add_test(tc, traefik_key_spellings);
    tcase_add_test(tc, service_kinds);
    tcase_add_test(tc, not_ours_and_errors);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
