/* The output of `netsh http show sslcert` as saved on a Windows server (English), read into its
 * http.sys SSL bindings: UTF-8 or ASCII (cmd's `>`, PowerShell 7), UTF-8 with a byte-order mark,
 * UTF-16LE with one (Windows PowerShell's `>` and Out-File) or UTF-16BE with one; lines end in
 * CRLF or LF. The format (Microsoft's netsh http documentation and the outputs it shows):
 *
 *     SSL Certificate bindings:
 *     -------------------------
 *
 *         IP:port                      : 0.0.0.0:443
 *         Certificate Hash             : 286e7f384d6870afd41a2f645e858814434eb3c3
 *         Application ID               : {4dc3e181-e14b-4a21-b022-59fc669b0914}
 *         Certificate Store Name       : My
 *         ...
 *         Ctl Store Name               : (null)
 *         Negotiate Client Certificate : Disabled
 *         Disable HTTP2                : Not Set
 *      Extended Properties:
 *         PropertyId                   : 0
 *         Receive Window               : 1048576
 *
 * A binding opens with "IP:port", "Hostname:port" or "Central Certificate Store"; its fields
 * follow as "Name : value" lines (the name padded with spaces; a long one with a single space)
 * until the next binding. Fields of later Windows versions are kept as they are, known or not.
 * Pure: bytes in, bindings out, no I/O; what it keeps lives in the caller's arena. The file is
 * whatever was copied from a server, so nothing in it is trusted: every length is bounded, and
 * text from it is escaped wherever it is shown. */
#ifndef TLS_WIRE_NETSH_H
#define TLS_WIRE_NETSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "arena.h"

/* Bytes of a file at most: about 13,000 bindings of Windows Server 2022 in UTF-8, 6,500 in
 * UTF-16. What it takes to read is at most 1.5 times its size (decoded text) plus
 * TLS_NETSH_BINDINGS_MAX bindings of about 300 bytes. */
#define TLS_NETSH_MAX_BYTES ((size_t)16 * 1024 * 1024)
/* Bytes of one line, decoded (netsh's longest is under 100, a host name 255 at most). */
#define TLS_NETSH_LINE_MAX 4096
/* Bindings of one file at most. */
#define TLS_NETSH_BINDINGS_MAX 100000
/* Lines of one binding after its first ("Name : value" and "Extended Properties:") at most: a
 * binding of Windows Server 2025 has about 40. */
#define TLS_NETSH_FIELDS_MAX 256

enum tls_netsh_encoding {
    TLS_NETSH_UTF8,     /* no byte-order mark (ASCII is UTF-8) */
    TLS_NETSH_UTF8_BOM, /* EF BB BF */
    TLS_NETSH_UTF16LE,  /* FF FE, or no mark with a NUL as the second byte */
    TLS_NETSH_UTF16BE,  /* FE FF */
};
/* "UTF-16LE", "UTF-16LE with a byte-order mark" (bom: the file began with one), ... */
const char *tls_netsh_encoding_name(enum tls_netsh_encoding e, bool bom);

/* The three kinds of binding, named as netsh's own commands name them (ipport=, hostnameport=,
 * ccs=). */
enum tls_netsh_kind {
    TLS_NETSH_IPPORT,       /* "IP:port": an address (0.0.0.0 and [::]: every address) */
    TLS_NETSH_HOSTNAMEPORT, /* "Hostname:port": SNI */
    TLS_NETSH_CCS,          /* "Central Certificate Store": a port, SNI names from the store */
};
const char *tls_netsh_kind_name(enum tls_netsh_kind k); /* "ipport", "hostnameport", "ccs" */

/* What a field's value is, and its default in `netsh http add sslcert`. */
enum tls_netsh_type {
    TLS_NETSH_T_HASH,   /* 40 hex digits (the SHA-1 thumbprint), or (null) */
    TLS_NETSH_T_GUID,   /* {8-4-4-4-12 hex digits}, or (null) */
    TLS_NETSH_T_NAME,   /* a store or list name; (null) or empty: none */
    TLS_NETSH_T_ON,     /* Enabled (the default) or Disabled */
    TLS_NETSH_T_OFF,    /* Disabled (the default) or Enabled; Not Set or Set */
    TLS_NETSH_T_NUMBER, /* decimal; 0 the default */
};

/* The fields caprobe knows: id, the label netsh prints, the parameter of `netsh http add|update
 * sslcert` that sets it (NULL: none known), its type. In the order netsh prints them. */
#define TLS_NETSH_FIELDS(X)                                                                        \
    X(CERT_HASH, "Certificate Hash", "certhash", HASH)                                             \
    X(APP_ID, "Application ID", "appid", GUID)                                                     \
    X(CERT_STORE, "Certificate Store Name", "certstorename", NAME)                                 \
    X(VERIFY_REVOCATION, "Verify Client Certificate Revocation", "verifyclientcertrevocation", ON) \
    X(CACHED_ONLY, "Verify Revocation Using Cached Client Certificate Only",                       \
      "verifyrevocationwithcachedclientcertonly", OFF)                                             \
    X(USAGE_CHECK, "Usage Check", "usagecheck", ON)                                                \
    X(FRESHNESS, "Revocation Freshness Time", "revocationfreshnesstime", NUMBER)                   \
    X(URL_TIMEOUT, "URL Retrieval Timeout", "urlretrievaltimeout", NUMBER)                         \
    X(CTL_ID, "Ctl Identifier", "sslctlidentifier", NAME)                                          \
    X(CTL_STORE, "Ctl Store Name", "sslctlstorename", NAME)                                        \
    X(DS_MAPPER, "DS Mapper Usage", "dsmapperusage", OFF)                                          \
    X(NEGOTIATE, "Negotiate Client Certificate", "clientcertnegotiation", OFF)                     \
    X(REJECT, "Reject Connections", "reject", OFF)                                                 \
    X(DISABLE_HTTP2, "Disable HTTP2", "disablehttp2", OFF)                                         \
    X(DISABLE_QUIC, "Disable QUIC", "disablequic", OFF)                                            \
    X(DISABLE_TLS12, "Disable TLS1.2", "disabletls12", OFF)                                        \
    X(DISABLE_TLS13, "Disable TLS1.3", "disabletls13", OFF)                                        \
    X(DISABLE_OCSP, "Disable OCSP Stapling", "disableocspstapling", OFF)                           \
    X(TOKEN_BINDING, "Enable Token Binding", "enabletokenbinding", OFF)                            \
    X(LOG_EXTENDED, "Log Extended Events", "logextendedevents", OFF)                               \
    X(DISABLE_LEGACY_TLS, "Disable Legacy TLS Versions", "disablelegacytls", OFF)                  \
    X(SESSION_TICKET, "Enable Session Ticket", "enablesessionticket", OFF)                         \
    X(DISABLE_SESSION_ID, "Disable Session ID", "disablesessionid", OFF)                           \
    X(CACHING_HELLO, "Enable Caching Client Hello", NULL, OFF)

enum tls_netsh_field_id {
#define TLS_NETSH_FIELD_ENUM(id, label, param, type) TLS_NETSH_F_##id,
    TLS_NETSH_FIELDS(TLS_NETSH_FIELD_ENUM)
#undef TLS_NETSH_FIELD_ENUM
        TLS_NETSH_F_COUNT
};

struct tls_netsh_field_info {
    const char *label; /* as netsh prints it */
    const char *param; /* of netsh http add|update sslcert; NULL: none known */
    enum tls_netsh_type type;
};
const struct tls_netsh_field_info *tls_netsh_field_info(enum tls_netsh_field_id id);

struct tls_netsh_binding {
    enum tls_netsh_kind kind;
    const char *key;      /* "ipport=0.0.0.0:443", "hostnameport=app.example.com:443",
                           * "ccs=443": the binding as netsh's commands take it */
    const char *endpoint; /* the first line's value as written: "[::]:443", "443" */
    const char *host;     /* ipport: the address without brackets; hostnameport: the name;
                           * ccs: NULL */
    struct tls_addr addr; /* ipport: the address */
    uint16_t port;
    size_t line; /* of its first line, from 1 */
    /* The binding's own value of each known field ("Name : value" before any "Extended
     * Properties:"), trimmed, as written ("(null)" too); NULL when the binding has none. */
    const char *known[TLS_NETSH_F_COUNT];
    size_t n_fields;   /* lines after the first: every field, known or not, and sections */
    unsigned n_groups; /* "Extended Properties:" (or other section) lines */
    const char *body;  /* its lines after the first (decoded), for tls_netsh_field_next */
    size_t body_len;
};

struct tls_netsh {
    enum tls_netsh_encoding encoding;
    bool bom;     /* the file began with a byte-order mark (UTF8_BOM, UTF-16 with FF FE or FE FF) */
    bool header;  /* "SSL Certificate bindings:" was seen */
    size_t lines; /* lines of the file */
    const struct tls_netsh_binding *v;
    size_t n;
};

/* Why a file was refused: the line (from 1; 0: the file as a whole) and what is wrong, text from
 * the file escaped (tls/wire/escape.h) and cut. */
struct tls_netsh_error {
    size_t line;
    char message[320];
};

/* Read p/len into out, its strings in arena (which the caller sizes; a cap reached is
 * TLS_E_NOMEM). Returns 0; TLS_E_LIMIT when the file, a line, the bindings or the fields of
 * one exceed the limits above; TLS_E_INVALID when it is not the English output of netsh http
 * show sslcert (a line that is none of its lines, a field outside a binding, a known field
 * twice in one binding, a binding's first line or a hash or GUID that does not parse, bytes that
 * are not UTF-8 or UTF-16 text, a NUL); TLS_E_NOMEM. A file with no binding is valid when it has
 * netsh's header (a server without bindings), invalid otherwise. On failure err says where and
 * why, and out is empty. */
int tls_netsh_parse(struct tls_netsh *out, const uint8_t *p, size_t len, struct tls_arena *arena,
                    struct tls_netsh_error *err);

/* Known field id's value unless the binding has none or it says none: absent, "(null)", empty
 * or "Not Set" give NULL. */
const char *tls_netsh_get(const struct tls_netsh_binding *b, enum tls_netsh_field_id id);
/* A switch: 1 for Enabled or Set, 0 for Disabled or Not Set (any case), -1 when absent or
 * another word. */
int tls_netsh_flag(const struct tls_netsh_binding *b, enum tls_netsh_field_id id);

/* One line of a binding after its first, as views into the decoded text. */
struct tls_netsh_field {
    const char *name; /* trimmed */
    size_t name_len;
    const char *value; /* trimmed; NULL on a section line ("Extended Properties:") */
    size_t value_len;
    unsigned group; /* 0: the binding's own; k: after its k-th section line */
};

/* Where tls_netsh_field_next is in a binding: zeroed to start. */
struct tls_netsh_iter {
    size_t pos;
    unsigned group;
};

/* The binding's lines after its first, in order, blank lines skipped: returns 1 with *out, 0
 * after the last. */
int tls_netsh_field_next(const struct tls_netsh_binding *b, struct tls_netsh_iter *it,
                         struct tls_netsh_field *out);

#endif
