/* Renegotiation follower for TLS 1.2.
 *
 *   PLAIN --CCS (keys known)--> PROTECTED --Finished--> PROTECTED
 *   PLAIN --CCS (no keys yet)--> WAIT_KEYS --keys--> PROTECTED
 *   PROTECTED --HelloRequest--> PROTECTED (hello_request) --ServerHello--> STARTED
 *   STARTED --each message and alert, re-framed as plaintext records--> cap
 *   cap DONE --alert--> has_alert (how the server ended the second handshake)
 *   cap FAILED, or any stream error --> stopped
 *
 * PLAIN: before the server's ChangeCipherSpec only a NewSessionTicket or an alert may come.
 * The renegotiation's own flight is protected under the first keys; the capture is complete at
 * its ServerHelloDone. After that only an alert matters (a server that required a certificate
 * ends the handshake with one); the renegotiation's ChangeCipherSpec, protected too, ends the
 * reading (the reader cannot tell it from a malformed one), which changes nothing captured. A
 * second renegotiation is not followed. */
#include "renego.h"

#include <string.h>

#include "crypt12.h"
#include "wire/error.h"
#include "wire/handshake.h"

void tls_renego_init(struct tls_renego *r, uint16_t suite, bool etm, size_t limit)
{
    memset(r, 0, sizeof(*r));
    tls_reader_init(&r->rd, limit);
    tls_capture_init(&r->cap, limit);
    r->suite = suite;
    r->etm = etm;
}

void tls_renego_free(struct tls_renego *r)
{
    if (r == NULL)
        return;
    tls_reader_free(&r->rd);
    tls_capture_free(&r->cap);
    tls_crypt12_free(r->crypt);
    r->crypt = NULL;
    memset(r->master, 0, sizeof(r->master));
}

static int on_ccs(struct tls_renego *r);

void tls_renego_set_keys(struct tls_renego *r, mbedtls_tls_prf_types prf, const uint8_t master[48],
                         const uint8_t client_random[32], const uint8_t server_random[32])
{
    if (r->have_keys)
        return;
    r->prf = prf;
    memcpy(r->master, master, 48);
    memcpy(r->client_random, client_random, 32);
    memcpy(r->server_random, server_random, 32);
    r->have_keys = true;
    if (r->wait_keys && !r->stopped) {
        r->wait_keys = false;
        int rc = on_ccs(r);
        if (rc)
            tls_renego_end(r, rc);
        else
            tls_renego_feed(r, NULL, 0);
    }
}

static void stop(struct tls_renego *r, int err)
{
    if (r->started)
        tls_capture_fail(&r->cap, err);
    else if (!r->err)
        r->err = err;
    r->stopped = true;
}

/* Hand one plaintext record of type ct to the renegotiation capture. */
static void cap_record(struct tls_renego *r, uint8_t ct, const uint8_t *a, size_t a_len,
                       const uint8_t *b, size_t b_len)
{
    size_t n = a_len + b_len;
    uint8_t hdr[5] = {ct, 3, 3, (uint8_t)(n >> 8), (uint8_t)n};
    tls_capture_feed(&r->cap, hdr, sizeof(hdr));
    if (a_len)
        tls_capture_feed(&r->cap, a, a_len);
    if (b_len)
        tls_capture_feed(&r->cap, b, b_len);
}

/* One whole handshake message to the capture, re-framed in records of at most 2^14 bytes. */
static void cap_message(struct tls_renego *r, uint8_t type, const uint8_t *body, size_t len)
{
    uint8_t h[4] = {type, (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    size_t first = len < 16384 - 4 ? len : 16384 - 4;
    cap_record(r, TLS_CT_HANDSHAKE, h, 4, body, first);
    for (size_t off = first; off < len && r->cap.status == TLS_CAPTURE_RUNNING;) {
        size_t m = len - off < 16384 ? len - off : 16384;
        cap_record(r, TLS_CT_HANDSHAKE, NULL, 0, body + off, m);
        off += m;
    }
}

static int on_ccs(struct tls_renego *r)
{
    if (r->crypt)
        return TLS_E_UNEXPECTED; /* the next one is protected: the reader cannot see it */
    if (!r->have_keys) {
        r->wait_keys = true; /* mbedTLS has not read the flight yet: wait for its export */
        return 0;
    }
    int rc =
        tls_crypt12_new(&r->crypt, r->suite, r->prf, r->master, r->client_random, r->server_random);
    if (rc == 0)
        rc = tls_crypt12_set_etm(r->crypt, r->etm);
    if (rc)
        return rc;
    tls_reader_set_opener(&r->rd, tls_crypt12_open_cb, r->crypt, true);
    return 0;
}

static int on_handshake(struct tls_renego *r, const struct tls_event *ev)
{
    if (!ev->protected_)
        /* RFC 5077 3.3: a NewSessionTicket comes just before the ChangeCipherSpec */
        return ev->msg_type == TLS_HS_NEW_SESSION_TICKET ? 0 : TLS_E_UNEXPECTED;
    if (r->started) {
        cap_message(r, ev->msg_type, ev->body, ev->len);
        return 0;
    }
    switch (ev->msg_type) {
    case TLS_HS_FINISHED:
        return 0;
    case TLS_HS_HELLO_REQUEST:
        /* RFC 5246 7.4.1.1: HelloRequest is empty */
        if (ev->len)
            return TLS_E_TRAILING;
        r->hello_request = true;
        return 0;
    case TLS_HS_SERVER_HELLO:
        /* a server may start the second handshake from our ClientHello alone (the client
         * renegotiated), and some skip the HelloRequest */
        r->started = true;
        cap_message(r, ev->msg_type, ev->body, ev->len);
        return 0;
    default:
        return TLS_E_UNEXPECTED;
    }
}

void tls_renego_feed(struct tls_renego *r, const uint8_t *p, size_t n)
{
    if (r->stopped)
        return;
    /* Read what the limit lets in first: a second flight complete within it still counts. */
    size_t room = r->rd.limit - r->rd.fed;
    bool over = n > room;
    int rc = n ? tls_reader_feed(&r->rd, p, over ? room : n) : 0;
    while (rc == 0 && !r->stopped && !r->wait_keys) {
        struct tls_event ev;
        if ((rc = tls_reader_next(&r->rd, &ev)))
            break;
        switch (ev.kind) {
        case TLS_EV_NEED_MORE:
            goto wait;
        case TLS_EV_NEED_KEYS:
            rc = TLS_E_UNEXPECTED; /* a protected record before the ChangeCipherSpec */
            break;
        case TLS_EV_CCS:
            rc = on_ccs(r);
            break;
        case TLS_EV_HANDSHAKE:
            rc = on_handshake(r, &ev);
            break;
        case TLS_EV_ALERT:
            if (r->started && r->cap.status == TLS_CAPTURE_RUNNING) {
                uint8_t a[2] = {ev.alert_level, ev.alert_desc};
                cap_record(r, TLS_CT_ALERT, a, 2, NULL, 0);
            } else {
                r->has_alert = true;
                r->alert_level = ev.alert_level;
                r->alert_desc = ev.alert_desc;
                if (ev.alert_level != 1 || ev.alert_desc == 0)
                    r->stopped = true; /* fatal or close_notify: no renegotiation follows */
            }
            break;
        case TLS_EV_APPDATA:
            break; /* the response: mbedTLS reads it */
        }
        if (r->started && r->cap.status == TLS_CAPTURE_FAILED)
            r->stopped = true;
    }
wait:
    if (rc == 0 && over && !r->stopped && !(r->started && r->cap.status == TLS_CAPTURE_DONE))
        rc = TLS_E_LIMIT;
    if (rc)
        stop(r, rc);
}

void tls_renego_end(struct tls_renego *r, int err)
{
    if (r->started)
        tls_capture_fail(&r->cap, err);
    else if (r->wait_keys && !r->err)
        r->err = TLS_E_MBEDTLS; /* mbedTLS never derived the keys: nothing to open with */
    r->stopped = true;
}
