/* Private to node/http/h1_*.c: character classes and helpers shared by the head parser,
 * the field rules and the chunked decoder. Not part of the h1_parse.h contract. */
#ifndef CONCORD_HTTP_H1_INTERNAL_H
#define CONCORD_HTTP_H1_INTERNAL_H

#include "node/http/h1_parse.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bits of h1_cclass[]. One table lookup per byte keeps every scanning loop branch-light. */
enum {
    H1_C_TOKEN = 1 << 0,  /* tchar (RFC 9110 section 5.6.2) */
    H1_C_VALUE = 1 << 1,  /* field-vchar, obs-text, SP, HTAB: what a field value may hold */
    H1_C_TARGET = 1 << 2, /* VCHAR minus '#' and '%': request-target bytes needing no look */
    H1_C_HOST = 1 << 3,   /* reg-name bytes we accept in Host (no '%', ':', ',', '@', '/') */
    H1_C_HEX = 1 << 4,    /* HEXDIG */
    H1_C_QDTEXT = 1 << 5, /* qdtext of a quoted-string (RFC 9110 section 5.6.4) */
    H1_C_DIGIT = 1 << 6,  /* DIGIT */
    H1_C_USCORE = 1 << 7, /* '_' alone, so a name scan learns of it for free (D10) */
};

extern const uint8_t h1_cclass[256];

static inline bool h1_is(unsigned char c, unsigned cls)
{
    return (h1_cclass[c] & cls) != 0;
}

static inline unsigned h1_hexval(unsigned char c)
{
    return c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
}

static inline unsigned char h1_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

/* Case-insensitive equality of n bytes. */
bool h1_ieq(const char *a, const char *b, size_t n);

/* Per-message bookkeeping while the fields of one head are interpreted. */
struct h1_fstate {
    struct h1_msg *msg;
    bool request;
    uint32_t nhost;
    uint32_t ncl;
    uint32_t nte;
    uint32_t conn_tokens;   /* options named in Connection, capped against CPU abuse */
    bool conn_names_fields; /* Connection lists a field other than close/keep-alive/upgrade */
    bool te_chunked_last;   /* the combined Transfer-Encoding list ends with chunked */
    uint64_t cl;
};

/* Validates one field the parser interprets (by name) and records what it means.
 * Returns 0 or a negated status with fs->msg->error set. */
int h1_field_apply(struct h1_fstate *fs, struct h1_header *h);

/* After the last field: Connection-named fields, Host presence, framing decisions.
 * `req_method` matters for responses only. */
int h1_fields_finish(struct h1_fstate *fs, enum h1_method req_method);

/* Host / authority syntax (bad-input.md E3): reg-name or [IP-literal], optional :port. */
bool h1_host_valid(const char *s, size_t n);

#endif
