/* Request-target helpers: path normalisation (the one form we route on and forward) and
 * host normalisation for matching. Pure functions, no allocation. */
#ifndef CONCORD_HTTP_URI_H
#define CONCORD_HTTP_URI_H

#include <stddef.h>
#include <stdint.h>

/* Normalises the path part of an origin-form target (everything before '?'):
 *   - percent-escapes of unreserved characters (ALPHA DIGIT - . _ ~) are decoded ("/%61" ->
 *     "/a"); other escapes stay encoded, upper-cased ("%2f" -> "%2F"), so "%2F" never becomes
 *     a path separator;
 *   - "." and ".." segments are removed and runs of '/' merged (Traefik's sanitizePath);
 *   - an empty path becomes "/".
 * `out` must hold at least len + 1 bytes. Returns the output length, or -400 for a malformed
 * escape ("%zz", a '%' at the end), an encoded NUL ("%00"), or a path not starting with '/'. */
int uri_normalize_path(const char *in, size_t len, char *out);

/* The path the router rules see (traefik-rules.md "Routing path"), from a uri_normalize_path()
 * result: escapes of characters that are not RFC 3986 reserved are decoded ("%20" -> ' ',
 * "%7B" -> '{', "%C3%A9" -> the two raw bytes), reserved ones stay encoded
 * ("%2F %3A %3F %23 %5B %5D %40 %21 %24 %26 %27 %28 %29 %2A %2B %2C %3B %3D %25"), so the path's
 * structure cannot change. Only the matchers use it; the proxy forwards the encoded form.
 * `out` must hold len bytes and may be `in` (decoding in place). Returns the output length. */
size_t uri_route_path(const char *in, size_t len, char *out);

/* Writes the host of a Host value or authority into `out` lower-cased, without port and
 * without a trailing dot ("Example.COM.:8080" -> "example.com", "[::1]:80" -> "::1").
 * `out` must hold len bytes. Returns the output length. */
size_t uri_normalize_host(const char *in, size_t len, char *out);

/* The port of a Host value or authority, or 0 when absent or invalid. */
unsigned uri_host_port(const char *in, size_t len);

#endif
