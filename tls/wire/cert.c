/* X.509 certificate fields (cert.h): the Certificate and TBSCertificate structure of RFC 5280 4.1
 * read with tls_der_read, in RFC order. The input is a server's untrusted bytes: every element is
 * read through the cursor of the element that holds it, so no length is used before it is checked
 * against its container; nothing is allocated and nothing recurses. Must never read past
 * der + len. */
#include "cert.h"

#include <stdbool.h>
#include <string.h>

#include "cursor.h"
#include "der.h"
#include "error.h"

/* The certificate being read and where its failure goes. */
struct reader {
    const uint8_t *base;
    struct tls_cert_fields *out;
};

static int fail(struct reader *r, const uint8_t *at, const char *field, const char *problem)
{
    r->out->error_at = (size_t)(at - r->base);
    r->out->error_field = field;
    r->out->error_problem = problem;
    return TLS_E_DER;
}

static const char *tag_problem(uint8_t tag)
{
    switch (tag) {
    case TLS_DER_INTEGER:
        return "not an INTEGER";
    case TLS_DER_BIT_STRING:
        return "not a BIT STRING";
    case TLS_DER_SEQUENCE:
        return "not a SEQUENCE";
    default:
        return "not of the type RFC 5280 4.1 gives it";
    }
}

/* Read the next element of c as field, whatever its type. */
static int element_read(struct reader *r, struct tls_cursor *c, const char *field,
                        struct tls_der_tlv *t)
{
    if (c->len == 0)
        return fail(r, c->p, field, "missing");
    switch (tls_der_read(c, t)) {
    case 0:
        return 0;
    case TLS_E_TRUNCATED:
        return fail(r, c->p, field, "its tag or length is cut off");
    case TLS_E_LENGTH:
        return fail(r, c->p, field, "its length runs past the end of what holds it");
    default:
        return fail(r, c->p, field, "an encoding DER does not allow");
    }
}

/* Read the next element of c as field, which must have the identifier octet tag. */
static int field_read(struct reader *r, struct tls_cursor *c, uint8_t tag, const char *field,
                      struct tls_der_tlv *t)
{
    int rc = element_read(r, c, field, t);
    if (rc)
        return rc;
    if (t->id != tag)
        return fail(r, t->whole, field, tag_problem(tag));
    return 0;
}

/* c must be used up: what is left follows the last element of field. */
static int field_done(struct reader *r, const struct tls_cursor *c, const char *field)
{
    if (c->len)
        return fail(r, c->p, field, "bytes after its last element");
    return 0;
}

/* The value of n decimal digits at p, or -1 when one is not a digit. */
static int digits(const uint8_t *p, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

static bool leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* RFC 5280 4.1.2.5.1 UTCTime YYMMDDHHMMSSZ, 4.1.2.5.2 GeneralizedTime YYYYMMDDHHMMSSZ: 'Z' and
 * the seconds always, no fractional seconds, no offsets. */
static int time_decode(const struct tls_der_tlv *t, struct tls_cert_time *out)
{
    size_t ylen;
    switch (t->id) {
    case TLS_DER_UTC_TIME:
        ylen = 2;
        break;
    case TLS_DER_GENERALIZED_TIME:
        ylen = 4;
        break;
    default:
        return TLS_E_DER;
    }
    const uint8_t *p = t->body.p;
    if (t->body.len != ylen + 11 || p[ylen + 10] != 'Z')
        return TLS_E_DER;
    int year = digits(p, ylen), month = digits(p + ylen, 2), day = digits(p + ylen + 2, 2);
    int hour = digits(p + ylen + 4, 2), minute = digits(p + ylen + 6, 2);
    int second = digits(p + ylen + 8, 2);
    if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 ||
        minute > 59 || second < 0 || second > 59)
        return TLS_E_DER;
    if (ylen == 2)
        year += year >= 50 ? 1900 : 2000; /* RFC 5280 4.1.2.5.1: 50 to 99 are 19YY */
    static const uint8_t month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int last = month_days[month - 1] + (month == 2 && leap_year(year));
    if (day > last)
        return TLS_E_DER;
    out->year = (uint16_t)year;
    out->month = (uint8_t)month;
    out->day = (uint8_t)day;
    out->hour = (uint8_t)hour;
    out->minute = (uint8_t)minute;
    out->second = (uint8_t)second;
    return 0;
}

static int time_read(struct reader *r, struct tls_cursor *c, const char *field,
                     struct tls_cert_time *out)
{
    struct tls_der_tlv t;
    /* Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime } */
    int rc = element_read(r, c, field, &t);
    if (rc)
        return rc;
    if (t.id != TLS_DER_UTC_TIME && t.id != TLS_DER_GENERALIZED_TIME)
        return fail(r, t.whole, field, "not a UTCTime or GeneralizedTime");
    if (time_decode(&t, out))
        return fail(r, t.whole, field,
                    "not a time of RFC 5280 4.1.2.5 (YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ, a real "
                    "date)");
    return 0;
}

/* RFC 5280 4.1: TBSCertificate ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1,
 * serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo,
 * issuerUniqueID [1] IMPLICIT OPTIONAL, subjectUniqueID [2] IMPLICIT OPTIONAL,
 * extensions [3] EXPLICIT OPTIONAL } */
static int tbs_read(struct reader *r, struct tls_cursor tbs)
{
    struct tls_der_tlv t;
    int rc;
    if (tbs.len && tbs.p[0] == TLS_DER_CONTEXT_0) {
        /* 4.1.2.1: Version ::= INTEGER, wrapped in [0] */
        if ((rc = field_read(r, &tbs, TLS_DER_CONTEXT_0, "version", &t)))
            return rc;
        struct tls_der_tlv v;
        if ((rc = field_read(r, &t.body, TLS_DER_INTEGER, "version", &v)) ||
            (rc = field_done(r, &t.body, "version")))
            return rc;
    }
    /* 4.1.2.2 serialNumber INTEGER; 4.1.2.3 signature AlgorithmIdentifier (a SEQUENCE) */
    if ((rc = field_read(r, &tbs, TLS_DER_INTEGER, "serialNumber", &t)) ||
        (rc = field_read(r, &tbs, TLS_DER_SEQUENCE, "signature", &t)))
        return rc;
    /* 4.1.2.4 issuer Name (RDNSequence: a SEQUENCE) */
    if ((rc = field_read(r, &tbs, TLS_DER_SEQUENCE, "issuer", &t)))
        return rc;
    r->out->issuer = t.whole;
    r->out->issuer_len = t.whole_len;
    /* 4.1.2.5 Validity ::= SEQUENCE { notBefore Time, notAfter Time } */
    if ((rc = field_read(r, &tbs, TLS_DER_SEQUENCE, "validity", &t)) ||
        (rc = time_read(r, &t.body, "notBefore", &r->out->not_before)) ||
        (rc = time_read(r, &t.body, "notAfter", &r->out->not_after)) ||
        (rc = field_done(r, &t.body, "validity")))
        return rc;
    /* 4.1.2.6 subject Name */
    if ((rc = field_read(r, &tbs, TLS_DER_SEQUENCE, "subject", &t)))
        return rc;
    r->out->subject = t.whole;
    r->out->subject_len = t.whole_len;
    /* 4.1.2.7 SubjectPublicKeyInfo ::= SEQUENCE: its algorithm is not looked at */
    if ((rc = field_read(r, &tbs, TLS_DER_SEQUENCE, "subjectPublicKeyInfo", &t)))
        return rc;
    /* 4.1.2.8 and 4.1.2.9: the optional rest, each at most once and in this order */
    static const struct {
        uint8_t tag;
        const char *name;
    } rest[] = {
        {TLS_DER_CONTEXT_1, "issuerUniqueID"},
        {TLS_DER_CONTEXT_2, "subjectUniqueID"},
        {TLS_DER_CONTEXT_3, "extensions"},
    };
    for (size_t i = 0; i < sizeof(rest) / sizeof(rest[0]) && tbs.len; i++) {
        if (tbs.p[0] == rest[i].tag && (rc = field_read(r, &tbs, rest[i].tag, rest[i].name, &t)))
            return rc;
    }
    return field_done(r, &tbs, "tbsCertificate");
}

/* RFC 5280 4.1: Certificate ::= SEQUENCE { tbsCertificate TBSCertificate,
 * signatureAlgorithm AlgorithmIdentifier, signatureValue BIT STRING } */
int tls_cert_read(struct tls_cert_fields *out, const uint8_t *der, size_t len)
{
    memset(out, 0, sizeof(*out));
    struct reader r = {.base = der, .out = out};
    struct tls_cursor c = tls_cursor_make(der, der ? len : 0);
    struct tls_der_tlv cert, tbs, t;
    int rc;
    if ((rc = field_read(&r, &c, TLS_DER_SEQUENCE, "Certificate", &cert)) ||
        (rc = field_done(&r, &c, "Certificate")))
        return rc;
    if ((rc = field_read(&r, &cert.body, TLS_DER_SEQUENCE, "tbsCertificate", &tbs)) ||
        (rc = tbs_read(&r, tbs.body)))
        return rc;
    if ((rc = field_read(&r, &cert.body, TLS_DER_SEQUENCE, "signatureAlgorithm", &t)) ||
        (rc = field_read(&r, &cert.body, TLS_DER_BIT_STRING, "signatureValue", &t)) ||
        (rc = field_done(&r, &cert.body, "Certificate")))
        return rc;
    return 0;
}

int tls_cert_time_parse(struct tls_cert_time *out, const uint8_t *der, size_t len)
{
    struct tls_cursor c = tls_cursor_make(der, der ? len : 0);
    struct tls_der_tlv t;
    if (tls_der_read(&c, &t) || tls_cursor_done(&c) || time_decode(&t, out))
        return TLS_E_DER;
    return 0;
}

static void put_digits(char *out, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void tls_cert_time_format(const struct tls_cert_time *t, char out[TLS_CERT_TIME_TEXT_SIZE])
{
    /* RFC 3339 5.6: full-date "T" full-time, time-offset "Z" */
    memcpy(out, "0000-00-00T00:00:00Z", TLS_CERT_TIME_TEXT_SIZE);
    put_digits(out, t->year, 4);
    put_digits(out + 5, t->month, 2);
    put_digits(out + 8, t->day, 2);
    put_digits(out + 11, t->hour, 2);
    put_digits(out + 14, t->minute, 2);
    put_digits(out + 17, t->second, 2);
}
