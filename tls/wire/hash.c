/* FNV-1a and an open-addressing index with linear probing (hash.h). Grows by doubling at half
 * full, so a probe sequence stays short; never shrinks. */
#include "hash.h"

#include <stdlib.h>
#include <sys/random.h>
#include <string.h>

#include "error.h"

uint64_t tls_fnv1a(const void *p, size_t n, uint64_t h)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t tls_fnv1a_str(const char *s, uint64_t h)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t tls_hash_digest(const uint8_t sha256[32])
{
    uint64_t h;
    memcpy(&h, sha256, sizeof(h));
    return h;
}

uint64_t tls_hash_mix(uint64_t h)
{
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

/* Slots come from a keyed mix of the caller's hash, so that keys a server chose (CA names
 * hashed with FNV-1a, whose low bits are easy to make collide) cannot be aimed at one run of
 * slots: the key is random per process, and the mix spreads all 64 bits over the low ones. The
 * mix is a bijection, so the stored (mixed) hashes compare as the caller's do. Nothing
 * observable depends on the key: the tables are only looked up, never listed in output. */
static uint64_t keyed(uint64_t h)
{
    static uint64_t key;
    static bool have_key;
    if (!have_key) {
        if (getrandom(&key, sizeof(key), GRND_NONBLOCK) != (ssize_t)sizeof(key))
            key = (uint64_t)(uintptr_t)&key; /* no entropy yet: ASLR's bits, better than none */
        have_key = true;
    }
    return tls_hash_mix(h ^ key);
}

void tls_hashtab_init(struct tls_hashtab *t)
{
    t->hashes = NULL;
    t->vals = NULL;
    t->cap = t->count = 0;
}

void tls_hashtab_free(struct tls_hashtab *t)
{
    if (t == NULL)
        return;
    free(t->hashes);
    free(t->vals);
    tls_hashtab_init(t);
}

void **tls_hashtab_find(const struct tls_hashtab *t, uint64_t h, tls_hashtab_eq_fn *eq,
                        const void *key)
{
    if (t->cap == 0)
        return NULL;
    h = keyed(h);
    size_t mask = t->cap - 1;
    for (size_t j = h & mask; t->vals[j]; j = (j + 1) & mask)
        if (t->hashes[j] == h && eq(t->vals[j], key))
            return &t->vals[j];
    return NULL;
}

static void put(uint64_t *hashes, void **vals, size_t cap, uint64_t h, void *val)
{
    size_t j = h & (cap - 1);
    while (vals[j])
        j = (j + 1) & (cap - 1);
    hashes[j] = h;
    vals[j] = val;
}

int tls_hashtab_insert(struct tls_hashtab *t, uint64_t h, void *val)
{
    h = keyed(h);
    if (2 * (t->count + 1) > t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        uint64_t *hashes = malloc(cap * sizeof(*hashes));
        void **vals = calloc(cap, sizeof(*vals));
        if (hashes == NULL || vals == NULL) {
            free(hashes);
            free(vals);
            return TLS_E_NOMEM;
        }
        for (size_t i = 0; i < t->cap; i++)
            if (t->vals[i])
                put(hashes, vals, cap, t->hashes[i], t->vals[i]);
        free(t->hashes);
        free(t->vals);
        t->hashes = hashes;
        t->vals = vals;
        t->cap = cap;
    }
    put(t->hashes, t->vals, t->cap, h, val);
    t->count++;
    return 0;
}

void tls_hashtab_remove(struct tls_hashtab *t, void **slot)
{
    size_t mask = t->cap - 1;
    size_t hole = (size_t)(slot - t->vals);
    /* Backward shift: an entry further along may fill the hole unless its home slot lies
     * cyclically after the hole (then it would move before its home and not be found). */
    for (size_t j = (hole + 1) & mask; t->vals[j]; j = (j + 1) & mask) {
        size_t home = t->hashes[j] & mask;
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            t->hashes[hole] = t->hashes[j];
            t->vals[hole] = t->vals[j];
            hole = j;
        }
    }
    t->vals[hole] = NULL;
    t->count--;
}

size_t tls_hashtab_bytes(const struct tls_hashtab *t)
{
    return t->cap * (sizeof(*t->hashes) + sizeof(*t->vals));
}

void tls_hashset_init(struct tls_hashset *s)
{
    s->slots = NULL;
    s->cap = s->count = 0;
}

void tls_hashset_free(struct tls_hashset *s)
{
    if (s == NULL)
        return;
    free(s->slots);
    tls_hashset_init(s);
}

static size_t hashset_slot(const uint64_t *slots, size_t cap, uint64_t h)
{
    size_t j = h & (cap - 1);
    while (slots[j] && slots[j] != h)
        j = (j + 1) & (cap - 1);
    return j;
}

int tls_hashset_add(struct tls_hashset *s, uint64_t h)
{
    h = keyed(h);
    h = h ? h : 1;
    if (s->cap && s->slots[hashset_slot(s->slots, s->cap, h)] == h)
        return 0;
    if (2 * (s->count + 1) > s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        uint64_t *slots = calloc(cap, sizeof(*slots));
        if (slots == NULL)
            return TLS_E_NOMEM;
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i])
                slots[hashset_slot(slots, cap, s->slots[i])] = s->slots[i];
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    s->slots[hashset_slot(s->slots, s->cap, h)] = h;
    s->count++;
    return 1;
}
