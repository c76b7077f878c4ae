/* caprobe's own side of a TLS 1.3 handshake, as far as the server handshake traffic secret
 * (RFC 8446 7.1): writes the ClientHello of wire/hello13.h with a key share, answers one
 * HelloRetryRequest, and from the ServerHello computes the secret that opens the server's
 * encrypted flight. It never verifies the server and never sends anything after its hello: a
 * probe that only reads the flight needs nothing more, and mbedTLS's own client would offer too
 * few signature schemes (docs/design.md, "TLS 1.3 without mbedTLS's ClientHello"). */
#ifndef TLS_KEYEX13_H
#define TLS_KEYEX13_H

#include "side.h"

#include <stddef.h>
#include <stdint.h>

#include "wire/handshake.h"

struct tls_keyex13;

/* sni: NULL for no server_name extension; copied. */
int tls_keyex13_new(struct tls_keyex13 **out, const char *sni);
void tls_keyex13_free(struct tls_keyex13 *k);

/* The ClientHello to send now, as TLS records in a heap buffer *out that the caller frees: the
 * first one, or after a HelloRetryRequest the second (same random and session id, the group the
 * server asked for, its cookie). */
int tls_keyex13_client_hello(struct tls_keyex13 *k, uint8_t **out, size_t *len);

/* The server's ServerHello or HelloRetryRequest: sh parsed from body (the message without its
 * 4-byte header). After a TLS 1.3 ServerHello *secret_len is set and secret holds the server
 * handshake traffic secret; after a HelloRetryRequest *secret_len is 0 and a new ClientHello is
 * due. A ServerHello of another version is left to the caller (*secret_len 0). TLS_E_UNEXPECTED
 * when the server picks what was not offered (RFC 8446 4.1.3, 4.1.4). */
int tls_keyex13_server_hello(struct tls_keyex13 *k, const struct tls_server_hello *sh,
                             const uint8_t *body, size_t len, uint8_t *secret, size_t cap,
                             size_t *secret_len);

/* The raw mbedTLS code behind the last TLS_E_MBEDTLS (mbedtls_err.h gives its text), 0 if none. */
int tls_keyex13_raw_error(const struct tls_keyex13 *k);

/* The version of the libsodium that computes X25519, as it says at run time ("1.0.18"). */
const char *tls_keyex13_sodium_version(void);

/* The two steps of tls_keyex13_client_hello, for tests that replay a recorded handshake
 * (RFC 8448): a key share for the next ClientHello, with the private key priv (NULL: a fresh
 * one); and the ClientHello message as sent (header included), for the transcript. */
int tls_keyex13_add_share(struct tls_keyex13 *k, uint16_t group, const uint8_t *priv,
                          size_t priv_len);
int tls_keyex13_sent(struct tls_keyex13 *k, const uint8_t *msg, size_t len);

#endif
