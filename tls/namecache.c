/* Shared decoded CA names (namecache.h): an open-addressing table keyed by a 64-bit hash of the
 * DER bytes, verified by comparing the bytes; entries live in one arena with a hard budget. */
#include "namecache.h"

#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "wire/dn.h"
#include "wire/error.h"
#include "wire/hash.h"
#include "wire/hex.h"

struct tls_name_cache {
    struct tls_arena arena;
    struct tls_hashtab index; /* FNV-1a of the DER -> struct tls_ca_name */
    size_t max_bytes;
};

struct der_key {
    const uint8_t *der;
    size_t len;
};

static bool name_is(const void *val, const void *key)
{
    const struct tls_ca_name *ca = val;
    const struct der_key *k = key;
    return ca->der_len == k->len && memcmp(ca->der, k->der, k->len) == 0;
}

int tls_name_cache_new(struct tls_name_cache **out, size_t max_bytes)
{
    struct tls_name_cache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return TLS_E_NOMEM;
    tls_arena_init(&c->arena, max_bytes);
    tls_hashtab_init(&c->index);
    c->max_bytes = max_bytes;
    *out = c;
    return 0;
}

void tls_name_cache_free(struct tls_name_cache *c)
{
    if (c == NULL)
        return;
    tls_arena_free(&c->arena);
    tls_hashtab_free(&c->index);
    free(c);
}

size_t tls_name_cache_count(const struct tls_name_cache *c)
{
    return c->index.count;
}

size_t tls_name_cache_bytes(const struct tls_name_cache *c)
{
    return c->arena.used + tls_hashtab_bytes(&c->index);
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
        char *h = tls_arena_alloc(a, 2 * len + 1);
        if (h == NULL)
            return TLS_E_NOMEM;
        tls_hex_encode(der, len, h);
        text = h;
    }
    ca->dn = text;
    return 0;
}

const struct tls_ca_name *tls_name_cache_get(struct tls_name_cache *c, const uint8_t *der,
                                             size_t len)
{
    uint64_t h = tls_fnv1a(der, len, TLS_FNV1A_OFFSET);
    struct der_key key = {der, len};
    void **slot = tls_hashtab_find(&c->index, h, name_is, &key);
    if (slot)
        return *slot;
    struct tls_ca_name *ca = tls_arena_alloc(&c->arena, sizeof(*ca));
    if (ca == NULL || tls_ca_name_decode(&c->arena, ca, der, len) != 0)
        return NULL; /* the arena keeps what was taken: bounded by its budget anyway */
    if (tls_hashtab_insert(&c->index, h, ca) != 0)
        return NULL;
    return ca;
}
