/* The control path glue: cluster options, the raftstore, the file provider's proposals, the
 * table rebuilt on every applied configuration change, this node's member record, joining,
 * and forwarding to the leader. */
#include "node/sync.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "node/base/diag.h"
#include "node/base/log.h"
#include "node/http/fetch.h"
#include "node/node.h"
#include "node/sync-int.h"
#include "providers/provider.h"
#include "providers/decode.h"
#include "providers/static_config.h"
#include "raftstore/raftstore.h"

/* ---- small helpers ---- */

static const Concord__Raftlog__Member *member_by_raft_id(const struct sync *s, uint64_t id)
{
    const struct rs_state *st = raftstore_state(s->rs);
    for (size_t i = 0; i < rs_state_nmembers(st); i++) {
        const Concord__Raftlog__Member *m = rs_state_member_at(st, i);
        if (m->raft_id == id) {
            return m;
        }
    }
    return NULL;
}

const char *sync_leader_admin(const struct sync *s, const char **leader_id)
{
    struct raftstore_info info;
    const Concord__Raftlog__Member *m;
    raftstore_info(s->rs, &info);
    *leader_id = NULL;
    if (info.leader_id == s->raft_id) { /* known before its own record is applied */
        *leader_id = s->node_id;
        return s->admin_address;
    }
    if (info.leader_id == 0 || (m = member_by_raft_id(s, info.leader_id)) == NULL) {
        return "";
    }
    *leader_id = m->id;
    return m->admin_address;
}

bool sync_closing(const struct sync *s)
{
    return s->closing;
}

bool sync_is_leader(const struct sync *s)
{
    return raftstore_leader_ready(s->rs);
}

struct raftstore *sync_raftstore(const struct sync *s)
{
    return s->rs;
}

const char *sync_node_id(const struct sync *s)
{
    return s->node_id;
}

uint64_t sync_table_generation(const struct sync *s)
{
    return s->table_gen;
}

size_t sync_nproviders(const struct sync *s)
{
    return s->nslots;
}

void sync_provider(const struct sync *s, size_t i, const char **name, const char **error)
{
    *name = s->slots[i].ops->name;
    *error = s->slots[i].error;
}

const char *sync_provider_skipped(const struct sync *s, size_t i)
{
    return s->slots[i].skipped;
}

bool sync_provider_active(const struct sync *s, size_t i)
{
    return !s->slots[i].ops->cluster_wide || s->slots[i].p != NULL;
}

bool sync_removed(const struct sync *s)
{
    return s->removed;
}

/* ---- the table follows the state ---- */

void sync_set_ready(struct sync *s)
{
    if (s->ready || s->removed) {
        return;
    }
    struct raftstore_info info;
    raftstore_info(s->rs, &info);
    if (info.leader_id == 0 || s->compile_pending) {
        return;
    }
    for (size_t i = 0; i < s->nslots; i++) { /* every provider's contribution is live */
        if (s->slots[i].state != SLOT_SYNCED || s->table_gen < s->slots[i].committed_min) {
            return;
        }
    }
    if (info.leader_id == s->raft_id && !info.ready) {
        return; /* a new leader serves reads after its barrier */
    }
    /* Its own record too: the others (and status) find its admin address there; and the
     * leader's, or a write sent here could not be forwarded. */
    if (rs_state_member(raftstore_state(s->rs), s->node_id) == NULL) {
        return;
    }
    {
        const char *leader_id = NULL;
        if (sync_leader_admin(s, &leader_id)[0] == '\0') {
            return;
        }
    }
    /* A joining node is a spare until caught up (spares get no entries): not ready yet. */
    {
        struct raftstore_server sv[64];
        size_t n = raftstore_servers(s->rs, sv, 64);
        bool member = false;
        for (size_t i = 0; i < n && i < 64; i++) {
            member = member || (sv[i].raft_id == s->raft_id && sv[i].role != RAFTSTORE_SPARE);
        }
        if (!member) {
            return;
        }
    }
    s->ready = true;
    log_info("cluster: node %s ready (table generation %" PRIu64 ")", s->node_id, s->table_gen);
    if (s->on_ready != NULL) {
        s->on_ready(s->arg, true);
    }
}

static void on_compile_timer(uv_timer_t *t)
{
    struct sync *s = t->data;
    const struct rs_state *st = raftstore_state(s->rs);
    uint64_t gen = rs_state_config_index(st);
    struct rs_merged m;
    struct err e = {0, ""};
    s->compile_pending = false;
    if (gen == s->table_gen && s->table_gen != 0) {
        return;
    }
    rs_state_merged(st, &m);
    if (node_publish(s->node, &m, gen, &e) != 0) {
        log_error("cluster: %s; the running table stays", e.msg);
    } else {
        s->table_gen = gen;
    }
    rs_merged_fini(&m);
    sync_file_check(s);
    sync_waiters_check(s);
    sync_set_ready(s);
}

static void check_removed(struct sync *s)
{
    const Concord__Raftlog__Member *me = rs_state_member(raftstore_state(s->rs), s->node_id);
    if (me != NULL) {
        s->was_member = true;
        if (s->removed) {
            log_info("cluster: node %s is a member again", s->node_id);
        }
        s->removed = false;
    } else if (s->was_member && !s->removed) {
        s->removed = true;
        log_warn("cluster: node %s was removed from the cluster (its member record and "
                 "contributions were deleted); it proposes nothing and refuses cluster writes; "
                 "its data plane keeps the last table",
                 s->node_id);
    }
}

void sync_on_apply(void *arg, uint64_t index)
{
    struct sync *s = arg;
    (void)index;
    if (s->rs == NULL) {
        /* libraft applies inside raft_start (a lone voter leads at once, a snapshot is
         * restored): raftstore_open has not returned yet; sync_open looks once it has. */
        return;
    }
    if (rs_state_config_index(raftstore_state(s->rs)) != s->table_gen && !s->compile_pending &&
        !s->closing) {
        s->compile_pending = true;
        uv_timer_start(&s->compile, on_compile_timer, 0, 0);
    }
    check_removed(s);
    sync_waiters_check(s);
    sync_set_ready(s);
}

/* ---- submitting ---- */

struct sub {
    struct sync *s;
    sync_cb cb;
    void *arg;
};

static void deliver(sync_cb cb, void *arg, int status, uint64_t index, int code,
                    uint64_t revision, const char *msg)
{
    struct sync_result r = {status, index, code, revision, msg ? msg : ""};
    cb(arg, &r);
}

static void on_proposed(void *arg, int status, uint64_t index, int code, const char *msg)
{
    struct sub *b = arg;
    deliver(b->cb, b->arg, status, index, code, 0, msg);
    free(b);
}

/* Leader side: the checks of DESIGN.md "Cluster state", then the append. */
static void leader_submit(struct sync *s, Concord__Raftlog__Entry *e, sync_cb cb, void *arg)
{
    struct rs_result res;
    struct rs_merged m;
    struct sub *b;
    char *why = NULL;
    int rc;
    bool strict = e->command_case == CONCORD__RAFTLOG__ENTRY__COMMAND_SET_CONTRIBUTION &&
                  e->set_contribution != NULL && e->set_contribution->strict;
    raftstore_preview(s->rs, e, &res, strict ? &m : NULL);
    if (res.code != RS_APPLIED) {
        if (strict) {
            rs_merged_fini(&m);
        }
        deliver(cb, arg, 0, 0, (int)res.code, res.revision, res.msg);
        return;
    }
    if (strict) {
        rc = sync_strict_check(s, &m, &why);
        rs_merged_fini(&m);
        if (rc != 0) {
            deliver(cb, arg, 0, 0, SYNC_INVALID, 0, why ? why : "invalid configuration");
            free(why);
            return;
        }
    }
    if ((b = calloc(1, sizeof *b)) == NULL) {
        deliver(cb, arg, -ENOMEM, 0, 0, 0, "out of memory");
        return;
    }
    b->s = s;
    b->cb = cb;
    b->arg = arg;
    rc = raftstore_propose(s->rs, e, on_proposed, b);
    if (rc != 0) {
        free(b);
        deliver(cb, arg, rc, 0, 0, 0,
                rc == -EAGAIN ? "this node stopped leading; retry" : "the proposal failed");
    }
}

struct fwd {
    sync_cb cb;
    void *arg;
};

/* The leader answers a forwarded proposal with "STATUS INDEX CODE REVISION\nMESSAGE". */
static void on_forwarded(void *arg, int rc, int status, const uint8_t *body, size_t len)
{
    struct fwd *f = arg;
    long long st = 0;
    unsigned long long index = 0, revision = 0;
    int code = 0, n = 0;
    const char *nl;
    if (rc != 0) {
        deliver(f->cb, f->arg, rc == -ETIMEDOUT ? -ETIMEDOUT : -EIO, 0, 0, 0,
                "the leader could not be reached");
    } else if (status != 200 || body == NULL ||
               sscanf((const char *)body, "%lld %llu %d %llu%n", &st, &index, &code, &revision,
                      &n) != 4) {
        deliver(f->cb, f->arg, -EIO, 0, 0, 0, "the leader gave an unexpected answer");
    } else {
        nl = memchr(body, '\n', len);
        deliver(f->cb, f->arg, (int)st, index, code, revision, nl ? nl + 1 : "");
    }
    free(f);
}

void sync_submit_packed(struct sync *s, const uint8_t *buf, size_t len, sync_cb cb, void *arg)
{
    Concord__Raftlog__Entry *e = concord__raftlog__entry__unpack(NULL, len, buf);
    if (e == NULL) {
        deliver(cb, arg, 0, 0, RS_MALFORMED, 0, "the proposal does not parse");
        return;
    }
    sync_submit(s, e, cb, arg);
    concord__raftlog__entry__free_unpacked(e, NULL);
}

void sync_submit(struct sync *s, Concord__Raftlog__Entry *e, sync_cb cb, void *arg)
{
    static uint8_t idbuf[16]; /* copied by pack/propose before return */
    const char *leader_id = NULL;
    const char *addr;
    struct fwd *f;
    uint8_t *buf;
    size_t len;
    int rc;
    if (s->closing) {
        deliver(cb, arg, -ECANCELED, 0, 0, 0, "the node is stopping");
        return;
    }
    if (e->request_id.len == 0 && raftstore_request_id(idbuf) == 0) {
        e->request_id.data = idbuf;
        e->request_id.len = 16;
    }
    if (e->format_version == 0) {
        e->format_version = RS_FORMAT_VERSION;
    }
    if (raftstore_leader_ready(s->rs)) {
        leader_submit(s, e, cb, arg);
        return;
    }
    addr = sync_leader_admin(s, &leader_id);
    if (addr[0] == '\0' || leader_id == NULL || strcmp(leader_id, s->node_id) == 0) {
        deliver(cb, arg, -EAGAIN, 0, 0, 0,
                leader_id != NULL && strcmp(leader_id, s->node_id) == 0
                    ? "this node was just elected and has not confirmed its leadership yet "
                      "(its barrier); retry"
                    : "no leader is known yet; retry");
        return;
    }
    len = concord__raftlog__entry__get_packed_size(e);
    buf = malloc(len ? len : 1);
    f = calloc(1, sizeof *f);
    if (buf == NULL || f == NULL) {
        free(buf);
        free(f);
        deliver(cb, arg, -ENOMEM, 0, 0, 0, "out of memory");
        return;
    }
    concord__raftlog__entry__pack(e, buf);
    f->cb = cb;
    f->arg = arg;
    rc = sync_call(s, addr, "POST", "/api/cluster/propose", buf, len, 10000, on_forwarded, f);
    free(buf);
    if (rc != 0) {
        free(f);
        deliver(cb, arg, rc, 0, 0, 0, "the leader could not be called");
    }
}

/* ---- node-to-node calls ---- */

struct call {
    sync_call_cb cb;
    void *arg;
    struct sync *s;
    struct call *next, *prev;
    struct fetch *f;
};

static void on_call_done(void *arg, int rc, const struct fetch_resp *r)
{
    struct call *c = arg;
    struct sync *s = c->s;
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        s->calls = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    if (rc == 0) {
        c->cb(c->arg, 0, r->status, r->body, r->body_len);
    } else {
        c->cb(c->arg, rc, 0, NULL, 0);
    }
    free(c);
}

int sync_call(struct sync *s, const char *address, const char *method, const char *target,
              const void *body, size_t len, uint64_t timeout_ms, sync_call_cb cb, void *arg)
{
    char head[2048], hdr[160], hex[65];
    const char *hdrs[2] = {hdr, NULL};
    uint8_t mac[32], *signed_buf;
    long long now = (long long)time(NULL);
    struct fetch_req req;
    struct call *c;
    int n, rc;
    if (s->closing) {
        /* sync_calls_cancel may have run already (close_rs): a call started now (a status
         * probe from a read failed by raftstore_close) would outlive s */
        return -ECANCELED;
    }
    n = snprintf(head, sizeof head, "%s %s\n%lld\n", method, target, now);
    if (n < 0 || (size_t)n >= sizeof head) {
        return -EINVAL;
    }
    signed_buf = malloc((size_t)n + len + 1);
    if (signed_buf == NULL) {
        return -ENOMEM;
    }
    memcpy(signed_buf, head, (size_t)n);
    if (len > 0) {
        memcpy(signed_buf + n, body, len);
    }
    rc = raftstore_sign(s->rs, signed_buf, (size_t)n + len, mac);
    free(signed_buf);
    if (rc != 0) {
        return rc;
    }
    for (int i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    }
    snprintf(hdr, sizeof hdr, "X-Concord-Peer: %lld %s", now, hex);
    if ((c = calloc(1, sizeof *c)) == NULL) {
        return -ENOMEM;
    }
    memset(&req, 0, sizeof req);
    req.address = address;
    req.method = method;
    req.target = target;
    req.headers = hdrs;
    req.body = body;
    req.body_len = len;
    req.timeout_ms = timeout_ms;
    c->cb = cb;
    c->arg = arg;
    c->s = s;
    rc = fetch_start(s->loop, &req, on_call_done, c, &c->f);
    if (rc != 0) {
        free(c);
        return rc;
    }
    c->next = s->calls;
    if (s->calls) {
        s->calls->prev = c;
    }
    s->calls = c;
    return 0;
}

void sync_calls_cancel(struct sync *s)
{
    /* fetch_cancel fires the callback at once, which unlinks and frees the call. */
    while (s->calls != NULL) {
        fetch_cancel(s->calls->f);
    }
}
