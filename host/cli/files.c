/*
 * files.c - reading and writing whole files for `udfu`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int cli_write_file(struct cli *c, const char *path, const uint8_t *data, size_t len)
{
    int to_stdout = !strcmp(path, "-");
    FILE *f = to_stdout ? stdout : fopen(path, "wb");
    int ok;
    if (!f)
        return cli_error(c, EXIT_FILE, "cannot write %s: %s", path, strerror(errno));
    ok = fwrite(data, 1, len, f) == len;
    ok = (to_stdout ? fflush(f) : fclose(f)) == 0 && ok;
    if (!ok)
        return cli_error(c, EXIT_FILE, "writing %s failed: %s", path, strerror(errno));
    return 0;
}
