/* libFuzzer target for the JSON Lines baseline reader (report/baseline.c): any bytes as the
 * --baseline file. A rejected file comes with a message naming it; an accepted one can be
 * looked up by each of its targets. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "report/baseline.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("baseline", 0);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size)) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    char path[64], err[512] = "";
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    struct report_baseline *b = NULL;
    int rc = report_baseline_load(&b, path, err, sizeof(err));
    if (rc != 0 && (b != NULL || strncmp(err, path, strlen(path)) != 0))
        abort();
    for (size_t i = 0; b && i < report_baseline_count(b); i++) {
        const struct report_baseline_record *r = report_baseline_at(b, i);
        if (r == NULL)
            abort();
    }
    report_baseline_free(b);
    close(fd);
    return 0;
}
