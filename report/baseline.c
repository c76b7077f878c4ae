/* Baseline index (baseline.h): a caprobe/1 JSON Lines file, one line at a time through jansson,
 * into one arena plus an open-addressing table of targets. Only the fields used are checked, but
 * each of them strictly: a line that is not our record stops the load with FILE:LINE (or, in a
 * tolerant load, is skipped whole and told), it is never half-used. Never holds more than one
 * line's JSON tree at a time, and never builds one that would pass max_tree (line_cost counts
 * its values first: a file from elsewhere cannot make it take more). A name is its sha256 (and dn,
 * for diff and reports), never its der: compact records (docs/output.md) have none. */
#include "baseline.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "tls/wire/digestset.h"
#include "tls/wire/error.h"
#include "tls/wire/escape.h"
#include "tls/wire/hash.h"
#include "tls/wire/hex.h"

#define READ_CHUNK (64 * 1024)
#define WHERE_MAX 160 /* "observations[N].certificate_request.cas[M]" and more */

struct report_baseline {
    struct tls_arena arena; /* every record, key, name and text */
    struct report_baseline_record **recs;
    size_t n, recs_cap;
    struct tls_hashtab by_target; /* target and STARTTLS protocol -> struct record_ref */
    struct tls_hashtab names;     /* keep_names: SHA-256 -> struct name_text, each name once */
    const char *name;             /* the file, for messages */
    const char **bad;             /* tolerant: "FILE:LINE: why" of the first skipped lines */
    size_t n_bad;                 /* lines skipped (more than bad holds, past BAD_KEPT) */
    size_t lines;                 /* lines read, blank ones too */
    size_t input_errors;          /* input-error records skipped */
    const struct report_baseline_input *inputs; /* keep_detail: each of them, a list */
    struct report_baseline_input *last_input;
};

struct record_ref {
    size_t i; /* into recs */
    const char *target, *starttls;
};

/* What a record is known by: its target and the protocol spoken before the TLS bytes, so that
 * smtp://mx:25 and mx:25 probed as TLS from the first byte are two records. */
struct record_key {
    const char *target, *starttls;
};

struct name_text {
    uint8_t sha256[32];
    const char *dn;
};

/* ---- lines ---------------------------------------------------------------------------------- */

struct line_reader {
    FILE *f;
    char *buf;
    size_t cap, start, end; /* unread bytes are buf[start..end) */
    size_t max;
    size_t line; /* number of the line last returned (or being read) */
    bool eof;
    bool inside; /* TLS_E_LIMIT came before the line's newline: reader_skip drops its rest */
};

/* 1 and the line (without its '\n') as a view into the buffer, 0 at the end, or TLS_E_LIMIT,
 * TLS_E_IO, TLS_E_NOMEM. The view is valid until the next call. */
static int reader_next(struct line_reader *r, const char **p, size_t *len)
{
    size_t scanned = 0;
    r->line++;
    for (;;) {
        size_t avail = r->end - r->start;
        const char *nl =
            avail > scanned ? memchr(r->buf + r->start + scanned, '\n', avail - scanned) : NULL;
        if (nl) {
            *p = r->buf + r->start;
            *len = (size_t)(nl - *p);
            r->start += *len + 1;
            return *len > r->max ? TLS_E_LIMIT : 1;
        }
        scanned = avail;
        if (scanned > r->max) {
            r->inside = true;
            return TLS_E_LIMIT;
        }
        if (r->eof) {
            if (scanned == 0)
                return 0;
            *p = r->buf + r->start;
            *len = scanned;
            r->start = r->end;
            return 1;
        }
        if (r->start) {
            memmove(r->buf, r->buf + r->start, avail);
            r->start = 0;
            r->end = avail;
        }
        if (r->end == r->cap) {
            /* max + 1 bytes without a newline are enough to know the line is too long */
            size_t cap = r->cap ? 2 * r->cap : READ_CHUNK;
            if (cap > r->max + 1)
                cap = r->max + 1;
            char *buf = realloc(r->buf, cap);
            if (buf == NULL)
                return TLS_E_NOMEM;
            r->buf = buf;
            r->cap = cap;
        }
        size_t got = fread(r->buf + r->end, 1, r->cap - r->end, r->f);
        r->end += got;
        if (got == 0) {
            if (ferror(r->f))
                return TLS_E_IO;
            r->eof = true;
        }
    }
}

/* After TLS_E_LIMIT: drop the rest of that line, so that reader_next goes on with the next one.
 * Returns 0 or TLS_E_IO. */
static int reader_skip(struct line_reader *r)
{
    while (r->inside) {
        const char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
        if (nl) {
            r->start = (size_t)(nl - r->buf) + 1;
            r->inside = false;
            break;
        }
        r->start = r->end = 0;
        if (r->eof) {
            r->inside = false;
            break;
        }
        r->end = fread(r->buf, 1, r->cap, r->f);
        if (r->end == 0) {
            if (ferror(r->f))
                return TLS_E_IO;
            r->eof = true;
        }
    }
    return 0;
}

/* ---- the table ------------------------------------------------------------------------------ */

static int str_or_null_cmp(const char *a, const char *b)
{
    return a == NULL || b == NULL ? (a != NULL) - (b != NULL) : strcmp(a, b);
}

int report_baseline_record_cmp(const struct report_baseline_record *a,
                               const struct report_baseline_record *b)
{
    int c = strcmp(a->target, b->target);
    return c ? c : str_or_null_cmp(a->starttls, b->starttls);
}

static bool ref_is(const void *val, const void *key)
{
    const struct record_ref *ref = val;
    const struct record_key *k = key;
    return strcmp(ref->target, k->target) == 0 && str_or_null_cmp(ref->starttls, k->starttls) == 0;
}

static uint64_t key_hash(const struct record_key *k)
{
    uint64_t h = tls_fnv1a_str(k->target, TLS_FNV1A_OFFSET);
    return k->starttls ? tls_fnv1a_str(k->starttls, tls_fnv1a("", 1, h)) : h;
}

/* The later record of a target replaces the earlier one (whose memory stays in the arena). */
static int table_put(struct report_baseline *b, struct report_baseline_record *rec)
{
    struct record_key k = {rec->target, rec->starttls};
    uint64_t h = key_hash(&k);
    void **slot = tls_hashtab_find(&b->by_target, h, ref_is, &k);
    if (slot) {
        struct record_ref *ref = *slot;
        b->recs[ref->i] = rec;
        ref->target = rec->target;
        ref->starttls = rec->starttls;
        return 0;
    }
    if (b->n == b->recs_cap) {
        size_t cap = b->recs_cap ? 2 * b->recs_cap : 64;
        struct report_baseline_record **recs = realloc(b->recs, cap * sizeof(*recs));
        if (recs == NULL)
            return TLS_E_NOMEM;
        b->recs = recs;
        b->recs_cap = cap;
    }
    struct record_ref *ref = tls_arena_alloc(&b->arena, sizeof(*ref));
    if (ref == NULL)
        return TLS_E_NOMEM;
    ref->i = b->n;
    ref->target = rec->target;
    ref->starttls = rec->starttls;
    int rc = tls_hashtab_insert(&b->by_target, h, ref);
    if (rc)
        return rc;
    b->recs[b->n++] = rec;
    return 0;
}

static bool name_is(const void *val, const void *key)
{
    return memcmp(((const struct name_text *)val)->sha256, key, 32) == 0;
}

/* A fleet repeats the same names (a root-store dump is the same 143 everywhere): their text is
 * kept once, so the index grows with the distinct names, not with every copy. */
static const char *name_intern(struct report_baseline *b, const uint8_t sha256[32], const char *dn)
{
    uint64_t h = tls_hash_digest(sha256);
    void **slot = tls_hashtab_find(&b->names, h, name_is, sha256);
    if (slot)
        return ((const struct name_text *)*slot)->dn;
    struct name_text *t = tls_arena_alloc(&b->arena, sizeof(*t));
    const char *copy = t ? tls_arena_strdup(&b->arena, dn) : NULL;
    if (copy == NULL)
        return NULL;
    memcpy(t->sha256, sha256, 32);
    t->dn = copy;
    return tls_hashtab_insert(&b->names, h, t) ? NULL : copy;
}

/* ---- one record ----------------------------------------------------------------------------- */

struct loader {
    struct report_baseline *b;
    const struct report_baseline_opts *opts;
    const char *name; /* the file, for messages */
    size_t line;
    char *err;
    size_t cap;
};

static int fail(struct loader *l, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct loader *l, int rc, const char *fmt, ...)
{
    if (l->cap == 0)
        return rc;
    int n = l->line ? snprintf(l->err, l->cap, "%s:%zu: ", l->name, l->line)
                    : snprintf(l->err, l->cap, "%s: ", l->name);
    if (n >= 0 && (size_t)n < l->cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(l->err + n, l->cap - (size_t)n, fmt, ap);
        va_end(ap);
    }
    /* jansson quotes the input: the message is escaped for a terminal (tls/wire/escape.h) */
    char *raw = strdup(l->err);
    if (raw)
        tls_escape_term(l->err, l->cap, raw, 0);
    else
        l->err[0] = 0; /* no memory: the error code alone */
    free(raw);
    return rc;
}

/* A value from the file, quoted for a message: at most 40 bytes. */
static const char *quote(const char *s, char *buf, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 1 < cap && n < 40; s++)
        buf[n++] = *s;
    buf[n] = 0;
    return buf;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    default:
        return "unknown";
    }
}

static const char *want_name(json_type t)
{
    switch (t) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    default:
        return "value";
    }
}

/* Field key of obj, of type want (or null when nullable: *out NULL). "where" is the path of obj
 * for messages ("" for the record itself, "observations[2]"). Absent and optional: 0, NULL. */
static int field(struct loader *l, const json_t *obj, const char *where, const char *key,
                 json_type want, bool required, bool nullable, json_t **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    const char *dot = *where ? "." : "";
    if (v == NULL) {
        if (!required)
            return 0;
        return fail(l, TLS_E_INVALID, "missing field '%s%s%s'", where, dot, key);
    }
    if (json_is_null(v) && nullable)
        return 0;
    if (json_typeof(v) != want)
        return fail(l, TLS_E_INVALID, "wrong type of '%s%s%s': expected %s%s, got %s", where, dot,
                    key, want_name(want), nullable ? " or null" : "", type_name(v));
    *out = v;
    return 0;
}

/* A SHA-256 in hex: exactly 64 hex digits. */
static int sha256_field(struct loader *l, const json_t *obj, const char *where, uint8_t out[32])
{
    json_t *v;
    int rc = field(l, obj, where, "sha256", JSON_STRING, true, false, &v);
    if (rc)
        return rc;
    const char *s = json_string_value(v);
    bool ok = json_string_length(v) == 64;
    for (size_t i = 0; ok && i < 32; i++) {
        int hi = tls_hex_value(s[2 * i]), lo = tls_hex_value(s[2 * i + 1]);
        ok = hi >= 0 && lo >= 0;
        if (ok)
            out[i] = (uint8_t)(hi << 4 | lo);
    }
    if (!ok)
        return fail(l, TLS_E_INVALID, "bad hex in '%s.sha256': expected 64 hex digits", where);
    return 0;
}

static char *keep(struct loader *l, const char *s)
{
    return tls_arena_strdup(&l->b->arena, s);
}

struct name {
    uint8_t sha256[32];
    const char *dn;
};

static int by_sha(const void *pa, const void *pb)
{
    return memcmp(((const struct name *)pa)->sha256, ((const struct name *)pb)->sha256, 32);
}

/* certificate_request.cas -> v->cas sorted, d->dns in the same order. */
static int load_cas(struct loader *l, const json_t *cr, const char *where,
                    struct report_baseline_variant *v, struct report_baseline_detail *d)
{
    json_t *cas;
    int rc = field(l, cr, where, "cas", JSON_ARRAY, true, false, &cas);
    if (rc)
        return rc;
    size_t n = json_array_size(cas);
    struct name *tmp = calloc(n ? n : 1, sizeof(*tmp));
    if (tmp == NULL)
        return TLS_E_NOMEM;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char at[2 * WHERE_MAX];
        snprintf(at, sizeof(at), "%s.cas[%zu]", where, i);
        const json_t *ca = json_array_get(cas, i);
        json_t *dn;
        if (!json_is_object(ca))
            rc = fail(l, TLS_E_INVALID, "wrong type of '%s': expected object, got %s", at,
                      type_name(ca));
        else if ((rc = field(l, ca, at, "dn", JSON_STRING, true, false, &dn)) == 0 &&
                 (rc = sha256_field(l, ca, at, tmp[i].sha256)) == 0 && l->opts->keep_names &&
                 (tmp[i].dn = name_intern(l->b, tmp[i].sha256, json_string_value(dn))) == NULL)
            rc = TLS_E_NOMEM;
    }
    if (rc == 0) {
        qsort(tmp, n, sizeof(*tmp), by_sha);
        uint8_t(*sha)[32] = tls_arena_alloc(&l->b->arena, n * 32);
        const char **dns =
            l->opts->keep_names ? tls_arena_alloc(&l->b->arena, n * sizeof(*dns)) : NULL;
        if (sha == NULL || (l->opts->keep_names && dns == NULL))
            rc = TLS_E_NOMEM;
        for (size_t i = 0; rc == 0 && i < n; i++) {
            memcpy(sha[i], tmp[i].sha256, 32);
            if (dns)
                dns[i] = tmp[i].dn;
        }
        v->cas = (const uint8_t(*)[32])sha;
        v->n_cas = n;
        d->dns = dns;
        d->list_id = tls_digest_list_id(&(struct tls_digest_list){n ? sha[0] : NULL, n, 32});
    }
    free(tmp);
    return rc;
}

/* An optional string field into the arena: *out NULL when absent (or null, when nullable). */
static int opt_text(struct loader *l, const json_t *obj, const char *where, const char *key,
                    bool nullable, const char **out)
{
    json_t *v;
    int rc = field(l, obj, where, key, JSON_STRING, false, nullable, &v);
    *out = NULL;
    if (rc == 0 && v && (*out = keep(l, json_string_value(v))) == NULL)
        rc = TLS_E_NOMEM;
    return rc;
}

/* keep_detail: the variant's parts, as written, and the version the server chose. */
static int load_parts(struct loader *l, const json_t *o, const char *where, const json_t *address,
                      const json_t *sni, const json_t *tls_max, const json_t *phase,
                      struct report_baseline_detail *d)
{
    if ((address && (d->address = keep(l, json_string_value(address))) == NULL) ||
        (sni && (d->sni = keep(l, json_string_value(sni))) == NULL) ||
        (d->tls_max = keep(l, json_string_value(tls_max))) == NULL ||
        (d->phase = keep(l, json_string_value(phase))) == NULL)
        return TLS_E_NOMEM;
    json_t *tls;
    char at[WHERE_MAX];
    snprintf(at, sizeof(at), "%s.tls", where);
    int rc = field(l, o, where, "tls", JSON_OBJECT, false, false, &tls);
    return rc || tls == NULL ? rc : opt_text(l, tls, at, "version", false, &d->tls_version);
}

/* A size field: a JSON integer from 0 up; 0 when absent. */
static int size_field(struct loader *l, const json_t *obj, const char *where, const char *key,
                      size_t *out, bool *present)
{
    json_t *v = json_object_get(obj, key);
    *out = 0;
    *present = v != NULL;
    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return fail(l, TLS_E_INVALID, "wrong type of '%s.%s': expected an integer from 0 up", where,
                    key);
    *out = (size_t)json_integer_value(v);
    return 0;
}

/* keep_detail: the list's size on the wire: list_bytes, or for records written before it
 * existed ca_bytes and 2 bytes of length per name. */
static int load_sizes(struct loader *l, const json_t *cr, const char *where,
                      const struct report_baseline_variant *v, struct report_baseline_detail *d)
{
    bool has_list, has_ca;
    size_t ca_bytes;
    int rc = size_field(l, cr, where, "list_bytes", &d->list_bytes, &has_list);
    if (rc == 0 && !has_list &&
        (rc = size_field(l, cr, where, "ca_bytes", &ca_bytes, &has_ca)) == 0)
        d->list_bytes = has_ca ? ca_bytes + 2 * v->n_cas : 0;
    return rc;
}

/* keep_detail: the server certificate's subject and end of validity, when it was decoded. */
static int load_cert_text(struct loader *l, const json_t *sc, const char *where,
                          struct report_baseline_detail *d)
{
    int rc = opt_text(l, sc, where, "subject", false, &d->cert_subject);
    return rc ? rc : opt_text(l, sc, where, "not_after", false, &d->cert_not_after);
}

/* An optional integer field: 0 when absent. */
static int opt_int(struct loader *l, const json_t *obj, const char *where, const char *key,
                   long long *out)
{
    json_t *v;
    int rc = field(l, obj, where, key, JSON_INTEGER, false, false, &v);
    *out = v ? json_integer_value(v) : 0;
    return rc;
}

/* keep_detail: what the server made of --client-key's certificate (client_cert) and of
 * --request (http), as written. */
static int load_exchange(struct loader *l, const json_t *o, const char *where,
                         struct report_baseline_detail *d)
{
    char at[WHERE_MAX];
    json_t *cc, *http, *error;
    int rc = field(l, o, where, "client_cert", JSON_OBJECT, false, false, &cc);
    if (rc == 0 && cc) {
        snprintf(at, sizeof(at), "%s.client_cert", where);
        d->has_client_cert = true;
        d->cc_presented = json_is_true(json_object_get(cc, "presented"));
        if ((rc = opt_text(l, cc, at, "result", false, &d->cc_result)) ||
            (rc = opt_text(l, cc, at, "alert", false, &d->cc_alert)) ||
            (rc = opt_text(l, cc, at, "error", false, &d->cc_error)) ||
            (rc = opt_int(l, cc, at, "http_status", &d->cc_http_status)))
            return rc;
    }
    if (rc || (rc = field(l, o, where, "http", JSON_OBJECT, false, false, &http)) || !http)
        return rc;
    snprintf(at, sizeof(at), "%s.http", where);
    d->http_renegotiation = json_is_true(json_object_get(http, "renegotiation"));
    if ((rc = opt_text(l, http, at, "path", true, &d->http_path)) ||
        (rc = opt_text(l, http, at, "status_line", false, &d->http_status_line)) ||
        (rc = opt_text(l, http, at, "server", true, &d->http_server)) ||
        (rc = opt_int(l, http, at, "status", &d->http_status)) ||
        (rc = field(l, http, at, "error", JSON_OBJECT, false, false, &error)) || !error)
        return rc;
    char err_at[2 * WHERE_MAX];
    snprintf(err_at, sizeof(err_at), "%s.error", at);
    if ((rc = opt_text(l, error, err_at, "kind", false, &d->http_error_kind)) == 0)
        rc = opt_text(l, error, err_at, "message", false, &d->http_error_message);
    return rc;
}

/* One observation object into v and d. */
static int load_observation(struct loader *l, const json_t *o, size_t idx,
                            struct report_baseline_variant *v, struct report_baseline_detail *d)
{
    char where[WHERE_MAX / 2], q[48];
    snprintf(where, sizeof(where), "observations[%zu]", idx);
    if (!json_is_object(o))
        return fail(l, TLS_E_INVALID, "wrong type of '%s': expected object, got %s", where,
                    type_name(o));
    json_t *address, *sni, *tls_max, *phase, *outcome;
    int rc;
    if ((rc = field(l, o, where, "address", JSON_STRING, true, true, &address)) ||
        (rc = field(l, o, where, "sni", JSON_STRING, true, true, &sni)) ||
        (rc = field(l, o, where, "tls_max", JSON_STRING, true, false, &tls_max)) ||
        (rc = field(l, o, where, "phase", JSON_STRING, true, false, &phase)) ||
        (rc = field(l, o, where, "outcome", JSON_STRING, true, false, &outcome)))
        return rc;
    /* report_variant_key() of the observation this line was written from */
    v->key = tls_arena_printf(
        &l->b->arena, "%s|%s|%s|%s", address ? json_string_value(address) : "",
        sni ? json_string_value(sni) : "", json_string_value(tls_max), json_string_value(phase));
    if (v->key == NULL)
        return TLS_E_NOMEM;
    if (l->opts->keep_detail && (rc = load_parts(l, o, where, address, sni, tls_max, phase, d)))
        return rc;

    const char *oc = json_string_value(outcome);
    if (strcmp(oc, "certificate_request") == 0) {
        v->state = REPORT_LIST_NAMES;
        d->outcome = "certificate_request";
        char at[WHERE_MAX];
        snprintf(at, sizeof(at), "%s.certificate_request", where);
        json_t *cr;
        if ((rc = field(l, o, where, "certificate_request", JSON_OBJECT, true, false, &cr)) ||
            (rc = load_cas(l, cr, at, v, d)))
            return rc;
        if (l->opts->keep_detail && (rc = load_sizes(l, cr, at, v, d)))
            return rc;
    } else if (strcmp(oc, "no_certificate_request") == 0) {
        v->state = REPORT_LIST_NONE;
        d->outcome = "no_certificate_request";
    } else if (strcmp(oc, "error") == 0) {
        v->state = REPORT_LIST_UNKNOWN;
        d->outcome = "error";
        char at[WHERE_MAX];
        snprintf(at, sizeof(at), "%s.error", where);
        json_t *error, *kind;
        if ((rc = field(l, o, where, "error", JSON_OBJECT, true, false, &error)) ||
            (rc = field(l, error, at, "kind", JSON_STRING, true, false, &kind)))
            return rc;
        if ((d->error_kind = keep(l, json_string_value(kind))) == NULL)
            return TLS_E_NOMEM;
        json_t *msg;
        if (l->opts->keep_detail &&
            ((rc = field(l, error, at, "message", JSON_STRING, false, false, &msg)) ||
             (msg && (d->error_message = keep(l, json_string_value(msg))) == NULL)))
            return rc ? rc : TLS_E_NOMEM;
    } else {
        return fail(l, TLS_E_INVALID,
                    "unknown value '%s' of '%s.outcome': expected certificate_request, "
                    "no_certificate_request or error",
                    quote(oc, q, sizeof(q)), where);
    }

    json_t *sc;
    if ((rc = field(l, o, where, "server_certificate", JSON_OBJECT, false, false, &sc)))
        return rc;
    if (sc) {
        char at[WHERE_MAX];
        snprintf(at, sizeof(at), "%s.server_certificate", where);
        if ((rc = sha256_field(l, sc, at, v->cert_sha256)))
            return rc;
        v->has_cert = true;
        if (l->opts->keep_detail && (rc = load_cert_text(l, sc, at, d)))
            return rc;
    }
    return l->opts->keep_detail ? load_exchange(l, o, where, d) : 0;
}

struct slot {
    struct report_baseline_variant v;
    struct report_baseline_detail d;
    size_t idx;
};

static int by_key(const void *pa, const void *pb)
{
    const struct slot *a = pa, *b = pb;
    int c = strcmp(a->v.key, b->v.key);
    if (c)
        return c;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* One record's observations, sorted by key, a repeated key keeping its later observation.
 * map[i] (n_obs entries, when map is not NULL): the variant observation i became, so that
 * findings cite variants. */
static int load_variants(struct loader *l, const json_t *obs, struct report_baseline_record *rec,
                         size_t *map)
{
    size_t n = json_array_size(obs);
    struct slot *tmp = calloc(n ? n : 1, sizeof(*tmp));
    if (tmp == NULL)
        return TLS_E_NOMEM;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        tmp[i].idx = i;
        rc = load_observation(l, json_array_get(obs, i), i, &tmp[i].v, &tmp[i].d);
    }
    if (rc == 0) {
        qsort(tmp, n, sizeof(*tmp), by_key);
        struct report_baseline_variant *v = tls_arena_alloc(&l->b->arena, n * sizeof(*v));
        struct report_baseline_detail *d = tls_arena_alloc(&l->b->arena, n * sizeof(*d));
        if (v == NULL || d == NULL)
            rc = TLS_E_NOMEM;
        size_t m = 0;
        for (size_t i = 0; rc == 0 && i < n; i++) {
            if (map)
                map[tmp[i].idx] = m;
            if (i + 1 < n && strcmp(tmp[i].v.key, tmp[i + 1].v.key) == 0)
                continue; /* a later observation of the same variant follows */
            v[m] = tmp[i].v;
            d[m] = tmp[i].d;
            m++;
        }
        rec->t.v = v;
        rec->t.n = m;
        rec->detail = d;
    }
    free(tmp);
    return rc;
}

static int by_size(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    return (a > b) - (a < b);
}

/* One finding object into f; map: observation index -> variant (load_variants). */
static int load_finding(struct loader *l, const json_t *fo, size_t idx, const size_t *map,
                        size_t n_obs, struct report_baseline_finding *f)
{
    char where[WHERE_MAX], q[48];
    snprintf(where, sizeof(where), "findings[%zu]", idx);
    if (!json_is_object(fo))
        return fail(l, TLS_E_INVALID, "wrong type of '%s': expected object, got %s", where,
                    type_name(fo));
    json_t *rule, *sev, *msg, *cited;
    int rc;
    if ((rc = field(l, fo, where, "rule", JSON_STRING, true, false, &rule)) ||
        (rc = field(l, fo, where, "severity", JSON_STRING, true, false, &sev)) ||
        (rc = field(l, fo, where, "message", JSON_STRING, true, false, &msg)) ||
        (rc = opt_text(l, fo, where, "remedy", false, &f->remedy)) ||
        (rc = field(l, fo, where, "observations", JSON_ARRAY, true, false, &cited)))
        return rc;
    if (report_severity_parse(json_string_value(sev), &f->severity) != 0)
        return fail(l, TLS_E_INVALID,
                    "unknown value '%s' of '%s.severity': expected info, low, medium, high or "
                    "critical",
                    quote(json_string_value(sev), q, sizeof(q)), where);
    if ((f->rule = keep(l, json_string_value(rule))) == NULL ||
        (f->message = keep(l, json_string_value(msg))) == NULL)
        return TLS_E_NOMEM;
    size_t n = json_array_size(cited);
    size_t *v = tls_arena_alloc(&l->b->arena, (n ? n : 1) * sizeof(*v));
    if (v == NULL)
        return TLS_E_NOMEM;
    for (size_t k = 0; k < n; k++) {
        const json_t *x = json_array_get(cited, k);
        if (!json_is_integer(x) || json_integer_value(x) < 0 ||
            (uint64_t)json_integer_value(x) >= n_obs)
            return fail(l, TLS_E_INVALID,
                        "bad value of '%s.observations[%zu]': expected an index into "
                        "'observations' (0 to %zu)",
                        where, k, n_obs ? n_obs - 1 : 0);
        v[k] = map[json_integer_value(x)];
    }
    qsort(v, n, sizeof(*v), by_size);
    size_t m = 0;
    for (size_t k = 0; k < n; k++)
        if (m == 0 || v[m - 1] != v[k])
            v[m++] = v[k];
    f->variants = v;
    f->n_variants = m;
    return 0;
}

/* keep_findings: the record's "findings" (none when the field is absent). */
static int load_findings(struct loader *l, const json_t *root, const size_t *map, size_t n_obs,
                         struct report_baseline_record *rec)
{
    json_t *fs;
    int rc = field(l, root, "", "findings", JSON_ARRAY, false, false, &fs);
    size_t n = fs ? json_array_size(fs) : 0;
    if (rc || n == 0)
        return rc;
    struct report_baseline_finding *f = tls_arena_alloc(&l->b->arena, n * sizeof(*f));
    if (f == NULL)
        return TLS_E_NOMEM;
    memset(f, 0, n * sizeof(*f));
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = load_finding(l, json_array_get(fs, i), i, map, n_obs, &f[i]);
    rec->findings = f;
    rec->n_findings = rc ? 0 : n;
    return rc;
}

/* The record's "starttls" (docs/output.md: the same on every observation of a target), taken
 * from its first observation; NULL when there is none or it spoke TLS from the first byte. */
static int load_starttls(struct loader *l, const json_t *obs, struct report_baseline_record *rec)
{
    json_t *st, *first = json_array_get(obs, 0);
    rec->starttls = NULL;
    if (first == NULL)
        return 0;
    int rc = field(l, first, "observations[0]", "starttls", JSON_STRING, false, false, &st);
    if (rc == 0 && st && (rec->starttls = keep(l, json_string_value(st))) == NULL)
        rc = TLS_E_NOMEM;
    return rc;
}

/* What jansson's tree of a line would take, counted in one pass before it is built, so that a
 * line of "{},{},..." (80 times its size in memory) is refused instead of parsed. Per value,
 * measured with jansson 2.14 on x86-64, malloc's overhead and the slot in its array included: an
 * object with its hash table 232 bytes, an array 136, a string 96 and its text, a number 48;
 * true, false and null are shared. A key counts as a string (its pair takes less). Only the
 * tokens are counted, not checked: the parser rejects what is no JSON. */
#define COST_OBJECT 232
#define COST_ARRAY 136
#define COST_STRING 96
#define COST_NUMBER 48

struct line_tokens {
    size_t objects, arrays, strings, numbers;
    uint64_t cost; /* bytes: the values, and the text of the strings (at most the line) */
};

static void line_cost(const char *p, size_t len, struct line_tokens *t)
{
    memset(t, 0, sizeof(*t));
    bool in_string = false, escaped = false, in_word = false;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        switch (c) {
        case '{':
            t->objects++;
            break;
        case '[':
            t->arrays++;
            break;
        case '"':
            t->strings++;
            in_string = true;
            break;
        case '}':
        case ']':
        case ',':
        case ':':
        case ' ':
        case '\t':
        case '\r':
        case '\n':
            break;
        default: /* a number, true, false or null: counted at its first byte */
            if (!in_word && (c == '-' || (c >= '0' && c <= '9')))
                t->numbers++;
            in_word = true;
            continue;
        }
        in_word = false;
    }
    t->cost = (uint64_t)t->objects * COST_OBJECT + (uint64_t)t->arrays * COST_ARRAY +
              (uint64_t)t->strings * COST_STRING + (uint64_t)t->numbers * COST_NUMBER + len;
}

/* The length of "FILE:LINE" at the start of an input error's message "FILE:LINE: why" (the
 * first ":DIGITS: " after a file name of one byte or more), 0 when it does not start so. */
static size_t where_len(const char *m)
{
    for (const char *p = m[0] ? strchr(m + 1, ':') : NULL; p; p = strchr(p + 1, ':')) {
        size_t digits = strspn(p + 1, "0123456789");
        if (digits && p[1 + digits] == ':' && p[2 + digits] == ' ')
            return (size_t)(p - m) + 1 + digits;
    }
    return 0;
}

/* An input-error record: counted, and with keep_detail kept with its message split. */
static int input_put(struct loader *l, const char *text, const json_t *error)
{
    json_t *msg;
    int rc = field(l, error, "error", "message", JSON_STRING, true, false, &msg);
    if (rc)
        return rc;
    struct report_baseline *b = l->b;
    if (l->opts->keep_detail) {
        const char *m = json_string_value(msg);
        size_t n = where_len(m);
        struct report_baseline_input *in = tls_arena_alloc(&b->arena, sizeof(*in));
        if (in == NULL)
            return TLS_E_NOMEM;
        *in = (struct report_baseline_input){
            .text = keep(l, text),
            .where = n ? tls_arena_printf(&b->arena, "%.*s", (int)n, m)
                       : tls_arena_printf(&b->arena, "%s:%zu", l->name, l->line),
            .why = keep(l, n ? m + n + 2 : m),
            .line = l->line,
        };
        if (in->text == NULL || in->where == NULL || in->why == NULL)
            return TLS_E_NOMEM;
        if (b->last_input)
            b->last_input->next = in;
        else
            b->inputs = in;
        b->last_input = in;
    }
    b->input_errors++;
    return 0;
}

/* One non-blank line. */
static int load_line(struct loader *l, const char *p, size_t len)
{
    struct line_tokens tok;
    size_t max = l->opts->max_tree ? l->opts->max_tree : REPORT_BASELINE_MAX_TREE;
    line_cost(p, len, &tok);
    if (tok.cost > max)
        return fail(l, TLS_E_LIMIT,
                    "too many JSON values: %zu objects, %zu arrays, %zu strings and %zu numbers "
                    "would take about %llu MiB to read, more than %zu MiB (a caprobe/1 record "
                    "takes 4 to 7 times its size)",
                    tok.objects, tok.arrays, tok.strings, tok.numbers,
                    (unsigned long long)((tok.cost + (1u << 20) - 1) >> 20), max >> 20);
    json_error_t jerr;
    json_t *root = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return fail(l, TLS_E_INVALID, "not JSON: %s (byte %d)", jerr.text, jerr.position);
    int rc = 0;
    char q[48];
    json_t *schema, *target, *error, *kind, *obs;
    size_t *map = NULL;
    if (!json_is_object(root)) {
        rc = fail(l, TLS_E_INVALID, "not a caprobe/1 record: expected an object, got %s",
                  type_name(root));
        goto out;
    }
    if ((rc = field(l, root, "", "schema", JSON_STRING, true, false, &schema)))
        goto out;
    if (strcmp(json_string_value(schema), REPORT_SCHEMA) != 0) {
        rc = fail(l, TLS_E_INVALID, "schema mismatch: '%s', expected '" REPORT_SCHEMA "'",
                  quote(json_string_value(schema), q, sizeof(q)));
        goto out;
    }
    if ((rc = field(l, root, "", "target", JSON_STRING, true, false, &target)) ||
        (rc = field(l, root, "", "error", JSON_OBJECT, false, false, &error)))
        goto out;
    if (error) {
        if ((rc = field(l, error, "error", "kind", JSON_STRING, true, false, &kind)))
            goto out;
        if (strcmp(json_string_value(kind), "input") == 0) {
            rc = input_put(l, json_string_value(target), error);
            goto out; /* a line of a target file that was no target: nothing was probed */
        }
    }
    if ((rc = field(l, root, "", "observations", JSON_ARRAY, true, false, &obs)))
        goto out;
    size_t n_obs = json_array_size(obs);
    struct report_baseline_record *rec = tls_arena_alloc(&l->b->arena, sizeof(*rec));
    map = l->opts->keep_findings ? malloc((n_obs ? n_obs : 1) * sizeof(*map)) : NULL;
    if (rec == NULL || (l->opts->keep_findings && map == NULL) ||
        (rec->target = keep(l, json_string_value(target))) == NULL) {
        rc = TLS_E_NOMEM;
        goto out;
    }
    rec->line = l->line;
    rec->findings = NULL;
    rec->n_findings = 0;
    if ((rc = load_variants(l, obs, rec, map)) == 0 && (rc = load_starttls(l, obs, rec)) == 0 &&
        (!l->opts->keep_findings || (rc = load_findings(l, root, map, n_obs, rec)) == 0))
        rc = table_put(l->b, rec);
out:
    free(map);
    json_decref(root);
    return rc;
}

static bool blank(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return false;
    return true;
}

/* ---- the API -------------------------------------------------------------------------------- */

/* A tolerant load: the line told in why ("FILE:LINE: ...") is skipped; the first BAD_KEPT are
 * kept for report_baseline_bad_at. */
static int bad_line(struct report_baseline *b, const char *why)
{
    if (b->n_bad < REPORT_BASELINE_BAD_KEPT) {
        if (b->bad == NULL && (b->bad = calloc(REPORT_BASELINE_BAD_KEPT, sizeof(*b->bad))) == NULL)
            return TLS_E_NOMEM;
        if ((b->bad[b->n_bad] = tls_arena_strdup(&b->arena, why)) == NULL)
            return TLS_E_NOMEM;
    }
    b->n_bad++;
    return 0;
}

int report_baseline_load_opts(struct report_baseline **out, const char *path,
                              const struct report_baseline_opts *opts, char *err, size_t cap)
{
    static const struct report_baseline_opts defaults = {0};
    *out = NULL;
    if (cap)
        err[0] = 0;
    struct loader l = {
        .opts = opts ? opts : &defaults,
        .name = strcmp(path, "-") == 0 ? "<stdin>" : path,
        .err = err,
        .cap = cap,
    };
    struct line_reader r = {.max = l.opts->max_line ? l.opts->max_line : REPORT_BASELINE_MAX_LINE};
    r.f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (r.f == NULL)
        return fail(&l, TLS_E_IO, "%s", strerror(errno));
    int rc = TLS_E_NOMEM;
    l.b = calloc(1, sizeof(*l.b));
    if (l.b == NULL) {
        fail(&l, rc, "out of memory");
        goto out;
    }
    tls_arena_init(&l.b->arena, 0);
    tls_hashtab_init(&l.b->by_target);
    tls_hashtab_init(&l.b->names);
    if ((l.b->name = tls_arena_strdup(&l.b->arena, l.name)) == NULL) {
        fail(&l, rc, "out of memory");
        goto out;
    }
    const char *p;
    size_t len;
    char why[512];
    for (;;) {
        rc = reader_next(&r, &p, &len);
        l.line = r.line;
        if (rc == 0) {
            l.b->lines = r.line - 1;
            break;
        }
        if (rc == 1 && blank(p, len))
            continue;
        if (l.opts->tolerant) { /* each line's message in why, the caller's err untouched */
            why[0] = 0;
            l.err = why;
            l.cap = sizeof(why);
        }
        if (rc == 1) {
            rc = load_line(&l, p, len);
        } else if (rc == TLS_E_LIMIT) {
            fail(&l, rc, "line longer than %zu bytes", r.max);
            int skip = l.opts->tolerant ? reader_skip(&r) : 0;
            rc = skip ? skip : rc;
        }
        l.err = err;
        l.cap = cap;
        if ((rc == TLS_E_INVALID || rc == TLS_E_LIMIT) && l.opts->tolerant)
            rc = bad_line(l.b, why);
        if (rc)
            break;
    }
    if (rc == TLS_E_IO)
        fail(&l, rc, "read error: %s", strerror(errno));
    else if (rc == TLS_E_NOMEM)
        fail(&l, rc, "out of memory");
    if (rc == 0) {
        *out = l.b;
        l.b = NULL;
    }
out:
    report_baseline_free(l.b);
    free(r.buf);
    if (r.f != stdin)
        fclose(r.f);
    return rc;
}

int report_baseline_load(struct report_baseline **out, const char *path, char *err, size_t cap)
{
    return report_baseline_load_opts(out, path, NULL, err, cap);
}

void report_baseline_free(struct report_baseline *b)
{
    if (b == NULL)
        return;
    tls_arena_free(&b->arena);
    free(b->recs);
    free(b->bad);
    tls_hashtab_free(&b->by_target);
    tls_hashtab_free(&b->names);
    free(b);
}

const struct report_baseline_record *
report_baseline_lookup(const struct report_baseline *b, const char *target, const char *starttls)
{
    if (b == NULL || target == NULL)
        return NULL;
    struct record_key k = {target, starttls};
    void *const *slot = tls_hashtab_find(&b->by_target, key_hash(&k), ref_is, &k);
    return slot ? b->recs[((const struct record_ref *)*slot)->i] : NULL;
}

const struct report_baseline_target *report_baseline_find(const struct report_baseline *b,
                                                          const char *target, const char *starttls)
{
    const struct report_baseline_record *rec = report_baseline_lookup(b, target, starttls);
    return rec ? &rec->t : NULL;
}

size_t report_baseline_count(const struct report_baseline *b)
{
    return b ? b->n : 0;
}

const struct report_baseline_record *report_baseline_at(const struct report_baseline *b, size_t i)
{
    return b && i < b->n ? b->recs[i] : NULL;
}

size_t report_baseline_bad_count(const struct report_baseline *b)
{
    return b ? b->n_bad : 0;
}

const char *report_baseline_bad_at(const struct report_baseline *b, size_t i)
{
    return b && i < b->n_bad && i < REPORT_BASELINE_BAD_KEPT ? b->bad[i] : NULL;
}

size_t report_baseline_input_errors(const struct report_baseline *b)
{
    return b ? b->input_errors : 0;
}

const struct report_baseline_input *report_baseline_inputs(const struct report_baseline *b)
{
    return b ? b->inputs : NULL;
}

bool report_baseline_empty(const struct report_baseline *b, const char *what, char *buf, size_t cap)
{
    if (b == NULL || b->n || b->input_errors)
        return false;
    char raw[4352]; /* a path and the words */
    int n = snprintf(raw, sizeof(raw), "%s: %s: ", b->name, what);
    if (n >= 0 && (size_t)n < sizeof(raw)) {
        size_t k = b->lines, rest = sizeof(raw) - (size_t)n;
        if (k == 0)
            snprintf(raw + n, rest, "the file is empty");
        else if (b->n_bad == 0)
            snprintf(raw + n, rest, k == 1 ? "its line is blank" : "its %zu lines are blank", k);
        else if (k == 1)
            snprintf(raw + n, rest, "its one line is not a caprobe/1 record");
        else
            snprintf(raw + n, rest, "none of its %zu lines is a caprobe/1 record", k);
    }
    tls_escape_term(buf, cap, raw, 0);
    return true;
}

const char *report_baseline_name(const struct report_baseline *b)
{
    return b ? b->name : NULL;
}
