/*
 * seedgen.c - writes the committed seed corpora of the fuzz harnesses:
 * short, valid sessions in each harness's input language (see the action
 * decoders in fuzz_dev.c, fuzz_usbd.c, fuzz_usbip.c) and valid files made
 * with udfu's own writers. The fuzzers start from these and mutate.
 *
 * Regenerate after changing an input language:
 *   cc -std=c99 -Iinclude/udfu tests/fuzz/seedgen.c src/crc32.c src/suffix.c \
 *      src/dfuse_file.c src/mem.c -o /tmp/seedgen && /tmp/seedgen tests/fuzz/corpus
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udfu_file.h"
#include "udfu_mem.h"
#include "udfu_util.h"

static const char *root;

static void put(const char *harness, const char *name, const void *data, size_t len)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s/%s", root, harness, name);
    f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

#define PUT(h, n, ...)                                                                     \
    do {                                                                                   \
        static const uint8_t s_[] = {__VA_ARGS__};                                         \
        put(h, n, s_, sizeof s_);                                                          \
    } while (0)

/* ---- control endpoint (fuzz_dfu; fuzz_usbd with a 2-byte prefix) ---------------
 * config: b0 (targets-1 | order<<2 | attr^3 <<3 | async<<7), b1 (transfer
 * size index | no verify/manifest/unprotect | buffers=2 <<6), b2 (manifest
 * ms | reset timeout). Actions: 4 cmd, 2 dnload, 5 upload, 7 poll (0x8C:
 * poll and complete), 9 abort, 10 clrstatus, 12 reset, 13 alt, 14 time. */

#define SET_ADDR_08001000 4, 0x00, 0x04
#define ERASE_08001000 4, 0x01, 0x04
#define MASS_ERASE 4, 0x02, 0x00
#define DN_BLOCK2 2, 0x01, 0x00, 0x00
#define DN_NEXT 2, 0x00, 0x00, 0x00
#define DN_ZERO 2, 0xC1, 0x00, 0x00, 0x00
#define UP_BLOCK2 5, 0x01
#define UP_NEXT 5, 0x00
#define POLL 7
#define POLL_DONE 0x8C
#define TIME_1S 14, 0x02, 0xE8, 0x03

static void dfu_sessions(const char *h, const uint8_t *pre, size_t np)
{
    static const uint8_t dfuse[] = {
        0x00, 0x00, 0x05, SET_ADDR_08001000, POLL, POLL, ERASE_08001000, POLL, POLL, POLL,
        DN_BLOCK2, POLL, POLL, POLL, 9, UP_BLOCK2, 9, SET_ADDR_08001000, POLL, POLL, DN_ZERO,
        POLL, POLL, POLL, POLL, TIME_1S, TIME_1S};
    static const uint8_t dfuse_async[] = {
        0x80, 0x40, 0x05, SET_ADDR_08001000, POLL_DONE, POLL_DONE, ERASE_08001000, POLL_DONE,
        POLL_DONE, POLL_DONE, DN_BLOCK2, POLL_DONE, POLL_DONE, POLL_DONE, DN_BLOCK2, POLL_DONE,
        POLL_DONE, 9, UP_BLOCK2, 9, DN_ZERO, POLL_DONE, POLL_DONE, POLL_DONE, TIME_1S};
    static const uint8_t plain_tolerant[] = {
        0x25, 0x01, 0x0A, DN_NEXT, POLL, POLL, DN_NEXT, POLL, POLL, DN_NEXT, POLL, POLL,
        2, 0xC0, 0x00, 0x00, 0x00, POLL, POLL, POLL, 12, TIME_1S, 13, 0x00, UP_NEXT, UP_NEXT,
        UP_NEXT, 9};
    static const uint8_t plain_async_pipelined[] = {
        0x85, 0x41, 0x4A, DN_NEXT, POLL_DONE, POLL_DONE, DN_NEXT, POLL_DONE, POLL_DONE,
        DN_NEXT, POLL_DONE, POLL_DONE, 2, 0xC0, 0x00, 0x00, 0x00, POLL_DONE, POLL_DONE,
        POLL_DONE, TIME_1S, 12, TIME_1S};
    static const uint8_t errors[] = {
        0x00, 0x00, 0x00, 16, 0x06, ERASE_08001000, POLL, POLL, 10, 16, 0x0A, DN_BLOCK2,
        POLL, POLL, 10, SET_ADDR_08001000, 2, 0x01, 0x04, 0x10, 0x00, 0x00, 10,
        0, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 10};
    static const uint8_t commands[] = {
        0x00, 0x02, 0x05, MASS_ERASE, POLL, POLL, POLL, POLL, POLL, POLL, POLL, POLL, POLL,
        POLL, 4, 0x03, 0x00, POLL, POLL, 9, 5, 0x02, 4, 0x04, 0x00, POLL, POLL};
    static const uint8_t interrupted[] = {
        0x80, 0x00, 0x05, SET_ADDR_08001000, POLL_DONE, POLL_DONE, 2, 0x01, 0x06, 0x00, 12,
        10, 2, 0x01, 0x07, 0x00, 12, 10, DN_BLOCK2, 12, 15, 10, DN_BLOCK2, 7, 9, 0x8F, 10};
    static const uint8_t targets[] = {
        0x03, 0x00, 0x05, 13, 0x01, UP_NEXT, UP_NEXT, 9, 13, 0x02, 4, 0x00, 0x62, POLL, POLL,
        9, UP_BLOCK2, 9, 13, 0x03, DN_NEXT, POLL, POLL, 13, 0x00, 4, 0x00, 0xE0, POLL};
    static const struct {
        const char *name;
        const uint8_t *s;
        size_t n;
    } seeds[] = {
        {"dfuse_session", dfuse, sizeof dfuse},
        {"dfuse_async_pipelined", dfuse_async, sizeof dfuse_async},
        {"plain_tolerant", plain_tolerant, sizeof plain_tolerant},
        {"plain_async_pipelined", plain_async_pipelined, sizeof plain_async_pipelined},
        {"errors", errors, sizeof errors},
        {"commands", commands, sizeof commands},
        {"interrupted", interrupted, sizeof interrupted},
        {"targets", targets, sizeof targets},
    };
    size_t i;
    for (i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        uint8_t buf[256];
        memcpy(buf, pre, np);
        memcpy(buf + np, seeds[i].s, seeds[i].n);
        put(h, seeds[i].name, buf, np + seeds[i].n);
    }
}

static void usbd_seeds(void)
{
    static const uint8_t dfu_mode[2] = {0x00, 0x00};
    dfu_sessions("fuzz_usbd", dfu_mode, 2);
    /* descriptors: device, configuration, strings 0, 1, 4, BOS, functional,
     * MS OS 2.0 set, GET_STATUS/CONFIGURATION/INTERFACE, SET_INTERFACE 1;
     * then with 8-byte EP0, no MS OS 2.0, no manufacturer string */
    PUT("fuzz_usbd", "descriptors", 0x00, 0x00, 0x01, 0x00, 0x05,
        18, 0x06, 0x00, 0x00, 0x00, 18, 0x06, 0x10, 0x00, 0x00, 18, 0x06, 0x20, 0x00, 0x00,
        18, 0x16, 0x20, 0x00, 0x00, 18, 0x46, 0x20, 0x00, 0x00, 18, 0x06, 0x50, 0x00, 0x00,
        18, 0x06, 0x60, 0x00, 0x00, 18, 0x0C, 0x00, 0x00, 0x00, 18, 0x00, 0x00, 0x00, 0x00,
        18, 0x08, 0x00, 0x00, 0x00, 18, 0x0A, 0x00, 0x00, 0x00, 18, 0x1B, 0x00, 0x00, 0x00,
        18, 0x0A, 0x00, 0x00, 0x00);
    PUT("fuzz_usbd", "descriptors_small_ep0", 0x00, 0xC5, 0x01, 0x00, 0x05,
        18, 0x06, 0x00, 0x00, 0x00, 18, 0x06, 0x10, 0x00, 0x00, 18, 0x06, 0x50, 0x00, 0x00,
        18, 0x16, 0x20, 0x00, 0x00, 18, 0x46, 0x20, 0x00, 0x00, 18, 0x56, 0x20, 0x00, 0x00,
        18, 0x06, 0x13, 0x00, 0x00);
    /* run-time mode: enumerate, GETSTATUS, DETACH 1000, status, reset */
    PUT("fuzz_usbd", "runtime_detach", 0x03, 0x08, 0x00, 0x00, 0x00,
        2, 0x03, 0x00, 0x00, 0x06, 2, 0x05, 0x00, 0x00, 0x01, 2, 0x00, 0xE8, 0x03,
        4, 0x10, 0x85, 2, 0x03, 0x00, 0x00, 0x06, 8, 0x06, 0x10, 0x00, 0x00);
    PUT("fuzz_usbd", "runtime_will_detach", 0x03, 0x0F, 0x00, 0x00, 0x00,
        2, 0x00, 0xE8, 0x03, 4, 0x05, 0x86, 0x10, 0x27, 7, 2, 0x03, 0x00, 0x00, 0x06);
}

/* ---- files ------------------------------------------------------------------------ */

static void file_seeds(void)
{
    static uint8_t buf[4096], out[4096 + 1];
    static const struct udfu_suffix sx = {0x0200, 0xDF11, 0x0483, UDFU_BCD_DFU, 0};
    struct udfu_dfuse_writer w;
    const char *hex = ":020000040800F2\n"
                      ":10000000000102030405060708090A0B0C0D0E0F78\n"
                      ":10FFF80000112233445566778899AABBCCDDEEFF01\n"
                      ":020000021000EC\n"
                      ":0400000300003800C1\n"
                      ":00000001FF\n";
    size_t i;
    int n;
    /* plain DFU file: payload + suffix (selector 0: parse as is) */
    out[0] = 0x00;
    for (i = 0; i < 100; i++)
        out[1 + i] = (uint8_t)(i * 7);
    n = udfu_suffix_append(out + 1, 100, sizeof out - 1, &sx);
    put("fuzz_file", "suffix", out, (size_t)n + 1);
    /* DfuSe file with two targets (selector 2: suffix repaired, read) */
    udfu_dfuse_begin(&w, buf, sizeof buf);
    udfu_dfuse_target(&w, 0, "Internal Flash");
    udfu_dfuse_element(&w, 0x08000000, out + 1, 64);
    udfu_dfuse_element(&w, 0x08004000, out + 1, 16);
    udfu_dfuse_target(&w, 1, NULL);
    udfu_dfuse_element(&w, 0x1FFFC000, out + 1, 8);
    n = udfu_dfuse_finish(&w, NULL);
    out[0] = 0x02;
    memcpy(out + 1, buf, (size_t)n);
    put("fuzz_file", "dfuse", out, (size_t)n + 1);
    /* the same body without prefix and suffix (selector 3: wrapped) */
    out[0] = 0x03;
    out[1] = 2; /* bTargets */
    memcpy(out + 2, buf + UDFU_DFUSE_PREFIX_LEN, (size_t)n - UDFU_DFUSE_PREFIX_LEN - UDFU_SUFFIX_LEN);
    put("fuzz_file", "dfuse_body", out, (size_t)n - UDFU_DFUSE_PREFIX_LEN - UDFU_SUFFIX_LEN + 2);
    /* Intel HEX as is (4), with checksums repaired (5), and a callback
     * that stops at the second run (6) */
    for (i = 4; i <= 6; i++) {
        char name[16];
        out[0] = (uint8_t)(i == 6 ? 0x16 : i);
        memcpy(out + 1, hex, strlen(hex));
        snprintf(name, sizeof name, "ihex%zu", i);
        put("fuzz_file", name, out, strlen(hex) + 1);
    }
}

static void layout_seeds(void)
{
    static const char *const layouts[] = {
        "@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg",
        "@Option Bytes  /0x1FFFC000/01*016 e",
        "@SPI Flash: M25P16/0x00000000/32*64Kg",
        "@Internal Flash  /0x08000000/04*016Ka,01*064Kg/0x1FFF7800/01*512 a/0xFFFFF000/04*001Kg",
    };
    uint8_t buf[256];
    size_t i, n;
    for (i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
        char name[16];
        buf[0] = 0x00;       /* parse */
        buf[1] = 0x03;       /* 256-byte name buffer: the round trip runs */
        buf[2] = 23;         /* up to 24 regions */
        n = strlen(layouts[i]);
        memcpy(buf + 3, layouts[i], n);
        snprintf(name, sizeof name, "layout%zu", i);
        put("fuzz_layout", name, buf, n + 3);
    }
    /* maps (start, region count, per region: size index | attr, count),
     * then the layout buffer size and checks (address pick, length, need) */
    PUT("fuzz_layout", "map", 0x01, 0x00, 0x00, 0x00, 0x08, 0x02, 0x03, 0x03, 0x35, 0x00,
        0x35, 0x06, 0x01, 0x00, 0x01, 0x04, 0x01, 0x0B, 0x08, 0x04, 0x06, 0x0A, 0x07,
        0x04, 0x00, 0x02, 0x01, 0x10, 0x00, 0x00, 0x01, 0x03);
    PUT("fuzz_layout", "map_top", 0x01, 0x00, 0xF0, 0xFF, 0xFF, 0x00, 0x33, 0x03, 0x01,
        0x01, 0x01, 0x04, 0x01, 0x00, 0x02, 0x06, 0x00, 0x00, 0x00, 0x00, 0x07);
}

static void usbip_seeds(void)
{
    /* OP_REQ_DEVLIST on connection 0 */
    PUT("fuzz_usbip", "devlist", 0x01, 0x02, 0x00);
    /* import, GET_DESCRIPTOR-like IN submit completed at once, OUT submit
     * completed later, unlink of a queued one, device disconnect */
    PUT("fuzz_usbip", "session", 0x01, 0x03, 0x00,
        0x03, 0x07, 0x20, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00,
        0x03, 0x06, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
        0x03, 0x07, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00,
        0x05, 0x01, 0x09, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x06, 0x00, 0x06, 0x02);
    /* a second client while the first has the device; fragments */
    PUT("fuzz_usbip", "busy", 0x01, 0x03, 0x00, 0x00, 0x01,
        0x11, 0x03, 0x02, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x03, 0x07, 0x20, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x03,
        0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00);
}

int main(int argc, char **argv)
{
    static const uint8_t none[1] = {0};
    if (argc != 2) {
        fprintf(stderr, "usage: %s tests/fuzz/corpus\n", argv[0]);
        return 2;
    }
    root = argv[1];
    dfu_sessions("fuzz_dfu", none, 0);
    usbd_seeds();
    file_seeds();
    layout_seeds();
    usbip_seeds();
    return 0;
}
