/* Intrusive circular doubly linked list (header only). */
#ifndef CONCORD_BASE_DLIST_H
#define CONCORD_BASE_DLIST_H

#include <stddef.h>

struct dlist {
    struct dlist *next;
    struct dlist *prev;
};

#define DLIST_ENTRY(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static inline void dlist_init(struct dlist *l)
{
    l->next = l;
    l->prev = l;
}

static inline int dlist_empty(const struct dlist *l)
{
    return l->next == l;
}

static inline void dlist_insert_head(struct dlist *l, struct dlist *n)
{
    n->next = l->next;
    n->prev = l;
    l->next->prev = n;
    l->next = n;
}

static inline void dlist_insert_tail(struct dlist *l, struct dlist *n)
{
    n->prev = l->prev;
    n->next = l;
    l->prev->next = n;
    l->prev = n;
}

/* Removes `n` and leaves it self-linked, so removing twice is harmless. */
static inline void dlist_remove(struct dlist *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n;
    n->prev = n;
}

#endif
