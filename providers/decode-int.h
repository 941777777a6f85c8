/* Internal to providers/decode*.c: the helpers and tables the dynamic decoder's files share. */
#ifndef CONCORD_PROVIDERS_DECODE_INT_H
#define CONCORD_PROVIDERS_DECODE_INT_H

#include <stddef.h>

#include "proto/config.pb-c.h"
#include "providers/schema.h"

#define FIELD(type, obj, r) ((type *)(void *)((char *)(obj) + (r)->off))
#define FIELD2(type, obj, r) ((type *)(void *)((char *)(obj) + (r)->off2))

/* clang-format off */
#define P_FIELD(k, fn_, type, field) {.key = (k), .fn = (fn_), .off = offsetof(type, field)}
#define P_PAIR(k, fn_, type, field, field2)                                                      \
    {.key = (k), .fn = (fn_), .off = offsetof(type, field), .off2 = offsetof(type, field2)}
/* A nested message at `field` (a pointer), decoded with spec (struct msg_spec *). */
#define P_MSG(k, type, field, spec)                                                              \
    {.key = (k), .fn = p_msg, .off = offsetof(type, field), .arg = (spec)}
/* clang-format on */

/* Allocation failures abort: a decoder has no useful way on without memory. */
void *xmalloc(size_t n);
char *xstrdup(const char *s);
/* Appends one slot to a protobuf-c repeated field (count *n). */
void *append(void *arr, size_t *n, size_t elem_size);
Concord__Config__Mark *new_mark(const struct doc_node *n);

/* How to decode one nested message: its descriptor and rows. A `mark` field, when the message
 * has one, is set to the key's position. For a oneof member, case_off/case_val set the case. */
struct msg_spec {
    const ProtobufCMessageDescriptor *desc;
    const struct schema_row *rows;
    size_t case_off; /* 0: not a oneof member */
    int case_val;
};

/* Typed handlers for protobuf-c fields at r->off (and r->off2 for a has_ flag or a count). */
void p_str(struct schema_ctx *c, const struct doc_node *v, void *obj, const struct schema_row *r);
void p_str_has(struct schema_ctx *c, const struct doc_node *v, void *obj,
               const struct schema_row *r);
void p_i64(struct schema_ctx *c, const struct doc_node *v, void *obj, const struct schema_row *r);
void p_i32(struct schema_ctx *c, const struct doc_node *v, void *obj, const struct schema_row *r);
void p_i32_has(struct schema_ctx *c, const struct doc_node *v, void *obj,
               const struct schema_row *r);
void p_i64_has(struct schema_ctx *c, const struct doc_node *v, void *obj,
               const struct schema_row *r);
void p_bool(struct schema_ctx *c, const struct doc_node *v, void *obj, const struct schema_row *r);
void p_bool_has(struct schema_ctx *c, const struct doc_node *v, void *obj,
                const struct schema_row *r);
void p_strlist(struct schema_ctx *c, const struct doc_node *v, void *obj,
               const struct schema_row *r);
/* A map of names to strings into a repeated KV at off (count at off2), in file order. */
void p_kvmap(struct schema_ctx *c, const struct doc_node *v, void *obj,
             const struct schema_row *r);
/* A nested message (r->arg: struct msg_spec), allocated at off. */
void p_msg(struct schema_ctx *c, const struct doc_node *v, void *obj, const struct schema_row *r);

/* Which keys of `rows` are present in the map `value`: false (after an error at `name`,
 * "<rule>, this one has A and B") when more than one is. For objects with one kind. */
bool decode_one_of(struct schema_ctx *c, const struct doc_node *name,
                   const struct doc_node *value, const struct schema_row *rows, const char *rule);

/* decode_mw.c: http.middlewares, http.serversTransports and the service parts beyond a plain
 * load balancer. */
void decode_http_middlewares(struct schema_ctx *c, const struct doc_node *v, void *obj,
                             const struct schema_row *r);
void decode_http_servers_transports(struct schema_ctx *c, const struct doc_node *v, void *obj,
                                    const struct schema_row *r);
/* One middleware `name` (its str is the object's name, its marks the key's) from the map
 * `value`, appended to the HttpConfig obj; errors at c->path. Used by schema_each above and by
 * providers/kube_crd.c for a Middleware object's spec. */
void decode_one_middleware(struct schema_ctx *c, const struct doc_node *name,
                           const struct doc_node *value, void *obj);
/* The same for one http.serversTransports entry (and a ServersTransport object's spec). */
void decode_one_transport(struct schema_ctx *c, const struct doc_node *name,
                          const struct doc_node *value, void *obj);
extern const struct msg_spec decode_sticky_spec;
extern const struct msg_spec decode_response_forwarding_spec;
extern const struct msg_spec decode_weighted_spec;
extern const struct msg_spec decode_mirroring_spec;
extern const struct msg_spec decode_failover_spec;

#endif
