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
    pcre2_match_data *gmd; /* for regex_match_groups, grown to the largest pattern seen */
    uint32_t gcap;
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
    pcre2_match_data_free(t->gmd);
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

uint32_t regex_ngroups(const struct regex *rx)
{
    uint32_t n = 0;
    pcre2_pattern_info((const pcre2_code *)rx, PCRE2_INFO_CAPTURECOUNT, &n);
    return n;
}

int regex_group_number(const struct regex *rx, const char *name, size_t len)
{
    char buf[128];
    int rc;
    if (len == 0 || len >= sizeof buf) {
        return -1;
    }
    memcpy(buf, name, len);
    buf[len] = '\0';
    rc = pcre2_substring_number_from_name((const pcre2_code *)rx, (PCRE2_SPTR)buf);
    return rc >= 0 ? rc : -1;
}

bool regex_match_groups(const struct regex *rx, const char *s, size_t len, size_t start,
                        long *ov, uint32_t nov)
{
    const pcre2_code *re = (const pcre2_code *)rx;
    struct re_tls *t = get_re_tls();
    uint32_t need = regex_ngroups(rx) + 1;
    PCRE2_SIZE *v;
    int rc;
    if (t != NULL && t->gcap < need) {
        pcre2_match_data *md = pcre2_match_data_create(need, NULL);
        if (md != NULL) {
            pcre2_match_data_free(t->gmd);
            t->gmd = md;
            t->gcap = need;
        }
    }
    if (t == NULL || t->gcap < need) {
        atomic_fetch_add_explicit(&re_aborts, 1, memory_order_relaxed);
        return false;
    }
    rc = pcre2_match(re, (PCRE2_SPTR)(s != NULL ? s : ""), len, start, 0, t->gmd, t->mc);
    if (rc < 0) {
        if (rc != PCRE2_ERROR_NOMATCH) {
            atomic_fetch_add_explicit(&re_aborts, 1, memory_order_relaxed);
        }
        return false;
    }
    v = pcre2_get_ovector_pointer(t->gmd);
    for (uint32_t i = 0; i < nov / 2; i++) {
        bool set = i < need && v[2 * i] != PCRE2_UNSET;
        ov[2 * i] = set ? (long)v[2 * i] : -1;
        ov[2 * i + 1] = set ? (long)v[2 * i + 1] : -1;
    }
    return true;
}

/* ---- ReplaceAllString with Go's Expand template syntax ---- */

struct sbuf {
    char *p;
    size_t n, cap;
    bool oom;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom || n == 0) {
        return;
    }
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1) {
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

/* Go's name characters are Unicode letters and digits and '_'; bytes of a multibyte UTF-8
 * sequence are taken as letters (Go would check the code point; names are ASCII in practice). */
static bool name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c >= 0x80;
}

/* A reference after '$' at t: the name (or number) and where the template continues. Returns
 * false when malformed (Go then keeps the '$' as text). *num is -1 for a name. */
static bool extract_ref(const char *t, const char **name, size_t *nlen, long *num,
                        const char **rest)
{
    bool brace = t[0] == '{';
    size_t i = 0;
    t += brace;
    while (name_char((unsigned char)t[i])) {
        i++;
    }
    if (i == 0 || (brace && t[i] != '}')) {
        return false;
    }
    *name = t;
    *nlen = i;
    *rest = t + i + brace;
    *num = 0;
    for (size_t j = 0; j < i; j++) {
        if (t[j] < '0' || t[j] > '9' || *num >= 100000000) {
            *num = -1;
            break;
        }
        *num = *num * 10 + (t[j] - '0');
    }
    if (t[0] == '0' && i > 1) {
        *num = -1; /* no leading zeros: "$01" is a (missing) name */
    }
    return true;
}

static void expand(struct sbuf *b, const struct regex *re, const char *tmpl, const char *src,
                   const long *ov, uint32_t ngroups)
{
    const char *t = tmpl;
    for (;;) {
        const char *d = strchr(t, '$');
        const char *name, *rest;
        size_t nlen;
        long num;
        if (d == NULL) {
            sb_put(b, t, strlen(t));
            return;
        }
        sb_put(b, t, (size_t)(d - t));
        t = d + 1;
        if (t[0] == '$') {
            sb_put(b, "$", 1);
            t++;
            continue;
        }
        if (!extract_ref(t, &name, &nlen, &num, &rest)) {
            sb_put(b, "$", 1);
            continue;
        }
        t = rest;
        if (num < 0) {
            num = regex_group_number(re, name, nlen);
        }
        if (num >= 0 && (uint32_t)num <= ngroups && ov[2 * num] >= 0) {
            sb_put(b, src + ov[2 * num], (size_t)(ov[2 * num + 1] - ov[2 * num]));
        }
    }
}

/* Bytes of the UTF-8 character at s (1 for an invalid byte, as Go counts it). */
static size_t utf8_width(const unsigned char *s, size_t left)
{
    size_t w = s[0] < 0x80 ? 1 : s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 1;
    if (w > left) {
        return 1;
    }
    for (size_t i = 1; i < w; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 1;
        }
    }
    return w;
}

int regex_replace_all(const struct regex *re, const char *src, size_t len, const char *tmpl,
                      char **out, size_t *outlen)
{
    struct sbuf b = {0};
    uint32_t ngroups = regex_ngroups(re);
    uint32_t nov = 2 * (ngroups + 1);
    long *ov = malloc(nov * sizeof *ov);
    size_t pos = 0, last = 0;
    bool any = false;
    *out = NULL;
    *outlen = 0;
    if (ov == NULL) {
        return -ENOMEM;
    }
    while (pos <= len && regex_match_groups(re, src, len, pos, ov, nov)) {
        size_t a0 = (size_t)ov[0], a1 = (size_t)ov[1], w;
        sb_put(&b, src + last, a0 - last);
        /* Go: an empty match adjacent to the previous match is not replaced. */
        if (a1 > last || a0 == 0) {
            expand(&b, re, tmpl, src, ov, ngroups);
            any = true;
        }
        last = a1;
        w = pos < len ? utf8_width((const unsigned char *)src + pos, len - pos) : 1;
        pos = pos + w > a1 ? pos + w : a1;
    }
    free(ov);
    if (!any) {
        free(b.p);
        return 0;
    }
    sb_put(&b, src + last, len - last);
    if (b.p == NULL && !b.oom) {
        b.p = calloc(1, 1); /* everything replaced by nothing */
        b.oom = b.p == NULL;
    }
    if (b.oom) {
        free(b.p);
        return -ENOMEM;
    }
    *out = b.p;
    *outlen = b.n;
    return 1;
}
