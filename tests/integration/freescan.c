/* LD_PRELOAD library for tests/integration/test_client_cert.py: tells whether memory handed back
 * to the allocator still holds a secret. Every block given to free (and every block realloc
 * leaves, which it hands on as a copy and a free) is searched for the bytes of
 * CAPROBE_FREESCAN_NEEDLE; a hit writes "freescan: a block of N bytes freed with the needle
 * in it" to standard error. Glibc only (malloc_usable_size); never in caprobe, never with a
 * sanitizer (whose allocator the test does not preload this in front of). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *(*next_malloc)(size_t);
static void (*next_free)(void *);
static bool resolving;

static void resolve(void)
{
    if (next_free || resolving)
        return;
    resolving = true;
    next_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    next_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    resolving = false;
}

static void scan(void *p)
{
    const char *needle = getenv("CAPROBE_FREESCAN_NEEDLE");
    size_t k = needle ? strlen(needle) : 0;
    size_t n = malloc_usable_size(p);
    if (k && memmem(p, n, needle, k)) {
        char line[96];
        int len = snprintf(line, sizeof(line),
                           "freescan: a block of %zu bytes freed with the needle in it\n", n);
        if (len > 0 && write(STDERR_FILENO, line, (size_t)len) < 0)
            return;
    }
}

void free(void *p)
{
    resolve();
    if (p == NULL || next_free == NULL)
        return; /* what dlsym freed while resolving: kept */
    scan(p);
    next_free(p);
}

void *realloc(void *p, size_t n)
{
    resolve();
    if (next_malloc == NULL)
        return NULL;
    if (p == NULL)
        return next_malloc(n);
    if (n == 0) {
        free(p);
        return NULL;
    }
    void *q = next_malloc(n);
    if (q == NULL)
        return NULL;
    size_t old = malloc_usable_size(p);
    memcpy(q, p, old < n ? old : n);
    free(p);
    return q;
}
