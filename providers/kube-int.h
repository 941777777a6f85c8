/* Internal to providers/kube_*.c: the decoding context, typed reads that name the object, and
 * the Service -> servers resolution both providers share. */
#ifndef CONCORD_PROVIDERS_KUBE_INT_H
#define CONCORD_PROVIDERS_KUBE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "providers/kube_decode.h"

typedef Concord__Config__Config Config;
typedef Concord__Config__HttpConfig HttpConfig;
typedef Concord__Config__Router Router;
typedef Concord__Config__Service Service;
typedef Concord__Config__LoadBalancer LoadBalancer;
typedef Concord__Config__Server Server;
typedef Concord__Config__Middleware Middleware;

#define KUBE_CRD_NS "kubernetescrd"

struct kctx {
    const struct kube_objs *in;
    struct diags *d;
    bool cross_ns, ext_name;
    /* the object being decoded */
    const struct doc_node *obj;
    const char *kind, *ns, *name;
    size_t errors_before;
    char where[320]; /* "IngressRoute default/web" */
    HttpConfig *h;   /* the object's own output, merged when it has no error */
};

/* Starts object `obj` of `kind`: reads metadata.name (required) and .namespace ("default" when
 * absent). Returns false after an error (the object is to be skipped). */
bool kube_begin(struct kctx *k, const struct doc_node *obj, const char *kind);
/* Ends it: merges k->h into dst when no error was reported since kube_begin, else drops it.
 * Routers replace same-named ones; services, middlewares and transports keep the first. */
void kube_end(struct kctx *k, Config *dst);
bool kube_failed(const struct kctx *k);

void kube_error(struct kctx *k, const struct doc_node *at, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void kube_warning(struct kctx *k, const struct doc_node *at, const char *field, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));

/* Typed reads of map[key]; `field` names it in diagnostics. NULL/false when absent (an error
 * too when `required`) or of the wrong type (an error). */
const char *kube_str(struct kctx *k, const struct doc_node *map, const char *key, const char *field,
                     bool required);
const struct doc_node *kube_map(struct kctx *k, const struct doc_node *map, const char *key,
                                const char *field);
const struct doc_node *kube_seq(struct kctx *k, const struct doc_node *map, const char *key,
                                const char *field);
/* 1 set, 0 absent, -1 error. */
int kube_int(struct kctx *k, const struct doc_node *map, const char *key, const char *field,
             int64_t min, int64_t max, int64_t *out);
int kube_bool(struct kctx *k, const struct doc_node *map, const char *key, const char *field,
              bool *out);

/* The objects of a kind sorted by namespace then name (a stable output whatever the watch
 * order); free the array. */
const struct doc_node **kube_sorted(const struct kube_objs *in, enum kube_kind kind, size_t *n);
const char *kube_meta(const struct doc_node *obj, const char *key); /* metadata.<key> or NULL */
const char *kube_annotation(const struct doc_node *obj, const char *key);
const struct doc_node *kube_find(const struct kube_objs *in, enum kube_kind kind, const char *ns,
                                 const char *name);

/* Traefik's provider.Normalize (malloc'd). */
char *kube_normalize(const char *s);
/* printf into a malloc'd string, then normalised. */
char *kube_nname(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The first 20 hex digits of SHA-256(s), into out[21]. */
void kube_hash20(const char *s, char out[21]);
char *kube_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

Router *kube_new_router(HttpConfig *h, char *name, const struct doc_node *at);
Service *kube_new_service(HttpConfig *h, char *name, const struct doc_node *at);
Service *kube_find_service(HttpConfig *h, const char *name);
LoadBalancer *kube_new_lb(Service *s, const struct doc_node *at);

/* The servers of port `port` (a number or a name, as written) of Service ns/svc into lb;
 * `scheme` NULL for the default rule. Errors (reported at `at`, `field`): unknown Service or
 * port, ExternalName not allowed, a bad scheme. */
bool kube_lb_servers(struct kctx *k, const char *ns, const char *svc, const char *port,
                     const char *scheme, const struct doc_node *at, const char *field,
                     LoadBalancer *lb);

/* kube_crd.c / kube_ingress.c entry points share these. */
void kube_ctx_init(struct kctx *k, const struct kube_objs *in, struct diags *d, bool cross_ns,
                   bool ext_name);

#endif
