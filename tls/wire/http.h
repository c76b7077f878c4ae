/* The head of an HTTP/1.x response (RFC 9112 4 and 5), as much as the probe reports of it: the
 * status line and the Server field; and the head of a request with its query parameters, as much
 * as the exporter (caprobe exporter) serves. Pure: views into the input, no allocation; the
 * input is whatever a peer sent, so nothing in it is trusted. */
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

/* ---- requests (the exporter) ---------------------------------------------------------------- */

/* Field lines of a request head at most; more is TLS_E_LIMIT. */
#define TLS_HTTP_REQUEST_FIELDS_MAX 64

struct tls_http_request {
    bool complete;   /* the empty line that ends the head was seen */
    size_t head_len; /* with complete: the head's bytes, its empty line included */
    const uint8_t *method, *target, *path, *query;
    size_t method_len, target_len, path_len, query_len; /* query: after '?', 0 without one */
    int minor;                                          /* HTTP/1.minor */
    size_t n_fields;
    const uint8_t *fields; /* the field lines, for tls_http_request_field */
    size_t fields_len;
};

/* Read a request head from the first len bytes received. Returns 0 with *out (complete false:
 * the head goes on; the caller bounds its size), TLS_E_HTTP when what came is not a request head
 * (RFC 9112 3: method SP origin-form SP HTTP/1.x, then field lines name ":" value, no line
 * folding, no control characters but tab), or TLS_E_LIMIT with more than
 * TLS_HTTP_REQUEST_FIELDS_MAX field lines. Lines end in CRLF or a bare LF. */
int tls_http_request_parse(struct tls_http_request *out, const uint8_t *p, size_t len);

/* The value of the first field named name (case-insensitive), trimmed: true with *v and *n. */
bool tls_http_request_field(const struct tls_http_request *r, const char *name, const uint8_t **v,
                            size_t *n);

/* Whether the Accept field (RFC 9110 12.5.1) lists media_type ("type/subtype", any case) with a
 * weight above 0. No Accept field: false. */
bool tls_http_request_accepts(const struct tls_http_request *r, const char *media_type);

/* One parameter of a query, as sent: views of its key and its value, not decoded. */
struct tls_http_param {
    const uint8_t *key, *val;
    size_t key_len, val_len;
};

/* The next parameter of a query (application/x-www-form-urlencoded: KEY=VALUE separated by '&')
 * from *q up to end, as views: returns 1 with *out, or 0 after the last. An empty parameter
 * ("a&&b") is skipped; one without '=' has an empty value. Nothing is decoded here, so that a
 * reader decodes only the parameters it takes and passes over the others whatever their length
 * or bytes. */
int tls_http_query_next(const uint8_t **q, const uint8_t *end, struct tls_http_param *out);

/* s/n decoded ('+' a space, %XX a byte) into dst/cap as a C string: 0, TLS_E_HTTP for a
 * malformed %-escape or a decoded control character or NUL (no parameter the exporter takes has
 * one), or TLS_E_SPACE when it would not fit. */
int tls_http_form_decode(char *dst, size_t cap, const uint8_t *s, size_t n);

#endif
