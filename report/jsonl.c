/* JSON Lines renderer: one object per target in the caprobe/1 schema (docs/output.md), keys in
 * the schema's order, written with one fwrite per record. The JSON of a CA name depends only on
 * its DER bytes and the form (full, or compact: without "der"), so it is kept by the SHA-256 of
 * the name and the form and reused: fleets repeat the same names (a root-store dump is the same
 * 143 names everywhere). */
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "report.h"
#include "rules.h"
#include "tls/wire/error.h"
#include "tls/wire/hash.h"
#include "tls/wire/hex.h"
#include "tls/wire/names.h"

/* ---- rendered names, by SHA-256 of their DER ---------------------------------------------- */

struct report_jsonl_cache {
    struct tls_arena arena;   /* budget: past it names are rendered each time */
    struct tls_hashtab index; /* sha256 -> struct rendered */
};

struct rendered {
    uint8_t sha256[32];
    bool compact;
    const char *json;
    size_t len;
};

int report_jsonl_cache_new(struct report_jsonl_cache **out, size_t max_bytes)
{
    struct report_jsonl_cache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return TLS_E_NOMEM;
    tls_arena_init(&c->arena, max_bytes);
    tls_hashtab_init(&c->index);
    *out = c;
    return 0;
}

void report_jsonl_cache_free(struct report_jsonl_cache *c)
{
    if (c == NULL)
        return;
    tls_arena_free(&c->arena);
    tls_hashtab_free(&c->index);
    free(c);
}

struct rendered_key {
    const uint8_t *sha256;
    bool compact;
};

static bool rendered_is(const void *val, const void *key)
{
    const struct rendered *r = val;
    const struct rendered_key *k = key;
    return r->compact == k->compact && memcmp(r->sha256, k->sha256, 32) == 0;
}

/* Compact: no "der" (docs/output.md); the SHA-256 is of the same bytes, so names still compare
 * with those of full records. */
static void name_json(struct report_buf *b, const struct tls_ca_name *ca, bool compact)
{
    report_buf_puts(b, "{\"dn\":");
    report_buf_json_str(b, ca->dn);
    if (!compact) {
        report_buf_puts(b, ",\"der\":\"");
        char *tmp = malloc(4 * ((ca->der_len + 2) / 3) + 1);
        if (tmp == NULL) {
            b->failed = true;
            return;
        }
        report_base64(ca->der, ca->der_len, tmp);
        report_buf_puts(b, tmp);
        free(tmp);
        report_buf_put(b, "\"", 1);
    }
    char sha[65];
    tls_hex_encode(ca->sha256, 32, sha);
    report_buf_puts(b, ",\"sha256\":\"");
    report_buf_puts(b, sha);
    report_buf_puts(b, ca->malformed ? "\",\"malformed\":true}" : "\"}");
}

/* How names are written: the form and the (optional) cache of renderings. */
struct names_out {
    struct report_jsonl_cache *cache;
    bool compact;
};

static void put_name(struct report_buf *b, const struct names_out *no, const struct tls_ca_name *ca)
{
    struct report_jsonl_cache *c = no->cache;
    bool compact = no->compact;
    if (c == NULL) {
        name_json(b, ca, compact);
        return;
    }
    uint64_t h = tls_hash_digest(ca->sha256) ^ compact;
    struct rendered_key key = {ca->sha256, compact};
    void **slot = tls_hashtab_find(&c->index, h, rendered_is, &key);
    if (slot) {
        const struct rendered *r = *slot;
        report_buf_put(b, r->json, r->len);
        return;
    }
    size_t start = b->len;
    name_json(b, ca, compact);
    if (b->failed)
        return;
    struct rendered *r = tls_arena_alloc(&c->arena, sizeof(*r));
    char *copy = r ? tls_arena_memdup(&c->arena, b->p + start, b->len - start) : NULL;
    if (copy == NULL)
        return; /* budget spent: render next time again */
    memcpy(r->sha256, ca->sha256, 32);
    r->compact = compact;
    r->json = copy;
    r->len = b->len - start;
    tls_hashtab_insert(&c->index, h, r); /* out of memory: render next time again */
}

/* ---- the record ----------------------------------------------------------------------------- */

static void put_hex(struct report_buf *b, const uint8_t *p, size_t n)
{
    char tmp[2 * 32 + 1];
    tls_hex_encode(p, n, tmp);
    report_buf_put(b, "\"", 1);
    report_buf_put(b, tmp, 2 * n);
    report_buf_put(b, "\"", 1);
}

static void put_version(struct report_buf *b, uint16_t v)
{
    char tmp[8];
    report_buf_json_str(b, tls_name_or_hex(tls_name_version(v), v, 4, tmp, sizeof(tmp)));
}

static void certreq_json(struct report_buf *b, const struct names_out *no,
                         const struct tls_observation *o)
{
    char tmp[8];
    report_buf_puts(b, "{\"ca_count\":");
    report_buf_json_u64(b, o->ca_count);
    report_buf_puts(b, ",\"ca_bytes\":");
    report_buf_json_u64(b, o->ca_bytes);
    report_buf_puts(b, ",\"list_bytes\":");
    report_buf_json_u64(b, tls_observation_list_bytes(o));
    report_buf_puts(b, ",\"cas\":[");
    for (size_t i = 0; i < o->ca_count; i++) {
        if (i)
            report_buf_put(b, ",", 1);
        put_name(b, no, &o->cas[i]);
    }
    report_buf_put(b, "]", 1);
    if (o->version == 0x0304) {
        report_buf_puts(b, ",\"certificate_authorities_extension\":");
        report_buf_puts(b, o->has_cas ? "true" : "false");
    } else {
        report_buf_puts(b, ",\"certificate_types\":[");
        for (size_t i = 0; i < o->cert_types_len; i++) {
            uint8_t t = o->cert_types[i];
            if (i)
                report_buf_put(b, ",", 1);
            report_buf_json_str(b, tls_name_or_hex(tls_name_cert_type(t), t, 2, tmp, sizeof(tmp)));
        }
        report_buf_put(b, "]", 1);
    }
    report_buf_puts(b, ",\"signature_algorithms\":[");
    for (size_t i = 0; i < o->sigalg_count; i++) {
        uint16_t a = o->sigalgs[i];
        if (i)
            report_buf_put(b, ",", 1);
        report_buf_json_str(b, tls_name_or_hex(tls_name_sigalg(a), a, 4, tmp, sizeof(tmp)));
    }
    report_buf_put(b, "]", 1);
    if (o->certreq_quirks) {
        report_buf_puts(b, ",\"quirks\":");
        report_buf_json_u64(b, o->certreq_quirks);
    }
    report_buf_put(b, "}", 1);
}

static void server_cert_json(struct report_buf *b, const struct tls_server_cert *sc)
{
    report_buf_put(b, "{", 1);
    if (sc->error) {
        report_buf_json_key(b, "error");
        report_buf_json_str(b, sc->error);
    } else {
        report_buf_json_key(b, "subject");
        report_buf_json_str(b, sc->subject);
        report_buf_puts(b, ",\"issuer\":");
        report_buf_json_str(b, sc->issuer);
        report_buf_puts(b, ",\"not_before\":");
        report_buf_json_str(b, sc->not_before);
        report_buf_puts(b, ",\"not_after\":");
        report_buf_json_str(b, sc->not_after);
    }
    report_buf_puts(b, ",\"sha1\":");
    put_hex(b, sc->sha1, 20);
    report_buf_puts(b, ",\"sha256\":");
    put_hex(b, sc->sha256, 32);
    report_buf_puts(b, ",\"chain_length\":");
    report_buf_json_u64(b, sc->chain_length);
    report_buf_put(b, "}", 1);
}

/* --request: {"path":..,"sent":..,"status":..,"status_line":..,"server":..,"renegotiation":..}
 * or, without a response head, "error":{"kind":..,"message":..} in place of the status. */
static void http_json(struct report_buf *b, const struct tls_http_result *h)
{
    report_buf_puts(b, "{\"path\":");
    report_buf_json_str(b, h->path);
    report_buf_puts(b, h->sent ? ",\"sent\":true" : ",\"sent\":false");
    if (h->failed) {
        report_buf_puts(b, ",\"error\":{\"kind\":");
        report_buf_json_str(b, tls_error_kind_name(h->error_kind));
        report_buf_puts(b, ",\"message\":");
        report_buf_json_str(b, h->error ? h->error : "");
        report_buf_put(b, "}", 1);
    } else {
        report_buf_puts(b, ",\"status\":");
        report_buf_json_u64(b, (uint64_t)h->status);
        report_buf_puts(b, ",\"status_line\":");
        report_buf_json_str(b, h->status_line);
        report_buf_puts(b, ",\"server\":");
        report_buf_json_str(b, h->server);
        if (h->head_cut)
            report_buf_puts(b, ",\"head_cut\":true");
    }
    report_buf_puts(b, h->renegotiation ? ",\"renegotiation\":true}" : ",\"renegotiation\":false}");
}

/* --client-key: {"presented":..,"phase":..,"result":..} and what the result names: "alert",
 * "http_status" or "error". No result when there is nothing to tell (not asked for). */
static void client_cert_json(struct report_buf *b, const struct tls_observation *o)
{
    const struct tls_client_cert *cc = &o->client_cert;
    report_buf_puts(b, cc->presented ? "{\"presented\":true" : "{\"presented\":false");
    report_buf_puts(b, ",\"phase\":");
    report_buf_json_str(b, o->phase);
    const char *result = tls_client_cert_result_name(cc->result);
    if (result) {
        report_buf_puts(b, ",\"result\":");
        report_buf_json_str(b, result);
    }
    char tmp[8];
    switch (cc->result) {
    case TLS_CLIENT_CERT_ALERT:
        if (cc->alert >= 0) {
            report_buf_puts(b, ",\"alert\":");
            report_buf_json_str(b, tls_name_or_hex(tls_name_alert((uint8_t)cc->alert),
                                                   (unsigned)cc->alert, 2, tmp, sizeof(tmp)));
        }
        break;
    case TLS_CLIENT_CERT_HTTP:
        report_buf_puts(b, ",\"http_status\":");
        report_buf_json_u64(b, (uint64_t)cc->http_status);
        break;
    case TLS_CLIENT_CERT_ERROR:
        report_buf_puts(b, ",\"error\":");
        report_buf_json_str(b, cc->error ? cc->error : "");
        break;
    case TLS_CLIENT_CERT_NONE:
    case TLS_CLIENT_CERT_ACCEPTED:
    case TLS_CLIENT_CERT_CLOSED:
    case TLS_CLIENT_CERT_NO_ANSWER:
        break;
    }
    report_buf_put(b, "}", 1);
}

static void observation_json(struct report_buf *b, const struct names_out *no,
                             const struct tls_observation *o)
{
    report_buf_puts(b, "{\"address\":");
    report_buf_json_str(b, o->address);
    report_buf_puts(b, ",\"sni\":");
    report_buf_json_str(b, o->sni);
    report_buf_puts(b, ",\"tls_max\":");
    put_version(b, o->tls_max);
    report_buf_puts(b, ",\"phase\":");
    report_buf_json_str(b, o->phase);
    if (o->starttls) {
        report_buf_puts(b, ",\"starttls\":");
        report_buf_json_str(b, o->starttls);
    }
    report_buf_puts(b, ",\"outcome\":");
    report_buf_json_str(b, tls_outcome_name(o->outcome));
    if (o->outcome == TLS_OUTCOME_ERROR) {
        report_buf_puts(b, ",\"error\":{\"kind\":");
        report_buf_json_str(b, tls_error_kind_name(o->error_kind));
        report_buf_puts(b, ",\"message\":");
        report_buf_json_str(b, o->error_message ? o->error_message : "");
        if (o->error_kind == TLS_ERROR_DNS && o->dns_error != TLS_DNS_NONE) {
            report_buf_puts(b, ",\"dns\":");
            report_buf_json_str(b, tls_dns_error_name(o->dns_error));
        }
        if (o->error_code) {
            report_buf_puts(b, ",\"code\":");
            report_buf_json_str(b, tls_err_name(o->error_code));
        }
        if (o->error_raw) {
            report_buf_puts(b, ",\"raw\":");
            report_buf_json_i64(b, o->error_raw);
        }
        if (o->alert >= 0) {
            char tmp[8];
            report_buf_puts(b, ",\"alert\":");
            report_buf_json_str(b, tls_name_or_hex(tls_name_alert((uint8_t)o->alert),
                                                   (unsigned)o->alert, 2, tmp, sizeof(tmp)));
        }
        report_buf_put(b, "}", 1);
    }
    if (o->version) {
        char tmp[8];
        report_buf_puts(b, ",\"tls\":{\"version\":");
        put_version(b, o->version);
        report_buf_puts(b, ",\"cipher_suite\":");
        report_buf_json_str(b, o->cipher_suite_name
                                   ? o->cipher_suite_name
                                   : tls_name_or_hex(NULL, o->cipher_suite, 4, tmp, sizeof(tmp)));
        report_buf_put(b, "}", 1);
    }
    if (o->outcome == TLS_OUTCOME_CERTIFICATE_REQUEST) {
        report_buf_puts(b, ",\"certificate_request\":");
        certreq_json(b, no, o);
    }
    if (o->server_cert.present) {
        report_buf_puts(b, ",\"server_certificate\":");
        server_cert_json(b, &o->server_cert);
    }
    if (o->http.path) {
        report_buf_puts(b, ",\"http\":");
        http_json(b, &o->http);
    }
    if (o->client_cert.tried) {
        report_buf_puts(b, ",\"client_cert\":");
        client_cert_json(b, o);
    }
    report_buf_puts(b, ",\"elapsed_ms\":");
    report_buf_json_u64(b, o->elapsed_ms);
    report_buf_put(b, "}", 1);
}

int report_jsonl_write(FILE *out, const struct report_opts *opts, const struct report_target *t)
{
    struct report_buf b = {0};
    struct names_out no = {
        .cache = opts ? opts->jsonl_cache : NULL,
        .compact = opts && opts->format == REPORT_JSONL_COMPACT,
    };
    report_buf_puts(&b, "{\"schema\":\"" REPORT_SCHEMA "\"");
    /* first after the schema: a reader knows before any name that "der" is left out */
    if (no.compact)
        report_buf_puts(&b, ",\"compact\":true");
    report_buf_puts(&b, ",\"target\":");
    report_buf_json_str(&b, t->target);
    report_buf_puts(&b, ",\"host\":");
    report_buf_json_str(&b, t->host);
    report_buf_puts(&b, ",\"port\":");
    report_buf_json_u64(&b, t->port);
    if (t->input_error) {
        report_buf_puts(&b, ",\"error\":{\"kind\":\"input\",\"message\":");
        report_buf_json_str(&b, t->input_error);
        report_buf_put(&b, "}", 1);
    }
    report_buf_puts(&b, ",\"observations\":[");
    for (size_t i = 0; i < t->n_obs; i++) {
        if (i)
            report_buf_put(&b, ",", 1);
        observation_json(&b, &no, t->obs[i]);
    }
    report_buf_puts(&b, "],\"findings\":[");
    for (size_t i = 0; t->findings && i < t->findings->n; i++) {
        const struct report_finding *f = &t->findings->v[i];
        report_buf_puts(&b, i ? ",{\"rule\":" : "{\"rule\":");
        report_buf_json_str(&b, f->rule->name);
        report_buf_puts(&b, ",\"severity\":");
        report_buf_json_str(&b, report_severity_name(f->severity));
        report_buf_puts(&b, ",\"message\":");
        report_buf_json_str(&b, f->message);
        report_buf_puts(&b, ",\"observations\":[");
        for (size_t k = 0; k < f->n_obs; k++) {
            if (k)
                report_buf_put(&b, ",", 1);
            report_buf_json_u64(&b, f->obs[k]);
        }
        report_buf_puts(&b, "],\"remedy\":");
        report_buf_json_str(&b, f->remedy);
        report_buf_put(&b, "}", 1);
    }
    report_buf_puts(&b, "]}\n");
    int rc = 0;
    if (b.failed)
        rc = TLS_E_NOMEM;
    else if (fwrite(b.p, 1, b.len, out) != b.len || fflush(out) != 0)
        rc = TLS_E_IO;
    report_buf_free(&b);
    return rc;
}

int report_target_write(FILE *out, const struct report_opts *opts, const struct report_target *t)
{
    switch (opts->format) {
    case REPORT_TEXT:
        return report_text_write(out, opts, t);
    case REPORT_JSONL:
    case REPORT_JSONL_COMPACT:
        return report_jsonl_write(out, opts, t);
    case REPORT_ONELINE:
        return report_oneline_write(out, opts, t);
    }
    return TLS_E_INVALID;
}
