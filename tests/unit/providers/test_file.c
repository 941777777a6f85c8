/* Unit tests of providers/file: single-file and directory loading, skipping, merging. */
#include <errno.h>

#include "providers/decode.h"
#include "providers/file.h"
#include "tests/unit/providers/helpers.h"

typedef Concord__Config__Config Config;

static struct diags d;
static Config *cfg;
static char *dir;

static void setup(void)
{
    diags_init(&d);
    cfg = NULL;
    dir = make_tmpdir();
}

static void teardown(void)
{
    decode_config_free(cfg);
    diags_fini(&d);
    remove_tree(dir);
    free(dir);
}

static const Concord__Config__Router *router(const char *name)
{
    for (size_t i = 0; i < cfg->http->n_routers; i++) {
        if (strcmp(cfg->http->routers[i]->name, name) == 0) {
            return cfg->http->routers[i];
        }
    }
    return NULL;
}

START_TEST(single_file)
{
    ck_assert_int_eq(file_provider_load_file(fixture("simple_file_01.yml"), &cfg, &d), 0);
    ck_assert_uint_eq(cfg->http->n_routers, 3);
    ck_assert_uint_eq(cfg->http->n_services, 6);
    ck_assert_uint_eq(d.nerrors, 0);
}
END_TEST

START_TEST(single_bad_file_is_refused_whole)
{
    write_file(dir, "bad.yml", "http:\n  routers:\n    r: {service: s}\n    q: {servic: s}\n");
    char path[600];
    snprintf(path, sizeof path, "%s/bad.yml", dir);
    ck_assert_int_eq(file_provider_load_file(path, &cfg, &d), -EINVAL);
    ck_assert_ptr_null(cfg);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "bad.yml:4:9: http.routers.q.servic: unknown key"));
}
END_TEST

START_TEST(fixture_directory)
{
    ck_assert_int_eq(file_provider_load_dir(fixture("dir01"), &cfg, &d), 0);
    ck_assert_uint_eq(d.nerrors, 0);
    ck_assert_uint_eq(cfg->http->n_routers, 2);
    ck_assert_uint_eq(cfg->http->n_services, 3);
    ck_assert_str_eq(router("router2")->service, "application-2");
    ck_assert(has_diag_sub(&d, DIAG_WARNING, "dir01_file03.yml:2:3: tls.certificates"));
    ck_assert(has_diag_sub(&d, DIAG_WARNING, "dir01_file03.yml:13:5: tls.options.mintls13"));
    /* Marks name the file each object came from. */
    ck_assert(strstr(router("router1")->mark->file, "dir01/dir01_file01.yml") != NULL);
    ck_assert(strstr(cfg->http->services[0]->mark->file, "dir01/dir01_file02.yml") != NULL);
}
END_TEST

START_TEST(bad_files_are_skipped_and_duplicates_reported)
{
    char want[1200];
    write_file(dir, "b.yml", "http:\n  routers:\n    r1: {service: s1}\n    r2: {service: s2}\n");
    write_file(dir, "a.yaml",
               "http:\n  routers:\n    r1: {service: first}\n  services:\n"
               "    s1:\n      loadBalancer: {servers: [{url: 'http://a'}]}\n");
    write_file(dir, "c.yml", "http:\n  routers: [oops\n");
    write_file(dir, "d.YML",
               "http:\n  services:\n    s1: {loadBalancer: {}}\n"
               "    s2: {loadBalancer: {}}\n");
    write_file(dir, "e.toml", "[http]\n");
    write_file(dir, "f.yml", "http:\n  routers:\n    r3: {{{ .Template }}}\n");
    write_file(dir, ".hidden.yml", "not: [valid\n");
    write_file(dir, "notes.txt", "not yaml at all: [\n");
    snprintf(want, sizeof want, "%s/sub", dir);
    ck_assert_int_eq(mkdir(want, 0700), 0);
    write_file(dir, "sub/g.yml", "http:\n  routers:\n    r9: {service: s}\n");

    ck_assert_int_eq(file_provider_load_dir(dir, &cfg, &d), 0);
    ck_assert_ptr_nonnull(cfg);
    /* Kept: r1 (from a.yaml), r2; s1 (from a.yaml), s2. */
    ck_assert_uint_eq(cfg->http->n_routers, 2);
    ck_assert_str_eq(router("r1")->service, "first");
    ck_assert_ptr_nonnull(router("r2"));
    ck_assert_ptr_null(router("r9")); /* not recursive */
    ck_assert_uint_eq(cfg->http->n_services, 2);

    snprintf(want, sizeof want,
             "%s/b.yml:3:5: http.routers.r1: defined in two files; the one in %s/a.yaml:3:5 is "
             "kept",
             dir, dir);
    ck_assert(has_diag(&d, want));
    snprintf(want, sizeof want,
             "%s/d.YML:3:5: http.services.s1: defined in two files; the one in %s/a.yaml:5:5 is "
             "kept",
             dir, dir);
    ck_assert(has_diag(&d, want));
    snprintf(want, sizeof want,
             "%s/c.yml: file skipped: it has errors; the other files are used "
             "(warning)",
             dir);
    ck_assert(has_diag(&d, want));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "c.yml:3:1: yaml: "));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "e.toml: TOML is not supported, use YAML"));
    ck_assert(has_diag_sub(&d, DIAG_WARNING, "e.toml: file skipped"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "f.yml:3:9: Go templates are not supported"));
    ck_assert(has_diag_sub(&d, DIAG_WARNING, "f.yml: file skipped"));
    ck_assert_uint_eq(count_diags(&d, DIAG_WARNING, "file skipped"), 3);
    ck_assert_uint_eq(count_diags(&d, DIAG_ERROR, ".hidden"), 0);
    ck_assert_uint_eq(count_diags(&d, DIAG_ERROR, "notes.txt"), 0);
    ck_assert_uint_eq(d.nerrors, 5);
}
END_TEST

START_TEST(empty_and_missing_directory)
{
    ck_assert_int_eq(file_provider_load_dir(dir, &cfg, &d), 0);
    ck_assert_uint_eq(cfg->http->n_routers, 0);
    ck_assert_uint_eq(d.n, 0);
    decode_config_free(cfg);
    ck_assert_int_eq(file_provider_load_dir("/nonexistent-dir", &cfg, &d), -ENOENT);
    ck_assert_ptr_null(cfg);
    ck_assert(has_diag(&d, "/nonexistent-dir: cannot read directory: No such file or directory"));
}
END_TEST

START_TEST(from_static_config)
{
    struct file_provider_config fc = {.enabled = true};
    ck_assert_int_eq(file_provider_load(&fc, &cfg, &d), -EINVAL);
    ck_assert(has_diag(&d, "providers.file: needs filename or directory"));
    char path[1100];
    snprintf(path, sizeof path, "%s", fixture("dir01"));
    fc.directory = path;
    ck_assert_int_eq(file_provider_load(&fc, &cfg, &d), 0);
    ck_assert_uint_eq(cfg->http->n_services, 3);
    decode_config_free(cfg);
    fc.directory = NULL;
    snprintf(path, sizeof path, "%s", fixture("simple_file_01.yml"));
    fc.filename = path;
    ck_assert_int_eq(file_provider_load(&fc, &cfg, &d), 0);
    ck_assert_uint_eq(cfg->http->n_services, 6);
}
END_TEST

static Suite *file_suite(void)
{
    Suite *s = suite_create("providers/file");
    TCase *tc = tcase_create("file");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, single_file);
    tcase_add_test(tc, single_bad_file_is_refused_whole);
    tcase_add_test(tc, fixture_directory);
    tcase_add_test(tc, bad_files_are_skipped_and_duplicates_reported);
    tcase_add_test(tc, empty_and_missing_directory);
    tcase_add_test(tc, from_static_config);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(file_suite());
}
