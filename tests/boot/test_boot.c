/* The boot layer: image header, boot-request flag, commit journal, boot
 * selection in each layout, the write filter and the verification hooks. */
#include "test.h"

#include "udfu_util.h"

#include <string.h>

#include "bootdev.h"
#include "sha256.h"

static struct dev d;
static uint8_t img[DEV_IMG_MAX];

/* ---- image header ---------------------------------------------------------- */

TEST(crc32_is_the_zlib_one)
{
    CHECK_EQ(udfu_boot_crc32(0, "123456789", 9), 0xCBF43926u);
    uint32_t c = udfu_boot_crc32(0, "1234", 4);
    CHECK_EQ(udfu_boot_crc32(c, "56789", 5), 0xCBF43926u); /* chains */
    CHECK_EQ(udfu_boot_crc32(0, "", 0), 0);
}

TEST(header_round_trips_and_rejects_damage)
{
    uint8_t raw[UDFU_BOOT_HDR_LEN];
    struct udfu_boot_hdr h, g;
    const uint8_t pay[5] = {1, 2, 3, 4, 5};
    udfu_boot_hdr_init(&h, pay, 5, 0x01020304u, 0x08004100u);
    h.flags = UDFU_BOOT_IMG_SHA256;
    h.sha256[31] = 0xAB;
    udfu_boot_hdr_write(raw, &h);
    CHECK_EQ(udfu_get32(raw), UDFU_BOOT_MAGIC);
    CHECK_MEM(raw, "uDFU", 4);
    CHECK_EQ(udfu_boot_hdr_parse(raw, &g), 0);
    CHECK_EQ(g.version, 0x01020304u);
    CHECK_EQ(g.length, 5);
    CHECK_EQ(g.load_addr, 0x08004100u);
    CHECK_EQ(g.crc, udfu_boot_crc32(0, pay, 5));
    CHECK_EQ(g.sha256[31], 0xAB);
    raw[16] ^= 1; /* length changed: header CRC catches it */
    CHECK_EQ(udfu_boot_hdr_parse(raw, &g), UDFU_ERR_FORMAT);
    raw[16] ^= 1;
    raw[0] = 0;
    CHECK_EQ(udfu_boot_hdr_parse(raw, &g), UDFU_ERR_FORMAT);
    h.flags = UDFU_BOOT_IMG_SIG; /* a signature needs the digest it signs */
    udfu_boot_hdr_write(raw, &h);
    CHECK_EQ(udfu_boot_hdr_parse(raw, &g), UDFU_ERR_FORMAT);
    memset(raw, 0xFF, sizeof(raw)); /* erased flash */
    CHECK_EQ(udfu_boot_hdr_parse(raw, &g), UDFU_ERR_FORMAT);
}

/* ---- boot-request flag ------------------------------------------------------ */

static int unlocks;
static void count_unlock(void *ctx)
{
    (void)ctx;
    unlocks++;
}

TEST(flag_survives_a_reset_once)
{
    static volatile uint32_t noinit[2]; /* stands for the no-init RAM words */
    struct udfu_boot_flag f = {noinit, NULL, NULL};
    udfu_boot_flag_set(&f, UDFU_BOOT_REQ_DFU);
    /* reset: RAM keeps its content, a new firmware instance reads it */
    struct udfu_boot_flag after = {noinit, NULL, NULL};
    CHECK_EQ(udfu_boot_flag_take(&after), UDFU_BOOT_REQ_DFU);
    CHECK_EQ(udfu_boot_flag_take(&after), UDFU_BOOT_REQ_NONE); /* honoured once */
    udfu_boot_flag_set(&f, UDFU_BOOT_REQ_SYSTEM);
    CHECK_EQ(udfu_boot_flag_take(&f), UDFU_BOOT_REQ_SYSTEM);
}

TEST(flag_ignores_power_on_garbage)
{
    static volatile uint32_t noinit[2];
    struct udfu_boot_flag f = {noinit, NULL, NULL};
    noinit[0] = UDFU_BOOT_REQ_DFU;
    noinit[1] = 0x12345678u; /* not the complement */
    CHECK_EQ(udfu_boot_flag_take(&f), UDFU_BOOT_REQ_NONE);
    CHECK_EQ(noinit[0], 0); /* garbage cleared too */
    noinit[0] = 0xFFFFFFFFu;
    noinit[1] = 0xFFFFFFFFu;
    CHECK_EQ(udfu_boot_flag_take(&f), UDFU_BOOT_REQ_NONE);
    /* one bit flipped in the stored request */
    udfu_boot_flag_set(&f, UDFU_BOOT_REQ_DFU);
    noinit[0] ^= 0x100u;
    CHECK_EQ(udfu_boot_flag_take(&f), UDFU_BOOT_REQ_NONE);
}

TEST(flag_unlocks_backup_registers_before_writing)
{
    static volatile uint32_t bkp[2];
    struct udfu_boot_flag f = {bkp, NULL, count_unlock};
    unlocks = 0;
    udfu_boot_flag_set(&f, UDFU_BOOT_REQ_DFU);
    CHECK_EQ(unlocks, 1);
    CHECK_EQ(udfu_boot_flag_take(&f), UDFU_BOOT_REQ_DFU);
    CHECK_EQ(unlocks, 2); /* clearing writes too */
    CHECK_EQ(udfu_boot_flag_take(&f), UDFU_BOOT_REQ_NONE);
    CHECK_EQ(unlocks, 2); /* nothing to clear: no write */
}

/* ---- layout (a): single slot + DFU fallback --------------------------------- */

TEST(single_fresh_device_stays_in_dfu)
{
    dev_open(&d, LAYOUT_SINGLE, 0);
    CHECK_EQ(dev_reboot(&d), UDFU_ERR_FIRMWARE);
    dev_close(&d);
}

TEST(single_committed_image_boots)
{
    dev_open(&d, LAYOUT_SINGLE, 0);
    dev_reboot(&d);
    CHECK_EQ(dev_download(&d, 1, STYLE_PLAIN, 0), 0);
    CHECK_EQ(udfu_boot_slot_info(&d.boot, 0)->state, UDFU_BOOT_CONFIRMED);
    int s = dev_reboot(&d);
    CHECK_EQ(s, 0);
    CHECK_EQ(dev_classify(&d, s), BOOT_OLD);
    CHECK_EQ(udfu_boot_app_addr(&d.boot, 0), DEV_SLOT0 + DEV_HDR);
    dev_close(&d);
}

TEST(single_complete_image_without_commit_does_not_boot)
{
    dev_open(&d, LAYOUT_SINGLE, 0);
    dev_reboot(&d);
    uint32_t n = dev_image(img, 1, DEV_SLOT0);
    for (uint32_t off = 0; off < n; off += DEV_CHUNK) {
        if (off % DEV_SECTOR == 0)
            udfu_boot_erase(&d.boot, DEV_SLOT0 + off, DEV_SECTOR);
        udfu_boot_prog(&d.boot, DEV_SLOT0 + off, img + off, udfu_min32(DEV_CHUNK, n - off));
    }
    CHECK(udfu_boot_dirty(&d.boot));
    CHECK_EQ(udfu_boot_verify(&d.boot, 0, NULL, 1), 0); /* the bytes are all there */
    CHECK_EQ(dev_reboot(&d), UDFU_ERR_FIRMWARE);      /* but no commit: DFU */
    dev_close(&d);
}

/* The old image stops being bootable at the first write of a download, even
 * if that write does not touch it. */
TEST(single_first_write_invalidates_the_old_image)
{
    dev_open(&d, LAYOUT_SINGLE, 0);
    dev_reboot(&d);
    dev_download(&d, 1, STYLE_PLAIN, 0);
    dev_reboot(&d);
    uint8_t z[4] = {0, 0, 0, 0};
    CHECK_EQ(udfu_boot_prog(&d.boot, DEV_SLOT0 + DEV_SLOT_SIZE - 4, z, 4), 0);
    CHECK_EQ(udfu_boot_verify(&d.boot, 0, NULL, 1), 0); /* old image intact ... */
    CHECK_EQ(dev_reboot(&d), UDFU_ERR_FIRMWARE);      /* ... but not bootable */
    dev_close(&d);
}

TEST(single_corrupt_download_is_refused_and_stays_in_dfu)
{
    dev_open(&d, LAYOUT_SINGLE, 0);
    dev_reboot(&d);
    dev_download(&d, 1, STYLE_PLAIN, 0);
    dev_reboot(&d);
    uint32_t n = dev_image(img, 2, DEV_SLOT0);
    img[DEV_HDR + 100] ^= 0x10;
    CHECK_EQ(dev_write(&d, img, n), UDFU_ERR_CRC);
    CHECK_EQ(dev_reboot(&d), UDFU_ERR_FIRMWARE);
    dev_image(img, 2, DEV_SLOT0);
    memset(img, 0xFF, DEV_HDR); /* no header at all */
    CHECK_EQ(dev_write(&d, img, n), UDFU_ERR_FIRMWARE);
    CHECK_EQ(dev_reboot(&d), UDFU_ERR_FIRMWARE);
    CHECK_EQ(dev_download(&d, 2, STYLE_PLAIN, 0), 0); /* a good one still goes in */
    CHECK_EQ(dev_classify(&d, dev_reboot(&d)), BOOT_NEW);
    dev_close(&d);
}

TEST(dfuse_download_in_any_order_commits)
{
    dev_open(&d, LAYOUT_SINGLE, 0);
    dev_reboot(&d);
    for (uint32_t seed = 1; seed < 6; seed++) {
        CHECK_EQ(dev_download(&d, 1 + seed % 2, STYLE_DFUSE, seed), 0);
        CHECK_EQ(dev_classify(&d, dev_reboot(&d)), seed % 2 ? BOOT_NEW : BOOT_OLD);
    }
    dev_close(&d);
}

TEST(image_that_rots_after_commit_is_not_booted)
{
    dev_open(&d, LAYOUT_SINGLE, 0);
    dev_reboot(&d);
    dev_download(&d, 1, STYLE_PLAIN, 0);
    *udfu_nor_mem(&d.nor, DEV_SLOT0 + DEV_HDR + 1500) ^= 0x04;
    CHECK_EQ(dev_reboot(&d), UDFU_ERR_FIRMWARE);
    dev_close(&d);
}

TEST(image_replaced_behind_the_journals_back_is_not_booted)
{
    dev_open(&d, LAYOUT_SINGLE, 0);
    dev_reboot(&d);
    dev_download(&d, 1, STYLE_PLAIN, 0);
    /* a valid image of another version, written without the boot layer */
    uint32_t n = dev_image(img, 2, DEV_SLOT0);
    memcpy(udfu_nor_mem(&d.nor, DEV_SLOT0), img, n);
    CHECK_EQ(udfu_boot_verify(&d.boot, 0, NULL, 1), 0);
    CHECK_EQ(dev_reboot(&d), UDFU_ERR_FIRMWARE); /* CRC/length differ from the commit */
    dev_close(&d);
}

TEST(writes_outside_the_update_slot_are_refused_without_side_effect)
{
    uint8_t z[16];
    memset(z, 0, sizeof(z));
    dev_open(&d, LAYOUT_SINGLE, 0);
    dev_reboot(&d);
    dev_download(&d, 1, STYLE_PLAIN, 0);
    dev_reboot(&d);
    uint32_t ops = d.nor.ops;
    CHECK_EQ(udfu_boot_erase(&d.boot, DEV_BOOT, DEV_SECTOR), UDFU_ERR_PERM);
    CHECK_EQ(udfu_boot_prog(&d.boot, DEV_BOOT + 16, z, 16), UDFU_ERR_PERM);
    CHECK_EQ(udfu_boot_prog(&d.boot, DEV_JOURNAL, z, 16), UDFU_ERR_PERM);
    CHECK_EQ(udfu_boot_prog(&d.boot, DEV_SLOT0 - 8, z, 16), UDFU_ERR_PERM); /* straddles */
    CHECK_EQ(udfu_boot_prog(&d.boot, DEV_SLOT0 + DEV_SLOT_SIZE - 8, z, 16), UDFU_ERR_PERM);
    CHECK_EQ(udfu_boot_erase(&d.boot, 0xFFFFFC00u, 0x800u), UDFU_ERR_PERM); /* wraps */
    CHECK_EQ(udfu_boot_prog(&d.boot, DEV_SLOT0, z, 0), UDFU_ERR_PERM);
    CHECK_EQ(d.nor.ops, ops); /* not even an INVALIDATE record */
    CHECK(dev_bootloader_intact(&d));
    CHECK_EQ(dev_classify(&d, dev_reboot(&d)), BOOT_OLD);
    dev_close(&d);
}

TEST(commit_without_a_new_download_changes_nothing)
{
    dev_open(&d, LAYOUT_SINGLE, 0);
    dev_reboot(&d);
    dev_download(&d, 1, STYLE_PLAIN, 0);
    dev_reboot(&d);
    uint32_t ops = d.nor.ops;
    CHECK(!udfu_boot_dirty(&d.boot));
    CHECK_EQ(udfu_boot_commit(&d.boot), 0);
    CHECK_EQ(d.nor.ops, ops);
    dev_close(&d);
}

/* dfu-util -s :leave without a download calls commit too: it commits only
 * what this session wrote. A complete image left by a session that ended
 * without its commit is not taken: the host downloads it again. */
TEST(commit_takes_only_what_this_session_wrote)
{
    dev_open(&d, LAYOUT_SINGLE, 0);
    dev_reboot(&d);
    CHECK_EQ(udfu_boot_commit(&d.boot), UDFU_ERR_FIRMWARE); /* nothing anywhere */
    uint32_t n = dev_image(img, 1, DEV_SLOT0);
    for (uint32_t off = 0; off < n; off += DEV_CHUNK) {
        if (off % DEV_SECTOR == 0)
            udfu_boot_erase(&d.boot, DEV_SLOT0 + off, DEV_SECTOR);
        if (off + DEV_CHUNK < n) /* the last block never arrived */
            udfu_boot_prog(&d.boot, DEV_SLOT0 + off, img + off, DEV_CHUNK);
    }
    CHECK_EQ(udfu_boot_commit(&d.boot), UDFU_ERR_CRC);
    CHECK_EQ(dev_reboot(&d), UDFU_ERR_FIRMWARE);
    uint32_t last = (n - 1) / DEV_CHUNK * DEV_CHUNK;
    CHECK_EQ(udfu_boot_prog(&d.boot, DEV_SLOT0 + last, img + last, n - last), 0);
    dev_reboot(&d); /* the whole image is there, but its session ended */
    uint32_t ops = d.nor.ops;
    CHECK_EQ(udfu_boot_commit(&d.boot), UDFU_ERR_FIRMWARE);
    CHECK_EQ(d.nor.ops, ops);
    CHECK_EQ(dev_reboot(&d), UDFU_ERR_FIRMWARE);
    /* the download again: this session's commit takes it */
    CHECK_EQ(dev_download(&d, 1, STYLE_PLAIN, 0), 0);
    CHECK_EQ(dev_classify(&d, dev_reboot(&d)), BOOT_OLD);
    dev_close(&d);
}

/* The write filter's bounds are exact: the first and the last byte of the
 * slot are in, the byte on either side is out, and so is an empty write. */
TEST(update_slot_bounds_are_exact_to_the_byte)
{
    uint8_t z[2] = {0, 0};
    dev_open(&d, LAYOUT_SINGLE, 0);
    dev_reboot(&d);
    CHECK_EQ(udfu_boot_prog(&d.boot, DEV_SLOT0 - 1, z, 1), UDFU_ERR_PERM);
    CHECK_EQ(udfu_boot_prog(&d.boot, DEV_SLOT0 + DEV_SLOT_SIZE, z, 1), UDFU_ERR_PERM);
    CHECK_EQ(udfu_boot_prog(&d.boot, DEV_SLOT0 + DEV_SLOT_SIZE - 1, z, 2), UDFU_ERR_PERM);
    CHECK_EQ(udfu_boot_erase(&d.boot, DEV_SLOT0, DEV_SLOT_SIZE + 1), UDFU_ERR_PERM);
    CHECK_EQ(udfu_boot_erase(&d.boot, DEV_SLOT0 + DEV_SLOT_SIZE, 0), UDFU_ERR_PERM);
    CHECK(!udfu_boot_dirty(&d.boot));
    CHECK_EQ(udfu_boot_erase(&d.boot, DEV_SLOT0, DEV_SLOT_SIZE), 0);
    CHECK_EQ(udfu_boot_prog(&d.boot, DEV_SLOT0, z, 1), 0);
    CHECK_EQ(udfu_boot_prog(&d.boot, DEV_SLOT0 + DEV_SLOT_SIZE - 1, z + 1, 1), 0);
    CHECK(udfu_boot_dirty(&d.boot));
    CHECK(dev_bootloader_intact(&d));
    dev_close(&d);
}

/* Writes an image of exactly len payload bytes (a valid header, CRC and
 * load address) straight into slot 0 and commits it. */
static int commit_payload_of(uint32_t len)
{
    struct udfu_boot_hdr h;
    uint8_t *slot = udfu_nor_mem(&d.nor, DEV_SLOT0);
    memset(img, 0xA5, sizeof(img));
    udfu_boot_hdr_init(&h, img, len, 7, DEV_SLOT0 + DEV_HDR);
    udfu_boot_erase(&d.boot, DEV_SLOT0, DEV_SLOT_SIZE);
    udfu_boot_hdr_write(slot, &h);
    memcpy(slot + DEV_HDR, img, udfu_min32(len, DEV_SLOT_SIZE - DEV_HDR));
    return udfu_boot_commit(&d.boot);
}

/* A payload may fill its slot to the last byte, but not be empty nor claim
 * a byte more than the slot holds. */
TEST(image_length_must_fit_the_slot_and_not_be_empty)
{
    dev_open(&d, LAYOUT_SINGLE, 0);
    dev_reboot(&d);
    CHECK_EQ(commit_payload_of(0), UDFU_ERR_FIRMWARE);
    CHECK_EQ(commit_payload_of(DEV_SLOT_SIZE - DEV_HDR + 1), UDFU_ERR_FIRMWARE);
    CHECK_EQ(dev_reboot(&d), UDFU_ERR_FIRMWARE);
    CHECK_EQ(commit_payload_of(DEV_SLOT_SIZE - DEV_HDR), 0);
    CHECK_EQ(dev_reboot(&d), 0);
    CHECK_EQ(udfu_boot_slot_info(&d.boot, 0)->length, DEV_SLOT_SIZE - DEV_HDR);
    dev_close(&d);
}

/* ---- layout (b): A/B with rollback ------------------------------------------- */

static void ab_with_old_confirmed(void)
{
    dev_open(&d, LAYOUT_AB, 0);
    dev_reboot(&d);
    dev_download(&d, 1, STYLE_PLAIN, 0);
    dev_boot_and_run(&d, 1);
}

TEST(ab_new_image_is_tried_then_confirmed)
{
    ab_with_old_confirmed();
    CHECK_EQ(udfu_boot_slot_info(&d.boot, 0)->state, UDFU_BOOT_CONFIRMED);
    CHECK_EQ(udfu_boot_update_slot(&d.boot), 1);
    CHECK_EQ(dev_download(&d, 2, STYLE_PLAIN, 0), 0);
    CHECK_EQ(udfu_boot_slot_info(&d.boot, 1)->state, UDFU_BOOT_PENDING);
    int s = dev_reboot(&d);
    CHECK_EQ(s, 1);
    CHECK_EQ(dev_classify(&d, s), BOOT_NEW);
    CHECK_EQ(udfu_boot_slot_info(&d.boot, 1)->attempts, 1);
    CHECK_EQ(udfu_boot_confirm(&d.boot, udfu_boot_app_addr(&d.boot, 1)), 0);
    CHECK_EQ(udfu_boot_slot_info(&d.boot, 1)->state, UDFU_BOOT_CONFIRMED);
    CHECK_EQ(dev_classify(&d, dev_reboot(&d)), BOOT_NEW);
    CHECK_EQ(udfu_boot_update_slot(&d.boot), 0); /* next update goes to A */
    CHECK_EQ(udfu_boot_confirm(&d.boot, DEV_SLOT1 + DEV_HDR), 0); /* nothing pending */
    dev_close(&d);
}

TEST(ab_new_image_that_never_confirms_is_rolled_back)
{
    ab_with_old_confirmed();
    dev_download(&d, 2, STYLE_PLAIN, 0);
    for (int i = 0; i < DEV_TRIALS; i++)
        CHECK_EQ(dev_boot_and_run(&d, 0), BOOT_NEW);
    CHECK_EQ(dev_boot_and_run(&d, 0), BOOT_OLD);
    CHECK_EQ(udfu_boot_slot_info(&d.boot, 1)->state, UDFU_BOOT_EMPTY);
    CHECK_EQ(dev_boot_and_run(&d, 0), BOOT_OLD);
    dev_close(&d);
}

/* A bare leave (commit without a write) must not undo a rollback: the
 * dropped image is still whole in its slot, yet gets no new trials. */
TEST(ab_bare_commit_does_not_revive_a_rolled_back_trial)
{
    ab_with_old_confirmed();
    dev_download(&d, 2, STYLE_PLAIN, 0);
    for (int i = 0; i < DEV_TRIALS; i++)
        CHECK_EQ(dev_boot_and_run(&d, 0), BOOT_NEW);
    CHECK_EQ(dev_boot_and_run(&d, 0), BOOT_OLD);
    dev_reboot(&d); /* DFU mode, then only a leave */
    CHECK_EQ(udfu_boot_commit(&d.boot), 0); /* the confirmed image is still there */
    CHECK_EQ(udfu_boot_slot_info(&d.boot, 1)->state, UDFU_BOOT_EMPTY);
    for (int i = 0; i < DEV_TRIALS + 1; i++)
        CHECK_EQ(dev_boot_and_run(&d, 0), BOOT_OLD);
    dev_close(&d);
}

/* An update that failed right after its INVALIDATE leaves the older image
 * whole in that slot: a bare leave must not bring it back over the newer
 * confirmed one. */
TEST(ab_bare_commit_does_not_revive_an_older_image_after_a_failed_update)
{
    ab_with_old_confirmed();                        /* v1 in slot 0 */
    CHECK_EQ(dev_download(&d, 2, STYLE_PLAIN, 0), 0); /* v2 in slot 1 */
    CHECK_EQ(dev_boot_and_run(&d, 1), BOOT_NEW);
    dev_reboot(&d);
    d.nor.fail_at = 2; /* the INVALIDATE of slot 0 lands, its first erase fails */
    CHECK(dev_download(&d, 3, STYLE_PLAIN, 0) < 0);
    d.nor.fail_at = 0;
    CHECK_EQ(dev_boot_and_run(&d, 1), BOOT_NEW);
    dev_reboot(&d);
    CHECK_EQ(udfu_boot_commit(&d.boot), 0);
    CHECK_EQ(udfu_boot_slot_info(&d.boot, 0)->state, UDFU_BOOT_EMPTY);
    CHECK_EQ(dev_boot_and_run(&d, 1), BOOT_NEW);
    CHECK_EQ(dev_boot_and_run(&d, 1), BOOT_NEW);
    dev_close(&d);
}

TEST(ab_fallback_slot_cannot_be_written)
{
    uint8_t z[4] = {0};
    ab_with_old_confirmed();
    dev_reboot(&d);
    CHECK_EQ(udfu_boot_prog(&d.boot, DEV_SLOT0 + 4000, z, 4), UDFU_ERR_PERM);
    CHECK_EQ(udfu_boot_erase(&d.boot, DEV_SLOT0, DEV_SECTOR), UDFU_ERR_PERM);
    CHECK_EQ(dev_classify(&d, dev_reboot(&d)), BOOT_OLD);
    dev_close(&d);
}

TEST(ab_image_linked_for_the_other_slot_is_refused)
{
    ab_with_old_confirmed();
    uint32_t n = dev_image(img, 2, DEV_SLOT0); /* update slot is B */
    CHECK_EQ(dev_write(&d, img, n), UDFU_ERR_FIRMWARE);
    CHECK_EQ(dev_boot_and_run(&d, 1), BOOT_OLD);
    dev_close(&d);
}

TEST(ab_damaged_newer_image_falls_back_to_older_confirmed)
{
    ab_with_old_confirmed();
    dev_download(&d, 2, STYLE_PLAIN, 0);
    CHECK_EQ(dev_boot_and_run(&d, 1), BOOT_NEW);
    *udfu_nor_mem(&d.nor, DEV_SLOT1 + DEV_HDR + 10) ^= 0x80;
    CHECK_EQ(dev_boot_and_run(&d, 1), BOOT_OLD);
    dev_close(&d);
}

TEST(ab_pending_trial_does_not_boot_when_its_boot_cannot_be_counted)
{
    ab_with_old_confirmed();
    dev_download(&d, 2, STYLE_PLAIN, 0);
    udfu_boot_init(&d.boot, &d.cfg);
    d.nor.fail_at = 1; /* the ATTEMPT record */
    int s = udfu_boot_select(&d.boot);
    CHECK_EQ(dev_classify(&d, s), BOOT_OLD);
    /* the old image runs and confirms itself: that must not confirm B */
    uint32_t ops = d.nor.ops;
    CHECK_EQ(udfu_boot_confirm(&d.boot, udfu_boot_app_addr(&d.boot, (uint8_t)s)), UDFU_ERR_STATE);
    CHECK_EQ(d.nor.ops, ops);
    CHECK_EQ(udfu_boot_slot_info(&d.boot, 1)->state, UDFU_BOOT_PENDING);
    CHECK_EQ(udfu_boot_slot_info(&d.boot, 1)->attempts, 0);
    CHECK_EQ(dev_boot_and_run(&d, 1), BOOT_NEW); /* journal works again */
    dev_close(&d);
}

/* ---- layout (c): factory fallback --------------------------------------------- */

TEST(factory_boots_when_nothing_else_is_there)
{
    dev_open(&d, LAYOUT_FACTORY, 0);
    CHECK_EQ(dev_classify(&d, dev_reboot(&d)), BOOT_FACTORY);
    CHECK_EQ(udfu_boot_update_slot(&d.boot), 1);
    CHECK_EQ(udfu_boot_slot_info(&d.boot, 0)->state, UDFU_BOOT_FACTORY);
    dev_close(&d);
}

TEST(factory_upgrade_boots_and_an_invalid_one_reverts_to_factory)
{
    uint8_t z[4] = {0};
    dev_open(&d, LAYOUT_FACTORY, 0);
    dev_reboot(&d);
    CHECK_EQ(dev_download(&d, 2, STYLE_DFUSE, 9), 0);
    CHECK_EQ(dev_classify(&d, dev_reboot(&d)), BOOT_NEW);
    uint32_t n = dev_image(img, 3, DEV_SLOT1);
    img[n - 1] ^= 1;
    CHECK_EQ(dev_write(&d, img, n), UDFU_ERR_CRC);
    CHECK_EQ(dev_classify(&d, dev_reboot(&d)), BOOT_FACTORY);
    CHECK_EQ(udfu_boot_prog(&d.boot, DEV_SLOT0 + 8, z, 4), UDFU_ERR_PERM);
    CHECK_EQ(udfu_boot_invalidate(&d.boot, 0), UDFU_ERR_PERM);
    dev_close(&d);
}

TEST(factory_revert_command_invalidates_the_upgrade)
{
    dev_open(&d, LAYOUT_FACTORY, 0);
    dev_reboot(&d);
    dev_download(&d, 2, STYLE_PLAIN, 0);
    CHECK_EQ(dev_classify(&d, dev_reboot(&d)), BOOT_NEW);
    CHECK_EQ(udfu_boot_invalidate(&d.boot, 1), 0);
    CHECK_EQ(dev_classify(&d, dev_reboot(&d)), BOOT_FACTORY);
    /* a leave afterwards (no download) keeps the revert */
    CHECK_EQ(udfu_boot_commit(&d.boot), 0);
    CHECK_EQ(dev_classify(&d, dev_reboot(&d)), BOOT_FACTORY);
    dev_close(&d);
}

TEST(factory_with_trials_falls_back_to_factory)
{
    dev_open(&d, LAYOUT_FACTORY, 0);
    d.cfg.trial_boots = 2;
    dev_reboot(&d);
    dev_download(&d, 2, STYLE_PLAIN, 0);
    CHECK_EQ(dev_boot_and_run(&d, 0), BOOT_NEW);
    CHECK_EQ(dev_boot_and_run(&d, 0), BOOT_NEW);
    CHECK_EQ(dev_boot_and_run(&d, 0), BOOT_FACTORY);
    dev_close(&d);
}

/* ---- journal ---------------------------------------------------------------- */

/* Layouts this build has (udfu_opt.h): A/B needs two slots and trial boots. */
#define HAS_AB (UDFU_CFG_BOOT_SLOTS >= 2 && UDFU_CFG_BOOT_TRIAL)
#define HAS_TWO_SLOTS (UDFU_CFG_BOOT_SLOTS >= 2)
#define HAS_FACTORY HAS_TWO_SLOTS

static void many_compactions(enum layout layout, uint32_t versions, uint32_t min_areas)
{
    dev_open(&d, layout, 128); /* 7 records per area */
    dev_reboot(&d);
    uint32_t seq0 = d.boot.seq;
    for (uint32_t v = 1; v <= versions; v++) {
        d.old_version = v - 1;
        d.new_version = v;
        CHECK_EQ(dev_download(&d, v, v % 2 ? STYLE_PLAIN : STYLE_DFUSE, v), 0);
        CHECK_EQ(dev_boot_and_run(&d, 1), BOOT_NEW);
        CHECK_EQ(dev_boot_and_run(&d, 1), BOOT_NEW);
    }
    CHECK(d.boot.seq > seq0 + min_areas);
}

TEST(journal_survives_many_compactions)
{
    many_compactions(LAYOUT_AB, 20, 10);
    /* the previous version is still the confirmed fallback */
    *udfu_nor_mem(&d.nor, d.slots[udfu_boot_update_slot(&d.boot) ^ 1].addr + 300) ^= 1;
    CHECK_EQ(dev_boot_and_run(&d, 1), BOOT_OLD);
    dev_close(&d);
}

TEST(journal_survives_many_compactions_single_slot)
{
    many_compactions(LAYOUT_SINGLE, 30, 8); /* 2 records an update */
    dev_close(&d);
}

static void torn_record(enum layout layout)
{
    dev_open(&d, layout, 0);
    dev_reboot(&d);
    dev_download(&d, 1, STYLE_PLAIN, 0);
    dev_boot_and_run(&d, 1);
    uint32_t next = d.boot.next;
    /* garbage where the next record goes, as a torn write would leave */
    *udfu_nor_mem(&d.nor, d.cfg.journal[d.boot.active] + next + 5) = 0x00;
    CHECK_EQ(dev_boot_and_run(&d, 1), BOOT_OLD);
    CHECK_EQ(d.boot.next, next + 16); /* skipped, not reused */
    CHECK_EQ(dev_download(&d, 2, STYLE_PLAIN, 0), 0);
    CHECK_EQ(dev_boot_and_run(&d, 1), BOOT_NEW);
    CHECK_EQ(dev_boot_and_run(&d, 1), BOOT_NEW);
    dev_close(&d);
}

/* On flash with ECC a torn record reads back as an error: it counts as
 * torn (skipped, not reused), and init still succeeds. */
static uint32_t unreadable_at;
static int read_but_one(void *ctx, uint32_t addr, uint8_t *buf, uint32_t len)
{
    if (unreadable_at - addr < len)
        return UDFU_ERR_IO;
    return udfu_nor_read_cb(ctx, addr, buf, len);
}

TEST(journal_record_that_cannot_be_read_counts_as_torn)
{
    dev_open(&d, LAYOUT_SINGLE, 0);
    d.cfg.read = read_but_one;
    unreadable_at = 0;
    dev_reboot(&d);
    CHECK_EQ(dev_download(&d, 1, STYLE_PLAIN, 0), 0);
    uint32_t commit_at = d.cfg.journal[d.boot.active] + d.boot.next - d.boot.rec;
    unreadable_at = commit_at; /* the COMMIT of v1 */
    CHECK_EQ(udfu_boot_init(&d.boot, &d.cfg), 0);
    CHECK_EQ(udfu_boot_slot_info(&d.boot, 0)->state, UDFU_BOOT_EMPTY);
    CHECK_EQ(d.boot.next, commit_at + d.boot.rec - d.cfg.journal[d.boot.active]);
    CHECK_EQ(dev_reboot(&d), UDFU_ERR_FIRMWARE);
    CHECK_EQ(dev_download(&d, 1, STYLE_PLAIN, 1), 0); /* appended after it */
    CHECK_EQ(dev_classify(&d, dev_reboot(&d)), BOOT_OLD);
    unreadable_at = d.cfg.journal[d.boot.active]; /* the active area's header */
    CHECK_EQ(udfu_boot_init(&d.boot, &d.cfg), 0);
    CHECK_EQ(dev_reboot(&d), UDFU_ERR_FIRMWARE); /* no area counts: nothing committed */
    unreadable_at = 0;
    CHECK_EQ(dev_classify(&d, dev_reboot(&d)), BOOT_OLD);
    dev_close(&d);
}

TEST(journal_with_a_torn_record_keeps_the_records_around_it)
{
    torn_record(LAYOUT_AB);
}

TEST(journal_with_a_torn_record_keeps_the_records_around_it_single_slot)
{
    torn_record(LAYOUT_SINGLE);
}

/* A device with two slots and journal areas of 1024 records: the rank
 * counter would wrap long before an area fills. Its prog() can be made to
 * report a failure after writing everything (a failure with full effect,
 * which the boot layer must allow for). */
#if UDFU_CFG_BOOT_SLOTS >= 2 /* two slots (the bodies index slot 1) */
static struct big {
    struct udfu_nor nor;
    struct udfu_boot_slot sl[2];
    struct udfu_boot_cfg cfg;
    struct udfu_boot b;
    int land_and_fail; /* the next prog writes, then says it failed */
} big;

static int big_prog(void *ctx, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    int err = udfu_nor_prog_cb(&big.nor, addr, buf, len);
    (void)ctx;
    if (!err && big.land_and_fail) {
        big.land_and_fail = 0;
        return UDFU_ERR_PROG;
    }
    return err;
}

/* v1 in slot 0, v2 in slot 1; returns the image length (img holds v2). */
static uint32_t big_open(void)
{
    static const struct udfu_region map[] = {
        {DEV_SLOT0, DEV_SECTOR, 2 * DEV_SLOT_SIZE / DEV_SECTOR, UDFU_MEM_ALL, 10, 50},
        {0x08100000u, 0x4000u, 2, UDFU_MEM_ALL, 10, 50},
    };
    const struct udfu_nor_cfg nc = {map, 2, NULL};
    struct udfu_boot_cfg *c = &big.cfg;
    uint32_t n = 0;
    memset(&big, 0, sizeof(big));
    big.sl[0].addr = DEV_SLOT0;
    big.sl[1].addr = DEV_SLOT1;
    big.sl[0].size = big.sl[1].size = DEV_SLOT_SIZE;
    c->context = &big.nor;
    c->read = udfu_nor_read_cb;
    c->erase = udfu_nor_erase_cb;
    c->prog = big_prog;
    c->slots = big.sl;
    c->slot_count = 2;
    c->journal[0] = 0x08100000u;
    c->journal[1] = 0x08104000u;
    c->journal_size = 0x4000u;
    c->hdr_size = DEV_HDR;
    CHECK_EQ(udfu_nor_open(&big.nor, &nc), 0);
    CHECK_EQ(udfu_boot_init(&big.b, c), 0);
    for (uint32_t v = 1; v <= 2; v++) {
        int s = udfu_boot_update_slot(&big.b);
        CHECK_EQ(s, (int)v - 1);
        n = dev_image(img, v, big.sl[s].addr);
        CHECK_EQ(udfu_boot_prog(&big.b, big.sl[s].addr, img, n), 0);
        CHECK_EQ(udfu_boot_commit(&big.b), 0);
    }
    return n;
}

/* Slot 1 downloaded and committed again, count times (the same bytes: NOR
 * takes them); with fail_first, the first COMMIT record lands but its
 * write reports a failure, and the host's retry commits. */
static void big_recommit(uint32_t n, int count, int fail_first)
{
    for (int i = 0; i < count; i++) {
        CHECK_EQ(udfu_boot_invalidate(&big.b, 1), 0);
        CHECK_EQ(udfu_boot_prog(&big.b, DEV_SLOT1, img, n), 0);
        if (fail_first && i == 0) {
            big.land_and_fail = 1;
            CHECK_EQ(udfu_boot_commit(&big.b), UDFU_ERR_PROG);
        }
        CHECK_EQ(udfu_boot_commit(&big.b), 0);
    }
}

/* After a reset: slot 1 (the newest) ranks first and boots; damaged, the
 * older slot 0 does. */
static void big_check_newest_first(void)
{
    CHECK_EQ(udfu_boot_init(&big.b, &big.cfg), 0);
    CHECK_EQ(udfu_boot_select(&big.b), 1);
    CHECK(udfu_boot_slot_info(&big.b, 1)->rank > udfu_boot_slot_info(&big.b, 0)->rank);
    *udfu_nor_mem(&big.nor, DEV_SLOT1 + DEV_HDR + 100) ^= 1;
    CHECK_EQ(udfu_boot_select(&big.b), 0);
    udfu_nor_close(&big.nor);
}
#endif

/* Which confirmed image is the newer one survives any number of commits:
 * the journal compacts before the rank counter would wrap. */
TEST(journal_keeps_the_newest_image_first_across_many_commits)
{
#if UDFU_CFG_BOOT_SLOTS >= 2
    uint32_t n = big_open();
    uint32_t seq0 = big.b.seq;
    big_recommit(n, 300, 0);
    CHECK(big.b.seq > seq0); /* compacted before the area was full */
    CHECK(big.b.seq < seq0 + 4);
    big_check_newest_first();
#endif
}

/* A journal write that reports a failure may still have landed whole: it
 * must count against the ranks, or the area holds one rank more than the
 * counter knows and the newest image's rank wraps to 0 on reload. */
TEST(journal_write_that_fails_but_lands_still_counts_against_the_ranks)
{
#if UDFU_CFG_BOOT_SLOTS >= 2
    uint32_t n = big_open();
    big_recommit(n, 1, 1);
    while (big.b.top < 0xFF) /* the last commit before a compaction, then a reset */
        big_recommit(n, 1, 0);
    big_check_newest_first();
#endif
}

/* Flash with ECC (STM32L4/G4/H7...) must program each write unit once,
 * whole and aligned: every journal write must respect that. */
static int ecc_violations;
static uint32_t ecc_unit;
static int ecc_prog(void *ctx, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    struct udfu_nor *f = ctx;
    if (addr >= DEV_JOURNAL && addr < DEV_SLOT0) {
        if (addr % ecc_unit || len % ecc_unit)
            ecc_violations++;
        for (uint32_t i = 0; i < len; i++)
            ecc_violations += udfu_nor_mem(f, addr + i)[0] != 0xFF;
    }
    return udfu_nor_prog(f, addr, buf, len);
}

static void ecc_cycles(enum layout layout, uint32_t unit, uint32_t journal_size)
{
    dev_open(&d, layout, journal_size);
    d.cfg.write_size = (uint8_t)unit;
    d.cfg.prog = ecc_prog;
    ecc_unit = unit;
    ecc_violations = 0;
    dev_reboot(&d);
    for (uint32_t v = 1; v <= 8; v++) {
        d.old_version = v - 1;
        d.new_version = v;
        CHECK_EQ(dev_download(&d, v, STYLE_PLAIN, 0), 0);
        CHECK_EQ(dev_boot_and_run(&d, 1), BOOT_NEW);
    }
    CHECK_EQ(ecc_violations, 0);
    CHECK_EQ(d.boot.rec, unit > 16 ? unit : 16);
    dev_close(&d);
}

TEST(journal_programs_each_write_unit_once)
{
    ecc_cycles(LAYOUT_AB, 8, 128); /* compacts several times */
    ecc_cycles(LAYOUT_AB, 32, 256); /* records grow to the write unit */
}

TEST(journal_programs_each_write_unit_once_single_slot)
{
    ecc_cycles(LAYOUT_SINGLE, 8, 128);
    ecc_cycles(LAYOUT_SINGLE, 32, 256);
}

/* ---- verification hooks ---------------------------------------------------- */

static struct sha256 sha;
static int sha_calls, sig_calls;
static int h_start(void *ctx)
{
    (void)ctx;
    sha_calls++;
    sha256_init(&sha);
    return 0;
}
static int h_update(void *ctx, const uint8_t *p, uint32_t n)
{
    (void)ctx;
    sha256_update(&sha, p, n);
    return 0;
}
static int h_finish(void *ctx, uint8_t out[32])
{
    (void)ctx;
    sha256_final(&sha, out);
    return 0;
}
/* Stand-in signature scheme: sig = digest xor 0x5A (the hook is what is
 * being tested, not cryptography). */
static int h_sig(void *ctx, const uint8_t dg[32], const uint8_t sig[64])
{
    (void)ctx;
    sig_calls++;
    for (int i = 0; i < 32; i++) {
        if (sig[i] != (dg[i] ^ 0x5A))
            return UDFU_ERR_FIRMWARE;
    }
    return 0;
}

/* Builds `version` for slot with a SHA-256 and optionally a signature. */
static uint32_t signed_image(uint32_t version, uint32_t slot_addr, int sign, int good)
{
    struct udfu_boot_hdr h;
    struct sha256 s;
    uint32_t n = dev_image(img, version, slot_addr);
    udfu_boot_hdr_parse(img, &h);
    h.flags = UDFU_BOOT_IMG_SHA256 | (sign ? UDFU_BOOT_IMG_SIG : 0);
    udfu_boot_hdr_write(img, &h);
    sha256_init(&s);
    sha256_update(&s, img, 32);
    sha256_update(&s, img + DEV_HDR, n - DEV_HDR);
    sha256_final(&s, h.sha256);
    for (int i = 0; i < 32; i++)
        h.sig[i] = (uint8_t)(h.sha256[i] ^ 0x5A);
    if (!good)
        h.sig[0] ^= 1;
    udfu_boot_hdr_write(img, &h);
    return n;
}

static void hooked(uint8_t need)
{
    dev_open(&d, LAYOUT_SINGLE, 0);
    d.cfg.sha256_start = h_start;
    d.cfg.sha256_update = h_update;
    d.cfg.sha256_finish = h_finish;
    d.cfg.verify_sig = h_sig;
    d.cfg.need = need;
    sha_calls = sig_calls = 0;
    dev_reboot(&d);
}

TEST(sha256_test_vector)
{
    static const uint8_t abc[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
        0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
        0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    uint8_t out[32];
    sha256_init(&sha);
    sha256_update(&sha, "abc", 3);
    sha256_final(&sha, out);
    CHECK_MEM(out, abc, 32);
}

TEST(sha256_image_is_checked_through_the_hooks)
{
    hooked(0);
    uint32_t n = signed_image(1, DEV_SLOT0, 0, 1);
    CHECK_EQ(dev_write(&d, img, n), 0);
    CHECK_EQ(sha_calls, 1);
    CHECK_EQ(dev_reboot(&d), 0); /* (classify knows only unsigned images) */
    CHECK_EQ(sha_calls, 1); /* boot checks the CRC only, unless RECHECK */
    /* a digest that does not match, with a consistent CRC */
    n = signed_image(2, DEV_SLOT0, 0, 1);
    img[40] ^= 1;
    udfu_put32(img + 28, udfu_boot_crc32(0, img, 28));
    CHECK_EQ(dev_write(&d, img, n), UDFU_ERR_FIRMWARE);
    CHECK_EQ(dev_reboot(&d), UDFU_ERR_FIRMWARE);
    dev_close(&d);
}

TEST(need_sha256_refuses_images_without_one)
{
    hooked(UDFU_BOOT_NEED_SHA256);
    uint32_t n = dev_image(img, 1, DEV_SLOT0);
    CHECK_EQ(dev_write(&d, img, n), UDFU_ERR_FIRMWARE);
    n = signed_image(1, DEV_SLOT0, 0, 1);
    CHECK_EQ(dev_write(&d, img, n), 0);
    dev_close(&d);
}

TEST(need_sig_refuses_unsigned_and_badly_signed_images)
{
    hooked(UDFU_BOOT_NEED_SIG);
    uint32_t n = signed_image(1, DEV_SLOT0, 0, 1);
    CHECK_EQ(dev_write(&d, img, n), UDFU_ERR_FIRMWARE); /* digest but no signature */
    n = signed_image(1, DEV_SLOT0, 1, 0);
    CHECK_EQ(dev_write(&d, img, n), UDFU_ERR_FIRMWARE);
    CHECK(sig_calls >= 1);
    CHECK_EQ(dev_reboot(&d), UDFU_ERR_FIRMWARE);
    n = signed_image(1, DEV_SLOT0, 1, 1);
    CHECK_EQ(dev_write(&d, img, n), 0);
    CHECK_EQ(dev_reboot(&d), 0);
    dev_close(&d);
}

TEST(recheck_runs_the_hooks_at_every_boot)
{
    hooked(UDFU_BOOT_NEED_SIG | UDFU_BOOT_RECHECK);
    uint32_t n = signed_image(1, DEV_SLOT0, 1, 1);
    CHECK_EQ(dev_write(&d, img, n), 0);
    int before = sig_calls;
    CHECK_EQ(dev_reboot(&d), 0);
    CHECK_EQ(sig_calls, before + 1);
    /* a forged signature planted behind the boot layer's back */
    struct udfu_boot_hdr h;
    udfu_boot_hdr_parse(img, &h);
    h.sig[5] ^= 0xFF;
    udfu_boot_hdr_write(img, &h);
    memcpy(udfu_nor_mem(&d.nor, DEV_SLOT0), img, UDFU_BOOT_HDR_LEN);
    CHECK_EQ(dev_reboot(&d), UDFU_ERR_FIRMWARE);
    dev_close(&d);
}

static int no_downgrade(void *ctx, uint8_t slot, const struct udfu_boot_hdr *h)
{
    (void)ctx;
    (void)slot;
    return h->version >= 2 ? 0 : UDFU_ERR_FIRMWARE;
}

TEST(accept_hook_vetoes_an_image)
{
    dev_open(&d, LAYOUT_SINGLE, 0);
    d.cfg.accept = no_downgrade;
    dev_reboot(&d);
    CHECK_EQ(dev_download(&d, 1, STYLE_PLAIN, 0), UDFU_ERR_FIRMWARE);
    CHECK_EQ(dev_reboot(&d), UDFU_ERR_FIRMWARE);
    CHECK_EQ(dev_download(&d, 2, STYLE_PLAIN, 0), 0);
    CHECK_EQ(dev_classify(&d, dev_reboot(&d)), BOOT_NEW);
    dev_close(&d);
}

int main(void)
{
    RUN(crc32_is_the_zlib_one);
    RUN(header_round_trips_and_rejects_damage);
    RUN(flag_survives_a_reset_once);
    RUN(flag_ignores_power_on_garbage);
    RUN(flag_unlocks_backup_registers_before_writing);
    RUN(single_fresh_device_stays_in_dfu);
    RUN(single_committed_image_boots);
    RUN(single_complete_image_without_commit_does_not_boot);
    RUN(single_first_write_invalidates_the_old_image);
    RUN(single_corrupt_download_is_refused_and_stays_in_dfu);
    RUN(dfuse_download_in_any_order_commits);
    RUN(image_that_rots_after_commit_is_not_booted);
    RUN(image_replaced_behind_the_journals_back_is_not_booted);
    RUN(writes_outside_the_update_slot_are_refused_without_side_effect);
    RUN(commit_without_a_new_download_changes_nothing);
    RUN(commit_takes_only_what_this_session_wrote);
    RUN(update_slot_bounds_are_exact_to_the_byte);
    RUN(image_length_must_fit_the_slot_and_not_be_empty);
    RUN_IF(HAS_AB, ab_new_image_is_tried_then_confirmed);
    RUN_IF(HAS_AB, ab_new_image_that_never_confirms_is_rolled_back);
    RUN_IF(HAS_AB, ab_bare_commit_does_not_revive_a_rolled_back_trial);
    RUN_IF(HAS_AB, ab_bare_commit_does_not_revive_an_older_image_after_a_failed_update);
    RUN_IF(HAS_AB, ab_fallback_slot_cannot_be_written);
    RUN_IF(HAS_AB, ab_image_linked_for_the_other_slot_is_refused);
    RUN_IF(HAS_AB, ab_damaged_newer_image_falls_back_to_older_confirmed);
    RUN_IF(HAS_AB, ab_pending_trial_does_not_boot_when_its_boot_cannot_be_counted);
    RUN_IF(HAS_FACTORY, factory_boots_when_nothing_else_is_there);
    RUN_IF(HAS_FACTORY, factory_upgrade_boots_and_an_invalid_one_reverts_to_factory);
    RUN_IF(HAS_FACTORY, factory_revert_command_invalidates_the_upgrade);
    RUN_IF(HAS_FACTORY && UDFU_CFG_BOOT_TRIAL, factory_with_trials_falls_back_to_factory);
    RUN_IF(HAS_AB, journal_survives_many_compactions);
    RUN(journal_survives_many_compactions_single_slot);
    RUN(journal_record_that_cannot_be_read_counts_as_torn);
    RUN_IF(HAS_AB, journal_with_a_torn_record_keeps_the_records_around_it);
    RUN(journal_with_a_torn_record_keeps_the_records_around_it_single_slot);
    RUN_IF(HAS_AB, journal_programs_each_write_unit_once);
    RUN(journal_programs_each_write_unit_once_single_slot);
    RUN_IF(HAS_TWO_SLOTS, journal_keeps_the_newest_image_first_across_many_commits);
    RUN_IF(HAS_TWO_SLOTS, journal_write_that_fails_but_lands_still_counts_against_the_ranks);
    RUN(sha256_test_vector);
    RUN_IF(UDFU_CFG_BOOT_HOOKS, sha256_image_is_checked_through_the_hooks);
    RUN_IF(UDFU_CFG_BOOT_HOOKS, need_sha256_refuses_images_without_one);
    RUN_IF(UDFU_CFG_BOOT_HOOKS, need_sig_refuses_unsigned_and_badly_signed_images);
    RUN_IF(UDFU_CFG_BOOT_HOOKS, recheck_runs_the_hooks_at_every_boot);
    RUN_IF(UDFU_CFG_BOOT_HOOKS, accept_hook_vetoes_an_image);
    return test_summary();
}
