/* Text that came from outside (a server's names, target lines, replies) made safe for a
 * terminal: valid UTF-8 is kept, C0 and C1 controls, DEL and invalid bytes become \xNN, so no
 * escape sequence gets through (U+009B is CSI to some terminals); characters that change how the
 * text around them reads without being seen become \uXXXX (\UXXXXXXXX above the BMP): the
 * bidirectional controls that reorder a line (U+061C, U+200E, U+200F, U+202A to U+202E,
 * U+2066 to U+2069: "Trojan Source", CVE-2021-42574), zero-width and invisible characters
 * (U+00AD, U+180E, U+200B to U+200D, U+2060 to U+2065, U+206A to U+206F, U+FEFF, U+FFF9 to
 * U+FFFB, the tags U+E0000 to U+E007F) and the line and paragraph separators U+2028, U+2029.
 * The one copy for every module. */
#ifndef TLS_WIRE_ESCAPE_H
#define TLS_WIRE_ESCAPE_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

enum tls_escape_flags {
    TLS_ESCAPE_ASCII = 1, /* non-ASCII as \xNN too (host names, which IDNA makes ASCII) */
};

/* The longest output of one step: "\xNN", "\uXXXX", "\UXXXXXXXX" or a 4-byte character. */
#define TLS_ESCAPE_UNIT_MAX 10

/* Whether code point cp must not reach a terminal raw: a C1 control or a character of the list
 * above that reorders or hides text. The JSON writer escapes the same ones (as \uXXXX, which
 * leaves the data as it was). */
bool tls_escape_hidden(uint32_t cp);

/* One step over p/n (n > 0): writes what to show into out (*out_len bytes, not terminated) and
 * returns the input bytes it consumed (at least 1). */
size_t tls_escape_step(const uint8_t *p, size_t n, unsigned flags, char out[TLS_ESCAPE_UNIT_MAX],
                       size_t *out_len);

/* All of s (NULL: "") into dst/cap, NUL-terminated; output that does not fit is cut at a whole
 * step. Returns dst. */
char *tls_escape_term(char *dst, size_t cap, const char *s, unsigned flags);
/* The same for n bytes that may hold NUL (a server's reply). Returns dst. */
char *tls_escape_bytes(char *dst, size_t cap, const uint8_t *p, size_t n, unsigned flags);

#endif
