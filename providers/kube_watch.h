/* The live part of the Kubernetes providers (kubernetes_crd.c, kubernetes_ingress.c): where the
 * API server is (endpoint, kubeconfig, in-cluster), and list+watch of a set of resources kept in
 * stores, decoded into a Config (providers/kube_decode.h) and emitted after each change.
 *
 * Per resource (and per namespace when `namespaces` is set): GET the List (remember
 * metadata.resourceVersion), then GET ?watch=1&resourceVersion=RV&allowWatchBookmarks=true,
 * a stream of newline-delimited JSON events (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR). A watch
 * the server ends is restarted from the last resourceVersion; "410 Gone" (an ERROR event with a
 * Status of code 410, or HTTP 410) relists. Any other failure (connection refused, 5xx, 401/403,
 * a broken stream) emits an error (the last contribution stays) and relists after a backoff
 * (200 ms doubling to 5 s).
 *
 * Emissions are debounced (50 ms after the last change; node/sync.c throttles again) and only
 * made while every resource has been listed and none is failing: a partial view never withdraws
 * routes. An https API server is verified against the CA its source names (certAuthFilePath,
 * the kubeconfig's certificate-authority[-data], the service account's ca.crt) or the system's
 * store, with the kubeconfig's client certificate when it has one.
 * Threading: the control loop. Internal to providers/.
 */
#ifndef CONCORD_PROVIDERS_KUBE_WATCH_H
#define CONCORD_PROVIDERS_KUBE_WATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "node/base/err.h"
#include "providers/kube_decode.h"
#include "providers/provider.h"

struct tlsc_ctx;

/* One watched resource. The tables (kubernetes_crd.c, kubernetes_ingress.c) are the single list of
 * what the providers read: the RBAC test (tests/unit/providers/test_kube_watch.c) checks
 * deploy/kubernetes/rbac.yaml grants KUBE_WATCH_VERBS on each of them. */
struct kube_resource {
    const char *group;   /* "" for the core group */
    const char *version; /* "v1", "v1alpha1" */
    const char *plural;  /* "ingressroutes" */
    enum kube_kind kind;
    bool namespaced; /* false: cluster-scoped (IngressClass), one list whatever namespaces */
    bool selected;   /* the provider's labelSelector applies */
};

/* clang-format off */
#define KUBE_WATCH_VERBS {"list", "watch"}
/* clang-format on */

extern const struct kube_resource kube_crd_resources[];
extern const size_t kube_crd_nresources;
extern const struct kube_resource kube_ingress_resources[];
extern const size_t kube_ingress_nresources;

/* Where and how to reach the API server. */
struct kube_api {
    char address[256];     /* for fetch: "127.0.0.1:8001" */
    char prefix[512];      /* path before /api, /apis ("" or "/proxy/k8s") */
    char token[4096];      /* bearer token, "" for none */
    char token_file[1024]; /* re-read before each list (service-account tokens rotate) */
    char source[64];       /* "endpoint", "kubeconfig <path>", "in-cluster": for messages */
    bool https;
    struct tlsc_ctx *tls;  /* https: made by kube_api_resolve, freed by kube_api_fini */
    char server_name[256]; /* the kubeconfig's tls-server-name; "" = the server's host */
};

/* Resolves, in this order: `endpoint` (+ `token`); a kubeconfig (`kubeconfig` key, else the
 * KUBECONFIG environment variable: current-context's cluster.server and user.token/tokenFile);
 * in-cluster (KUBERNETES_SERVICE_HOST/PORT, the service-account token and CA). Returns 0, or
 * -EINVAL with e->msg (no server, an unreadable kubeconfig), or -EACCES (a CA or client
 * certificate that cannot be loaded). Free with kube_api_fini either way. */
int kube_api_resolve(const struct kube_provider_config *kc, struct kube_api *api, struct err *e);
void kube_api_fini(struct kube_api *api);

/* A provider built on list+watch: the two Kubernetes providers differ only by these. */
struct kube_provider_def {
    const struct kube_resource *res;
    size_t nres;
    /* Decodes the stores' objects (borrowed, valid during the call) into *out (decode.h rules). */
    int (*decode)(const struct kube_objs *in, const struct kube_provider_config *kc,
                  Concord__Config__Config **out, struct diags *d);
};

int kube_provider_start(const struct kube_provider_def *def, const struct kube_provider_config *kc,
                        uv_loop_t *loop, provider_emit_fn emit, void *arg, struct provider **out,
                        struct err *e);
void kube_provider_stop(struct provider *p);

#endif
