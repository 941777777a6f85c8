/* Watching the file provider's source and coalescing bursts of changes. */
#include "providers/file_watch.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

struct file_watch {
    uv_fs_event_t ev;
    uv_timer_t timer;
    char *name; /* the file's base name in filename mode; NULL: any file in the directory */
    uint64_t throttle_ms;
    file_watch_cb cb;
    void *arg;
    int handles;
    bool stopped;
};

static void on_closed(uv_handle_t *h)
{
    struct file_watch *w = h->data;
    if (--w->handles == 0) {
        free(w->name);
        free(w);
    }
}

static void on_timer(uv_timer_t *t)
{
    struct file_watch *w = t->data;
    if (!w->stopped) {
        w->cb(w->arg);
    }
}

static void on_event(uv_fs_event_t *ev, const char *filename, int events, int status)
{
    struct file_watch *w = ev->data;
    (void)events;
    if (w->stopped || status < 0) {
        return;
    }
    /* In filename mode only our file matters; an event without a name may be ours. */
    if (w->name != NULL && filename != NULL && strcmp(filename, w->name) != 0) {
        return;
    }
    if (!uv_is_active((uv_handle_t *)&w->timer)) {
        uv_timer_start(&w->timer, on_timer, w->throttle_ms, 0);
    }
}

int file_watch_start(uv_loop_t *loop, const struct file_provider_config *fc,
                     uint64_t throttle_ms, file_watch_cb cb, void *arg, struct file_watch **out,
                     struct err *e)
{
    struct file_watch *w = calloc(1, sizeof *w);
    char *copy = NULL;
    const char *dir;
    int rc;
    if (w == NULL) {
        return err_set(e, -ENOMEM, "out of memory");
    }
    if (fc->directory != NULL) {
        dir = fc->directory;
    } else {
        copy = strdup(fc->filename);
        w->name = strdup(fc->filename);
        if (copy == NULL || w->name == NULL) {
            free(copy);
            free(w->name);
            free(w);
            return err_set(e, -ENOMEM, "out of memory");
        }
        dir = dirname(copy);
        char *base = strdup(basename(w->name));
        free(w->name);
        w->name = base;
    }
    w->throttle_ms = throttle_ms;
    w->cb = cb;
    w->arg = arg;
    uv_fs_event_init(loop, &w->ev);
    uv_timer_init(loop, &w->timer);
    w->ev.data = w->timer.data = w;
    w->handles = 2;
    rc = uv_fs_event_start(&w->ev, on_event, dir, 0);
    if (rc != 0) {
        err_set(e, rc, "watching %s: %s", dir, uv_strerror(rc));
        free(copy);
        file_watch_stop(w);
        return rc;
    }
    free(copy);
    *out = w;
    return 0;
}

void file_watch_stop(struct file_watch *w)
{
    if (w->stopped) {
        return;
    }
    w->stopped = true;
    uv_close((uv_handle_t *)&w->ev, on_closed);
    uv_close((uv_handle_t *)&w->timer, on_closed);
}
