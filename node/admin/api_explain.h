/* `proxyctl route explain` against the live table: which router a request takes on this node
 * and why the others did not (the JSON of the offline command, plus "tableGeneration").
 * Threading: the control thread (node_view's rule). */
#ifndef CONCORD_ADMIN_API_EXPLAIN_H
#define CONCORD_ADMIN_API_EXPLAIN_H

#include <stddef.h>

#include "node/admin/json.h"
#include "node/node.h"

/* Writes the answer (or {"error"}) into w; returns the HTTP status (200, 400). The body format
 * is in api_explain.c. */
int api_explain(const struct node_view *v, const char *body, size_t len, struct jw *w);

#endif
