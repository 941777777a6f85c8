/* Diagnostics: a list of errors and warnings, each naming file:line:col and a key path. */
#ifndef CONCORD_BASE_DIAG_H
#define CONCORD_BASE_DIAG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum diag_severity { DIAG_WARNING, DIAG_ERROR };

struct diag {
    enum diag_severity severity;
    char *file;    /* may be "" when the source is not a file */
    uint32_t line; /* 1-based; 0 = unknown */
    uint32_t col;  /* 1-based; 0 = unknown */
    char *path;    /* key path, e.g. "http.routers.web.rule"; may be "" */
    char *msg;
};

struct diags {
    struct diag *v;
    size_t n;
    size_t cap;
    size_t nerrors;
};

void diags_init(struct diags *d);
void diags_fini(struct diags *d);

/* Appends one entry (copies every string). Allocation failure aborts: diagnostics are small. */
void diags_add(struct diags *d, enum diag_severity sev, const char *file, uint32_t line,
               uint32_t col, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Formats one entry as "file:line:col: path: message" (parts omitted when unknown) followed
 * by " (warning)" for warnings. Returns the snprintf-style length. */
int diag_format(const struct diag *g, char *buf, size_t size);

/* Writes every entry, one per line, with "error: " / "warning: " prefixes after the location. */
void diags_print(const struct diags *d, FILE *out);

#endif
