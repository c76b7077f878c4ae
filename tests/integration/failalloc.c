/* LD_PRELOAD library for tests/integration/test_exporter.py: malloc and calloc fail on demand,
 * so that the exporter's allocation-failure paths run in the real program. While the file named
 * by CAPROBE_FAILALLOC_FILE exists and holds "MIN MAX", a malloc or calloc of MIN to MAX bytes
 * returns NULL with ENOMEM; otherwise (and for every other size, and every realloc and free)
 * the next allocator answers: glibc's, or the sanitizers' in an ASan build. Never in caprobe. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define ARMED_FROM 256 /* smaller allocations are never failed (and cost no system call) */

static void *(*next_malloc)(size_t);
static void *(*next_calloc)(size_t, size_t);
static void (*next_free)(void *);
static bool resolving;

/* What dlsym allocates while the next allocator is being looked up comes from here. */
static _Alignas(max_align_t) unsigned char boot[4096];
static size_t boot_used;

static void *boot_alloc(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n > sizeof(boot) - boot_used)
        return NULL;
    boot_used += n;
    return boot + boot_used - n; /* static storage: already zero */
}

static void resolve(void)
{
    if (next_free || resolving)
        return;
    resolving = true;
    next_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    next_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
    next_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    resolving = false;
}

static unsigned long long number(const char **p)
{
    unsigned long long v = 0;
    while (**p == ' ')
        (*p)++;
    for (; **p >= '0' && **p <= '9'; (*p)++)
        v = v * 10 + (unsigned long long)(**p - '0');
    return v;
}

/* Whether an allocation of n bytes is to fail now: system calls only, no allocation. */
static bool armed(size_t n)
{
    const char *path = n >= ARMED_FROM ? getenv("CAPROBE_FAILALLOC_FILE") : NULL;
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0)
        return false;
    char text[64];
    ssize_t got = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (got <= 0)
        return false;
    text[got] = 0;
    const char *p = text;
    unsigned long long lo = number(&p), hi = number(&p);
    return n >= lo && n <= hi;
}

void *malloc(size_t n)
{
    resolve();
    if (next_malloc == NULL)
        return boot_alloc(n);
    if (armed(n)) {
        errno = ENOMEM;
        return NULL;
    }
    return next_malloc(n);
}

void *calloc(size_t count, size_t size)
{
    resolve();
    if (next_calloc == NULL)
        return size && count > SIZE_MAX / size ? NULL : boot_alloc(count * size);
    if (size && count <= SIZE_MAX / size && armed(count * size)) {
        errno = ENOMEM;
        return NULL;
    }
    return next_calloc(count, size);
}

void free(void *p)
{
    if ((unsigned char *)p >= boot && (unsigned char *)p < boot + sizeof(boot))
        return;
    resolve();
    if (next_free)
        next_free(p);
}
