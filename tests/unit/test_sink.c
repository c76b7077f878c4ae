/* Unit tests for probe/sink.c: everything written arrives in order through a pipe the test
 * reads (many small writes, one large write, a non-blocking descriptor); writing never waits
 * for the reader; the high water is reported while the reader stalls and cleared once it has
 * drained; a reader that goes away (EPIPE) or a full device (ENOSPC) stops the writer, is
 * reported early and by the close, and later writes neither crash nor block. Waits are bounded
 * (HANG_MS) and only a hang reaches them. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "probe/sink.h"

#define HANG_MS 60000
#define MIB (1024 * 1024)

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static size_t queued_of(struct probe_sink *s)
{
    size_t queued, peak;
    probe_sink_counts(s, &queued, &peak);
    return queued;
}

static size_t peak_of(struct probe_sink *s)
{
    size_t queued, peak;
    probe_sink_counts(s, &queued, &peak);
    return peak;
}

/* Read exactly len bytes from fd into a new buffer; fails the test when they do not come. */
static char *read_exactly(int fd, size_t len)
{
    char *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    size_t got = 0;
    while (got < len) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, HANG_MS);
        if (r == 0)
            fail_msg("only %zu of %zu bytes arrived", got, len);
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            fail_msg("read after %zu of %zu bytes: %s", got, len, n ? strerror(errno) : "EOF");
        got += (size_t)n;
    }
    return buf;
}

/* After the sink is closed and the write end too: nothing more than what was read came. */
static void expect_eof(int fd)
{
    char c;
    assert_int_equal(read(fd, &c, 1), 0);
}

/* Wait (bounded) until the sink's error is want. */
static void wait_error(struct probe_sink *s, int want)
{
    for (int waited = 0; probe_sink_error(s) != want && waited < HANG_MS; waited += 5)
        sleep_ms(5);
    assert_int_equal(probe_sink_error(s), want);
}

static void test_many_small_writes(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct probe_sink *s;
    assert_int_equal(probe_sink_open(&s, p[1], 64 * MIB), 0);
    FILE *f = probe_sink_file(s);
    /* Far more than the pipe holds, written before the test reads a byte. */
    size_t want_len = 0;
    enum { LINES = 100000 };
    for (int i = 0; i < LINES; i++) {
        int n = fprintf(f, "line %d of the report\n", i);
        assert_true(n > 0);
        want_len += (size_t)n;
        if (i % 1000 == 999)
            assert_int_equal(fflush(f), 0); /* as the renderers do after each record */
    }
    assert_int_equal(fflush(f), 0);
    char *got = read_exactly(p[0], want_len);
    size_t off = 0;
    for (int i = 0; i < LINES; i++) {
        char line[64];
        int n = snprintf(line, sizeof(line), "line %d of the report\n", i);
        if (memcmp(got + off, line, (size_t)n) != 0)
            fail_msg("line %d differs: '%.*s'", i, n, got + off);
        off += (size_t)n;
    }
    assert_int_equal(probe_sink_close(s), 0);
    close(p[1]);
    expect_eof(p[0]);
    close(p[0]);
    free(got);
}

/* A pattern no two blocks share, so a block written twice or skipped shows. */
static void fill_pattern(uint8_t *p, size_t len)
{
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

static void large_write(int fd_flags)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    if (fd_flags)
        assert_int_equal(fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) | fd_flags), 0);
    size_t len = 5 * MIB + 12345;
    uint8_t *want = malloc(len);
    assert_non_null(want);
    fill_pattern(want, len);
    struct probe_sink *s;
    assert_int_equal(probe_sink_open(&s, p[1], 64 * MIB), 0);
    FILE *f = probe_sink_file(s);
    assert_int_equal(fputs("head\n", f) >= 0, 1);
    assert_int_equal(fwrite(want, 1, len, f), len);
    assert_int_equal(fflush(f), 0);
    char *head = read_exactly(p[0], 5);
    assert_memory_equal(head, "head\n", 5);
    char *got = read_exactly(p[0], len);
    assert_memory_equal(got, want, len);
    assert_true(peak_of(s) >= len / 2); /* queued, not written, by the fwrite */
    assert_int_equal(probe_sink_close(s), 0);
    close(p[1]);
    expect_eof(p[0]);
    close(p[0]);
    free(head);
    free(got);
    free(want);
}

static void test_one_large_write(void **state)
{
    (void)state;
    large_write(0);
}

/* A descriptor someone made non-blocking (a shared pipe): EAGAIN is waited out. */
static void test_nonblocking_fd(void **state)
{
    (void)state;
    large_write(O_NONBLOCK);
}

/* Fill a stalled pipe past the high water; full until the reader drains it all. */
static void test_high_water(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    size_t len = 4 * MIB, high = 1 * MIB; /* the pipe itself holds 64 KiB (1 MiB at most) */
    uint8_t *want = malloc(len);
    assert_non_null(want);
    fill_pattern(want, len);
    struct probe_sink *s;
    assert_int_equal(probe_sink_open(&s, p[1], high), 0);
    assert_false(probe_sink_full(s));
    FILE *f = probe_sink_file(s);
    assert_int_equal(fwrite(want, 1, len, f), len);
    assert_int_equal(fflush(f), 0);
    assert_true(probe_sink_full(s));
    assert_true(queued_of(s) > high);
    assert_true(peak_of(s) > high);
    sleep_ms(50); /* the writer is stuck on the full pipe: still full */
    assert_true(probe_sink_full(s));
    char *got = read_exactly(p[0], len);
    assert_memory_equal(got, want, len);
    /* Everything was read, so everything was written; the writer may not have counted the
     * last write yet. */
    for (int waited = 0; queued_of(s) && waited < HANG_MS; waited += 5)
        sleep_ms(5);
    assert_int_equal(queued_of(s), 0);
    assert_false(probe_sink_full(s));
    assert_int_equal(probe_sink_error(s), 0);
    assert_int_equal(probe_sink_close(s), 0);
    close(p[1]);
    close(p[0]);
    free(got);
    free(want);
}

/* The reader goes away while the writer is stuck with a backlog: EPIPE, the backlog dropped,
 * later writes fail at once (they neither crash nor wait), the close returns EPIPE. */
static void test_reader_gone(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    size_t len = 2 * MIB;
    char *buf = calloc(1, len);
    assert_non_null(buf);
    struct probe_sink *s;
    assert_int_equal(probe_sink_open(&s, p[1], len / 4), 0);
    FILE *f = probe_sink_file(s);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fflush(f), 0);
    assert_true(probe_sink_full(s));
    char *first = read_exactly(p[0], 1000);
    close(p[0]);
    wait_error(s, EPIPE);
    assert_int_equal(queued_of(s), 0);
    assert_false(probe_sink_full(s));
    for (int i = 0; i < 100; i++) {
        errno = 0;
        assert_true(fwrite(buf, 1, len, f) < len); /* larger than the stream's buffer */
        assert_int_equal(errno, EPIPE);
        clearerr(f);
        assert_true(fputs("a small record\n", f) >= 0); /* into the stream's buffer */
        errno = 0;
        assert_int_equal(fflush(f), EOF);
        assert_int_equal(errno, EPIPE);
        clearerr(f);
    }
    assert_int_equal(queued_of(s), 0);
    assert_int_equal(probe_sink_close(s), EPIPE);
    close(p[1]);
    free(first);
    free(buf);
}

/* A full device: the first write fails with ENOSPC, told early and by the close. */
static void test_device_full(void **state)
{
    (void)state;
    int fd = open("/dev/full", O_WRONLY);
    if (fd < 0)
        skip();
    struct probe_sink *s;
    assert_int_equal(probe_sink_open(&s, fd, MIB), 0);
    FILE *f = probe_sink_file(s);
    assert_true(fputs("{\"schema\":\"caprobe/1\"}\n", f) >= 0);
    assert_int_equal(fflush(f), 0); /* queued: the failure comes later, from the writer */
    wait_error(s, ENOSPC);
    assert_true(fputs("more\n", f) == EOF || fflush(f) == EOF);
    assert_int_equal(probe_sink_close(s), ENOSPC);
    close(fd);
}

/* A reader on a thread of its own: reads everything until EOF, a few KiB at a time with pauses,
 * so that the writer is the slow side. */
struct slow_reader {
    int fd;
    uint8_t *buf;
    size_t len, cap;
};

static void slow_reader_run(void *arg)
{
    struct slow_reader *r = arg;
    for (int i = 0;; i++) {
        if (r->len == r->cap) {
            r->cap = r->cap ? 2 * r->cap : MIB;
            r->buf = realloc(r->buf, r->cap);
            if (r->buf == NULL)
                return;
        }
        ssize_t n = read(r->fd, r->buf + r->len, r->cap - r->len < 4096 ? r->cap - r->len : 4096);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        r->len += (size_t)n;
        if (i % 64 == 0)
            sleep_ms(1);
    }
}

/* Once blocking, writes wait for room: the queue never holds much more than the high water
 * (one write's worth), and everything still arrives in order. */
static void test_blocking(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    size_t len = 8 * MIB, high = 256 * 1024, piece = 64 * 1024;
    uint8_t *want = malloc(len);
    assert_non_null(want);
    fill_pattern(want, len);
    struct slow_reader r = {.fd = p[0]};
    uv_thread_t reader;
    assert_int_equal(uv_thread_create(&reader, slow_reader_run, &r), 0);
    struct probe_sink *s;
    assert_int_equal(probe_sink_open(&s, p[1], high), 0);
    probe_sink_set_blocking(s);
    FILE *f = probe_sink_file(s);
    for (size_t off = 0; off < len; off += piece)
        assert_int_equal(fwrite(want + off, 1, piece, f), piece);
    assert_int_equal(fflush(f), 0);
    size_t peak = peak_of(s);
    if (peak > high + 2 * piece)
        fail_msg("%zu bytes queued at most, high water %zu", peak, high);
    assert_int_equal(probe_sink_close(s), 0);
    close(p[1]);
    uv_thread_join(&reader);
    assert_int_equal(r.len, len);
    assert_memory_equal(r.buf, want, len);
    close(p[0]);
    free(r.buf);
    free(want);
}

static void close_later(void *arg)
{
    sleep_ms(100);
    close(*(int *)arg);
}

/* A blocking write waiting for room is released when the reader goes away. */
static void test_blocking_reader_gone(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    size_t piece = 64 * 1024;
    char *buf = calloc(1, piece);
    assert_non_null(buf);
    struct probe_sink *s;
    assert_int_equal(probe_sink_open(&s, p[1], piece), 0);
    probe_sink_set_blocking(s);
    FILE *f = probe_sink_file(s);
    /* The pipe and the queue fill; the next write waits, until a thread closes the read end. */
    assert_int_equal(fwrite(buf, 1, piece, f), piece); /* into the pipe */
    assert_int_equal(fwrite(buf, 1, piece, f), piece);
    assert_int_equal(fflush(f), 0);
    for (int waited = 0; !probe_sink_full(s) && waited < HANG_MS; waited += 5) {
        fwrite(buf, 1, 1, f);
        fflush(f);
        sleep_ms(5);
    }
    assert_true(probe_sink_full(s));
    uv_thread_t closer;
    assert_int_equal(uv_thread_create(&closer, close_later, &p[0]), 0);
    size_t n = fwrite(buf, 1, piece, f); /* waits until the reader is gone, then fails */
    uv_thread_join(&closer);
    assert_true(n < piece);
    assert_int_equal(probe_sink_error(s), EPIPE);
    assert_int_equal(probe_sink_close(s), EPIPE);
    close(p[1]);
    free(buf);
}

/* Nothing written: the close ends the writer at once and reports no error; NULL is a no-op. */
static void test_empty(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct probe_sink *s;
    assert_int_equal(probe_sink_open(&s, p[1], MIB), 0);
    assert_int_equal(peak_of(s), 0);
    assert_int_equal(probe_sink_close(s), 0);
    assert_int_equal(probe_sink_close(NULL), 0);
    close(p[1]);
    expect_eof(p[0]);
    close(p[0]);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as caprobe's main does */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_small_writes),
        cmocka_unit_test(test_one_large_write),
        cmocka_unit_test(test_nonblocking_fd),
        cmocka_unit_test(test_high_water),
        cmocka_unit_test(test_reader_gone),
        cmocka_unit_test(test_device_full),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_blocking),
        cmocka_unit_test(test_blocking_reader_gone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
