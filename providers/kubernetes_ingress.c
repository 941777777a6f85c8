/* Traefik's kubernetesIngress provider (namespace kubernetes): networking.k8s.io/v1 Ingresses
 * and IngressClasses with the Services and EndpointSlices they name, from list+watch
 * (kube_watch.h), decoded by kube_decode_ingress. Cluster-wide: the leader runs it. */
#include "providers/kube_watch.h"

/* What this provider reads (deploy/kubernetes/rbac.yaml must grant it: a unit test checks). */
const struct kube_resource kube_ingress_resources[] = {
    {"networking.k8s.io", "v1", "ingresses", KUBE_INGRESS, true, true},
    {"networking.k8s.io", "v1", "ingressclasses", KUBE_INGRESS_CLASS, false, false},
    {"", "v1", "services", KUBE_SERVICE, true, false},
    {"discovery.k8s.io", "v1", "endpointslices", KUBE_ENDPOINT_SLICE, true, false},
};
const size_t kube_ingress_nresources =
    sizeof kube_ingress_resources / sizeof kube_ingress_resources[0];

static int decode_ingress(const struct kube_objs *in, const struct kube_provider_config *kc,
                          Concord__Config__Config **out, struct diags *d)
{
    struct kube_ingress_opts o = {
        .ingress_class = kc->ingress_class,
        .allow_cross_namespace = false, /* Traefik's Ingress provider has no such key */
        .allow_external_name_services = kc->allow_external_name_services,
    };
    return kube_decode_ingress(in, &o, out, d);
}

static const struct kube_provider_def ingress_def = {
    .res = kube_ingress_resources,
    .nres = sizeof kube_ingress_resources / sizeof kube_ingress_resources[0],
    .decode = decode_ingress,
};

static bool ingress_enabled(const struct static_config *sc)
{
    return sc->kube_ingress.enabled;
}

static int ingress_start(uv_loop_t *loop, const struct static_config *sc, provider_emit_fn emit,
                         void *arg, struct provider **out, struct err *e)
{
    return kube_provider_start(&ingress_def, &sc->kube_ingress, loop, emit, arg, out, e);
}

const struct provider_ops kubernetes_ingress_provider_ops = {
    .name = "kubernetes",
    .cluster_wide = true,
    .enabled = ingress_enabled,
    .start = ingress_start,
    .stop = kube_provider_stop,
};
