/* Diagnostics list. */
#include "node/base/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static char *xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (p == NULL) {
        abort();
    }
    return p;
}

void diags_init(struct diags *d)
{
    memset(d, 0, sizeof *d);
}

void diags_fini(struct diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].file);
        free(d->v[i].path);
        free(d->v[i].msg);
    }
    free(d->v);
    memset(d, 0, sizeof *d);
}

void diags_add(struct diags *d, enum diag_severity sev, const char *file, uint32_t line,
               uint32_t col, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        struct diag *v = realloc(d->v, cap * sizeof *v);
        if (v == NULL) {
            abort();
        }
        d->v = v;
        d->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    d->v[d->n] = (struct diag){.severity = sev,
                               .file = xstrdup(file),
                               .line = line,
                               .col = col,
                               .path = xstrdup(path),
                               .msg = xstrdup(msg)};
    d->n++;
    if (sev == DIAG_ERROR) {
        d->nerrors++;
    }
}

static void format_loc(const struct diag *g, char *loc, size_t size)
{
    loc[0] = '\0';
    if (g->file[0] != '\0' && g->line > 0) {
        snprintf(loc, size, "%s:%u:%u: ", g->file, g->line, g->col ? g->col : 1);
    } else if (g->file[0] != '\0') {
        snprintf(loc, size, "%s: ", g->file);
    }
}

int diag_format(const struct diag *g, char *buf, size_t size)
{
    char loc[320];
    format_loc(g, loc, sizeof loc);
    return snprintf(buf, size, "%s%s%s%s%s", loc, g->path, g->path[0] ? ": " : "", g->msg,
                    g->severity == DIAG_WARNING ? " (warning)" : "");
}

void diags_print(const struct diags *d, FILE *out)
{
    char loc[320];
    for (size_t i = 0; i < d->n; i++) {
        const struct diag *g = &d->v[i];
        format_loc(g, loc, sizeof loc);
        fprintf(out, "%s%s: %s%s%s\n", loc, g->severity == DIAG_WARNING ? "warning" : "error",
                g->path, g->path[0] ? ": " : "", g->msg);
    }
}
