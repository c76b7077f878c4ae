/* From a finished connection to what users see (outcome.c): the observations of its variant,
 * their error kinds and messages as docs/output.md describes them, and whether another attempt
 * is warranted. Pure: no loop, no clock, no I/O; the scheduler calls it with a conn's result. */
#ifndef PROBE_OUTCOME_H
#define PROBE_OUTCOME_H

#include <stdbool.h>

#include "conn.h"
#include "tls/wire/observation.h"

/* Whether the connection failed before the server sent a byte in a way another attempt may not
 * meet: no answer to the connect in time, no route or no local port for now, a reset. A refusal
 * is an answer, not transient. The scheduler retries only while attempts are left. */
bool probe_outcome_retryable(const struct probe_conn_result *r);

/* Fill hs, the variant's handshake observation (address, sni and tls_max are set already), from
 * r; with --request also reneg, its renegotiation observation (NULL without --request), which
 * is filled only when the server renegotiated: returns whether it did. attempts > 1 is told in
 * an error's message. */
bool probe_outcome_fill(const struct probe_conn_result *r, unsigned attempts,
                        struct tls_observation *hs, struct tls_observation *reneg);

/* Once every variant of a target is done: a probe the server answered with a protocol_version
 * alert, or with a ServerHello of another version, is TLS_ERROR_VERSION_NOT_OFFERED; one it
 * answered with handshake_failure is too when a probe of the same address, SNI and phase
 * offering another version got a ServerHello (a TLS 1.2 server sees no suite it knows in a TLS 1.3
 * ClientHello). The message says "TLS 1.3 not offered" and keeps the server's words.
 * by_port: the target's protocol came from the port table (no --starttls, no URL) and the table
 * names none for its port: a server that closed without a byte, when no variant of the target
 * got TLS, may be a STARTTLS service that closes on a ClientHello (PostgreSQL, LDAP), and the
 * message says what to try. */
void probe_outcome_settle(struct tls_observation *const *obs, size_t n, bool by_port);

#endif
