/*
 * cmd_info.c - `udfu info FILE`: what a DFU file holds, and whether it is
 * intact (suffix CRC, DfuSe sizes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "udfu_file.h"

static void suffix_text(const struct udfu_suffix *sx)
{
    printf("DFU suffix: VID 0x%04X, PID 0x%04X, bcdDevice 0x%04X, bcdDFU 0x%04X, CRC 0x%08X "
           "(ok)\n", sx->vid, sx->pid, sx->bcd_device, sx->bcd_dfu, (unsigned)sx->crc);
}

static void suffix_json(const struct udfu_suffix *sx)
{
    json_open("suffix", '{');
    json_int("vid", sx->vid);
    json_int("pid", sx->pid);
    json_int("bcd_device", sx->bcd_device);
    json_int("bcd_dfu", sx->bcd_dfu);
    json_int("crc", sx->crc);
    json_close('}');
}

/* Walks the DfuSe targets, printing as it goes (text) or building JSON.
 * A malformed file stops the walk: report where. */
static int walk_dfuse(struct cli *c, const uint8_t *data, size_t len, const char *path,
                      int print)
{
    struct udfu_dfuse_reader r;
    struct udfu_dfuse_target t;
    struct udfu_dfuse_element e;
    int rc = udfu_dfuse_open(&r, data, len), nt = 0, ne = 0;
    if (rc < 0)
        return cli_error(c, EXIT_FILE, "%s: bad DfuSe prefix (%s)", path, udfu_strerror(rc));
    if (!print) { /* a quiet pass first, so that nothing is printed for a bad file */
        while ((rc = udfu_dfuse_next_target(&r, &t)) > 0 && ++nt)
            for (ne = 0; (rc = udfu_dfuse_next_element(&r, &e)) > 0; ne++)
                ;
        if (rc < 0)
            return cli_error(c, EXIT_FILE, "%s is corrupt: target %d, element %d does not fit "
                             "the sizes the file declares (%s)", path, nt ? nt - 1 : 0, ne,
                             udfu_strerror(rc));
        return 0;
    }
    if (c->json)
        json_open("targets", '[');
    while ((rc = udfu_dfuse_next_target(&r, &t)) > 0) {
        if (c->json) {
            json_open(NULL, '{');
            json_int("alt", t.alt);
            json_str("name", t.named ? t.name : "");
            json_open("elements", '[');
        } else {
            printf("target %d: alt %u%s%s%s, %u element%s\n", nt, t.alt, t.named ? " \"" : "",
                   t.named ? t.name : "", t.named ? "\"" : "", (unsigned)t.elements,
                   t.elements == 1 ? "" : "s");
        }
        ne = 0;
        while ((rc = udfu_dfuse_next_element(&r, &e)) > 0) {
            if (c->json) {
                json_open(NULL, '{');
                json_int("address", e.address);
                json_int("size", e.size);
                json_close('}');
            } else {
                printf("  element %d: 0x%08X-0x%08X, %u bytes\n", ne, (unsigned)e.address,
                       (unsigned)(e.address + e.size - (e.size ? 1u : 0u)), (unsigned)e.size);
            }
            ne++;
        }
        if (rc < 0)
            break;
        if (c->json) {
            json_close(']');
            json_close('}');
        }
        nt++;
    }
    if (c->json)
        json_close(']');
    return 0;
}

static int crc_bad(struct cli *c, const char *path, const uint8_t *data, size_t len)
{
    uint32_t crc = udfu_crc32(UDFU_CRC32_INIT, data, len - 4);
    uint32_t stored = (uint32_t)data[len - 4] | (uint32_t)data[len - 3] << 8 |
                      (uint32_t)data[len - 2] << 16 | (uint32_t)data[len - 1] << 24;
    return cli_error(c, EXIT_FILE, "%s: the DFU suffix CRC is 0x%08X but the file's is 0x%08X: "
                     "the file is corrupt or was changed after packing", path, (unsigned)stored,
                     (unsigned)crc);
}

static int info(struct cli *c, const char *path, const uint8_t *data, size_t len)
{
    struct udfu_suffix sx;
    int n = udfu_suffix_parse(data, len, &sx), code = 0;
    int dfuse = n >= 0 && (sx.bcd_dfu == UDFU_BCD_DFUSE || (len >= 5 && !memcmp(data, "DfuSe", 5)));
    if (n == UDFU_ERR_CRC)
        return crc_bad(c, path, data, len);
    if (dfuse && (code = walk_dfuse(c, data, len, path, 0)) != 0)
        return code;
    if (c->json) {
        json_open(NULL, '{');
        json_bool("ok", 1);
        json_str("command", "info");
        json_str("file", path);
        json_int("size", (long long)len);
        json_str("format", n < 0 ? "raw" : dfuse ? "dfuse" : "dfu");
        if (n >= 0) {
            json_int("payload", n);
            suffix_json(&sx);
        }
    } else {
        printf("%s: %zu bytes, %s\n", path, len, n < 0 ? "raw image (no DFU suffix)"
                                                 : dfuse ? "DfuSe file" : "DFU file");
        if (n >= 0)
            suffix_text(&sx);
    }
    if (dfuse)
        code = walk_dfuse(c, data, len, path, 1);
    if (!code && c->json) {
        json_close('}');
        json_end();
    }
    return code;
}

int cmd_info(struct cli *c)
{
    uint8_t *data;
    size_t len;
    int code = cli_allow(c, 0);
    if (code)
        return code;
    if (c->nargs != 1)
        return cli_error(c, EXIT_USAGE, "`udfu info` takes one FILE");
    if ((code = cli_read_file(c, c->args[0], &data, &len)) != 0)
        return code;
    code = info(c, c->args[0], data, len);
    free(data);
    return code;
}
