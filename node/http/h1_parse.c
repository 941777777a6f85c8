/* Strict HTTP/1.1 message-head parser: end-of-head search under limits, start line, fields. */
#include "node/http/h1_internal.h"

#include <limits.h>
#include <string.h>

/* Generated from the RFC 9110/9112/3986 ABNF; see the H1_C_* bits in h1_internal.h. */
/* clang-format off */
const uint8_t h1_cclass[256] = { /* one row per 16 bytes, from 0x00 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x22, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x22, 0x2f, 0x06, 0x23, 0x2f, 0x23, 0x2f, 0x2f, 0x2e, 0x2e, 0x2f, 0x2f, 0x26, 0x2f, 0x2f, 0x26,
    0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x26, 0x2e, 0x26, 0x2e, 0x26, 0x26,
    0x26, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f,
    0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x26, 0x06, 0x26, 0x27, 0xaf,
    0x27, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f,
    0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x26, 0x27, 0x26, 0x2f, 0x00,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
};
/* clang-format on */

/* More empty lines than this before a request line are an attack, not robustness (C8). */
#define H1_MAX_EMPTY_LINES 4

/* Limits in the form the scanner uses: the field count is capped by the caller's array too,
 * and the head length by INT_MAX so it always fits the int return value. */
struct h1_lim {
    size_t start_line;
    size_t field_line;
    size_t head;
    uint32_t fields;
};

void h1_limits_default(struct h1_limits *l)
{
    l->max_request_line = 8192;
    l->max_field_line = 8192;
    l->max_head = 65536;
    l->max_headers = 100;
}

bool h1_ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (h1_lower((unsigned char)a[i]) != h1_lower((unsigned char)b[i])) {
            return false;
        }
    }
    return true;
}

const struct h1_header *h1_find(const struct h1_msg *msg, const char *name)
{
    size_t n = strlen(name);
    for (uint32_t i = 0; i < msg->nheaders; i++) {
        const struct h1_header *h = &msg->headers[i];
        if (h->name_len == n && h1_ieq(h->name, name, n)) {
            return h;
        }
    }
    return NULL;
}

static int fail(struct h1_msg *msg, int status, const char *why)
{
    msg->error = why;
    return -status;
}

static void effective_limits(struct h1_lim *L, const struct h1_limits *lim, uint32_t max_hdrs)
{
    struct h1_limits def;
    if (lim == NULL) {
        h1_limits_default(&def);
        lim = &def;
    }
    L->start_line = lim->max_request_line;
    L->field_line = lim->max_field_line;
    L->head = lim->max_head < (uint32_t)INT_MAX ? lim->max_head : (size_t)INT_MAX;
    L->fields = lim->max_headers < max_hdrs ? lim->max_headers : max_hdrs;
}

/* Returns the byte after a line end at p (CRLF or bare LF), or NULL. Safe to call on any byte
 * of a complete head: a CR there is always followed by at least the head's final LF. */
static inline const char *eol(const char *p)
{
    if (*p == '\n') {
        return p + 1;
    }
    if (*p == '\r' && p[1] == '\n') {
        return p + 2;
    }
    return NULL;
}

/* Skips up to H1_MAX_EMPTY_LINES empty lines before a request line (RFC 9112 section 2.2).
 * Returns 1 with *start set, 0 when more input is needed, or a refusal. */
static int skip_empty_lines(const char *buf, size_t len, size_t *start, struct h1_msg *msg)
{
    size_t p = 0;
    for (unsigned n = 0;; n++) {
        if (p == len) {
            return 0;
        }
        if (buf[p] == '\r') {
            if (p + 1 == len) {
                return 0;
            }
            if (buf[p + 1] != '\n') {
                return fail(msg, 400, "bare CR before the request line");
            }
            p += 2;
        } else if (buf[p] == '\n') {
            p += 1;
        } else {
            *start = p;
            return 1;
        }
        if (n + 1 > H1_MAX_EMPTY_LINES) {
            return fail(msg, 400, "too many empty lines before the request line");
        }
    }
}

/* A request line over its limit is 414, unless the method alone is already too long, which
 * RFC 9112 section 3 answers with 501 (bad-input.md C3). */
static int start_line_too_long(const char *p, size_t avail, bool request, struct h1_msg *msg)
{
    if (!request) {
        return fail(msg, 502, "status line too long");
    }
    if (avail > H1_MAX_METHOD) {
        size_t i = 0;
        while (i <= H1_MAX_METHOD && h1_is((unsigned char)p[i], H1_C_TOKEN)) {
            i++;
        }
        if (i > H1_MAX_METHOD) {
            return fail(msg, 501, "method too long");
        }
    }
    return fail(msg, 414, "request line too long");
}

/* Word-at-a-time scanning: eight bytes are checked with a few integer operations and the
 * table is consulted only for the word that holds a stop byte. Loads never pass `end`. */
#define H1_REP(b) (0x0101010101010101ULL * (uint64_t)(b))

static inline uint64_t load8(const char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

/* Non-zero when some byte of w is below n (n <= 128); exact, as no borrow can start from a
 * byte that is not below n. */
static inline uint64_t has_less(uint64_t w, uint8_t n)
{
    return (w - H1_REP(n)) & ~w & H1_REP(0x80);
}

static inline uint64_t has_byte(uint64_t w, uint8_t b)
{
    return has_less(w ^ H1_REP(b), 1);
}

/* memchr(p, '\n', n), with the first 32 bytes checked inline: most lines of a head are that
 * short, and a libc call per line would cost more than the search; longer lines (cookies,
 * user agents) go to memchr's vector loop. */
static inline const char *find_lf(const char *p, size_t n)
{
    const char *end = p + n;
    for (int i = 0; i < 4 && end - p >= 8; i++, p += 8) {
        if (has_byte(load8(p), '\n')) {
            end = p + 8;
            break;
        }
    }
    if (end - p > 8) {
        return memchr(p, '\n', (size_t)(end - p));
    }
    for (; p < end; p++) {
        if (*p == '\n') {
            return p;
        }
    }
    return NULL;
}

/* Finds the end of the head (its first empty line) with one LF search per line and enforces the
 * line, head and field-count limits before any byte is interpreted. Incomplete heads are thus
 * cheap to re-examine, and an oversized one is refused as soon as the bytes prove it. */
static int find_head_end(const char *buf, size_t len, size_t pos, const struct h1_lim *L,
                         bool request, struct h1_msg *msg, size_t *end)
{
    size_t line_max = L->start_line;
    uint32_t nfields = 0;
    for (bool first = true;; first = false) {
        size_t avail = len - pos;
        size_t win = avail < line_max + 2 ? avail : line_max + 2; /* content, CR, LF */
        const char *lf = find_lf(buf + pos, win);
        size_t content = lf != NULL ? (size_t)(lf - (buf + pos)) : avail;
        size_t next = pos + content + 1;
        /* A CR just before the LF (or at the end of what we have) is the line end, not
         * content; a bare CR elsewhere is refused later by the parser. */
        if (content > 0 && buf[pos + content - 1] == '\r') {
            content--;
        }
        if (content > line_max) {
            if (first) {
                return start_line_too_long(buf + pos, avail, request, msg);
            }
            return fail(msg, 431, "field line too long");
        }
        if (lf == NULL) {
            /* With max_head bytes in hand and no end yet, the head cannot fit any more. */
            return len >= L->head ? fail(msg, 431, "head too large") : 0;
        }
        if (next > L->head) {
            return fail(msg, 431, "head too large");
        }
        if (content == 0) {
            if (first) {
                return fail(msg, 400, "empty start line");
            }
            *end = next;
            return 1;
        }
        if (!first && ++nfields > L->fields) {
            return fail(msg, 431, "too many header fields");
        }
        line_max = L->field_line;
        pos = next;
    }
}

static enum h1_method method_id(const char *m, size_t n)
{
    switch (n) {
    case 3:
        if (memcmp(m, "GET", 3) == 0) {
            return H1_M_GET;
        }
        return memcmp(m, "PUT", 3) == 0 ? H1_M_PUT : H1_M_OTHER;
    case 4:
        if (memcmp(m, "POST", 4) == 0) {
            return H1_M_POST;
        }
        return memcmp(m, "HEAD", 4) == 0 ? H1_M_HEAD : H1_M_OTHER;
    case 5:
        if (memcmp(m, "PATCH", 5) == 0) {
            return H1_M_PATCH;
        }
        return memcmp(m, "TRACE", 5) == 0 ? H1_M_TRACE : H1_M_OTHER;
    case 6:
        return memcmp(m, "DELETE", 6) == 0 ? H1_M_DELETE : H1_M_OTHER;
    case 7:
        if (memcmp(m, "OPTIONS", 7) == 0) {
            return H1_M_OPTIONS;
        }
        return memcmp(m, "CONNECT", 7) == 0 ? H1_M_CONNECT : H1_M_OTHER;
    default:
        return H1_M_OTHER;
    }
}

/* Bytes that end or interrupt a request-target: CTL, SP, DEL, non-ASCII, '#', '%'. */
static inline uint64_t target_stop(uint64_t w)
{
    return has_less(w, 0x21) | (w & H1_REP(0x80)) | has_byte(w, 0x7f) | has_byte(w, '#') |
           has_byte(w, '%');
}

/* Bytes that may end a field value: CTLs (HTAB included, which the table then lets pass)
 * and DEL. */
static inline uint64_t value_stop(uint64_t w)
{
    return has_less(w, 0x20) | has_byte(w, 0x7f);
}

/* Scans a request-target. '%' must start a valid pct-encoding, and "%00" is refused here so
 * no later decoding step can produce a NUL (bad-input.md E5). Returns the stop byte. */
static const char *scan_target(const char *p, const char *end, struct h1_msg *msg, int *rc)
{
    for (;;) {
        while (end - p >= 8 && !target_stop(load8(p))) {
            p += 8;
        }
        while (h1_is((unsigned char)*p, H1_C_TARGET)) {
            p++;
        }
        if (*p != '%') {
            return p;
        }
        if (!h1_is((unsigned char)p[1], H1_C_HEX) || !h1_is((unsigned char)p[2], H1_C_HEX)) {
            *rc = fail(msg, 400, "invalid percent-encoding in request-target");
            return NULL;
        }
        if (p[1] == '0' && p[2] == '0') {
            *rc = fail(msg, 400, "%00 in request-target");
            return NULL;
        }
        p += 3;
    }
}

/* "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 section 2.3). p has 9 readable bytes. */
static int parse_version(const char *p, struct h1_msg *msg)
{
    if (memcmp(p, "HTTP/", 5) != 0 || !h1_is((unsigned char)p[5], H1_C_DIGIT) || p[6] != '.' ||
        !h1_is((unsigned char)p[7], H1_C_DIGIT)) {
        return fail(msg, 400, "invalid HTTP version");
    }
    if (p[5] != '1') {
        return fail(msg, 505, "unsupported HTTP major version");
    }
    /* RFC 9110 section 2.5: a higher minor version is processed as the highest we know. */
    msg->version_minor = p[7] == '0' ? 0 : 1;
    return 0;
}

static int parse_absolute_form(struct h1_msg *msg)
{
    const char *t = msg->target;
    const char *end = t + msg->target_len;
    size_t skip;
    if (msg->target_len >= 7 && h1_ieq(t, "http://", 7)) {
        skip = 7;
    } else if (msg->target_len >= 8 && h1_ieq(t, "https://", 8)) {
        skip = 8;
    } else {
        return fail(msg, 400, "invalid request-target");
    }
    const char *a = t + skip;
    const char *p = a;
    while (p < end && *p != '/' && *p != '?') {
        p++;
    }
    /* Userinfo is deprecated (RFC 9110 section 4.2.4) and only serves to confuse readers. */
    if (memchr(a, '@', (size_t)(p - a)) != NULL) {
        return fail(msg, 400, "userinfo in request-target");
    }
    if (p == a || !h1_host_valid(a, (size_t)(p - a))) {
        return fail(msg, 400, "invalid authority in request-target");
    }
    msg->target_form = H1_T_ABSOLUTE;
    msg->abs_authority = a;
    msg->abs_authority_len = (uint32_t)(p - a);
    msg->abs_path = p;
    msg->abs_path_len = (uint32_t)(end - p);
    return 0;
}

static int classify_target(struct h1_msg *msg)
{
    if (msg->method == H1_M_CONNECT) {
        msg->target_form = H1_T_AUTHORITY;
        return fail(msg, 501, "CONNECT is not supported by a reverse proxy");
    }
    if (msg->target[0] == '/') {
        msg->target_form = H1_T_ORIGIN;
        return 0;
    }
    if (msg->target_len == 1 && msg->target[0] == '*') {
        msg->target_form = H1_T_ASTERISK;
        return msg->method == H1_M_OPTIONS ? 0 : fail(msg, 400, "asterisk-form without OPTIONS");
    }
    return parse_absolute_form(msg);
}

static const char *target_error(char c)
{
    if (c == '#') {
        return "fragment in request-target";
    }
    if (c == '\r' || c == '\n') {
        return "request line without HTTP version";
    }
    return "invalid character in request-target";
}

/* method SP request-target SP HTTP-version, single SPs only (RFC 9112 section 3, C1). */
static int parse_request_line(const char *p, const char *end, struct h1_msg *msg, const char **next)
{
    int rc = 0;
    const char *m = p;
    while (h1_is((unsigned char)*p, H1_C_TOKEN)) {
        p++;
    }
    if (p - m > H1_MAX_METHOD) {
        return fail(msg, 501, "method too long");
    }
    if (p == m || *p != ' ') {
        return fail(msg, 400, "invalid method");
    }
    msg->method_str = m;
    msg->method_len = (uint32_t)(p - m);
    msg->method = method_id(m, msg->method_len);

    const char *t = ++p;
    p = scan_target(p, end, msg, &rc);
    if (p == NULL) {
        return rc;
    }
    if (p == t || *p != ' ') {
        return fail(msg, 400, p == t ? "empty request-target" : target_error(*p));
    }
    msg->target = t;
    msg->target_len = (uint32_t)(p - t);

    p++;
    if (end - p < 9) {
        return fail(msg, 400, "invalid HTTP version");
    }
    if ((rc = parse_version(p, msg)) < 0) {
        return rc;
    }
    if ((*next = eol(p + 8)) == NULL) {
        return fail(msg, 400, "invalid HTTP version");
    }
    return classify_target(msg);
}

/* HTTP-version SP 3DIGIT SP reason-phrase (RFC 9112 section 4). A missing "SP reason" is
 * tolerated: it carries no framing, and refusing it would only break old backends. */
static int parse_status_line(const char *p, const char *end, struct h1_msg *msg, const char **next)
{
    int rc;
    if (end - p < 13) {
        return fail(msg, 502, "invalid status line");
    }
    if ((rc = parse_version(p, msg)) < 0) {
        return rc;
    }
    if (p[8] != ' ' || !h1_is((unsigned char)p[9], H1_C_DIGIT) ||
        !h1_is((unsigned char)p[10], H1_C_DIGIT) || !h1_is((unsigned char)p[11], H1_C_DIGIT)) {
        return fail(msg, 502, "invalid status code");
    }
    msg->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    if (msg->status < 100) {
        return fail(msg, 502, "invalid status code");
    }
    p += 12;
    if (*p == ' ') {
        const char *r = ++p;
        while (h1_is((unsigned char)*p, H1_C_VALUE)) {
            p++;
        }
        msg->reason = r;
        msg->reason_len = (uint32_t)(p - r);
    }
    if ((*next = eol(p)) == NULL) {
        return fail(msg, 502, *p == '\r' ? "bare CR in status line" : "invalid status line");
    }
    return 0;
}

/* Field values are the bulk of a head (cookies, user agents), so they get the word-at-a-time
 * path; the word holding a stop byte is finished byte by byte. Every value ends in CR or LF
 * before `end`, which bounds the byte loop. */
static inline const char *scan_value(const char *p, const char *end)
{
    for (;;) {
        while (end - p >= 8 && !value_stop(load8(p))) {
            p += 8;
        }
        for (int i = 0; i < 8; i++, p++) {
            if (!h1_is((unsigned char)*p, H1_C_VALUE)) {
                return p;
            }
        }
    }
}

static const char *name_error(char c)
{
    if (c == ' ' || c == '\t') {
        return "whitespace between field name and colon";
    }
    if (c == '\r' || c == '\n') {
        return "field line without colon";
    }
    return "invalid character in field name";
}

/* One field line at p: name ":" OWS value OWS line-end (RFC 9112 section 5). */
static int parse_field(const char *p, const char *end, struct h1_header *h, struct h1_msg *msg,
                       const char **next)
{
    const char *name = p;
    if (*p == ' ' || *p == '\t') {
        return fail(msg, 400,
                    msg->nheaders > 0 ? "obs-fold line" : "whitespace before the first field");
    }
    uint8_t seen = 0, cls;
    while ((cls = h1_cclass[(unsigned char)*p]) & H1_C_TOKEN) {
        seen |= cls;
        p++;
    }
    if (*p != ':') {
        return fail(msg, 400, name_error(*p));
    }
    if (p == name) {
        return fail(msg, 400, "empty field name");
    }
    h->name = name;
    h->name_len = (uint32_t)(p - name);
    p++;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    const char *v = p;
    p = scan_value(p, end);
    const char *ve = p;
    if ((*next = eol(p)) == NULL) {
        return fail(msg, 400,
                    *p == '\r' ? "bare CR in field value" : "invalid character in field value");
    }
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) {
        ve--;
    }
    h->value = v;
    h->value_len = (uint32_t)(ve - v);
    h->flags = (seen & H1_C_USCORE) ? H1_HF_UNDERSCORE : 0;
    return 0;
}

/* Field lines up to and including the empty line that ends the head. */
static int parse_fields(const char *p, const char *end, struct h1_fstate *fs, uint32_t cap,
                        const char **next)
{
    struct h1_msg *msg = fs->msg;
    int rc;
    while (*p != '\r' && *p != '\n') {
        if (msg->nheaders == cap) { /* find_head_end counted already; kept as a guard */
            return fail(msg, 431, "too many header fields");
        }
        struct h1_header *h = &msg->headers[msg->nheaders];
        if ((rc = parse_field(p, end, h, msg, &p)) < 0) {
            return rc;
        }
        msg->nheaders++;
        if ((rc = h1_field_apply(fs, h)) < 0) {
            return rc;
        }
    }
    *next = eol(p);
    return *next != NULL ? 0 : fail(msg, 400, "bare CR in the final empty line");
}

/* Field lines, then the message-level rules. */
static int parse_rest(const char *p, const char *end, struct h1_fstate *fs, uint32_t cap,
                      enum h1_method req_method)
{
    int rc = parse_fields(p, end, fs, cap, &p);
    return rc < 0 ? rc : h1_fields_finish(fs, req_method);
}

int h1_parse_request(const char *buf, size_t len, const struct h1_limits *lim,
                     struct h1_header *hdrs, uint32_t max_hdrs, struct h1_msg *msg)
{
    struct h1_fstate fs = {.msg = msg, .request = true};
    struct h1_lim L;
    size_t start, end;
    const char *p;
    int rc;

    memset(msg, 0, sizeof *msg);
    msg->headers = hdrs;
    effective_limits(&L, lim, max_hdrs);
    if ((rc = skip_empty_lines(buf, len, &start, msg)) <= 0) {
        return rc;
    }
    if ((rc = find_head_end(buf, len, start, &L, true, msg, &end)) <= 0) {
        return rc;
    }
    if ((rc = parse_request_line(buf + start, buf + end, msg, &p)) < 0) {
        return rc;
    }
    if ((rc = parse_rest(p, buf + end, &fs, L.fields, H1_M_OTHER)) < 0) {
        return rc;
    }
    msg->head_len = (uint32_t)end;
    return (int)end;
}

int h1_parse_response(const char *buf, size_t len, const struct h1_limits *lim,
                      enum h1_method req_method, struct h1_header *hdrs, uint32_t max_hdrs,
                      struct h1_msg *msg)
{
    struct h1_fstate fs = {.msg = msg, .request = false};
    struct h1_lim L;
    size_t end;
    const char *p;
    int rc;

    memset(msg, 0, sizeof *msg);
    msg->headers = hdrs;
    effective_limits(&L, lim, max_hdrs);
    if ((rc = find_head_end(buf, len, 0, &L, false, msg, &end)) == 0) {
        return 0;
    }
    if (rc > 0 && (rc = parse_status_line(buf, buf + end, msg, &p)) == 0) {
        rc = parse_rest(p, buf + end, &fs, L.fields, req_method);
    }
    /* Whatever the backend got wrong, the client is told 502 (bad-input.md H). */
    if (rc < 0) {
        return -502;
    }
    msg->head_len = (uint32_t)end;
    return (int)end;
}
