/*
 * test_host_dfuse.c - the host library's DfuSe operations against udfu's
 * own device stack on the loopback transport: flash checked byte for
 * byte, bad requests refused before the device is touched, bwPollTimeout
 * honoured to the millisecond.
 */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "test.h"
#include "udfu_file.h"

static uint8_t data[300 * 1024];

TEST(attach_reads_the_dfuse_layout_and_functional_descriptor)
{
    struct fx f;
    const struct udfu_host_info *i;
    if (fx_open(&f, 1, 0, 0))
        return;
    i = udfu_host_info(f.dev);
    CHECK_EQ(i->vid, FX_VID);
    CHECK_EQ(i->pid, FX_PID_DFU);
    CHECK(!strcmp(i->serial, "FX0001"));
    CHECK_EQ(i->protocol, UDFU_PROTOCOL_DFU);
    CHECK(i->has_func);
    CHECK_EQ(i->transfer_size, 2048);
    CHECK_EQ(i->bcd_dfu, UDFU_BCD_DFUSE);
    CHECK_EQ(i->alt_count, 1);
    CHECK(i->alts[0].dfuse);
    CHECK(!strcmp(i->alts[0].mem_name, "Internal Flash"));
    CHECK(i->alts[0].region_count >= 4);
    CHECK_EQ(i->alts[0].regions[0].start, FX_FLASH);
    CHECK_EQ(i->alts[0].regions[0].attr, UDFU_MEM_READ);
    CHECK(udfu_host_is_dfuse(f.dev));
    fx_close(&f);
}

TEST(write_erases_only_touched_sectors_and_reads_back_byte_for_byte)
{
    struct fx f;
    uint8_t *back = malloc(40000);
    const uint32_t len = 40000; /* sectors 1..3 (16K each), ends inside sector 3 */
    if (fx_open(&f, 1, 0, 0))
        return;
    fx_random(data, len, 1);
    CHECK_EQ(udfu_host_dfuse_write(f.dev, FX_APP, data, len), 0);
    CHECK(fx_flash_is(&f, FX_APP, data, len));
    /* Left in dfuIDLE: a reset now would not look like a download cut short. */
    CHECK_EQ(udfu_dfu_state(&f.lb.dfu), UDFU_DFU_IDLE);
    /* The rest of sector 3 was erased with it; the others are untouched. */
    CHECK(fx_flash_erased(&f, FX_APP + len, 0x08010000u - (FX_APP + len)));
    CHECK(fx_flash_untouched(&f, FX_FLASH, 0x4000));
    CHECK(fx_flash_untouched(&f, 0x08010000u, 0x10000));
    CHECK_EQ(f.lb.nor.erases, 3);
    CHECK_EQ(udfu_host_dfuse_read(f.dev, FX_APP, back, len), 0);
    CHECK_MEM(back, data, len);
    CHECK_EQ(f.lb.early_polls, 0);
    CHECK_EQ(f.lb.late_polls, 0);
    /* Three 250 ms erases and 40 us/KiB of programming took virtual time. */
    CHECK(f.lb.now >= 750);
    free(back);
    fx_close(&f);
}

TEST(write_into_bootloader_is_refused_before_any_transfer)
{
    struct fx f;
    uint32_t before;
    if (fx_open(&f, 1, 0, 0))
        return;
    before = f.lb.transfers;
    fx_random(data, 1000, 2);
    CHECK_EQ(udfu_host_dfuse_write(f.dev, FX_FLASH, data, 1000), UDFU_ERR_PERM);
    CHECK(strstr(udfu_host_message(f.dev),
                 "0x08000000-0x08003FFF is read-only (bootloader); use --address 0x08004000"));
    CHECK_EQ(f.lb.transfers, before);
    CHECK(fx_flash_untouched(&f, FX_FLASH, FX_FLASH_SIZE));
    fx_close(&f);
}

TEST(write_straddling_into_bootloader_is_refused_and_flash_unchanged)
{
    struct fx f;
    uint32_t before;
    if (fx_open(&f, 1, 0, 0))
        return;
    before = f.lb.transfers;
    /* Ends in the application area, but starts in the bootloader. */
    CHECK_EQ(udfu_host_dfuse_write(f.dev, FX_APP - 16, data, 4096), UDFU_ERR_PERM);
    CHECK_EQ(f.lb.transfers, before);
    CHECK(fx_flash_untouched(&f, FX_FLASH, FX_FLASH_SIZE));
    fx_close(&f);
}

TEST(image_larger_than_memory_is_refused_and_flash_unchanged)
{
    struct fx f;
    uint32_t before;
    if (fx_open(&f, 1, 0, 0))
        return;
    before = f.lb.transfers;
    CHECK_EQ(udfu_host_dfuse_write(f.dev, 0x080E0000u, data, 128 * 1024 + 1), UDFU_ERR_RANGE);
    CHECK(strstr(udfu_host_message(f.dev), "do not fit"));
    CHECK(strstr(udfu_host_message(f.dev), "0x080FFFFF"));
    CHECK_EQ(udfu_host_dfuse_write(f.dev, 0x20000000u, data, 16), UDFU_ERR_RANGE);
    CHECK(strstr(udfu_host_message(f.dev), "not in the memory"));
    /* 32-bit wrap-around is out of range, not a short write. */
    CHECK_EQ(udfu_host_dfuse_write(f.dev, 0xFFFFFFF0u, data, 64), UDFU_ERR_RANGE);
    CHECK_EQ(f.lb.transfers, before);
    CHECK(fx_flash_untouched(&f, FX_FLASH, FX_FLASH_SIZE));
    fx_close(&f);
}

TEST(erase_range_erases_exactly_the_sectors_it_touches)
{
    struct fx f;
    if (fx_open(&f, 1, 0, 0))
        return;
    /* One byte in sector 2, through one byte of sector 4 (the 64K one). */
    CHECK_EQ(udfu_host_dfuse_erase(f.dev, 0x0800BFFFu, 0x4002), 0);
    CHECK(fx_flash_untouched(&f, FX_FLASH, 0x8000));
    CHECK(fx_flash_erased(&f, 0x08008000u, 0x18000));
    CHECK(fx_flash_untouched(&f, 0x08020000u, 0x20000));
    CHECK_EQ(f.lb.nor.erases, 3);
    CHECK_EQ(udfu_host_dfuse_erase(f.dev, FX_FLASH, 1), UDFU_ERR_PERM);
    CHECK_EQ(f.lb.nor.erases, 3);
    CHECK_EQ(f.lb.early_polls + f.lb.late_polls, 0);
    fx_close(&f);
}

TEST(mass_erase_spares_the_read_only_bootloader)
{
    struct fx f;
    if (fx_open(&f, 1, 0, 0))
        return;
    CHECK_EQ(udfu_host_dfuse_mass_erase(f.dev), 0);
    CHECK(fx_flash_untouched(&f, FX_FLASH, 0x4000));
    CHECK(fx_flash_erased(&f, FX_APP, FX_FLASH_SIZE - 0x4000));
    CHECK_EQ(f.lb.nor.erases, 11);
    /* A sector at a time, each waited for exactly as long as announced. */
    CHECK_EQ(f.lb.early_polls + f.lb.late_polls, 0);
    CHECK(f.lb.now >= 3 * 250 + 550 + 7 * 1100);
    fx_close(&f);
}

TEST(read_of_several_runs_and_a_partial_block_is_exact)
{
    struct fx f;
    uint8_t *back = malloc(5000);
    if (fx_open(&f, 1, 0, 0))
        return;
    /* Not block aligned, not a multiple of wTransferSize (2048). */
    CHECK_EQ(udfu_host_dfuse_read(f.dev, 0x08000123u, back, 5000), 0);
    CHECK(fx_flash_is(&f, 0x08000123u, back, 5000));
    CHECK_EQ(udfu_host_get_state(f.dev), UDFU_DFU_IDLE);
    free(back);
    fx_close(&f);
}

TEST(get_commands_lists_set_address_and_erase)
{
    struct fx f;
    uint8_t cmds[16];
    int n;
    if (fx_open(&f, 1, 0, 0))
        return;
    n = udfu_host_dfuse_get_commands(f.dev, cmds, sizeof cmds);
    CHECK(n >= 3);
    CHECK(memchr(cmds, UDFU_DFUSE_CMD_SET_ADDRESS, (size_t)n) != NULL);
    CHECK(memchr(cmds, UDFU_DFUSE_CMD_ERASE, (size_t)n) != NULL);
    CHECK_EQ(udfu_host_get_state(f.dev), UDFU_DFU_IDLE);
    fx_close(&f);
}

/* ---- DfuSe files ---------------------------------------------------------- */

static size_t make_file(uint8_t *buf, size_t cap, const uint32_t *addrs, const uint32_t *sizes,
                        int n, uint16_t vid, uint16_t pid)
{
    struct udfu_dfuse_writer w;
    struct udfu_suffix sx;
    int i, len;
    memset(&sx, 0, sizeof sx);
    sx.vid = vid;
    sx.pid = pid;
    sx.bcd_device = 0xFFFF;
    CHECK_EQ(udfu_dfuse_begin(&w, buf, cap), 0);
    CHECK_EQ(udfu_dfuse_target(&w, 0, "Internal Flash"), 0);
    for (i = 0; i < n; i++)
        CHECK_EQ(udfu_dfuse_element(&w, addrs[i], data + (addrs[i] - FX_FLASH) % 65536u,
                                    sizes[i]), 0);
    len = udfu_dfuse_finish(&w, &sx);
    CHECK(len > 0);
    return len > 0 ? (size_t)len : 0;
}

static uint8_t file[400 * 1024];

TEST(dfuse_file_elements_sharing_a_sector_are_both_written)
{
    /* Two elements in sector 1 and one in the 128K area: erasing the
     * sector again for the second element would wipe the first. */
    static const uint32_t addrs[3] = {0x08004000u, 0x08005000u, 0x08020010u};
    static const uint32_t sizes[3] = {0x800, 0x1234, 3000};
    struct fx f;
    size_t len;
    int i;
    if (fx_open(&f, 1, 0, 0))
        return;
    fx_random(data, sizeof data, 3);
    len = make_file(file, sizeof file, addrs, sizes, 3, FX_VID, FX_PID_DFU);
    CHECK_EQ(udfu_host_dfuse_download_file(f.dev, file, len, 0), 0);
    CHECK_EQ(udfu_dfu_state(&f.lb.dfu), UDFU_DFU_IDLE);
    for (i = 0; i < 3; i++)
        CHECK(fx_flash_is(&f, addrs[i], data + (addrs[i] - FX_FLASH) % 65536u, sizes[i]));
    CHECK(fx_flash_erased(&f, 0x08004800u, 0x800));
    CHECK(fx_flash_untouched(&f, 0x08008000u, 0x18000));
    CHECK_EQ(f.lb.nor.erases, 2);
    CHECK_EQ(f.lb.early_polls + f.lb.late_polls, 0);
    fx_close(&f);
}

TEST(dfuse_file_with_a_bad_crc_is_refused_without_touching_the_device)
{
    static const uint32_t addrs[1] = {0x08004000u};
    static const uint32_t sizes[1] = {4096};
    struct fx f;
    size_t len;
    uint32_t before;
    if (fx_open(&f, 1, 0, 0))
        return;
    len = make_file(file, sizeof file, addrs, sizes, 1, 0xFFFF, 0xFFFF);
    file[300] ^= 0x40;
    before = f.lb.transfers;
    CHECK_EQ(udfu_host_dfuse_download_file(f.dev, file, len, 0), UDFU_ERR_CRC);
    CHECK(strstr(udfu_host_message(f.dev), "CRC"));
    CHECK_EQ(f.lb.transfers, before);
    CHECK(fx_flash_untouched(&f, FX_FLASH, FX_FLASH_SIZE));
    fx_close(&f);
}

TEST(dfuse_file_truncated_or_lying_about_sizes_is_refused)
{
    static const uint32_t addrs[1] = {0x08004000u};
    static const uint32_t sizes[1] = {4096};
    struct fx f;
    struct udfu_suffix sx;
    size_t len;
    if (fx_open(&f, 1, 0, 0))
        return;
    len = make_file(file, sizeof file, addrs, sizes, 1, 0xFFFF, 0xFFFF);
    /* The element claims more bytes than the file has; the CRC is redone
     * so that only the structure is wrong. */
    file[UDFU_DFUSE_PREFIX_LEN + UDFU_DFUSE_TARGET_PREFIX_LEN + 6] = 0x10;
    memset(&sx, 0, sizeof sx);
    sx.vid = sx.pid = sx.bcd_device = 0xFFFF;
    sx.bcd_dfu = UDFU_BCD_DFUSE;
    CHECK(udfu_suffix_append(file, len - UDFU_SUFFIX_LEN, sizeof file, &sx) > 0);
    CHECK(udfu_host_dfuse_download_file(f.dev, file, len, 0) < 0);
    CHECK(fx_flash_untouched(&f, FX_FLASH, FX_FLASH_SIZE));
    CHECK_EQ(udfu_host_dfuse_download_file(f.dev, file, 100, 0), UDFU_ERR_FORMAT);
    CHECK(fx_flash_untouched(&f, FX_FLASH, FX_FLASH_SIZE));
    fx_close(&f);
}

TEST(dfuse_file_with_one_bad_element_erases_nothing)
{
    /* The first element is fine, the second is in the bootloader: all
     * elements are checked before the first erase. */
    static const uint32_t addrs[2] = {0x08020000u, 0x08000000u};
    static const uint32_t sizes[2] = {4096, 16};
    struct fx f;
    size_t len;
    if (fx_open(&f, 1, 0, 0))
        return;
    len = make_file(file, sizeof file, addrs, sizes, 2, 0xFFFF, 0xFFFF);
    CHECK_EQ(udfu_host_dfuse_download_file(f.dev, file, len, 0), UDFU_ERR_PERM);
    CHECK_EQ(f.lb.nor.erases, 0);
    CHECK(fx_flash_untouched(&f, FX_FLASH, FX_FLASH_SIZE));
    fx_close(&f);
}

TEST(dfuse_file_for_another_device_is_refused_unless_forced)
{
    static const uint32_t addrs[1] = {0x08004000u};
    static const uint32_t sizes[1] = {512};
    struct fx f;
    size_t len;
    if (fx_open(&f, 1, 0, 0))
        return;
    len = make_file(file, sizeof file, addrs, sizes, 1, 0x0483, 0xDF11);
    CHECK_EQ(udfu_host_dfuse_download_file(f.dev, file, len, 0), UDFU_ERR_FORMAT);
    CHECK(strstr(udfu_host_message(f.dev), "--force"));
    CHECK(fx_flash_untouched(&f, FX_FLASH, FX_FLASH_SIZE));
    CHECK_EQ(udfu_host_dfuse_download_file(f.dev, file, len, 1), 0);
    CHECK(fx_flash_is(&f, 0x08004000u, data + 0x4000, 512));
    fx_close(&f);
}

/* ---- leave, detach, recovery, failures -------------------------------------- */

TEST(leave_jumps_to_the_address_and_the_device_comes_back_in_runtime_mode)
{
    struct fx f;
    if (fx_open(&f, 1, 0, 0))
        return;
    CHECK_EQ(udfu_host_dfuse_leave(f.dev, 0, 0), 0);
    /* The device leaves once it delivered the dfuMANIFEST status. */
    CHECK_EQ(udfu_host_reconnect(f.dev, UDFU_PROTOCOL_RUNTIME, 5000), 0);
    CHECK_EQ(f.lb.leaves, 1);
    CHECK_EQ(f.lb.leave_addr, FX_APP); /* default: first writable address */
    CHECK_EQ(udfu_host_info(f.dev)->protocol, UDFU_PROTOCOL_RUNTIME);
    CHECK_EQ(udfu_host_info(f.dev)->pid, FX_PID_RT);
    fx_close(&f);
}

TEST(leave_refused_by_the_device_check_fails_and_the_device_stays_in_dfu_mode)
{
    struct fx f;
    if (fx_open(&f, 1, 0, 0))
        return;
    /* The check behind the leave (a bootloader's commit) rejects the image:
     * the device answers dfuMANIFEST first, dfuERROR once the check ran. */
    f.lb.manifest_result = UDFU_ERR_FIRMWARE;
    CHECK_EQ(udfu_host_dfuse_leave(f.dev, 1, FX_APP), UDFU_ERR_FIRMWARE);
    CHECK(strstr(udfu_host_message(f.dev), "did not leave DFU mode"));
    CHECK(strstr(udfu_host_message(f.dev), "errFIRMWARE"));
    CHECK(strstr(udfu_host_message(f.dev), "0x08004000"));
    CHECK_EQ(f.lb.leaves, 0);
    CHECK(f.lb.attached);
    CHECK_EQ(f.lb.mode, UDFU_PROTOCOL_DFU);
    /* The status was read when the device said it would be ready. */
    CHECK_EQ(f.lb.early_polls, 0);
    CHECK_EQ(f.lb.late_polls, 0);
    /* The error was cleared: the device takes the next operation. */
    CHECK_EQ(udfu_host_get_state(f.dev), UDFU_DFU_IDLE);
    f.lb.manifest_result = 0;
    CHECK_EQ(udfu_host_dfuse_leave(f.dev, 1, FX_APP), 0);
    CHECK_EQ(f.lb.leaves, 1);
    CHECK(!f.lb.attached);
    fx_close(&f);
}

TEST(detach_with_will_detach_reaches_dfu_mode_without_a_reset)
{
    struct fx f;
    if (fx_open(&f, 1, 0, 1))
        return;
    CHECK_EQ(udfu_host_info(f.dev)->protocol, UDFU_PROTOCOL_RUNTIME);
    CHECK_EQ(udfu_host_recover(f.dev), UDFU_ERR_STATE);
    CHECK(strstr(udfu_host_message(f.dev), "udfu detach"));
    CHECK_EQ(udfu_host_detach(f.dev, 0), 0);
    CHECK_EQ(f.lb.detaches, 1);
    CHECK_EQ(f.lb.bus_resets, 0);
    CHECK_EQ(udfu_host_info(f.dev)->protocol, UDFU_PROTOCOL_DFU);
    CHECK_EQ(udfu_host_info(f.dev)->pid, FX_PID_DFU);
    CHECK(udfu_host_is_dfuse(f.dev));
    /* And a file for the run-time PID is still accepted in DFU mode. */
    CHECK_EQ(udfu_host_check_ids(f.dev, FX_VID, FX_PID_RT), 0);
    fx_close(&f);
}

TEST(detach_without_will_detach_resets_the_bus)
{
    struct fx f;
    if (fx_open(&f, 1, UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_CAN_UPLOAD, 1))
        return;
    CHECK_EQ(udfu_host_detach(f.dev, 0), 0);
    CHECK_EQ(f.lb.bus_resets, 1);
    CHECK_EQ(f.lb.detaches, 1);
    CHECK_EQ(udfu_host_info(f.dev)->protocol, UDFU_PROTOCOL_DFU);
    fx_close(&f);
}

static int raw(struct fx *f, uint8_t type, uint8_t req, uint16_t value, uint8_t *buf,
               uint16_t len)
{
    struct udfu_setup s;
    s.bmRequestType = type;
    s.bRequest = req;
    s.wValue = value;
    s.wIndex = 0;
    s.wLength = len;
    return udfu_loopback_ops()->control(&f->lb, &s, buf, 1000);
}

TEST(recover_clears_dfu_error_and_aborts_idle_states)
{
    struct fx f;
    uint8_t buf[2048];
    if (fx_open(&f, 1, 0, 0))
        return;
    /* DETACH in DFU mode is illegal: dfuERROR. */
    CHECK_EQ(raw(&f, UDFU_RT_OUT, UDFU_REQ_DETACH, 0, NULL, 0), UDFU_ERR_STALL);
    CHECK_EQ(udfu_host_get_state(f.dev), UDFU_DFU_ERROR);
    CHECK_EQ(udfu_host_recover(f.dev), 0);
    CHECK_EQ(f.lb.requests[UDFU_REQ_CLRSTATUS], 1);
    CHECK_EQ(udfu_host_get_state(f.dev), UDFU_DFU_IDLE);
    /* An upload left half way: dfuUPLOAD-IDLE needs an ABORT. */
    CHECK_EQ(raw(&f, UDFU_RT_IN, UDFU_REQ_UPLOAD, 2, buf, 2048), 2048);
    CHECK_EQ(udfu_host_get_state(f.dev), UDFU_UPLOAD_IDLE);
    CHECK_EQ(udfu_host_recover(f.dev), 0);
    CHECK_EQ(f.lb.requests[UDFU_REQ_ABORT], 1);
    CHECK_EQ(udfu_host_get_state(f.dev), UDFU_DFU_IDLE);
    /* Operations recover by themselves too. */
    CHECK_EQ(raw(&f, UDFU_RT_OUT, UDFU_REQ_DETACH, 0, NULL, 0), UDFU_ERR_STALL);
    fx_random(data, 100, 4);
    CHECK_EQ(udfu_host_dfuse_write(f.dev, FX_APP, data, 100), 0);
    CHECK(fx_flash_is(&f, FX_APP, data, 100));
    fx_close(&f);
}

TEST(device_gone_mid_download_is_a_clear_error)
{
    struct fx f;
    if (fx_open(&f, 1, 0, 0))
        return;
    fx_random(data, 100000, 5);
    f.lb.unplug_after = 40;
    CHECK_EQ(udfu_host_dfuse_write(f.dev, FX_APP, data, 100000), UDFU_ERR_NODEV);
    CHECK(strstr(udfu_host_message(f.dev), "went away"));
    /* Flash outside the range it was writing is unchanged. */
    CHECK(fx_flash_untouched(&f, FX_FLASH, 0x4000));
    CHECK(fx_flash_untouched(&f, 0x08020000u, FX_FLASH_SIZE - 0x20000));
    fx_close(&f);
}

TEST(a_device_error_is_reported_with_its_status_and_cleared)
{
    struct fx f;
    if (fx_open(&f, 1, 0, 0))
        return;
    /* The device itself refuses an address the host did not check. */
    CHECK_EQ(udfu_host_dfuse_set_address(f.dev, 0x30000000u), UDFU_ERR_RANGE);
    CHECK(strstr(udfu_host_message(f.dev), "errTARGET"));
    CHECK_EQ(udfu_host_get_state(f.dev), UDFU_DFU_IDLE);
    /* A program failure inside the flash. */
    f.lb.nor.fail_at = 2;
    fx_random(data, 8192, 6);
    CHECK_EQ(udfu_host_dfuse_write(f.dev, FX_APP, data, 8192), UDFU_ERR_PROG);
    CHECK(strstr(udfu_host_message(f.dev), "errPROG"));
    CHECK(strstr(udfu_host_message(f.dev), "0x08004000"));
    fx_close(&f);
}

int main(void)
{
    RUN(attach_reads_the_dfuse_layout_and_functional_descriptor);
    RUN(write_erases_only_touched_sectors_and_reads_back_byte_for_byte);
    RUN(write_into_bootloader_is_refused_before_any_transfer);
    RUN(write_straddling_into_bootloader_is_refused_and_flash_unchanged);
    RUN(image_larger_than_memory_is_refused_and_flash_unchanged);
    RUN(erase_range_erases_exactly_the_sectors_it_touches);
    RUN(mass_erase_spares_the_read_only_bootloader);
    RUN(read_of_several_runs_and_a_partial_block_is_exact);
    RUN(get_commands_lists_set_address_and_erase);
    RUN(dfuse_file_elements_sharing_a_sector_are_both_written);
    RUN(dfuse_file_with_a_bad_crc_is_refused_without_touching_the_device);
    RUN(dfuse_file_truncated_or_lying_about_sizes_is_refused);
    RUN(dfuse_file_with_one_bad_element_erases_nothing);
    RUN(dfuse_file_for_another_device_is_refused_unless_forced);
    RUN(leave_jumps_to_the_address_and_the_device_comes_back_in_runtime_mode);
    RUN(leave_refused_by_the_device_check_fails_and_the_device_stays_in_dfu_mode);
    RUN(detach_with_will_detach_reaches_dfu_mode_without_a_reset);
    RUN(detach_without_will_detach_resets_the_bus);
    RUN(recover_clears_dfu_error_and_aborts_idle_states);
    RUN(device_gone_mid_download_is_a_clear_error);
    RUN(a_device_error_is_reported_with_its_status_and_cleared);
    return test_summary();
}
