/* `proxyctl services list`: the live services of the first endpoint that answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/client.h"
#include "ctl/cmd.h"
#include "ctl/jsonv.h"
#include "ctl/output.h"

static const char services_usage[] =
    "usage: proxyctl services list [-o table|json|yaml]\n"
    "Lists the HTTP services of the live table (GET /api/http/services on the first endpoint\n"
    "of --endpoints that answers), disabled ones included with their errors. The table's\n"
    "TARGETS: a loadBalancer's server URLs, a weighted service's children (name*weight), a\n"
    "mirroring's main service, a failover's service>fallback. -o json|yaml prints the API's\n"
    "objects (Traefik's shape: name, provider, type, loadBalancer|weighted|mirroring|failover,\n"
    "status, error, usedBy, serverStatus).\n"
    "exit codes: 0 done, 1 the endpoint answered with an error, 2 usage error or unreadable\n"
    "            token file, 3 no endpoint reachable or the token was refused\n";

#define SCOLS 5

static void append(char **s, size_t *len, const char *part)
{
    size_t n = strlen(part);
    char *ns = *s ? realloc(*s, *len + n + 1) : NULL;
    if (ns == NULL) {
        return;
    }
    memcpy(ns + *len, part, n + 1);
    *s = ns;
    *len += n;
}

/* The TARGETS cell of one service object (malloc'd). */
static char *targets(const struct jv *o)
{
    const struct jv *k;
    char *s = calloc(1, 1), num[32];
    size_t len = 0;
    if ((k = jv_get(o, "loadBalancer")) != NULL) {
        const struct jv *sv = jv_get(k, "servers");
        for (size_t i = 0; sv != NULL && sv->t == JV_ARR && i < sv->n; i++) {
            const char *u = jv_str(jv_get(&sv->v[i], "url"));
            append(&s, &len, i ? "," : "");
            append(&s, &len, u ? u : "?");
        }
    } else if ((k = jv_get(o, "weighted")) != NULL) {
        const struct jv *sv = jv_get(k, "services");
        for (size_t i = 0; sv != NULL && sv->t == JV_ARR && i < sv->n; i++) {
            const char *nm = jv_str(jv_get(&sv->v[i], "name"));
            const struct jv *w = jv_get(&sv->v[i], "weight");
            append(&s, &len, i ? "," : "");
            append(&s, &len, nm ? nm : "?");
            snprintf(num, sizeof num, "*%s", w != NULL && w->t == JV_NUM ? w->s : "1");
            append(&s, &len, num);
        }
    } else if ((k = jv_get(o, "mirroring")) != NULL) {
        const char *m = jv_str(jv_get(k, "service"));
        append(&s, &len, m ? m : "?");
    } else if ((k = jv_get(o, "failover")) != NULL) {
        const char *m = jv_str(jv_get(k, "service")), *f = jv_str(jv_get(k, "fallback"));
        append(&s, &len, m ? m : "?");
        append(&s, &len, ">");
        append(&s, &len, f ? f : "?");
    }
    return s;
}

static void print_services(const struct jv *doc)
{
    size_t n = doc->t == JV_ARR ? doc->n : 0;
    const char **cells = calloc((n + 1) * SCOLS, sizeof *cells);
    char **owned = calloc(2 * (n + 1), sizeof *owned);
    static const char *const head[SCOLS] = {"NAME", "STATUS", "TYPE", "USEDBY", "TARGETS"};
    if (cells == NULL || owned == NULL) {
        free(cells);
        free(owned);
        return;
    }
    memcpy(cells, head, sizeof head);
    for (size_t i = 0; i < n; i++) {
        const struct jv *o = &doc->v[i];
        const char **row = cells + (i + 1) * SCOLS;
        row[0] = jv_str(jv_get(o, "name"));
        row[1] = jv_str(jv_get(o, "status"));
        row[2] = jv_str(jv_get(o, "type"));
        row[3] = owned[2 * i] = jv_join(jv_get(o, "usedBy"), ",");
        row[4] = owned[2 * i + 1] = targets(o);
        if (row[3] != NULL && row[3][0] == '\0') {
            row[3] = NULL;
        }
    }
    output_table(stdout, cells, n + 1, SCOLS);
    for (size_t i = 0; i < 2 * n; i++) {
        free(owned[i]);
    }
    free(owned);
    free(cells);
}

int cmd_services_list(const struct ctl_globals *g, int argc, char **argv)
{
    return ctl_list(g, "proxyctl services list", services_usage, "/api/http/services", argc, argv,
                    print_services);
}
