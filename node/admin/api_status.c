/* GET /api/cluster/status (each member asked for its own numbers) and /api/cluster/self. */
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

#define STATUS_PROBE_MS 1000
#define MAX_SERVERS 64


static bool ac_json_u64(const uint8_t *body, size_t len, const char *key, uint64_t *out)
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
void ac_self_json(struct jw *w, struct api_cluster *ac)
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
    /* flat "provider:NAME": "error" pairs, so that nodes read them back without a JSON
     * library (on_probe) */
    for (size_t i = 0; i < sync_nproviders(ac->s); i++) {
        char key[80];
        if (!sync_provider_active(ac->s, i)) {
            continue;
        }
        sync_provider(ac->s, i, &pname, &perr);
        snprintf(key, sizeof key, "provider:%s", pname);
        jw_kstr(w, key, perr);
        snprintf(key, sizeof key, "skipped:%s", pname);
        jw_kstr(w, key, sync_provider_skipped(ac->s, i));
    }
    jw_end(w);
}

#define MAX_PROVIDERS 8

struct member_probe {
    struct raftstore_server sv;
    struct ctx *c;
    bool self, reachable;
    char state[16];
    size_t nprov;
    char pname[MAX_PROVIDERS][32];
    char perr[MAX_PROVIDERS][512];
    char pskip[MAX_PROVIDERS][512];
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
        ac_member_json(&w, ac, &p->sv);
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
        const struct rs_state *st = raftstore_state(sync_raftstore(ac->s));
        const char *id = "";
        for (size_t k = 0; k < rs_state_nmembers(st); k++) {
            if (rs_state_member_at(st, k)->raft_id == p->sv.raft_id) {
                id = rs_state_member_at(st, k)->id;
            }
        }
        for (size_t k = 0; k < p->nprov; k++) {
            jw_obj(&w);
            jw_kstr(&w, "name", p->pname[k]);
            jw_kstr(&w, "node", id);
            jw_kstr(&w, "error", p->perr[k][0] ? p->perr[k] : NULL);
            jw_kstr(&w, "skipped", p->pskip[k][0] ? p->pskip[k] : NULL);
            jw_end(&w);
        }
    }
    jw_aend(&w);
    jw_end(&w);
    ac_reply_json(c->r, 200, &w);
    free(c->probes);
    free(c);
}

static void on_probe(void *arg, int rc, int status, const uint8_t *body, size_t len)
{
    struct member_probe *p = arg;
    struct ctx *c = p->c;
    if (rc == 0 && status == 200 && body != NULL) {
        p->reachable = true;
        ac_json_str(body, len, "state", p->state, sizeof p->state);
        ac_json_u64(body, len, "term", &p->term);
        ac_json_u64(body, len, "commitIndex", &p->commit);
        ac_json_u64(body, len, "appliedIndex", &p->applied);
        ac_json_u64(body, len, "tableGeneration", &p->gen);
        /* every "provider:NAME" key of the flat answer */
        const char *at = (const char *)body, *end = (const char *)body + len;
        while (p->nprov < MAX_PROVIDERS &&
               (at = memmem(at, (size_t)(end - at), "\"provider:", 10)) != NULL) {
            const char *name = at + 10, *q = memchr(name, '"', (size_t)(end - name));
            char key[64];
            if (q == NULL || (size_t)(q - name) >= sizeof p->pname[0]) {
                break;
            }
            snprintf(p->pname[p->nprov], sizeof p->pname[0], "%.*s", (int)(q - name), name);
            snprintf(key, sizeof key, "provider:%s", p->pname[p->nprov]);
            if (!ac_json_str(body, len, key, p->perr[p->nprov], sizeof p->perr[0])) {
                p->perr[p->nprov][0] = '\0';
            }
            snprintf(key, sizeof key, "skipped:%s", p->pname[p->nprov]);
            if (!ac_json_str(body, len, key, p->pskip[p->nprov], sizeof p->pskip[0])) {
                p->pskip[p->nprov][0] = '\0'; /* a node of an older version */
            }
            p->nprov++;
            at = q;
        }
    }
    if (--c->outstanding == 0) {
        status_finish(c);
    }
}

void ac_status_probe(struct ctx *c)
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
        ac_reply_error(c->r, 500, "out of memory");
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
            for (size_t k = 0; k < sync_nproviders(ac->s) && p->nprov < MAX_PROVIDERS; k++) {
                if (!sync_provider_active(ac->s, k)) {
                    continue;
                }
                sync_provider(ac->s, k, &pname, &perr);
                snprintf(p->pname[p->nprov], sizeof p->pname[0], "%s", pname);
                snprintf(p->perr[p->nprov], sizeof p->perr[0], "%s", perr);
                snprintf(p->pskip[p->nprov], sizeof p->pskip[0], "%s",
                         sync_provider_skipped(ac->s, k));
                p->nprov++;
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

void ac_on_status_read(void *arg, int status, const char *msg)
{
    struct ctx *c = arg;
    (void)msg;
    /* Without a leader the status is still worth having: it says so (leader null). */
    (void)status;
    ac_status_probe(c);
}

