/* Unit tests for report/winroots.c: the generated table against its data file (report/
 * winroots.txt: its subjects as openssl printed them from the certificates, read here with no
 * code of the generator's), and the matching: byte for byte, canonically (another string type,
 * case, spaces), never a lookalike. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report/winroots.h"
#include "testutil.h"
#include "tls/digest.h"
#include "tls/wire/dn.h"

#define DATA "../report/winroots.txt"

/* The value of the "KEY: " line of the entry named name in the data file, into out. */
static void data_field(const char *data, const char *name, const char *key, char *out, size_t cap)
{
    char want[256];
    snprintf(want, sizeof(want), "\nname: %s\n", name);
    const char *e = strstr(data, want);
    if (e == NULL)
        fail_msg("%s: no entry named '%s'", DATA, name);
    const char *end = strstr(e + 1, "\n\n");
    char k[32];
    snprintf(k, sizeof(k), "\n%s: ", key);
    const char *v = strstr(e, k);
    if (v == NULL || (end && v > end))
        fail_msg("%s: entry '%s' has no %s", DATA, name, key);
    v += strlen(k);
    size_t n = strcspn(v, "\n");
    assert_true(n < cap);
    memcpy(out, v, n);
    out[n] = '\0';
}

/* Every entry of the data file is in the table, each with the SHA-256 of its subject (computed
 * here by mbedTLS), a well-formed DER Name whose RFC 4514 text is the `subject:` that openssl
 * printed for the certificate, and found by its digest and by its DER. */
static void test_table_is_the_data(void **state)
{
    (void)state;
    size_t len;
    char *data = (char *)testutil_fixture(DATA, &len);
    size_t n;
    const struct report_winroot *v = report_winroots(&n);
    assert_int_equal(n, testutil_count(data, "\nname: "));
    assert_true(n >= 13);
    for (size_t i = 0; i < n; i++) {
        const struct report_winroot *w = &v[i];
        uint8_t sha[32];
        tls_sha256(w->subject, w->subject_len, sha);
        assert_memory_equal(sha, w->subject_sha256, 32);
        assert_int_equal(tls_dn_check(w->subject, w->subject_len), 0);
        char text[1024], want[1024];
        assert_int_equal(tls_dn_format(w->subject, w->subject_len, text, sizeof(text), NULL), 0);
        data_field(data, w->name, "subject", want, sizeof(want));
        assert_string_equal(text, want);
        assert_ptr_equal(report_winroot_find(sha), w);
        bool canonical = true;
        assert_ptr_equal(report_winroot_match(w->subject, w->subject_len, sha, &canonical), w);
        assert_false(canonical);
        for (size_t j = 0; j < i; j++)
            assert_memory_not_equal(v[j].subject_sha256, w->subject_sha256, 32);
    }
    /* what the issue names, among them */
    static const char *const named[] = {"Microsoft Root Authority",
                                        "Microsoft Root Certificate Authority",
                                        "Microsoft Root Certificate Authority 2010",
                                        "Microsoft Root Certificate Authority 2011",
                                        "Microsoft Authenticode(tm) Root Authority",
                                        "Copyright (c) 1997 Microsoft Corp.",
                                        "Microsoft Time Stamp Root Certificate Authority 2014",
                                        "NO LIABILITY ACCEPTED, (c)97 VeriSign, Inc.",
                                        "Thawte Timestamping CA"};
    for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
        size_t i = 0;
        while (i < n && strcmp(v[i].name, named[k]) != 0)
            i++;
        if (i == n)
            fail_msg("no entry '%s'", named[k]);
    }
    free(data);
}

/* A Name of one attribute per RDN, most significant first: types[i] (the last byte of the OID
 * 2.5.4.x), tags[i] (string type), values[i]. */
static size_t name_make(uint8_t *out, size_t n, const uint8_t *types, const uint8_t *tags,
                        const char *const *values)
{
    uint8_t rdns[1024];
    size_t rl = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t atv[256], set[300];
        size_t al = 0, sl = 0;
        const uint8_t oid[3] = {0x55, 0x04, types[i]};
        testutil_der_tlv(atv, &al, 0x06, oid, 3);
        testutil_der_tlv(atv, &al, tags[i], values[i], strlen(values[i]));
        uint8_t seq[300];
        size_t ql = 0;
        testutil_der_tlv(seq, &ql, 0x30, atv, al);
        testutil_der_tlv(set, &sl, 0x31, seq, ql);
        memcpy(rdns + rl, set, sl);
        rl += sl;
    }
    size_t len = 0;
    testutil_der_tlv(out, &len, 0x30, rdns, rl);
    return len;
}

#define OU 0x0b
#define CN 0x03
#define O 0x0a
#define PRINTABLE 0x13
#define UTF8 0x0c

/* What the match of der/len is: its name, or NULL; canonical says how. */
static const char *match(const uint8_t *der, size_t len, bool *canonical)
{
    uint8_t sha[32];
    tls_sha256(der, len, sha);
    const struct report_winroot *w = report_winroot_match(der, len, sha, canonical);
    return w ? w->name : NULL;
}

static void test_matching(void **state)
{
    (void)state;
    uint8_t der[512];
    bool canonical;
    /* Microsoft Root Authority as its certificate has it: three PrintableStrings */
    static const uint8_t types[] = {OU, OU, CN};
    static const uint8_t printable[] = {PRINTABLE, PRINTABLE, PRINTABLE};
    static const char *const exact[] = {"Copyright (c) 1997 Microsoft Corp.",
                                        "Microsoft Corporation", "Microsoft Root Authority"};
    size_t len = name_make(der, 3, types, printable, exact);
    assert_string_equal(match(der, len, &canonical), "Microsoft Root Authority");
    assert_false(canonical);

    /* the same name as UTF8String, another case, extra spaces: equal canonically */
    static const uint8_t utf8[] = {UTF8, UTF8, UTF8};
    static const char *const recased[] = {"COPYRIGHT (C) 1997  MICROSOFT CORP.",
                                          " microsoft corporation", "Microsoft ROOT Authority "};
    len = name_make(der, 3, types, utf8, recased);
    assert_string_equal(match(der, len, &canonical), "Microsoft Root Authority");
    assert_true(canonical);
    static const uint8_t mixed[] = {PRINTABLE, UTF8, PRINTABLE};
    len = name_make(der, 3, types, mixed, exact);
    assert_string_equal(match(der, len, &canonical), "Microsoft Root Authority");
    assert_true(canonical);

    /* lookalikes: extra text, an RDN missing, RDNs in another order, another attribute type */
    static const char *const extra[] = {"Copyright (c) 1997 Microsoft Corp.",
                                        "Microsoft Corporation", "Microsoft Root Authority 2"};
    len = name_make(der, 3, types, printable, extra);
    assert_null(match(der, len, &canonical));
    static const char *const extra2[] = {"Copyright (c) 1997 Microsoft Corp.",
                                         "Microsoft Corporation",
                                         "Microsoft Root Authority (Contoso test)"};
    len = name_make(der, 3, types, printable, extra2);
    assert_null(match(der, len, &canonical));
    len = name_make(der, 1, types + 2, printable, exact + 2); /* CN=Microsoft Root Authority */
    assert_null(match(der, len, &canonical));
    static const char *const swapped[] = {
        "Microsoft Corporation", "Copyright (c) 1997 Microsoft Corp.", "Microsoft Root Authority"};
    len = name_make(der, 3, types, printable, swapped);
    assert_null(match(der, len, &canonical));
    static const uint8_t o_types[] = {O, OU, CN};
    len = name_make(der, 3, o_types, printable, exact);
    assert_null(match(der, len, &canonical));

    /* the first bytes of a real one: malformed, no match */
    size_t n;
    const struct report_winroot *v = report_winroots(&n);
    assert_null(match(v[0].subject, v[0].subject_len - 1, &canonical));
    /* canonical may be NULL */
    assert_ptr_equal(
        report_winroot_match(v[0].subject, v[0].subject_len, v[0].subject_sha256, NULL), &v[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_the_data),
        cmocka_unit_test(test_matching),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
