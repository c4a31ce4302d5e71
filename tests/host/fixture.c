/*
 * fixture.c - loopback devices for the host library tests.
 */
#include "fixture.h"

#include <string.h>

#include "test.h"

/* Real-ish timings so that every busy state has a bwPollTimeout to honour. */
const struct udfu_region fx_f4_regions[4] = {
    {0x08000000u, 16u * 1024u, 1, UDFU_MEM_READ, 250, 0},
    {0x08004000u, 16u * 1024u, 3, UDFU_MEM_ALL, 250, 40},
    {0x08010000u, 64u * 1024u, 1, UDFU_MEM_ALL, 550, 40},
    {0x08020000u, 128u * 1024u, 7, UDFU_MEM_ALL, 1100, 40},
};
const struct udfu_target fx_f4_targets[1] = {
    {"Internal Flash", fx_f4_regions, 4, 1},
};

const struct udfu_region fx_plain_regions[1] = {
    {0x08000000u, 4096u, 64, UDFU_MEM_ALL, 30, 40},
};
const struct udfu_target fx_plain_targets[1] = {
    {"Firmware", fx_plain_regions, 1, 0},
};

static void fill(struct fx *f, const struct udfu_region *r, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        uint32_t a, size = r[i].sector_size * r[i].sector_count;
        uint8_t *m = udfu_nor_mem(&f->lb.nor, r[i].start);
        for (a = 0; a < size; a++)
            m[a] = FX_PATTERN(r[i].start + a);
    }
}

int fx_open(struct fx *f, int dfuse, uint8_t attributes, int runtime)
{
    struct udfu_loopback_cfg cfg;
    int err;
    memset(&cfg, 0, sizeof cfg);
    cfg.targets = dfuse ? fx_f4_targets : fx_plain_targets;
    cfg.target_count = 1;
    cfg.flash = dfuse ? fx_f4_regions : fx_plain_regions;
    cfg.flash_count = dfuse ? 4 : 1;
    cfg.vid = FX_VID;
    cfg.pid_dfu = FX_PID_DFU;
    cfg.pid_rt = FX_PID_RT;
    cfg.transfer_size = 2048;
    cfg.attributes = attributes;
    cfg.start_runtime = (uint8_t)runtime;
    cfg.manifest_ms = 120;
    cfg.serial = "FX0001";
    err = udfu_loopback_init(&f->lb, &cfg);
    CHECK_EQ(err, 0);
    if (err)
        return err;
    fill(f, cfg.flash, cfg.flash_count);
    f->dev = udfu_host_new();
    err = udfu_host_attach(f->dev, udfu_loopback_ops(), &f->lb, NULL);
    CHECK_EQ(err, 0);
    if (err)
        fprintf(stderr, "  attach: %s\n", udfu_host_message(f->dev));
    return err;
}

void fx_close(struct fx *f)
{
    udfu_host_free(f->dev);
    udfu_loopback_deinit(&f->lb);
}

int fx_flash_is(struct fx *f, uint32_t addr, const uint8_t *data, uint32_t len)
{
    const uint8_t *m = udfu_nor_mem(&f->lb.nor, addr);
    return m && memcmp(m, data, len) == 0;
}

int fx_flash_untouched(struct fx *f, uint32_t addr, uint32_t len)
{
    uint32_t i;
    for (i = 0; i < len; i++) {
        const uint8_t *m = udfu_nor_mem(&f->lb.nor, addr + i);
        if (!m || *m != FX_PATTERN(addr + i))
            return 0;
    }
    return 1;
}

int fx_flash_erased(struct fx *f, uint32_t addr, uint32_t len)
{
    uint32_t i;
    for (i = 0; i < len; i++) {
        const uint8_t *m = udfu_nor_mem(&f->lb.nor, addr + i);
        if (!m || *m != 0xFF)
            return 0;
    }
    return 1;
}

void fx_random(uint8_t *buf, size_t len, uint32_t seed)
{
    size_t i;
    uint32_t x = seed ? seed : 1;
    for (i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
}
