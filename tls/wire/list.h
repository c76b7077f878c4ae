/* Intrusive doubly linked lists, after libuv's queue: a struct tls_list node is embedded in
 * the element, the list head is a node of its own, and TLS_LIST_ENTRY gets the element back.
 * The one way to link and unlink in caprobe: no hand-written prev/next sequences. */
#ifndef TLS_WIRE_LIST_H
#define TLS_WIRE_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct tls_list {
    struct tls_list *prev, *next;
};

/* An empty list (a head) or an unlinked node: points at itself. */
static inline void tls_list_init(struct tls_list *l)
{
    l->prev = l->next = l;
}

static inline bool tls_list_empty(const struct tls_list *l)
{
    return l->next == l;
}

/* Whether node is in some list (nodes are initialised unlinked and unlinked with remove). */
static inline bool tls_list_linked(const struct tls_list *node)
{
    return node->next != node;
}

static inline void tls_list_insert_tail(struct tls_list *head, struct tls_list *node)
{
    node->next = head;
    node->prev = head->prev;
    node->prev->next = node;
    head->prev = node;
}

static inline void tls_list_remove(struct tls_list *node)
{
    node->prev->next = node->next;
    node->next->prev = node->prev;
    tls_list_init(node);
}

/* The first node, or NULL for an empty list. */
static inline struct tls_list *tls_list_first(const struct tls_list *head)
{
    return head->next == head ? NULL : head->next;
}

/* The node after node, or NULL at the end of head's list. */
static inline struct tls_list *tls_list_next(const struct tls_list *head,
                                             const struct tls_list *node)
{
    return node->next == head ? NULL : node->next;
}

#define TLS_LIST_ENTRY(node, type, field) ((type *)(void *)((char *)(node)-offsetof(type, field)))

#endif
