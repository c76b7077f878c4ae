/* The report's file (outfile.h): a temporary file next to the target, renamed over it when the
 * report is complete, removed when there is none. It must never remove the target, truncate it
 * only where it cannot be replaced (written in place, as before), and never rename over
 * anything but a regular file or a free name. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "outfile.h"

#define LINKS_MAX 40   /* symbolic links followed, as Linux's path walk (ELOOP past it) */
#define TEMP_TRIES 100 /* names tried for the temporary file before giving up (EEXIST) */
/* bytes of the target's name kept in the temporary one's, which must fit NAME_MAX (255) */
#define TEMP_BASE_MAX 200

void probe_outfile_init(struct probe_outfile *o)
{
    o->fd = -1;
    o->own_fd = false;
    o->path = NULL;
    o->temp = NULL;
}

/* The file path names once the symbolic links of its last component are followed (a link
 * relative to its own folder); a name that does not exist (yet) is the answer too. NULL with
 * errno set when a link cannot be read, the links loop, or memory runs out. */
static char *follow_links(const char *path)
{
    char *p = strdup(path);
    for (int hops = 0; p; hops++) {
        struct stat st;
        if (lstat(p, &st) != 0 || !S_ISLNK(st.st_mode))
            return p; /* not a link, or nothing there: opening tells why if it matters */
        if (hops == LINKS_MAX) {
            free(p);
            errno = ELOOP;
            return NULL;
        }
        size_t cap = (st.st_size > 0 ? (size_t)st.st_size : 255) + 1;
        char *link = malloc(cap);
        ssize_t n = link ? readlink(p, link, cap) : -1;
        if (n < 0 || (size_t)n >= cap) { /* changed meanwhile: not worth a second look */
            int err = n < 0 ? errno : ENAMETOOLONG;
            free(link);
            free(p);
            errno = link ? err : ENOMEM;
            return NULL;
        }
        link[n] = 0;
        const char *slash = strrchr(p, '/');
        char *next = link;
        if (link[0] != '/' && slash) { /* relative to the folder of the link */
            int dir = (int)(slash - p) + 1;
            next = malloc((size_t)dir + (size_t)n + 1);
            if (next)
                snprintf(next, (size_t)dir + (size_t)n + 1, "%.*s%s", dir, p, link);
            free(link);
        }
        free(p);
        p = next;
    }
    errno = ENOMEM;
    return NULL;
}

/* Create "DIR/.NAME.XXXXXX" for target "DIR/NAME" with O_EXCL, so that no file of another is
 * ever opened, mode subject to the umask as for any created file. The letters need not be
 * unpredictable: a name taken is simply passed over. */
static int temp_create(struct probe_outfile *o, mode_t mode)
{
    static const char letters[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    static unsigned calls;
    const char *slash = strrchr(o->path, '/');
    const char *base = slash ? slash + 1 : o->path;
    int dir = (int)(base - o->path);
    size_t blen = strlen(base);
    if (blen == 0)
        return EISDIR; /* "folder/": no file name to replace */
    if (blen > TEMP_BASE_MAX)
        blen = TEMP_BASE_MAX;
    size_t cap = (size_t)dir + blen + 9; /* "." NAME "." XXXXXX NUL */
    if ((o->temp = malloc(cap)) == NULL)
        return ENOMEM;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec ^
                 (uint64_t)++calls * 0x9e3779b97f4a7c15u;
    for (int tries = 0; tries < TEMP_TRIES; tries++) {
        char suffix[7];
        for (int i = 0; i < 6; i++) {
            x = x * 6364136223846793005u + 1442695040888963407u; /* Knuth's MMIX LCG */
            suffix[i] = letters[(x >> 33) % (sizeof(letters) - 1)];
        }
        suffix[6] = 0;
        snprintf(o->temp, cap, "%.*s.%.*s.%s", dir, o->path, (int)blen, base, suffix);
        o->fd = open(o->temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, mode);
        if (o->fd >= 0)
            return 0;
        if (errno != EEXIST)
            break;
    }
    int err = errno;
    free(o->temp);
    o->temp = NULL;
    return err;
}

/* fd 1 or 2 when path is the file it writes to (-o /dev/stdout, which /proc/self/fd/1 leads to
 * a file the shell opened, maybe for appending): that descriptor is written, as the shell set it
 * up; -1 otherwise. */
static int standard_fd_of(const struct stat *st)
{
    for (int fd = STDOUT_FILENO; fd <= STDERR_FILENO; fd++) {
        struct stat fs;
        if (fstat(fd, &fs) == 0 && fs.st_dev == st->st_dev && fs.st_ino == st->st_ino)
            return fd;
    }
    return -1;
}

/* The file, written where it is: what is not a regular file, or a file whose folder takes no new
 * file of ours. */
static int open_in_place(struct probe_outfile *o, const char *path, int flags)
{
    if ((o->fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | flags)) < 0)
        return errno;
    o->own_fd = true;
    return 0;
}

/* Whether a file of ours may be renamed over target (st) in its folder: not in a sticky folder
 * (/tmp) where the target and the folder are someone else's, which rename(2) refuses with EPERM
 * at the end, when the report is written; root may. */
static bool may_replace(const char *target, const struct stat *st)
{
    const char *slash = strrchr(target, '/');
    char *dir = slash ? strndup(target, slash == target ? 1 : (size_t)(slash - target)) : NULL;
    struct stat ds;
    bool known = stat(dir ? dir : ".", &ds) == 0;
    free(dir);
    uid_t me = geteuid();
    return !known || !(ds.st_mode & S_ISVTX) || me == 0 || st->st_uid == me || ds.st_uid == me;
}

int probe_outfile_open(struct probe_outfile *o, const char *path)
{
    probe_outfile_init(o);
    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (!exists && errno != ENOENT)
        return errno;
    if (exists && !S_ISREG(st.st_mode)) /* device, FIFO, socket, or a folder (EISDIR) */
        return open_in_place(o, path, 0);
    if (exists && (o->fd = standard_fd_of(&st)) >= 0)
        return 0;
    if (exists && faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) != 0)
        return errno; /* read-only: refused, as opening it for writing would be */
    if ((o->path = follow_links(path)) == NULL)
        return errno;
    int err = exists && !may_replace(o->path, &st)
                  ? EPERM
                  : temp_create(o, exists ? st.st_mode & 0777 : 0666);
    if (exists && (err == EACCES || err == EPERM)) {
        /* the folder takes no file of ours, FILE itself may be written: in place, as before */
        probe_outfile_abort(o);
        return open_in_place(o, path, O_TRUNC);
    }
    if (err) {
        probe_outfile_abort(o);
        return err;
    }
    o->own_fd = true;
    if (exists) {
        /* the new file is the old one's heir: its owner where allowed (root, or a group of
         * ours), then its mode (the umask may have narrowed it, fchown cleared set-id bits).
         * Both as far as allowed: created with the old mode less the umask, it never gives
         * more access than the old file did. */
        bool kept =
            fchown(o->fd, st.st_uid, st.st_gid) == 0 || fchown(o->fd, (uid_t)-1, st.st_gid) == 0;
        kept = fchmod(o->fd, st.st_mode & 07777) == 0 && kept;
        (void)kept; /* else ours, as with any program that replaces files */
    }
    return 0;
}

int probe_outfile_commit(struct probe_outfile *o, const char *aside)
{
    int err = 0;
    /* on disk before it replaces the previous report: a crash after the rename must not leave
     * an empty file where a whole one was */
    if (o->temp && o->fd >= 0 && fsync(o->fd) != 0 && errno != EINVAL)
        err = errno;
    if (o->own_fd && o->fd >= 0 && close(o->fd) != 0 && err == 0)
        err = errno;
    o->fd = -1;
    o->own_fd = false;
    char *to = o->path;
    if (err == 0 && o->temp && aside) {
        size_t n = strlen(o->path) + strlen(aside) + 1;
        if ((to = malloc(n)) == NULL)
            err = ENOMEM;
        else
            snprintf(to, n, "%s%s", o->path, aside);
    }
    if (err == 0 && o->temp && rename(o->temp, to) != 0)
        err = errno;
    if (to != o->path)
        free(to);
    if (err == 0) {
        free(o->temp);
        o->temp = NULL;
    }
    probe_outfile_abort(o);
    return err;
}

void probe_outfile_abort(struct probe_outfile *o)
{
    if (o->own_fd && o->fd >= 0)
        close(o->fd);
    if (o->temp)
        unlink(o->temp);
    free(o->temp);
    free(o->path);
    probe_outfile_init(o);
}
