/* Server choice: smooth weighted round robin through the service kinds, sticky cookies and
 * the mirroring counter (balance.h). */
#include "node/proxy/balance.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Nested services are acyclic (the compiler refuses loops); this only bounds a bug. */
#define MAX_DEPTH 32

static uint32_t slots_of(const struct table_service *s)
{
    switch (s->kind) {
    case TABLE_SVC_LB:
        return s->nservers;
    case TABLE_SVC_WEIGHTED:
        return s->nchildren;
    case TABLE_SVC_MIRRORING:
        return 1;
    default:
        return 0;
    }
}

int balance_init(struct balance *b, const struct table *t)
{
    uint32_t n = table_nservices(t), total = 0;
    memset(b, 0, sizeof *b);
    b->off = calloc(n + 1, sizeof *b->off);
    for (uint32_t i = 0; b->off != NULL && i < n; i++) {
        b->off[i] = total;
        total += slots_of(table_service_at(t, i));
    }
    b->cur = calloc(total + 1, sizeof *b->cur);
    if (b->off == NULL || b->cur == NULL) {
        balance_fini(b);
        return -ENOMEM;
    }
    b->nservices = n;
    return 0;
}

void balance_fini(struct balance *b)
{
    free(b->cur);
    free(b->off);
    memset(b, 0, sizeof *b);
}

/* Smooth weighted round robin (the nginx method): every pick adds each candidate's weight to
 * its current value, takes the largest and subtracts the total. Equal weights give plain round
 * robin; weight 0 is never chosen. Returns the index, or -1 when every weight is 0. */
static int32_t wrr(int64_t *cur, const uint32_t *weights, uint32_t stride, uint32_t n)
{
    int64_t total = 0;
    int32_t best = -1;
    for (uint32_t i = 0; i < n; i++) {
        int64_t wt = *(const uint32_t *)((const char *)weights + (size_t)i * stride);
        if (wt <= 0) {
            continue;
        }
        cur[i] += wt;
        total += wt;
        if (best < 0 || cur[i] > cur[best]) {
            best = (int32_t)i;
        }
    }
    if (best >= 0) {
        cur[best] -= total;
    }
    return best;
}

const char *balance_cookie_get(const struct h1_header *hdrs, uint32_t nhdrs, const char *name,
                               uint32_t *vlen)
{
    size_t nl = strlen(name);
    for (uint32_t i = 0; i < nhdrs; i++) {
        const struct h1_header *h = &hdrs[i];
        if (h->name_len != 6 || strncasecmp(h->name, "cookie", 6) != 0) {
            continue;
        }
        /* "a=1; b=2": pairs split by ';', optional spaces around them. */
        const char *p = h->value, *end = h->value + h->value_len;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == '\t' || *p == ';')) {
                p++;
            }
            const char *semi = memchr(p, ';', (size_t)(end - p));
            const char *pe = semi ? semi : end;
            const char *eq = memchr(p, '=', (size_t)(pe - p));
            if (eq != NULL && (size_t)(eq - p) == nl && memcmp(p, name, nl) == 0) {
                const char *v = eq + 1, *ve = pe;
                while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) {
                    ve--;
                }
                if (ve - v >= 2 && v[0] == '"' && ve[-1] == '"') {
                    v++;
                    ve--;
                }
                *vlen = (uint32_t)(ve - v);
                return v;
            }
            p = pe;
        }
    }
    return NULL;
}

/* FNV-1 64 in hex: the sticky values Traefik wrote before SHA-256. */
static void fnv_hex(const char *s, size_t n, char out[17])
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) {
        h *= 1099511628211ull;
        h ^= (unsigned char)s[i];
    }
    snprintf(out, 17, "%" PRIx64, h);
}

/* 2: cookie value v is `value`; 1: an older value of `name` (rewrite the cookie); 0: no. */
static int cookie_names(const char *v, uint32_t vlen, const char *value, const char *name)
{
    char f1[17], f2[17];
    if (vlen == TABLE_STICKY_LEN && memcmp(v, value, vlen) == 0) {
        return 2;
    }
    if (strlen(name) == vlen && memcmp(v, name, vlen) == 0) {
        return 1;
    }
    fnv_hex(name, strlen(name), f1);
    fnv_hex(f1, strlen(f1), f2);
    return (strlen(f1) == vlen && memcmp(v, f1, vlen) == 0) ||
           (strlen(f2) == vlen && memcmp(v, f2, vlen) == 0);
}

/* The index the request's sticky cookie names among the candidates (positive weight only), or
 * -1 (then the pick is normal and the cookie is set). *old: an older value matched. */
static int32_t sticky_index(const struct table_service *s, const struct h1_header *hdrs,
                            uint32_t nhdrs, bool *old)
{
    uint32_t vlen = 0;
    const char *v = balance_cookie_get(hdrs, nhdrs, s->sticky->name, &vlen);
    int m;
    *old = false;
    if (v == NULL) {
        return -1;
    }
    if (s->kind == TABLE_SVC_LB) {
        for (uint32_t i = 0; i < s->nservers; i++) {
            if (s->weights[i] > 0 &&
                (m = cookie_names(v, vlen, s->sticky_values[i], s->servers[i]->url)) != 0) {
                *old = m == 1;
                return (int32_t)i;
            }
        }
    } else {
        for (uint32_t i = 0; i < s->nchildren; i++) {
            const struct table_child *ch = &s->children[i];
            if (ch->weight > 0 && (m = cookie_names(v, vlen, ch->sticky, ch->ref)) != 0) {
                *old = m == 1;
                return (int32_t)i;
            }
        }
    }
    return -1;
}

static void want_cookie(struct bal_pick *out, const struct table_cookie *ck, const char *value)
{
    if (out->nset < BAL_MAX_COOKIES) {
        out->set[out->nset++] = (struct bal_cookie){.ck = ck, .value = value};
    }
}

bool balance_usable(const struct table_service *s)
{
    for (int depth = 0; s != NULL && depth < MAX_DEPTH; depth++) {
        switch (s->kind) {
        case TABLE_SVC_LB:
            for (uint32_t i = 0; i < s->nservers; i++) {
                if (s->weights[i] > 0 && s->servers[i]->addrlen > 0) {
                    return true;
                }
            }
            return false;
        case TABLE_SVC_WEIGHTED:
            for (uint32_t i = 0; i < s->nchildren; i++) {
                if (s->children[i].weight > 0 && balance_usable(s->children[i].svc)) {
                    return true;
                }
            }
            return false;
        case TABLE_SVC_MIRRORING:
            s = s->main;
            break;
        case TABLE_SVC_FAILOVER:
            if (balance_usable(s->main)) {
                return true;
            }
            s = s->fallback;
            break;
        }
    }
    return false;
}

/* Of every 100 requests, exactly `percent` are copied, as Traefik counts: request t (from 1)
 * is copied when the copies so far, ceil((t - 1) * p / 100), fall short of t * p / 100. */
static uint64_t mirror_mask(const struct table_service *s, int64_t *counter)
{
    uint64_t n = (uint64_t)(*counter)++, mask = 0;
    for (uint32_t i = 0; i < s->nmirrors && i < 64; i++) {
        uint64_t p = s->mirrors[i].percent;
        if (((n + 1) * p + 99) / 100 > (n * p + 99) / 100) {
            mask |= 1ull << i;
        }
    }
    return mask;
}

/* `first`: the request's first pick, which counts it through mirroring services. */
static int pick(struct balance *b, const struct table_service *s, const struct h1_header *hdrs,
                uint32_t nhdrs, struct bal_pick *out, bool first)
{
    memset(out, 0, sizeof *out);
    for (int depth = 0; s != NULL && depth < MAX_DEPTH; depth++) {
        int64_t *cur = s->id < b->nservices ? b->cur + b->off[s->id] : NULL;
        bool old = false, stuck;
        int32_t i;
        if (cur == NULL) {
            return -ENOENT; /* a service of another generation: a caller bug */
        }
        switch (s->kind) {
        case TABLE_SVC_LB:
            out->leaf = s;
            i = s->sticky ? sticky_index(s, hdrs, nhdrs, &old) : -1;
            stuck = i >= 0;
            if (!stuck) {
                i = wrr(cur, s->weights, sizeof *s->weights, s->nservers);
            }
            if (i < 0) {
                return -ENOENT;
            }
            if (s->sticky != NULL && (!stuck || old)) {
                want_cookie(out, s->sticky, s->sticky_values[i]);
            }
            out->server = s->servers[i];
            return 0;
        case TABLE_SVC_WEIGHTED:
            i = s->sticky ? sticky_index(s, hdrs, nhdrs, &old) : -1;
            stuck = i >= 0;
            if (!stuck) {
                i = wrr(cur, &s->children[0].weight, sizeof s->children[0], s->nchildren);
            }
            if (i < 0) {
                return -ENOENT;
            }
            if (s->sticky != NULL && (!stuck || old)) {
                want_cookie(out, s->sticky, s->children[i].sticky);
            }
            s = s->children[i].svc;
            break;
        case TABLE_SVC_MIRRORING:
            if (first && out->mirroring == NULL) {
                out->mirroring = s;
                out->mirror_mask = mirror_mask(s, cur);
            }
            s = s->main;
            break;
        case TABLE_SVC_FAILOVER:
            s = balance_usable(s->main) ? s->main : s->fallback;
            break;
        }
    }
    return -ENOENT;
}

int balance_pick(struct balance *b, const struct table_service *s, const struct h1_header *hdrs,
                 uint32_t nhdrs, struct bal_pick *out)
{
    return pick(b, s, hdrs, nhdrs, out, true);
}

int balance_repick(struct balance *b, const struct table_service *s, struct bal_pick *out)
{
    return pick(b, s, NULL, 0, out, false);
}

size_t balance_set_cookie(const struct bal_cookie *c, char *buf, size_t size)
{
    const struct table_cookie *ck = c->ck;
    int n = snprintf(buf, size, "Set-Cookie: %s=%s", ck->name, c->value);
    size_t len = n > 0 ? (size_t)n : size;
#define PUT(...)                                                                              \
    do {                                                                                      \
        if (len < size) {                                                                     \
            n = snprintf(buf + len, size - len, __VA_ARGS__);                                 \
            len += n > 0 ? (size_t)n : size;                                                  \
        }                                                                                     \
    } while (0)
    if (ck->path[0] != '\0') {
        PUT("; Path=%s", ck->path);
    }
    if (ck->domain[0] != '\0') {
        PUT("; Domain=%s", ck->domain);
    }
    if (ck->max_age != 0) {
        PUT("; Max-Age=%d", ck->max_age > 0 ? (int)ck->max_age : 0);
    }
    if (ck->http_only) {
        PUT("; HttpOnly");
    }
    if (ck->secure) {
        PUT("; Secure");
    }
    if (ck->same_site[0] != '\0') {
        const char *ss = ck->same_site;
        PUT("; SameSite=%s", strcmp(ss, "none") == 0 ? "None"
                             : strcmp(ss, "lax") == 0 ? "Lax"
                                                      : "Strict");
    }
    PUT("\r\n");
#undef PUT
    return len < size ? len : 0;
}
