/* The one error table of caprobe: every function returns 0 or a negative code from here.
 * Foreign codes (mbedTLS, libuv) are translated where they enter and kept beside ours. */
#ifndef TLS_ERROR_H
#define TLS_ERROR_H

#define TLS_ERRORS(X)                                                                              \
    X(NOMEM, "out of memory")                                                                      \
    X(INVALID, "invalid argument")                                                                 \
    X(TRUNCATED, "message truncated")                                                              \
    X(LENGTH, "length field overruns its container")                                               \
    X(TRAILING, "trailing bytes after the message")                                                \
    X(RANGE, "length outside the range the RFC allows")                                            \
    X(LIMIT, "capture limit reached")                                                              \
    X(RECORD, "malformed TLS record")                                                              \
    X(DECRYPT, "record decryption failed")                                                         \
    X(UNSUPPORTED, "unsupported cipher suite or version")                                          \
    X(UNEXPECTED, "unexpected handshake message")                                                  \
    X(ALERT, "TLS alert received")                                                                 \
    X(DER, "malformed DER")                                                                        \
    X(SPACE, "output buffer too small")                                                            \
    X(MBEDTLS, "mbedTLS error")                                                                    \
    X(TARGET, "malformed target")                                                                  \
    X(USAGE, "usage error")                                                                        \
    X(IO, "input/output error")                                                                    \
    X(HTTP, "malformed HTTP response")                                                             \
    X(VERSION, "the server chose a TLS version that was not offered")                              \
    X(RECORD_VERSION, "a record's version differs from the version the server chose")

enum tls_err {
    TLS_E_OK = 0,
#define TLS_ERR_ENUM(name, msg) TLS_E_##name,
    TLS_E_FIRST_ = -1000,
    TLS_ERRORS(TLS_ERR_ENUM)
#undef TLS_ERR_ENUM
        TLS_E_LAST_
};

/* Short identifier ("TRUNCATED") and message for a code; unknown codes give "UNKNOWN". */
const char *tls_err_name(int err);
const char *tls_err_str(int err);

#endif
