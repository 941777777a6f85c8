/* Kubernetes objects decoded into the canonical Config (proto/config.proto): Traefik's
 * `kubernetesCRD` provider (namespace kubernetescrd) and `kubernetesIngress` provider (namespace
 * kubernetes). Pure decoding: the objects come already parsed (providers/doc.h; the API server's
 * JSON, or YAML), the provider keeps them from list+watch; no network, no lifecycle here.
 *
 * Input kinds: traefik.io/v1alpha1 IngressRoute, Middleware, TraefikService, ServersTransport;
 * networking.k8s.io/v1 Ingress, IngressClass; v1 Service; discovery.k8s.io/v1 EndpointSlice.
 * Other Traefik kinds (IngressRouteTCP/UDP, MiddlewareTCP, TLSOption, TLSStore,
 * ServersTransportTCP) are kept aside and reported as "recognised, not supported yet".
 *
 * Names, as Traefik's default ("legacy", safeNaming off) naming, N() being Traefik's
 * normalisation (every run of characters other than letters and digits becomes one "-"):
 *   IngressRoute route   N(<ns>-<name>-<h>), h = the first 20 hex digits of SHA-256(match): the
 *                        exact names Traefik gives (e.g. default-test-route-6b204d94623b3df4370c);
 *                        two routes of one object with the same match: the later replaces the
 *                        earlier (warning), as in Traefik.
 *   its service          one Kubernetes Service: a load balancer named as the router; one
 *                        TraefikService: that one; several: a weighted service named as the
 *                        router over N(<ns>-<svc>-<port>) / TraefikService names.
 *   Middleware, TraefikService, ServersTransport   N(<ns>-<name>); router references to
 *                        middlewares read `<ns>-<name>@kubernetescrd` (one written with "@" is
 *                        kept as is). A Middleware's spec is decoded by the dynamic decoder's
 *                        middleware schema (every type it knows), after the Kubernetes forms are
 *                        rewritten: chain.middlewares [{name, namespace}] as references above,
 *                        errors.service {name, port, ...} as a service N(<ns>-<name>)-errorpage-
 *                        service. Fields that need Secrets (basicAuth/digestAuth.secret,
 *                        forwardAuth.tls) are errors ("not supported yet").
 *   Kubernetes Service   N(<ns>-<svc>-<port as written>); the first reference's options win.
 *   Ingress path         N(<ns>-<name>-<host><path>) without a leading "-"; when two paths of
 *                        one Ingress share it, each gets "-<h>" with h as above over its rule.
 *   Ingress default backend  router "default-router" (PathPrefix(`/`), priority -2^31) and service
 *                        "default-backend", once (a second one is skipped with a warning).
 * Servers: a Service port (by number or name) is resolved through the EndpointSlices labelled
 * kubernetes.io/service-name=<svc> in its namespace: each ready endpoint address (conditions.ready
 * true or absent) with the slice port of the same name gives `<scheme>://<addr>:<port>` (IPv6 in
 * brackets, duplicates dropped). scheme: as given (http, https, h2c), else https when the Service
 * port is 443 or its name starts with "https", else http. ExternalName Services give their
 * externalName with the Service port (only when allowed). A Service with no ready endpoint gives
 * a load balancer with no servers (a warning; requests get 503).
 *
 * Errors: an object with an error (wrong type, missing field, unknown Service or port, bad
 * annotation, a cross-namespace reference not allowed) is skipped whole with DIAG_ERRORs whose
 * path reads "<Kind> <namespace>/<name>: <field>" (e.g. "IngressRoute default/web:
 * spec.routes[0].services[0].port"), at the field's mark; the other objects decode (Traefik's
 * behaviour). References between objects (a missing middleware) are left to table/compile.c.
 * Ownership: the caller owns the docs; struct kube_objs borrows their nodes; *out is the
 * caller's (decode_config_free). Threading: none.
 */
#ifndef CONCORD_PROVIDERS_KUBE_DECODE_H
#define CONCORD_PROVIDERS_KUBE_DECODE_H

#include <stdbool.h>
#include <stddef.h>

#include "node/base/diag.h"
#include "proto/config.pb-c.h"
#include "providers/doc.h"

enum kube_kind {
    KUBE_INGRESS_ROUTE,
    KUBE_MIDDLEWARE,
    KUBE_TRAEFIK_SERVICE,
    KUBE_SERVERS_TRANSPORT,
    KUBE_INGRESS,
    KUBE_INGRESS_CLASS,
    KUBE_SERVICE,
    KUBE_ENDPOINT_SLICE,
    KUBE_OTHER_TRAEFIK, /* recognised Traefik kinds not supported yet */
    KUBE_NKINDS,
};

/* Object roots (maps with apiVersion, kind, metadata, spec), one array per kind. */
struct kube_list {
    const struct doc_node **v;
    size_t n, cap;
};

struct kube_objs {
    struct kube_list k[KUBE_NKINDS];
};

/* Files the object under its kind. Returns the kind, or -EINVAL (reported) for a node that is
 * not a map with string apiVersion and kind, or a kind this module does not know (Secrets,
 * Pods, ... are not ours: such objects should not be given). */
int kube_objs_add(struct kube_objs *o, const struct doc_node *obj, struct diags *d);
void kube_objs_fini(struct kube_objs *o);

/* A YAML stream of several documents ("---"), each parsed on its own with doc_parse (marks keep
 * the line numbers of the whole text). For fixtures and files; the API gives single objects. */
struct kube_stream {
    struct doc *docs;
    size_t n;
};

/* Errors: -EINVAL (reported) when a document does not parse; s is then empty. */
int kube_stream_parse(struct kube_stream *s, const char *name, const char *text, size_t len,
                      struct diags *d);
/* Adds every non-empty document of s to o; returns the number of refused ones. */
size_t kube_stream_add_all(const struct kube_stream *s, struct kube_objs *o, struct diags *d);
void kube_stream_fini(struct kube_stream *s);

struct kube_crd_opts {
    bool allow_cross_namespace;        /* Traefik default false */
    bool allow_external_name_services; /* Traefik default false */
};

/* The kubernetescrd Config from IngressRoutes, Middlewares and TraefikServices (Services and
 * EndpointSlices give the servers). Always returns 0 with *out set (http allocated); errors
 * are in d (see above). */
int kube_decode_crd(const struct kube_objs *in, const struct kube_crd_opts *o,
                    Concord__Config__Config **out, struct diags *d);

struct kube_ingress_opts {
    /* Traefik's providers.kubernetesIngress.ingressClass. NULL or "": Ingresses with no class,
     * or annotation kubernetes.io/ingress.class "traefik", or spec.ingressClassName naming an
     * IngressClass whose spec.controller is traefik.io/ingress-controller. Set: the annotation
     * must equal it, or ingressClassName must name such an IngressClass of this name. */
    const char *ingress_class;
    bool allow_cross_namespace;
    bool allow_external_name_services;
};

/* The kubernetes (Ingress) Config. Annotations traefik.ingress.kubernetes.io/router.
 * {entrypoints, middlewares, priority, pathmatcher, rulesyntax} on the Ingress and service.
 * {serversscheme, serverstransport, passhostheader, sticky.cookie[.name|.secure|.httponly|
 * .samesite|.maxage|.path|.domain]} on the Service are decoded; router.tls keeps the router
 * TLS-only (as the file provider's `tls`) with the usual "not supported yet" warning; other
 * traefik.ingress.kubernetes.io/ annotations are warnings naming them. Returns 0, *out set. */
int kube_decode_ingress(const struct kube_objs *in, const struct kube_ingress_opts *o,
                        Concord__Config__Config **out, struct diags *d);

#endif
