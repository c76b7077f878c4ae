/* Record layer and handshake reassembly over untrusted bytes. Buffers grow only as far as the
 * data needs and never past the capture limit, and are freed whenever the reader runs out of
 * bytes (a probe waiting for the rest of a flight holds only what it has not read); every
 * header length is checked before use. */
#include "record.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

void tls_reader_init(struct tls_reader *r, size_t limit)
{
    memset(r, 0, sizeof(*r));
    r->limit = limit;
}

void tls_reader_free(struct tls_reader *r)
{
    if (r == NULL)
        return;
    free(r->in);
    free(r->hs);
    memset(r, 0, sizeof(*r));
}

/* Room for need bytes: what they take, rounded up to 256, and at least half as much again as
 * before (bytes that come in small reads are not copied once per read). */
static int reserve(uint8_t **buf, size_t *alloc, size_t need)
{
    if (need <= *alloc)
        return 0;
    size_t n = *alloc + *alloc / 2;
    if (n < need)
        n = need;
    n = (n + 255) & ~(size_t)255;
    uint8_t *p = realloc(*buf, n);
    if (p == NULL)
        return TLS_E_NOMEM;
    *buf = p;
    *alloc = n;
    return 0;
}

static void compact_input(struct tls_reader *r);

int tls_reader_feed(struct tls_reader *r, const uint8_t *p, size_t n)
{
    if (n > r->limit - r->fed)
        return TLS_E_LIMIT;
    if (n == 0)
        return 0;
    compact_input(r);
    int rc = reserve(&r->in, &r->in_alloc, r->in_len + n);
    if (rc)
        return rc;
    memcpy(r->in + r->in_len, p, n);
    r->in_len += n;
    r->fed += n;
    return 0;
}

void tls_reader_set_opener(struct tls_reader *r, tls_record_open_fn *fn, void *ctx, bool all_types)
{
    r->open = fn;
    r->open_ctx = ctx;
    r->open_all_types = all_types;
}

void tls_reader_lock_version(struct tls_reader *r, uint16_t version)
{
    r->version_lock = version;
}

const uint8_t *tls_reader_unread(const struct tls_reader *r, size_t *len)
{
    *len = r->in_len - r->in_off;
    return r->in ? r->in + r->in_off : NULL;
}

size_t tls_reader_pending(const struct tls_reader *r)
{
    return (r->in_len - r->in_off) + (r->hs_len - r->hs_off);
}

bool tls_reader_partial(const struct tls_reader *r, uint8_t *type, size_t *announced, size_t *have)
{
    size_t avail = r->hs_len - r->hs_off;
    if (avail < 4)
        return false;
    const uint8_t *h = r->hs + r->hs_off;
    size_t len = ((size_t)h[1] << 16) | ((size_t)h[2] << 8) | h[3];
    if (avail - 4 >= len)
        return false; /* whole: next_message hands it out */
    *type = h[0];
    *announced = len;
    *have = avail - 4;
    return true;
}

/* A whole handshake message from the reassembly buffer, if one is there. */
static int next_message(struct tls_reader *r, struct tls_event *ev)
{
    size_t avail = r->hs_len - r->hs_off;
    if (avail < 4)
        return 0;
    const uint8_t *h = r->hs + r->hs_off;
    /* RFC 8446 4: HandshakeType msg_type; uint24 length; */
    size_t len = ((size_t)h[1] << 16) | ((size_t)h[2] << 8) | h[3];
    if (len > r->limit)
        return TLS_E_LIMIT;
    if (avail - 4 < len)
        return 0;
    ev->kind = TLS_EV_HANDSHAKE;
    ev->msg_type = h[0];
    ev->body = h + 4;
    ev->len = len;
    ev->protected_ = r->hs_protected;
    r->hs_off += 4 + len;
    return 1;
}

static int append_handshake(struct tls_reader *r, const uint8_t *p, size_t n, bool prot)
{
    if (r->hs_off == r->hs_len) {
        r->hs_off = r->hs_len = 0;
    } else if (r->hs_off) {
        memmove(r->hs, r->hs + r->hs_off, r->hs_len - r->hs_off);
        r->hs_len -= r->hs_off;
        r->hs_off = 0;
    }
    if (n > r->limit || r->hs_len > r->limit - n)
        return TLS_E_LIMIT;
    int rc = reserve(&r->hs, &r->hs_alloc, r->hs_len + n);
    if (rc)
        return rc;
    memcpy(r->hs + r->hs_len, p, n);
    r->hs_len += n;
    r->hs_protected = prot;
    return 0;
}

/* Free both buffers when they hold nothing: nothing points into them when the reader asks for
 * more bytes. */
static void release_empty(struct tls_reader *r)
{
    if (r->in_off == r->in_len) {
        free(r->in);
        r->in = NULL;
        r->in_off = r->in_len = r->in_alloc = 0;
    }
    if (r->hs_off == r->hs_len) {
        free(r->hs);
        r->hs = NULL;
        r->hs_off = r->hs_len = r->hs_alloc = 0;
    }
}

/* Drop consumed input; views handed out by the previous call end here. */
static void compact_input(struct tls_reader *r)
{
    if (r->in_off == 0)
        return;
    memmove(r->in, r->in + r->in_off, r->in_len - r->in_off);
    r->in_len -= r->in_off;
    r->in_off = 0;
}

/* One record's plaintext of content type ct as an event. Returns 1 when *ev is complete,
 * 0 when the bytes went into the reassembly buffer, or an error. */
static int dispatch(struct tls_reader *r, uint8_t ct, const uint8_t *body, size_t len, bool prot,
                    struct tls_event *ev)
{
    if (ct != TLS_CT_HANDSHAKE && r->hs_off != r->hs_len)
        return TLS_E_UNEXPECTED; /* RFC 8446 5.1: no other type inside a split message */
    switch (ct) {
    case TLS_CT_HANDSHAKE:
        if (len == 0)
            return TLS_E_RECORD; /* RFC 8446 5.1: no zero-length handshake fragments */
        return append_handshake(r, body, len, prot);
    case TLS_CT_ALERT:
        if (len != 2)
            return TLS_E_RECORD; /* RFC 8446 5.1: alerts are never fragmented */
        ev->kind = TLS_EV_ALERT;
        ev->alert_level = body[0];
        ev->alert_desc = body[1];
        ev->protected_ = prot;
        return 1;
    case TLS_CT_CHANGE_CIPHER_SPEC:
        /* RFC 5246 7.1, RFC 8446 5: one byte of value 1, never protected (a TLS 1.3 inner
         * plaintext of type change_cipher_spec is an error too) */
        if (len != 1 || body[0] != 1 || prot)
            return TLS_E_UNEXPECTED;
        ev->kind = TLS_EV_CCS;
        return 1;
    case TLS_CT_APPLICATION_DATA:
        ev->kind = TLS_EV_APPDATA;
        ev->body = body;
        ev->len = len;
        ev->protected_ = prot;
        return 1;
    default:
        return TLS_E_UNEXPECTED; /* heartbeat, or an unknown inner type */
    }
}

int tls_reader_next(struct tls_reader *r, struct tls_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    compact_input(r);
    for (;;) {
        int rc = next_message(r, ev);
        if (rc)
            return rc < 0 ? rc : 0;
        size_t avail = r->in_len - r->in_off;
        if (avail < TLS_RECORD_HEADER) {
            ev->kind = TLS_EV_NEED_MORE;
            release_empty(r);
            return 0;
        }
        uint8_t *h = r->in + r->in_off;
        /* RFC 8446 5.1: ContentType type; ProtocolVersion legacy_record_version;
         * uint16 length; opaque fragment[length] */
        uint8_t type = h[0];
        size_t len = ((size_t)h[3] << 8) | h[4];
        if (type < TLS_CT_CHANGE_CIPHER_SPEC || type > TLS_CT_HEARTBEAT || h[1] != 3 ||
            len > TLS_RECORD_MAX_BODY)
            return TLS_E_RECORD;
        uint16_t version = (uint16_t)((h[1] << 8) | h[2]);
        if (r->records == 0)
            r->record_version = version;
        if (r->version_lock && version != r->version_lock)
            return TLS_E_RECORD_VERSION;
        if (avail - TLS_RECORD_HEADER < len) {
            ev->kind = TLS_EV_NEED_MORE;
            release_empty(r);
            return 0;
        }
        bool prot = type != TLS_CT_CHANGE_CIPHER_SPEC &&
                    (type == TLS_CT_APPLICATION_DATA || (r->open && r->open_all_types));
        if (prot && r->open == NULL) {
            ev->kind = TLS_EV_NEED_KEYS; /* keep the record until the keys arrive */
            return 0;
        }
        uint8_t *body = h + TLS_RECORD_HEADER;
        size_t plain_len = len;
        uint8_t ct = type;
        if (prot && (rc = r->open(r->open_ctx, h, body, len, &ct, &plain_len)))
            return rc;
        r->records++;
        r->in_off += TLS_RECORD_HEADER + len;
        rc = dispatch(r, ct, body, plain_len, prot, ev);
        if (rc)
            return rc < 0 ? rc : 0;
    }
}
