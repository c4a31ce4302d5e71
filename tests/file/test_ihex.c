/* Intel HEX reader: addressing modes, checksums, malformed text. */
#include <string.h>

#include "fence.h"
#include "test.h"
#include "udfu_file.h"

struct run {
    uint32_t addr;
    uint32_t len;
    uint8_t data[256];
};

static struct run runs[32];
static int nruns, stop_after;

static int collect(void *ctx, uint32_t address, const uint8_t *data, uint32_t len)
{
    (void)ctx;
    if (nruns == stop_after)
        return UDFU_ERR_IO;
    runs[nruns].addr = address;
    runs[nruns].len = len;
    memcpy(runs[nruns].data, data, len);
    nruns++;
    return 0;
}

/* Parses a NUL-terminated text placed against a guard page. */
static int parse(const char *text, int *line)
{
    size_t n = strlen(text);
    const char *t = (const char *)fence_copy(text, n, FENCE_END);

    nruns = 0;
    stop_after = -1;
    return udfu_ihex_parse(t, n, collect, NULL, line);
}

static const char mixed[] =
    ":020000040800F2\n"                             /* linear base 0x08000000 */
    ":10000000000102030405060708090A0B0C0D0E0F78\n" /* 16 bytes at 0x08000000 */
    ":0400100010111213A6\n"                         /* 4 bytes at 0x08000010 */
    ":020000021000EC\n"                             /* segment base 0x10000 */
    ":03FFFE00A0A1A21D\n"                           /* wraps inside its segment */
    ":0400000508000000EF\n"                         /* start linear address */
    ":0400000300001234B3\n"                         /* start segment address */
    ":00000001FF\n";

TEST(ihex_extended_linear_and_segment_addresses_place_data)
{
    int line = 0;

    CHECK_EQ(parse(mixed, &line), 0);
    CHECK_EQ(nruns, 4);
    CHECK_EQ(runs[0].addr, 0x08000000u);
    CHECK_EQ(runs[0].len, 16);
    CHECK_EQ(runs[0].data[15], 0x0F);
    CHECK_EQ(runs[1].addr, 0x08000010u);
    CHECK_EQ(runs[1].len, 4);
    CHECK_MEM(runs[1].data, "\x10\x11\x12\x13", 4);
    CHECK_EQ(runs[2].addr, 0x1FFFEu);
    CHECK_EQ(runs[2].len, 2);
    CHECK_EQ(runs[3].addr, 0x10000u); /* offset 0x10000 wraps to 0 */
    CHECK_EQ(runs[3].len, 1);
    CHECK_EQ(runs[3].data[0], 0xA2);
}

/* Intel: linear addresses are (LBA + offset + index) mod 4G, so a record
 * runs on into the next 64 KiB (only segment addresses wrap inside it). */
TEST(ihex_linear_record_runs_into_the_next_64k_and_wraps_at_4g)
{
    CHECK_EQ(parse(":020000040801F1\n:04FFFE00AABBCCDDF1\n:00000001FF\n", NULL), 0);
    CHECK_EQ(nruns, 1);
    CHECK_EQ(runs[0].addr, 0x0801FFFEu);
    CHECK_EQ(runs[0].len, 4);
    CHECK_MEM(runs[0].data, "\xAA\xBB\xCC\xDD", 4);
    CHECK_EQ(parse(":02000004FFFFFC\n:10FFF000000102030405060708090A0B0C0D0E0F89\n"
                   ":00000001FF\n",
                   NULL),
             0);
    CHECK_EQ(nruns, 1); /* up to exactly 4 GiB: one run */
    CHECK_EQ(runs[0].addr, 0xFFFFFFF0u);
    CHECK_EQ(runs[0].len, 16);
    CHECK_EQ(parse(":02000004FFFFFC\n:02FFFF00556645\n:00000001FF\n", NULL), 0);
    CHECK_EQ(nruns, 2); /* past 4 GiB: the rest at 0 */
    CHECK_EQ(runs[0].addr, 0xFFFFFFFFu);
    CHECK_EQ(runs[0].len, 1);
    CHECK_EQ(runs[0].data[0], 0x55);
    CHECK_EQ(runs[1].addr, 0u);
    CHECK_EQ(runs[1].len, 1);
    CHECK_EQ(runs[1].data[0], 0x66);
}

/* Without any base record the addresses are 16-bit: they wrap at 64 KiB. */
TEST(ihex_without_a_base_record_wraps_at_64k)
{
    CHECK_EQ(parse(":02FFFF00556645\n:00000001FF\n", NULL), 0);
    CHECK_EQ(nruns, 2);
    CHECK_EQ(runs[0].addr, 0xFFFFu);
    CHECK_EQ(runs[1].addr, 0u);
    CHECK_EQ(runs[1].data[0], 0x66);
}

TEST(ihex_accepts_crlf_lowercase_blank_lines_and_ignores_text_after_eof)
{
    CHECK_EQ(parse("\r\n:04010000deadbeefc3\r\n\r\n  :00000001ff\r\ngarbage", NULL), 0);
    CHECK_EQ(nruns, 1);
    CHECK_EQ(runs[0].addr, 0x100);
    CHECK_MEM(runs[0].data, "\xDE\xAD\xBE\xEF", 4);
}

TEST(ihex_bad_checksum_is_a_format_error_on_its_line)
{
    int line = 0;

    CHECK_EQ(parse(":020000040800F2\n:0400100010111213A7\n:00000001FF\n", &line),
             UDFU_ERR_FORMAT);
    CHECK_EQ(line, 2);
    CHECK_EQ(parse(":00000001FE\n", &line), UDFU_ERR_FORMAT);
    CHECK_EQ(line, 1);
}

TEST(ihex_bad_hex_digit_is_a_format_error_on_its_line)
{
    int line = 0;

    CHECK_EQ(parse("\n\n:04010000DEADBEGFC3\n:00000001FF\n", &line), UDFU_ERR_FORMAT);
    CHECK_EQ(line, 3);
    CHECK_EQ(parse(":0G010000DEADBEEFC3\n:00000001FF\n", &line), UDFU_ERR_FORMAT);
    CHECK_EQ(line, 1);
    CHECK_EQ(parse(":04010000DEADBEEFC3\n:00000001F \n", &line), UDFU_ERR_FORMAT);
    CHECK_EQ(line, 2);
    CHECK_EQ(nruns, 1); /* the good record before it was delivered */
}

TEST(ihex_missing_eof_record_is_a_format_error)
{
    int line = 0;

    CHECK_EQ(parse(":04010000DEADBEEFC3\n", &line), UDFU_ERR_FORMAT);
    CHECK_EQ(parse(":04010000DEADBEEFC3", &line), UDFU_ERR_FORMAT);
    CHECK_EQ(parse("", &line), UDFU_ERR_FORMAT);
    /* The length is honoured: a EOF record beyond len does not count. */
    CHECK_EQ(udfu_ihex_parse(":00000001FF\n", 10, NULL, NULL, &line), UDFU_ERR_FORMAT);
    CHECK_EQ(udfu_ihex_parse(":00000001FF\n", 11, NULL, NULL, &line), 0);
}

TEST(ihex_record_length_must_match_the_line)
{
    CHECK_EQ(parse(":05010000DEADBEEFC3\n:00000001FF\n", NULL), UDFU_ERR_FORMAT);
    CHECK_EQ(parse(":03010000DEADBEEFC3\n:00000001FF\n", NULL), UDFU_ERR_FORMAT);
    CHECK_EQ(parse(":04010000DEADBEEFC300\n:00000001FF\n", NULL), UDFU_ERR_FORMAT);
    CHECK_EQ(parse(":FF010000DEADBEEF", NULL), UDFU_ERR_FORMAT);
    CHECK_EQ(parse(":0", NULL), UDFU_ERR_FORMAT);
    CHECK_EQ(parse(":04010000DEADBEEFC3:00000001FF\n", NULL), UDFU_ERR_FORMAT);
    CHECK_EQ(parse(":04010000DEADBEEFC3 \n:00000001FF\n", NULL), UDFU_ERR_FORMAT);
    CHECK_EQ(parse(":", NULL), UDFU_ERR_FORMAT);
}

TEST(ihex_unknown_types_and_wrong_special_lengths_are_format_errors)
{
    CHECK_EQ(parse(":00000006FA\n:00000001FF\n", NULL), UDFU_ERR_FORMAT);
    CHECK_EQ(parse(":0100000100FE\n", NULL), UDFU_ERR_FORMAT);
    CHECK_EQ(parse(":0100000401FA\n:00000001FF\n", NULL), UDFU_ERR_FORMAT);
    CHECK_EQ(parse(":020000051234B3\n:00000001FF\n", NULL), UDFU_ERR_FORMAT);
    CHECK_EQ(parse(":00000003FD\n:00000001FF\n", NULL), UDFU_ERR_FORMAT);
    CHECK_EQ(parse("x:00000001FF\n", NULL), UDFU_ERR_FORMAT);
}

TEST(ihex_callback_error_stops_the_parse)
{
    int line = 0;
    size_t n = strlen(mixed);

    nruns = 0;
    stop_after = 1;
    CHECK_EQ(udfu_ihex_parse(mixed, n, collect, NULL, &line), UDFU_ERR_IO);
    CHECK_EQ(nruns, 1);
    CHECK_EQ(line, 3);
    CHECK_EQ(udfu_ihex_parse(mixed, n, NULL, NULL, NULL), 0); /* validate only */
}

TEST(ihex_every_truncation_is_rejected_without_overread)
{
    size_t n = strlen(mixed);

    for (size_t cut = 0; cut + 1 < n; cut++) {
        const char *t = (const char *)fence_copy(mixed, cut, FENCE_END);
        CHECK_EQ(udfu_ihex_parse(t, cut, NULL, NULL, NULL), UDFU_ERR_FORMAT);
    }
}

int main(void)
{
    RUN(ihex_extended_linear_and_segment_addresses_place_data);
    RUN(ihex_linear_record_runs_into_the_next_64k_and_wraps_at_4g);
    RUN(ihex_without_a_base_record_wraps_at_64k);
    RUN(ihex_accepts_crlf_lowercase_blank_lines_and_ignores_text_after_eof);
    RUN(ihex_bad_checksum_is_a_format_error_on_its_line);
    RUN(ihex_bad_hex_digit_is_a_format_error_on_its_line);
    RUN(ihex_missing_eof_record_is_a_format_error);
    RUN(ihex_record_length_must_match_the_line);
    RUN(ihex_unknown_types_and_wrong_special_lengths_are_format_errors);
    RUN(ihex_callback_error_stops_the_parse);
    RUN(ihex_every_truncation_is_rejected_without_overread);
    return test_summary();
}
