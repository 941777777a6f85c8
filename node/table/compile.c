/* Compiles the canonical configuration into a table generation, with every semantic check. */
#include "node/table/compile.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/table/compile-int.h"
#include "node/table/compile_mw.h"
#include "node/table/rule.h"
#include "node/table/table-build.h"

typedef Concord__Config__Service Service;
typedef Concord__Config__Router Router;
typedef Concord__Config__Middleware Middleware;

/* Traefik reserves the priorities above MaxInt64 - 1000 for its @internal routers. */
#define MAX_USER_PRIORITY (INT64_MAX - 1000)

static const char *str(const char *s)
{
    return s ? s : "";
}

static char *dup_or_fail(struct cctx *c, const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (p == NULL) {
        c->rc = -ENOMEM;
    }
    return p;
}

static char *printf_or_fail(struct cctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static char *printf_or_fail(struct cctx *c, const char *fmt, ...)
{
    char *p = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&p, fmt, ap) < 0) {
        p = NULL;
        c->rc = -ENOMEM;
    }
    va_end(ap);
    return p;
}

/* ---- Diagnostics ---- */

static void report(struct cctx *c, enum diag_severity sev, const Mark *m, const char *path,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void report(struct cctx *c, enum diag_severity sev, const Mark *m, const char *path,
                   const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diags_add(c->d, sev, m ? str(m->file) : "", m ? m->line : 0, m ? m->col : 0, path, "%s", msg);
}

/* Key path of an object or one of its fields: "http.routers.web" + ".rule". */
static const char *key(char *buf, size_t size, const struct cand *k, const char *field)
{
    snprintf(buf, size, "http.%s.%s%s%s", k->section, k->raw, field[0] ? "." : "", field);
    return buf;
}

/* ---- Names ---- */

/* "x" -> "x@ns"; "x@ns" stays; "x@other" is an error (NULL, c->rc untouched). */
static char *full_name(struct cctx *c, const char *section, const char *ns, const char *raw,
                       const Mark *m)
{
    char path[300];
    const char *at = strrchr(raw, '@');
    snprintf(path, sizeof path, "http.%s.%s", section, raw);
    if (raw[0] == '\0' || at == raw) {
        report(c, DIAG_ERROR, m, path, "empty name");
        return NULL;
    }
    if (at == NULL) {
        return printf_or_fail(c, "%s@%s", raw, ns);
    }
    if (strcmp(at + 1, ns) != 0) {
        report(c, DIAG_ERROR, m, path, "name \"%s\" is not in this provider's namespace \"%s\"",
               raw, ns);
        return NULL;
    }
    return dup_or_fail(c, raw, strlen(raw));
}

static int cand_order(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    int r = strcmp(x->full, y->full);
    return r != 0 ? r : (x->order > y->order) - (x->order < y->order);
}

/* Sorts by full name and disables every copy of a name defined more than once. */
static void sort_and_flag_duplicates(struct cctx *c, struct cands *l)
{
    char path[300];
    if (l->n > 1) {
        qsort(l->v, l->n, sizeof *l->v, cand_order);
    }
    for (uint32_t i = 0; i + 1 < l->n; i++) {
        if (strcmp(l->v[i].full, l->v[i + 1].full) == 0) {
            l->v[i].ok = l->v[i + 1].ok = false;
        }
    }
    for (uint32_t i = 0; i < l->n; i++) {
        struct cand *k = &l->v[i];
        if (!k->ok) {
            report(c, DIAG_ERROR, k->mark, key(path, sizeof path, k, ""),
                   "%s is defined more than once in namespace %s; every copy is disabled", k->full,
                   k->ns);
        }
    }
}

static int add_cand(struct cctx *c, struct cands *l, const char *section, const char *ns,
                    const char *raw, const Mark *m, const void *msg)
{
    char *full = full_name(c, section, ns, raw, m);
    if (full == NULL) {
        return c->rc;
    }
    l->v[l->n] = (struct cand){.section = section,
                               .ns = ns,
                               .raw = raw,
                               .full = full,
                               .mark = m,
                               .msg = msg,
                               .order = l->n,
                               .ok = true};
    l->n++;
    return 0;
}

enum section { SEC_SERVICES, SEC_ROUTERS, SEC_MIDDLEWARES };

static size_t section_count(const Concord__Config__HttpConfig *h, enum section sec)
{
    if (h == NULL) {
        return 0;
    }
    return sec == SEC_ROUTERS ? h->n_routers : sec == SEC_SERVICES ? h->n_services
                                                                    : h->n_middlewares;
}

/* Gathers every object of one section of every source. */
static int collect(struct cctx *c, struct cands *l, enum section sec)
{
    size_t total = 0;
    for (uint32_t s = 0; s < c->nsrcs; s++) {
        const Concord__Config__HttpConfig *h = c->srcs[s].cfg ? c->srcs[s].cfg->http : NULL;
        total += section_count(h, sec);
    }
    if (total > UINT32_MAX / 2 || (total > 0 && !(l->v = calloc(total, sizeof *l->v)))) {
        return c->rc = -ENOMEM;
    }
    for (uint32_t s = 0; s < c->nsrcs; s++) {
        const char *ns = c->srcs[s].ns;
        const Concord__Config__HttpConfig *h = c->srcs[s].cfg ? c->srcs[s].cfg->http : NULL;
        size_t n = section_count(h, sec);
        for (size_t i = 0; i < n; i++) {
            int rc;
            if (sec == SEC_ROUTERS) {
                const Router *r = h->routers[i];
                rc = add_cand(c, l, "routers", ns, str(r->name), r->mark, r);
            } else if (sec == SEC_MIDDLEWARES) {
                const Middleware *m = h->middlewares[i];
                rc = add_cand(c, l, "middlewares", ns, str(m->name), m->mark, m);
            } else {
                const Service *v = h->services[i];
                rc = add_cand(c, l, "services", ns, str(v->name), v->mark, v);
            }
            if (rc != 0) {
                return rc;
            }
        }
    }
    sort_and_flag_duplicates(c, l);
    return 0;
}

static void cands_fini(struct cands *l)
{
    for (uint32_t i = 0; i < l->n; i++) {
        free(l->v[i].full);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

static const struct cand *find_cand(const struct cands *l, const char *full)
{
    uint32_t lo = 0, hi = l->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int r = strcmp(full, l->v[mid].full);
        if (r == 0) {
            return &l->v[mid];
        }
        if (r < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}


/* ---- For the other compile files (compile-int.h) ---- */

const char *cc_str(const char *s)
{
    return str(s);
}

char *cc_dup(struct cctx *c, const char *s)
{
    return dup_or_fail(c, s, strlen(s));
}

char *cc_qualify(struct cctx *c, const char *ns, const char *ref)
{
    return strchr(ref, '@') ? dup_or_fail(c, ref, strlen(ref)) : printf_or_fail(c, "%s@%s", ref, ns);
}

void cc_report(struct cctx *c, enum diag_severity sev, const Mark *m, const char *path,
               const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    report(c, sev, m, path, "%s", msg);
}

const char *cc_key(char *buf, size_t size, const struct cand *k, const char *field)
{
    return key(buf, size, k, field);
}

const struct cand *cc_find(const struct cands *l, const char *full)
{
    return find_cand(l, full);
}

int cc_collect_services(struct cctx *c)
{
    return collect(c, &c->svcs, SEC_SERVICES);
}

/* ---- Routers ---- */

static bool check_rule(struct cctx *c, const struct cand *k, struct table_router *tr)
{
    char path[400];
    const Router *r = k->msg;
    const char *syntax = str(r->rule_syntax);
    struct err e = {0};
    struct rule *rule = NULL;
    bool ok = true;
    enum rule_syntax rs = strcmp(syntax, "v2") == 0 ? RULE_V2 : RULE_V3;
    if (syntax[0] != '\0' && strcmp(syntax, "v3") != 0 && rs != RULE_V2) {
        report(c, DIAG_ERROR, k->mark, key(path, sizeof path, k, "ruleSyntax"),
               "unknown ruleSyntax \"%s\" (v2 or v3)", syntax);
        ok = false;
    }
    int rc = rule_parse_syntax(str(r->rule), rs, &rule, &e);
    if (rc == -ENOMEM) {
        c->rc = rc;
        return false;
    }
    if (rc != 0) {
        /* The key path already says "rule". */
        const char *msg = strncmp(e.msg, "rule: ", 6) == 0 ? e.msg + 6 : e.msg;
        report(c, DIAG_ERROR, k->mark, key(path, sizeof path, k, "rule"), "%s", msg);
        return false;
    }
    tr->compiled = rule;
    tr->priority = r->priority != 0 ? r->priority : (int64_t)strlen(str(r->rule));
    if (r->priority > MAX_USER_PRIORITY) {
        report(c, DIAG_ERROR, k->mark, key(path, sizeof path, k, "priority"),
               "priority %lld is above the maximum %lld", (long long)r->priority,
               (long long)MAX_USER_PRIORITY);
        ok = false;
    }
    return ok;
}

static bool check_service_ref(struct cctx *c, const struct cand *k, struct table_router *tr)
{
    char path[400];
    const Router *r = k->msg;
    const char *ref = str(r->service);
    key(path, sizeof path, k, "service");
    if (ref[0] == '\0') {
        report(c, DIAG_ERROR, k->mark, path, "router has no service");
        return false;
    }
    char *full = strchr(ref, '@') ? dup_or_fail(c, ref, strlen(ref))
                                  : printf_or_fail(c, "%s@%s", ref, k->ns);
    if (full == NULL) {
        return false;
    }
    const struct cand *s = find_cand(&c->svcs, full);
    if (s == NULL) {
        report(c, DIAG_ERROR, k->mark, path, "service \"%s\" does not exist", full);
    } else if (!s->ok) {
        report(c, DIAG_ERROR, k->mark, path, "service \"%s\" is disabled by its own errors", full);
    } else {
        tr->service = &c->parts.services[s->id];
    }
    free(full);
    return tr->service != NULL;
}

/* "x" -> "x@ns"; NULL (and c->rc) on ENOMEM. */
static char *qualify(struct cctx *c, const char *ns, const char *ref)
{
    return strchr(ref, '@') ? dup_or_fail(c, ref, strlen(ref)) : printf_or_fail(c, "%s@%s", ref, ns);
}

/* Appends the leaves that reference `ref` (from namespace `ns`) stands for to *list. Returns
 * false after reporting (at `m`, `path`) a reference that does not resolve. */
static bool add_mw_ref(struct cctx *c, const char *ns, const char *ref, const Mark *m,
                       const char *path, const char *note, const struct table_middleware ***list,
                       uint32_t *n)
{
    char *full = qualify(c, ns, ref);
    const struct cand *k;
    bool ok = false;
    if (full == NULL) {
        return false;
    }
    k = find_cand(&c->mws, full);
    if (k == NULL) {
        report(c, DIAG_ERROR, m, path, "middleware \"%s\" does not exist%s", full, note);
    } else if (!k->ok) {
        report(c, DIAG_ERROR, m, path, "middleware \"%s\" is disabled by %s%s", full,
               c->mwi[k - c->mws.v].type_key ? "its own errors" : "a type not supported yet",
               note);
    } else {
        const struct mwinfo *mi = &c->mwi[k - c->mws.v];
        uint32_t add = mi->kind == MW_CHAIN ? mi->nleaves : 1;
        const struct table_middleware **v = realloc((void *)*list, (*n + add) * sizeof *v);
        if (v == NULL) {
            c->rc = -ENOMEM;
        } else {
            *list = v;
            for (uint32_t i = 0; i < add; i++) {
                uint32_t leaf = mi->kind == MW_CHAIN ? mi->leaves[i] : (uint32_t)(k - c->mws.v);
                v[(*n)++] = &c->parts.middlewares[c->mws.v[leaf].id];
            }
            ok = true;
        }
    }
    free(full);
    return ok;
}

static bool check_middlewares(struct cctx *c, const struct cand *k, struct table_router *tr)
{
    char path[400], field[80];
    const Router *r = k->msg;
    const struct table_middleware **list = NULL;
    uint32_t n = 0;
    bool ok = true;
    for (size_t i = 0; i < r->n_middlewares && c->rc == 0; i++) {
        snprintf(field, sizeof field, "middlewares[%zu]", i);
        ok = add_mw_ref(c, k->ns, str(r->middlewares[i]), k->mark,
                        key(path, sizeof path, k, field), "", &list, &n) && ok;
    }
    if (!ok || c->rc != 0 || n == 0) {
        free(list);
        return ok;
    }
    tr->mws = list;
    tr->nmws = n;
    return true;
}

/* ---- Middlewares ---- */

static uint32_t count_redirects(const struct cctx *c);
static void add_redirect_middlewares(struct cctx *c);

static const struct table_service *mw_find_service(void *arg, const char *ns, const char *ref,
                                                   const char **why)
{
    struct cctx *c = arg;
    char *full = qualify(c, ns, ref);
    const struct cand *k = full ? find_cand(&c->svcs, full) : NULL;
    free(full);
    *why = k == NULL ? "does not exist" : !k->ok ? "is disabled by its own errors" : NULL;
    return k && k->ok ? &c->parts.services[k->id] : NULL;
}

static void compile_one_mw(struct cctx *c, struct cand *k, struct mwinfo *mi)
{
    char path[400];
    const Middleware *m = k->msg;
    struct mwc_ctx mc;
    mwc_compile_fn fn;
    int rc;
    if (!mwc_kind_of(m, &mi->kind, &mi->type_key)) {
        /* The decoder reported it: no type at all is an error there, a Traefik type Concord
         * lacks (circuitBreaker...) a warning. Disabled either way; a router using it is the
         * error. */
        mi->type_key = NULL;
        k->ok = false;
        return;
    }
    if (mi->kind == MW_CHAIN) {
        return; /* flattened once every middleware is known */
    }
    key(path, sizeof path, k, mi->type_key);
    fn = mwc_compiler(mi->kind);
    if (fn == NULL) {
        /* Refused rather than skipped: a router must never serve without its auth. */
        report(c, DIAG_ERROR, k->mark, path, "middleware type %s is not supported yet",
               mi->type_key);
        k->ok = false;
        return;
    }
    mc = (struct mwc_ctx){.d = c->d, .mark = k->mark, .path = path, .ns = k->ns, .dry = c->dry,
                          .find_service = mw_find_service, .arg = c,
                          .read_file = c->o->read_file, .read_arg = c->o->read_arg};
    rc = fn(&mc, m, &mi->built);
    if (rc == -ENOMEM) {
        c->rc = rc;
    }
    if (rc != 0) {
        if (mi->built.conf != NULL && mi->built.conf_free != NULL) {
            mi->built.conf_free(mi->built.conf);
        }
        memset(&mi->built, 0, sizeof mi->built);
        k->ok = false;
    }
}

/* Flattens a chain into the leaves it stands for; a cycle, a missing or disabled member
 * disables the chain (and so every chain and router that uses it). */
static bool flatten_chain(struct cctx *c, uint32_t idx)
{
    char path[400], field[80];
    struct cand *k = &c->mws.v[idx];
    struct mwinfo *mi = &c->mwi[idx];
    const Concord__Config__Chain *ch = ((const Middleware *)k->msg)->chain;
    if (mi->visit == 2) {
        return k->ok;
    }
    if (mi->visit == 1) {
        report(c, DIAG_ERROR, k->mark, key(path, sizeof path, k, "chain.middlewares"),
               "chain %s includes itself", k->full);
        return false;
    }
    mi->visit = 1;
    for (size_t i = 0; k->ok && ch != NULL && i < ch->n_middlewares && c->rc == 0; i++) {
        char *full = qualify(c, k->ns, str(ch->middlewares[i]));
        struct cand *m = full ? (struct cand *)find_cand(&c->mws, full) : NULL;
        snprintf(field, sizeof field, "chain.middlewares[%zu]", i);
        key(path, sizeof path, k, field);
        if (full == NULL) {
            break;
        }
        if (m == NULL) {
            report(c, DIAG_ERROR, ch->mark ? ch->mark : k->mark, path,
                   "middleware \"%s\" does not exist", full);
            k->ok = false;
        } else if (c->mwi[m - c->mws.v].kind == MW_CHAIN && m->ok &&
                   !flatten_chain(c, (uint32_t)(m - c->mws.v))) {
            if (c->mwi[m - c->mws.v].visit == 1) {
                report(c, DIAG_ERROR, ch->mark ? ch->mark : k->mark, path,
                       "chain cycle through \"%s\"", full);
            } else {
                report(c, DIAG_ERROR, ch->mark ? ch->mark : k->mark, path,
                       "middleware \"%s\" is disabled by its own errors", full);
            }
            k->ok = false;
        } else if (!m->ok) {
            report(c, DIAG_ERROR, ch->mark ? ch->mark : k->mark, path,
                   "middleware \"%s\" is disabled by its own errors", full);
            k->ok = false;
        } else {
            const struct mwinfo *sub = &c->mwi[m - c->mws.v];
            uint32_t add = sub->kind == MW_CHAIN ? sub->nleaves : 1;
            uint32_t *v = realloc(mi->leaves, (mi->nleaves + add) * sizeof *v);
            if (v == NULL) {
                c->rc = -ENOMEM;
            } else {
                mi->leaves = v;
                for (uint32_t j = 0; j < add; j++) {
                    v[mi->nleaves++] = sub->kind == MW_CHAIN ? sub->leaves[j]
                                                             : (uint32_t)(m - c->mws.v);
                }
            }
        }
        free(full);
    }
    mi->visit = 2;
    return k->ok;
}

static int compile_middlewares(struct cctx *c)
{
    uint32_t nok = 0;
    if (collect(c, &c->mws, SEC_MIDDLEWARES) != 0) {
        return c->rc;
    }
    if (c->mws.n > 0 && !(c->mwi = calloc(c->mws.n, sizeof *c->mwi))) {
        return c->rc = -ENOMEM;
    }
    for (uint32_t i = 0; i < c->mws.n && c->rc == 0; i++) {
        if (c->mws.v[i].ok) {
            compile_one_mw(c, &c->mws.v[i], &c->mwi[i]);
        }
    }
    for (uint32_t i = 0; i < c->mws.n && c->rc == 0; i++) {
        if (c->mws.v[i].ok && c->mwi[i].kind == MW_CHAIN) {
            flatten_chain(c, i);
        }
    }
    for (uint32_t i = 0; i < c->mws.n; i++) {
        nok += c->mws.v[i].ok;
    }
    if (c->rc != 0) {
        return c->rc;
    }
    nok += count_redirects(c); /* room for the entry point redirections' middlewares */
    if (nok > 0 && !(c->parts.middlewares = calloc(nok, sizeof *c->parts.middlewares))) {
        return c->rc = -ENOMEM;
    }
    /* Name order, as table_middleware_find needs; the built objects move into the parts. */
    for (uint32_t i = 0; i < c->mws.n && c->rc == 0; i++) {
        struct cand *k = &c->mws.v[i];
        struct table_middleware *tm;
        if (!k->ok) {
            continue;
        }
        k->id = c->parts.nmiddlewares++;
        tm = &c->parts.middlewares[k->id];
        *tm = c->mwi[i].built;
        memset(&c->mwi[i].built, 0, sizeof c->mwi[i].built);
        tm->kind = c->mwi[i].kind;
        tm->id = k->id;
        tm->name = dup_or_fail(c, k->full, strlen(k->full));
    }
    if (c->rc == 0) {
        add_redirect_middlewares(c);
    }
    return c->rc;
}

static void mwinfo_free(struct cctx *c)
{
    for (uint32_t i = 0; c->mwi != NULL && i < c->mws.n; i++) {
        struct mwinfo *mi = &c->mwi[i];
        if (mi->built.conf != NULL && mi->built.conf_free != NULL) {
            mi->built.conf_free(mi->built.conf);
        }
        free(mi->leaves);
    }
    free(c->mwi);
    c->mwi = NULL;
}

/* ---- Entry point defaults (entryPoints.<name>.http, compile.h) ---- */

static const struct table_ep_http *ep_http(const struct cctx *c, uint32_t e)
{
    return c->o->ep_http != NULL && e < c->o->n_entrypoints ? &c->o->ep_http[e] : NULL;
}

static uint32_t count_redirects(const struct cctx *c)
{
    uint32_t n = 0;
    for (uint32_t e = 0; e < c->o->n_entrypoints; e++) {
        n += ep_http(c, e) != NULL && ep_http(c, e)->redirect_to != NULL;
    }
    return n;
}

static int mw_by_name(const void *a, const void *b)
{
    return strcmp(((const struct table_middleware *)a)->name,
                  ((const struct table_middleware *)b)->name);
}

static struct table_middleware *find_part_mw(struct cctx *c, const char *name)
{
    struct table_middleware key = {.name = (char *)name};
    return bsearch(&key, c->parts.middlewares, c->parts.nmiddlewares, sizeof key, mw_by_name);
}

/* Appends "redirect-<ep>-to-<target>@internal" (a redirectScheme) for each redirecting entry
 * point, then restores the name order and ids the table needs (routers are compiled after
 * this, so no pointer into the array exists yet; cands' ids are looked up again). */
static void add_redirect_middlewares(struct cctx *c)
{
    char port[8];
    bool added = false;
    for (uint32_t e = 0; e < c->o->n_entrypoints && c->rc == 0; e++) {
        const struct table_ep_http *h = ep_http(c, e);
        struct table_middleware *tm;
        if (h == NULL || h->redirect_to == NULL) {
            continue;
        }
        tm = &c->parts.middlewares[c->parts.nmiddlewares++];
        snprintf(port, sizeof port, "%u", (unsigned)h->redirect_port);
        tm->name = printf_or_fail(c, "redirect-%s-to-%s@internal", c->o->entrypoints[e],
                                  h->redirect_to);
        if (c->rc == 0 &&
            mwc_redirect_scheme_build(h->redirect_scheme ? h->redirect_scheme : "https",
                                      h->redirect_port ? port : NULL, h->redirect_permanent,
                                      tm) != 0) {
            c->rc = -ENOMEM;
        }
        added = true;
    }
    if (!added || c->rc != 0) {
        return;
    }
    qsort(c->parts.middlewares, c->parts.nmiddlewares, sizeof *c->parts.middlewares, mw_by_name);
    for (uint32_t i = 0; i < c->parts.nmiddlewares; i++) {
        c->parts.middlewares[i].id = i;
    }
    for (uint32_t i = 0; i < c->mws.n; i++) {
        if (c->mws.v[i].ok) {
            c->mws.v[i].id = find_part_mw(c, c->mws.v[i].full)->id;
        }
    }
}

/* Room for one more router in the parts (routers are compiled one copy per default list). */
static struct table_router *next_router(struct cctx *c, uint32_t *cap)
{
    if (c->parts.nrouters == *cap) {
        uint32_t ncap = *cap ? *cap * 2 : 16;
        struct table_router *v = realloc(c->parts.routers, ncap * sizeof *v);
        if (v == NULL) {
            c->rc = -ENOMEM;
            return NULL;
        }
        memset(v + *cap, 0, (ncap - *cap) * sizeof *v);
        c->parts.routers = v;
        *cap = ncap;
    }
    return &c->parts.routers[c->parts.nrouters];
}

static bool same_defaults(const struct table_ep_http *a, const struct table_ep_http *b)
{
    uint32_t na = a ? a->n_middlewares : 0, nb = b ? b->n_middlewares : 0;
    if (na != nb) {
        return false;
    }
    for (uint32_t i = 0; i < na; i++) {
        if (strcmp(str(a->middlewares[i]), str(b->middlewares[i])) != 0) {
            return false;
        }
    }
    return true;
}

/* The middlewares of router `k` on entry point `e`: the entry point's defaults, then the
 * router's own (`own`). Returns false after reporting a default that does not resolve. */
static bool defaults_then_own(struct cctx *c, const struct cand *k, uint32_t e,
                              const struct table_router *own, struct table_router *tr)
{
    const struct table_ep_http *h = ep_http(c, e);
    const struct table_middleware **list = NULL;
    uint32_t n = 0;
    char path[400], note[300];
    bool ok = true;
    snprintf(note, sizeof note, " (router %s is not served on entry point %s)", k->full,
             c->o->entrypoints[e]);
    for (uint32_t i = 0; h != NULL && i < h->n_middlewares && c->rc == 0; i++) {
        snprintf(path, sizeof path, "entryPoints.%s.http.middlewares[%u]", c->o->entrypoints[e],
                 i);
        ok = add_mw_ref(c, k->ns, str(h->middlewares[i]), k->mark, path, note, &list, &n) && ok;
    }
    if (ok && c->rc == 0 && own->nmws > 0) {
        const struct table_middleware **v = realloc((void *)list, (n + own->nmws) * sizeof *v);
        if (v == NULL) {
            c->rc = -ENOMEM;
        } else {
            list = v;
            memcpy(list + n, own->mws, own->nmws * sizeof *list);
            n += own->nmws;
        }
    }
    if (!ok || c->rc != 0 || n == 0) {
        free((void *)list);
        return ok && c->rc == 0;
    }
    tr->mws = list;
    tr->nmws = n;
    return true;
}

/* Entry point names -> bits; names this node lacks are warnings (docs: "Entry points"). */
static void attach_entrypoints(struct cctx *c, const struct cand *k, struct table_router *tr)
{
    char path[400], field[80];
    const Router *r = k->msg;
    uint32_t n = c->o->n_entrypoints;
    if (r->n_entry_points == 0) {
        tr->entrypoints = n == 64 ? UINT64_MAX : (UINT64_C(1) << n) - 1;
        return;
    }
    for (size_t i = 0; i < r->n_entry_points; i++) {
        const char *name = str(r->entry_points[i]);
        uint32_t b = 0;
        while (b < n && strcmp(c->o->entrypoints[b], name) != 0) {
            b++;
        }
        if (b < n) {
            tr->entrypoints |= UINT64_C(1) << b;
            continue;
        }
        snprintf(field, sizeof field, "entryPoints[%zu]", i);
        report(c, DIAG_WARNING, k->mark, key(path, sizeof path, k, field),
               "entry point \"%s\" is not defined on this node", name);
    }
}

/* Moves a compiled router into the parts (names copied). */
static void push_router(struct cctx *c, const struct cand *k, struct table_router *tr,
                        uint32_t *cap)
{
    struct table_router *slot = next_router(c, cap);
    const Router *r = k->msg;
    if (slot == NULL) {
        rule_free((struct rule *)tr->compiled);
        free((void *)tr->mws);
        return;
    }
    *slot = *tr;
    c->parts.nrouters++; /* counted before the copies, so fini frees a partial one */
    slot->name = dup_or_fail(c, k->full, strlen(k->full));
    slot->rule = dup_or_fail(c, str(r->rule), strlen(str(r->rule)));
}

static void compile_router(struct cctx *c, const struct cand *k, uint32_t *cap)
{
    struct table_router base = {0};
    char path[400];
    const Router *r = k->msg;
    uint64_t left;
    bool ok = check_rule(c, k, &base);
    bool first = true;
    ok = check_service_ref(c, k, &base) && ok;
    ok = check_middlewares(c, k, &base) && ok;
    if (!ok || c->rc != 0) {
        rule_free((struct rule *)base.compiled);
        free((void *)base.mws);
        return;
    }
    attach_entrypoints(c, k, &base);
    if (r->tls != NULL && base.entrypoints != 0) {
        /* Traefik serves a router with `tls` on TLS connections only, never on cleartext:
         * until TLS lands it is served nowhere (serving it in clear could also let it win
         * over a cleartext router that asks for credentials). */
        report(c, DIAG_WARNING, r->tls->mark ? r->tls->mark : k->mark,
               key(path, sizeof path, k, "tls"),
               "TLS is not supported yet: this router (TLS only in Traefik) is not served");
        base.entrypoints = 0;
    }
    /* One copy per distinct list of entry point default middlewares (compile.h). */
    left = base.entrypoints;
    while (left != 0 && c->rc == 0) {
        uint32_t b = (uint32_t)__builtin_ctzll(left);
        struct table_router tr = base;
        struct err e = {0};
        struct rule *rule = NULL;
        tr.entrypoints = 0;
        for (uint32_t e2 = b; e2 < 64; e2++) {
            if ((left >> e2 & 1) && same_defaults(ep_http(c, b), ep_http(c, e2))) {
                tr.entrypoints |= UINT64_C(1) << e2;
            }
        }
        left &= ~tr.entrypoints;
        tr.mws = NULL; /* each copy owns its list: defaults + the router's own */
        tr.nmws = 0;
        if (!defaults_then_own(c, k, b, &base, &tr)) {
            continue;
        }
        if (!first) {
            /* Each copy owns its rule: parse the text again, with the router's syntax. */
            enum rule_syntax rs = strcmp(str(r->rule_syntax), "v2") == 0 ? RULE_V2 : RULE_V3;
            if (rule_parse_syntax(str(r->rule), rs, &rule, &e) != 0) {
                c->rc = -ENOMEM; /* it parsed once: only memory can fail it now */
                free((void *)tr.mws);
                break;
            }
            tr.compiled = rule;
        }
        push_router(c, k, &tr, cap);
        if (first) {
            base.compiled = NULL; /* moved into the first copy */
        }
        first = false;
    }
    if (base.entrypoints == 0) {
        /* Attached to no entry point of this node: kept (explain lists it), never matched. */
        push_router(c, k, &base, cap);
        return;
    }
    rule_free((struct rule *)base.compiled);
    free((void *)base.mws);
}

/* The routers of the entry point redirections (compile.h). */
static void add_redirect_routers(struct cctx *c, uint32_t *cap)
{
    for (uint32_t e = 0; e < c->o->n_entrypoints && c->rc == 0; e++) {
        const struct table_ep_http *h = ep_http(c, e);
        struct table_router *tr;
        struct err er = {0};
        struct rule *rule = NULL;
        const struct table_middleware **mws;
        char *mwname;
        if (h == NULL || h->redirect_to == NULL || (tr = next_router(c, cap)) == NULL) {
            continue;
        }
        mwname = printf_or_fail(c, "redirect-%s-to-%s@internal", c->o->entrypoints[e],
                                h->redirect_to);
        mws = calloc(1, sizeof *mws);
        if (mwname == NULL || mws == NULL || rule_parse("PathPrefix(`/`)", &rule, &er) != 0) {
            free(mwname);
            free((void *)mws);
            c->rc = -ENOMEM;
            return;
        }
        mws[0] = find_part_mw(c, mwname);
        free(mwname);
        c->parts.nrouters++;
        tr->compiled = rule;
        tr->mws = mws;
        tr->nmws = 1;
        tr->priority = h->redirect_priority;
        tr->entrypoints = UINT64_C(1) << e;
        tr->name = printf_or_fail(c, "%s-to-%s@internal", c->o->entrypoints[e], h->redirect_to);
        tr->rule = dup_or_fail(c, "PathPrefix(`/`)", 15);
    }
}

static int compile_routers(struct cctx *c)
{
    uint32_t cap = 0;
    if (collect(c, &c->rts, SEC_ROUTERS) != 0) {
        return c->rc;
    }
    for (uint32_t i = 0; i < c->rts.n && c->rc == 0; i++) {
        if (c->rts.v[i].ok) {
            compile_router(c, &c->rts.v[i], &cap);
        }
    }
    add_redirect_routers(c, &cap);
    return c->rc;
}

static bool bad_ns(const char *ns)
{
    return ns == NULL || ns[0] == '\0' || strchr(ns, '@') != NULL;
}

int table_compile(const struct table_source *srcs, uint32_t nsrcs,
                  const struct table_compile_opts *o, struct table **out, struct diags *d)
{
    struct diags local;
    struct cctx c = {.srcs = srcs, .nsrcs = nsrcs, .o = o, .d = d, .dry = out == NULL};
    if (o->n_entrypoints > 64) {
        return -EINVAL;
    }
    if (d == NULL) {
        diags_init(&local);
        c.d = &local;
    }
    for (uint32_t i = 0; i < nsrcs; i++) {
        if (bad_ns(srcs[i].ns)) {
            return -EINVAL;
        }
    }
    if (compile_services(&c) == 0 && compile_middlewares(&c) == 0) {
        compile_routers(&c);
    }
    mwinfo_free(&c);
    svc_fini(&c);
    cands_fini(&c.svcs);
    cands_fini(&c.rts);
    cands_fini(&c.mws);
    free(c.specs);
    if (d == NULL) {
        diags_fini(&local);
    }
    if (c.rc != 0 || out == NULL) {
        table_parts_fini(&c.parts);
        return c.rc;
    }
    *out = table_assemble(&c.parts, o->generation);
    return *out ? 0 : -ENOMEM;
}
