/* libFuzzer target for the target list (probe/input.c, probe/target.c): any bytes as a -i file,
 * read through the same streamed reader, CIDR expansion (capped at 64 addresses), URLs, port
 * list, duplicate removal and shard filter as a scan. Every item is a target with a name that
 * parses again to itself and a path --request would send (or none), or a bad line with a reason
 * and FILE:LINE. The first line also goes through --resolve's and --sni's parsers and is shown
 * as a message would show it. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "probe/internal.h"
#include "probe/request.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("targets", 0);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size)) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    const char *files[] = {path};
    static const uint16_t ports[] = {443, 8443};
    struct probe_input_opts o = {
        .files = files,
        .n_files = 1,
        .ports = ports,
        .n_ports = 2,
        .shard_k = size & 1 ? 1 : 0,
        .shard_n = size & 1 ? 2 : 0,
        .cidr_max = 64,
    };
    struct probe_input *in = NULL;
    if (probe_input_new(&in, &o) == 0) {
        struct probe_input_item *item = malloc(sizeof(*item));
        int rc;
        for (unsigned n = 0; item && (rc = probe_input_next(in, item)) == 1 && n < 100000; n++) {
            if (item->error[0]) {
                if (strncmp(item->where, path, strlen(path)) != 0)
                    abort();
                continue;
            }
            struct probe_target_spec again;
            const char *why;
            if (item->path && probe_request_path_check(item->path) != NULL)
                abort();
            if (probe_target_parse(item->spec.spec, 0, &again, &why) != 0 ||
                strcmp(again.spec, item->spec.spec) != 0 || again.port != item->spec.port)
                abort();
        }
        free(item);
        probe_input_free(in);
    }
    close(fd);

    char line[512];
    size_t n = size < sizeof(line) - 1 ? size : sizeof(line) - 1;
    memcpy(line, data, n);
    line[n] = '\0';
    struct probe_resolve r;
    struct probe_cidr c;
    struct probe_target_spec t;
    const char *why;
    probe_resolve_parse(line, &r, &why);
    probe_cidr_parse(line, &c, 1 << 20, NULL, &why);
    probe_target_parse(line, 443, &t, &why);
    char shown[64];
    probe_entry_shown(shown, sizeof(shown), line);
    return 0;
}
