/* TLS 1.2 record protection, read side only (RFC 5246 6.2.3 and 6.3, RFC 5288, RFC 7905, RFC 7366):
 * opens the server's protected records, for instance a renegotiation handshake, with the master
 * secret that mbedTLS exported (MBEDTLS_SSL_KEY_EXPORT_TLS12_MASTER_SECRET). Never writes records.
 */
#ifndef TLS_CRYPT12_H
#define TLS_CRYPT12_H

#include "side.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ssl.h>

struct tls_crypt12;

/* Allocate a context for cipher suite `suite` with the server's write keys taken from
 * key_block = PRF(master, "key expansion", server_random + client_random) (RFC 5246 6.3),
 * computed by mbedtls_ssl_tls_prf with prf, the PRF type mbedTLS's key-export callback passes
 * with the master secret (SHA-384 for the *_SHA384 suites, SHA-256 otherwise); sequence number
 * 0, which is that of the first record after the server's ChangeCipherSpec. Suites, by family:
 *   AES-128-GCM-SHA256        0xC02B 0xC02F 0x009E 0x009C   (RFC 5288, RFC 5289)
 *   AES-256-GCM-SHA384        0xC02C 0xC030 0x009F 0x009D
 *   CHACHA20-POLY1305-SHA256  0xCCA9 0xCCA8 0xCCAA          (RFC 7905)
 *   AES-128-CBC-SHA           0xC009 0xC013 0x002F 0x0033   (RFC 5246, RFC 4492)
 *   AES-256-CBC-SHA           0xC00A 0xC014 0x0035 0x0039
 *   AES-128-CBC-SHA256        0xC023 0xC027 0x003C 0x0067
 *   AES-256-CBC-SHA256        0x003D 0x006B
 *   AES-256-CBC-SHA384        0xC024 0xC028
 * TLS_E_UNSUPPORTED for any other suite. With RFC 7627 (extended master secret) the session hash
 * is already folded into the exported master secret: key expansion does not change. CBC suites
 * start in MAC-then-encrypt; see tls_crypt12_set_etm. */
int tls_crypt12_new(struct tls_crypt12 **out, uint16_t suite, mbedtls_tls_prf_types prf,
                    const uint8_t master[48], const uint8_t client_random[32],
                    const uint8_t server_random[32]);
void tls_crypt12_free(struct tls_crypt12 *c);

/* The suites above, in the order of the list, as mbedTLS takes them: up to cap are written to
 * out; returns how many. A client that must be able to open the server's records offers only
 * these (mbedtls_ssl_conf_ciphersuites). */
size_t tls_crypt12_suites(int *out, size_t cap);

/* RFC 7366: the session negotiated encrypt_then_mac. Only CBC suites change (an AEAD suite
 * ignores it, RFC 7366 3). Call before the first record: TLS_E_INVALID once one was opened. */
int tls_crypt12_set_etm(struct tls_crypt12 *c, bool on);

/* Open one TLSCiphertext in place. hdr is its 5-byte header, p/len its fragment. On success the
 * plaintext is at p[0 .. *plain_len), *content_type = hdr[0] (TLS 1.2 has no inner type) and the
 * sequence number advances. TLS_E_RECORD for a fragment too short or misaligned for the suite,
 * a header length that is not len, or an authentic plaintext over 2^14 octets; TLS_E_DECRYPT
 * when the tag, padding or MAC does not verify; TLS_E_LIMIT when the sequence number would wrap.
 * Once decryption has begun a failure zeroes p/len, so no unauthenticated plaintext is ever left
 * there; no failure advances the sequence number. */
int tls_crypt12_open(struct tls_crypt12 *c, const uint8_t hdr[5], uint8_t *p, size_t len,
                     uint8_t *content_type, size_t *plain_len);

/* Signature matching tls_record_open_fn (record.h). */
int tls_crypt12_open_cb(void *c, const uint8_t hdr[5], uint8_t *p, size_t len,
                        uint8_t *content_type, size_t *plain_len);

#endif
