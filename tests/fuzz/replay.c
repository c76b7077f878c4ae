/* Replay driver: runs a fuzz target's LLVMFuzzerTestOneInput once on every file in the
 * directories (or on the files) named on the command line, in name order, and reports TAP. A
 * missing or empty directory is not an error. Without libFuzzer this is how `meson test` keeps
 * every saved corpus input and crash reproducer passing; a crash kills the run right after the
 * "ok" line of the input before it. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz.h"

/* Read the whole of path into a buffer of exactly its size, so that sanitizers catch any read
 * past the end, as under libFuzzer. */
static int file_read(const char *path, uint8_t **out, size_t *len)
{
    int rc = -1;
    uint8_t *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        goto out;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0)
        goto out;
    size_t size = (size_t)st.st_size;
    buf = malloc(size ? size : 1);
    if (buf == NULL || fread(buf, 1, size, f) != size)
        goto out;
    *out = buf;
    *len = size;
    buf = NULL;
    rc = 0;
out:;
    int err = errno; /* what failed, not what the cleanup did */
    free(buf);
    if (f)
        fclose(f);
    errno = err;
    return rc;
}

static int run_file(const char *path, int *count)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int n = ++*count;
    if (file_read(path, &data, &len) != 0) {
        printf("not ok %d - %s # cannot read: %s\n", n, path, strerror(errno));
        fflush(stdout);
        return 1;
    }
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    printf("ok %d - %s\n", n, path);
    fflush(stdout);
    return 0;
}

static int skip_dotfiles(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

static int run_dir(const char *dir, int *count)
{
    struct dirent **names = NULL;
    int k = scandir(dir, &names, skip_dotfiles, alphasort);
    if (k < 0 && errno == ENOENT) {
        printf("# %s: none\n", dir);
        return 0;
    }
    if (k < 0) {
        printf("not ok %d - %s # %s\n", ++*count, dir, strerror(errno));
        return 1;
    }
    int failed = 0;
    for (int i = 0; i < k; i++) {
        char path[4096];
        struct stat st;
        int w = snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        if (w > 0 && (size_t)w < sizeof(path) && stat(path, &st) == 0 && S_ISREG(st.st_mode))
            failed |= run_file(path, count);
        free(names[i]);
    }
    free(names);
    return failed;
}

int main(int argc, char **argv)
{
    int count = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode))
            failed |= run_file(argv[i], &count);
        else
            failed |= run_dir(argv[i], &count);
    }
    if (count == 0)
        printf("1..0 # SKIP no inputs\n");
    else
        printf("1..%d\n", count);
    return failed;
}
