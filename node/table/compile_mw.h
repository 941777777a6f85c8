/* Internal to node/table: compiling `http.middlewares` objects (compile.c drives it; each
 * middleware type has a compile function in compile_mw_<group>.c, listed in compile_mw.c).
 * Like compile.c, these files see proto types; nothing outside node/table includes this.
 *
 * A kind's compile function validates one middleware message and, when it is usable, sets
 * out->conf and out->conf_free (mw_conf.h). It reports every problem through mwc_error() /
 * mwc_warning(), which add `file:line:col: http.middlewares.<name>.<type>.<field>: msg`.
 * Returns 0 (usable), -EINVAL (the middleware is disabled; at least one error was reported) or
 * -ENOMEM. In a dry run (c->dry) it makes the same checks; it may still build the conf (the
 * caller frees it).
 */
#ifndef CONCORD_TABLE_COMPILE_MW_H
#define CONCORD_TABLE_COMPILE_MW_H

#include <stdbool.h>

#include "node/base/diag.h"
#include "node/table/mw_conf.h"
#include "node/table/table.h"
#include "proto/config.pb-c.h"

typedef Concord__Config__Mark Mark;

struct mwc_ctx {
    struct diags *d;
    const Mark *mark; /* the middleware object's mark: the fallback position */
    const char *path; /* "http.middlewares.<name as written>.<typeKey>" */
    const char *ns;   /* the middleware's namespace */
    bool dry;
    /* Finds an enabled service by reference ("x" means "x@<ns>"); NULL when it does not exist
     * or is disabled (`why` then says which, for the message). */
    const struct table_service *(*find_service)(void *arg, const char *ns, const char *ref,
                                                const char **why);
    void *arg;
    /* table_compile_opts.read_file (NULL: the disk) */
    int (*read_file)(void *arg, const char *ns, const char *path, char **data, size_t *len);
    void *read_arg;
};

/* Adds a diagnostic at `m` (the object's mark when NULL) for `field` under c->path ("" for
 * the type key itself; "regex", "prefixes[1]", ...). */
void mwc_error(struct mwc_ctx *c, const Mark *m, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void mwc_warning(struct mwc_ctx *c, const Mark *m, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Compiles a regex field with the rule language's engine and checks (RE2 syntax). Returns 0,
 * -EINVAL after reporting, or -ENOMEM. */
int mwc_regex(struct mwc_ctx *c, const Mark *m, const char *field, const char *pat,
              struct regex **out);

/* Parses a Traefik duration field ("" gives `dflt`); a bare number is seconds. Returns 0 or
 * -EINVAL after reporting. */
int mwc_duration(struct mwc_ctx *c, const Mark *m, const char *field, const char *s,
                 uint64_t dflt, uint64_t *ms);

/* ipStrategy (NULL: the defaults). Returns 0 or -EINVAL after reporting, or -ENOMEM. */
int mwc_ip_strategy(struct mwc_ctx *c, const char *field,
                    const Concord__Config__IPStrategy *in, struct mwc_ip_strategy *out);
void mwc_ip_strategy_fini(struct mwc_ip_strategy *s);

typedef const Concord__Config__Middleware MwMsg;
typedef int (*mwc_compile_fn)(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out);

/* One per middleware type; a NULL entry in compile_mw.c's table means "not supported yet"
 * (an error, so that a router never runs without, say, its auth). */
int mwc_add_prefix(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out);
int mwc_strip_prefix(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out);
int mwc_strip_prefix_regex(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out);
int mwc_replace_path(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out);
int mwc_replace_path_regex(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out);
int mwc_headers(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out);
int mwc_basic_auth(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out);
int mwc_redirect_scheme(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out);
int mwc_redirect_regex(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out);
int mwc_ip_allow_list(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out);
int mwc_in_flight_req(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out);
int mwc_rate_limit(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out);
int mwc_retry(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out);
int mwc_compress(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out);
int mwc_buffering(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out);
int mwc_errors(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out);
int mwc_content_type(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out);

/* A redirectScheme conf built from code (the entry point redirections): scheme (lower case),
 * port (NULL or digits). Returns 0 or -ENOMEM. */
int mwc_redirect_scheme_build(const char *scheme, const char *port, bool permanent,
                              struct table_middleware *out);

/* The kind and YAML type key of a message ("addPrefix"); false when it has no kind. */
bool mwc_kind_of(MwMsg *m, enum mw_kind *kind, const char **type_key);

/* The compile function of a kind; NULL when not supported yet (MW_CHAIN is compile.c's). */
mwc_compile_fn mwc_compiler(enum mw_kind kind);

#endif
