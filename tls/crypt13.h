/* TLS 1.3 record protection, read side only (RFC 8446 5.2 and 7.3): opens the server's
 * encrypted handshake records with a traffic secret that mbedTLS exported. Never writes records. */
#ifndef TLS_CRYPT13_H
#define TLS_CRYPT13_H

#include "side.h"

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/md.h>

struct tls_crypt13;

/* Allocate a context for cipher suite `suite` (0x1301 AES-128-GCM-SHA256, 0x1302
 * AES-256-GCM-SHA384, 0x1303 CHACHA20-POLY1305-SHA256, 0x1304 AES-128-CCM-SHA256, 0x1305
 * AES-128-CCM-8-SHA256) with key and iv derived from `secret` by HKDF-Expand-Label (RFC 8446 7.3);
 * sequence number 0. TLS_E_UNSUPPORTED for another suite or a secret of the wrong length. */
int tls_crypt13_new(struct tls_crypt13 **out, uint16_t suite, const uint8_t *secret,
                    size_t secret_len);
void tls_crypt13_free(struct tls_crypt13 *c);

/* The hash of TLS 1.3 suite `suite` (RFC 8446 B.4), MBEDTLS_MD_NONE for a suite not listed above.
 */
mbedtls_md_type_t tls_crypt13_suite_md(uint16_t suite);

/* RFC 8446 7.1: HKDF-Expand-Label(secret, label, ctx, out_len) into out, label without the
 * "tls13 " prefix. Returns an mbedTLS code. Also the key schedule's (keyex13.c). */
int tls_crypt13_expand_label(const mbedtls_md_info_t *md, const uint8_t *secret, size_t secret_len,
                             const char *label, const uint8_t *ctx, size_t ctx_len, uint8_t *out,
                             size_t out_len);

/* Open one TLSCiphertext in place. hdr is its 5-byte header (the AAD), p/len its
 * encrypted_record. On success the inner plaintext is at p[0 .. *plain_len), its real content
 * type in *content_type (zero padding removed), and the sequence number advances.
 * TLS_E_DECRYPT when authentication fails or the plaintext holds no content type. */
int tls_crypt13_open(struct tls_crypt13 *c, const uint8_t hdr[5], uint8_t *p, size_t len,
                     uint8_t *content_type, size_t *plain_len);

/* Signature matching struct tls_record_opener (record.h). */
int tls_crypt13_open_cb(void *c, const uint8_t hdr[5], uint8_t *p, size_t len,
                        uint8_t *content_type, size_t *plain_len);

#endif
