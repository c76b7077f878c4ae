/* The reader of saved `netsh http show sslcert` output (netsh.h): the bytes decoded to UTF-8
 * text once, then its lines classified, each binding's known fields checked and kept. Never does
 * I/O, never trusts a length or a value of the file, and never lets its text into a message
 * unescaped. */
#include "netsh.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "error.h"
#include "escape.h"
#include "hex.h"
#include "utf8.h"

static const struct tls_netsh_field_info field_table[TLS_NETSH_F_COUNT] = {
#define TLS_NETSH_FIELD_INFO(id, label, param, type)                                               \
    [TLS_NETSH_F_##id] = {label, param, TLS_NETSH_T_##type},
    TLS_NETSH_FIELDS(TLS_NETSH_FIELD_INFO)
#undef TLS_NETSH_FIELD_INFO
};

const struct tls_netsh_field_info *tls_netsh_field_info(enum tls_netsh_field_id id)
{
    return (unsigned)id < TLS_NETSH_F_COUNT ? &field_table[id] : NULL;
}

const char *tls_netsh_encoding_name(enum tls_netsh_encoding e, bool bom)
{
    switch (e) {
    case TLS_NETSH_UTF8:
        return "UTF-8";
    case TLS_NETSH_UTF8_BOM:
        return "UTF-8 with a byte-order mark";
    case TLS_NETSH_UTF16LE:
        return bom ? "UTF-16LE with a byte-order mark" : "UTF-16LE";
    case TLS_NETSH_UTF16BE:
        return bom ? "UTF-16BE with a byte-order mark" : "UTF-16BE";
    }
    return "?";
}

const char *tls_netsh_kind_name(enum tls_netsh_kind k)
{
    switch (k) {
    case TLS_NETSH_IPPORT:
        return "ipport";
    case TLS_NETSH_HOSTNAMEPORT:
        return "hostnameport";
    case TLS_NETSH_CCS:
        return "ccs";
    }
    return "?";
}

/* The first line's label of each kind, in enum order. */
static const char *const start_labels[] = {"IP:port", "Hostname:port", "Central Certificate Store"};

static int fail(struct tls_netsh_error *err, int code, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct tls_netsh_error *err, int code, size_t line, const char *fmt, ...)
{
    if (err) {
        err->line = line;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Text of the file for a message: escaped, at most 60 bytes of it, "..." when cut. */
#define QUOTE_MAX 60
static const char *quote(char buf[4 * QUOTE_MAX + 8], const char *s, size_t n)
{
    tls_escape_bytes(buf, 4 * QUOTE_MAX + 4, (const uint8_t *)s, n > QUOTE_MAX ? QUOTE_MAX : n, 0);
    if (n > QUOTE_MAX)
        strcat(buf, "...");
    return buf;
}

static bool same_nocase(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

/* ---- decoding ------------------------------------------------------------------------------ */

/* UTF-16 code units p/n (n even) as UTF-8 into out, which holds 3 bytes per unit: each unit is
 * at most 3 bytes of UTF-8, a surrogate pair 4 for 2 units. */
static int decode_utf16(const uint8_t *p, size_t n, bool be, char *out, size_t *out_len,
                        struct tls_netsh_error *err)
{
    size_t o = 0, line = 1;
    for (size_t i = 0; i < n;) {
        uint32_t u;
        size_t k = tls_utf16_decode(p + i, n - i, be, &u);
        if (k == 0) {
            uint32_t unit =
                be ? (uint32_t)(p[i] << 8 | p[i + 1]) : (uint32_t)(p[i + 1] << 8 | p[i]);
            return fail(err, TLS_E_INVALID, line,
                        unit >= 0xdc00
                            ? "invalid UTF-16: a low surrogate U+%04X without a high one"
                            : "invalid UTF-16: a high surrogate U+%04X without a low one",
                        unit);
        }
        if (u == 0)
            return fail(err, TLS_E_INVALID, line, "a NUL character in UTF-16 text");
        line += u == '\n';
        o += tls_utf8_encode(u, (uint8_t *)out + o);
        i += k;
    }
    *out_len = o;
    return 0;
}

/* The file as NUL-terminated UTF-8 text in the arena. */
static int decode(const uint8_t *p, size_t len, struct tls_arena *a, struct tls_netsh *out,
                  char **text, size_t *text_len, struct tls_netsh_error *err)
{
    if (len > TLS_NETSH_MAX_BYTES)
        return fail(err, TLS_E_LIMIT, 0, "%zu bytes, more than the %zu a file may have", len,
                    TLS_NETSH_MAX_BYTES);
    if (len >= 4 && (memcmp(p, "\xff\xfe\0\0", 4) == 0 || memcmp(p, "\0\0\xfe\xff", 4) == 0))
        return fail(err, TLS_E_INVALID, 0,
                    "UTF-32 text: save the output as UTF-8 or UTF-16 (Out-File -Encoding utf8)");
    size_t skip = 0;
    out->encoding = TLS_NETSH_UTF8;
    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
        out->encoding = TLS_NETSH_UTF8_BOM;
        skip = 3;
    } else if (len >= 2 && p[0] == 0xff && p[1] == 0xfe) {
        out->encoding = TLS_NETSH_UTF16LE;
        skip = 2;
    } else if (len >= 2 && p[0] == 0xfe && p[1] == 0xff) {
        out->encoding = TLS_NETSH_UTF16BE;
        skip = 2;
    } else if (len >= 2 && p[0] != 0 && p[1] == 0) {
        out->encoding = TLS_NETSH_UTF16LE; /* saved without its mark */
    }
    out->bom = skip > 0;
    p += skip;
    len -= skip;
    bool utf16 = out->encoding == TLS_NETSH_UTF16LE || out->encoding == TLS_NETSH_UTF16BE;
    if (utf16 && len % 2)
        return fail(err, TLS_E_INVALID, 0, "UTF-16 text of an odd number of bytes (%zu)", len);
    char *t = tls_arena_alloc(a, utf16 ? len / 2 * 3 + 1 : len + 1);
    if (t == NULL)
        return fail(err, TLS_E_NOMEM, 0, "out of memory");
    if (utf16) {
        int rc = decode_utf16(p, len, out->encoding == TLS_NETSH_UTF16BE, t, text_len, err);
        if (rc)
            return rc;
    } else {
        size_t line = 1;
        for (size_t i = 0; i < len;) {
            uint32_t cp;
            size_t k = p[i] && p[i] < 0x80 ? 1 : tls_utf8_decode(p + i, len - i, &cp);
            if (p[i] == 0)
                return fail(err, TLS_E_INVALID, line,
                            "a NUL byte (UTF-16 text that lost its byte-order mark?)");
            if (k == 0)
                return fail(err, TLS_E_INVALID, line,
                            "byte 0x%02x is not UTF-8: save the output as UTF-8 or UTF-16 "
                            "(Out-File -Encoding utf8)",
                            p[i]);
            line += p[i] == '\n';
            i += k;
        }
        memcpy(t, p, len);
        *text_len = len;
    }
    t[*text_len] = 0;
    *text = t;
    return 0;
}

/* ---- lines --------------------------------------------------------------------------------- */

/* Blanks at either end: spaces, tabs, CR and U+FEFF (a byte-order mark of a second file
 * appended to the first). */
static void trim(const char **s, size_t *n)
{
    for (;;) {
        if (*n && (**s == ' ' || **s == '\t' || **s == '\r')) {
            (*s)++, (*n)--;
        } else if (*n >= 3 && memcmp(*s, "\xef\xbb\xbf", 3) == 0) {
            *s += 3, *n -= 3;
        } else {
            break;
        }
    }
    for (;;) {
        char c = *n ? (*s)[*n - 1] : 0;
        if (c == ' ' || c == '\t' || c == '\r')
            (*n)--;
        else if (*n >= 3 && memcmp(*s + *n - 3, "\xef\xbb\xbf", 3) == 0)
            *n -= 3;
        else
            break;
    }
}

enum line_kind {
    L_BLANK,
    L_HEADER,  /* "SSL Certificate bindings:" */
    L_RULE,    /* the dashes under it */
    L_SECTION, /* "Extended Properties:" */
    L_FIELD,   /* "Name : value" */
    L_OTHER,
};

struct line {
    const char *name, *value;
    size_t name_len, value_len;
};

/* What the line s/n is; a field's or a section's name and value in *l. The separator of a
 * field is its first colon after a blank ("IP:port       : [::]:443"), else its first colon
 * before one ("Name: value", typed by hand). */
static enum line_kind classify(const char *s, size_t n, struct line *l)
{
    trim(&s, &n);
    if (n == 0)
        return L_BLANK;
    if (same_nocase(s, n, "SSL Certificate bindings:"))
        return L_HEADER;
    size_t dashes = 0; /* within s/n: a view, whatever follows it */
    while (dashes < n && s[dashes] == '-')
        dashes++;
    if (dashes == n)
        return L_RULE;
    size_t sep = n;
    for (size_t i = 1; i < n && sep == n; i++)
        if (s[i] == ':' && (s[i - 1] == ' ' || s[i - 1] == '\t'))
            sep = i;
    for (size_t i = 1; i + 1 < n && sep == n; i++)
        if (s[i] == ':' && (s[i + 1] == ' ' || s[i + 1] == '\t'))
            sep = i;
    if (sep == n) {
        if (n < 2 || s[n - 1] != ':')
            return L_OTHER;
        l->name = s;
        l->name_len = n - 1;
        l->value = NULL;
        l->value_len = 0;
        return L_SECTION;
    }
    l->name = s;
    l->name_len = sep;
    trim(&l->name, &l->name_len);
    l->value = s + sep + 1;
    l->value_len = n - sep - 1;
    trim(&l->value, &l->value_len);
    return l->name_len ? L_FIELD : L_OTHER;
}

/* The line at *at of text/len (without its LF and CRs), *at moved past it. */
static void next_line(const char *text, size_t len, size_t *at, const char **s, size_t *n)
{
    *s = text + *at;
    const char *nl = memchr(*s, '\n', len - *at);
    *n = nl ? (size_t)(nl - *s) : len - *at;
    *at += *n + (nl != NULL);
    while (*n && (*s)[*n - 1] == '\r')
        (*n)--;
}

/* ---- values -------------------------------------------------------------------------------- */

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (tls_hex_value(s[i]) < 0)
            return false;
    return true;
}

/* "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" */
static bool is_guid(const char *s, size_t n)
{
    static const size_t groups[] = {8, 4, 4, 4, 12};
    if (n != 38 || s[0] != '{' || s[37] != '}')
        return false;
    size_t at = 1;
    for (size_t g = 0; g < 5; g++) {
        if (!is_hex(s + at, groups[g]))
            return false;
        at += groups[g];
        if (g < 4 && s[at++] != '-')
            return false;
    }
    return true;
}

/* A known field's value, checked where a command would carry it: 0 or -1 (told by the caller).
 */
static int check_value(enum tls_netsh_type type, const char *v, size_t n)
{
    if (same_nocase(v, n, "(null)"))
        return 0;
    switch (type) {
    case TLS_NETSH_T_HASH:
        return n == 40 && is_hex(v, n) ? 0 : -1;
    case TLS_NETSH_T_GUID:
        return is_guid(v, n) ? 0 : -1;
    case TLS_NETSH_T_NAME:
    case TLS_NETSH_T_ON:
    case TLS_NETSH_T_OFF:
    case TLS_NETSH_T_NUMBER:
        return 0; /* kept as written; a command takes it only in a form it knows */
    }
    return -1;
}

static const char *const expected[] = {
    [TLS_NETSH_T_HASH] = "40 hex digits or (null)",
    [TLS_NETSH_T_GUID] = "a GUID in braces ({xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}) or (null)",
    [TLS_NETSH_T_NAME] = "a name",
    [TLS_NETSH_T_ON] = "Enabled or Disabled",
    [TLS_NETSH_T_OFF] = "Enabled or Disabled",
    [TLS_NETSH_T_NUMBER] = "a number",
};

/* A host name as a binding holds it: no blank, control character or quote. */
static bool is_host_name(const char *s, size_t n)
{
    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == 0x7f || c == '"')
            return false;
    }
    return true;
}

/* The first line's value: "A.B.C.D:PORT", "[V6]:PORT", "NAME:PORT" or "PORT" by kind. */
static int parse_endpoint(struct tls_netsh_binding *b, const char *v, size_t n, struct tls_arena *a)
{
    const char *host = v, *port = v;
    size_t host_len = 0, port_len = n;
    if (b->kind != TLS_NETSH_CCS) {
        const char *colon = NULL;
        for (size_t i = 0; i < n; i++)
            if (v[i] == ':')
                colon = v + i;
        if (colon == NULL)
            return -1;
        host_len = (size_t)(colon - v);
        port = colon + 1;
        port_len = n - host_len - 1;
    }
    if (tls_port_parse(port, port_len, &b->port) != 0)
        return -1;
    if (b->kind == TLS_NETSH_IPPORT) {
        bool bracket = host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']';
        if (bracket)
            host++, host_len -= 2;
        if (tls_addr_parse(&b->addr, host, host_len) != 0 ||
            bracket != (b->addr.family == AF_INET6))
            return -1;
    } else if (b->kind == TLS_NETSH_HOSTNAMEPORT && !is_host_name(host, host_len)) {
        return -1;
    }
    char *e = tls_arena_alloc(a, n + 1), *h = host_len ? tls_arena_alloc(a, host_len + 1) : NULL;
    if (e == NULL || (host_len && h == NULL))
        return TLS_E_NOMEM;
    memcpy(e, v, n);
    e[n] = 0;
    b->endpoint = e;
    if (h) {
        memcpy(h, host, host_len);
        h[host_len] = 0;
        b->host = h;
    }
    b->key = tls_arena_printf(a, "%s=%s", tls_netsh_kind_name(b->kind), e);
    return b->key ? 0 : TLS_E_NOMEM;
}

/* ---- the file ------------------------------------------------------------------------------ */

/* Which kind of binding a field's name opens, or -1. */
static int start_kind(const struct line *l)
{
    for (size_t k = 0; k < sizeof(start_labels) / sizeof(start_labels[0]); k++)
        if (same_nocase(l->name, l->name_len, start_labels[k]))
            return (int)k;
    return -1;
}

static int known_field(const struct line *l)
{
    for (int i = 0; i < TLS_NETSH_F_COUNT; i++)
        if (same_nocase(l->name, l->name_len, field_table[i].label))
            return i;
    return -1;
}

/* The bindings of text/len, counted (before they are read) to size their array. */
static int count_bindings(const char *text, size_t len, size_t *n, size_t *lines,
                          struct tls_netsh_error *err)
{
    *n = 0;
    *lines = 0;
    for (size_t at = 0; at < len;) {
        const char *s;
        size_t k;
        next_line(text, len, &at, &s, &k);
        ++*lines;
        if (k > TLS_NETSH_LINE_MAX)
            return fail(err, TLS_E_LIMIT, *lines, "a line of %zu bytes, more than %d", k,
                        TLS_NETSH_LINE_MAX);
        struct line l;
        if (classify(s, k, &l) == L_FIELD && start_kind(&l) >= 0 && ++*n > TLS_NETSH_BINDINGS_MAX)
            return fail(err, TLS_E_LIMIT, *lines, "more than %d bindings", TLS_NETSH_BINDINGS_MAX);
    }
    return 0;
}

/* A field line of binding b (its own when group is 0). */
static int add_field(struct tls_netsh_binding *b, const struct line *l, unsigned group, size_t no,
                     struct tls_arena *a, struct tls_netsh_error *err)
{
    char q[4 * QUOTE_MAX + 8];
    if (++b->n_fields > TLS_NETSH_FIELDS_MAX)
        return fail(err, TLS_E_LIMIT, no, "more than %d fields in the binding of line %zu",
                    TLS_NETSH_FIELDS_MAX, b->line);
    int id = group == 0 ? known_field(l) : -1;
    if (id < 0)
        return 0; /* a field caprobe does not know, or an extended property: kept as text */
    const struct tls_netsh_field_info *fi = &field_table[id];
    if (b->known[id])
        return fail(err, TLS_E_INVALID, no, "%s appears twice in the binding of line %zu",
                    fi->label, b->line);
    if (check_value(fi->type, l->value, l->value_len) != 0)
        return fail(err, TLS_E_INVALID, no, "%s: expected %s, got '%s'", fi->label,
                    expected[fi->type], quote(q, l->value, l->value_len));
    char *v = tls_arena_alloc(a, l->value_len + 1);
    if (v == NULL)
        return fail(err, TLS_E_NOMEM, no, "out of memory");
    memcpy(v, l->value, l->value_len);
    v[l->value_len] = 0;
    b->known[id] = v;
    return 0;
}

/* tls_netsh_parse; *cut: the number of the file's last line when it has no line end (a file
 * cut short ends so), else 0. */
static int parse(struct tls_netsh *out, const uint8_t *p, size_t len, struct tls_arena *arena,
                 struct tls_netsh_error *err, size_t *cut)
{
    char *text = NULL;
    size_t text_len = 0, n = 0, lines = 0;
    int rc = decode(p, len, arena, out, &text, &text_len, err);
    if (rc == 0)
        rc = count_bindings(text, text_len, &n, &lines, err);
    if (rc)
        return rc;
    *cut = text_len && text[text_len - 1] != '\n' ? lines : 0;
    struct tls_netsh_binding *v = n ? tls_arena_alloc(arena, n * sizeof(*v)) : NULL;
    if (n && v == NULL)
        return fail(err, TLS_E_NOMEM, 0, "out of memory");
    if (n)
        memset(v, 0, n * sizeof(*v));
    struct tls_netsh_binding *cur = NULL;
    size_t got = 0, no = 0;
    unsigned group = 0;
    char q[4 * QUOTE_MAX + 8];
    for (size_t at = 0; at < text_len;) {
        const char *s;
        size_t k, begin = at;
        next_line(text, text_len, &at, &s, &k);
        no++;
        struct line l;
        enum line_kind kind = classify(s, k, &l);
        int sk = kind == L_FIELD ? start_kind(&l) : -1;
        const char *t = s; /* the line for a message: trimmed */
        size_t tn = k;
        trim(&t, &tn);
        switch (kind) {
        case L_BLANK:
            continue; /* neither opens nor ends a binding */
        case L_HEADER:
            out->header = true;
            cur = NULL;
            continue;
        case L_RULE:
            cur = NULL;
            continue;
        case L_SECTION:
        case L_FIELD:
            break;
        case L_OTHER:
            return fail(err, TLS_E_INVALID, no,
                        "not a line of the English output of netsh http show sslcert: '%s'%s",
                        quote(q, t, tn),
                        out->header || cur ? ""
                                           : " (caprobe reads netsh's English words, such as SSL "
                                             "Certificate bindings, IP:port, Hostname:port)");
        }
        if (sk >= 0) {
            cur = &v[got++];
            cur->kind = (enum tls_netsh_kind)sk;
            cur->line = no;
            cur->body = text + at;
            group = 0;
            rc = parse_endpoint(cur, l.value, l.value_len, arena);
            if (rc == TLS_E_NOMEM)
                return fail(err, rc, no, "out of memory");
            if (rc)
                return fail(err, TLS_E_INVALID, no, "%s: expected %s, got '%s'", start_labels[sk],
                            sk == TLS_NETSH_IPPORT         ? "ADDRESS:PORT or [IPV6]:PORT"
                            : sk == TLS_NETSH_HOSTNAMEPORT ? "NAME:PORT"
                                                           : "a port",
                            quote(q, l.value, l.value_len));
            continue;
        }
        if (cur == NULL && (kind == L_SECTION || !out->header))
            return fail(err, TLS_E_INVALID, no,
                        "not a line of the English output of netsh http show sslcert: '%s' "
                        "(caprobe reads netsh's English words, such as SSL Certificate "
                        "bindings, IP:port, Hostname:port)",
                        quote(q, t, tn));
        if (cur == NULL)
            return fail(err, TLS_E_INVALID, no,
                        "'%s' outside a binding (before its IP:port, Hostname:port or Central "
                        "Certificate Store line)",
                        quote(q, t, tn));
        if (kind == L_SECTION) {
            if (++cur->n_fields > TLS_NETSH_FIELDS_MAX)
                return fail(err, TLS_E_LIMIT, no, "more than %d fields in the binding of line %zu",
                            TLS_NETSH_FIELDS_MAX, cur->line);
            cur->n_groups = ++group;
        } else if ((rc = add_field(cur, &l, group, no, arena, err)) != 0) {
            return rc;
        }
        cur->body_len = (size_t)(text + begin - cur->body) + k;
    }
    out->v = v;
    out->n = got;
    out->lines = lines;
    if (got == 0 && !out->header)
        return fail(err, TLS_E_INVALID, 0,
                    "no SSL certificate binding: not the output of netsh http show sslcert");
    return 0;
}

int tls_netsh_parse(struct tls_netsh *out, const uint8_t *p, size_t len, struct tls_arena *arena,
                    struct tls_netsh_error *err)
{
    memset(out, 0, sizeof(*out));
    if (err) {
        err->line = 0;
        err->message[0] = 0;
    }
    size_t cut = 0;
    int rc = parse(out, p, len, arena, err, &cut);
    if (rc == TLS_E_INVALID && err && cut && err->line == cut) {
        size_t n = strlen(err->message);
        snprintf(err->message + n, sizeof(err->message) - n,
                 "; the file looks cut short (its last line has no line end): save the whole "
                 "output again");
    }
    return rc;
}

/* ---- values of a binding ------------------------------------------------------------------- */

const char *tls_netsh_get(const struct tls_netsh_binding *b, enum tls_netsh_field_id id)
{
    const char *v = (unsigned)id < TLS_NETSH_F_COUNT ? b->known[id] : NULL;
    if (v == NULL || *v == 0 || same_nocase(v, strlen(v), "(null)") ||
        same_nocase(v, strlen(v), "Not Set"))
        return NULL;
    return v;
}

int tls_netsh_flag(const struct tls_netsh_binding *b, enum tls_netsh_field_id id)
{
    const char *v = (unsigned)id < TLS_NETSH_F_COUNT ? b->known[id] : NULL;
    if (v == NULL)
        return -1;
    size_t n = strlen(v);
    if (same_nocase(v, n, "Enabled") || same_nocase(v, n, "Set"))
        return 1;
    if (same_nocase(v, n, "Disabled") || same_nocase(v, n, "Not Set"))
        return 0;
    return -1;
}

int tls_netsh_field_next(const struct tls_netsh_binding *b, struct tls_netsh_iter *it,
                         struct tls_netsh_field *out)
{
    while (it->pos < b->body_len) {
        const char *s;
        size_t k;
        next_line(b->body, b->body_len, &it->pos, &s, &k);
        struct line l;
        switch (classify(s, k, &l)) {
        case L_SECTION:
            it->group++;
            *out = (struct tls_netsh_field){l.name, l.name_len, NULL, 0, it->group};
            return 1;
        case L_FIELD:
            *out = (struct tls_netsh_field){l.name, l.name_len, l.value, l.value_len, it->group};
            return 1;
        case L_BLANK:
        case L_HEADER:
        case L_RULE:
        case L_OTHER:
            break; /* blank: the parse let nothing else into a body */
        }
    }
    return 0;
}
