/* Unit tests for the output path: JSON string encoding (escapes, control characters, invalid
 * UTF-8 never passed through), markup escaping for XML and HTML (the five markup characters,
 * what is no character as U+FFFD or as \xNN), the shared name cache (one decode per distinct name,
 * its budget, its growth), the JSON Lines record of an observation with a cached and an uncached
 * name, full and compact, and the growth of the JSON Lines writer's rendered-name cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "report/jsonw.h"
#include "report/report.h"
#include "tls/namecache.h"

static void expect_json(const char *in, const char *want)
{
    struct report_buf b = {0};
    report_buf_json_str(&b, in);
    report_buf_put(&b, "", 0);
    assert_false(b.failed);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.p, want, b.len);
    report_buf_free(&b);
}

static void test_json_strings(void **state)
{
    (void)state;
    expect_json("CN=a", "\"CN=a\"");
    expect_json("a\"b\\c", "\"a\\\"b\\\\c\"");
    expect_json("\x01\n\x1f", "\"\\u0001\\u000a\\u001f\"");
    expect_json("M\xc3\xbcller \xe2\x98\x83", "\"M\xc3\xbcller \xe2\x98\x83\"");
    expect_json("a\xff"
                "b",
                "\"a\\ufffdb\"");                             /* invalid byte */
    expect_json("\xc0\xaf", "\"\\ufffd\\ufffd\"");            /* overlong '/' */
    expect_json("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
    expect_json("\xe2\x98", "\"\\ufffd\\ufffd\"");            /* truncated at the end */
    expect_json("", "\"\"");
    struct report_buf b = {0};
    report_buf_json_str(&b, NULL);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.p, "null", 4);
    report_buf_free(&b);
}

/* Characters a terminal must not get raw (C1 controls, bidi controls, zero-width characters,
 * line separators, tags) are JSON escapes: the same string once parsed (jansson is the oracle),
 * and no raw byte sequence of them in the output. */
static void test_json_hidden(void **state)
{
    (void)state;
    expect_json("a\xe2\x80\xae"
                "b",
                "\"a\\u202eb\"");                                    /* RLO */
    expect_json("\xc2\x85\xc2\x9b", "\"\\u0085\\u009b\"");           /* NEL, CSI */
    expect_json("\xe2\x80\xa8\xe2\x80\xa9", "\"\\u2028\\u2029\"");   /* separators */
    expect_json("\xef\xbb\xbf", "\"\\ufeff\"");                      /* BOM */
    expect_json("\xf3\xa0\x81\x81", "\"\\udb40\\udc41\"");           /* TAG LATIN CAPITAL A */
    expect_json("\xc2\xa0\xe2\x80\x90", "\"\xc2\xa0\xe2\x80\x90\""); /* NBSP, hyphen: kept */
    static const char *const in[] = {
        "no \xe2\x80\xae"
        "evil\xe2\x80\xac \xe2\x80\x8b zero \xc2\x85nel \xe2\x80\xa8ls",
        "\xf3\xa0\x80\x81\xf3\xa0\x81\xbf\xe2\x81\xa6x\xe2\x81\xa9",
    };
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        struct report_buf b = {0};
        report_buf_json_str(&b, in[i]);
        report_buf_put(&b, "", 1);
        assert_false(b.failed);
        for (size_t k = 0; k < b.len; k++)
            assert_true((unsigned char)b.p[k] < 0x80); /* all of these escaped */
        json_error_t err;
        json_t *j = json_loads(b.p, JSON_DECODE_ANY, &err);
        assert_non_null(j);
        assert_string_equal(json_string_value(j), in[i]);
        json_decref(j);
        report_buf_free(&b);
    }
}

static void expect_markup(const char *in, unsigned flags, const char *want)
{
    struct report_buf b = {0};
    report_buf_markup(&b, in, flags);
    report_buf_put(&b, "", 1);
    assert_false(b.failed);
    assert_string_equal(b.p, want);
    report_buf_free(&b);
}

/* Markup, a CDATA end, a quote of each kind, the three whitespace controls, ESC, NUL's neighbour
 * SOH, DEL, a C1 control (U+009B, CSI), a byte that is not UTF-8, U+FFFE, U+2028 and a letter
 * with an accent. */
static void test_markup(void **state)
{
    (void)state;
    const char *in = "<a href=\"x\">'&amp;'</a>]]>\t\n\r\x01\x1b[1m\x7f\xc2\x9b\xff"
                     "\xef\xbf\xbe\xe2\x80\xa8\xc3\xa9";
    const char *markup = "&lt;a href=&quot;x&quot;&gt;&apos;&amp;amp;&apos;&lt;/a&gt;]]&gt;";
    char want[256];
    /* the HTML report: shown as the terminal report shows it (U+2028, a line separator that
     * hides what follows it, as \u2028: tls/wire/escape.h) */
    snprintf(want, sizeof(want), "%s%s", markup,
             "\\x09\\x0a\\x0d\\x01\\x1b[1m\\x7f\\xc2\\x9b\\xff\\xef\\xbf\\xbe"
             "\\u2028\xc3\xa9");
    expect_markup(in, REPORT_MARKUP_BYTES, want);
    expect_markup(in, REPORT_MARKUP_BYTES | REPORT_MARKUP_ATTR, want);
    /* JUnit's XML: what XML 1.0 forbids as U+FFFD, one per byte; DEL and C1 are characters */
    snprintf(want, sizeof(want), "%s%s", markup,
             "\t\n&#13;\xef\xbf\xbd\xef\xbf\xbd[1m\x7f\xc2\x9b\xef\xbf\xbd"
             "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xe2\x80\xa8\xc3\xa9");
    expect_markup(in, 0, want);
    snprintf(want, sizeof(want), "%s%s", markup,
             "&#9;&#10;&#13;\xef\xbf\xbd\xef\xbf\xbd[1m\x7f\xc2\x9b\xef\xbf\xbd"
             "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xe2\x80\xa8\xc3\xa9");
    expect_markup(in, REPORT_MARKUP_ATTR, want);
    expect_markup("", REPORT_MARKUP_BYTES, "");
    struct report_buf b = {0};
    report_buf_markup(&b, NULL, REPORT_MARKUP_BYTES);
    assert_int_equal(b.len, 0);
    report_buf_free(&b);
}

/* DER Name CN=A */
static const uint8_t dn_a[] = {0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06,
                               0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, 0x41};
static const uint8_t bad[] = {0x30, 0x05, 0x31, 0x03, 0x30, 0x01};

static void test_name_cache(void **state)
{
    (void)state;
    struct tls_name_cache *c;
    assert_int_equal(tls_name_cache_new(&c, 1 << 20), 0);
    const struct tls_ca_name *a = tls_name_cache_get(c, dn_a, sizeof(dn_a));
    assert_non_null(a);
    assert_string_equal(a->dn, "CN=A");
    assert_false(a->malformed);
    /* the same bytes from another buffer: the same entry */
    uint8_t copy[sizeof(dn_a)];
    memcpy(copy, dn_a, sizeof(copy));
    assert_ptr_equal(tls_name_cache_get(c, copy, sizeof(copy)), a);
    const struct tls_ca_name *m = tls_name_cache_get(c, bad, sizeof(bad));
    assert_non_null(m);
    assert_true(m->malformed);
    assert_string_equal(m->dn, "300531033001");
    tls_name_cache_free(c);

    /* a tiny budget: no insert, the caller decodes by itself */
    assert_int_equal(tls_name_cache_new(&c, 64), 0);
    assert_null(tls_name_cache_get(c, dn_a, sizeof(dn_a)));
    tls_name_cache_free(c);
}

/* DER Name CN=<4 hex digits of i>: distinct for i < 65536. */
#define NUM_NAME_LEN 17
static void num_name(uint8_t out[NUM_NAME_LEN], unsigned i)
{
    static const uint8_t head[] = {0x30, 0x0f, 0x31, 0x0d, 0x30, 0x0b, 0x06,
                                   0x03, 0x55, 0x04, 0x03, 0x0c, 0x04};
    static const char digits[] = "0123456789abcdef";
    memcpy(out, head, sizeof(head));
    for (int k = 0; k < 4; k++)
        out[sizeof(head) + (size_t)k] = (uint8_t)digits[(i >> (12 - 4 * k)) & 15];
}

/* 1,000 distinct names: the table starts at 256 slots and is kept at most half full, so it is
 * rehashed at 128, 256 and 512 entries (a table that never grew would have no free slot left
 * after 256). Every entry inserted before a rehash must still be found after it, as the same
 * entry: a lost or misplaced one would be decoded and inserted again. */
static void test_name_cache_growth(void **state)
{
    (void)state;
    enum { N = 1000 };
    struct tls_name_cache *c;
    assert_int_equal(tls_name_cache_new(&c, 1 << 22), 0);
    static const struct tls_ca_name *first[N];
    uint8_t name[NUM_NAME_LEN];
    for (unsigned i = 0; i < N; i++) {
        num_name(name, i);
        first[i] = tls_name_cache_get(c, name, sizeof(name));
        assert_non_null(first[i]);
        assert_int_equal(tls_name_cache_count(c), i + 1);
    }
    size_t bytes = tls_name_cache_bytes(c);
    for (unsigned i = 0; i < N; i++) {
        num_name(name, i);
        assert_ptr_equal(tls_name_cache_get(c, name, sizeof(name)), first[i]);
        char want[8];
        snprintf(want, sizeof(want), "CN=%04x", i);
        assert_string_equal(first[i]->dn, want);
        assert_memory_equal(first[i]->der, name, sizeof(name));
    }
    /* found again, not inserted again */
    assert_int_equal(tls_name_cache_count(c), N);
    assert_int_equal(tls_name_cache_bytes(c), bytes);
    tls_name_cache_free(c);
}

/* A TLS 1.2 observation from 192.0.2.1 with a CertificateRequest; the caller sets its names. */
static void certreq_obs_init(struct tls_observation *o)
{
    tls_observation_init(o);
    o->address = "192.0.2.1";
    o->tls_max = 0x0303;
    o->version = 0x0303;
    o->outcome = TLS_OUTCOME_CERTIFICATE_REQUEST;
}

/* The record of t as written with opts; the caller frees it. */
static char *render(const struct report_opts *opts, const struct report_target *t)
{
    char *out = NULL;
    size_t len;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    assert_int_equal(report_target_write(f, opts, t), 0);
    fclose(f);
    return out;
}

/* The rendered-name table of the JSON Lines writer starts at 512 slots, half full at most: 600
 * names make it grow. A hit is told from a fresh rendering by changing each name's text while
 * keeping its SHA-256 (the key): the cache must give back the first rendering of every name,
 * whether it was stored before or after the table grew. */
static void test_jsonl_cache_growth(void **state)
{
    (void)state;
    enum { N = 600 };
    struct tls_observation o;
    certreq_obs_init(&o);
    static struct tls_ca_name cas[N];
    uint8_t name[NUM_NAME_LEN];
    for (unsigned i = 0; i < N; i++) {
        num_name(name, i);
        assert_int_equal(tls_ca_name_decode(&o.arena, &cas[i], name, sizeof(name)), 0);
        o.ca_bytes += sizeof(name);
    }
    o.cas = cas;
    o.ca_count = N;
    struct tls_observation *obs[] = {&o};
    struct report_target t = {
        .target = "192.0.2.1:443", .host = "192.0.2.1", .port = 443, .obs = obs, .n_obs = 1};
    struct report_jsonl_cache *cache;
    assert_int_equal(report_jsonl_cache_new(&cache, 1 << 22), 0);
    struct report_opts cached = {.format = REPORT_JSONL, .jsonl_cache = cache};
    struct report_opts fresh = {.format = REPORT_JSONL};
    char *outs[3];
    outs[0] = render(&cached, &t);
    /* every name is in the record, rendered from its own DER */
    size_t n = 0;
    for (const char *s = outs[0]; (s = strstr(s, "{\"dn\":\"CN=")) != NULL; s++)
        n++;
    assert_int_equal(n, N);
    assert_non_null(strstr(outs[0], "{\"dn\":\"CN=0000\",\"der\":\"MA8xDTALBgNVBAMMBDAwMDA=\""));
    assert_non_null(strstr(outs[0], "{\"dn\":\"CN=0257\","));

    for (unsigned i = 0; i < N; i++)
        cas[i].dn = "changed";
    outs[1] = render(&cached, &t);
    assert_string_equal(outs[1], outs[0]); /* all N from the grown table */
    outs[2] = render(&fresh, &t);
    assert_null(strstr(outs[2], "CN=0000")); /* without the cache: the changed text */
    assert_non_null(strstr(outs[2], "{\"dn\":\"changed\""));
    for (int i = 0; i < 3; i++)
        free(outs[i]);
    report_jsonl_cache_free(cache);
    tls_observation_free(&o);
}

/* full with every name's "der" left out and "compact":true after the schema: what docs/output.md
 * says the compact form is. */
static char *compact_of(const char *full)
{
    static const char head[] = "{\"schema\":\"caprobe/1\",", der[] = ",\"der\":\"";
    assert_int_equal(strncmp(full, head, strlen(head)), 0);
    char *out = malloc(strlen(full) + 32), *w = out;
    assert_non_null(out);
    w += sprintf(w, "%s\"compact\":true,", head);
    for (const char *p = full + strlen(head); *p;) {
        if (strncmp(p, der, strlen(der)) == 0) {
            p = strchr(p + strlen(der), '"') + 1; /* base64 holds no '"' */
            continue;
        }
        *w++ = *p++;
    }
    *w = 0;
    return out;
}

/* The record of one observation: a cached name renders the same bytes as a fresh one. The
 * compact form is byte for byte the full record without "der", from the same cache (neither
 * form gets the other's renderings) and without one. */
static void test_jsonl_record(void **state)
{
    (void)state;
    struct tls_observation o;
    certreq_obs_init(&o);
    o.ca_count = 2;
    struct tls_ca_name cas[2];
    assert_int_equal(tls_ca_name_decode(&o.arena, &cas[0], dn_a, sizeof(dn_a)), 0);
    assert_int_equal(tls_ca_name_decode(&o.arena, &cas[1], bad, sizeof(bad)), 0);
    o.cas = cas;
    o.ca_bytes = sizeof(dn_a) + sizeof(bad);
    struct tls_observation *obs[] = {&o};
    struct report_target t = {
        .target = "host\xff:443", .host = "host", .port = 443, .obs = obs, .n_obs = 1};
    char *outs[5];
    struct report_jsonl_cache *cache;
    assert_int_equal(report_jsonl_cache_new(&cache, 1 << 20), 0);
    struct report_opts opts = {.format = REPORT_JSONL, .jsonl_cache = cache};
    struct report_opts compact = {.format = REPORT_JSONL_COMPACT, .jsonl_cache = cache};
    struct report_opts fresh = {.format = REPORT_JSONL_COMPACT};
    outs[0] = render(&opts, &t);
    outs[2] = render(&compact, &t); /* between two full ones: the cache keeps the forms apart */
    outs[1] = render(&opts, &t);
    outs[3] = render(&compact, &t);
    outs[4] = render(&fresh, &t);
    assert_string_equal(outs[0], outs[1]);
    assert_non_null(strstr(outs[0], "\"target\":\"host\\ufffd:443\""));
    assert_non_null(
        strstr(outs[0], "{\"dn\":\"CN=A\",\"der\":\"MAwxCjAIBgNVBAMMAUE=\",\"sha256\":\""));
    assert_non_null(strstr(outs[0], "\"dn\":\"300531033001\",\"der\":\"MAUxAzAB\""));
    assert_non_null(strstr(outs[0], "\"malformed\":true}"));
    assert_non_null(strstr(outs[0], "\"findings\":[]}\n"));
    char *want = compact_of(outs[0]);
    assert_string_equal(outs[2], want);
    assert_string_equal(outs[3], want);
    assert_string_equal(outs[4], want);
    assert_null(strstr(outs[2], "\"der\""));
    /* the malformed name keeps its bytes as the hex of dn, and their SHA-256 (Python hashlib) */
    assert_non_null(strstr(outs[2],
                           "{\"dn\":\"300531033001\",\"sha256\":\"1482b9695e358a857a9686b62ec2"
                           "2bb2a668ac83c949f27541b361870bf40286\",\"malformed\":true}"));
    free(want);
    for (int i = 0; i < 5; i++)
        free(outs[i]);
    report_jsonl_cache_free(cache);
    tls_observation_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_strings),
        cmocka_unit_test(test_json_hidden),
        cmocka_unit_test(test_markup),
        cmocka_unit_test(test_name_cache),
        cmocka_unit_test(test_name_cache_growth),
        cmocka_unit_test(test_jsonl_cache_growth),
        cmocka_unit_test(test_jsonl_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
