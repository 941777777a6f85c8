/* File provider, watching half: libuv fs events on the folder that holds the file (editors and
 * config tools replace files by rename, which a watch on the file itself would lose) or on the
 * watched directory. Changes are coalesced: the callback runs at most once per `throttle_ms`
 * (Traefik's providersThrottleDuration), after the first change of a burst, and reads what is
 * there by then.
 *
 * Threading: the loop's thread. Ownership: file_watch_stop() closes the handles and frees the
 * watcher asynchronously; the callback never runs after it.
 * Errors: -errno from uv_fs_event_start (detail in `e`).
 */
#ifndef CONCORD_PROVIDERS_FILE_WATCH_H
#define CONCORD_PROVIDERS_FILE_WATCH_H

#include <stdint.h>
#include <uv.h>

#include "node/base/err.h"
#include "providers/static_config.h"

struct file_watch;

typedef void (*file_watch_cb)(void *arg);

int file_watch_start(uv_loop_t *loop, const struct file_provider_config *fc,
                     uint64_t throttle_ms, file_watch_cb cb, void *arg, struct file_watch **out,
                     struct err *e);

void file_watch_stop(struct file_watch *w);

#endif
