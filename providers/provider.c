/* The provider registry and what every provider shares: carrying the files a config names. */
#include "providers/provider.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/doc.h"

extern const struct provider_ops file_provider_ops;
extern const struct provider_ops http_provider_ops;
extern const struct provider_ops etcd_provider_ops;
extern const struct provider_ops docker_provider_ops;
extern const struct provider_ops kubernetes_crd_provider_ops;
extern const struct provider_ops kubernetes_ingress_provider_ops;

const struct provider_ops *const provider_registry[] = {
    &file_provider_ops,
    &docker_provider_ops,
    &http_provider_ops,
    &etcd_provider_ops,
    &kubernetes_crd_provider_ops,
    &kubernetes_ingress_provider_ops,
    NULL,
};

int provider_carry_files(const Concord__Config__Config *cfg, Concord__Raftlog__FileBlob ***out,
                         size_t *n, struct diags *d)
{
    const Concord__Config__HttpConfig *h = cfg ? cfg->http : NULL;
    *out = NULL;
    *n = 0;
    for (size_t i = 0; h != NULL && i < h->n_middlewares; i++) {
        const Concord__Config__Middleware *mw = h->middlewares[i];
        Concord__Raftlog__FileBlob *b, **grown;
        char *data = NULL;
        size_t len = 0;
        int rc;
        if (mw->kind_case != CONCORD__CONFIG__MIDDLEWARE__KIND_BASIC_AUTH ||
            mw->basic_auth == NULL || mw->basic_auth->users_file == NULL ||
            mw->basic_auth->users_file[0] == '\0') {
            continue;
        }
        rc = doc_read_file(mw->basic_auth->users_file, &data, &len);
        if (rc != 0) {
            /* every node's compile then says "the proposal did not carry it" */
            diags_add(d, DIAG_WARNING, "", 0, 0, "", "usersFile \"%s\": %s",
                      mw->basic_auth->users_file,
                      rc == -EFBIG ? "file too large" : strerror(-rc));
            continue;
        }
        b = calloc(1, sizeof *b);
        grown = realloc(*out, (*n + 1) * sizeof *grown);
        if (grown != NULL) {
            *out = grown;
        }
        if (b == NULL || grown == NULL) {
            free(b);
            free(data);
            return -ENOMEM;
        }
        concord__raftlog__file_blob__init(b);
        b->path = strdup(mw->basic_auth->users_file);
        b->content.data = (uint8_t *)data;
        b->content.len = len;
        (*out)[(*n)++] = b;
        if (b->path == NULL) {
            return -ENOMEM;
        }
    }
    return 0;
}

void provider_files_free(Concord__Raftlog__FileBlob **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i]->path);
        free(v[i]->content.data);
        free(v[i]);
    }
    free(v);
}
