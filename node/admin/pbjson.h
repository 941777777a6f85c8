/* Configuration objects (proto) as JSON with Traefik's key names, for the admin API's
 * middleware and service bodies: proto field names become lowerCamelCase ("strip_prefix" ->
 * "stripPrefix", with Traefik's few irregular spellings such as "excludedIPs"); `mark` and the
 * `has_*` presence flags are not written; a repeated KV (custom headers) becomes an object of
 * name -> value. Like Traefik's omitempty, a field is written when it is set: non-zero,
 * non-empty, or its `has_<name>` flag is true; of a oneof, only the member that is set.
 *
 * Threading: none (pure). Errors: none (the writer remembers allocation failures).
 */
#ifndef CONCORD_ADMIN_PBJSON_H
#define CONCORD_ADMIN_PBJSON_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "node/admin/json.h"

/* Writes `m` as a JSON object (an empty one for NULL). */
void pbjson_message(struct jw *w, const ProtobufCMessage *m);
/* The same without the field `skip` (proto name, e.g. "name" for an object keyed by it). */
void pbjson_message_skip(struct jw *w, const ProtobufCMessage *m, const char *skip);

/* The Traefik key of a proto field name ("load_balancer" -> "loadBalancer") into buf. */
void pbjson_key(const char *proto_name, char *buf, size_t size);

/* The oneof member of `m` that is set (e.g. a Middleware's kind), or NULL; the member message
 * in *sub. */
const ProtobufCFieldDescriptor *pbjson_oneof_set(const ProtobufCMessage *m,
                                                 const ProtobufCMessage **sub);

#endif
