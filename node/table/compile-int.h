/* Internal to node/table: what the compile files share (compile.c drives; compile_svc.c
 * compiles services and their servers, compile_svc_kinds.c the service kinds beyond a plain
 * load balancer, sticky cookies and serversTransports). Nothing outside node/table includes
 * this. */
#ifndef CONCORD_TABLE_COMPILE_INT_H
#define CONCORD_TABLE_COMPILE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "node/base/diag.h"
#include "node/table/compile.h"
#include "node/table/compile_mw.h"
#include "node/table/table-build.h"

/* One named object of one source, before it is compiled. */
struct cand {
    const char *section; /* "services", "routers" or "middlewares", for key paths */
    const char *ns;
    const char *raw; /* the name as written: the key in diagnostics' paths */
    char *full;      /* "name@ns" */
    const Mark *mark;
    const void *msg; /* Service, Router or Middleware */
    uint32_t order;  /* position across the sources: duplicates sort stably */
    bool ok;
    uint32_t id;           /* services, middlewares: index in parts.<section> once compiled */
    uint32_t spec0, nspec; /* services: their servers in cctx.specs */
};

struct cands {
    struct cand *v;
    uint32_t n;
};

/* One server line of one service, parsed from its URL, before deduplication. */
struct spec {
    const char *url;
    const Mark *mark;
    const struct cand *svc;
    uint32_t slot; /* index in the service's servers, for key paths */
    char host[256];
    uint16_t port;
    bool bracketed; /* host was an [IPv6] literal */
    size_t auth_off, auth_len;
    size_t path_off;
    struct sockaddr_storage addr; /* IP literals only; addrlen 0 for a host name */
    uint32_t addrlen;
    uint32_t weight;
    uint32_t server; /* id once deduplicated */
};

/* A middleware candidate while compiling: its built object (before it moves into the parts),
 * and for a chain, the flattened leaves (indices into cctx.mws). */
struct mwinfo {
    enum mw_kind kind;
    const char *type_key;
    struct table_middleware built;
    uint8_t visit; /* chains: 0 not yet, 1 being flattened, 2 done */
    uint32_t *leaves;
    uint32_t nleaves;
};

struct cctx {
    const struct table_source *srcs;
    uint32_t nsrcs;
    const struct table_compile_opts *o;
    struct diags *d;
    bool dry;
    int rc; /* -ENOMEM once an allocation failed */
    struct cands svcs, rts, mws;
    struct mwinfo *mwi; /* parallel to mws */
    struct spec *specs;
    uint32_t nspecs, capspecs;
    struct table_parts parts;
    struct svcx *svx;  /* parallel to svcs (compile_svc_kinds.c) */
    struct tpcand *tps; /* every serversTransport, sorted by name */
    uint32_t ntps;
};

/* Helpers of compile.c (c->rc is set to -ENOMEM when an allocation fails). */
const char *cc_str(const char *s); /* NULL -> "" */
char *cc_dup(struct cctx *c, const char *s);
/* "x" -> "x@ns"; "x@other" stays. NULL on ENOMEM. */
char *cc_qualify(struct cctx *c, const char *ns, const char *ref);
void cc_report(struct cctx *c, enum diag_severity sev, const Mark *m, const char *path,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Key path of an object or one of its fields: "http.services.web" + ".loadBalancer". */
const char *cc_key(char *buf, size_t size, const struct cand *k, const char *field);
const struct cand *cc_find(const struct cands *l, const char *full);
/* Gathers the services of every source into c->svcs, sorted, duplicates disabled. */
int cc_collect_services(struct cctx *c);

/* compile_svc.c: every service (c->parts.services, c->parts.servers, c->parts.transports). */
int compile_services(struct cctx *c);

/* compile_svc_kinds.c, in the order compile_services() calls them:
 * svc_prepare: after the services were collected: compiles http.serversTransports;
 * svc_check: the checks of one service beyond its servers (the kind's own fields, sticky,
 *   serversTransport, responseForwarding); false after reporting an error;
 * svc_check_refs: resolves references between services (must exist and be enabled, no
 *   cycles) and disables, with an error, every service that references a disabled one;
 * svc_fill: the kind's fields of one table service (ids of every service are set);
 * svc_fini: frees what svc_prepare and svc_check kept (safe after any failure). */
int svc_prepare(struct cctx *c);
bool svc_check(struct cctx *c, struct cand *k);
int svc_check_refs(struct cctx *c);
int svc_fill(struct cctx *c, const struct cand *k, struct table_service *ts);
void svc_fini(struct cctx *c);

#endif
