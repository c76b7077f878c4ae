/* The server's records after its first TLS 1.2 flight, followed through a renegotiation
 * (RFC 5246 7.4.1.1): its ChangeCipherSpec, then records protected under the session's keys
 * (opened with crypt12 from the master secret mbedTLS exports), a HelloRequest, and the second
 * handshake's flight up to its ServerHelloDone, which is captured like a first flight. Read
 * only: mbedTLS reads the same bytes and does the protocol. */
#ifndef TLS_RENEGO_H
#define TLS_RENEGO_H

#include "side.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "crypt12.h"
#include "wire/record.h"

struct tls_crypt12;

struct tls_renego {
    struct tls_reader rd;
    struct tls_crypt12 *crypt;
    struct tls_capture cap; /* the renegotiation's flight, from its ServerHello */
    uint16_t suite;
    bool etm;
    uint8_t master[48], client_random[32], server_random[32];
    mbedtls_tls_prf_types prf;
    bool have_keys;
    bool wait_keys;     /* the server's ChangeCipherSpec came before mbedTLS derived the keys:
                         * the records after it wait in the reader */
    bool hello_request; /* the server asked to renegotiate */
    bool started;       /* the second ServerHello came: cap holds that flight */
    bool stopped;       /* nothing more is read: cap failed, or the stream failed (err) */
    int err;            /* TLS_E_* the stream failed with before a renegotiation started */
    bool has_alert;     /* the last alert outside the renegotiation flight (before it, or
                         * after its ServerHelloDone) */
    uint8_t alert_level, alert_desc;
};

/* suite and etm come from the first ServerHello; limit caps the bytes read, as the capture's. */
void tls_renego_init(struct tls_renego *r, uint16_t suite, bool etm, size_t limit);
void tls_renego_free(struct tls_renego *r);

/* The first handshake's secrets (MBEDTLS_SSL_KEY_EXPORT_TLS12_MASTER_SECRET) and the PRF type
 * the export passed with them; later calls (a renegotiation exports its own) are ignored.
 * Records that waited for them are read now. */
void tls_renego_set_keys(struct tls_renego *r, mbedtls_tls_prf_types prf, const uint8_t master[48],
                         const uint8_t client_random[32], const uint8_t server_random[32]);

/* Bytes the server sent after its first flight. */
void tls_renego_feed(struct tls_renego *r, const uint8_t *p, size_t n);

/* The stream ended (EOF, or the probe gives up): a running renegotiation capture fails. */
void tls_renego_end(struct tls_renego *r, int err);

#endif
