/* Rule engine (rules.h): the table of rules with their texts, and one function per rule over
 * all observations of one target. Names are compared by the SHA-256 of their DER bytes, as the
 * clients that filter by byte equality do; canonical comparison is used only where a rule says
 * so. Never does I/O. */
#include "rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "netsh.h"
#include "report.h"
#include "tls/wire/dn.h"
#include "tls/wire/digestset.h"
#include "tls/wire/error.h"
#include "tls/wire/escape.h"
#include "tls/wire/hash.h"
#include "tls/wire/hex.h"
#include "tls/wire/names.h"
#include "tls/wire/str.h"
#include "winroots.h"

/* ---- the table ------------------------------------------------------------------------------ */

/* The parts of remedies that are not about IIS: the table's texts and the findings' own, which
 * put the exact netsh line first. */
#define DUMP_REMEDY_OTHERS                                                                         \
    "Java/Tomcat: use a truststore with only the client CAs instead of cacerts. nginx/Apache: "    \
    "point ssl_client_certificate / SSLCADNRequestFile at the issuing CAs, not the system bundle."
#define EMPTY_REMEDY_OTHERS "nginx: ssl_client_certificate; Apache: SSLCADNRequestFile."
/* root-store-dump on Windows built-in roots: the list is Schannel's, so the fix is http.sys's
 * alone; this ends it. */
#define DUMP_REMEDY_SCHANNEL                                                                       \
    "The Windows built-in roots in the list say it is Schannel's fallback to the machine's "       \
    "Trusted Root store: keep SendTrustedIssuerList=1 "                                            \
    "(HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL) so that Schannel "    \
    "sends that store's names; with 0 it sends none (empty-ca-list)."
#define SNI_REMEDY_OTHERS "nginx: the same ssl_client_certificate in the default_server."
#define POST_REQUEST_OTHERS                                                                        \
    "Apache: SSLVerifyClient at the virtual host level; or limit the site to TLS 1.2 and "         \
    "HTTP/1.1 for the protected paths."

/* Each rule's check, in table order (one function per rule, below the helpers). */
static report_rule_fn rule_no_certificate_request, rule_empty_ca_list, rule_root_store_dump,
    rule_oversized_ca_list, rule_sni_mismatch, rule_version_mismatch, rule_address_mismatch,
    rule_renegotiation_mismatch, rule_expected_ca_missing, rule_unexpected_ca,
    rule_client_cert_not_offered, rule_public_ca_accepted, rule_duplicate_ca, rule_malformed_ca,
    rule_post_request_client_auth, rule_baseline_drift, rule_probe_failed, rule_legacy_tls_version,
    rule_client_cert_rejected, rule_client_cert_accepted_unadvertised;

static const struct report_rule rules[REPORT_RULE_COUNT] = {
    [REPORT_RULE_NO_CERTIFICATE_REQUEST] =
        {REPORT_RULE_NO_CERTIFICATE_REQUEST, "no-certificate-request", REPORT_SEV_HIGH,
         "Client authentication is expected but the server never asks for a certificate",
         "The policy (or --expect-ca / --client-cert) says this target requires client "
         "certificates, but no probe received a CertificateRequest in any phase. Clients are "
         "never asked for a certificate, so a server that needs one answers 403 (IIS 403.7) or "
         "lets the request through without it.",
         "Check that client certificates are enabled on this binding: IIS 'Require' or "
         "'Accept' client certificates (and 'Negotiate Client Certificate' for the initial "
         "handshake), nginx ssl_verify_client, Apache SSLVerifyClient. If the server asks only "
         "after the HTTP request (renegotiation), probe with --request PATH.",
         rule_no_certificate_request},
    [REPORT_RULE_EMPTY_CA_LIST] =
        {REPORT_RULE_EMPTY_CA_LIST, "empty-ca-list", REPORT_SEV_MEDIUM,
         "The server asks for a certificate with an empty CA list",
         "A CertificateRequest with no certificate_authorities (TLS 1.2: an empty list; TLS 1.3: "
         "no certificate_authorities extension) tells clients that any certificate will do. "
         "Browsers then offer every certificate the user has, and clients with several "
         "certificates may pick the wrong one. Windows Server 2012 and later send an empty list "
         "by default (SendTrustedIssuerList = 0).",
         "To steer clients to the right certificate, advertise the issuing CAs: IIS: set the "
         "binding's Ctl Store Name to the Client Authentication Issuers store (netsh http "
         "update sslcert ... sslctlstorename=ClientAuthIssuer) and "
         "SendTrustedIssuerList=1; " EMPTY_REMEDY_OTHERS,
         rule_empty_ca_list},
    [REPORT_RULE_ROOT_STORE_DUMP] =
        {REPORT_RULE_ROOT_STORE_DUMP, "root-store-dump", REPORT_SEV_HIGH,
         "The server advertises a whole root store instead of its client-certificate issuers",
         "The list carries evidence of a trust store: at least 5 names and most of them public "
         "root CAs (--public-roots, default the system bundle), or any root that only a Windows "
         "Trusted Root store holds (Microsoft's own product, code-signing and time-stamping "
         "roots, and the legacy roots Windows keeps: none of them issues client certificates). "
         "A long list of private names is no such evidence. This is what Schannel sends when an "
         "IIS binding has no Ctl Store Name (typically lost when the server certificate was "
         "renewed through IIS Manager): it falls back to the Trusted Root store. Clients that "
         "filter by the list then find no matching certificate and never ask the user, and the "
         "server answers 403.7; long lists also break clients outright (see oversized-ca-list).",
         "IIS: restore the binding's Ctl Store Name: netsh http update sslcert "
         "hostnameport=NAME:443 (or ipport=0.0.0.0:443) certhash=<thumbprint> appid={GUID} "
         "certstorename=MY sslctlstorename=ClientAuthIssuer, with the issuing CAs in the "
         "Client Authentication Issuers store. A list with Windows built-in roots is IIS's: its "
         "finding's fix is this one alone, ending: " DUMP_REMEDY_SCHANNEL
         " Other servers: " DUMP_REMEDY_OTHERS,
         rule_root_store_dump},
    [REPORT_RULE_OVERSIZED_CA_LIST] =
        {REPORT_RULE_OVERSIZED_CA_LIST, "oversized-ca-list", REPORT_SEV_MEDIUM,
         "The CA list is larger than some clients can take",
         "Above 16,384 bytes the CertificateRequest spans several records and clients with a "
         "fixed input buffer (mbedTLS, many embedded stacks) fail; Java clients fail above "
         "32,768 bytes (jdk.tls.maxHandshakeMessageSize); near 65,535 bytes the field overflows "
         "and servers abort with internal_error. Schannel silently truncates at 16 KB, so "
         "which CAs survive changes as the root store grows.",
         "Advertise only the CAs that issue client certificates (a few names, a few hundred "
         "bytes). See root-store-dump for the usual cause.",
         rule_oversized_ca_list},
    [REPORT_RULE_SNI_MISMATCH] =
        {REPORT_RULE_SNI_MISMATCH, "sni-mismatch", REPORT_SEV_HIGH,
         "The CA list differs with and without SNI",
         "The same address advertises different lists depending on whether the client sends "
         "the host name. http.sys keeps separate bindings for hostnameport (SNI) and ipport "
         "(no SNI), each with its own Ctl Store Name; nginx gives non-SNI clients the "
         "default_server's ssl_client_certificate. Clients that connect by address, or old "
         "clients without SNI, get the other list.",
         "Make both bindings advertise the same issuers: IIS: netsh http show sslcert, then "
         "netsh http update sslcert for the binding that differs (hostnameport=NAME:443 or "
         "ipport=0.0.0.0:443) with sslctlstorename=ClientAuthIssuer; " SNI_REMEDY_OTHERS,
         rule_sni_mismatch},
    [REPORT_RULE_VERSION_MISMATCH] =
        {REPORT_RULE_VERSION_MISMATCH, "version-mismatch", REPORT_SEV_MEDIUM,
         "The CA list differs between TLS versions",
         "The server advertises different names (or asks in one version only) depending on "
         "the TLS version, so the result depends on the client's TLS stack.",
         "Configure the client CA list once for all protocol versions; check for per-version "
         "settings or a TLS-terminating proxy in front of the server.",
         rule_version_mismatch},
    [REPORT_RULE_ADDRESS_MISMATCH] =
        {REPORT_RULE_ADDRESS_MISMATCH, "address-mismatch", REPORT_SEV_HIGH,
         "The CA list differs between the addresses of one name",
         "The addresses a name resolves to (IPv4 and IPv6, several A records) advertise "
         "different lists: one node or one binding (0.0.0.0:443 vs [::]:443 in http.sys) was "
         "fixed and another was not, so clients fail depending on the address they get.",
         "Compare the bindings of every node and address family (netsh http show sslcert on "
         "each, both ipport=0.0.0.0:443 and ipport=[::]:443) and apply the same Ctl Store "
         "Name everywhere.",
         rule_address_mismatch},
    [REPORT_RULE_RENEGOTIATION_MISMATCH] =
        {REPORT_RULE_RENEGOTIATION_MISMATCH, "renegotiation-mismatch", REPORT_SEV_MEDIUM,
         "The CA list of the renegotiation differs from the initial handshake",
         "The server advertises one list in the initial handshake and another when it "
         "renegotiates after the HTTP request (per-location settings, Apache SSLCADNRequestFile "
         "in a <Location>).",
         "Use the same client CA list for the whole site, or make sure the list of the "
         "protected location is the intended one.",
         rule_renegotiation_mismatch},
    [REPORT_RULE_EXPECTED_CA_MISSING] =
        {REPORT_RULE_EXPECTED_CA_MISSING, "expected-ca-missing", REPORT_SEV_HIGH,
         "An expected client CA is not advertised",
         "A CA that should issue client certificates for this target (--expect-ca or the "
         "policy) is not in the advertised list, byte for byte. Clients whose certificates "
         "chain to it are not asked for them.",
         "Add the CA to the advertised list: IIS: import it into the Client Authentication "
         "Issuers store named by the binding's Ctl Store Name; nginx: ssl_client_certificate; "
         "Apache: SSLCADNRequestFile or SSLCACertificateFile.",
         rule_expected_ca_missing, .per_variant = true},
    [REPORT_RULE_UNEXPECTED_CA] =
        {REPORT_RULE_UNEXPECTED_CA, "unexpected-ca", REPORT_SEV_MEDIUM,
         "The server advertises CAs that are not expected",
         "Names in the list are not among the expected CAs (--expect-ca or the policy). Extra "
         "names make clients offer certificates the server will not accept, or show that the "
         "server trusts more issuers than intended.",
         "Remove the extra CAs from the advertised store or file, or add them to the "
         "expectation if they are intended.",
         rule_unexpected_ca, .per_variant = true},
    [REPORT_RULE_CLIENT_CERT_NOT_OFFERED] =
        {REPORT_RULE_CLIENT_CERT_NOT_OFFERED, "client-cert-not-offered", REPORT_SEV_HIGH,
         "The given client certificate would not be offered",
         "No certificate of the chain given with --client-cert (or in the policy) has an "
         "issuer among the advertised names (RFC 5246 7.4.6, RFC 8446 4.4.2.3), so filtering "
         "clients (browsers, Java, Go, .NET, Windows) never offer it. When a name matches only "
         "after canonical comparison (case, spacing, string type), Java and .NET offer the "
         "certificate but Go, Chromium and NSS, which compare bytes, do not.",
         "Advertise the CA that issued the client certificate (or its root, if clients have "
         "the whole chain), with the exact DER name from the issuing CA certificate.",
         rule_client_cert_not_offered},
    [REPORT_RULE_PUBLIC_CA_ACCEPTED] =
        {REPORT_RULE_PUBLIC_CA_ACCEPTED, "public-ca-accepted", REPORT_SEV_MEDIUM,
         "Public root CAs are advertised for client authentication",
         "The list holds public root CAs. A server that also trusts them for verification "
         "accepts a certificate from anyone who can get one from a public CA, unless it checks "
         "more than the chain.",
         "Advertise and trust only the private CAs that issue your client certificates; map "
         "or pin accepted certificates if public CAs must stay.",
         rule_public_ca_accepted},
    [REPORT_RULE_DUPLICATE_CA] =
        {REPORT_RULE_DUPLICATE_CA, "duplicate-ca", REPORT_SEV_LOW,
         "The same CA name is advertised more than once",
         "Duplicate names waste space and usually mean a store holds the same CA twice "
         "(renewed with the same name) or two stores were merged.",
         "Remove the duplicate certificates from the advertised store or file.", rule_duplicate_ca},
    [REPORT_RULE_MALFORMED_CA] =
        {REPORT_RULE_MALFORMED_CA, "malformed-ca", REPORT_SEV_MEDIUM,
         "An advertised CA name cannot be decoded",
         "A list entry is not a valid DER Name (or is empty). Clients may skip it, reject the "
         "whole list or fail the handshake. caprobe keeps it as hex.",
         "Find the certificate with the broken subject in the advertised store and replace "
         "it; for IIS, check the Client Authentication Issuers store and the 'NT AUTHORITY' "
         "entries Schannel may add.",
         rule_malformed_ca},
    [REPORT_RULE_POST_REQUEST_CLIENT_AUTH] =
        {REPORT_RULE_POST_REQUEST_CLIENT_AUTH, "post-request-client-auth", REPORT_SEV_HIGH,
         "The certificate is requested only after the HTTP request",
         "The initial handshake has no CertificateRequest; the server asks by TLS 1.2 "
         "renegotiation after the request for a protected path (IIS without 'Negotiate Client "
         "Certificate', Apache per-location SSLVerifyClient). TLS 1.3 and HTTP/2 clients cannot "
         "follow: Server 2022 resets, Server 2025 answers 500, Apache 403.",
         "Ask in the initial handshake: IIS: netsh http update sslcert ... "
         "clientcertnegotiation=enable; " POST_REQUEST_OTHERS,
         rule_post_request_client_auth},
    [REPORT_RULE_BASELINE_DRIFT] =
        {REPORT_RULE_BASELINE_DRIFT, "baseline-drift", REPORT_SEV_MEDIUM,
         "The CA list changed since the baseline scan",
         "The advertised names differ from the earlier scan given with --baseline. When the "
         "server certificate changed at the same time, a certificate renewal most likely reset "
         "the binding (IIS Manager drops the Ctl Store Name when it rebinds a renewed "
         "certificate).",
         "If the change was not intended, restore the binding; for IIS: netsh http update "
         "sslcert with the new certificate's thumbprint and sslctlstorename=ClientAuthIssuer.",
         rule_baseline_drift, .per_variant = true},
    [REPORT_RULE_PROBE_FAILED] =
        {REPORT_RULE_PROBE_FAILED, "probe-failed", REPORT_SEV_MEDIUM,
         "No probe of the target succeeded",
         "Every probe of the target failed: the name did not resolve, the connection was "
         "refused or timed out, or what answered was not a TLS server that completes its first "
         "flight. caprobe learned nothing about its CA list, so a gate that passes here passes "
         "by accident. High where client authentication is expected (policy, --expect-ca, "
         "--client-cert): that target is the one the gate is about.",
         "Check that the target is up and reachable from where caprobe runs (DNS, firewall, "
         "port), and that it speaks TLS on that port; the observations' errors say what each "
         "probe met. A target that is expected to be down can be left out of the list or "
         "given a lower severity in the policy.",
         rule_probe_failed},
    [REPORT_RULE_LEGACY_TLS_VERSION] =
        {REPORT_RULE_LEGACY_TLS_VERSION, "legacy-tls-version", REPORT_SEV_MEDIUM,
         "The server still speaks TLS 1.0 or 1.1",
         "A ServerHello chose TLS 1.0 or 1.1 (or SSL 3.0), which RFC 8996 deprecates: their "
         "handshake hashes rest on MD5 and SHA-1, and their CBC suites on MAC-then-encrypt. "
         "Current clients refuse them (browsers since 2020, Java since 8u291 and 11.0.11, "
         "OpenSSL 3 at its default security level), so where the server speaks nothing newer "
         "they cannot connect at all, let alone offer a client certificate: medium. Where it "
         "also speaks TLS 1.2 or 1.3 the old versions only wait for old clients and downgrade "
         "attempts: low. caprobe reaches these versions with a ClientHello of its own "
         "(--tls 1.0,1.1 probes them on their own).",
         "Enable TLS 1.2 (and 1.3) and disable TLS 1.0 and 1.1. Windows/IIS (Schannel): "
         "HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols"
         "\\TLS 1.0\\Server (and TLS 1.1): Enabled=0, DisabledByDefault=1, with TLS 1.2 "
         "enabled the same way, then reboot. nginx: ssl_protocols TLSv1.2 TLSv1.3; Apache: "
         "SSLProtocol -all +TLSv1.2 +TLSv1.3; Java: keep TLSv1 and TLSv1.1 in "
         "jdk.tls.disabledAlgorithms. Appliances: the vendor's TLS profile, or a TLS-terminating "
         "proxy in front of them.",
         rule_legacy_tls_version},
    [REPORT_RULE_CLIENT_CERT_REJECTED] =
        {REPORT_RULE_CLIENT_CERT_REJECTED, "client-cert-rejected", REPORT_SEV_HIGH,
         "The server advertises the certificate's issuer yet refuses it",
         "caprobe presented the --client-cert certificate (--client-key) and the server "
         "advertises an issuer of its chain, so browsers and filtering clients offer it, yet the "
         "server refused it: a fatal alert (unknown_ca, bad_certificate, certificate_expired, "
         "...), a closed connection, or the response 400 (nginx) or 403 (IIS 403.7 and 403.16, "
         "Apache). The user is prompted, picks the certificate and is turned away: the list "
         "and the trust disagree (IIS: the issuing CA is in the Client Authentication Issuers "
         "store but its chain does not build to a trusted root, or revocation cannot be "
         "checked). High: the certificate users are invited to present does not work. Low "
         "when the certificate presented was itself outside its validity at the scan: refusing "
         "it is right, and proves nothing about the binding.",
         "Make the server trust what it advertises: IIS: the issuing CA in the Intermediate "
         "Certification Authorities store and its root in Trusted Root Certification "
         "Authorities, its CRL or OCSP reachable from the server; nginx: the whole chain in "
         "ssl_client_certificate (or ssl_trusted_certificate) and ssl_verify_depth deep enough; "
         "Apache: SSLCACertificateFile and SSLVerifyDepth. An alert certificate_expired or "
         "certificate_revoked is about the certificate: prove the binding with a valid one.",
         rule_client_cert_rejected},
    [REPORT_RULE_CLIENT_CERT_ACCEPTED_UNADVERTISED] =
        {REPORT_RULE_CLIENT_CERT_ACCEPTED_UNADVERTISED, "client-cert-accepted-unadvertised",
         REPORT_SEV_MEDIUM, "The server accepts a certificate whose issuer it does not advertise",
         "caprobe presented the --client-cert certificate (--client-key) and the server took "
         "it (the handshake completed, or the request got a 2xx or 3xx answer), but none of the "
         "names it advertises is an issuer of the certificate's chain: a client that follows "
         "the list (browsers, Windows, Java, Go, .NET) never offers it, so its users are not "
         "prompted and get 403, while curl or a script that sends it anyway gets in. The "
         "server trusts more than it advertises: a test with such a client proves nothing for "
         "browsers. Medium: the certificate works, but only for clients that ignore the list; "
         "client-cert-not-offered (high) tells the same list's effect on filtering clients.",
         "Advertise the CA that issued the certificate: IIS: put it in the store the binding's "
         "Ctl Store Name names (ClientAuthIssuer); nginx: ssl_client_certificate, not only "
         "ssl_trusted_certificate; Apache: SSLCADNRequestFile. If the server should not take "
         "certificates of that CA, remove it from the server's trust instead.",
         rule_client_cert_accepted_unadvertised},
};

const struct report_rule *report_rule_get(enum report_rule_id id)
{
    return (unsigned)id < REPORT_RULE_COUNT ? &rules[id] : NULL;
}

const struct report_rule *report_rule_find(const char *name)
{
    for (size_t i = 0; i < REPORT_RULE_COUNT; i++)
        if (strcmp(rules[i].name, name) == 0)
            return &rules[i];
    return NULL;
}

static const char *const severity_names[] = {"info", "low", "medium", "high", "critical"};

const char *report_severity_name(enum report_severity s)
{
    return (unsigned)s <= REPORT_SEV_CRITICAL ? severity_names[s] : "info";
}

int report_severity_parse(const char *s, enum report_severity *out)
{
    for (int i = 0; i <= REPORT_SEV_CRITICAL; i++)
        if (strcmp(s, severity_names[i]) == 0) {
            *out = (enum report_severity)i;
            return 0;
        }
    return -1;
}

void report_context_init(struct report_context *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->client_auth = -1;
    for (size_t i = 0; i < REPORT_RULE_COUNT; i++) {
        ctx->severity[i] = rules[i].severity;
        ctx->enabled[i] = true;
    }
}

void report_findings_init(struct report_findings *f)
{
    memset(f, 0, sizeof(*f));
    f->max_bytes = REPORT_FINDINGS_MAX_BYTES;
    tls_arena_init(&f->arena, 0); /* an allocation that fails is malloc failing, never a limit */
}

void report_findings_free(struct report_findings *f)
{
    if (f == NULL)
        return;
    free(f->v);
    tls_arena_free(&f->arena);
    memset(f, 0, sizeof(*f));
}

int report_findings_max(const struct report_findings *f)
{
    int max = -1;
    for (size_t i = 0; i < f->n; i++)
        if ((int)f->v[i].severity > max)
            max = (int)f->v[i].severity;
    return max;
}

enum report_list_state report_list_state(const struct tls_observation *o)
{
    switch (o->outcome) {
    case TLS_OUTCOME_CERTIFICATE_REQUEST:
        return REPORT_LIST_NAMES;
    case TLS_OUTCOME_NO_CERTIFICATE_REQUEST:
        return REPORT_LIST_NONE;
    case TLS_OUTCOME_ERROR:
        return REPORT_LIST_UNKNOWN;
    }
    return REPORT_LIST_UNKNOWN;
}

/* ---- helpers ------------------------------------------------------------------------------- */

/* An observation's names as a set: SHA-256 of each distinct name, sorted, with the index of its
 * first occurrence. Built once per run, so that comparing two lists is a merge, not n x m (a
 * hostile server may send 32,767 names in each of many variants). */
struct name_ref {
    uint8_t sha[32];
    size_t first;
};

struct name_set {
    struct name_ref *v;
    size_t n;    /* distinct names */
    size_t dups; /* entries that repeat an earlier name */
};

/* One run of the engine: where findings go and what the rules see. */
struct report_rule_run {
    const struct report_target *t;
    const struct report_context *ctx;
    struct report_findings *out;
    struct name_set *sets; /* one per observation, in t->obs order */
    size_t *list;          /* per observation: NO_LIST, LIST_NONE_ID or its set's id */
    size_t *idx;           /* scratch for one rule: observation indexes, n_obs of them */
    size_t *pub;           /* public roots in each list, then the first one's index; NULL until
                            * a rule asks (public_counts) */
    size_t *win;           /* Windows built-in roots in each list; NULL until asked */
    uint8_t (*exp)[32];    /* the expected CAs' subject digests, sorted; NULL until asked */
    size_t used;           /* bytes the kept findings hold, against out->max_bytes */
    size_t kept[REPORT_RULE_COUNT], last[REPORT_RULE_COUNT]; /* per rule: count, last index */
    size_t dropped[REPORT_RULE_COUNT];                       /* not kept: over the budget */
    enum report_severity dropped_sev[REPORT_RULE_COUNT];     /* the highest of those */
    int err; /* TLS_E_NOMEM: malloc failed; the only error of a run */
};

/* Room kept at the end of a message for the notes of add() and notes_add(). */
#define MESSAGE_MAX 2048
#define MESSAGE_NOTE_ROOM 192

static struct report_finding *add(struct report_rule_run *r, const struct report_rule *rule,
                                  enum report_severity sev, const size_t *obs, size_t n_obs,
                                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* A finding of rule resting on obs. Over the target's budget (out->max_bytes) only the rule's
 * first finding is kept; the others are counted for notes_add(). NULL when not kept. */
static struct report_finding *add(struct report_rule_run *r, const struct report_rule *rule,
                                  enum report_severity sev, const size_t *obs, size_t n_obs,
                                  const char *fmt, ...)
{
    struct report_findings *f = r->out;
    if (r->err)
        return NULL;
    char msg[MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, MESSAGE_MAX - MESSAGE_NOTE_ROOM, fmt, ap);
    va_end(ap);
    size_t cite = n_obs < REPORT_FINDING_MAX_OBS ? n_obs : REPORT_FINDING_MAX_OBS;
    size_t len = strlen(msg);
    if (cite < n_obs)
        len += (size_t)snprintf(msg + len, sizeof(msg) - len,
                                "; and %zu more observations (a finding cites at most %d)",
                                n_obs - cite, REPORT_FINDING_MAX_OBS);
    size_t cost = sizeof(*f->v) + len + 1 + cite * sizeof(*obs);
    enum report_rule_id id = rule->id;
    if (r->kept[id] && r->used + cost > f->max_bytes) {
        if (r->dropped[id]++ == 0 || sev > r->dropped_sev[id])
            r->dropped_sev[id] = sev;
        return NULL;
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 8;
        struct report_finding *v = realloc(f->v, cap * sizeof(*v));
        if (v == NULL) {
            r->err = TLS_E_NOMEM;
            return NULL;
        }
        f->v = v;
        f->cap = cap;
    }
    char *message = tls_arena_memdup(&f->arena, msg, len + 1);
    size_t *cited = cite ? tls_arena_memdup(&f->arena, obs, cite * sizeof(*obs)) : NULL;
    if (message == NULL || (cite && cited == NULL)) {
        r->err = TLS_E_NOMEM;
        return NULL;
    }
    struct report_finding *x = &f->v[f->n];
    *x = (struct report_finding){.rule = rule,
                                 .severity = sev,
                                 .message = message,
                                 .remedy = rule->remedy,
                                 .obs = cited,
                                 .n_obs = cite,
                                 .seq = f->n};
    r->used += cost;
    r->kept[id]++;
    r->last[id] = f->n++;
    return x;
}

/* Findings that did not fit the budget: the rule's last kept one says how many, and carries the
 * highest severity among them so that --fail-on still sees it. */
static void notes_add(struct report_rule_run *r)
{
    for (size_t id = 0; id < REPORT_RULE_COUNT && !r->err; id++) {
        if (r->dropped[id] == 0)
            continue;
        struct report_finding *f = &r->out->v[r->last[id]];
        const char *m = tls_arena_printf(
            &r->out->arena,
            "%s; %zu more finding%s of this rule not recorded: the findings of this target "
            "reached their limit of %zu bytes",
            f->message, r->dropped[id], r->dropped[id] == 1 ? "" : "s", r->out->max_bytes);
        if (m == NULL) {
            r->err = TLS_E_NOMEM;
            return;
        }
        f->message = m;
        if (r->dropped_sev[id] > f->severity)
            f->severity = r->dropped_sev[id];
    }
}

/* The severity of a finding: the context's when the user chose one (pinned by a policy, also
 * to the default, or set to another value), else what the evidence says for the rule's default
 * (some rules grade their default by what they found). */
static enum report_severity severity(const struct report_rule_run *r,
                                     const struct report_rule *rule, enum report_severity evidence)
{
    enum report_severity set = r->ctx->severity[rule->id];
    return r->ctx->pinned[rule->id] || set != rule->severity ? set : evidence;
}

/* "1.0" .. "1.3": the version a variant offered at most, as its key and its label say it. */
static const char *tls_max_name(const struct tls_observation *o)
{
    const char *n = tls_name_version(o->tls_max);
    return n ? n : "?";
}

/* "127.0.0.1, SNI app.example.com, TLS 1.2" */
static void describe(const struct tls_observation *o, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s, %s%s, TLS %s%s", o->address ? o->address : "-",
             o->sni ? "SNI " : "no SNI", o->sni ? o->sni : "", tls_max_name(o),
             strcmp(o->phase, "handshake") == 0 ? "" : ", renegotiation");
}

static int ref_cmp(const void *a, const void *b)
{
    const struct name_ref *x = a, *y = b;
    int c = memcmp(x->sha, y->sha, 32);
    return c ? c : (x->first > y->first) - (x->first < y->first);
}

static int sets_build(struct report_rule_run *r)
{
    const struct report_target *t = r->t;
    r->sets = calloc(t->n_obs ? t->n_obs : 1, sizeof(*r->sets));
    if (r->sets == NULL)
        return TLS_E_NOMEM;
    for (size_t i = 0; i < t->n_obs; i++) {
        const struct tls_observation *o = t->obs[i];
        struct name_set *set = &r->sets[i];
        if (report_list_state(o) != REPORT_LIST_NAMES || o->ca_count == 0)
            continue;
        set->v = malloc(o->ca_count * sizeof(*set->v));
        if (set->v == NULL)
            return TLS_E_NOMEM;
        for (size_t k = 0; k < o->ca_count; k++) {
            memcpy(set->v[k].sha, o->cas[k].sha256, 32);
            set->v[k].first = k;
        }
        qsort(set->v, o->ca_count, sizeof(*set->v), ref_cmp);
        size_t n = 0;
        for (size_t k = 0; k < o->ca_count; k++) {
            if (n && memcmp(set->v[n - 1].sha, set->v[k].sha, 32) == 0) {
                set->dups++; /* the earlier occurrence stays: sorted by (sha, first) */
                continue;
            }
            set->v[n++] = set->v[k];
        }
        set->n = n;
    }
    return 0;
}

static bool sets_equal(const struct name_set *a, const struct name_set *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (memcmp(a->v[i].sha, b->v[i].sha, 32) != 0)
            return false;
    return true;
}

/* A list's id: the same for observations with the same state and set of names. */
#define NO_LIST SIZE_MAX /* an error: nothing to compare */
#define LIST_NONE_ID 0   /* no CertificateRequest */

/* Over the sorted hashes of a set: equal sets hash equal, and sets_equal decides, so a collision
 * (even one a server crafts) costs a comparison, never a wrong answer. */
static uint64_t set_hash(const struct name_set *s)
{
    uint64_t h = tls_fnv1a(&s->n, sizeof(s->n), TLS_FNV1A_OFFSET);
    for (size_t i = 0; i < s->n; i++)
        h = tls_fnv1a(s->v[i].sha, 32, h);
    return h;
}

struct list_row {
    size_t n;
    uint64_t hash;
    size_t obs;
};

static int list_row_cmp(const void *pa, const void *pb)
{
    const struct list_row *a = pa, *b = pb;
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    return (a->obs > b->obs) - (a->obs < b->obs);
}

/* Number the distinct lists, so that rules compare ids, not names: sorted by size and hash,
 * equal sets are neighbours, and each set is compared with the distinct sets of its run so far
 * (one of them unless hashes collide). O(n log n) in lists plus one pass over the names. */
static int lists_build(struct report_rule_run *r)
{
    size_t n = r->t->n_obs, m = 0;
    struct list_row *rows = malloc((n ? n : 1) * sizeof(*rows));
    r->list = malloc((n ? n : 1) * sizeof(*r->list));
    if (rows == NULL || r->list == NULL) {
        free(rows);
        return TLS_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        switch (report_list_state(r->t->obs[i])) {
        case REPORT_LIST_UNKNOWN:
            r->list[i] = NO_LIST;
            break;
        case REPORT_LIST_NONE:
            r->list[i] = LIST_NONE_ID;
            break;
        case REPORT_LIST_NAMES:
            rows[m++] = (struct list_row){r->sets[i].n, set_hash(&r->sets[i]), i};
            break;
        }
    }
    qsort(rows, m, sizeof(*rows), list_row_cmp);
    size_t next = LIST_NONE_ID + 1;
    for (size_t s = 0, e; s < m; s = e) {
        for (e = s + 1; e < m && rows[e].n == rows[s].n && rows[e].hash == rows[s].hash; e++)
            ;
        size_t first = next; /* r->idx[id - first]: an observation with list id */
        for (size_t k = s; k < e; k++) {
            size_t id = first;
            while (id < next && !sets_equal(&r->sets[rows[k].obs], &r->sets[r->idx[id - first]]))
                id++;
            if (id == next)
                r->idx[next++ - first] = rows[k].obs;
            r->list[rows[k].obs] = id;
        }
    }
    free(rows);
    return 0;
}

static int run_init(struct report_rule_run *r)
{
    r->idx = malloc((r->t->n_obs ? r->t->n_obs : 1) * sizeof(*r->idx));
    if (r->idx == NULL)
        return TLS_E_NOMEM;
    int rc = sets_build(r);
    return rc ? rc : lists_build(r);
}

static void run_free(struct report_rule_run *r)
{
    for (size_t i = 0; r->sets && i < r->t->n_obs; i++)
        free(r->sets[i].v);
    free(r->sets);
    free(r->list);
    free(r->idx);
    free(r->pub);
    free(r->win);
    free(r->exp);
}

/* Sorted arrays whose elements start with a SHA-256 (name_ref, root hashes): one search. */
static int cmp_sha(const void *key, const void *elem)
{
    return memcmp(key, elem, 32);
}

static const void *find_sha(const void *base, size_t n, size_t stride, const uint8_t sha[32])
{
    return n ? bsearch(sha, base, n, stride, cmp_sha) : NULL;
}

static struct tls_digest_list set_list(const struct name_set *set)
{
    return (struct tls_digest_list){set->n ? set->v[0].sha : NULL, set->n, sizeof(*set->v)};
}

struct missing {
    const struct tls_observation *o;
    const struct name_set *set;
    char *buf;
    size_t cap, len, n;
};

static void missing_cb(void *ctx, size_t i)
{
    struct missing *m = ctx;
    if (m->n < 3 && m->len < m->cap)
        m->len += (size_t)snprintf(m->buf + m->len, m->cap - m->len, "%s%s", m->n ? "; " : "",
                                   m->o->cas[m->set->v[i].first].dn);
    m->n++;
}

/* Up to three names of observation a that b lacks, as "A; B; C and 4 more"; returns how many
 * a lacks. */
static size_t names_missing(const struct report_rule_run *r, size_t a, size_t b, char *buf,
                            size_t cap)
{
    struct tls_digest_list la = set_list(&r->sets[a]), lb = set_list(&r->sets[b]);
    struct missing m = {r->t->obs[a], &r->sets[a], buf, cap, 0, 0};
    buf[0] = 0;
    tls_digest_list_diff(&la, &lb, NULL, NULL, missing_cb, NULL, &m);
    if (m.n > 3 && m.len < cap)
        snprintf(buf + m.len, cap - m.len, " and %zu more", m.n - 3);
    return m.n;
}

/* A message built piece by piece. A piece that does not fit is dropped whole, as is every piece
 * after it, and the text is marked cut: no command line is ever shown in part (a netsh line
 * pasted half would change another setting than the one meant). */
struct text {
    char *p;
    size_t len, cap;
    bool cut;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(struct text *t, const char *fmt, ...)
{
    if (t->cut || t->len >= t->cap) {
        t->cut = true;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= t->cap - t->len) {
        t->p[t->len] = 0;
        t->cut = true;
        return;
    }
    t->len += (size_t)n;
}

/* Whether the target is expected to ask for a client certificate: the policy says so, or an
 * expectation (--expect-ca, --client-cert) implies it unless the policy says it does not. */
static bool client_auth_expected(const struct report_rule_run *r)
{
    return r->ctx->client_auth == 1 ||
           (r->ctx->client_auth != 0 && (r->ctx->expected_cas || r->ctx->client_chain));
}

/* The binding of --netsh the variant reached (report/netsh.h), or NULL. */
static const struct tls_netsh_binding *netsh_joined(const struct report_rule_run *r,
                                                    const struct tls_observation *o,
                                                    enum report_netsh_via *via)
{
    return report_netsh_join(r->ctx->netsh, o->sni, o->address, r->t->port, via);
}

/* The http.sys binding a variant reached: with --netsh the one of the file; else
 * "hostnameport=NAME:PORT" with SNI, else the wildcard of its address family
 * ("ipport=0.0.0.0:PORT", "ipport=[::]:PORT": separate bindings). */
static void iis_binding(const struct report_rule_run *r, const struct tls_observation *o, char *buf,
                        size_t cap)
{
    enum report_netsh_via via;
    const struct tls_netsh_binding *b = netsh_joined(r, o, &via);
    if (b)
        tls_escape_term(buf, cap, b->key, 0);
    else if (o->sni)
        snprintf(buf, cap, "hostnameport=%s:%u", o->sni, r->t->port);
    else
        snprintf(buf, cap, "ipport=%s:%u",
                 o->address && strchr(o->address, ':') ? "[::]" : "0.0.0.0", r->t->port);
}

/* "netsh http update sslcert BINDING certhash=SHA1 appid={APP-GUID} certstorename=MY EXTRA":
 * the certificate the variant was served (its SHA-1 is what netsh calls the thumbprint); the
 * appid is the binding's own, which only the server knows. With --netsh, the line of the
 * binding the variant reached, its own hash, appid, store and settings, then which binding it is,
 * what it says now, and whether its hash is the certificate that was served. */
static void netsh_update(const struct report_rule_run *r, const struct tls_observation *o,
                         const char *extra, struct text *t)
{
    char binding[320], thumb[41] = "<thumbprint>";
    if (o->server_cert.present && o->server_cert.error == NULL)
        tls_hex_encode(o->server_cert.sha1, 20, thumb);
    enum report_netsh_via via;
    const struct tls_netsh_binding *b = netsh_joined(r, o, &via);
    if (b == NULL) {
        iis_binding(r, o, binding, sizeof(binding));
        text_add(t, "netsh http update sslcert %s certhash=%s appid={APP-GUID} certstorename=MY %s",
                 binding, thumb, extra);
        return;
    }
    char line[REPORT_NETSH_LINE_MAX], file[256], state[400];
    report_netsh_update_line(b, extra, line, sizeof(line));
    report_netsh_describe(b, state, sizeof(state));
    tls_escape_term(file, sizeof(file), report_netsh_name(r->ctx->netsh), 0);
    text_add(t, "%s (the binding of %s line %zu%s: %s", line, file, b->line,
             via == REPORT_NETSH_VIA_CCS ? ", the Central Certificate Store's, as no "
                                           "hostnameport binding has the name"
             : o->sni && via != REPORT_NETSH_VIA_HOSTNAME
                 ? ", as no hostnameport binding has the name"
                 : "",
             state);
    const char *hash = tls_netsh_get(b, TLS_NETSH_F_CERT_HASH);
    if (hash && thumb[0] != '<' && strcasecmp(hash, thumb) != 0)
        text_add(t,
                 "; its Certificate Hash is not the SHA-1 of the certificate served, %s: %s is "
                 "older than the server's bindings, or another binding answered",
                 thumb, file);
    text_add(t, ")");
}

/* "(APP-GUID: the appid netsh http show sslcert BINDING lists)"; with --netsh the line above has
 * the binding's own, or the file has none the variant reached. */
static void netsh_appid_note(const struct report_rule_run *r, const struct tls_observation *o,
                             struct text *t)
{
    char binding[320], file[256];
    enum report_netsh_via via;
    if (netsh_joined(r, o, &via))
        return;
    iis_binding(r, o, binding, sizeof(binding));
    if (r->ctx->netsh)
        text_add(t,
                 " (%s has no binding this variant reaches: APP-GUID is the appid that netsh "
                 "http show sslcert %s lists)",
                 tls_escape_term(file, sizeof(file), report_netsh_name(r->ctx->netsh), 0), binding);
    else
        text_add(t, " (APP-GUID: the appid that netsh http show sslcert %s lists)", binding);
}

/* A remedy's buffer: room for REMEDY_BINDINGS netsh lines with what --netsh says of each (a line
 * of 1 KiB at most, the file's name, the binding's state), and for the note that says a remedy
 * was cut all the same, kept after its cap. */
#define REMEDY_MAX 12288
#define REMEDY_CUT_NOTE " [cut here: more than fits in one fix]"
#define REMEDY_CUT_ROOM sizeof(REMEDY_CUT_NOTE)

/* The finding's own remedy: what the target told (its host, port, bindings, certificate) in
 * place of the rule's placeholders. Counted against the target's budget like its message. */
static void set_remedy(struct report_rule_run *r, struct report_finding *f, struct text *t)
{
    if (f == NULL || t->len == 0)
        return;
    if (t->cut) /* the room kept after cap */
        t->len += (size_t)snprintf(t->p + t->len, REMEDY_CUT_ROOM, "%s", REMEDY_CUT_NOTE);
    const char *m = tls_arena_strdup(&r->out->arena, t->p);
    if (m == NULL) {
        r->err = TLS_E_NOMEM;
        return;
    }
    f->remedy = m;
    r->used += t->len + 1;
}

/* Bindings a remedy names at most; more are said by count. */
#define REMEDY_BINDINGS 4

/* Where each STARTTLS protocol's servers take the CA list they advertise (docs/rules.md). */
static const struct {
    const char *proto, *settings;
} starttls_settings[] = {
    {"smtp", "Postfix: smtpd_tls_CAfile (its names are advertised; trusted CAs that must not "
             "be, in smtpd_tls_CApath); Exim: tls_verify_certificates; Exchange receive "
             "connectors (Schannel): SendTrustedIssuerList=1 sends the machine's Trusted Root "
             "store, 0 (the default since Server 2012) an empty list"},
    {"lmtp", "Dovecot: ssl_ca; Postfix: smtpd_tls_CAfile"},
    {"imap", "Dovecot: ssl_ca; Cyrus: tls_client_ca_file"},
    {"pop3", "Dovecot: ssl_ca; Cyrus: tls_client_ca_file"},
    {"sieve", "Dovecot: ssl_ca"},
    {"ldap", "OpenLDAP: TLSCACertificateFile (olcTLSCACertificateFile); Active Directory "
             "(Schannel): SendTrustedIssuerList=1 sends the domain controller's Trusted Root "
             "store, 0 (the default since Server 2012) an empty list"},
    {"postgres", "PostgreSQL: ssl_ca_file"},
    {"mysql", "MariaDB and MySQL: ssl_ca (ssl-ca)"},
    {"ftp", "vsftpd: ca_certs_file; ProFTPD: TLSCACertificateFile"},
    {"xmpp", "Prosody: ssl.cafile; ejabberd: c2s_cafile"},
    {"nntp", "INN: tlscafile"},
};

/* A target spoken to with STARTTLS is no http.sys binding: its fix is the server's own CA
 * setting. 0 when the target speaks TLS at once (then the netsh remedies apply). */
static int remedy_starttls(struct report_rule_run *r, struct report_finding *f, const char *lead)
{
    const char *proto = report_target_starttls(r->t), *settings = NULL;
    if (proto == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(starttls_settings) / sizeof(starttls_settings[0]); i++)
        if (strcmp(starttls_settings[i].proto, proto) == 0)
            settings = starttls_settings[i].settings;
    char buf[REMEDY_MAX];
    struct text t = {buf, 0, sizeof(buf) - REMEDY_CUT_ROOM, false};
    buf[0] = 0;
    text_add(&t, "%s (%s with STARTTLS: not an http.sys binding)%s%s.", lead, proto,
             settings ? ". " : "", settings ? settings : "");
    set_remedy(r, f, &t);
    return 1;
}

/* A remedy for the bindings of the observations obs (each distinct binding once, in order):
 * lead, the netsh line of each with extra, what it needs, then the part for other servers. */
static void remedy_netsh(struct report_rule_run *r, struct report_finding *f, const size_t *obs,
                         size_t n, const char *lead, const char *extra, const char *needs,
                         const char *others)
{
    char buf[REMEDY_MAX], seen[REMEDY_BINDINGS][320];
    struct text t = {buf, 0, sizeof(buf) - REMEDY_CUT_ROOM, false};
    size_t n_seen = 0, more = 0;
    buf[0] = 0;
    if (f == NULL || n == 0 ||
        remedy_starttls(r, f,
                        "Advertise only the CAs that issue client "
                        "certificates, in the server's own CA "
                        "setting"))
        return;
    text_add(&t, "%s", lead);
    for (size_t i = 0; i < n; i++) {
        const struct tls_observation *o = r->t->obs[obs[i]];
        char binding[320];
        iis_binding(r, o, binding, sizeof(binding));
        size_t k = 0;
        while (k < n_seen && strcmp(seen[k], binding) != 0)
            k++;
        if (k < n_seen)
            continue;
        if (n_seen == REMEDY_BINDINGS) {
            more++;
            continue;
        }
        memcpy(seen[n_seen++], binding, sizeof(binding));
        text_add(&t, "%s", n_seen > 1 ? "; " : "");
        netsh_update(r, o, extra, &t);
    }
    if (more)
        text_add(&t, "; and %zu more binding%s of this target", more, more == 1 ? "" : "s");
    text_add(&t, "%s", needs);
    netsh_appid_note(r, r->t->obs[obs[0]], &t);
    text_add(&t, ". %s", others);
    set_remedy(r, f, &t);
}

/* Point the bindings of obs at the Client Authentication Issuers store. */
static void remedy_ctl_store(struct report_rule_run *r, struct report_finding *f, const size_t *obs,
                             size_t n, const char *lead, const char *others)
{
    remedy_netsh(r, f, obs, n, lead, "sslctlstorename=ClientAuthIssuer",
                 ", with the issuing CAs in the Client Authentication Issuers store", others);
}

/* ---- one function per rule ------------------------------------------------------------------- */

static void rule_no_certificate_request(struct report_rule_run *r, const struct report_rule *rule)
{
    const struct report_target *t = r->t;
    if (!client_auth_expected(r) || t->n_obs == 0)
        return;
    size_t n = 0;
    for (size_t i = 0; i < t->n_obs; i++) {
        enum report_list_state st = report_list_state(t->obs[i]);
        if (st == REPORT_LIST_NAMES)
            return; /* some phase asked */
        if (st == REPORT_LIST_NONE)
            r->idx[n++] = i;
    }
    if (n)
        add(r, rule, severity(r, rule, rule->severity), r->idx, n,
            "client authentication is expected, but none of the %zu successful probes received "
            "a CertificateRequest",
            n);
}

static void rule_empty_ca_list(struct report_rule_run *r, const struct report_rule *rule)
{
    size_t n = 0;
    char first[256] = "";
    for (size_t i = 0; i < r->t->n_obs; i++) {
        const struct tls_observation *o = r->t->obs[i];
        if (report_list_state(o) != REPORT_LIST_NAMES || o->ca_count)
            continue;
        if (n == 0)
            describe(o, first, sizeof(first));
        r->idx[n++] = i;
    }
    if (n == 0)
        return;
    const struct tls_observation *o = r->t->obs[r->idx[0]];
    struct report_finding *f =
        add(r, rule, severity(r, rule, rule->severity), r->idx, n,
            "%zu probe%s received a CertificateRequest without CA names (first: %s%s): clients may "
            "offer any certificate%s",
            n, n == 1 ? "" : "s", first,
            o->version == 0x0304 ? "; no certificate_authorities extension" : "",
            r->ctx->expected_cas ? ", not only those of the expected CAs" : "");
    remedy_ctl_store(r, f, r->idx, n,
                     "To steer clients to the right certificate, advertise the issuing CAs. IIS: "
                     "SendTrustedIssuerList=1 and ",
                     EMPTY_REMEDY_OTHERS);
}

/* How many names of each observation's list are public roots, and the index of the first:
 * pub[i] and pub[n_obs + i]. Counted once for the two rules that ask, NULL on no memory. */
static const size_t *public_counts(struct report_rule_run *r)
{
    const struct report_roots *roots = r->ctx->public_roots;
    size_t n = r->t->n_obs;
    if (r->pub)
        return r->pub;
    r->pub = calloc(2 * n + 1, sizeof(*r->pub));
    if (r->pub == NULL) {
        r->err = TLS_E_NOMEM;
        return NULL;
    }
    for (size_t i = 0; roots && i < n; i++) {
        const struct tls_observation *o = r->t->obs[i];
        if (report_list_state(o) != REPORT_LIST_NAMES)
            continue;
        for (size_t k = o->ca_count; k-- > 0;)
            if (find_sha(roots->subject_sha256, roots->n, 32, o->cas[k].sha256)) {
                r->pub[i]++;
                r->pub[n + i] = k; /* counting down: the first one is the last seen */
            }
    }
    return r->pub;
}

/* The Windows built-in root (report/winroots.h) a name is, or NULL; *canonical set when it is
 * one only by canonical comparison. */
static const struct report_winroot *windows_root(const struct tls_ca_name *ca, bool *canonical)
{
    *canonical = false;
    return ca->malformed ? NULL : report_winroot_match(ca->der, ca->der_len, ca->sha256, canonical);
}

/* How many names of each observation's list are Windows built-in roots: win[i]. Counted once,
 * NULL on no memory. */
static const size_t *windows_counts(struct report_rule_run *r)
{
    size_t n = r->t->n_obs;
    if (r->win)
        return r->win;
    r->win = calloc(n + 1, sizeof(*r->win));
    if (r->win == NULL) {
        r->err = TLS_E_NOMEM;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const struct tls_observation *o = r->t->obs[i];
        bool canonical;
        if (report_list_state(o) != REPORT_LIST_NAMES)
            continue;
        for (size_t k = 0; k < o->ca_count; k++)
            r->win[i] += windows_root(&o->cas[k], &canonical) != NULL;
    }
    return r->win;
}

/* Evidence of a store (docs/rules.md): at least this many public roots and most of the list, or
 * one Windows built-in root, which no client-certificate list names. Size alone is no evidence
 * (DESIGN.md): a PKI with many issuing CAs advertises a long private list, which is
 * oversized-ca-list's to judge. */
#define ROOT_DUMP_MIN_PUBLIC 5

static bool public_dump(size_t pub, size_t n_names)
{
    return pub >= ROOT_DUMP_MIN_PUBLIC && 2 * pub > n_names;
}

static bool is_dump(struct report_rule_run *r, size_t i, const struct tls_observation *o)
{
    const size_t *pub = public_counts(r), *win = windows_counts(r);
    return pub && win && (public_dump(pub[i], o->ca_count) || win[i] > 0);
}

/* "; 13 Windows built-in roots (A; B; C and 10 more; 1 of them equal only canonically), which
 * only a Windows Trusted Root store holds" into buf for o's list of win such names; "" for none.
 * The names are the table's, never the server's; ';' apart, as some have commas. */
static void windows_describe(const struct tls_observation *o, size_t win, char *buf, size_t cap)
{
    size_t len = 0, shown = 0, canonicals = 0;
    buf[0] = '\0';
    if (win == 0)
        return;
    len += (size_t)snprintf(buf, cap, "; %zu Windows built-in root%s (", win, win == 1 ? "" : "s");
    for (size_t k = 0; k < o->ca_count && len < cap; k++) {
        bool canonical;
        const struct report_winroot *w = windows_root(&o->cas[k], &canonical);
        canonicals += w && canonical;
        if (w && shown < 3)
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", shown++ ? "; " : "", w->name);
    }
    if (len < cap && win > shown)
        len += (size_t)snprintf(buf + len, cap - len, " and %zu more", win - shown);
    if (len < cap && canonicals)
        len += (size_t)snprintf(buf + len, cap - len, "; %zu of them equal only canonically",
                                canonicals);
    if (len < cap)
        snprintf(buf + len, cap - len, "), which only a Windows Trusted Root store holds");
}

static void rule_root_store_dump(struct report_rule_run *r, const struct report_rule *rule)
{
    const struct report_roots *roots = r->ctx->public_roots;
    const size_t *pub = public_counts(r), *win = windows_counts(r);
    size_t n = 0, first = 0;
    for (size_t i = 0; pub && win && i < r->t->n_obs; i++) {
        const struct tls_observation *o = r->t->obs[i];
        if (report_list_state(o) != REPORT_LIST_NAMES || o->ca_count == 0)
            continue;
        if (is_dump(r, i, o)) {
            if (n == 0)
                first = i;
            r->idx[n++] = i;
        }
    }
    if (n == 0)
        return;
    const struct tls_observation *o = r->t->obs[first];
    char where[256], windows[400];
    describe(o, where, sizeof(where));
    windows_describe(o, win[first], windows, sizeof(windows));
    struct report_finding *f =
        add(r, rule, severity(r, rule, rule->severity), r->idx, n,
            "%s advertises %zu CA names (%zu bytes), %zu of them (%.0f%%) public roots of %s%s%s",
            where, o->ca_count, tls_observation_list_bytes(o), pub[first],
            100.0 * (double)pub[first] / (double)o->ca_count,
            roots && roots->source ? roots->source : "no root bundle", windows,
            n > 1 ? " (and the other variants cited)" : "");
    /* Windows built-in roots in a cited list: the store is a Windows one, the server IIS */
    bool schannel = false;
    for (size_t k = 0; k < n && !schannel; k++)
        schannel = win[r->idx[k]] > 0;
    remedy_ctl_store(r, f, r->idx, n, "IIS: restore the Ctl Store Name: ",
                     schannel ? DUMP_REMEDY_SCHANNEL : DUMP_REMEDY_OTHERS);
}

static void rule_public_ca_accepted(struct report_rule_run *r, const struct report_rule *rule)
{
    const size_t *pub = public_counts(r);
    size_t n = 0, first = 0, max = 0;
    for (size_t i = 0; pub && i < r->t->n_obs; i++) {
        if (pub[i] == 0)
            continue;
        if (n == 0)
            first = i;
        if (pub[i] > max)
            max = pub[i];
        r->idx[n++] = i;
    }
    if (n == 0)
        return;
    const struct tls_observation *o = r->t->obs[first];
    char where[256];
    describe(o, where, sizeof(where));
    add(r, rule, severity(r, rule, rule->severity), r->idx, n,
        "%s advertises %zu public root%s for client authentication, e.g. %.511s", where, max,
        max == 1 ? "" : "s", o->cas[pub[r->t->n_obs + first]].dn);
}

static void rule_oversized_ca_list(struct report_rule_run *r, const struct report_rule *rule)
{
    size_t n = 0, max = 0;
    char where[256] = "";
    for (size_t i = 0; i < r->t->n_obs; i++) {
        const struct tls_observation *o = r->t->obs[i];
        if (report_list_state(o) != REPORT_LIST_NAMES || tls_observation_list_bytes(o) <= 16384)
            continue;
        if (tls_observation_list_bytes(o) > max) {
            max = tls_observation_list_bytes(o);
            describe(o, where, sizeof(where));
        }
        r->idx[n++] = i;
    }
    if (n == 0)
        return;
    /* The default severity grows with the size: 32 KiB breaks Java, 60 KiB the server. */
    enum report_severity sev = max >= 60000  ? REPORT_SEV_CRITICAL
                               : max > 32768 ? REPORT_SEV_HIGH
                                             : REPORT_SEV_MEDIUM;
    add(r, rule, severity(r, rule, sev), r->idx, n, "%s advertises a CA list of %zu bytes: %s",
        where, max,
        max >= 60000  ? "near the 65,535-byte limit of the field; servers abort with "
                        "internal_error when it grows past it"
        : max > 32768 ? "over 32 KiB: Java clients fail, and over 16 KiB: mbedTLS clients fail"
                      : "over 16 KiB (one record): mbedTLS and other fixed-buffer clients fail");
}

/* ---- the mismatch rules: variants grouped, lists partitioned ------------------------------- */

/* The dimensions a variant is made of. A mismatch rule groups the observations by the other
 * three, partitions each group by list, and reports once for every group with two lists or
 * more: one finding per target and dimension, however many observations. */
enum rule_dim {
    DIM_ADDRESS, /* the order of describe(): messages name the dimensions in it */
    DIM_SNI,
    DIM_VERSION,
    DIM_PHASE,
};
#define DIM_COUNT 4

static const char *dim_value(const struct tls_observation *o, enum rule_dim d)
{
    switch (d) {
    case DIM_SNI:
        return o->sni;
    case DIM_VERSION:
        return tls_max_name(o);
    case DIM_ADDRESS:
        return o->address;
    case DIM_PHASE:
        return o->phase;
    }
    return NULL;
}

/* "SNI app.example.com" / "no SNI", "TLS 1.3", "192.0.2.1", "renegotiation" */
static void dim_label(const struct tls_observation *o, enum rule_dim d, char *buf, size_t cap)
{
    const char *v = dim_value(o, d);
    switch (d) {
    case DIM_SNI:
        snprintf(buf, cap, "%s%s", v ? "SNI " : "no SNI", v ? v : "");
        return;
    case DIM_VERSION:
        snprintf(buf, cap, "TLS %s", v);
        return;
    case DIM_ADDRESS:
    case DIM_PHASE:
        snprintf(buf, cap, "%s", v ? v : "-");
        return;
    }
}

static const char *dim_plural(enum rule_dim d)
{
    switch (d) {
    case DIM_SNI:
        return "SNI values";
    case DIM_VERSION:
        return "versions";
    case DIM_ADDRESS:
        return "addresses";
    case DIM_PHASE:
        return "phases";
    }
    return "";
}

/* One observation as the rule of dimension d sees it. */
struct dim_row {
    const char *g[DIM_COUNT - 1]; /* the other dimensions' values: its group */
    const char *d;                /* its value in d */
    size_t list, obs;
};

/* NULL (no SNI) sorts first. */
static int str_cmp(const char *a, const char *b)
{
    return a && b ? strcmp(a, b) : (a != NULL) - (b != NULL);
}

static int str_ptr_cmp(const void *a, const void *b)
{
    return str_cmp(*(const char *const *)a, *(const char *const *)b);
}

static int size_cmp(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    return (a > b) - (a < b);
}

static int group_cmp(const struct dim_row *a, const struct dim_row *b)
{
    for (size_t k = 0; k < DIM_COUNT - 1; k++) {
        int c = str_cmp(a->g[k], b->g[k]);
        if (c)
            return c;
    }
    return 0;
}

/* Group, then list, then value, then probe order. */
static int row_by_group(const void *pa, const void *pb)
{
    const struct dim_row *a = pa, *b = pb;
    int c = group_cmp(a, b);
    if (c)
        return c;
    if (a->list != b->list)
        return a->list < b->list ? -1 : 1;
    c = str_cmp(a->d, b->d);
    return c ? c : (a->obs > b->obs) - (a->obs < b->obs);
}

/* List, then value, then probe order. */
static int row_by_list(const void *pa, const void *pb)
{
    const struct dim_row *a = pa, *b = pb;
    if (a->list != b->list)
        return a->list < b->list ? -1 : 1;
    int c = str_cmp(a->d, b->d);
    return c ? c : (a->obs > b->obs) - (a->obs < b->obs);
}

/* The dimensions other than d, in enum order: the row's g[]. */
static void dims_other(enum rule_dim d, enum rule_dim other[DIM_COUNT - 1])
{
    size_t k = 0;
    for (int i = 0; i < DIM_COUNT; i++)
        if (i != (int)d)
            other[k++] = (enum rule_dim)i;
}

/* The rows of every observation with a list to compare (names_only: a CertificateRequest),
 * sorted by row_by_group; NULL (r->err set) when malloc fails. */
static struct dim_row *dim_rows(struct report_rule_run *r, enum rule_dim d, bool names_only,
                                size_t *n)
{
    struct dim_row *rows = malloc((r->t->n_obs ? r->t->n_obs : 1) * sizeof(*rows));
    if (rows == NULL) {
        r->err = TLS_E_NOMEM;
        return NULL;
    }
    enum rule_dim other[DIM_COUNT - 1];
    dims_other(d, other);
    *n = 0;
    for (size_t i = 0; i < r->t->n_obs; i++) {
        if (r->list[i] == NO_LIST || (names_only && r->list[i] == LIST_NONE_ID))
            continue;
        struct dim_row *w = &rows[(*n)++];
        for (size_t k = 0; k < DIM_COUNT - 1; k++)
            w->g[k] = dim_value(r->t->obs[i], other[k]);
        w->d = dim_value(r->t->obs[i], d);
        w->list = r->list[i];
        w->obs = i;
    }
    qsort(rows, *n, sizeof(*rows), row_by_group);
    return rows;
}

/* Where the cited groups are, by the other dimensions: a count for each that varies ("3
 * addresses x 2 versions"), the value of each that does not ("SNI app.example.com"; the
 * handshake phase goes without saying). vals: scratch for n pointers. */
static void mismatch_where(const struct report_rule_run *r, enum rule_dim d,
                           const struct dim_row *rows, size_t n, const char **vals, struct text *t)
{
    enum rule_dim other[DIM_COUNT - 1];
    dims_other(d, other);
    char single[DIM_COUNT - 1][300];
    size_t n_single = 0, n_multi = 0;
    for (size_t k = 0; k < DIM_COUNT - 1; k++) {
        for (size_t i = 0; i < n; i++)
            vals[i] = rows[i].g[k];
        qsort(vals, n, sizeof(*vals), str_ptr_cmp);
        size_t distinct = 1;
        for (size_t i = 1; i < n; i++)
            distinct += str_cmp(vals[i - 1], vals[i]) != 0;
        if (distinct > 1) {
            text_add(t, "%s%zu %s", n_multi++ ? " x " : ", on ", distinct, dim_plural(other[k]));
            continue;
        }
        const struct tls_observation *o = r->t->obs[rows[0].obs];
        if (other[k] != DIM_PHASE || !tls_str_same(o->phase, "handshake"))
            dim_label(o, other[k], single[n_single++], sizeof(single[0]));
    }
    for (size_t k = 0; k < n_single; k++)
        text_add(t, "%s%s", k || n_multi ? ", " : ", on ", single[k]);
}

/* One distinct list among the cited observations. */
struct list_sum {
    size_t list;
    size_t count;    /* observations */
    size_t first;    /* the first of them in probe order: it stands for the list */
    size_t n_values; /* distinct values of the dimension it was seen with */
    size_t value[2]; /* observations with the first two of them */
};

static int list_sum_cmp(const void *pa, const void *pb)
{
    const struct list_sum *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return (a->first > b->first) - (a->first < b->first);
}

/* Two observations of one group (they differ in the rule's dimension alone) whose lists both
 * have names and differ: the pair whose names a message compares. rows are in groups; the
 * first such group wins. */
static bool names_pair(const struct dim_row *rows, size_t n, size_t pair[2])
{
    for (size_t s = 0, e; s < n; s = e) {
        for (e = s + 1; e < n && group_cmp(&rows[s], &rows[e]) == 0; e++)
            ;
        size_t i = s;
        while (i < e && rows[i].list == LIST_NONE_ID)
            i++;
        for (size_t j = i + 1; j < e; j++)
            if (rows[j].list != LIST_NONE_ID && rows[j].list != rows[i].list) {
                pair[0] = rows[i].obs < rows[j].obs ? rows[i].obs : rows[j].obs;
                pair[1] = rows[i].obs < rows[j].obs ? rows[j].obs : rows[i].obs;
                return true;
            }
    }
    return false;
}

/* How wrong a cited list looks by itself: a root store, no request, an empty list, or names. */
static int list_suspicion(struct report_rule_run *r, size_t i)
{
    const struct tls_observation *o = r->t->obs[i];
    if (report_list_state(o) == REPORT_LIST_NONE)
        return 2;
    if (o->ca_count == 0)
        return 1;
    return is_dump(r, i, o) ? 3 : 0;
}

/* sni-mismatch, r->idx[0..n) cited: the netsh line for the binding whose list looks wrong by
 * itself (a root store, no request, an empty list), or for every binding when none does. */
static void remedy_sni(struct report_rule_run *r, struct report_finding *f, size_t n)
{
    int worst = 0, best = 3;
    for (size_t k = 0; k < n; k++) {
        int v = list_suspicion(r, r->idx[k]);
        worst = v > worst ? v : worst;
        best = v < best ? v : best;
    }
    size_t m = 0;
    for (size_t k = 0; k < n; k++)
        if (worst == best || list_suspicion(r, r->idx[k]) == worst)
            r->idx[m++] = r->idx[k]; /* in order, m <= k: the finding keeps its own copy */
    remedy_ctl_store(r, f, r->idx, m,
                     worst == best ? "Make both bindings advertise the same issuers. IIS: "
                                   : "IIS: fix the binding that differs: ",
                     SNI_REMEDY_OTHERS);
}

/* address-mismatch: the bindings to compare on every node, with this target's port. */
static void remedy_address(struct report_rule_run *r, struct report_finding *f,
                           const struct tls_observation *o)
{
    char buf[REMEDY_MAX];
    struct text t = {buf, 0, sizeof(buf) - REMEDY_CUT_ROOM, false};
    if (f == NULL || remedy_starttls(r, f,
                                     "Compare the server's own CA setting on every node "
                                     "and address family"))
        return;
    text_add(&t,
             "Compare the bindings of every node and address family: netsh http show sslcert "
             "ipport=0.0.0.0:%u and ipport=[::]:%u",
             r->t->port, r->t->port);
    if (o->sni)
        text_add(&t, " and hostnameport=%s:%u", o->sni, r->t->port);
    text_add(&t, " on each, and apply the same Ctl Store Name everywhere (sslctlstorename="
                 "ClientAuthIssuer).");
    set_remedy(r, f, &t);
}

/* Lists shown in a message; the others are counted. */
#define MISMATCH_LISTS_SHOWN 4

/* "[SNI app.example.com] 1 name vs [no SNI] 143 names, on 3 addresses x 2 versions; 1 only
 * with the first (...), 143 only with the second (...)": the distinct lists of the cited groups
 * (the most observed first) with the values of d they were seen with, where, and what the two
 * most observed lists do not share. rows: the cited ones, n >= 2. */
static void mismatch_report(struct report_rule_run *r, const struct report_rule *rule,
                            enum rule_dim d, const char *what, struct dim_row *rows, size_t n)
{
    struct list_sum *sums = malloc(n * sizeof(*sums));
    const char **vals = malloc(n * sizeof(*vals));
    if (sums == NULL || vals == NULL) {
        r->err = TLS_E_NOMEM;
        goto out;
    }
    char msg[MESSAGE_MAX], where[1024];
    struct text t = {msg, 0, MESSAGE_MAX - MESSAGE_NOTE_ROOM}, at = {where, 0, sizeof(where)};
    msg[0] = where[0] = 0;
    mismatch_where(r, d, rows, n, vals, &at); /* while the rows are still in groups */
    size_t pair[2] = {0, 0};
    bool have_pair = names_pair(rows, n, pair);

    qsort(rows, n, sizeof(*rows), row_by_list);
    size_t n_sums = 0;
    for (size_t s = 0, e; s < n; s = e) {
        struct list_sum *l = &sums[n_sums++];
        *l = (struct list_sum){rows[s].list, 0, rows[s].obs, 0, {rows[s].obs, rows[s].obs}};
        for (e = s; e < n && rows[e].list == rows[s].list; e++) {
            l->count++;
            if (rows[e].obs < l->first)
                l->first = rows[e].obs;
            if (e == s || str_cmp(rows[e - 1].d, rows[e].d) != 0)
                if (l->n_values++ < 2)
                    l->value[l->n_values - 1] = rows[e].obs;
        }
    }
    qsort(sums, n_sums, sizeof(*sums), list_sum_cmp);

    text_add(&t, "%s: ", what);
    for (size_t k = 0; k < n_sums && k < MISMATCH_LISTS_SHOWN; k++) {
        const struct list_sum *l = &sums[k];
        char a[300], b[300];
        dim_label(r->t->obs[l->value[0]], d, a, sizeof(a));
        dim_label(r->t->obs[l->value[1]], d, b, sizeof(b));
        text_add(&t, "%s[", k ? " vs " : "");
        if (l->n_values > 2)
            text_add(&t, "%zu %s: ", l->n_values, dim_plural(d));
        text_add(&t, "%s%s%s%s] ", a, l->n_values > 1 ? ", " : "", l->n_values > 1 ? b : "",
                 l->n_values > 2 ? ", ..." : "");
        const struct tls_observation *o = r->t->obs[l->first];
        if (l->list == LIST_NONE_ID)
            text_add(&t, "does not ask");
        else
            text_add(&t, "%zu name%s", o->ca_count, o->ca_count == 1 ? "" : "s");
        if (n_sums > 2)
            text_add(&t, " (%zu observation%s)", l->count, l->count == 1 ? "" : "s");
    }
    if (n_sums > MISMATCH_LISTS_SHOWN)
        text_add(&t, " vs %zu more list%s", n_sums - MISMATCH_LISTS_SHOWN,
                 n_sums - MISMATCH_LISTS_SHOWN == 1 ? "" : "s");
    text_add(&t, "%s", where);
    if (have_pair) {
        char only_a[512], only_b[512], va[256], vb[256];
        size_t na = names_missing(r, pair[0], pair[1], only_a, sizeof(only_a));
        size_t nb = names_missing(r, pair[1], pair[0], only_b, sizeof(only_b));
        describe(r->t->obs[pair[0]], va, sizeof(va));
        describe(r->t->obs[pair[1]], vb, sizeof(vb));
        text_add(&t,
                 "; [%s] vs [%s]: %zu only with the first%s%s%s, %zu only with the second%s%s%s",
                 va, vb, na, na ? " (" : "", only_a, na ? ")" : "", nb, nb ? " (" : "", only_b,
                 nb ? ")" : "");
    }

    for (size_t k = 0; k < n; k++)
        r->idx[k] = rows[k].obs;
    qsort(r->idx, n, sizeof(*r->idx), size_cmp);
    struct report_finding *f =
        add(r, rule, severity(r, rule, rule->severity), r->idx, n, "%s", msg);
    if (d == DIM_SNI)
        remedy_sni(r, f, n);
    else if (d == DIM_ADDRESS)
        remedy_address(r, f, r->t->obs[r->idx[0]]);
out:
    free(sums);
    free(vals);
}

/* Observations that differ in d alone and advertise different lists (names_only: both ask). */
static void mismatch(struct report_rule_run *r, const struct report_rule *rule, enum rule_dim d,
                     bool names_only, const char *what)
{
    size_t m;
    struct dim_row *rows = dim_rows(r, d, names_only, &m);
    if (rows == NULL)
        return;
    /* Keep the groups with two lists or more, in place. */
    size_t kept = 0;
    for (size_t s = 0, e; s < m; s = e) {
        bool differ = false;
        for (e = s + 1; e < m && group_cmp(&rows[s], &rows[e]) == 0; e++)
            differ |= rows[e].list != rows[s].list;
        if (differ) {
            memmove(&rows[kept], &rows[s], (e - s) * sizeof(*rows));
            kept += e - s;
        }
    }
    if (kept)
        mismatch_report(r, rule, d, what, rows, kept);
    free(rows);
}

static void rule_sni_mismatch(struct report_rule_run *r, const struct report_rule *rule)
{
    mismatch(r, rule, DIM_SNI, false, "the list depends on SNI");
}

static void rule_version_mismatch(struct report_rule_run *r, const struct report_rule *rule)
{
    mismatch(r, rule, DIM_VERSION, false, "the list depends on the TLS version");
}

static void rule_address_mismatch(struct report_rule_run *r, const struct report_rule *rule)
{
    mismatch(r, rule, DIM_ADDRESS, false, "the list depends on the address");
}

/* Only two lists compare: a handshake without a request is post-request-client-auth. */
static void rule_renegotiation_mismatch(struct report_rule_run *r, const struct report_rule *rule)
{
    mismatch(r, rule, DIM_PHASE, true, "the renegotiation advertises another list");
}

/* The expected CAs' subject digests, sorted once per run, so that both expectation rules cost
 * (names + expected) x log, not names x expected. NULL on no memory (r->err is set). */
static const uint8_t (*expected_digests(struct report_rule_run *r))[32]
{
    const struct report_certs *exp = r->ctx->expected_cas;
    if (r->exp)
        return r->exp;
    r->exp = malloc((exp->n ? exp->n : 1) * sizeof(*r->exp));
    if (r->exp == NULL) {
        r->err = TLS_E_NOMEM;
        return NULL;
    }
    for (size_t k = 0; k < exp->n; k++)
        memcpy(r->exp[k], exp->v[k].subject_sha256, 32);
    qsort(r->exp, exp->n, sizeof(*r->exp), cmp_sha);
    return r->exp;
}

static void rule_expected_ca_missing(struct report_rule_run *r, const struct report_rule *rule)
{
    const struct report_certs *exp = r->ctx->expected_cas;
    for (size_t i = 0; exp && i < r->t->n_obs; i++) {
        const struct tls_observation *o = r->t->obs[i];
        /* no names (TLS 1.3: no certificate_authorities) lets clients offer any certificate:
         * that is empty-ca-list's finding, nothing is missing from a list that names none */
        if (report_list_state(o) != REPORT_LIST_NAMES || o->ca_count == 0)
            continue;
        const struct name_set *set = &r->sets[i];
        char names[1024] = "";
        size_t missing = 0, len = 0;
        for (size_t k = 0; k < exp->n; k++) {
            if (find_sha(set->v, set->n, sizeof(*set->v), exp->v[k].subject_sha256))
                continue;
            if (missing < 3 && len < sizeof(names))
                len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
                                        missing ? "; " : "", exp->v[k].subject_text);
            missing++;
        }
        if (missing == 0)
            continue;
        char where[256];
        describe(o, where, sizeof(where));
        add(r, rule, severity(r, rule, rule->severity), &i, 1,
            "[%s] lacks %zu of the %zu expected CA%s: %s%s", where, missing, exp->n,
            exp->n == 1 ? "" : "s", names, missing > 3 ? " and more" : "");
    }
}

static void rule_unexpected_ca(struct report_rule_run *r, const struct report_rule *rule)
{
    const struct report_certs *exp = r->ctx->expected_cas;
    const uint8_t(*sorted)[32] = exp ? expected_digests(r) : NULL;
    for (size_t i = 0; sorted && i < r->t->n_obs; i++) {
        const struct tls_observation *o = r->t->obs[i];
        if (report_list_state(o) != REPORT_LIST_NAMES)
            continue;
        char names[1024] = "";
        size_t extra = 0, len = 0;
        for (size_t k = 0; k < o->ca_count; k++) {
            if (find_sha(sorted, exp->n, 32, o->cas[k].sha256))
                continue;
            if (extra < 3 && len < sizeof(names))
                len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", extra ? "; " : "",
                                        o->cas[k].dn);
            extra++;
        }
        if (extra == 0)
            continue;
        char where[256];
        describe(o, where, sizeof(where));
        add(r, rule, severity(r, rule, rule->severity), &i, 1,
            "[%s] advertises %zu unexpected name%s: %s%s", where, extra, extra == 1 ? "" : "s",
            names, extra > 3 ? " and more" : "");
    }
}

/* Whether a certificate of chain has its issuer among o's names: byte for byte (returns true,
 * *name the advertised name), or only after canonical comparison (false, *name that name), or
 * not at all (false, *name NULL). */
static bool chain_advertised(const struct tls_observation *o, const struct report_certs *chain,
                             const char **name)
{
    *name = NULL;
    for (size_t k = 0; k < chain->n; k++) {
        const struct report_cert *c = &chain->v[k];
        for (size_t a = 0; a < o->ca_count; a++) {
            const struct tls_ca_name *ca = &o->cas[a];
            if (ca->der_len == c->issuer_len && memcmp(ca->der, c->issuer, c->issuer_len) == 0) {
                *name = ca->dn;
                return true;
            }
            if (!*name && !ca->malformed &&
                tls_dn_equal_canonical(ca->der, ca->der_len, c->issuer, c->issuer_len))
                *name = ca->dn;
        }
    }
    return false;
}

/* One finding per situation: the variants whose lists name no issuer of the chain (high), and
 * those that name one only after canonical comparison (medium, some clients do offer it). */
static void rule_client_cert_not_offered(struct report_rule_run *r, const struct report_rule *rule)
{
    const struct report_certs *chain = r->ctx->client_chain;
    if (chain == NULL || chain->n == 0)
        return;
    for (int canonical_only = 0; canonical_only <= 1; canonical_only++) {
        size_t n = 0;
        const char *canonical = NULL, *first_canonical = NULL;
        for (size_t i = 0; i < r->t->n_obs; i++) {
            const struct tls_observation *o = r->t->obs[i];
            if (report_list_state(o) != REPORT_LIST_NAMES || o->ca_count == 0)
                continue; /* an empty list lets clients offer anything */
            if (chain_advertised(o, chain, &canonical) || (canonical != NULL) != canonical_only)
                continue;
            if (n == 0)
                first_canonical = canonical;
            r->idx[n++] = i;
        }
        if (n == 0)
            continue;
        const struct tls_observation *o = r->t->obs[r->idx[0]];
        char where[256];
        describe(o, where, sizeof(where));
        /* by the first variant cited, the others named as its company */
        const char *many = n > 1 ? " (and the other variants cited)" : "";
        if (canonical_only) {
            add(r, rule, severity(r, rule, REPORT_SEV_MEDIUM), r->idx, n,
                "[%s]%s advertises %s, which matches the issuer of %s only after canonical "
                "comparison: Java and .NET clients offer the certificate, Go, Chromium and "
                "NSS do not",
                where, many, first_canonical, chain->v[0].subject_text);
            continue;
        }
        char certs[48] = "the certificate";
        if (chain->n > 1)
            snprintf(certs, sizeof(certs), "any of the %zu certificates", chain->n);
        add(r, rule, severity(r, rule, rule->severity), r->idx, n,
            "[%s]%s advertises %zu name%s, %s the issuer of %s of %s (the client certificate "
            "%s is issued by %s)",
            where, many, o->ca_count, o->ca_count == 1 ? "" : "s",
            o->ca_count == 1 ? "not" : "none of them", certs,
            chain->source ? chain->source : "the chain", chain->v[0].subject_text,
            chain->v[0].issuer_text);
    }
}

/* One finding per target for the variants whose list repeats names: the first tells. */
static void rule_duplicate_ca(struct report_rule_run *r, const struct report_rule *rule)
{
    size_t n = 0;
    for (size_t i = 0; i < r->t->n_obs; i++)
        if (report_list_state(r->t->obs[i]) == REPORT_LIST_NAMES && r->sets[i].dups)
            r->idx[n++] = i;
    if (n == 0)
        return;
    size_t i = r->idx[0];
    const struct tls_observation *o = r->t->obs[i];
    const struct name_set *set = &r->sets[i];
    const char *dup_name = NULL;
    for (size_t k = 0; k < o->ca_count && !dup_name; k++) {
        /* the first entry whose name was seen before: it is not a set's first occurrence */
        const struct name_ref *ref = find_sha(set->v, set->n, sizeof(*set->v), o->cas[k].sha256);
        if (ref && ref->first != k)
            dup_name = o->cas[k].dn;
    }
    char where[256];
    describe(o, where, sizeof(where));
    if (n == 1)
        add(r, rule, severity(r, rule, rule->severity), r->idx, n,
            "[%s] repeats %zu name%s, e.g. %s", where, set->dups, set->dups == 1 ? "" : "s",
            dup_name);
    else
        add(r, rule, severity(r, rule, rule->severity), r->idx, n,
            "%zu variants repeat names, e.g. %s (first: %s, %zu repeated)", n, dup_name, where,
            set->dups);
}

/* One finding per target for the variants with names that are not DER: the first tells. */
static void rule_malformed_ca(struct report_rule_run *r, const struct report_rule *rule)
{
    size_t n = 0, bad = 0;
    const char *bad_name = NULL;
    for (size_t i = 0; i < r->t->n_obs; i++) {
        const struct tls_observation *o = r->t->obs[i];
        if (report_list_state(o) != REPORT_LIST_NAMES)
            continue;
        size_t here = 0;
        for (size_t k = 0; k < o->ca_count; k++) {
            if (!o->cas[k].malformed)
                continue;
            if (n == 0 && here == 0)
                bad_name = o->cas[k].dn;
            here++;
        }
        if (here && n == 0)
            bad = here;
        if (here)
            r->idx[n++] = i;
    }
    if (n == 0)
        return;
    char where[256], in[400];
    describe(r->t->obs[r->idx[0]], where, sizeof(where));
    if (n == 1)
        snprintf(in, sizeof(in), "[%s] has", where);
    else
        snprintf(in, sizeof(in),
                 "%zu variants have names that are not valid DER; the first, [%s], has", n, where);
    add(r, rule, severity(r, rule, rule->severity), r->idx, n,
        "%s %zu name%s that %s not valid DER, e.g. %s%.64s%s%s", in, bad, bad == 1 ? "" : "s",
        bad == 1 ? "is" : "are", bad_name[0] ? "" : "a zero-length name", bad_name,
        strlen(bad_name) > 64 ? "..." : "", bad_name[0] ? " (hex)" : "");
}

/* Over TLS 1.3 the same request fails where TLS 1.2 renegotiates: a reset, a 403 or a 500
 * (IIS on Server 2022 / 2025, Apache without post-handshake auth). */
static bool tls13_refused(const struct tls_observation *o)
{
    const struct tls_http_result *h = &o->http;
    if (h->path == NULL || o->version != 0x0304 || report_list_state(o) != REPORT_LIST_NONE)
        return false;
    if (h->failed)
        return h->sent &&
               (h->error_kind == TLS_ERROR_RESET || h->error_kind == TLS_ERROR_TLS_ALERT);
    return h->status == 403 || h->status == 500;
}

static void rule_post_request_client_auth(struct report_rule_run *r, const struct report_rule *rule)
{
    const struct report_target *t = r->t;
    /* The first renegotiation (in probe order) that asks where the initial handshake of the
     * same variant did not: a group of the phase rows with both. */
    size_t m, hs_i = NO_LIST, re_i = NO_LIST;
    struct dim_row *rows = dim_rows(r, DIM_PHASE, false, &m);
    if (rows == NULL)
        return;
    for (size_t s = 0, e; s < m; s = e) {
        size_t hs = NO_LIST, re = NO_LIST;
        for (e = s; e < m && group_cmp(&rows[s], &rows[e]) == 0; e++) {
            if (rows[e].list == LIST_NONE_ID && tls_str_same(rows[e].d, "handshake"))
                hs = hs == NO_LIST || rows[e].obs < hs ? rows[e].obs : hs;
            else if (rows[e].list != LIST_NONE_ID && tls_str_same(rows[e].d, "renegotiation"))
                re = re == NO_LIST || rows[e].obs < re ? rows[e].obs : re;
        }
        if (hs != NO_LIST && re != NO_LIST && (re_i == NO_LIST || re < re_i)) {
            hs_i = hs;
            re_i = re;
        }
    }
    free(rows);
    if (re_i == NO_LIST)
        return;
    const struct tls_observation *hs = t->obs[hs_i], *re = t->obs[re_i];
    char where[256], tls13[384] = "";
    describe(re, where, sizeof(where));
    size_t idx[3] = {hs_i, re_i, 0}, n_idx = 2;
    for (size_t k = 0; k < t->n_obs; k++) {
        const struct tls_observation *o = t->obs[k];
        if (!tls_str_same(o->address, re->address) || !tls_str_same(o->sni, re->sni) ||
            !tls13_refused(o))
            continue;
        const struct tls_http_result *h = &o->http;
        if (h->failed)
            snprintf(tls13, sizeof(tls13), "; over TLS 1.3 GET %s fails: %s", h->path,
                     h->error ? h->error : "");
        else
            snprintf(tls13, sizeof(tls13), "; over TLS 1.3 GET %s gets %s%s%s%s", h->path,
                     h->status_line ? h->status_line : "", h->server ? " (Server: " : "",
                     h->server ? h->server : "", h->server ? ")" : "");
        idx[n_idx++] = k;
        break;
    }
    struct report_finding *f =
        add(r, rule, severity(r, rule, rule->severity), idx, n_idx,
            "[%s] asks for a certificate (%zu name%s) only by renegotiation after GET %s; the "
            "initial handshake does not%s",
            where, re->ca_count, re->ca_count == 1 ? "" : "s",
            hs->http.path ? hs->http.path : "the request", tls13);
    remedy_netsh(r, f, &re_i, 1,
                 "Ask in the initial handshake. IIS: ", "clientcertnegotiation=enable", "",
                 POST_REQUEST_OTHERS);
}

/* The variant with key, or NULL: the baseline's variants are sorted by key and unique
 * (report/baseline.h), so one binary search. */
static const struct report_baseline_variant *baseline_find(const struct report_baseline_target *b,
                                                           const char *key)
{
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(b->v[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < b->n && strcmp(b->v[lo].key, key) == 0 ? &b->v[lo] : NULL;
}

/* A variant's change against the baseline: the distinct names only now (added) and only then
 * (removed), and how many of each, and of the baseline's list, are public roots. */
struct drift {
    const struct report_rule_run *r;
    const struct report_baseline_variant *bv;
    const struct name_set *set;
    size_t added, removed, added_public, removed_public;
};

static bool is_public_root(const struct report_rule_run *r, const uint8_t sha[32])
{
    const struct report_roots *roots = r->ctx->public_roots;
    return roots && find_sha(roots->subject_sha256, roots->n, 32, sha) != NULL;
}

static void drift_added(void *ctx, size_t i)
{
    struct drift *d = ctx;
    d->added_public += is_public_root(d->r, d->set->v[i].sha);
}

static void drift_removed(void *ctx, size_t i)
{
    struct drift *d = ctx;
    d->removed_public += is_public_root(d->r, d->bv->cas[i]);
}

/* The baseline's sorted SHA-256 list (duplicates kept) against the observation's set, by one
 * merge. */
static void drift_compare(struct drift *d)
{
    static const struct name_set none = {0};
    struct tls_digest_list ls = set_list(d->set ? d->set : &none);
    struct tls_digest_list lb = {d->bv->n_cas ? d->bv->cas[0] : NULL, d->bv->n_cas, 32};
    tls_digest_list_diff(&ls, &lb, &d->added, &d->removed, drift_added, drift_removed, d);
}

/* Whether the baseline's list was a root store by the rule's own evidence; a baseline keeps
 * digests only, so a Windows built-in root counts when equal byte for byte. */
static bool baseline_was_dump(const struct report_rule_run *r,
                              const struct report_baseline_variant *bv)
{
    size_t pub = 0, win = 0;
    for (size_t k = 0; k < bv->n_cas; k++) {
        pub += is_public_root(r, bv->cas[k]);
        win += report_winroot_find(bv->cas[k]) != NULL;
    }
    return public_dump(pub, bv->n_cas) || win > 0;
}

/* The change as words into what; returns whether it is a regression: the server stopped
 * asking, lost a name that is not a public root (an issuing CA), or added public roots (a root
 * store appeared); not when a root store gave way to a list without one. */
static bool drift_describe(struct report_rule_run *r, size_t i,
                           const struct report_baseline_variant *bv, char *what, size_t cap)
{
    const struct tls_observation *o = r->t->obs[i];
    enum report_list_state now = report_list_state(o);
    if (now == REPORT_LIST_NONE) {
        snprintf(what, cap,
                 "regression: no longer asks for a certificate; the baseline had a list of %zu "
                 "names",
                 bv->n_cas);
        return true;
    }
    if (bv->state == REPORT_LIST_NONE) {
        snprintf(what, cap,
                 "now asks for a certificate with %zu names; the baseline had no request",
                 o->ca_count);
        return false;
    }
    struct drift d = {.r = r, .bv = bv, .set = &r->sets[i]};
    drift_compare(&d);
    bool dump_now = is_dump(r, i, o), dump_then = baseline_was_dump(r, bv);
    bool regression = !(dump_then && !dump_now) &&
                      (d.removed > d.removed_public || d.added_public > 0 || dump_now);
    int n = snprintf(what, cap, "%s: advertises %zu name%s where the baseline had %zu: %zu added",
                     regression ? "regression" : "improvement", o->ca_count,
                     o->ca_count == 1 ? "" : "s", bv->n_cas, d.added);
    if (n > 0 && (size_t)n < cap && d.added_public)
        n += snprintf(what + n, cap - (size_t)n, " (%zu public roots%s)", d.added_public,
                      dump_now && !dump_then ? ": a root store appeared" : "");
    if (n > 0 && (size_t)n < cap)
        n += snprintf(what + n, cap - (size_t)n, ", %zu removed", d.removed);
    if (n > 0 && (size_t)n < cap && d.removed_public)
        snprintf(what + n, cap - (size_t)n, " (%zu of them public roots%s)", d.removed_public,
                 dump_then && !dump_now ? ": the root store is gone" : "");
    return regression;
}

static bool baseline_same(const struct report_baseline_variant *bv, const struct tls_observation *o,
                          const struct name_set *set)
{
    if ((int)report_list_state(o) != bv->state)
        return false;
    if (bv->state != REPORT_LIST_NAMES)
        return true;
    size_t added, removed;
    struct tls_digest_list ls = set_list(set), lb = {bv->n_cas ? bv->cas[0] : NULL, bv->n_cas, 32};
    tls_digest_list_diff(&ls, &lb, &added, &removed, NULL, NULL, NULL);
    return added == 0 && removed == 0;
}

static void rule_baseline_drift(struct report_rule_run *r, const struct report_rule *rule)
{
    const struct report_baseline_target *b = r->ctx->baseline;
    if (b == NULL || b->n == 0)
        return;
    for (size_t i = 0; i < r->t->n_obs; i++) {
        const struct tls_observation *o = r->t->obs[i];
        if (report_list_state(o) == REPORT_LIST_UNKNOWN)
            continue;
        char key[512];
        report_variant_key(o, key, sizeof(key));
        const struct report_baseline_variant *bv = baseline_find(b, key);
        if (bv == NULL || bv->state == REPORT_LIST_UNKNOWN || baseline_same(bv, o, &r->sets[i]))
            continue;
        char where[256], what[512];
        describe(o, where, sizeof(where));
        bool renewed = bv->has_cert && o->server_cert.present &&
                       memcmp(bv->cert_sha256, o->server_cert.sha256, 32) != 0;
        bool regression = drift_describe(r, i, bv, what, sizeof(what));
        /* An improvement is news, not a failure: info, whatever severity the user gave the rule
         * (a gate tightened on drift must not fail when a server is fixed). A regression at the
         * rule's severity; with a renewal, which is how bindings lose their Ctl Store Name,
         * graded up. */
        enum report_severity sev =
            !regression ? REPORT_SEV_INFO
                        : severity(r, rule, renewed ? REPORT_SEV_HIGH : rule->severity);
        struct report_finding *f =
            add(r, rule, sev, &i, 1, "[%s] %s%s", where, what,
                renewed ? "; the server certificate changed too (a renewal?)" : "");
        if (!regression && f) {
            char buf[256];
            struct text t = {buf, 0, sizeof(buf) - REMEDY_CUT_ROOM, false};
            text_add(&t, "Nothing to fix: when the change was intended, take this scan as the new "
                         "baseline.");
            set_remedy(r, f, &t);
        } else if (renewed)
            remedy_netsh(r, f, &i, 1,
                         "The certificate was renewed and the binding most likely lost its Ctl "
                         "Store Name. IIS: ",
                         "sslctlstorename=ClientAuthIssuer", "",
                         "If the change was intended, take this scan as the new baseline.");
    }
}

/* Error kinds by count, in enum order: "refused 2, timeout 1". */
static void error_kinds(const struct report_target *t, struct text *out)
{
    size_t count[TLS_ERROR_KIND_LAST + 1] = {0};
    for (size_t i = 0; i < t->n_obs; i++)
        if ((unsigned)t->obs[i]->error_kind <= TLS_ERROR_KIND_LAST)
            count[t->obs[i]->error_kind]++;
    size_t shown = 0;
    for (size_t k = 0; k <= TLS_ERROR_KIND_LAST; k++)
        if (count[k])
            text_add(out, "%s%s %zu", shown++ ? ", " : "",
                     tls_error_kind_name((enum tls_error_kind)k), count[k]);
}

/* Every observation an error (not one the user interrupted): nothing was learned, which a gate
 * must not take for a pass. High where client authentication is expected. */
static void rule_probe_failed(struct report_rule_run *r, const struct report_rule *rule)
{
    const struct report_target *t = r->t;
    size_t declined = 0;
    for (size_t i = 0; i < t->n_obs; i++) {
        const struct tls_observation *o = t->obs[i];
        if (o->outcome != TLS_OUTCOME_ERROR || o->error_kind == TLS_ERROR_INTERRUPTED)
            return;
        declined += o->error_kind == TLS_ERROR_VERSION_NOT_OFFERED;
        r->idx[i] = i;
    }
    if (t->n_obs == 0)
        return;
    char kinds[512], where[256];
    struct text k = {kinds, 0, sizeof(kinds)};
    kinds[0] = 0;
    error_kinds(t, &k);
    const struct tls_observation *o = t->obs[0];
    describe(o, where, sizeof(where));
    add(r, rule, severity(r, rule, client_auth_expected(r) ? REPORT_SEV_HIGH : rule->severity),
        r->idx, t->n_obs, "%s %zu probe%s failed (%s)%s; first: [%s] %s",
        declined == t->n_obs ? "the server declines every TLS version probed: all"
        : t->n_obs == 1      ? "the only"
                             : "all",
        t->n_obs, t->n_obs == 1 ? "" : "s", kinds,
        client_auth_expected(r) ? ": client authentication is expected here and was not checked"
                                : "",
        where, o->error_message ? o->error_message : tls_error_kind_name(o->error_kind));
}

/* The observations whose ServerHello was of TLS 1.1 or older, into r->idx: all but the probes
 * that answer declined (version_not_offered: a TLS 1.3 probe answered with TLS 1.0, told by the
 * TLS 1.2 probe beside it), or those alone when there is nothing else (--tls 1.3 against a
 * TLS 1.0 server). *modern: a probe got TLS 1.2 or 1.3. */
static size_t legacy_probes(struct report_rule_run *r, bool *modern, bool *alike, uint16_t *oldest)
{
    const struct report_target *t = r->t;
    size_t n = 0;
    for (int declined = 0; declined < 2 && n == 0; declined++) {
        *modern = false;
        *alike = true;
        *oldest = 0;
        for (size_t i = 0; i < t->n_obs; i++) {
            const struct tls_observation *o = t->obs[i];
            if (o->version >= 0x0303)
                *modern = true;
            else if (o->version &&
                     (o->error_kind == TLS_ERROR_VERSION_NOT_OFFERED) == (declined == 1)) {
                *alike = *alike && (n == 0 || o->version == *oldest);
                r->idx[n++] = i;
                *oldest = *oldest == 0 || o->version < *oldest ? o->version : *oldest;
            }
        }
    }
    return n;
}

/* A ServerHello of TLS 1.1 or older, in any variant: one finding for the target, medium when no
 * probe of it got TLS 1.2 or 1.3 (current clients cannot connect), else low. It cites the probes
 * the old version was chosen in, not a TLS 1.3 probe that the same answer declined. */
static void rule_legacy_tls_version(struct report_rule_run *r, const struct report_rule *rule)
{
    const struct report_target *t = r->t;
    bool modern, alike;
    uint16_t oldest;
    size_t n = legacy_probes(r, &modern, &alike, &oldest);
    if (n == 0)
        return;
    char where[256], chose[24], more[112] = "";
    const struct tls_observation *first = t->obs[r->idx[0]];
    describe(first, where, sizeof(where));
    tls_name_version_words(first->version, chose, sizeof(chose));
    if (n > 1 && alike)
        snprintf(more, sizeof(more), " in %zu probes", n);
    else if (n > 1) {
        char old[24];
        snprintf(more, sizeof(more), " (%zu probes chose a version before TLS 1.2, the oldest %s)",
                 n, tls_name_version_words(oldest, old, sizeof(old)));
    }
    add(r, rule, severity(r, rule, modern ? REPORT_SEV_LOW : rule->severity), r->idx, n,
        "[%s] the server chose %s%s%s", where, chose, more,
        modern ? "; it also speaks TLS 1.2 or 1.3 (other probes got them)"
               : "; no probe got TLS 1.2 or 1.3: clients that refuse TLS 1.0 and 1.1 (browsers, "
                 "Java, OpenSSL 3) cannot connect");
}

/* ---- the engine --------------------------------------------------------------------------- */

void report_variant_key(const struct tls_observation *o, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s|%s|%s|%s", o->address ? o->address : "", o->sni ? o->sni : "",
             tls_max_name(o), o->phase);
}

static int by_severity(const void *pa, const void *pb)
{
    const struct report_finding *a = pa, *b = pb;
    if (a->severity != b->severity)
        return (int)b->severity - (int)a->severity;
    if (a->rule->id != b->rule->id)
        return (int)a->rule->id - (int)b->rule->id;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

int report_rules_run(const struct report_target *t, const struct report_context *ctx,
                     struct report_findings *out)
{
    struct report_rule_run r = {.t = t, .ctx = ctx, .out = out};
    r.err = run_init(&r);
    for (size_t i = 0; i < REPORT_RULE_COUNT && !r.err; i++)
        if (ctx->enabled[i])
            rules[i].check(&r, &rules[i]);
    notes_add(&r);
    run_free(&r);
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(out->v[0]), by_severity);
    return r.err;
}

/* ---- --client-key: what the server made of the certificate presented ---------------------- */

/* Whether the server took the certificate presented in o: 1 (the handshake completed, or the
 * request got 2xx or 3xx), 0 (a fatal alert, a close, or 400 (nginx's answer to a certificate
 * it refuses) or 403 (IIS 403.7, 403.16; Apache)), -1 (not presented, no answer, another
 * status: nothing to judge). */
static int cert_taken(const struct tls_observation *o)
{
    const struct tls_client_cert *cc = &o->client_cert;
    if (!cc->presented)
        return -1;
    switch (cc->result) {
    case TLS_CLIENT_CERT_ACCEPTED:
        return 1;
    case TLS_CLIENT_CERT_ALERT:
    case TLS_CLIENT_CERT_CLOSED:
        return 0;
    case TLS_CLIENT_CERT_HTTP:
        return cc->http_status >= 200 && cc->http_status < 400    ? 1
               : cc->http_status == 400 || cc->http_status == 403 ? 0
                                                                  : -1;
    case TLS_CLIENT_CERT_NONE:
    case TLS_CLIENT_CERT_NO_ANSWER:
    case TLS_CLIENT_CERT_ERROR:
        return -1;
    }
    return -1;
}

/* "alert unknown_ca", "the closed connection", "HTTP 403": how the server answered. */
static const char *cert_answer(const struct tls_client_cert *cc, char *buf, size_t cap)
{
    char tmp[8];
    switch (cc->result) {
    case TLS_CLIENT_CERT_ALERT:
        snprintf(buf, cap, "alert %s",
                 cc->alert < 0 ? "(not named)"
                               : tls_name_or_hex(tls_name_alert((uint8_t)cc->alert),
                                                 (unsigned)cc->alert, 2, tmp, sizeof(tmp)));
        break;
    case TLS_CLIENT_CERT_CLOSED:
        snprintf(buf, cap, "a closed connection");
        break;
    case TLS_CLIENT_CERT_HTTP:
        snprintf(buf, cap, "HTTP %d to the request", cc->http_status);
        break;
    case TLS_CLIENT_CERT_ACCEPTED:
        snprintf(buf, cap, "a completed handshake");
        break;
    case TLS_CLIENT_CERT_NONE:
    case TLS_CLIENT_CERT_NO_ANSWER:
    case TLS_CLIENT_CERT_ERROR:
        snprintf(buf, cap, "no answer");
        break;
    }
    return buf;
}

/* The distinct answers of the observations idx[0..n) as "alert unknown_ca or HTTP 403 to the
 * request", at most four of them (then "or another"). */
static void answers_join(const struct report_rule_run *r, size_t n, char *buf, size_t cap)
{
    char seen[4][64];
    size_t k = 0, len = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n; i++) {
        char a[64];
        cert_answer(&r->t->obs[r->idx[i]]->client_cert, a, sizeof(a));
        size_t j = 0;
        while (j < k && strcmp(seen[j], a) != 0)
            j++;
        if (j < k)
            continue;
        if (k == 4) {
            snprintf(buf + len, cap - len, " or another");
            return;
        }
        memcpy(seen[k++], a, sizeof(a));
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? " or " : "", a);
        if (len >= cap)
            return;
    }
}

/* Both rules, one finding per target: the variants whose list names issuers and where the
 * server refused the certificate (taken 0) although the list names an issuer of its chain, or
 * took it (taken 1) although it names none (a canonical match counts as named:
 * client-cert-not-offered grades that one). */
static void presented_check(struct report_rule_run *r, const struct report_rule *rule, int taken)
{
    const struct report_presented *p = r->ctx->presented;
    if (p == NULL || p->chain == NULL || p->chain->n == 0)
        return;
    const struct report_cert *leaf = &p->chain->v[0];
    size_t n = 0;
    const char *name = NULL;
    bool exact = false;
    for (size_t i = 0; i < r->t->n_obs; i++) {
        const struct tls_observation *o = r->t->obs[i];
        /* no names (an empty list, TLS 1.3 without certificate_authorities) lets clients offer
         * anything: there is nothing to compare with */
        if (report_list_state(o) != REPORT_LIST_NAMES || o->ca_count == 0 || cert_taken(o) != taken)
            continue;
        const char *named;
        bool byte_equal = chain_advertised(o, p->chain, &named);
        if ((named != NULL) != (taken == 0))
            continue; /* a refusal the list announces, or a list that invites what was taken */
        if (n == 0) {
            name = named;
            exact = byte_equal;
        }
        r->idx[n++] = i;
    }
    if (n == 0)
        return;
    const struct tls_observation *o = r->t->obs[r->idx[0]];
    char where[256], answers[300];
    describe(o, where, sizeof(where));
    answers_join(r, n, answers, sizeof(answers));
    /* by the first variant cited, the others named as its company */
    const char *many = n > 1 ? " (and the other variants cited)" : "";
    if (taken == 0)
        add(r, rule, severity(r, rule, p->invalid ? REPORT_SEV_LOW : rule->severity), r->idx, n,
            "[%s]%s advertises %s%s, an issuer of the chain of %s, yet answered the "
            "certificate with %s%s%s%s",
            where, many, name, exact ? "" : " (after canonical comparison)", leaf->subject_text,
            answers, p->invalid ? "; the certificate presented was not valid at the scan (" : "",
            p->invalid ? p->invalid : "", p->invalid ? "): present a valid one" : "");
    else {
        char names[64] = "the one name it advertises is not";
        if (o->ca_count != 1)
            snprintf(names, sizeof(names), "none of the %zu names it advertises is", o->ca_count);
        add(r, rule, severity(r, rule, rule->severity), r->idx, n,
            "[%s]%s took %s (issued by %s) with %s, but %s an issuer of its chain: clients that "
            "follow the list never offer it",
            where, many, leaf->subject_text, leaf->issuer_text, answers, names);
    }
}

static void rule_client_cert_rejected(struct report_rule_run *r, const struct report_rule *rule)
{
    presented_check(r, rule, 0);
}

static void rule_client_cert_accepted_unadvertised(struct report_rule_run *r,
                                                   const struct report_rule *rule)
{
    presented_check(r, rule, 1);
}
