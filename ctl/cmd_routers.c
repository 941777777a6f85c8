/* `proxyctl routers list`: the live routers of the first endpoint that answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/client.h"
#include "ctl/cmd.h"
#include "ctl/jsonv.h"
#include "ctl/output.h"

static const char routers_usage[] =
    "usage: proxyctl routers list [-o table|json|yaml]\n"
    "Lists the HTTP routers of the live table (GET /api/http/routers on the first endpoint of\n"
    "--endpoints that answers), disabled ones included with their errors. -o json|yaml prints\n"
    "the API's objects (Traefik's shape: name, provider, rule, service, entryPoints,\n"
    "middlewares, priority, status, error, using).\n"
    "exit codes: 0 done, 1 the endpoint answered with an error, 2 usage error or unreadable\n"
    "            token file, 3 no endpoint reachable or the token was refused\n";

#define RCOLS 6

static void print_routers(const struct jv *doc)
{
    size_t n = doc->t == JV_ARR ? doc->n : 0;
    const char **cells = calloc((n + 1) * RCOLS, sizeof *cells);
    char **owned = calloc(n + 1, sizeof *owned);
    static const char *const head[RCOLS] = {"NAME",    "STATUS",   "ENTRYPOINTS",
                                            "SERVICE", "PRIORITY", "RULE"};
    if (cells == NULL || owned == NULL) {
        free(cells);
        free(owned);
        return;
    }
    memcpy(cells, head, sizeof head);
    for (size_t i = 0; i < n; i++) {
        const struct jv *o = &doc->v[i], *prio = jv_get(o, "priority");
        const char **row = cells + (i + 1) * RCOLS;
        row[0] = jv_str(jv_get(o, "name"));
        row[1] = jv_str(jv_get(o, "status"));
        row[2] = owned[i] = jv_join(jv_get(o, "entryPoints"), ",");
        row[3] = jv_str(jv_get(o, "service"));
        row[4] = prio != NULL && prio->t == JV_NUM ? prio->s : NULL;
        row[5] = jv_str(jv_get(o, "rule"));
    }
    output_table(stdout, cells, n + 1, RCOLS);
    for (size_t i = 0; i < n; i++) {
        free(owned[i]);
    }
    free(owned);
    free(cells);
}

int cmd_routers_list(const struct ctl_globals *g, int argc, char **argv)
{
    return ctl_list(g, "proxyctl routers list", routers_usage, "/api/http/routers", argc, argv,
                    print_routers);
}
