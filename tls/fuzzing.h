/* Null record protection for fuzzing, as BoringSSL (BORINGSSL_UNSAFE_FUZZER_MODE) and NSS
 * (UNSAFE_FUZZER_MODE) have it. Built with CAPROBE_FUZZING_NULL_CIPHER, tls/crypt13.c and
 * tls/crypt12.c take the protected part of a record as its plaintext and check no tag and no MAC,
 * so the mutations a fuzzer makes to an encrypted flight reach the code after the decryption
 * (handshake reassembly, the CertificateRequest and DN parsers) instead of dying at the AEAD.
 * The record format is unchanged: explicit nonce, CBC IV and padding, tag and MAC keep their
 * places and lengths (tags and MACs zero-filled by convention); tests/fuzz/nullseal.py turns real
 * flights into such records and back.
 *
 * Never in caprobe: only the tls_fuzz library of tls/meson.build defines it, for the libFuzzer
 * programs of the decrypting fuzz targets, and together with
 * FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION (the macro libFuzzer and OSS-Fuzz builds define);
 * meson.build refuses any build whose own flags (CFLAGS, -Dc_args) define either. */
#ifndef TLS_FUZZING_H
#define TLS_FUZZING_H

#ifdef CAPROBE_FUZZING_NULL_CIPHER
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#error "CAPROBE_FUZZING_NULL_CIPHER opens records without a key: fuzzing builds only"
#endif
#define TLS_FUZZING_NULL_CIPHER 1
#else
#define TLS_FUZZING_NULL_CIPHER 0
#endif

#endif
