/* The admin API's config of a namespace (GET, PUT with its files, DELETE) and snapshots. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/admin/api_cluster-int.h"
#include "node/admin/pbjson.h"
#include "node/base/diag.h"
#include "node/node.h"
#include "node/sync.h"
#include "raftstore/raftstore.h"


/* A Traefik dynamic configuration as JSON: each section an object keyed by name. */
static void named_map(struct jw *w, const char *key, ProtobufCMessage **v, size_t n)
{
    if (n == 0) {
        return;
    }
    jw_key(w, key);
    jw_obj(w);
    for (size_t i = 0; i < n; i++) {
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(v[i]->descriptor, "name");
        const char *name = f ? *(const char *const *)((const char *)v[i] + f->offset) : "";
        jw_key(w, name ? name : "");
        pbjson_message_skip(w, v[i], "name");
    }
    jw_end(w);
}

static void config_json(struct jw *w, const Concord__Config__Config *cfg)
{
    jw_obj(w);
    if (cfg != NULL && cfg->http != NULL) {
        const Concord__Config__HttpConfig *h = cfg->http;
        jw_key(w, "http");
        jw_obj(w);
        named_map(w, "routers", (ProtobufCMessage **)h->routers, h->n_routers);
        named_map(w, "services", (ProtobufCMessage **)h->services, h->n_services);
        named_map(w, "middlewares", (ProtobufCMessage **)h->middlewares, h->n_middlewares);
        named_map(w, "serversTransports", (ProtobufCMessage **)h->servers_transports,
                  h->n_servers_transports);
        jw_end(w);
    }
    jw_end(w);
}

#define SOURCE_PATH "<source>" /* the FileBlob that keeps an applied document's text */

static void config_reply(struct ctx *c)
{
    const struct rs_state *st = raftstore_state(sync_raftstore(c->ac->s));
    uint64_t rev = 0;
    struct jw w;
    jw_init(&w);
    jw_obj(&w);
    jw_kstr(&w, "namespace", c->ns);
    for (size_t i = 0; i < rs_state_ncontributions(st); i++) {
        const Concord__Raftlog__Contribution *k = rs_state_contribution_at(st, i);
        if (strcmp(k->namespace_, c->ns) == 0 && k->revision > rev) {
            rev = k->revision;
        }
    }
    jw_key(&w, "revision");
    jw_uint(&w, rev);
    jw_key(&w, "contributions");
    jw_arr(&w);
    for (size_t i = 0; i < rs_state_ncontributions(st); i++) {
        const Concord__Raftlog__Contribution *k = rs_state_contribution_at(st, i);
        if (strcmp(k->namespace_, c->ns) != 0) {
            continue;
        }
        jw_obj(&w);
        jw_kstr(&w, "node", k->node_id);
        jw_key(&w, "revision");
        jw_uint(&w, k->revision);
        jw_key(&w, "config");
        config_json(&w, k->config);
        for (size_t f = 0; f < k->n_files; f++) {
            if (strcmp(k->files[f]->path, SOURCE_PATH) == 0) {
                jw_key(&w, "source");
                jw_strn(&w, (const char *)k->files[f]->content.data, k->files[f]->content.len);
            }
        }
        jw_end(&w);
    }
    jw_aend(&w);
    jw_end(&w);
    ac_reply_json(c->r, 200, &w);
}

void ac_on_read_point(void *arg, int status, const char *msg)
{
    struct ctx *c = arg;
    if (status != 0) {
        ac_reply_error(c->r, ac_status_of(status), msg);
        free(c);
        return;
    }
    switch (c->step) {
    case 10:
        config_reply(c);
        break;
    case 11: {
        uint8_t *buf = NULL;
        size_t len = 0;
        rs_state_snapshot(raftstore_state(sync_raftstore(c->ac->s)), &buf, &len);
        admin_reply(c->r, 200, "application/octet-stream", buf, len);
        free(buf);
        break;
    }
    default:
        break;
    }
    free(c);
}

static void add_warnings(struct ctx *c, const struct diags *d)
{
    char line[1200];
    size_t n = strlen(c->warnings);
    for (size_t i = 0; i < d->n; i++) {
        if (d->v[i].severity != DIAG_WARNING) {
            continue;
        }
        diag_format(&d->v[i], line, sizeof line);
        int w = snprintf(c->warnings + n, sizeof c->warnings - n, "%s\n", line);
        if (w < 0 || (size_t)w >= sizeof c->warnings - n) {
            c->warnings[n] = '\0'; /* the first ones are enough */
            return;
        }
        n += (size_t)w;
    }
}

static void on_table_swapped(void *arg, int status, const char *msg)
{
    struct ctx *c = arg;
    const char *p = c->warnings;
    struct jw w;
    (void)status;
    (void)msg;
    jw_init(&w);
    jw_obj(&w);
    jw_kstr(&w, "namespace", c->ns);
    jw_key(&w, "revision");
    jw_uint(&w, c->index);
    jw_key(&w, "index");
    jw_uint(&w, c->index);
    jw_key(&w, "warnings");
    jw_arr(&w);
    while (*p) {
        const char *nl = strchr(p, '\n');
        jw_strn(&w, p, (size_t)(nl - p));
        p = nl + 1;
    }
    jw_aend(&w);
    jw_end(&w);
    ac_reply_json(c->r, 200, &w);
    free(c);
}

static void on_config_written(void *arg, const struct sync_result *res)
{
    struct ctx *c = arg;
    struct jw w;
    if (res->status == 0 && (res->code == RS_APPLIED || res->code == RS_DUPLICATE)) {
        /* answered once this node serves it */
        c->index = res->index;
        sync_wait_table(c->ac->s, res->index, on_table_swapped, c);
        return;
    }
    jw_init(&w);
    jw_obj(&w);
    if (res->status != 0) {
        jw_kstr(&w, "error", res->msg);
        jw_end(&w);
        ac_reply_json(c->r, ac_status_of(res->status), &w);
    } else if (res->code == RS_REVISION_MISMATCH) {
        jw_kstr(&w, "error", res->msg);
        jw_key(&w, "revision");
        jw_uint(&w, res->revision);
        jw_end(&w);
        ac_reply_json(c->r, 409, &w);
    } else if (res->code == SYNC_INVALID) {
        const char *p = res->msg;
        jw_kstr(&w, "error", "the configuration has errors (apply with --force to accept "
                             "them object by object)");
        jw_key(&w, "errors");
        jw_arr(&w);
        while (*p) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            jw_strn(&w, p, n);
            p += n + (nl ? 1 : 0);
        }
        jw_aend(&w);
        jw_end(&w);
        ac_reply_json(c->r, 422, &w);
    } else {
        jw_kstr(&w, "error", res->msg);
        jw_end(&w);
        ac_reply_json(c->r, 400, &w);
    }
    free(c);
}

static bool revision_param(const struct admin_http *h, uint64_t *rev, bool *has)
{
    char v[32], *end;
    *has = ac_query(h, "revision", v, sizeof v);
    if (!*has) {
        return true;
    }
    *rev = strtoull(v, &end, 10);
    return v[0] != '\0' && *end == '\0';
}

/* A config write whose files come along (proxyctl reads the usersFile it names on the client):
 * Content-Type application/vnd.concord.bundle, body
 *   "CONCORD-BUNDLE 1\n" then parts: "file PATHLEN CONTENTLEN\n" PATH CONTENT "\n" ...
 *   and last "config LEN\n" YAML.
 * The node never reads a path a client names from its own disk: that would hand any readable
 * file (the cluster secret) to whoever can write config, through the snapshot. */
#define BUNDLE_TYPE "application/vnd.concord.bundle"
#define BUNDLE_MAX_FILES 64

struct bundle {
    Concord__Raftlog__FileBlob blobs[BUNDLE_MAX_FILES];
    char paths[BUNDLE_MAX_FILES][512];
    size_t nfiles;
    const char *yaml;
    size_t yaml_len;
};

/* Returns NULL or what is wrong. */
static const char *bundle_parse(const uint8_t *body, size_t len, struct bundle *b)
{
    static const char magic[] = "CONCORD-BUNDLE 1\n";
    const char *p = (const char *)body, *end = p + len;
    b->nfiles = 0;
    if (len < sizeof magic - 1 || memcmp(p, magic, sizeof magic - 1) != 0) {
        return "not a CONCORD-BUNDLE 1";
    }
    p += sizeof magic - 1;
    while (p < end) {
        unsigned long long a = 0, n = 0;
        int used = 0;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL || nl - p > 64) {
            return "a bundle part header is missing its end";
        }
        if (sscanf(p, "config %llu%n", &n, &used) == 1 && p + used == nl) {
            if (n != (unsigned long long)(end - nl - 1)) {
                return "the config part's length is not the rest of the body";
            }
            b->yaml = nl + 1;
            b->yaml_len = (size_t)n;
            return NULL;
        }
        if (sscanf(p, "file %llu %llu%n", &a, &n, &used) != 2 || p + used != nl || a == 0 ||
            a >= sizeof b->paths[0] || a + n + 1 > (unsigned long long)(end - nl - 1)) {
            return "a bad file part";
        }
        if (b->nfiles == BUNDLE_MAX_FILES) {
            return "too many files";
        }
        Concord__Raftlog__FileBlob *f = &b->blobs[b->nfiles];
        concord__raftlog__file_blob__init(f);
        memcpy(b->paths[b->nfiles], nl + 1, (size_t)a);
        b->paths[b->nfiles][a] = '\0';
        f->path = b->paths[b->nfiles];
        f->content.data = (uint8_t *)(nl + 1 + a);
        f->content.len = (size_t)n;
        b->nfiles++;
        p = nl + 1 + a + n;
        if (*p != '\n') {
            return "a file part does not end with a newline";
        }
        p++;
    }
    return "the bundle has no config part";
}

void ac_config_put(struct ctx *c, const struct admin_http *h)
{
    Concord__Raftlog__Entry e = CONCORD__RAFTLOG__ENTRY__INIT;
    Concord__Raftlog__SetContribution set = CONCORD__RAFTLOG__SET_CONTRIBUTION__INIT;
    Concord__Raftlog__FileBlob src = CONCORD__RAFTLOG__FILE_BLOB__INIT;
    Concord__Raftlog__FileBlob *files[BUNDLE_MAX_FILES + 1];
    Concord__Config__Config *cfg = NULL;
    struct bundle *b = NULL;
    const char *yaml = h->body ? (const char *)h->body : "", *bad;
    size_t yaml_len = h->body_len;
    struct diags d;
    char name[160], line[1200];
    bool has;
    int rc;
    if (!revision_param(h, &set.expected_revision, &has)) {
        ac_reply_error(c->r, 400, "revision: expected a number");
        free(c);
        return;
    }
    if (!ac_query(h, "source", name, sizeof name)) {
        snprintf(name, sizeof name, "request");
    }
    if (strncmp(h->content_type, BUNDLE_TYPE, sizeof BUNDLE_TYPE - 1) == 0) {
        if ((b = calloc(1, sizeof *b)) == NULL) {
            ac_reply_error(c->r, 500, "out of memory");
            free(c);
            return;
        }
        if ((bad = bundle_parse(h->body, h->body_len, b)) != NULL) {
            ac_reply_error(c->r, 400, bad);
            free(b);
            free(c);
            return;
        }
        yaml = b->yaml;
        yaml_len = b->yaml_len;
    }
    diags_init(&d);
    rc = node_decode_config(name, yaml, yaml_len, &cfg, &d);
    if (rc != 0) {
        struct jw w;
        jw_init(&w);
        jw_obj(&w);
        jw_kstr(&w, "error", "the configuration does not parse");
        jw_key(&w, "errors");
        jw_arr(&w);
        for (size_t i = 0; i < d.n; i++) {
            if (d.v[i].severity == DIAG_ERROR) {
                diag_format(&d.v[i], line, sizeof line);
                jw_str(&w, line);
            }
        }
        jw_aend(&w);
        jw_end(&w);
        ac_reply_json(c->r, 422, &w);
        diags_fini(&d);
        free(b);
        free(c);
        return;
    }
    add_warnings(c, &d);
    diags_fini(&d);
    set.namespace_ = c->ns;
    set.node_id = "api";
    set.config = cfg;
    set.has_expected_revision = has;
    set.strict = !ac_query_true(h, "force");
    src.path = SOURCE_PATH;
    src.content.data = (uint8_t *)yaml;
    src.content.len = yaml_len;
    files[0] = &src;
    set.n_files = 1;
    for (size_t i = 0; b != NULL && i < b->nfiles; i++) {
        files[set.n_files++] = &b->blobs[i];
    }
    set.files = files;
    e.command_case = CONCORD__RAFTLOG__ENTRY__COMMAND_SET_CONTRIBUTION;
    e.set_contribution = &set;
    sync_submit(c->ac->s, &e, on_config_written, c);
    free(b);
    node_config_free(cfg);
}

void ac_config_delete(struct ctx *c, const struct admin_http *h)
{
    Concord__Raftlog__Entry e = CONCORD__RAFTLOG__ENTRY__INIT;
    Concord__Raftlog__DeleteContribution del = CONCORD__RAFTLOG__DELETE_CONTRIBUTION__INIT;
    bool has;
    if (!revision_param(h, &del.expected_revision, &has)) {
        ac_reply_error(c->r, 400, "revision: expected a number");
        free(c);
        return;
    }
    del.namespace_ = c->ns;
    del.node_id = "";
    del.has_expected_revision = has;
    e.command_case = CONCORD__RAFTLOG__ENTRY__COMMAND_DELETE_CONTRIBUTION;
    e.delete_contribution = &del;
    sync_submit(c->ac->s, &e, on_config_written, c);
}

