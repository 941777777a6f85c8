/* Internal to node/admin's cluster endpoints: api_cluster.c (dispatch, forwarding, members,
 * leadership, node-to-node calls), api_config.c (config of a namespace, snapshots) and
 * api_status.c (status and a node's view of itself). */
#ifndef CONCORD_ADMIN_API_CLUSTER_INT_H
#define CONCORD_ADMIN_API_CLUSTER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/admin/admin.h"
#include "node/admin/json.h"
#include "raftstore/raftstore.h"

struct sync;
struct node;
struct member_probe;

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

/* ---- api_cluster.c: replies and request helpers ---- */
void ac_reply_json(struct admin_req *r, int status, struct jw *w);
void ac_reply_error(struct admin_req *r, int status, const char *msg);
/* A negative code of sync/raftstore as an HTTP status (503, 504, 404, 409, 400, else 502). */
int ac_status_of(int rc);
bool ac_is(const struct admin_http *h, const char *method);
/* The value of query parameter `key` (not decoded: our values are plain). */
bool ac_query(const struct admin_http *h, const char *key, char *out, size_t size);
bool ac_query_true(const struct admin_http *h, const char *key);
/* A string member of a flat JSON object; escapes are refused. */
bool ac_json_str(const uint8_t *body, size_t len, const char *key, char *out, size_t size);
/* A context for a request answered later; NULL (the request answered 500) when out of memory. */
struct ctx *ac_ctx_new(struct api_cluster *ac, struct admin_req *r);
/* The fields of a member shared by members, status and add. */
void ac_member_json(struct jw *w, struct api_cluster *ac, const struct raftstore_server *sv);

/* ---- api_config.c ---- */
/* After a read point (c->step 10: the namespace c->ns; 11: the snapshot). */
void ac_on_read_point(void *arg, int status, const char *msg);
void ac_config_put(struct ctx *c, const struct admin_http *h);
void ac_config_delete(struct ctx *c, const struct admin_http *h);

/* ---- api_status.c ---- */
void ac_self_json(struct jw *w, struct api_cluster *ac);
void ac_status_probe(struct ctx *c);
void ac_on_status_read(void *arg, int status, const char *msg);

#endif
