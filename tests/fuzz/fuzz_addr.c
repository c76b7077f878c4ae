/* Fuzz target: tls/wire/addr.h on any bytes, against inet_pton(3) as the oracle: the same
 * verdict and bytes for an address; a CIDR range contains its own network and first address;
 * a port is what its digits say. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tests/fuzz/fuzz.h"
#include "tls/wire/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char z[80];
    if (size >= sizeof(z))
        return 0;
    memcpy(z, data, size);
    z[size] = 0;
    const char *s = (const char *)data;
    uint8_t want[16];
    int family = strlen(z) != size                   ? 0
                 : inet_pton(AF_INET, z, want) == 1  ? AF_INET
                 : inet_pton(AF_INET6, z, want) == 1 ? AF_INET6
                                                     : 0;
    struct tls_addr a, first;
    int rc = tls_addr_parse(&a, s, size);
    if ((rc == 0) != (family != 0) ||
        (rc == 0 && (a.family != family || memcmp(a.b, want, tls_addr_bits(family) / 8) != 0)))
        abort();
    struct tls_cidr c;
    if (tls_cidr_parse(&c, s, size) == 0) {
        tls_cidr_nth(&c, 0, &first);
        if (c.prefix > tls_addr_bits(c.net.family) || !tls_cidr_contains(&c, &c.net) ||
            memcmp(&first, &c.net, sizeof(first)) != 0)
            abort();
    }
    uint16_t port;
    if (tls_port_parse(s, size, &port) == 0 &&
        (port == 0 || (unsigned long)port != strtoul(z, NULL, 10)))
        abort();
    return 0;
}
