/* The output sink: the loop thread hands it bytes and never waits; one writer thread of its own
 * writes them to the file descriptor. A header of its own, depending on nothing of ours, so
 * that whoever writes output (run.c) can use it and the scheduler never needs to. */
#ifndef PROBE_SINK_H
#define PROBE_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct probe_sink;

/* A sink writing to fd (not owned: it stays open after probe_sink_close) from a thread it
 * starts; high_water is the number of queued bytes above which probe_sink_full says so.
 * Returns 0, TLS_E_NOMEM, or TLS_E_IO (the thread or the stream could not be made). */
int probe_sink_open(struct probe_sink **out, int fd, size_t high_water);

/* A stdio stream (fopencookie) whose writes append to the queue and return at once; it is
 * closed by probe_sink_close, not by the caller. A write fails (EOF, with errno set to the
 * sink's error) once the sink has failed: what is written then is dropped. Loop thread only. */
FILE *probe_sink_file(struct probe_sink *s);

/* From now on a write waits while the queue is above the high water, instead of growing it, and
 * is released by the writer's progress or failure. For what is written once the loop has ended
 * (the end of a document, JUnit's spooled test cases): waiting then delays nothing that could
 * time out, and the queue stays bounded however large the document. */
void probe_sink_set_blocking(struct probe_sink *s);

/* Queued bytes are above the high water: the producer should start nothing new. False after
 * a failure (the queue is dropped then). */
bool probe_sink_full(struct probe_sink *s);

/* Bytes queued and not yet written now, and the most there ever were. */
void probe_sink_counts(struct probe_sink *s, size_t *queued, size_t *peak);

/* The errno of the first failed write (EPIPE, ENOSPC, EIO, ...; ENOMEM when the queue could not
 * grow), 0 while none failed. Once set the writer has stopped and nothing more is written. */
int probe_sink_error(struct probe_sink *s);

/* Flush and close the stream, wait until the writer has written everything queued (this may
 * block as long as the reader of fd does not read) or failed, join it and free s. Returns 0 or
 * the errno of the first failure, as probe_sink_error. NULL: 0. */
int probe_sink_close(struct probe_sink *s);

#endif
