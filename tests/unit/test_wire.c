/* Unit tests for the shared helpers of tls/wire/: hex, UTF-8, terminal escaping, FNV-1a, the
 * hash index, the intrusive list and the bounded writer. Oracles: published FNV test vectors, RFC
 * 3629's examples and its table of well-formed sequences, the C library's wcwidth, and a plain
 * array checked in parallel. */
#define _XOPEN_SOURCE 700 /* wcwidth */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <iconv.h>
#include <limits.h>
#include <stdbool.h>
#include <wchar.h>

#include "tls/wire/digestset.h"
#include "tls/wire/escape.h"
#include "tls/wire/hash.h"
#include "tls/wire/hex.h"
#include "tls/wire/list.h"
#include "tls/wire/similar.h"
#include "tls/wire/utf8.h"
#include "tls/wire/wbuf.h"
#include "tls/wire/error.h"

static void test_hex(void **state)
{
    (void)state;
    const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char out[2 * sizeof(in) + 1];
    memset(out, 'z', sizeof(out));
    tls_hex_encode(in, sizeof(in), out);
    assert_string_equal(out, "00017f80abff");
    tls_hex_encode(in, 0, out);
    assert_string_equal(out, "");
    for (int c = -128; c < 128; c++) {
        const char *at = c > 0 ? strchr("0123456789abcdef", c) : NULL;
        int want = at ? (int)(at - "0123456789abcdef") : -1;
        if (c > 0 && want < 0 && (at = strchr("ABCDEF", c)) != NULL)
            want = 10 + (int)(at - "ABCDEF");
        assert_int_equal(tls_hex_value((char)c), want);
    }
}

/* FNV-1a 64 vectors from the reference test suite of Fowler, Noll and Vo (test_fnv.c). */
static void test_fnv1a_vectors(void **state)
{
    (void)state;
    assert_true(tls_fnv1a("", 0, TLS_FNV1A_OFFSET) == 0xcbf29ce484222325ULL);
    assert_true(tls_fnv1a("a", 1, TLS_FNV1A_OFFSET) == 0xaf63dc4c8601ec8cULL);
    assert_true(tls_fnv1a_str("foobar", TLS_FNV1A_OFFSET) == 0x85944171f73967e8ULL);
    /* continuing over two parts is the hash of the whole */
    assert_true(tls_fnv1a_str("bar", tls_fnv1a_str("foo", TLS_FNV1A_OFFSET)) ==
                0x85944171f73967e8ULL);
    /* splitmix64's finaliser is a bijection that keeps 0: distinct inputs, distinct outputs */
    assert_true(tls_hash_mix(0) == 0);
    for (uint64_t i = 1; i < 1000; i++)
        assert_true(tls_hash_mix(i) != tls_hash_mix(i - 1));
}

/* Columns of a code point: never fewer than the C library's wcwidth (C.UTF-8) gives any
 * printable one, so text cut by them fits; two for CJK and emoji, one for Latin. */
static void test_utf8_width(void **state)
{
    (void)state;
    assert_int_equal(tls_utf8_width('A'), 1);
    assert_int_equal(tls_utf8_width(0xe9), 1);    /* é */
    assert_int_equal(tls_utf8_width(0x6771), 2);  /* 東 */
    assert_int_equal(tls_utf8_width(0xac00), 2);  /* 가 */
    assert_int_equal(tls_utf8_width(0xff21), 2);  /* fullwidth A */
    assert_int_equal(tls_utf8_width(0x1f600), 2); /* an emoji */
    if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
        skip();
    size_t narrower = 0;
    uint32_t first = 0;
    for (uint32_t cp = 0x20; cp <= 0x10ffff; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff)
            continue;
        int w = wcwidth((wchar_t)cp);
        if (w > 0 && tls_utf8_width(cp) < (unsigned)w && narrower++ == 0)
            first = cp;
    }
    setlocale(LC_CTYPE, "C");
    if (narrower)
        fail_msg("%zu code points narrower than wcwidth says, the first U+%04X", narrower,
                 (unsigned)first);
}

static void test_utf8(void **state)
{
    (void)state;
    uint32_t cp;
    /* RFC 3629 7: "A<NOT IDENTICAL TO><ALPHA>." and the Korean and Japanese examples */
    const uint8_t ex1[] = {0x41, 0xe2, 0x89, 0xa2, 0xce, 0x91, 0x2e};
    assert_int_equal(tls_utf8_valid_prefix(ex1, sizeof(ex1)), sizeof(ex1));
    assert_int_equal(tls_utf8_decode(ex1 + 1, 6, &cp), 3);
    assert_int_equal(cp, 0x2262);
    const uint8_t bom_han[] = {0xef, 0xbb, 0xbf, 0xf0, 0xa3, 0x8e, 0xb4};
    assert_int_equal(tls_utf8_decode(bom_han + 3, 4, &cp), 4);
    assert_int_equal(cp, 0x233b4);
    /* RFC 3629 3 and 10: overlongs, surrogates, beyond U+10FFFF, stray continuation */
    const uint8_t *bad[] = {(const uint8_t *)"\xc0\x80",         (const uint8_t *)"\xc1\xbf",
                            (const uint8_t *)"\xe0\x80\xaf",     (const uint8_t *)"\xed\xa0\x80",
                            (const uint8_t *)"\xf4\x90\x80\x80", (const uint8_t *)"\x80",
                            (const uint8_t *)"\xf5\x80\x80\x80", (const uint8_t *)"\xff"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(tls_utf8_decode(bad[i], strlen((const char *)bad[i]), &cp), 0);
    /* a truncated sequence is not read past its end */
    assert_int_equal(tls_utf8_decode((const uint8_t *)"\xe2\x89", 2, &cp), 0);
    const uint8_t mixed[] = {'o', 'k', 0xe2, 0x89};
    assert_int_equal(tls_utf8_valid_prefix(mixed, sizeof(mixed)), 2);
    /* the largest code point and the ones around the surrogates */
    assert_int_equal(tls_utf8_decode((const uint8_t *)"\xf4\x8f\xbf\xbf", 4, &cp), 4);
    assert_int_equal(cp, 0x10ffff);
    assert_int_equal(tls_utf8_decode((const uint8_t *)"\xed\x9f\xbf", 3, &cp), 3);
    assert_int_equal(tls_utf8_decode((const uint8_t *)"\xee\x80\x80", 3, &cp), 3);
}

static void test_escape(void **state)
{
    (void)state;
    char out[64];
    /* ESC [ 2 J, BEL, CSI (U+009B as UTF-8), DEL and an invalid byte */
    tls_escape_term(out, sizeof(out), "a\x1b[2J\x07\xc2\x9b\x7f\xff", 0);
    assert_string_equal(out, "a\\x1b[2J\\x07\\xc2\\x9b\\x7f\\xff");
    /* valid UTF-8 stays, unless ASCII only is asked for */
    tls_escape_term(out, sizeof(out), "M\xc3\xbcnchen", 0);
    assert_string_equal(out, "M\xc3\xbcnchen");
    tls_escape_term(out, sizeof(out), "M\xc3\xbcnchen", TLS_ESCAPE_ASCII);
    assert_string_equal(out, "M\\xc3\\xbcnchen");
    tls_escape_term(out, sizeof(out), NULL, 0);
    assert_string_equal(out, "");
    /* cut at a whole step: never half an escape or half a character */
    tls_escape_term(out, 7, "ab\x1b\x1b", 0);
    assert_string_equal(out, "ab\\x1b");
    tls_escape_term(out, 4, "ab\xc3\xbc", 0);
    assert_string_equal(out, "ab");
    /* nothing in the output is a control byte, whatever the input */
    char in[256];
    for (int i = 1; i < 256; i++)
        in[i - 1] = (char)i;
    in[255] = 0;
    char big[2048];
    tls_escape_term(big, sizeof(big), in, 0);
    for (const unsigned char *p = (const unsigned char *)big; *p; p++)
        assert_true(*p >= 0x20 && *p != 0x7f);
}

/* tls_utf8_encode against the C library's wcrtomb (C.UTF-8) over every scalar value, each read
 * back by tls_utf8_decode; tls_utf16_decode against iconv's UTF-16BE and UTF-16LE of the same,
 * and its refusals: a lone low surrogate, a high one at the end or before another unit, an odd
 * byte. */
static void test_utf8_encode_utf16(void **state)
{
    (void)state;
    if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
        skip();
    iconv_t to16[2] = {iconv_open("UTF-16LE", "UTF-32LE"), iconv_open("UTF-16BE", "UTF-32LE")};
    assert_true(to16[0] != (iconv_t)-1 && to16[1] != (iconv_t)-1);
    size_t wrong = 0;
    uint32_t first = 0;
    for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff)
            continue;
        uint8_t got[4];
        char want[MB_LEN_MAX];
        mbstate_t st;
        memset(&st, 0, sizeof(st));
        size_t n = tls_utf8_encode(cp, got), wn = wcrtomb(want, (wchar_t)cp, &st);
        uint32_t back = 0;
        bool ok = n == wn && memcmp(got, want, n) == 0 && tls_utf8_decode(got, n, &back) == n &&
                  back == cp;
        for (int be = 0; be < 2 && ok; be++) {
            uint8_t in32[4] = {(uint8_t)cp, (uint8_t)(cp >> 8), (uint8_t)(cp >> 16), 0}, u16[4];
            char *ip = (char *)in32, *op = (char *)u16;
            size_t il = 4, ol = 4;
            ok = iconv(to16[be], &ip, &il, &op, &ol) != (size_t)-1 &&
                 tls_utf16_decode(u16, 4 - ol, be, &back) == 4 - ol && back == cp;
        }
        if (!ok && wrong++ == 0)
            first = cp;
    }
    iconv_close(to16[0]);
    iconv_close(to16[1]);
    setlocale(LC_CTYPE, "C");
    if (wrong)
        fail_msg("%zu code points wrong, the first U+%04X", wrong, (unsigned)first);
    uint32_t cp;
    static const uint8_t lone_low[] = {0xdc, 0x00, 0x00, 0x41}, high_end[] = {0xd8, 0x3d},
                         high_a[] = {0xd8, 0x3d, 0x00, 0x41}, pair_le[] = {0x3d, 0xd8, 0x00, 0xde};
    assert_int_equal(tls_utf16_decode(lone_low, 4, true, &cp), 0);
    assert_int_equal(tls_utf16_decode(high_end, 2, true, &cp), 0);
    assert_int_equal(tls_utf16_decode(high_a, 4, true, &cp), 0);
    assert_int_equal(tls_utf16_decode(high_a, 1, true, &cp), 0);
    assert_int_equal(tls_utf16_decode(pair_le, 4, false, &cp), 4);
    assert_int_equal(cp, 0x1f600);
    assert_int_equal(tls_utf16_decode(pair_le, 3, false, &cp), 0);
}

/* cp as UTF-8 into b (NUL-terminated). */
static void put_utf8(char *b, uint32_t cp)
{
    unsigned char *u = (unsigned char *)b;
    if (cp < 0x80) {
        *u++ = (unsigned char)cp;
    } else if (cp < 0x800) {
        *u++ = (unsigned char)(0xc0 | cp >> 6);
        *u++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *u++ = (unsigned char)(0xe0 | cp >> 12);
        *u++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        *u++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else {
        *u++ = (unsigned char)(0xf0 | cp >> 18);
        *u++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        *u++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        *u++ = (unsigned char)(0x80 | (cp & 0x3f));
    }
    *u = 0;
}

/* Characters that reorder or hide text: each range's first and last escaped as \uXXXX (or
 * \UXXXXXXXX), its neighbours outside kept; C1 controls as their bytes; ASCII only escapes every
 * byte as before. */
static void test_escape_invisible(void **state)
{
    (void)state;
    static const struct {
        uint32_t lo, hi;
    } ranges[] = {
        {0x00ad, 0x00ad}, {0x061c, 0x061c}, {0x180e, 0x180e}, {0x200b, 0x200f},   {0x2028, 0x202e},
        {0x2060, 0x206f}, {0xfeff, 0xfeff}, {0xfff9, 0xfffb}, {0xe0000, 0xe007f},
    };
    char in[8], out[64], want[64];
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        uint32_t edges[] = {ranges[i].lo, ranges[i].hi};
        for (int e = 0; e < 2; e++) {
            uint32_t cp = edges[e];
            put_utf8(in, cp);
            tls_escape_term(out, sizeof(out), in, 0);
            snprintf(want, sizeof(want), cp > 0xffff ? "\\U%08x" : "\\u%04x", (unsigned)cp);
            assert_string_equal(out, want);
            uint32_t beside = e ? cp + 1 : cp - 1;
            put_utf8(in, beside);
            tls_escape_term(out, sizeof(out), in, 0);
            assert_string_equal(out, in); /* kept as it is */
        }
    }
    /* in a line: RLO and PDF around a word, a zero-width space, NEL (C1), a line separator */
    tls_escape_term(out, sizeof(out),
                    "no \xe2\x80\xae"
                    "evil\xe2\x80\xac \xe2\x80\x8b zero \xc2\x85nel \xe2\x80\xa8ls",
                    0);
    assert_string_equal(out, "no \\u202eevil\\u202c \\u200b zero \\xc2\\x85nel \\u2028ls");
    /* C1 controls, first and last, and the character after them */
    tls_escape_term(out, sizeof(out), "\xc2\x80\xc2\x9f\xc2\xa0", 0);
    assert_string_equal(out, "\\xc2\\x80\\xc2\\x9f\xc2\xa0");
    /* ASCII only: every byte of them as \xNN, as for any non-ASCII character */
    tls_escape_term(out, sizeof(out), "\xe2\x80\xae", TLS_ESCAPE_ASCII);
    assert_string_equal(out, "\\xe2\\x80\\xae");
    /* cut at a whole step: a \u escape is never halved */
    tls_escape_term(out, 8, "ab\xe2\x80\xae", 0);
    assert_string_equal(out, "ab");
    tls_escape_term(out, 8, "a\xe2\x80\xae", 0);
    assert_string_equal(out, "a\\u202e");
}

static bool int_is(const void *val, const void *key)
{
    return *(const int *)val == *(const int *)key;
}

static void test_hashtab(void **state)
{
    (void)state;
    enum { N = 20000 };
    int *vals = malloc(N * sizeof(*vals));
    assert_non_null(vals);
    struct tls_hashtab t;
    tls_hashtab_init(&t);
    assert_null(tls_hashtab_find(&t, 1, int_is, &(int){1}));
    for (int i = 0; i < N; i++) {
        vals[i] = i;
        /* a poor hash (many collisions) must still find every key */
        uint64_t h = (uint64_t)(i % 97);
        assert_null(tls_hashtab_find(&t, h, int_is, &vals[i]));
        assert_int_equal(tls_hashtab_insert(&t, h, &vals[i]), 0);
    }
    assert_int_equal(t.count, N);
    assert_true(t.cap >= 2 * N); /* at most half full */
    for (int i = 0; i < N; i++) {
        int key = i;
        void **slot = tls_hashtab_find(&t, (uint64_t)(i % 97), int_is, &key);
        assert_non_null(slot);
        assert_ptr_equal(*slot, &vals[i]);
    }
    int missing = N + 5;
    assert_null(tls_hashtab_find(&t, (uint64_t)(missing % 97), int_is, &missing));
    tls_hashtab_free(&t);
    tls_hashtab_free(&t);
    tls_hashtab_free(NULL);
    free(vals);
}

/* The longest run of occupied slots: what a lookup that misses may have to walk. */
static size_t longest_run(void *const *vals, size_t cap)
{
    size_t best = 0, run = 0;
    for (size_t i = 0; i < 2 * cap; i++) {
        run = vals[i % cap] ? run + 1 : 0;
        best = run > best ? run : best;
    }
    return best;
}

/* Hashes that agree in their low bits (what a server can make FNV-1a give for names it
 * chooses) still spread over the table: slots come from a keyed mix of all 64 bits. Without
 * the mix, 10,000 such keys would form one run of 10,000 slots. */
static void test_hashtab_spread(void **state)
{
    (void)state;
    enum { N = 10000 };
    static int vals[N];
    struct tls_hashtab t;
    tls_hashtab_init(&t);
    for (int i = 0; i < N; i++) {
        vals[i] = i;
        assert_int_equal(tls_hashtab_insert(&t, (uint64_t)i << 24, &vals[i]), 0);
    }
    size_t run = longest_run(t.vals, t.cap);
    assert_true(run < 200); /* linear probing at half load: runs of tens */
    for (int i = 0; i < N; i++)
        assert_non_null(tls_hashtab_find(&t, (uint64_t)i << 24, int_is, &vals[i]));
    tls_hashtab_free(&t);
}

static void test_hashset(void **state)
{
    (void)state;
    struct tls_hashset set;
    tls_hashset_init(&set);
    for (uint64_t i = 2; i < 50000; i++)
        assert_int_equal(tls_hashset_add(&set, i * 0x9e3779b97f4a7c15ULL), 1);
    for (uint64_t i = 2; i < 50000; i++)
        assert_int_equal(tls_hashset_add(&set, i * 0x9e3779b97f4a7c15ULL), 0);
    assert_int_equal(set.count, 49998);
    assert_true(set.cap >= 2 * set.count);
    tls_hashset_free(&set);
    tls_hashset_free(NULL);
}

struct seen {
    size_t a[64], b[64], na, nb;
};

static void saw_a(void *ctx, size_t i)
{
    struct seen *s = ctx;
    s->a[s->na++] = i;
}

static void saw_b(void *ctx, size_t i)
{
    struct seen *s = ctx;
    s->b[s->nb++] = i;
}

/* The list id: FNV-1a 64 (its published parameters: offset basis 14695981039346656037, prime
 * 2^40 + 2^8 + 0xb3) over the distinct digests in ascending order, computed here byte by byte. */
static uint64_t fnv_by_hand(const uint8_t (*v)[32], size_t n)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < 32; k++)
            h = (h ^ v[i][k]) * 1099511628211ULL;
    return h;
}

static void test_digest_list_id(void **state)
{
    (void)state;
    uint8_t v[4][32], distinct[2][32];
    memset(v, 0, sizeof(v));
    for (size_t k = 0; k < 32; k++) {
        v[0][k] = (uint8_t)(0xa0 + k); /* B */
        v[1][k] = (uint8_t)k;          /* A */
        v[2][k] = (uint8_t)(0xa0 + k); /* B again */
        v[3][k] = (uint8_t)k;          /* A again */
    }
    tls_digest_sort(v, 4);
    assert_true(memcmp(v[0], v[1], 32) == 0 && memcmp(v[1], v[2], 32) < 0);
    memcpy(distinct[0], v[0], 32);
    memcpy(distinct[1], v[2], 32);
    struct tls_digest_list l = {v[0], 4, 32}, d = {distinct[0], 2, 32}, one = {distinct[0], 1, 32};
    uint64_t id = tls_digest_list_id(&l);
    assert_true(id == fnv_by_hand((const uint8_t(*)[32])distinct, 2)); /* repeats count once */
    assert_true(id == tls_digest_list_id(&d));
    assert_true(id != tls_digest_list_id(&one)); /* one name less: another id */
    struct tls_digest_list empty = {NULL, 0, 32};
    assert_true(tls_digest_list_id(&empty) == 0xcbf29ce484222325ULL);
}

/* Two sorted lists with repeats, compared against a count by brute force (every pair). */
static void test_digest_diff(void **state)
{
    (void)state;
    /* digests differing in their first byte only; the value gives the order */
    const uint8_t va[] = {1, 2, 2, 2, 5, 7, 9, 9}, vb[] = {2, 3, 5, 5, 8, 9};
    uint8_t a[sizeof(va)][32], b[sizeof(vb)][32];
    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    for (size_t i = 0; i < sizeof(va); i++)
        a[i][0] = va[i];
    for (size_t i = 0; i < sizeof(vb); i++)
        b[i][0] = vb[i];
    struct tls_digest_list la = {a[0], sizeof(va), 32}, lb = {b[0], sizeof(vb), 32};
    size_t only_a, only_b;
    struct seen s = {0};
    tls_digest_list_diff(&la, &lb, &only_a, &only_b, saw_a, saw_b, &s);
    /* brute force: distinct values of one list absent from the other */
    size_t want_a = 0, want_b = 0;
    for (size_t i = 0; i < sizeof(va); i++) {
        bool first = i == 0 || va[i] != va[i - 1], found = false;
        for (size_t j = 0; j < sizeof(vb); j++)
            found |= va[i] == vb[j];
        want_a += first && !found;
    }
    for (size_t j = 0; j < sizeof(vb); j++) {
        bool first = j == 0 || vb[j] != vb[j - 1], found = false;
        for (size_t i = 0; i < sizeof(va); i++)
            found |= va[i] == vb[j];
        want_b += first && !found;
    }
    assert_int_equal(only_a, want_a); /* 1 and 7 */
    assert_int_equal(only_b, want_b); /* 3 and 8 */
    assert_int_equal(s.na, 2);
    assert_int_equal(va[s.a[0]], 1);
    assert_int_equal(va[s.a[1]], 7);
    assert_int_equal(vb[s.b[0]], 3);
    assert_int_equal(vb[s.b[1]], 8);
    /* an empty list: everything of the other, each distinct digest once */
    struct tls_digest_list empty = {NULL, 0, 32};
    tls_digest_list_diff(&la, &empty, &only_a, &only_b, NULL, NULL, NULL);
    assert_int_equal(only_a, 5);
    assert_int_equal(only_b, 0);
    /* a stride larger than the digest (structs that begin with it) */
    struct {
        uint8_t sha[32];
        size_t extra;
    } sa[3];
    memset(sa, 0, sizeof(sa));
    sa[0].sha[0] = 2, sa[1].sha[0] = 5, sa[2].sha[0] = 9;
    struct tls_digest_list ls = {sa[0].sha, 3, sizeof(sa[0])};
    tls_digest_list_diff(&ls, &lb, &only_a, &only_b, NULL, NULL, NULL);
    assert_int_equal(only_a, 0);
    assert_int_equal(only_b, 2);
}

/* Removal keeps every other key findable, also where probe sequences wrap around the end of
 * the table and where entries of other homes sit between a hole and their own home. */
static void test_hashtab_remove(void **state)
{
    (void)state;
    enum { N = 30 };
    int vals[N];
    struct tls_hashtab t;
    tls_hashtab_init(&t);
    for (int i = 0; i < N; i++) {
        vals[i] = i;
        /* homes 61, 62, 63, 0, 1 of a 64-slot table: runs wrap and interleave */
        assert_int_equal(tls_hashtab_insert(&t, (uint64_t)(61 + i % 5), &vals[i]), 0);
    }
    assert_int_equal(t.cap, 64);
    bool gone[N] = {false};
    for (int round = 0; round < 3; round++) {
        for (int i = round; i < N; i += 3) {
            void **slot = tls_hashtab_find(&t, (uint64_t)(61 + i % 5), int_is, &vals[i]);
            assert_non_null(slot);
            tls_hashtab_remove(&t, slot);
            gone[i] = true;
            for (int k = 0; k < N; k++) {
                void **s = tls_hashtab_find(&t, (uint64_t)(61 + k % 5), int_is, &vals[k]);
                if (gone[k])
                    assert_null(s);
                else
                    assert_true(s && *s == &vals[k]);
            }
        }
    }
    assert_int_equal(t.count, 0);
    for (size_t j = 0; j < t.cap; j++)
        assert_null(t.vals[j]);
    /* the emptied table takes values again */
    assert_int_equal(tls_hashtab_insert(&t, 63, &vals[7]), 0);
    assert_non_null(tls_hashtab_find(&t, 63, int_is, &vals[7]));
    tls_hashtab_free(&t);
}

struct item {
    int v;
    struct tls_list node;
};

static void test_list(void **state)
{
    (void)state;
    struct tls_list head;
    tls_list_init(&head);
    assert_true(tls_list_empty(&head));
    assert_null(tls_list_first(&head));
    struct item items[5];
    for (int i = 0; i < 5; i++) {
        items[i].v = i;
        tls_list_init(&items[i].node);
        assert_false(tls_list_linked(&items[i].node));
        tls_list_insert_tail(&head, &items[i].node);
        assert_true(tls_list_linked(&items[i].node));
    }
    tls_list_remove(&items[0].node); /* the first */
    tls_list_remove(&items[2].node); /* one in the middle */
    tls_list_remove(&items[4].node); /* the last */
    assert_false(tls_list_linked(&items[2].node));
    int seen[5], n = 0;
    for (struct tls_list *q = tls_list_first(&head); q; q = tls_list_next(&head, q))
        seen[n++] = TLS_LIST_ENTRY(q, struct item, node)->v;
    assert_int_equal(n, 2);
    assert_int_equal(seen[0], 1);
    assert_int_equal(seen[1], 3);
    tls_list_remove(&items[1].node);
    tls_list_remove(&items[3].node);
    assert_true(tls_list_empty(&head));
}

/* Edit distances: Wikipedia's examples for Levenshtein ("kitten"/"sitting" 3, "flaw"/"lawn"
 * 2, "saturday"/"sunday" 3) and for the optimal string alignment distance ("CA"/"ABC" is 3, not
 * Damerau's unrestricted 2; "CA"/"AC" is 1). */
static void test_similar(void **state)
{
    (void)state;
    assert_int_equal(tls_edit_distance("kitten", "sitting"), 3);
    assert_int_equal(tls_edit_distance("flaw", "lawn"), 2);
    assert_int_equal(tls_edit_distance("saturday", "sunday"), 3);
    assert_int_equal(tls_edit_distance("CA", "ABC"), 3);
    assert_int_equal(tls_edit_distance("CA", "AC"), 1);
    assert_int_equal(tls_edit_distance("", "abc"), 3);
    assert_int_equal(tls_edit_distance("abc", ""), 3);
    assert_int_equal(tls_edit_distance("same", "same"), 0);
    char longw[TLS_SIMILAR_MAX + 2];
    memset(longw, 'a', sizeof(longw) - 1);
    longw[sizeof(longw) - 1] = 0;
    assert_int_equal(tls_edit_distance(longw, "a"), TLS_SIMILAR_MAX + 1);
    const char *const opts[] = {"--fail-on", "--fail-on-error", "--format", "--timeout"};
    assert_int_equal(tls_closest("--fial-on", opts, 4), 0);
    assert_int_equal(tls_closest("--formt", opts, 4), 2);
    assert_int_equal(tls_closest("--timeuot", opts, 4), 3);
    assert_int_equal(tls_closest("--colour", opts, 4), -1);
    assert_int_equal(tls_closest("ab", opts, 4), -1);
    const char *const rules[] = {"root-store-dump", "sni-mismatch"};
    assert_int_equal(tls_closest("root-store-dumps", rules, 2), 0);
    assert_int_equal(tls_closest("sni-mismatc", rules, 2), 1);
    assert_int_equal(tls_closest(longw, rules, 2), -1);
}

/* The bounded writer: vectors with their lengths, a fixed buffer that never overflows, a heap
 * buffer that grows to its maximum and no further, a body too long for its length, and a
 * failure that sticks. */
static void test_wbuf(void **state)
{
    (void)state;
    uint8_t buf[16];
    memset(buf, 0xee, sizeof(buf));
    struct tls_wbuf w;
    tls_wbuf_fixed(&w, buf, 12);
    tls_wbuf_u8(&w, 0x16);
    size_t at = tls_wbuf_open(&w, 2);
    tls_wbuf_u24(&w, 0x010203);
    tls_wbuf_u16(&w, 0xabcd);
    tls_wbuf_close(&w, at, 2);
    size_t z = tls_wbuf_open(&w, 1);
    tls_wbuf_zero(&w, 2);
    tls_wbuf_close(&w, z, 1);
    static const uint8_t want[] = {0x16, 0x00, 0x05, 0x01, 0x02, 0x03, 0xab, 0xcd, 0x02, 0, 0};
    assert_int_equal(w.err, 0);
    assert_int_equal(w.len, sizeof(want));
    assert_memory_equal(buf, want, sizeof(want));
    tls_wbuf_u16(&w, 0x1234); /* one byte of room left: nothing written, the error sticks */
    assert_int_equal(w.err, TLS_E_SPACE);
    tls_wbuf_u8(&w, 0x55);
    assert_int_equal(w.len, sizeof(want));
    for (size_t i = sizeof(want); i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0xee);

    /* a body over its length's range */
    uint8_t big[300];
    tls_wbuf_fixed(&w, big, sizeof(big));
    at = tls_wbuf_open(&w, 1);
    tls_wbuf_zero(&w, 256);
    tls_wbuf_close(&w, at, 1);
    assert_int_equal(w.err, TLS_E_RANGE);

    /* growing, up to max exactly */
    tls_wbuf_init(&w, 3000);
    for (int i = 0; i < 3000; i++)
        tls_wbuf_u8(&w, (unsigned)i);
    assert_int_equal(w.err, 0);
    assert_int_equal(w.len, 3000);
    assert_true(w.cap <= 3000);
    for (int i = 0; i < 3000; i++)
        assert_int_equal(w.p[i], (uint8_t)i);
    tls_wbuf_u8(&w, 0);
    assert_int_equal(w.err, TLS_E_SPACE);
    assert_int_equal(w.len, 3000);
    tls_wbuf_free(&w);
    assert_null(w.p);
    tls_wbuf_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_fnv1a_vectors),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_utf8_width),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_escape_invisible),
        cmocka_unit_test(test_digest_diff),
        cmocka_unit_test(test_digest_list_id),
        cmocka_unit_test(test_hashtab),
        cmocka_unit_test(test_hashset),
        cmocka_unit_test(test_hashtab_spread),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_hashtab_remove),
        cmocka_unit_test(test_similar),
        cmocka_unit_test(test_wbuf),
        cmocka_unit_test(test_utf8_encode_utf16),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
