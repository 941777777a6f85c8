/* `proxyctl route explain`: which router a request would take, and why the others did not. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "ctl/client.h"
#include "ctl/cmd.h"
#include "ctl/output.h"
#include "node/base/diag.h"
#include "node/http/h1_parse.h"
#include "node/http/uri.h"
#include "node/table/compile.h"
#include "node/table/mw_conf.h"
#include "providers/decode.h"
#include "providers/file.h"

static const char explain_usage[] =
    "usage: proxyctl route explain [--config FILE]... [--entrypoint NAME]\n"
    "                              [--header 'Name: value']... [--client-ip IP] METHOD URL\n"
    "Without --config, asks the cluster (--endpoints): the answering node routes the request\n"
    "through its live table (the JSON below plus \"tableGeneration\"; exit 3 when no endpoint\n"
    "answers). With --config, loads the dynamic config FILEs offline (several files form one\n"
    "namespace \"file\", as the file provider's directory mode does), compiles them as proxyd\n"
    "would, and routes one request: URL is absolute (http://host[:port]/path?query: its host wins over a Host\n"
    "header) or origin-form (/path?query: the host comes from --header 'Host: ...'). The host\n"
    "is lower-cased without port and the path normalised, as the proxy does; --client-ip\n"
    "defaults to 127.0.0.1. Without --entrypoint, routers of every entry point are candidates.\n"
    "Prints JSON (whatever -o says): {\"router\": \"name@file\" or null, \"service\": ...,\n"
    "\"middlewares\": [the matched router's middlewares in order, chains expanded],\n"
    "\"candidates\": [{\"router\", \"rule\", \"priority\", \"matched\", \"reason\"}...]} listing "
    "the\n"
    "routers tried in priority order up to the one that matched (later ones are not tried).\n"
    "Routers disabled by a compile error are not candidates; their errors go to stderr.\n"
    "exit codes: 0 done (matched or not)\n"
    "            2 usage error, a bad URL, header or IP, or a FILE that cannot be read or "
    "decoded\n";

#define MAX_FILES 64
#define MAX_HEADERS 64

struct explain_args {
    const char *files[MAX_FILES];
    int nfiles;
    const char *entrypoint; /* NULL: every entry point */
    struct h1_header headers[MAX_HEADERS];
    uint32_t nheaders;
    const char *client_ip;
    const char *method;
    const char *url;
};

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("proxyctl route explain: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n", stderr);
    return CTL_EXIT_USAGE;
}

static int usage_fail(const char *what, const char *arg)
{
    fprintf(stderr, "proxyctl route explain: %s \"%s\"\n%s", what, arg, explain_usage);
    return CTL_EXIT_USAGE;
}

/* "Name: value" into an h1_header pointing into `s` (the value trimmed of spaces and tabs). */
static int parse_header(const char *s, struct h1_header *h)
{
    const char *colon = strchr(s, ':'), *v, *end;
    if (colon == NULL || colon == s || strcspn(s, " \t") < (size_t)(colon - s)) {
        return -EINVAL;
    }
    v = colon + 1;
    v += strspn(v, " \t");
    end = v + strlen(v);
    while (end > v && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    *h = (struct h1_header){
        .name = s, .name_len = (uint32_t)(colon - s), .value = v, .value_len = (uint32_t)(end - v)};
    return 0;
}

/* Matches "--name VALUE" or "--name=VALUE" at argv[*i]; 1 when matched (*val NULL: missing). */
static int flag(int argc, char **argv, int *i, const char *name, const char **val)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0 || (a[n] != '\0' && a[n] != '=')) {
        return 0;
    }
    *val = a[n] == '=' ? a + n + 1 : *i + 1 < argc ? argv[++*i] : NULL;
    return 1;
}

static int parse_args(int argc, char **argv, struct explain_args *a)
{
    int npos = 0;
    const char *pos[2];
    bool flags = true;
    a->client_ip = "127.0.0.1";
    for (int i = 0; i < argc; i++) {
        const char *v = NULL, *name = argv[i];
        if (!flags || argv[i][0] != '-' || argv[i][1] == '\0') {
            if (npos == 2) {
                return usage_fail("unexpected argument", argv[i]);
            }
            pos[npos++] = argv[i];
            continue;
        }
        if (strcmp(name, "--") == 0) {
            flags = false;
            continue;
        }
        if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
            fputs(explain_usage, stdout);
            exit(CTL_EXIT_OK);
        }
        if (flag(argc, argv, &i, "--config", &v)) {
            if (v != NULL && a->nfiles == MAX_FILES) {
                return usage_fail("too many --config files, at", v);
            }
            a->files[a->nfiles] = v;
            a->nfiles += v != NULL;
        } else if (flag(argc, argv, &i, "--entrypoint", &v)) {
            a->entrypoint = v;
        } else if (flag(argc, argv, &i, "--client-ip", &v)) {
            a->client_ip = v;
        } else if (flag(argc, argv, &i, "--header", &v)) {
            if (v != NULL &&
                (a->nheaders == MAX_HEADERS || parse_header(v, &a->headers[a->nheaders++]) != 0)) {
                return usage_fail("bad or too many --header (want 'Name: value')", v);
            }
        } else {
            return usage_fail("unknown flag", name);
        }
        if (v == NULL) {
            return usage_fail("missing value for", name);
        }
    }
    if (npos != 2) {
        fprintf(stderr, "proxyctl route explain: METHOD and URL are required\n%s",
                explain_usage);
        return CTL_EXIT_USAGE;
    }
    a->method = pos[0];
    a->url = pos[1];
    return 0;
}

/* The request as the proxy builds it (node/proxy/exchange.c route()): host normalised from
 * the absolute URL's authority, else from the Host header; path normalised; raw query. */
struct request {
    char host[256];
    char *path; /* owned */
    struct table_request r;
};

static const struct h1_header *find_header(const struct explain_args *a, const char *name)
{
    for (uint32_t i = 0; i < a->nheaders; i++) {
        const struct h1_header *h = &a->headers[i];
        if (h->name_len == strlen(name) && strncasecmp(h->name, name, h->name_len) == 0) {
            return h;
        }
    }
    return NULL;
}

static int build_request(const struct explain_args *a, struct request *q)
{
    const char *url = a->url, *auth = "", *rest, *query;
    size_t auth_len = 0, skip = 0, tlen, plen;
    int n;
    if (strncasecmp(url, "http://", 7) == 0) {
        skip = 7;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        skip = 8;
    }
    if (skip > 0) {
        auth = url + skip;
        auth_len = strcspn(auth, "/?#");
        if (auth_len == 0) {
            return fail("URL \"%s\" has no host", url);
        }
        rest = auth + auth_len;
    } else if (url[0] == '/') {
        const struct h1_header *h = find_header(a, "host");
        if (h != NULL) {
            auth = h->value;
            auth_len = h->value_len;
        }
        rest = url;
    } else {
        return fail("URL \"%s\" is neither absolute (http://host/path) nor a path (/path)", url);
    }
    if (auth_len >= sizeof q->host) {
        return fail("host \"%.*s\" is too long", (int)auth_len, auth);
    }
    q->r.host = q->host;
    q->r.host_len = (uint32_t)uri_normalize_host(auth, auth_len, q->host);
    tlen = strcspn(rest, "#"); /* a fragment is never sent */
    query = memchr(rest, '?', tlen);
    plen = query != NULL ? (size_t)(query - rest) : tlen;
    q->path = malloc(plen + 2);
    if (q->path == NULL) {
        return fail("%s", "out of memory");
    }
    n = uri_normalize_path(rest, plen, q->path);
    if (n < 0) {
        return fail("bad path \"%.*s\" (the proxy would answer 400)", (int)plen, rest);
    }
    q->r.path = q->path;
    q->r.path_len = (uint32_t)uri_route_path(q->path, (size_t)n, q->path); /* as the proxy */
    if (query != NULL) {
        q->r.query = query + 1;
        q->r.query_len = (uint32_t)(tlen - plen - 1);
    }
    q->r.method = a->method;
    q->r.method_len = (uint32_t)strlen(a->method);
    q->r.headers = a->headers;
    q->r.nheaders = a->nheaders;
    if (inet_pton(AF_INET, a->client_ip, q->r.client_addr) == 1) {
        q->r.client_family = AF_INET;
    } else if (inet_pton(AF_INET6, a->client_ip, q->r.client_addr) == 1) {
        q->r.client_family = AF_INET6;
    } else {
        return fail("--client-ip \"%s\" is not an IP address", a->client_ip);
    }
    return 0;
}

/* Offline, every entry point a router names counts as defined (as in `proxyctl check`); the
 * one asked for comes first so that it always fits in table_compile's 64. When no name at all
 * is known, a placeholder keeps routers that list none (attached to all) candidates. */
static uint32_t collect_entrypoints(Concord__Config__Config *const *cfgs, int ncfgs,
                                    const char *first, const char **names)
{
    uint32_t n = 0;
    if (first != NULL) {
        names[n++] = first;
    }
    for (int c = 0; c < ncfgs; c++) {
        const Concord__Config__HttpConfig *h = cfgs[c] != NULL ? cfgs[c]->http : NULL;
        for (size_t i = 0; h != NULL && i < h->n_routers; i++) {
            const Concord__Config__Router *r = h->routers[i];
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
    }
    if (n == 0) {
        names[n++] = "*"; /* no router names one: routers listing none attach to this one */
    }
    return n;
}

/* Server host names are not looked up: routing does not need them, and offline must not
 * depend on this machine's DNS. They stay unresolved, without a warning. */
static int no_resolve(void *arg, const char *host, uint16_t port, struct sockaddr_storage *addr,
                      uint32_t *addrlen, struct err *e)
{
    (void)arg, (void)host, (void)port, (void)e;
    memset(addr, 0, sizeof *addr);
    *addrlen = 0;
    return 0;
}

static void print_errors(const struct diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        char buf[1024];
        if (d->v[i].severity == DIAG_ERROR) {
            diag_format(&d->v[i], buf, sizeof buf);
            fprintf(stderr, "%s\n", buf);
        }
    }
}

/* Decodes every file and compiles them as one namespace "file" into *out. */
static int load_table(const struct explain_args *a, struct table **out, uint32_t *ep)
{
    Concord__Config__Config *cfgs[MAX_FILES] = {0};
    struct table_source srcs[MAX_FILES];
    const char *names[64];
    struct table_compile_opts o = {.entrypoints = names, .resolve = no_resolve};
    struct diags d;
    int rc = 0, exit_code = CTL_EXIT_OK;
    diags_init(&d);
    for (int i = 0; i < a->nfiles && rc == 0; i++) {
        rc = file_provider_load_file(a->files[i], &cfgs[i], &d);
        if (rc != 0) {
            print_errors(&d);
            exit_code = fail("cannot load %s: %s", a->files[i],
                             rc == -EINVAL ? "invalid dynamic configuration" : strerror(-rc));
        }
        srcs[i] = (struct table_source){.ns = "file", .cfg = cfgs[i]};
    }
    if (rc == 0) {
        size_t from = d.n;
        o.n_entrypoints = collect_entrypoints(cfgs, a->nfiles, a->entrypoint, names);
        *ep = a->entrypoint != NULL ? 0 : TABLE_ENTRYPOINT_ANY;
        rc = table_compile(srcs, (uint32_t)a->nfiles, &o, out, &d);
        if (rc != 0) {
            exit_code = fail("cannot compile: %s", strerror(-rc));
        } else if (d.nerrors > 0) {
            struct diags tail = {.v = d.v + from, .n = d.n - from};
            fputs("proxyctl route explain: disabled by errors (not candidates):\n", stderr);
            print_errors(&tail);
        }
    }
    for (int i = 0; i < a->nfiles; i++) {
        decode_config_free(cfgs[i]);
    }
    diags_fini(&d);
    return exit_code;
}

static void find_winner(void *arg, const struct table_router *rt, bool matched, const char *why)
{
    (void)why;
    if (matched) {
        *(const struct table_router **)arg = rt;
    }
}

static void print_candidate(void *arg, const struct table_router *rt, bool matched, const char *why)
{
    bool *first = arg;
    fputs(*first ? "\n  {\"router\": " : ",\n  {\"router\": ", stdout);
    *first = false;
    output_quote(stdout, rt->name);
    fputs(", \"rule\": ", stdout);
    output_quote(stdout, rt->rule);
    printf(", \"priority\": %" PRId64 ", \"matched\": %s, \"reason\": ", rt->priority,
           matched ? "true" : "false");
    if (why != NULL) {
        output_quote(stdout, why);
    } else {
        fputs("null", stdout);
    }
    fputs("}", stdout);
}

static void print_json(const struct table *t, const struct table_request *r)
{
    const struct table_router *win = NULL;
    bool first = true;
    table_explain(t, r, find_winner, &win);
    fputs("{\"router\": ", stdout);
    if (win != NULL) {
        output_quote(stdout, win->name);
    } else {
        fputs("null", stdout);
    }
    fputs(", \"service\": ", stdout);
    if (win != NULL && win->service != NULL) {
        output_quote(stdout, win->service->name);
    } else {
        fputs("null", stdout);
    }
    /* The middlewares the request would pass, in order (entry point defaults first, chains
     * flattened): what the router's list means once compiled. */
    fputs(", \"middlewares\": [", stdout);
    for (uint32_t i = 0; win != NULL && i < win->nmws; i++) {
        if (i > 0) {
            fputs(", ", stdout);
        }
        output_quote(stdout, win->mws[i]->name);
    }
    fputs("]", stdout);
    fputs(", \"candidates\": [", stdout);
    table_explain(t, r, print_candidate, &first);
    fputs(first ? "]}\n" : "\n]}\n", stdout);
}

/* The live table: the normalised request as lines (api_explain.c's format) to the cluster. */
static int explain_live(const struct ctl_globals *g, const struct explain_args *a,
                        const struct request *q)
{
    static const char who[] = "proxyctl route explain";
    char *body = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);
    struct ctl_resp resp;
    int rc;
    if (f == NULL) {
        return fail("%s", "out of memory");
    }
    fprintf(f, "method %s\nhost %.*s\npath %.*s\nclient %s\n", a->method,
            (int)q->r.host_len, q->r.host, (int)q->r.path_len, q->r.path, a->client_ip);
    if (q->r.query != NULL) {
        fprintf(f, "query %.*s\n", (int)q->r.query_len, q->r.query);
    }
    if (a->entrypoint != NULL) {
        fprintf(f, "entrypoint %s\n", a->entrypoint);
    }
    for (uint32_t i = 0; i < a->nheaders; i++) {
        fprintf(f, "header %.*s: %.*s\n", (int)a->headers[i].name_len, a->headers[i].name,
                (int)a->headers[i].value_len, a->headers[i].value);
    }
    fclose(f);
    if (strpbrk(a->method, "\r\n") != NULL) {
        free(body);
        return fail("%s", "bad METHOD");
    }
    memset(&resp, 0, sizeof resp);
    rc = ctl_request(g, who, "POST", "/api/cluster/explain", body, len, "text/plain", &resp);
    free(body);
    if (rc != CTL_EXIT_OK) {
        return rc;
    }
    if (resp.status != 200) {
        fprintf(stderr, "%s: %s answered %d: %s\n", who, resp.endpoint, resp.status,
                resp.body ? resp.body : "");
        rc = CTL_EXIT_NO;
    } else {
        fputs(resp.body, stdout);
        fputs("\n", stdout);
    }
    ctl_resp_free(&resp);
    return rc;
}

int cmd_route_explain(const struct ctl_globals *g, int argc, char **argv)
{
    struct explain_args a;
    struct request q;
    struct table *t = NULL;
    int rc;
    /* the output is always JSON: -o is ignored */
    memset(&a, 0, sizeof a);
    memset(&q, 0, sizeof q);
    rc = parse_args(argc, argv, &a);
    if (rc == 0) {
        rc = build_request(&a, &q);
    }
    if (rc == 0 && a.nfiles == 0) {
        rc = explain_live(g, &a, &q);
        free(q.path);
        return rc;
    }
    if (rc == 0) {
        rc = load_table(&a, &t, &q.r.entrypoint);
    }
    if (rc == 0) {
        print_json(t, &q.r);
    }
    table_unref(t);
    free(q.path);
    return rc;
}
