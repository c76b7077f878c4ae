/* http.sys bindings of a saved netsh output (netsh.h): the index by endpoint, the binding a
 * variant reached, the update line that fixes one, and the audit of caprobe netsh. Only
 * report_netsh_load reads a file; the rest never does I/O, and nothing from the file reaches a
 * message or a command line without being escaped or checked against what netsh takes. */
#include "netsh.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "jsonw.h"
#include "tls/wire/error.h"
#include "tls/wire/escape.h"
#include "tls/wire/hash.h"
#include "tls/wire/similar.h"

struct report_netsh {
    const char *name;
    struct tls_arena arena;
    struct tls_netsh file;
    struct tls_hashtab index; /* by endpoint (binding_hash, same_endpoint) */
};

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* An endpoint's identity: kind, port, and the address (ipport) or the name in lower case
 * (hostnameport). */
static uint64_t endpoint_hash(enum tls_netsh_kind kind, unsigned port, const struct tls_addr *a,
                              const char *host)
{
    uint8_t head[4] = {(uint8_t)kind, (uint8_t)(port >> 8), (uint8_t)port, 0};
    uint64_t h = tls_fnv1a(head, sizeof(head), TLS_FNV1A_OFFSET);
    if (kind == TLS_NETSH_IPPORT) {
        uint8_t fam = a->family == AF_INET6;
        h = tls_fnv1a(&fam, 1, h);
        h = tls_fnv1a(a->b, fam ? 16 : 4, h);
    } else if (kind == TLS_NETSH_HOSTNAMEPORT) {
        for (const char *s = host; *s; s++) {
            char c = lower(*s);
            h = tls_fnv1a(&c, 1, h);
        }
    }
    return h;
}

static uint64_t binding_hash(const struct tls_netsh_binding *b)
{
    return endpoint_hash(b->kind, b->port, &b->addr, b->host);
}

static bool same_addr(const struct tls_addr *a, const struct tls_addr *b)
{
    return a->family == b->family && memcmp(a->b, b->b, a->family == AF_INET6 ? 16 : 4) == 0;
}

static bool same_endpoint(const void *val, const void *key)
{
    const struct tls_netsh_binding *a = val, *b = key;
    if (a->kind != b->kind || a->port != b->port)
        return false;
    switch (a->kind) {
    case TLS_NETSH_IPPORT:
        return same_addr(&a->addr, &b->addr);
    case TLS_NETSH_HOSTNAMEPORT:
        return strcasecmp(a->host, b->host) == 0;
    case TLS_NETSH_CCS:
        return true;
    }
    return false;
}

/* "NAME:LINE: why" (LINE 0: "NAME: why"), the name escaped. */
static void say(char *err, size_t cap, const char *name, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void say(char *err, size_t cap, const char *name, size_t line, const char *fmt, ...)
{
    if (cap == 0)
        return;
    char shown[512];
    tls_escape_term(shown, sizeof(shown), name, 0);
    int n = line ? snprintf(err, cap, "%s:%zu: ", shown, line) : snprintf(err, cap, "%s: ", shown);
    if (n < 0 || (size_t)n >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, cap - (size_t)n, fmt, ap);
    va_end(ap);
}

/* The labels a binding's lines may have: its first lines' and its known fields'. */
static const char *const *known_labels(size_t *count)
{
    static const char *labels[3 + TLS_NETSH_F_COUNT] = {"IP:port", "Hostname:port",
                                                        "Central Certificate Store"};
    for (size_t i = 0; i < TLS_NETSH_F_COUNT; i++)
        labels[3 + i] = tls_netsh_field_info((enum tls_netsh_field_id)i)->label;
    *count = 3 + TLS_NETSH_F_COUNT;
    return labels;
}

size_t report_netsh_warn_typos(const struct report_netsh *n, FILE *err, const char *lead)
{
    size_t count, found = 0;
    const char *const *labels = known_labels(&count);
    char name[512];
    tls_escape_term(name, sizeof(name), n->name, 0);
    for (size_t i = 0; i < n->file.n; i++) {
        const struct tls_netsh_binding *b = &n->file.v[i];
        struct tls_netsh_iter it = {0};
        struct tls_netsh_field fd;
        size_t line = b->line + 1, counted = 0; /* body[0 .. counted) holds line - b->line - 1
                                                 * line ends */
        while (tls_netsh_field_next(b, &it, &fd)) {
            if (fd.group || fd.value == NULL || fd.name_len > TLS_SIMILAR_MAX)
                continue; /* the binding's own fields: extended properties are free text */
            char word[TLS_SIMILAR_MAX + 1];
            memcpy(word, fd.name, fd.name_len);
            word[fd.name_len] = 0;
            bool known = false;
            for (size_t k = 0; k < count && !known; k++)
                known = strcasecmp(word, labels[k]) == 0;
            long close = known ? -1 : tls_closest(word, labels, count);
            if (close < 0)
                continue;
            for (size_t at = (size_t)(fd.name - b->body); counted < at; counted++)
                line += b->body[counted] == '\n';
            if (found++ < REPORT_NETSH_TYPOS_MAX) {
                char shown[4 * TLS_SIMILAR_MAX + 8];
                tls_escape_term(shown, sizeof(shown), word, 0);
                fprintf(err,
                        "%s%s:%zu: unknown field '%s': did you mean '%s'? (kept as a field caprobe "
                        "does not know: netsh's fields vary by Windows version)\n",
                        lead, name, line, shown, labels[close]);
            }
        }
    }
    if (found > REPORT_NETSH_TYPOS_MAX)
        fprintf(err, "%s%s: and %zu more unknown fields close to a known one\n", lead, name,
                found - REPORT_NETSH_TYPOS_MAX);
    return found;
}

void report_netsh_free(struct report_netsh *n)
{
    if (n == NULL)
        return;
    tls_hashtab_free(&n->index);
    tls_arena_free(&n->arena);
    free(n);
}

int report_netsh_parse(struct report_netsh **out, const char *name, const uint8_t *p, size_t len,
                       char *err, size_t cap)
{
    *out = NULL;
    if (cap)
        err[0] = 0;
    struct report_netsh *n = calloc(1, sizeof(*n));
    if (n == NULL) {
        say(err, cap, name, 0, "out of memory");
        return TLS_E_NOMEM;
    }
    /* the decoded text (1.5 times the bytes at most) and the bindings: no cap of its own, the
     * file's size bounds it (tls/wire/netsh.h) */
    tls_arena_init(&n->arena, 0);
    tls_hashtab_init(&n->index);
    struct tls_netsh_error why;
    int rc = TLS_E_NOMEM;
    if ((n->name = tls_arena_strdup(&n->arena, name)) == NULL) {
        say(err, cap, name, 0, "out of memory");
        goto fail;
    }
    rc = tls_netsh_parse(&n->file, p, len, &n->arena, &why);
    if (rc) {
        say(err, cap, name, why.line, "%s", why.message);
        goto fail;
    }
    for (size_t i = 0; i < n->file.n; i++) {
        const struct tls_netsh_binding *b = &n->file.v[i];
        uint64_t h = binding_hash(b);
        void **slot = tls_hashtab_find(&n->index, h, same_endpoint, b);
        if (slot) {
            const struct tls_netsh_binding *first = *slot;
            char shown[300];
            say(err, cap, name, b->line, "%s appears twice (first on line %zu)",
                tls_escape_term(shown, sizeof(shown), b->key, 0), first->line);
            rc = TLS_E_INVALID;
            goto fail;
        }
        if ((rc = tls_hashtab_insert(&n->index, h, (void *)b)) != 0) {
            say(err, cap, name, 0, "out of memory");
            goto fail;
        }
    }
    *out = n;
    return 0;
fail:
    report_netsh_free(n);
    return rc;
}

int report_netsh_load(struct report_netsh **out, const char *path, char *err, size_t cap)
{
    *out = NULL;
    const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        say(err, cap, name, 0, "%s", strerror(errno));
        return TLS_E_IO;
    }
    /* one byte more than a file may have, to know it has more */
    size_t want = TLS_NETSH_MAX_BYTES + 1, len = 0, room = 64 * 1024;
    uint8_t *buf = malloc(room);
    int rc = 0;
    while (buf) {
        if (len == room) {
            room = room * 2 < want ? room * 2 : want;
            uint8_t *more = realloc(buf, room);
            if (more == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = more;
        }
        size_t got = fread(buf + len, 1, room - len, f);
        len += got;
        if (got == 0 || len == want)
            break;
    }
    if (buf == NULL) {
        say(err, cap, name, 0, "out of memory");
        rc = TLS_E_NOMEM;
    } else if (ferror(f)) {
        say(err, cap, name, 0, "read error: %s", strerror(errno));
        rc = TLS_E_IO;
    } else if (len == want) {
        say(err, cap, name, 0, "larger than the %zu bytes a file may have", TLS_NETSH_MAX_BYTES);
        rc = TLS_E_LIMIT;
    }
    if (f != stdin)
        fclose(f);
    if (rc == 0)
        rc = report_netsh_parse(out, name, buf, len, err, cap);
    free(buf);
    return rc;
}

const char *report_netsh_name(const struct report_netsh *n)
{
    return n->name;
}

const struct tls_netsh *report_netsh_file(const struct report_netsh *n)
{
    return &n->file;
}

const struct tls_netsh_binding *report_netsh_find(const struct report_netsh *n,
                                                  const struct tls_netsh_binding *b)
{
    void **slot = n ? tls_hashtab_find(&n->index, binding_hash(b), same_endpoint, b) : NULL;
    return slot ? *slot : NULL;
}

/* ---- the binding a variant reached --------------------------------------------------------- */

const struct tls_netsh_binding *report_netsh_join(const struct report_netsh *n, const char *sni,
                                                  const char *address, unsigned port,
                                                  enum report_netsh_via *via)
{
    struct tls_netsh_binding key;
    const struct tls_netsh_binding *b;
    *via = REPORT_NETSH_VIA_NONE;
    if (n == NULL || port == 0 || port > 65535)
        return NULL;
    memset(&key, 0, sizeof(key));
    key.port = (uint16_t)port;
    if (sni && *sni) {
        key.kind = TLS_NETSH_HOSTNAMEPORT;
        key.host = sni;
        if ((b = report_netsh_find(n, &key)) != NULL) {
            *via = REPORT_NETSH_VIA_HOSTNAME;
            return b;
        }
        key.kind = TLS_NETSH_CCS;
        key.host = NULL;
        if ((b = report_netsh_find(n, &key)) != NULL) {
            *via = REPORT_NETSH_VIA_CCS;
            return b;
        }
    }
    key.kind = TLS_NETSH_IPPORT;
    key.host = NULL;
    if (address == NULL || tls_addr_parse(&key.addr, address, strlen(address)) != 0)
        return NULL;
    tls_addr_unmap(&key.addr);
    if ((b = report_netsh_find(n, &key)) != NULL) {
        *via = REPORT_NETSH_VIA_IP;
        return b;
    }
    memset(key.addr.b, 0, sizeof(key.addr.b)); /* 0.0.0.0 or [::] */
    if ((b = report_netsh_find(n, &key)) != NULL)
        *via = REPORT_NETSH_VIA_WILDCARD;
    return b;
}

/* ---- the update line ----------------------------------------------------------------------- */

/* A name netsh takes as one word, or in quotes when it has spaces: letters, digits, space and
 * "_.-" (Windows store names: MY, Root, ClientAuthIssuer, WebHosting). */
static bool is_plain_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128 || s[0] == ' ' || s[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-' || c == ' '))
            return false;
    }
    return true;
}

/* A host name of a hostnameport binding that a command line carries as it is: ASCII letters,
 * digits and "-._*" (a DNS name, a wildcard), and characters beyond ASCII that a terminal shows
 * as they are; nothing cmd or PowerShell reads as an operator, a quote or a variable ("&|<>^%$`;"
 * all pass the parse, which only refuses blanks, controls and '"'). */
static bool is_plain_host(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '*' || c >= 0x80))
            return false;
    }
    char shown[4 * 255 + 1]; /* every byte as \xNN at most */
    return strcmp(tls_escape_term(shown, sizeof(shown), s, 0), s) == 0;
}

static bool is_digits(const char *s)
{
    if (*s == 0 || strlen(s) > 10)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Whether extra ("a=b c=d") sets parameter param. */
static bool extra_sets(const char *extra, const char *param)
{
    size_t k = strlen(param);
    for (const char *s = extra; s && *s;) {
        s += strspn(s, " ");
        if (strncmp(s, param, k) == 0 && s[k] == '=')
            return true;
        s += strcspn(s, " ");
    }
    return false;
}

/* " param=value" of a name, in quotes when it has a space; nothing when no command line could
 * carry it as it is. */
static void add_name(struct report_buf *l, const char *param, const char *v)
{
    if (v && is_plain_name(v))
        report_buf_printf(l, strchr(v, ' ') ? " %s=\"%s\"" : " %s=%s", param, v);
}

bool report_netsh_update_line(const struct tls_netsh_binding *b, const char *extra, char *buf,
                              size_t cap)
{
    struct report_buf l = {0};
    if (cap == 0)
        return false;
    /* the endpoint: an address and a port (checked by the parse), or a name only as it is (a
     * name escaped or cut would name another binding, one with "&" another command) */
    if (b->kind == TLS_NETSH_HOSTNAMEPORT && !is_plain_host(b->host))
        report_buf_printf(&l, "netsh http update sslcert hostnameport=<name>:%u", b->port);
    else
        report_buf_printf(&l, "netsh http update sslcert %s", b->key);
    const char *hash = tls_netsh_get(b, TLS_NETSH_F_CERT_HASH); /* 40 hex digits: checked */
    if (b->kind != TLS_NETSH_CCS)
        report_buf_printf(&l, " certhash=%s", hash ? hash : "<thumbprint>");
    const char *appid = tls_netsh_get(b, TLS_NETSH_F_APP_ID); /* a GUID: checked */
    report_buf_printf(&l, " appid=%s", appid ? appid : "{APP-GUID}");
    const char *store = tls_netsh_get(b, TLS_NETSH_F_CERT_STORE);
    if (b->kind != TLS_NETSH_CCS) {
        if (store == NULL)
            report_buf_printf(&l, " certstorename=MY"); /* (null): http.sys reads MY */
        else if (is_plain_name(store))
            add_name(&l, "certstorename", store);
        else
            report_buf_printf(&l, " certstorename=<store>");
    }
    if (extra && *extra)
        report_buf_printf(&l, " %s", extra);
    for (int id = 0; id < TLS_NETSH_F_COUNT; id++) {
        const struct tls_netsh_field_info *fi = tls_netsh_field_info((enum tls_netsh_field_id)id);
        if (fi->param == NULL || id == TLS_NETSH_F_CERT_HASH || id == TLS_NETSH_F_APP_ID ||
            id == TLS_NETSH_F_CERT_STORE || extra_sets(extra, fi->param))
            continue;
        int flag = tls_netsh_flag(b, (enum tls_netsh_field_id)id);
        const char *v = tls_netsh_get(b, (enum tls_netsh_field_id)id);
        switch (fi->type) {
        case TLS_NETSH_T_ON:
            if (flag == 0)
                report_buf_printf(&l, " %s=disable", fi->param);
            break;
        case TLS_NETSH_T_OFF:
            if (flag == 1)
                report_buf_printf(&l, " %s=enable", fi->param);
            break;
        case TLS_NETSH_T_NUMBER:
            if (v && is_digits(v) && strspn(v, "0") != strlen(v))
                report_buf_printf(&l, " %s=%s", fi->param, v);
            break;
        case TLS_NETSH_T_NAME:
            add_name(&l, fi->param, v);
            break;
        case TLS_NETSH_T_HASH:
        case TLS_NETSH_T_GUID:
            break;
        }
    }
    bool fits = !l.failed && l.len < cap; /* out of memory or too long: "" */
    if (fits)
        memcpy(buf, l.p, l.len);
    buf[fits ? l.len : 0] = 0;
    report_buf_free(&l);
    return fits;
}

const char *report_netsh_shown(const char *v)
{
    return v == NULL ? "(not shown)" : *v ? v : "(empty)";
}

void report_netsh_describe(const struct tls_netsh_binding *b, char *buf, size_t cap)
{
    char store[200], neg[64];
    tls_escape_term(store, sizeof(store), report_netsh_shown(b->known[TLS_NETSH_F_CTL_STORE]), 0);
    tls_escape_term(neg, sizeof(neg), report_netsh_shown(b->known[TLS_NETSH_F_NEGOTIATE]), 0);
    snprintf(buf, cap, "Ctl Store Name %s, Negotiate Client Certificate %s", store, neg);
}

/* ---- the audit ----------------------------------------------------------------------------- */

const char *report_netsh_check_name(enum report_netsh_check c)
{
    static const char *const names[] = {
#define REPORT_NETSH_CHECK_NAME(name, id) id,
        REPORT_NETSH_CHECKS(REPORT_NETSH_CHECK_NAME)
#undef REPORT_NETSH_CHECK_NAME
    };
    return (unsigned)c < REPORT_NETSH_CHECK_COUNT ? names[c] : "?";
}

void report_netsh_audit_free(struct report_netsh_audit *a)
{
    if (a == NULL)
        return;
    free(a->v);
    free(a->change);
    free(a->previous);
    free(a->removed);
    tls_arena_free(&a->arena);
    memset(a, 0, sizeof(*a));
}

struct audit {
    const struct report_netsh *now, *prev;
    struct report_netsh_audit *out;
    size_t cap;
};

#define FLAG_TEXT_MAX 1536

static int flag(struct audit *au, enum report_netsh_check check, enum report_severity sev, size_t i,
                const struct tls_netsh_binding *related, const char *remedy, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static int flag(struct audit *au, enum report_netsh_check check, enum report_severity sev, size_t i,
                const struct tls_netsh_binding *related, const char *remedy, const char *fmt, ...)
{
    struct report_netsh_audit *o = au->out;
    if (o->n == au->cap) {
        size_t cap = au->cap ? au->cap * 2 : 16;
        struct report_netsh_flag *v = realloc(o->v, cap * sizeof(*v));
        if (v == NULL)
            return TLS_E_NOMEM;
        o->v = v;
        au->cap = cap;
    }
    char msg[FLAG_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct report_netsh_flag *f = &o->v[o->n];
    *f = (struct report_netsh_flag){check, sev, i, related, NULL, NULL};
    if ((f->message = tls_arena_strdup(&o->arena, msg)) == NULL ||
        (remedy && (f->remedy = tls_arena_strdup(&o->arena, remedy)) == NULL))
        return TLS_E_NOMEM;
    o->n++;
    return 0;
}

/* A value for a message, escaped: the file's own word, or that it lacks the field or is empty
 * (a message that said "(null)" of a field the file does not have would misquote it). */
static const char *shown(char *buf, size_t cap, const char *v)
{
    return tls_escape_term(buf, cap, report_netsh_shown(v), 0);
}

/* ctl-store-missing: client certificates asked in the handshake, no list to name them. */
static int check_ctl_store(struct audit *au, size_t i)
{
    const struct tls_netsh_binding *b = &report_netsh_file(au->now)->v[i];
    if (tls_netsh_flag(b, TLS_NETSH_F_NEGOTIATE) != 1 || tls_netsh_get(b, TLS_NETSH_F_CTL_STORE))
        return 0;
    char line[REPORT_NETSH_LINE_MAX], store[80];
    report_netsh_update_line(b, "sslctlstorename=ClientAuthIssuer", line, sizeof(line));
    return flag(
        au, REPORT_NETSH_CTL_STORE_MISSING, REPORT_SEV_HIGH, i, NULL, line,
        "Negotiate Client Certificate is Enabled and Ctl Store Name is %s: Schannel "
        "asks for a client certificate in the handshake and, with "
        "SendTrustedIssuerList=1, names the machine's whole Trusted Root store as "
        "the acceptable issuers (caprobe reports root-store-dump), or with SendTrustedIssuerList=0 "
        "(the default since Server 2012) no issuer at all (empty-ca-list)",
        shown(store, sizeof(store), b->known[TLS_NETSH_F_CTL_STORE]));
}

static bool same_value(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcasecmp(a, b) == 0);
}

/* sni-ip-mismatch: what hostnameport h and ipport p of one port differ in. */
struct pair_diff {
    bool store, negotiate, hash;
    bool fix_p; /* the fix is p's: p has no Ctl Store Name and h has one */
};

static bool pair_differs(const struct tls_netsh_binding *h, const struct tls_netsh_binding *p,
                         struct pair_diff *d)
{
    const char *hs = tls_netsh_get(h, TLS_NETSH_F_CTL_STORE),
               *ps = tls_netsh_get(p, TLS_NETSH_F_CTL_STORE);
    d->store = !same_value(hs, ps);
    d->negotiate =
        tls_netsh_flag(h, TLS_NETSH_F_NEGOTIATE) != tls_netsh_flag(p, TLS_NETSH_F_NEGOTIATE);
    d->hash = !same_value(tls_netsh_get(h, TLS_NETSH_F_CERT_HASH),
                          tls_netsh_get(p, TLS_NETSH_F_CERT_HASH));
    d->fix_p = ps == NULL && hs != NULL;
    return d->store || d->negotiate || d->hash;
}

/* The pairs a binding is the one to fix in: how many, and the first (in file order) that
 * differs in the CA list's settings, else the first. */
struct pairs {
    size_t count;
    size_t ref; /* index of the other binding */
    bool list;  /* some pair differs in Ctl Store Name or Negotiate Client Certificate */
};

static void pair_add(struct pairs *acc, size_t fix, size_t ref, const struct pair_diff *d)
{
    struct pairs *a = &acc[fix];
    bool list = d->store || d->negotiate;
    if (a->count++ == 0 || (list && !a->list))
        a->ref = ref;
    a->list |= list;
}

/* The flag of binding i from its pairs: the first one's differences, the fix that gives it the
 * other's list settings (none for a certificate alone, which two sites sharing a port may well
 * differ in), and how many more bindings it differs from. */
static int flag_pairs(struct audit *au, size_t i, const struct pairs *a)
{
    const struct tls_netsh *f = report_netsh_file(au->now);
    const struct tls_netsh_binding *fix = &f->v[i], *ref = &f->v[a->ref];
    struct pair_diff d;
    if (fix->kind == TLS_NETSH_HOSTNAMEPORT)
        pair_differs(fix, ref, &d);
    else
        pair_differs(ref, fix, &d);
    char what[FLAG_TEXT_MAX] = "", x[120], y[120], key[300], more[80] = "";
    size_t n = 0;
    if (d.store)
        n += (size_t)snprintf(what + n, sizeof(what) - n, "Ctl Store Name %s vs %s",
                              shown(x, sizeof(x), fix->known[TLS_NETSH_F_CTL_STORE]),
                              shown(y, sizeof(y), ref->known[TLS_NETSH_F_CTL_STORE]));
    if (d.negotiate && n < sizeof(what))
        n += (size_t)snprintf(what + n, sizeof(what) - n, "%sNegotiate Client Certificate %s vs %s",
                              n ? "; " : "", shown(x, sizeof(x), fix->known[TLS_NETSH_F_NEGOTIATE]),
                              shown(y, sizeof(y), ref->known[TLS_NETSH_F_NEGOTIATE]));
    if (d.hash && n < sizeof(what))
        snprintf(what + n, sizeof(what) - n, "%sCertificate Hash %s vs %s", n ? "; " : "",
                 shown(x, sizeof(x), fix->known[TLS_NETSH_F_CERT_HASH]),
                 shown(y, sizeof(y), ref->known[TLS_NETSH_F_CERT_HASH]));
    if (a->count > 1)
        snprintf(more, sizeof(more), ", and from %zu more %s binding%s of it", a->count - 1,
                 tls_netsh_kind_name(ref->kind), a->count == 2 ? "" : "s");
    char extra[200] = "", line[REPORT_NETSH_LINE_MAX];
    const char *refstore = tls_netsh_get(ref, TLS_NETSH_F_CTL_STORE);
    int neg = tls_netsh_flag(ref, TLS_NETSH_F_NEGOTIATE);
    if (d.store && refstore && is_plain_name(refstore))
        snprintf(extra, sizeof(extra),
                 strchr(refstore, ' ') ? "sslctlstorename=\"%s\"" : "sslctlstorename=%s", refstore);
    if (d.negotiate && neg >= 0 && tls_netsh_flag(fix, TLS_NETSH_F_NEGOTIATE) >= 0) {
        size_t k = strlen(extra);
        snprintf(extra + k, sizeof(extra) - k, "%sclientcertnegotiation=%s", k ? " " : "",
                 neg == 1 ? "enable" : "disable");
    }
    if (extra[0])
        report_netsh_update_line(fix, extra, line, sizeof(line));
    bool list = d.store || d.negotiate;
    return flag(au, REPORT_NETSH_SNI_IP_MISMATCH, list ? REPORT_SEV_HIGH : REPORT_SEV_LOW, i, ref,
                extra[0] ? line : NULL, "differs from %s (line %zu) of the same port%s: %s: %s",
                tls_escape_term(key, sizeof(key), ref->key, 0), ref->line, more, what,
                list ? "clients with SNI and without get different CA lists (caprobe reports "
                       "sni-mismatch)"
                     : "clients with SNI and without get different certificates (intended when "
                       "two sites share the port)");
}

/* certhash-changed: the same binding in the previous file with another certificate. */
static int check_previous(struct audit *au, size_t i)
{
    const struct tls_netsh_binding *b = &report_netsh_file(au->now)->v[i];
    const struct tls_netsh_binding *old = report_netsh_find(au->prev, b);
    struct report_netsh_audit *o = au->out;
    o->previous[i] = old;
    if (old == NULL) {
        o->change[i] = REPORT_NETSH_ADDED;
        return 0;
    }
    const char *was = tls_netsh_get(old, TLS_NETSH_F_CERT_HASH),
               *is = tls_netsh_get(b, TLS_NETSH_F_CERT_HASH);
    o->change[i] = same_value(was, is) ? REPORT_NETSH_SAME : REPORT_NETSH_CHANGED;
    if (o->change[i] == REPORT_NETSH_SAME)
        return 0;
    const char *olds = tls_netsh_get(old, TLS_NETSH_F_CTL_STORE),
               *news = tls_netsh_get(b, TLS_NETSH_F_CTL_STORE);
    bool lost = olds && news == NULL;
    char a[120], c[120], st[120], st2[120], prev[512], extra[200], line[REPORT_NETSH_LINE_MAX];
    tls_escape_term(prev, sizeof(prev), report_netsh_name(au->prev), 0);
    if (lost && is_plain_name(olds))
        snprintf(extra, sizeof(extra),
                 strchr(olds, ' ') ? "sslctlstorename=\"%s\"" : "sslctlstorename=%s", olds);
    else
        snprintf(extra, sizeof(extra), "sslctlstorename=ClientAuthIssuer");
    if (lost)
        report_netsh_update_line(b, extra, line, sizeof(line));
    return flag(au, REPORT_NETSH_CERTHASH_CHANGED, lost ? REPORT_SEV_HIGH : REPORT_SEV_MEDIUM, i,
                old, lost ? line : NULL, "Certificate Hash %s in %s (line %zu), now %s%s%s%s%s%s",
                shown(a, sizeof(a), old->known[TLS_NETSH_F_CERT_HASH]), prev, old->line,
                shown(c, sizeof(c), b->known[TLS_NETSH_F_CERT_HASH]),
                lost ? ", and the Ctl Store Name was " : "",
                lost ? shown(st, sizeof(st), olds) : "", lost ? " and is " : "",
                lost ? shown(st2, sizeof(st2), b->known[TLS_NETSH_F_CTL_STORE]) : "",
                lost ? " now: the renewal lost it, as re-binding through IIS Manager does"
                     : ": a renewal; the Ctl Store Name is the same");
}

/* An ipport binding by port, then file order. */
struct port_index {
    uint16_t port;
    size_t i;
};

static int port_index_cmp(const void *a, const void *b)
{
    const struct port_index *x = a, *y = b;
    if (x->port != y->port)
        return x->port < y->port ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* sni-ip-mismatch over the file: each hostnameport against each ipport of its port (either may
 * be the one to fix), REPORT_NETSH_PAIRS_MAX pairs at most; into acc, by binding. */
static int compare_pairs(struct audit *au, struct pairs *acc)
{
    const struct tls_netsh *f = report_netsh_file(au->now);
    size_t n_ip = 0;
    for (size_t i = 0; i < f->n; i++)
        n_ip += f->v[i].kind == TLS_NETSH_IPPORT;
    if (n_ip == 0)
        return 0;
    struct port_index *ip = malloc(n_ip * sizeof(*ip));
    if (ip == NULL)
        return TLS_E_NOMEM;
    for (size_t i = 0, k = 0; i < f->n; i++)
        if (f->v[i].kind == TLS_NETSH_IPPORT)
            ip[k++] = (struct port_index){f->v[i].port, i};
    qsort(ip, n_ip, sizeof(*ip), port_index_cmp);
    size_t budget = REPORT_NETSH_PAIRS_MAX;
    for (size_t h = 0; h < f->n; h++) {
        if (f->v[h].kind != TLS_NETSH_HOSTNAMEPORT)
            continue;
        size_t lo = 0, hi = n_ip; /* the first ipport of the port */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (ip[mid].port < f->v[h].port)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t k = lo; k < n_ip && ip[k].port == f->v[h].port; k++) {
            if (budget == 0) {
                au->out->pairs_skipped++;
                continue;
            }
            budget--;
            struct pair_diff d;
            if (pair_differs(&f->v[h], &f->v[ip[k].i], &d))
                pair_add(acc, d.fix_p ? ip[k].i : h, d.fix_p ? h : ip[k].i, &d);
        }
    }
    free(ip);
    return 0;
}

int report_netsh_audit(const struct report_netsh *now, const struct report_netsh *prev,
                       struct report_netsh_audit *out)
{
    memset(out, 0, sizeof(*out));
    tls_arena_init(&out->arena, 0);
    struct audit au = {now, prev, out, 0};
    const struct tls_netsh *f = report_netsh_file(now);
    if (f->n == 0)
        return 0;
    struct pairs *acc = calloc(f->n, sizeof(*acc));
    if (acc == NULL)
        return TLS_E_NOMEM;
    if (prev) {
        out->change = calloc(f->n, sizeof(*out->change));
        out->previous = calloc(f->n, sizeof(*out->previous));
    }
    int rc = prev && (out->change == NULL || out->previous == NULL) ? TLS_E_NOMEM
                                                                    : compare_pairs(&au, acc);
    /* the flags of each binding in turn: they come out in file order */
    for (size_t i = 0; i < f->n && rc == 0; i++) {
        rc = check_ctl_store(&au, i);
        if (rc == 0 && acc[i].count)
            rc = flag_pairs(&au, i, &acc[i]);
        if (rc == 0 && prev)
            rc = check_previous(&au, i);
    }
    free(acc);
    const struct tls_netsh *pf = prev ? report_netsh_file(prev) : NULL;
    for (size_t i = 0; rc == 0 && pf && i < pf->n; i++) {
        if (report_netsh_find(now, &pf->v[i]))
            continue;
        if (out->removed == NULL && (out->removed = calloc(pf->n, sizeof(*out->removed))) == NULL)
            return TLS_E_NOMEM;
        out->removed[out->n_removed++] = &pf->v[i];
    }
    return rc;
}
