/* Distinguished names: DER Name (RFC 5280 4.1.2.4) to RFC 4514 text. Pure: no allocation, no
 * mbedTLS; the input is untrusted server data. */
#ifndef TLS_DN_H
#define TLS_DN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Enough room for the text of any DER name of der_len bytes, NUL included. */
#define TLS_DN_TEXT_MAX(der_len) (6 * (size_t)(der_len) + 16)

/* Write the RFC 4514 string of the DER Name der/len into out (cap bytes, always NUL-terminated
 * when cap > 0): most significant RDN last, multi-valued RDNs joined by '+', the RFC 4514 short
 * names (CN, L, ST, O, OU, C, STREET, DC, UID) and dotted OIDs with #hex values otherwise. The
 * output is always printable ASCII or valid UTF-8: C0 and C1 control characters and invalid UTF-8
 * bytes are escaped as \XX (a C1 character as the two escaped octets of its UTF-8 form). Returns 0,
 * TLS_E_DER for a malformed name (out then holds nothing useful), TLS_E_SPACE when cap is too
 * small. *out_len (may be NULL) gets the length without NUL. */
int tls_dn_format(const uint8_t *der, size_t len, char *out, size_t cap, size_t *out_len);

struct tls_arena;
/* tls_dn_format into memory of exactly the text's size taken from arena: *text is set on 0;
 * TLS_E_DER for a malformed name, TLS_E_NOMEM when the arena or the heap is out. */
int tls_dn_format_arena(struct tls_arena *arena, const uint8_t *der, size_t len, const char **text);

/* True when two DER Names are equal in meaning (what Java and .NET compare) though maybe not in
 * bytes (what Go, Chromium and NSS compare): same RDNs in order, same attribute types, string
 * values equal after decoding any string type, ASCII case folding and ignoring leading,
 * trailing and repeated spaces. False for a malformed name. */
bool tls_dn_equal_canonical(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);

/* 0 when der/len is exactly one well-formed DER Name, TLS_E_DER otherwise. */
int tls_dn_check(const uint8_t *der, size_t len);

#endif
