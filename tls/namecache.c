/* Shared decoded CA names (namecache.h): an open-addressing table keyed by a 64-bit hash of the
 * DER bytes, verified by comparing the bytes; entries live in one arena with a hard budget. */
#include "namecache.h"

#include <stdlib.h>
#include <string.h>

#include "wire/dn.h"
#include "wire/error.h"
#include "x509.h"

struct tls_name_cache {
    struct tls_arena arena;
    struct tls_ca_name **slots;
    uint64_t *hashes;
    size_t cap, count;
    size_t max_bytes;
};

static uint64_t der_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h ? h : 1;
}

int tls_name_cache_new(struct tls_name_cache **out, size_t max_bytes)
{
    struct tls_name_cache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return TLS_E_NOMEM;
    tls_arena_init(&c->arena, max_bytes);
    c->max_bytes = max_bytes;
    *out = c;
    return 0;
}

void tls_name_cache_free(struct tls_name_cache *c)
{
    if (c == NULL)
        return;
    tls_arena_free(&c->arena);
    free(c->slots);
    free(c->hashes);
    free(c);
}

size_t tls_name_cache_count(const struct tls_name_cache *c)
{
    return c->count;
}

size_t tls_name_cache_bytes(const struct tls_name_cache *c)
{
    return c->arena.used + c->cap * (sizeof(*c->slots) + sizeof(*c->hashes));
}

static char *hex(struct tls_arena *a, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *s = tls_arena_alloc(a, 2 * n + 1);
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = digits[p[i] >> 4];
        s[2 * i + 1] = digits[p[i] & 15];
    }
    s[2 * n] = 0;
    return s;
}

int tls_ca_name_decode(struct tls_arena *a, struct tls_ca_name *ca, const uint8_t *der, size_t len)
{
    memset(ca, 0, sizeof(*ca));
    ca->der = tls_arena_memdup(a, der, len);
    ca->der_len = len;
    if (len && ca->der == NULL)
        return TLS_E_NOMEM;
    tls_sha256(der, len, ca->sha256);
    const char *text = NULL;
    int rc = len ? tls_dn_format_arena(a, der, len, &text) : TLS_E_DER;
    if (rc == TLS_E_NOMEM)
        return rc;
    if (rc) {
        /* DESIGN: a name we cannot decode is kept as hex and marked, never dropped. */
        ca->malformed = true;
        text = hex(a, der, len);
        if (text == NULL)
            return TLS_E_NOMEM;
    }
    ca->dn = text;
    return 0;
}

static int grow(struct tls_name_cache *c)
{
    size_t cap = c->cap ? 2 * c->cap : 256;
    struct tls_ca_name **slots = calloc(cap, sizeof(*slots));
    uint64_t *hashes = calloc(cap, sizeof(*hashes));
    if (!slots || !hashes) {
        free(slots);
        free(hashes);
        return TLS_E_NOMEM;
    }
    for (size_t i = 0; i < c->cap; i++) {
        if (c->slots[i] == NULL)
            continue;
        size_t j = c->hashes[i] & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = c->slots[i];
        hashes[j] = c->hashes[i];
    }
    free(c->slots);
    free(c->hashes);
    c->slots = slots;
    c->hashes = hashes;
    c->cap = cap;
    return 0;
}

const struct tls_ca_name *tls_name_cache_get(struct tls_name_cache *c, const uint8_t *der,
                                             size_t len)
{
    uint64_t h = der_hash(der, len);
    if (c->cap) {
        for (size_t j = h & (c->cap - 1); c->slots[j]; j = (j + 1) & (c->cap - 1))
            if (c->hashes[j] == h && c->slots[j]->der_len == len &&
                memcmp(c->slots[j]->der, der, len) == 0)
                return c->slots[j];
    }
    /* Keep the table at most half full; a full budget means no more inserts. */
    if (2 * (c->count + 1) > c->cap && grow(c) != 0)
        return NULL;
    struct tls_ca_name *ca = tls_arena_alloc(&c->arena, sizeof(*ca));
    if (ca == NULL || tls_ca_name_decode(&c->arena, ca, der, len) != 0)
        return NULL; /* the arena keeps what was taken: bounded by its budget anyway */
    size_t j = h & (c->cap - 1);
    while (c->slots[j])
        j = (j + 1) & (c->cap - 1);
    c->slots[j] = ca;
    c->hashes[j] = h;
    c->count++;
    return ca;
}
