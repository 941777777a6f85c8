/* Field rules of an HTTP/1 head: framing (CL/TE), Connection, Host, Expect, and body length. */
#include "node/http/h1_internal.h"

#include <string.h>
#include <strings.h>

/* No client needs more Connection options than this; the cap bounds the cost of marking the
 * fields they name (options x fields) on hostile input. */
#define H1_MAX_CONN_OPTIONS 32

/* Content-Length values above this are refused (RFC 9110 section 8.6: prevent overflow). */
#define H1_MAX_CL ((uint64_t)INT64_MAX)

enum field_id {
    F_OTHER,
    F_HOST,
    F_CONTENT_LENGTH,
    F_TRANSFER_ENCODING,
    F_CONNECTION,
    F_KEEP_ALIVE,
    F_PROXY_CONNECTION,
    F_TE,
    F_UPGRADE,
    F_TRAILER,
    F_EXPECT,
};

static int fail(struct h1_msg *msg, int status, const char *why)
{
    msg->error = why;
    return -status;
}

/* Compares a token with a lower-case literal of the same length. */
static bool is(const char *s, size_t n, const char *lit, size_t litn)
{
    return n == litn && h1_ieq(s, lit, n);
}
#define IS(s, n, lit) is((s), (n), lit, sizeof(lit) - 1)

/* The switch on length rejects nearly every ordinary field with one comparison. */
static enum field_id field_id(const char *n, uint32_t len)
{
    switch (len) {
    case 2:
        return IS(n, len, "te") ? F_TE : F_OTHER;
    case 4:
        return IS(n, len, "host") ? F_HOST : F_OTHER;
    case 6:
        return IS(n, len, "expect") ? F_EXPECT : F_OTHER;
    case 7:
        if (IS(n, len, "upgrade")) {
            return F_UPGRADE;
        }
        return IS(n, len, "trailer") ? F_TRAILER : F_OTHER;
    case 10:
        if (IS(n, len, "connection")) {
            return F_CONNECTION;
        }
        return IS(n, len, "keep-alive") ? F_KEEP_ALIVE : F_OTHER;
    case 14:
        return IS(n, len, "content-length") ? F_CONTENT_LENGTH : F_OTHER;
    case 16:
        return IS(n, len, "proxy-connection") ? F_PROXY_CONNECTION : F_OTHER;
    case 17:
        return IS(n, len, "transfer-encoding") ? F_TRANSFER_ENCODING : F_OTHER;
    default:
        return F_OTHER;
    }
}

/* Walks the elements of a #list (RFC 9110 section 5.6.1), each trimmed of OWS. Elements may
 * be empty; the caller decides whether that is allowed. */
struct list_it {
    const char *p;
    size_t left; /* bytes from p to the end of the value */
    bool done;
};

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static bool list_next(struct list_it *it, const char **s, size_t *n)
{
    if (it->done) {
        return false;
    }
    const char *p = it->p;
    size_t left = it->left;
    while (left > 0 && is_ows(*p)) {
        p++;
        left--;
    }
    const char *comma = memchr(p, ',', left);
    size_t len = comma != NULL ? (size_t)(comma - p) : left;
    it->done = comma == NULL;
    it->p = p + len + (comma != NULL);
    it->left = left - len - (comma != NULL);
    while (len > 0 && is_ows(p[len - 1])) {
        len--;
    }
    *s = p;
    *n = len;
    return true;
}

static struct list_it list_of(const struct h1_header *h)
{
    struct list_it it = {h->value, h->value_len, false};
    return it;
}

static size_t token_len(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && h1_is((unsigned char)s[i], H1_C_TOKEN)) {
        i++;
    }
    return i;
}

/* Content-Length = 1*DIGIT; a list of identical values collapses to one (RFC 9112 section
 * 6.3 item 5, bad-input.md A9-A12). Every other spelling is an unrecoverable framing error. */
static int apply_content_length(struct h1_fstate *fs, const struct h1_header *h)
{
    struct list_it it = list_of(h);
    const char *s;
    size_t n;
    while (list_next(&it, &s, &n)) {
        uint64_t v = 0;
        if (n == 0) {
            return fail(fs->msg, 400, "invalid Content-Length");
        }
        for (size_t i = 0; i < n; i++) {
            if (!h1_is((unsigned char)s[i], H1_C_DIGIT)) {
                return fail(fs->msg, 400, "invalid Content-Length");
            }
            unsigned d = (unsigned)(s[i] - '0');
            if (v > (H1_MAX_CL - d) / 10) {
                return fail(fs->msg, 400, "Content-Length overflows");
            }
            v = v * 10 + d;
        }
        if (fs->ncl > 0 && v != fs->cl) {
            return fail(fs->msg, 400, "conflicting Content-Length values");
        }
        fs->cl = v;
        fs->ncl++;
    }
    return 0;
}

static bool known_coding(const char *s, size_t n)
{
    return IS(s, n, "gzip") || IS(s, n, "x-gzip") || IS(s, n, "deflate") || IS(s, n, "compress") ||
           IS(s, n, "x-compress") || IS(s, n, "identity");
}

/* All Transfer-Encoding lines form one list, which must be exactly "chunked" (RFC 9112
 * sections 6.1, 6.3 item 4 and 7; bad-input.md A2-A8, A13). We decode nothing else, and a
 * proxy that cannot decode a coding cannot find the message end, so anything more is refused:
 * 400 for codings we recognise and refuse, 501 for ones we do not know. */
static int apply_transfer_encoding(struct h1_fstate *fs, const struct h1_header *h)
{
    struct list_it it = list_of(h);
    const char *s;
    size_t n;
    fs->nte++;
    if (fs->msg->version_minor == 0) {
        return fail(fs->msg, 400, "Transfer-Encoding in HTTP/1.0");
    }
    while (list_next(&it, &s, &n)) {
        size_t t = token_len(s, n);
        if (n == 0) {
            return fail(fs->msg, 400, "empty transfer-coding");
        }
        if (t < n) {
            bool param = memchr(s + t, ';', n - t) != NULL;
            return fail(fs->msg, 400,
                        param ? "parameter on transfer-coding" : "invalid transfer-coding");
        }
        if (fs->te_chunked_last) {
            return fail(fs->msg, 400,
                        IS(s, n, "chunked") ? "chunked applied twice" : "chunked is not last");
        }
        if (IS(s, n, "chunked")) {
            fs->te_chunked_last = true;
        } else if (known_coding(s, n)) {
            return fail(fs->msg, 400, "unsupported transfer-coding");
        } else {
            return fail(fs->msg, 501, "unknown transfer-coding");
        }
    }
    return 0;
}

/* Options the parser understands; anything else names a hop-by-hop field. */
static bool conn_builtin(const char *s, size_t n)
{
    return IS(s, n, "close") || IS(s, n, "keep-alive") || IS(s, n, "upgrade");
}

/* Connection = #token (RFC 9110 section 7.6.1). Naming Host or a framing field would let a
 * hop strip what routing or framing depends on (bad-input.md F1), so that is refused. */
static int apply_connection(struct h1_fstate *fs, const struct h1_header *h)
{
    struct h1_msg *msg = fs->msg;
    struct list_it it = list_of(h);
    const char *s;
    size_t n;
    while (list_next(&it, &s, &n)) {
        if (n == 0) {
            continue; /* RFC 9110 section 5.6.1: empty elements are ignored */
        }
        if (token_len(s, n) != n) {
            return fail(msg, 400, "invalid Connection option");
        }
        if (++fs->conn_tokens > H1_MAX_CONN_OPTIONS) {
            return fail(msg, 400, "too many Connection options");
        }
        if (IS(s, n, "close")) {
            msg->flags |= H1_F_CONN_CLOSE;
        } else if (IS(s, n, "keep-alive")) {
            msg->flags |= H1_F_CONN_KEEPALIVE;
        } else if (IS(s, n, "upgrade")) {
            msg->flags |= H1_F_CONN_UPGRADE;
        } else if (IS(s, n, "host") || IS(s, n, "content-length") ||
                   IS(s, n, "transfer-encoding")) {
            return fail(msg, 400, "Connection names Host or a framing field");
        } else {
            fs->conn_names_fields = true;
        }
    }
    return 0;
}

/* Host: exactly one, valid syntax; empty only when the target carries the authority
 * (RFC 9112 section 3.2, bad-input.md E1-E4). */
static int apply_host(struct h1_fstate *fs, const struct h1_header *h)
{
    struct h1_msg *msg = fs->msg;
    if (++fs->nhost > 1) {
        return fail(msg, 400, "duplicate Host");
    }
    if (h->value_len == 0 && msg->target_form != H1_T_ABSOLUTE) {
        return fail(msg, 400, "empty Host");
    }
    if (h->value_len > 0 && !h1_host_valid(h->value, h->value_len)) {
        return fail(msg, 400, "invalid Host");
    }
    msg->host = h->value;
    msg->host_len = h->value_len;
    return 0;
}

/* Expect on HTTP/1.0 must be ignored (RFC 9110 section 10.1.1). */
static void apply_expect(struct h1_fstate *fs, const struct h1_header *h)
{
    if (fs->msg->version_minor == 0) {
        return;
    }
    fs->msg->flags |=
        IS(h->value, h->value_len, "100-continue") ? H1_F_EXPECT_CONTINUE : H1_F_EXPECT_OTHER;
}

static void apply_te(struct h1_fstate *fs, const struct h1_header *h)
{
    struct list_it it = list_of(h);
    const char *s;
    size_t n;
    while (list_next(&it, &s, &n)) {
        if (IS(s, n, "trailers")) {
            fs->msg->flags |= H1_F_TE_TRAILERS;
        }
    }
}

static int apply_request_only(struct h1_fstate *fs, struct h1_header *h, enum field_id id)
{
    switch (id) {
    case F_HOST:
        return apply_host(fs, h);
    case F_EXPECT:
        apply_expect(fs, h);
        return 0;
    case F_TE:
        apply_te(fs, h);
        return 0;
    default:
        return 0;
    }
}

int h1_field_apply(struct h1_fstate *fs, struct h1_header *h)
{
    enum field_id id = field_id(h->name, h->name_len);
    switch (id) {
    case F_OTHER:
        return 0;
    case F_HOST:
        h->flags |= H1_HF_HOST;
        break;
    case F_CONTENT_LENGTH:
        h->flags |= H1_HF_FRAMING;
        return apply_content_length(fs, h);
    case F_TRANSFER_ENCODING:
        h->flags |= H1_HF_FRAMING | H1_HF_HOPBYHOP;
        return apply_transfer_encoding(fs, h);
    case F_CONNECTION:
        h->flags |= H1_HF_HOPBYHOP;
        return apply_connection(fs, h);
    case F_UPGRADE:
        fs->msg->flags |= H1_F_HAS_UPGRADE;
        h->flags |= H1_HF_HOPBYHOP;
        return 0;
    case F_TE:
    case F_KEEP_ALIVE:
    case F_PROXY_CONNECTION:
    case F_TRAILER:
        h->flags |= H1_HF_HOPBYHOP;
        break;
    case F_EXPECT:
        break;
    }
    return fs->request ? apply_request_only(fs, h, id) : 0;
}

/* Marks every field named by a Connection option as hop-by-hop. Runs after the last field
 * because Connection may precede the fields it names. */
static void mark_connection_named(struct h1_msg *msg)
{
    for (uint32_t i = 0; i < msg->nheaders; i++) {
        const struct h1_header *c = &msg->headers[i];
        if (!IS(c->name, c->name_len, "connection")) {
            continue;
        }
        struct list_it it = list_of(c);
        const char *s;
        size_t n;
        while (list_next(&it, &s, &n)) {
            if (n == 0 || conn_builtin(s, n)) {
                continue;
            }
            for (uint32_t j = 0; j < msg->nheaders; j++) {
                struct h1_header *h = &msg->headers[j];
                if (h->name_len == n && h1_ieq(h->name, s, n)) {
                    h->flags |= H1_HF_HOPBYHOP;
                }
            }
        }
    }
}

/* RFC 9112 section 6.3 for responses: HEAD, 1xx, 204 and 304 end at the head whatever they
 * declare (bad-input.md H5); otherwise chunked, then Content-Length, then close-delimited. */
static void response_body(struct h1_fstate *fs, enum h1_method req_method)
{
    struct h1_msg *msg = fs->msg;
    int st = msg->status;
    if (req_method == H1_M_HEAD || st / 100 == 1 || st == 204 || st == 304) {
        msg->body = H1_BODY_NONE;
    } else if (fs->nte > 0) {
        msg->body = H1_BODY_CHUNKED;
    } else if (fs->ncl > 0) {
        msg->body = fs->cl > 0 ? H1_BODY_LENGTH : H1_BODY_NONE;
    } else {
        msg->body = H1_BODY_EOF;
    }
}

int h1_fields_finish(struct h1_fstate *fs, enum h1_method req_method)
{
    struct h1_msg *msg = fs->msg;
    if (fs->request && msg->version_minor == 1 && fs->nhost == 0) {
        return fail(msg, 400, "missing Host");
    }
    /* RFC 9112 section 6.3 item 3 lets a server reject this; a proxy must not guess. */
    if (fs->nte > 0 && fs->ncl > 0) {
        return fail(msg, 400, "both Content-Length and Transfer-Encoding");
    }
    if (fs->nte > 0 && !fs->te_chunked_last) {
        return fail(msg, 400, "chunked is not last");
    }
    msg->content_length = fs->ncl > 0 ? fs->cl : 0;
    if (fs->request) {
        if (fs->nte > 0) {
            msg->body = H1_BODY_CHUNKED;
        } else {
            msg->body = fs->cl > 0 ? H1_BODY_LENGTH : H1_BODY_NONE;
        }
    } else {
        response_body(fs, req_method);
    }
    /* HTTP/1.0 is close-delimited unless keep-alive was asked for; "close" always wins. */
    if (msg->version_minor == 0 && !(msg->flags & H1_F_CONN_KEEPALIVE)) {
        msg->flags |= H1_F_CONN_CLOSE;
    }
    if (fs->conn_names_fields) {
        mark_connection_named(msg);
    }
    return 0;
}

/* ":" 1*5DIGIT with a value of at most 65535. */
static bool port_valid(const char *p, const char *end)
{
    unsigned v = 0;
    if (p == end || end - p > 5) {
        return false;
    }
    for (; p < end; p++) {
        if (!h1_is((unsigned char)*p, H1_C_DIGIT)) {
            return false;
        }
        v = v * 10 + (unsigned)(*p - '0');
    }
    return v <= 65535;
}

/* Host = uri-host [":" port] (RFC 9110 section 7.2, RFC 3986 section 3.2.2), narrowed: a
 * reg-name may not hold ',' (list confusion) or "%00", and an IP-literal is hex, ':' and '.'
 * between brackets (no IPvFuture). */
bool h1_host_valid(const char *s, size_t n)
{
    const char *p = s;
    const char *end = s + n;
    const char *b;
    if (p < end && *p == '[') {
        b = ++p;
        while (p < end && (h1_is((unsigned char)*p, H1_C_HEX) || *p == ':' || *p == '.')) {
            p++;
        }
        if (p == b || p == end || *p != ']') {
            return false;
        }
        p++;
    } else {
        b = p;
        while (p < end) {
            if (h1_is((unsigned char)*p, H1_C_HOST)) {
                p++;
            } else if (*p == '%' && end - p >= 3 && h1_is((unsigned char)p[1], H1_C_HEX) &&
                       h1_is((unsigned char)p[2], H1_C_HEX) && !(p[1] == '0' && p[2] == '0')) {
                p += 3;
            } else {
                break;
            }
        }
        if (p == b) {
            return false;
        }
    }
    if (p == end) {
        return true;
    }
    return *p == ':' && port_valid(p + 1, end);
}

bool h1_field_proxy_owned(const char *name)
{
    static const char *const owned[] = {"content-length", "transfer-encoding", "connection",
                                        "keep-alive",     "upgrade",           "te",
                                        "trailer",        "proxy-connection"};
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) {
        if (strcasecmp(name, owned[i]) == 0) {
            return true;
        }
    }
    return false;
}
