/* `proxyctl check FILE...`: validates static or dynamic configuration files offline. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl/cmd.h"
#include "ctl/output.h"
#include "node/base/diag.h"
#include "node/table/compile.h"
#include "providers/decode.h"
#include "providers/doc.h"
#include "providers/static_config.h"

static const char check_usage[] =
    "usage: proxyctl check [-o table|json|yaml] FILE...\n"
    "Validates each FILE offline, without a cluster. A file is static configuration when its\n"
    "top level has static keys (entryPoints, providers, admin, cluster, ...), dynamic when it\n"
    "has http/tcp/udp/tls; mixing both is an error. Dynamic files are decoded, then compiled as\n"
    "a dry run (namespace \"file\"): bad rules, dangling services and bad server URLs are\n"
    "errors. Entry points named by routers are not checked (they are per-node static config).\n"
    "Prints every error and warning as `file:line:col: key.path: message` (warnings end with\n"
    "\" (warning)\"); -o json|yaml prints {files: [{file, kind, errors, warnings}]}.\n"
    "exit codes: 0 no error (warnings allowed)\n"
    "            1 an error in a file that could be read (YAML syntax, unknown key, bad rule...)\n"
    "            2 usage error, or a file that cannot be read at all (missing, permission,\n"
    "              not a regular file, too large); the other files are still checked\n";

/* The outcome for one file. kind: "static", "dynamic", "empty", or NULL when unknown. */
struct checked {
    const char *file;
    const char *kind;
    struct diags d;
    int exit_code;
};

/* Router entry points are per-node: offline, every name a router uses counts as defined, so
 * compile reports no "entry point is not defined on this node" warnings (past 64 names the
 * rest still warn: table_compile takes at most 64). */
static uint32_t collect_entrypoints(const Concord__Config__Config *cfg, const char **names)
{
    uint32_t n = 0;
    for (size_t i = 0; cfg->http != NULL && i < cfg->http->n_routers; i++) {
        const Concord__Config__Router *r = cfg->http->routers[i];
        for (size_t j = 0; j < r->n_entry_points && n < 64; j++) {
            uint32_t k = 0;
            while (k < n && strcmp(names[k], r->entry_points[j]) != 0) {
                k++;
            }
            if (k == n) {
                names[n++] = r->entry_points[j];
            }
        }
    }
    return n;
}

/* The node a compile diagnostic's key path names: the key of a map entry (matched
 * case-insensitively, as the decoder does) or a list item. NULL when the path does not
 * resolve. Names may hold dots, so each map key is tried against the rest of the path. */
static const struct doc_node *find_path(const struct doc_node *n, const char *path)
{
    const struct doc_node *at = NULL;
    while (n != NULL && *path != '\0') {
        const struct doc_node *next = NULL;
        if (*path == '[' && n->kind == DOC_SEQ) {
            char *end;
            unsigned long i = strtoul(path + 1, &end, 10);
            if (*end != ']' || i >= n->n) {
                return NULL;
            }
            at = next = n->items[i];
            path = end + 1;
        } else if (n->kind == DOC_MAP) {
            path += *path == '.';
            for (size_t i = 0; i < n->n && next == NULL; i++) {
                const struct doc_node *k = n->pairs[i].key;
                if (strncasecmp(path, k->str, k->len) == 0 &&
                    strchr(".[", path[k->len]) != NULL) { /* also matches the final NUL */
                    at = k;
                    next = n->pairs[i].value;
                    path += k->len;
                }
            }
        }
        n = next;
    }
    return n != NULL ? at : NULL;
}

/* Compile marks name the object (router, service, server); its diagnostics' key paths name
 * the field. Point them at the field's key in the file when the path resolves there. */
static void relocate(struct diags *d, size_t from, const struct doc_node *root)
{
    for (size_t i = from; i < d->n; i++) {
        const struct doc_node *k = find_path(root, d->v[i].path);
        if (k != NULL && strcmp(k->file, d->v[i].file) == 0) {
            d->v[i].line = k->line;
            d->v[i].col = k->col;
        }
    }
}

static int check_dynamic(struct checked *c, const struct doc_node *root)
{
    Concord__Config__Config *cfg = NULL;
    const char *names[64];
    int rc = decode_dynamic_file(c->file, &cfg, &c->d);
    if (rc == 0) {
        struct table_source src = {.ns = "file", .cfg = cfg};
        struct table_compile_opts o = {.entrypoints = names};
        size_t from = c->d.n;
        o.n_entrypoints = collect_entrypoints(cfg, names);
        rc = table_compile(&src, 1, &o, NULL, &c->d);
        if (rc != 0) {
            diags_add(&c->d, DIAG_ERROR, c->file, 0, 0, "", "cannot check: %s", strerror(-rc));
        }
        relocate(&c->d, from, root);
    }
    decode_config_free(cfg);
    return rc;
}

static int check_static(struct checked *c)
{
    struct static_config sc;
    int rc;
    memset(&sc, 0, sizeof sc);
    rc = static_config_load(&sc, c->file, &c->d);
    static_config_fini(&sc);
    return rc;
}

/* Diagnostics come in check order (decoding, then compile); print them in file order. */
static void sort_diags(struct diags *d)
{
    for (size_t i = 1; i < d->n; i++) { /* insertion sort: stable, and lists are short */
        struct diag g = d->v[i];
        size_t j = i;
        while (j > 0 && (d->v[j - 1].line > g.line ||
                         (d->v[j - 1].line == g.line && d->v[j - 1].col > g.col))) {
            d->v[j] = d->v[j - 1];
            j--;
        }
        d->v[j] = g;
    }
}

/* Reads the file once to tell its kind, then checks it with the loader proxyd uses for that
 * kind (which reads it again: the loaders take a path, and this keeps their exact checks,
 * Go-template refusal included). */
static void check_file(struct checked *c)
{
    struct doc doc;
    int rc = doc_load_file(&doc, c->file, 0, &c->d);
    if (rc == 0) {
        rc = decode_document_kind(doc.root, &c->d);
    }
    if (rc == DECODE_DOC_STATIC) {
        c->kind = "static";
        rc = check_static(c);
    } else if (rc == DECODE_DOC_DYNAMIC) {
        c->kind = "dynamic";
        rc = check_dynamic(c, doc.root);
    } else if (rc == DECODE_DOC_EMPTY) {
        c->kind = "empty";
    }
    doc_fini(&doc);
    /* -EINVAL: the content was refused (YAML, TOML, decoding); any other code: not read. */
    if (rc < 0 && rc != -EINVAL) {
        c->exit_code = CTL_EXIT_USAGE;
    } else {
        c->exit_code = c->d.nerrors > 0 ? CTL_EXIT_NO : CTL_EXIT_OK;
    }
    sort_diags(&c->d);
}

static void print_text(const struct checked *c)
{
    for (size_t i = 0; i < c->d.n; i++) {
        char buf[1024];
        int n = diag_format(&c->d.v[i], buf, sizeof buf);
        if (n >= 0 && (size_t)n >= sizeof buf) {
            char *big = malloc((size_t)n + 1);
            if (big != NULL) {
                diag_format(&c->d.v[i], big, (size_t)n + 1);
                puts(big);
                free(big);
                continue;
            }
        }
        puts(buf);
    }
}

/* One diagnostic as a JSON object, or (yaml) as a YAML flow mapping: the same text. */
static void print_diag_object(const struct diag *g)
{
    fputs("{\"file\": ", stdout);
    output_quote(stdout, g->file);
    printf(", \"line\": %u, \"col\": %u, \"path\": ", (unsigned)g->line, (unsigned)g->col);
    output_quote(stdout, g->path);
    fputs(", \"message\": ", stdout);
    output_quote(stdout, g->msg);
    fputs("}", stdout);
}

static void print_json_list(const struct diags *d, enum diag_severity sev)
{
    bool first = true;
    fputs("[", stdout);
    for (size_t i = 0; i < d->n; i++) {
        if (d->v[i].severity == sev) {
            fputs(first ? "" : ", ", stdout);
            print_diag_object(&d->v[i]);
            first = false;
        }
    }
    fputs("]", stdout);
}

static void print_json(const struct checked *cs, int n)
{
    fputs("{\"files\": [", stdout);
    for (int i = 0; i < n; i++) {
        fputs(i > 0 ? ",\n  {\"file\": " : "\n  {\"file\": ", stdout);
        output_quote(stdout, cs[i].file);
        fputs(", \"kind\": ", stdout);
        if (cs[i].kind != NULL) {
            output_quote(stdout, cs[i].kind);
        } else {
            fputs("null", stdout);
        }
        fputs(", \"errors\": ", stdout);
        print_json_list(&cs[i].d, DIAG_ERROR);
        fputs(", \"warnings\": ", stdout);
        print_json_list(&cs[i].d, DIAG_WARNING);
        fputs("}", stdout);
    }
    fputs(n > 0 ? "\n]}\n" : "]}\n", stdout);
}

static void print_yaml_list(const char *name, const struct diags *d, enum diag_severity sev)
{
    bool any = false;
    printf("    %s:", name);
    for (size_t i = 0; i < d->n; i++) {
        if (d->v[i].severity == sev) {
            fputs("\n      - ", stdout);
            print_diag_object(&d->v[i]);
            any = true;
        }
    }
    fputs(any ? "\n" : " []\n", stdout);
}

static void print_yaml(const struct checked *cs, int n)
{
    fputs(n > 0 ? "files:\n" : "files: []\n", stdout);
    for (int i = 0; i < n; i++) {
        fputs("  - file: ", stdout);
        output_quote(stdout, cs[i].file);
        printf("\n    kind: %s\n", cs[i].kind != NULL ? cs[i].kind : "null");
        print_yaml_list("errors", &cs[i].d, DIAG_ERROR);
        print_yaml_list("warnings", &cs[i].d, DIAG_WARNING);
    }
}

static int parse_args(int argc, char **argv, int *first_file)
{
    int i = 0;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(check_usage, stdout);
            exit(CTL_EXIT_OK);
        }
        fprintf(stderr, "proxyctl check: unknown flag \"%s\"\n%s", argv[i], check_usage);
        return -EINVAL;
    }
    if (i >= argc) {
        fprintf(stderr, "proxyctl check: no file given\n%s", check_usage);
        return -EINVAL;
    }
    *first_file = i;
    return 0;
}

int cmd_check(const struct ctl_globals *g, int argc, char **argv)
{
    struct checked *cs;
    int first, n, exit_code = CTL_EXIT_OK;
    if (parse_args(argc, argv, &first) != 0) {
        return CTL_EXIT_USAGE;
    }
    n = argc - first;
    cs = calloc((size_t)n, sizeof *cs);
    if (cs == NULL) {
        fputs("proxyctl check: out of memory\n", stderr);
        return CTL_EXIT_USAGE;
    }
    for (int i = 0; i < n; i++) {
        cs[i].file = argv[first + i];
        diags_init(&cs[i].d);
        check_file(&cs[i]);
        exit_code = cs[i].exit_code > exit_code ? cs[i].exit_code : exit_code;
        if (g->output == CTL_OUT_TABLE) {
            print_text(&cs[i]);
        }
    }
    if (g->output == CTL_OUT_JSON) {
        print_json(cs, n);
    } else if (g->output == CTL_OUT_YAML) {
        print_yaml(cs, n);
    }
    for (int i = 0; i < n; i++) {
        diags_fini(&cs[i].d);
    }
    free(cs);
    return exit_code;
}
