/* RE2-syntax regexes on PCRE2: the syntax gate, compile options, per-thread match limits. */
#include "node/table/regex.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define RE_MATCH_LIMIT 200000u /* pcre2 backtracking steps */
#define RE_DEPTH_LIMIT 10000u  /* nested backtracking frames */
#define RE_HEAP_LIMIT 1024u    /* KiB of backtracking frames per thread */

/* Length of a valid RE2 repeat "{n}", "{n,}" or "{n,m}" at s (0 when `{` is a literal, as in
 * RE2); *ok is false when a count is above RE2's 1000 or m < n. */
static size_t repeat_len(const char *s, size_t n, bool *ok)
{
    size_t i = 1;
    long lo = 0, hi = -1;
    *ok = true;
    if (i >= n || s[i] < '0' || s[i] > '9') {
        return 0;
    }
    /* Counts stop growing past 100000 (they are refused anyway); i advances on every digit. */
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        lo = lo > 100000 ? lo : lo * 10 + (s[i] - '0');
    }
    hi = lo;
    if (i < n && s[i] == ',') {
        i++;
        hi = -1;
        if (i < n && s[i] >= '0' && s[i] <= '9') {
            hi = 0;
            for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
                hi = hi > 100000 ? hi : hi * 10 + (s[i] - '0');
            }
        }
    }
    if (i >= n || s[i] != '}') {
        return 0;
    }
    *ok = lo <= 1000 && hi <= 1000 && (hi < 0 || hi >= lo);
    return i + 1;
}

/* Finds the first construct of `s` that PCRE2 accepts but RE2 (Go's regexp) does not:
 * backreferences, lookaround, atomic groups, possessive or nested quantifiers, recursion,
 * conditionals, verbs, comments, and escapes RE2 lacks. Writes its description to `what` and
 * returns true. What RE2 refuses and PCRE2 refuses too is left to pcre2_compile. */
bool regex_re2_lacks(const char *s, size_t n, char *what, size_t wsize)
{
    static const char go_escapes[] = "AbBdDsSwWzpPaftnrvx";
    size_t i = 0;
    bool in_class = false;
    int quant = 0; /* 1: just after a quantifier, 2: after a lazy one ("*?") */
    while (i < n) {
        char c = s[i];
        if (c == '\\') {
            char e = i + 1 < n ? s[i + 1] : '\0';
            if (e == 'Q') { /* literal text up to \E */
                size_t j = i + 2;
                while (j + 1 < n && !(s[j] == '\\' && s[j + 1] == 'E')) {
                    j++;
                }
                i = j + 1 < n ? j + 2 : n;
                quant = 0;
                continue;
            }
            if ((e >= '1' && e <= '9') || e == 'g' || e == 'k') {
                snprintf(what, wsize, "backreference \\%c", e);
                return true;
            }
            if ((unsigned char)e >= 0x80 ||
                (((e | 0x20) >= 'a' && (e | 0x20) <= 'z') && strchr(go_escapes, e) == NULL)) {
                snprintf(what, wsize, "escape \\%c", e);
                return true;
            }
            i += 2;
            if ((e == 'x' || e == 'p' || e == 'P') && i < n && s[i] == '{') {
                while (i < n && s[i] != '}') {
                    i++;
                }
                i++;
            }
            quant = 0;
            continue;
        }
        if (in_class) {
            if (c == '[' && i + 1 < n && s[i + 1] == ':') { /* [:alpha:] */
                const char *end = NULL;
                for (size_t j = i + 2; j + 1 < n && end == NULL; j++) {
                    end = s[j] == ':' && s[j + 1] == ']' ? s + j : NULL;
                }
                i = end ? (size_t)(end - s) + 2 : i + 1;
                continue;
            }
            in_class = c != ']';
            i++;
            continue;
        }
        switch (c) {
        case '[':
            in_class = true;
            i++;
            i += i < n && s[i] == '^';
            i += i < n && s[i] == ']'; /* a leading ']' is a literal */
            quant = 0;
            continue;
        case '(': {
            const char *g = s + i + 1;
            size_t left = n - i - 1;
            quant = 0;
            i++;
            if (left >= 1 && g[0] == '*') {
                snprintf(what, wsize, "verb (*");
                return true;
            }
            if (left < 1 || g[0] != '?') {
                continue;
            }
            char g1 = left >= 2 ? g[1] : '\0', g2 = left >= 3 ? g[2] : '\0';
            if (g1 == '=' || g1 == '!') {
                snprintf(what, wsize, "%slookahead (?%c", g1 == '!' ? "negative " : "", g1);
                return true;
            }
            if (g1 == '<' && (g2 == '=' || g2 == '!')) {
                snprintf(what, wsize, "%slookbehind (?<%c", g2 == '!' ? "negative " : "", g2);
                return true;
            }
            if (g1 == 'P' && g2 == '=') {
                snprintf(what, wsize, "backreference (?P=");
                return true;
            }
            if ((g1 == 'P' && g2 == '<') || g1 == '<') {
                continue; /* named group */
            }
            size_t j = 1;
            while (j < left && strchr("imsU-", g[j]) != NULL && g[j] != '\0') {
                j++;
            }
            if (j >= left || (g[j] != ':' && g[j] != ')')) {
                snprintf(what, wsize, "group (?%c", j < left ? g[j] : ' ');
                return true;
            }
            continue;
        }
        case '*':
        case '+':
        case '?':
            if (quant == 1 && c == '?') {
                quant = 2;
            } else if (quant != 0) {
                snprintf(what, wsize, "%s quantifier %.2s",
                         quant == 1 && c == '+' ? "possessive" : "nested", s + i - 1);
                return true;
            } else {
                quant = 1;
            }
            i++;
            continue;
        case '{': {
            bool ok;
            size_t len = repeat_len(s + i, n - i, &ok);
            if (len > 0 && quant != 0) {
                snprintf(what, wsize, "nested quantifier %.*s", (int)len, s + i);
                return true;
            }
            if (len > 0 && !ok) {
                snprintf(what, wsize, "repeat count %.*s (at most 1000)", (int)len, s + i);
                return true;
            }
            quant = len > 0;
            i += len > 0 ? len : 1;
            continue;
        }
        default:
            quant = 0;
            i++;
        }
    }
    return false;
}

/* The options keep RE2's meaning where PCRE2's default differs: `$` is the end of the text only
 * (not before a final newline), UTF-8 with invalid subject bytes never matched, newline is LF. */
int regex_compile(const char *pat, size_t len, struct regex **out, char *msg, size_t msize,
                  size_t *at)
{
    int code;
    PCRE2_SIZE off = 0;
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    pcre2_code *re;
    if (cc == NULL) {
        return -ENOMEM;
    }
    pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
    re = pcre2_compile((PCRE2_SPTR)pat, len,
                       PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY |
                           PCRE2_NEVER_BACKSLASH_C,
                       &code, &off, cc);
    pcre2_compile_context_free(cc);
    if (re == NULL) {
        if (code == PCRE2_ERROR_NOMEMORY) {
            return -ENOMEM;
        }
        pcre2_get_error_message(code, (PCRE2_UCHAR *)msg, msize);
        *at = (size_t)off;
        return -EINVAL;
    }
    *out = (struct regex *)re;
    return 0;
}

void regex_free(struct regex *re)
{
    pcre2_code_free((pcre2_code *)re);
}

uint32_t regex_captures(const struct regex *re)
{
    uint32_t n = 0;
    if (pcre2_pattern_info((const pcre2_code *)re, PCRE2_INFO_CAPTURECOUNT, &n) != 0) {
        return 0;
    }
    return n;
}

/* Per-thread regex state: match data (whose backtracking frames pcre2 keeps and reuses, so a
 * match allocates nothing once warm), the match context with the limits, and a buffer for
 * percent-decoded query values. Freed at thread exit through a key destructor. */
struct re_tls {
    pcre2_match_data *md;
    pcre2_match_context *mc;
    char *buf;
    size_t cap;
};

static __thread struct re_tls *re_tls;
static pthread_key_t re_key;
static pthread_once_t re_once = PTHREAD_ONCE_INIT;
static bool re_key_ok;
static _Atomic uint64_t re_aborts;

static void re_tls_free(void *v)
{
    struct re_tls *t = v;
    pcre2_match_data_free(t->md);
    pcre2_match_context_free(t->mc);
    free(t->buf);
    free(t);
}

static void re_key_init(void)
{
    re_key_ok = pthread_key_create(&re_key, re_tls_free) == 0;
}

static struct re_tls *get_re_tls(void)
{
    if (re_tls != NULL) {
        return re_tls;
    }
    pthread_once(&re_once, re_key_init);
    struct re_tls *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return NULL;
    }
    t->md = pcre2_match_data_create(1, NULL);
    t->mc = pcre2_match_context_create(NULL);
    if (t->md == NULL || t->mc == NULL) {
        re_tls_free(t);
        return NULL;
    }
    pcre2_set_match_limit(t->mc, RE_MATCH_LIMIT);
    pcre2_set_depth_limit(t->mc, RE_DEPTH_LIMIT);
    pcre2_set_heap_limit(t->mc, RE_HEAP_LIMIT);
    if (re_key_ok) {
        pthread_setspecific(re_key, t);
    }
    re_tls = t;
    return t;
}

uint64_t regex_aborts(void)
{
    return atomic_load_explicit(&re_aborts, memory_order_relaxed);
}

/* Unanchored search. A match that runs into a limit (or out of memory) is no match, counted. */
bool regex_match(const struct regex *rx, const char *s, size_t len)
{
    const pcre2_code *re = (const pcre2_code *)rx;
    struct re_tls *t = get_re_tls();
    if (t == NULL) {
        atomic_fetch_add_explicit(&re_aborts, 1, memory_order_relaxed);
        return false;
    }
    int rc = pcre2_match(re, (PCRE2_SPTR)(s != NULL ? s : ""), len, 0, 0, t->md, t->mc);
    if (rc >= 0) {
        return true; /* 0: matched, ovector too small for the groups (we need none) */
    }
    if (rc != PCRE2_ERROR_NOMATCH) {
        atomic_fetch_add_explicit(&re_aborts, 1, memory_order_relaxed);
    }
    return false;
}

char *regex_scratch(size_t need)
{
    struct re_tls *t = get_re_tls();
    if (t != NULL && t->cap < need) {
        char *b = realloc(t->buf, need);
        if (b != NULL) {
            t->buf = b;
            t->cap = need;
        }
    }
    if (t == NULL || t->cap < need) {
        atomic_fetch_add_explicit(&re_aborts, 1, memory_order_relaxed);
        return NULL;
    }
    return t->buf;
}
