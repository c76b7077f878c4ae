/* Tables of TLS code point names (names.h). Const data only; never allocates. */
#include "names.h"

#include <stdio.h>

struct code_name {
    uint16_t code;
    const char *name;
};

static const char *lookup(const struct code_name *t, size_t n, unsigned code)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].code == code)
            return t[i].name;
    return NULL;
}

#define LOOKUP(table, code) lookup(table, sizeof(table) / sizeof(table[0]), code)

static const struct code_name sigalgs[] = {
    {0x0201, "rsa_pkcs1_sha1"},
    {0x0203, "ecdsa_sha1"},
    {0x0202, "dsa_sha1"},
    {0x0301, "rsa_pkcs1_sha224"},
    {0x0302, "dsa_sha224"},
    {0x0303, "ecdsa_sha224"},
    {0x0401, "rsa_pkcs1_sha256"},
    {0x0402, "dsa_sha256"},
    {0x0403, "ecdsa_secp256r1_sha256"},
    {0x0501, "rsa_pkcs1_sha384"},
    {0x0502, "dsa_sha384"},
    {0x0503, "ecdsa_secp384r1_sha384"},
    {0x0601, "rsa_pkcs1_sha512"},
    {0x0602, "dsa_sha512"},
    {0x0603, "ecdsa_secp521r1_sha512"},
    {0x0804, "rsa_pss_rsae_sha256"},
    {0x0805, "rsa_pss_rsae_sha384"},
    {0x0806, "rsa_pss_rsae_sha512"},
    {0x0807, "ed25519"},
    {0x0808, "ed448"},
    {0x0809, "rsa_pss_pss_sha256"},
    {0x080a, "rsa_pss_pss_sha384"},
    {0x080b, "rsa_pss_pss_sha512"},
    {0x081a, "ecdsa_brainpoolP256r1tls13_sha256"},
    {0x081b, "ecdsa_brainpoolP384r1tls13_sha384"},
    {0x081c, "ecdsa_brainpoolP512r1tls13_sha512"},
    {0x0904, "mldsa44"},
    {0x0905, "mldsa65"},
    {0x0906, "mldsa87"},
};

static const struct code_name cert_types[] = {
    {1, "rsa_sign"},         {2, "dss_sign"},          {3, "rsa_fixed_dh"},  {4, "dss_fixed_dh"},
    {5, "rsa_ephemeral_dh"}, {6, "dss_ephemeral_dh"},  {20, "fortezza_dms"}, {64, "ecdsa_sign"},
    {65, "rsa_fixed_ecdh"},  {66, "ecdsa_fixed_ecdh"},
};

static const struct code_name alerts[] = {
    {0, "close_notify"},
    {10, "unexpected_message"},
    {20, "bad_record_mac"},
    {21, "decryption_failed"},
    {22, "record_overflow"},
    {30, "decompression_failure"},
    {40, "handshake_failure"},
    {41, "no_certificate"},
    {42, "bad_certificate"},
    {43, "unsupported_certificate"},
    {44, "certificate_revoked"},
    {45, "certificate_expired"},
    {46, "certificate_unknown"},
    {47, "illegal_parameter"},
    {48, "unknown_ca"},
    {49, "access_denied"},
    {50, "decode_error"},
    {51, "decrypt_error"},
    {60, "export_restriction"},
    {70, "protocol_version"},
    {71, "insufficient_security"},
    {80, "internal_error"},
    {86, "inappropriate_fallback"},
    {90, "user_canceled"},
    {100, "no_renegotiation"},
    {109, "missing_extension"},
    {110, "unsupported_extension"},
    {111, "certificate_unobtainable"},
    {112, "unrecognized_name"},
    {113, "bad_certificate_status_response"},
    {114, "bad_certificate_hash_value"},
    {115, "unknown_psk_identity"},
    {116, "certificate_required"},
    {120, "no_application_protocol"},
};

static const struct code_name handshakes[] = {
    {0, "hello_request"},      {1, "client_hello"},         {2, "server_hello"},
    {4, "new_session_ticket"}, {5, "end_of_early_data"},    {8, "encrypted_extensions"},
    {11, "certificate"},       {12, "server_key_exchange"}, {13, "certificate_request"},
    {14, "server_hello_done"}, {15, "certificate_verify"},  {16, "client_key_exchange"},
    {20, "finished"},          {22, "certificate_status"},  {24, "key_update"},
    {254, "message_hash"},
};

static const struct code_name versions[] = {
    {0x0300, "ssl3"}, {0x0301, "1.0"}, {0x0302, "1.1"}, {0x0303, "1.2"}, {0x0304, "1.3"},
};

const char *tls_name_sigalg(uint16_t scheme)
{
    return LOOKUP(sigalgs, scheme);
}

const char *tls_name_cert_type(uint8_t type)
{
    return LOOKUP(cert_types, type);
}

const char *tls_name_alert(uint8_t description)
{
    return LOOKUP(alerts, description);
}

const char *tls_name_handshake(uint8_t type)
{
    return LOOKUP(handshakes, type);
}

const char *tls_name_version(uint16_t version)
{
    return LOOKUP(versions, version);
}

const char *tls_name_or_hex(const char *name, unsigned value, int digits, char *buf, size_t cap)
{
    if (name)
        return name;
    snprintf(buf, cap, "0x%0*x", digits, value);
    return buf;
}

const char *tls_name_version_words(uint16_t version, char *buf, size_t cap)
{
    const char *name = tls_name_version(version);
    if (name == NULL)
        snprintf(buf, cap, "version 0x%04x", version);
    else
        snprintf(buf, cap, "%s %s", version == 0x0300 ? "SSL" : "TLS",
                 version == 0x0300 ? "3.0" : name);
    return buf;
}
