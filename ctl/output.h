/* proxyctl output helpers shared by the commands' `-o json` and `-o yaml` printers. */
#ifndef CONCORD_CTL_OUTPUT_H
#define CONCORD_CTL_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

/* Writes `s` as a double-quoted JSON string (escapes '"', '\\' and control characters; other
 * bytes, UTF-8 included, are copied). The result is also a valid YAML double-quoted scalar. */
void output_quote(FILE *out, const char *s);

/* Prints `nrows` rows of `ncols` cells (cells[r * ncols + c]; row 0 is the header) as columns
 * two spaces apart, the last one unpadded. A NULL cell prints as "-". */
void output_table(FILE *out, const char *const *cells, size_t nrows, size_t ncols);

#endif
