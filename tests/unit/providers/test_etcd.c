/* Unit tests of providers/etcd_decode: the etcd v3 JSON gateway's answers (captured from a real
 * etcd 3.4), the watched key map, the watch stream's lines, the request bodies, and Traefik's KV
 * layout decoded through labels_decode as the etcd provider does. No etcd runs here. */
#include <errno.h>

#include "node/base/base64.h"
#include "providers/decode.h"
#include "providers/etcd_decode.h"
#include "providers/labels.h"
#include "tests/unit/providers/helpers.h"

/* Answers as etcd 3.4.23's gateway wrote them (keys: traefik/http/routers/r1/rule = Host(`a`),
 * then a transaction putting traefik/a = 1, traefik/b = 2 and deleting the rule). */
static const char RANGE[] =
    "{\"header\":{\"cluster_id\":\"15118495548433857066\",\"member_id\":\"13668033151171901709\","
    "\"revision\":\"2\",\"raft_term\":\"2\"},\"kvs\":[{\"key\":\"dHJhZWZpay9odHRwL3JvdXRlcnMvcjEv"
    "cnVsZQ==\",\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":\"1\",\"value\":"
    "\"SG9zdChgYWAp\"}],\"count\":\"1\"}";
static const char RANGE_EMPTY[] =
    "{\"header\":{\"cluster_id\":\"15118495548433857066\",\"member_id\":\"13668033151171901709\","
    "\"revision\":\"7\",\"raft_term\":\"2\"}}";
static const char CREATED[] =
    "{\"result\":{\"header\":{\"cluster_id\":\"15118495548433857066\",\"member_id\":"
    "\"13668033151171901709\",\"revision\":\"2\",\"raft_term\":\"2\"},\"created\":true}}";
static const char TXN[] =
    "{\"result\":{\"header\":{\"cluster_id\":\"15118495548433857066\",\"member_id\":"
    "\"13668033151171901709\",\"revision\":\"3\",\"raft_term\":\"2\"},\"events\":[{\"kv\":{\"key\":"
    "\"dHJhZWZpay9h\",\"create_revision\":\"3\",\"mod_revision\":\"3\",\"version\":\"1\",\"value\":"
    "\"MQ==\"}},{\"kv\":{\"key\":\"dHJhZWZpay9i\",\"create_revision\":\"3\",\"mod_revision\":\"3\","
    "\"version\":\"1\",\"value\":\"Mg==\"}},{\"type\":\"DELETE\",\"kv\":{\"key\":"
    "\"dHJhZWZpay9odHRwL3JvdXRlcnMvcjEvcnVsZQ==\",\"mod_revision\":\"3\"}}]}}";
static const char COMPACTED[] =
    "{\"result\":{\"header\":{\"cluster_id\":\"15118495548433857066\",\"member_id\":"
    "\"13668033151171901709\",\"raft_term\":\"2\"},\"canceled\":true,\"compact_revision\":\"5\"}}";

#define LEN(s) (sizeof(s) - 1)
/* A literal and its length. */
#define S(lit) lit, LEN(lit)

START_TEST(range_answer)
{
    struct etcd_kvs m = {0};
    int64_t rev = -1;
    struct err e = {0};
    ck_assert_int_eq(etcd_parse_range(RANGE, LEN(RANGE), &m, &rev, &e), 0);
    ck_assert_int_eq(rev, 2);
    ck_assert_uint_eq(m.n, 1);
    ck_assert_str_eq(m.v[0].key, "traefik/http/routers/r1/rule");
    ck_assert_str_eq(m.v[0].value, "Host(`a`)");
    /* no "kvs" at all (the gateway leaves empty lists out): zero keys, a real state */
    ck_assert_int_eq(etcd_parse_range(RANGE_EMPTY, LEN(RANGE_EMPTY), &m, &rev, &e), 0);
    ck_assert_int_eq(rev, 7);
    ck_assert_uint_eq(m.n, 0);
    etcd_kvs_fini(&m);
}
END_TEST

START_TEST(watch_txn_put_and_delete_is_one_batch)
{
    struct etcd_kvs m = {0};
    struct etcd_watch_msg w;
    struct err e = {0};
    int64_t rev;
    ck_assert_int_eq(etcd_parse_range(RANGE, LEN(RANGE), &m, &rev, &e), 0);
    ck_assert_int_eq(etcd_parse_watch(CREATED, LEN(CREATED), &w, &e), 0);
    ck_assert(w.created);
    ck_assert(!w.canceled);
    ck_assert_uint_eq(w.n_events, 0);
    ck_assert_int_eq(etcd_apply_events(&m, &w), 0);
    etcd_watch_msg_fini(&w);

    ck_assert_int_eq(etcd_parse_watch(TXN, LEN(TXN), &w, &e), 0);
    ck_assert_int_eq(w.revision, 3);
    ck_assert_uint_eq(w.n_events, 3);
    ck_assert_int_eq(w.events[0].type, ETCD_EVENT_PUT); /* "type" left out: PUT */
    ck_assert_str_eq(w.events[0].key, "traefik/a");
    ck_assert_str_eq(w.events[0].value, "1");
    ck_assert_int_eq(w.events[2].type, ETCD_EVENT_DELETE);
    ck_assert_str_eq(w.events[2].key, "traefik/http/routers/r1/rule");
    ck_assert_str_eq(w.events[2].value, "");
    ck_assert_int_eq(etcd_apply_events(&m, &w), 3);
    ck_assert_uint_eq(m.n, 2);
    ck_assert_str_eq(m.v[0].key, "traefik/a");
    ck_assert_str_eq(m.v[1].key, "traefik/b");
    ck_assert_str_eq(etcd_kvs_get(&m, "traefik/b"), "2");
    ck_assert_ptr_null(etcd_kvs_get(&m, "traefik/http/routers/r1/rule"));
    /* the same batch again changes nothing (same values, deleted key absent) */
    ck_assert_int_eq(etcd_apply_events(&m, &w), 0);
    etcd_watch_msg_fini(&w);
    etcd_kvs_fini(&m);
}
END_TEST

START_TEST(watch_compacted_and_canceled)
{
    struct etcd_watch_msg w;
    struct err e = {0};
    static const char canceled[] = "{\"result\":{\"header\":{\"revision\":\"9\"},\"canceled\":true,"
                                   "\"cancel_reason\":\"permission denied\"}}";
    ck_assert_int_eq(etcd_parse_watch(COMPACTED, LEN(COMPACTED), &w, &e), 0);
    ck_assert(w.canceled);
    ck_assert_int_eq(w.compact_revision, 5);
    ck_assert_int_eq(w.revision, 0);
    etcd_watch_msg_fini(&w);
    ck_assert_int_eq(etcd_parse_watch(canceled, LEN(canceled), &w, &e), 0);
    ck_assert(w.canceled);
    ck_assert_int_eq(w.compact_revision, 0);
    ck_assert_str_eq(w.cancel_reason, "permission denied");
    etcd_watch_msg_fini(&w);
}
END_TEST

START_TEST(errors_are_clear)
{
    struct etcd_kvs m = {0};
    struct etcd_watch_msg w;
    struct err e = {0};
    int64_t rev = 0;
    char *tok = NULL;
    static const char stream_err[] =
        "{\"error\":{\"grpc_code\":9,\"http_code\":400,\"message\":\"etcdserver: mvcc: required "
        "revision has been compacted\",\"http_status\":\"Bad Request\"}}";
    ck_assert_int_eq(etcd_parse_range(S("{\"kvs\": ["), &m, &rev, &e), -EINVAL);
    ck_assert_msg(strstr(e.msg, "etcd range answer: not JSON") != NULL, "%s", e.msg);
    ck_assert_int_eq(etcd_parse_range(S("[1]"), &m, &rev, &e), -EINVAL);
    ck_assert_str_eq(e.msg, "etcd range answer: expected a JSON object");
    ck_assert_int_eq(etcd_parse_range(S("{\"kvs\":[{\"key\":\"dHJhZWZpaw=\",\"value\":\"MQ==\"}]}"),
                                      &m, &rev, &e),
                     -EINVAL);
    ck_assert_str_eq(e.msg, "etcd range answer: key \"dHJhZWZpaw=\" is not base64");
    ck_assert_int_eq(
        etcd_parse_range(S("{\"kvs\":[{\"key\":\"dHJhZWZpaw==\",\"value\":\"AA==\"}]}"), &m, &rev,
                         &e),
        -EINVAL);
    ck_assert_str_eq(e.msg, "etcd range answer: a value holds a NUL byte");
    ck_assert_int_eq(etcd_parse_range(S("{\"header\":{\"revision\":\"x1\"}}"), &m, &rev, &e),
                     -EINVAL);
    ck_assert_str_eq(e.msg, "etcd range answer: revision \"x1\" is not a revision");
    ck_assert_uint_eq(m.n, 0); /* a refused answer leaves the map as it was */

    ck_assert_int_eq(etcd_parse_watch(stream_err, LEN(stream_err), &w, &e), -EPROTO);
    ck_assert_str_eq(e.msg, "etcd: etcdserver: mvcc: required revision has been compacted");
    ck_assert_int_eq(
        etcd_parse_watch(S("{\"result\":{\"events\":[{\"type\":\"PUT\",\"kv\":{\"key\":"
                           "\"@@@@\"}}]}}"),
                         &w, &e),
        -EINVAL);
    ck_assert_str_eq(e.msg, "etcd watch answer: key \"@@@@\" is not base64");
    ck_assert_int_eq(etcd_parse_watch(S("{\"result\":{\"events\":[{\"type\":\"NOPE\"}]}}"), &w, &e),
                     -EINVAL);
    ck_assert_str_eq(e.msg, "etcd watch answer: event type \"NOPE\"");
    ck_assert_int_eq(etcd_parse_watch(S("{}"), &w, &e), -EINVAL);
    ck_assert_str_eq(e.msg, "etcd watch answer: no result");

    ck_assert_int_eq(etcd_parse_auth(S("{\"header\":{}}"), &tok, &e), -EINVAL);
    ck_assert_str_eq(e.msg, "etcd authenticate answer: no token");
    ck_assert_int_eq(etcd_parse_auth(S("{\"token\":\"abc.42\"}"), &tok, &e), 0);
    ck_assert_str_eq(tok, "abc.42");
    free(tok);
}
END_TEST

START_TEST(error_text)
{
    char buf[200];
    static const char gw[] = "{\"error\":\"etcdserver: user name is empty\",\"message\":"
                             "\"etcdserver: user name is empty\",\"code\":3}";
    etcd_error_text(gw, LEN(gw), buf, sizeof buf);
    ck_assert_str_eq(buf, "etcdserver: user name is empty");
    etcd_error_text(S("404 page not found\n"), buf, sizeof buf);
    ck_assert_str_eq(buf, "404 page not found ");
    etcd_error_text(NULL, 0, buf, sizeof buf);
    ck_assert_str_eq(buf, "");
}
END_TEST

/* The base64 string s decodes to `want`. */
static void ck_b64_field(const char *json, const char *field, const char *want, size_t want_len)
{
    char pat[64];
    const char *at, *end;
    uint8_t out[256];
    size_t n = 0;
    snprintf(pat, sizeof pat, "\"%s\":\"", field);
    at = strstr(json, pat);
    ck_assert_ptr_nonnull(at);
    at += strlen(pat);
    end = strchr(at, '"');
    ck_assert_int_eq(base64_decode(at, (size_t)(end - at), out, &n), 0);
    ck_assert_uint_eq(n, want_len);
    ck_assert(memcmp(out, want, n) == 0);
}

START_TEST(request_bodies)
{
    char end[16];
    char *b = etcd_range_body("traefik/");
    ck_b64_field(b, "key", "traefik/", 8);
    ck_b64_field(b, "range_end", "traefik0", 8); /* '/' + 1 */
    free(b);
    b = etcd_count_body("traefik/");
    ck_b64_field(b, "range_end", "traefik0", 8);
    ck_assert_ptr_nonnull(strstr(b, "\"count_only\":true}"));
    free(b);
    b = etcd_watch_body("prod/traefik/", 43);
    ck_assert_ptr_nonnull(strstr(b, "{\"create_request\":{"));
    ck_assert_ptr_nonnull(strstr(b, "\"start_revision\":\"43\"}}"));
    ck_b64_field(b, "key", "prod/traefik/", 13);
    ck_b64_field(b, "range_end", "prod/traefik0", 13);
    free(b);
    b = etcd_auth_body("root", "p\"w\\d\n");
    ck_assert_str_eq(b, "{\"name\":\"root\",\"password\":\"p\\\"w\\\\d\\u000a\"}");
    free(b);
    ck_assert_uint_eq(etcd_prefix_end("a\xff\xff", end), 1);
    ck_assert_str_eq(end, "b");
    ck_assert_uint_eq(etcd_prefix_end("\xff", end), 1);
    ck_assert_int_eq(end[0], 0); /* every key */
}
END_TEST

static int append(struct etcd_lines *l, const char *s)
{
    return etcd_lines_append(l, (const uint8_t *)s, strlen(s));
}

START_TEST(stream_lines)
{
    struct etcd_lines l = {.max = 32};
    const char *line;
    size_t n;
    ck_assert_int_eq(append(&l, "{\"a\":1}\n{\"b\""), 0);
    line = etcd_lines_next(&l, &n);
    ck_assert_str_eq(line, "{\"a\":1}");
    ck_assert_uint_eq(n, 7);
    ck_assert_ptr_null(etcd_lines_next(&l, &n)); /* the second one is not complete */
    ck_assert_int_eq(append(&l, ":2}\r\n\n\n{\"c\":3}\n"), 0);
    ck_assert_str_eq(etcd_lines_next(&l, &n), "{\"b\":2}");
    ck_assert_str_eq(etcd_lines_next(&l, &n), "{\"c\":3}"); /* empty lines skipped */
    ck_assert_ptr_null(etcd_lines_next(&l, &n));
    /* an unfinished line beyond max is refused, so a stream never buffers without bound */
    ck_assert_int_eq(append(&l, "0123456789012345678901234567"), 0);
    ck_assert_int_eq(append(&l, "01234"), -EMSGSIZE);
    etcd_lines_reset(&l);
    ck_assert_ptr_null(etcd_lines_next(&l, &n));
    etcd_lines_fini(&l);
}
END_TEST

START_TEST(kvs_map)
{
    struct etcd_kvs m = {0};
    char k[32];
    for (int i = 99; i >= 0; i--) {
        snprintf(k, sizeof k, "k%03d", i);
        ck_assert_int_eq(etcd_kvs_put(&m, k, k), 0);
    }
    ck_assert_uint_eq(m.n, 100);
    for (size_t i = 1; i < m.n; i++) {
        ck_assert(strcmp(m.v[i - 1].key, m.v[i].key) < 0);
    }
    ck_assert_int_eq(etcd_kvs_put(&m, "k050", "new"), 0);
    ck_assert_uint_eq(m.n, 100);
    ck_assert_str_eq(etcd_kvs_get(&m, "k050"), "new");
    etcd_kvs_del(&m, "k000");
    etcd_kvs_del(&m, "nope");
    ck_assert_uint_eq(m.n, 99);
    ck_assert_str_eq(m.v[0].key, "k001");
    etcd_kvs_fini(&m);
}
END_TEST

/* A range answer holding `pairs` (key, value, key, value, ..., NULL), built with base64. */
static char *range_of(const char *const *pairs)
{
    size_t cap = 65536, o = 0;
    char *out = malloc(cap);
    o += (size_t)snprintf(out, cap, "{\"header\":{\"revision\":\"12\"},\"kvs\":[");
    for (size_t i = 0; pairs[i] != NULL; i += 2) {
        char k[512], v[512];
        base64_encode(pairs[i], strlen(pairs[i]), k);
        base64_encode(pairs[i + 1], strlen(pairs[i + 1]), v);
        o += (size_t)snprintf(out + o, cap - o, "%s{\"key\":\"%s\",\"value\":\"%s\"}", i ? "," : "",
                              k, v);
    }
    snprintf(out + o, cap - o, "]}");
    return out;
}

/* Traefik's KV layout (its KV dynamic-configuration reference), decoded as the provider does:
 * etcd keys -> labels_decode(LABELS_SLASHES, rootKey, "etcd"). */
START_TEST(traefik_kv_layout)
{
    static const char *const pairs[] = {
        "traefik/http/routers/Router0/rule",
        "Host(`a.test`) && PathPrefix(`/api`)",
        "traefik/http/routers/Router0/entryPoints/0",
        "web",
        "traefik/http/routers/Router0/entryPoints/1",
        "websecure",
        "traefik/http/routers/Router0/middlewares/0",
        "strip",
        "traefik/http/routers/Router0/service",
        "Service0",
        "traefik/http/routers/Router0/priority",
        "42",
        "traefik/http/services/Service0/loadBalancer/servers/0/url",
        "http://127.0.0.1:8081",
        "traefik/http/services/Service0/loadBalancer/servers/1/url",
        "http://127.0.0.1:8082",
        "traefik/http/services/Service0/loadBalancer/passHostHeader",
        "false",
        "traefik/http/middlewares/strip/stripPrefix/prefixes/0",
        "/api",
        "traefik/http/middlewares/strip/stripPrefix/prefixes/1",
        "/v1",
        NULL,
    };
    char *json = range_of(pairs);
    struct etcd_kvs m = {0};
    struct err e = {0};
    struct diags d;
    int64_t rev;
    struct label_kv kv[16];
    struct labels_opts o = {.syntax = LABELS_SLASHES, .root = "traefik", .source = "etcd"};
    Concord__Config__Config *cfg = NULL;
    ck_assert_int_eq(etcd_parse_range(json, strlen(json), &m, &rev, &e), 0);
    free(json);
    ck_assert_uint_eq(m.n, 11);
    for (size_t i = 0; i < m.n; i++) {
        kv[i].key = m.v[i].key;
        kv[i].value = m.v[i].value;
    }
    diags_init(&d);
    ck_assert_int_eq(labels_decode(kv, m.n, &o, &cfg, NULL, &d), 0);
    ck_assert_uint_eq(d.nerrors, 0);
    const Concord__Config__HttpConfig *h = cfg->http;
    ck_assert_uint_eq(h->n_routers, 1);
    ck_assert_str_eq(h->routers[0]->name, "Router0");
    ck_assert_str_eq(h->routers[0]->rule, "Host(`a.test`) && PathPrefix(`/api`)");
    ck_assert_uint_eq(h->routers[0]->n_entry_points, 2);
    ck_assert_str_eq(h->routers[0]->entry_points[1], "websecure");
    ck_assert_str_eq(h->routers[0]->middlewares[0], "strip");
    ck_assert_str_eq(h->routers[0]->service, "Service0");
    ck_assert_int_eq(h->routers[0]->priority, 42);
    ck_assert_uint_eq(h->n_services, 1);
    const Concord__Config__LoadBalancer *lb = h->services[0]->load_balancer;
    ck_assert_ptr_nonnull(lb);
    ck_assert_uint_eq(lb->n_servers, 2);
    ck_assert_str_eq(lb->servers[1]->url, "http://127.0.0.1:8082");
    ck_assert(lb->has_pass_host_header && !lb->pass_host_header);
    ck_assert_uint_eq(h->n_middlewares, 1);
    ck_assert_uint_eq(h->middlewares[0]->strip_prefix->n_prefixes, 2);
    ck_assert_str_eq(h->middlewares[0]->strip_prefix->prefixes[1], "/v1");
    decode_config_free(cfg);
    cfg = NULL;

    /* a bad value names the key in etcd's spelling, and refuses the whole set */
    ck_assert_int_eq(etcd_kvs_put(&m, "traefik/http/routers/Router0/priority", "high"), 0);
    for (size_t i = 0; i < m.n; i++) {
        kv[i].key = m.v[i].key;
        kv[i].value = m.v[i].value;
    }
    ck_assert_int_eq(labels_decode(kv, m.n, &o, &cfg, NULL, &d), -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "etcd: http.routers.Router0.priority"));
    ck_assert_ptr_null(cfg);

    /* zero keys under the root: an empty Config, so the routes go */
    ck_assert_int_eq(labels_decode(kv, 0, &o, &cfg, NULL, &d), 0);
    ck_assert_ptr_nonnull(cfg);
    ck_assert_uint_eq(cfg->http->n_routers, 0);
    decode_config_free(cfg);
    diags_fini(&d);
    etcd_kvs_fini(&m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("providers/etcd");
    TCase *tc = tcase_create("etcd");
    tcase_add_test(tc, range_answer);
    tcase_add_test(tc, watch_txn_put_and_delete_is_one_batch);
    tcase_add_test(tc, watch_compacted_and_canceled);
    tcase_add_test(tc, errors_are_clear);
    tcase_add_test(tc, error_text);
    tcase_add_test(tc, request_bodies);
    tcase_add_test(tc, stream_lines);
    tcase_add_test(tc, kvs_map);
    tcase_add_test(tc, traefik_kv_layout);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
