/* The admin API's cluster endpoints (/api/cluster/...): status, members, leadership, the
 * config of a namespace, snapshots, and the node-to-node calls (propose, read index, self).
 * Writes reaching a follower are forwarded to the leader: a config write as its entry
 * (sync_submit), membership and leadership calls as the same HTTP request. */
#include "node/admin/api_cluster.h"
#include "node/admin/api_cluster-int.h"

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

#define MAX_SERVERS 64

/* ---- replies ---- */

void ac_reply_json(struct admin_req *r, int status, struct jw *w)
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

void ac_reply_error(struct admin_req *r, int status, const char *msg)
{
    struct jw w;
    jw_init(&w);
    jw_obj(&w);
    jw_kstr(&w, "error", msg);
    jw_end(&w);
    ac_reply_json(r, status, &w);
}

int ac_status_of(int rc)
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

bool ac_is(const struct admin_http *h, const char *method)
{
    return h->method_len == strlen(method) && memcmp(h->method, method, h->method_len) == 0;
}

/* The value of query parameter `key` (not decoded: our values are plain). */
bool ac_query(const struct admin_http *h, const char *key, char *out, size_t size)
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

bool ac_query_true(const struct admin_http *h, const char *key)
{
    char v[16];
    return ac_query(h, key, v, sizeof v) && (v[0] == '\0' || strcmp(v, "true") == 0 ||
                                          strcmp(v, "1") == 0);
}

/* Decodes the JSON string that starts after its opening quote at v into out (escapes
 * included; \u escapes of the BMP become UTF-8, surrogates '?'). False when it does not end
 * before `end`, is malformed, or does not fit. */
static bool json_unquote(const char *v, const char *end, char *out, size_t size)
{
    size_t n = 0;
    while (v < end && *v != '"') {
        unsigned long cp;
        char c = *v++;
        if (c == '\\') {
            if (v >= end) {
                return false;
            }
            c = *v++;
            switch (c) {
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case '"': case '\\': case '/': break;
            case 'u': {
                char hex[5];
                if (end - v < 4) {
                    return false;
                }
                memcpy(hex, v, 4);
                hex[4] = '\0';
                v += 4;
                cp = strtoul(hex, NULL, 16);
                if (cp >= 0xd800 && cp <= 0xdfff) {
                    cp = '?';
                }
                if (cp >= 0x80) { /* two or three UTF-8 bytes */
                    char u[3];
                    size_t k = cp >= 0x800 ? 3 : 2;
                    if (k == 3) {
                        u[0] = (char)(0xe0 | (cp >> 12));
                        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                        u[2] = (char)(0x80 | (cp & 0x3f));
                    } else {
                        u[0] = (char)(0xc0 | (cp >> 6));
                        u[1] = (char)(0x80 | (cp & 0x3f));
                    }
                    if (n + k >= size) {
                        return false;
                    }
                    memcpy(out + n, u, k);
                    n += k;
                    continue;
                }
                c = (char)cp;
                break;
            }
            default:
                return false;
            }
        }
        if (n + 1 >= size) {
            return false;
        }
        out[n++] = c;
    }
    if (v >= end) {
        return false;
    }
    out[n] = '\0';
    return true;
}

/* A string member of a flat JSON object ({"id":"n4",...}): the first occurrence of the key. */
bool ac_json_str(const uint8_t *body, size_t len, const char *key, char *out, size_t size)
{
    char pat[64];
    const char *p, *end = (const char *)body + len;
    if (body == NULL || size == 0) {
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
    return json_unquote(p + 1, end, out, size);
}

/* ---- the pending request's context ---- */

struct ctx *ac_ctx_new(struct api_cluster *ac, struct admin_req *r)
{
    struct ctx *c = calloc(1, sizeof *c);
    if (c == NULL) {
        ac_reply_error(r, 500, "out of memory");
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
        ac_reply_error(c->r, rc == -ETIMEDOUT ? 504 : 502, "the leader could not be reached");
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
        (h->peer && ac_query_true(h, "forwarded"))) {
        return false;
    }
    snprintf(method, sizeof method, "%.*s", (int)h->method_len, h->method);
    snprintf(target, sizeof target, "%.*s?%.*s%sforwarded=true", (int)h->plen, h->path,
             (int)h->qlen, h->query, h->qlen ? "&" : "");
    return sync_call(c->ac->s, addr, method, target, h->body, h->body_len, 60000,
                     on_forward_answer, c) == 0;
}

/* ---- members ---- */

void ac_member_json(struct jw *w, struct api_cluster *ac, const struct raftstore_server *sv)
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
        ac_member_json(&w, ac, &sv[i]);
        jw_end(&w);
    }
    jw_aend(&w);
    jw_end(&w);
    ac_reply_json(r, 200, &w);
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
            ac_member_json(&w, c->ac, &sv[i]);
        }
    }
    jw_end(&w);
    jw_end(&w);
    ac_reply_json(c->r, 200, &w);
}

static void on_member_recorded(void *arg, const struct sync_result *res)
{
    struct ctx *c = arg;
    if (res->status != 0) {
        ac_reply_error(c->r, ac_status_of(res->status), res->msg);
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
        ac_reply_error(c->r, ac_status_of(status), msg);
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
    if (!ac_json_str(h->body, h->body_len, "id", c->id, sizeof c->id) ||
        !ac_json_str(h->body, h->body_len, "raftAddress", c->raft_addr, sizeof c->raft_addr)) {
        ac_reply_error(c->r, 400, "the body needs \"id\" and \"raftAddress\" (and \"adminAddress\")");
        free(c);
        return;
    }
    /* nodeId's rule (static_config.c): an id the member paths and records can name again */
    static const char id_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789._-";
    if (c->id[0] == '\0' || c->id[strspn(c->id, id_chars)] != '\0') {
        ac_reply_error(c->r, 400, "id: expected 1-63 of A-Z a-z 0-9 . _ -");
        free(c);
        return;
    }
    ac_json_str(h->body, h->body_len, "adminAddress", c->admin_addr, sizeof c->admin_addr);
    ac_json_str(h->body, h->body_len, "role", role, sizeof role);
    if (raftstore_role_parse(role, &c->role) != 0) {
        ac_reply_error(c->r, 400, "role: expected voter, standby or spare");
        free(c);
        return;
    }
    if (!raftstore_has_secret(sync_raftstore(c->ac->s))) {
        ac_reply_error(c->r, 409, "this cluster runs without cluster.secretFile: configure the same "
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
            ac_reply_error(c->r, ac_status_of(rc), "the member could not be given its role");
            free(c);
        }
    } else if (rc != 0) {
        ac_reply_error(c->r, ac_status_of(rc), rc == -EBUSY ? "another membership change is running"
                                                      : "the member could not be added");
        free(c);
    }
}

static void on_member_changed(void *arg, int status, const char *msg)
{
    struct ctx *c = arg;
    if (status != 0) {
        ac_reply_error(c->r, ac_status_of(status), msg);
    } else if (c->step == 1) { /* removed */
        struct jw w;
        jw_init(&w);
        jw_obj(&w);
        jw_kstr(&w, "removed", c->id);
        jw_end(&w);
        ac_reply_json(c->r, 200, &w);
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
        ac_reply_error(c->r, 503, "the node is stopping");
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
        ac_reply_error(c->r, ac_status_of(res->status), res->msg);
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
        ac_reply_error(c->r, 404, "no such member");
        free(c);
        return;
    }
    if (strcmp(c->id, sync_node_id(c->ac->s)) == 0) {
        ac_reply_error(c->r, 409, "this node is the leader: transfer leadership first "
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
        ac_json_str(h->body, h->body_len, "role", role, sizeof role);
        if (raftstore_role_parse(role, &c->role) != 0 || c->role == RAFTSTORE_VOTER) {
            ac_reply_error(c->r, 400, "role: expected spare or standby");
            free(c);
            return;
        }
    }
    if (strcmp(c->id, sync_node_id(c->ac->s)) == 0 && !promote) {
        ac_reply_error(c->r, 409, "this node is the leader: transfer leadership first");
        free(c);
        return;
    }
    rc = raftstore_assign(sync_raftstore(c->ac->s), raftstore_raft_id(c->id), c->role,
                          on_member_changed, c);
    if (rc == -EALREADY) {
        reply_member(c);
        free(c);
    } else if (rc != 0) {
        ac_reply_error(c->r, ac_status_of(rc), rc == -ENOENT ? "no such member" : "the role could not be changed");
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
        ac_reply_error(c->r, ac_status_of(status), msg);
        free(c);
        return;
    }
    sync_leader_admin(c->ac->s, &leader_id);
    jw_init(&w);
    jw_obj(&w);
    jw_kstr(&w, "leader", leader_id);
    jw_end(&w);
    ac_reply_json(c->r, 200, &w);
    free(c);
}

static void leader_transfer(struct ctx *c, const struct admin_http *h)
{
    uint64_t target = 0;
    int rc;
    if (ac_json_str(h->body, h->body_len, "id", c->id, sizeof c->id)) {
        target = raftstore_raft_id(c->id);
    }
    rc = raftstore_transfer(sync_raftstore(c->ac->s), target, on_transfer, c);
    if (rc != 0) {
        ac_reply_error(c->r, ac_status_of(rc),
                    rc == -EALREADY  ? "that node leads already"
                    : rc == -ENOENT  ? "no such member, or no other voter to hand over to"
                    : rc == -EINVAL  ? "the target is not a voter"
                                     : "the transfer could not start");
        free(c);
    }
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
        ac_reply_error(c->r, ac_status_of(status), "no read index: not the leader");
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

/* "/api/cluster/members/{id}[/suffix]": the id and the suffix ("" or "promote") into the
 * caller's buffers. */
static bool member_path(const struct admin_http *h, char *id, size_t size, char *suffix,
                        size_t ssize)
{
    static const char pre[] = "/api/cluster/members/";
    const char *p = h->path + sizeof pre - 1, *end = h->path + h->plen, *slash;
    size_t n;
    if (h->plen <= sizeof pre - 1 || memcmp(h->path, pre, sizeof pre - 1) != 0) {
        return false;
    }
    slash = memchr(p, '/', (size_t)(end - p));
    n = (size_t)((slash ? slash : end) - p);
    if (n == 0 || n >= size || (slash && (size_t)(end - slash - 1) >= ssize)) {
        return false;
    }
    memcpy(id, p, n);
    id[n] = '\0';
    snprintf(suffix, ssize, "%.*s", slash ? (int)(end - slash - 1) : 0, slash ? slash + 1 : "");
    return true;
}

static bool leader_only(struct ctx *c, const struct admin_http *h)
{
    if (sync_is_leader(c->ac->s)) {
        return true;
    }
    if (!forward(c, h)) {
        ac_reply_error(c->r, 503, "no leader is known yet; retry");
        free(c);
    }
    return false;
}

bool api_cluster_handle(void *arg, struct admin_req *r, const struct admin_http *h)
{
    struct api_cluster *ac = arg;
    static const char cfg_pre[] = "/api/cluster/config/";
    char suffix[16];
    char id[64];
    struct ctx *c;
    if (h->plen < 12 || memcmp(h->path, "/api/cluster", 12) != 0) {
        return false;
    }
    if (sync_closing(ac->s)) {
        ac_reply_error(r, 503, "this node is stopping");
        return true;
    }
    if ((c = ac_ctx_new(ac, r)) == NULL) {
        return true;
    }
    c->stale = ac_query_true(h, "stale");
    if (path_is(h, "/api/cluster/status") && ac_is(h, "GET")) {
        /* The member list is the Raft configuration: a follower's may lag, a spare's never
         * moves (spares get no entries). A linearizable status comes from the leader. */
        if (c->stale) {
            ac_status_probe(c);
        } else if (sync_is_leader(ac->s) || !forward(c, h)) {
            sync_read(ac->s, ac_on_status_read, c);
        }
    } else if (path_is(h, "/api/cluster/self") && ac_is(h, "GET")) {
        struct jw w;
        jw_init(&w);
        ac_self_json(&w, ac);
        ac_reply_json(r, 200, &w);
        free(c);
    } else if (path_is(h, "/api/cluster/members") && ac_is(h, "GET")) {
        if (c->stale || sync_is_leader(ac->s) || !forward(c, h)) {
            members_get(ac, r); /* stale, or no leader to ask */
            free(c);
        }
    } else if (path_is(h, "/api/cluster/members") && ac_is(h, "POST")) {
        if (leader_only(c, h)) {
            members_post(c, h);
        }
    } else if (member_path(h, id, sizeof id, suffix, sizeof suffix)) {
        snprintf(c->id, sizeof c->id, "%s", id);
        if (suffix[0] == '\0' && ac_is(h, "DELETE")) {
            if (leader_only(c, h)) {
                member_remove(c);
            }
        } else if ((strcmp(suffix, "promote") == 0 || strcmp(suffix, "demote") == 0) &&
                   ac_is(h, "POST")) {
            if (leader_only(c, h)) {
                member_assign(c, h, strcmp(suffix, "promote") == 0);
            }
        } else {
            ac_reply_error(r, 404, "no such endpoint");
            free(c);
        }
    } else if (path_is(h, "/api/cluster/leader/transfer") && ac_is(h, "POST")) {
        if (leader_only(c, h)) {
            leader_transfer(c, h);
        }
    } else if (h->plen > sizeof cfg_pre - 1 && memcmp(h->path, cfg_pre, sizeof cfg_pre - 1) == 0 &&
               h->plen - (sizeof cfg_pre - 1) < sizeof c->ns &&
               memchr(h->path + sizeof cfg_pre - 1, '/', h->plen - (sizeof cfg_pre - 1)) == NULL) {
        snprintf(c->ns, sizeof c->ns, "%.*s", (int)(h->plen - (sizeof cfg_pre - 1)),
                 h->path + sizeof cfg_pre - 1);
        if (ac_is(h, "GET")) {
            c->step = 10;
            if (c->stale) {
                ac_on_read_point(c, 0, "");
            } else {
                sync_read(ac->s, ac_on_read_point, c);
            }
        } else if (sync_removed(ac->s)) {
            ac_reply_error(r, 409, "this node was removed from the cluster; send writes to a member");
            free(c);
        } else if (ac_is(h, "PUT")) {
            ac_config_put(c, h);
        } else if (ac_is(h, "DELETE")) {
            ac_config_delete(c, h);
        } else {
            ac_reply_error(r, 405, "GET, PUT or DELETE");
            free(c);
        }
    } else if (path_is(h, "/api/cluster/snapshot") && ac_is(h, "GET")) {
        c->step = 11;
        sync_read(ac->s, ac_on_read_point, c);
    } else if (path_is(h, "/api/cluster/explain") && ac_is(h, "POST")) {
        struct node_view v;
        struct jw w;
        int st;
        node_view(ac->node, &v);
        jw_init(&w);
        st = api_explain(&v, h->body ? (const char *)h->body : "", h->body_len, &w);
        ac_reply_json(r, st, &w);
        free(c);
    } else if (path_is(h, "/api/cluster/propose") && ac_is(h, "POST") && h->peer) {
        sync_submit_packed(ac->s, h->body, h->body_len, on_proposal_done, c);
    } else if (path_is(h, "/api/cluster/readindex") && ac_is(h, "POST") && h->peer) {
        sync_read_index(ac->s, on_readindex, c);
    } else {
        ac_reply_error(r, 404, "no such endpoint");
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
    if (sync_closing(ac->s)) {
        return false; /* its raftstore may be gone already (the node is stopping) */
    }
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
