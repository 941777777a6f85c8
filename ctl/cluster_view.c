/* Tables and the --wait check of proxyctl's cluster commands (cluster_view.h). */
#include "ctl/cluster_view.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/output.h"

int cluster_uint(const struct jv *j, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (j == NULL || j->t != JV_NUM || j->s[0] == '-') {
        return 0;
    }
    v = strtoull(j->s, &end, 10);
    if (*end != '\0') {
        return 0;
    }
    *out = (uint64_t)v;
    return 1;
}

/* A scalar member as table text: strings as they are, numbers as written, bools. */
static const char *cell(const struct jv *o, const char *key)
{
    const struct jv *v = jv_get(o, key);
    if (v == NULL) {
        return NULL;
    }
    switch (v->t) {
    case JV_STR:
    case JV_NUM:
        return v->s[0] != '\0' ? v->s : NULL; /* "" prints as "-" */
    case JV_BOOL:
        return v->b ? "true" : "false";
    default:
        return NULL;
    }
}

static void table(FILE *out, const struct jv *doc, const char *const *head, const char *const *keys,
                  size_t ncols)
{
    const struct jv *ms = jv_get(doc, "members");
    size_t n = ms != NULL && ms->t == JV_ARR ? ms->n : 0;
    const char **cells = calloc((n + 1) * ncols, sizeof *cells);
    if (cells == NULL) {
        return;
    }
    memcpy(cells, head, ncols * sizeof *cells);
    for (size_t i = 0; i < n; i++) {
        for (size_t c = 0; c < ncols; c++) {
            cells[(i + 1) * ncols + c] = cell(&ms->v[i], keys[c]);
        }
    }
    output_table(out, cells, n + 1, ncols);
    free(cells);
}

void cluster_print_status(FILE *out, const struct jv *status)
{
    static const char *const head[] = {"ID",     "ROLE",      "STATE", "REACHABLE", "APPLIED",
                                       "COMMIT", "TABLE-GEN", "RAFT",  "ADMIN"};
    static const char *const keys[] = {
        "id",           "role",        "state",           "reachable",
        "appliedIndex", "commitIndex", "tableGeneration", "raftAddress",
        "adminAddress"};
    const char *leader = jv_str(jv_get(status, "leader")), *term = cell(status, "term");
    const struct jv *ps = jv_get(status, "providers");
    fprintf(out, "leader: %s  term: %s\n", leader != NULL ? leader : "none",
            term != NULL ? term : "-");
    table(out, status, head, keys, sizeof head / sizeof head[0]);
    for (size_t i = 0; ps != NULL && ps->t == JV_ARR && i < ps->n; i++) {
        const char *e = jv_str(jv_get(&ps->v[i], "error"));
        const char *sk = jv_str(jv_get(&ps->v[i], "skipped"));
        const char *name = jv_str(jv_get(&ps->v[i], "name")), *node = cell(&ps->v[i], "node");
        if (e != NULL) {
            fprintf(out, "provider %s on %s: %s\n", name != NULL ? name : "?",
                    node != NULL ? node : "?", e);
        }
        if (sk != NULL) {
            fprintf(out, "provider %s on %s: %s\n", name != NULL ? name : "?",
                    node != NULL ? node : "?", sk);
        }
    }
}

void cluster_print_members(FILE *out, const struct jv *doc)
{
    static const char *const head[] = {"ID", "ROLE", "RAFT", "ADMIN", "VERSION"};
    static const char *const keys[] = {"id", "role", "raftAddress", "adminAddress", "version"};
    table(out, doc, head, keys, sizeof head / sizeof head[0]);
}

int cluster_lagging(const struct jv *status, uint64_t revision, char *why, size_t size)
{
    const struct jv *ms = jv_get(status, "members");
    int lag = 0;
    size_t len = 0;
    if (size > 0) {
        why[0] = '\0';
    }
    if (ms == NULL || ms->t != JV_ARR) {
        return -1;
    }
    for (size_t i = 0; i < ms->n; i++) {
        const struct jv *m = &ms->v[i], *reach = jv_get(m, "reachable");
        const char *role = jv_str(jv_get(m, "role")), *id = cell(m, "id");
        uint64_t gen = 0;
        bool has_gen = cluster_uint(jv_get(m, "tableGeneration"), &gen);
        char one[160];
        if (role == NULL || strcmp(role, "voter") != 0) {
            continue;
        }
        if (reach != NULL && reach->t == JV_BOOL && !reach->b) {
            snprintf(one, sizeof one, "%s (unreachable)", id != NULL ? id : "?");
        } else if (!has_gen) {
            snprintf(one, sizeof one, "%s (no tableGeneration)", id != NULL ? id : "?");
        } else if (gen < revision) {
            snprintf(one, sizeof one, "%s (tableGeneration %" PRIu64 " < %" PRIu64 ")",
                     id != NULL ? id : "?", gen, revision);
        } else {
            continue;
        }
        if (len < size) {
            len += (size_t)snprintf(why + len, size - len, "%s%s", lag ? ", " : "", one);
        }
        lag++;
    }
    return lag;
}
