/* Traefik's kubernetesCRD provider (namespace kubernetescrd): IngressRoutes, Middlewares,
 * TraefikServices and ServersTransports with the Services and EndpointSlices they name, from
 * list+watch (kube_watch.h), decoded by kube_decode_crd. Cluster-wide: the leader runs it. */
#include "providers/kube_watch.h"

/* What this provider reads (deploy/kubernetes/rbac.yaml must grant it: a unit test checks). */
const struct kube_resource kube_crd_resources[] = {
    {"traefik.io", "v1alpha1", "ingressroutes", KUBE_INGRESS_ROUTE, true, true},
    {"traefik.io", "v1alpha1", "middlewares", KUBE_MIDDLEWARE, true, true},
    {"traefik.io", "v1alpha1", "traefikservices", KUBE_TRAEFIK_SERVICE, true, true},
    {"traefik.io", "v1alpha1", "serverstransports", KUBE_SERVERS_TRANSPORT, true, true},
    {"", "v1", "services", KUBE_SERVICE, true, false},
    {"discovery.k8s.io", "v1", "endpointslices", KUBE_ENDPOINT_SLICE, true, false},
};
const size_t kube_crd_nresources = sizeof kube_crd_resources / sizeof kube_crd_resources[0];

static int decode_crd(const struct kube_objs *in, const struct kube_provider_config *kc,
                      Concord__Config__Config **out, struct diags *d)
{
    struct kube_crd_opts o = {
        .allow_cross_namespace = kc->allow_cross_namespace,
        .allow_external_name_services = kc->allow_external_name_services,
    };
    return kube_decode_crd(in, &o, out, d);
}

static const struct kube_provider_def crd_def = {
    .res = kube_crd_resources,
    .nres = sizeof kube_crd_resources / sizeof kube_crd_resources[0],
    .decode = decode_crd,
};

static bool crd_enabled(const struct static_config *sc)
{
    return sc->kube_crd.enabled;
}

static int crd_start(uv_loop_t *loop, const struct static_config *sc, provider_emit_fn emit,
                     void *arg, struct provider **out, struct err *e)
{
    return kube_provider_start(&crd_def, &sc->kube_crd, loop, emit, arg, out, e);
}

const struct provider_ops kubernetes_crd_provider_ops = {
    .name = "kubernetescrd",
    .cluster_wide = true,
    .enabled = crd_enabled,
    .start = crd_start,
    .stop = kube_provider_stop,
};
