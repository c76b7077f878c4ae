/* --request (request.c): the HTTP/1.1 request a probe sends once its handshake is complete. A
 * leaf of the probe module: the command line checks the path, a connection formats the bytes. */
#ifndef PROBE_REQUEST_H
#define PROBE_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#define PROBE_REQUEST_MAX 4096
/* "GET path HTTP/1.1" with Host (host, bracketed when IPv6, ":port" unless 443), User-Agent,
 * Accept and Connection: close. Returns its length, or -1 when it does not fit. */
int probe_request_format(char *buf, size_t cap, const char *path, const char *host, uint16_t port);
/* NULL when path is usable in a request line, else a static reason. */
const char *probe_request_path_check(const char *path);

#endif
