/* Hashing and an open-addressing hash index: the one copy for every module (shards, duplicate
 * targets, per-address counts, decoded names, baseline records, rendered names). The index maps
 * a 64-bit hash to the caller's pointer; the caller decides equality, so any key type works and
 * the index never owns keys or values. Slots come from a per-process keyed mix of the hash, so
 * hashes a server can steer (FNV-1a of CA names it sends) cannot pile up in one run. */
#ifndef TLS_WIRE_HASH_H
#define TLS_WIRE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_FNV1A_OFFSET 0xcbf29ce484222325ULL

/* FNV-1a, 64 bits, over p/n continuing from h (start with TLS_FNV1A_OFFSET). */
uint64_t tls_fnv1a(const void *p, size_t n, uint64_t h);
/* The same over a string, without its NUL. */
uint64_t tls_fnv1a_str(const char *s, uint64_t h);
/* A SHA-256 digest is already uniform: its first 8 bytes serve as the hash. */
uint64_t tls_hash_digest(const uint8_t sha256[32]);
/* splitmix64's finaliser: spreads every input bit over the output (for h % n). */
uint64_t tls_hash_mix(uint64_t h);

struct tls_hashtab {
    uint64_t *hashes;
    void **vals; /* NULL marks an empty slot */
    size_t cap;  /* a power of two, or 0 */
    size_t count;
};

/* Decides whether the stored val is the key being looked for. */
typedef bool tls_hashtab_eq_fn(const void *val, const void *key);

void tls_hashtab_init(struct tls_hashtab *t);
void tls_hashtab_free(struct tls_hashtab *t);

/* The slot holding the value with hash h for which eq(val, key) holds, or NULL. The slot may be
 * overwritten with another non-NULL value of the same key. */
void **tls_hashtab_find(const struct tls_hashtab *t, uint64_t h, tls_hashtab_eq_fn *eq,
                        const void *key);
/* Add val (not NULL) under h; the caller has checked it is not there. Keeps the table at most
 * half full. Returns 0 or TLS_E_NOMEM. */
int tls_hashtab_insert(struct tls_hashtab *t, uint64_t h, void *val);
/* Take out the value in slot (as returned by find). Later entries of its probe sequence move
 * back, so no tombstone is left and the table stays as if the value had never been added. */
void tls_hashtab_remove(struct tls_hashtab *t, void **slot);
/* Bytes held by the index itself. */
size_t tls_hashtab_bytes(const struct tls_hashtab *t);

/* A set of 64-bit hashes alone (8 bytes a slot), for sets so large that a pointer per entry
 * counts: the distinct targets of a list of millions. The hash stands for the key. */
struct tls_hashset {
    uint64_t *slots; /* keyed hashes; 0 marks an empty slot (a keyed 0 is stored as 1) */
    size_t cap, count;
};

void tls_hashset_init(struct tls_hashset *s);
void tls_hashset_free(struct tls_hashset *s);
/* 1 when h was added, 0 when it was there already, TLS_E_NOMEM. */
int tls_hashset_add(struct tls_hashset *s, uint64_t h);

#endif
