/* A TLS client session for one probe: mbedTLS 3.6 over memory buffers (no sockets here), with
 * every received byte also fed to the capture and the exported secrets handed to it; or, for a
 * probe of TLS 1.2 and earlier that only reads the first flight, caprobe's own ClientHello and
 * the capture alone. The owner moves bytes between the network and this session. */
#ifndef TLS_SESSION_H
#define TLS_SESSION_H

#include "side.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "exchange.h"

struct tls_client;   /* shared per run: RNG and one mbedTLS config per version */
struct tls_session;  /* one per probe */
struct tls_identity; /* identity.h */

int tls_client_new(struct tls_client **out);
void tls_client_free(struct tls_client *c);
/* --client-key: present id's certificate whenever a server asks (the first handshake of an
 * mbedTLS session, a renegotiation); id must outlive the client. */
void tls_client_set_identity(struct tls_client *c, struct tls_identity *id);

struct tls_session_opts {
    uint16_t version;       /* mbedTLS: 0x0303 or 0x0304, offered as both minimum and maximum;
                             * own_hello: 0x0301 to 0x0303, the highest of those offered */
    bool own_hello;         /* caprobe's capture-only ClientHello (tls/wire/hello.h) instead of
                             * mbedTLS's: TLS 1.0 up to version, every suite, signature algorithm
                             * and group; no mbedTLS state at all, and no request */
    const char *sni;        /* NULL: no server_name extension */
    size_t capture_limit;   /* bytes the capture may hold */
    bool keep_ssl;          /* keep mbedTLS for the whole handshake; otherwise TLS 1.2 releases
                             * it after the ClientHello, once the capture needs nothing more
                             * from it, and TLS 1.3 runs without it: keyex13.c writes the
                             * ClientHello and derives the handshake secret */
    const uint8_t *request; /* NULL, or bytes to send once the handshake is complete (an HTTP
                             * request): the session then completes the handshake, sends them,
                             * reads the response head and follows a TLS 1.2 renegotiation */
    size_t request_len;
    bool complete; /* without a request: complete the handshake when the first flight asks for
                    * a certificate (the client's identity answers it), and read the server's
                    * answer to it: TLS 1.2 its Finished; TLS 1.3 (after our close_notify) an
                    * alert, or data or its close. A flight without a
                    * CertificateRequest ends the session as without it */
};

int tls_session_new(struct tls_session **out, struct tls_client *client,
                    const struct tls_session_opts *opts);
void tls_session_free(struct tls_session *s);

/* Start the handshake: the ClientHello becomes pending output. */
int tls_session_start(struct tls_session *s);

/* Bytes received from the server: fed to the capture, then to mbedTLS. */
void tls_session_input(struct tls_session *s, const uint8_t *p, size_t n);

/* The peer closed its side. */
void tls_session_eof(struct tls_session *s);

/* Output mbedTLS wants sent: a view valid until the next call; mark it sent with consume. */
const uint8_t *tls_session_output(struct tls_session *s, size_t *len);
void tls_session_output_consume(struct tls_session *s, size_t n);

/* The capture's state; once DONE or FAILED the session needs no more input. */
const struct tls_capture *tls_session_capture(const struct tls_session *s);
enum tls_capture_status tls_session_status(const struct tls_session *s);

/* True once the session needs no more input: the capture ended and, with a request, the
 * exchange after the handshake is over too (complete: the server's answer came). */
bool tls_session_finished(const struct tls_session *s);

/* What happened after the handshake, for a session with a request or complete (exchange.h). */
void tls_session_exchange(const struct tls_session *s, struct tls_exchange_result *out);

/* The first mbedTLS error (raw negative code), 0 when none; tls_mbedtls_strerror (mbedtls_err.h)
 * gives its text. */
int tls_session_ssl_error(const struct tls_session *s);

#endif
