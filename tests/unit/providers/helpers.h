/* Helpers shared by the providers unit tests: diagnostics lookups, fixtures, temp files. */
#ifndef CONCORD_TESTS_PROVIDERS_HELPERS_H
#define CONCORD_TESTS_PROVIDERS_HELPERS_H

#include <check.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/base/diag.h"

/* Prints every diagnostic: shown in the log of a failing test. */
static inline void dump_diags(const struct diags *d)
{
    char buf[1200];
    for (size_t i = 0; i < d->n; i++) {
        diag_format(&d->v[i], buf, sizeof buf);
        fprintf(stderr, "  diag: %s\n", buf);
    }
}

/* True when one diagnostic formats exactly as `text`. */
static inline bool has_diag(const struct diags *d, const char *text)
{
    char buf[1200];
    for (size_t i = 0; i < d->n; i++) {
        diag_format(&d->v[i], buf, sizeof buf);
        if (strcmp(buf, text) == 0) {
            return true;
        }
    }
    dump_diags(d);
    return false;
}

/* Number of diagnostics of `sev` whose formatted text contains `sub` ("" = all). */
static inline size_t count_diags(const struct diags *d, enum diag_severity sev, const char *sub)
{
    char buf[1200];
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++) {
        diag_format(&d->v[i], buf, sizeof buf);
        if (d->v[i].severity == sev && strstr(buf, sub) != NULL) {
            n++;
        }
    }
    return n;
}

static inline bool has_diag_sub(const struct diags *d, enum diag_severity sev, const char *sub)
{
    if (count_diags(d, sev, sub) > 0) {
        return true;
    }
    dump_diags(d);
    return false;
}

/* "$FIXTURES/<name>" in a static buffer (tests are single-threaded). */
static inline const char *fixture(const char *name)
{
    static char path[1024];
    const char *dir = getenv("FIXTURES");
    ck_assert_msg(dir != NULL, "FIXTURES is not set (run through meson test)");
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* A fresh directory under $TMPDIR (never the source tree); free the result. */
static inline char *make_tmpdir(void)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *p;
    ck_assert_int_ge(asprintf(&p, "%s/concord-test-XXXXXX", base), 0);
    ck_assert_ptr_nonnull(mkdtemp(p));
    return p;
}

/* Writes `text` to dir/name (creating dir/name's parent folder if it is one level deep). */
static inline void write_file(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* Removes a directory tree made by a test. */
static inline void remove_tree(const char *dir)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    struct stat st;
    if (dp == NULL) {
        return;
    }
    while ((e = readdir(dp)) != NULL) {
        char *path;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        ck_assert_int_ge(asprintf(&path, "%s/%s", dir, e->d_name), 0);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            remove_tree(path);
        } else {
            unlink(path);
        }
        free(path);
    }
    closedir(dp);
    rmdir(dir);
}

/* Runs one suite; returns the process exit code. */
static inline int run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
