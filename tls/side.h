/* Included first by every header of tls/ outside tls/wire/: the mbedTLS side. Its library and
 * the modules allowed to use it (probe/, the lab, tests) are compiled with CAPROBE_MBEDTLS_SIDE
 * (tls/meson.build); report/ and tls/wire/ are not, so an include of an mbedTLS-side header
 * there stops the build here instead of linking a layer it may not see. */
#ifndef CAPROBE_MBEDTLS_SIDE
#error "an mbedTLS-side header of tls/ was included from report/ or tls/wire/: use tls/wire/ only"
#endif
