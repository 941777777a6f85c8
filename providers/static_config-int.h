/* Internal to providers/static_config.c and static_providers.c: the helpers both use. */
#ifndef CONCORD_PROVIDERS_STATIC_CONFIG_INT_H
#define CONCORD_PROVIDERS_STATIC_CONFIG_INT_H

#include <stddef.h>

#include "providers/schema.h"
#include "providers/static_config.h"

/* Out of memory aborts: a static config is read once, at start. */
char *sc_xstrdup(const char *s);
void *sc_xgrow(void *p, size_t n);
void sc_set_str(char **field, const char *s);
/* A row's path, relative to the YAML file's folder (r->off locates the char *). */
void sc_d_path(struct schema_ctx *c, const struct doc_node *v, void *obj,
               const struct schema_row *r);

/* providers.*: its rows, defaults and fini (static_providers.c). */
extern const struct schema_row static_providers_rows[];
void static_providers_defaults(struct static_config *c);
void static_providers_fini(struct static_config *c);

#endif
