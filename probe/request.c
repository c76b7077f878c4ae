/* --request: the HTTP/1.1 request a probe sends once its handshake is complete (request.h). Pure:
 * formats and checks bytes, nothing else. */
#include "request.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "probe.h" /* PROBE_HOST_MAX */

const char *probe_request_path_check(const char *path)
{
    if (path[0] != '/')
        return "the path must start with '/'";
    size_t n = strlen(path);
    _Static_assert(PROBE_PATH_MAX == 2048, "the reason below names the limit");
    if (n > PROBE_PATH_MAX)
        return "the path is longer than 2048 bytes";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)path[i];
        /* RFC 9112 3.2: the request-target is visible ASCII; the rest must be percent-encoded */
        if (ch <= 0x20 || ch >= 0x7f)
            return "the path holds a space, a control or a non-ASCII byte (percent-encode it)";
    }
    return NULL;
}

int probe_request_format(char *buf, size_t cap, const char *path, const char *host, uint16_t port)
{
    char authority[PROBE_HOST_MAX + 16];
    bool v6 = strchr(host, ':') != NULL;
    if (port == 443)
        snprintf(authority, sizeof(authority), v6 ? "[%s]" : "%s", host);
    else
        snprintf(authority, sizeof(authority), v6 ? "[%s]:%u" : "%s:%u", host, port);
    int n = snprintf(buf, cap,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "User-Agent: caprobe/" CAPROBE_VERSION "\r\n"
                     "Accept: */*\r\n"
                     "Connection: close\r\n"
                     "\r\n",
                     path, authority);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}
