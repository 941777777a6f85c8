/* Striped, bounded per-source map (see srcmap.h). */
#include "node/proxy/srcmap.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "node/base/dlist.h"

struct entry {
    struct entry *next; /* hash chain */
    struct dlist lru;   /* most recently used at the head */
    uint64_t hash;
    uint32_t klen;
    _Alignas(16) unsigned char value[]; /* vsize bytes, then the key */
};

#define KEY(s, e) ((char *)(e)->value + (s)->vsize)

struct stripe {
    pthread_mutex_t lock;
    struct entry **heads;
    uint32_t nheads; /* a power of two */
    uint32_t n;
    struct dlist lru;
};

struct srcmap {
    size_t vsize;
    uint32_t cap; /* per stripe; 0: unbounded */
    srcmap_idle_fn idle;
    uint64_t seed;
    struct stripe st[SRCMAP_STRIPES];
};

/* FNV-1a over the key, started from a random seed and finished with a 64-bit mixer. Not a
 * cryptographic PRF; the seed only keeps collisions from being chosen offline. */
static uint64_t hash_key(uint64_t seed, const char *k, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

struct srcmap *srcmap_new(size_t value_size, uint32_t max_entries, srcmap_idle_fn idle)
{
    struct srcmap *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return NULL;
    }
    s->vsize = value_size;
    s->cap = max_entries == 0 ? 0 : (max_entries + SRCMAP_STRIPES - 1) / SRCMAP_STRIPES;
    s->idle = idle;
    if (getrandom(&s->seed, sizeof s->seed, GRND_NONBLOCK) != (ssize_t)sizeof s->seed) {
        s->seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)s;
    }
    for (int i = 0; i < SRCMAP_STRIPES; i++) {
        struct stripe *t = &s->st[i];
        pthread_mutex_init(&t->lock, NULL);
        dlist_init(&t->lru);
        t->nheads = 16;
        t->heads = calloc(t->nheads, sizeof *t->heads);
        if (t->heads == NULL) {
            srcmap_free(s);
            return NULL;
        }
    }
    return s;
}

void srcmap_free(struct srcmap *s)
{
    if (s == NULL) {
        return;
    }
    for (int i = 0; i < SRCMAP_STRIPES; i++) {
        struct stripe *t = &s->st[i];
        for (uint32_t h = 0; t->heads != NULL && h < t->nheads; h++) {
            struct entry *e = t->heads[h];
            while (e != NULL) {
                struct entry *next = e->next;
                free(e);
                e = next;
            }
        }
        free(t->heads);
        pthread_mutex_destroy(&t->lock);
    }
    free(s);
}

static void unlink_entry(struct stripe *t, struct entry *e)
{
    struct entry **pp = &t->heads[e->hash & (t->nheads - 1)];
    while (*pp != e) {
        pp = &(*pp)->next;
    }
    *pp = e->next;
    dlist_remove(&e->lru);
    t->n--;
    free(e);
}

/* Doubles the chain heads when the stripe holds more entries than heads; on ENOMEM the map
 * keeps working with longer chains. */
static void maybe_grow(struct stripe *t)
{
    uint32_t nh = t->nheads * 2;
    struct entry **heads;
    if (t->n <= t->nheads || nh > (1u << 24)) {
        return;
    }
    heads = calloc(nh, sizeof *heads);
    if (heads == NULL) {
        return;
    }
    for (uint32_t h = 0; h < t->nheads; h++) {
        struct entry *e = t->heads[h];
        while (e != NULL) {
            struct entry *next = e->next;
            e->next = heads[e->hash & (nh - 1)];
            heads[e->hash & (nh - 1)] = e;
            e = next;
        }
    }
    free(t->heads);
    t->heads = heads;
    t->nheads = nh;
}

static struct entry *lru_tail(struct stripe *t)
{
    return dlist_empty(&t->lru) ? NULL : DLIST_ENTRY(t->lru.prev, struct entry, lru);
}

/* Drops up to two forgettable entries from the cold end: amortised cleanup, so that a stripe
 * shrinks back as sources go quiet without a timer. */
static void sweep(struct srcmap *s, struct stripe *t, uint64_t now_ms)
{
    for (int k = 0; k < 2 && s->idle != NULL; k++) {
        struct entry *e = lru_tail(t);
        if (e == NULL || !s->idle(e->value, now_ms)) {
            return;
        }
        unlink_entry(t, e);
    }
}

int srcmap_update(struct srcmap *s, const char *key, size_t klen, bool create, uint64_t now_ms,
                  srcmap_fn fn, void *arg)
{
    uint64_t h;
    struct stripe *t;
    struct entry *e;
    bool fresh = false;
    if (klen > SRCMAP_KEY_MAX) {
        klen = SRCMAP_KEY_MAX;
    }
    h = hash_key(s->seed, key, klen);
    t = &s->st[(h >> 56) % SRCMAP_STRIPES];
    pthread_mutex_lock(&t->lock);
    for (e = t->heads[h & (t->nheads - 1)]; e != NULL; e = e->next) {
        if (e->hash == h && e->klen == klen && memcmp(KEY(s, e), key, klen) == 0) {
            break;
        }
    }
    if (e == NULL) {
        if (!create) {
            pthread_mutex_unlock(&t->lock);
            return -ENOENT;
        }
        sweep(s, t, now_ms);
        if (s->cap != 0 && t->n >= s->cap) {
            unlink_entry(t, lru_tail(t));
        }
        e = calloc(1, sizeof *e + s->vsize + klen);
        if (e == NULL) {
            pthread_mutex_unlock(&t->lock);
            return -ENOMEM;
        }
        e->hash = h;
        e->klen = (uint32_t)klen;
        memcpy(KEY(s, e), key, klen);
        e->next = t->heads[h & (t->nheads - 1)];
        t->heads[h & (t->nheads - 1)] = e;
        dlist_insert_head(&t->lru, &e->lru);
        t->n++;
        fresh = true;
        maybe_grow(t);
    } else {
        dlist_remove(&e->lru);
        dlist_insert_head(&t->lru, &e->lru);
    }
    if (fn(e->value, fresh, arg)) {
        unlink_entry(t, e);
    }
    if (!fresh) {
        sweep(s, t, now_ms);
    }
    pthread_mutex_unlock(&t->lock);
    return 0;
}

size_t srcmap_size(struct srcmap *s)
{
    size_t n = 0;
    for (int i = 0; i < SRCMAP_STRIPES; i++) {
        pthread_mutex_lock(&s->st[i].lock);
        n += s->st[i].n;
        pthread_mutex_unlock(&s->st[i].lock);
    }
    return n;
}
