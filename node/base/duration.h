/* Go-style durations ("500ms", "1m30s") and bare integers meaning seconds, as Traefik reads. */
#ifndef CONCORD_BASE_DURATION_H
#define CONCORD_BASE_DURATION_H

#include <stdint.h>

/* Parses `s` into milliseconds. Units: ns us µs ms s m h (fractions allowed: "1.5s");
 * a bare integer is seconds; "0" is 0. Sub-millisecond values round up to 1 ms unless zero.
 * Errors: -EINVAL on syntax, -ERANGE on overflow or a negative value. */
int duration_parse_ms(const char *s, uint64_t *out_ms);

#endif
