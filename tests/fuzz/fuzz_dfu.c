/*
 * fuzz_dfu.c - libFuzzer harness: the DFU class core (DFU 1.1 + DfuSe)
 * driven directly, the way a USB stack calls udfu_dfu_setup/_data/
 * _status_done/_reset/_set_alt/_task/_complete. The device, the input
 * decoding and the invariants are in fuzz_dev.c.
 */
#include <string.h>

#include "fuzz_dev.h"

struct dfu_port {
    int out_pending; /* a DNLOAD data stage was left waiting */
};

static struct dfu_port P;

static int is_in_buf(const struct fz *z, const uint8_t *p, int n)
{
    const uint8_t *r = z->dfu.reply;
    if (p >= r && p + n <= r + sizeof z->dfu.reply)
        return 1;
    return fz_in_buf(z, p, (uint32_t)n);
}

static int data_stage(struct fz *z, const struct fz_xfer *x, uint8_t *data, int n)
{
    uint32_t copy = x->out_sent < (uint32_t)n ? x->out_sent : (uint32_t)n;
    uint16_t told = x->out_sent > 0xFFFFu ? 0xFFFFu : (uint16_t)x->out_sent;
    int ret, busy = udfu_dfu_busy(&z->dfu);
    memcpy(data, x->out, copy);
    z->in_isr = 1;
    ret = udfu_dfu_data(&z->dfu, told);
    z->in_isr = 0;
    if (x->out_sent != (uint32_t)n) {
        fz_check_bad_data(z, ret, busy);
        return -1;
    }
    FZ_CHECK(ret == 0 || ret == UDFU_ERR_STALL, "udfu_dfu_data returned %d", ret);
    if (ret == 0)
        fz_data_taken(z, (uint32_t)n);
    return ret;
}

static int port_xfer(struct fz *z, const struct fz_xfer *x)
{
    struct udfu_setup s;
    uint8_t *data = NULL;
    int n;
    udfu_setup_parse(&s, x->setup);
    P.out_pending = 0;
    fz_before_setup(z);
    z->in_isr = 1;
    n = udfu_dfu_setup(&z->dfu, &s, &data);
    z->in_isr = 0;
    FZ_CHECK(n >= 0 || n == UDFU_ERR_STALL, "udfu_dfu_setup returned %d", n);
    if (n > 0) {
        FZ_CHECK(data && is_in_buf(z, data, n), "data stage of %d outside the instance's buffers",
                 n);
    }
    if (s.bmRequestType & 0x80) {
        if (n > 0 && n <= (int)sizeof z->in)
            memcpy(z->in, data, (size_t)n);
        fz_after_in(z, &s, data, n);
        if (n < 0)
            return -1;
    } else {
        fz_after_out(z, &s, data, n);
        if (n < 0)
            return -1;
        if (n > 0 && x->stage == FZ_NO_DATA) {
            P.out_pending = 1;
            return n;
        }
        if (n > 0 && data_stage(z, x, data, n) < 0)
            return -1;
    }
    if (x->stage == FZ_FULL) {
        z->in_isr = 1;
        udfu_dfu_status_done(&z->dfu);
        z->in_isr = 0;
    }
    return n;
}

static void port_reset(struct fz *z)
{
    P.out_pending = 0;
    z->in_isr = 1;
    udfu_dfu_reset(&z->dfu);
    z->in_isr = 0;
}

static int port_set_alt(struct fz *z, uint8_t alt)
{
    int ret;
    z->in_isr = 1;
    ret = udfu_dfu_set_alt(&z->dfu, alt);
    z->in_isr = 0;
    FZ_CHECK((ret == 0) == (alt < z->cfg.target_count), "set_alt(%u) returned %d", alt, ret);
    return ret < 0 ? -1 : 0;
}

static void port_task(struct fz *z)
{
    udfu_dfu_task(&z->dfu, z->now);
}

static void port_reboot(struct fz *z)
{
    P.out_pending = 0;
    fz_dfu_init(z);
}

static void port_stray_data(struct fz *z, uint16_t len)
{
    int ret;
    z->in_isr = 1;
    ret = udfu_dfu_data(&z->dfu, len);
    z->in_isr = 0;
    FZ_CHECK(P.out_pending || ret < 0, "OUT data accepted with no DNLOAD waiting for it");
    if (ret == 0)
        fz_data_taken(z, len);
    P.out_pending = 0;
}

static void port_stray_status(struct fz *z)
{
    z->in_isr = 1;
    udfu_dfu_status_done(&z->dfu);
    z->in_isr = 0;
}

static const struct fz_port port = {
    port_xfer, port_reset, port_set_alt, port_task, port_reboot, port_stray_data,
    port_stray_status, NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fz z;
    struct fz_in in;
    in.p = data;
    in.n = size;
    memset(&P, 0, sizeof P);
    if (fz_init(&z, &port, &P, &in) < 0)
        return 0;
    fz_run(&z, &in);
    fz_free(&z);
    return 0;
}
