/* `proxyctl member list|add|remove|promote|demote`: the cluster's membership. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/client.h"
#include "ctl/cluster_view.h"
#include "ctl/cmd.h"
#include "ctl/cmdline.h"
#include "ctl/output.h"

static const char member_usage[] =
    "usage: proxyctl member list\n"
    "       proxyctl member add ID RAFT_ADDR ADMIN_ADDR [--role voter|standby|spare]\n"
    "       proxyctl member remove ID\n"
    "       proxyctl member promote ID\n"
    "       proxyctl member demote ID [--role spare|standby]\n"
    "list: the members (ID ROLE RAFT ADMIN VERSION; -o json|yaml: the API's answer).\n"
    "add: adds a node that was started with --join or an empty data dir; the answer comes once\n"
    "  it has caught up and holds its role (default voter). remove: demotes, then removes a\n"
    "  member; its contributions to the config are deleted. promote: to voter. demote: to\n"
    "  spare (default) or standby. Writes go to the leader (a follower forwards them).\n"
    "exit codes: 0 done, 1 refused (unknown member, bad address, no leader...), 2 usage\n"
    "            error or unreadable token file, 3 no endpoint reachable or token refused\n";

/* One write whose answer is printed as "VERB member ID" (then " (ROLE)" for add, " to ROLE" for
 * promote and demote: the answer's member.role, else `role`), or with -o json|yaml as the
 * API's answer. */
static int member_write(const struct ctl_globals *g, const char *who, const char *method,
                        const char *path, const char *body, const char *verb, const char *id,
                        const char *role)
{
    struct ctl_req rq = {
        .method = method, .path = path, .body = body, .len = body != NULL ? strlen(body) : 0};
    struct ctl_answer a;
    int rc = ctl_call(g, who, &rq, &a);
    if (rc == CTL_EXIT_OK && a.status != 200) {
        rc = ctl_refused(who, &a);
    } else if (rc == CTL_EXIT_OK && !ctl_print_doc(g, &a.doc)) {
        const char *got = jv_str(jv_get(jv_get(&a.doc, "member"), "role"));
        got = got != NULL ? got : role != NULL ? role : "?";
        printf("%s member %s", verb, id);
        if (strcmp(verb, "added") == 0) {
            printf(" (%s)", got);
        } else if (strcmp(verb, "removed") != 0) {
            printf(" to %s", got);
        }
        fputc('\n', stdout);
    }
    ctl_answer_fini(&a);
    return rc;
}

/* "/api/cluster/members/ID" + suffix into buf; CTL_EXIT_USAGE (printed) when too long. */
static int member_path(const char *who, char *buf, size_t size, const char *id, const char *suffix)
{
    snprintf(buf, size, "/api/cluster/members/");
    if (ctl_escape(buf, size, id) != 0 || strlen(buf) + strlen(suffix) >= size) {
        fprintf(stderr, "%s: member id too long\n", who);
        return CTL_EXIT_USAGE;
    }
    strcat(buf, suffix);
    return CTL_EXIT_OK;
}

static bool role_ok(const char *role, bool voter_allowed)
{
    return strcmp(role, "spare") == 0 || strcmp(role, "standby") == 0 ||
           (voter_allowed && strcmp(role, "voter") == 0);
}

int cmd_member_list(const struct ctl_globals *g, int argc, char **argv)
{
    static const char who[] = "proxyctl member list";
    struct ctl_req rq = {.method = "GET", .path = "/api/cluster/members"};
    struct ctl_answer a;
    const char *pos[1];
    int npos, rc = ctl_args(who, member_usage, argc, argv, NULL, 0, pos, 0, 0, &npos);
    if (rc != CTL_ARGS_OK) {
        return ctl_args_exit(rc);
    }
    rc = ctl_call(g, who, &rq, &a);
    if (rc == CTL_EXIT_OK && a.status != 200) {
        rc = ctl_refused(who, &a);
    } else if (rc == CTL_EXIT_OK && !ctl_print_doc(g, &a.doc)) {
        cluster_print_members(stdout, &a.doc);
    }
    ctl_answer_fini(&a);
    return rc;
}

/* {"id": ..., "raftAddress": ..., "adminAddress": ..., "role": ...} (malloc'd). */
static char *add_body(const char *const *pos, const char *role)
{
    static const char *const keys[] = {"id", "raftAddress", "adminAddress", "role"};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL) {
        return NULL;
    }
    fputc('{', f);
    for (int i = 0; i < 4; i++) {
        const char *v = i < 3 ? pos[i] : role;
        if (v != NULL) {
            fprintf(f, "%s\"%s\": ", i ? ", " : "", keys[i]);
            output_quote(f, v);
        }
    }
    fputc('}', f);
    fclose(f);
    return buf;
}

int cmd_member_add(const struct ctl_globals *g, int argc, char **argv)
{
    static const char who[] = "proxyctl member add";
    const char *role = NULL, *pos[3];
    const struct ctl_opt opts[] = {{.name = "--role", .value = &role}};
    char *body;
    int npos, rc = ctl_args(who, member_usage, argc, argv, opts, 1, pos, 3, 3, &npos);
    if (rc != CTL_ARGS_OK) {
        return ctl_args_exit(rc);
    }
    if (role != NULL && !role_ok(role, true)) {
        fprintf(stderr, "%s: --role: expected voter, standby or spare, got \"%s\"\n", who, role);
        return CTL_EXIT_USAGE;
    }
    if ((body = add_body(pos, role)) == NULL) {
        fprintf(stderr, "%s: out of memory\n", who);
        return CTL_EXIT_USAGE;
    }
    rc = member_write(g, who, "POST", "/api/cluster/members", body, "added", pos[0],
                      role != NULL ? role : "voter");
    free(body);
    return rc;
}

int cmd_member_remove(const struct ctl_globals *g, int argc, char **argv)
{
    static const char who[] = "proxyctl member remove";
    const char *pos[1];
    char path[512];
    int npos, rc = ctl_args(who, member_usage, argc, argv, NULL, 0, pos, 1, 1, &npos);
    if (rc != CTL_ARGS_OK) {
        return ctl_args_exit(rc);
    }
    if ((rc = member_path(who, path, sizeof path, pos[0], "")) != CTL_EXIT_OK) {
        return rc;
    }
    return member_write(g, who, "DELETE", path, NULL, "removed", pos[0], NULL);
}

int cmd_member_promote(const struct ctl_globals *g, int argc, char **argv)
{
    static const char who[] = "proxyctl member promote";
    const char *pos[1];
    char path[512];
    int npos, rc = ctl_args(who, member_usage, argc, argv, NULL, 0, pos, 1, 1, &npos);
    if (rc != CTL_ARGS_OK) {
        return ctl_args_exit(rc);
    }
    if ((rc = member_path(who, path, sizeof path, pos[0], "/promote")) != CTL_EXIT_OK) {
        return rc;
    }
    return member_write(g, who, "POST", path, NULL, "promoted", pos[0], "voter");
}

int cmd_member_demote(const struct ctl_globals *g, int argc, char **argv)
{
    static const char who[] = "proxyctl member demote";
    const char *role = NULL, *pos[1];
    const struct ctl_opt opts[] = {{.name = "--role", .value = &role}};
    char path[512], body[64];
    int npos, rc = ctl_args(who, member_usage, argc, argv, opts, 1, pos, 1, 1, &npos);
    if (rc != CTL_ARGS_OK) {
        return ctl_args_exit(rc);
    }
    if (role != NULL && !role_ok(role, false)) {
        fprintf(stderr, "%s: --role: expected spare or standby, got \"%s\"\n", who, role);
        return CTL_EXIT_USAGE;
    }
    if ((rc = member_path(who, path, sizeof path, pos[0], "/demote")) != CTL_EXIT_OK) {
        return rc;
    }
    snprintf(body, sizeof body, "{\"role\": \"%s\"}", role != NULL ? role : "spare");
    return member_write(g, who, "POST", path, body, "demoted", pos[0],
                        role != NULL ? role : "spare");
}
