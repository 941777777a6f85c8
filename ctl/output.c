/* proxyctl output helpers: string quoting for JSON and YAML, aligned tables. */
#include "ctl/output.h"

#include <stdlib.h>
#include <string.h>

void output_quote(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                fprintf(out, "\\u%04x", *p);
            } else {
                fputc(*p, out);
            }
        }
    }
    fputc('"', out);
}

void output_table(FILE *out, const char *const *cells, size_t nrows, size_t ncols)
{
    size_t *w = calloc(ncols ? ncols : 1, sizeof *w);
    if (w == NULL) {
        return;
    }
    for (size_t r = 0; r < nrows; r++) {
        for (size_t c = 0; c < ncols; c++) {
            const char *s = cells[r * ncols + c];
            size_t n = strlen(s ? s : "-");
            w[c] = n > w[c] ? n : w[c];
        }
    }
    for (size_t r = 0; r < nrows; r++) {
        for (size_t c = 0; c < ncols; c++) {
            const char *s = cells[r * ncols + c];
            if (c + 1 == ncols) {
                fprintf(out, "%s\n", s ? s : "-");
            } else {
                fprintf(out, "%-*s  ", (int)w[c], s ? s : "-");
            }
        }
    }
    free(w);
}
