/*
 * test_host_hostile.c - the host library against devices that misbehave:
 * a scripted fake DFU/DfuSe device behind a transport of its own, on a
 * virtual clock (its sleep() only counts). Each case is something a real
 * device (broken, or malicious) can do: report a failure in bStatus while
 * bState looks fine, never finish manifestation, ask for hours of
 * bwPollTimeout, not leave when told to, advertise a wTransferSize above
 * what Linux can move, or a DfuSe layout that does not parse.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test.h"
#include "udfu_file.h"
#include "udfu_host.h"

#define MEM_SIZE (64u * 1024u)
#define BUSY_LIMIT_MS 600000u  /* the library's limit for one busy phase */
#define LEAVE_LIMIT_MS 60000u  /* and for the device's check after a leave */

enum pending { P_NONE, P_DATA, P_CMD_ADDR, P_CMD_ERASE, P_ZLP };

struct fake {
    /* the device */
    uint16_t bcd_dfu;
    uint16_t xfer;
    uint8_t alts;
    const char *names[2];
    uint32_t base[2];
    const uint8_t *product;  /* raw string descriptor, NULL: "fake" */
    /* its faults */
    uint8_t data_status;     /* bStatus (in dfuDNLOAD-IDLE) after a data block */
    uint8_t erase_status;    /* bStatus (in dfuDNLOAD-IDLE) after an Erase */
    uint32_t busy_poll;      /* > 0: dfuDNBUSY with this bwPollTimeout ... */
    int busy_forever;        /* ... and never done */
    int manifest_stuck;      /* dfuMANIFEST forever */
    uint32_t manifest_poll;
    uint8_t manifest_status; /* bStatus when manifestation ends in dfuIDLE */
    int leave_stays;         /* a DfuSe leave ends in dfuIDLE, the device stays */
    int gone;                /* unplugged: nothing answers, reopen fails */
    uint32_t reopen_real_ms; /* a failed reopen blocks this long, really */
    /* its state */
    uint8_t state, status, alt;
    uint32_t pointer;
    enum pending pending;
    uint8_t mem[2][MEM_SIZE];
    /* what the test looks at */
    uint64_t now, max_sleep;
    uint32_t data_blocks[2], erases[2], plain_block0;
};

static struct fake fk;

/* ---- descriptors -------------------------------------------------------------------- */

static int string_desc(uint8_t *buf, const char *s)
{
    size_t i, n = strlen(s);
    buf[0] = (uint8_t)(2 + 2 * n);
    buf[1] = 3;
    for (i = 0; i < n; i++) {
        buf[2 + 2 * i] = (uint8_t)s[i];
        buf[3 + 2 * i] = 0;
    }
    return buf[0];
}

static int config_desc(uint8_t *buf)
{
    int n = 9, i;
    for (i = 0; i < fk.alts; i++) {
        const uint8_t intf[9] = {9, 4, 0, (uint8_t)i, 0, 0xFE, 1, 2, (uint8_t)(4 + i)};
        memcpy(buf + n, intf, 9);
        n += 9;
    }
    {
        const uint8_t func[9] = {9, 0x21, 0x0F, 0xE8, 0x03, (uint8_t)fk.xfer,
                                 (uint8_t)(fk.xfer >> 8), (uint8_t)fk.bcd_dfu,
                                 (uint8_t)(fk.bcd_dfu >> 8)};
        memcpy(buf + n, func, 9);
        n += 9;
    }
    {
        const uint8_t head[9] = {9, 2, (uint8_t)n, 0, 1, 1, 0, 0x80, 50};
        memcpy(buf, head, 9);
    }
    return n;
}

static int descriptor(const struct udfu_setup *s, uint8_t *data)
{
    static const uint8_t dev[18] = {18, 1, 0, 2, 0, 0, 0, 64, 0x09, 0x12, 0x11, 0xDF,
                                    0, 1, 1, 2, 3, 1};
    uint8_t buf[512];
    int type = s->wValue >> 8, index = s->wValue & 0xFF, n;
    if (type == 1)
        memcpy(buf, dev, n = 18);
    else if (type == 2)
        n = config_desc(buf);
    else if (type == 3 && index == 0)
        n = 4, buf[0] = 4, buf[1] = 3, buf[2] = 0x09, buf[3] = 0x04;
    else if (type == 3 && index == 2 && fk.product)
        memcpy(buf, fk.product, n = fk.product[0]);
    else if (type == 3 && index >= 4 && index < 4 + fk.alts)
        n = string_desc(buf, fk.names[index - 4]);
    else if (type == 3 && index <= 3)
        n = string_desc(buf, "fake");
    else
        return UDFU_ERR_STALL;
    if (n > s->wLength)
        n = s->wLength;
    memcpy(data, buf, (size_t)n);
    return n;
}

/* ---- the DFU/DfuSe class -------------------------------------------------------------- */

static int dfuse(void)
{
    return fk.bcd_dfu == UDFU_BCD_DFUSE;
}

static uint8_t *at(uint32_t addr, uint32_t len)
{
    uint32_t off = addr - fk.base[fk.alt];
    if (addr < fk.base[fk.alt] || off > MEM_SIZE || len > MEM_SIZE - off)
        return NULL;
    return &fk.mem[fk.alt][off];
}

static int dnload_command(const uint8_t *data, uint16_t len)
{
    uint32_t addr = len == 5 ? (uint32_t)data[1] | (uint32_t)data[2] << 8 |
                                   (uint32_t)data[3] << 16 | (uint32_t)data[4] << 24 : 0;
    if (len == 5 && data[0] == UDFU_DFUSE_CMD_SET_ADDRESS) {
        fk.pointer = addr;
        fk.pending = P_CMD_ADDR;
    } else if (len == 5 && data[0] == UDFU_DFUSE_CMD_ERASE) {
        uint8_t *m = at(addr & ~0xFFFu, 4096);
        if (m)
            memset(m, 0xFF, 4096);
        fk.erases[fk.alt]++;
        fk.pending = P_CMD_ERASE;
    } else {
        return UDFU_ERR_STALL;
    }
    return len;
}

/* Writes like NOR: only 1 -> 0, so a write over unerased memory shows. */
static int dnload_data(uint16_t block, const uint8_t *data, uint16_t len)
{
    uint32_t addr = dfuse() ? fk.pointer + (uint32_t)(block - 2u) * fk.xfer
                            : fk.base[fk.alt] + (uint32_t)block * fk.xfer;
    uint8_t *m = at(addr, len);
    uint16_t i;
    if (!dfuse() && block == 0)
        fk.plain_block0++;
    if (!m)
        return UDFU_ERR_STALL;
    for (i = 0; i < len; i++)
        m[i] &= data[i];
    fk.data_blocks[fk.alt]++;
    fk.pending = P_DATA;
    return len;
}

static int dnload(const struct udfu_setup *s, const uint8_t *data)
{
    int n;
    if (s->wLength == 0) {
        fk.pending = P_ZLP;
        fk.state = UDFU_MANIFEST_SYNC;
        return 0;
    }
    if (dfuse() && s->wValue == 0)
        n = dnload_command(data, s->wLength);
    else if (dfuse() && s->wValue == 1)
        n = UDFU_ERR_STALL;
    else
        n = dnload_data(s->wValue, data, s->wLength);
    if (n >= 0)
        fk.state = UDFU_DNLOAD_SYNC;
    return n;
}

static int upload(const struct udfu_setup *s, uint8_t *data)
{
    uint32_t addr = dfuse() ? fk.pointer + (uint32_t)(s->wValue - 2u) * fk.xfer
                            : fk.base[fk.alt] + (uint32_t)s->wValue * fk.xfer;
    uint8_t *m = at(addr, s->wLength);
    if (!m || (dfuse() && s->wValue < 2))
        return UDFU_ERR_STALL;
    memcpy(data, m, s->wLength);
    fk.state = UDFU_UPLOAD_IDLE;
    return s->wLength;
}

/* The request is done: dfuDNLOAD-IDLE, with the status its fault says. */
static void finish_sync(void)
{
    fk.state = UDFU_DNLOAD_IDLE;
    if (fk.pending == P_DATA)
        fk.status = fk.data_status;
    else if (fk.pending == P_CMD_ERASE)
        fk.status = fk.erase_status;
}

/* What GETSTATUS reports after a DNLOAD: busy first when the fault says. */
static void advance_sync(uint32_t *poll)
{
    if (fk.busy_poll && (fk.pending == P_DATA || fk.pending == P_CMD_ERASE)) {
        fk.state = UDFU_DNBUSY;
        *poll = fk.busy_poll;
        return;
    }
    finish_sync();
}

static void advance_manifest(uint32_t *poll)
{
    if (fk.state == UDFU_MANIFEST_SYNC || fk.manifest_stuck) {
        fk.state = UDFU_MANIFEST;
        *poll = fk.manifest_poll;
    } else if (dfuse() && !fk.leave_stays) {
        fk.gone = 1; /* the leave: the device resets into its application */
    } else {
        fk.state = UDFU_DFU_IDLE;
        fk.status = fk.manifest_status;
    }
}

static int get_status(uint8_t *data)
{
    uint32_t poll = 0;
    if (fk.state == UDFU_DNLOAD_SYNC)
        advance_sync(&poll);
    else if (fk.state == UDFU_DNBUSY && fk.busy_forever)
        poll = fk.busy_poll;
    else if (fk.state == UDFU_DNBUSY)
        finish_sync();
    else if (fk.state == UDFU_MANIFEST_SYNC || fk.state == UDFU_MANIFEST)
        advance_manifest(&poll);
    if (fk.gone)
        return UDFU_ERR_NODEV;
    data[0] = fk.status;
    data[1] = (uint8_t)poll;
    data[2] = (uint8_t)(poll >> 8);
    data[3] = (uint8_t)(poll >> 16);
    data[4] = fk.state;
    data[5] = 0;
    return 6;
}

static int class_request(const struct udfu_setup *s, uint8_t *data)
{
    switch (s->bRequest) {
    case UDFU_REQ_DNLOAD: return dnload(s, data);
    case UDFU_REQ_UPLOAD: return upload(s, data);
    case UDFU_REQ_GETSTATUS: return get_status(data);
    case UDFU_REQ_GETSTATE: data[0] = fk.state; return 1;
    case UDFU_REQ_CLRSTATUS:
    case UDFU_REQ_ABORT:
        fk.state = UDFU_DFU_IDLE;
        fk.status = UDFU_STATUS_OK;
        fk.pending = P_NONE;
        return 0;
    default: return UDFU_ERR_STALL;
    }
}

/* ---- the transport -------------------------------------------------------------------- */

static int fk_control(void *ctx, const struct udfu_setup *s, uint8_t *data, uint32_t tmo)
{
    (void)ctx;
    (void)tmo;
    if (fk.gone)
        return UDFU_ERR_NODEV;
    if (s->bmRequestType == 0x80 && s->bRequest == 6)
        return descriptor(s, data);
    if ((s->bmRequestType & 0x60) == 0x20)
        return class_request(s, data);
    return 0;
}

static int fk_select(void *ctx, uint8_t interface, uint8_t alt)
{
    (void)ctx;
    (void)interface;
    if (fk.gone)
        return UDFU_ERR_NODEV;
    fk.alt = alt;
    return 0;
}

static int fk_reset(void *ctx)
{
    (void)ctx;
    return 0;
}

/* Like the libusb and USB/IP transports: a device that does not come back
 * keeps reopen busy (in real time) until the time it was given ends. */
static int fk_reopen(void *ctx, uint32_t timeout_ms)
{
    uint32_t ms = timeout_ms < fk.reopen_real_ms ? timeout_ms : fk.reopen_real_ms;
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    (void)ctx;
    if (!fk.gone)
        return 0;
    nanosleep(&ts, NULL);
    return UDFU_ERR_NODEV;
}

static void fk_sleep(void *ctx, uint32_t ms)
{
    (void)ctx;
    fk.now += ms;
    if (ms > fk.max_sleep)
        fk.max_sleep = ms;
}

static const char *fk_where(void *ctx)
{
    (void)ctx;
    return "fake";
}

static void fk_close(void *ctx)
{
    (void)ctx;
}

static int fk_wait_gone(void *ctx, uint32_t timeout_ms)
{
    (void)ctx;
    if (fk.gone)
        return 0;
    fk.now += timeout_ms;
    return UDFU_ERR_TIMEOUT;
}

static const struct udfu_host_transport_ops fk_ops = {
    fk_control, fk_select, fk_reset, fk_reopen, fk_sleep, fk_where, fk_close, fk_wait_gone,
};

/* Real-time reopen only: no sleep(), so the library sleeps for real. */
static const struct udfu_host_transport_ops fk_real_ops = {
    fk_control, fk_select, fk_reset, fk_reopen, NULL, fk_where, fk_close, fk_wait_gone,
};

/* ---- devices ----------------------------------------------------------------------------- */

static void fake_reset(uint16_t bcd_dfu)
{
    memset(&fk, 0, sizeof fk);
    fk.bcd_dfu = bcd_dfu;
    fk.xfer = 1024;
    fk.alts = 1;
    fk.names[0] = bcd_dfu == UDFU_BCD_DFUSE ? "@Flash /0x08000000/16*004Kg" : "Firmware";
    fk.base[0] = fk.base[1] = 0x08000000u;
    fk.state = UDFU_DFU_IDLE;
    memset(fk.mem, 0xFF, sizeof fk.mem);
}

static struct udfu_host_dev *fake_open(const struct udfu_host_transport_ops *ops)
{
    struct udfu_host_dev *d = udfu_host_new();
    int err = udfu_host_attach(d, ops, NULL, NULL);
    CHECK_EQ(err, 0);
    if (err)
        fprintf(stderr, "  attach: %s\n", udfu_host_message(d));
    fk.now = 0;
    fk.max_sleep = 0;
    return d;
}

static uint8_t img[16384], back[16384];

/* ---- a failure in bStatus is a failure, whatever bState says ------------------------------- */

TEST(errprog_in_dnload_idle_fails_a_dfuse_write)
{
    struct udfu_host_dev *d;
    fake_reset(UDFU_BCD_DFUSE);
    fk.data_status = UDFU_STATUS_ERR_PROG;
    d = fake_open(&fk_ops);
    memset(img, 0x5A, sizeof img);
    CHECK_EQ(udfu_host_dfuse_write(d, 0x08000000u, img, 3000), UDFU_ERR_PROG);
    CHECK(strstr(udfu_host_message(d), "errPROG"));
    /* it stopped at the first failed block */
    CHECK_EQ(fk.data_blocks[0], 1);
    udfu_host_free(d);
}

TEST(errprog_in_dnload_idle_fails_a_plain_download)
{
    struct udfu_host_dev *d;
    fake_reset(UDFU_BCD_DFU);
    fk.data_status = UDFU_STATUS_ERR_PROG;
    d = fake_open(&fk_ops);
    CHECK_EQ(udfu_host_download(d, img, 3000), UDFU_ERR_PROG);
    CHECK_EQ(fk.data_blocks[0], 1);
    udfu_host_free(d);
}

TEST(errerase_after_a_dfuse_command_in_dnload_idle_fails_it)
{
    struct udfu_host_dev *d;
    fake_reset(UDFU_BCD_DFUSE);
    fk.erase_status = UDFU_STATUS_ERR_ERASE;
    d = fake_open(&fk_ops);
    CHECK_EQ(udfu_host_dfuse_erase(d, 0x08000000u, 1), UDFU_ERR_ERASE);
    CHECK_EQ(udfu_host_dfuse_write(d, 0x08000000u, img, 100), UDFU_ERR_ERASE);
    /* nothing is written over memory the device says it did not erase */
    CHECK_EQ(fk.data_blocks[0], 0);
    udfu_host_free(d);
}

TEST(manifestation_ending_with_an_error_status_fails_the_download)
{
    struct udfu_host_dev *d;
    fake_reset(UDFU_BCD_DFU);
    fk.manifest_status = UDFU_STATUS_ERR_FIRMWARE;
    d = fake_open(&fk_ops);
    CHECK_EQ(udfu_host_download(d, img, 3000), UDFU_ERR_FIRMWARE);
    CHECK(strstr(udfu_host_message(d), "errFIRMWARE"));
    udfu_host_free(d);
}

/* ---- time limits hold, whatever the device asks for ------------------------------------ */

TEST(device_stuck_in_manifest_is_a_timeout_not_a_success)
{
    struct udfu_host_dev *d;
    fake_reset(UDFU_BCD_DFU);
    fk.manifest_stuck = 1;
    d = fake_open(&fk_ops);
    CHECK_EQ(udfu_host_download(d, img, 3000), UDFU_ERR_TIMEOUT);
    udfu_host_free(d);
}

TEST(huge_poll_timeout_in_manifest_is_never_slept_beyond_the_limit)
{
    struct udfu_host_dev *d;
    fake_reset(UDFU_BCD_DFU);
    fk.manifest_stuck = 1;
    fk.manifest_poll = 0xFFFFFF;
    d = fake_open(&fk_ops);
    CHECK_EQ(udfu_host_download(d, img, 3000), UDFU_ERR_TIMEOUT);
    CHECK(fk.now <= BUSY_LIMIT_MS);
    CHECK(fk.max_sleep <= BUSY_LIMIT_MS);
    udfu_host_free(d);
}

TEST(huge_poll_timeout_in_dnbusy_is_never_slept_beyond_the_limit)
{
    struct udfu_host_dev *d;
    fake_reset(UDFU_BCD_DFUSE);
    fk.busy_poll = 0xFFFFFF; /* 4.7 hours */
    fk.busy_forever = 1;
    d = fake_open(&fk_ops);
    CHECK_EQ(udfu_host_dfuse_erase(d, 0x08000000u, 1), UDFU_ERR_TIMEOUT);
    CHECK(fk.now <= BUSY_LIMIT_MS);
    CHECK(strstr(udfu_host_message(d), "dfuDNBUSY"));
    udfu_host_free(d);
}

TEST(long_busy_polls_stop_at_the_limit_not_after_it)
{
    struct udfu_host_dev *d;
    fake_reset(UDFU_BCD_DFUSE);
    fk.busy_poll = 250000; /* three of these are past 10 min */
    fk.busy_forever = 1;
    d = fake_open(&fk_ops);
    CHECK_EQ(udfu_host_dfuse_erase(d, 0x08000000u, 1), UDFU_ERR_TIMEOUT);
    CHECK(fk.now <= BUSY_LIMIT_MS);
    CHECK(fk.now >= 2 * 250000u); /* but it did wait while within the limit */
    udfu_host_free(d);
}

TEST(huge_poll_timeout_after_a_leave_is_never_slept_beyond_its_limit)
{
    struct udfu_host_dev *d;
    fake_reset(UDFU_BCD_DFUSE);
    fk.manifest_stuck = 1;
    fk.manifest_poll = 0xFFFFFF;
    d = fake_open(&fk_ops);
    CHECK_EQ(udfu_host_dfuse_leave(d, 1, 0x08000000u), UDFU_ERR_TIMEOUT);
    CHECK(fk.now <= LEAVE_LIMIT_MS);
    udfu_host_free(d);
}

TEST(recovery_from_a_busy_device_is_never_slept_beyond_the_limit)
{
    struct udfu_host_dev *d;
    fake_reset(UDFU_BCD_DFUSE);
    fk.busy_poll = 0xFFFFFF;
    fk.busy_forever = 1;
    d = fake_open(&fk_ops);
    fk.state = UDFU_DNBUSY; /* left busy by someone else */
    CHECK(udfu_host_recover(d) < 0);
    CHECK(fk.now <= BUSY_LIMIT_MS);
    udfu_host_free(d);
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* reopen() blocks until the time it is given ends (as the real transports
 * do): that time counts against the timeout too. */
TEST(reconnect_gives_up_after_its_timeout_in_real_time)
{
    struct udfu_host_dev *d;
    double t0, took;
    fake_reset(UDFU_BCD_DFU);
    fk.reopen_real_ms = 100000;
    d = fake_open(&fk_real_ops);
    fk.gone = 1;
    t0 = seconds();
    CHECK_EQ(udfu_host_reconnect(d, UDFU_PROTOCOL_DFU, 400), UDFU_ERR_NODEV);
    took = seconds() - t0;
    CHECK(took >= 0.39);
    CHECK(took < 0.8);
    udfu_host_free(d);
}

/* ---- leave ------------------------------------------------------------------------------- */

TEST(leave_that_ends_in_dfu_idle_is_not_reported_as_left)
{
    struct udfu_host_dev *d;
    fake_reset(UDFU_BCD_DFUSE);
    fk.leave_stays = 1;
    d = fake_open(&fk_ops);
    CHECK_EQ(udfu_host_dfuse_leave(d, 1, 0x08000000u), UDFU_ERR_STATE);
    CHECK(strstr(udfu_host_message(d), "stayed in DFU mode"));
    udfu_host_free(d);
}

TEST(leave_of_a_device_that_goes_succeeds)
{
    struct udfu_host_dev *d;
    fake_reset(UDFU_BCD_DFUSE);
    d = fake_open(&fk_ops);
    CHECK_EQ(udfu_host_dfuse_leave(d, 1, 0x08000000u), 0);
    CHECK(fk.gone);
    udfu_host_free(d);
}

/* ---- DfuSe layouts and addresses ----------------------------------------------------------- */

TEST(dfuse_alt_whose_layout_does_not_parse_is_refused_not_taken_for_plain)
{
    struct udfu_host_dev *d;
    fake_reset(UDFU_BCD_DFUSE);
    fk.names[0] = "@Flash /0x08000000/16*004Kg "; /* the trailing space breaks it */
    d = fake_open(&fk_ops);
    CHECK(!udfu_host_is_dfuse(d));
    CHECK_EQ(udfu_host_download(d, img, 3000), UDFU_ERR_UNSUPPORTED);
    CHECK(strstr(udfu_host_message(d), "does not parse"));
    CHECK(udfu_host_upload(d, back, 3000) < 0);
    CHECK_EQ(udfu_host_dfuse_write(d, 0x08000000u, img, 3000), UDFU_ERR_UNSUPPORTED);
    CHECK(strstr(udfu_host_message(d), "does not parse"));
    CHECK_EQ(udfu_host_dfuse_mass_erase(d), UDFU_ERR_UNSUPPORTED);
    /* no firmware went out as DNLOAD block 0, DfuSe's command channel */
    CHECK_EQ(fk.data_blocks[0], 0);
    CHECK_EQ(fk.erases[0], 0);
    udfu_host_free(d);
}

static size_t two_target_file(uint8_t *out, size_t cap, const uint8_t *a, const uint8_t *b,
                              uint32_t len)
{
    struct udfu_dfuse_writer w;
    struct udfu_suffix sx;
    int n;
    memset(&sx, 0, sizeof sx);
    sx.vid = sx.pid = sx.bcd_device = UDFU_ID_ANY;
    sx.bcd_dfu = UDFU_BCD_DFUSE;
    n = udfu_dfuse_begin(&w, out, cap);
    CHECK_EQ(n, 0);
    CHECK_EQ(udfu_dfuse_target(&w, 0, "A"), 0);
    CHECK_EQ(udfu_dfuse_element(&w, 0, a, len), 0);
    CHECK_EQ(udfu_dfuse_target(&w, 1, "B"), 0);
    CHECK_EQ(udfu_dfuse_element(&w, 0, b, len), 0);
    n = udfu_dfuse_finish(&w, &sx);
    CHECK(n > 0);
    return n > 0 ? (size_t)n : 0;
}

/* Two memories at the same addresses (two SPI flashes): writing the second
 * needs its own erase. */
TEST(same_address_on_two_alts_is_erased_on_each)
{
    static uint8_t file[2 * 5000 + 1024];
    struct udfu_host_dev *d;
    size_t n;
    fake_reset(UDFU_BCD_DFUSE);
    fk.alts = 2;
    fk.names[0] = "@SPI A /0x00000000/16*004Kg";
    fk.names[1] = "@SPI B /0x00000000/16*004Kg";
    fk.base[0] = fk.base[1] = 0;
    memset(fk.mem, 0x00, sizeof fk.mem); /* programmed: only an erase makes it writable */
    d = fake_open(&fk_ops);
    memset(img, 0xA5, 5000);
    memset(back, 0x3C, 5000);
    n = two_target_file(file, sizeof file, img, back, 5000);
    CHECK_EQ(udfu_host_dfuse_download_file(d, file, n, 0), 0);
    CHECK_EQ(fk.erases[0], 2);
    CHECK_EQ(fk.erases[1], 2);
    CHECK_MEM(fk.mem[0], img, 5000);
    CHECK_MEM(fk.mem[1], back, 5000);
    udfu_host_free(d);
}

/* The device places UPLOAD block n at pointer + (n - 2) * its wTransferSize;
 * the host moves at most 4096 bytes at a time. */
TEST(dfuse_read_with_a_transfer_size_above_4096_reads_the_right_addresses)
{
    struct udfu_host_dev *d;
    uint32_t i;
    fake_reset(UDFU_BCD_DFUSE);
    fk.xfer = 8192;
    for (i = 0; i < MEM_SIZE; i++)
        fk.mem[0][i] = (uint8_t)(i * 7u ^ i >> 8);
    d = fake_open(&fk_ops);
    CHECK_EQ(udfu_host_dfuse_read(d, 0x08000000u, back, 12288), 0);
    CHECK_MEM(back, fk.mem[0], 12288);
    CHECK_EQ(udfu_host_dfuse_read(d, 0x08000100u, back, 9000), 0);
    CHECK_MEM(back, fk.mem[0] + 0x100, 9000);
    udfu_host_free(d);
}

/* ---- strings -------------------------------------------------------------------------------- */

TEST(product_string_outside_the_bmp_becomes_utf8_not_cesu8)
{
    /* "A", U+1F600 as a surrogate pair, a lone high surrogate, "B" */
    static const uint8_t desc[] = {12, 3, 'A', 0, 0x3D, 0xD8, 0x00, 0xDE, 0x3D, 0xD8, 'B', 0};
    struct udfu_host_dev *d;
    fake_reset(UDFU_BCD_DFU);
    fk.product = desc;
    d = fake_open(&fk_ops);
    CHECK(!strcmp(udfu_host_info(d)->product, "A\xF0\x9F\x98\x80\xEF\xBF\xBD" "B"));
    udfu_host_free(d);
}

int main(void)
{
    RUN(errprog_in_dnload_idle_fails_a_dfuse_write);
    RUN(errprog_in_dnload_idle_fails_a_plain_download);
    RUN(errerase_after_a_dfuse_command_in_dnload_idle_fails_it);
    RUN(manifestation_ending_with_an_error_status_fails_the_download);
    RUN(device_stuck_in_manifest_is_a_timeout_not_a_success);
    RUN(huge_poll_timeout_in_manifest_is_never_slept_beyond_the_limit);
    RUN(huge_poll_timeout_in_dnbusy_is_never_slept_beyond_the_limit);
    RUN(long_busy_polls_stop_at_the_limit_not_after_it);
    RUN(huge_poll_timeout_after_a_leave_is_never_slept_beyond_its_limit);
    RUN(recovery_from_a_busy_device_is_never_slept_beyond_the_limit);
    RUN(reconnect_gives_up_after_its_timeout_in_real_time);
    RUN(leave_that_ends_in_dfu_idle_is_not_reported_as_left);
    RUN(leave_of_a_device_that_goes_succeeds);
    RUN(dfuse_alt_whose_layout_does_not_parse_is_refused_not_taken_for_plain);
    RUN(same_address_on_two_alts_is_erased_on_each);
    RUN(dfuse_read_with_a_transfer_size_above_4096_reads_the_right_addresses);
    RUN(product_string_outside_the_bmp_becomes_utf8_not_cesu8);
    return test_summary();
}
