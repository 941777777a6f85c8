/* The admin API's cluster endpoints (/api/cluster/...): status, members, leadership, the
 * config of a namespace, snapshots, and the node-to-node calls (propose, read index, self).
 * Writes reaching a follower are forwarded to the leader: a config write as its entry
 * (sync_submit), membership and leadership calls as the same HTTP request. */
#include "node/admin/api_cluster.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/admin/api_explain.h"
#include "node/admin/json.h"
#include "node/admin/pbjson.h"
#include "node/base/diag.h"
#include "node/sync.h"
#include "node/node.h"
#include "raftstore/raftstore.h"

#define STATUS_PROBE_MS 1000
#define MAX_SERVERS 64

/* ---- replies ---- */

static void reply_json(struct admin_req *r, int status, struct jw *w)
{
    size_t len = 0;
    char *body = jw_finish(w, &len);
    if (body == NULL) {
        admin_reply(r, 500, "application/json", "{\"error\":\"out of memory\"}", 25);
        return;
    }
    admin_reply(r, status, "application/json", body, len);
    free(body);
}

static void reply_error(struct admin_req *r, int status, const char *msg)
{
    struct jw w;
    jw_init(&w);
    jw_obj(&w);
    jw_kstr(&w, "error", msg);
    jw_end(&w);
    reply_json(r, status, &w);
}

static int status_of(int rc)
{
    switch (rc) {
    case -EAGAIN:
    case -ECANCELED:
        return 503;
    case -ETIMEDOUT:
        return 504;
    case -ENOENT:
        return 404;
    case -EEXIST:
    case -EALREADY:
    case -EBUSY:
        return 409;
    case -EINVAL:
        return 400;
    default:
        return 502;
    }
}

/* ---- requests ---- */

static bool is(const struct admin_http *h, const char *method)
{
    return h->method_len == strlen(method) && memcmp(h->method, method, h->method_len) == 0;
}

/* The value of query parameter `key` (not decoded: our values are plain). */
static bool query(const struct admin_http *h, const char *key, char *out, size_t size)
{
    size_t kl = strlen(key);
    const char *p = h->query, *end = h->query + h->qlen;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if ((size_t)(stop - p) >= kl && memcmp(p, key, kl) == 0 &&
            (p + kl == stop || p[kl] == '=')) {
            const char *v = p + kl == stop ? stop : p + kl + 1;
            size_t n = (size_t)(stop - v);
            if (n >= size) {
                return false;
            }
            memcpy(out, v, n);
            out[n] = '\0';
            return true;
        }
        p = stop + 1;
    }
    return false;
}

static bool query_true(const struct admin_http *h, const char *key)
{
    char v[16];
    return query(h, key, v, sizeof v) && (v[0] == '\0' || strcmp(v, "true") == 0 ||
                                          strcmp(v, "1") == 0);
}

/* A string member of a flat JSON object ({"id":"n4",...}); escapes are not expected in ids
 * and addresses, and refused. */
static bool json_str(const uint8_t *body, size_t len, const char *key, char *out, size_t size)
{
    char pat[64];
    const char *p, *end = (const char *)body + len, *v, *q;
    if (body == NULL) {
        return false;
    }
    snprintf(pat, sizeof pat, "\"%s\"", key);
    p = memmem(body, len, pat, strlen(pat));
    if (p == NULL) {
        return false;
    }
    p += strlen(pat);
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }
    if (p >= end || *p++ != ':') {
        return false;
    }
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }
    if (p >= end || *p != '"') {
        return false;
    }
    v = p + 1;
    q = memchr(v, '"', (size_t)(end - v));
    if (q == NULL || (size_t)(q - v) >= size || memchr(v, '\\', (size_t)(q - v)) != NULL) {
        return false;
    }
    memcpy(out, v, (size_t)(q - v));
    out[q - v] = '\0';
    return true;
}

/* ---- the pending request's context ---- */

struct ctx {
    struct api_cluster *ac;
    struct admin_req *r;
    char ns[128];
    char id[64];
    char raft_addr[128];
    char admin_addr[128];
    enum raftstore_role role;
    uint64_t index;
    bool stale;
    int step;
    /* status */
    int outstanding;
    struct member_probe *probes;
    size_t nprobes;
    /* removal */
    uint64_t remove_deadline_ms;
    /* config writes: the decoder's warnings, one per line, for the answer */
    char warnings[4096];
};

struct api_cluster {
    struct sync *s;
    struct node *node;
};

static struct ctx *ctx_new(struct api_cluster *ac, struct admin_req *r)
{
    struct ctx *c = calloc(1, sizeof *c);
    if (c == NULL) {
        reply_error(r, 500, "out of memory");
        return NULL;
    }
    c->ac = ac;
    c->r = r;
    return c;
}

/* ---- forwarding to the leader ---- */

static void on_forward_answer(void *arg, int rc, int status, const uint8_t *body, size_t len)
{
    struct ctx *c = arg;
    if (rc != 0) {
        reply_error(c->r, rc == -ETIMEDOUT ? 504 : 502, "the leader could not be reached");
    } else {
        admin_reply(c->r, status, "application/json", body ? (const char *)body : "", len);
    }
    free(c);
}

/* Sends the request as it came to the leader (signed by this node), marked "forwarded";
 * false when there is no leader to send it to (the caller answers 503). A forwarded call is
 * never forwarded again (two nodes naming each other leader would ping-pong it), but a
 * node's own call (a join sent to a follower) is forwarded once. */
static bool forward(struct ctx *c, const struct admin_http *h)
{
    const char *leader_id = NULL;
    const char *addr = sync_leader_admin(c->ac->s, &leader_id);
    char method[16], target[1024];
    if (addr[0] == '\0' || leader_id == NULL ||
        strcmp(leader_id, sync_node_id(c->ac->s)) == 0 ||
        (h->peer && query_true(h, "forwarded"))) {
        return false;
    }
    snprintf(method, sizeof method, "%.*s", (int)h->method_len, h->method);
    snprintf(target, sizeof target, "%.*s?%.*s%sforwarded=true", (int)h->plen, h->path,
             (int)h->qlen, h->query, h->qlen ? "&" : "");
    return sync_call(c->ac->s, addr, method, target, h->body, h->body_len, 60000,
                     on_forward_answer, c) == 0;
}

/* ---- members ---- */

static void member_json(struct jw *w, struct api_cluster *ac, const struct raftstore_server *sv)
{
    const struct rs_state *st = raftstore_state(sync_raftstore(ac->s));
    const Concord__Raftlog__Member *m = NULL;
    char unknown[32];
    for (size_t i = 0; i < rs_state_nmembers(st) && m == NULL; i++) {
        if (rs_state_member_at(st, i)->raft_id == sv->raft_id) {
            m = rs_state_member_at(st, i);
        }
    }
    snprintf(unknown, sizeof unknown, "raft-%" PRIx64, sv->raft_id);
    jw_kstr(w, "id", m ? m->id : unknown);
    jw_key(w, "raftId");
    jw_uint(w, sv->raft_id);
    jw_kstr(w, "raftAddress", sv->address);
    jw_kstr(w, "adminAddress", m ? m->admin_address : "");
    jw_kstr(w, "role", raftstore_role_name(sv->role));
    jw_kstr(w, "version", m ? m->version : "");
}

static void members_get(struct api_cluster *ac, struct admin_req *r)
{
    struct raftstore_server sv[MAX_SERVERS];
    size_t n = raftstore_servers(sync_raftstore(ac->s), sv, MAX_SERVERS);
    struct jw w;
    jw_init(&w);
    jw_obj(&w);
    jw_key(&w, "members");
    jw_arr(&w);
    for (size_t i = 0; i < n && i < MAX_SERVERS; i++) {
        jw_obj(&w);
        member_json(&w, ac, &sv[i]);
        jw_end(&w);
    }
    jw_aend(&w);
    jw_end(&w);
    reply_json(r, 200, &w);
}

static void reply_member(struct ctx *c)
{
    struct raftstore_server sv[MAX_SERVERS];
    uint64_t id = raftstore_raft_id(c->id);
    size_t n = raftstore_servers(sync_raftstore(c->ac->s), sv, MAX_SERVERS);
    struct jw w;
    jw_init(&w);
    jw_obj(&w);
    jw_key(&w, "member");
    jw_obj(&w);
    for (size_t i = 0; i < n && i < MAX_SERVERS; i++) {
        if (sv[i].raft_id == id) {
            member_json(&w, c->ac, &sv[i]);
        }
    }
    jw_end(&w);
    jw_end(&w);
    reply_json(c->r, 200, &w);
}

static void on_member_recorded(void *arg, const struct sync_result *res)
{
    struct ctx *c = arg;
    if (res->status != 0) {
        reply_error(c->r, status_of(res->status), res->msg);
    } else {
        reply_member(c);
    }
    free(c);
}

/* After raft_add and the role: the member's record (its admin address), so that the others
 * can reach it at once. */
static void on_member_added(void *arg, int status, const char *msg)
{
    struct ctx *c = arg;
    Concord__Raftlog__Entry e = CONCORD__RAFTLOG__ENTRY__INIT;
    Concord__Raftlog__UpsertMember up = CONCORD__RAFTLOG__UPSERT_MEMBER__INIT;
    Concord__Raftlog__Member m = CONCORD__RAFTLOG__MEMBER__INIT;
    if (status != 0) {
        reply_error(c->r, status_of(status), msg);
        free(c);
        return;
    }
    if (rs_state_member(raftstore_state(sync_raftstore(c->ac->s)), c->id) != NULL) {
        reply_member(c); /* it wrote its own record already (a retried join) */
        free(c);
        return;
    }
    m.id = c->id;
    m.raft_id = raftstore_raft_id(c->id);
    m.raft_address = c->raft_addr;
    m.admin_address = c->admin_addr;
    m.version = "";
    up.member = &m;
    e.command_case = CONCORD__RAFTLOG__ENTRY__COMMAND_UPSERT_MEMBER;
    e.upsert_member = &up;
    sync_submit(c->ac->s, &e, on_member_recorded, c);
}

static void members_post(struct ctx *c, const struct admin_http *h)
{
    char role[16] = "voter";
    int rc;
    if (!json_str(h->body, h->body_len, "id", c->id, sizeof c->id) ||
        !json_str(h->body, h->body_len, "raftAddress", c->raft_addr, sizeof c->raft_addr)) {
        reply_error(c->r, 400, "the body needs \"id\" and \"raftAddress\" (and \"adminAddress\")");
        free(c);
        return;
    }
    /* nodeId's rule (static_config.c): an id the member paths and records can name again */
    static const char id_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789._-";
    if (c->id[0] == '\0' || c->id[strspn(c->id, id_chars)] != '\0') {
        reply_error(c->r, 400, "id: expected 1-63 of A-Z a-z 0-9 . _ -");
        free(c);
        return;
    }
    json_str(h->body, h->body_len, "adminAddress", c->admin_addr, sizeof c->admin_addr);
    json_str(h->body, h->body_len, "role", role, sizeof role);
    if (raftstore_role_parse(role, &c->role) != 0) {
        reply_error(c->r, 400, "role: expected voter, standby or spare");
        free(c);
        return;
    }
    if (!raftstore_has_secret(sync_raftstore(c->ac->s))) {
        reply_error(c->r, 409, "this cluster runs without cluster.secretFile: configure the same "
                               "secret on every node before adding members");
        free(c);
        return;
    }
    rc = raftstore_add(sync_raftstore(c->ac->s), raftstore_raft_id(c->id), c->raft_addr, c->role,
                       on_member_added, c);
    if (rc == -EEXIST) {
        /* A join retried after its answer was lost, or after the promotion failed (the node
         * was not caught up in time): give it the role it asked for. */
        rc = raftstore_assign(sync_raftstore(c->ac->s), raftstore_raft_id(c->id), c->role,
                              on_member_added, c);
        if (rc == -EALREADY) {
            on_member_added(c, 0, "");
        } else if (rc != 0) {
            reply_error(c->r, status_of(rc), "the member could not be given its role");
            free(c);
        }
    } else if (rc != 0) {
        reply_error(c->r, status_of(rc), rc == -EBUSY ? "another membership change is running"
                                                      : "the member could not be added");
        free(c);
    }
}

static void on_member_changed(void *arg, int status, const char *msg)
{
    struct ctx *c = arg;
    if (status != 0) {
        reply_error(c->r, status_of(status), msg);
    } else if (c->step == 1) { /* removed */
        struct jw w;
        jw_init(&w);
        jw_obj(&w);
        jw_kstr(&w, "removed", c->id);
        jw_end(&w);
        reply_json(c->r, 200, &w);
    } else {
        reply_member(c);
    }
    free(c);
}

/* Removal: the record first (its contributions go, and the node itself learns it was
 * removed), then demotion and removal from the raft configuration. Once demoted the node gets
 * nothing more from the leader, and the record's deletion was committed by the others, maybe
 * before the node heard of its commit: it would then never learn it was removed (no log, no
 * 409). So the node is asked (GET /api/cluster/self) until it says "removed", for at most
 * REMOVE_WAIT_MS; a node that cannot be reached is not waited for. */
#define REMOVE_WAIT_MS 3000

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool says_removed(const uint8_t *body, size_t len)
{
    static const char pat[] = "\"removed\":true";
    return body != NULL && memmem(body, len, pat, sizeof pat - 1) != NULL;
}

static void remove_from_config(struct ctx *c);
static void on_removed_probe(void *arg, int rc, int status, const uint8_t *body, size_t len);

static int probe_removed(struct ctx *c)
{
    return sync_call(c->ac->s, c->admin_addr, "GET", "/api/cluster/self", NULL, 0, 1000,
                     on_removed_probe, c);
}

static void on_removed_probe(void *arg, int rc, int status, const uint8_t *body, size_t len)
{
    struct ctx *c = arg;
    if (rc == -ECANCELED) {
        reply_error(c->r, 503, "the node is stopping");
        free(c);
        return;
    }
    if (rc == 0 && status == 200 && !says_removed(body, len) &&
        mono_ms() < c->remove_deadline_ms && probe_removed(c) == 0) {
        return;
    }
    remove_from_config(c);
}

static void on_record_removed(void *arg, const struct sync_result *res)
{
    struct ctx *c = arg;
    if (res->status != 0) {
        reply_error(c->r, status_of(res->status), res->msg);
        free(c);
        return;
    }
    c->step = 1;
    c->remove_deadline_ms = mono_ms() + REMOVE_WAIT_MS;
    if (c->admin_addr[0] == '\0' || probe_removed(c) != 0) {
        remove_from_config(c);
    }
}

static void remove_from_config(struct ctx *c)
{
    int rc = raftstore_remove(sync_raftstore(c->ac->s), raftstore_raft_id(c->id),
                              on_member_changed, c);
    if (rc == -ENOENT) {
        on_member_changed(c, 0, "");
    } else if (rc != 0) {
        on_member_changed(c, rc, "the member could not be removed from the configuration");
    }
}

static void member_remove(struct ctx *c)
{
    Concord__Raftlog__Entry e = CONCORD__RAFTLOG__ENTRY__INIT;
    Concord__Raftlog__RemoveMember rm = CONCORD__RAFTLOG__REMOVE_MEMBER__INIT;
    struct raftstore_server sv[MAX_SERVERS];
    uint64_t id = raftstore_raft_id(c->id);
    size_t n = raftstore_servers(sync_raftstore(c->ac->s), sv, MAX_SERVERS);
    bool found = rs_state_member(raftstore_state(sync_raftstore(c->ac->s)), c->id) != NULL;
    for (size_t i = 0; i < n && i < MAX_SERVERS; i++) {
        found = found || sv[i].raft_id == id;
    }
    if (!found) {
        reply_error(c->r, 404, "no such member");
        free(c);
        return;
    }
    if (strcmp(c->id, sync_node_id(c->ac->s)) == 0) {
        reply_error(c->r, 409, "this node is the leader: transfer leadership first "
                               "(proxyctl leader transfer), then remove it");
        free(c);
        return;
    }
    rm.id = c->id;
    e.command_case = CONCORD__RAFTLOG__ENTRY__COMMAND_REMOVE_MEMBER;
    e.remove_member = &rm;
    const Concord__Raftlog__Member *rec =
        rs_state_member(raftstore_state(sync_raftstore(c->ac->s)), c->id);
    if (rec == NULL) {
        struct sync_result ok = {0, 0, 0, 0, ""};
        on_record_removed(c, &ok);
        return;
    }
    snprintf(c->admin_addr, sizeof c->admin_addr, "%s",
             rec->admin_address ? rec->admin_address : "");
    sync_submit(c->ac->s, &e, on_record_removed, c);
}

static void member_assign(struct ctx *c, const struct admin_http *h, bool promote)
{
    char role[16] = "spare";
    int rc;
    if (promote) {
        c->role = RAFTSTORE_VOTER;
    } else {
        json_str(h->body, h->body_len, "role", role, sizeof role);
        if (raftstore_role_parse(role, &c->role) != 0 || c->role == RAFTSTORE_VOTER) {
            reply_error(c->r, 400, "role: expected spare or standby");
            free(c);
            return;
        }
    }
    if (strcmp(c->id, sync_node_id(c->ac->s)) == 0 && !promote) {
        reply_error(c->r, 409, "this node is the leader: transfer leadership first");
        free(c);
        return;
    }
    rc = raftstore_assign(sync_raftstore(c->ac->s), raftstore_raft_id(c->id), c->role,
                          on_member_changed, c);
    if (rc == -EALREADY) {
        reply_member(c);
        free(c);
    } else if (rc != 0) {
        reply_error(c->r, status_of(rc), rc == -ENOENT ? "no such member" : "the role could not be changed");
        free(c);
    }
}

/* ---- leadership ---- */

static void on_transfer(void *arg, int status, const char *msg)
{
    struct ctx *c = arg;
    const char *leader_id = NULL;
    struct jw w;
    if (status != 0) {
        reply_error(c->r, status_of(status), msg);
        free(c);
        return;
    }
    sync_leader_admin(c->ac->s, &leader_id);
    jw_init(&w);
    jw_obj(&w);
    jw_kstr(&w, "leader", leader_id);
    jw_end(&w);
    reply_json(c->r, 200, &w);
    free(c);
}

static void leader_transfer(struct ctx *c, const struct admin_http *h)
{
    uint64_t target = 0;
    int rc;
    if (json_str(h->body, h->body_len, "id", c->id, sizeof c->id)) {
        target = raftstore_raft_id(c->id);
    }
    rc = raftstore_transfer(sync_raftstore(c->ac->s), target, on_transfer, c);
    if (rc != 0) {
        reply_error(c->r, status_of(rc),
                    rc == -EALREADY  ? "that node leads already"
                    : rc == -ENOENT  ? "no such member, or no other voter to hand over to"
                    : rc == -EINVAL  ? "the target is not a voter"
                                     : "the transfer could not start");
        free(c);
    }
}

/* ---- config of a namespace ---- */

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
    reply_json(c->r, 200, &w);
}

static void on_read_point(void *arg, int status, const char *msg)
{
    struct ctx *c = arg;
    if (status != 0) {
        reply_error(c->r, status_of(status), msg);
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
    reply_json(c->r, 200, &w);
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
        reply_json(c->r, status_of(res->status), &w);
    } else if (res->code == RS_REVISION_MISMATCH) {
        jw_kstr(&w, "error", res->msg);
        jw_key(&w, "revision");
        jw_uint(&w, res->revision);
        jw_end(&w);
        reply_json(c->r, 409, &w);
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
        reply_json(c->r, 422, &w);
    } else {
        jw_kstr(&w, "error", res->msg);
        jw_end(&w);
        reply_json(c->r, 400, &w);
    }
    free(c);
}

static bool revision_param(const struct admin_http *h, uint64_t *rev, bool *has)
{
    char v[32], *end;
    *has = query(h, "revision", v, sizeof v);
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

static void config_put(struct ctx *c, const struct admin_http *h)
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
        reply_error(c->r, 400, "revision: expected a number");
        free(c);
        return;
    }
    if (!query(h, "source", name, sizeof name)) {
        snprintf(name, sizeof name, "request");
    }
    if (strncmp(h->content_type, BUNDLE_TYPE, sizeof BUNDLE_TYPE - 1) == 0) {
        if ((b = calloc(1, sizeof *b)) == NULL) {
            reply_error(c->r, 500, "out of memory");
            free(c);
            return;
        }
        if ((bad = bundle_parse(h->body, h->body_len, b)) != NULL) {
            reply_error(c->r, 400, bad);
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
        reply_json(c->r, 422, &w);
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
    set.strict = !query_true(h, "force");
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

static void config_delete(struct ctx *c, const struct admin_http *h)
{
    Concord__Raftlog__Entry e = CONCORD__RAFTLOG__ENTRY__INIT;
    Concord__Raftlog__DeleteContribution del = CONCORD__RAFTLOG__DELETE_CONTRIBUTION__INIT;
    bool has;
    if (!revision_param(h, &del.expected_revision, &has)) {
        reply_error(c->r, 400, "revision: expected a number");
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

/* ---- status ---- */

static bool json_u64(const uint8_t *body, size_t len, const char *key, uint64_t *out)
{
    char pat[64];
    const char *p;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    p = body ? memmem(body, len, pat, strlen(pat)) : NULL;
    if (p == NULL) {
        return false;
    }
    *out = strtoull(p + strlen(pat), NULL, 10);
    return true;
}

/* What one node says about itself (GET /api/cluster/self): flat, so that nodes read it back
 * without a JSON library. */
static void self_json(struct jw *w, struct api_cluster *ac)
{
    struct raftstore_info info;
    const char *leader_id = NULL, *pname, *perr;
    raftstore_info(sync_raftstore(ac->s), &info);
    sync_leader_admin(ac->s, &leader_id);
    jw_obj(w);
    jw_kstr(w, "id", sync_node_id(ac->s));
    jw_kstr(w, "state", info.state);
    jw_key(w, "term");
    jw_uint(w, info.term);
    jw_key(w, "commitIndex");
    jw_uint(w, info.commit_index);
    jw_key(w, "appliedIndex");
    jw_uint(w, info.applied_index);
    jw_key(w, "tableGeneration");
    jw_uint(w, sync_table_generation(ac->s));
    jw_kstr(w, "leader", leader_id);
    jw_kbool(w, "removed", sync_removed(ac->s));
    if (sync_nproviders(ac->s) > 0) {
        sync_provider(ac->s, 0, &pname, &perr);
        jw_kstr(w, "fileError", perr);
    }
    jw_end(w);
}

struct member_probe {
    struct raftstore_server sv;
    struct ctx *c;
    bool self, reachable, has_file;
    char state[16];
    char file_error[512];
    uint64_t term, commit, applied, gen;
};

static void status_finish(struct ctx *c)
{
    struct api_cluster *ac = c->ac;
    struct raftstore_info info;
    const char *leader_id = NULL;
    struct jw w;
    raftstore_info(sync_raftstore(ac->s), &info);
    sync_leader_admin(ac->s, &leader_id);
    jw_init(&w);
    jw_obj(&w);
    jw_kstr(&w, "leader", leader_id);
    jw_key(&w, "term");
    jw_uint(&w, info.term);
    jw_key(&w, "commitIndex");
    jw_uint(&w, info.commit_index);
    jw_key(&w, "appliedIndex");
    jw_uint(&w, info.applied_index);
    jw_kstr(&w, "node", sync_node_id(ac->s));
    jw_key(&w, "members");
    jw_arr(&w);
    for (size_t i = 0; i < c->nprobes; i++) {
        struct member_probe *p = &c->probes[i];
        jw_obj(&w);
        member_json(&w, ac, &p->sv);
        jw_kstr(&w, "state", p->reachable ? p->state : "unavailable");
        jw_kbool(&w, "reachable", p->reachable);
        jw_key(&w, "appliedIndex");
        jw_uint(&w, p->applied);
        jw_key(&w, "commitIndex");
        jw_uint(&w, p->commit);
        jw_key(&w, "tableGeneration");
        jw_uint(&w, p->gen);
        jw_end(&w);
    }
    jw_aend(&w);
    jw_key(&w, "providers");
    jw_arr(&w);
    for (size_t i = 0; i < c->nprobes; i++) {
        struct member_probe *p = &c->probes[i];
        if (!p->has_file) {
            continue;
        }
        const struct rs_state *st = raftstore_state(sync_raftstore(ac->s));
        const char *id = "";
        for (size_t k = 0; k < rs_state_nmembers(st); k++) {
            if (rs_state_member_at(st, k)->raft_id == p->sv.raft_id) {
                id = rs_state_member_at(st, k)->id;
            }
        }
        jw_obj(&w);
        jw_kstr(&w, "name", "file");
        jw_kstr(&w, "node", id);
        jw_kstr(&w, "error", p->file_error[0] ? p->file_error : NULL);
        jw_end(&w);
    }
    jw_aend(&w);
    jw_end(&w);
    reply_json(c->r, 200, &w);
    free(c->probes);
    free(c);
}

static void on_probe(void *arg, int rc, int status, const uint8_t *body, size_t len)
{
    struct member_probe *p = arg;
    struct ctx *c = p->c;
    if (rc == 0 && status == 200 && body != NULL) {
        p->reachable = true;
        json_str(body, len, "state", p->state, sizeof p->state);
        json_u64(body, len, "term", &p->term);
        json_u64(body, len, "commitIndex", &p->commit);
        json_u64(body, len, "appliedIndex", &p->applied);
        json_u64(body, len, "tableGeneration", &p->gen);
        p->has_file = json_str(body, len, "fileError", p->file_error, sizeof p->file_error);
    }
    if (--c->outstanding == 0) {
        status_finish(c);
    }
}

static void status_probe(struct ctx *c)
{
    struct api_cluster *ac = c->ac;
    struct raftstore_server sv[MAX_SERVERS];
    size_t n = raftstore_servers(sync_raftstore(ac->s), sv, MAX_SERVERS);
    uint64_t self = raftstore_raft_id(sync_node_id(ac->s));
    const struct rs_state *st = raftstore_state(sync_raftstore(ac->s));
    const char *pname, *perr;
    struct raftstore_info info;
    if (n > MAX_SERVERS) {
        n = MAX_SERVERS;
    }
    c->probes = calloc(n ? n : 1, sizeof *c->probes);
    if (c->probes == NULL) {
        reply_error(c->r, 500, "out of memory");
        free(c);
        return;
    }
    c->nprobes = n;
    c->outstanding = 1; /* held until every probe is sent */
    raftstore_info(sync_raftstore(ac->s), &info);
    for (size_t i = 0; i < n; i++) {
        struct member_probe *p = &c->probes[i];
        const Concord__Raftlog__Member *m = NULL;
        p->sv = sv[i];
        p->c = c;
        if (sv[i].raft_id == self) {
            p->reachable = true;
            snprintf(p->state, sizeof p->state, "%s", info.state);
            p->term = info.term;
            p->commit = info.commit_index;
            p->applied = info.applied_index;
            p->gen = sync_table_generation(ac->s);
            if (sync_nproviders(ac->s) > 0) {
                sync_provider(ac->s, 0, &pname, &perr);
                p->has_file = true;
                snprintf(p->file_error, sizeof p->file_error, "%s", perr);
            }
            continue;
        }
        for (size_t k = 0; k < rs_state_nmembers(st); k++) {
            if (rs_state_member_at(st, k)->raft_id == sv[i].raft_id) {
                m = rs_state_member_at(st, k);
            }
        }
        if (m == NULL || m->admin_address[0] == '\0') {
            continue;
        }
        c->outstanding++;
        if (sync_call(ac->s, m->admin_address, "GET", "/api/cluster/self", NULL, 0,
                      STATUS_PROBE_MS, on_probe, p) != 0) {
            c->outstanding--;
        }
    }
    if (--c->outstanding == 0) {
        status_finish(c);
    }
}

static void on_status_read(void *arg, int status, const char *msg)
{
    struct ctx *c = arg;
    (void)msg;
    /* Without a leader the status is still worth having: it says so (leader null). */
    (void)status;
    status_probe(c);
}

/* ---- node to node ---- */

static void on_proposal_done(void *arg, const struct sync_result *res)
{
    struct ctx *c = arg;
    char head[128];
    size_t hl, ml = strlen(res->msg);
    char *body;
    hl = (size_t)snprintf(head, sizeof head, "%d %" PRIu64 " %d %" PRIu64 "\n", res->status,
                          res->index, res->code, res->revision);
    body = malloc(hl + ml + 1);
    if (body == NULL) {
        admin_reply(c->r, 500, "text/plain", "", 0);
    } else {
        memcpy(body, head, hl);
        memcpy(body + hl, res->msg, ml + 1);
        admin_reply(c->r, 200, "text/plain; charset=utf-8", body, hl + ml);
        free(body);
    }
    free(c);
}

static void on_readindex(void *arg, int status, uint64_t index)
{
    struct ctx *c = arg;
    char body[64];
    int n;
    if (status != 0) {
        reply_error(c->r, status_of(status), "no read index: not the leader");
    } else {
        n = snprintf(body, sizeof body, "%" PRIu64 "\n", index);
        admin_reply(c->r, 200, "text/plain", body, (size_t)n);
    }
    free(c);
}

/* ---- dispatch ---- */

static bool path_is(const struct admin_http *h, const char *p)
{
    return h->plen == strlen(p) && memcmp(h->path, p, h->plen) == 0;
}

/* "/api/cluster/members/{id}[/suffix]": the id into out, the suffix ("" or "promote"). */
static bool member_path(const struct admin_http *h, char *id, size_t size, const char **suffix)
{
    static const char pre[] = "/api/cluster/members/";
    const char *p = h->path + sizeof pre - 1, *end = h->path + h->plen, *slash;
    if (h->plen <= sizeof pre - 1 || memcmp(h->path, pre, sizeof pre - 1) != 0) {
        return false;
    }
    slash = memchr(p, '/', (size_t)(end - p));
    size_t n = (size_t)((slash ? slash : end) - p);
    if (n == 0 || n >= size) {
        return false;
    }
    memcpy(id, p, n);
    id[n] = '\0';
    *suffix = slash ? slash + 1 : "";
    if (slash && (size_t)(end - slash - 1) >= 16) {
        return false;
    }
    static char sfx[16];
    snprintf(sfx, sizeof sfx, "%.*s", slash ? (int)(end - slash - 1) : 0, slash ? slash + 1 : "");
    *suffix = sfx;
    return true;
}

static bool leader_only(struct ctx *c, const struct admin_http *h)
{
    if (sync_is_leader(c->ac->s)) {
        return true;
    }
    if (!forward(c, h)) {
        reply_error(c->r, 503, "no leader is known yet; retry");
        free(c);
    }
    return false;
}

bool api_cluster_handle(void *arg, struct admin_req *r, const struct admin_http *h)
{
    struct api_cluster *ac = arg;
    static const char cfg_pre[] = "/api/cluster/config/";
    const char *suffix;
    char id[64];
    struct ctx *c;
    if (h->plen < 12 || memcmp(h->path, "/api/cluster", 12) != 0) {
        return false;
    }
    if (sync_closing(ac->s)) {
        reply_error(r, 503, "this node is stopping");
        return true;
    }
    if ((c = ctx_new(ac, r)) == NULL) {
        return true;
    }
    c->stale = query_true(h, "stale");
    if (path_is(h, "/api/cluster/status") && is(h, "GET")) {
        if (c->stale) {
            status_probe(c);
        } else {
            sync_read(ac->s, on_status_read, c);
        }
    } else if (path_is(h, "/api/cluster/self") && is(h, "GET")) {
        struct jw w;
        jw_init(&w);
        self_json(&w, ac);
        reply_json(r, 200, &w);
        free(c);
    } else if (path_is(h, "/api/cluster/members") && is(h, "GET")) {
        members_get(ac, r);
        free(c);
    } else if (path_is(h, "/api/cluster/members") && is(h, "POST")) {
        if (leader_only(c, h)) {
            members_post(c, h);
        }
    } else if (member_path(h, id, sizeof id, &suffix)) {
        snprintf(c->id, sizeof c->id, "%s", id);
        if (suffix[0] == '\0' && is(h, "DELETE")) {
            if (leader_only(c, h)) {
                member_remove(c);
            }
        } else if ((strcmp(suffix, "promote") == 0 || strcmp(suffix, "demote") == 0) &&
                   is(h, "POST")) {
            if (leader_only(c, h)) {
                member_assign(c, h, strcmp(suffix, "promote") == 0);
            }
        } else {
            reply_error(r, 404, "no such endpoint");
            free(c);
        }
    } else if (path_is(h, "/api/cluster/leader/transfer") && is(h, "POST")) {
        if (leader_only(c, h)) {
            leader_transfer(c, h);
        }
    } else if (h->plen > sizeof cfg_pre - 1 && memcmp(h->path, cfg_pre, sizeof cfg_pre - 1) == 0 &&
               h->plen - (sizeof cfg_pre - 1) < sizeof c->ns &&
               memchr(h->path + sizeof cfg_pre - 1, '/', h->plen - (sizeof cfg_pre - 1)) == NULL) {
        snprintf(c->ns, sizeof c->ns, "%.*s", (int)(h->plen - (sizeof cfg_pre - 1)),
                 h->path + sizeof cfg_pre - 1);
        if (is(h, "GET")) {
            c->step = 10;
            if (c->stale) {
                on_read_point(c, 0, "");
            } else {
                sync_read(ac->s, on_read_point, c);
            }
        } else if (sync_removed(ac->s)) {
            reply_error(r, 409, "this node was removed from the cluster; send writes to a member");
            free(c);
        } else if (is(h, "PUT")) {
            config_put(c, h);
        } else if (is(h, "DELETE")) {
            config_delete(c, h);
        } else {
            reply_error(r, 405, "GET, PUT or DELETE");
            free(c);
        }
    } else if (path_is(h, "/api/cluster/snapshot") && is(h, "GET")) {
        c->step = 11;
        sync_read(ac->s, on_read_point, c);
    } else if (path_is(h, "/api/cluster/explain") && is(h, "POST")) {
        struct node_view v;
        struct jw w;
        int st;
        node_view(ac->node, &v);
        jw_init(&w);
        st = api_explain(&v, h->body ? (const char *)h->body : "", h->body_len, &w);
        reply_json(r, st, &w);
        free(c);
    } else if (path_is(h, "/api/cluster/propose") && is(h, "POST") && h->peer) {
        sync_submit_packed(ac->s, h->body, h->body_len, on_proposal_done, c);
    } else if (path_is(h, "/api/cluster/readindex") && is(h, "POST") && h->peer) {
        sync_read_index(ac->s, on_readindex, c);
    } else {
        reply_error(r, 404, "no such endpoint");
        free(c);
    }
    return true;
}

struct api_cluster *api_cluster_create(struct sync *s, struct node *node)
{
    struct api_cluster *ac = calloc(1, sizeof *ac);
    if (ac != NULL) {
        ac->s = s;
        ac->node = node;
    }
    return ac;
}

void api_cluster_destroy(struct api_cluster *ac)
{
    free(ac);
}

bool api_cluster_peer_ok(void *arg, const char *signed_part, size_t len, const uint8_t *body,
                         size_t body_len, const char *mac_hex)
{
    struct api_cluster *ac = arg;
    uint8_t mac[32], *buf;
    bool ok;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(mac_hex + 2 * i, "%2x", &v) != 1) {
            return false;
        }
        mac[i] = (uint8_t)v;
    }
    buf = malloc(len + body_len + 1);
    if (buf == NULL) {
        return false;
    }
    memcpy(buf, signed_part, len);
    if (body_len > 0) {
        memcpy(buf + len, body, body_len);
    }
    ok = raftstore_verify(sync_raftstore(ac->s), buf, len + body_len, mac);
    free(buf);
    return ok;
}
