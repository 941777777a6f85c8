/* `proxyctl leader transfer [ID]`: hands the leadership to another voter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/client.h"
#include "ctl/cmd.h"
#include "ctl/cmdline.h"
#include "ctl/output.h"

static const char leader_usage[] =
    "usage: proxyctl leader transfer [ID]\n"
    "Asks the leader to hand its role to voter ID (without ID, to the voter the leader finds\n"
    "most up to date) and prints `leader: ID` once the transfer completed\n"
    "(POST /api/cluster/leader/transfer; -o json|yaml: the API's answer).\n"
    "exit codes: 0 done, 1 refused (unknown or non-voter ID, no leader, transfer failed),\n"
    "            2 usage error or unreadable token file, 3 no endpoint reachable or token\n"
    "            refused\n";

int cmd_leader_transfer(const struct ctl_globals *g, int argc, char **argv)
{
    static const char who[] = "proxyctl leader transfer";
    const char *pos[1];
    char *body = NULL;
    size_t len = 0;
    struct ctl_req rq = {.method = "POST", .path = "/api/cluster/leader/transfer"};
    struct ctl_answer a;
    int npos, rc = ctl_args(who, leader_usage, argc, argv, NULL, 0, pos, 0, 1, &npos);
    if (rc != CTL_ARGS_OK) {
        return ctl_args_exit(rc);
    }
    if (npos == 1) {
        FILE *f = open_memstream(&body, &len);
        if (f == NULL) {
            fprintf(stderr, "%s: out of memory\n", who);
            return CTL_EXIT_USAGE;
        }
        fputs("{\"id\": ", f);
        output_quote(f, pos[0]);
        fputc('}', f);
        fclose(f);
        rq.body = body;
        rq.len = len;
    }
    rc = ctl_call(g, who, &rq, &a);
    if (rc == CTL_EXIT_OK && a.status != 200) {
        rc = ctl_refused(who, &a);
    } else if (rc == CTL_EXIT_OK && !ctl_print_doc(g, &a.doc)) {
        const char *l = jv_str(jv_get(&a.doc, "leader"));
        printf("leader: %s\n", l != NULL ? l : "none");
    }
    ctl_answer_fini(&a);
    free(body);
    return rc;
}
