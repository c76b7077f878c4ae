/* Distinguished names (dn.h): DER Name (RFC 5280 4.1.2.4) to RFC 4514 text. The input is
 * untrusted server data: every read is length-checked against its enclosing TLV, nothing is
 * allocated, there is no recursion, and whatever the input the text written is valid UTF-8 with
 * no control characters. Must never read past der + len nor write past out + cap. */
#include "dn.h"

#include "arena.h"

#include <stdbool.h>
#include <string.h>

#include "cursor.h"
#include "der.h"
#include "error.h"
#include "hex.h"
#include "utf8.h"

/* Bounded text sink. Writes past cap are dropped but still counted, so one walk both measures
 * and writes; buf may be NULL with cap 0 to measure only. */
struct dn_out {
    char *buf;
    size_t cap;
    size_t pos;
};

static void out_byte(struct dn_out *o, uint8_t ch)
{
    if (o->pos < o->cap)
        o->buf[o->pos] = (char)ch;
    o->pos++;
}

static void out_str(struct dn_out *o, const char *s)
{
    while (*s)
        out_byte(o, (uint8_t)*s++);
}

static void out_hex(struct dn_out *o, uint8_t b)
{
    out_byte(o, (uint8_t)tls_hex_upper[b >> 4]);
    out_byte(o, (uint8_t)tls_hex_upper[b & 0x0f]);
}

static void out_u64(struct dn_out *o, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        out_byte(o, (uint8_t)digits[--n]);
}

/* RFC 3629 3: cp as UTF-8. cp is a scalar value (<= 0x10ffff, not a surrogate). */
static void out_utf8(struct dn_out *o, uint32_t cp)
{
    if (cp < 0x80) { /* nearly every character of a name: no call into utf8.c */
        out_byte(o, (uint8_t)cp);
        return;
    }
    uint8_t u[4];
    size_t n = tls_utf8_encode(cp, u);
    for (size_t i = 0; i < n; i++)
        out_byte(o, u[i]);
}

/* RFC 4514 2.4: attributeType = descr / numericoid. The descr of RFC 4514 3 first, then the
 * other attributes that certificates carry, named as OpenSSL's RFC 2253 output names them
 * (`openssl x509 -subject -nameopt RFC2253`), so that a name reads the same in both. */
static const struct dn_short_name {
    const char *name;
    uint8_t len;
    uint8_t oid[11]; /* contents octets of the OBJECT IDENTIFIER */
} short_names[] = {
    {.name = "CN", .len = 3, .oid = {0x55, 0x04, 0x03}},     /* 2.5.4.3 */
    {.name = "L", .len = 3, .oid = {0x55, 0x04, 0x07}},      /* 2.5.4.7 */
    {.name = "ST", .len = 3, .oid = {0x55, 0x04, 0x08}},     /* 2.5.4.8 */
    {.name = "O", .len = 3, .oid = {0x55, 0x04, 0x0a}},      /* 2.5.4.10 */
    {.name = "OU", .len = 3, .oid = {0x55, 0x04, 0x0b}},     /* 2.5.4.11 */
    {.name = "C", .len = 3, .oid = {0x55, 0x04, 0x06}},      /* 2.5.4.6 */
    {.name = "STREET", .len = 3, .oid = {0x55, 0x04, 0x09}}, /* 2.5.4.9 */
    /* 0.9.2342.19200300.100.1.25 */
    {.name = "DC", .len = 10, .oid = {0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19}},
    /* 0.9.2342.19200300.100.1.1 */
    {.name = "UID", .len = 10, .oid = {0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01}},
    {.name = "SN", .len = 3, .oid = {0x55, 0x04, 0x04}},                     /* 2.5.4.4 */
    {.name = "serialNumber", .len = 3, .oid = {0x55, 0x04, 0x05}},           /* 2.5.4.5 */
    {.name = "title", .len = 3, .oid = {0x55, 0x04, 0x0c}},                  /* 2.5.4.12 */
    {.name = "description", .len = 3, .oid = {0x55, 0x04, 0x0d}},            /* 2.5.4.13 */
    {.name = "businessCategory", .len = 3, .oid = {0x55, 0x04, 0x0f}},       /* 2.5.4.15 */
    {.name = "postalCode", .len = 3, .oid = {0x55, 0x04, 0x11}},             /* 2.5.4.17 */
    {.name = "name", .len = 3, .oid = {0x55, 0x04, 0x29}},                   /* 2.5.4.41 */
    {.name = "GN", .len = 3, .oid = {0x55, 0x04, 0x2a}},                     /* 2.5.4.42 */
    {.name = "initials", .len = 3, .oid = {0x55, 0x04, 0x2b}},               /* 2.5.4.43 */
    {.name = "generationQualifier", .len = 3, .oid = {0x55, 0x04, 0x2c}},    /* 2.5.4.44 */
    {.name = "dnQualifier", .len = 3, .oid = {0x55, 0x04, 0x2e}},            /* 2.5.4.46 */
    {.name = "pseudonym", .len = 3, .oid = {0x55, 0x04, 0x41}},              /* 2.5.4.65 */
    {.name = "organizationIdentifier", .len = 3, .oid = {0x55, 0x04, 0x61}}, /* 2.5.4.97 */
    /* 1.2.840.113549.1.9.1 (PKCS #9) */
    {.name = "emailAddress",
     .len = 9,
     .oid = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01}},
    /* 1.3.6.1.4.1.311.60.2.1.1 to .3 (EV certificates' jurisdiction) */
    {.name = "jurisdictionL",
     .len = 11,
     .oid = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x3c, 0x02, 0x01, 0x01}},
    {.name = "jurisdictionST",
     .len = 11,
     .oid = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x3c, 0x02, 0x01, 0x02}},
    {.name = "jurisdictionC",
     .len = 11,
     .oid = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x3c, 0x02, 0x01, 0x03}},
};

static const char *short_name_find(const struct tls_cursor *oid)
{
    for (size_t i = 0; i < sizeof(short_names) / sizeof(short_names[0]); i++) {
        if (oid->len == short_names[i].len && memcmp(oid->p, short_names[i].oid, oid->len) == 0)
            return short_names[i].name;
    }
    return NULL;
}

/* RFC 4514 3 numericoid from X.690 8.19 contents. Arcs wider than 64 bits are rejected as
 * TLS_E_DER: they are legal DER but have no place in a certificate, and printing them would need
 * arbitrary precision. */
static int oid_write(const struct tls_cursor *oid, struct dn_out *o)
{
    const uint8_t *p = oid->p;
    size_t len = oid->len;
    if (len == 0)
        return TLS_E_DER; /* X.690 8.19.2: at least one subidentifier */
    size_t i = 0;
    bool first = true;
    while (i < len) {
        if (p[i] == 0x80)
            return TLS_E_DER; /* X.690 8.19.2: subidentifiers are minimal */
        uint64_t v = 0;
        for (;;) {
            if (i == len)
                return TLS_E_DER; /* last subidentifier has bit 8 set */
            uint8_t b = p[i++];
            if (v > UINT64_MAX >> 7)
                return TLS_E_DER;
            v = (v << 7) | (b & 0x7f);
            if (!(b & 0x80))
                break;
        }
        if (first) {
            /* X.690 8.19.4: the first subidentifier is 40 * X + Y, X in 0..2. */
            uint64_t x = v < 40 ? 0 : v < 80 ? 1 : 2;
            out_u64(o, x);
            out_byte(o, '.');
            out_u64(o, v - 40 * x);
            first = false;
        } else {
            out_byte(o, '.');
            out_u64(o, v);
        }
    }
    return 0;
}

/* RFC 4514 2.4: '#' and the hex of the whole BER (here DER) encoding of the value. */
static void hex_write(const struct tls_der_tlv *v, struct dn_out *o)
{
    out_byte(o, '#');
    for (size_t i = 0; i < v->whole_len; i++)
        out_hex(o, v->whole[i]);
}

/* How the octets of a string type map to characters. */
enum dn_charset {
    DN_CHARSET_UTF8,   /* UTF-8 and the ASCII subsets: bytes that are not valid UTF-8 are escaped */
    DN_CHARSET_LATIN1, /* TeletexString: in practice ISO 8859-1 */
    DN_CHARSET_UCS2,   /* BMPString, big-endian; UTF-16 surrogate pairs accepted */
    DN_CHARSET_UCS4,   /* UniversalString, big-endian */
};

/* Decode one character at p (len > 0): return the octets used and set *cp, or return 0 when
 * the octets at p are no valid character. */
static size_t char_decode(enum dn_charset cs, const uint8_t *p, size_t len, uint32_t *cp)
{
    switch (cs) {
    case DN_CHARSET_UTF8:
        return tls_utf8_decode(p, len, cp);
    case DN_CHARSET_LATIN1:
        *cp = p[0];
        return 1;
    case DN_CHARSET_UCS2:
        return tls_utf16_decode(p, len, true, cp);
    case DN_CHARSET_UCS4: {
        if (len < 4)
            return 0;
        uint32_t u = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (u > 0x10ffff || (u >= 0xd800 && u <= 0xdfff))
            return 0;
        *cp = u;
        return 4;
    }
    }
    return 0;
}

/* RFC 4514 2.4: the characters escaped with a backslash wherever they stand. */
static const bool rfc4514_special[0x80] = {
    ['"'] = true, ['+'] = true, [','] = true,  [';'] = true,
    ['<'] = true, ['>'] = true, ['\\'] = true,
};

/* The value as RFC 4514 2.4 string, escaping also every control character and every octet that
 * is not valid UTF-8 as \XX so that renderers (JSON, XML, terminals) can use it as it is. */
static void string_write(enum dn_charset cs, const struct tls_cursor *s, struct dn_out *o)
{
    size_t i = 0;
    while (i < s->len) {
        uint32_t cp;
        size_t n = char_decode(cs, s->p + i, s->len - i, &cp);
        bool first = i == 0;
        if (n == 0) {
            out_byte(o, '\\');
            out_hex(o, s->p[i]);
            i++;
            continue;
        }
        i += n;
        bool last = i == s->len;
        if (cp < 0x20 || cp == 0x7f) {
            out_byte(o, '\\');
            out_hex(o, (uint8_t)cp);
        } else if (cp >= 0x80 && cp <= 0x9f) {
            /* C1 controls (CSI is 0x9b) act on terminals: escape their UTF-8 octets C2 xx */
            out_byte(o, '\\');
            out_hex(o, 0xc2);
            out_byte(o, '\\');
            out_hex(o, (uint8_t)cp);
        } else if ((cp < 0x80 && rfc4514_special[cp]) || (first && (cp == ' ' || cp == '#')) ||
                   (last && cp == ' ')) {
            /* cp < 0x80: strchr() would see only the low byte. cp 0 was escaped above. */
            out_byte(o, '\\');
            out_byte(o, (uint8_t)cp);
        } else {
            out_utf8(o, cp);
        }
    }
}

/* True when every character of s decodes: BMP and Universal strings that do not are shown as
 * #hex rather than as a series of escaped octets that would mean something else. */
static bool string_decodes(enum dn_charset cs, const struct tls_cursor *s)
{
    size_t i = 0;
    while (i < s->len) {
        uint32_t cp;
        size_t n = char_decode(cs, s->p + i, s->len - i, &cp);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

static void value_write(const struct tls_der_tlv *v, struct dn_out *o)
{
    enum dn_charset cs;
    switch (v->id) {
    case TLS_DER_UTF8:
    case TLS_DER_NUMERIC:
    case TLS_DER_PRINTABLE:
    case TLS_DER_IA5:
    case TLS_DER_VISIBLE:
        cs = DN_CHARSET_UTF8;
        break;
    case TLS_DER_TELETEX:
        cs = DN_CHARSET_LATIN1;
        break;
    case TLS_DER_BMP:
        cs = DN_CHARSET_UCS2;
        break;
    case TLS_DER_UNIVERSAL:
        cs = DN_CHARSET_UCS4;
        break;
    default:
        hex_write(v, o);
        return;
    }
    if (cs != DN_CHARSET_UTF8 && cs != DN_CHARSET_LATIN1 && !string_decodes(cs, &v->body))
        hex_write(v, o);
    else
        string_write(cs, &v->body, o);
}

/* RFC 5280 4.1.2.4: AttributeTypeAndValue ::= SEQUENCE { type OBJECT IDENTIFIER, value ANY }.
 * RFC 4514 2.3: type '=' value; short name and string only for the types we know. */
static int atv_write(struct tls_der_tlv *atv, struct dn_out *o)
{
    if (atv->id != TLS_DER_SEQUENCE)
        return TLS_E_DER;
    struct tls_der_tlv type, value;
    if (tls_der_read(&atv->body, &type) < 0 || type.id != TLS_DER_OID)
        return TLS_E_DER;
    if (tls_der_read(&atv->body, &value) < 0 || tls_cursor_done(&atv->body) < 0)
        return TLS_E_DER;

    const char *name = short_name_find(&type.body);
    if (name == NULL) {
        int rc = oid_write(&type.body, o);
        if (rc < 0)
            return rc;
        out_byte(o, '=');
        hex_write(&value, o);
        return 0;
    }
    out_str(o, name);
    out_byte(o, '=');
    value_write(&value, o);
    return 0;
}

/* RFC 5280 4.1.2.4: RelativeDistinguishedName ::= SET SIZE (1..MAX) OF AttributeTypeAndValue.
 * RFC 4514 2.2: the attributes joined by '+', here in encoding order. DER sorts SET OF; that
 * order is not enforced since real CAs get it wrong and the text does not depend on it. */
static int rdn_write(const struct tls_der_tlv *rdn, struct dn_out *o)
{
    if (rdn->id != TLS_DER_SET || rdn->body.len == 0)
        return TLS_E_DER;
    struct tls_cursor c = rdn->body;
    bool first = true;
    while (c.len) {
        struct tls_der_tlv atv;
        if (tls_der_read(&c, &atv) < 0)
            return TLS_E_DER;
        if (!first)
            out_byte(o, '+');
        first = false;
        int rc = atv_write(&atv, o);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* RFC 5280 4.1.2.4: Name ::= RDNSequence ::= SEQUENCE OF RelativeDistinguishedName, filling all
 * of der/len. *rdns views the RDNs. */
static int name_open(const uint8_t *der, size_t len, struct tls_cursor *rdns)
{
    struct tls_cursor c = tls_cursor_make(der, len);
    struct tls_der_tlv name;
    if (tls_der_read(&c, &name) < 0 || name.id != TLS_DER_SEQUENCE || tls_cursor_done(&c) < 0)
        return TLS_E_DER;
    *rdns = name.body;
    return 0;
}

/* Validate every RDN and count the text they make, RFC 4514 2.1 ',' separators included. */
static int name_measure(struct tls_cursor rdns, size_t *text_len)
{
    struct dn_out m = {.buf = NULL, .cap = 0, .pos = 0};
    bool first = true;
    while (rdns.len) {
        struct tls_der_tlv rdn;
        if (tls_der_read(&rdns, &rdn) < 0)
            return TLS_E_DER;
        if (!first)
            out_byte(&m, ',');
        first = false;
        int rc = rdn_write(&rdn, &m);
        if (rc < 0)
            return rc;
    }
    *text_len = m.pos;
    return 0;
}

int tls_dn_check(const uint8_t *der, size_t len)
{
    if (der == NULL)
        return TLS_E_DER;
    struct tls_cursor rdns;
    size_t text_len;
    if (name_open(der, len, &rdns) < 0 || name_measure(rdns, &text_len) < 0)
        return TLS_E_DER;
    return 0;
}

/* On TLS_E_SPACE *out_len gets the length the text needs (without NUL), as snprintf() would.
 * On any error out holds "" (cap > 0): never a truncated text that could end mid-character. */
int tls_dn_format(const uint8_t *der, size_t len, char *out, size_t cap, size_t *out_len)
{
    if (out_len)
        *out_len = 0;
    if (out == NULL && cap > 0)
        return TLS_E_INVALID;
    if (cap > 0)
        out[0] = '\0';
    if (der == NULL)
        return TLS_E_DER;

    struct tls_cursor rdns;
    size_t total;
    if (name_open(der, len, &rdns) < 0 || name_measure(rdns, &total) < 0)
        return TLS_E_DER;
    if (out_len)
        *out_len = total;
    if (total >= cap)
        return TLS_E_SPACE;

    /* RFC 4514 2.1: the last RDN of the sequence comes first. Walk forward and place each RDN's
     * text right-aligned before the text of the RDNs already placed: no table of offsets, so
     * no limit on the number of RDNs and still linear time. */
    size_t end = total;
    while (rdns.len) {
        struct tls_der_tlv rdn;
        if (tls_der_read(&rdns, &rdn) < 0)
            return TLS_E_DER;
        struct dn_out m = {.buf = NULL, .cap = 0, .pos = 0};
        if (rdn_write(&rdn, &m) < 0 || m.pos > end)
            goto inconsistent;
        size_t start = end - m.pos;
        struct dn_out w = {.buf = out + start, .cap = m.pos, .pos = 0};
        if (rdn_write(&rdn, &w) < 0)
            goto inconsistent;
        if (rdns.len) {
            if (start == 0)
                goto inconsistent;
            out[start - 1] = ',';
            end = start - 1;
        } else {
            end = start;
        }
    }
    if (end != 0)
        goto inconsistent;
    out[total] = '\0';
    return 0;

inconsistent:
    /* Unreachable: the second walk disagrees with the first. Give no text rather than junk. */
    out[0] = '\0';
    return TLS_E_DER;
}

int tls_dn_format_arena(struct tls_arena *arena, const uint8_t *der, size_t len, const char **text)
{
    size_t need = 0;
    /* measure first (cap 0), then write into exactly that much: a 64 KiB name must not take
     * 6 x 64 KiB of an observation's budget */
    int rc = tls_dn_format(der, len, NULL, 0, &need);
    if (rc != TLS_E_SPACE && rc != 0)
        return rc;
    char *out = tls_arena_alloc(arena, need + 1);
    if (out == NULL)
        return TLS_E_NOMEM;
    rc = tls_dn_format(der, len, out, need + 1, NULL);
    if (rc)
        return rc;
    *text = out;
    return 0;
}

/* ---- canonical comparison ---------------------------------------------------------------------
 * What Java and .NET do and Go, Chromium and NSS do not: names equal in meaning but not in bytes
 * (RFC 5280 7.1 with RFC 4518's spirit, simplified): the same RDNs in the same order, each with
 * the same set of attribute types; string values compared after decoding any string type,
 * folding ASCII case, and ignoring leading, trailing and repeated spaces. Other values compare
 * by their bytes. */

static bool charset_of(uint8_t id, enum dn_charset *cs)
{
    switch (id) {
    case TLS_DER_UTF8:
    case TLS_DER_NUMERIC:
    case TLS_DER_PRINTABLE:
    case TLS_DER_IA5:
    case TLS_DER_VISIBLE:
        *cs = DN_CHARSET_UTF8;
        return true;
    case TLS_DER_TELETEX:
        *cs = DN_CHARSET_LATIN1;
        return true;
    case TLS_DER_BMP:
        *cs = DN_CHARSET_UCS2;
        return true;
    case TLS_DER_UNIVERSAL:
        *cs = DN_CHARSET_UCS4;
        return true;
    default:
        return false;
    }
}

struct canon_it {
    enum dn_charset cs;
    struct tls_cursor s;
    size_t i;
    bool started, space;
    int64_t held; /* a code point read ahead behind a collapsed space, or -1 */
};

/* The next canonical code point: >= 0, -1 at the end, -2 for an undecodable value. */
static int64_t canon_next(struct canon_it *it)
{
    if (it->held >= 0) {
        int64_t cp = it->held;
        it->held = -1;
        return cp;
    }
    while (it->i < it->s.len) {
        uint32_t cp;
        size_t n = char_decode(it->cs, it->s.p + it->i, it->s.len - it->i, &cp);
        if (n == 0)
            return -2;
        it->i += n;
        if (cp == ' ') {
            it->space = it->started; /* leading spaces vanish, inner runs become one */
            continue;
        }
        if (cp >= 'A' && cp <= 'Z')
            cp += 'a' - 'A';
        it->started = true;
        if (it->space) {
            it->space = false;
            it->held = cp;
            return ' ';
        }
        return cp;
    }
    return -1; /* trailing spaces vanish */
}

static bool value_equal_canonical(const struct tls_der_tlv *a, const struct tls_der_tlv *b)
{
    enum dn_charset ca, cb;
    if (!charset_of(a->id, &ca) || !charset_of(b->id, &cb))
        return a->whole_len == b->whole_len && memcmp(a->whole, b->whole, a->whole_len) == 0;
    struct canon_it x = {.cs = ca, .s = a->body, .held = -1};
    struct canon_it y = {.cs = cb, .s = b->body, .held = -1};
    for (;;) {
        int64_t p = canon_next(&x), q = canon_next(&y);
        if (p == -2 || q == -2 || p != q)
            return false;
        if (p == -1)
            return true;
    }
}

/* One AttributeTypeAndValue: its type and value. */
static bool atv_split(const struct tls_der_tlv *atv, struct tls_der_tlv *type,
                      struct tls_der_tlv *value)
{
    struct tls_cursor c = atv->body;
    return atv->id == TLS_DER_SEQUENCE && tls_der_read(&c, type) == 0 && type->id == TLS_DER_OID &&
           tls_der_read(&c, value) == 0 && tls_cursor_done(&c) == 0;
}

/* Every attribute of a has an equal one in b (types and canonical values). */
static bool rdn_covers(const struct tls_der_tlv *a, const struct tls_der_tlv *b)
{
    struct tls_cursor ca = a->body;
    while (ca.len) {
        struct tls_der_tlv atv, ta, va;
        if (tls_der_read(&ca, &atv) < 0 || !atv_split(&atv, &ta, &va))
            return false;
        bool found = false;
        struct tls_cursor cb = b->body;
        while (cb.len && !found) {
            struct tls_der_tlv btv, tb, vb;
            if (tls_der_read(&cb, &btv) < 0 || !atv_split(&btv, &tb, &vb))
                return false;
            found = ta.body.len == tb.body.len && memcmp(ta.body.p, tb.body.p, ta.body.len) == 0 &&
                    value_equal_canonical(&va, &vb);
        }
        if (!found)
            return false;
    }
    return true;
}

bool tls_dn_equal_canonical(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    struct tls_cursor ra, rb;
    if (name_open(a, a_len, &ra) < 0 || name_open(b, b_len, &rb) < 0)
        return false;
    while (ra.len && rb.len) {
        struct tls_der_tlv x, y;
        if (tls_der_read(&ra, &x) < 0 || tls_der_read(&rb, &y) < 0 || x.id != TLS_DER_SET ||
            y.id != TLS_DER_SET)
            return false;
        if (!rdn_covers(&x, &y) || !rdn_covers(&y, &x))
            return false;
    }
    return ra.len == 0 && rb.len == 0;
}
