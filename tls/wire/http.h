/* The head of an HTTP/1.x response (RFC 9112 4 and 5), as much as the probe reports of it: the
 * status line and the Server field. Pure: views into the input, no allocation; the input is
 * whatever the server sent after the request, so nothing in it is trusted. */
#ifndef TLS_HTTP_H
#define TLS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of a response head the probe reads at most; a longer head is reported as cut. */
#define TLS_HTTP_HEAD_MAX (16 * 1024)

struct tls_http_head {
    bool have_status;    /* the status line is complete */
    bool complete;       /* the empty line that ends the head was seen */
    int status;          /* 100 .. 999 */
    const uint8_t *line; /* the status line without its line ending */
    size_t line_len;
    const uint8_t *reason; /* reason phrase (may be empty) */
    size_t reason_len;
    const uint8_t *server; /* value of the first Server field, trimmed; NULL when absent */
    size_t server_len;
};

/* Read the head from the first len bytes received, past interim 1xx heads (not 101). Returns 0
 * with *out filled as far as the bytes go (have_status false: the first line is not complete
 * yet), or TLS_E_HTTP when the first line is complete but not "HTTP/1.x NNN ...". Field lines
 * without a colon are skipped. Lines end in CRLF or a bare LF (RFC 9112 2.2). */
int tls_http_head_parse(struct tls_http_head *out, const uint8_t *p, size_t len);

#endif
