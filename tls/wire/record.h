/* Record reader: turns the raw bytes a server sent into TLS records and whole handshake messages
 * (RFC 8446 5.1, RFC 5246 6.2), independent of mbedTLS and its buffer limits. Handshake messages
 * may be fragmented over records or coalesced in one; they are reassembled up to the capture
 * limit. Protected records are opened through a pluggable opener once keys are known. */
#ifndef TLS_RECORD_H
#define TLS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 5246 6.2.3: TLSCiphertext.length <= 2^14 + 2048 (RFC 8446 5.2 allows 2^14 + 256). */
#define TLS_RECORD_HEADER 5
#define TLS_RECORD_MAX_BODY (16384 + 2048)

enum tls_content_type {
    TLS_CT_CHANGE_CIPHER_SPEC = 20,
    TLS_CT_ALERT = 21,
    TLS_CT_HANDSHAKE = 22,
    TLS_CT_APPLICATION_DATA = 23,
    TLS_CT_HEARTBEAT = 24,
};

/* Opens one protected record in place: hdr is its header, p/len its body. On success the
 * plaintext is p[0 .. *plain_len) and *content_type its real type. */
typedef int tls_record_open_fn(void *ctx, const uint8_t hdr[5], uint8_t *p, size_t len,
                               uint8_t *content_type, size_t *plain_len);

enum tls_event_kind {
    TLS_EV_NEED_MORE, /* no complete unit buffered: feed more bytes */
    TLS_EV_NEED_KEYS, /* a protected record waits for an opener */
    TLS_EV_HANDSHAKE, /* a whole handshake message: msg_type, body/len */
    TLS_EV_ALERT,     /* alert_level, alert_desc */
    TLS_EV_CCS,       /* change_cipher_spec */
    TLS_EV_APPDATA,   /* application data (plaintext after opening): body/len */
};

struct tls_event {
    enum tls_event_kind kind;
    uint8_t msg_type;
    const uint8_t *body; /* valid until the next call into the reader */
    size_t len;
    uint8_t alert_level;
    uint8_t alert_desc;
    bool protected_; /* the unit came from an opened record */
};

struct tls_reader {
    uint8_t *in; /* raw bytes; in[in_off .. in_len) not yet consumed as records */
    size_t in_off, in_len, in_alloc;
    uint8_t *hs; /* handshake bytes not yet consumed as messages */
    size_t hs_off, hs_len, hs_alloc;
    bool hs_protected;
    size_t limit; /* at most this many bytes fed in total */
    size_t fed;
    tls_record_open_fn *open;
    void *open_ctx;
    bool open_all_types;     /* TLS 1.2: every record but CCS is protected; 1.3: only type 23 */
    uint16_t record_version; /* of the first record, for diagnostics */
    uint16_t version_lock;   /* not 0: every record read from now on must carry this version */
    size_t records;          /* count of records read */
};

void tls_reader_init(struct tls_reader *r, size_t limit);
void tls_reader_free(struct tls_reader *r);

/* Append bytes. TLS_E_LIMIT when more than `limit` bytes would have been fed in total. */
int tls_reader_feed(struct tls_reader *r, const uint8_t *p, size_t n);

/* From now on open protected records with fn (NULL: plaintext again). */
void tls_reader_set_opener(struct tls_reader *r, tls_record_open_fn *fn, void *ctx, bool all_types);

/* From now on every record must carry version (RFC 5246 6.2.1 and E.1: after the ServerHello of
 * TLS 1.2 and earlier, the negotiated one); records already read are not judged. */
void tls_reader_lock_version(struct tls_reader *r, uint16_t version);

/* The next unit. Returns 0 with *ev filled (TLS_EV_NEED_MORE when nothing is complete), or a
 * negative code: TLS_E_RECORD (not TLS, bad length), TLS_E_RECORD_VERSION (a record of another
 * version than the locked one; tls_reader_unread starts at its header), TLS_E_DECRYPT,
 * TLS_E_LIMIT (a handshake message longer than the limit), TLS_E_UNEXPECTED (a handshake message
 * interrupted by another content type). Errors are final. */
int tls_reader_next(struct tls_reader *r, struct tls_event *ev);

/* Raw bytes fed but not yet read as records (after the last unit returned). */
const uint8_t *tls_reader_unread(const struct tls_reader *r, size_t *len);

/* Bytes fed but not yet returned as units (a partial record or message). */
size_t tls_reader_pending(const struct tls_reader *r);

/* The header of the handshake message being reassembled from the records tls_reader_next has
 * read, when its 4 bytes have come and its body has not (also after TLS_E_LIMIT, which that
 * message caused): its msg_type, the length it announced and the bytes of its body buffered so
 * far. False when there is none. */
bool tls_reader_partial(const struct tls_reader *r, uint8_t *type, size_t *announced, size_t *have);

#endif
