/* CertificateRequest decoding for TLS 1.0 to 1.3. Reads untrusted bytes: every length is
 * checked before use, nothing is allocated, results are views into the input. */
#include "certreq.h"

#include <string.h>

/* The list body: DistinguishedName<1..2^16-1> entries that must exactly fill it. */
static int parse_ca_list(struct tls_certreq *out, struct tls_cursor list)
{
    out->cas = list.p;
    out->cas_len = list.len;
    out->ca_count = 0;
    while (list.len) {
        struct tls_cursor dn;
        int rc = tls_cursor_vec(&list, 2, &dn);
        if (rc)
            return rc;
        if (dn.len == 0)
            out->quirks |= TLS_CERTREQ_EMPTY_DN;
        out->ca_count++;
    }
    return 0;
}

static void note_sigalgs(struct tls_certreq *out, struct tls_cursor s)
{
    out->sigalgs = s.p;
    out->sigalgs_len = s.len;
    if (s.len < 2)
        out->quirks |= TLS_CERTREQ_NO_SIGALGS;
    if (s.len % 2)
        out->quirks |= TLS_CERTREQ_ODD_SIGALGS;
}

/* ClientCertificateType certificate_types<1..2^8-1>: an empty one is a quirk, not an error. */
static int parse_cert_types(struct tls_certreq *out, struct tls_cursor *c)
{
    struct tls_cursor types;
    int rc = tls_cursor_vec(c, 1, &types);
    if (rc)
        return rc;
    out->cert_types = types.p;
    out->cert_types_len = types.len;
    if (types.len == 0)
        out->quirks |= TLS_CERTREQ_NO_CERT_TYPES;
    return 0;
}

int tls_certreq10_parse(struct tls_certreq *out, const uint8_t *p, size_t len)
{
    memset(out, 0, sizeof(*out));
    out->version = 0x0301;
    out->has_cas = true;
    struct tls_cursor c = tls_cursor_make(p, len);
    struct tls_cursor cas;
    int rc;

    /* RFC 4346 7.4.4: ClientCertificateType certificate_types<1..2^8-1> */
    if ((rc = parse_cert_types(out, &c)))
        return rc;
    /* DistinguishedName certificate_authorities<0..2^16-1> (RFC 2246: <3..2^16-1>, which
     * servers broke with empty lists long before RFC 4346 allowed them) */
    if ((rc = tls_cursor_vec(&c, 2, &cas)))
        return rc;
    if ((rc = parse_ca_list(out, cas)))
        return rc;
    return tls_cursor_done(&c);
}

int tls_certreq12_parse(struct tls_certreq *out, const uint8_t *p, size_t len)
{
    memset(out, 0, sizeof(*out));
    out->version = 0x0303;
    out->has_cas = true;
    struct tls_cursor c = tls_cursor_make(p, len);
    struct tls_cursor sigalgs, cas;
    int rc;

    /* RFC 5246 7.4.4: ClientCertificateType certificate_types<1..2^8-1> */
    if ((rc = parse_cert_types(out, &c)))
        return rc;
    /* SignatureAndHashAlgorithm supported_signature_algorithms<2..2^16-2> */
    if ((rc = tls_cursor_vec(&c, 2, &sigalgs)))
        return rc;
    note_sigalgs(out, sigalgs);
    /* DistinguishedName certificate_authorities<0..2^16-1> */
    if ((rc = tls_cursor_vec(&c, 2, &cas)))
        return rc;
    if ((rc = parse_ca_list(out, cas)))
        return rc;
    return tls_cursor_done(&c);
}

int tls_certreq13_parse(struct tls_certreq *out, const uint8_t *p, size_t len)
{
    memset(out, 0, sizeof(*out));
    out->version = 0x0304;
    struct tls_cursor c = tls_cursor_make(p, len);
    struct tls_cursor ctx, exts;
    int rc;
    bool seen_sigalgs = false;

    /* RFC 8446 4.3.2: opaque certificate_request_context<0..2^8-1> */
    if ((rc = tls_cursor_vec(&c, 1, &ctx)))
        return rc;
    out->context = ctx.p;
    out->context_len = ctx.len;
    /* Extension extensions<2..2^16-1> */
    if ((rc = tls_cursor_vec(&c, 2, &exts)))
        return rc;
    if ((rc = tls_cursor_done(&c)))
        return rc;
    while (exts.len) {
        uint16_t type;
        struct tls_cursor data;
        if ((rc = tls_cursor_u16(&exts, &type)))
            return rc;
        /* RFC 8446 4.2: opaque extension_data<0..2^16-1> */
        if ((rc = tls_cursor_vec(&exts, 2, &data)))
            return rc;
        switch (type) {
        case 13: /* signature_algorithms, RFC 8446 4.2.3: SignatureScheme list<2..2^16-2> */
        {
            if (seen_sigalgs)
                return TLS_E_RANGE; /* RFC 8446 4.2: no duplicate extensions */
            seen_sigalgs = true;
            struct tls_cursor list;
            if ((rc = tls_cursor_vec(&data, 2, &list)))
                return rc;
            if ((rc = tls_cursor_done(&data)))
                return rc;
            note_sigalgs(out, list);
            break;
        }
        case 47: /* certificate_authorities, RFC 8446 4.2.4: authorities<3..2^16-1> */
        {
            if (out->has_cas)
                return TLS_E_RANGE;
            struct tls_cursor list;
            if ((rc = tls_cursor_vec(&data, 2, &list)))
                return rc;
            if ((rc = tls_cursor_done(&data)))
                return rc;
            out->has_cas = true;
            if (list.len < 3)
                out->quirks |= TLS_CERTREQ_CA_EXT_TOO_SHORT;
            if ((rc = parse_ca_list(out, list)))
                return rc;
            break;
        }
        default: /* oid_filters, signature_algorithms_cert, GREASE: not needed */
            break;
        }
    }
    if (!seen_sigalgs)
        out->quirks |= TLS_CERTREQ_NO_SIGALGS; /* RFC 8446 4.3.2: it MUST be present */
    return 0;
}

int tls_certreq_parse(uint16_t version, struct tls_certreq *out, const uint8_t *p, size_t len)
{
    if (version >= 0x0304)
        return tls_certreq13_parse(out, p, len);
    return version == 0x0303 ? tls_certreq12_parse(out, p, len) : tls_certreq10_parse(out, p, len);
}

int tls_certreq_ca_next(struct tls_cursor *it, const uint8_t **dn, size_t *dn_len)
{
    struct tls_cursor v;
    if (it->len == 0 || tls_cursor_vec(it, 2, &v))
        return 0;
    *dn = v.p;
    *dn_len = v.len;
    return 1;
}
