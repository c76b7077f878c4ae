/* The report's file (-o FILE), replaced whole or not at all: the report is written to a
 * temporary file in FILE's folder and renamed over FILE once it is complete, so that FILE holds
 * the previous report (or nothing) until then, a reader never sees half a report, and an input
 * that is FILE itself (--baseline scan.jsonl -o scan.jsonl) is still whole while it is read.
 * Where a rename would not mean "replace the file" (a device, a FIFO, the file standard output
 * already goes to), the report is written straight to it. A header of its own, depending on
 * nothing of ours. */
#ifndef PROBE_OUTFILE_H
#define PROBE_OUTFILE_H

#include <stdbool.h>

struct probe_outfile {
    int fd;      /* where the report is written; -1 when none is open */
    bool own_fd; /* fd was opened here (not a standard descriptor) and is closed here */
    char *path;  /* the file the temporary one replaces, links followed; NULL: written in place */
    char *temp;  /* the temporary file, NULL when there is none (in place, committed, aborted) */
};

/* Cannot fail; makes probe_outfile_abort safe. */
void probe_outfile_init(struct probe_outfile *o);

/* Open the report's file for path: a regular file or a new name gets a temporary file
 * ".NAME.XXXXXX" next to it (links of the last component followed, so a symbolic link keeps
 * pointing at the new report), with NAME's permission bits and owner when it exists (as far as
 * allowed) and 0666 less the umask when it does not; an existing NAME that may not be written is
 * refused as opening it would be. Written in place instead: what is not a regular file
 * (character device, FIFO, socket), the file descriptor 1 or 2 already writes to (descriptor
 * used as it is), and an existing NAME that may be written in a folder that takes no new file
 * of ours or where NAME may not be replaced (sticky /tmp) -- that one is truncated now. Returns
 * 0 or an errno value; o->fd is then the descriptor to write to. */
int probe_outfile_open(struct probe_outfile *o, const char *path);

/* The report is complete: flush it to disk, close the descriptor and rename the temporary file
 * over the target, or, with aside (e.g. ".interrupted"), to the target's name followed by it,
 * leaving the target as it was. Returns 0 or the errno of the failed fsync, close or rename
 * (the temporary file is removed then and the target left as it was). Written in place: only
 * the close. */
int probe_outfile_commit(struct probe_outfile *o, const char *aside);

/* No report: close the descriptor and remove the temporary file; the target is left as it
 * was. A no-op after probe_outfile_commit or on an initialised o, so it may always be called. */
void probe_outfile_abort(struct probe_outfile *o);

#endif
