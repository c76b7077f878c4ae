/* IANA names of TLS code points, for output and messages. Unknown values get a stable hex form. */
#ifndef TLS_NAMES_H
#define TLS_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* Each returns a static string, or NULL for an unknown value. */
const char *tls_name_sigalg(uint16_t scheme);    /* RFC 8446 4.2.3 SignatureScheme */
const char *tls_name_cert_type(uint8_t type);    /* RFC 5246 7.4.4, RFC 8422 5.5 */
const char *tls_name_alert(uint8_t description); /* RFC 8446 6, RFC 5246 7.2 */
const char *tls_name_handshake(uint8_t type);    /* RFC 8446 4 */
const char *tls_name_version(uint16_t version);  /* "1.2", "1.3", ... */

/* A ProtocolVersion in words for messages: "TLS 1.2", "SSL 3.0", "version 0x7f1c" for one without
 * a name, into buf (24 bytes hold every one). Returns buf. */
const char *tls_name_version_words(uint16_t version, char *buf, size_t cap);

/* The name of the value, or "0x%0*x" into buf (at least 8 bytes). */
const char *tls_name_or_hex(const char *name, unsigned value, int digits, char *buf, size_t cap);

#endif
