/* The file provider on the provider contract: reads providers.file (a file or a directory),
 * emits it with the files it names, and again on every change when `watch` is set. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/decode.h"
#include "providers/file.h"
#include "providers/file_watch.h"
#include "providers/provider.h"

struct provider {
    const struct static_config *sc;
    provider_emit_fn emit;
    void *arg;
    struct file_watch *watch;
};

/* One load, one emission: a document that does not parse is an error emission (the node keeps
 * its previous contribution); otherwise the Config and its files. */
static void load_and_emit(struct provider *p)
{
    Concord__Config__Config *cfg = NULL;
    Concord__Raftlog__FileBlob **files = NULL;
    size_t nfiles = 0;
    struct diags d;
    char first[480] = "";
    int rc;
    diags_init(&d);
    rc = file_provider_load(&p->sc->file, &cfg, &d);
    if (rc != 0) {
        for (size_t i = 0; i < d.n && first[0] == '\0'; i++) {
            if (d.v[i].severity == DIAG_ERROR) {
                diag_format(&d.v[i], first, sizeof first);
            }
        }
        p->emit(p->arg, NULL, NULL, 0, first[0] ? first : "the document was refused", &d);
        diags_fini(&d);
        return;
    }
    if (cfg == NULL) {
        cfg = decode_config_new();
    }
    if (provider_carry_files(cfg, &files, &nfiles, &d) != 0) {
        provider_files_free(files, nfiles);
        decode_config_free(cfg);
        p->emit(p->arg, NULL, NULL, 0, "out of memory reading the files the config names", &d);
        diags_fini(&d);
        return;
    }
    p->emit(p->arg, cfg, files, nfiles, NULL, &d);
    diags_fini(&d);
}

static void on_change(void *arg)
{
    load_and_emit(arg);
}

static bool file_enabled(const struct static_config *sc)
{
    return sc->file.enabled;
}

static int file_start(uv_loop_t *loop, const struct static_config *sc, provider_emit_fn emit,
                      void *arg, struct provider **out, struct err *e)
{
    struct provider *p = calloc(1, sizeof *p);
    int rc;
    if (p == NULL) {
        return err_set(e, -ENOMEM, "out of memory");
    }
    p->sc = sc;
    p->emit = emit;
    p->arg = arg;
    load_and_emit(p);
    if (sc->file.watch) {
        rc = file_watch_start(loop, &sc->file, sc->providers_throttle_ms, on_change, p, &p->watch,
                              e);
        if (rc != 0) {
            free(p);
            return rc;
        }
    }
    *out = p;
    return 0;
}

static void file_stop(struct provider *p)
{
    if (p->watch != NULL) {
        file_watch_stop(p->watch);
    }
    free(p);
}

const struct provider_ops file_provider_ops = {
    .name = "file",
    .cluster_wide = false,
    .enabled = file_enabled,
    .start = file_start,
    .stop = file_stop,
};
