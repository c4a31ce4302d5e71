/*
 * cpucost.c - a 1 MiB download through usbd + the DFU class core with zero
 * flash time, for counting instructions under valgrind --tool=callgrind
 * (bench/cpucost/cpucost.sh reads the counts of the udfu entry points).
 *
 * The host side is dfu-util's request sequence (plain DFU 1.1 or DfuSe),
 * without time: every GETSTATUS is followed by one turn of the main loop.
 * The flash callbacks complete at once and only count, so what is measured
 * is the stack itself: request decoding, state machine, bookkeeping.
 *
 *   cpucost dfu|dfuse [buffers] [wTransferSize]
 *
 * Exit status 1 if the download did not go through as dfu-util needs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simdev.h"
#include "udfu_dfu.h"
#include "udfu_util.h"

#define BASE 0x08000000u
#define IMAGE (1024u * 1024u)

static struct udfu_dfu dfu;
static struct simdev sd;
static uint32_t now_ms;
static uint32_t erased, programmed;

static int cb_read(void *ctx, uint8_t alt, uint32_t addr, uint8_t *buf, uint32_t len)
{
    (void)ctx, (void)alt, (void)addr;
    memset(buf, 0xFF, len);
    return 0;
}

static int cb_erase(void *ctx, uint8_t alt, uint32_t addr, uint32_t size)
{
    (void)ctx, (void)alt, (void)addr;
    erased += size;
    return 0;
}

static int cb_prog(void *ctx, uint8_t alt, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    (void)ctx, (void)alt, (void)addr, (void)buf;
    programmed += len;
    return 0;
}

static void cb_leave(void *ctx, uint32_t addr)
{
    (void)ctx, (void)addr;
}

/* STM32F4-like map: 4 x 16K, 64K, 7 x 128K (1 MiB), zero flash time. */
static const struct udfu_region regions[] = {
    {BASE, 16384u, 4, UDFU_MEM_ALL, 0, 0},
    {BASE + 0x10000u, 65536u, 1, UDFU_MEM_ALL, 0, 0},
    {BASE + 0x20000u, 131072u, 7, UDFU_MEM_ALL, 0, 0},
};

static int request(uint8_t bm, uint8_t req, uint16_t value, uint16_t len, uint8_t *buf)
{
    const struct udfu_setup s = {bm, req, value, 0, len};
    uint8_t *data = NULL;
    int n = simdev_setup(&sd, &s, &data);
    if (n < 0)
        return -1;
    if (bm & 0x80u)
        memcpy(buf, data, (size_t)n);
    else if (len) {
        memcpy(data, buf, len); /* what the controller driver does */
        if (simdev_data(&sd, len))
            return -1;
    }
    simdev_status_done(&sd);
    simdev_task(&sd, now_ms);
    return n;
}

/* GETSTATUS until dfuDNLOAD-IDLE, one main-loop turn and one (fake)
 * millisecond per poll. Returns the final state, or -1. */
static int wait_idle(void)
{
    uint8_t st[UDFU_STATUS_LEN];
    int i;
    for (i = 0; i < 1000; i++) {
        if (request(0xA1, UDFU_REQ_GETSTATUS, 0, UDFU_STATUS_LEN, st) != UDFU_STATUS_LEN)
            return -1;
        if (st[0] != UDFU_STATUS_OK)
            return -1;
        if (st[4] == UDFU_DNLOAD_IDLE)
            return st[4];
        now_ms += (uint32_t)st[1] | ((uint32_t)st[2] << 8) | ((uint32_t)st[3] << 16);
        now_ms++;
        simdev_task(&sd, now_ms);
    }
    return -1;
}

static int download(int dfuse, uint16_t xfer, uint8_t *img)
{
    uint32_t off;
    uint16_t block = 0;
    uint8_t cmd[5];
    unsigned r, k;
    /* dfu-util's erase pass: one ERASE_PAGE command per sector */
    for (r = 0; dfuse && r < sizeof regions / sizeof regions[0]; r++)
        for (k = 0; k < regions[r].sector_count; k++) {
            cmd[0] = UDFU_DFUSE_CMD_ERASE;
            udfu_put32(cmd + 1, regions[r].start + k * regions[r].sector_size);
            if (request(0x21, UDFU_REQ_DNLOAD, 0, 5, cmd) < 0 || wait_idle() < 0)
                return -1;
        }
    for (off = 0; off < IMAGE; off += xfer) {
        if (dfuse) {
            cmd[0] = UDFU_DFUSE_CMD_SET_ADDRESS;
            udfu_put32(cmd + 1, BASE + off);
            if (request(0x21, UDFU_REQ_DNLOAD, 0, 5, cmd) < 0 || wait_idle() < 0)
                return -1;
            block = 2;
        }
        if (request(0x21, UDFU_REQ_DNLOAD, block, xfer, img + off) < 0 || wait_idle() < 0)
            return -1;
        if (!dfuse)
            block++;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct udfu_target target = {"Flash", regions, 3, 0};
    static struct udfu_dfu_cfg cfg;
    int dfuse = argc > 1 && !strcmp(argv[1], "dfuse");
    uint8_t buffers = (uint8_t)(argc > 2 ? atoi(argv[2]) : 1);
    uint16_t xfer = (uint16_t)(argc > 3 ? atoi(argv[3]) : 2048);
    uint8_t *img = malloc(IMAGE), *buf = malloc((size_t)buffers * xfer);
    uint32_t i;
    if (!img || !buf || !buffers || xfer < 64 || xfer > 4096 || IMAGE % xfer)
        return 2;
    for (i = 0; i < IMAGE; i++)
        img[i] = (uint8_t)(i * 7u);
    target.dfuse = (uint8_t)dfuse;
    cfg.targets = &target;
    cfg.target_count = 1;
    cfg.attributes = UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_MANIFEST_TOLERANT;
    cfg.transfer_size = xfer;
    cfg.buffer = buf;
    cfg.buffers = buffers;
    cfg.read = cb_read;
    cfg.erase = cb_erase;
    cfg.prog = cb_prog;
    cfg.leave = cb_leave;
    if (udfu_dfu_init(&dfu, &cfg) || simdev_init(&sd, &dfu))
        return 2;
    if (download(dfuse, xfer, img)) {
        fprintf(stderr, "cpucost: download failed\n");
        return 1;
    }
    /* drain: the last block may still be queued */
    for (i = 0; i < 100 && udfu_dfu_busy(&dfu); i++)
        simdev_task(&sd, ++now_ms);
    printf("cpucost: %s, %u buffer(s), wTransferSize %u: %u bytes programmed, %u erased\n",
           dfuse ? "dfuse" : "dfu", buffers, xfer, programmed, erased);
    free(img);
    free(buf);
    return programmed == IMAGE ? 0 : 1;
}
