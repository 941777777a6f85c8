/* File provider, loading half: one YAML file, or a directory of them, decoded into one Config.
 *
 * A single file is one document: if it has an error it is refused whole (the caller keeps the
 * previous config). In directory mode each *.yml / *.yaml file (any letter case) is a document
 * of its own, read in name order (strcmp); a file with errors is skipped with a warning
 * "file skipped" after its errors, and the others are merged (DESIGN.md "Bad config": Traefik
 * drops the whole directory; Concord does not). A router or service defined in two files is an
 * error naming both; the first one (in name order) is kept. *.toml files in the directory are
 * reported as errors (TOML is not supported) and skipped. The directory is not read
 * recursively; hidden files (".name") and non-regular files are ignored.
 * Watching for changes comes later (libuv fs events); this module only loads.
 * Threading: none; call from the control thread.
 */
#ifndef CONCORD_PROVIDERS_FILE_H
#define CONCORD_PROVIDERS_FILE_H

#include "node/base/diag.h"
#include "proto/config.pb-c.h"
#include "providers/static_config.h"

/* Loads one file. Errors: as decode_dynamic_file (-EINVAL, -errno, -EFBIG; *out NULL). */
int file_provider_load_file(const char *path, Concord__Config__Config **out, struct diags *d);

/* Loads every YAML file of `dir`. Returns 0 with *out set even when files were skipped or
 * duplicates dropped (d->nerrors tells); -errno (reported, *out NULL) when the directory cannot
 * be listed. */
int file_provider_load_dir(const char *dir, Concord__Config__Config **out, struct diags *d);

/* Loads what the static config names: directory if set, else filename.
 * Errors: as the two above; -EINVAL when neither is set. */
int file_provider_load(const struct file_provider_config *fc, Concord__Config__Config **out,
                       struct diags *d);

#endif
