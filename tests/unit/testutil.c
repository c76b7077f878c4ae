/* Fixture loading and byte builders for unit tests (testutil.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "tls/wire/hex.h"

uint8_t *testutil_unhex(const char *text, size_t *len)
{
    uint8_t *out = malloc(strlen(text) / 2 + 1);
    assert_non_null(out);
    size_t n = 0;
    int hi = -1;
    for (const char *s = text; *s; s++) {
        if (*s == '#') {
            while (*s && *s != '\n')
                s++;
            if (!*s)
                break;
            continue;
        }
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == ':')
            continue;
        int v = tls_hex_value(*s);
        if (v < 0)
            fail_msg("bad hex character '%c'", *s);
        if (hi < 0) {
            hi = v;
        } else {
            out[n++] = (uint8_t)((hi << 4) | v);
            hi = -1;
        }
    }
    assert_int_equal(hi, -1);
    *len = n;
    return out;
}

char *testutil_fixture_path(const char *dir, const char *name)
{
    const char *root = getenv("CAPROBE_FIXTURES");
    char *p = malloc(1024);
    assert_non_null(p);
    snprintf(p, 1024, "%s/%s/%s", root ? root : "fixtures", dir, name);
    return p;
}

uint8_t *testutil_fixture(const char *rel, size_t *len)
{
    const char *dir = getenv("CAPROBE_FIXTURES");
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "fixtures", rel);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s (set CAPROBE_FIXTURES to the fixtures folder)", path);
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap + 1);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
    }
    fclose(f);
    buf[n] = 0;
    size_t rl = strlen(rel);
    if (rl > 4 && strcmp(rel + rl - 4, ".hex") == 0) {
        uint8_t *bin = testutil_unhex((const char *)buf, len);
        free(buf);
        return bin;
    }
    *len = n;
    return buf;
}

void testutil_der_tlv(uint8_t *buf, size_t *n, uint8_t tag, const void *body, size_t len)
{
    assert_true(len <= 0xffff);
    buf[(*n)++] = tag;
    if (len < 0x80) {
        buf[(*n)++] = (uint8_t)len;
    } else if (len < 0x100) {
        buf[(*n)++] = 0x81;
        buf[(*n)++] = (uint8_t)len;
    } else {
        buf[(*n)++] = 0x82;
        buf[(*n)++] = (uint8_t)(len >> 8);
        buf[(*n)++] = (uint8_t)len;
    }
    memmove(buf + *n, body, len);
    *n += len;
}

size_t testutil_record(uint8_t *out, uint8_t type, const uint8_t *body, size_t len)
{
    out[0] = type;
    out[1] = 3;
    out[2] = 3;
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)len;
    if (len)
        memcpy(out + 5, body, len);
    return 5 + len;
}

const char *const testutil_x509_names[] = {
    "ed25519", "ed448", "rsa-pss", "ed25519-issued", "utc-1950-2049", "gen-2050-9999", NULL,
};

/* openssl's "Jan  1 00:00:00 1950 GMT" (ASN1_TIME_print) as "1950-01-01T00:00:00Z". */
static void openssl_date(const char *text, char *out, size_t cap)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char mon[4];
    int day, h, m, s, year;
    if (sscanf(text, "%3s %d %d:%d:%d %d GMT", mon, &day, &h, &m, &s, &year) != 6)
        fail_msg("not an openssl date: %s", text);
    const char *at = strstr(months, mon);
    if (at == NULL || (at - months) % 3 != 0)
        fail_msg("not a month: %s", mon);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", year, (int)(at - months) / 3 + 1, day, h,
             m, s);
}

/* "AB:CD:..." into n bytes. */
static void openssl_fingerprint(const char *text, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = tls_hex_value(text[3 * i]), lo = tls_hex_value(text[3 * i + 1]);
        if (hi < 0 || lo < 0 || (i + 1 < n && text[3 * i + 2] != ':'))
            fail_msg("not a fingerprint of %zu bytes: %s", n, text);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
}

static void openssl_cert(const char *rel, struct testutil_openssl_cert *out)
{
    size_t len;
    char *text = (char *)testutil_fixture(rel, &len);
    memset(out, 0, sizeof(*out));
    int seen = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        if (eq == NULL)
            fail_msg("%s: not key=value: %s", rel, line);
        *eq = '\0';
        const char *v = eq + 1;
        if (strcmp(line, "subject") == 0)
            snprintf(out->subject, sizeof(out->subject), "%s", v);
        else if (strcmp(line, "issuer") == 0)
            snprintf(out->issuer, sizeof(out->issuer), "%s", v);
        else if (strcmp(line, "notBefore") == 0)
            openssl_date(v, out->not_before, sizeof(out->not_before));
        else if (strcmp(line, "notAfter") == 0)
            openssl_date(v, out->not_after, sizeof(out->not_after));
        else if (strcmp(line, "sha1 Fingerprint") == 0)
            openssl_fingerprint(v, out->sha1, sizeof(out->sha1));
        else if (strcmp(line, "sha256 Fingerprint") == 0)
            openssl_fingerprint(v, out->sha256, sizeof(out->sha256));
        else
            fail_msg("%s: unknown line %s", rel, line);
        seen++;
    }
    if (seen != 6)
        fail_msg("%s: %d lines, not the 6 make-x509.sh writes", rel, seen);
    free(text);
}

uint8_t *testutil_x509(const char *name, size_t *len, struct testutil_openssl_cert *want)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "x509/%s.der", name);
    uint8_t *der = testutil_fixture(rel, len);
    if (want) {
        snprintf(rel, sizeof(rel), "x509/%s.txt", name);
        openssl_cert(rel, want);
    }
    return der;
}

void testutil_x509_each(void (*check)(const char *name, const uint8_t *der, size_t len,
                                      const struct testutil_openssl_cert *want))
{
    for (const char *const *name = testutil_x509_names; *name; name++) {
        size_t len;
        struct testutil_openssl_cert want;
        uint8_t *der = testutil_x509(*name, &len, &want);
        check(*name, der, len, &want);
        free(der);
    }
}

size_t testutil_count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}
