/* mbedTLS 3.6 client over memory buffers, tapped: every byte received goes to the capture before
 * mbedTLS sees it, and the TLS 1.3 server handshake secret goes to the capture as mbedTLS
 * derives it. A TLS 1.3 probe without a request has no mbedTLS session at all: keyex13.c writes
 * the ClientHello and gives the capture the secret. This file does no I/O and never blocks; once
 * mbedTLS fails, its output is dropped so the server goes on sending the rest of its flight to
 * the capture. With a request, what follows the handshake is exchange.c's: this file only
 * drives mbedTLS and hands it the bytes. */
#include "session.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/ssl.h>
#include <psa/crypto.h>

#include "crypt12.h"
#include "identity.h"
#include "keyex13.h"
#include "mbedtls_err.h"
#include "wire/error.h"
#include "wire/hello.h"

/* ClientHello and our few records; more means mbedTLS is misbehaving. */
#define SESSION_OUT_MAX (64 * 1024)

struct tls_client {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ssl_config conf12, conf13;
    /* --request over TLS 1.2: only suites whose records tls/crypt12.c can open, so that a
     * renegotiation can be read */
    mbedtls_ssl_config conf12_follow;
    int follow_suites[64]; /* zero-terminated, as mbedTLS keeps a pointer to it */
};

struct tls_session {
    /* mbedTLS's client, allocated only when it runs (832 bytes here, before its 16 KiB record
     * buffers): NULL for caprobe's own ClientHello and once released */
    mbedtls_ssl_context *ssl;
    struct tls_capture cap;
    uint8_t *in; /* received bytes mbedTLS has not read: in[in_off .. in_len) */
    size_t in_off, in_len, in_alloc;
    uint8_t *out; /* bytes mbedTLS wrote and the owner has not sent */
    size_t out_len, out_alloc;
    size_t limit;
    uint16_t version;
    int ssl_err;
    bool ssl_stopped; /* mbedTLS failed or was released: it gets no more input */
    bool keep_ssl;
    bool eof;
    bool handshake_done;
    bool in_over_limit;     /* mbedTLS stopped: its unread input would pass the capture limit */
    bool complete;          /* complete the handshake without a request (--client-key) */
    bool close_sent;        /* complete, TLS 1.3: our close_notify followed our Finished */
    bool answered;          /* complete, TLS 1.3: data, close_notify or EOF came after it */
    int peer_alert;         /* the description of the fatal alert mbedTLS read, or -1 */
    bool bad_signature;     /* mbedTLS stopped on the server's signature (peer_signature_failed) */
    struct tls_exchange *x; /* with a request: what follows the handshake; NULL without */
    struct tls_keyex13 *kx; /* TLS 1.3 without mbedTLS: our ClientHello; NULL otherwise */
};

static int conf_setup(struct tls_client *c, mbedtls_ssl_config *conf,
                      mbedtls_ssl_protocol_version v)
{
    mbedtls_ssl_config_init(conf);
    int raw = mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                          MBEDTLS_SSL_PRESET_DEFAULT);
    if (raw)
        return TLS_E_MBEDTLS;
    /* We only read what the server offers: its certificate is never judged here. */
    mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_NONE);
    mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &c->drbg);
    mbedtls_ssl_conf_min_tls_version(conf, v);
    mbedtls_ssl_conf_max_tls_version(conf, v);
    mbedtls_ssl_conf_renegotiation(conf, MBEDTLS_SSL_RENEGOTIATION_ENABLED);
    return 0;
}

int tls_client_new(struct tls_client **out)
{
    *out = NULL;
    if (psa_crypto_init() != PSA_SUCCESS)
        return TLS_E_MBEDTLS;
    struct tls_client *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return TLS_E_NOMEM;
    mbedtls_entropy_init(&c->entropy);
    mbedtls_ctr_drbg_init(&c->drbg);
    mbedtls_ssl_config_init(&c->conf12);
    mbedtls_ssl_config_init(&c->conf13);
    mbedtls_ssl_config_init(&c->conf12_follow);
    static const unsigned char pers[] = "caprobe";
    int rc = TLS_E_MBEDTLS;
    if (mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy, pers, sizeof(pers)))
        goto out;
    if ((rc = conf_setup(c, &c->conf12, MBEDTLS_SSL_VERSION_TLS1_2)) ||
        (rc = conf_setup(c, &c->conf13, MBEDTLS_SSL_VERSION_TLS1_3)) ||
        (rc = conf_setup(c, &c->conf12_follow, MBEDTLS_SSL_VERSION_TLS1_2)))
        goto out;
    size_t n = tls_crypt12_suites(c->follow_suites, sizeof(c->follow_suites) / sizeof(int) - 1);
    c->follow_suites[n] = 0;
    mbedtls_ssl_conf_ciphersuites(&c->conf12_follow, c->follow_suites);
    *out = c;
    c = NULL;
out:
    tls_client_free(c);
    return rc;
}

void tls_client_set_identity(struct tls_client *c, struct tls_identity *id)
{
    mbedtls_ssl_config *confs[] = {&c->conf12, &c->conf13, &c->conf12_follow};
    for (size_t i = 0; i < sizeof(confs) / sizeof(*confs); i++) {
        /* fails only for a second certificate of the same config, which never comes */
        (void)mbedtls_ssl_conf_own_cert(confs[i], &id->chain, &id->key);
    }
}

void tls_client_free(struct tls_client *c)
{
    if (c == NULL)
        return;
    mbedtls_ssl_config_free(&c->conf12);
    mbedtls_ssl_config_free(&c->conf13);
    mbedtls_ssl_config_free(&c->conf12_follow);
    mbedtls_ctr_drbg_free(&c->drbg);
    mbedtls_entropy_free(&c->entropy);
    free(c);
}

/* Queue bytes for the owner to send. */
static int out_append(struct tls_session *s, const uint8_t *buf, size_t len)
{
    if (s->out_len + len > SESSION_OUT_MAX)
        return TLS_E_SPACE;
    if (s->out_len + len > s->out_alloc) {
        size_t n = s->out_alloc ? s->out_alloc : 1024;
        while (n < s->out_len + len)
            n *= 2;
        uint8_t *p = realloc(s->out, n);
        if (p == NULL)
            return TLS_E_NOMEM;
        s->out = p;
        s->out_alloc = n;
    }
    memcpy(s->out + s->out_len, buf, len);
    s->out_len += len;
    return 0;
}

static int session_bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    return out_append(ctx, buf, len) ? MBEDTLS_ERR_SSL_ALLOC_FAILED : (int)len;
}

/* Our own TLS 1.3 ClientHello (keyex13.c), the first or the one after a HelloRetryRequest. */
static int own_client_hello(struct tls_session *s)
{
    uint8_t *rec;
    size_t len;
    int rc = tls_keyex13_client_hello(s->kx, &rec, &len);
    if (rc == 0)
        rc = out_append(s, rec, len);
    free(rec);
    return rc;
}

/* The capture's ServerHello hook for our own ClientHello: the secret, or the second hello.
 * Once the secret is out the key exchange has nothing more to do: its state (keys, transcript,
 * the first hello) is freed rather than held while the rest of the flight comes. */
static int own_server_hello(void *ctx, const struct tls_server_hello *sh, const uint8_t *body,
                            size_t len, uint8_t *secret, size_t cap, size_t *secret_len)
{
    struct tls_session *s = ctx;
    if (s->kx == NULL)
        return TLS_E_UNEXPECTED; /* a hello after the ServerHello; keyex13 says the same */
    int rc = tls_keyex13_server_hello(s->kx, sh, body, len, secret, cap, secret_len);
    if (rc == 0 && sh->hello_retry)
        rc = own_client_hello(s);
    if (rc == TLS_E_MBEDTLS)
        s->ssl_err = tls_keyex13_raw_error(s->kx);
    if (rc == 0 && !sh->hello_retry) {
        tls_keyex13_free(s->kx);
        s->kx = NULL;
    }
    return rc;
}

static int session_bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    struct tls_session *s = ctx;
    size_t avail = s->in_len - s->in_off;
    if (avail == 0)
        return s->eof ? 0 : MBEDTLS_ERR_SSL_WANT_READ;
    size_t n = avail < len ? avail : len;
    memcpy(buf, s->in + s->in_off, n);
    s->in_off += n;
    if (s->in_off == s->in_len)
        s->in_off = s->in_len = 0;
    return (int)n;
}

static void session_export_keys(void *ctx, mbedtls_ssl_key_export_type type,
                                const unsigned char *secret, size_t secret_len,
                                const unsigned char client_random[32],
                                const unsigned char server_random[32], mbedtls_tls_prf_types prf)
{
    struct tls_session *s = ctx;
    if (type == MBEDTLS_SSL_KEY_EXPORT_TLS1_3_SERVER_HANDSHAKE_TRAFFIC_SECRET)
        tls_capture_set_secret(&s->cap, secret, secret_len);
    else if (type == MBEDTLS_SSL_KEY_EXPORT_TLS12_MASTER_SECRET && s->x)
        tls_exchange_keys(s->x, prf, secret, secret_len, client_random, server_random);
}

/* Free mbedTLS's client, if there is one. */
static void ssl_release(struct tls_session *s)
{
    if (s->ssl == NULL)
        return;
    mbedtls_ssl_free(s->ssl);
    free(s->ssl);
    s->ssl = NULL;
}

/* mbedTLS's client for session s: TLS 1.2, and TLS 1.3 when the whole handshake is needed. */
static int ssl_setup(struct tls_session *s, struct tls_client *client,
                     const struct tls_session_opts *opts)
{
    if ((s->ssl = malloc(sizeof(*s->ssl))) == NULL)
        return TLS_E_NOMEM;
    mbedtls_ssl_init(s->ssl);
    int raw = mbedtls_ssl_setup(s->ssl, opts->version == 0x0304 ? &client->conf13
                                        : opts->request         ? &client->conf12_follow
                                                                : &client->conf12);
    if (raw)
        return tls_err_from_mbedtls(raw);
    /* NULL clears the name: no server_name extension is sent. */
    if (mbedtls_ssl_set_hostname(s->ssl, opts->sni))
        return TLS_E_MBEDTLS;
    mbedtls_ssl_set_bio(s->ssl, s, session_bio_send, session_bio_recv, NULL);
    mbedtls_ssl_set_export_keys_cb(s->ssl, session_export_keys, s);
    return 0;
}

/* TLS 1.3 when only the flight is read: our ClientHello, which offers what mbedTLS's cannot
 * (keyex13.h); mbedTLS is never set up. */
static int own_setup(struct tls_session *s, const char *sni)
{
    int rc = tls_keyex13_new(&s->kx, sni);
    if (rc)
        return rc;
    s->cap.on_hello = own_server_hello;
    s->cap.on_hello_ctx = s;
    s->ssl_stopped = true;
    return 0;
}

/* caprobe's own ClientHello as the pending output, mbedTLS never set up: the session is the
 * capture alone, with TLS 1.0 up to the version offered. */
static int own_hello_start(struct tls_session *s, struct tls_client *client,
                           const struct tls_session_opts *opts)
{
    uint8_t random[32];
    if (mbedtls_ctr_drbg_random(&client->drbg, random, sizeof(random)))
        return TLS_E_MBEDTLS;
    if ((s->out = malloc(TLS_HELLO_MAX)) == NULL)
        return TLS_E_NOMEM;
    s->out_alloc = TLS_HELLO_MAX;
    struct tls_hello_opts ho = {.version = opts->version, .sni = opts->sni, .random = random};
    int rc = tls_hello_write(&ho, s->out, s->out_alloc, &s->out_len);
    if (rc)
        return rc;
    s->ssl_stopped = true;
    return 0;
}

int tls_session_new(struct tls_session **out, struct tls_client *client,
                    const struct tls_session_opts *opts)
{
    *out = NULL;
    if (opts->own_hello
            ? opts->version < 0x0301 || opts->version > 0x0303 || opts->request || opts->complete
            : opts->version != 0x0303 && opts->version != 0x0304)
        return TLS_E_INVALID;
    struct tls_session *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return TLS_E_NOMEM;
    tls_capture_init(&s->cap, opts->capture_limit);
    s->limit = opts->capture_limit;
    s->version = opts->version;
    s->keep_ssl = opts->keep_ssl || opts->request || opts->complete;
    s->complete = opts->complete && !opts->request; /* a request completes it anyway */
    s->peer_alert = -1;
    int rc = 0;
    /* caprobe's ClientHello offers TLS 1.0 up to version, mbedTLS's only version (the capture
     * reads a lower one all the same, whatever mbedTLS makes of it) */
    tls_capture_offer(&s->cap, opts->own_hello ? 0x0301 : opts->version, opts->version);
    if (opts->own_hello) {
        if ((rc = own_hello_start(s, client, opts)))
            goto out;
        *out = s;
        return 0;
    }
    if (opts->request && (rc = tls_exchange_new(&s->x, opts->request, opts->request_len)))
        goto out;
    rc = opts->version == 0x0304 && !s->keep_ssl ? own_setup(s, opts->sni)
                                                 : ssl_setup(s, client, opts);
    if (rc)
        goto out;
    *out = s;
    s = NULL;
out:
    tls_session_free(s);
    return rc;
}

void tls_session_free(struct tls_session *s)
{
    if (s == NULL)
        return;
    ssl_release(s);
    tls_capture_free(&s->cap);
    tls_exchange_free(s->x);
    tls_keyex13_free(s->kx);
    free(s->in);
    free(s->out);
    free(s);
}

/* Free mbedTLS once the capture needs nothing more from it: for TLS 1.2 the capture reads the
 * whole flight itself, for TLS 1.3 it needs the handshake secret and no more. Pending output
 * (the ClientHello) stays in s->out. */
static void maybe_release(struct tls_session *s)
{
    if (s->keep_ssl || s->ssl == NULL)
        return;
    if (s->version == 0x0304 && !(s->cap.crypt || s->cap.status != TLS_CAPTURE_RUNNING))
        return;
    ssl_release(s);
    s->ssl_stopped = true;
    free(s->in);
    s->in = NULL;
    s->in_off = s->in_len = s->in_alloc = 0;
}

/* The description of the fatal alert mbedTLS just stopped on (MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE),
 * or -1. mbedTLS 3.6 has no getter for it, but keeps the record it read, decrypted, in in_msg
 * until the next read: so the alert is named whatever keys protected it (a TLS 1.3 alert after
 * our Finished, one inside a renegotiation), which the capture could not open. */
static int received_alert(const mbedtls_ssl_context *ssl)
{
    if (ssl->MBEDTLS_PRIVATE(in_msgtype) != MBEDTLS_SSL_MSG_ALERT ||
        ssl->MBEDTLS_PRIVATE(in_msglen) != 2 || ssl->MBEDTLS_PRIVATE(in_msg) == NULL)
        return -1;
    return ssl->MBEDTLS_PRIVATE(in_msg)[1];
}

/* Whether mbedTLS, failing with raw, rejected the server's signature: the one thing its client
 * checks whatever the authmode (caprobe sets none and gives it no CA). TLS 1.3 checks the
 * CertificateVerify in its own state and fails any rejection of it (the signature does not
 * verify with the certificate's key, or its scheme was not offered) with HANDSHAKE_FAILURE
 * (mbedtls_ssl_tls13_process_certificate_verify); TLS 1.2 checks the ServerKeyExchange's and
 * returns the verifier's own code (ssl_parse_server_key_exchange). mbedTLS stays in the state of
 * the message it failed on. */
static bool peer_signature_failed(const mbedtls_ssl_context *ssl, int raw)
{
    int state = ssl->MBEDTLS_PRIVATE(state);
    if (mbedtls_ssl_get_version_number(ssl) == MBEDTLS_SSL_VERSION_TLS1_3)
        return state == MBEDTLS_SSL_CERTIFICATE_VERIFY && raw == MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE;
    return state == MBEDTLS_SSL_SERVER_KEY_EXCHANGE &&
           (raw == MBEDTLS_ERR_ECP_VERIFY_FAILED || raw == MBEDTLS_ERR_RSA_VERIFY_FAILED ||
            raw == MBEDTLS_ERR_PK_SIG_LEN_MISMATCH);
}

/* mbedTLS failed: it gets no more input and says nothing more (no alert: let the server
 * finish its flight for the capture). */
static void ssl_failed(struct tls_session *s, int raw)
{
    if (raw == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE && s->ssl)
        s->peer_alert = received_alert(s->ssl);
    if (s->ssl && !s->handshake_done)
        s->bad_signature = peer_signature_failed(s->ssl, raw);
    s->ssl_err = raw;
    s->ssl_stopped = true;
    if (s->x)
        tls_exchange_stop(s->x);
    s->out_len = 0;
    free(s->in);
    s->in = NULL;
    s->in_off = s->in_len = s->in_alloc = 0;
    /* Without mbedTLS no TLS 1.3 secret will come: records waiting for it stay unreadable. */
    if (tls_capture_waiting_keys(&s->cap))
        tls_capture_fail(&s->cap, TLS_E_MBEDTLS);
}

/* complete, the handshake done: the server's word on our certificate. TLS 1.2: its Finished
 * came after our certificate, nothing more to wait for. TLS 1.3: the server reads our
 * certificate after its own Finished, so its answer comes after ours: an alert, or data or its
 * close (mbedTLS takes the tickets before them in silence; signalling them, which mbedTLS 3.6
 * can, made it lose the response of a request that followed a ticket). Our close_notify right
 * after our Finished makes a server that took the certificate close at once, instead of
 * waiting for a request that never comes. */
static void await_answer(struct tls_session *s)
{
    if (s->version != 0x0304) {
        s->ssl_stopped = true;
        return;
    }
    if (!s->close_sent) {
        s->close_sent = true;
        int raw = mbedtls_ssl_close_notify(s->ssl);
        if (raw && raw != MBEDTLS_ERR_SSL_WANT_WRITE) {
            ssl_failed(s, raw);
            return;
        }
    }
    for (;;) {
        unsigned char buf[256];
        int n = mbedtls_ssl_read(s->ssl, buf, sizeof(buf));
        if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
            return;
        if (n == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
            continue; /* not signalled by default; should a later mbedTLS do it */
        if (n >= 0 || n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || n == MBEDTLS_ERR_SSL_CONN_EOF) {
            s->answered = true;
            s->ssl_stopped = true;
            return;
        }
        ssl_failed(s, n);
        return;
    }
}

/* Run mbedTLS as far as the input allows. A failure stops it for good: the capture goes on. */
static void drive(struct tls_session *s)
{
    if (s->ssl_stopped)
        return;
    if (!s->handshake_done) {
        int raw = mbedtls_ssl_handshake(s->ssl);
        if (raw == MBEDTLS_ERR_SSL_WANT_READ || raw == MBEDTLS_ERR_SSL_WANT_WRITE) {
            maybe_release(s);
            return;
        }
        if (raw) {
            ssl_failed(s, raw);
            return;
        }
        s->handshake_done = true;
    }
    if (s->x == NULL) {
        if (s->complete)
            await_answer(s);
        return;
    }
    int raw = tls_exchange_drive(s->x, s->ssl);
    if (raw)
        ssl_failed(s, raw);
    else if (tls_exchange_over(s->x))
        s->ssl_stopped = true; /* all the probe reports is there */
}

int tls_session_start(struct tls_session *s)
{
    if (s->kx) {
        int rc = own_client_hello(s);
        if (rc == TLS_E_MBEDTLS)
            s->ssl_err = tls_keyex13_raw_error(s->kx);
        return rc;
    }
    drive(s);
    return s->ssl_err ? TLS_E_MBEDTLS : 0;
}

void tls_session_input(struct tls_session *s, const uint8_t *p, size_t n)
{
    if (!s->ssl_stopped) {
        size_t need = s->in_len + n;
        if (need > s->in_alloc) {
            size_t sz = s->in_alloc ? s->in_alloc : 4096;
            while (sz < need)
                sz *= 2;
            uint8_t *q = need <= s->limit ? realloc(s->in, sz) : NULL;
            if (q == NULL) {
                /* mbedTLS cannot get more than the capture may hold: stop it, keep capturing. */
                s->ssl_err = MBEDTLS_ERR_SSL_ALLOC_FAILED;
                s->ssl_stopped = true;
                s->in_over_limit = need > s->limit;
            } else {
                s->in = q;
                s->in_alloc = sz;
            }
        }
        if (!s->ssl_stopped) {
            memcpy(s->in + s->in_len, p, n);
            s->in_len += n;
        }
    }
    if (s->cap.status == TLS_CAPTURE_RUNNING) {
        tls_capture_feed(&s->cap, p, n);
        /* with a request over TLS 1.2 the records after the first flight are followed */
        if (s->x && tls_exchange_follow(s->x, &s->cap, s->limit))
            ssl_failed(s, MBEDTLS_ERR_SSL_ALLOC_FAILED);
    } else if (s->x) {
        tls_exchange_feed(s->x, p, n);
    }
    if (s->cap.status == TLS_CAPTURE_RUNNING || s->x || s->complete)
        drive(s);
}

void tls_session_eof(struct tls_session *s)
{
    s->eof = true;
    drive(s);
    tls_capture_eof(&s->cap);
    if (s->x)
        tls_exchange_eof(s->x);
}

bool tls_session_finished(const struct tls_session *s)
{
    if (s->cap.status == TLS_CAPTURE_RUNNING)
        return false;
    if (s->x == NULL) /* complete: until the answer, when there is a certificate to answer */
        return !s->complete || s->cap.status != TLS_CAPTURE_DONE || !s->cap.has_certreq ||
               s->ssl_stopped;
    /* a second flight mbedTLS could not take (a list over 16 KiB) is still read to its end */
    if (tls_exchange_reading(s->x))
        return false;
    return tls_exchange_over(s->x) || s->ssl_stopped;
}

void tls_session_exchange(const struct tls_session *s, struct tls_exchange_result *out)
{
    memset(out, 0, sizeof(*out));
    out->handshake_done = s->handshake_done;
    out->peer_alert = s->ssl_err == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE;
    out->bad_signature = s->bad_signature;
    out->over_limit = s->in_over_limit;
    out->ssl_err = s->ssl_err;
    out->alert = s->peer_alert;
    out->eof = s->eof;
    out->answered = s->answered;
    if (s->x)
        tls_exchange_report(s->x, out);
}

const uint8_t *tls_session_output(struct tls_session *s, size_t *len)
{
    *len = s->out_len;
    return s->out;
}

void tls_session_output_consume(struct tls_session *s, size_t n)
{
    if (n >= s->out_len) {
        /* mostly the ClientHello, sent once: a probe waiting for the flight holds no buffer */
        free(s->out);
        s->out = NULL;
        s->out_len = s->out_alloc = 0;
        return;
    }
    memmove(s->out, s->out + n, s->out_len - n);
    s->out_len -= n;
}

const struct tls_capture *tls_session_capture(const struct tls_session *s)
{
    return &s->cap;
}

enum tls_capture_status tls_session_status(const struct tls_session *s)
{
    return s->cap.status;
}

int tls_session_ssl_error(const struct tls_session *s)
{
    return s->ssl_err;
}
