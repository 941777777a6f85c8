/* proxyctl output helpers shared by the commands' `-o json` and `-o yaml` printers. */
#ifndef CONCORD_CTL_OUTPUT_H
#define CONCORD_CTL_OUTPUT_H

#include <stdio.h>

/* Writes `s` as a double-quoted JSON string (escapes '"', '\\' and control characters; other
 * bytes, UTF-8 included, are copied). The result is also a valid YAML double-quoted scalar. */
void output_quote(FILE *out, const char *s);

#endif
