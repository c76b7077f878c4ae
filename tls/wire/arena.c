/* Chunked bump allocator (arena.h). Never frees single allocations; never exceeds its cap. */
#include "arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK 4096
#define ARENA_ALIGN 16

struct tls_arena_chunk {
    struct tls_arena_chunk *next;
    size_t size;
    size_t off;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

void tls_arena_init(struct tls_arena *a, size_t cap)
{
    a->head = NULL;
    a->used = 0;
    a->cap = cap;
}

void tls_arena_free(struct tls_arena *a)
{
    if (a == NULL)
        return;
    struct tls_arena_chunk *c = a->head;
    while (c) {
        struct tls_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->used = 0;
}

void *tls_arena_alloc(struct tls_arena *a, size_t n)
{
    if (n > SIZE_MAX / 2)
        return NULL;
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0)
        need = ARENA_ALIGN;
    struct tls_arena_chunk *c = a->head;
    if (c == NULL || c->size - c->off < need) {
        size_t size = need > ARENA_CHUNK ? need : ARENA_CHUNK;
        size_t total = sizeof(*c) + size;
        if (a->cap && a->used + total > a->cap) {
            /* Near the cap a chunk of exactly the size needed may still fit. */
            size = need;
            total = sizeof(*c) + size;
            if (a->used + total > a->cap)
                return NULL;
        }
        c = malloc(total);
        if (c == NULL)
            return NULL;
        c->size = size;
        c->off = 0;
        c->next = a->head;
        a->head = c;
        a->used += total;
    }
    void *p = c->data + c->off;
    c->off += need;
    return p;
}

void *tls_arena_memdup(struct tls_arena *a, const void *p, size_t n)
{
    void *q = tls_arena_alloc(a, n);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

char *tls_arena_strdup(struct tls_arena *a, const char *s)
{
    return s ? tls_arena_memdup(a, s, strlen(s) + 1) : NULL;
}

char *tls_arena_printf(struct tls_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = tls_arena_alloc(a, (size_t)n + 1);
    if (s == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}
