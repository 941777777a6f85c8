/* Strict incremental decoder of the chunked transfer coding (RFC 9112 section 7.1). */
#include "node/http/h1_internal.h"

#include <string.h>

/* 15 hex digits hold at most 2^60 - 1, so the size can never overflow (bad-input.md B2). */
#define H1_MAX_SIZE_DIGITS 15
#define H1_DEFAULT_MAX_EXT 4096
#define H1_DEFAULT_MAX_TRAILERS 8192

/* One state per grammar position; framing is decoded a byte at a time (it is a few bytes per
 * chunk) while chunk data is handed out as slices without being looked at. */
enum {
    CS_SIZE,          /* chunk-size: 1*HEXDIG */
    CS_SIZE_BWS,      /* BWS after the size: only ';' may follow (B9) */
    CS_EXT_PRE_NAME,  /* after ';': BWS chunk-ext-name */
    CS_EXT_NAME,      /* in chunk-ext-name */
    CS_EXT_POST_NAME, /* BWS after a name: '=' or ';' */
    CS_EXT_PRE_VAL,   /* after '=': BWS chunk-ext-val */
    CS_EXT_VAL,       /* in a token value */
    CS_EXT_QUOTED,    /* in a quoted-string value */
    CS_EXT_QPAIR,     /* after '\' in a quoted-string */
    CS_EXT_POST_Q,    /* after the closing quote */
    CS_EXT_POST_VAL,  /* BWS after a value: only ';' may follow */
    CS_SIZE_LF,       /* CR seen, LF must follow */
    CS_DATA,          /* chunk-data */
    CS_DATA_CR,       /* CRLF after chunk-data (B3) */
    CS_DATA_LF,
    CS_TR_START, /* start of a trailer line or of the final CRLF */
    CS_TR_NAME,
    CS_TR_VALUE,
    CS_TR_LF,
    CS_TR_END_LF,
    CS_DONE,
};

void h1_chunked_init(struct h1_chunked *c)
{
    memset(c, 0, sizeof *c);
    c->state = CS_SIZE;
}

static int cfail(struct h1_chunked *c, int status, const char *why)
{
    c->error = why;
    return -status;
}

static bool ows(unsigned char b)
{
    return b == ' ' || b == '\t';
}

/* chunk-size [ chunk-ext ] CR: the hex digits and what may directly follow them. */
static int step_size(struct h1_chunked *c, unsigned char b)
{
    if (c->state == CS_SIZE && h1_is(b, H1_C_HEX)) {
        if (++c->line_len > H1_MAX_SIZE_DIGITS) {
            return cfail(c, 413, "chunk size too large");
        }
        c->remaining = (c->remaining << 4) | h1_hexval(b);
        return 0;
    }
    if (c->line_len == 0) {
        return cfail(c, 400, "invalid chunk size");
    }
    if (b == '\r') {
        c->state = CS_SIZE_LF;
    } else if (b == ';') {
        c->state = CS_EXT_PRE_NAME;
    } else if (ows(b)) {
        c->state = CS_SIZE_BWS;
    } else {
        return cfail(c, 400, b == '\n' ? "bare LF in chunk line" : "invalid chunk size");
    }
    return 0;
}

/* Transitions out of a finished name or value: another extension, or the line end. */
static int ext_next(struct h1_chunked *c, unsigned char b, bool cr_ok)
{
    if (b == ';') {
        c->state = CS_EXT_PRE_NAME;
    } else if (ows(b)) {
        c->state = c->state == CS_EXT_NAME ? CS_EXT_POST_NAME : CS_EXT_POST_VAL;
    } else if (b == '\r' && cr_ok) {
        c->state = CS_SIZE_LF;
    } else {
        return cfail(c, 400, b == '\n' ? "bare LF in chunk extension" : "invalid chunk extension");
    }
    return 0;
}

/* quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE (RFC 9110 section 5.6.4); a CR
 * inside one is the "5;a=\"x<CR><LF>" trick of bad-input.md B5. */
static int step_ext_quoted(struct h1_chunked *c, unsigned char b)
{
    switch (c->state) {
    case CS_EXT_QUOTED:
        if (b == '"') {
            c->state = CS_EXT_POST_Q;
        } else if (b == '\\') {
            c->state = CS_EXT_QPAIR;
        } else if (!h1_is(b, H1_C_QDTEXT)) {
            return cfail(c, 400, "invalid character in quoted chunk extension");
        }
        return 0;
    case CS_EXT_QPAIR:
        if (!h1_is(b, H1_C_VALUE)) {
            return cfail(c, 400, "invalid quoted-pair in chunk extension");
        }
        c->state = CS_EXT_QUOTED;
        return 0;
    default: /* CS_EXT_POST_Q */
        return ext_next(c, b, true);
    }
}

/* chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ), RFC 9112
 * section 7.1.1; whitespace is allowed only where this grammar puts BWS (B5, B9). */
static int step_ext(struct h1_chunked *c, unsigned char b)
{
    uint32_t max = c->max_ext != 0 ? c->max_ext : H1_DEFAULT_MAX_EXT;
    if (++c->ext_len > max) {
        return cfail(c, 400, "chunk extension too long");
    }
    switch (c->state) {
    case CS_SIZE_BWS:
    case CS_EXT_POST_VAL:
        if (ows(b)) {
            return 0;
        }
        if (b == ';') {
            c->state = CS_EXT_PRE_NAME;
            return 0;
        }
        return cfail(c, 400, "whitespace in chunk line not followed by ';'");
    case CS_EXT_PRE_NAME:
    case CS_EXT_PRE_VAL:
        if (ows(b)) {
            return 0;
        }
        if (b == '"' && c->state == CS_EXT_PRE_VAL) {
            c->state = CS_EXT_QUOTED;
            return 0;
        }
        if (h1_is(b, H1_C_TOKEN)) {
            c->state = c->state == CS_EXT_PRE_NAME ? CS_EXT_NAME : CS_EXT_VAL;
            return 0;
        }
        return cfail(c, 400, "invalid chunk extension");
    case CS_EXT_NAME:
    case CS_EXT_VAL:
        if (h1_is(b, H1_C_TOKEN)) {
            return 0;
        }
        if (b == '=' && c->state == CS_EXT_NAME) {
            c->state = CS_EXT_PRE_VAL;
            return 0;
        }
        return ext_next(c, b, true);
    case CS_EXT_POST_NAME:
        if (ows(b)) {
            return 0;
        }
        if (b == '=') {
            c->state = CS_EXT_PRE_VAL;
            return 0;
        }
        return ext_next(c, b, false);
    default:
        return step_ext_quoted(c, b);
    }
}

/* trailer-section = *( field-line CRLF ) CRLF. Lines are checked like header fields, counted
 * against max_trailers, and dropped: trailers never become headers (bad-input.md B8). */
static int step_trailer(struct h1_chunked *c, unsigned char b)
{
    uint32_t max = c->max_trailers != 0 ? c->max_trailers : H1_DEFAULT_MAX_TRAILERS;
    if (++c->trailer_len > max) {
        return cfail(c, 431, "trailer section too large");
    }
    switch (c->state) {
    case CS_TR_START:
        if (b == '\r') {
            c->state = CS_TR_END_LF;
        } else if (h1_is(b, H1_C_TOKEN)) {
            c->state = CS_TR_NAME;
        } else {
            return cfail(c, 400, "invalid trailer line");
        }
        return 0;
    case CS_TR_NAME:
        if (b == ':') {
            c->state = CS_TR_VALUE;
        } else if (!h1_is(b, H1_C_TOKEN)) {
            return cfail(c, 400, "invalid trailer field name");
        }
        return 0;
    case CS_TR_VALUE:
        if (b == '\r') {
            c->state = CS_TR_LF;
        } else if (!h1_is(b, H1_C_VALUE)) {
            return cfail(c, 400, "invalid character in trailer value");
        }
        return 0;
    default: /* CS_TR_LF, CS_TR_END_LF */
        if (b != '\n') {
            return cfail(c, 400, "bare CR in trailer section");
        }
        c->state = c->state == CS_TR_LF ? CS_TR_START : CS_DONE;
        return 0;
    }
}

/* The line ends around chunk data: "CR LF" after the size line and after the data. */
static int step_crlf(struct h1_chunked *c, unsigned char b)
{
    switch (c->state) {
    case CS_SIZE_LF:
        if (b != '\n') {
            return cfail(c, 400, "bare CR in chunk line");
        }
        c->state = c->remaining > 0 ? CS_DATA : CS_TR_START;
        return 0;
    case CS_DATA_CR:
        if (b != '\r') {
            return cfail(c, 400, "chunk data longer than its size");
        }
        c->state = CS_DATA_LF;
        return 0;
    default: /* CS_DATA_LF */
        if (b != '\n') {
            return cfail(c, 400, "bare CR after chunk data");
        }
        c->state = CS_SIZE;
        c->line_len = 0;
        c->ext_len = 0;
        return 0;
    }
}

static int step(struct h1_chunked *c, unsigned char b)
{
    switch (c->state) {
    case CS_SIZE:
        return step_size(c, b);
    case CS_SIZE_LF:
    case CS_DATA_CR:
    case CS_DATA_LF:
        return step_crlf(c, b);
    case CS_TR_START:
    case CS_TR_NAME:
    case CS_TR_VALUE:
    case CS_TR_LF:
    case CS_TR_END_LF:
        return step_trailer(c, b);
    default:
        return step_ext(c, b);
    }
}

int h1_chunked_next(struct h1_chunked *c, const char *in, size_t len, size_t *consumed,
                    const char **data, size_t *data_len)
{
    size_t i = 0;
    *data = NULL;
    *data_len = 0;
    while (i < len && c->state != CS_DONE) {
        if (c->state == CS_DATA) {
            size_t n = len - i < c->remaining ? len - i : (size_t)c->remaining;
            *data = in + i;
            *data_len = n;
            c->remaining -= n;
            if (c->remaining == 0) {
                c->state = CS_DATA_CR;
            }
            *consumed = i + n;
            return H1_CHUNK_DATA;
        }
        int rc = step(c, (unsigned char)in[i++]);
        if (rc < 0) {
            *consumed = i;
            return rc;
        }
    }
    *consumed = i;
    return c->state == CS_DONE ? H1_CHUNK_DONE : H1_CHUNK_NEED;
}
