/*
 * cmd_upload.c - `udfu upload FILE`: read firmware back from the device.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

#define PLAIN_DEFAULT_MAX (16u * 1024u * 1024u)

static int read_image(struct cli *c, struct udfu_host_dev *d, uint8_t **out, size_t *len)
{
    int dfuse = udfu_host_is_dfuse(d);
    size_t cap = dfuse ? c->length : (c->length ? c->length : PLAIN_DEFAULT_MAX);
    uint8_t *buf;
    long n;
    int code = cli_usable_alt(c, d);
    if (code)
        return code;
    if (dfuse && !((c->given & OPT_ADDRESS) && (c->given & OPT_LENGTH)))
        return cli_error(c, EXIT_USAGE, "alt %u is DfuSe memory: say what to read with "
                         "--address and --length (`udfu list` shows the layout)",
                         udfu_host_alt(d));
    if (!dfuse && (c->given & OPT_ADDRESS))
        return cli_error(c, EXIT_USAGE, "alt %u is plain DFU: uploads start at the beginning; "
                         "drop --address", udfu_host_alt(d));
    buf = malloc(cap);
    if (!buf)
        return cli_error(c, EXIT_FAIL, "out of memory for %zu bytes", cap);
    n = dfuse ? udfu_host_dfuse_read(d, c->address, buf, cap) : udfu_host_upload(d, buf, cap);
    if (dfuse && n == 0)
        n = (long)cap;
    if (n < 0) {
        free(buf);
        return cli_dev_error(c, d, (int)n);
    }
    *out = buf;
    *len = (size_t)n;
    return 0;
}

static void report(struct cli *c, struct udfu_host_dev *d, const char *path, size_t len)
{
    char size[32];
    if (c->json) {
        json_open(NULL, '{');
        json_bool("ok", 1);
        json_str("command", "upload");
        json_str("file", path);
        json_int("bytes", (long long)len);
        if (udfu_host_is_dfuse(d))
            json_int("address", c->address);
        json_int("alt", udfu_host_alt(d));
        json_close('}');
        json_end();
    } else if (!c->quiet) {
        cli_size(size, sizeof size, len);
        fprintf(path[0] == '-' && !path[1] ? stderr : stdout, "uploaded %s into %s\n", size,
                path);
    }
}

int cmd_upload(struct cli *c)
{
    struct udfu_host_dev *d;
    uint8_t *data = NULL;
    size_t len = 0;
    int code = cli_allow(c, OPT_SELECT | OPT_ALT | OPT_ADDRESS | OPT_LENGTH);
    if (code)
        return code;
    if (c->nargs != 1)
        return cli_error(c, EXIT_USAGE, "`udfu upload` takes one FILE (\"-\" for stdout); see "
                         "`udfu upload --help`");
    if (c->json && c->args[0][0] == '-' && !c->args[0][1])
        return cli_error(c, EXIT_USAGE, "--json writes its report on stdout: upload to a file");
    if ((code = cli_open(c, &d)) != 0)
        return code;
    code = cli_need_dfu(c, d);
    if (!code)
        code = cli_select_alt(c, d);
    if (!code)
        code = read_image(c, d, &data, &len);
    if (!code)
        code = cli_write_file(c, c->args[0], data, len);
    if (!code)
        report(c, d, c->args[0], len);
    free(data);
    udfu_host_free(d);
    return code;
}
