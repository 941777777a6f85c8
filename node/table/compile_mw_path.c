/* Compiling the path middlewares: addPrefix (stripPrefix, replacePath and their regex forms
 * follow the same pattern). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "node/table/compile_mw.h"

static void add_prefix_free(void *p)
{
    struct mwc_add_prefix *a = p;
    free(a->prefix);
    free(a);
}

int mwc_add_prefix(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out)
{
    const Concord__Config__AddPrefix *in = m->add_prefix;
    const char *prefix = in && in->prefix ? in->prefix : "";
    struct mwc_add_prefix *a;
    /* Traefik requires a prefix ("prefix cannot be empty"); one without the leading slash
     * gets it, as Traefik's addPrefix does. */
    if (prefix[0] == '\0') {
        mwc_error(c, in ? in->mark : NULL, "prefix", "prefix must not be empty");
        return -EINVAL;
    }
    a = calloc(1, sizeof *a);
    if (a == NULL) {
        return -ENOMEM;
    }
    if (prefix[0] == '/') {
        a->prefix = strdup(prefix);
    } else if ((a->prefix = malloc(strlen(prefix) + 2)) != NULL) {
        a->prefix[0] = '/';
        strcpy(a->prefix + 1, prefix);
    }
    if (a->prefix == NULL) {
        free(a);
        return -ENOMEM;
    }
    out->conf = a;
    out->conf_free = add_prefix_free;
    return 0;
}
