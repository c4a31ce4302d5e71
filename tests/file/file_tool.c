/*
 * file_tool.c - a thin command-line front to udfu_file for interop.sh,
 * so Debian's dfu-util tools can be pointed at what udfu writes and udfu
 * at what they write. Host-only test code.
 *
 *   suffix-add IN OUT VID PID DEV BCD     payload IN + udfu suffix -> OUT
 *   suffix-show FILE [PAYLOAD_OUT]        "vid pid dev bcd payload_len"
 *   dfuse-build OUT VID PID SPEC...       SPEC: t:ALT[:NAME] or ADDR:FILE
 *   dfuse-list FILE [DUMP_PREFIX]         targets/elements; dumps data
 *   ihex-pack IN.hex OUT.dfu VID PID      one target, contiguous runs merged
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udfu_file.h"

#define MAX_FILE (8u << 20)

static uint8_t *load(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = malloc(MAX_FILE);

    if (!f || !buf) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    *len = fread(buf, 1, MAX_FILE, f);
    fclose(f);
    return buf;
}

static void save(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

static uint16_t num16(const char *s)
{
    return (uint16_t)strtoul(s, NULL, 0);
}

static int fail(const char *what, int err)
{
    fprintf(stderr, "%s: udfu error %d\n", what, err);
    return 1;
}

static int suffix_add(char **av)
{
    size_t len;
    uint8_t *buf = load(av[0], &len);
    struct udfu_suffix sx = { num16(av[4]), num16(av[3]), num16(av[2]), num16(av[5]), 0 };
    int n = udfu_suffix_append(buf, len, MAX_FILE, &sx);

    if (n >= 0)
        save(av[1], buf, (size_t)n);
    free(buf);
    return n < 0 ? fail("suffix-add", n) : 0;
}

static int suffix_show(int ac, char **av)
{
    size_t len;
    uint8_t *buf = load(av[0], &len);
    struct udfu_suffix sx;
    int n = udfu_suffix_parse(buf, len, &sx);

    if (n >= 0) {
        printf("0x%04x 0x%04x 0x%04x 0x%04x %d\n", sx.vid, sx.pid, sx.bcd_device, sx.bcd_dfu, n);
        if (ac > 1)
            save(av[1], buf, (size_t)n);
    }
    free(buf);
    return n < 0 ? fail("suffix-show", n) : 0;
}

static int dfuse_build(int ac, char **av)
{
    static uint8_t out[MAX_FILE];
    struct udfu_dfuse_writer w;
    struct udfu_suffix sx = { 0, num16(av[2]), num16(av[1]), 0, 0 };
    int r = udfu_dfuse_begin(&w, out, sizeof(out));

    for (int i = 3; r == 0 && i < ac; i++) {
        char *colon = strchr(av[i], ':');
        if (!colon)
            return fail(av[i], UDFU_ERR_INVAL);
        if (strncmp(av[i], "t:", 2) == 0) {
            char *name = strchr(av[i] + 2, ':');
            r = udfu_dfuse_target(&w, (uint8_t)atoi(av[i] + 2), name ? name + 1 : NULL);
        } else {
            size_t len;
            uint8_t *data = load(colon + 1, &len);
            r = udfu_dfuse_element(&w, (uint32_t)strtoul(av[i], NULL, 0), data, (uint32_t)len);
            free(data);
        }
    }
    if (r == 0)
        r = udfu_dfuse_finish(&w, &sx);
    if (r < 0)
        return fail("dfuse-build", r);
    save(av[0], out, (size_t)r);
    return 0;
}

static int dfuse_list(int ac, char **av)
{
    size_t len;
    uint8_t *buf = load(av[0], &len);
    struct udfu_dfuse_reader r;
    struct udfu_dfuse_target t;
    struct udfu_dfuse_element e;
    int ret = udfu_dfuse_open(&r, buf, len), ti = 0;

    while (ret == 0 && (ret = udfu_dfuse_next_target(&r, &t)) > 0) {
        int ei = 0;
        printf("target %d alt %u named %u name \"%s\" elements %u\n", ti, t.alt, t.named, t.name,
               t.elements);
        while ((ret = udfu_dfuse_next_element(&r, &e)) > 0) {
            printf("  element %d address 0x%08x size %u\n", ei, e.address, e.size);
            if (ac > 1) {
                char path[4096];
                snprintf(path, sizeof(path), "%s.t%d.e%d.bin", av[1], ti, ei);
                save(path, e.data, e.size);
            }
            ei++;
        }
        ti++;
    }
    free(buf);
    return ret < 0 ? fail("dfuse-list", ret) : 0;
}

/* ihex-pack gathers runs into a sparse byte map, then writes one element
 * per contiguous range, in address order. */
struct span {
    uint32_t addr, len;
    uint8_t *data;
};
static struct span spans[4096];
static int nspans;

static int gather(void *ctx, uint32_t address, const uint8_t *data, uint32_t len)
{
    struct span *s = nspans ? &spans[nspans - 1] : NULL;

    (void)ctx;
    if (s && s->addr + s->len == address) {
        s->data = realloc(s->data, s->len + len);
        memcpy(s->data + s->len, data, len);
        s->len += len;
        return 0;
    }
    if (nspans == (int)(sizeof(spans) / sizeof(spans[0])))
        return UDFU_ERR_NOSPACE;
    s = &spans[nspans++];
    s->addr = address;
    s->len = len;
    s->data = malloc(len);
    memcpy(s->data, data, len);
    return 0;
}

static int by_addr(const void *a, const void *b)
{
    uint32_t x = ((const struct span *)a)->addr, y = ((const struct span *)b)->addr;
    return x < y ? -1 : x > y;
}

static int ihex_pack(char **av)
{
    static uint8_t out[MAX_FILE];
    struct udfu_dfuse_writer w;
    struct udfu_suffix sx = { 0, num16(av[3]), num16(av[2]), 0, 0 };
    size_t len;
    char *text = (char *)load(av[0], &len);
    int line = 0, k = 0, r = udfu_ihex_parse(text, len, gather, NULL, &line);

    free(text);
    if (r < 0) {
        fprintf(stderr, "%s:%d: ", av[0], line);
        return fail("ihex-pack", r);
    }
    qsort(spans, (size_t)nspans, sizeof(spans[0]), by_addr);
    for (int i = 1; i < nspans; i++) { /* merge runs that became adjacent */
        if (spans[k].addr + spans[k].len == spans[i].addr) {
            spans[k].data = realloc(spans[k].data, spans[k].len + spans[i].len);
            memcpy(spans[k].data + spans[k].len, spans[i].data, spans[i].len);
            spans[k].len += spans[i].len;
        } else if (spans[k].addr + spans[k].len > spans[i].addr) {
            return fail("ihex-pack: overlapping data", UDFU_ERR_FORMAT);
        } else {
            spans[++k] = spans[i];
            continue;
        }
        free(spans[i].data);
    }
    r = udfu_dfuse_begin(&w, out, sizeof(out));
    if (r == 0)
        r = udfu_dfuse_target(&w, 0, "ST...");
    for (int i = 0; r == 0 && nspans && i <= k; i++)
        r = udfu_dfuse_element(&w, spans[i].addr, spans[i].data, spans[i].len);
    if (r == 0)
        r = udfu_dfuse_finish(&w, &sx);
    for (int i = 0; nspans && i <= k; i++)
        free(spans[i].data);
    if (r < 0)
        return fail("ihex-pack", r);
    save(av[1], out, (size_t)r);
    return 0;
}

int main(int ac, char **av)
{
    if (ac >= 8 && strcmp(av[1], "suffix-add") == 0)
        return suffix_add(av + 2);
    if (ac >= 3 && strcmp(av[1], "suffix-show") == 0)
        return suffix_show(ac - 2, av + 2);
    if (ac >= 5 && strcmp(av[1], "dfuse-build") == 0)
        return dfuse_build(ac - 2, av + 2);
    if (ac >= 3 && strcmp(av[1], "dfuse-list") == 0)
        return dfuse_list(ac - 2, av + 2);
    if (ac >= 6 && strcmp(av[1], "ihex-pack") == 0)
        return ihex_pack(av + 2);
    fprintf(stderr, "usage: see the top of file_tool.c\n");
    return 2;
}
