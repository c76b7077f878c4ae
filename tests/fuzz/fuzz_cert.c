/* Fuzz target: tls_cert_read and tls_cert_time_parse (tls/wire/cert.h) on untrusted bytes.
 * Beyond memory safety it checks the contract: a certificate read gives Names that are SEQUENCE
 * views inside the input and times in range; a failure names a place inside the input, a field
 * and a problem; a Time read back as text says the digits of the input. */
#include "tests/fuzz/fuzz.h"
#include "tls/wire/cert.h"
#include "tls/wire/dn.h"
#include "tls/wire/error.h"

/* t in range, and its text the digits of the Time whose contents are body (13 or 15 octets). */
static void check_time(const struct tls_cert_time *t, const uint8_t *body, size_t len)
{
    char text[TLS_CERT_TIME_TEXT_SIZE], digits[16];
    tls_cert_time_format(t, text);
    if (t->year > 9999 || t->month < 1 || t->month > 12 || t->day < 1 || t->day > 31 ||
        t->hour > 23 || t->minute > 59 || t->second > 59 || strlen(text) != 20)
        abort();
    size_t n = 0;
    for (const char *s = text; *s; s++)
        if (*s != '-' && *s != 'T' && *s != ':')
            digits[n++] = *s;
    if (body && (n != 15 || memcmp(digits + 15 - len, body, len) != 0 ||
                 (len == 13 && (t->year >= 1950 && t->year <= 2049) == 0)))
        abort();
}

static bool name_inside(const uint8_t *name, size_t len, const uint8_t *data, size_t size)
{
    return name >= data && len >= 2 && len <= size - (size_t)(name - data) && name[0] == 0x30;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tls_cert_fields f;
    int rc = tls_cert_read(&f, data, size);
    if (rc == 0) {
        if (!name_inside(f.subject, f.subject_len, data, size) ||
            !name_inside(f.issuer, f.issuer_len, data, size))
            abort();
        check_time(&f.not_before, NULL, 0);
        check_time(&f.not_after, NULL, 0);
        /* what the summary does next with the Names */
        (void)tls_dn_check(f.subject, f.subject_len);
        (void)tls_dn_check(f.issuer, f.issuer_len);
    } else if (rc != TLS_E_DER || f.error_at > size || !f.error_field || !f.error_problem) {
        abort();
    }
    struct tls_cert_time t;
    rc = tls_cert_time_parse(&t, data, size);
    if (rc == 0)
        check_time(&t, data + 2, size - 2); /* a Time is short: its length is one octet */
    else if (rc != TLS_E_DER)
        abort();
    return 0;
}
