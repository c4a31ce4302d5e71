/* DfuSe container: reader and writer against hand-laid files, and every
 * size field of a hostile file. */
#include <string.h>

#include "fence.h"
#include "test.h"
#include "udfu_file.h"

/* ---- an independent builder, straight from UM0391 ---------------------- */

static uint8_t img[8192];
static size_t img_len;

static void put(const void *p, size_t n)
{
    memcpy(img + img_len, p, n);
    img_len += n;
}

static void put32(uint32_t v)
{
    uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    put(b, 4);
}

static uint32_t get32(size_t at)
{
    return (uint32_t)img[at] | (uint32_t)img[at + 1] << 8 | (uint32_t)img[at + 2] << 16 |
           (uint32_t)img[at + 3] << 24;
}

static void set32(size_t at, uint32_t v)
{
    size_t keep = img_len;
    img_len = at;
    put32(v);
    img_len = keep;
}

static void prefix(uint8_t targets)
{
    img_len = 0;
    put("DfuSe\x01", 6);
    put32(0); /* image size, fixed by seal() */
    put(&targets, 1);
}

/* An unnamed target (bTargetNamed 0) still gets its name bytes written:
 * they are garbage a reader must not report. */
static size_t target_hdr(uint8_t alt, int named, const char *name, uint32_t size,
                         uint32_t count)
{
    uint8_t n[255] = { 0 };
    size_t at = img_len;

    put("Target", 6);
    put(&alt, 1);
    put32(named ? 1 : 0);
    if (name)
        memcpy(n, name, strlen(name));
    put(n, sizeof(n));
    put32(size);
    put32(count);
    return at;
}

static void element(uint32_t addr, uint32_t size, uint8_t fill)
{
    put32(addr);
    put32(size);
    for (uint32_t i = 0; i < size; i++)
        img[img_len++] = (uint8_t)(fill + i);
}

/* Recomputes the CRC, so a test reaches the structure it broke. */
static void reseal(void)
{
    set32(img_len - 4, udfu_crc32(UDFU_CRC32_INIT, img, img_len - 4));
}

static void seal(void)
{
    static const uint8_t sx[12] = { 0x00, 0x22, 0x11, 0xDF, 0x83, 0x04, 0x1A, 0x01,
                                    'U',  'F',  'D',  16 };
    set32(6, (uint32_t)img_len);
    put(sx, sizeof(sx));
    put32(0);
    reseal();
}

/* Three targets: alt 0 "Internal Flash" (2 elements), alt 1 unnamed with
 * no element, alt 3 "Option Bytes" (an empty element and a 5-byte one).
 * t0..t2 are where their target prefixes start. */
enum { t0 = 11, t1 = t0 + 274 + 153, t2 = t1 + 274 };

static void sample(void)
{
    prefix(3);
    CHECK_EQ(target_hdr(0, 1, "Internal Flash", 2 * 8 + 100 + 37, 2), t0);
    element(0x08000000u, 100, 0x10);
    element(0x08004000u, 37, 0x80);
    CHECK_EQ(target_hdr(1, 0, "junk", 0, 0), t1);
    CHECK_EQ(target_hdr(3, 1, "Option Bytes", 8 + 8 + 5, 2), t2);
    element(0x1FFFC000u, 0, 0);
    element(0x1FFFC008u, 5, 0xF0);
    seal();
}

static int open_fenced(struct udfu_dfuse_reader *r)
{
    int a = udfu_dfuse_open(r, fence_copy(img, img_len, FENCE_START), img_len);
    int b = udfu_dfuse_open(r, fence_copy(img, img_len, FENCE_END), img_len);
    CHECK_EQ(a, b);
    return b;
}

static int check_elem(struct udfu_dfuse_reader *r, uint32_t addr, uint32_t size, uint8_t fill)
{
    struct udfu_dfuse_element e;
    int ok = udfu_dfuse_next_element(r, &e) == 1 && e.address == addr && e.size == size;

    for (uint32_t i = 0; ok && i < size; i++)
        ok = e.data[i] == (uint8_t)(fill + i);
    return ok;
}

/* ---- reading good files -------------------------------------------------- */

TEST(dfuse_reader_walks_several_targets_and_elements)
{
    struct udfu_dfuse_reader r;
    struct udfu_dfuse_target t;

    sample();
    CHECK_EQ(open_fenced(&r), 0);
    CHECK_EQ(udfu_dfuse_next_target(&r, &t), 1);
    CHECK_EQ(t.alt, 0);
    CHECK_EQ(t.named, 1);
    CHECK(strcmp(t.name, "Internal Flash") == 0);
    CHECK_EQ(t.elements, 2);
    CHECK_EQ(t.size, 153);
    CHECK(check_elem(&r, 0x08000000u, 100, 0x10));
    CHECK(check_elem(&r, 0x08004000u, 37, 0x80));
    CHECK_EQ(udfu_dfuse_next_element(&r, NULL), 0);
    CHECK_EQ(udfu_dfuse_next_target(&r, &t), 1);
    CHECK_EQ(t.alt, 1);
    CHECK_EQ(t.named, 0);
    CHECK_EQ(t.name[0], '\0');
    CHECK_EQ(udfu_dfuse_next_element(&r, NULL), 0);
    CHECK_EQ(udfu_dfuse_next_target(&r, &t), 1);
    CHECK_EQ(t.alt, 3);
    CHECK(strcmp(t.name, "Option Bytes") == 0);
    CHECK(check_elem(&r, 0x1FFFC000u, 0, 0));
    CHECK(check_elem(&r, 0x1FFFC008u, 5, 0xF0));
    CHECK_EQ(udfu_dfuse_next_element(&r, NULL), 0);
    CHECK_EQ(udfu_dfuse_next_target(&r, &t), 0);
    CHECK_EQ(udfu_dfuse_next_target(&r, &t), 0);
}

TEST(dfuse_reader_skips_elements_the_caller_did_not_read)
{
    struct udfu_dfuse_reader r;
    struct udfu_dfuse_target t;

    sample();
    CHECK_EQ(open_fenced(&r), 0);
    CHECK_EQ(udfu_dfuse_next_target(&r, &t), 1);
    CHECK(check_elem(&r, 0x08000000u, 100, 0x10)); /* second one left unread */
    CHECK_EQ(udfu_dfuse_next_target(&r, &t), 1);
    CHECK_EQ(t.alt, 1);
    CHECK_EQ(udfu_dfuse_next_target(&r, &t), 1);
    CHECK_EQ(t.alt, 3);
    CHECK(check_elem(&r, 0x1FFFC000u, 0, 0));
    CHECK_EQ(udfu_dfuse_next_target(&r, NULL), 0);
}

TEST(dfuse_image_size_with_or_without_suffix_is_accepted)
{
    struct udfu_dfuse_reader r;

    sample();
    CHECK_EQ(get32(6), img_len - 16); /* UM0391 / ST */
    CHECK_EQ(open_fenced(&r), 0);
    set32(6, (uint32_t)img_len); /* what dfuse-pack writes */
    reseal();
    CHECK_EQ(open_fenced(&r), 0);
}

TEST(dfuse_file_without_targets_opens_empty)
{
    struct udfu_dfuse_reader r;

    prefix(0);
    seal();
    CHECK_EQ(open_fenced(&r), 0);
    CHECK_EQ(udfu_dfuse_next_target(&r, NULL), 0);
    CHECK_EQ(udfu_dfuse_next_element(&r, NULL), 0);
}

/* ---- hostile files -------------------------------------------------------- */

static int open_mutated(size_t at, uint32_t v)
{
    struct udfu_dfuse_reader r;

    sample();
    set32(at, v);
    reseal();
    return open_fenced(&r);
}

static const uint32_t evil[] = { 0xFFFFFFFFu, 0xFFFFFFF8u, 0x80000000u, 0x7FFFFFFFu };

TEST(dfuse_target_size_overrunning_the_file_is_a_format_error)
{
    size_t left;

    sample();
    left = img_len - 16 - (t2 + 274);
    CHECK_EQ(open_mutated(t2 + 266, (uint32_t)left), 0); /* sanity: exact */
    CHECK_EQ(open_mutated(t2 + 266, (uint32_t)left + 1), UDFU_ERR_FORMAT);
    for (size_t k = 0; k < 4; k++) {
        CHECK_EQ(open_mutated(t0 + 266, evil[k]), UDFU_ERR_FORMAT);
        CHECK_EQ(open_mutated(t2 + 266, evil[k]), UDFU_ERR_FORMAT);
    }
}

TEST(dfuse_target_size_disagreeing_with_its_elements_is_a_format_error)
{
    CHECK_EQ(open_mutated(t0 + 266, 153 - 1), UDFU_ERR_FORMAT);
    CHECK_EQ(open_mutated(t0 + 266, 153 + 1), UDFU_ERR_FORMAT);
    CHECK_EQ(open_mutated(t0 + 266, 153 + 274), UDFU_ERR_FORMAT); /* swallows target 1 */
    CHECK_EQ(open_mutated(t1 + 266, 8), UDFU_ERR_FORMAT);
    CHECK_EQ(open_mutated(t0 + 266, 0), UDFU_ERR_FORMAT);
}

TEST(dfuse_element_size_overrunning_its_target_is_a_format_error)
{
    size_t e0 = t0 + 274, e1 = e0 + 8 + 100, e3 = t2 + 274 + 8;

    CHECK_EQ(open_mutated(e1 + 4, 37 + 1), UDFU_ERR_FORMAT);
    CHECK_EQ(open_mutated(e0 + 4, 100 + 8 + 37 + 1), UDFU_ERR_FORMAT);
    CHECK_EQ(open_mutated(e3 + 4, 5 + 1), UDFU_ERR_FORMAT);
    for (size_t k = 0; k < 4; k++) {
        CHECK_EQ(open_mutated(e0 + 4, evil[k]), UDFU_ERR_FORMAT);
        CHECK_EQ(open_mutated(e3 + 4, evil[k]), UDFU_ERR_FORMAT);
    }
    /* A smaller element leaves bytes the target size still counts. */
    CHECK_EQ(open_mutated(e1 + 4, 36), UDFU_ERR_FORMAT);
}

TEST(dfuse_element_past_4_gib_is_a_format_error)
{
    size_t e0 = t0 + 274, e3 = t2 + 274 + 8;

    CHECK_EQ(open_mutated(e0, 0xFFFFFF9Cu), 0); /* 100 bytes up to exactly 4 GiB */
    CHECK_EQ(open_mutated(e0, 0xFFFFFF9Du), UDFU_ERR_FORMAT);
    CHECK_EQ(open_mutated(e0, 0xFFFFFFFFu), UDFU_ERR_FORMAT);
    CHECK_EQ(open_mutated(e3, 0xFFFFFFFCu), UDFU_ERR_FORMAT); /* 5 bytes */
    CHECK_EQ(open_mutated(t2 + 274, 0xFFFFFFFFu), 0);         /* empty: nothing wraps */
}

TEST(dfuse_element_count_disagreeing_with_target_size_is_a_format_error)
{
    CHECK_EQ(open_mutated(t0 + 270, 1), UDFU_ERR_FORMAT);
    CHECK_EQ(open_mutated(t0 + 270, 3), UDFU_ERR_FORMAT);
    CHECK_EQ(open_mutated(t1 + 270, 1), UDFU_ERR_FORMAT);
    CHECK_EQ(open_mutated(t2 + 270, 0xFFFFFFFFu), UDFU_ERR_FORMAT);
    CHECK_EQ(open_mutated(t2 + 270, 0x20000000u), UDFU_ERR_FORMAT);
}

static int open_btargets(uint8_t n)
{
    struct udfu_dfuse_reader r;

    sample();
    img[10] = n;
    reseal();
    return open_fenced(&r);
}

TEST(dfuse_btargets_lying_either_way_is_a_format_error)
{
    CHECK_EQ(open_btargets(3), 0);
    CHECK_EQ(open_btargets(2), UDFU_ERR_FORMAT);
    CHECK_EQ(open_btargets(0), UDFU_ERR_FORMAT);
    CHECK_EQ(open_btargets(4), UDFU_ERR_FORMAT);
    CHECK_EQ(open_btargets(255), UDFU_ERR_FORMAT);
}

TEST(dfuse_image_size_mismatch_is_a_format_error)
{
    sample();
    size_t body = img_len - 16, whole = img_len;

    CHECK_EQ(open_mutated(6, (uint32_t)body - 1), UDFU_ERR_FORMAT);
    CHECK_EQ(open_mutated(6, (uint32_t)body + 1), UDFU_ERR_FORMAT);
    CHECK_EQ(open_mutated(6, (uint32_t)whole + 1), UDFU_ERR_FORMAT);
    CHECK_EQ(open_mutated(6, 0), UDFU_ERR_FORMAT);
    CHECK_EQ(open_mutated(6, 0xFFFFFFFFu), UDFU_ERR_FORMAT);
}

TEST(dfuse_bad_signatures_version_or_bcd_are_format_errors)
{
    struct udfu_dfuse_reader r;
    static const size_t spots[] = { 0, 4, 5, 11, 16 }; /* "DfuSe", version, "Target" */

    for (size_t k = 0; k < sizeof(spots) / sizeof(spots[0]); k++) {
        sample();
        img[spots[k]] ^= 0x20;
        reseal();
        CHECK_EQ(open_fenced(&r), UDFU_ERR_FORMAT);
    }
    sample();
    img[t2] = 't';
    reseal();
    CHECK_EQ(open_fenced(&r), UDFU_ERR_FORMAT);
    sample();
    img[img_len - 10] = 0x10; /* bcdDFU 0x0110: a plain DFU file */
    reseal();
    CHECK_EQ(open_fenced(&r), UDFU_ERR_FORMAT);
}

TEST(dfuse_bad_crc_is_a_crc_error)
{
    struct udfu_dfuse_reader r;

    sample();
    img[t0 + 274 + 8 + 50] ^= 1; /* element data */
    CHECK_EQ(open_fenced(&r), UDFU_ERR_CRC);
    sample();
    img[img_len - 1] ^= 0x80;
    CHECK_EQ(open_fenced(&r), UDFU_ERR_CRC);
    CHECK_EQ(udfu_dfuse_next_target(&r, NULL), 0); /* the failed reader is empty */
    CHECK_EQ(udfu_dfuse_next_element(&r, NULL), 0);
}

TEST(dfuse_truncated_file_is_rejected_at_every_length)
{
    struct udfu_dfuse_reader r;
    uint8_t copy[sizeof(img)];
    size_t full;

    sample();
    full = img_len;
    memcpy(copy, img, full);
    for (size_t n = 0; n < full; n++) {
        CHECK(udfu_dfuse_open(&r, fence_copy(copy, n, FENCE_END), n) < 0);
        /* Cut the body but give it a valid suffix and image size: the
         * target and element sizes must catch it. */
        if (n >= 11 && n < full - 16) {
            memcpy(img, copy, n);
            img_len = n;
            seal();
            CHECK_EQ(open_fenced(&r), UDFU_ERR_FORMAT);
        }
    }
}

/* Every byte of the headers set to values that matter, with a valid CRC:
 * the reader either rejects the file or every element it hands out lies
 * inside the file (the fences turn an overread into a crash). */
TEST(dfuse_mutated_headers_never_escape_the_buffer)
{
    static const uint8_t vals[] = { 0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF };
    struct udfu_dfuse_reader r;
    struct udfu_dfuse_element e;
    uint8_t copy[sizeof(img)];
    size_t full, opened = 0;

    sample();
    full = img_len;
    memcpy(copy, img, full);
    for (size_t at = 0; at < full - 4; at++) {
        int hdr = at < 11 || (at >= t0 && at < t0 + 274 + 8) || (at >= t1 && at < t1 + 274) ||
                  (at >= t2 && at < t2 + 274 + 8) || (at >= t0 + 274 + 108 && at < t0 + 274 + 116) ||
                  (at >= t2 + 282 && at < t2 + 290) || at >= full - 16;
        if (!hdr)
            continue;
        for (size_t v = 0; v < sizeof(vals); v++) {
            memcpy(img, copy, full);
            img_len = full;
            img[at] = vals[v];
            reseal();
            for (int side = 0; side < 2; side++) {
                const uint8_t *f = fence_copy(img, full, side ? FENCE_START : FENCE_END);
                if (udfu_dfuse_open(&r, f, full) != 0)
                    continue;
                opened++;
                while (udfu_dfuse_next_target(&r, NULL) > 0)
                    while (udfu_dfuse_next_element(&r, &e) > 0) {
                        CHECK(e.data >= f && e.size <= full && e.data + e.size <= f + full);
                    }
            }
        }
    }
    CHECK(opened > 0); /* harmless bytes (names, addresses) still open */
}

/* ---- writer ----------------------------------------------------------------- */

static uint8_t d100[100], d37[37], d5[5];

static void fill_data(void)
{
    for (int i = 0; i < 100; i++)
        d100[i] = (uint8_t)(0x10 + i);
    for (int i = 0; i < 37; i++)
        d37[i] = (uint8_t)(0x80 + i);
    for (int i = 0; i < 5; i++)
        d5[i] = (uint8_t)(0xF0 + i);
}

/* Writes the same file as sample(); returns the writer's result. */
static int write_sample(uint8_t *buf, size_t cap)
{
    struct udfu_dfuse_writer w;
    struct udfu_suffix sx = { 0x2200, 0xDF11, 0x0483, 0, 0 };
    int r;

    fill_data();
    if ((r = udfu_dfuse_begin(&w, buf, cap)) < 0 ||
        (r = udfu_dfuse_target(&w, 0, "Internal Flash")) < 0 ||
        (r = udfu_dfuse_element(&w, 0x08000000u, d100, 100)) < 0 ||
        (r = udfu_dfuse_element(&w, 0x08004000u, d37, 37)) < 0 ||
        (r = udfu_dfuse_target(&w, 1, NULL)) < 0 || (r = udfu_dfuse_target(&w, 3, "Option Bytes")) < 0 ||
        (r = udfu_dfuse_element(&w, 0x1FFFC000u, NULL, 0)) < 0 ||
        (r = udfu_dfuse_element(&w, 0x1FFFC008u, d5, 5)) < 0)
        return r;
    return udfu_dfuse_finish(&w, &sx);
}

TEST(dfuse_writer_lays_out_bytes_exactly_as_um0391)
{
    static uint8_t out[sizeof(img)];

    sample();
    memset(img + t1 + 11, 0, 255); /* the writer zeroes unused names */
    reseal();
    memset(out, 0xEE, sizeof(out));
    CHECK_EQ(write_sample(out, sizeof(out)), (int)img_len);
    CHECK_MEM(out, img, img_len);
    CHECK_EQ(out[img_len], 0xEE);
}

TEST(dfuse_writer_output_reads_back)
{
    static uint8_t out[sizeof(img)];
    struct udfu_dfuse_reader r;
    struct udfu_dfuse_target t;
    int n = write_sample(out, sizeof(out));
    struct udfu_suffix sx;

    CHECK(n > 0);
    CHECK_EQ(udfu_suffix_parse(out, (size_t)n, &sx), n - 16);
    CHECK_EQ(sx.bcd_dfu, UDFU_BCD_DFUSE);
    CHECK_EQ(sx.vid, 0x0483);
    CHECK_EQ(sx.pid, 0xDF11);
    CHECK_EQ(udfu_dfuse_open(&r, out, (size_t)n), 0);
    CHECK_EQ(udfu_dfuse_next_target(&r, &t), 1);
    CHECK(strcmp(t.name, "Internal Flash") == 0);
    CHECK(check_elem(&r, 0x08000000u, 100, 0x10));
}

TEST(dfuse_writer_never_writes_past_a_short_buffer)
{
    static uint8_t full[sizeof(img)];
    int need = write_sample(full, sizeof(full));

    CHECK(need > 0);
    for (int cap = 0; cap < need; cap++) {
        uint8_t *b = fence_copy(full, (size_t)cap, FENCE_END); /* writes past cap crash */
        CHECK_EQ(write_sample(b, (size_t)cap), UDFU_ERR_NOSPACE);
    }
    CHECK_EQ(write_sample(fence_copy(full, (size_t)need, FENCE_END), (size_t)need), need);
}

TEST(dfuse_writer_rejects_misuse)
{
    static uint8_t buf[300 * 274];
    struct udfu_dfuse_writer w;
    char name[257];
    int r = 0;

    CHECK_EQ(udfu_dfuse_begin(&w, buf, sizeof(buf)), 0);
    CHECK_EQ(udfu_dfuse_element(&w, 0, (const uint8_t *)"x", 1), UDFU_ERR_INVAL);
    memset(name, 'n', 256);
    name[256] = '\0';
    CHECK_EQ(udfu_dfuse_target(&w, 0, name), UDFU_ERR_INVAL);
    name[255] = '\0'; /* fills szTargetName exactly, no NUL: still readable */
    CHECK_EQ(udfu_dfuse_target(&w, 0, name), 0);
    CHECK_EQ(udfu_dfuse_element(&w, 0, NULL, 1), UDFU_ERR_INVAL);
    CHECK_EQ(udfu_dfuse_element(&w, 0, (const uint8_t *)"x", 0x80000000u), UDFU_ERR_INVAL);
    CHECK_EQ(udfu_dfuse_element(&w, 0xFFFFFFFFu, (const uint8_t *)"xy", 2), UDFU_ERR_INVAL);
    CHECK_EQ(udfu_dfuse_element(&w, 0xFFFFFFFFu, (const uint8_t *)"x", 1), 0);
    for (int i = 1; i < 255; i++)
        r |= udfu_dfuse_target(&w, (uint8_t)i, NULL);
    CHECK_EQ(r, 0);
    CHECK_EQ(udfu_dfuse_target(&w, 0, NULL), UDFU_ERR_INVAL); /* the 256th */
    CHECK_EQ(udfu_dfuse_begin(&w, buf, 10), UDFU_ERR_NOSPACE);
    CHECK_EQ(udfu_dfuse_finish(&w, NULL), UDFU_ERR_INVAL);
}

TEST(dfuse_writer_keeps_a_254_char_name_and_255_targets)
{
    static uint8_t buf[300 * 274];
    struct udfu_dfuse_writer w;
    struct udfu_dfuse_reader r;
    struct udfu_dfuse_target t;
    char name[255];
    int n, count = 0;

    memset(name, 'q', 254);
    name[254] = '\0';
    CHECK_EQ(udfu_dfuse_begin(&w, buf, sizeof(buf)), 0);
    CHECK_EQ(udfu_dfuse_target(&w, 7, name), 0);
    for (int i = 1; i < 255; i++)
        udfu_dfuse_target(&w, (uint8_t)i, NULL);
    n = udfu_dfuse_finish(&w, NULL);
    CHECK_EQ(n, 11 + 255 * 274 + 16);
    CHECK_EQ(buf[10], 255);
    CHECK_EQ(udfu_dfuse_open(&r, buf, (size_t)n), 0);
    CHECK_EQ(udfu_dfuse_next_target(&r, &t), 1);
    CHECK_EQ(t.alt, 7);
    CHECK_EQ(strlen(t.name), 254);
    while (udfu_dfuse_next_target(&r, &t) == 1)
        count++;
    CHECK_EQ(count, 254);
}

int main(void)
{
    RUN(dfuse_reader_walks_several_targets_and_elements);
    RUN(dfuse_reader_skips_elements_the_caller_did_not_read);
    RUN(dfuse_image_size_with_or_without_suffix_is_accepted);
    RUN(dfuse_file_without_targets_opens_empty);
    RUN(dfuse_target_size_overrunning_the_file_is_a_format_error);
    RUN(dfuse_target_size_disagreeing_with_its_elements_is_a_format_error);
    RUN(dfuse_element_size_overrunning_its_target_is_a_format_error);
    RUN(dfuse_element_past_4_gib_is_a_format_error);
    RUN(dfuse_element_count_disagreeing_with_target_size_is_a_format_error);
    RUN(dfuse_btargets_lying_either_way_is_a_format_error);
    RUN(dfuse_image_size_mismatch_is_a_format_error);
    RUN(dfuse_bad_signatures_version_or_bcd_are_format_errors);
    RUN(dfuse_bad_crc_is_a_crc_error);
    RUN(dfuse_truncated_file_is_rejected_at_every_length);
    RUN(dfuse_mutated_headers_never_escape_the_buffer);
    RUN(dfuse_writer_lays_out_bytes_exactly_as_um0391);
    RUN(dfuse_writer_output_reads_back);
    RUN(dfuse_writer_never_writes_past_a_short_buffer);
    RUN(dfuse_writer_rejects_misuse);
    RUN(dfuse_writer_keeps_a_254_char_name_and_255_targets);
    return test_summary();
}
