/* The node's side of the cluster: opening the raftstore from the cluster options, the file
 * provider's contribution, this node's member record, joining, read points, and closing. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/base/diag.h"
#include "node/base/log.h"
#include "node/node.h"
#include "node/sync-int.h"
#include "providers/decode.h"
#include "providers/provider.h"
#include "providers/static_config.h"

#define TICK_MS 100
#define READ_WAIT_MS 5000 /* a follower's wait to apply the leader's read index */

#ifndef CONCORD_VERSION
#define CONCORD_VERSION "0.0.0"
#endif

static uint64_t now_ms(const struct sync *s)
{
    return uv_now(s->loop);
}

static int read_secret(const char *path, uint8_t *out, size_t cap, size_t *len, struct err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    if (fd < 0) {
        return err_set(e, -errno, "cluster.secretFile %s: %s", path, strerror(errno));
    }
    n = read(fd, out, cap);
    close(fd);
    if (n < 0) {
        return err_set(e, -errno, "cluster.secretFile %s: %s", path, strerror(errno));
    }
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ')) {
        n--;
    }
    if (n < 16 || (size_t)n >= cap) {
        return err_set(e, -EINVAL,
                       "cluster.secretFile %s: the secret must have 16 to %zu bytes (it has %zd)",
                       path, cap - 1, n);
    }
    *len = (size_t)n;
    return 0;
}

static int mkdir_p(const char *dir, struct err *e)
{
    char tmp[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof tmp) {
        return err_set(e, -EINVAL, "data dir: bad path");
    }
    memcpy(tmp, dir, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
                return err_set(e, -errno, "data dir %s: %s", tmp, strerror(errno));
            }
            *p = '/';
        }
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
        return err_set(e, -errno, "data dir %s: %s", tmp, strerror(errno));
    }
    return 0;
}

/* ---- providers' contributions ---- */

/* The node id under which a provider contributes: per node, or "cluster" for the cluster-wide
 * ones (run by the leader only, so a new leader's emission replaces the old one's). */
static const char *slot_node_id(const struct slot *sl)
{
    return sl->ops->cluster_wide ? "cluster" : sl->s->node_id;
}

/* An emission: a Config becomes the slot's desired contribution; an error keeps the last one
 * (nothing is withdrawn because a source failed) and is shown by status. */
static void on_emit(void *arg, Concord__Config__Config *cfg, Concord__Raftlog__FileBlob **files,
                    size_t nfiles, const char *error, const struct diags *d)
{
    struct slot *sl = arg;
    struct sync *s = sl->s;
    char line[480];
    for (size_t i = 0; d != NULL && i < d->n; i++) {
        diag_format(&d->v[i], line, sizeof line);
        if (d->v[i].severity == DIAG_ERROR) {
            log_error("%s provider: %s", sl->ops->name, line);
        } else {
            log_warn("%s provider: %s", sl->ops->name, line);
        }
    }
    if (cfg == NULL) {
        snprintf(sl->error, sizeof sl->error, "%s", error ? error : "the source failed");
        log_error("%s provider: %s; the running table stays (this node's previous contribution "
                  "is kept)",
                  sl->ops->name, sl->error);
        if (sl->cfg == NULL) { /* nothing to keep: contribute nothing */
            sl->state = SLOT_SYNCED;
        }
        return;
    }
    sl->error[0] = '\0';
    sl->skipped[0] = '\0';
    if (d != NULL && d->nerrors > 0) {
        /* objects the source describes but the provider left out (a container whose labels do
         * not decode): the rest goes live, and status says what is missing */
        for (size_t i = 0; i < d->n; i++) {
            if (d->v[i].severity == DIAG_ERROR) {
                diag_format(&d->v[i], line, sizeof line);
                break;
            }
        }
        snprintf(sl->skipped, sizeof sl->skipped, "%zu error(s), objects left out; first: %.440s",
                 (size_t)d->nerrors, line);
    }
    provider_files_free(sl->blobs, sl->nblobs);
    sl->blobs = files;
    sl->nblobs = nfiles;
    free(sl->cfg);
    sl->cfg_len = concord__config__config__get_packed_size(cfg);
    sl->cfg = malloc(sl->cfg_len ? sl->cfg_len : 1);
    if (sl->cfg != NULL) {
        concord__config__config__pack(cfg, sl->cfg);
    }
    decode_config_free(cfg);
    raftstore_request_id(sl->req); /* a new content: a new request */
    sl->state = SLOT_UNSYNCED;
    sl->retry_at = 0;
    if (s->rs != NULL) {
        sync_slot_check(sl);
    }
}

/* Whether the state already holds the slot's document as its contribution. */
static bool slot_in_state(struct slot *sl)
{
    const Concord__Raftlog__Contribution *c =
        rs_state_contribution(raftstore_state(sl->s->rs), sl->ops->name, slot_node_id(sl));
    size_t n;
    uint8_t *b;
    bool same;
    if (c == NULL || c->config == NULL) {
        return false;
    }
    n = concord__config__config__get_packed_size(c->config);
    if (n != sl->cfg_len || (b = malloc(n ? n : 1)) == NULL) {
        return false;
    }
    concord__config__config__pack(c->config, b);
    same = memcmp(b, sl->cfg, n) == 0 && c->n_files == sl->nblobs;
    free(b);
    for (size_t i = 0; same && i < c->n_files; i++) {
        const Concord__Raftlog__FileBlob *x = c->files[i], *y = sl->blobs[i];
        same = strcmp(x->path, y->path) == 0 && x->content.len == y->content.len &&
               memcmp(x->content.data, y->content.data, x->content.len) == 0;
    }
    return same;
}

/* Which proposal an answer is for: the document may change while one is in flight, and only
 * the answer to the latest one may mark the contribution synced. */
struct slotprop {
    struct slot *sl;
    uint64_t seq;
};

static void on_slot_proposed(void *arg, const struct sync_result *r)
{
    struct slotprop *sp = arg;
    struct slot *sl = sp->sl;
    bool current = sp->seq == sl->seq;
    free(sp);
    if (!current || sl->state != SLOT_INFLIGHT) {
        return; /* an older proposal: the latest one's answer decides */
    }
    if (r->status == 0 && (r->code == RS_APPLIED || r->code == RS_DUPLICATE)) {
        sl->state = SLOT_SYNCED;
        sl->committed_min = r->index;
        return;
    }
    sl->state = SLOT_UNSYNCED;
    sl->proposed_at = 0; /* a proposal that did not commit does not count for the throttle */
    sl->retry_at = now_ms(sl->s) + (r->status == -EAGAIN ? 100 : 500);
    if (r->status != -EAGAIN) {
        log_warn("%s provider: proposal not committed (%s); retrying", sl->ops->name, r->msg);
    }
}

void sync_slot_check(struct slot *sl)
{
    struct sync *s = sl->s;
    Concord__Raftlog__Entry e = CONCORD__RAFTLOG__ENTRY__INIT;
    Concord__Raftlog__SetContribution set = CONCORD__RAFTLOG__SET_CONTRIBUTION__INIT;
    Concord__Config__Config *cfg;
    struct slotprop *sp;
    if (sl->state != SLOT_UNSYNCED || s->removed || s->closing || sl->cfg == NULL ||
        now_ms(s) < sl->retry_at) {
        return;
    }
    if (slot_in_state(sl)) {
        sl->state = SLOT_SYNCED;
        return;
    }
    /* A node contributes once it is a known member: its record comes first, so whoever sees
     * its routes can also reach it (status, forwarding). */
    if (rs_state_member(raftstore_state(s->rs), s->node_id) == NULL) {
        return;
    }
    /* providers.providersThrottleDuration (Traefik): after a proposal, changes within the
     * duration wait for its end, and only the latest document is proposed then. */
    if (sl->proposed_at != 0 && now_ms(s) < sl->proposed_at + s->sc->providers_throttle_ms) {
        sl->retry_at = sl->proposed_at + s->sc->providers_throttle_ms;
        return;
    }
    cfg = concord__config__config__unpack(NULL, sl->cfg_len, sl->cfg);
    if (cfg == NULL) {
        return;
    }
    set.namespace_ = (char *)sl->ops->name;
    set.node_id = (char *)slot_node_id(sl);
    set.config = cfg;
    set.files = sl->blobs;
    set.n_files = sl->nblobs;
    e.format_version = RS_FORMAT_VERSION;
    e.request_id.data = sl->req;
    e.request_id.len = sizeof sl->req;
    e.command_case = CONCORD__RAFTLOG__ENTRY__COMMAND_SET_CONTRIBUTION;
    e.set_contribution = &set;
    if ((sp = malloc(sizeof *sp)) == NULL) {
        concord__config__config__free_unpacked(cfg, NULL);
        return; /* the next tick tries again */
    }
    sp->sl = sl;
    sp->seq = ++sl->seq;
    sl->state = SLOT_INFLIGHT;
    sl->proposed_at = now_ms(s);
    sync_submit(s, &e, on_slot_proposed, sp);
    concord__config__config__free_unpacked(cfg, NULL);
}

void sync_file_check(struct sync *s)
{
    for (size_t i = 0; i < s->nslots; i++) {
        sync_slot_check(&s->slots[i]);
    }
}

/* Starts every node-local provider this node's static config enables; cluster-wide ones get
 * a slot and are started by slots_leadership() while this node leads. */
static int slots_start(struct sync *s, struct err *e)
{
    size_t n = 0;
    for (const struct provider_ops *const *o = provider_registry; *o != NULL; o++) {
        n++;
    }
    s->slots = calloc(n ? n : 1, sizeof *s->slots);
    if (s->slots == NULL) {
        return err_set(e, -ENOMEM, "out of memory");
    }
    for (const struct provider_ops *const *o = provider_registry; *o != NULL; o++) {
        struct slot *sl = &s->slots[s->nslots];
        int rc;
        if (!(*o)->enabled(s->sc)) {
            continue;
        }
        sl->s = s;
        sl->ops = *o;
        sl->state = SLOT_SYNCED; /* until its first emission */
        s->nslots++;
        if ((*o)->cluster_wide) {
            continue;
        }
        rc = (*o)->start(s->loop, s->sc, on_emit, sl, &sl->p, e);
        if (rc != 0) {
            return err_wrap(e, "%s provider: ", (*o)->name);
        }
    }
    return 0;
}

/* Cluster-wide providers run on the ready leader only (DESIGN.md "Where providers run"): a
 * node that leads starts them, one that stops leading stops them. Their contribution (node id
 * "cluster") stays as committed; the next leader's first emission replaces it when it differs. */
static void slots_leadership(struct sync *s)
{
    bool lead = raftstore_leader_ready(s->rs) && !s->closing && !s->removed;
    for (size_t i = 0; i < s->nslots; i++) {
        struct slot *sl = &s->slots[i];
        struct err e = {0, ""};
        if (!sl->ops->cluster_wide) {
            continue;
        }
        if (lead && sl->p == NULL) {
            if (sl->ops->start(s->loop, s->sc, on_emit, sl, &sl->p, &e) != 0) {
                snprintf(sl->error, sizeof sl->error, "%s", e.msg);
                log_error("%s provider: %s", sl->ops->name, e.msg);
                sl->p = NULL;
            } else {
                log_info("%s provider: started (this node leads)", sl->ops->name);
            }
        } else if (!lead && sl->p != NULL) {
            sl->ops->stop(sl->p);
            sl->p = NULL;
            sl->state = SLOT_SYNCED; /* the leader's, not ours, from now on */
            log_info("%s provider: stopped (this node no longer leads)", sl->ops->name);
        }
    }
}

static void slots_stop(struct sync *s)
{
    for (size_t i = 0; i < s->nslots; i++) {
        if (s->slots[i].p != NULL) {
            s->slots[i].ops->stop(s->slots[i].p);
            s->slots[i].p = NULL;
        }
    }
}

static void slots_free(struct sync *s)
{
    for (size_t i = 0; i < s->nslots; i++) {
        free(s->slots[i].cfg);
        provider_files_free(s->slots[i].blobs, s->slots[i].nblobs);
    }
    free(s->slots);
}

/* ---- this node's member record ---- */

static void on_member_upserted(void *arg, const struct sync_result *r)
{
    struct sync *s = arg;
    s->member_inflight = false;
    if (r->status != 0 || (r->code != RS_APPLIED && r->code != RS_DUPLICATE)) {
        s->member_retry_at = now_ms(s) + 200;
    }
}

/* Proposes this node's record (addresses, version) when the state lacks it or differs: other
 * nodes find its admin address there (forwarding, status). */
static void member_check(struct sync *s)
{
    Concord__Raftlog__Entry e = CONCORD__RAFTLOG__ENTRY__INIT;
    Concord__Raftlog__UpsertMember up = CONCORD__RAFTLOG__UPSERT_MEMBER__INIT;
    Concord__Raftlog__Member m = CONCORD__RAFTLOG__MEMBER__INIT;
    const Concord__Raftlog__Member *cur;
    struct raftstore_info info;
    if (s->member_inflight || s->removed || s->closing || now_ms(s) < s->member_retry_at) {
        return;
    }
    raftstore_info(s->rs, &info);
    if (info.leader_id == 0) {
        return;
    }
    cur = rs_state_member(raftstore_state(s->rs), s->node_id);
    if (cur != NULL && cur->raft_id == s->raft_id &&
        strcmp(cur->raft_address, s->raft_address) == 0 &&
        strcmp(cur->admin_address, s->admin_address) == 0 &&
        strcmp(cur->version, CONCORD_VERSION) == 0) {
        return;
    }
    if (cur == NULL && s->was_member) {
        return; /* removed: check_removed() said so */
    }
    m.id = s->node_id;
    m.raft_id = s->raft_id;
    m.raft_address = s->raft_address;
    m.admin_address = s->admin_address;
    m.version = CONCORD_VERSION;
    up.member = &m;
    e.command_case = CONCORD__RAFTLOG__ENTRY__COMMAND_UPSERT_MEMBER;
    e.upsert_member = &up;
    s->member_inflight = true;
    sync_submit(s, &e, on_member_upserted, s);
}

/* ---- after --force-new-cluster ---- */

static void on_stale_removed(void *arg, const struct sync_result *r)
{
    struct sync *s = arg;
    s->reconcile_inflight--;
    if (r->status != 0 || (r->code != RS_APPLIED && r->code != RS_DUPLICATE)) {
        s->reconcile_pending = true; /* the next tick tries again */
    }
}

/* The members a lost quorum left behind are not in the new configuration: their records and
 * contributions go (DESIGN.md: a removed node's contributions are deleted); they come back
 * when they join again. */
static void reconcile_check(struct sync *s)
{
    struct raftstore_server sv[64];
    const struct rs_state *st = raftstore_state(s->rs);
    size_t n;
    if (!s->reconcile_pending || s->reconcile_inflight > 0 || s->closing ||
        !raftstore_leader_ready(s->rs)) {
        return;
    }
    s->reconcile_pending = false;
    n = raftstore_servers(s->rs, sv, 64);
    for (size_t i = 0; i < rs_state_nmembers(st); i++) {
        const Concord__Raftlog__Member *m = rs_state_member_at(st, i);
        Concord__Raftlog__Entry e = CONCORD__RAFTLOG__ENTRY__INIT;
        Concord__Raftlog__RemoveMember rm = CONCORD__RAFTLOG__REMOVE_MEMBER__INIT;
        bool in = false;
        for (size_t k = 0; k < n && k < 64; k++) {
            in = in || sv[k].raft_id == m->raft_id;
        }
        if (in) {
            continue;
        }
        log_info("cluster: removing %s, left behind by --force-new-cluster", m->id);
        rm.id = m->id;
        e.command_case = CONCORD__RAFTLOG__ENTRY__COMMAND_REMOVE_MEMBER;
        e.remove_member = &rm;
        s->reconcile_inflight++;
        s->reconcile_pending = true; /* the next tick looks for another */
        sync_submit(s, &e, on_stale_removed, s);
        break; /* one per tick: the state's member array changes with each */
    }
}

/* ---- joining ---- */

static void on_join_answer(void *arg, int rc, int status, const uint8_t *body, size_t len)
{
    struct sync *s = arg;
    s->join_inflight = false;
    if (rc == 0 && status == 200) {
        s->joined = true;
        log_info("cluster: node %s joined through %s", s->node_id, s->sc->join);
        return;
    }
    s->join_retry_at = now_ms(s) + 1000;
    if (rc != 0) {
        log_warn("cluster: join through %s: %s; retrying", s->sc->join, strerror(-rc));
    } else {
        log_warn("cluster: join through %s: HTTP %d %.*s; retrying", s->sc->join, status,
                 (int)(len > 300 ? 300 : len), body ? (const char *)body : "");
    }
}

static void join_check(struct sync *s)
{
    struct raftstore_server one;
    char body[512];
    int n;
    if (s->sc->join == NULL || s->joined || s->join_inflight || s->closing ||
        now_ms(s) < s->join_retry_at) {
        return;
    }
    if (raftstore_servers(s->rs, &one, 1) > 0) {
        s->joined = true; /* the data dir already has a configuration: a restart */
        return;
    }
    n = snprintf(body, sizeof body, "{\"id\":\"%s\",\"raftAddress\":\"%s\",\"adminAddress\":\"%s\"}",
                 s->node_id, s->raft_address, s->admin_address);
    /* A voter is caught up before its promotion: give that time. */
    if (sync_call(s, s->sc->join, "POST", "/api/cluster/members", body, (size_t)n, 60000,
                  on_join_answer, s) == 0) {
        s->join_inflight = true;
    } else {
        s->join_retry_at = now_ms(s) + 1000;
    }
}

/* ---- read points ---- */

void sync_waiters_check(struct sync *s)
{
    uint64_t applied = raftstore_applied_index(s->rs);
    uint64_t now = now_ms(s);
    bool table_current = !s->compile_pending &&
                         s->table_gen == rs_state_config_index(raftstore_state(s->rs));
    struct waiter **pp = &s->waiters;
    while (*pp != NULL) {
        struct waiter *w = *pp;
        bool done = w->index <= applied && (!w->table || table_current);
        if (done || now >= w->deadline_ms || s->closing) {
            *pp = w->next;
            if (done || (w->table && w->index <= applied)) {
                /* a table that could not be built (its errors are logged) keeps the old one:
                 * the write itself is done */
                w->cb(w->arg, 0, "");
            } else {
                w->cb(w->arg, s->closing ? -ECANCELED : -ETIMEDOUT,
                      "this node did not catch up with the leader in time");
            }
            free(w);
        } else {
            pp = &w->next;
        }
    }
}

void sync_wait_table(struct sync *s, uint64_t index, sync_done_cb cb, void *arg)
{
    struct waiter *w = calloc(1, sizeof *w);
    if (w == NULL) {
        cb(arg, 0, ""); /* the write is done; only the wait is lost */
        return;
    }
    w->table = true;
    w->index = index;
    w->deadline_ms = now_ms(s) + READ_WAIT_MS;
    w->cb = cb;
    w->arg = arg;
    w->next = s->waiters;
    s->waiters = w;
    sync_waiters_check(s);
}

struct readctx {
    struct sync *s;
    sync_done_cb cb;
    void *arg;
};

static void on_barrier_done(void *arg, int status, const char *msg)
{
    struct readctx *r = arg;
    r->cb(r->arg, status, msg);
    free(r);
}

static void on_read_index(void *arg, int rc, int status, const uint8_t *body, size_t len)
{
    struct readctx *r = arg;
    struct sync *s = r->s;
    unsigned long long index;
    struct waiter *w;
    (void)len;
    if (rc != 0 || status != 200 || body == NULL ||
        sscanf((const char *)body, "%llu", &index) != 1) {
        r->cb(r->arg, -EAGAIN, "the leader's read index could not be had");
        free(r);
        return;
    }
    if ((w = calloc(1, sizeof *w)) == NULL) {
        r->cb(r->arg, -ENOMEM, "out of memory");
        free(r);
        return;
    }
    w->index = index;
    w->deadline_ms = now_ms(s) + READ_WAIT_MS;
    w->cb = r->cb;
    w->arg = r->arg;
    w->next = s->waiters;
    s->waiters = w;
    free(r);
    sync_waiters_check(s);
}

void sync_read(struct sync *s, sync_done_cb cb, void *arg)
{
    struct readctx *r = calloc(1, sizeof *r);
    const char *leader_id, *addr;
    int rc;
    if (r == NULL) {
        cb(arg, -ENOMEM, "out of memory");
        return;
    }
    r->s = s;
    r->cb = cb;
    r->arg = arg;
    if (raftstore_leader_ready(s->rs)) {
        rc = raftstore_barrier(s->rs, on_barrier_done, r);
    } else {
        addr = sync_leader_admin(s, &leader_id);
        rc = addr[0] == '\0' || leader_id == NULL || strcmp(leader_id, s->node_id) == 0
                 ? -EAGAIN
                 : sync_call(s, addr, "POST", "/api/cluster/readindex", "", 0, 5000,
                             on_read_index, r);
    }
    if (rc != 0) {
        free(r);
        cb(arg, rc, rc == -EAGAIN ? "no leader is known yet; retry, or read with ?stale=true"
                                  : "the read point could not be had");
    }
}

struct rictx {
    struct sync *s;
    void (*cb)(void *arg, int status, uint64_t index);
    void *arg;
};

static void on_ri_barrier(void *arg, int status, const char *msg)
{
    struct rictx *r = arg;
    (void)msg;
    r->cb(r->arg, status, raftstore_applied_index(r->s->rs));
    free(r);
}

void sync_read_index(struct sync *s, void (*cb)(void *arg, int status, uint64_t index),
                     void *arg)
{
    struct rictx *r = calloc(1, sizeof *r);
    int rc;
    if (r == NULL) {
        cb(arg, -ENOMEM, 0);
        return;
    }
    r->s = s;
    r->cb = cb;
    r->arg = arg;
    rc = raftstore_barrier(s->rs, on_ri_barrier, r);
    if (rc != 0) {
        free(r);
        cb(arg, rc, 0);
    }
}

/* ---- strict proposals ---- */

static void diag_lines(const struct diags *d, char ***out, size_t *n)
{
    char line[1200];
    *out = calloc(d->n ? d->n : 1, sizeof **out);
    *n = 0;
    for (size_t i = 0; *out != NULL && i < d->n; i++) {
        if (d->v[i].severity == DIAG_ERROR) {
            diag_format(&d->v[i], line, sizeof line);
            (*out)[(*n)++] = strdup(line);
        }
    }
}

int sync_strict_check(struct sync *s, const struct rs_merged *after, char **why)
{
    struct rs_merged before;
    struct diags da, db;
    char **la = NULL, **lb = NULL;
    size_t na = 0, nb = 0, cap = 1, used = 0;
    int rc;
    diags_init(&da);
    diags_init(&db);
    rs_state_merged(raftstore_state(s->rs), &before);
    rc = node_dry_run(s->node, after, &da);
    node_dry_run(s->node, &before, &db);
    rs_merged_fini(&before);
    diag_lines(&da, &la, &na);
    diag_lines(&db, &lb, &nb);
    *why = NULL;
    for (size_t i = 0; i < na; i++) {
        bool old = false;
        for (size_t k = 0; k < nb && !old; k++) {
            old = lb[k] != NULL && la[i] != NULL && strcmp(la[i], lb[k]) == 0;
        }
        if (old || la[i] == NULL) {
            continue;
        }
        size_t l = strlen(la[i]);
        char *grown = realloc(*why, cap + used + l + 1);
        if (grown == NULL) {
            break;
        }
        *why = grown;
        cap += l + 1;
        memcpy(*why + used, la[i], l);
        used += l;
        (*why)[used++] = '\n';
        (*why)[used] = '\0';
    }
    for (size_t i = 0; i < na; i++) {
        free(la[i]);
    }
    for (size_t i = 0; i < nb; i++) {
        free(lb[i]);
    }
    free(la);
    free(lb);
    diags_fini(&da);
    diags_fini(&db);
    if (*why != NULL && used > 0) {
        (*why)[used - 1] = '\0'; /* no trailing newline */
        return -EINVAL;
    }
    return rc != 0 ? -EINVAL : 0;
}

/* ---- the tick ---- */

static void on_tick(uv_timer_t *t)
{
    struct sync *s = t->data;
    join_check(s);
    slots_leadership(s);
    reconcile_check(s);
    member_check(s);
    sync_file_check(s);
    sync_waiters_check(s);
    sync_set_ready(s);
}

/* ---- open ---- */

static void close_early(struct sync *s);

static void on_handle_closed(uv_handle_t *h)
{
    struct sync *s = h->data;
    if (--s->handles > 0) {
        return;
    }
    void (*cb)(void *) = s->close_cb;
    void *arg = s->close_arg;
    slots_free(s);
    free(s);
    if (cb != NULL) {
        cb(arg);
    }
}


static int parse_peer(const char *spec, char *id, size_t idsize, const char **addr)
{
    const char *eq = strchr(spec, '=');
    if (eq == NULL || eq == spec || (size_t)(eq - spec) >= idsize || eq[1] == '\0') {
        return -EINVAL;
    }
    memcpy(id, spec, (size_t)(eq - spec));
    id[eq - spec] = '\0';
    *addr = eq + 1;
    return 0;
}

static int cluster_options(struct sync *s, const struct static_config *sc,
                           struct raftstore_peer **peers, unsigned *npeers, struct err *e)
{
    char id[80];
    const char *addr;
    bool self_listed = false;
    const char *colon = strrchr(sc->raft_address, ':');
    *peers = NULL;
    *npeers = 0;
    if (colon == NULL || atoi(colon + 1) <= 0) {
        return err_set(e, -EINVAL,
                       "cluster.raftAddress \"%s\": a fixed port is needed (port 0 is not "
                       "allowed: the other nodes dial this address)",
                       sc->raft_address);
    }
    if (sc->join != NULL && sc->n_bootstrap > 0) {
        return err_set(e, -EINVAL, "cluster.join and cluster.bootstrap exclude each other: "
                                   "bootstrap forms a new cluster, join enters a running one");
    }
    if (sc->join != NULL) {
        return 0;
    }
    *peers = calloc(sc->n_bootstrap + 1, sizeof **peers);
    if (*peers == NULL) {
        return err_set(e, -ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < sc->n_bootstrap; i++) {
        if (parse_peer(sc->bootstrap[i], id, sizeof id, &addr) != 0) {
            return err_set(e, -EINVAL, "cluster.bootstrap[%u] \"%s\": expected id=host:port", i,
                           sc->bootstrap[i]);
        }
        (*peers)[i].raft_id = raftstore_raft_id(id);
        (*peers)[i].address = addr;
        if (strcmp(id, s->node_id) == 0) {
            self_listed = true;
            if (strcmp(addr, s->raft_address) != 0) {
                return err_set(e, -EINVAL,
                               "cluster.bootstrap lists %s at %s but cluster.raftAddress is %s",
                               id, addr, s->raft_address);
            }
        }
    }
    *npeers = sc->n_bootstrap;
    if (sc->n_bootstrap == 0) { /* the default: a cluster of one */
        (*peers)[0].raft_id = s->raft_id;
        (*peers)[0].address = s->raft_address;
        *npeers = 1;
    } else if (!self_listed) {
        return err_set(e, -EINVAL, "cluster.bootstrap does not list this node (%s)", s->node_id);
    }
    return 0;
}

int sync_open(uv_loop_t *loop, const struct sync_opts *o, struct sync **out, struct err *e)
{
    const struct static_config *sc = o->sc;
    struct raftstore_opts ro;
    struct raftstore_peer *peers = NULL;
    unsigned npeers = 0;
    uint8_t secret[257]; /* raftstore refuses more than 256 bytes */
    size_t secret_len = 0;
    struct sync *s = calloc(1, sizeof *s);
    int rc;
    if (s == NULL) {
        return err_set(e, -ENOMEM, "out of memory");
    }
    s->loop = loop;
    s->sc = sc;
    s->node = o->node;
    s->on_ready = o->on_ready;
    s->arg = o->arg;
    snprintf(s->node_id, sizeof s->node_id, "%s", sc->node_id);
    snprintf(s->admin_address, sizeof s->admin_address, "%s", o->admin_address);
    snprintf(s->raft_address, sizeof s->raft_address, "%s",
             sc->advertise_address ? sc->advertise_address : sc->raft_address);
    s->raft_id = raftstore_raft_id(s->node_id);
    if ((rc = cluster_options(s, sc, &peers, &npeers, e)) != 0) {
        goto err;
    }
    if (sc->secret_file != NULL) {
        if ((rc = read_secret(sc->secret_file, secret, sizeof secret, &secret_len, e)) != 0) {
            goto err;
        }
    } else if (npeers > 1 || sc->join != NULL) {
        rc = err_set(e, -EINVAL,
                     "a cluster of more than one node needs cluster.secretFile (the same secret "
                     "on every node): %s",
                     sc->join ? "cluster.join is set" : "cluster.bootstrap lists several nodes");
        goto err;
    }
    if ((rc = mkdir_p(sc->data_dir, e)) != 0) {
        goto err;
    }
    memset(&ro, 0, sizeof ro);
    ro.raft_id = s->raft_id;
    ro.raft_address = s->raft_address;
    ro.data_dir = sc->data_dir;
    ro.secret = secret_len ? secret : NULL;
    ro.secret_len = secret_len;
    /* Test hooks, never documented for production: tmpfs data dirs and small snapshot
     * intervals (so that a test reaches InstallSnapshot in a few dozen writes). */
    ro.allow_tmpfs = getenv("CONCORD_TEST_ALLOW_TMPFS") != NULL;
    if (getenv("CONCORD_TEST_SNAPSHOT_THRESHOLD") != NULL) {
        ro.snapshot_threshold = (unsigned)atoi(getenv("CONCORD_TEST_SNAPSHOT_THRESHOLD"));
        ro.snapshot_trailing = ro.snapshot_threshold / 4 + 1;
    }
    ro.bootstrap = peers;
    ro.nbootstrap = npeers;
    ro.force_new_cluster = o->force_new_cluster;
    ro.on_apply = sync_on_apply;
    ro.arg = s;
    uv_timer_init(loop, &s->tick);
    uv_timer_init(loop, &s->compile);
    s->tick.data = s;
    s->compile.data = s;
    s->handles = 2;
    rc = raftstore_open(loop, &ro, &s->rs, e);
    memset(secret, 0, sizeof secret);
    free(peers);
    peers = NULL;
    if (rc != 0) {
        goto err_after_timers;
    }
    log_info("listener raft addr=%s node=%s", s->raft_address, s->node_id);
    if ((rc = slots_start(s, e)) != 0) {
        close_early(s);
        return rc;
    }
    if (o->force_new_cluster) {
        s->joined = true;
        s->reconcile_pending = true;
    }
    sync_on_apply(s, raftstore_applied_index(s->rs)); /* what raft_start applied already */
    uv_timer_start(&s->tick, on_tick, TICK_MS, TICK_MS);
    *out = s;
    return 0;
err_after_timers:
    /* the handles close on the loop; s goes with the last one (no callback to call) */
    uv_close((uv_handle_t *)&s->tick, on_handle_closed);
    uv_close((uv_handle_t *)&s->compile, on_handle_closed);
    return rc;
err:
    free(peers);
    free(s);
    return rc;
}

/* ---- close ---- */

static void on_rs_closed(void *arg)
{
    struct sync *s = arg;
    uv_close((uv_handle_t *)&s->tick, on_handle_closed);
    uv_close((uv_handle_t *)&s->compile, on_handle_closed);
}

/* sync_open failed after the raftstore opened: close it and free everything on the loop. */
static void close_early(struct sync *s)
{
    s->closing = true;
    slots_stop(s);
    uv_timer_stop(&s->tick);
    raftstore_close(s->rs, on_rs_closed, s);
}

static void close_rs(struct sync *s)
{
    sync_calls_cancel(s);
    sync_waiters_check(s); /* closing: every waiter is told */
    raftstore_close(s->rs, on_rs_closed, s);
}

static void on_transferred(void *arg, int status, const char *msg)
{
    struct sync *s = arg;
    if (status == 0) {
        log_info("cluster: leadership handed over before stopping");
    } else {
        log_warn("cluster: leadership transfer before stopping: %s", msg);
    }
    close_rs(s);
}

void sync_close(struct sync *s, void (*cb)(void *arg), void *arg)
{
    s->closing = true;
    s->close_cb = cb;
    s->close_arg = arg;
    slots_stop(s);
    uv_timer_stop(&s->tick);
    uv_timer_stop(&s->compile);
    /* A leader hands over first (raft-notes.md 6.5), so the others need no election. */
    if (raftstore_leader_ready(s->rs) &&
        raftstore_transfer(s->rs, 0, on_transferred, s) == 0) {
        return;
    }
    close_rs(s);
}
