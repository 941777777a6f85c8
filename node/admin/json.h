/* A small JSON writer into a growable buffer, for the admin API's answers. Commas are placed
 * by the writer: callers only open, close, name keys and write values. Strings are escaped as
 * RFC 8259 requires (other bytes, UTF-8 included, are copied as they are).
 *
 * Errors: an allocation failure is remembered and reported once by jw_finish() (NULL); the
 * calls in between become no-ops, so callers need not check each one. Nesting deeper than
 * JW_MAX_DEPTH is a programming error (asserted).
 */
#ifndef CONCORD_ADMIN_JSON_H
#define CONCORD_ADMIN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JW_MAX_DEPTH 32

struct jw {
    char *buf;
    size_t len, cap;
    int depth;
    bool first[JW_MAX_DEPTH + 1]; /* nothing written yet at that depth */
    bool after_key;
    bool oom;
};

void jw_init(struct jw *w);
void jw_obj(struct jw *w);  /* { */
void jw_end(struct jw *w);  /* } */
void jw_arr(struct jw *w);  /* [ */
void jw_aend(struct jw *w); /* ] */
void jw_key(struct jw *w, const char *k);
void jw_str(struct jw *w, const char *s); /* NULL writes null */
void jw_strn(struct jw *w, const char *s, size_t n);
void jw_int(struct jw *w, int64_t v);
void jw_uint(struct jw *w, uint64_t v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* key + value shorthands */
void jw_kstr(struct jw *w, const char *k, const char *s);
void jw_kint(struct jw *w, const char *k, int64_t v);
void jw_kbool(struct jw *w, const char *k, bool v);

/* Returns the NUL-terminated document (malloc'd, the caller frees it) and its length in *len,
 * or NULL after an allocation failure (the buffer is freed either way). */
char *jw_finish(struct jw *w, size_t *len);
/* Frees the buffer without returning it. */
void jw_discard(struct jw *w);

#endif
