/* POST /api/cluster/explain: `proxyctl route explain` against this node's live table. The body
 * is the request as proxyctl normalised it, one field per line ("method GET", "host a.test",
 * "path /x", "query a=1", "entrypoint web", "client 10.0.0.1", "header Name: value"...), so no
 * escaping is needed: a line cannot hold a newline, nor can a request field. */
#include "node/admin/api_explain.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "node/admin/json.h"
#include "node/http/h1_parse.h"
#include "node/table/mw_conf.h"
#include "node/table/table.h"

#define EXPLAIN_MAX_HEADERS 64

struct explain_req {
    struct table_request r;
    struct h1_header headers[EXPLAIN_MAX_HEADERS];
    char entrypoint[64];
};

/* Fills q from the body's lines (pointing into it). Returns NULL or what is wrong. */
static const char *parse_body(const char *body, size_t len, struct explain_req *q)
{
    const char *p = body, *end = body + len;
    memset(q, 0, sizeof *q);
    q->r.entrypoint = TABLE_ENTRYPOINT_ANY;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end, *sp = memchr(p, ' ', (size_t)(eol - p));
        const char *v = sp ? sp + 1 : eol;
        size_t kl = (size_t)((sp ? sp : eol) - p), vl = (size_t)(eol - v);
        if (kl == 6 && memcmp(p, "method", 6) == 0) {
            q->r.method = v;
            q->r.method_len = (uint32_t)vl;
        } else if (kl == 4 && memcmp(p, "host", 4) == 0) {
            q->r.host = v;
            q->r.host_len = (uint32_t)vl;
        } else if (kl == 4 && memcmp(p, "path", 4) == 0) {
            q->r.path = v;
            q->r.path_len = (uint32_t)vl;
        } else if (kl == 5 && memcmp(p, "query", 5) == 0) {
            q->r.query = v;
            q->r.query_len = (uint32_t)vl;
        } else if (kl == 10 && memcmp(p, "entrypoint", 10) == 0) {
            if (vl >= sizeof q->entrypoint) {
                return "entrypoint name too long";
            }
            memcpy(q->entrypoint, v, vl);
        } else if (kl == 6 && memcmp(p, "client", 6) == 0) {
            char ip[64];
            if (vl >= sizeof ip) {
                return "bad client address";
            }
            memcpy(ip, v, vl);
            ip[vl] = '\0';
            if (inet_pton(AF_INET, ip, q->r.client_addr) == 1) {
                q->r.client_family = AF_INET;
            } else if (inet_pton(AF_INET6, ip, q->r.client_addr) == 1) {
                q->r.client_family = AF_INET6;
            } else {
                return "bad client address";
            }
        } else if (kl == 6 && memcmp(p, "header", 6) == 0) {
            const char *colon = memchr(v, ':', vl);
            struct h1_header *h = &q->headers[q->r.nheaders];
            if (colon == NULL || q->r.nheaders == EXPLAIN_MAX_HEADERS) {
                return "bad or too many header lines";
            }
            h->name = v;
            h->name_len = (uint32_t)(colon - v);
            h->value = colon + 1;
            while (h->value < eol && (*h->value == ' ' || *h->value == '\t')) {
                h->value++;
            }
            h->value_len = (uint32_t)(eol - h->value);
            q->r.nheaders++;
        } else if (kl > 0) {
            return "unknown field";
        }
        p = eol + 1;
    }
    q->r.headers = q->headers;
    if (q->r.method == NULL || q->r.path == NULL || q->r.host == NULL) {
        return "method, host and path are required";
    }
    return NULL;
}

static void find_winner(void *arg, const struct table_router *rt, bool matched, const char *why)
{
    (void)why;
    if (matched) {
        *(const struct table_router **)arg = rt;
    }
}

static void candidate(void *arg, const struct table_router *rt, bool matched, const char *why)
{
    struct jw *w = arg;
    jw_obj(w);
    jw_kstr(w, "router", rt->name);
    jw_kstr(w, "rule", rt->rule);
    jw_kint(w, "priority", rt->priority);
    jw_kbool(w, "matched", matched);
    jw_kstr(w, "reason", why);
    jw_end(w);
}

int api_explain(const struct node_view *v, const char *body, size_t len, struct jw *w)
{
    struct explain_req q;
    const struct table_router *win = NULL;
    const char *bad = parse_body(body, len, &q);
    if (bad == NULL && q.entrypoint[0] != '\0') {
        bad = "no such entry point on this node";
        for (uint32_t i = 0; i < v->n_entrypoints; i++) {
            if (strcmp(v->entrypoints[i], q.entrypoint) == 0) {
                q.r.entrypoint = i;
                bad = NULL;
            }
        }
    }
    jw_obj(w);
    if (bad != NULL) {
        jw_kstr(w, "error", bad);
        jw_end(w);
        return 400;
    }
    table_explain(v->table, &q.r, find_winner, &win);
    jw_kstr(w, "router", win ? win->name : NULL);
    jw_kstr(w, "service", win && win->service ? win->service->name : NULL);
    jw_key(w, "middlewares");
    jw_arr(w);
    for (uint32_t i = 0; win != NULL && i < win->nmws; i++) {
        jw_str(w, win->mws[i]->name);
    }
    jw_aend(w);
    jw_key(w, "candidates");
    jw_arr(w);
    table_explain(v->table, &q.r, candidate, w);
    jw_aend(w);
    jw_key(w, "tableGeneration");
    jw_uint(w, table_generation(v->table));
    jw_end(w);
    return 200;
}
