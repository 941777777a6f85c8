/* proxyctl commands: the global flags every command gets, and one function per command.
 *
 * A command function receives the arguments after its name (global flags already removed)
 * and returns the process exit code (DESIGN.md "proxyctl"): 0 done, 1 the answer is no,
 * 2 usage or input error, 3 the cluster could not be reached or refused the token.
 * Threading: none (a command runs on the main thread and exits).
 */
#ifndef CONCORD_CTL_CMD_H
#define CONCORD_CTL_CMD_H

enum ctl_output { CTL_OUT_TABLE, CTL_OUT_JSON, CTL_OUT_YAML };

enum { CTL_EXIT_OK = 0, CTL_EXIT_NO = 1, CTL_EXIT_USAGE = 2, CTL_EXIT_UNREACHABLE = 3 };

struct ctl_globals {
    const char *endpoints;  /* --endpoints, env CONCORD_ENDPOINTS, default 127.0.0.1:9900 */
    const char *token_file; /* --token-file, env CONCORD_TOKEN_FILE,
                               default ./concord-data/admin.token */
    enum ctl_output output; /* -o table|json|yaml (default table) */
};

/* `proxyctl check FILE...`: validates static or dynamic config files offline (ctl/cmd_check.c). */
int cmd_check(const struct ctl_globals *g, int argc, char **argv);

/* `proxyctl route explain --config FILE... METHOD URL`: routes one request offline and prints,
 * as JSON, the router chosen and why each router tried before it did not match
 * (ctl/cmd_route.c). */
int cmd_route_explain(const struct ctl_globals *g, int argc, char **argv);

/* `proxyctl routers list` / `services list`: the live table's objects through the admin API
 * (ctl/cmd_routers.c, ctl/cmd_services.c; the client is ctl/client.c). */
int cmd_routers_list(const struct ctl_globals *g, int argc, char **argv);
int cmd_services_list(const struct ctl_globals *g, int argc, char **argv);

/* The cluster commands, through the admin cluster API (/work/cluster-contract.md):
 * `status` (ctl/cmd_status.c), `member list|add|remove|promote|demote` (ctl/cmd_member.c),
 * `leader transfer` (ctl/cmd_leader.c), `config get|apply|delete|diff` (ctl/cmd_config.c),
 * `snapshot save` (ctl/cmd_snapshot.c). */
int cmd_status(const struct ctl_globals *g, int argc, char **argv);
int cmd_member_list(const struct ctl_globals *g, int argc, char **argv);
int cmd_member_add(const struct ctl_globals *g, int argc, char **argv);
int cmd_member_remove(const struct ctl_globals *g, int argc, char **argv);
int cmd_member_promote(const struct ctl_globals *g, int argc, char **argv);
int cmd_member_demote(const struct ctl_globals *g, int argc, char **argv);
int cmd_leader_transfer(const struct ctl_globals *g, int argc, char **argv);
int cmd_config_get(const struct ctl_globals *g, int argc, char **argv);
int cmd_config_apply(const struct ctl_globals *g, int argc, char **argv);
int cmd_config_delete(const struct ctl_globals *g, int argc, char **argv);
int cmd_config_diff(const struct ctl_globals *g, int argc, char **argv);
int cmd_snapshot_save(const struct ctl_globals *g, int argc, char **argv);

#endif
