/* proxyctl: global flags, then dispatch on the command's words (noun, or noun verb). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/cmd.h"

#ifndef CONCORD_VERSION
#define CONCORD_VERSION "0.0.0"
#endif

static const char usage[] =
    "usage: proxyctl [global flags] COMMAND [ARGS]\n"
    "global flags (accepted before or after the command):\n"
    "  --endpoints ADDR,...   admin API addresses (default 127.0.0.1:9900,\n"
    "                         env CONCORD_ENDPOINTS)\n"
    "  --token-file FILE      admin token (default ./concord-data/admin.token,\n"
    "                         env CONCORD_TOKEN_FILE)\n"
    "  -o table|json|yaml     output format (default table)\n"
    "  --help, --version\n"
    "commands:\n"
    "  check FILE...          validate static or dynamic config files offline\n"
    "  route explain --config FILE METHOD URL\n"
    "                         which router a request takes, and why not the others\n"
    "  routers list           the live HTTP routers (admin API)\n"
    "  services list          the live HTTP services (admin API)\n"
    "cluster commands (admin API; each takes --help):\n"
    "  status [--stale]       leader, term and members with their indexes\n"
    "  member list|add|remove|promote|demote\n"
    "                         the cluster's members and their roles\n"
    "  leader transfer [ID]   hand the leadership to another voter\n"
    "  config get|apply|delete|diff\n"
    "                         a namespace's dynamic config (default namespace api)\n"
    "  snapshot save FILE     a consistent copy of the replicated state\n"
    "exit codes: 0 done, 1 the answer is no, 2 usage or input error,\n"
    "            3 the cluster could not be reached or refused the token\n";

struct command {
    const char *words[2]; /* noun, then verb or NULL */
    int (*fn)(const struct ctl_globals *g, int argc, char **argv);
};

static const struct command commands[] = {
    {{"check", NULL}, cmd_check},
    {{"route", "explain"}, cmd_route_explain},
    {{"routers", "list"}, cmd_routers_list},
    {{"services", "list"}, cmd_services_list},
    {{"status", NULL}, cmd_status},
    {{"member", "list"}, cmd_member_list},
    {{"member", "add"}, cmd_member_add},
    {{"member", "remove"}, cmd_member_remove},
    {{"member", "promote"}, cmd_member_promote},
    {{"member", "demote"}, cmd_member_demote},
    {{"leader", "transfer"}, cmd_leader_transfer},
    {{"config", "get"}, cmd_config_get},
    {{"config", "apply"}, cmd_config_apply},
    {{"config", "delete"}, cmd_config_delete},
    {{"config", "diff"}, cmd_config_diff},
    {{"snapshot", "save"}, cmd_snapshot_save},
};

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("proxyctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n", stderr);
    fputs(usage, stderr);
    return CTL_EXIT_USAGE;
}

static int parse_output(const char *s, enum ctl_output *out)
{
    static const char *const names[] = {"table", "json", "yaml"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum ctl_output)i;
            return 0;
        }
    }
    return -1;
}

/* Matches "--name VALUE" or "--name=VALUE" at argv[*i]; advances *i past the value.
 * Returns 1 when matched (value in *val, NULL if missing), 0 when not this flag. */
static int flag_value(int argc, char **argv, int *i, const char *name, const char **val)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0 || (a[n] != '\0' && a[n] != '=')) {
        return 0;
    }
    if (a[n] == '=') {
        *val = a + n + 1;
    } else {
        *val = *i + 1 < argc ? argv[++*i] : NULL;
    }
    return 1;
}

/* Takes one global flag at argv[*i]. Returns 1 when taken, 0 when not a global flag, or
 * -CTL_EXIT_USAGE after printing why (a missing or bad value). */
static int take_global(int argc, char **argv, int *i, struct ctl_globals *g)
{
    const char *v = NULL, *a = argv[*i];
    if (flag_value(argc, argv, i, "--endpoints", &v)) {
        g->endpoints = v;
    } else if (flag_value(argc, argv, i, "--token-file", &v)) {
        g->token_file = v;
    } else if (flag_value(argc, argv, i, "-o", &v) || flag_value(argc, argv, i, "--output", &v)) {
        if (v != NULL && parse_output(v, &g->output) != 0) {
            return -usage_error("-o: expected table, json or yaml, got \"%s\"", v);
        }
    } else if (strncmp(a, "-o", 2) == 0 && a[2] != '\0') { /* -ojson */
        v = a + 2;
        if (parse_output(v, &g->output) != 0) {
            return -usage_error("-o: expected table, json or yaml, got \"%s\"", v);
        }
    } else {
        return 0;
    }
    return v == NULL ? -usage_error("%s: missing value", a) : 1;
}

static void globals_init(struct ctl_globals *g)
{
    const char *e = getenv("CONCORD_ENDPOINTS"), *t = getenv("CONCORD_TOKEN_FILE");
    g->endpoints = e != NULL && e[0] != '\0' ? e : "127.0.0.1:9900";
    g->token_file = t != NULL && t[0] != '\0' ? t : "./concord-data/admin.token";
    g->output = CTL_OUT_TABLE;
}

/* Removes the global flags from argv (before "--"), compacting the rest in place.
 * Returns the new argc, or -CTL_EXIT_USAGE. */
static int strip_globals(int argc, char **argv, struct ctl_globals *g)
{
    int n = 1, i;
    for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        int r = take_global(argc, argv, &i, g);
        if (r < 0) {
            return r;
        }
        if (r == 0) {
            argv[n++] = argv[i];
        }
    }
    while (i < argc) {
        argv[n++] = argv[i++];
    }
    argv[n] = NULL;
    return n;
}

static const struct command *find_command(int argc, char **argv, int *nwords)
{
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++) {
        const struct command *k = &commands[c];
        int w = k->words[1] != NULL ? 2 : 1;
        if (argc > w && strcmp(argv[1], k->words[0]) == 0 &&
            (w == 1 || strcmp(argv[2], k->words[1]) == 0)) {
            *nwords = w;
            return k;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    struct ctl_globals g;
    const struct command *k;
    int nwords;

    globals_init(&g);
    argc = strip_globals(argc, argv, &g);
    if (argc < 0) {
        return -argc;
    }
    if (argc < 2) {
        return usage_error("%s", "missing command");
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return CTL_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("proxyctl %s\n", CONCORD_VERSION);
        return CTL_EXIT_OK;
    }
    k = find_command(argc, argv, &nwords);
    for (size_t c = 0; k == NULL && c < sizeof commands / sizeof commands[0]; c++) {
        if (commands[c].words[1] != NULL && strcmp(argv[1], commands[c].words[0]) == 0) {
            return usage_error(argc > 2 ? "%s: unknown verb \"%s\"" : "%s: missing verb%s",
                               argv[1], argc > 2 ? argv[2] : "");
        }
    }
    if (k == NULL) {
        return usage_error(argv[1][0] == '-' ? "unknown flag \"%s\"" : "unknown command \"%s\"",
                           argv[1]);
    }
    return k->fn(&g, argc - 1 - nwords, argv + 1 + nwords);
}
