/* Leadership and membership on libraft: node info, the configuration, add/assign/remove,
 * leadership transfer, read barriers, and the HMAC that node-to-node admin calls carry. */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftstore/raftstore-int.h"

const char *raftstore_role_name(enum raftstore_role r)
{
    switch (r) {
    case RAFTSTORE_VOTER:
        return "voter";
    case RAFTSTORE_STANDBY:
        return "standby";
    default:
        return "spare";
    }
}

int raftstore_role_parse(const char *s, enum raftstore_role *out)
{
    static const enum raftstore_role all[] = {RAFTSTORE_VOTER, RAFTSTORE_STANDBY, RAFTSTORE_SPARE};
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(s, raftstore_role_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    }
    return -EINVAL;
}

static int to_raft_role(enum raftstore_role r)
{
    return r == RAFTSTORE_VOTER ? RAFT_VOTER : r == RAFTSTORE_STANDBY ? RAFT_STANDBY : RAFT_SPARE;
}

static enum raftstore_role from_raft_role(int r)
{
    return r == RAFT_VOTER ? RAFTSTORE_VOTER : r == RAFT_STANDBY ? RAFTSTORE_STANDBY : RAFTSTORE_SPARE;
}

/* libraft 0.15 has no getter for the commit index or the configuration; these two fields of
 * struct raft are read here and nowhere else (raft-notes.md P6: they become opaque in 0.17,
 * where raft_... getters replace them). */
static uint64_t commit_index_of(const struct raft *r)
{
    return r->commit_index;
}

static const struct raft_configuration *configuration_of(const struct raft *r)
{
    return &r->configuration;
}

void raftstore_info(const struct raftstore *rs, struct raftstore_info *out)
{
    struct raft *r = (struct raft *)&rs->raft;
    raft_id id = 0;
    const char *addr = NULL;
    memset(out, 0, sizeof *out);
    switch (raft_state(r)) {
    case RAFT_LEADER:
        out->state = "leader";
        break;
    case RAFT_CANDIDATE:
        out->state = "candidate";
        break;
    case RAFT_FOLLOWER:
        out->state = "follower";
        break;
    default:
        out->state = "unavailable";
        break;
    }
    out->ready = raftstore_leader_ready(rs);
    out->term = r->current_term;
    out->commit_index = commit_index_of(r);
    out->applied_index = raft_last_applied(r);
    raft_leader(r, &id, &addr);
    out->leader_id = id;
    snprintf(out->leader_address, sizeof out->leader_address, "%s", addr ? addr : "");
}

size_t raftstore_servers(const struct raftstore *rs, struct raftstore_server *out, size_t max)
{
    const struct raft_configuration *c = configuration_of(&rs->raft);
    for (unsigned i = 0; i < c->n && i < max; i++) {
        out[i].raft_id = c->servers[i].id;
        snprintf(out[i].address, sizeof out[i].address, "%s", c->servers[i].address);
        out[i].role = from_raft_role(c->servers[i].role);
    }
    return c->n;
}

static const struct raft_server *find_server(const struct raftstore *rs, uint64_t id)
{
    const struct raft_configuration *c = configuration_of(&rs->raft);
    for (unsigned i = 0; i < c->n; i++) {
        if (c->servers[i].id == id) {
            return &c->servers[i];
        }
    }
    return NULL;
}

/* ---- asynchronous operations ---- */

enum op_kind { OP_ADD, OP_ASSIGN, OP_REMOVE, OP_TRANSFER, OP_BARRIER };

struct op {
    union {
        struct raft_change change;
        struct raft_transfer transfer;
        struct raft_barrier barrier;
    } req;
    struct raftstore *rs;
    enum op_kind kind;
    uint64_t target;
    enum raftstore_role role;
    bool second_step; /* add: the assign after raft_add; remove: the remove after demotion */
    raftstore_done_cb cb;
    void *arg;
};

int rs_raft_errno(int rc)
{
    switch (rc) {
    case 0:
        return 0;
    case RAFT_NOTLEADER:
    case RAFT_LEADERSHIPLOST:
        return -EAGAIN;
    case RAFT_CANTCHANGE:
        return -EBUSY;
    case RAFT_DUPLICATEID:
    case RAFT_DUPLICATEADDRESS:
        return -EEXIST;
    case RAFT_BADID:
    case RAFT_NOTFOUND:
        return -ENOENT;
    case RAFT_BADROLE:
        return -EALREADY;
    case RAFT_CANCELED:
        return -ECANCELED;
    case RAFT_NOMEM:
        return -ENOMEM;
    default:
        return -EIO;
    }
}

static void op_done(struct op *o, int status, const char *msg)
{
    o->cb(o->arg, status, msg);
    free(o);
}

static void on_change(struct raft_change *req, int status);

/* The second step of an add (assign the role) or a remove (drop the demoted server). */
static int op_next(struct op *o)
{
    struct raft *r = &o->rs->raft;
    o->second_step = true;
    if (o->kind == OP_ADD) {
        return raft_assign(r, &o->req.change, o->target, to_raft_role(o->role), on_change);
    }
    return raft_remove(r, &o->req.change, o->target, on_change);
}

static void on_change(struct raft_change *req, int status)
{
    struct op *o = req->data;
    char msg[256];
    int rc;
    if (status != 0) {
        snprintf(msg, sizeof msg, "membership change failed: %s", raft_strerror(status));
        op_done(o, rs_raft_errno(status), msg);
        return;
    }
    if (!o->second_step && ((o->kind == OP_ADD && o->role != RAFTSTORE_SPARE) ||
                            (o->kind == OP_REMOVE))) {
        o->req.change.data = o;
        rc = op_next(o);
        if (rc != 0) {
            snprintf(msg, sizeof msg, "membership change failed: %s", raft_strerror(rc));
            op_done(o, rs_raft_errno(rc), msg);
        }
        return;
    }
    op_done(o, 0, "");
}

static struct op *op_new(struct raftstore *rs, enum op_kind kind, uint64_t target,
                         raftstore_done_cb cb, void *arg)
{
    struct op *o = calloc(1, sizeof *o);
    if (o != NULL) {
        o->rs = rs;
        o->kind = kind;
        o->target = target;
        o->cb = cb;
        o->arg = arg;
    }
    return o;
}

int raftstore_add(struct raftstore *rs, uint64_t raft_id, const char *address,
                  enum raftstore_role role, raftstore_done_cb cb, void *arg)
{
    struct op *o;
    int rc;
    if (!raftstore_leader_ready(rs)) {
        return -EAGAIN;
    }
    if (find_server(rs, raft_id) != NULL) {
        return -EEXIST;
    }
    if ((o = op_new(rs, OP_ADD, raft_id, cb, arg)) == NULL) {
        return -ENOMEM;
    }
    o->role = role;
    o->req.change.data = o;
    rc = raft_add(&rs->raft, &o->req.change, raft_id, address, on_change);
    if (rc != 0) {
        free(o);
        return rs_raft_errno(rc);
    }
    return 0;
}

int raftstore_assign(struct raftstore *rs, uint64_t raft_id, enum raftstore_role role,
                     raftstore_done_cb cb, void *arg)
{
    const struct raft_server *s;
    struct op *o;
    int rc;
    if (!raftstore_leader_ready(rs)) {
        return -EAGAIN;
    }
    if ((s = find_server(rs, raft_id)) == NULL) {
        return -ENOENT;
    }
    if (from_raft_role(s->role) == role) {
        return -EALREADY;
    }
    if ((o = op_new(rs, OP_ASSIGN, raft_id, cb, arg)) == NULL) {
        return -ENOMEM;
    }
    o->second_step = true;
    o->req.change.data = o;
    rc = raft_assign(&rs->raft, &o->req.change, raft_id, to_raft_role(role), on_change);
    if (rc != 0) {
        free(o);
        return rs_raft_errno(rc);
    }
    return 0;
}

int raftstore_remove(struct raftstore *rs, uint64_t raft_id, raftstore_done_cb cb, void *arg)
{
    const struct raft_server *s;
    struct op *o;
    int rc;
    if (!raftstore_leader_ready(rs)) {
        return -EAGAIN;
    }
    if ((s = find_server(rs, raft_id)) == NULL) {
        return -ENOENT;
    }
    if (raft_id == rs->raft.id) {
        return -EINVAL; /* transfer leadership first */
    }
    if ((o = op_new(rs, OP_REMOVE, raft_id, cb, arg)) == NULL) {
        return -ENOMEM;
    }
    o->req.change.data = o;
    if (s->role == RAFT_VOTER) { /* demote first (raft-notes.md 6.6) */
        rc = raft_assign(&rs->raft, &o->req.change, raft_id, RAFT_SPARE, on_change);
    } else {
        o->second_step = true;
        rc = raft_remove(&rs->raft, &o->req.change, raft_id, on_change);
    }
    if (rc != 0) {
        free(o);
        return rs_raft_errno(rc);
    }
    return 0;
}

static void on_transfer(struct raft_transfer *req)
{
    struct op *o = req->data;
    struct raft *r = &o->rs->raft;
    raft_id leader = 0;
    const char *addr = NULL;
    raft_leader(r, &leader, &addr);
    if (leader != 0 && leader != r->id && (o->target == 0 || leader == o->target)) {
        op_done(o, 0, "");
    } else if (leader == r->id) {
        op_done(o, -ETIMEDOUT, "the transfer did not complete within an election timeout");
    } else {
        op_done(o, -EAGAIN, "leadership moved, but not (yet) to the target");
    }
}

int raftstore_transfer(struct raftstore *rs, uint64_t raft_id, raftstore_done_cb cb, void *arg)
{
    const struct raft_server *s;
    struct op *o;
    int rc;
    if (raft_state(&rs->raft) != RAFT_LEADER) {
        return -EAGAIN;
    }
    if (raft_id != 0) {
        if ((s = find_server(rs, raft_id)) == NULL) {
            return -ENOENT;
        }
        if (raft_id == rs->raft.id) {
            return -EALREADY;
        }
        if (s->role != RAFT_VOTER) {
            return -EINVAL;
        }
    }
    if ((o = op_new(rs, OP_TRANSFER, raft_id, cb, arg)) == NULL) {
        return -ENOMEM;
    }
    o->req.transfer.data = o;
    rc = raft_transfer(&rs->raft, &o->req.transfer, raft_id, on_transfer);
    if (rc != 0) {
        free(o);
        return rs_raft_errno(rc);
    }
    /* The barrier is done for this term; the next leader will run its own. */
    return 0;
}

static void on_read_barrier(struct raft_barrier *req, int status)
{
    struct op *o = req->data;
    op_done(o, rs_raft_errno(status), status != 0 ? raft_strerror(status) : "");
}

int raftstore_barrier(struct raftstore *rs, raftstore_done_cb cb, void *arg)
{
    struct op *o;
    int rc;
    if (!raftstore_leader_ready(rs)) {
        return -EAGAIN;
    }
    if ((o = op_new(rs, OP_BARRIER, 0, cb, arg)) == NULL) {
        return -ENOMEM;
    }
    o->req.barrier.data = o;
    rc = raft_barrier(&rs->raft, &o->req.barrier, on_read_barrier);
    if (rc != 0) {
        free(o);
        return rs_raft_errno(rc);
    }
    return 0;
}

/* ---- node-to-node MACs ---- */

int raftstore_sign(const struct raftstore *rs, const void *data, size_t len, uint8_t mac[32])
{
    unsigned int n = 32;
    if (HMAC(EVP_sha256(), rs->secret, (int)rs->secret_len, data, len, mac, &n) == NULL) {
        return -EIO;
    }
    return 0;
}

bool raftstore_verify(const struct raftstore *rs, const void *data, size_t len,
                      const uint8_t mac[32])
{
    uint8_t want[32];
    if (raftstore_sign(rs, data, len, want) != 0) {
        return false;
    }
    return CRYPTO_memcmp(want, mac, 32) == 0;
}

bool raftstore_has_secret(const struct raftstore *rs)
{
    return rs->has_secret;
}
