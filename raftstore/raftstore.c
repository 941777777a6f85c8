/* One cluster node on libraft: I/O, authenticated transport, state machine, leadership
 * barrier, proposals, and the close sequence of raft-notes.md section 2. */
#include "raftstore/raftstore.h"

#include <errno.h>
#include <fcntl.h>
#include <raft.h>
#include <raft/uv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "node/base/log.h"
#include "raftstore/entry.h"
#include "raftstore/raftstore-int.h"

#define TMPFS_MAGIC_ 0x01021994

struct proposal {
    struct raft_apply req;
    struct raftstore *rs;
    raftstore_propose_cb cb;
    void *arg;
};

/* ---- leadership ---- */

static void on_barrier(struct raft_barrier *req, int status)
{
    struct raftstore *rs = req->data;
    rs->barrier_pending = false;
    if (status == 0 && raft_state(&rs->raft) == RAFT_LEADER) {
        rs->ready = true;
        log_info("raft: leader (term %llu), ready after its barrier",
                 (unsigned long long)rs->raft.current_term);
    }
}

static void on_check(uv_check_t *h)
{
    struct raftstore *rs = h->data;
    bool leader = raft_state(&rs->raft) == RAFT_LEADER;
    if (rs->deferred_apply != 0) {
        uint64_t index = rs->deferred_apply;
        rs->deferred_apply = 0;
        if (rs->on_apply != NULL) {
            rs->on_apply(rs->arg, index);
        }
    }
    if (!leader) {
        rs->ready = false;
    } else if (!rs->was_leader && !rs->barrier_pending) {
        /* New leader: entries of earlier terms are committed only once one of its own term is
         * (raft-notes.md P2); until then it serves no write and no linearizable read. */
        rs->barrier.data = rs;
        if (raft_barrier(&rs->raft, &rs->barrier, on_barrier) == 0) {
            rs->barrier_pending = true;
        } else {
            leader = false; /* try again on the next iteration */
        }
    }
    rs->was_leader = leader;
}

bool raftstore_leader_ready(const struct raftstore *rs)
{
    return rs->ready && raft_state((struct raft *)&rs->raft) == RAFT_LEADER;
}

/* ---- applying ---- */

int raftstore_request_id(uint8_t out[16])
{
    return rs_request_id(out);
}

uint64_t raftstore_raft_id(const char *node_id)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)node_id; *p; p++) {
        h = (h ^ *p) * 0x100000001b3ULL;
    }
    h &= 0x7fffffffffffffffULL; /* fits every signed 64-bit consumer (JSON readers too) */
    return h != 0 ? h : 1;
}

static void on_fsm_apply(void *arg, uint64_t index, const struct rs_result *res)
{
    struct raftstore *rs = arg;
    (void)res;
    if (!rs->started) {
        rs->deferred_apply = index;
        return;
    }
    if (rs->on_apply != NULL) {
        rs->on_apply(rs->arg, index);
    }
}

/* Followers learn a new commit index only from the leader's next AppendEntries. With nothing
 * else to send, that is the heartbeat, which libraft sends on a tick of the same period, so 1-2
 * heartbeat timeouts (50-100 ms) after the commit: that long the followers keep serving the old
 * table. A barrier appended as soon as a proposal commits is replicated at once and carries the
 * new commit index, so the followers apply within a round trip. One in flight at a time; a
 * proposal that commits meanwhile asks for one more when it completes. */
static void notify_commit(struct raftstore *rs);

static void on_notify(struct raft_barrier *req, int status)
{
    struct raftstore *rs = req->data;
    rs->notify_pending = false;
    if (status == 0 && rs->notify_again) {
        notify_commit(rs);
    }
}

static void notify_commit(struct raftstore *rs)
{
    if (rs->notify_pending) {
        rs->notify_again = true;
        return;
    }
    rs->notify_again = false;
    if (raft_state(&rs->raft) != RAFT_LEADER || raftstore_servers(rs, NULL, 0) < 2) {
        return; /* nobody to tell */
    }
    rs->notify.data = rs;
    if (raft_barrier(&rs->raft, &rs->notify, on_notify) == 0) {
        rs->notify_pending = true;
    }
}

static void on_applied(struct raft_apply *req, int status, void *result)
{
    struct proposal *p = req->data;
    const struct rs_result *res = result;
    if (status == 0) {
        notify_commit(p->rs);
    }
    if (status != 0 || res == NULL) {
        /* LEADERSHIPLOST does not mean "not applied" (raft-notes.md P5): the message says
         * so, and a retry with the same request id applies once. */
        p->cb(p->arg,
              status == RAFT_LEADERSHIPLOST ? -ETIMEDOUT /* outcome unknown, not "refused" */
              : status != 0                 ? rs_raft_errno(status)
                                            : -EIO,
              req->index, -1,
              status == RAFT_LEADERSHIPLOST
                  ? "leadership was lost before the entry committed; it may still apply: "
                    "retry with the same request id"
              : status != 0 ? raft_strerror(status)
                            : "no result");
    } else {
        p->cb(p->arg, 0, req->index, (int)res->code, res->msg);
    }
    free(p);
}

int raftstore_propose(struct raftstore *rs, const Concord__Raftlog__Entry *e,
                      raftstore_propose_cb cb, void *arg)
{
    struct raft_buffer buf;
    struct proposal *p;
    int rc;
    if (!raftstore_leader_ready(rs)) {
        return -EAGAIN;
    }
    p = calloc(1, sizeof *p);
    if (p == NULL) {
        return -ENOMEM;
    }
    rc = rs_entry_encode(e, raft_malloc, &buf.base, &buf.len);
    if (rc != 0) {
        free(p);
        return rc;
    }
    p->cb = cb;
    p->arg = arg;
    p->rs = rs;
    p->req.data = p;
    rc = raft_apply(&rs->raft, &p->req, &buf, 1, on_applied);
    if (rc != 0) {
        raft_free(buf.base);
        free(p);
        return rc == RAFT_NOTLEADER ? -EAGAIN : -EIO;
    }
    return 0;
}

uint64_t raftstore_applied_index(const struct raftstore *rs)
{
    return raft_last_applied((struct raft *)&rs->raft);
}

int raftstore_preview(const struct raftstore *rs, const Concord__Raftlog__Entry *e,
                      struct rs_result *res, struct rs_merged *out_merged)
{
    struct rs_state *scratch = rs_state_create();
    uint8_t *buf = NULL;
    size_t len = 0;
    if (scratch == NULL || rs_state_snapshot(rs->fsm.state, &buf, &len) != 0 ||
        rs_state_restore(scratch, buf, len) != 0) {
        abort(); /* as in state.c: the state's copy never fails but for memory */
    }
    free(buf);
    rs_state_apply(scratch, rs_state_applied_index(scratch) + 1, e, res);
    if (out_merged != NULL) {
        rs_state_merged(scratch, out_merged);
    }
    rs_state_destroy(scratch);
    return 0;
}

const struct rs_state *raftstore_state(const struct raftstore *rs)
{
    return rs->fsm.state;
}

int raftstore_snapshot_save(const struct raftstore *rs, const char *path, struct err *e)
{
    uint8_t *data = NULL;
    size_t len = 0, off = 0;
    char tmp[4096];
    int fd, rc = 0;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        return err_set(e, -ENAMETOOLONG, "snapshot path too long");
    }
    if (rs_state_snapshot(rs->fsm.state, &data, &len) != 0) {
        return err_set(e, -ENOMEM, "snapshot: out of memory");
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = err_set(e, -errno, "%s: %s", tmp, strerror(errno));
        free(data);
        return rc;
    }
    while (off < len && rc == 0) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno != EINTR) {
            rc = err_set(e, -errno, "%s: %s", tmp, strerror(errno));
        }
        off += n > 0 ? (size_t)n : 0;
    }
    if (rc == 0 && fsync(fd) != 0) {
        rc = err_set(e, -errno, "%s: %s", tmp, strerror(errno));
    }
    close(fd);
    free(data);
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = err_set(e, -errno, "%s: %s", path, strerror(errno));
    }
    if (rc != 0) {
        unlink(tmp);
    }
    return rc;
}

/* ---- open ---- */

static int check_dir(const struct raftstore_opts *o, struct err *e)
{
    struct statfs st;
    if (statfs(o->data_dir, &st) != 0) {
        return err_set(e, -errno, "data dir %s: %s", o->data_dir, strerror(errno));
    }
    if ((unsigned long)st.f_type == TMPFS_MAGIC_ && !o->allow_tmpfs) {
        /* libraft's durability relies on a real disk (raft-notes.md 6.7). */
        return err_set(e, -EPERM, "data dir %s is on tmpfs: the Raft log would not survive a "
                                  "reboot; use a disk", o->data_dir);
    }
    return 0;
}

static int bootstrap(struct raftstore *rs, const struct raftstore_opts *o, struct err *e)
{
    struct raft_configuration conf;
    int rc = 0;
    if (o->nbootstrap == 0) {
        return 0;
    }
    raft_configuration_init(&conf);
    for (unsigned i = 0; i < o->nbootstrap && rc == 0; i++) {
        rc = raft_configuration_add(&conf, o->bootstrap[i].raft_id, o->bootstrap[i].address,
                                    RAFT_VOTER);
    }
    if (rc == 0) {
        rc = raft_bootstrap(&rs->raft, &conf);
    }
    raft_configuration_close(&conf);
    if (rc != 0 && rc != RAFT_CANTBOOTSTRAP) { /* CANTBOOTSTRAP: the dir has state already */
        return err_set(e, -EIO, "raft bootstrap: %s", raft_errmsg(&rs->raft));
    }
    return 0;
}

/* raft_recover with this node alone as voter: it appends the new configuration to the log,
 * so it must run before raft_start and exactly once (proxyd's flag, not a config key). */
static int force_new_cluster(struct raftstore *rs, const struct raftstore_opts *o,
                             struct err *e)
{
    struct raft_configuration conf;
    int rc;
    raft_configuration_init(&conf);
    rc = raft_configuration_add(&conf, o->raft_id, o->raft_address, RAFT_VOTER);
    if (rc == 0) {
        rc = raft_recover(&rs->raft, &conf);
    }
    raft_configuration_close(&conf);
    if (rc != 0) {
        return err_set(e, -EIO, "force new cluster: %s", raft_errmsg(&rs->raft));
    }
    log_warn("raft: --force-new-cluster: this node is now the only voter; its state is kept, "
             "the other nodes must join again with empty data dirs");
    return 0;
}

int raftstore_open(uv_loop_t *loop, const struct raftstore_opts *o, struct raftstore **out,
                   struct err *e)
{
    struct raftstore *rs;
    int rc;
    *out = NULL;
    if (o->raft_id == 0 || o->raft_address == NULL || o->data_dir == NULL) {
        return err_set(e, -EINVAL, "raftstore: raft id, address and data dir are required");
    }
    if (o->nbootstrap > 1 && o->secret_len == 0) {
        return err_set(e, -EINVAL, "a cluster of more than one node needs cluster.secretFile");
    }
    if (o->secret_len > PA_SECRET_MAX) {
        return err_set(e, -EINVAL, "cluster secret: longer than %d bytes", PA_SECRET_MAX);
    }
    if ((rc = check_dir(o, e)) != 0) {
        return rc;
    }
    rs = calloc(1, sizeof *rs);
    if (rs == NULL || rs_fsm_init(&rs->fsm) != 0) {
        free(rs);
        return err_set(e, -ENOMEM, "out of memory");
    }
    rs->loop = loop;
    rs->on_apply = o->on_apply;
    rs->arg = o->arg;
    rs->fsm.on_apply = on_fsm_apply;
    rs->fsm.arg = rs;
    if (raft_uv_tcp_init(&rs->tcp, loop) != 0) {
        rs_fsm_fini(&rs->fsm);
        free(rs);
        return err_set(e, -ENOMEM, "raft transport: out of memory");
    }
    /* The raft port always authenticates: without a configured secret a random one is used,
     * so no other process can talk to a single node's Raft (a forged AppendEntries with a
     * higher term would depose it). */
    rs->use_auth = true;
    rs->has_secret = o->secret_len > 0;
    if (rs->has_secret) {
        memcpy(rs->secret, o->secret, o->secret_len);
        rs->secret_len = o->secret_len;
    } else if (getrandom(rs->secret, 32, 0) != 32) {
        rc = err_set(e, -EIO, "no randomness for the raft secret");
        goto err_after_tcp;
    } else {
        rs->secret_len = 32;
    }
    if (auth_transport_init(&rs->auth, loop, &rs->tcp, rs->secret, rs->secret_len) != 0) {
        rc = err_set(e, -EINVAL, "cluster secret: empty or longer than %d bytes", PA_SECRET_MAX);
        goto err_after_tcp;
    }
    if (raft_uv_init(&rs->io, loop, o->data_dir, &rs->auth.t) != 0) {
        rc = err_set(e, -EIO, "raft io: %s", rs->io.errmsg);
        goto err_after_tcp;
    }
    raft_uv_set_connect_retry_delay(&rs->io, 100);
    if (raft_init(&rs->raft, &rs->io, &rs->fsm.fsm, o->raft_id, o->raft_address) != 0) {
        rc = err_set(e, -EIO, "raft init: %s", raft_errmsg(&rs->raft));
        goto err_after_io;
    }
    rs->fsm.raft = &rs->raft;
    rs->raft.data = rs;
    raft_set_election_timeout(&rs->raft, 300);
    raft_set_heartbeat_timeout(&rs->raft, 50);
    raft_set_pre_vote(&rs->raft, true);
    raft_set_install_snapshot_timeout(&rs->raft, 3000);
    raft_set_snapshot_threshold(&rs->raft, o->snapshot_threshold ? o->snapshot_threshold : 4096);
    raft_set_snapshot_trailing(&rs->raft, o->snapshot_trailing ? o->snapshot_trailing : 1024);
    if ((rc = bootstrap(rs, o, e)) != 0) {
        goto err_after_raft;
    }
    if (o->force_new_cluster && (rc = force_new_cluster(rs, o, e)) != 0) {
        goto err_after_raft;
    }
    if (raft_start(&rs->raft) != 0) {
        rc = err_set(e, -EIO, "raft start: %s", raft_errmsg(&rs->raft));
        goto err_after_raft;
    }
    rs->started = true;
    uv_check_init(loop, &rs->check);
    rs->check.data = rs;
    uv_check_start(&rs->check, on_check);
    *out = rs;
    return 0;

err_after_raft:
    /* raft_init succeeded, so raft_close is the only way out; without a running loop callback
     * we cannot wait for it here: leave it to the caller's loop, freeing in its callback. */
    rs->close_cb = NULL;
    raftstore_close(rs, NULL, NULL);
    return rc;
err_after_io:
    raft_uv_close(&rs->io); /* raft_init failed: no raft_close (raft-notes.md 2) */
err_after_tcp:
    raft_uv_tcp_close(&rs->tcp);
    rs_fsm_fini(&rs->fsm);
    free(rs);
    return rc;
}

/* ---- close ---- */

static void finish_close(struct raftstore *rs)
{
    void (*cb)(void *) = rs->close_cb;
    void *arg = rs->close_arg;
    rs_fsm_fini(&rs->fsm);
    free(rs);
    if (cb != NULL) {
        cb(arg);
    }
}

static void on_check_closed(uv_handle_t *h)
{
    finish_close(h->data);
}

static void on_raft_closed(struct raft *r)
{
    struct raftstore *rs = r->data;
    /* Only now is it safe to free libraft's I/O and transport (raft-notes.md 2). */
    raft_uv_close(&rs->io);
    raft_uv_tcp_close(&rs->tcp);
    if (rs->check.data == rs) {
        uv_close((uv_handle_t *)&rs->check, on_check_closed);
    } else {
        finish_close(rs); /* raft_start never ran: there is no check handle */
    }
}

void raftstore_close(struct raftstore *rs, void (*cb)(void *arg), void *arg)
{
    rs->close_cb = cb;
    rs->close_arg = arg;
    rs->ready = false;
    if (rs->check.data == rs) {
        uv_check_stop(&rs->check);
    }
    raft_close(&rs->raft, on_raft_closed);
}
