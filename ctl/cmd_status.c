/* `proxyctl status`: the cluster's leader, term and members as one endpoint sees them. */
#include <stdbool.h>
#include <stdio.h>

#include "ctl/client.h"
#include "ctl/cluster_view.h"
#include "ctl/cmd.h"
#include "ctl/cmdline.h"

static const char status_usage[] =
    "usage: proxyctl status [--stale] [-o table|json|yaml]\n"
    "Shows the cluster as the first endpoint of --endpoints that answers sees it\n"
    "(GET /api/cluster/status): the leader and term, then one row per member with its role,\n"
    "state, whether the answering node reached it, its applied and commit indexes, the\n"
    "generation of the routing table it serves and its addresses; then the providers that\n"
    "report an error. -o json|yaml prints the API's answer. --stale answers from the endpoint's\n"
    "local state without asking the leader (works while the cluster has no leader).\n"
    "exit codes: 0 done, 1 the endpoint answered with an error, 2 usage error or unreadable\n"
    "            token file, 3 no endpoint reachable (or none ready) or the token was refused\n";

int cmd_status(const struct ctl_globals *g, int argc, char **argv)
{
    static const char who[] = "proxyctl status";
    bool stale = false;
    const struct ctl_opt opts[] = {{.name = "--stale", .on = &stale}};
    const char *pos[1];
    struct ctl_req rq = {.method = "GET"};
    struct ctl_answer a;
    int npos, rc = ctl_args(who, status_usage, argc, argv, opts, 1, pos, 0, 0, &npos);
    if (rc != CTL_ARGS_OK) {
        return ctl_args_exit(rc);
    }
    rq.path = stale ? "/api/cluster/status?stale=true" : "/api/cluster/status";
    rc = ctl_call(g, who, &rq, &a);
    if (rc == CTL_EXIT_OK && a.status != 200) {
        rc = ctl_refused(who, &a);
    } else if (rc == CTL_EXIT_OK && !ctl_print_doc(g, &a.doc)) {
        cluster_print_status(stdout, &a.doc);
    }
    ctl_answer_fini(&a);
    return rc;
}
