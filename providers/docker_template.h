/* The Docker provider's defaultRule templates (Traefik's `defaultRule`, a Go template) rendered
 * for one container without a template engine. Supported actions: `{{ .Name }}` (the service
 * name), `{{ .ContainerName }}`, `{{ index .Labels "key" }}` (a missing label reads as ""), and
 * each of those inside `normalize` (`normalize X` or `normalize (X)`); the `{{-`/`-}}` trim
 * markers are accepted. Anything else is refused with a message naming the action.
 * Threading: none.
 */
#ifndef CONCORD_PROVIDERS_DOCKER_TEMPLATE_H
#define CONCORD_PROVIDERS_DOCKER_TEMPLATE_H

#include <stddef.h>

#include "providers/labels.h"

/* Traefik's normalize(): the runs of letters and digits of `s` joined by "-" (ASCII; other
 * bytes, UTF-8 included, are separators). Writes at most size-1 bytes. */
void docker_normalize(const char *s, char *out, size_t size);

/* Renders `tpl` for one container into out. Returns 0, or -EINVAL with the reason in msg (an
 * unsupported action, an unterminated "{{", a result longer than size-1). */
int docker_render_rule(const char *tpl, const char *name, const char *container_name,
                       const struct label_kv *labels, size_t nlabels, char *out, size_t size,
                       char *msg, size_t msize);

#endif
