/* etcd v3 JSON gateway messages, without I/O: the request bodies the etcd provider sends
 * (/v3/auth/authenticate, /v3/kv/range, /v3/watch), the answers it reads, the in-memory copy of
 * the keys under the root that watch events update, and the splitting of the watch stream into
 * its JSON objects.
 *
 * The gateway's JSON (grpc-gateway, etcd 3.4): keys and values are base64 (protobuf `bytes`),
 * 64-bit integers are strings ("revision": "12"), fields at their default are left out (an
 * empty range has no "kvs", a PUT event has no "type"). A watch stream is one JSON object per
 * line: {"result": {"header": {...}, "created": true}} first, then one object per batch of
 * events ({"result": {"header": {"revision": R}, "events": [...]}}); every event of one
 * revision (a transaction) is in one batch, which is what lets the provider emit a multi-key
 * change once. A compacted start revision gives {"result": {"canceled": true,
 * "compact_revision": C}}; a gateway error inside the stream is {"error": {"message": ...}}.
 *
 * JSON is read with the YAML parser (providers/doc.h): JSON is YAML's flow style.
 * Errors: every parse function returns 0 or -EINVAL (not JSON, not the expected shape, bad
 * base64, a NUL byte in a key or value) with e->msg saying which, or -ENOMEM.
 * Ownership: every string in the structs below is malloc'd and owned by the struct; free with
 * the matching _fini. Threading: none.
 */
#ifndef CONCORD_PROVIDERS_ETCD_DECODE_H
#define CONCORD_PROVIDERS_ETCD_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/base/err.h"

struct etcd_kv {
    char *key;
    char *value;
};

/* Keys sorted by strcmp, each once: the state of the watched range. */
struct etcd_kvs {
    struct etcd_kv *v;
    size_t n, cap;
};

/* Sets (copies) key = value. Returns 0 or -ENOMEM. */
int etcd_kvs_put(struct etcd_kvs *m, const char *key, const char *value);
/* Removes key if present. */
void etcd_kvs_del(struct etcd_kvs *m, const char *key);
/* The value of key, or NULL. */
const char *etcd_kvs_get(const struct etcd_kvs *m, const char *key);
void etcd_kvs_fini(struct etcd_kvs *m);

/* --- requests (malloc'd NUL-terminated JSON, NULL when out of memory) --- */

/* {"key": b64(prefix), "range_end": b64(prefix end)}: every key that starts with prefix. */
char *etcd_range_body(const char *prefix);
/* The same range with "count_only": a cheap read that shows etcd answers. */
char *etcd_count_body(const char *prefix);
/* {"create_request": {"key", "range_end", "start_revision": "<rev>"}} for the same range. */
char *etcd_watch_body(const char *prefix, int64_t start_revision);
/* {"name": user, "password": pass}, strings escaped as JSON requires. */
char *etcd_auth_body(const char *user, const char *password);

/* The range_end that makes [prefix, end) the keys starting with prefix: prefix with its last
 * byte below 0xff incremented and what follows dropped; "\0" (every key) when all are 0xff.
 * Writes at most strlen(prefix) + 1 bytes plus a NUL into out; returns its length. */
size_t etcd_prefix_end(const char *prefix, char *out);

/* --- answers --- */

/* A /v3/kv/range answer: every pair (replacing what `kvs` held) and header.revision. */
int etcd_parse_range(const char *json, size_t len, struct etcd_kvs *kvs, int64_t *revision,
                     struct err *e);

enum etcd_event_type { ETCD_EVENT_PUT, ETCD_EVENT_DELETE };

struct etcd_event {
    enum etcd_event_type type;
    char *key;
    char *value; /* "" for a DELETE */
};

/* One object of a /v3/watch stream. */
struct etcd_watch_msg {
    int64_t revision; /* header.revision (0 when absent) */
    bool created;
    bool canceled;
    int64_t compact_revision; /* > 0: the start revision was compacted; read the range again */
    char *cancel_reason;      /* NULL when none */
    struct etcd_event *events;
    size_t n_events;
};

/* Parses one watch object. {"error": {...}} (a gateway error in the stream) is -EPROTO with
 * its message in e. */
int etcd_parse_watch(const char *json, size_t len, struct etcd_watch_msg *out, struct err *e);
void etcd_watch_msg_fini(struct etcd_watch_msg *w);

/* Applies a batch of events to kvs in order. Returns the number of keys it changed (a PUT of
 * the same value and a DELETE of an absent key change nothing), or -ENOMEM. */
int etcd_apply_events(struct etcd_kvs *kvs, const struct etcd_watch_msg *w);

/* The token of a /v3/auth/authenticate answer (malloc'd into *token). */
int etcd_parse_auth(const char *json, size_t len, char **token, struct err *e);

/* The message of an error answer ({"error": "...", "message": "...", "code": N} or
 * {"error": {"message": ...}}), or the body's start when it is not one, into buf. */
void etcd_error_text(const char *body, size_t len, char *buf, size_t size);

/* --- the watch stream --- */

/* Bytes of a stream split into lines (one JSON object each), at most `max` bytes buffered. */
struct etcd_lines {
    char *buf;
    size_t len, start, cap, max;
};

/* Appends data. Returns 0, -EMSGSIZE when an unfinished line would exceed max, or -ENOMEM. */
int etcd_lines_append(struct etcd_lines *l, const uint8_t *data, size_t len);
/* The next complete line (without its "\n", NUL-terminated, valid until the next call), or
 * NULL when none is complete. Empty lines are skipped. */
const char *etcd_lines_next(struct etcd_lines *l, size_t *len);
void etcd_lines_reset(struct etcd_lines *l);
void etcd_lines_fini(struct etcd_lines *l);

#endif
