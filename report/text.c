/* Human text renderer: per target, one block per variant with the advertised CA names, like a
 * clear s_client summary. Colour only when the caller says the output is a terminal. */
#include <string.h>

#include "report.h"
#include "rules.h"
#include "tls/wire/error.h"
#include "tls/wire/escape.h"
#include "tls/wire/names.h"

struct style {
    const char *bold, *red, *green, *yellow, *dim, *reset;
};

static const struct style plain = {"", "", "", "", "", ""};
static const struct style ansi = {"\033[1m",  "\033[31m", "\033[32m",
                                  "\033[33m", "\033[2m",  "\033[0m"};

/* Text that may come from outside (targets, input lines, error messages) for a terminal
 * (tls/wire/escape.h). */
#define CLEAN(s) tls_escape_term(cleanbuf, sizeof(cleanbuf), (s), 0)

static void write_variant(FILE *out, const struct style *st, const struct tls_observation *o)
{
    char cleanbuf[2048];
    char buf[8];
    fprintf(out, "  %s%s%s  %s  TLS %s", st->bold, o->address ? o->address : "-", st->reset,
            o->sni ? o->sni : "(no SNI)",
            tls_name_or_hex(tls_name_version(o->tls_max), o->tls_max, 4, buf, sizeof(buf)));
    if (o->version && o->version != o->tls_max)
        fprintf(out, "  %sserver chose TLS %s%s", st->yellow,
                tls_name_or_hex(tls_name_version(o->version), o->version, 4, buf, sizeof(buf)),
                st->reset);
    if (o->version && o->cipher_suite_name)
        fprintf(out, "  %s%s%s", st->dim, o->cipher_suite_name, st->reset);
    fprintf(out, "  %s%s%s\n", st->dim, o->phase, st->reset);

    switch (o->outcome) {
    case TLS_OUTCOME_ERROR:
        fprintf(out, "    %serror (%s)%s: %s\n", st->red, tls_error_kind_name(o->error_kind),
                st->reset, CLEAN(o->error_message));
        break;
    case TLS_OUTCOME_NO_CERTIFICATE_REQUEST:
        fprintf(out,
                "    %sno certificate request%s: the server does not ask for a client "
                "certificate in this handshake\n",
                st->yellow, st->reset);
        break;
    case TLS_OUTCOME_CERTIFICATE_REQUEST:
        if (o->version == 0x0304 && !o->has_cas)
            fprintf(out,
                    "    %scertificate request without certificate_authorities%s (clients "
                    "may offer any certificate)\n",
                    st->green, st->reset);
        else
            fprintf(out, "    %scertificate request%s: %zu CA name%s (%zu bytes)%s\n", st->green,
                    st->reset, o->ca_count, o->ca_count == 1 ? "" : "s", o->ca_bytes,
                    o->ca_count == 0 ? ", empty list: clients may offer any certificate" : "");
        for (size_t i = 0; i < o->ca_count; i++)
            fprintf(out, "      %s%s%s\n",
                    !o->cas[i].malformed     ? ""
                    : o->cas[i].der_len == 0 ? "(malformed: zero length)"
                                             : "(malformed) ",
                    o->cas[i].dn, "");
        break;
    }
    if (o->server_cert.present) {
        const struct tls_server_cert *sc = &o->server_cert;
        if (sc->error)
            fprintf(out, "    %sserver certificate: %s%s\n", st->dim, sc->error, st->reset);
        else
            fprintf(out, "    %sserver certificate: %s (issuer %s, valid until %s)%s\n", st->dim,
                    sc->subject, sc->issuer, sc->not_after, st->reset);
    }
    const struct tls_http_result *h = &o->http;
    if (h->path == NULL)
        return;
    fprintf(out, "    GET %s: ", CLEAN(h->path));
    if (h->failed)
        fprintf(out, "%sno response (%s)%s: %s", st->red, tls_error_kind_name(h->error_kind),
                st->reset, CLEAN(h->error));
    else
        fprintf(out, "%s", CLEAN(h->status_line));
    if (!h->failed && h->server)
        fprintf(out, " (Server: %s)", CLEAN(h->server));
    fprintf(out, "%s\n", h->renegotiation ? "; the server renegotiated after the request" : "");
}

int report_text_write(FILE *out, const struct report_opts *opts, const struct report_target *t)
{
    const struct style *st = opts->color ? &ansi : &plain;
    char cleanbuf[4096];
    fprintf(out, "%s%s%s\n", st->bold, CLEAN(t->target), st->reset);
    if (t->input_error)
        fprintf(out, "  %serror (input)%s: %s\n", st->red, st->reset, CLEAN(t->input_error));
    for (size_t i = 0; t->findings && i < t->findings->n; i++) {
        const struct report_finding *f = &t->findings->v[i];
        const char *colour = f->severity >= REPORT_SEV_HIGH     ? st->red
                             : f->severity == REPORT_SEV_MEDIUM ? st->yellow
                                                                : st->dim;
        fprintf(out, "  %s%s%-8s%s %s%s%s: %s\n", colour, st->bold,
                report_severity_name(f->severity), st->reset, st->bold, f->rule->name, st->reset,
                CLEAN(f->message));
        fprintf(out, "           %sfix: %s%s\n", st->dim, f->remedy, st->reset);
    }
    for (size_t i = 0; i < t->n_obs; i++)
        write_variant(out, st, t->obs[i]);
    if (fflush(out) != 0 || ferror(out))
        return TLS_E_IO;
    return 0;
}
