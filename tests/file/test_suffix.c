/* CRC-32 and DFU suffix: known vectors, round trips, hostile input. */
#include <string.h>

#include "fence.h"
#include "test.h"
#include "udfu_file.h"

/* Plain bit-at-a-time CRC, written from the definition, to check the
 * table-driven one against. */
static uint32_t ref_crc(uint32_t crc, const uint8_t *p, size_t n)
{
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc;
}

/* "hello world" after `dfu-suffix -a f -v 0x1234 -p 0x5678 -d 0x0200`
 * (dfu-util 0.11): a suffix written by the reference tool. */
static const uint8_t hello_dfu[] = {
    'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', 0x00, 0x02, 0x78, 0x56, 0x34,
    0x12, 0x00, 0x01, 'U', 'F', 'D', 0x10, 0x53, 0x63, 0x9b, 0x1a,
};

TEST(crc32_of_check_string_is_standard_value_without_final_xor)
{
    /* The standard CRC-32 of "123456789" is 0xCBF43926 after the final
     * xor; the DFU suffix leaves that xor out. */
    CHECK_EQ(udfu_crc32(UDFU_CRC32_INIT, "123456789", 9), 0xCBF43926u ^ 0xFFFFFFFFu);
    CHECK_EQ(udfu_crc32(UDFU_CRC32_INIT, "The quick brown fox jumps over the lazy dog", 43),
             0x414FA339u ^ 0xFFFFFFFFu);
}

TEST(crc32_of_nothing_is_the_start_value)
{
    CHECK_EQ(udfu_crc32(UDFU_CRC32_INIT, "", 0), 0xFFFFFFFFu);
    CHECK_EQ(udfu_crc32(0x12345678u, NULL, 0), 0x12345678u);
}

TEST(crc32_matches_bitwise_definition_and_chains)
{
    uint8_t buf[1000];
    uint32_t seed = 1;

    for (size_t i = 0; i < sizeof(buf); i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (uint8_t)(seed >> 16);
    }
    CHECK_EQ(udfu_crc32(UDFU_CRC32_INIT, buf, sizeof(buf)),
             ref_crc(0xFFFFFFFFu, buf, sizeof(buf)));
    for (size_t cut = 0; cut <= sizeof(buf); cut += 97) {
        uint32_t c = udfu_crc32(UDFU_CRC32_INIT, buf, cut);
        CHECK_EQ(udfu_crc32(c, buf + cut, sizeof(buf) - cut),
                 udfu_crc32(UDFU_CRC32_INIT, buf, sizeof(buf)));
    }
}

TEST(suffix_written_by_dfu_suffix_parses)
{
    struct udfu_suffix sx;

    CHECK_EQ(udfu_suffix_parse(hello_dfu, sizeof(hello_dfu), &sx), 11);
    CHECK_EQ(sx.vid, 0x1234);
    CHECK_EQ(sx.pid, 0x5678);
    CHECK_EQ(sx.bcd_device, 0x0200);
    CHECK_EQ(sx.bcd_dfu, 0x0100);
    CHECK_EQ(sx.crc, 0x1A9B6353u);
}

TEST(suffix_append_reproduces_dfu_suffix_bytes)
{
    uint8_t buf[64];
    struct udfu_suffix sx = { 0x0200, 0x5678, 0x1234, 0x0100, 0 };

    memcpy(buf, "hello world", 11);
    CHECK_EQ(udfu_suffix_append(buf, 11, sizeof(buf), &sx), (int)sizeof(hello_dfu));
    CHECK_MEM(buf, hello_dfu, sizeof(hello_dfu));
}

TEST(suffix_append_then_parse_round_trips)
{
    uint8_t buf[300];
    struct udfu_suffix in = { 0xABCD, 0xDF11, 0x0483, 0x011A, 0 }, out;

    for (size_t n = 0; n <= 280; n += 7) {
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)(i * 31 + n);
        CHECK_EQ(udfu_suffix_append(buf, n, sizeof(buf), &in), (int)n + 16);
        memset(&out, 0, sizeof(out));
        CHECK_EQ(udfu_suffix_parse(buf, n + 16, &out), (int)n);
        CHECK_EQ(out.bcd_device, in.bcd_device);
        CHECK_EQ(out.pid, in.pid);
        CHECK_EQ(out.vid, in.vid);
        CHECK_EQ(out.bcd_dfu, in.bcd_dfu);
        CHECK_EQ(out.crc, ref_crc(0xFFFFFFFFu, buf, n + 12));
    }
}

TEST(suffix_append_without_ids_writes_wildcards_and_dfu_1_0)
{
    uint8_t buf[32] = "abc";
    struct udfu_suffix out;

    CHECK_EQ(udfu_suffix_append(buf, 3, sizeof(buf), NULL), 19);
    CHECK_EQ(udfu_suffix_parse(buf, 19, &out), 3);
    CHECK_EQ(out.vid, UDFU_ID_ANY);
    CHECK_EQ(out.pid, UDFU_ID_ANY);
    CHECK_EQ(out.bcd_device, UDFU_ID_ANY);
    CHECK_EQ(out.bcd_dfu, 0x0100);
}

TEST(suffix_append_refuses_a_short_buffer_without_writing)
{
    uint8_t buf[40];

    memset(buf, 0x5A, sizeof(buf));
    CHECK_EQ(udfu_suffix_append(buf, 10, 25, NULL), UDFU_ERR_NOSPACE);
    CHECK_EQ(udfu_suffix_append(buf, 0, 15, NULL), UDFU_ERR_NOSPACE);
    CHECK_EQ(udfu_suffix_append(buf, 30, 10, NULL), UDFU_ERR_NOSPACE);
    for (size_t i = 0; i < sizeof(buf); i++)
        CHECK_EQ(buf[i], 0x5A);
    CHECK_EQ(udfu_suffix_append(buf, 10, 26, NULL), 26);
}

TEST(suffix_with_any_flipped_bit_fails_the_crc)
{
    uint8_t f[sizeof(hello_dfu)];

    for (size_t i = 0; i < sizeof(f); i++) {
        /* Flipping the signature or bLength is a format error instead. */
        if (i >= sizeof(f) - 8 && i < sizeof(f) - 4)
            continue;
        for (int bit = 0; bit < 8; bit++) {
            memcpy(f, hello_dfu, sizeof(f));
            f[i] ^= (uint8_t)(1u << bit);
            CHECK_EQ(udfu_suffix_parse(fence_copy(f, sizeof(f), FENCE_END), sizeof(f), NULL),
                     UDFU_ERR_CRC);
        }
    }
}

TEST(suffix_truncated_file_is_rejected_without_overread)
{
    struct udfu_suffix sx = { 1, 2, 3, 4, 5 };

    for (size_t n = 0; n < sizeof(hello_dfu); n++) {
        int r = udfu_suffix_parse(fence_copy(hello_dfu, n, FENCE_END), n, &sx);
        CHECK(r == UDFU_ERR_FORMAT || r == UDFU_ERR_CRC);
        r = udfu_suffix_parse(fence_copy(hello_dfu, n, FENCE_START), n, &sx);
        CHECK(r == UDFU_ERR_FORMAT || r == UDFU_ERR_CRC);
    }
    CHECK_EQ(sx.vid, 3); /* failures leave the output alone */
}

TEST(suffix_with_wrong_signature_is_a_format_error)
{
    static const char *sigs[] = { "UFE", "ufd", "DFU", "\0\0\0" };
    uint8_t f[sizeof(hello_dfu)];

    for (size_t k = 0; k < 4; k++) {
        memcpy(f, hello_dfu, sizeof(f));
        memcpy(f + sizeof(f) - 8, sigs[k], 3);
        CHECK_EQ(udfu_suffix_parse(f, sizeof(f), NULL), UDFU_ERR_FORMAT);
    }
}

/* Rewrites bLength and fixes the CRC, so only the length is wrong. */
static int parse_with_blength(uint8_t *f, size_t len, uint8_t blen)
{
    f[len - 5] = blen;
    uint32_t crc = ref_crc(0xFFFFFFFFu, f, len - 4);
    f[len - 4] = (uint8_t)crc;
    f[len - 3] = (uint8_t)(crc >> 8);
    f[len - 2] = (uint8_t)(crc >> 16);
    f[len - 1] = (uint8_t)(crc >> 24);
    return udfu_suffix_parse(fence_copy(f, len, FENCE_END), len, NULL);
}

TEST(suffix_blength_below_16_or_beyond_the_file_is_a_format_error)
{
    uint8_t f[sizeof(hello_dfu)];

    memcpy(f, hello_dfu, sizeof(f));
    CHECK_EQ(parse_with_blength(f, sizeof(f), 15), UDFU_ERR_FORMAT);
    CHECK_EQ(parse_with_blength(f, sizeof(f), 0), UDFU_ERR_FORMAT);
    CHECK_EQ(parse_with_blength(f, sizeof(f), sizeof(f) + 1), UDFU_ERR_FORMAT);
    CHECK_EQ(parse_with_blength(f, sizeof(f), 255), UDFU_ERR_FORMAT);
    /* A longer suffix that fits is allowed and shortens the payload. */
    CHECK_EQ(parse_with_blength(f, sizeof(f), 20), (int)sizeof(f) - 20);
    CHECK_EQ(parse_with_blength(f, sizeof(f), sizeof(f)), 0);
    CHECK_EQ(parse_with_blength(f + 11, 16, 16), 0);
}

int main(void)
{
    RUN(crc32_of_check_string_is_standard_value_without_final_xor);
    RUN(crc32_of_nothing_is_the_start_value);
    RUN(crc32_matches_bitwise_definition_and_chains);
    RUN(suffix_written_by_dfu_suffix_parses);
    RUN(suffix_append_reproduces_dfu_suffix_bytes);
    RUN(suffix_append_then_parse_round_trips);
    RUN(suffix_append_without_ids_writes_wildcards_and_dfu_1_0);
    RUN(suffix_append_refuses_a_short_buffer_without_writing);
    RUN(suffix_with_any_flipped_bit_fails_the_crc);
    RUN(suffix_truncated_file_is_rejected_without_overread);
    RUN(suffix_with_wrong_signature_is_a_format_error);
    RUN(suffix_blength_below_16_or_beyond_the_file_is_a_format_error);
    return test_summary();
}
