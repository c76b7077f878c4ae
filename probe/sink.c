/* The output sink: bytes written by the loop thread go to a queue of fixed-size blocks under a
 * mutex, and one writer thread writes them to the descriptor. The loop thread never waits for
 * the descriptor; the writer thread touches nothing but the queue and the descriptor (no
 * stdio, no libuv loop, no observation). A failed write stops the writer for good. */
#define _GNU_SOURCE /* fopencookie */
#include "sink.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "tls/wire/error.h"

/* A large backlog is a list of blocks, never one growing buffer to copy. */
#define SINK_BLOCK (64 * 1024)
/* The stream's own buffer: renderers write many small pieces (text, SARIF) and flush once per
 * record. Measured with 800,000 fprintf calls of a text line, flushed every 40: unbuffered
 * (a lock and a copy per call) took 1.4 times as long as buffered; 8 to 64 KiB were alike. */
#define SINK_STDIO_BUFFER (16 * 1024)

struct sink_block {
    struct sink_block *next;
    size_t off; /* written up to here (the writer's) */
    size_t len; /* filled up to here (the appender's); SINK_BLOCK: full */
    char data[SINK_BLOCK];
};

/* Invariant, under lock: the bytes queued are [off, len) of each block from head to tail; every
 * block before the tail is full; a head with nothing left is the tail. The writer reads
 * [off, len) of the head without the lock: the appender only ever writes past len, and only
 * the writer moves off, unlinks or frees a block once it was queued. */
struct probe_sink {
    uv_mutex_t lock;
    uv_cond_t ready; /* the writer waits on it for bytes, a failure or the close */
    uv_cond_t room;  /* a blocking append waits on it for the queue to shrink or fail */
    uv_thread_t thread;
    int fd;
    FILE *file;
    struct sink_block *head, *tail;
    struct sink_block *spare; /* one written block kept for the next append */
    size_t queued, peak, high_water;
    int error;     /* errno of the first failure */
    bool blocking; /* appends wait while the queue is above the high water */
    bool closing;  /* no more appends: write what is queued and end */
};

/* One write(2) of up to len bytes: the count written (> 0), or -errno. A descriptor someone
 * made non-blocking is waited for with poll; only this thread waits, so that is fine. */
static ssize_t sink_write_some(int fd, const char *p, size_t len)
{
    for (;;) {
        ssize_t n = write(fd, p, len);
        if (n > 0)
            return n;
        if (n == 0)
            return -EIO;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
            return -errno;
    }
}

/* Free every queued block; the caller holds the lock and is the writer, or the writer is gone. */
static void sink_drop(struct probe_sink *s)
{
    for (struct sink_block *b = s->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    s->head = s->tail = NULL;
    s->queued = 0;
}

static void sink_writer(void *arg)
{
    struct probe_sink *s = arg;
    uv_mutex_lock(&s->lock);
    for (;;) {
        while (s->queued == 0 && !s->closing && !s->error)
            uv_cond_wait(&s->ready, &s->lock);
        if (s->error || s->queued == 0)
            break; /* failed (an append could not grow the queue), or closing with all written */
        struct sink_block *b = s->head;
        const char *p = b->data + b->off;
        size_t len = b->len - b->off;
        uv_mutex_unlock(&s->lock);
        ssize_t n = sink_write_some(s->fd, p, len);
        uv_mutex_lock(&s->lock);
        if (n < 0) {
            if (!s->error)
                s->error = (int)-n;
            break;
        }
        b->off += (size_t)n;
        s->queued -= (size_t)n;
        if (s->blocking && s->queued <= s->high_water)
            uv_cond_signal(&s->room);
        if (b->off < b->len)
            continue;
        if (b->next == NULL) {
            b->off = b->len = 0; /* the tail: filled again from its start */
            continue;
        }
        s->head = b->next;
        if (s->spare == NULL)
            s->spare = b;
        else
            free(b);
    }
    if (s->error)
        sink_drop(s); /* later appends are dropped: nothing would write them */
    uv_cond_signal(&s->room);
    uv_mutex_unlock(&s->lock);
}

/* The stream's write function: append to the queue (the lock is held for a copy, never for
 * I/O) and wake the writer when the queue was empty. Only a blocking sink waits, for room. */
static ssize_t sink_cookie_write(void *cookie, const char *buf, size_t len)
{
    struct probe_sink *s = cookie;
    uv_mutex_lock(&s->lock);
    while (s->blocking && !s->error && s->queued > s->high_water)
        uv_cond_wait(&s->room, &s->lock);
    bool was_empty = s->queued == 0;
    size_t done = 0;
    while (!s->error && done < len) {
        struct sink_block *t = s->tail;
        if (t == NULL || t->len == SINK_BLOCK) {
            struct sink_block *b = s->spare ? s->spare : malloc(sizeof(*b));
            if (b == NULL) {
                s->error = ENOMEM;
                break;
            }
            s->spare = NULL;
            b->next = NULL;
            b->off = b->len = 0;
            if (t)
                t->next = b;
            else
                s->head = b;
            s->tail = t = b;
        }
        size_t n = SINK_BLOCK - t->len < len - done ? SINK_BLOCK - t->len : len - done;
        memcpy(t->data + t->len, buf + done, n);
        t->len += n;
        done += n;
    }
    s->queued += done;
    if (s->queued > s->peak)
        s->peak = s->queued;
    int err = s->error;
    if ((was_empty && done) || err)
        uv_cond_signal(&s->ready);
    uv_mutex_unlock(&s->lock);
    if (err) {
        /* fopencookie(3): the bytes taken, 0 when none; never negative. stdio then marks the
         * stream in error, and the caller sees EOF. */
        errno = err;
        return (ssize_t)done;
    }
    return (ssize_t)len;
}

/* fclose's hook: the descriptor is not ours, and the queue is the close's to finish. */
static int sink_cookie_close(void *cookie)
{
    (void)cookie;
    return 0;
}

int probe_sink_open(struct probe_sink **out, int fd, size_t high_water)
{
    *out = NULL;
    struct probe_sink *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return TLS_E_NOMEM;
    s->fd = fd;
    s->high_water = high_water;
    if (uv_mutex_init(&s->lock) != 0) {
        free(s);
        return TLS_E_IO;
    }
    int rc = TLS_E_IO;
    if (uv_cond_init(&s->ready) != 0)
        goto out_mutex;
    if (uv_cond_init(&s->room) != 0)
        goto out_ready;
    cookie_io_functions_t io = {.write = sink_cookie_write, .close = sink_cookie_close};
    if ((s->file = fopencookie(s, "w", io)) == NULL) {
        rc = TLS_E_NOMEM;
        goto out_cond;
    }
    if (setvbuf(s->file, NULL, _IOFBF, SINK_STDIO_BUFFER) != 0)
        goto out_file;
    /* The writer inherits this mask: SIGINT and SIGTERM go to the loop thread, which handles
     * them, and a write is never interrupted. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int uv_rc = uv_thread_create(&s->thread, sink_writer, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (uv_rc == 0) {
        *out = s;
        return 0;
    }
out_file:
    fclose(s->file);
out_cond:
    uv_cond_destroy(&s->room);
out_ready:
    uv_cond_destroy(&s->ready);
out_mutex:
    uv_mutex_destroy(&s->lock);
    free(s);
    return rc;
}

FILE *probe_sink_file(struct probe_sink *s)
{
    return s->file;
}

void probe_sink_set_blocking(struct probe_sink *s)
{
    uv_mutex_lock(&s->lock);
    s->blocking = true;
    uv_mutex_unlock(&s->lock);
}

bool probe_sink_full(struct probe_sink *s)
{
    uv_mutex_lock(&s->lock);
    bool full = s->queued > s->high_water;
    uv_mutex_unlock(&s->lock);
    return full;
}

void probe_sink_counts(struct probe_sink *s, size_t *queued, size_t *peak)
{
    uv_mutex_lock(&s->lock);
    *queued = s->queued;
    *peak = s->peak;
    uv_mutex_unlock(&s->lock);
}

int probe_sink_error(struct probe_sink *s)
{
    uv_mutex_lock(&s->lock);
    int err = s->error;
    uv_mutex_unlock(&s->lock);
    return err;
}

int probe_sink_close(struct probe_sink *s)
{
    if (s == NULL)
        return 0;
    fclose(s->file); /* its buffer goes to the queue; a failure there is the sink's error */
    uv_mutex_lock(&s->lock);
    s->closing = true;
    uv_cond_signal(&s->ready);
    uv_mutex_unlock(&s->lock);
    uv_thread_join(&s->thread);
    int err = s->error;
    sink_drop(s);
    free(s->spare);
    uv_cond_destroy(&s->room);
    uv_cond_destroy(&s->ready);
    uv_mutex_destroy(&s->lock);
    free(s);
    return err;
}
