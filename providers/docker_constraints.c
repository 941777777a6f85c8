/* The Docker provider's `constraints` expression: a recursive-descent parser and evaluator. */
#include "providers/docker_constraints.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <errno.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64        /* nesting bound: the parser recurses */
#define MATCH_LIMIT 1000000 /* PCRE2 backtracking bound for LabelRegex */

enum node_kind { N_OR, N_AND, N_NOT, N_LABEL, N_REGEX };

struct docker_constraint {
    enum node_kind kind;
    struct docker_constraint *a, *b; /* operands (N_NOT: a only) */
    char *key, *value;               /* N_LABEL, N_REGEX (value: the pattern) */
    pcre2_code *re;
};

struct parser {
    const char *s;
    size_t i;
    int depth;
    char *msg;
    size_t msize;
    bool failed;
};

__attribute__((format(printf, 2, 3))) static void fail(struct parser *p, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (p->failed) {
        return; /* the first error is the useful one */
    }
    p->failed = true;
    n = snprintf(p->msg, p->msize, "constraints: column %zu: ", p->i + 1);
    if (n < 0 || (size_t)n >= p->msize) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(p->msg + n, p->msize - (size_t)n, fmt, ap);
    va_end(ap);
}

static void skip_space(struct parser *p)
{
    while (isspace((unsigned char)p->s[p->i])) {
        p->i++;
    }
}

static bool eat(struct parser *p, const char *tok)
{
    size_t n = strlen(tok);
    skip_space(p);
    if (strncmp(p->s + p->i, tok, n) == 0) {
        p->i += n;
        return true;
    }
    return false;
}

static struct docker_constraint *new_node(enum node_kind kind)
{
    struct docker_constraint *c = calloc(1, sizeof *c);
    if (c != NULL) {
        c->kind = kind;
    }
    return c;
}

/* A string literal: `raw` or "escaped". Returns a malloc'd copy or NULL (failed). */
static char *string_lit(struct parser *p)
{
    char q, *out;
    size_t n = 0, start;
    skip_space(p);
    start = p->i;
    q = p->s[p->i];
    if (q != '`' && q != '"') {
        fail(p, "expected a string in `backquotes` or \"double quotes\"");
        return NULL;
    }
    out = malloc(strlen(p->s + p->i) + 1);
    if (out == NULL) {
        fail(p, "out of memory");
        return NULL;
    }
    p->i++;
    while (p->s[p->i] != '\0' && p->s[p->i] != q) {
        if (q == '"' && p->s[p->i] == '\\' && p->s[p->i + 1] != '\0') {
            p->i++;
        }
        out[n++] = p->s[p->i++];
    }
    if (p->s[p->i] != q) {
        free(out);
        p->i = start;
        fail(p, "unterminated string");
        return NULL;
    }
    p->i++;
    out[n] = '\0';
    return out;
}

static struct docker_constraint *parse_or(struct parser *p);

static struct docker_constraint *parse_call(struct parser *p)
{
    struct docker_constraint *c;
    enum node_kind kind;
    size_t start;
    skip_space(p);
    start = p->i;
    while (isalnum((unsigned char)p->s[p->i])) {
        p->i++;
    }
    if (p->i - start == 5 && strncmp(p->s + start, "Label", 5) == 0) {
        kind = N_LABEL;
    } else if (p->i - start == 10 && strncmp(p->s + start, "LabelRegex", 10) == 0) {
        kind = N_REGEX;
    } else {
        p->i = start;
        if (p->s[start] == '\0') {
            fail(p, "unexpected end of the expression");
        } else {
            fail(p, "expected Label(...), LabelRegex(...), '!' or '(', got \"%.20s\"",
                 p->s + start);
        }
        return NULL;
    }
    c = new_node(kind);
    if (c == NULL) {
        fail(p, "out of memory");
        return NULL;
    }
    if (!eat(p, "(")) {
        fail(p, "expected '(' after the function name");
        return c;
    }
    c->key = string_lit(p);
    if (c->key == NULL) {
        return c;
    }
    if (!eat(p, ",")) {
        fail(p, "expected ',' between the two arguments");
        return c;
    }
    c->value = string_lit(p);
    if (c->value == NULL) {
        return c;
    }
    if (!eat(p, ")")) {
        fail(p, "expected ')' after the second argument");
        return c;
    }
    if (kind == N_REGEX) {
        int code;
        PCRE2_SIZE off;
        c->re = pcre2_compile((PCRE2_SPTR)c->value, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &off,
                              NULL);
        if (c->re == NULL) {
            char buf[160];
            pcre2_get_error_message(code, (PCRE2_UCHAR *)buf, sizeof buf);
            fail(p, "LabelRegex `%s`: %s at offset %zu", c->value, buf, (size_t)off);
        }
    }
    return c;
}

static struct docker_constraint *parse_unary(struct parser *p)
{
    struct docker_constraint *c;
    if (++p->depth > MAX_DEPTH) {
        fail(p, "nested deeper than %d levels", MAX_DEPTH);
        return NULL;
    }
    if (eat(p, "!")) {
        c = new_node(N_NOT);
        if (c == NULL) {
            fail(p, "out of memory");
        } else {
            c->a = parse_unary(p);
        }
    } else if (eat(p, "(")) {
        c = parse_or(p);
        if (!p->failed && !eat(p, ")")) {
            fail(p, "expected ')'");
        }
    } else {
        c = parse_call(p);
    }
    p->depth--;
    return c;
}

/* One level of binary operators: `op` joins `sub`s, left-associative. */
static struct docker_constraint *parse_binary(struct parser *p, const char *op, enum node_kind kind,
                                              struct docker_constraint *(*sub)(struct parser *))
{
    struct docker_constraint *left = sub(p);
    while (!p->failed && eat(p, op)) {
        struct docker_constraint *c = new_node(kind);
        if (c == NULL) {
            fail(p, "out of memory");
            break;
        }
        c->a = left;
        left = c;
        c->b = sub(p);
    }
    return left;
}

static struct docker_constraint *parse_and(struct parser *p)
{
    return parse_binary(p, "&&", N_AND, parse_unary);
}

static struct docker_constraint *parse_or(struct parser *p)
{
    return parse_binary(p, "||", N_OR, parse_and);
}

int docker_constraint_parse(const char *expr, struct docker_constraint **out, char *msg,
                            size_t msize)
{
    struct parser p = {.s = expr ? expr : "", .msg = msg, .msize = msize};
    struct docker_constraint *c;
    *out = NULL;
    if (msize > 0) {
        msg[0] = '\0';
    }
    skip_space(&p);
    if (p.s[p.i] == '\0') {
        return 0;
    }
    c = parse_or(&p);
    skip_space(&p);
    if (!p.failed && p.s[p.i] != '\0') {
        fail(&p, "unexpected \"%.20s\" (expected '&&', '||' or the end)", p.s + p.i);
    }
    if (p.failed) {
        docker_constraint_free(c);
        return strstr(msg, "out of memory") ? -ENOMEM : -EINVAL;
    }
    *out = c;
    return 0;
}

static const char *lookup(const struct label_kv *labels, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(labels[i].key, key) == 0) {
            return labels[i].value;
        }
    }
    return "";
}

static bool regex_search(const pcre2_code *re, const char *s)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    int rc = -1;
    if (md != NULL && mc != NULL) {
        pcre2_set_match_limit(mc, MATCH_LIMIT);
        rc = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, mc);
    }
    pcre2_match_context_free(mc);
    pcre2_match_data_free(md);
    return rc >= 0; /* a limit hit is no match */
}

bool docker_constraint_match(const struct docker_constraint *c, const struct label_kv *labels,
                             size_t n)
{
    if (c == NULL) {
        return true;
    }
    switch (c->kind) {
    case N_OR:
        return docker_constraint_match(c->a, labels, n) || docker_constraint_match(c->b, labels, n);
    case N_AND:
        return docker_constraint_match(c->a, labels, n) && docker_constraint_match(c->b, labels, n);
    case N_NOT:
        return !docker_constraint_match(c->a, labels, n);
    case N_LABEL:
        return strcmp(lookup(labels, n, c->key), c->value) == 0;
    case N_REGEX:
        return regex_search(c->re, lookup(labels, n, c->key));
    }
    return false;
}

void docker_constraint_free(struct docker_constraint *c)
{
    if (c == NULL) {
        return;
    }
    docker_constraint_free(c->a);
    docker_constraint_free(c->b);
    free(c->key);
    free(c->value);
    pcre2_code_free(c->re);
    free(c);
}
