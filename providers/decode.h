/* Traefik dynamic configuration (the http/tcp/udp/tls YAML a file provider reads) decoded into
 * the canonical Config message (proto/config.proto).
 *
 * Decoding is table-driven (providers/schema.h); keys match case-insensitively, as in Traefik.
 * Decoded now: http.routers.<n>.{rule, ruleSyntax, priority, entryPoints, middlewares, service}
 * and http.services.<n>.loadBalancer.{servers[].{url, weight}, passHostHeader,
 * serversTransport}. Every message gets a Mark (file:line:col of its key, or of the list item
 * for a server). Every other Traefik dynamic key is recognised and reported as a warning
 * "recognised Traefik key, not supported yet" naming the object (http.middlewares.<n>.<type>,
 * tcp.routers.<n>, http.routers.<n>.tls, ...); keys inside such objects are still checked.
 * A service of a kind not implemented yet (weighted, mirroring, failover, highestRandomWeight)
 * is kept, by name, with no kind set, so that routers naming it resolve and table/compile.c can
 * disable it with its own error.
 *
 * Bad config: a YAML error, an unknown key, a wrong type ("abc" for an int, a map for a string)
 * or a service with two kinds refuses the document whole. Values are not checked for meaning
 * (a bad rule, a bad URL, a dangling reference): that is table/compile.c's job.
 * Ownership: *out belongs to the caller; free it with decode_config_free.
 * Threading: none.
 */
#ifndef CONCORD_PROVIDERS_DECODE_H
#define CONCORD_PROVIDERS_DECODE_H

#include <stddef.h>

#include "node/base/diag.h"
#include "proto/config.pb-c.h"
#include "providers/doc.h"

/* Decodes a parsed document (root may be NULL: an empty Config). *out always has its http
 * message allocated on success.
 * Errors: -EINVAL (with at least one DIAG_ERROR in d; *out is NULL). Warnings never refuse. */
int decode_dynamic(const struct doc_node *root, Concord__Config__Config **out, struct diags *d);

/* Parses and decodes a YAML (or JSON) text; `name` names it in diagnostics. Go templates are a
 * file-provider matter, so "{{" is not checked here.
 * Errors: -EINVAL as doc_parse and decode_dynamic. */
int decode_dynamic_string(const char *name, const char *yaml, size_t len,
                          Concord__Config__Config **out, struct diags *d);

/* Reads, parses and decodes one file, refusing Go templates ("{{") and *.toml names.
 * Errors: -errno when unreadable, -EFBIG, -EINVAL (TOML, Go template, YAML, or decoding errors);
 * each is also reported in d. */
int decode_dynamic_file(const char *path, Concord__Config__Config **out, struct diags *d);

/* An empty Config (http allocated), for callers that merge several. Allocation failure aborts. */
Concord__Config__Config *decode_config_new(void);

/* Frees every `mark` (the source position of an object) below m, so that two objects from
 * different sources compare equal when only their origin differs (the Docker provider's merge
 * of containers, tests). */
void decode_strip_marks(ProtobufCMessage *m);

/* Frees a Config built by this module (NULL is fine). */
void decode_config_free(Concord__Config__Config *cfg);

enum decode_doc_kind {
    DECODE_DOC_EMPTY,   /* null or an empty map */
    DECODE_DOC_STATIC,  /* entryPoints, providers, admin, cluster, ... */
    DECODE_DOC_DYNAMIC, /* http, tcp, udp, tls */
};

/* Tells a static from a dynamic document by its top-level keys, for `proxyctl check`.
 * Returns an enum decode_doc_kind, or -EINVAL (reported) when the top level is not a map,
 * mixes static and dynamic keys, or has no key of either kind. */
int decode_document_kind(const struct doc_node *root, struct diags *d);

#endif
