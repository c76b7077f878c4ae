/* The capture: follows the server's first flight through the record reader and keeps what the
 * probe came for (ServerHello facts, the CertificateRequest, the server certificate, an alert).
 * It is fed every byte the server sends, whatever mbedTLS makes of them. */
#ifndef TLS_CAPTURE_H
#define TLS_CAPTURE_H

#include "side.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/handshake.h"
#include "wire/record.h"

enum tls_capture_status {
    TLS_CAPTURE_RUNNING,
    TLS_CAPTURE_DONE,   /* the flight is complete: the result is final */
    TLS_CAPTURE_FAILED, /* err says why; what was captured so far stays readable */
};

struct tls_crypt13;

/* The owner of a ClientHello that caprobe wrote itself (keyex13.h), told of each ServerHello and
 * HelloRetryRequest before the capture reads on: body is the message without its 4-byte header.
 * It returns 0 or TLS_E_* (which fails the capture), and after a TLS 1.3 ServerHello may put the
 * server handshake traffic secret in secret (cap bytes) with its length in *secret_len. */
typedef int (*tls_capture_hello_fn)(void *ctx, const struct tls_server_hello *sh,
                                    const uint8_t *body, size_t len, uint8_t *secret, size_t cap,
                                    size_t *secret_len);

struct tls_capture {
    struct tls_reader rd;
    struct tls_crypt13 *crypt;
    enum tls_capture_status status;
    int err; /* TLS_E_* when FAILED */
    bool have_hello;
    unsigned hello_retries;
    uint16_t offered_min, offered_max; /* the versions the ClientHello offered */
    uint16_t version; /* negotiated, from ServerHello (also one outside offered_min..max: the
                       * capture then failed with TLS_E_VERSION) */
    uint16_t cipher_suite;
    bool encrypt_then_mac; /* TLS 1.2: the ServerHello agreed to RFC 7366 */
    uint8_t secret[64];    /* TLS 1.3 server handshake traffic secret */
    size_t secret_len;
    /* What was captured; heap copies owned by the capture. */
    uint8_t *certreq; /* CertificateRequest body */
    size_t certreq_len;
    bool has_certreq;
    uint8_t *cert; /* end-entity certificate DER */
    size_t cert_len;
    size_t cert_count;
    bool has_alert;
    uint8_t alert_level, alert_desc;
    uint8_t last_msg; /* type of the last handshake message read */
    /* err is TLS_E_UNEXPECTED because of a handshake message of type out_of_turn, refused for
     * its type alone (a ServerHello was expected, or the type has no place in the flight of the
     * version chosen); judged on its header, before its body came */
    bool refused_msg;
    uint8_t out_of_turn;
    tls_capture_hello_fn on_hello; /* NULL: the secret comes from tls_capture_set_secret */
    void *on_hello_ctx;
};

/* A capture that takes a ServerHello of TLS 1.0 to 1.3; tls_capture_offer narrows it. */
void tls_capture_init(struct tls_capture *c, size_t limit);
/* The versions the ClientHello offered, min to max (0x0301 .. 0x0304): a ServerHello above max
 * (or below TLS 1.0) fails the capture with TLS_E_VERSION; one below min is read all the same,
 * whatever the client makes of it. */
void tls_capture_offer(struct tls_capture *c, uint16_t min, uint16_t max);
void tls_capture_free(struct tls_capture *c);

/* Feed bytes received from the server; returns the status afterwards. */
enum tls_capture_status tls_capture_feed(struct tls_capture *c, const uint8_t *p, size_t n);

/* The server handshake traffic secret exported by mbedTLS (TLS 1.3). Records waiting for it are
 * read at once; returns the status afterwards. */
enum tls_capture_status tls_capture_set_secret(struct tls_capture *c, const uint8_t *secret,
                                               size_t len);

/* True while protected records wait for a secret that has not come. */
bool tls_capture_waiting_keys(const struct tls_capture *c);

/* The server closed the connection: a running capture fails with TLS_E_TRUNCATED. */
enum tls_capture_status tls_capture_eof(struct tls_capture *c);

/* Fail a running capture with err (a deadline, an mbedTLS failure that stops the flight). */
void tls_capture_fail(struct tls_capture *c, int err);

#endif
