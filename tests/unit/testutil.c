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
