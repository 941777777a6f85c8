/* Strict, incremental, zero-copy HTTP/1.1 message-head parser and chunked-body decoder.
 *
 * Pure code: no allocation, no I/O, no globals, so it is fuzzable and usable from any thread.
 * The proxy never forwards the client's framing verbatim: it reads the framing decided here
 * (struct h1_msg.body, .content_length) and re-serialises its own. Rules follow RFC 9110/9112
 * and ../shared/docs/bad-input.md sections A-E and H; where the RFC allows leniency we refuse.
 *
 * Ownership: every pointer in struct h1_msg / struct h1_header points into the caller's
 * buffer, which must stay unchanged while the message is in use.
 */
#ifndef CONCORD_HTTP_H1_PARSE_H
#define CONCORD_HTTP_H1_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits applied while parsing; exceeding one yields the status in brackets. */
struct h1_limits {
    uint32_t max_request_line; /* bytes of method + target + version [414; 501 if method] */
    uint32_t max_field_line;   /* bytes of one header line [431] */
    uint32_t max_head;         /* bytes of the whole head incl. request line [431] */
    uint32_t max_headers;      /* number of header fields [431] */
};

/* nginx/HAProxy-like defaults: 8 KiB line, 8 KiB field, 64 KiB head, 100 fields. */
void h1_limits_default(struct h1_limits *l);

enum h1_method {
    H1_M_OTHER = 0, /* a valid token we do not know; the proxy forwards it */
    H1_M_GET,
    H1_M_HEAD,
    H1_M_POST,
    H1_M_PUT,
    H1_M_DELETE,
    H1_M_CONNECT,
    H1_M_OPTIONS,
    H1_M_TRACE,
    H1_M_PATCH,
};

enum h1_body {
    H1_BODY_NONE,    /* no body (CL 0, no CL/TE on a request, HEAD/1xx/204/304 responses) */
    H1_BODY_LENGTH,  /* exactly content_length bytes */
    H1_BODY_CHUNKED, /* chunked; use struct h1_chunked */
    H1_BODY_EOF,     /* responses only: body runs until the upstream closes */
};

/* Request-target forms (RFC 9112 section 3.2). */
enum h1_target {
    H1_T_ORIGIN,    /* "/path?query" */
    H1_T_ABSOLUTE,  /* "http://authority/path?query" */
    H1_T_AUTHORITY, /* CONNECT host:port */
    H1_T_ASTERISK,  /* OPTIONS * */
};

/* Flags on one header field, set by the parser for the fields it interprets. */
enum {
    H1_HF_HOPBYHOP = 1 << 0,   /* Connection, Keep-Alive, Proxy-Connection, TE, Transfer-Encoding,
                                  Upgrade, Trailer, or a field named in Connection */
    H1_HF_FRAMING = 1 << 1,    /* Content-Length or Transfer-Encoding */
    H1_HF_UNDERSCORE = 1 << 2, /* name contains '_' (the proxy drops these, as nginx does) */
    H1_HF_HOST = 1 << 3,       /* the Host field */
};

struct h1_header {
    const char *name;
    const char *value; /* leading/trailing OWS already trimmed */
    uint32_t name_len;
    uint32_t value_len;
    uint32_t flags; /* H1_HF_* */
};

/* Message-level flags. */
enum {
    H1_F_CONN_CLOSE = 1 << 0,      /* "Connection: close" seen, or HTTP/1.0 without keep-alive */
    H1_F_CONN_KEEPALIVE = 1 << 1,  /* "Connection: keep-alive" seen (matters for HTTP/1.0) */
    H1_F_CONN_UPGRADE = 1 << 2,    /* "upgrade" token in Connection */
    H1_F_EXPECT_CONTINUE = 1 << 3, /* request: "Expect: 100-continue" on HTTP/1.1 */
    H1_F_EXPECT_OTHER = 1 << 4,    /* request: another expectation (-> 417) */
    H1_F_HAS_UPGRADE = 1 << 5,     /* an Upgrade field is present */
    H1_F_TE_TRAILERS = 1 << 6,     /* "TE: trailers" */
};

struct h1_msg {
    /* Request line (requests only). */
    enum h1_method method;
    const char *method_str;
    uint32_t method_len;
    enum h1_target target_form;
    const char *target; /* raw request-target as received */
    uint32_t target_len;
    /* For H1_T_ABSOLUTE: the authority (host[:port]) and the origin-form part ("/...", or
     * "?query" or empty when the URI has no path, which means "/" before the query). */
    const char *abs_authority;
    uint32_t abs_authority_len;
    const char *abs_path;
    uint32_t abs_path_len;
    /* Host field value (NULL when absent). Validated syntax: reg-name / IPv4 / [IPv6], with an
     * optional :port of digits. */
    const char *host;
    uint32_t host_len;

    /* Status line (responses only). */
    int status; /* 100..999 */
    const char *reason;
    uint32_t reason_len;

    int version_minor; /* 0 or 1; HTTP/1.2+ is treated as 1.1 (RFC 9110 section 2.5) */

    struct h1_header *headers; /* the caller's array */
    uint32_t nheaders;

    enum h1_body body;
    uint64_t content_length; /* valid when body == H1_BODY_LENGTH */
    uint32_t flags;          /* H1_F_* */
    uint32_t head_len;       /* bytes of the head including the final CRLFCRLF */

    const char *error; /* static text saying why parsing failed (for logs and tests) */
};

/* Return values of the head parsers:
 *   > 0  the head is complete; the value is its length in bytes (also msg->head_len)
 *   0    incomplete: call again with more bytes (the same buffer, extended)
 *   < 0  refused: the negated HTTP status to answer with (-400, -414, -431, -501, -505);
 *        msg->error says why. For responses every refusal is -502.
 * head_len counts from buf[0], so it includes skipped empty lines (C8). `lim` may be NULL
 * (defaults). Limits are enforced before the end of the head is seen: a start line longer
 * than max_request_line (it bounds status lines too) -> -414 (-501 if the method alone
 * passes H1_MAX_METHOD), a field line longer than max_field_line -> -431, a head that cannot
 * end within max_head bytes -> -431, more than min(max_headers, max_hdrs) fields -> -431.
 * Line lengths exclude CRLF; a head of exactly max_head bytes is accepted.
 *
 * Requests (RFC 9112 section 3, bad-input.md A, C, D, E):
 *   - up to 4 empty lines before the request line are skipped (C8); more -> -400
 *   - method: token; over 32 bytes (> H1_MAX_METHOD) -> -501; an invalid token -> -400
 *   - single SP separators, no other whitespace (C1); target of VCHARs only: no CTL, SP,
 *     NUL, '#' or byte >= 0x80 (C7, C11); '%' must start a valid %XX, and "%00" -> -400 (E5)
 *   - "HTTP/1.0", "HTTP/1.1", "HTTP/1.x" (x > 1, as 1.1); "HTTP/2.0" and other majors -> -505;
 *     any other spelling (lower case, "HTTP/1.10", missing) -> -400; HTTP/0.9 -> -400 (C6)
 *   - "*" only with OPTIONS; CONNECT -> -501 (we are a reverse proxy); absolute-form is
 *     accepted with scheme http or https (case-insensitive)
 *   - line ends: CRLF; a bare LF ends a line too (D8, re-serialised by the proxy), a bare CR
 *     anywhere -> -400 (D9)
 *   - fields: name is a token (D5, D6), no whitespace before ':' (D1), no obs-fold (D2) and no
 *     whitespace-led first field (D3), value without any CTL but HTAB (D7, stricter than
 *     the RFC's NUL/CR/LF); obs-text allowed (D12)
 *   - Content-Length: 1*DIGIT; identical repeated values (in one line as a list or across
 *     lines) collapse to one; differing values, empty, signs, overflow past 2^63 -> -400
 *   - Transfer-Encoding (all lines combined as one list): exactly one coding "chunked"
 *     (case-insensitive) -> chunked; any parameter, chunked twice, chunked not last, or a
 *     known coding (gzip, deflate, compress, identity, x-gzip) -> -400; an unknown coding -> -501;
 *     an empty list element -> -400; TE with Content-Length -> -400 (A1); TE on HTTP/1.0 ->
 *     -400 (A13)
 *   - Host: exactly one on HTTP/1.1 (E1, E2); syntax checked (E3); empty Host is -400 unless
 *     the target is absolute-form
 *   - Connection naming Host, Content-Length or Transfer-Encoding -> -400 (F1); options
 *     must be tokens, at most 32 per message (CPU bound on marking), else -400
 *   - Expect on HTTP/1.1: exactly "100-continue" (case-insensitive) -> H1_F_EXPECT_CONTINUE,
 *     anything else -> H1_F_EXPECT_OTHER; ignored on HTTP/1.0
 *   - no TE and no CL on a request -> H1_BODY_NONE
 *
 * Responses (H): status-line "HTTP/1.x DDD reason" (status 100..999; a missing " reason" is
 *   tolerated); no empty lines before it; the same field rules with every refusal as -502;
 *   framing per RFC 9112 section 6.3 using `req_method` (HEAD) and the status (1xx/204/304 ->
 *   none, whatever CL/TE say, though they are still validated); otherwise TE exactly
 *   "chunked" -> chunked (any other coding -> -502 rather than close-delimited); CL -> length
 *   (CL 0 -> none); neither -> H1_BODY_EOF. CL with TE -> -502 (H1). Host, Expect and TE are
 *   not interpreted in responses.
 */
#define H1_MAX_METHOD 32

int h1_parse_request(const char *buf, size_t len, const struct h1_limits *lim,
                     struct h1_header *hdrs, uint32_t max_hdrs, struct h1_msg *msg);

int h1_parse_response(const char *buf, size_t len, const struct h1_limits *lim,
                      enum h1_method req_method, struct h1_header *hdrs, uint32_t max_hdrs,
                      struct h1_msg *msg);

/* Case-insensitive lookup of the first field named `name`; NULL if none. */
const struct h1_header *h1_find(const struct h1_msg *msg, const char *name);

/* Whether a field is one the proxy writes itself on every message it sends (framing and
 * hop-by-hop: Content-Length, Transfer-Encoding, Connection, Keep-Alive, Upgrade, TE, Trailer,
 * Proxy-Connection), so configuration may not set it. Case-insensitive. */
bool h1_field_proxy_owned(const char *name);

/* Incremental chunked-body decoder (RFC 9112 section 7.1, bad-input.md B).
 * Strict: chunk-size is 1*HEXDIG (at most 15 digits, else -413), optional BWS only before
 * ';', chunk-ext grammar checked and limited to `max_ext` bytes per chunk (else -400),
 * every line ends in CRLF (a bare LF or CR -> -400), chunk data must be followed by CRLF (B3).
 * Trailer fields are parsed for syntax, limited to `max_trailers` bytes (-431), and dropped:
 * they are never promoted to headers (B8). */
struct h1_chunked {
    int state;
    uint64_t remaining; /* data bytes left in the current chunk */
    uint32_t ext_len;
    uint32_t trailer_len;
    uint32_t line_len;
    uint32_t max_ext;      /* default 4096 when 0 */
    uint32_t max_trailers; /* default 8192 when 0 */
    const char *error;     /* static text saying why decoding failed (for logs and tests) */
};

/* Zeroes *c (limits too: set max_ext / max_trailers after this call). */
void h1_chunked_init(struct h1_chunked *c);

/* Consumes bytes from `in`. Results:
 *   H1_CHUNK_DATA: *data / *data_len is a slice of body data inside `in` (in place, no copy)
 *   H1_CHUNK_NEED: all of `in` was consumed as framing; call again with more input
 *   H1_CHUNK_DONE: the last chunk and trailers ended; bytes after them are not consumed
 *   < 0         : negated status (-400, -413, -431); the connection must be closed
 * `*consumed` is the number of bytes of `in` used in every case (framing plus the data slice). */
enum { H1_CHUNK_NEED = 0, H1_CHUNK_DATA = 1, H1_CHUNK_DONE = 2 };
int h1_chunked_next(struct h1_chunked *c, const char *in, size_t len, size_t *consumed,
                    const char **data, size_t *data_len);

#endif
