/* The plaintext exchange before a STARTTLS service's TLS bytes (SMTP, LMTP, IMAP, POP3, FTP,
 * LDAP, PostgreSQL, MySQL, XMPP, NNTP, ManageSieve): a pure dialogue engine. The owner feeds it
 * what the server sent and sends what it asks; it never sees a socket or a clock, so the whole
 * exchange can be fuzzed alone. Everything the server sent is untrusted: every length is
 * checked, a reply line and the whole plaintext are bounded, and what a message quotes of a
 * reply is escaped (tls_escape_bytes). */
#ifndef TLS_WIRE_STARTTLS_H
#define TLS_WIRE_STARTTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tls_starttls_proto {
    TLS_STARTTLS_NONE, /* TLS from the first byte */
    TLS_STARTTLS_SMTP,
    TLS_STARTTLS_LMTP,
    TLS_STARTTLS_IMAP,
    TLS_STARTTLS_POP3,
    TLS_STARTTLS_FTP,
    TLS_STARTTLS_LDAP,
    TLS_STARTTLS_POSTGRES,
    TLS_STARTTLS_MYSQL,
    TLS_STARTTLS_XMPP,
    TLS_STARTTLS_NNTP,
    TLS_STARTTLS_SIEVE,
};
#define TLS_STARTTLS_PROTO_LAST TLS_STARTTLS_SIEVE

/* "smtp", "imap", ... as --starttls and the JSON Lines field "starttls" spell them; NULL for
 * TLS_STARTTLS_NONE. */
const char *tls_starttls_name(enum tls_starttls_proto p);
/* The protocol of a --starttls word ("postgresql" is "postgres"); -1 when unknown. */
int tls_starttls_by_name(const char *s, enum tls_starttls_proto *out);
/* The well-known STARTTLS port table (docs/scanning.md): 21 ftp, 24 lmtp, 25 and 587 smtp, 110
 * pop3, 119 nntp, 143 imap, 389 ldap, 3306 mysql, 4190 sieve, 5222 xmpp, 5432 postgres;
 * TLS_STARTTLS_NONE for any other port. */
enum tls_starttls_proto tls_starttls_for_port(uint16_t port);

enum tls_starttls_status {
    TLS_STARTTLS_RUNNING,
    TLS_STARTTLS_DONE,   /* the server agreed: the next bytes are the ClientHello */
    TLS_STARTTLS_FAILED, /* fail says why */
};

enum tls_starttls_fail {
    TLS_STARTTLS_FAIL_NONE,
    TLS_STARTTLS_FAIL_REFUSED,     /* a well-formed negative answer (454, NO, -ERR, 'N', ...) */
    TLS_STARTTLS_FAIL_UNEXPECTED,  /* not a reply of the protocol, or not the one expected */
    TLS_STARTTLS_FAIL_TLS,         /* a TLS record where plaintext was expected */
    TLS_STARTTLS_FAIL_TOO_LONG,    /* one reply line (or binary reply) over TLS_STARTTLS_BUF */
    TLS_STARTTLS_FAIL_LIMIT,       /* more plaintext than max_bytes */
    TLS_STARTTLS_FAIL_EXTRA,       /* bytes after the final reply, before our ClientHello */
    TLS_STARTTLS_FAIL_NOT_OFFERED, /* the server says it has no TLS (XMPP features, MySQL) */
    TLS_STARTTLS_FAIL_CLOSED,      /* the server closed the connection */
};

#define TLS_STARTTLS_BUF (16 * 1024) /* one reply line, or one binary reply, at most */
#define TLS_STARTTLS_MAX (64 * 1024) /* plaintext from the server at most (or less: max_bytes) */
#define TLS_STARTTLS_QUOTE 160       /* bytes of a reply that a message quotes */
#define TLS_STARTTLS_OUT 512         /* our commands: the longest is XMPP's stream header */

struct tls_starttls {
    enum tls_starttls_proto proto;
    enum tls_starttls_status status;
    enum tls_starttls_fail fail;
    int step;         /* where the dialogue is: the protocol's own states (starttls.c) */
    bool in_reply;    /* a multi-line reply has begun: first holds its first line */
    bool offered;     /* the server listed STARTTLS (EHLO, CAPABILITY, greeting, features) */
    uint16_t code;    /* the three-digit code of the reply being read (SMTP, FTP) */
    size_t max_bytes; /* plaintext from the server at most */
    size_t received;  /* plaintext from the server so far */
    size_t extra;     /* with FAIL_EXTRA: bytes after the final reply */
    size_t tls_at;    /* with FAIL_TLS: the plaintext the server sent before its TLS record */
    uint8_t buf[TLS_STARTTLS_BUF]; /* received and not yet consumed: an unfinished line or reply */
    size_t len;
    uint8_t first[TLS_STARTTLS_QUOTE]; /* the start of the reply a message is about */
    size_t first_len;
    char detail[192]; /* a decoded detail a message adds (LDAP result, MySQL error), escaped */
    uint8_t out[TLS_STARTTLS_OUT]; /* our next command, not yet taken by the owner */
    size_t out_len;
    char host[256]; /* XMPP's to='...' */
};

/* Start the dialogue of proto (not NONE); host names the service (XMPP's to, the target's
 * name or address). max_bytes 0 is TLS_STARTTLS_MAX; more is cut to it. A protocol in which
 * the client speaks first (LDAP, PostgreSQL, XMPP) has its first command in the output now. */
void tls_starttls_init(struct tls_starttls *st, enum tls_starttls_proto proto, const char *host,
                       size_t max_bytes);
/* Bytes from the server, in any split: one byte at a time reads the same as all at once. */
void tls_starttls_input(struct tls_starttls *st, const uint8_t *p, size_t n);
/* The server closed its side. */
void tls_starttls_eof(struct tls_starttls *st);
/* What to send: a view valid until the next call; mark it sent with consume. */
const uint8_t *tls_starttls_output(const struct tls_starttls *st, size_t *len);
void tls_starttls_output_consume(struct tls_starttls *st, size_t n);
/* What the dialogue is waiting for ("greeting", "reply to EHLO", ...), for a deadline's
 * message. */
const char *tls_starttls_waiting(const struct tls_starttls *st);
/* Why the dialogue failed, one line that names the protocol and quotes the reply (escaped),
 * into buf (NUL-terminated, cut to cap). Returns buf. */
char *tls_starttls_describe(const struct tls_starttls *st, char *buf, size_t cap);

#endif
