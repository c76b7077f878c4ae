/* DER TLV reading (der.h). The input is untrusted: every octet is read only after checking that
 * it lies inside the cursor, lengths are at most four octets (no overflow on any size_t), and
 * the cursor moves only on success. Must never read past c->p + c->len. */
#include "der.h"

#include "error.h"

int tls_der_read(struct tls_cursor *c, struct tls_der_tlv *t)
{
    const uint8_t *s = c->p;
    size_t n = c->len;
    size_t i = 0;

    /* X.690 8.1.2: identifier octets. */
    if (n - i < 1)
        return TLS_E_TRUNCATED;
    uint8_t id = s[i++];
    if ((id & 0x1f) == 0x1f) {
        /* X.690 8.1.2.4.2: high tag number, base 128; the first subsequent octet is not 0x80
         * (minimal) and the number is at least 31. Four octets (2^28 tags) is plenty. */
        uint32_t num = 0;
        for (int k = 0;; k++) {
            if (n - i < 1)
                return TLS_E_TRUNCATED;
            if (k == 4)
                return TLS_E_DER;
            uint8_t b = s[i++];
            if (k == 0 && b == 0x80)
                return TLS_E_DER;
            num = (num << 7) | (b & 0x7f);
            if (!(b & 0x80))
                break;
        }
        if (num < 31)
            return TLS_E_DER;
    }

    /* X.690 8.1.3: length octets. DER (X.690 10.1) uses the definite form, minimally. */
    if (n - i < 1)
        return TLS_E_TRUNCATED;
    uint8_t lb = s[i++];
    size_t len = lb;
    if (lb == 0x80) {
        return TLS_E_DER; /* X.690 8.1.3.6 indefinite form: not DER */
    } else if (lb > 0x80) {
        size_t k = lb & 0x7f; /* X.690 8.1.3.5; 0xff (reserved) falls here too */
        if (k > 4)
            return TLS_E_DER;
        if (n - i < k)
            return TLS_E_TRUNCATED;
        if (s[i] == 0)
            return TLS_E_DER;
        len = 0;
        for (size_t j = 0; j < k; j++)
            len = (len << 8) | s[i + j];
        i += k;
        if (len < 0x80)
            return TLS_E_DER; /* X.690 10.1: short form was required */
    }
    if (n - i < len)
        return TLS_E_LENGTH;

    t->id = id;
    t->whole = s;
    t->whole_len = i + len;
    t->body = tls_cursor_make(s + i, len);
    c->p += i + len;
    c->len -= i + len;
    return 0;
}
