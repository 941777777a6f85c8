/* Where the Kubernetes API server is: the `endpoint` key, a kubeconfig, or in-cluster. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/doc.h"
#include "providers/kube_watch.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* "http://host[:port][/prefix]" into api->address and api->prefix. Returns 0 or -EINVAL. */
static int split_server(const char *url, struct kube_api *api, struct err *e)
{
    const char *hp, *slash;
    size_t n;
    if (strncmp(url, "https://", 8) == 0) {
        return err_set(e, -EINVAL,
                       "API server %s (%s): TLS to the API server is not supported yet; run "
                       "`kubectl proxy` beside proxyd and set endpoint: http://127.0.0.1:8001",
                       url, api->source);
    }
    if (strncmp(url, "http://", 7) != 0) {
        return err_set(e, -EINVAL, "API server \"%s\" (%s): expected http://host[:port]", url,
                       api->source);
    }
    hp = url + 7;
    slash = strchr(hp, '/');
    n = slash ? (size_t)(slash - hp) : strlen(hp);
    if (n == 0 || n + 4 >= sizeof api->address) {
        return err_set(e, -EINVAL, "API server \"%s\": bad host", url);
    }
    memcpy(api->address, hp, n);
    api->address[n] = '\0';
    if (strrchr(api->address, ':') == NULL || api->address[n - 1] == ']') {
        strcat(api->address, ":80");
    }
    snprintf(api->prefix, sizeof api->prefix, "%s", slash ? slash : "");
    n = strlen(api->prefix);
    while (n > 0 && api->prefix[n - 1] == '/') {
        api->prefix[--n] = '\0';
    }
    return 0;
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
    if (rc == 0 &&
        (str_at(user, "client-certificate") || str_at(user, "client-certificate-data"))) {
        rc = err_set(e, -EINVAL, "kubeconfig %s: client certificates need TLS, not supported yet",
                     path);
    }
    doc_fini(&doc);
    return rc;
}

int kube_api_resolve(const struct kube_provider_config *kc, struct kube_api *api, struct err *e)
{
    const char *kcfg = kc->kubeconfig ? kc->kubeconfig : getenv("KUBECONFIG");
    const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
    memset(api, 0, sizeof *api);
    if (kc->endpoint != NULL && kc->endpoint[0] != '\0') {
        snprintf(api->source, sizeof api->source, "endpoint");
        if (kc->token != NULL) {
            snprintf(api->token, sizeof api->token, "%s", kc->token);
        }
        return split_server(kc->endpoint, api, e);
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
        snprintf(api->source, sizeof api->source, "in-cluster");
        snprintf(api->token_file, sizeof api->token_file, "%s/token", SA_DIR);
        /* the in-cluster API is always https (CA at SA_DIR/ca.crt) */
        snprintf(url, sizeof url, "https://%s:%s", host, port);
        return split_server(url, api, e);
    }
    return err_set(e, -EINVAL,
                   "no API server: set endpoint (e.g. http://127.0.0.1:8001 for kubectl proxy), "
                   "kubeconfig or KUBECONFIG, or run in a cluster");
}
