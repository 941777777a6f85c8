/* The replicated cluster state: deterministic apply of log entries, snapshots and restore. */
#include "raftstore/state.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftstore/state-int.h"

struct reqid {
    uint8_t *data;
    size_t len;
};

/* Contributions and members are sorted arrays of owned protobuf-c messages (each obtained from
 * unpack, so protobuf_c_message_free_unpacked frees it). Sorted arrays keep iteration order
 * deterministic for free and are small: a cluster has a handful of nodes and namespaces. */
struct rs_state {
    Concord__Raftlog__Contribution **contribs;
    size_t ncontribs, capcontribs;
    Concord__Raftlog__Member **members;
    size_t nmembers, capmembers;
    uint32_t feature_level;
    uint64_t applied_index;
    uint64_t config_index; /* the last entry that changed a contribution */
    struct reqid recent[RS_RECENT_MAX]; /* ring: the oldest at `head` once full */
    size_t head, nrecent;
};

void *rs_must(void *p)
{
    if (p == NULL) {
        /* See state.h: a replica must never continue half-way through an entry. */
        fprintf(stderr, "raftstore: out of memory\n");
        abort();
    }
    return p;
}

ProtobufCMessage *rs_pb_copy(const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *b = rs_must(malloc(n ? n : 1));
    protobuf_c_message_pack(m, b);
    ProtobufCMessage *c = protobuf_c_message_unpack(m->descriptor, NULL, n, b);
    free(b);
    /* What protobuf-c packed it can read back (proto3 has no required fields): only memory
     * can be missing. */
    return rs_must(c);
}

const char *rs_code_name(enum rs_code c)
{
    switch (c) {
    case RS_APPLIED:
        return "applied";
    case RS_DUPLICATE:
        return "duplicate request id";
    case RS_REVISION_MISMATCH:
        return "revision mismatch";
    case RS_UNKNOWN_MEMBER:
        return "unknown member";
    case RS_FORMAT_TOO_NEW:
        return "entry format above the feature level";
    case RS_MALFORMED:
        return "malformed entry";
    }
    return "?";
}

struct rs_state *rs_state_create(void)
{
    struct rs_state *s = rs_must(calloc(1, sizeof(*s)));
    s->feature_level = RS_FORMAT_VERSION;
    return s;
}

static void free_contents(struct rs_state *s)
{
    for (size_t i = 0; i < s->ncontribs; i++) {
        protobuf_c_message_free_unpacked(&s->contribs[i]->base, NULL);
    }
    free(s->contribs);
    for (size_t i = 0; i < s->nmembers; i++) {
        protobuf_c_message_free_unpacked(&s->members[i]->base, NULL);
    }
    free(s->members);
    for (size_t i = 0; i < RS_RECENT_MAX; i++) {
        free(s->recent[i].data);
    }
}

void rs_state_destroy(struct rs_state *s)
{
    if (s == NULL) {
        return;
    }
    free_contents(s);
    free(s);
}

uint64_t rs_state_applied_index(const struct rs_state *s)
{
    return s->applied_index;
}

uint64_t rs_state_config_index(const struct rs_state *s)
{
    return s->config_index;
}

uint32_t rs_state_feature_level(const struct rs_state *s)
{
    return s->feature_level;
}

/* ---- Lookups (binary search on the sorted arrays) ---- */

static int contrib_cmp(const Concord__Raftlog__Contribution *c, const char *ns, const char *node_id)
{
    int r = strcmp(c->namespace_, ns);
    return r != 0 ? r : strcmp(c->node_id, node_id);
}

/* The first position whose key is >= (ns, node_id); *found says whether it is equal. */
static size_t contrib_lower(const struct rs_state *s, const char *ns, const char *node_id,
                            bool *found)
{
    size_t lo = 0, hi = s->ncontribs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (contrib_cmp(s->contribs[mid], ns, node_id) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = lo < s->ncontribs && contrib_cmp(s->contribs[lo], ns, node_id) == 0;
    return lo;
}

static size_t member_lower(const struct rs_state *s, const char *id, bool *found)
{
    size_t lo = 0, hi = s->nmembers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(s->members[mid]->id, id) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = lo < s->nmembers && strcmp(s->members[lo]->id, id) == 0;
    return lo;
}

size_t rs_state_ncontributions(const struct rs_state *s)
{
    return s->ncontribs;
}

const Concord__Raftlog__Contribution *rs_state_contribution_at(const struct rs_state *s, size_t i)
{
    return i < s->ncontribs ? s->contribs[i] : NULL;
}

const Concord__Raftlog__Contribution *rs_state_contribution(const struct rs_state *s,
                                                            const char *ns, const char *node_id)
{
    bool found;
    size_t i = contrib_lower(s, ns, node_id, &found);
    return found ? s->contribs[i] : NULL;
}

size_t rs_state_nmembers(const struct rs_state *s)
{
    return s->nmembers;
}

const Concord__Raftlog__Member *rs_state_member_at(const struct rs_state *s, size_t i)
{
    return i < s->nmembers ? s->members[i] : NULL;
}

const Concord__Raftlog__Member *rs_state_member(const struct rs_state *s, const char *id)
{
    bool found;
    size_t i = member_lower(s, id, &found);
    return found ? s->members[i] : NULL;
}

/* Inserts p at position i of a growable pointer array. */
static void ptr_insert(void ***arr, size_t *n, size_t *cap, size_t i, void *p)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        *arr = rs_must(realloc(*arr, *cap * sizeof(**arr)));
    }
    memmove(*arr + i + 1, *arr + i, (*n - i) * sizeof(**arr));
    (*arr)[i] = p;
    (*n)++;
}

static void contrib_remove_at(struct rs_state *s, size_t i)
{
    protobuf_c_message_free_unpacked(&s->contribs[i]->base, NULL);
    memmove(s->contribs + i, s->contribs + i + 1, (s->ncontribs - i - 1) * sizeof(*s->contribs));
    s->ncontribs--;
}

/* ---- Request ids ---- */

static bool recent_has(const struct rs_state *s, const ProtobufCBinaryData *id)
{
    for (size_t i = 0; i < s->nrecent; i++) {
        const struct reqid *r = &s->recent[i];
        if (r->len == id->len && memcmp(r->data, id->data, id->len) == 0) {
            return true;
        }
    }
    return false;
}

static void recent_add(struct rs_state *s, const uint8_t *data, size_t len)
{
    struct reqid *r;
    if (s->nrecent < RS_RECENT_MAX) {
        r = &s->recent[s->nrecent++];
    } else {
        r = &s->recent[s->head];
        s->head = (s->head + 1) % RS_RECENT_MAX;
        free(r->data);
    }
    r->data = rs_must(malloc(len));
    memcpy(r->data, data, len);
    r->len = len;
}

/* The i-th remembered id, oldest first. */
static const struct reqid *recent_at(const struct rs_state *s, size_t i)
{
    return &s->recent[(s->head + i) % RS_RECENT_MAX];
}

/* ---- Apply ---- */

static enum rs_code result(struct rs_result *out, enum rs_code code, uint64_t revision,
                           const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum rs_code result(struct rs_result *out, enum rs_code code, uint64_t revision,
                           const char *fmt, ...)
{
    out->code = code;
    out->revision = revision;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->msg, sizeof(out->msg), fmt, ap);
    va_end(ap);
    return code;
}

static enum rs_code apply_set(struct rs_state *s, uint64_t index,
                              const Concord__Raftlog__SetContribution *c, struct rs_result *out)
{
    if (c->namespace_[0] == '\0' || c->node_id[0] == '\0') {
        return result(out, RS_MALFORMED, 0, "set contribution: empty namespace or node id");
    }
    bool found;
    size_t i = contrib_lower(s, c->namespace_, c->node_id, &found);
    uint64_t cur = found ? s->contribs[i]->revision : 0;
    if (c->has_expected_revision && c->expected_revision != cur) {
        return result(out, RS_REVISION_MISMATCH, cur,
                      "namespace %s of node %s is at revision %llu, not %llu", c->namespace_,
                      c->node_id, (unsigned long long)cur,
                      (unsigned long long)c->expected_revision);
    }
    /* Build the stored Contribution around the entry's own parts and deep-copy it through
     * pack/unpack, so the state owns one tree freed in one call. */
    Concord__Raftlog__Contribution tmp = CONCORD__RAFTLOG__CONTRIBUTION__INIT;
    tmp.namespace_ = c->namespace_;
    tmp.node_id = c->node_id;
    tmp.revision = index;
    tmp.config = c->config;
    tmp.n_files = c->n_files;
    tmp.files = c->files;
    Concord__Raftlog__Contribution *copy = (void *)rs_pb_copy(&tmp.base);
    if (found) {
        protobuf_c_message_free_unpacked(&s->contribs[i]->base, NULL);
        s->contribs[i] = copy;
    } else {
        ptr_insert((void ***)&s->contribs, &s->ncontribs, &s->capcontribs, i, copy);
    }
    return result(out, RS_APPLIED, index, "%s", "");
}

static enum rs_code apply_delete(struct rs_state *s, const Concord__Raftlog__DeleteContribution *c,
                                 struct rs_result *out)
{
    if (c->namespace_[0] == '\0') {
        return result(out, RS_MALFORMED, 0, "delete contribution: empty namespace");
    }
    bool found;
    size_t i = contrib_lower(s, c->namespace_, c->node_id, &found);
    size_t end = i;
    uint64_t cur = 0;
    if (c->node_id[0] == '\0') {
        /* (ns, "") sorts before every node of ns, so the namespace's run starts at i. */
        while (end < s->ncontribs && strcmp(s->contribs[end]->namespace_, c->namespace_) == 0) {
            if (s->contribs[end]->revision > cur) {
                cur = s->contribs[end]->revision;
            }
            end++;
        }
    } else if (found) {
        cur = s->contribs[i]->revision;
        end = i + 1;
    }
    if (c->has_expected_revision && c->expected_revision != cur) {
        return result(out, RS_REVISION_MISMATCH, cur,
                      "namespace %s%s%s is at revision %llu, not %llu", c->namespace_,
                      c->node_id[0] ? " of node " : "", c->node_id, (unsigned long long)cur,
                      (unsigned long long)c->expected_revision);
    }
    while (end > i) {
        contrib_remove_at(s, --end);
    }
    return result(out, RS_APPLIED, 0, "%s", "");
}

static enum rs_code apply_upsert_member(struct rs_state *s, const Concord__Raftlog__Member *m,
                                        struct rs_result *out)
{
    if (m == NULL || m->id[0] == '\0') {
        return result(out, RS_MALFORMED, 0, "upsert member: no member id");
    }
    bool found;
    size_t i = member_lower(s, m->id, &found);
    Concord__Raftlog__Member *copy = (void *)rs_pb_copy(&m->base);
    if (found) {
        protobuf_c_message_free_unpacked(&s->members[i]->base, NULL);
        s->members[i] = copy;
    } else {
        ptr_insert((void ***)&s->members, &s->nmembers, &s->capmembers, i, copy);
    }
    return result(out, RS_APPLIED, 0, "%s", "");
}

/* A node's contributions may exist without its metadata (it contributed before its
 * UpsertMember committed); removal deletes them too, so it counts as applied. */
static enum rs_code apply_remove_member(struct rs_state *s, const char *id, struct rs_result *out)
{
    if (id[0] == '\0') {
        return result(out, RS_MALFORMED, 0, "remove member: no member id");
    }
    bool found;
    size_t mi = member_lower(s, id, &found);
    size_t kept = 0, removed = 0;
    for (size_t i = 0; i < s->ncontribs; i++) {
        if (strcmp(s->contribs[i]->node_id, id) == 0) {
            protobuf_c_message_free_unpacked(&s->contribs[i]->base, NULL);
            removed++;
        } else {
            s->contribs[kept++] = s->contribs[i];
        }
    }
    s->ncontribs = kept;
    if (found) {
        protobuf_c_message_free_unpacked(&s->members[mi]->base, NULL);
        memmove(s->members + mi, s->members + mi + 1, (s->nmembers - mi - 1) * sizeof(*s->members));
        s->nmembers--;
    } else if (removed == 0) {
        return result(out, RS_UNKNOWN_MEMBER, 0, "no member %s", id);
    }
    return result(out, RS_APPLIED, 0, "%s", "");
}

static enum rs_code apply_command(struct rs_state *s, uint64_t index,
                                  const Concord__Raftlog__Entry *e, struct rs_result *out)
{
    /* Every command is a message; one built in memory (not unpacked) may lack it. Every case
     * is a pointer in one union, so reading it through any member tells. */
    if (e->command_case != CONCORD__RAFTLOG__ENTRY__COMMAND__NOT_SET && e->noop == NULL) {
        return result(out, RS_MALFORMED, 0, "command %d without its message", (int)e->command_case);
    }
    switch (e->command_case) {
    case CONCORD__RAFTLOG__ENTRY__COMMAND_SET_CONTRIBUTION:
        return apply_set(s, index, e->set_contribution, out);
    case CONCORD__RAFTLOG__ENTRY__COMMAND_DELETE_CONTRIBUTION:
        return apply_delete(s, e->delete_contribution, out);
    case CONCORD__RAFTLOG__ENTRY__COMMAND_UPSERT_MEMBER:
        return apply_upsert_member(s, e->upsert_member->member, out);
    case CONCORD__RAFTLOG__ENTRY__COMMAND_REMOVE_MEMBER:
        return apply_remove_member(s, e->remove_member->id, out);
    case CONCORD__RAFTLOG__ENTRY__COMMAND_SET_SETTINGS:
        if (e->set_settings->settings == NULL) {
            return result(out, RS_MALFORMED, 0, "set settings: no settings");
        }
        s->feature_level = e->set_settings->settings->feature_level;
        if (s->feature_level == 0) {
            s->feature_level = RS_FORMAT_VERSION;
        }
        return result(out, RS_APPLIED, 0, "%s", "");
    case CONCORD__RAFTLOG__ENTRY__COMMAND_NOOP:
        return result(out, RS_APPLIED, 0, "%s", "");
    default:
        /* A command this code does not know under a format it claims to know: refusing it
         * on every node keeps the replicas equal. */
        return result(out, RS_MALFORMED, 0, "unknown command %d", (int)e->command_case);
    }
}

int rs_state_apply(struct rs_state *s, uint64_t index, const Concord__Raftlog__Entry *e,
                   struct rs_result *out)
{
    struct rs_result scratch;
    if (out == NULL) {
        out = &scratch;
    }
    if (e == NULL || index <= s->applied_index) {
        return -EINVAL;
    }
    s->applied_index = index;
    if (e->format_version == 0) {
        result(out, RS_MALFORMED, 0, "entry without a format version");
        return 0;
    }
    if (e->format_version > s->feature_level) {
        result(out, RS_FORMAT_TOO_NEW, 0, "entry format %u is above the feature level %u",
               e->format_version, s->feature_level);
        return 0;
    }
    if (e->request_id.len > RS_REQUEST_ID_MAX) {
        result(out, RS_MALFORMED, 0, "request id of %zu bytes (at most %u)", e->request_id.len,
               RS_REQUEST_ID_MAX);
        return 0;
    }
    if (e->request_id.len > 0 && recent_has(s, &e->request_id)) {
        result(out, RS_DUPLICATE, 0, "request already applied");
        return 0;
    }
    /* Only applied requests are remembered: a refused one changed nothing, so its retry is
     * judged afresh (and gets the same answer unless the state moved on). */
    if (apply_command(s, index, e, out) != RS_APPLIED) {
        return 0;
    }
    if (e->request_id.len > 0) {
        recent_add(s, e->request_id.data, e->request_id.len);
    }
    switch (e->command_case) {
    case CONCORD__RAFTLOG__ENTRY__COMMAND_SET_CONTRIBUTION:
    case CONCORD__RAFTLOG__ENTRY__COMMAND_DELETE_CONTRIBUTION:
    case CONCORD__RAFTLOG__ENTRY__COMMAND_REMOVE_MEMBER:
        s->config_index = index;
        break;
    default:
        break;
    }
    return 0;
}

/* ---- Snapshots ---- */

int rs_state_snapshot(const struct rs_state *s, uint8_t **buf, size_t *len)
{
    Concord__Raftlog__Snapshot snap = CONCORD__RAFTLOG__SNAPSHOT__INIT;
    Concord__Raftlog__Settings settings = CONCORD__RAFTLOG__SETTINGS__INIT;
    settings.feature_level = s->feature_level;
    snap.format_version = RS_SNAPSHOT_FORMAT;
    snap.applied_index = s->applied_index;
    snap.config_index = s->config_index;
    snap.n_contributions = s->ncontribs;
    snap.contributions = s->contribs;
    snap.n_members = s->nmembers;
    snap.members = s->members;
    snap.settings = &settings;
    ProtobufCBinaryData *ids = rs_must(calloc(s->nrecent ? s->nrecent : 1, sizeof(*ids)));
    for (size_t i = 0; i < s->nrecent; i++) {
        ids[i].data = recent_at(s, i)->data;
        ids[i].len = recent_at(s, i)->len;
    }
    snap.n_recent_request_ids = s->nrecent;
    snap.recent_request_ids = ids;
    *len = concord__raftlog__snapshot__get_packed_size(&snap);
    *buf = rs_must(malloc(*len ? *len : 1));
    concord__raftlog__snapshot__pack(&snap, *buf);
    free(ids);
    return 0;
}

static int contrib_ptr_cmp(const void *a, const void *b)
{
    const Concord__Raftlog__Contribution *x = *(const Concord__Raftlog__Contribution *const *)a;
    const Concord__Raftlog__Contribution *y = *(const Concord__Raftlog__Contribution *const *)b;
    return contrib_cmp(x, y->namespace_, y->node_id);
}

static int member_ptr_cmp(const void *a, const void *b)
{
    const Concord__Raftlog__Member *x = *(const Concord__Raftlog__Member *const *)a;
    const Concord__Raftlog__Member *y = *(const Concord__Raftlog__Member *const *)b;
    return strcmp(x->id, y->id);
}

/* Fills the empty state `t` from a parsed snapshot. Returns 0 or -EINVAL (duplicate keys). */
static int fill_from(struct rs_state *t, const Concord__Raftlog__Snapshot *snap)
{
    t->applied_index = snap->applied_index;
    t->config_index = snap->config_index;
    t->feature_level = snap->settings && snap->settings->feature_level
                           ? snap->settings->feature_level
                           : RS_FORMAT_VERSION;
    t->capcontribs = t->ncontribs = snap->n_contributions;
    t->contribs = rs_must(calloc(t->ncontribs ? t->ncontribs : 1, sizeof(*t->contribs)));
    for (size_t i = 0; i < t->ncontribs; i++) {
        t->contribs[i] = (void *)rs_pb_copy(&snap->contributions[i]->base);
    }
    t->capmembers = t->nmembers = snap->n_members;
    t->members = rs_must(calloc(t->nmembers ? t->nmembers : 1, sizeof(*t->members)));
    for (size_t i = 0; i < t->nmembers; i++) {
        t->members[i] = (void *)rs_pb_copy(&snap->members[i]->base);
    }
    /* Our snapshots are sorted already; sorting costs little and makes any valid one usable. */
    qsort(t->contribs, t->ncontribs, sizeof(*t->contribs), contrib_ptr_cmp);
    qsort(t->members, t->nmembers, sizeof(*t->members), member_ptr_cmp);
    for (size_t i = 0; i < t->ncontribs; i++) {
        const Concord__Raftlog__Contribution *c = t->contribs[i];
        if (c->namespace_[0] == '\0' || c->node_id[0] == '\0' ||
            (i > 0 && contrib_ptr_cmp(&t->contribs[i - 1], &t->contribs[i]) == 0)) {
            return -EINVAL;
        }
    }
    for (size_t i = 0; i < t->nmembers; i++) {
        if (t->members[i]->id[0] == '\0' ||
            (i > 0 && member_ptr_cmp(&t->members[i - 1], &t->members[i]) == 0)) {
            return -EINVAL;
        }
    }
    /* Keep the newest RS_RECENT_MAX, oldest first, as if they had been applied in order. */
    size_t n = snap->n_recent_request_ids;
    for (size_t i = n > RS_RECENT_MAX ? n - RS_RECENT_MAX : 0; i < n; i++) {
        const ProtobufCBinaryData *id = &snap->recent_request_ids[i];
        if (id->len == 0 || id->len > RS_REQUEST_ID_MAX) {
            return -EINVAL;
        }
        recent_add(t, id->data, id->len);
    }
    return 0;
}

int rs_state_restore(struct rs_state *s, const uint8_t *buf, size_t len)
{
    Concord__Raftlog__Snapshot *snap = concord__raftlog__snapshot__unpack(NULL, len, buf);
    if (snap == NULL) {
        return -EINVAL;
    }
    if (snap->format_version != RS_SNAPSHOT_FORMAT) {
        concord__raftlog__snapshot__free_unpacked(snap, NULL);
        return -ENOTSUP;
    }
    struct rs_state *t = rs_state_create();
    int rc = fill_from(t, snap);
    concord__raftlog__snapshot__free_unpacked(snap, NULL);
    if (rc < 0) {
        rs_state_destroy(t);
        return rc;
    }
    /* Swap the contents in, so the caller's pointer stays valid. */
    free_contents(s);
    *s = *t;
    free(t);
    return 0;
}
