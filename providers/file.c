/* File provider loading: a file or a directory of YAML documents merged into one Config. */
#include "providers/file.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "providers/decode.h"

typedef Concord__Config__Config Config;
typedef Concord__Config__HttpConfig HttpConfig;
typedef Concord__Config__Router Router;
typedef Concord__Config__Service Service;
typedef Concord__Config__Mark Mark;

int file_provider_load_file(const char *path, Config **out, struct diags *d)
{
    return decode_dynamic_file(path, out, d);
}

static bool has_suffix_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcasecmp(s + n - m, suffix) == 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p == NULL) {
        abort();
    }
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* The sorted names of the config files of `dir` (hidden, non-regular and other files left out;
 * *.toml kept so the error can be reported). */
static int list_dir(const char *dir, char ***names, size_t *n)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    size_t cap = 0;

    *names = NULL;
    *n = 0;
    if (dp == NULL) {
        return -errno;
    }
    while ((e = readdir(dp)) != NULL) {
        struct stat st;
        char *path;
        if (e->d_name[0] == '.' ||
            !(has_suffix_ci(e->d_name, ".yml") || has_suffix_ci(e->d_name, ".yaml") ||
              has_suffix_ci(e->d_name, ".toml"))) {
            continue;
        }
        path = join(dir, e->d_name);
        /* stat, not lstat: Kubernetes mounts ConfigMap files as symlinks. */
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 16;
                *names = realloc(*names, cap * sizeof **names);
                if (*names == NULL) {
                    abort();
                }
            }
            (*names)[(*n)++] = path;
        } else {
            free(path);
        }
    }
    closedir(dp);
    if (*n > 1) {
        qsort(*names, *n, sizeof **names, name_cmp);
    }
    return 0;
}

static const Mark *find_router(const HttpConfig *h, const char *name)
{
    for (size_t i = 0; i < h->n_routers; i++) {
        if (strcmp(h->routers[i]->name, name) == 0) {
            return h->routers[i]->mark;
        }
    }
    return NULL;
}

static const Mark *find_service(const HttpConfig *h, const char *name)
{
    for (size_t i = 0; i < h->n_services; i++) {
        if (strcmp(h->services[i]->name, name) == 0) {
            return h->services[i]->mark;
        }
    }
    return NULL;
}

static void report_dup(struct diags *d, const char *kind, const char *name, const Mark *dup,
                       const Mark *kept)
{
    char path[512];
    snprintf(path, sizeof path, "http.%s.%s", kind, name);
    diags_add(d, DIAG_ERROR, dup->file, dup->line, dup->col, path,
              "defined in two files; the one in %s:%u:%u is kept", kept->file, kept->line,
              kept->col);
}

static void *grow(void *arr, size_t n, size_t elem)
{
    arr = realloc(arr, (n + 1) * elem);
    if (arr == NULL) {
        abort();
    }
    return arr;
}

/* Moves the routers and services of `from` into `into`, dropping names `into` already has. */
static void merge(HttpConfig *into, HttpConfig *from, struct diags *d)
{
    for (size_t i = 0; i < from->n_routers; i++) {
        Router *r = from->routers[i];
        const Mark *kept = find_router(into, r->name);
        if (kept) {
            report_dup(d, "routers", r->name, r->mark, kept);
            concord__config__router__free_unpacked(r, NULL);
            continue;
        }
        into->routers = grow(into->routers, into->n_routers, sizeof *into->routers);
        into->routers[into->n_routers++] = r;
    }
    from->n_routers = 0;
    for (size_t i = 0; i < from->n_services; i++) {
        Service *s = from->services[i];
        const Mark *kept = find_service(into, s->name);
        if (kept) {
            report_dup(d, "services", s->name, s->mark, kept);
            concord__config__service__free_unpacked(s, NULL);
            continue;
        }
        into->services = grow(into->services, into->n_services, sizeof *into->services);
        into->services[into->n_services++] = s;
    }
    from->n_services = 0;
}

int file_provider_load_dir(const char *dir, Config **out, struct diags *d)
{
    char **names;
    size_t n;
    int rc = list_dir(dir, &names, &n);

    *out = NULL;
    if (rc != 0) {
        diags_add(d, DIAG_ERROR, dir, 0, 0, "", "cannot read directory: %s", strerror(-rc));
        return rc;
    }
    *out = decode_config_new();
    for (size_t i = 0; i < n; i++) {
        Config *one;
        if (decode_dynamic_file(names[i], &one, d) != 0) {
            diags_add(d, DIAG_WARNING, names[i], 0, 0, "",
                      "file skipped: it has errors; the other files are used");
        } else {
            merge((*out)->http, one->http, d);
            decode_config_free(one);
        }
        free(names[i]);
    }
    free(names);
    return 0;
}

int file_provider_load(const struct file_provider_config *fc, Config **out, struct diags *d)
{
    *out = NULL;
    if (fc->directory) {
        return file_provider_load_dir(fc->directory, out, d);
    }
    if (fc->filename) {
        return file_provider_load_file(fc->filename, out, d);
    }
    diags_add(d, DIAG_ERROR, "", 0, 0, "providers.file", "needs filename or directory");
    return -EINVAL;
}
