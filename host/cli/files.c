/*
 * files.c - reading and writing whole files for `udfu`.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define MAX_FILE (256u * 1024u * 1024u) /* no DFU image is bigger */

int cli_read_file(struct cli *c, const char *path, uint8_t **data, size_t *len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    size_t cap = 65536, n = 0;
    uint8_t *buf;
    if (!f)
        return cli_error(c, EXIT_FILE, "cannot read %s: %s", path, strerror(errno));
    buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0 || n > MAX_FILE)
            break;
        if (n == cap) {
            uint8_t *p = realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
    }
    /* a read error is not the end of the file (a directory, an I/O error) */
    int failed = ferror(f), err = errno;
    if (f != stdin)
        fclose(f);
    if (buf && failed) {
        free(buf);
        return cli_error(c, EXIT_FILE, "cannot read %s: %s", path, strerror(err));
    }
    if (!buf)
        return cli_error(c, EXIT_FAIL, "out of memory reading %s", path);
    if (n > MAX_FILE) {
        free(buf);
        return cli_error(c, EXIT_FILE, "%s is larger than 256 MiB: not a firmware image", path);
    }
    *data = buf;
    *len = n;
    return 0;
}

/* Writes to an open stream; 0 or errno. */
static int put_all(FILE *f, const uint8_t *data, size_t len, int close)
{
    int ok = fwrite(data, 1, len, f) == len, err;
    err = errno;
    if ((close ? fclose(f) : fflush(f)) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    return ok ? 0 : (err ? err : EIO);
}

/* The mode a new file gets from fopen (0666 less the umask), or the mode of
 * the file it replaces. */
static mode_t new_mode(const struct stat *old, int exists)
{
    mode_t mask;
    if (exists)
        return old->st_mode & 07777;
    mask = umask(0);
    umask(mask);
    return 0666 & ~mask;
}

/* Writes in place; a failed write of a regular file removes what it left
 * (a truncated image must not pass for a valid one). */
static int write_in_place(struct cli *c, const char *path, const uint8_t *data, size_t len,
                          int regular)
{
    FILE *f = fopen(path, "wb");
    int err;
    if (!f)
        return cli_error(c, EXIT_FILE, "cannot write %s: %s", path, strerror(errno));
    err = put_all(f, data, len, 1);
    if (err && regular)
        unlink(path);
    return err ? cli_error(c, EXIT_FILE, "writing %s failed: %s", path, strerror(err)) : 0;
}

/* A regular file (or a new one) is written next to itself and renamed
 * over it once complete: a write that fails (disk full, a size limit)
 * leaves no truncated file that looks like a valid image, and an existing
 * file stays as it was. Where no file can be made next to it (a directory
 * we may not write), in place. */
static int write_replace(struct cli *c, const char *path, const uint8_t *data, size_t len,
                         const struct stat *old, int exists)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    FILE *f = NULL;
    int fd, err;
    if (!tmp)
        return cli_error(c, EXIT_FAIL, "out of memory");
    snprintf(tmp, n + 16, "%s.tmp-XXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0) {
        free(tmp);
        return write_in_place(c, path, data, len, 1);
    }
    if (fchmod(fd, new_mode(old, exists)) != 0 || !(f = fdopen(fd, "wb"))) {
        err = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        return cli_error(c, EXIT_FILE, "cannot write %s: %s", path, strerror(err));
    }
    err = put_all(f, data, len, 1);
    if (!err && rename(tmp, path) != 0)
        err = errno;
    if (err)
        unlink(tmp);
    free(tmp);
    if (err)
        return cli_error(c, EXIT_FILE, "writing %s failed: %s; %s", path, strerror(err),
                         exists ? "the file was left as it was" : "no file was made");
    return 0;
}

int cli_write_file(struct cli *c, const char *path, const uint8_t *data, size_t len)
{
    struct stat st;
    char *real = NULL;
    int exists, err;
    if (!strcmp(path, "-")) {
        err = put_all(stdout, data, len, 0);
        return err ? cli_error(c, EXIT_FILE, "writing to stdout failed: %s", strerror(err)) : 0;
    }
    exists = lstat(path, &st) == 0;
    /* A link to a regular file: replace the file it points to. */
    if (exists && S_ISLNK(st.st_mode) && (real = realpath(path, NULL)) != NULL &&
        stat(real, &st) == 0 && S_ISREG(st.st_mode)) {
        err = write_replace(c, real, data, len, &st, 1);
        free(real);
        return err;
    }
    free(real);
    if (!exists || S_ISREG(st.st_mode))
        return write_replace(c, path, data, len, &st, exists);
    /* A device, a pipe: write through it. */
    return write_in_place(c, path, data, len, 0);
}
