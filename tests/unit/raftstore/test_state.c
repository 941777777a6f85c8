/* Unit tests of raftstore/state: apply, compare-and-set, request ids, members, merge, snapshots,
 * determinism over a long random sequence. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftstore/state.h"

/* ---- Building entries in memory: every allocation goes to a pool freed after each test, and
 * strings are literals, so no test needs to free a tree by hand. ---- */

static void *pool[8192];
static size_t npool;

static void *P(void *p)
{
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_lt(npool, sizeof(pool) / sizeof(pool[0]));
    pool[npool++] = p;
    return p;
}

static void pool_free(void)
{
    while (npool > 0) {
        free(pool[--npool]);
    }
}

#define NEW(T, INIT) memcpy(P(malloc(sizeof(T))), &(T)INIT, sizeof(T))

static Concord__Config__Mark *mark(const char *file, uint32_t line)
{
    Concord__Config__Mark *m = NEW(Concord__Config__Mark, CONCORD__CONFIG__MARK__INIT);
    m->file = (char *)file;
    m->line = line;
    m->col = 1;
    return m;
}

static Concord__Config__Config *cfg_new(void)
{
    Concord__Config__Config *c = NEW(Concord__Config__Config, CONCORD__CONFIG__CONFIG__INIT);
    c->http = NEW(Concord__Config__HttpConfig, CONCORD__CONFIG__HTTP_CONFIG__INIT);
    c->http->routers = P(calloc(16, sizeof(void *)));
    c->http->services = P(calloc(16, sizeof(void *)));
    c->http->middlewares = P(calloc(16, sizeof(void *)));
    return c;
}

static Concord__Config__Router *add_router(Concord__Config__Config *c, const char *name,
                                           const char *rule, const char *service)
{
    Concord__Config__Router *r = NEW(Concord__Config__Router, CONCORD__CONFIG__ROUTER__INIT);
    r->name = (char *)name;
    r->rule = (char *)rule;
    r->service = (char *)service;
    c->http->routers[c->http->n_routers++] = r;
    return r;
}

static Concord__Config__Service *add_lb(Concord__Config__Config *c, const char *name,
                                        const char *const *urls, size_t n)
{
    Concord__Config__Service *s = NEW(Concord__Config__Service, CONCORD__CONFIG__SERVICE__INIT);
    Concord__Config__LoadBalancer *lb =
        NEW(Concord__Config__LoadBalancer, CONCORD__CONFIG__LOAD_BALANCER__INIT);
    s->name = (char *)name;
    s->kind_case = CONCORD__CONFIG__SERVICE__KIND_LOAD_BALANCER;
    s->load_balancer = lb;
    lb->servers = P(calloc(n ? n : 1, sizeof(void *)));
    for (size_t i = 0; i < n; i++) {
        Concord__Config__Server *sv = NEW(Concord__Config__Server, CONCORD__CONFIG__SERVER__INIT);
        sv->url = (char *)urls[i];
        lb->servers[lb->n_servers++] = sv;
    }
    c->http->services[c->http->n_services++] = s;
    return s;
}

static Concord__Config__Service *add_failover(Concord__Config__Config *c, const char *name)
{
    Concord__Config__Service *s = NEW(Concord__Config__Service, CONCORD__CONFIG__SERVICE__INIT);
    Concord__Config__Failover *f = NEW(Concord__Config__Failover, CONCORD__CONFIG__FAILOVER__INIT);
    f->service = "a";
    f->fallback = "b";
    s->name = (char *)name;
    s->kind_case = CONCORD__CONFIG__SERVICE__KIND_FAILOVER;
    s->failover = f;
    c->http->services[c->http->n_services++] = s;
    return s;
}

static Concord__Config__Middleware *add_prefix_mw(Concord__Config__Config *c, const char *name,
                                                  const char *prefix)
{
    Concord__Config__Middleware *m =
        NEW(Concord__Config__Middleware, CONCORD__CONFIG__MIDDLEWARE__INIT);
    Concord__Config__AddPrefix *a =
        NEW(Concord__Config__AddPrefix, CONCORD__CONFIG__ADD_PREFIX__INIT);
    a->prefix = (char *)prefix;
    m->name = (char *)name;
    m->kind_case = CONCORD__CONFIG__MIDDLEWARE__KIND_ADD_PREFIX;
    m->add_prefix = a;
    c->http->middlewares[c->http->n_middlewares++] = m;
    return m;
}

static Concord__Raftlog__Entry *entry(const char *reqid)
{
    Concord__Raftlog__Entry *e = NEW(Concord__Raftlog__Entry, CONCORD__RAFTLOG__ENTRY__INIT);
    e->format_version = RS_FORMAT_VERSION;
    if (reqid != NULL) {
        e->request_id.data = (uint8_t *)reqid;
        e->request_id.len = strlen(reqid);
    }
    return e;
}

static Concord__Raftlog__Entry *e_set(const char *ns, const char *node,
                                      Concord__Config__Config *cfg, const char *reqid)
{
    Concord__Raftlog__Entry *e = entry(reqid);
    Concord__Raftlog__SetContribution *s =
        NEW(Concord__Raftlog__SetContribution, CONCORD__RAFTLOG__SET_CONTRIBUTION__INIT);
    s->namespace_ = (char *)ns;
    s->node_id = (char *)node;
    s->config = cfg;
    e->command_case = CONCORD__RAFTLOG__ENTRY__COMMAND_SET_CONTRIBUTION;
    e->set_contribution = s;
    return e;
}

static Concord__Raftlog__Entry *e_cas(const char *ns, const char *node, uint64_t expected)
{
    Concord__Raftlog__Entry *e = e_set(ns, node, cfg_new(), NULL);
    e->set_contribution->has_expected_revision = 1;
    e->set_contribution->expected_revision = expected;
    return e;
}

static Concord__Raftlog__Entry *e_del(const char *ns, const char *node, int has_exp, uint64_t exp)
{
    Concord__Raftlog__Entry *e = entry(NULL);
    Concord__Raftlog__DeleteContribution *d =
        NEW(Concord__Raftlog__DeleteContribution, CONCORD__RAFTLOG__DELETE_CONTRIBUTION__INIT);
    d->namespace_ = (char *)ns;
    d->node_id = (char *)node;
    d->has_expected_revision = has_exp;
    d->expected_revision = exp;
    e->command_case = CONCORD__RAFTLOG__ENTRY__COMMAND_DELETE_CONTRIBUTION;
    e->delete_contribution = d;
    return e;
}

static Concord__Raftlog__Entry *e_member(const char *id, const char *addr)
{
    Concord__Raftlog__Entry *e = entry(NULL);
    Concord__Raftlog__UpsertMember *u =
        NEW(Concord__Raftlog__UpsertMember, CONCORD__RAFTLOG__UPSERT_MEMBER__INIT);
    u->member = NEW(Concord__Raftlog__Member, CONCORD__RAFTLOG__MEMBER__INIT);
    u->member->id = (char *)id;
    u->member->raft_address = (char *)addr;
    e->command_case = CONCORD__RAFTLOG__ENTRY__COMMAND_UPSERT_MEMBER;
    e->upsert_member = u;
    return e;
}

static Concord__Raftlog__Entry *e_remove(const char *id)
{
    Concord__Raftlog__Entry *e = entry(NULL);
    Concord__Raftlog__RemoveMember *r =
        NEW(Concord__Raftlog__RemoveMember, CONCORD__RAFTLOG__REMOVE_MEMBER__INIT);
    r->id = (char *)id;
    e->command_case = CONCORD__RAFTLOG__ENTRY__COMMAND_REMOVE_MEMBER;
    e->remove_member = r;
    return e;
}

static Concord__Raftlog__Entry *e_settings(uint32_t level)
{
    Concord__Raftlog__Entry *e = entry(NULL);
    Concord__Raftlog__SetSettings *s =
        NEW(Concord__Raftlog__SetSettings, CONCORD__RAFTLOG__SET_SETTINGS__INIT);
    s->settings = NEW(Concord__Raftlog__Settings, CONCORD__RAFTLOG__SETTINGS__INIT);
    s->settings->feature_level = level;
    e->command_case = CONCORD__RAFTLOG__ENTRY__COMMAND_SET_SETTINGS;
    e->set_settings = s;
    return e;
}

static Concord__Raftlog__Entry *e_noop(const char *reqid)
{
    Concord__Raftlog__Entry *e = entry(reqid);
    e->command_case = CONCORD__RAFTLOG__ENTRY__COMMAND_NOOP;
    e->noop = NEW(Concord__Raftlog__Noop, CONCORD__RAFTLOG__NOOP__INIT);
    return e;
}

/* Applies at the next index and returns the result code. */
static enum rs_code ap(struct rs_state *s, const Concord__Raftlog__Entry *e, struct rs_result *r)
{
    struct rs_result scratch;
    r = r ? r : &scratch;
    ck_assert_int_eq(rs_state_apply(s, rs_state_applied_index(s) + 1, e, r), 0);
    return r->code;
}

static void snap_eq(const struct rs_state *a, const struct rs_state *b)
{
    uint8_t *x, *y;
    size_t nx, ny;
    ck_assert_int_eq(rs_state_snapshot(a, &x, &nx), 0);
    ck_assert_int_eq(rs_state_snapshot(b, &y, &ny), 0);
    ck_assert_uint_eq(nx, ny);
    ck_assert_int_eq(memcmp(x, y, nx), 0);
    free(x);
    free(y);
}

/* ---- Apply ---- */

START_TEST(apply_sequence)
{
    struct rs_state *s = rs_state_create();
    struct rs_result r;
    ck_assert_int_eq(ap(s, e_set("file", "n1", cfg_new(), NULL), &r), RS_APPLIED);
    ck_assert_uint_eq(r.revision, 1);
    ck_assert_int_eq(ap(s, e_set("api", "api", cfg_new(), NULL), NULL), RS_APPLIED);
    ck_assert_int_eq(ap(s, e_noop(NULL), NULL), RS_APPLIED);
    ck_assert_int_eq(ap(s, e_set("file", "n1", cfg_new(), NULL), &r), RS_APPLIED);
    ck_assert_uint_eq(r.revision, 4);
    ck_assert_uint_eq(rs_state_applied_index(s), 4);
    ck_assert_uint_eq(rs_state_ncontributions(s), 2);
    ck_assert_str_eq(rs_state_contribution_at(s, 0)->namespace_, "api");
    ck_assert_uint_eq(rs_state_contribution(s, "file", "n1")->revision, 4);
    ck_assert_ptr_null(rs_state_contribution(s, "file", "n2"));
    /* An index at or below applied_index is a caller bug and changes nothing. */
    ck_assert_int_eq(rs_state_apply(s, 4, e_noop(NULL), &r), -EINVAL);
    ck_assert_int_eq(rs_state_apply(s, 10, NULL, &r), -EINVAL);
    ck_assert_uint_eq(rs_state_applied_index(s), 4);
    /* Gaps are fine (libraft's own configuration entries do not reach the state). */
    ck_assert_int_eq(rs_state_apply(s, 9, e_noop(NULL), &r), 0);
    ck_assert_uint_eq(rs_state_applied_index(s), 9);
    rs_state_destroy(s);
}
END_TEST

START_TEST(cas_success_and_mismatch)
{
    struct rs_state *s = rs_state_create();
    struct rs_result r;
    ck_assert_int_eq(ap(s, e_cas("api", "api", 0), &r), RS_APPLIED); /* must not exist: ok */
    ck_assert_int_eq(ap(s, e_cas("api", "api", 0), &r), RS_REVISION_MISMATCH);
    ck_assert_uint_eq(r.revision, 1);
    ck_assert_str_eq(r.msg, "namespace api of node api is at revision 1, not 0");
    ck_assert_int_eq(ap(s, e_cas("api", "api", 7), &r), RS_REVISION_MISMATCH);
    ck_assert_uint_eq(rs_state_contribution(s, "api", "api")->revision, 1);
    ck_assert_int_eq(ap(s, e_cas("api", "api", 1), &r), RS_APPLIED);
    ck_assert_uint_eq(r.revision, 4);
    ck_assert_int_eq(ap(s, e_del("api", "api", 1, 1), &r), RS_REVISION_MISMATCH);
    ck_assert_uint_eq(rs_state_ncontributions(s), 1);
    ck_assert_int_eq(ap(s, e_del("api", "api", 1, 4), &r), RS_APPLIED);
    ck_assert_uint_eq(rs_state_ncontributions(s), 0);
    ck_assert_int_eq(ap(s, e_del("api", "api", 0, 0), &r), RS_APPLIED); /* nothing to do */
    rs_state_destroy(s);
}
END_TEST

START_TEST(delete_whole_namespace)
{
    struct rs_state *s = rs_state_create();
    struct rs_result r;
    ap(s, e_set("docker", "n1", cfg_new(), NULL), NULL);
    ap(s, e_set("docker", "n2", cfg_new(), NULL), NULL);
    ap(s, e_set("docker", "n3", cfg_new(), NULL), NULL);
    ap(s, e_set("file", "n1", cfg_new(), NULL), NULL);
    ap(s, e_set("api", "api", cfg_new(), NULL), NULL);
    /* The namespace's revision is its highest: 3. */
    ck_assert_int_eq(ap(s, e_del("docker", "", 1, 2), &r), RS_REVISION_MISMATCH);
    ck_assert_uint_eq(r.revision, 3);
    ck_assert_int_eq(ap(s, e_del("docker", "", 1, 3), &r), RS_APPLIED);
    ck_assert_uint_eq(rs_state_ncontributions(s), 2);
    ck_assert_ptr_nonnull(rs_state_contribution(s, "file", "n1"));
    ck_assert_ptr_nonnull(rs_state_contribution(s, "api", "api"));
    rs_state_destroy(s);
}
END_TEST

START_TEST(duplicate_request_ids_apply_once)
{
    struct rs_state *s = rs_state_create();
    struct rs_result r;
    ck_assert_int_eq(ap(s, e_set("api", "api", cfg_new(), "req-1"), &r), RS_APPLIED);
    ck_assert_int_eq(ap(s, e_set("api", "api", cfg_new(), "req-1"), &r), RS_DUPLICATE);
    ck_assert_uint_eq(rs_state_contribution(s, "api", "api")->revision, 1);
    ck_assert_uint_eq(rs_state_applied_index(s), 2);
    /* A refused request is not remembered: its retry is judged again. */
    Concord__Raftlog__Entry *cas = e_cas("api", "api", 5);
    cas->request_id.data = (uint8_t *)"req-2";
    cas->request_id.len = 5;
    ck_assert_int_eq(ap(s, cas, NULL), RS_REVISION_MISMATCH);
    ck_assert_int_eq(ap(s, cas, NULL), RS_REVISION_MISMATCH);
    /* The ring is bounded: after RS_RECENT_MAX other requests, req-1 is forgotten. */
    char ids[RS_RECENT_MAX][16];
    for (unsigned i = 0; i < RS_RECENT_MAX; i++) {
        snprintf(ids[i], sizeof(ids[i]), "other-%u", i);
        ck_assert_int_eq(ap(s, e_noop(ids[i]), NULL), RS_APPLIED);
    }
    ck_assert_int_eq(ap(s, e_noop(ids[RS_RECENT_MAX - 1]), NULL), RS_DUPLICATE);
    ck_assert_int_eq(ap(s, e_set("api", "api", cfg_new(), "req-1"), &r), RS_APPLIED);
    /* Oversized ids are malformed. */
    char big[RS_REQUEST_ID_MAX + 2];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(ap(s, e_noop(big), NULL), RS_MALFORMED);
    rs_state_destroy(s);
}
END_TEST

START_TEST(member_removal_deletes_contributions)
{
    struct rs_state *s = rs_state_create();
    struct rs_result r;
    ap(s, e_member("n2", "127.0.0.1:7002"), NULL);
    ap(s, e_member("n1", "127.0.0.1:7001"), NULL);
    ap(s, e_member("n1", "127.0.0.1:7101"), NULL); /* upsert replaces */
    ck_assert_uint_eq(rs_state_nmembers(s), 2);
    ck_assert_str_eq(rs_state_member_at(s, 0)->id, "n1");
    ck_assert_str_eq(rs_state_member(s, "n1")->raft_address, "127.0.0.1:7101");
    ap(s, e_set("file", "n1", cfg_new(), NULL), NULL);
    ap(s, e_set("docker", "n1", cfg_new(), NULL), NULL);
    ap(s, e_set("docker", "n2", cfg_new(), NULL), NULL);
    ap(s, e_set("file", "n3", cfg_new(), NULL), NULL); /* n3 has no metadata */
    ck_assert_int_eq(ap(s, e_remove("n1"), NULL), RS_APPLIED);
    ck_assert_uint_eq(rs_state_nmembers(s), 1);
    ck_assert_ptr_null(rs_state_member(s, "n1"));
    ck_assert_uint_eq(rs_state_ncontributions(s), 2);
    ck_assert_ptr_null(rs_state_contribution(s, "file", "n1"));
    ck_assert_ptr_null(rs_state_contribution(s, "docker", "n1"));
    ck_assert_int_eq(ap(s, e_remove("n1"), &r), RS_UNKNOWN_MEMBER);
    ck_assert_str_eq(r.msg, "no member n1");
    ck_assert_int_eq(ap(s, e_remove("n3"), NULL), RS_APPLIED); /* its contribution goes */
    ck_assert_uint_eq(rs_state_ncontributions(s), 1);
    rs_state_destroy(s);
}
END_TEST

START_TEST(format_and_malformed)
{
    struct rs_state *s = rs_state_create();
    struct rs_result r;
    ck_assert_uint_eq(rs_state_feature_level(s), RS_FORMAT_VERSION);
    Concord__Raftlog__Entry *e = e_set("api", "api", cfg_new(), "r");
    e->format_version = RS_FORMAT_VERSION + 1;
    ck_assert_int_eq(ap(s, e, &r), RS_FORMAT_TOO_NEW);
    ck_assert_uint_eq(rs_state_ncontributions(s), 0);
    ck_assert_int_eq(ap(s, e_settings(RS_FORMAT_VERSION + 1), NULL), RS_APPLIED);
    ck_assert_int_eq(ap(s, e, &r), RS_APPLIED);
    ck_assert_int_eq(ap(s, e_settings(0), NULL), RS_APPLIED);
    ck_assert_uint_eq(rs_state_feature_level(s), RS_FORMAT_VERSION);
    e = e_noop(NULL);
    e->format_version = 0;
    ck_assert_int_eq(ap(s, e, NULL), RS_MALFORMED);
    ck_assert_int_eq(ap(s, entry(NULL), NULL), RS_MALFORMED); /* no command */
    ck_assert_int_eq(ap(s, e_set("", "n1", NULL, NULL), NULL), RS_MALFORMED);
    ck_assert_int_eq(ap(s, e_set("file", "", NULL, NULL), NULL), RS_MALFORMED);
    ck_assert_int_eq(ap(s, e_member("", "x"), NULL), RS_MALFORMED);
    e = e_noop(NULL);
    e->noop = NULL;
    ck_assert_int_eq(ap(s, e, NULL), RS_MALFORMED);
    ck_assert_uint_eq(rs_state_ncontributions(s), 1);
    ck_assert_str_eq(rs_code_name(RS_DUPLICATE), "duplicate request id");
    rs_state_destroy(s);
}
END_TEST

/* ---- Merge ---- */

static const struct rs_merged_ns *merged_ns(const struct rs_merged *m, const char *ns)
{
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->v[i].ns, ns) == 0) {
            return &m->v[i];
        }
    }
    return NULL;
}

START_TEST(merge_servers_across_nodes)
{
    struct rs_state *s = rs_state_create();
    Concord__Config__Config *c1 = cfg_new(), *c2 = cfg_new(), *c3 = cfg_new();
    const char *u1[] = {"http://10.0.0.1:80", "http://10.0.0.2:80"};
    const char *u2[] = {"http://10.0.0.2:80", "http://10.0.0.3:80"};
    add_lb(c1, "app", u1, 2)->load_balancer->mark = mark("n1.yaml", 3);
    add_lb(c2, "app", u2, 2)->load_balancer->mark = mark("n2.yaml", 9); /* marks are ignored */
    add_lb(c2, "only2", u2, 1);
    add_router(c1, "web", "Host(`a`)", "app");
    add_lb(c3, "app", u1, 1);
    ap(s, e_set("docker", "n2", c2, NULL), NULL);
    ap(s, e_set("docker", "n1", c1, NULL), NULL);
    ap(s, e_set("file", "n1", c3, NULL), NULL);
    struct rs_merged m;
    ck_assert_int_eq(rs_state_merged(s, &m), 0);
    ck_assert_uint_eq(m.nerrors, 0);
    ck_assert_uint_eq(m.n, 2);
    ck_assert_str_eq(m.v[0].ns, "docker");
    ck_assert_str_eq(m.v[1].ns, "file");
    const Concord__Config__HttpConfig *h = merged_ns(&m, "docker")->cfg->http;
    ck_assert_uint_eq(h->n_routers, 1);
    ck_assert_uint_eq(h->n_services, 2);
    ck_assert_str_eq(h->services[0]->name, "app");
    const Concord__Config__LoadBalancer *lb = h->services[0]->load_balancer;
    ck_assert_uint_eq(lb->n_servers, 3);
    ck_assert_str_eq(lb->servers[0]->url, "http://10.0.0.1:80");
    ck_assert_str_eq(lb->servers[1]->url, "http://10.0.0.2:80");
    ck_assert_str_eq(lb->servers[2]->url, "http://10.0.0.3:80");
    ck_assert_str_eq(lb->mark->file, "n1.yaml"); /* the first node's marks are kept */
    ck_assert_str_eq(h->services[1]->name, "only2");
    ck_assert_uint_eq(merged_ns(&m, "file")->cfg->http->services[0]->load_balancer->n_servers, 1);
    rs_merged_fini(&m);
    rs_state_destroy(s);
}
END_TEST

START_TEST(merge_conflicts_disable_objects)
{
    struct rs_state *s = rs_state_create();
    Concord__Config__Config *c[3] = {cfg_new(), cfg_new(), cfg_new()};
    const char *u[] = {"http://10.0.0.1:80"};
    for (int i = 0; i < 3; i++) {
        /* Identical routers with different marks merge into one. */
        add_router(c[i], "same", "Path(`/`)", "app")->mark = mark("x.yaml", (uint32_t)i + 1);
        add_prefix_mw(c[i], "mw", i == 2 ? "/other" : "/p");
        /* Marks inside a oneof case are ignored too. */
        add_prefix_mw(c[i], "mw2", "/q")->add_prefix->mark = mark("y.yaml", (uint32_t)i + 1);
    }
    add_router(c[0], "web", "Host(`a`)", "app");
    add_router(c[1], "web", "Host(`b`)", "app");
    add_lb(c[0], "app", u, 1);
    add_failover(c[1], "app");
    Concord__Config__Service *lb1 = add_lb(c[0], "lb", u, 1);
    Concord__Config__Service *lb2 = add_lb(c[2], "lb", u, 1);
    lb1->load_balancer->pass_host_header = 1;
    lb1->load_balancer->has_pass_host_header = 1;
    (void)lb2;
    ap(s, e_set("docker", "n1", c[0], NULL), NULL);
    ap(s, e_set("docker", "n2", c[1], NULL), NULL);
    ap(s, e_set("docker", "n3", c[2], NULL), NULL);
    struct rs_merged m;
    ck_assert_int_eq(rs_state_merged(s, &m), 0);
    ck_assert_uint_eq(m.nerrors, 4);
    ck_assert_str_eq(m.errors[0],
                     "namespace docker: router \"web\" differs between nodes n1 and n2; disabled");
    ck_assert_str_eq(m.errors[1],
                     "namespace docker: service \"app\" differs between nodes n1 and n2; disabled");
    ck_assert_str_eq(m.errors[2], "namespace docker: service \"lb\" differs between nodes n1 and "
                                  "n3 (loadBalancer settings); disabled");
    ck_assert_str_eq(m.errors[3], "namespace docker: middleware \"mw\" differs between nodes n1, "
                                  "n2 and n3; disabled");
    const Concord__Config__HttpConfig *h = m.v[0].cfg->http;
    ck_assert_uint_eq(h->n_routers, 1);
    ck_assert_str_eq(h->routers[0]->name, "same");
    ck_assert_uint_eq(h->routers[0]->mark->line, 1);
    ck_assert_uint_eq(h->n_services, 0);
    ck_assert_uint_eq(h->n_middlewares, 1);
    ck_assert_str_eq(h->middlewares[0]->name, "mw2");
    ck_assert_uint_eq(h->middlewares[0]->add_prefix->mark->line, 1);
    rs_merged_fini(&m);
    rs_state_destroy(s);
}
END_TEST

START_TEST(merge_files)
{
    struct rs_state *s = rs_state_create();
    Concord__Raftlog__FileBlob *f[3];
    const char *content[3] = {"u:h1", "u:h2", "v:h"};
    const char *path[3] = {"/etc/users", "/etc/users", "/etc/more"};
    for (int i = 0; i < 3; i++) {
        f[i] = NEW(Concord__Raftlog__FileBlob, CONCORD__RAFTLOG__FILE_BLOB__INIT);
        f[i]->path = (char *)path[i];
        f[i]->content.data = (uint8_t *)content[i];
        f[i]->content.len = strlen(content[i]);
    }
    Concord__Raftlog__Entry *e1 = e_set("file", "n1", cfg_new(), NULL);
    Concord__Raftlog__Entry *e2 = e_set("file", "n2", NULL, NULL);
    e1->set_contribution->files = f;
    e1->set_contribution->n_files = 1;
    e2->set_contribution->files = f + 1;
    e2->set_contribution->n_files = 2;
    ap(s, e2, NULL);
    ap(s, e1, NULL);
    struct rs_merged m;
    rs_state_merged(s, &m);
    ck_assert_uint_eq(m.nerrors, 1);
    ck_assert_str_eq(m.errors[0], "namespace file: file \"/etc/users\" differs between nodes n1 "
                                  "and n2; node n1's is used");
    ck_assert_uint_eq(m.v[0].nfiles, 2);
    ck_assert_str_eq(m.v[0].files[0]->path, "/etc/more");
    ck_assert_str_eq(m.v[0].files[1]->path, "/etc/users");
    ck_assert_int_eq(memcmp(m.v[0].files[1]->content.data, "u:h1", 4), 0);
    rs_merged_fini(&m);
    rs_state_destroy(s);
}
END_TEST

/* ---- Snapshots and determinism ---- */

static void feed_sample(struct rs_state *s)
{
    Concord__Config__Config *c = cfg_new();
    const char *u[] = {"http://10.0.0.1:80"};
    add_router(c, "web", "Host(`a`)", "app");
    add_lb(c, "app", u, 1);
    ap(s, e_member("n2", "b"), NULL);
    ap(s, e_set("file", "n2", c, "r1"), NULL);
    ap(s, e_member("n1", "a"), NULL);
    ap(s, e_set("api", "api", c, "r2"), NULL);
    ap(s, e_set("docker", "n1", c, "r3"), NULL);
    ap(s, e_settings(1), NULL);
    ap(s, e_noop("r4"), NULL);
}

START_TEST(snapshot_deterministic_and_round_trips)
{
    struct rs_state *a = rs_state_create(), *b = rs_state_create(), *c = rs_state_create();
    feed_sample(a);
    feed_sample(b);
    snap_eq(a, b);
    uint8_t *buf;
    size_t len;
    ck_assert_int_eq(rs_state_snapshot(a, &buf, &len), 0);
    ck_assert_int_eq(rs_state_restore(c, buf, len), 0);
    snap_eq(a, c);
    ck_assert_uint_eq(rs_state_applied_index(c), 7);
    ck_assert_str_eq(rs_state_contribution_at(c, 0)->namespace_, "api");
    /* The restored request ids still deduplicate. */
    ck_assert_int_eq(ap(c, e_noop("r2"), NULL), RS_DUPLICATE);
    /* Restore replaces whole: c's extra entry is gone after restoring a's snapshot again. */
    ck_assert_int_eq(rs_state_restore(c, buf, len), 0);
    snap_eq(a, c);
    free(buf);
    rs_state_destroy(a);
    rs_state_destroy(b);
    rs_state_destroy(c);
}
END_TEST

START_TEST(restore_refuses_bad_snapshots)
{
    struct rs_state *s = rs_state_create(), *before = rs_state_create();
    feed_sample(s);
    feed_sample(before);
    Concord__Raftlog__Snapshot snap = CONCORD__RAFTLOG__SNAPSHOT__INIT;
    snap.format_version = RS_SNAPSHOT_FORMAT + 1;
    uint8_t buf[64];
    size_t len = concord__raftlog__snapshot__pack(&snap, buf);
    ck_assert_int_eq(rs_state_restore(s, buf, len), -ENOTSUP);
    snap.format_version = 0; /* a missing version is not ours either */
    len = concord__raftlog__snapshot__pack(&snap, buf);
    ck_assert_int_eq(rs_state_restore(s, buf, len), -ENOTSUP);
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff};
    ck_assert_int_eq(rs_state_restore(s, junk, sizeof(junk)), -EINVAL);
    /* Two members with one id. */
    Concord__Raftlog__Member m = CONCORD__RAFTLOG__MEMBER__INIT, *mv[2] = {&m, &m};
    m.id = "n1";
    snap.format_version = RS_SNAPSHOT_FORMAT;
    snap.members = mv;
    snap.n_members = 2;
    len = concord__raftlog__snapshot__pack(&snap, buf);
    ck_assert_int_eq(rs_state_restore(s, buf, len), -EINVAL);
    snap_eq(s, before);
    rs_state_destroy(s);
    rs_state_destroy(before);
}
END_TEST

/* Two merges give the same namespaces, the same Config bytes and the same errors. */
static void merged_eq(const struct rs_merged *a, const struct rs_merged *b)
{
    ck_assert_uint_eq(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        ck_assert_str_eq(a->v[i].ns, b->v[i].ns);
        size_t na = concord__config__config__get_packed_size(a->v[i].cfg);
        size_t nb = concord__config__config__get_packed_size(b->v[i].cfg);
        ck_assert_uint_eq(na, nb);
        uint8_t *x = malloc(na + 1), *y = malloc(nb + 1);
        concord__config__config__pack(a->v[i].cfg, x);
        concord__config__config__pack(b->v[i].cfg, y);
        ck_assert_int_eq(memcmp(x, y, na), 0);
        free(x);
        free(y);
    }
    ck_assert_uint_eq(a->nerrors, b->nerrors);
    for (size_t i = 0; i < a->nerrors; i++) {
        ck_assert_str_eq(a->errors[i], b->errors[i]);
    }
}

/* A random entry from a small universe of names, so that entries collide often. Allocations
 * go to the pool, which the caller empties. */
static Concord__Raftlog__Entry *random_entry(unsigned *seed, char reqids[][8], unsigned k)
{
    static const char *ns[] = {"api", "docker", "file"};
    static const char *nodes[] = {"n1", "n2", "n3", "api"};
    static const char *names[] = {"a", "b", "c"};
    static const char *urls[] = {"http://10.0.0.1:80", "http://10.0.0.2:80", "http://10.0.0.3:80"};
    const char *n = ns[rand_r(seed) % 3], *node = nodes[rand_r(seed) % 4];
    Concord__Raftlog__Entry *e;
    switch (rand_r(seed) % 8) {
    case 0:
    case 1:
    case 2: {
        Concord__Config__Config *c = cfg_new();
        for (int i = rand_r(seed) % 4; i > 0; i--) {
            add_router(c, names[rand_r(seed) % 3], rand_r(seed) % 2 ? "Host(`a`)" : "Path(`/`)",
                       "a");
        }
        for (int i = rand_r(seed) % 3; i > 0; i--) {
            size_t nu = (size_t)(rand_r(seed) % 3) + 1;
            if (rand_r(seed) % 5 == 0) {
                add_failover(c, names[rand_r(seed) % 3]);
            } else {
                add_lb(c, names[rand_r(seed) % 3], urls + (3 - nu), nu);
            }
        }
        if (rand_r(seed) % 2) {
            add_prefix_mw(c, names[rand_r(seed) % 3], rand_r(seed) % 2 ? "/x" : "/y");
        }
        e = e_set(n, node, c, NULL);
        if (rand_r(seed) % 4 == 0) {
            e->set_contribution->has_expected_revision = 1;
            e->set_contribution->expected_revision = (uint64_t)(rand_r(seed) % 3) * k / 2;
        }
        break;
    }
    case 3:
        e = e_del(n, rand_r(seed) % 3 ? node : "", rand_r(seed) % 4 == 0, k / 3);
        break;
    case 4:
        e = e_member(nodes[rand_r(seed) % 3], rand_r(seed) % 2 ? "a:1" : "b:2");
        break;
    case 5:
        e = e_remove(nodes[rand_r(seed) % 4]);
        break;
    case 6:
        e = e_settings((uint32_t)(rand_r(seed) % 3));
        break;
    default:
        e = e_noop(NULL);
        break;
    }
    /* Request ids from a small set, so duplicates happen; sometimes none. */
    unsigned r = (unsigned)rand_r(seed) % 64;
    if (r < 48) {
        e->request_id.data = (uint8_t *)reqids[r];
        e->request_id.len = strlen(reqids[r]);
    }
    if (rand_r(seed) % 50 == 0) {
        e->format_version = RS_FORMAT_VERSION + 1;
    }
    return e;
}

START_TEST(random_entries_are_deterministic)
{
    char reqids[48][8];
    for (int i = 0; i < 48; i++) {
        snprintf(reqids[i], sizeof(reqids[i]), "q%d", i);
    }
    struct rs_state *a = rs_state_create(), *b = rs_state_create(), *c = rs_state_create();
    unsigned seed = 20261126;
    unsigned counts[RS_MALFORMED + 1] = {0};
    const unsigned total = 4000;
    size_t merge_errors = 0;
    for (unsigned k = 1; k <= total; k++) {
        Concord__Raftlog__Entry *e = random_entry(&seed, reqids, k);
        struct rs_result ra, rb;
        ck_assert_int_eq(rs_state_apply(a, k, e, &ra), 0);
        /* b gets the entry as the FSM will: packed and parsed again. */
        size_t elen = concord__raftlog__entry__get_packed_size(e);
        uint8_t *ebuf = malloc(elen + 1);
        concord__raftlog__entry__pack(e, ebuf);
        Concord__Raftlog__Entry *wire = concord__raftlog__entry__unpack(NULL, elen, ebuf);
        ck_assert_ptr_nonnull(wire);
        ck_assert_int_eq(rs_state_apply(b, k, wire, &rb), 0);
        concord__raftlog__entry__free_unpacked(wire, NULL);
        free(ebuf);
        ck_assert_int_eq(ra.code, rb.code);
        ck_assert_str_eq(ra.msg, rb.msg);
        ck_assert_int_ne(ra.code, RS_MALFORMED); /* every generated entry is well formed */
        counts[ra.code]++;
        if (k == total / 2) {
            /* c joins half-way from a snapshot and must end up equal. */
            uint8_t *buf;
            size_t len;
            rs_state_snapshot(a, &buf, &len);
            ck_assert_int_eq(rs_state_restore(c, buf, len), 0);
            free(buf);
        } else if (k > total / 2) {
            ck_assert_int_eq(rs_state_apply(c, k, e, NULL), 0);
        }
        if (k % 500 == 0) {
            struct rs_merged ma, mb;
            rs_state_merged(a, &ma);
            rs_state_merged(b, &mb);
            merged_eq(&ma, &mb);
            merge_errors += ma.nerrors;
            rs_merged_fini(&ma);
            rs_merged_fini(&mb);
        }
        pool_free();
    }
    /* The sequence exercised every outcome it can produce. */
    ck_assert_uint_gt(counts[RS_APPLIED], 0);
    ck_assert_uint_gt(counts[RS_DUPLICATE], 0);
    ck_assert_uint_gt(counts[RS_REVISION_MISMATCH], 0);
    ck_assert_uint_gt(counts[RS_UNKNOWN_MEMBER], 0);
    ck_assert_uint_gt(counts[RS_FORMAT_TOO_NEW], 0);
    ck_assert_uint_gt(merge_errors, 0);
    snap_eq(a, b);
    snap_eq(a, c);
    uint8_t *buf, *buf2;
    size_t len, len2;
    rs_state_snapshot(a, &buf, &len);
    ck_assert_int_eq(rs_state_restore(b, buf, len), 0);
    rs_state_snapshot(b, &buf2, &len2);
    ck_assert_uint_eq(len, len2);
    ck_assert_int_eq(memcmp(buf, buf2, len), 0);
    free(buf);
    free(buf2);
    rs_state_destroy(a);
    rs_state_destroy(b);
    rs_state_destroy(c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("raftstore_state");
    TCase *t = tcase_create("state");
    tcase_add_checked_fixture(t, NULL, pool_free);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, apply_sequence);
    tcase_add_test(t, cas_success_and_mismatch);
    tcase_add_test(t, delete_whole_namespace);
    tcase_add_test(t, duplicate_request_ids_apply_once);
    tcase_add_test(t, member_removal_deletes_contributions);
    tcase_add_test(t, format_and_malformed);
    tcase_add_test(t, merge_servers_across_nodes);
    tcase_add_test(t, merge_conflicts_disable_objects);
    tcase_add_test(t, merge_files);
    tcase_add_test(t, snapshot_deterministic_and_round_trips);
    tcase_add_test(t, restore_refuses_bad_snapshots);
    tcase_add_test(t, random_entries_are_deterministic);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
