/* The objects the Traefik-compatible reads show, gathered from a node_view: every router,
 * service and middleware of the configuration (disabled ones included: they are not in the
 * table, only in the compile's diagnostics) and those the compiler made itself (x@internal),
 * each with its status, its diagnostics and who uses it. Rebuilt per request: cheap next to
 * JSON formatting, and never stale.
 *
 * Status (Traefik's): "disabled" when the table lacks the object (a compile error), "warning"
 * when it is live but has diagnostics, "enabled" otherwise. A diagnostic belongs to the object
 * whose key path it starts with ("http.routers.<name as written>...").
 *
 * Threading: the control thread (the view's rule). Errors: -ENOMEM.
 */
#ifndef CONCORD_ADMIN_API_MODEL_H
#define CONCORD_ADMIN_API_MODEL_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "node/node.h"

enum api_section { API_ROUTERS, API_SERVICES, API_MIDDLEWARES, API_NSECTIONS };
enum api_status { API_ENABLED, API_WARNING, API_DISABLED };

struct api_obj {
    char *name;                  /* "x@ns" */
    const char *provider;        /* after the '@' of name */
    const char *raw;             /* the config's key (diagnostic paths use it); NULL: none */
    const ProtobufCMessage *msg; /* Router, Service or Middleware of the config; NULL: the
                                    compiler made it (x@internal) */
    const void *compiled;        /* table_router (first copy), table_service or
                                    table_middleware; NULL: disabled */
    uint64_t eps;                /* routers: entry point bits of every compiled copy */
    enum api_status status;
    uint32_t *diags; /* indices into the view's diagnostics, in their order */
    uint32_t ndiags;
    const char **used_by; /* names of the routers, services and chains that reference it,
                             sorted, without repeats */
    uint32_t nused_by;
};

struct api_model {
    const struct node_view *v;
    struct api_obj *obj[API_NSECTIONS]; /* sorted by name */
    uint32_t n[API_NSECTIONS];
};

int api_model_build(const struct node_view *v, struct api_model *m);
void api_model_free(struct api_model *m);
/* NULL when unknown. */
const struct api_obj *api_model_find(const struct api_model *m, enum api_section s,
                                     const char *name);
/* A reference as written, qualified the way the compiler does: "x" -> "x@<provider>", "x@y"
 * stays. Writes into buf (truncated to size). */
const char *api_qualify(const char *ref, const char *provider, char *buf, size_t size);

#endif
