/* Unit tests for probe/outfile.c in a folder of their own: until the commit the target keeps its
 * earlier content and the report is in ".NAME.XXXXXX" beside it; the commit renames it into
 * place with the earlier file's mode (a new file: 0666 less the umask); an abort leaves the
 * target as it was and no temporary file; symbolic links (relative, chained, dangling) are
 * followed to the file they name and stay links; a device is written in place; folders, missing
 * folders and link loops are refused with their errno. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "probe/outfile.h"

struct dir {
    char path[256];
};

static void path_in(char *out, size_t cap, const struct dir *d, const char *name)
{
    snprintf(out, cap, "%s/%s", d->path, name);
}

static void put_file(const struct dir *d, const char *name, const char *text, mode_t mode)
{
    char p[512];
    path_in(p, sizeof(p), d, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
}

/* The content of d/name, "" when it cannot be read (the caller frees). */
static char *get_file(const struct dir *d, const char *name)
{
    char p[512];
    path_in(p, sizeof(p), d, name);
    char *buf = calloc(1, 4096);
    assert_non_null(buf);
    int fd = open(p, O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, 4095);
        assert_true(n >= 0);
        close(fd);
    }
    return buf;
}

static void assert_file(const struct dir *d, const char *name, const char *want)
{
    char *got = get_file(d, name);
    assert_string_equal(got, want);
    free(got);
}

/* Entries of d/sub (NULL: d) but . and .. */
static int count_entries(const struct dir *d, const char *sub)
{
    char p[512];
    if (sub)
        path_in(p, sizeof(p), d, sub);
    else
        snprintf(p, sizeof(p), "%s", d->path);
    DIR *dir = opendir(p);
    assert_non_null(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(dir));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(dir);
    return n;
}

static mode_t mode_of(const struct dir *d, const char *name)
{
    char p[512];
    path_in(p, sizeof(p), d, name);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    return st.st_mode & 07777;
}

static void write_all(int fd, const char *text)
{
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
}

static void cleanup(const struct dir *d)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
    assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
    struct dir *d = calloc(1, sizeof(*d));
    const char *tmp = getenv("TMPDIR");
    snprintf(d->path, sizeof(d->path), "%s/caprobe-outfile-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(d->path) == NULL)
        return -1;
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    cleanup(*state);
    free(*state);
    return 0;
}

/* A new name: nothing there until the commit, then the report with 0666 less the umask. */
static void test_new_file(void **state)
{
    struct dir *d = *state;
    char p[512];
    path_in(p, sizeof(p), d, "scan.jsonl");
    mode_t old_mask = umask(027);
    struct probe_outfile o;
    assert_int_equal(probe_outfile_open(&o, p), 0);
    umask(old_mask);
    assert_non_null(o.temp);
    char want_prefix[512];
    path_in(want_prefix, sizeof(want_prefix), d, ".scan.jsonl.");
    assert_int_equal(strncmp(o.temp, want_prefix, strlen(want_prefix)), 0);
    assert_int_equal(strlen(o.temp), strlen(want_prefix) + 6);
    write_all(o.fd, "report\n");
    assert_int_equal(access(p, F_OK), -1); /* not there before the commit */
    assert_int_equal(probe_outfile_commit(&o, NULL), 0);
    assert_file(d, "scan.jsonl", "report\n");
    assert_int_equal(mode_of(d, "scan.jsonl"), 0640);
    assert_int_equal(count_entries(d, NULL), 1);
    assert_null(o.temp);
    assert_int_equal(o.fd, -1);
    probe_outfile_abort(&o); /* after a commit: nothing */
    assert_file(d, "scan.jsonl", "report\n");
}

/* d/name made with text and mode, then opened as the report's file into o, half a report
 * written. */
static void open_over(const struct dir *d, const char *name, mode_t mode, struct probe_outfile *o)
{
    put_file(d, name, "earlier\n", mode);
    char p[512];
    path_in(p, sizeof(p), d, name);
    assert_int_equal(probe_outfile_open(o, p), 0);
    write_all(o->fd, "{\"half\":");
}

/* An existing file keeps its content until the commit, then has the new one and its mode. */
static void test_replace_keeps_mode(void **state)
{
    struct dir *d = *state;
    struct probe_outfile o;
    open_over(d, "scan.sarif", 0604, &o);
    assert_file(d, "scan.sarif", "earlier\n");
    assert_int_equal(count_entries(d, NULL), 2);
    write_all(o.fd, "false}\n");
    assert_int_equal(probe_outfile_commit(&o, NULL), 0);
    assert_file(d, "scan.sarif", "{\"half\":false}\n");
    assert_int_equal(mode_of(d, "scan.sarif"), 0604);
    assert_int_equal(count_entries(d, NULL), 1);
}

/* No report: the target as it was, the temporary file gone. */
static void test_abort(void **state)
{
    struct dir *d = *state;
    struct probe_outfile o;
    open_over(d, "scan.xml", 0644, &o);
    probe_outfile_abort(&o);
    assert_file(d, "scan.xml", "earlier\n");
    assert_int_equal(count_entries(d, NULL), 1);
    probe_outfile_abort(&o); /* twice: nothing */
}

/* Committed aside: the target as it was, the report under the target's name and the suffix. */
static void test_commit_aside(void **state)
{
    struct dir *d = *state;
    struct probe_outfile o;
    open_over(d, "scan.jsonl", 0644, &o);
    write_all(o.fd, "partial\n");
    assert_int_equal(probe_outfile_commit(&o, ".interrupted"), 0);
    assert_file(d, "scan.jsonl", "earlier\n");
    assert_file(d, "scan.jsonl.interrupted", "{\"half\":partial\n");
    assert_int_equal(count_entries(d, NULL), 2);
    assert_null(o.temp);
}

/* latest -> reports/link (relative to the folder), reports/link -> today (relative to
 * reports/): reports/today is replaced, both links stay. */
static void test_links_followed(void **state)
{
    struct dir *d = *state;
    char p[512], q[512];
    path_in(p, sizeof(p), d, "reports");
    assert_int_equal(mkdir(p, 0755), 0);
    put_file(d, "reports/today", "earlier\n", 0640);
    path_in(p, sizeof(p), d, "reports/link");
    assert_int_equal(symlink("today", p), 0);
    path_in(p, sizeof(p), d, "latest");
    assert_int_equal(symlink("reports/link", p), 0);
    struct probe_outfile o;
    assert_int_equal(probe_outfile_open(&o, p), 0);
    path_in(q, sizeof(q), d, "reports/.today.");
    assert_int_equal(strncmp(o.temp, q, strlen(q)), 0);
    write_all(o.fd, "new\n");
    assert_int_equal(probe_outfile_commit(&o, NULL), 0);
    assert_file(d, "reports/today", "new\n");
    assert_int_equal(mode_of(d, "reports/today"), 0640);
    struct stat st;
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    path_in(q, sizeof(q), d, "reports/link");
    assert_int_equal(lstat(q, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(count_entries(d, "reports"), 2);

    /* a dangling link: the file it names is made, as open(O_CREAT) would */
    path_in(p, sizeof(p), d, "dangling");
    assert_int_equal(symlink("reports/tomorrow", p), 0);
    assert_int_equal(probe_outfile_open(&o, p), 0);
    write_all(o.fd, "made\n");
    assert_int_equal(probe_outfile_commit(&o, NULL), 0);
    assert_file(d, "reports/tomorrow", "made\n");
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
}

/* Refused with the errno opening would give; nothing left behind. */
static void test_refused(void **state)
{
    struct dir *d = *state;
    char p[512], q[512];
    struct probe_outfile o;
    path_in(p, sizeof(p), d, "folder");
    assert_int_equal(mkdir(p, 0755), 0);
    assert_int_equal(probe_outfile_open(&o, p), EISDIR);
    path_in(p, sizeof(p), d, "new-folder/"); /* as open(O_CREAT) says */
    assert_int_equal(probe_outfile_open(&o, p), EISDIR);
    path_in(p, sizeof(p), d, "missing/scan.jsonl");
    assert_int_equal(probe_outfile_open(&o, p), ENOENT);
    path_in(p, sizeof(p), d, "loop-a");
    path_in(q, sizeof(q), d, "loop-b");
    assert_int_equal(symlink("loop-b", p), 0);
    assert_int_equal(symlink("loop-a", q), 0);
    assert_int_equal(probe_outfile_open(&o, p), ELOOP);
    assert_int_equal(o.fd, -1);
    assert_null(o.temp);
    assert_int_equal(count_entries(d, NULL), 3);
    assert_int_equal(count_entries(d, "folder"), 0);
}

/* A character device is written where it is: no temporary file, nothing renamed. */
static void test_device_in_place(void **state)
{
    (void)state;
    struct probe_outfile o;
    assert_int_equal(probe_outfile_open(&o, "/dev/null"), 0);
    assert_null(o.temp);
    assert_true(o.fd > STDERR_FILENO);
    write_all(o.fd, "gone\n");
    assert_int_equal(probe_outfile_commit(&o, NULL), 0);
    struct stat st;
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_keeps_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_links_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
        cmocka_unit_test(test_device_in_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
