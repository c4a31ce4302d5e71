/*
 * test_host_plain.c - plain DFU 1.1 download/upload/manifestation through
 * the host library against udfu's device stack on the loopback transport.
 */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "test.h"

#define PLAIN_SIZE (64u * 4096u)

static uint8_t data[PLAIN_SIZE + 4096];
static uint8_t back[PLAIN_SIZE + 4096];

TEST(plain_device_has_no_dfuse_layout)
{
    struct fx f;
    if (fx_open(&f, 0, 0, 0))
        return;
    CHECK_EQ(udfu_host_info(f.dev)->bcd_dfu, UDFU_BCD_DFU);
    CHECK(!udfu_host_is_dfuse(f.dev));
    CHECK(!strcmp(udfu_host_info(f.dev)->alts[0].name, "Firmware"));
    CHECK_EQ(udfu_host_dfuse_write(f.dev, 0x08000000u, data, 16), UDFU_ERR_UNSUPPORTED);
    CHECK(strstr(udfu_host_message(f.dev), "plain DFU"));
    fx_close(&f);
}

TEST(plain_download_writes_the_image_and_manifests_in_place)
{
    struct fx f;
    const uint32_t len = 10000; /* not a multiple of the 2048-byte blocks */
    if (fx_open(&f, 0, 0, 0))
        return;
    fx_random(data, len, 11);
    CHECK_EQ(udfu_host_download(f.dev, data, len), 0);
    CHECK(fx_flash_is(&f, 0x08000000u, data, len));
    /* The device erased the sectors the image reached: 3 of 4 KiB. */
    CHECK(fx_flash_erased(&f, 0x08000000u + len, 3 * 4096 - len));
    CHECK(fx_flash_untouched(&f, 0x08003000u, PLAIN_SIZE - 3 * 4096));
    /* Manifestation tolerant: back in dfuIDLE, no reset, still here. */
    CHECK_EQ(udfu_host_get_state(f.dev), UDFU_DFU_IDLE);
    CHECK_EQ(f.lb.bus_resets, 0);
    CHECK_EQ(f.lb.early_polls, 0);
    CHECK_EQ(f.lb.late_polls, 0);
    /* The manifestation's 120 ms were waited for, not more. */
    CHECK(f.lb.now >= 120);
    fx_close(&f);
}

TEST(plain_upload_reads_until_the_short_block_or_the_limit)
{
    struct fx f;
    long n;
    if (fx_open(&f, 0, 0, 0))
        return;
    fx_random(data, 5000, 12);
    CHECK_EQ(udfu_host_download(f.dev, data, 5000), 0);
    /* Limited to 5000 bytes: the host stops and aborts the upload. */
    n = udfu_host_upload(f.dev, back, 5000);
    CHECK_EQ(n, 5000);
    CHECK_MEM(back, data, 5000);
    CHECK_EQ(udfu_host_get_state(f.dev), UDFU_DFU_IDLE);
    /* Unlimited: the whole target, ended by the device's short block (an
     * exact multiple of wTransferSize needs the zero-length one). */
    n = udfu_host_upload(f.dev, back, sizeof back);
    CHECK_EQ(n, PLAIN_SIZE);
    CHECK(fx_flash_is(&f, 0x08000000u, back, PLAIN_SIZE));
    CHECK_EQ(udfu_host_get_state(f.dev), UDFU_DFU_IDLE);
    fx_close(&f);
}

TEST(plain_image_larger_than_the_target_fails_with_the_device_status)
{
    struct fx f;
    if (fx_open(&f, 0, 0, 0))
        return;
    fx_random(data, PLAIN_SIZE + 2048, 13);
    CHECK(udfu_host_download(f.dev, data, PLAIN_SIZE + 2048) == UDFU_ERR_RANGE);
    CHECK(strstr(udfu_host_message(f.dev), "errADDRESS"));
    /* The device is usable again right away. */
    CHECK_EQ(udfu_host_get_state(f.dev), UDFU_DFU_IDLE);
    fx_close(&f);
}

TEST(non_tolerant_device_is_reset_after_manifestation_and_leaves)
{
    struct fx f;
    if (fx_open(&f, 0, UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_CAN_UPLOAD, 0))
        return;
    fx_random(data, 3000, 14);
    CHECK_EQ(udfu_host_download(f.dev, data, 3000), 0);
    CHECK(fx_flash_is(&f, 0x08000000u, data, 3000));
    /* dfuMANIFEST-WAIT-RESET -> the host reset the bus -> leave(). */
    CHECK_EQ(f.lb.bus_resets, 1);
    CHECK_EQ(f.lb.leaves, 1);
    CHECK_EQ(udfu_host_reconnect(f.dev, UDFU_PROTOCOL_RUNTIME, 5000), 0);
    CHECK_EQ(udfu_host_info(f.dev)->pid, FX_PID_RT);
    fx_close(&f);
}

TEST(failed_manifestation_is_reported_as_firmware_error)
{
    struct fx f;
    if (fx_open(&f, 0, 0, 0))
        return;
    f.lb.manifest_result = UDFU_ERR_FIRMWARE;
    fx_random(data, 3000, 15);
    CHECK_EQ(udfu_host_download(f.dev, data, 3000), UDFU_ERR_FIRMWARE);
    CHECK(strstr(udfu_host_message(f.dev), "errFIRMWARE"));
    CHECK(strstr(udfu_host_message(f.dev), "manifestation"));
    fx_close(&f);
}

TEST(download_to_a_device_without_download_support_is_refused)
{
    struct fx f;
    uint32_t before;
    if (fx_open(&f, 0, UDFU_ATTR_CAN_UPLOAD | UDFU_ATTR_MANIFEST_TOLERANT, 0))
        return;
    before = f.lb.transfers;
    CHECK_EQ(udfu_host_download(f.dev, data, 100), UDFU_ERR_UNSUPPORTED);
    CHECK_EQ(f.lb.transfers, before);
    fx_close(&f);
}

TEST(runtime_device_detaches_then_takes_a_plain_download)
{
    struct fx f;
    if (fx_open(&f, 0, 0, 1))
        return;
    CHECK_EQ(udfu_host_info(f.dev)->protocol, UDFU_PROTOCOL_RUNTIME);
    CHECK_EQ(udfu_host_detach(f.dev, 0), 0);
    fx_random(data, 7000, 16);
    CHECK_EQ(udfu_host_download(f.dev, data, 7000), 0);
    CHECK(fx_flash_is(&f, 0x08000000u, data, 7000));
    CHECK_EQ(f.lb.early_polls + f.lb.late_polls, 0);
    fx_close(&f);
}

int main(void)
{
    RUN(plain_device_has_no_dfuse_layout);
    RUN(plain_download_writes_the_image_and_manifests_in_place);
    RUN(plain_upload_reads_until_the_short_block_or_the_limit);
    RUN(plain_image_larger_than_the_target_fails_with_the_device_status);
    RUN(non_tolerant_device_is_reset_after_manifestation_and_leaves);
    RUN(failed_manifestation_is_reported_as_firmware_error);
    RUN(download_to_a_device_without_download_support_is_refused);
    RUN(runtime_device_detaches_then_takes_a_plain_download);
    return test_summary();
}
