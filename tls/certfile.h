/* Certificates from files (--expect-ca, --client-cert, --public-roots, policies): PEM bundles or
 * one DER certificate, read by our own DER reader (tls/wire/cert.h: any key algorithm, Ed25519
 * and Ed448 too). Every certificate keeps where it came from (FILE:LINE) for messages; a file
 * that holds no usable certificate is an error naming it. */
#ifndef TLS_CERTFILE_H
#define TLS_CERTFILE_H

#include "side.h"

#include <stddef.h>
#include <stdint.h>

#include "wire/arena.h"
#include "wire/cert.h"

struct tls_cert_entry {
    const uint8_t *der;
    size_t der_len;
    const uint8_t *subject, *issuer; /* DER views into der */
    size_t subject_len, issuer_len;
    const char *subject_text, *issuer_text; /* RFC 4514 */
    struct tls_cert_time not_before, not_after;
    const char *where; /* "FILE:LINE" of its BEGIN line, or "FILE" */
};

struct tls_certfile {
    struct tls_cert_entry *v;
    size_t n, cap;
    size_t skipped; /* PEM blocks that are not certificates mbedTLS can decode */
    struct tls_arena arena;
};

void tls_certfile_init(struct tls_certfile *f);
void tls_certfile_free(struct tls_certfile *f);

/* Append the certificates of path. On failure returns TLS_E_IO (unreadable), TLS_E_DER (no
 * certificate in it, or a broken one) or TLS_E_NOMEM, with a message naming the file (and the
 * line of the bad block) in err. Files larger than 64 MiB are refused. */
int tls_certfile_load(struct tls_certfile *f, const char *path, char *err, size_t err_cap);

/* The whole of the file path (at most 64 MiB), NUL-terminated past *len (PEM parsers count the
 * NUL), into *data to free. Returns 0, TLS_E_IO or TLS_E_NOMEM with a message naming path. Fit
 * for a private key: no copy of the file is left in memory but *data, which the caller wipes. */
int tls_certfile_read(const char *path, uint8_t **data, size_t *len, char *err, size_t err_cap);

#endif
