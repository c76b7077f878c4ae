/* STARTTLS dialogues (starttls.h): what caprobe says and what it accepts before the TLS bytes,
 * one small state machine per protocol over one bounded buffer. Pure: no I/O, no clock, no
 * allocation. It must never act on a reply it has not read whole, never read past what was
 * received, and never quote a server's bytes unescaped.
 *
 *   text protocols:  GREETING --ok--> [HELLO (SMTP EHLO, LMTP LHLO) --250-->] STARTTLS --ok--> DONE
 *   LDAP, PostgreSQL: (request sent at init) STARTTLS --success, 'S'--> DONE
 *   MySQL:           GREETING (server handshake packet with CLIENT_SSL; SSL request queued) -> DONE
 *   XMPP:            (stream header sent at init) FEATURES --<starttls/> offered--> STARTTLS
 *                    --<proceed/>--> DONE
 *   any step --negative reply, nonsense, TLS bytes, over a bound, EOF--> FAILED
 *   DONE --any further byte from the server--> FAILED (EXTRA)
 * Invariants: buf holds only bytes not yet acted on (an unfinished line or binary reply);
 * in_reply is true only inside a multi-line reply whose first line is in first; received never
 * exceeds max_bytes. */
#include "starttls.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cursor.h"
#include "escape.h"

enum step {
    STEP_GREETING, /* the server speaks first: its greeting (MySQL: its handshake packet) */
    STEP_HELLO,    /* SMTP, LMTP: the reply to EHLO / LHLO */
    STEP_FEATURES, /* XMPP: the server's stream header and features */
    STEP_STARTTLS, /* the answer to our STARTTLS command (or request) */
};

/* How each protocol is spoken and named in messages. */
struct proto_info {
    const char *name;    /* --starttls word and JSON Lines value */
    const char *display; /* in messages */
    const char *hello;   /* SMTP EHLO, LMTP LHLO: sent after the greeting; NULL: none */
    const char *command; /* the STARTTLS command (text protocols) */
    const char *what;    /* the command as messages name it */
    uint16_t port;       /* its entry of the port table, 0: none (a second one below) */
};

/* EHLO needs a domain or an address literal (RFC 5321 4.1.1.1); caprobe has no name of its own
 * on the network, and .invalid (RFC 2606) says so. */
#define HELO_NAME "caprobe.invalid"

#define PROTO(p, n, d, h, c, w, pt)                                                                \
    [p] = {.name = n, .display = d, .hello = h, .command = c, .what = w, .port = pt}

static const struct proto_info protos[TLS_STARTTLS_PROTO_LAST + 1] = {
    PROTO(TLS_STARTTLS_NONE, NULL, "TLS", NULL, NULL, "-", 0),
    PROTO(TLS_STARTTLS_SMTP, "smtp", "SMTP", "EHLO " HELO_NAME "\r\n", "STARTTLS\r\n", "STARTTLS",
          25),
    PROTO(TLS_STARTTLS_LMTP, "lmtp", "LMTP", "LHLO " HELO_NAME "\r\n", "STARTTLS\r\n", "STARTTLS",
          24),
    PROTO(TLS_STARTTLS_IMAP, "imap", "IMAP", NULL, "a001 STARTTLS\r\n", "STARTTLS", 143),
    PROTO(TLS_STARTTLS_POP3, "pop3", "POP3", NULL, "STLS\r\n", "STLS", 110),
    PROTO(TLS_STARTTLS_FTP, "ftp", "FTP", NULL, "AUTH TLS\r\n", "AUTH TLS", 21),
    PROTO(TLS_STARTTLS_LDAP, "ldap", "LDAP", NULL, NULL, "the StartTLS extended request", 389),
    PROTO(TLS_STARTTLS_POSTGRES, "postgres", "PostgreSQL", NULL, NULL, "SSLRequest", 5432),
    PROTO(TLS_STARTTLS_MYSQL, "mysql", "MySQL", NULL, NULL, "the SSL request", 3306),
    PROTO(TLS_STARTTLS_XMPP, "xmpp", "XMPP", NULL,
          "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", "<starttls/>", 5222),
    PROTO(TLS_STARTTLS_NNTP, "nntp", "NNTP", NULL, "STARTTLS\r\n", "STARTTLS", 119),
    PROTO(TLS_STARTTLS_SIEVE, "sieve", "ManageSieve", NULL, "STARTTLS\r\n", "STARTTLS", 4190),
};

const char *tls_starttls_name(enum tls_starttls_proto p)
{
    return (unsigned)p <= TLS_STARTTLS_PROTO_LAST ? protos[p].name : NULL;
}

int tls_starttls_by_name(const char *s, enum tls_starttls_proto *out)
{
    if (strcasecmp(s, "postgresql") == 0)
        s = "postgres";
    for (int p = TLS_STARTTLS_SMTP; p <= TLS_STARTTLS_PROTO_LAST; p++)
        if (strcasecmp(s, protos[p].name) == 0) {
            *out = (enum tls_starttls_proto)p;
            return 0;
        }
    return -1;
}

enum tls_starttls_proto tls_starttls_for_port(uint16_t port)
{
    if (port == 587) /* submission, RFC 6409 */
        return TLS_STARTTLS_SMTP;
    for (int p = TLS_STARTTLS_SMTP; p <= TLS_STARTTLS_PROTO_LAST; p++)
        if (protos[p].port == port)
            return (enum tls_starttls_proto)p;
    return TLS_STARTTLS_NONE;
}

/* ---- small helpers ---------------------------------------------------------------------- */

static void send_bytes(struct tls_starttls *st, const uint8_t *p, size_t n)
{
    if (n > sizeof(st->out) - st->out_len)
        n = sizeof(st->out) - st->out_len; /* cannot happen: our commands are short */
    memcpy(st->out + st->out_len, p, n);
    st->out_len += n;
}

static void send_text(struct tls_starttls *st, const char *s)
{
    send_bytes(st, (const uint8_t *)s, strlen(s));
}

/* The bytes a message will quote: the start of the reply it is about. */
static void quote(struct tls_starttls *st, const uint8_t *p, size_t n)
{
    st->first_len = n < sizeof(st->first) ? n : sizeof(st->first);
    memmove(st->first, p, st->first_len);
}

static void fail(struct tls_starttls *st, enum tls_starttls_fail why)
{
    st->status = TLS_STARTTLS_FAILED;
    st->fail = why;
}

/* p/n is in buf, up to its end: the reply the failure is about */
static void fail_quoting(struct tls_starttls *st, enum tls_starttls_fail why, const uint8_t *p,
                         size_t n)
{
    quote(st, p, n);
    if (why == TLS_STARTTLS_FAIL_TLS) /* what came before the record's first byte */
        st->tls_at = st->received - (size_t)(st->buf + st->len - p);
    fail(st, why);
}

static void done(struct tls_starttls *st)
{
    st->status = TLS_STARTTLS_DONE;
}

/* The start of a TLS record (handshake or alert, RFC 8446 5.1: legacy version 3.x) where
 * plaintext was expected: an implicit-TLS port, or a server that switched protocols. One byte
 * 0x16 or 0x15 is enough: no text protocol begins a reply with it. */
static bool looks_tls(const uint8_t *p, size_t n)
{
    return n && (p[0] == 0x16 || p[0] == 0x15) && (n < 2 || p[1] == 0x03);
}

/* Whether l/n begins with word (no case) followed by the end, a space or one of stops. */
static bool word_at(const uint8_t *l, size_t n, const char *word, const char *stops)
{
    size_t k = strlen(word);
    if (n < k || strncasecmp((const char *)l, word, k) != 0)
        return false;
    return n == k || l[k] == ' ' || (stops && l[k] && strchr(stops, l[k]));
}

/* The first occurrence of needle in p/n, or NULL (memmem is not POSIX). */
static const uint8_t *find(const uint8_t *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; k && i + k <= n; i++)
        if (p[i] == (uint8_t)needle[0] && memcmp(p + i, needle, k) == 0)
            return p + i;
    return NULL;
}

/* A word anywhere in the line, between spaces (IMAP's CAPABILITY in a greeting). */
static bool has_word(const uint8_t *l, size_t n, const char *word)
{
    size_t k = strlen(word);
    for (size_t i = 0; i + k <= n; i++)
        if ((i == 0 || l[i - 1] == ' ' || l[i - 1] == '[') &&
            strncasecmp((const char *)l + i, word, k) == 0 &&
            (i + k == n || l[i + k] == ' ' || l[i + k] == ']'))
            return true;
    return false;
}

/* ---- replies with three-digit codes: SMTP and LMTP (RFC 5321 4.2), FTP (RFC 959 4.2), NNTP
 * (RFC 3977 3.2) ---------------------------------------------------------------------------- */

/* RFC 5321 4.2: Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ]
 * CRLF. 0 with the code and whether more lines follow. */
static int reply_code(const uint8_t *l, size_t n, uint16_t *code, bool *more)
{
    if (n < 3)
        return -1;
    for (size_t i = 0; i < 3; i++)
        if (l[i] < '0' || l[i] > '9')
            return -1;
    if (l[0] < '1' || l[0] > '5' || (n > 3 && l[3] != ' ' && l[3] != '-'))
        return -1;
    *code = (uint16_t)((l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0'));
    *more = n > 3 && l[3] == '-';
    return 0;
}

/* A whole reply with code: the step's next move. */
static void coded_reply(struct tls_starttls *st, uint16_t code)
{
    const struct proto_info *pi = &protos[st->proto];
    bool negative = code >= 400;
    switch (st->step) {
    case STEP_GREETING:
        /* RFC 959 5.4: 120 "ready in nnn minutes" comes before the 220 */
        if (st->proto == TLS_STARTTLS_FTP && code == 120)
            return;
        if (code == 220 || (st->proto == TLS_STARTTLS_NNTP && (code == 200 || code == 201))) {
            send_text(st, pi->hello ? pi->hello : pi->command);
            st->step = pi->hello ? STEP_HELLO : STEP_STARTTLS;
            return;
        }
        break;
    case STEP_HELLO:
        if (code == 250) {
            send_text(st, pi->command);
            st->step = STEP_STARTTLS;
            return;
        }
        break;
    case STEP_STARTTLS:
        /* RFC 3207 4: 220; RFC 4217 4: 234; RFC 4642 2.2.2: 382 */
        if ((st->proto == TLS_STARTTLS_FTP && code == 234) ||
            (st->proto == TLS_STARTTLS_NNTP && code == 382) ||
            ((st->proto == TLS_STARTTLS_SMTP || st->proto == TLS_STARTTLS_LMTP) && code == 220)) {
            done(st);
            return;
        }
        break;
    case STEP_FEATURES:
        break;
    }
    fail(st, negative ? TLS_STARTTLS_FAIL_REFUSED : TLS_STARTTLS_FAIL_UNEXPECTED);
}

static void coded_line(struct tls_starttls *st, const uint8_t *l, size_t n)
{
    uint16_t code;
    bool more;
    if (st->in_reply && st->proto == TLS_STARTTLS_FTP) {
        /* RFC 959 4.2: the lines between the first and the last are free text; the last
         * begins with the first's code and a space */
        if (n < 3 || memcmp(l, st->first, 3) != 0 || (n > 3 && l[3] != ' '))
            return;
        st->in_reply = false;
        coded_reply(st, st->code);
        return;
    }
    if (reply_code(l, n, &code, &more) || (st->in_reply && code != st->code)) {
        /* RFC 5321 4.2.1: every line of a multi-line reply has the same code */
        fail_quoting(st, TLS_STARTTLS_FAIL_UNEXPECTED, l, n);
        return;
    }
    if (!st->in_reply) {
        st->code = code;
        quote(st, l, n);
    }
    /* RFC 3207 4: EHLO's reply lists the STARTTLS keyword */
    if (st->step == STEP_HELLO && n > 4 && word_at(l + 4, n - 4, "STARTTLS", NULL))
        st->offered = true;
    st->in_reply = more;
    if (!more)
        coded_reply(st, code);
}

/* ---- IMAP (RFC 9051 7.1, RFC 3501), POP3 (RFC 2595 4), ManageSieve (RFC 5804 1.7) ------- */

/* A positive answer: to the greeting, our STARTTLS command follows; to the command, TLS does. */
static void positive(struct tls_starttls *st)
{
    if (st->step == STEP_STARTTLS) {
        done(st);
        return;
    }
    send_text(st, protos[st->proto].command);
    st->step = STEP_STARTTLS;
}

static void imap_line(struct tls_starttls *st, const uint8_t *l, size_t n)
{
    quote(st, l, n);
    if (n >= 2 && l[0] == '*' && l[1] == ' ') {
        const uint8_t *w = l + 2;
        size_t k = n - 2;
        if (word_at(w, k, "BYE", NULL)) {
            fail(st, TLS_STARTTLS_FAIL_REFUSED);
        } else if (st->step == STEP_STARTTLS) {
            return; /* an untagged response before the tagged one */
        } else if (word_at(w, k, "OK", NULL)) {
            st->offered = has_word(l, n, "STARTTLS");
            positive(st);
        } else if (word_at(w, k, "PREAUTH", NULL)) {
            /* RFC 3501 6.2.1: STARTTLS only in the not-authenticated state */
            fail(st, TLS_STARTTLS_FAIL_REFUSED);
        } else {
            fail(st, TLS_STARTTLS_FAIL_UNEXPECTED);
        }
        return;
    }
    if (st->step == STEP_STARTTLS && n >= 5 && memcmp(l, "a001 ", 5) == 0) {
        if (word_at(l + 5, n - 5, "OK", NULL))
            done(st);
        else if (word_at(l + 5, n - 5, "NO", NULL) || word_at(l + 5, n - 5, "BAD", NULL))
            fail(st, TLS_STARTTLS_FAIL_REFUSED);
        else
            fail(st, TLS_STARTTLS_FAIL_UNEXPECTED);
        return;
    }
    fail(st, TLS_STARTTLS_FAIL_UNEXPECTED);
}

static void pop3_line(struct tls_starttls *st, const uint8_t *l, size_t n)
{
    quote(st, l, n);
    if (word_at(l, n, "+OK", NULL)) {
        positive(st);
        return;
    }
    fail(st,
         word_at(l, n, "-ERR", NULL) ? TLS_STARTTLS_FAIL_REFUSED : TLS_STARTTLS_FAIL_UNEXPECTED);
}

static void sieve_line(struct tls_starttls *st, const uint8_t *l, size_t n)
{
    quote(st, l, n);
    /* RFC 5804 1.7: capability lines are strings ("STARTTLS", "IMPLEMENTATION" "x", or a
     * {N} literal); the response ends with OK, NO or BYE and an optional (code) and text */
    if (n && (l[0] == '"' || l[0] == '{')) {
        if (word_at(l, n, "\"STARTTLS\"", NULL))
            st->offered = true;
        return;
    }
    if (word_at(l, n, "OK", "(")) {
        positive(st);
        return;
    }
    fail(st, word_at(l, n, "NO", "(") || word_at(l, n, "BYE", "(") ? TLS_STARTTLS_FAIL_REFUSED
                                                                   : TLS_STARTTLS_FAIL_UNEXPECTED);
}

/* Every whole line in buf to on_line, then what is left moved to the front. Lines end in LF,
 * with or without CR (servers send bare LF too). */
static void lines(struct tls_starttls *st,
                  void (*on_line)(struct tls_starttls *, const uint8_t *, size_t))
{
    size_t off = 0;
    while (st->status == TLS_STARTTLS_RUNNING && off < st->len) {
        const uint8_t *start = st->buf + off;
        size_t avail = st->len - off;
        if (!st->in_reply && looks_tls(start, avail)) {
            fail_quoting(st, TLS_STARTTLS_FAIL_TLS, start, avail);
            break;
        }
        const uint8_t *nl = memchr(start, '\n', avail);
        if (nl == NULL) {
            if (off == 0 && st->len == sizeof(st->buf))
                fail_quoting(st, TLS_STARTTLS_FAIL_TOO_LONG, start, avail);
            break;
        }
        size_t n = (size_t)(nl - start);
        off += n + 1;
        on_line(st, start, n && start[n - 1] == '\r' ? n - 1 : n);
    }
    memmove(st->buf, st->buf + off, st->len - off);
    st->len -= off;
}

/* ---- LDAP (RFC 4511 4.14, 4.12) ------------------------------------------------------------ */

/* RFC 4511 4.14.1: ExtendedRequest { requestName [0] "1.3.6.1.4.1.1466.20037" }, message 1 */
static const uint8_t ldap_starttls[] = {
    0x30, 0x1d,       /* LDAPMessage SEQUENCE */
    0x02, 0x01, 0x01, /* messageID 1 */
    0x77, 0x18,       /* [APPLICATION 23] ExtendedRequest */
    0x80, 0x16,       /* [0] requestName, LDAPOID */
    '1',  '.',  '3',  '.', '6', '.', '1', '.', '4', '.', '1',
    '.',  '1',  '4',  '6', '6', '.', '2', '0', '0', '3', '7',
};
_Static_assert(sizeof(ldap_starttls) == 31, "LDAP StartTLS request: 2 + 29 bytes");

/* X.690 8.1.2, 8.1.3: one tag byte (low tag numbers only, as LDAP uses) and a definite length
 * of at most 4 bytes; val views the contents. */
static int ber_tlv(struct tls_cursor *c, uint8_t *tag, struct tls_cursor *val)
{
    uint8_t t, l;
    int rc;
    if ((rc = tls_cursor_u8(c, &t)) || (rc = tls_cursor_u8(c, &l)))
        return rc;
    if ((t & 0x1f) == 0x1f || l == 0x80 || l > 0x84)
        return TLS_E_DER; /* high tag number, indefinite or absurd length */
    size_t n = l;
    if (l & 0x80) {
        n = 0;
        for (unsigned i = 0; i < (l & 0x7fu); i++) {
            uint8_t b;
            if ((rc = tls_cursor_u8(c, &b)))
                return rc;
            n = (n << 8) | b;
        }
    }
    const uint8_t *p;
    if ((rc = tls_cursor_bytes(c, n, &p)))
        return rc;
    *tag = t;
    *val = tls_cursor_make(p, n);
    return 0;
}

/* A non-negative INTEGER or ENUMERATED of at most 4 bytes. */
static int ber_uint(const struct tls_cursor *v, uint32_t *out)
{
    if (v->len == 0 || v->len > 4 || (v->p[0] & 0x80))
        return TLS_E_DER;
    uint32_t x = 0;
    for (size_t i = 0; i < v->len; i++)
        x = (x << 8) | v->p[i];
    *out = x;
    return 0;
}

static const char *ldap_result_name(uint32_t code)
{
    switch (code) {
    case 1:
        return "operationsError";
    case 2:
        return "protocolError";
    case 3:
        return "timeLimitExceeded";
    case 12:
        return "unavailableCriticalExtension";
    case 13:
        return "confidentialityRequired";
    case 51:
        return "busy";
    case 52:
        return "unavailable";
    case 53:
        return "unwillingToPerform";
    case 80:
        return "other";
    default:
        return "";
    }
}

static void ldap_reply(struct tls_starttls *st)
{
    struct tls_cursor all = tls_cursor_make(st->buf, st->len), msg;
    uint8_t tag;
    if (st->len && st->buf[0] != 0x30) {
        fail_quoting(
            st, looks_tls(st->buf, st->len) ? TLS_STARTTLS_FAIL_TLS : TLS_STARTTLS_FAIL_UNEXPECTED,
            st->buf, st->len);
        return;
    }
    int rc = ber_tlv(&all, &tag, &msg);
    if (rc == TLS_E_TRUNCATED) {
        if (st->len == sizeof(st->buf))
            fail_quoting(st, TLS_STARTTLS_FAIL_TOO_LONG, st->buf, st->len);
        return; /* not whole yet */
    }
    size_t used = st->len - all.len;
    struct tls_cursor id, op, result, dn, diag;
    uint8_t id_tag = 0, op_tag = 0, r_tag = 0, dn_tag = 0, diag_tag = 0;
    uint32_t msgid = 0, code = 0;
    /* RFC 4511 4.2: LDAPMessage ::= SEQUENCE { messageID, protocolOp, controls [0] OPTIONAL };
     * 4.12: ExtendedResponse ::= [APPLICATION 24] SEQUENCE { COMPONENTS OF LDAPResult, ... };
     * 4.1.9: LDAPResult ::= resultCode ENUMERATED, matchedDN, diagnosticMessage, ... */
    if (rc || ber_tlv(&msg, &id_tag, &id) || id_tag != 0x02 || ber_uint(&id, &msgid) ||
        ber_tlv(&msg, &op_tag, &op)) {
        snprintf(st->detail, sizeof(st->detail), "not an LDAPMessage");
        fail_quoting(st, TLS_STARTTLS_FAIL_UNEXPECTED, st->buf, used);
        return;
    }
    if (op_tag != 0x78 || ber_tlv(&op, &r_tag, &result) || r_tag != 0x0a ||
        ber_uint(&result, &code) || ber_tlv(&op, &dn_tag, &dn) || dn_tag != 0x04 ||
        ber_tlv(&op, &diag_tag, &diag) || diag_tag != 0x04) {
        snprintf(st->detail, sizeof(st->detail),
                 "message %u is not an ExtendedResponse (tag 0x%02x)", (unsigned)msgid, op_tag);
        fail_quoting(st, TLS_STARTTLS_FAIL_UNEXPECTED, st->buf, used);
        return;
    }
    quote(st, diag.p, diag.len);
    if (msgid == 0) {
        /* RFC 4511 4.4.1: an unsolicited Notice of Disconnection */
        snprintf(st->detail, sizeof(st->detail), "notice of disconnection, resultCode %u %s",
                 (unsigned)code, ldap_result_name(code));
        fail(st, TLS_STARTTLS_FAIL_REFUSED);
        return;
    }
    if (msgid != 1) {
        snprintf(st->detail, sizeof(st->detail), "an answer to message %u, not to 1",
                 (unsigned)msgid);
        fail(st, TLS_STARTTLS_FAIL_UNEXPECTED);
        return;
    }
    if (code != 0) {
        snprintf(st->detail, sizeof(st->detail), "resultCode %u %s", (unsigned)code,
                 ldap_result_name(code));
        fail(st, TLS_STARTTLS_FAIL_REFUSED);
        return;
    }
    memmove(st->buf, st->buf + used, st->len - used);
    st->len -= used;
    done(st);
}

/* ---- PostgreSQL (protocol 3.0, 53.2.10 SSL Session Encryption) ------------------------------ */

/* SSLRequest: Int32 length 8, Int32 80877103 (1234 << 16 | 5679) */
static const uint8_t pg_sslrequest[8] = {0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2f};

static void pg_error(struct tls_starttls *st, bool eof);

static void postgres_reply(struct tls_starttls *st)
{
    uint8_t b = st->buf[0];
    if (b == 'S') {
        memmove(st->buf, st->buf + 1, st->len - 1);
        st->len--;
        done(st);
        return;
    }
    if (b == 'N') {
        snprintf(st->detail, sizeof(st->detail), "it answered 'N' (SSL is off)");
        fail(st, TLS_STARTTLS_FAIL_REFUSED);
        return;
    }
    if (b != 'E') {
        fail_quoting(
            st, looks_tls(st->buf, st->len) ? TLS_STARTTLS_FAIL_TLS : TLS_STARTTLS_FAIL_UNEXPECTED,
            st->buf, st->len);
        return;
    }
    pg_error(st, false);
}

/* An ErrorResponse to SSLRequest: a server older than SSL support answers in protocol 2 ('E'
 * and a C string), one that turns the connection away (too many clients, no process to serve
 * it) in protocol 2 or 3 ('E', Int32 length, fields of a type byte and a C string, then 0).
 * Either way the server closes next: the answer is read as soon as its text ends (the 0 that
 * ends its string or its fields, or its length), or at the close (eof), whatever came, and
 * quoted by its message (protocol 3's M field). Nothing is waited for past that. */
static void pg_error(struct tls_starttls *st, bool eof)
{
    const uint8_t *b = st->buf, *end = st->buf + st->len;
    bool v3 = st->len >= 2 && b[1] == 0; /* a length's first byte; a message's is text */
    if (st->len >= 2 && !v3 && (b[1] < 0x20 || b[1] == 0x7f)) {
        fail_quoting(st, TLS_STARTTLS_FAIL_UNEXPECTED, b, st->len); /* neither */
        return;
    }
    bool whole = false;
    const uint8_t *msg = b + 1, *msg_end = end;
    if (v3 && st->len >= 5) {
        uint32_t n = ((uint32_t)b[1] << 24) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 8) | b[4];
        if (n < 4) {
            fail_quoting(st, TLS_STARTTLS_FAIL_UNEXPECTED, b, st->len);
            return;
        }
        whole = st->len - 1 >= n; /* whole by its length */
        if (whole)
            end = b + 1 + n;
        msg = b + 5;
        msg_end = end;
        /* fields: a type byte and a C string each, then a 0 */
        for (const uint8_t *p = b + 5; p < end;) {
            uint8_t type = *p++;
            if (type == 0) {
                whole = true;
                break;
            }
            const uint8_t *z = memchr(p, 0, (size_t)(end - p));
            if (type == 'M') {
                msg = p;
                msg_end = z ? z : end;
            }
            if (z == NULL)
                break;
            p = z + 1;
        }
    } else if (!v3) {
        const uint8_t *z = memchr(b + 1, 0, st->len - 1);
        whole = z != NULL;
        msg_end = z ? z : end;
        while (msg_end > msg && (msg_end[-1] == '\n' || msg_end[-1] == '\r'))
            msg_end--;
    }
    if (!whole && !eof)
        return;
    quote(st, msg, (size_t)(msg_end - msg));
    snprintf(st->detail, sizeof(st->detail), "it answered SSLRequest with an ErrorResponse%s",
             v3 ? "" : " (protocol 2)");
    fail(st, TLS_STARTTLS_FAIL_REFUSED);
}

/* ---- MySQL and MariaDB (the client/server protocol's connection phase) -------------------- */

#define MYSQL_CLIENT_LONG_PASSWORD 0x00000001u
#define MYSQL_CLIENT_LONG_FLAG 0x00000004u
#define MYSQL_CLIENT_PROTOCOL_41 0x00000200u
#define MYSQL_CLIENT_SSL 0x00000800u
#define MYSQL_CLIENT_TRANSACTIONS 0x00002000u
#define MYSQL_CLIENT_SECURE_CONNECTION 0x00008000u
#define MYSQL_CLIENT_PLUGIN_AUTH 0x00080000u

static void mysql_packet(struct tls_starttls *st)
{
    if (st->len < 5)
        return; /* the header and the payload's first byte, which tells a greeting */
    size_t n = st->buf[0] | ((size_t)st->buf[1] << 8) | ((size_t)st->buf[2] << 16);
    uint8_t seq = st->buf[3];
    if (n == 0 || (st->buf[4] != 0x0a && st->buf[4] != 0xff)) {
        /* not a greeting (protocol 10) or an error: nothing is waited for */
        snprintf(st->detail, sizeof(st->detail), "not a handshake packet (protocol %u)",
                 st->buf[4]);
        fail_quoting(
            st, looks_tls(st->buf, st->len) ? TLS_STARTTLS_FAIL_TLS : TLS_STARTTLS_FAIL_UNEXPECTED,
            st->buf, st->len);
        return;
    }
    if (4 + n > sizeof(st->buf)) {
        fail_quoting(st, TLS_STARTTLS_FAIL_TOO_LONG, st->buf, st->len);
        return;
    }
    if (st->len < 4 + n)
        return;
    const uint8_t *p = st->buf + 4;
    struct tls_cursor c = tls_cursor_make(p, n);
    uint8_t version;
    tls_cursor_u8(&c, &version); /* n > 0 */
    if (version == 0xff) {
        /* ERR_Packet: 0xff, error_code int<2>, ['#' sql_state string<5>], error_message */
        uint16_t code = 0;
        if (c.len >= 2)
            code = (uint16_t)(c.p[0] | (c.p[1] << 8));
        size_t skip = c.len >= 2 ? 2 : c.len;
        if (c.len >= 8 && c.p[2] == '#')
            skip = 8;
        quote(st, c.p + skip, c.len - skip);
        snprintf(st->detail, sizeof(st->detail), "error %u", code);
        fail(st, TLS_STARTTLS_FAIL_REFUSED);
        return;
    }
    /* Protocol::HandshakeV10: server_version string<NUL>, thread_id int<4>,
     * auth_plugin_data_part_1 string<8>, filler int<1>, capability_flags_1 int<2>, then
     * optionally character_set int<1>, status_flags int<2>, capability_flags_2 int<2> */
    const uint8_t *nul = memchr(c.p, 0, c.len);
    const uint8_t *skip;
    uint16_t lo = 0, hi = 0, status;
    uint8_t charset;
    if (nul == NULL || tls_cursor_bytes(&c, (size_t)(nul - c.p) + 1, &skip) ||
        tls_cursor_bytes(&c, 4 + 8 + 1, &skip) || c.len < 2) {
        snprintf(st->detail, sizeof(st->detail), "a truncated handshake packet");
        fail_quoting(st, TLS_STARTTLS_FAIL_UNEXPECTED, st->buf, 4 + n);
        return;
    }
    lo = (uint16_t)(c.p[0] | (c.p[1] << 8));
    tls_cursor_bytes(&c, 2, &skip);
    if (tls_cursor_u8(&c, &charset) == 0 && tls_cursor_u16(&c, &status) == 0 && c.len >= 2)
        hi = (uint16_t)(c.p[0] | (c.p[1] << 8));
    uint32_t caps = lo | ((uint32_t)hi << 16);
    quote(st, p + 1, (size_t)(nul - (p + 1))); /* the server version */
    if (!(caps & MYSQL_CLIENT_SSL)) {
        fail(st, TLS_STARTTLS_FAIL_NOT_OFFERED);
        return;
    }
    /* Protocol::SSLRequest: capability flags int<4>, max packet size int<4>, character set
     * int<1>, filler string<23>; the next sequence number */
    uint32_t want = MYSQL_CLIENT_LONG_PASSWORD | MYSQL_CLIENT_LONG_FLAG | MYSQL_CLIENT_PROTOCOL_41 |
                    MYSQL_CLIENT_TRANSACTIONS | MYSQL_CLIENT_SECURE_CONNECTION |
                    MYSQL_CLIENT_PLUGIN_AUTH;
    uint32_t ours = (want & caps) | MYSQL_CLIENT_SSL;
    uint8_t req[4 + 32] = {32, 0, 0, (uint8_t)(seq + 1)};
    for (int i = 0; i < 4; i++)
        req[4 + i] = (uint8_t)(ours >> (8 * i));
    req[8 + 3] = 0x01; /* max packet size 16 MiB */
    req[12] = 0x21;    /* utf8_general_ci */
    send_bytes(st, req, sizeof(req));
    memmove(st->buf, st->buf + 4 + n, st->len - 4 - n);
    st->len -= 4 + n;
    done(st);
}

/* ---- XMPP (RFC 6120 5.4) ------------------------------------------------------------------- */

/* The end of the element that starts at p (its '>' of "/>", or of its end tag "</name>"), as
 * an offset past it into buf, or 0 while it is not all there. */
static size_t element_end(const struct tls_starttls *st, const uint8_t *p, const char *end_tag)
{
    const uint8_t *gt = memchr(p, '>', (size_t)(st->buf + st->len - p));
    if (gt == NULL)
        return 0;
    if (gt[-1] == '/')
        return (size_t)(gt + 1 - st->buf);
    const uint8_t *e = find(gt, (size_t)(st->buf + st->len - gt), end_tag);
    return e ? (size_t)(e - st->buf) + strlen(end_tag) : 0;
}

static void xmpp_input(struct tls_starttls *st)
{
    const uint8_t *b = st->buf;
    size_t n = st->len, lead = 0;
    while (lead < n && (b[lead] == ' ' || b[lead] == '\t' || b[lead] == '\r' || b[lead] == '\n'))
        lead++;
    if (lead < n && b[lead] != '<') {
        fail_quoting(st,
                     looks_tls(b + lead, n - lead) ? TLS_STARTTLS_FAIL_TLS
                                                   : TLS_STARTTLS_FAIL_UNEXPECTED,
                     b + lead, n - lead);
        return;
    }
    const uint8_t *err = find(b, n, "<stream:error");
    if (err) {
        /* RFC 6120 4.9: a stream error, then the stream ends */
        if (find(err, (size_t)(b + n - err), "</stream:error>") ||
            find(err, (size_t)(b + n - err), "</stream:stream>") || n == sizeof(st->buf))
            fail_quoting(st, TLS_STARTTLS_FAIL_REFUSED, err, (size_t)(b + n - err));
        return;
    }
    /* RFC 6120 5.4.2.3: <failure/> and the stream's end */
    const uint8_t *f = st->step == STEP_STARTTLS ? find(b, n, "<failure") : NULL;
    const uint8_t *closed = find(b, n, "</stream:stream>");
    if (f || closed) {
        fail_quoting(st, TLS_STARTTLS_FAIL_REFUSED, f ? f : closed,
                     (size_t)(b + n - (f ? f : closed)));
        return;
    }
    if (st->step == STEP_FEATURES) {
        f = find(b, n, "<stream:features");
        size_t end = f ? element_end(st, f, "</stream:features>") : 0;
        if (end == 0) {
            if (n == sizeof(st->buf))
                fail_quoting(st, TLS_STARTTLS_FAIL_TOO_LONG, f ? f : b,
                             f ? n - (size_t)(f - b) : n);
            return;
        }
        quote(st, f, end - (size_t)(f - b));
        if (find(f, end - (size_t)(f - b), "<starttls") == NULL) {
            fail(st, TLS_STARTTLS_FAIL_NOT_OFFERED);
            return;
        }
        st->offered = true;
        memmove(st->buf, st->buf + end, n - end);
        st->len -= end;
        send_text(st, protos[st->proto].command);
        st->step = STEP_STARTTLS;
        if (st->len == 0)
            return;
        b = st->buf;
        n = st->len;
    }
    /* RFC 6120 5.4.2.3: <proceed/> */
    if ((f = find(b, n, "<failure"))) {
        fail_quoting(st, TLS_STARTTLS_FAIL_REFUSED, f, (size_t)(b + n - f));
        return;
    }
    const uint8_t *p = find(b, n, "<proceed");
    size_t end = p ? element_end(st, p, "</proceed>") : 0;
    if (end == 0) {
        if (n == sizeof(st->buf))
            fail_quoting(st, TLS_STARTTLS_FAIL_TOO_LONG, b, n);
        return;
    }
    quote(st, p, end - (size_t)(p - b));
    memmove(st->buf, st->buf + end, n - end);
    st->len -= end;
    done(st);
}

/* ---- the engine ---------------------------------------------------------------------------- */

void tls_starttls_init(struct tls_starttls *st, enum tls_starttls_proto proto, const char *host,
                       size_t max_bytes)
{
    memset(st, 0, sizeof(*st));
    st->proto = (unsigned)proto <= TLS_STARTTLS_PROTO_LAST ? proto : TLS_STARTTLS_NONE;
    st->max_bytes = max_bytes && max_bytes < TLS_STARTTLS_MAX ? max_bytes : TLS_STARTTLS_MAX;
    /* the host is ours (a target name or address), but XML-quoted all the same */
    size_t k = 0;
    for (const char *h = host ? host : ""; *h && k < sizeof(st->host) - 1; h++)
        st->host[k++] = strchr("'\"<>&", *h) ? '_' : *h;
    st->step = STEP_GREETING;
    switch (st->proto) {
    case TLS_STARTTLS_NONE:
        done(st);
        return;
    case TLS_STARTTLS_LDAP:
        send_bytes(st, ldap_starttls, sizeof(ldap_starttls));
        st->step = STEP_STARTTLS;
        return;
    case TLS_STARTTLS_POSTGRES:
        send_bytes(st, pg_sslrequest, sizeof(pg_sslrequest));
        st->step = STEP_STARTTLS;
        return;
    case TLS_STARTTLS_XMPP: {
        /* RFC 6120 4.7: the initiating entity's stream header */
        char header[TLS_STARTTLS_OUT];
        snprintf(header, sizeof(header),
                 "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                 "xmlns:stream='http://etherx.jabber.org/streams' to='%s' version='1.0'>",
                 st->host);
        send_text(st, header);
        st->step = STEP_FEATURES;
        return;
    }
    case TLS_STARTTLS_SMTP:
    case TLS_STARTTLS_LMTP:
    case TLS_STARTTLS_IMAP:
    case TLS_STARTTLS_POP3:
    case TLS_STARTTLS_FTP:
    case TLS_STARTTLS_MYSQL:
    case TLS_STARTTLS_NNTP:
    case TLS_STARTTLS_SIEVE:
        return; /* the server speaks first */
    }
}

/* Act on what buf holds. */
static void process(struct tls_starttls *st)
{
    switch (st->proto) {
    case TLS_STARTTLS_NONE:
        return;
    case TLS_STARTTLS_SMTP:
    case TLS_STARTTLS_LMTP:
    case TLS_STARTTLS_FTP:
    case TLS_STARTTLS_NNTP:
        lines(st, coded_line);
        return;
    case TLS_STARTTLS_IMAP:
        lines(st, imap_line);
        return;
    case TLS_STARTTLS_POP3:
        lines(st, pop3_line);
        return;
    case TLS_STARTTLS_SIEVE:
        lines(st, sieve_line);
        return;
    case TLS_STARTTLS_LDAP:
        ldap_reply(st);
        return;
    case TLS_STARTTLS_POSTGRES:
        postgres_reply(st);
        return;
    case TLS_STARTTLS_MYSQL:
        mysql_packet(st);
        return;
    case TLS_STARTTLS_XMPP:
        xmpp_input(st);
        return;
    }
}

/* Bytes after the final reply: the ClientHello has not been sent, so they cannot be TLS that
 * answers it (a server that injects plaintext, or one that speaks before its turn). */
static void extra(struct tls_starttls *st, const uint8_t *p, size_t n)
{
    if (st->fail != TLS_STARTTLS_FAIL_EXTRA)
        quote(st, p, n);
    st->extra += n;
    fail(st, TLS_STARTTLS_FAIL_EXTRA);
}

void tls_starttls_input(struct tls_starttls *st, const uint8_t *p, size_t n)
{
    while (n > 0 && st->status == TLS_STARTTLS_RUNNING) {
        size_t room = sizeof(st->buf) - st->len;
        size_t left = st->max_bytes - st->received;
        size_t k = n < room ? n : room;
        if (k > left)
            k = left;
        if (k == 0) {
            /* a reply that never ends is quoted by its first line */
            if (!st->in_reply)
                quote(st, st->buf, st->len);
            fail(st, left == 0 ? TLS_STARTTLS_FAIL_LIMIT : TLS_STARTTLS_FAIL_TOO_LONG);
            return;
        }
        memcpy(st->buf + st->len, p, k);
        st->len += k;
        st->received += k;
        p += k;
        n -= k;
        process(st);
        if (st->status == TLS_STARTTLS_DONE && st->len > 0) {
            size_t rest = st->len;
            st->len = 0;
            extra(st, st->buf, rest);
        }
    }
    if (n > 0 && st->status == TLS_STARTTLS_DONE)
        extra(st, p, n);
    else if (n > 0 && st->fail == TLS_STARTTLS_FAIL_EXTRA)
        st->extra += n;
}

void tls_starttls_eof(struct tls_starttls *st)
{
    if (st->status != TLS_STARTTLS_RUNNING)
        return;
    if (st->proto == TLS_STARTTLS_POSTGRES && st->len && st->buf[0] == 'E') {
        pg_error(st, true); /* the close ends an ErrorResponse that never said it was whole */
        return;
    }
    if (st->len)
        quote(st, st->buf, st->len);
    fail(st, TLS_STARTTLS_FAIL_CLOSED);
}

const uint8_t *tls_starttls_output(const struct tls_starttls *st, size_t *len)
{
    *len = st->out_len;
    return st->out;
}

void tls_starttls_output_consume(struct tls_starttls *st, size_t n)
{
    if (n > st->out_len)
        n = st->out_len;
    memmove(st->out, st->out + n, st->out_len - n);
    st->out_len -= n;
}

/* What the dialogue waits for at step s. */
static const char *waiting_at(const struct tls_starttls *st, int s)
{
    switch ((enum step)s) {
    case STEP_GREETING:
        return st->proto == TLS_STARTTLS_MYSQL ? "server handshake packet" : "greeting";
    case STEP_HELLO:
        return st->proto == TLS_STARTTLS_LMTP ? "reply to LHLO" : "reply to EHLO";
    case STEP_FEATURES:
        return "stream features";
    case STEP_STARTTLS:
        switch (st->proto) {
        case TLS_STARTTLS_LDAP:
            return "StartTLS response";
        case TLS_STARTTLS_POSTGRES:
            return "answer to SSLRequest";
        case TLS_STARTTLS_XMPP:
            return "answer to <starttls/>";
        case TLS_STARTTLS_POP3:
            return "reply to STLS";
        case TLS_STARTTLS_FTP:
            return "reply to AUTH TLS";
        case TLS_STARTTLS_NONE:
        case TLS_STARTTLS_SMTP:
        case TLS_STARTTLS_LMTP:
        case TLS_STARTTLS_IMAP:
        case TLS_STARTTLS_MYSQL:
        case TLS_STARTTLS_NNTP:
        case TLS_STARTTLS_SIEVE:
            return "reply to STARTTLS";
        }
    }
    return "reply";
}

const char *tls_starttls_waiting(const struct tls_starttls *st)
{
    return waiting_at(st, st->step);
}

/* Characters of a reply's escaped text a message shows at most. */
#define QUOTE_SHOWN 200

char *tls_starttls_describe(const struct tls_starttls *st, char *buf, size_t cap)
{
    const struct proto_info *pi = &protos[st->proto];
    const char *wait = waiting_at(st, st->step);
    /* the quote: its escaped text up to QUOTE_SHOWN characters, "..." when it goes on */
    char q[QUOTE_SHOWN + 4], what[160];
    tls_escape_bytes(q, QUOTE_SHOWN + 1, st->first, st->first_len, 0);
    char all[4 * TLS_STARTTLS_QUOTE + 1];
    if (strlen(tls_escape_bytes(all, sizeof(all), st->first, st->first_len, 0)) > strlen(q))
        strcat(q, "...");
    what[0] = 0;
    switch (st->fail) {
    case TLS_STARTTLS_FAIL_NONE:
        snprintf(what, sizeof(what), "%s", st->status == TLS_STARTTLS_DONE ? "done" : "running");
        break;
    case TLS_STARTTLS_FAIL_REFUSED:
        if (st->step == STEP_STARTTLS)
            snprintf(what, sizeof(what), "the server refused %s%s", pi->what,
                     !st->offered && st->proto == TLS_STARTTLS_SMTP
                         ? " (its EHLO reply does not list STARTTLS)"
                         : "");
        else if (st->step == STEP_HELLO)
            snprintf(what, sizeof(what), "the server refused %.4s", pi->hello);
        else if (st->proto == TLS_STARTTLS_MYSQL)
            snprintf(what, sizeof(what), "the server refused the connection");
        else
            snprintf(what, sizeof(what), "the server refused the session (%s)", wait);
        break;
    case TLS_STARTTLS_FAIL_UNEXPECTED:
        snprintf(what, sizeof(what), "the %s is not %s", wait,
                 st->proto == TLS_STARTTLS_LDAP || st->proto == TLS_STARTTLS_MYSQL
                     ? "what the protocol allows"
                     : "a valid reply");
        break;
    case TLS_STARTTLS_FAIL_TLS:
        /* a port that speaks TLS at once answers with TLS from its first byte; one that spoke
         * plaintext first is a STARTTLS service that switched before it was asked to */
        if (st->tls_at == 0)
            snprintf(what, sizeof(what),
                     "the server sent a TLS record where its %s was expected (TLS from the first "
                     "byte? probe HOST:PORT with --starttls none)",
                     wait);
        else
            snprintf(what, sizeof(what),
                     "the server switched to TLS before %s: a TLS record where its %s was "
                     "expected, after %zu bytes of plaintext",
                     pi->what, wait, st->tls_at);
        break;
    case TLS_STARTTLS_FAIL_TOO_LONG:
        snprintf(what, sizeof(what), "%s %s is longer than %d bytes",
                 pi->command && st->proto != TLS_STARTTLS_XMPP ? "a line of the" : "the", wait,
                 TLS_STARTTLS_BUF);
        break;
    case TLS_STARTTLS_FAIL_LIMIT:
        snprintf(what, sizeof(what),
                 "the server sent more than %zu bytes of plaintext and its %s never ended",
                 st->max_bytes, wait);
        break;
    case TLS_STARTTLS_FAIL_EXTRA:
        snprintf(what, sizeof(what),
                 "the server sent %zu bytes after its %s, before the TLS handshake began",
                 st->extra, wait);
        break;
    case TLS_STARTTLS_FAIL_NOT_OFFERED:
        snprintf(what, sizeof(what), "%s",
                 st->proto == TLS_STARTTLS_MYSQL
                     ? "the server does not offer SSL (no CLIENT_SSL in its capabilities)"
                     : "the server does not offer STARTTLS in its stream features");
        break;
    case TLS_STARTTLS_FAIL_CLOSED:
        snprintf(what, sizeof(what),
                 "the server closed the connection while caprobe waited for its %s (%zu bytes "
                 "received)",
                 wait, st->received);
        break;
    }
    const char *label = st->fail == TLS_STARTTLS_FAIL_NOT_OFFERED && st->proto == TLS_STARTTLS_MYSQL
                            ? "server version "
                            : "";
    snprintf(buf, cap, "%s: %s%s%s%s%s%s%s", pi->display, what, st->detail[0] ? ": " : "",
             st->detail, st->first_len ? ": " : "", label, st->first_len ? "\"" : "",
             st->first_len ? q : "");
    if (st->first_len) {
        size_t l = strlen(buf);
        if (l + 1 < cap) {
            buf[l] = '"';
            buf[l + 1] = 0;
        }
    }
    return buf;
}
