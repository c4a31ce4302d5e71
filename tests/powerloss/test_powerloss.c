/*
 * Power-loss sweeps over the boot layer, in the style of MCUboot's
 * simulator: run a complete update on the simulated NOR flash and count
 * its N flash operations; then for every i in 1..N start again from the
 * same state, cut power at operation i (the operation is torn: a prefix of
 * a program, a partly erased or garbage sector), reboot the bootloader
 * logic and let the device carry on (retrying the update when it is not
 * there yet). Checked at every reboot: the bootloader region is intact,
 * the device boots the exact old or new image (or the factory one) or
 * stays in DFU mode where the layout allows it, never anything else, and
 * the retried update completes. Then random multi-cut runs and injected
 * write failures. Each layout, plain DFU and DfuSe host order, and several
 * journal fill levels (so compaction lands inside the sweep).
 *
 * Prints the interruption points exercised and the bricks (must be 0).
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "bootdev.h"
#include "udfu_util.h"
#include "udfu_cortexm.h"

#define SHAPES 3 /* torn shapes tried per interruption point */

struct scenario {
    enum layout layout;
    enum style style;
    uint32_t journal_size;
    int prefill;  /* updates done before, to vary the journal's fill */
    int confirm;  /* the new application confirms itself */
};

struct stats {
    unsigned points;  /* interruptions (cuts or failures) exercised */
    unsigned reboots; /* boots checked */
    unsigned bricks;
};

static struct dev d;
static uint8_t *snapshot;
static struct stats total;

static uint32_t mix(uint32_t a, uint32_t b)
{
    uint32_t x = a * 0x9E3779B1u ^ (b + 0x7F4A7C15u);
    x ^= x >> 15;
    x *= 0x2C1B3C6Du;
    x ^= x >> 12;
    return x ? x : 1;
}

static void save(void)
{
    free(snapshot);
    snapshot = malloc(d.nor.size);
    memcpy(snapshot, d.nor.mem, d.nor.size);
}

/* Back to the saved flash contents with power on and no fault pending. */
static void restore(void)
{
    memcpy(d.nor.mem, snapshot, d.nor.size);
    udfu_nor_power_on(&d.nor);
    d.nor.fail_at = 0;
    d.nor.fail_partial = 0;
    udfu_boot_init(&d.boot, &d.cfg);
}

/* What a boot may lead to, per layout, while an update is under way. */
static int allowed(const struct scenario *sc, enum boot_kind k)
{
    switch (sc->layout) {
    case LAYOUT_SINGLE:
        return k == BOOT_OLD || k == BOOT_NEW || k == BOOT_DFU;
    case LAYOUT_AB:
        return k == BOOT_OLD || k == BOOT_NEW;
    default:
        return k == BOOT_FACTORY || k == BOOT_OLD || k == BOOT_NEW;
    }
}

/* What the Cortex-M jump would check before entering the chosen image. */
static int jumpable(int slot)
{
    if (slot < 0)
        return 1;
    uint32_t app = udfu_boot_app_addr(&d.boot, (uint8_t)slot);
    const uint8_t *v = udfu_nor_mem(&d.nor, app);
    struct udfu_port_jump_cfg j = {0x20000000u, 0x20010000u, app,
                                   d.slots[slot].addr + d.slots[slot].size, DEV_HDR,
                                   NULL, NULL};
    return udfu_port_check_vectors(&j, app, udfu_get32(v), udfu_get32(v + 4)) == 0;
}

static void brick(struct stats *st, const struct scenario *sc, const char *why, unsigned at)
{
    st->bricks++;
    fprintf(stderr, "  BRICK %s/%s js=%u prefill=%d: %s (point %u)\n",
            dev_layout_name(sc->layout), sc->style == STYLE_PLAIN ? "plain" : "dfuse",
            (unsigned)sc->journal_size, sc->prefill, why, at);
}

/* One reset. Returns the boot kind, or -1 if power went off during it
 * (the core never got to jump, nothing to check). */
static int boot_once(struct stats *st, const struct scenario *sc, unsigned at, int *slot)
{
    *slot = dev_reboot(&d);
    if (d.nor.off)
        return -1;
    enum boot_kind k = dev_classify(&d, *slot);
    st->reboots++;
    if (!dev_bootloader_intact(&d))
        brick(st, sc, "bootloader region changed", at);
    if (!allowed(sc, k))
        brick(st, sc, dev_kind_name(k), at);
    if (!jumpable(*slot))
        brick(st, sc, "vector table not sane", at);
    return (int)k;
}

/* The device carries on after a cut: boots; if the new image is not the
 * confirmed one yet, the application confirms itself or the user runs the
 * update again. Returns 0 once the new image boots for good, -1 if power
 * went off again, 1 if it does not get there. */
static int converge(struct stats *st, const struct scenario *sc, unsigned at, uint32_t seed)
{
    for (int round = 0; round < 8; round++) {
        int slot;
        int k = boot_once(st, sc, at, &slot);
        if (k < 0)
            return -1;
        if (k == BOOT_NEW) {
            const struct udfu_boot_slot_info *in = udfu_boot_slot_info(&d.boot, (uint8_t)slot);
            if (in->state == UDFU_BOOT_CONFIRMED)
                return 0;
            udfu_boot_confirm(&d.boot, udfu_boot_app_addr(&d.boot, (uint8_t)slot));
            if (d.nor.off)
                return -1;
            continue;
        }
        /* in DFU mode (requested or because nothing is bootable) */
        udfu_boot_init(&d.boot, &d.cfg);
        int err = dev_download(&d, d.new_version, sc->style, seed + (uint32_t)round);
        if (d.nor.off)
            return -1;
        if (err && !d.nor.fail_at) {
            brick(st, sc, "retried update failed", at);
            return 1;
        }
    }
    brick(st, sc, "update never completes", at);
    return 1;
}

/* The update from the saved state to the new image, confirmed. */
static int sequence(const struct scenario *sc, uint32_t seed)
{
    int err = dev_download(&d, d.new_version, sc->style, seed);
    if (d.nor.off || err)
        return -1;
    for (int i = 0; i < 2; i++) {
        int slot = dev_reboot(&d);
        if (d.nor.off)
            return -1;
        if (slot >= 0 && sc->confirm &&
            udfu_boot_slot_info(&d.boot, (uint8_t)slot)->state == UDFU_BOOT_PENDING)
            udfu_boot_confirm(&d.boot, udfu_boot_app_addr(&d.boot, (uint8_t)slot));
        if (d.nor.off)
            return -1;
    }
    return 0;
}

static void setup(const struct scenario *sc)
{
    dev_open(&d, sc->layout, sc->journal_size);
    udfu_boot_init(&d.boot, &d.cfg);
    int installs = sc->prefill + (sc->layout == LAYOUT_FACTORY ? 0 : 1);
    for (int i = 0; i < installs; i++) {
        dev_download(&d, d.old_version, STYLE_PLAIN, 0);
        dev_boot_and_run(&d, 1);
    }
    udfu_boot_init(&d.boot, &d.cfg);
    save();
}

/* Every operation of the update, cut, with SHAPES torn shapes each. */
static void sweep(const struct scenario *sc, struct stats *st)
{
    setup(sc);
    uint32_t ops0 = d.nor.ops;
    CHECK_EQ(sequence(sc, 1), 0);
    uint32_t n = d.nor.ops - ops0;
    CHECK(n > 10);
    CHECK_EQ(dev_classify(&d, dev_reboot(&d)), BOOT_NEW);
    for (uint32_t i = 1; i <= n; i++) {
        for (uint32_t shape = 0; shape < SHAPES; shape++) {
            restore();
            d.nor.seed = mix(i, shape);
            d.nor.cut_at = i;
            sequence(sc, 1);
            if (!d.nor.off) {
                brick(st, sc, "cut point not reached", i);
                continue;
            }
            st->points++;
            udfu_nor_power_on(&d.nor);
            if (converge(st, sc, i, mix(shape, i)) != 0)
                brick(st, sc, "no convergence", i);
            CHECK(dev_bootloader_intact(&d));
        }
    }
    dev_close(&d);
}

/* Several cuts in a row, at random points of whatever the device is doing
 * (download, boot, confirmation, journal compaction). */
static void multicut(const struct scenario *sc, struct stats *st, uint32_t runs)
{
    setup(sc);
    for (uint32_t r = 0; r < runs; r++) {
        uint32_t rng = mix(r, 77);
        restore();
        unsigned cuts = 1 + mix(rng, 1) % 5;
        for (unsigned c = 0; c < cuts; c++) {
            d.nor.cut_at = 1 + mix(rng, c + 2) % 60;
            d.nor.seed = mix(rng, c + 100);
            int res = converge(st, sc, r, rng + c);
            if (res == 0)
                break; /* finished before the cut came */
            if (res > 0)
                break;
            st->points++;
            udfu_nor_power_on(&d.nor);
        }
        d.nor.cut_at = 0;
        if (converge(st, sc, r, rng) != 0)
            brick(st, sc, "multi-cut run did not complete", r);
    }
    dev_close(&d);
}

/* Operation i fails (with or without partial effect); the host retries in
 * the same session, or the device is reset and the update retried. */
static void failures(const struct scenario *sc, struct stats *st)
{
    setup(sc);
    restore();
    uint32_t ops0 = d.nor.ops;
    sequence(sc, 1);
    uint32_t n = d.nor.ops - ops0;
    for (uint32_t i = 1; i <= n; i++) {
        restore();
        d.nor.fail_at = i;
        d.nor.fail_partial = (uint8_t)(i & 1);
        d.nor.seed = mix(i, 5);
        uint32_t failed0 = d.nor.failed;
        sequence(sc, 1);
        /* a point only if operation i was reached and did fail */
        CHECK_EQ(d.nor.failed, failed0 + 1);
        st->points += d.nor.failed == failed0 + 1;
        d.nor.fail_at = 0;
        if (i % 3 == 0) /* same session: dfu-util after CLRSTATUS */
            dev_download(&d, d.new_version, sc->style, 2);
        if (converge(st, sc, i, 3) != 0)
            brick(st, sc, "no convergence after a write failure", i);
    }
    dev_close(&d);
}

/* A/B: the new image never confirms itself. Whatever the cut, the device
 * ends up back on the old image, and never in DFU mode. */
static void sweep_rollback(const struct scenario *sc, struct stats *st)
{
    setup(sc);
    uint32_t ops0 = d.nor.ops;
    dev_download(&d, d.new_version, sc->style, 1);
    for (int b = 0; b < DEV_TRIALS + 1; b++)
        dev_boot_and_run(&d, 0);
    uint32_t n = d.nor.ops - ops0;
    CHECK_EQ(dev_classify(&d, dev_reboot(&d)), BOOT_OLD);
    for (uint32_t i = 1; i <= n; i++) {
        for (uint32_t shape = 0; shape < SHAPES; shape++) {
            restore();
            d.nor.seed = mix(i, shape + 9);
            d.nor.cut_at = i;
            if (dev_download(&d, d.new_version, sc->style, 1) == 0) {
                for (int b = 0; b < DEV_TRIALS + 1 && !d.nor.off; b++)
                    dev_boot_and_run(&d, 0);
            }
            if (!d.nor.off) {
                brick(st, sc, "cut point not reached", i);
                continue;
            }
            st->points++;
            udfu_nor_power_on(&d.nor);
            int slot, k = 0;
            for (int b = 0; b < DEV_TRIALS + 2; b++)
                k = boot_once(st, sc, i, &slot);
            if (k != BOOT_OLD || boot_once(st, sc, i, &slot) != BOOT_OLD)
                brick(st, sc, "did not roll back", i);
        }
    }
    dev_close(&d);
}

static void report(const char *what, const struct scenario *sc, const struct stats *st)
{
    printf("powerloss %-9s %-7s %-5s journal=%4u prefill=%d: %5u interruption points, "
           "%5u reboots checked, %u bricks\n",
           what, dev_layout_name(sc->layout), sc->style == STYLE_PLAIN ? "plain" : "dfuse",
           (unsigned)sc->journal_size, sc->prefill, st->points, st->reboots, st->bricks);
    total.points += st->points;
    total.reboots += st->reboots;
    total.bricks += st->bricks;
}

static void all_for(enum layout layout)
{
    /* a 128-byte journal holds 7 records: compaction falls inside the
     * sweep at a different place for each prefill */
    for (int style = STYLE_PLAIN; style <= STYLE_DFUSE; style++) {
        for (int prefill = 0; prefill < 4; prefill++) {
            struct scenario sc = {layout, (enum style)style, 128, prefill, 1};
            struct stats st = {0, 0, 0};
            sweep(&sc, &st);
            report("sweep", &sc, &st);
            CHECK_EQ(st.bricks, 0);
        }
        struct scenario sc = {layout, (enum style)style, 512, 1, 1};
        struct stats st = {0, 0, 0};
        sweep(&sc, &st);
        report("sweep", &sc, &st);
        CHECK_EQ(st.bricks, 0);
    }
    struct scenario sc = {layout, STYLE_DFUSE, 128, 2, 1};
    struct stats st = {0, 0, 0};
    multicut(&sc, &st, 300);
    report("multicut", &sc, &st);
    CHECK_EQ(st.bricks, 0);
    struct stats sf = {0, 0, 0};
    struct scenario sp = {layout, STYLE_PLAIN, 128, 1, 1};
    failures(&sp, &sf);
    report("failures", &sp, &sf);
    CHECK_EQ(sf.bricks, 0);
}

TEST(single_slot_survives_power_loss_at_every_operation)
{
    all_for(LAYOUT_SINGLE);
}

TEST(ab_survives_power_loss_at_every_operation)
{
    all_for(LAYOUT_AB);
}

TEST(ab_rollback_survives_power_loss_at_every_operation)
{
    for (int prefill = 0; prefill < 3; prefill++) {
        struct scenario sc = {LAYOUT_AB, STYLE_PLAIN, 128, prefill, 0};
        struct stats st = {0, 0, 0};
        sweep_rollback(&sc, &st);
        report("rollback", &sc, &st);
        CHECK_EQ(st.bricks, 0);
    }
}

TEST(factory_fallback_survives_power_loss_at_every_operation)
{
    all_for(LAYOUT_FACTORY);
}

int main(void)
{
    RUN(single_slot_survives_power_loss_at_every_operation);
    /* the layouts this build has (udfu_opt.h) */
    RUN_IF(UDFU_CFG_BOOT_SLOTS >= 2 && UDFU_CFG_BOOT_TRIAL,
           ab_survives_power_loss_at_every_operation);
    RUN_IF(UDFU_CFG_BOOT_SLOTS >= 2 && UDFU_CFG_BOOT_TRIAL,
           ab_rollback_survives_power_loss_at_every_operation);
    RUN_IF(UDFU_CFG_BOOT_SLOTS >= 2, factory_fallback_survives_power_loss_at_every_operation);
    printf("powerloss total: %u interruption points exercised, %u reboots checked, "
           "%u bricks\n",
           total.points, total.reboots, total.bricks);
    free(snapshot);
    return test_summary();
}
