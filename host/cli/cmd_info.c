/*
 * cmd_info.c - `udfu info FILE`: what a DFU file holds, and whether it is
 * intact (suffix CRC, DfuSe sizes, and the udfu boot header of an image
 * that starts with one: its fields, and its CRC against the payload).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "udfu_boot.h"
#include "udfu_file.h"
#include "udfu_util.h"

/* ---- the udfu boot header (udfu_boot.h) --------------------------------------- */

enum { BH_NONE, BH_DAMAGED, BH_OK };
enum { PAY_OK, PAY_BAD, PAY_MISSING };

/* What an image's boot header says and what the file holds of its payload. */
struct boot_view {
    int state;          /* BH_* */
    const char *why;    /* BH_DAMAGED: what is wrong */
    struct udfu_boot_hdr h;
    int check;          /* PAY_* */
    uint32_t offset;    /* payload offset in the image (PAY_OK, PAY_BAD) */
    uint32_t actual;    /* the payload's CRC (PAY_BAD) */
};

static const char *hdr_damage(const uint8_t *img, size_t len)
{
    if (len < UDFU_BOOT_HDR_LEN)
        return "truncated: the image is shorter than the 128-byte header";
    if (udfu_get16(img + 4) != UDFU_BOOT_HDR_LEN || udfu_get16(img + 6) != UDFU_BOOT_HDR_VER)
        return "unknown header length or version";
    if (udfu_boot_crc32(0, img, 28) != udfu_get32(img + 28))
        return "the header CRC does not match";
    return "signature flag without SHA-256";
}

/* Whether the payload's CRC matches at offset off of the image. */
static int payload_at(struct boot_view *v, const uint8_t *img, size_t len, uint64_t off)
{
    if (off < UDFU_BOOT_HDR_LEN || off + v->h.length > len)
        return 0;
    v->offset = (uint32_t)off;
    v->actual = udfu_boot_crc32(0, img + off, v->h.length);
    v->check = v->actual == v->h.crc ? PAY_OK : PAY_BAD;
    return v->check == PAY_OK;
}

/* The payload sits hdr_size bytes into the slot, and the header does not
 * store hdr_size. An image at a known address (a DfuSe element starts at
 * its slot) has it from the load address. Otherwise the payload ends the
 * image, as `udfu pack --boot-header` lays it out; failing that, the
 * usual power-of-two header sizes are tried. */
static void find_payload(struct boot_view *v, const uint8_t *img, size_t len, int has_addr,
                         uint32_t addr)
{
    uint64_t off, end;
    v->check = PAY_MISSING;
    if (has_addr && v->h.load_addr != UDFU_BOOT_ANY_ADDR && v->h.load_addr >= addr &&
        v->h.load_addr - addr >= UDFU_BOOT_HDR_LEN) {
        (void)payload_at(v, img, len, v->h.load_addr - addr);
        return;
    }
    if (len < (uint64_t)UDFU_BOOT_HDR_LEN + v->h.length)
        return;
    end = len - v->h.length;
    if (payload_at(v, img, len, end))
        return;
    for (off = UDFU_BOOT_HDR_LEN; off <= 65536u && off < end; off *= 2)
        if (payload_at(v, img, len, off))
            return;
    (void)payload_at(v, img, len, end); /* no match: report it where pack puts it */
}

/* Looks at the start of an image (addr: where it goes, if known). */
static void boot_look(struct boot_view *v, const uint8_t *img, size_t len, int has_addr,
                      uint32_t addr)
{
    memset(v, 0, sizeof *v);
    if (len < 4 || udfu_get32(img) != UDFU_BOOT_MAGIC)
        return;
    if (len < UDFU_BOOT_HDR_LEN || udfu_boot_hdr_parse(img, &v->h) < 0) {
        v->state = BH_DAMAGED;
        v->why = hdr_damage(img, len);
        return;
    }
    v->state = BH_OK;
    find_payload(v, img, len, has_addr, addr);
}

/* What makes the image unbootable, or NULL. */
static const char *boot_problem(const struct boot_view *v)
{
    if (v->state == BH_DAMAGED)
        return "its boot header is damaged";
    if (v->state == BH_OK && v->check == PAY_BAD)
        return "its boot header's CRC does not match the payload";
    return NULL;
}

static const char *flags_text(uint32_t flags)
{
    if (flags & UDFU_BOOT_IMG_SIG)
        return "SHA-256, signature";
    return flags & UDFU_BOOT_IMG_SHA256 ? "SHA-256, no signature" : "no SHA-256, no signature";
}

static void boot_text(const struct boot_view *v, const char *indent)
{
    const struct udfu_boot_hdr *h = &v->h;
    if (v->state == BH_DAMAGED) {
        printf("%sboot header: damaged (%s)\n", indent, v->why);
        return;
    }
    printf("%sboot header: image v%u, flags 0x%X (%s)\n", indent, (unsigned)h->version,
           (unsigned)h->flags, flags_text(h->flags));
    printf("%spayload: %u bytes", indent, (unsigned)h->length);
    if (v->check != PAY_MISSING)
        printf(" at offset %u", (unsigned)v->offset);
    if (h->load_addr == UDFU_BOOT_ANY_ADDR)
        printf(", position-independent");
    else
        printf(", linked at 0x%08X", (unsigned)h->load_addr);
    printf(", crc32 0x%08X ", (unsigned)h->crc);
    if (v->check == PAY_OK)
        printf("(matches)\n");
    else if (v->check == PAY_BAD)
        printf("(does NOT match: the payload's is 0x%08X)\n", (unsigned)v->actual);
    else
        printf("(not checked: the payload is not all in the file)\n");
}

static void boot_json(const struct boot_view *v)
{
    const struct udfu_boot_hdr *h = &v->h;
    static const char *const check[] = {"ok", "mismatch", "incomplete"};
    json_open("boot_header", '{');
    json_bool("valid", v->state == BH_OK);
    if (v->state == BH_DAMAGED) {
        json_str("damage", v->why);
    } else {
        json_int("image_version", h->version);
        json_int("flags", h->flags);
        json_bool("sha256", (h->flags & UDFU_BOOT_IMG_SHA256) != 0);
        json_bool("signature", (h->flags & UDFU_BOOT_IMG_SIG) != 0);
        json_int("payload_bytes", h->length);
        json_int("load_address", h->load_addr);
        json_int("payload_crc32", h->crc);
        json_str("payload_check", check[v->check]);
        if (v->check != PAY_MISSING)
            json_int("payload_offset", v->offset);
    }
    json_close('}');
}

static void boot_show(struct cli *c, const struct boot_view *v, const char *indent)
{
    if (v->state == BH_NONE)
        return;
    if (c->json)
        boot_json(v);
    else
        boot_text(v, indent);
}

/* ---- the file ------------------------------------------------------------------- */

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
                      int print, char *problem, size_t psize)
{
    struct udfu_dfuse_reader r;
    struct udfu_dfuse_target t;
    struct udfu_dfuse_element e;
    struct boot_view bv;
    int rc = udfu_dfuse_open(&r, data, len), nt = 0, ne = 0;
    if (rc < 0)
        return cli_error(c, EXIT_FILE, "%s: bad DfuSe prefix (%s)", path, udfu_strerror(rc));
    if (!print) { /* a quiet pass first, so that nothing is printed for a bad file */
        while ((rc = udfu_dfuse_next_target(&r, &t)) > 0 && ++nt)
            for (ne = 0; (rc = udfu_dfuse_next_element(&r, &e)) > 0; ne++) {
                const char *why;
                boot_look(&bv, e.data, e.size, 1, e.address);
                if (!problem[0] && (why = boot_problem(&bv)) != NULL)
                    snprintf(problem, psize, "target %d, element %d: %s", nt - 1, ne, why);
            }
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
            boot_look(&bv, e.data, e.size, 1, e.address);
            if (c->json) {
                json_open(NULL, '{');
                json_int("address", e.address);
                json_int("size", e.size);
                boot_show(c, &bv, "");
                json_close('}');
            } else {
                printf("  element %d: 0x%08X-0x%08X, %u bytes\n", ne, (unsigned)e.address,
                       (unsigned)(e.address + e.size - (e.size ? 1u : 0u)), (unsigned)e.size);
                boot_show(c, &bv, "    ");
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

/* The end of a report that found an unbootable image: exit 3, in the one
 * JSON object or as an error after the text. */
static int boot_fail(struct cli *c, const char *path, const char *problem)
{
    char msg[UDFU_HOST_MSG_LEN];
    snprintf(msg, sizeof msg, "%s: %s: a udfu bootloader refuses this image; re-create it "
             "with `udfu pack --boot-header`", path, problem);
    if (!c->json) {
        fflush(stdout); /* the report first, then why it failed, also in a pipe */
        return cli_error(c, EXIT_FILE, "%s", msg);
    }
    json_int("exit", EXIT_FILE);
    json_str("error", msg);
    return EXIT_FILE;
}

static int info(struct cli *c, const char *path, const uint8_t *data, size_t len)
{
    struct udfu_suffix sx;
    struct boot_view bv;
    char problem[160] = "";
    int n = udfu_suffix_parse(data, len, &sx), code = 0;
    int dfuse = n >= 0 && (sx.bcd_dfu == UDFU_BCD_DFUSE || (len >= 5 && !memcmp(data, "DfuSe", 5)));
    if (n == UDFU_ERR_CRC)
        return crc_bad(c, path, data, len);
    if (dfuse && (code = walk_dfuse(c, data, len, path, 0, problem, sizeof problem)) != 0)
        return code;
    /* A plain image is the payload before the suffix (or the whole file). */
    boot_look(&bv, data, dfuse ? 0 : n < 0 ? len : (size_t)n, 0, 0);
    if (!dfuse && boot_problem(&bv))
        snprintf(problem, sizeof problem, "%s", boot_problem(&bv));
    if (c->json) {
        json_open(NULL, '{');
        json_bool("ok", !problem[0]);
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
    boot_show(c, &bv, "");
    if (dfuse)
        code = walk_dfuse(c, data, len, path, 1, NULL, 0);
    if (!code && problem[0])
        code = boot_fail(c, path, problem);
    if (c->json) {
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
