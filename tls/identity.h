/* --client-cert with --client-key (identity.c): the certificate chain and private key mbedTLS
 * presents when a server asks for a client certificate, loaded once before the scan and shared
 * read-only by every session of the run (tls_client_set_identity). */
#ifndef TLS_IDENTITY_H
#define TLS_IDENTITY_H

#include "side.h"

#include <stdbool.h>
#include <stddef.h>

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "certfile.h"

struct tls_identity {
    mbedtls_x509_crt chain; /* the client certificate first, then the rest of its file */
    mbedtls_pk_context key;
    bool password_unused; /* a passphrase was given, but the key is not encrypted */
};

/* chain: the certificates of --client-cert as certfile.c read them, the client certificate
 * first; key_path: its private key, PEM or DER (PKCS#8, PKCS#1 RSA, SEC1 EC; RSA and ECDSA on
 * the curves mbedTLS has, P-256 and P-384 among them), an encrypted one (PKCS#8 PBES2, or
 * OpenSSL's Proc-Type 4,ENCRYPTED) with the passphrase on the first line of password_path
 * (NULL: none). Returns 0 with *out, or with a message in err naming the file (the caller names
 * the option): TLS_E_IO (a file cannot be read), TLS_E_UNSUPPORTED (a key or certificate that
 * mbedTLS 3.6 cannot sign or send with: Ed25519, Ed448), TLS_E_DER (no private key in the file,
 * an encrypted key without or with the wrong passphrase, the key of another certificate, a
 * certificate mbedTLS cannot decode) or TLS_E_NOMEM. The key's bytes are wiped from memory
 * once parsed. */
int tls_identity_load(struct tls_identity **out, const struct tls_certfile *chain,
                      const char *key_path, const char *password_path, char *err, size_t cap);
void tls_identity_free(struct tls_identity *id);

#endif
