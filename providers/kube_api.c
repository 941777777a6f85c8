/* Where the Kubernetes API server is: the `endpoint` key, a kubeconfig, or in-cluster; and how
 * to trust it (https: the CA, a client certificate, as each source gives them). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/base64.h"
#include "node/net/tls_client.h"
#include "providers/doc.h"
#include "providers/kube_watch.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* "http[s]://host[:port][/prefix]" into api->address, api->prefix and api->https.
 * Returns 0 or -EINVAL. */
static int split_server(const char *url, struct kube_api *api, struct err *e)
{
    const char *hp, *slash;
    size_t n;
    api->https = strncmp(url, "https://", 8) == 0;
    if (!api->https && strncmp(url, "http://", 7) != 0) {
        return err_set(e, -EINVAL, "API server \"%s\" (%s): expected http[s]://host[:port]",
                       url, api->source);
    }
    hp = url + (api->https ? 8 : 7);
    slash = strchr(hp, '/');
    n = slash ? (size_t)(slash - hp) : strlen(hp);
    if (n == 0 || n + 5 >= sizeof api->address) {
        return err_set(e, -EINVAL, "API server \"%s\": bad host", url);
    }
    memcpy(api->address, hp, n);
    api->address[n] = '\0';
    if (strrchr(api->address, ':') == NULL || api->address[n - 1] == ']') {
        strcat(api->address, api->https ? ":443" : ":80");
    }
    snprintf(api->prefix, sizeof api->prefix, "%s", slash ? slash : "");
    n = strlen(api->prefix);
    while (n > 0 && api->prefix[n - 1] == '/') {
        api->prefix[--n] = '\0';
    }
    return 0;
}

/* The TLS context of an https server (nothing for http). Returns 0 or tlsc_ctx_new's error. */
static int make_tls(struct kube_api *api, const struct tlsc_config *tc, struct err *e)
{
    struct err te = {0};
    int rc;
    if (!api->https) {
        return 0;
    }
    rc = tlsc_ctx_new(tc, &api->tls, &te);
    if (rc != 0) {
        return err_set(e, rc, "API server (%s): %s", api->source, te.msg);
    }
    return 0;
}

/* A kubeconfig *-data field: base64 of PEM text, decoded into a malloc'd string (*out); a
 * missing field leaves *out NULL. Returns 0 or -EINVAL. */
static int pem_data(const char *b64, const char *field, const char *path, char **out,
                    struct err *e)
{
    size_t n, len = 0;
    *out = NULL;
    if (b64 == NULL) {
        return 0;
    }
    n = strlen(b64);
    if ((*out = malloc(BASE64_DECODED_MAX(n) + 1)) == NULL) {
        return err_set(e, -ENOMEM, "out of memory");
    }
    if (base64_decode(b64, n, (uint8_t *)*out, &len) != 0) {
        free(*out);
        *out = NULL;
        return err_set(e, -EINVAL, "kubeconfig %s: %s is not base64", path, field);
    }
    (*out)[len] = '\0';
    return 0;
}

/* A kubeconfig path field, relative to the kubeconfig's folder, into out. */
static const char *rel_path(const char *kubeconfig, const char *p, char *out, size_t size)
{
    const char *slash = strrchr(kubeconfig, '/');
    if (p == NULL) {
        return NULL;
    }
    if (p[0] == '/' || slash == NULL) {
        snprintf(out, size, "%s", p);
    } else {
        snprintf(out, size, "%.*s/%s", (int)(slash - kubeconfig), kubeconfig, p);
    }
    return out;
}

/* The entry of list `key` (clusters, users, contexts) named `name`, its `sub` map. */
static const struct doc_node *named(const struct doc_node *root, const char *key, const char *name,
                                    const char *sub)
{
    const struct doc_node *l = doc_map_get(root, key);
    for (size_t i = 0; l != NULL && l->kind == DOC_SEQ && i < l->n; i++) {
        const struct doc_node *nm = doc_map_get(l->items[i], "name");
        if (nm != NULL && nm->kind == DOC_SCALAR && strcmp(nm->str, name) == 0) {
            return doc_map_get(l->items[i], sub);
        }
    }
    return NULL;
}

static const char *str_at(const struct doc_node *map, const char *key)
{
    const struct doc_node *v = doc_map_get(map, key);
    return v != NULL && v->kind == DOC_SCALAR && !doc_is_null(v) ? v->str : NULL;
}

static int from_kubeconfig(const char *path, struct kube_api *api, struct err *e)
{
    struct doc doc = {0};
    struct diags d;
    const struct doc_node *ctx = NULL, *cl, *user;
    const char *cur, *server, *tok, *tokfile;
    int rc;
    snprintf(api->source, sizeof api->source, "kubeconfig %.50s", path);
    diags_init(&d);
    rc = doc_load_file(&doc, path, 0, &d);
    if (rc != 0) {
        char first[300] = "does not parse";
        if (d.n > 0) {
            diag_format(&d.v[0], first, sizeof first);
        }
        diags_fini(&d);
        doc_fini(&doc);
        return err_set(e, -EINVAL, "kubeconfig %s: %s", path, first);
    }
    diags_fini(&d);
    cur = str_at(doc.root, "current-context");
    if (cur != NULL) {
        ctx = named(doc.root, "contexts", cur, "context");
    } else {
        const struct doc_node *l = doc_map_get(doc.root, "contexts");
        if (l != NULL && l->kind == DOC_SEQ && l->n == 1) {
            ctx = doc_map_get(l->items[0], "context");
        }
    }
    cl = str_at(ctx, "cluster") ? named(doc.root, "clusters", str_at(ctx, "cluster"), "cluster")
                                : NULL;
    user = str_at(ctx, "user") ? named(doc.root, "users", str_at(ctx, "user"), "user") : NULL;
    server = str_at(cl, "server");
    if (server == NULL) {
        doc_fini(&doc);
        return err_set(e, -EINVAL, "kubeconfig %s: no cluster.server for the current context",
                       path);
    }
    rc = split_server(server, api, e);
    tok = str_at(user, "token");
    tokfile = str_at(user, "tokenFile");
    if (tok != NULL) {
        snprintf(api->token, sizeof api->token, "%s", tok);
    } else if (tokfile != NULL) {
        snprintf(api->token_file, sizeof api->token_file, "%s", tokfile);
    }
    if (rc == 0 && api->https) {
        char ca[1024], cert[1024], key[1024];
        char *ca_pem = NULL, *cert_pem = NULL, *key_pem = NULL;
        const char *insecure = str_at(cl, "insecure-skip-tls-verify");
        struct tlsc_config tc = {
            .ca_file = rel_path(path, str_at(cl, "certificate-authority"), ca, sizeof ca),
            .cert_file = rel_path(path, str_at(user, "client-certificate"), cert, sizeof cert),
            .key_file = rel_path(path, str_at(user, "client-key"), key, sizeof key),
            .insecure_skip_verify = insecure != NULL && strcmp(insecure, "true") == 0};
        snprintf(api->server_name, sizeof api->server_name, "%s",
                 str_at(cl, "tls-server-name") ? str_at(cl, "tls-server-name") : "");
        rc = pem_data(str_at(cl, "certificate-authority-data"), "certificate-authority-data", path,
                      &ca_pem, e);
        if (rc == 0) {
            rc = pem_data(str_at(user, "client-certificate-data"), "client-certificate-data",
                          path, &cert_pem, e);
        }
        if (rc == 0) {
            rc = pem_data(str_at(user, "client-key-data"), "client-key-data", path, &key_pem, e);
        }
        tc.ca_pem = ca_pem;
        tc.cert_pem = cert_pem;
        tc.key_pem = key_pem;
        if (rc == 0) {
            rc = make_tls(api, &tc, e);
        }
        free(ca_pem);
        free(cert_pem);
        free(key_pem);
    }
    doc_fini(&doc);
    return rc;
}

void kube_api_fini(struct kube_api *api)
{
    tlsc_ctx_free(api->tls);
    api->tls = NULL;
}

int kube_api_resolve(const struct kube_provider_config *kc, struct kube_api *api, struct err *e)
{
    const char *kcfg = kc->kubeconfig ? kc->kubeconfig : getenv("KUBECONFIG");
    const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
    memset(api, 0, sizeof *api);
    if (kc->endpoint != NULL && kc->endpoint[0] != '\0') {
        struct tlsc_config tc = {.ca_file = kc->cert_auth_file};
        int rc;
        snprintf(api->source, sizeof api->source, "endpoint");
        if (kc->token != NULL) {
            snprintf(api->token, sizeof api->token, "%s", kc->token);
        }
        rc = split_server(kc->endpoint, api, e);
        return rc == 0 ? make_tls(api, &tc, e) : rc;
    }
    if (kcfg != NULL && kcfg[0] != '\0') {
        /* KUBECONFIG may list several files (":"); the first one is read. */
        char first[1024];
        snprintf(first, sizeof first, "%s", kcfg);
        first[strcspn(first, ":")] = '\0';
        return from_kubeconfig(first, api, e);
    }
    if (host != NULL && host[0] != '\0' && port != NULL) {
        char url[400];
        struct tlsc_config tc = {.ca_file = SA_DIR "/ca.crt"};
        int rc;
        snprintf(api->source, sizeof api->source, "in-cluster");
        snprintf(api->token_file, sizeof api->token_file, "%s/token", SA_DIR);
        /* the in-cluster API is https, its CA beside the token; IPv6 hosts in brackets */
        snprintf(url, sizeof url, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
                 port);
        rc = split_server(url, api, e);
        return rc == 0 ? make_tls(api, &tc, e) : rc;
    }
    return err_set(e, -EINVAL,
                   "no API server: set endpoint (e.g. https://10.0.0.1:6443, or "
                   "http://127.0.0.1:8001 for kubectl proxy), "
                   "kubeconfig or KUBECONFIG, or run in a cluster");
}
