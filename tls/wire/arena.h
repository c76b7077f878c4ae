/* Bump allocator for the strings and arrays of one observation: everything is freed at once with
 * the arena. A hard cap bounds what one probe may hold; past it allocation fails. */
#ifndef TLS_ARENA_H
#define TLS_ARENA_H

#include <stddef.h>
#include <stdint.h>

struct tls_arena_chunk;

struct tls_arena {
    struct tls_arena_chunk *head;
    size_t used; /* bytes handed out plus chunk overhead, for the cap */
    size_t cap;  /* 0: no cap */
};

void tls_arena_init(struct tls_arena *a, size_t cap);
void tls_arena_free(struct tls_arena *a);
/* NULL when out of memory or over the cap. Memory is aligned for any scalar type. */
void *tls_arena_alloc(struct tls_arena *a, size_t n);
void *tls_arena_memdup(struct tls_arena *a, const void *p, size_t n);
char *tls_arena_strdup(struct tls_arena *a, const char *s);
char *tls_arena_printf(struct tls_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
