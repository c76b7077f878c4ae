/* --request after the handshake (exchange.h): the request written through mbedTLS, the response
 * head read up to TLS_HTTP_HEAD_MAX, the records after the first TLS 1.2 flight followed by
 * tls/renego.c. It never touches the network or the session's buffers: the session hands it
 * mbedTLS's context and the bytes, and drops mbedTLS when this returns an error. */
#include "exchange.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/ssl.h>

#include "capture.h"
#include "renego.h"
#include "wire/error.h"
#include "wire/http.h"

struct tls_exchange {
    uint8_t *request;
    size_t request_len, request_off;
    bool over, peer_closed;
    uint8_t *resp; /* the response's first bytes, TLS_HTTP_HEAD_MAX at most */
    size_t resp_len;
    struct tls_renego *renego;
    unsigned tls12_exports; /* TLS 1.2 master secrets mbedTLS derived: 2 means a renegotiation */
};

int tls_exchange_new(struct tls_exchange **out, const uint8_t *request, size_t request_len)
{
    *out = NULL;
    struct tls_exchange *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return TLS_E_NOMEM;
    x->request = malloc(request_len ? request_len : 1);
    if (x->request == NULL) {
        free(x);
        return TLS_E_NOMEM;
    }
    memcpy(x->request, request, request_len);
    x->request_len = request_len;
    *out = x;
    return 0;
}

void tls_exchange_free(struct tls_exchange *x)
{
    if (x == NULL)
        return;
    if (x->renego) {
        tls_renego_free(x->renego);
        free(x->renego);
    }
    free(x->request);
    free(x->resp);
    free(x);
}

/* Read the response as far as the input allows. */
static int read_response(struct tls_exchange *x, mbedtls_ssl_context *ssl)
{
    if (x->resp == NULL && (x->resp = malloc(TLS_HTTP_HEAD_MAX)) == NULL)
        return MBEDTLS_ERR_SSL_ALLOC_FAILED;
    for (;;) {
        uint8_t *dst = x->resp + x->resp_len;
        size_t room = TLS_HTTP_HEAD_MAX - x->resp_len;
        int n = mbedtls_ssl_read(ssl, dst, room);
        if (n > 0) {
            x->resp_len += (size_t)n;
            struct tls_http_head head;
            int rc = tls_http_head_parse(&head, x->resp, x->resp_len);
            if (rc || head.complete || x->resp_len == TLS_HTTP_HEAD_MAX) {
                x->over = true; /* all the probe reports is there */
                return 0;
            }
            continue;
        }
        if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
            return 0;
        if (n == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
            continue; /* TLS 1.3 tickets: not needed */
        if (n == 0 || n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
            x->peer_closed = true;
            x->over = true;
            return 0;
        }
        return n;
    }
}

int tls_exchange_drive(struct tls_exchange *x, struct mbedtls_ssl_context *ssl)
{
    if (x->over)
        return 0;
    while (x->request_off < x->request_len) {
        int n =
            mbedtls_ssl_write(ssl, x->request + x->request_off, x->request_len - x->request_off);
        if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
            return 0;
        if (n < 0)
            return n;
        x->request_off += (size_t)n;
    }
    return read_response(x, ssl);
}

bool tls_exchange_over(const struct tls_exchange *x)
{
    return x->over;
}

void tls_exchange_stop(struct tls_exchange *x)
{
    x->over = true;
}

int tls_exchange_follow(struct tls_exchange *x, const struct tls_capture *cap, size_t limit)
{
    if (x->renego || cap->status != TLS_CAPTURE_DONE || cap->version != 0x0303)
        return 0;
    x->renego = malloc(sizeof(*x->renego));
    if (x->renego == NULL)
        return TLS_E_NOMEM;
    tls_renego_init(x->renego, cap->cipher_suite, cap->encrypt_then_mac, limit);
    size_t raw_len;
    const uint8_t *raw = tls_reader_unread(&cap->rd, &raw_len);
    if (cap->rd.hs_off != cap->rd.hs_len)
        tls_renego_end(x->renego, TLS_E_UNEXPECTED); /* a message went on past ServerHelloDone */
    else if (raw_len)
        tls_renego_feed(x->renego, raw, raw_len);
    return 0;
}

void tls_exchange_feed(struct tls_exchange *x, const uint8_t *p, size_t n)
{
    if (x->renego)
        tls_renego_feed(x->renego, p, n);
}

void tls_exchange_keys(struct tls_exchange *x, mbedtls_tls_prf_types prf, const uint8_t *secret,
                       size_t secret_len, const uint8_t client_random[32],
                       const uint8_t server_random[32])
{
    x->tls12_exports++;
    if (x->renego && secret_len == 48)
        tls_renego_set_keys(x->renego, prf, secret, client_random, server_random);
}

void tls_exchange_eof(struct tls_exchange *x)
{
    if (x->renego)
        tls_renego_end(x->renego, TLS_E_TRUNCATED);
    if (!x->over) {
        x->peer_closed = true;
        x->over = true;
    }
}

bool tls_exchange_reading(const struct tls_exchange *x)
{
    const struct tls_renego *r = x->renego;
    return r && r->started && !r->stopped && r->cap.status == TLS_CAPTURE_RUNNING;
}

void tls_exchange_report(const struct tls_exchange *x, struct tls_exchange_result *out)
{
    out->sent = x->request_off == x->request_len;
    out->closed = x->peer_closed;
    out->response = x->resp;
    out->response_len = x->resp_len;
    const struct tls_renego *r = x->renego;
    if (r == NULL)
        return;
    out->renegotiation = r->hello_request || r->started || x->tls12_exports > 1;
    out->renego = r->started ? &r->cap : NULL;
    out->renego_err = r->err;
    out->renego_alert = r->has_alert;
    out->renego_alert_level = r->alert_level;
    out->renego_alert_desc = r->alert_desc;
}
