/* `proxyctl config get|apply|delete|diff`: a namespace's dynamic configuration in the
 * replicated state (the `api` namespace by default: config written with proxyctl). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/client.h"
#include "ctl/cluster_view.h"
#include "ctl/cmd.h"
#include "ctl/cmdline.h"
#include "ctl/confjson.h"
#include "node/base/diag.h"
#include "providers/decode.h"
#include "providers/doc.h"

static const char config_usage[] =
    "usage: proxyctl config get [--namespace NS] [--stale]\n"
    "       proxyctl config apply -f FILE [--namespace NS] [--revision N] [--force]\n"
    "                             [--wait] [--wait-timeout DURATION]\n"
    "       proxyctl config delete [--namespace NS] [--revision N] [--wait]\n"
    "                              [--wait-timeout DURATION]\n"
    "       proxyctl config diff -f FILE [--namespace NS] [--stale]\n"
    "NS defaults to \"api\", the namespace proxyctl writes.\n"
    "get: the namespace's config as Traefik YAML (its contributions merged), which `apply -f`\n"
    "  takes back; -o json prints the API's answer (revision and contributions).\n"
    "apply: checks FILE offline with the decoder proxyd uses (a YAML or decoding error stops\n"
    "  here), then replaces the namespace's config with FILE's text. The cluster refuses a\n"
    "  config with any error (each is printed) unless --force, which keeps Traefik's rule:\n"
    "  objects with errors are disabled, the rest goes live. --revision N: only if the\n"
    "  namespace is at revision N (0: only if it is empty); otherwise the current revision is\n"
    "  printed. --wait: then waits until every voter serves a table at least that new,\n"
    "  polling `status` (--wait-timeout, Go-style: 10s, 500ms, 1m; default 10s).\n"
    "delete: removes the namespace's config (--revision and --wait as for apply).\n"
    "diff: what applying FILE would change: `- key.path: value` lines for the cluster's,\n"
    "  `+ key.path: value` for FILE's, sorted by key path. Scalars compare by text and empty\n"
    "  values count as absent; durations are not normalised (\"60s\" differs from \"1m\").\n"
    "exit codes: 0 done (diff: no difference)\n"
    "            1 refused (config errors, revision mismatch, --wait timed out; diff: "
    "differences)\n"
    "            2 usage error, FILE unreadable or not valid YAML/config, bad token file\n"
    "            3 no endpoint reachable or the token was refused\n";

#define WAIT_POLL_MS 10 /* a stale status is cheap (no log entry); followers lag by a round trip */

struct config_args {
    const char *file, *ns, *revision, *wait_timeout;
    bool stale, force, wait;
    uint64_t rev;     /* --revision, when given */
    uint64_t wait_ms; /* --wait-timeout */
};

/* Returns CTL_EXIT_OK to go on, or the exit code to stop with: PARSE_HELP after --help (the
 * command then exits 0), CTL_EXIT_USAGE after printing why. */
#define PARSE_HELP (-1)

static int parse(const char *who, int argc, char **argv, struct config_args *c, bool need_file)
{
    const struct ctl_opt opts[] = {
        {.name = "--file", .alias = "-f", .value = &c->file},
        {.name = "--namespace", .value = &c->ns},
        {.name = "--revision", .value = &c->revision},
        {.name = "--wait-timeout", .value = &c->wait_timeout},
        {.name = "--stale", .on = &c->stale},
        {.name = "--force", .on = &c->force},
        {.name = "--wait", .on = &c->wait},
    };
    const char *pos[1];
    int npos, rc;
    memset(c, 0, sizeof *c);
    c->ns = "api";
    c->wait_timeout = "10s";
    rc = ctl_args(who, config_usage, argc, argv, opts, sizeof opts / sizeof opts[0], pos, 0, 0,
                  &npos);
    if (rc != CTL_ARGS_OK) {
        return rc == CTL_ARGS_HELP ? PARSE_HELP : CTL_EXIT_USAGE;
    }
    if (need_file && c->file == NULL) {
        fprintf(stderr, "%s: -f FILE is required\n%s", who, config_usage);
        return CTL_EXIT_USAGE;
    }
    if (c->ns[0] == '\0') {
        fprintf(stderr, "%s: --namespace: empty\n", who);
        return CTL_EXIT_USAGE;
    }
    if (c->revision != NULL && ctl_parse_u64(c->revision, &c->rev) != 0) {
        fprintf(stderr, "%s: --revision: expected a number, got \"%s\"\n", who, c->revision);
        return CTL_EXIT_USAGE;
    }
    if (ctl_parse_duration_ms(c->wait_timeout, &c->wait_ms) != 0) {
        fprintf(stderr,
                "%s: --wait-timeout: expected a duration such as 10s or 500ms, got \"%s\"\n", who,
                c->wait_timeout);
        return CTL_EXIT_USAGE;
    }
    return CTL_EXIT_OK;
}

/* "/api/cluster/config/NS" then the query parts that are set. */
static int config_path(const char *who, const struct config_args *c, char *buf, size_t size)
{
    char q[96] = "";
    snprintf(buf, size, "/api/cluster/config/");
    if (ctl_escape(buf, size, c->ns) != 0) {
        fprintf(stderr, "%s: --namespace too long\n", who);
        return CTL_EXIT_USAGE;
    }
    if (c->revision != NULL) {
        snprintf(q, sizeof q, "&revision=%" PRIu64, c->rev);
    }
    if (c->force) {
        strcat(q, "&force=true");
    }
    if (c->stale) {
        strcat(q, "&stale=true");
    }
    if (q[0] != '\0') {
        q[0] = '?';
        if (strlen(buf) + strlen(q) >= size) {
            fprintf(stderr, "%s: --namespace too long\n", who);
            return CTL_EXIT_USAGE;
        }
        strcat(buf, q);
    }
    return CTL_EXIT_OK;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Polls the status until every voter's tableGeneration reaches `target`, within the timeout.
 * A status request that fails is retried until the deadline. The stale status is enough (each
 * member reports its own numbers) and costs no log entry: a linearizable read is a Raft
 * barrier, which libraft 0.15 writes to the log. */
static int wait_applied(const struct ctl_globals *g, const char *who, const struct config_args *c,
                        uint64_t target)
{
    long long deadline = now_ms() + (long long)c->wait_ms;
    char why[1024] = "no status answer yet";
    for (;;) {
        struct ctl_req rq = {.method = "GET",
                             .path = "/api/cluster/status?stale=true",
                             .flags = CTL_QUIET,
                             .deadline_ms = deadline};
        struct ctl_answer a;
        int rc = ctl_call(g, who, &rq, &a), lag = -1;
        struct timespec pause = {0, WAIT_POLL_MS * 1000000L};
        if (rc == CTL_EXIT_OK && a.status == 200) {
            lag = cluster_lagging(&a.doc, target, why, sizeof why);
            if (lag < 0) {
                snprintf(why, sizeof why, "the status answer has no member list");
            }
        } else if (rc == CTL_EXIT_OK) {
            const char *e = jv_str(jv_get(&a.doc, "error"));
            snprintf(why, sizeof why, "status answered %d: %s", a.status, e != NULL ? e : "");
        } else if (rc == CTL_EXIT_USAGE || a.raw.status == 401) {
            ctl_answer_fini(&a); /* the token cannot be read or was refused: said already */
            return rc;
        }
        ctl_answer_fini(&a);
        if (lag == 0) {
            return CTL_EXIT_OK;
        }
        if (now_ms() + WAIT_POLL_MS > deadline) {
            fprintf(stderr, "%s: not applied within %s: %s\n", who, c->wait_timeout, why);
            return CTL_EXIT_NO;
        }
        nanosleep(&pause, NULL);
    }
}

/* Checks the file offline and hands back its text (malloc'd) and parsed tree. */
static int load_file_cfg(const char *who, const char *file, char **text, size_t *len,
                         struct doc *doc, Concord__Config__Config **keep)
{
    struct diags d;
    Concord__Config__Config *cfg = NULL;
    int rc = doc_read_file(file, text, len);
    memset(doc, 0, sizeof *doc);
    if (rc != 0) {
        fprintf(stderr, "%s: %s: %s\n", who, file, rc == -EFBIG ? "file too large" : strerror(-rc));
        return CTL_EXIT_USAGE;
    }
    diags_init(&d);
    rc = doc_parse(doc, file, *text, *len, 0, &d);
    if (rc == 0) {
        rc = decode_dynamic(doc->root, &cfg, &d);
    }
    if (keep != NULL && rc == 0) {
        *keep = cfg;
        cfg = NULL;
    }
    decode_config_free(cfg);
    if (rc != 0) {
        /* Warnings are printed only with the errors: an accepted file's warnings come back
         * in the server's answer, which would print them twice. */
        diags_print(&d, stderr);
    }
    diags_fini(&d);
    if (rc != 0) {
        fprintf(stderr, "%s: %s is not a valid dynamic configuration; nothing sent\n", who, file);
        free(*text);
        *text = NULL;
        doc_fini(doc);
        return CTL_EXIT_USAGE;
    }
    return CTL_EXIT_OK;
}

static int load_file(const char *who, const char *file, char **text, size_t *len, struct doc *doc)
{
    return load_file_cfg(who, file, text, len, doc, NULL);
}

/* The files a config names (basicAuth.usersFile) travel with it: proxyctl is the proposer, so
 * it reads them here (paths as written, relative to the working directory, as Traefik opens
 * them) and sends a bundle (node/admin/api_cluster.c has the format). The node never reads a
 * path from a request on its own disk. Returns CTL_EXIT_OK with *out (malloc'd) or NULL when
 * no file is named; CTL_EXIT_USAGE when one cannot be read. */
static int build_bundle(const char *who, const Concord__Config__Config *cfg, const char *yaml,
                        size_t yaml_len, char **out, size_t *out_len)
{
    const Concord__Config__HttpConfig *h = cfg ? cfg->http : NULL;
    FILE *m;
    bool any = false;
    *out = NULL;
    *out_len = 0;
    m = open_memstream(out, out_len);
    if (m == NULL) {
        return CTL_EXIT_USAGE;
    }
    fputs("CONCORD-BUNDLE 1\n", m);
    for (size_t i = 0; h != NULL && i < h->n_middlewares; i++) {
        const Concord__Config__Middleware *mw = h->middlewares[i];
        const char *path;
        char *data = NULL;
        size_t n = 0;
        if (mw->kind_case != CONCORD__CONFIG__MIDDLEWARE__KIND_BASIC_AUTH ||
            mw->basic_auth == NULL || mw->basic_auth->users_file == NULL ||
            mw->basic_auth->users_file[0] == '\0') {
            continue;
        }
        path = mw->basic_auth->users_file;
        int r = doc_read_file(path, &data, &n);
        if (r != 0) {
            fprintf(stderr, "%s: usersFile %s: %s; nothing sent\n", who, path,
                    r == -EFBIG ? "file too large" : strerror(-r));
            fclose(m);
            free(*out);
            *out = NULL;
            return CTL_EXIT_USAGE;
        }
        fprintf(m, "file %zu %zu\n%s", strlen(path), n, path);
        fwrite(data, 1, n, m);
        fputc('\n', m);
        free(data);
        any = true;
    }
    fprintf(m, "config %zu\n", yaml_len);
    fwrite(yaml, 1, yaml_len, m);
    fclose(m);
    if (!any) {
        free(*out);
        *out = NULL;
        *out_len = 0;
    }
    return CTL_EXIT_OK;
}

static void print_list(const struct jv *arr, const char *prefix)
{
    for (size_t i = 0; arr != NULL && arr->t == JV_ARR && i < arr->n; i++) {
        const char *s = jv_str(&arr->v[i]);
        fprintf(stderr, "%s%s\n", prefix, s != NULL ? s : "?");
    }
}

/* What a refused write prints: the revision conflict, or the config's errors. */
static int write_refused(const char *who, const struct ctl_answer *a)
{
    const struct jv *errs = jv_get(&a->doc, "errors");
    int rc = ctl_refused(who, a);
    if (a->status == 409) {
        const struct jv *cur = jv_get(&a->doc, "revision");
        fprintf(stderr, "%s: the current revision is %s\n", who,
                cur != NULL && cur->t == JV_NUM ? cur->s : "unknown");
    }
    print_list(errs, "");
    return rc;
}

int cmd_config_apply(const struct ctl_globals *g, int argc, char **argv)
{
    static const char who[] = "proxyctl config apply";
    struct config_args c;
    struct ctl_answer a;
    struct ctl_req rq = {.method = "PUT", .content_type = "application/yaml"};
    struct doc doc;
    Concord__Config__Config *cfg = NULL;
    char path[512], *text = NULL, *bundle = NULL;
    size_t len = 0, blen = 0;
    uint64_t rev = 0;
    int rc = parse(who, argc, argv, &c, true);
    if (rc == PARSE_HELP) {
        return CTL_EXIT_OK;
    }
    if (rc != CTL_EXIT_OK || (rc = config_path(who, &c, path, sizeof path)) != CTL_EXIT_OK ||
        (rc = load_file_cfg(who, c.file, &text, &len, &doc, &cfg)) != CTL_EXIT_OK) {
        return rc;
    }
    doc_fini(&doc);
    rc = build_bundle(who, cfg, text, len, &bundle, &blen);
    decode_config_free(cfg);
    if (rc != CTL_EXIT_OK) {
        free(text);
        return rc;
    }
    rq.path = path;
    rq.body = bundle ? bundle : text;
    rq.len = bundle ? blen : len;
    if (bundle != NULL) {
        rq.content_type = "application/vnd.concord.bundle";
    }
    rc = ctl_call(g, who, &rq, &a);
    free(text);
    free(bundle);
    if (rc == CTL_EXIT_OK && a.status != 200) {
        rc = write_refused(who, &a);
    } else if (rc == CTL_EXIT_OK) {
        print_list(jv_get(&a.doc, "warnings"), "warning: ");
        if (!cluster_uint(jv_get(&a.doc, "revision"), &rev)) {
            cluster_uint(jv_get(&a.doc, "index"), &rev);
        }
        if (!ctl_print_doc(g, &a.doc)) {
            printf("applied namespace %s at revision %" PRIu64 "\n", c.ns, rev);
        }
        fflush(stdout);
        if (c.wait) {
            rc = wait_applied(g, who, &c, rev);
        }
    }
    ctl_answer_fini(&a);
    return rc;
}

int cmd_config_delete(const struct ctl_globals *g, int argc, char **argv)
{
    static const char who[] = "proxyctl config delete";
    struct config_args c;
    struct ctl_answer a;
    struct ctl_req rq = {.method = "DELETE"};
    char path[512];
    uint64_t index = 0;
    int rc = parse(who, argc, argv, &c, false);
    if (rc == PARSE_HELP) {
        return CTL_EXIT_OK;
    }
    if (rc != CTL_EXIT_OK || (rc = config_path(who, &c, path, sizeof path)) != CTL_EXIT_OK) {
        return rc;
    }
    if (c.file != NULL || c.force || c.stale) {
        fprintf(stderr, "%s: -f, --force and --stale do not apply to delete\n%s", who,
                config_usage);
        return CTL_EXIT_USAGE;
    }
    rq.path = path;
    rc = ctl_call(g, who, &rq, &a);
    if (rc == CTL_EXIT_OK && a.status != 200) {
        rc = write_refused(who, &a);
    } else if (rc == CTL_EXIT_OK) {
        cluster_uint(jv_get(&a.doc, "index"), &index);
        if (!ctl_print_doc(g, &a.doc)) {
            printf("deleted namespace %s at index %" PRIu64 "\n", c.ns, index);
        }
        fflush(stdout);
        if (c.wait) {
            rc = wait_applied(g, who, &c, index);
        }
    }
    ctl_answer_fini(&a);
    return rc;
}

/* GETs the namespace's config; on success a.doc is the answer. */
static int get_config(const struct ctl_globals *g, const char *who, const struct config_args *c,
                      struct ctl_answer *a)
{
    char path[512];
    struct ctl_req rq = {.method = "GET", .path = path};
    int rc = config_path(who, c, path, sizeof path);
    memset(a, 0, sizeof *a);
    if (rc != CTL_EXIT_OK) {
        return rc;
    }
    rc = ctl_call(g, who, &rq, a);
    if (rc == CTL_EXIT_OK && a->status != 200) {
        rc = ctl_refused(who, a);
    }
    return rc;
}

int cmd_config_get(const struct ctl_globals *g, int argc, char **argv)
{
    static const char who[] = "proxyctl config get";
    struct config_args c;
    struct ctl_answer a;
    struct jv merged;
    int rc = parse(who, argc, argv, &c, false);
    if (rc != CTL_EXIT_OK) {
        return rc == PARSE_HELP ? CTL_EXIT_OK : rc;
    }
    if (c.file != NULL || c.revision != NULL || c.force || c.wait) {
        fprintf(stderr, "%s: only --namespace and --stale apply to get\n%s", who, config_usage);
        return CTL_EXIT_USAGE;
    }
    if ((rc = get_config(g, who, &c, &a)) == CTL_EXIT_OK) {
        const struct jv *contribs = jv_get(&a.doc, "contributions");
        const struct jv *source = contribs != NULL && contribs->t == JV_ARR && contribs->n == 1
                                      ? jv_get(&contribs->v[0], "source")
                                      : NULL;
        if (g->output == CTL_OUT_JSON) {
            jv_print_json(stdout, &a.doc);
        } else if (source != NULL && jv_str(source) != NULL) {
            /* one contribution written by config apply: the document as applied, comments
             * and all */
            fputs(jv_str(source), stdout);
        } else if (confjson_merge(&a.doc, &merged) == 0) {
            jv_print_yaml(stdout, &merged);
            jv_free(&merged);
        } else {
            fprintf(stderr, "%s: out of memory\n", who);
            rc = CTL_EXIT_NO;
        }
    }
    ctl_answer_fini(&a);
    return rc;
}

int cmd_config_diff(const struct ctl_globals *g, int argc, char **argv)
{
    static const char who[] = "proxyctl config diff";
    struct config_args c;
    struct ctl_answer a;
    struct doc doc;
    struct jv mine, theirs;
    char *text = NULL;
    size_t len = 0;
    int rc = parse(who, argc, argv, &c, true);
    if (rc != CTL_EXIT_OK) {
        return rc == PARSE_HELP ? CTL_EXIT_OK : rc;
    }
    if (c.revision != NULL || c.force || c.wait) {
        fprintf(stderr, "%s: only -f, --namespace and --stale apply to diff\n%s", who,
                config_usage);
        return CTL_EXIT_USAGE;
    }
    if ((rc = load_file(who, c.file, &text, &len, &doc)) != CTL_EXIT_OK) {
        return rc;
    }
    rc = confjson_from_doc(doc.root, &mine);
    doc_fini(&doc);
    free(text);
    if (rc != 0) {
        jv_free(&mine);
        fprintf(stderr, "%s: out of memory\n", who);
        return CTL_EXIT_USAGE;
    }
    if ((rc = get_config(g, who, &c, &a)) == CTL_EXIT_OK) {
        if (confjson_merge(&a.doc, &theirs) != 0) {
            fprintf(stderr, "%s: out of memory\n", who);
            rc = CTL_EXIT_NO;
        } else {
            rc = confjson_diff(stdout, &theirs, &mine) > 0 ? CTL_EXIT_NO : CTL_EXIT_OK;
        }
        jv_free(&theirs);
    }
    ctl_answer_fini(&a);
    jv_free(&mine);
    return rc;
}
