/* YAML document model: a libyaml-parsed tree of scalars, maps and lists, each node carrying
 * its file, line and column, plus typed reads that report errors as diagnostics.
 *
 * Parsing policy (what the config decoders rely on):
 * - Anchors and aliases are RESOLVED: an alias shares the anchored node (its marks point at
 *   the anchor's text). Merge keys (`<<: *base`, or a list of aliases) are resolved too; keys
 *   written in the map win over merged ones. A recursive alias is an error, and so is a document
 *   whose alias-expanded size exceeds DOC_MAX_EXPANDED nodes (the "billion laughs" defence:
 *   decoders walk shared subtrees once per reference).
 * - A stream with more than one document is refused. An empty stream gives root == NULL.
 * - Map keys must be scalars and unique (exact byte comparison), as Go's yaml.v3 requires.
 * - With DOC_NO_TEMPLATES, a text containing "{{" is refused before parsing: Traefik renders
 *   file-provider files as Go templates, Concord does not. Files named *.toml are refused by
 *   doc_load_file whatever the flags.
 * Ownership: struct doc owns every node and string; nodes stay valid until doc_fini.
 * Threading: none (a doc is used by one thread at a time).
 */
#ifndef CONCORD_PROVIDERS_DOC_H
#define CONCORD_PROVIDERS_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/base/diag.h"

#define DOC_MAX_EXPANDED (1u << 20) /* nodes, counting each alias use in full */
#define DOC_MAX_FILE_BYTES (64u << 20)

enum doc_kind { DOC_SCALAR, DOC_MAP, DOC_SEQ };

struct doc_node;

struct doc_pair {
    const struct doc_node *key; /* always a DOC_SCALAR */
    const struct doc_node *value;
};

struct doc_node {
    enum doc_kind kind;
    const char *file; /* owned by the doc */
    uint32_t line;    /* 1-based */
    uint32_t col;     /* 1-based, in characters */
    /* DOC_SCALAR: the text (NUL-terminated; `len` counts bytes and may exceed strlen when the
     * YAML wrote "\0"), and whether it was written plain (unquoted, no block style). */
    const char *str;
    size_t len;
    bool plain;
    /* DOC_SCALAR "true" / "false" built from a flat key/value source (providers/labels.c):
     * where a map is expected, "true" stands for an empty one (Traefik's labels write an object
     * with its defaults as `middlewares.m.compress=true`) and "false" for no object at all
     * (`routers.r.tls=false`). Never set by the YAML parser. */
    bool object_true;
    bool object_false;
    /* DOC_MAP: pairs in document order (merged pairs last). DOC_SEQ: items. */
    const struct doc_pair *pairs;
    const struct doc_node *const *items;
    size_t n;
    /* private */
    struct doc_node *next_alloc;
    uint32_t expanded; /* nodes in this subtree with aliases expanded, saturating */
};

struct doc {
    char *file;
    const struct doc_node *root; /* NULL for an empty stream */
    struct doc_node *all;        /* private: every allocated node */
};

#define DOC_NO_TEMPLATES 1u

/* Parses `len` bytes of YAML; `file` names the source in diagnostics and marks.
 * Errors (each also reported in `d` as "file:line:col: yaml: <problem>" or similar):
 *   -EINVAL  syntax error, several documents, recursive alias, non-scalar or duplicate key,
 *            bad merge key, document too large once aliases are expanded, Go template.
 * On error `doc` is left empty (doc_fini is still allowed). */
int doc_parse(struct doc *doc, const char *file, const char *text, size_t len, unsigned flags,
              struct diags *d);

/* Reads and parses `path` (`path` is also the file name in marks).
 * Errors: -errno when it cannot be read (reported), -EFBIG over DOC_MAX_FILE_BYTES, -EINVAL as
 * doc_parse, and for a *.toml name ("TOML is not supported, use YAML"). */
int doc_load_file(struct doc *doc, const char *path, unsigned flags, struct diags *d);

/* Reads a whole file into a NUL-terminated malloc'd buffer. Errors: -errno, -EFBIG. */
int doc_read_file(const char *path, char **out, size_t *len);

void doc_fini(struct doc *doc);

/* --- navigation --- */

/* True for an absent node or a plain null scalar: "", "~", "null", "Null", "NULL". */
bool doc_is_null(const struct doc_node *n);

/* "a map", "a list", "a string", "null": for "expected X, got Y" messages. */
const char *doc_kind_name(const struct doc_node *n);

/* The value under `key` (exact match), or NULL. `map` may be NULL or a non-map. */
const struct doc_node *doc_map_get(const struct doc_node *map, const char *key);

/* --- typed reads ---
 * Each reads a scalar and reports a type error at the node's mark with `path`.
 * Returns 0 when *out was set, 1 when the node is null (nothing set, no diagnostic: the caller
 * keeps its default), -EINVAL after adding a DIAG_ERROR to `d`.
 * Traefik reads every value through its text, so quoted "42" is an integer and "true" a bool. */

/* The scalar's text (borrowed from the doc). Error: a map/list, or an embedded NUL byte. */
int doc_read_str(const struct doc_node *n, const char *path, const char **out, struct diags *d);

/* true/false as YAML 1.2 core (true True TRUE false False FALSE) plus the spellings Go's
 * strconv.ParseBool accepts, which Traefik uses (1 t T 0 f F). "yes"/"on" are errors. */
int doc_read_bool(const struct doc_node *n, const char *path, bool *out, struct diags *d);

/* A decimal integer with optional sign (YAML 1.2 core also allows 0x.. and 0o..), checked to
 * lie in [min, max]. Errors: not an integer, out of range. */
int doc_read_int(const struct doc_node *n, const char *path, int64_t min, int64_t max, int64_t *out,
                 struct diags *d);

/* A Go-style duration ("500ms", "1m30s") or a bare integer meaning seconds
 * (node/base/duration.h). Errors: syntax, negative, overflow. */
int doc_read_duration_ms(const struct doc_node *n, const char *path, uint64_t *out,
                         struct diags *d);

/* A list of strings. A scalar is read as a comma-separated list ("web,websecure"), as Traefik
 * does for its string-slice options. *out is a malloc'd array of malloc'd strings (free each and
 * the array; doc_strlist_free does that). Errors: not a list, an item that is not a string. */
int doc_read_strlist(const struct doc_node *n, const char *path, char ***out, size_t *n_out,
                     struct diags *d);
void doc_strlist_free(char **v, size_t n);

#endif
