/* Unit tests of the Kubernetes providers' non-network parts: where the API server is
 * (kube_api_resolve: endpoint, kubeconfig, in-cluster) and the RBAC of deploy/kubernetes: every
 * (group, resource, verb) the providers' resource tables use is granted, with the right kinds. */
#include <errno.h>

#include "providers/kube_watch.h"
#include "providers/static_config.h"
#include "tests/unit/providers/helpers.h"

static struct kube_api api;
static struct err e;

static void clear_env(void)
{
    unsetenv("KUBECONFIG");
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
}

START_TEST(endpoint_with_prefix_and_token)
{
    struct kube_provider_config kc = {.endpoint = "http://127.0.0.1:8001/k8s/", .token = "t"};
    clear_env();
    ck_assert_int_eq(kube_api_resolve(&kc, &api, &e), 0);
    ck_assert_str_eq(api.address, "127.0.0.1:8001");
    ck_assert_str_eq(api.prefix, "/k8s");
    ck_assert_str_eq(api.token, "t");
    kc.endpoint = "http://localhost";
    ck_assert_int_eq(kube_api_resolve(&kc, &api, &e), 0);
    ck_assert_str_eq(api.address, "localhost:80");
    ck_assert_str_eq(api.prefix, "");
    /* https: the system's store, or certAuthFilePath (which must load) */
    kc.endpoint = "https://10.0.0.1:6443";
    ck_assert_int_eq(kube_api_resolve(&kc, &api, &e), 0);
    ck_assert(api.https && api.tls != NULL);
    ck_assert_str_eq(api.address, "10.0.0.1:6443");
    kube_api_fini(&api);
    kc.endpoint = "https://kube.test";
    kc.cert_auth_file = "/nonexistent/ca.crt";
    ck_assert_int_eq(kube_api_resolve(&kc, &api, &e), -EACCES);
    ck_assert_str_eq(api.address, "kube.test:443");
    ck_assert_msg(strstr(e.msg, "/nonexistent/ca.crt") != NULL, "%s", e.msg);
    kube_api_fini(&api);
    kc.endpoint = "ftp://x";
    ck_assert_int_eq(kube_api_resolve(&kc, &api, &e), -EINVAL);
}
END_TEST

START_TEST(kubeconfig_current_context)
{
    char *dir = make_tmpdir(), path[600];
    struct kube_provider_config kc = {0};
    clear_env();
    write_file(dir, "config",
               "apiVersion: v1\nkind: Config\ncurrent-context: b\n"
               "clusters:\n"
               "- name: ca\n  cluster: {server: 'http://127.0.0.1:1111'}\n"
               "- name: cb\n  cluster: {server: 'http://127.0.0.2:2222/p', "
               "insecure-skip-tls-verify: true}\n"
               "users:\n- name: ub\n  user: {token: secret-b}\n"
               "- name: uf\n  user: {tokenFile: /var/run/tok}\n"
               "contexts:\n- name: a\n  context: {cluster: ca, user: uf}\n"
               "- name: b\n  context: {cluster: cb, user: ub}\n");
    snprintf(path, sizeof path, "%s/config", dir);
    setenv("KUBECONFIG", path, 1);
    ck_assert_int_eq(kube_api_resolve(&kc, &api, &e), 0);
    ck_assert_str_eq(api.address, "127.0.0.2:2222");
    ck_assert_str_eq(api.prefix, "/p");
    ck_assert_str_eq(api.token, "secret-b");
    /* the key wins over the environment; a tokenFile is kept to be read per request */
    write_file(dir, "other",
               "current-context: a\nclusters:\n- name: ca\n  cluster: {server: "
               "'http://127.0.0.1:1111'}\nusers:\n- name: uf\n  user: {tokenFile: /var/run/tok}\n"
               "contexts:\n- name: a\n  context: {cluster: ca, user: uf}\n");
    snprintf(path, sizeof path, "%s/other", dir);
    kc.kubeconfig = path;
    ck_assert_int_eq(kube_api_resolve(&kc, &api, &e), 0);
    ck_assert_str_eq(api.address, "127.0.0.1:1111");
    ck_assert_str_eq(api.token, "");
    ck_assert_str_eq(api.token_file, "/var/run/tok");
    /* https: insecure-skip-tls-verify and tls-server-name are read; certificate-authority is
     * relative to the kubeconfig's folder; *-data must be base64 */
    write_file(dir, "tls",
               "current-context: a\nclusters:\n- name: c\n  cluster: {server: "
               "'https://10.0.0.1', insecure-skip-tls-verify: true, tls-server-name: k.test}\n"
               "contexts:\n- name: a\n  context: {cluster: c}\n");
    snprintf(path, sizeof path, "%s/tls", dir);
    ck_assert_int_eq(kube_api_resolve(&kc, &api, &e), 0);
    ck_assert(api.https && api.tls != NULL);
    ck_assert_str_eq(api.server_name, "k.test");
    kube_api_fini(&api);
    write_file(dir, "tls2",
               "current-context: a\nclusters:\n- name: c\n  cluster: {server: "
               "'https://10.0.0.1', certificate-authority: certs/ca.pem}\n"
               "contexts:\n- name: a\n  context: {cluster: c}\n");
    snprintf(path, sizeof path, "%s/tls2", dir);
    ck_assert_int_eq(kube_api_resolve(&kc, &api, &e), -EACCES);
    ck_assert_msg(strstr(e.msg, dir) != NULL && strstr(e.msg, "/certs/ca.pem") != NULL, "%s",
                  e.msg);
    kube_api_fini(&api);
    write_file(dir, "tls3",
               "current-context: a\nclusters:\n- name: c\n  cluster: {server: "
               "'https://10.0.0.1', certificate-authority-data: '!!'}\n"
               "contexts:\n- name: a\n  context: {cluster: c}\n");
    snprintf(path, sizeof path, "%s/tls3", dir);
    ck_assert_int_eq(kube_api_resolve(&kc, &api, &e), -EINVAL);
    ck_assert_msg(strstr(e.msg, "certificate-authority-data is not base64") != NULL, "%s", e.msg);
    kube_api_fini(&api);
    snprintf(path, sizeof path, "%s/missing", dir);
    ck_assert_int_eq(kube_api_resolve(&kc, &api, &e), -EINVAL);
    ck_assert(strstr(e.msg, "kubeconfig") != NULL);
    remove_tree(dir);
    free(dir);
    clear_env();
}
END_TEST

START_TEST(in_cluster_and_nothing)
{
    struct kube_provider_config kc = {0};
    clear_env();
    ck_assert_int_eq(kube_api_resolve(&kc, &api, &e), -EINVAL);
    ck_assert(strstr(e.msg, "no API server") != NULL);
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    /* https to the service IP, trusting the service account's ca.crt (absent here) */
    ck_assert_int_eq(kube_api_resolve(&kc, &api, &e), -EACCES);
    ck_assert_str_eq(api.address, "10.96.0.1:443");
    ck_assert_str_eq(api.token_file, "/var/run/secrets/kubernetes.io/serviceaccount/token");
    ck_assert_msg(strstr(e.msg, "in-cluster") != NULL &&
                      strstr(e.msg, "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt") != NULL,
                  "%s", e.msg);
    kube_api_fini(&api);
    clear_env();
}
END_TEST

/* ---- RBAC ---- */

static struct kube_stream rbac;
static struct diags d;

static void load_rbac(void)
{
    char path[1024], *text = NULL;
    size_t len = 0;
    const char *root = getenv("SRCROOT");
    ck_assert_msg(root != NULL, "SRCROOT is not set (run through meson test)");
    snprintf(path, sizeof path, "%s/deploy/kubernetes/rbac.yaml", root);
    ck_assert_int_eq(doc_read_file(path, &text, &len), 0);
    diags_init(&d);
    ck_assert_int_eq(kube_stream_parse(&rbac, path, text, len, &d), 0);
    free(text);
}

static const struct doc_node *find_kind(const char *api_version, const char *kind)
{
    for (size_t i = 0; i < rbac.n; i++) {
        const struct doc_node *r = rbac.docs[i].root, *av = doc_map_get(r, "apiVersion"),
                              *k = doc_map_get(r, "kind");
        if (av && k && strcmp(av->str, api_version) == 0 && strcmp(k->str, kind) == 0) {
            return r;
        }
    }
    return NULL;
}

static bool seq_has(const struct doc_node *seq, const char *s)
{
    for (size_t i = 0; seq != NULL && seq->kind == DOC_SEQ && i < seq->n; i++) {
        if (seq->items[i]->kind == DOC_SCALAR &&
            (strcmp(seq->items[i]->str, s) == 0 || strcmp(seq->items[i]->str, "*") == 0)) {
            return true;
        }
    }
    return false;
}

static bool granted(const struct doc_node *role, const char *group, const char *res,
                    const char *verb)
{
    const struct doc_node *rules = doc_map_get(role, "rules");
    for (size_t i = 0; rules != NULL && i < rules->n; i++) {
        const struct doc_node *r = rules->items[i];
        if (seq_has(doc_map_get(r, "apiGroups"), group) &&
            seq_has(doc_map_get(r, "resources"), res) && seq_has(doc_map_get(r, "verbs"), verb)) {
            return true;
        }
    }
    return false;
}

static const char *meta(const struct doc_node *o, const char *k)
{
    const struct doc_node *v = doc_map_get(doc_map_get(o, "metadata"), k);
    return v ? v->str : "";
}

START_TEST(rbac_grants_what_the_providers_use)
{
    static const char *verbs[] = KUBE_WATCH_VERBS;
    const struct doc_node *sa, *role, *bind, *ref, *subj;
    load_rbac();
    sa = find_kind("v1", "ServiceAccount");
    role = find_kind("rbac.authorization.k8s.io/v1", "ClusterRole");
    bind = find_kind("rbac.authorization.k8s.io/v1", "ClusterRoleBinding");
    ck_assert(sa && role && bind);
    for (size_t i = 0; i < kube_crd_nresources + kube_ingress_nresources; i++) {
        const struct kube_resource *r = i < kube_crd_nresources
                                            ? &kube_crd_resources[i]
                                            : &kube_ingress_resources[i - kube_crd_nresources];
        for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++) {
            ck_assert_msg(granted(role, r->group, r->plural, verbs[v]),
                          "rbac.yaml does not grant %s on %s (group \"%s\")", verbs[v], r->plural,
                          r->group);
        }
    }
    ck_assert(!granted(role, "", "secrets", "get")); /* Concord reads no Secret */
    ref = doc_map_get(bind, "roleRef");
    ck_assert_str_eq(doc_map_get(ref, "apiGroup")->str, "rbac.authorization.k8s.io");
    ck_assert_str_eq(doc_map_get(ref, "kind")->str, "ClusterRole");
    ck_assert_str_eq(doc_map_get(ref, "name")->str, meta(role, "name"));
    subj = doc_map_get(bind, "subjects")->items[0];
    ck_assert_str_eq(doc_map_get(subj, "kind")->str, "ServiceAccount");
    ck_assert_str_eq(doc_map_get(subj, "name")->str, meta(sa, "name"));
    ck_assert_str_eq(doc_map_get(subj, "namespace")->str, meta(sa, "namespace"));
    kube_stream_fini(&rbac);
    diags_fini(&d);
}
END_TEST

/* The sample deployment: its pods use the ServiceAccount, and its static config loads. */
START_TEST(sample_deployment)
{
    char path[1024], *text = NULL;
    size_t len = 0;
    const struct doc_node *ss, *cm, *spec;
    struct static_config sc;
    snprintf(path, sizeof path, "%s/deploy/kubernetes/proxyd.yaml", getenv("SRCROOT"));
    ck_assert_int_eq(doc_read_file(path, &text, &len), 0);
    diags_init(&d);
    ck_assert_int_eq(kube_stream_parse(&rbac, path, text, len, &d), 0);
    free(text);
    ss = find_kind("apps/v1", "StatefulSet");
    cm = find_kind("v1", "ConfigMap");
    ck_assert(ss && cm);
    spec = doc_map_get(doc_map_get(doc_map_get(ss, "spec"), "template"), "spec");
    ck_assert_str_eq(doc_map_get(spec, "serviceAccountName")->str, "concord");
    const struct doc_node *y = doc_map_get(doc_map_get(cm, "data"), "static.yaml");
    static_config_defaults(&sc);
    ck_assert_int_eq(static_config_load_string(&sc, "static.yaml", y->str, y->len, &d), 0);
    ck_assert_uint_eq(d.n, 0);
    ck_assert(sc.kube_crd.enabled && sc.kube_ingress.enabled);
    ck_assert_ptr_null(sc.kube_crd.endpoint); /* in-cluster */
    ck_assert_str_eq(sc.kube_ingress.ingress_class, "concord");
    static_config_fini(&sc);
    kube_stream_fini(&rbac);
    diags_fini(&d);
}
END_TEST

static Suite *kube_watch_suite(void)
{
    Suite *s = suite_create("providers/kube_watch");
    TCase *tc = tcase_create("kube_watch");
    tcase_add_test(tc, endpoint_with_prefix_and_token);
    tcase_add_test(tc, kubeconfig_current_context);
    tcase_add_test(tc, in_cluster_and_nothing);
    tcase_add_test(tc, rbac_grants_what_the_providers_use);
    tcase_add_test(tc, sample_deployment);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(kube_watch_suite());
}
