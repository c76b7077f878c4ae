/* A growable output buffer for the renderers, with the encodings of text from outside: JSON
 * (RFC 8259: strings are escaped and checked for UTF-8, invalid bytes become U+FFFD, so any text
 * from a server or an input file yields valid JSON), a terminal's, and markup (XML 1.0 and HTML
 * alike). Allocation failure is sticky and reported once at the end. */
#ifndef REPORT_JSONW_H
#define REPORT_JSONW_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct report_buf {
    char *p;
    size_t len, cap;
    bool failed; /* an allocation failed: the content is incomplete */
};

void report_buf_free(struct report_buf *b);
void report_buf_put(struct report_buf *b, const char *s, size_t n);
void report_buf_puts(struct report_buf *b, const char *s);
/* printf into b, any length: for caprobe's own words (text from outside is never a format, and
 * goes through one of the encodings below). */
void report_buf_printf(struct report_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void report_buf_vprintf(struct report_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* b's content to f, then b emptied (a failed one freed, to start over): a renderer writes a
 * part (a target) at a time, so that memory stays one part's. 0, TLS_E_NOMEM when an
 * allocation failed, or TLS_E_IO. */
int report_buf_flush(struct report_buf *b, FILE *f);
/* A record's name for people: its target, and " (STARTTLS smtp)" when a protocol was spoken
 * before the TLS bytes (starttls not NULL), so that smtp://mx:25 and mx:25 read apart. */
void report_buf_label(struct report_buf *b, const char *target, const char *starttls);
/* s (NULL: nothing) as text for a terminal: tls_escape_step of tls/wire/escape.h, so that no
 * byte from outside reaches it raw. */
void report_buf_term(struct report_buf *b, const char *s);
/* Markup (JUnit's XML, the HTML report): the one escaper of text from outside for both. */
enum report_markup_flags {
    REPORT_MARKUP_ATTR = 1,  /* an attribute value in double quotes (else character data) */
    REPORT_MARKUP_BYTES = 2, /* show what is no character as \xNN, as a terminal does */
};
/* s (NULL: nothing) as character data or (REPORT_MARKUP_ATTR) a double-quoted attribute value of
 * XML 1.0 or HTML: & < > " ' always as entities, so that nothing from outside opens or closes an
 * element, an attribute, a comment or a CDATA section, or starts an entity of its own. What is no
 * character of either: C0 controls, bytes that are not UTF-8, U+FFFE and U+FFFF; without
 * REPORT_MARKUP_BYTES each becomes U+FFFD, but tab, LF and CR are kept (as character references
 * in an attribute, so that attribute-value normalisation keeps them, and CR in text too); with
 * it (the HTML report), every byte that tls_escape_step shows as \xNN (C0 and C1 controls,
 * DEL, invalid UTF-8) and each byte of U+FFFE and U+FFFF is written as \xNN, so the text reads
 * as the terminal report's. Valid UTF-8 (U+2028 too) is kept as it is. */
void report_buf_markup(struct report_buf *b, const char *s, unsigned flags);
/* A JSON string, quotes included; NULL writes null. */
void report_buf_json_str(struct report_buf *b, const char *s);
void report_buf_json_u64(struct report_buf *b, uint64_t v);
void report_buf_json_i64(struct report_buf *b, int64_t v);
/* "key": */
void report_buf_json_key(struct report_buf *b, const char *key);

#endif
