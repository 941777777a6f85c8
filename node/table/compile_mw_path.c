/* Compiling the path and redirect middlewares: addPrefix, stripPrefix, stripPrefixRegex,
 * replacePath, replacePathRegex, redirectScheme, redirectRegex. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/table/compile_mw.h"
#include "node/table/regex.h"

static void add_prefix_free(void *p)
{
    struct mwc_add_prefix *a = p;
    free(a->prefix);
    free(a);
}

static bool bad_path_text(const char *s);

int mwc_add_prefix(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out)
{
    const Concord__Config__AddPrefix *in = m->add_prefix;
    const char *prefix = in && in->prefix ? in->prefix : "";
    struct mwc_add_prefix *a;
    /* Traefik requires a prefix ("prefix cannot be empty"); one without the leading slash
     * gets it, as Traefik's addPrefix does. */
    if (prefix[0] == '\0') {
        mwc_error(c, in ? in->mark : NULL, "prefix", "prefix must not be empty");
        return -EINVAL;
    }
    /* It goes into the request line sent upstream, as replacePath's path does. */
    if (bad_path_text(prefix)) {
        mwc_error(c, in->mark, "prefix",
                  "prefix must not hold spaces, '?', '#' or control characters");
        return -EINVAL;
    }
    a = calloc(1, sizeof *a);
    if (a == NULL) {
        return -ENOMEM;
    }
    if (prefix[0] == '/') {
        a->prefix = strdup(prefix);
    } else if ((a->prefix = malloc(strlen(prefix) + 2)) != NULL) {
        a->prefix[0] = '/';
        strcpy(a->prefix + 1, prefix);
    }
    if (a->prefix == NULL) {
        free(a);
        return -ENOMEM;
    }
    out->conf = a;
    out->conf_free = add_prefix_free;
    return 0;
}

/* ---- shared checks ---- */

/* Config text that ends up in a request line or a header field: control characters (CR/LF
 * above all) would let a config value split the message, so they are errors. */
static bool has_ctl(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            return true;
        }
    }
    return false;
}

/* Text bound for a path: also no space, '?' or '#' (they would end the path). */
static bool bad_path_text(const char *s)
{
    return has_ctl(s) || strpbrk(s, " ?#") != NULL;
}

static void strv_free(char **v, uint32_t n)
{
    for (uint32_t i = 0; v != NULL && i < n; i++) {
        free(v[i]);
    }
    free(v);
}

/* ---- stripPrefix ---- */

static void strip_prefix_free(void *p)
{
    struct mwc_strip_prefix *s = p;
    strv_free(s->prefixes, s->n);
    free(s);
}

int mwc_strip_prefix(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out)
{
    const Concord__Config__StripPrefix *in = m->strip_prefix;
    const Mark *mk = in ? in->mark : NULL;
    size_t n = in ? in->n_prefixes : 0;
    struct mwc_strip_prefix *s;
    char field[64];
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = in->prefixes[i] ? in->prefixes[i] : "";
        snprintf(field, sizeof field, "prefixes[%zu]", i);
        if (p[0] == '\0') {
            mwc_error(c, mk, field, "prefix must not be empty");
            rc = -EINVAL;
        } else if (bad_path_text(p)) {
            mwc_error(c, mk, field, "prefix must not hold spaces, '?', '#' or control characters");
            rc = -EINVAL;
        }
    }
    if (rc != 0) {
        return rc;
    }
    if (n == 0) {
        mwc_warning(c, mk, "prefixes", "no prefixes: the middleware does nothing");
    }
    if (!(s = calloc(1, sizeof *s)) || (n > 0 && !(s->prefixes = calloc(n, sizeof *s->prefixes)))) {
        free(s);
        return -ENOMEM;
    }
    /* forceSlash is deprecated in Traefik and defaults to true. */
    s->force_slash = in == NULL || !in->has_force_slash || in->force_slash;
    out->conf = s;
    out->conf_free = strip_prefix_free;
    for (; s->n < n; s->n++) {
        if ((s->prefixes[s->n] = strdup(in->prefixes[s->n])) == NULL) {
            return -ENOMEM;
        }
    }
    return 0;
}

/* ---- stripPrefixRegex ---- */

static void regex_list_free(void *p)
{
    struct mwc_strip_prefix_regex *s = p;
    for (uint32_t i = 0; i < s->n; i++) {
        regex_free(s->re[i]);
    }
    free(s->re);
    free(s);
}

int mwc_strip_prefix_regex(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out)
{
    const Concord__Config__StripPrefixRegex *in = m->strip_prefix_regex;
    const Mark *mk = in ? in->mark : NULL;
    size_t n = in ? in->n_regex : 0;
    struct mwc_strip_prefix_regex *s;
    char field[64];
    int rc = 0;
    if (n == 0) {
        mwc_warning(c, mk, "regex", "no regular expressions: the middleware does nothing");
    }
    if (!(s = calloc(1, sizeof *s)) || (n > 0 && !(s->re = calloc(n, sizeof *s->re)))) {
        free(s);
        return -ENOMEM;
    }
    out->conf = s;
    out->conf_free = regex_list_free;
    for (size_t i = 0; i < n && rc != -ENOMEM; i++) {
        struct regex *re = NULL;
        int r;
        snprintf(field, sizeof field, "regex[%zu]", i);
        r = mwc_regex(c, mk, field, in->regex[i], &re);
        if (r == 0) {
            s->re[s->n++] = re;
        } else if (rc == 0 || r == -ENOMEM) {
            rc = r;
        }
    }
    return rc;
}

/* ---- replacePath ---- */

static void replace_path_free(void *p)
{
    struct mwc_replace_path *r = p;
    free(r->path);
    free(r);
}

/* A copy of `s` with a leading '/' (NULL on ENOMEM). */
static char *with_slash(const char *s)
{
    char *p;
    if (s[0] == '/') {
        return strdup(s);
    }
    if ((p = malloc(strlen(s) + 2)) != NULL) {
        p[0] = '/';
        strcpy(p + 1, s);
    }
    return p;
}

int mwc_replace_path(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out)
{
    const Concord__Config__ReplacePath *in = m->replace_path;
    const char *path = in && in->path ? in->path : "";
    struct mwc_replace_path *r;
    if (path[0] == '\0') {
        mwc_error(c, in ? in->mark : NULL, "path", "path must not be empty");
        return -EINVAL;
    }
    if (bad_path_text(path)) {
        mwc_error(c, in->mark, "path", "path must not hold spaces, '?', '#' or control characters");
        return -EINVAL;
    }
    if ((r = calloc(1, sizeof *r)) == NULL) {
        return -ENOMEM;
    }
    /* A path without its leading slash gets one (a request target must start with '/'). */
    if ((r->path = with_slash(path)) == NULL) {
        free(r);
        return -ENOMEM;
    }
    out->conf = r;
    out->conf_free = replace_path_free;
    return 0;
}

/* ---- replacePathRegex ---- */

static void replace_path_regex_free(void *p)
{
    struct mwc_replace_path_regex *r = p;
    regex_free(r->re);
    free(r->replacement);
    free(r);
}

int mwc_replace_path_regex(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out)
{
    const Concord__Config__ReplacePathRegex *in = m->replace_path_regex;
    const Mark *mk = in ? in->mark : NULL;
    const char *repl = in && in->replacement ? in->replacement : "";
    struct mwc_replace_path_regex *r;
    struct regex *re = NULL;
    int rc = mwc_regex(c, mk, "regex", in ? in->regex : NULL, &re);
    if (has_ctl(repl)) {
        mwc_error(c, mk, "replacement", "replacement must not hold control characters");
        rc = rc ? rc : -EINVAL;
    }
    if (rc != 0) {
        regex_free(re);
        return rc;
    }
    if (repl[0] == '\0') {
        /* Traefik skips the rewrite when the replacement is empty; so do we, but say so. */
        mwc_warning(c, mk, "replacement", "empty replacement: the middleware does nothing");
    }
    if ((r = calloc(1, sizeof *r)) == NULL || (r->replacement = strdup(repl)) == NULL) {
        free(r);
        regex_free(re);
        return -ENOMEM;
    }
    r->re = re;
    out->conf = r;
    out->conf_free = replace_path_regex_free;
    return 0;
}

/* ---- redirectScheme ---- */

static void redirect_scheme_free(void *p)
{
    struct mwc_redirect_scheme *r = p;
    free(r->scheme);
    free(r->port);
    free(r);
}

/* RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
static bool scheme_ok(const char *s)
{
    if (!((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z')) {
        return false;
    }
    for (s++; *s != '\0'; s++) {
        char l = (char)(*s | 0x20);
        if (!((l >= 'a' && l <= 'z') || (*s >= '0' && *s <= '9') || strchr("+-.", *s))) {
            return false;
        }
    }
    return true;
}

static bool port_ok(const char *s)
{
    long v = 0;
    if (s[0] == '\0' || strlen(s) > 5) {
        return false;
    }
    for (const char *p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            return false;
        }
        v = v * 10 + (*p - '0');
    }
    return v >= 1 && v <= 65535;
}

int mwc_redirect_scheme(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out)
{
    const Concord__Config__RedirectScheme *in = m->redirect_scheme;
    const Mark *mk = in ? in->mark : NULL;
    const char *scheme = in && in->scheme ? in->scheme : "";
    const char *port = in && in->port ? in->port : "";
    struct mwc_redirect_scheme *r;
    int rc = 0;
    if (scheme[0] == '\0') {
        mwc_error(c, mk, "scheme", "a target scheme is required");
        rc = -EINVAL;
    } else if (!scheme_ok(scheme)) {
        mwc_error(c, mk, "scheme", "\"%s\" is not a URL scheme", scheme);
        rc = -EINVAL;
    }
    if (port[0] != '\0' && !port_ok(port)) {
        mwc_error(c, mk, "port", "\"%s\" is not a port (1-65535)", port);
        rc = -EINVAL;
    }
    if (rc != 0) {
        return rc;
    }
    if ((r = calloc(1, sizeof *r)) == NULL) {
        return -ENOMEM;
    }
    out->conf = r;
    out->conf_free = redirect_scheme_free;
    r->permanent = in->permanent;
    /* Schemes compare case-insensitively; keep the lower-case form. */
    if ((r->scheme = strdup(scheme)) == NULL || (port[0] && !(r->port = strdup(port)))) {
        return -ENOMEM;
    }
    for (char *p = r->scheme; *p; p++) {
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    }
    return 0;
}

/* ---- redirectRegex ---- */

static void redirect_regex_free(void *p)
{
    struct mwc_redirect_regex *r = p;
    regex_free(r->re);
    free(r->replacement);
    free(r);
}

int mwc_redirect_regex(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out)
{
    const Concord__Config__RedirectRegex *in = m->redirect_regex;
    const Mark *mk = in ? in->mark : NULL;
    const char *repl = in && in->replacement ? in->replacement : "";
    struct mwc_redirect_regex *r;
    struct regex *re = NULL;
    int rc = mwc_regex(c, mk, "regex", in ? in->regex : NULL, &re);
    if (repl[0] == '\0') {
        mwc_error(c, mk, "replacement", "replacement must not be empty");
        rc = rc ? rc : -EINVAL;
    } else if (has_ctl(repl)) {
        mwc_error(c, mk, "replacement", "replacement must not hold control characters");
        rc = rc ? rc : -EINVAL;
    }
    if (rc != 0) {
        regex_free(re);
        return rc;
    }
    if ((r = calloc(1, sizeof *r)) == NULL || (r->replacement = strdup(repl)) == NULL) {
        free(r);
        regex_free(re);
        return -ENOMEM;
    }
    r->re = re;
    r->permanent = in->permanent;
    out->conf = r;
    out->conf_free = redirect_regex_free;
    return 0;
}

int mwc_redirect_scheme_build(const char *scheme, const char *port, bool permanent,
                              struct table_middleware *out)
{
    struct mwc_redirect_scheme *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return -ENOMEM;
    }
    out->conf = r;
    out->conf_free = redirect_scheme_free;
    out->kind = MW_REDIRECT_SCHEME;
    r->permanent = permanent;
    if ((r->scheme = strdup(scheme)) == NULL || (port != NULL && !(r->port = strdup(port)))) {
        return -ENOMEM;
    }
    for (char *p = r->scheme; *p; p++) {
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    }
    return 0;
}
