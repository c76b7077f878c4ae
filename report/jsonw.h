/* A growable output buffer with JSON encoding (RFC 8259) for the renderers: strings are escaped
 * and checked for UTF-8 (invalid bytes become U+FFFD), so any text from a server or an input
 * file yields valid JSON. Allocation failure is sticky and reported once at the end. */
#ifndef REPORT_JSONW_H
#define REPORT_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct report_buf {
    char *p;
    size_t len, cap;
    bool failed; /* an allocation failed: the content is incomplete */
};

void report_buf_free(struct report_buf *b);
void report_buf_put(struct report_buf *b, const char *s, size_t n);
void report_buf_puts(struct report_buf *b, const char *s);
/* A record's name for people: its target, and " (STARTTLS smtp)" when a protocol was spoken
 * before the TLS bytes (starttls not NULL), so that smtp://mx:25 and mx:25 read apart. */
void report_buf_label(struct report_buf *b, const char *target, const char *starttls);
/* s (NULL: nothing) as text for a terminal: tls_escape_step of tls/wire/escape.h, so that no
 * byte from outside reaches it raw. */
void report_buf_term(struct report_buf *b, const char *s);
/* A JSON string, quotes included; NULL writes null. */
void report_buf_json_str(struct report_buf *b, const char *s);
void report_buf_json_u64(struct report_buf *b, uint64_t v);
void report_buf_json_i64(struct report_buf *b, int64_t v);
/* "key": */
void report_buf_json_key(struct report_buf *b, const char *key);

#endif
