/*
 * host_model.h - what real DFU hosts send, at the level of control
 * requests, replayed against a cf_dev (tests/conformance/cf_dev.h).
 *
 * The models follow the observable behaviour of dfu-util 0.11 (as read
 * from its source: which request, which wValue/wLength, when it sleeps
 * bwPollTimeout, what it accepts as an answer, when it gives up) and of
 * micropython's pydfu.py. They are written from those facts, not from the
 * tools' code. Each model stops at the point where the real tool would
 * exit with an error and records why in host->msg.
 *
 * Time: every transfer is followed by one turn of the device's main loop
 * (cf_pump); the host's sleeps advance the fake clock 1 ms at a time.
 */
#ifndef HOST_MODEL_H
#define HOST_MODEL_H

#include <stdint.h>

#include "cf_dev.h"

/* libusb return codes the tools look at */
#define HM_ERROR_PIPE (-9)      /* LIBUSB_ERROR_PIPE: the device stalled */
#define HM_ERROR_NO_DEVICE (-4) /* LIBUSB_ERROR_NO_DEVICE: it left the bus */

#define HM_TRACE_MAX 8192

/* One control transfer as the host saw it. */
struct hm_xfer {
    uint8_t bm, req;
    uint16_t value, length;
    uint8_t first;    /* first OUT byte (DfuSe command) */
    int result;       /* bytes transferred, or HM_ERROR_* */
    uint8_t state;    /* GETSTATUS: bState; GETSTATE: the state */
    uint8_t status;   /* GETSTATUS: bStatus */
    uint32_t poll;    /* GETSTATUS: bwPollTimeout */
    uint32_t at;      /* fake time the request was sent */
};

struct hm_host {
    struct cf_dev *dev;        /* DFU mode device, or NULL */
    struct udfu_rt *rt;        /* run-time device, or NULL */
    uint32_t *rt_now;          /* the run-time device's clock */
    int rt_gone;               /* set by the test's detach() callback */
    int leaves_at_start;       /* dev->leaves when the tool started */
    int failed;                /* the tool would exit with an error */
    char msg[200];             /* its error message */
    struct hm_xfer tr[HM_TRACE_MAX];
    int ntr;
};

/* Memory segment as dfu-util reads it from the DfuSe layout string. */
struct hm_seg {
    uint32_t start, end;       /* end inclusive */
    uint32_t page;
    uint8_t type;              /* bit0 readable, bit1 erasable, bit2 writable */
};

void hm_attach(struct hm_host *h, struct cf_dev *dev);
void hm_attach_rt(struct hm_host *h, struct udfu_rt *rt, uint32_t *now);

/* Parses a DfuSe layout string the way dfu-util 0.11 accepts one.
 * Returns the number of segments, or -1 if dfu-util would reject it. */
int hm_parse_layout(const char *s, struct hm_seg *segs, int max);
const struct hm_seg *hm_find_seg(const struct hm_seg *segs, int n, uint32_t addr);

/* ---- dfu-util 0.11 ------------------------------------------------------- */

/* Start-up on a DFU-mode device: SET_INTERFACE(alt), then GETSTATUS until
 * dfuIDLE (CLRSTATUS on dfuERROR, ABORT on DNLOAD-IDLE/UPLOAD-IDLE), with
 * its sleeps. 0 or -1 (h->failed). */
int du_start(struct hm_host *h, uint8_t alt);
/* dfu-util -D file (plain DFU 1.1 device). final_reset: -R. */
int du_download_plain(struct hm_host *h, uint16_t xfer, const uint8_t *img, uint32_t size,
                      int final_reset);
/* dfu-util -U file (plain DFU 1.1 device): whole target until a short
 * block. Returns bytes received into out (cap bytes), or -1. */
int du_upload_plain(struct hm_host *h, uint16_t xfer, uint8_t *out, uint32_t cap);
/* dfu-util -a alt -s ADDR[:leave] -D file.bin (DfuSe device, raw binary).
 * layout: the alt setting's string (iInterface). */
int du_download_dfuse(struct hm_host *h, uint16_t xfer, const char *layout, uint32_t addr,
                      const uint8_t *img, uint32_t size, int leave);
/* dfu-util -a alt -s [ADDR[:LEN]] -U file (DfuSe device). addr_present
 * selects -s ADDR; len 0 with an address: to the end of its segment.
 * Returns bytes received, or -1. */
int du_upload_dfuse(struct hm_host *h, uint16_t xfer, const char *layout, int addr_present,
                    uint32_t addr, uint32_t len, uint8_t *out, uint32_t cap);
/* One element of a DfuSe file. */
struct hm_element {
    uint32_t addr, size;
    const uint8_t *data;
};
/* dfu-util -a 0 [-s :leave] -D file.dfu (DfuSe file, one target for alt 0):
 * SET_INTERFACE 0, each element like a raw download, ABORT, and the leave
 * without a SET_ADDRESS (no address was given on the command line). */
int du_download_dfuse_file(struct hm_host *h, uint16_t xfer, const char *layout,
                           const struct hm_element *els, int count, int leave);
/* dfu-util -a alt -s [ADDR]:[mass-erase:force][:leave] with no file
 * ("DfuSe command mode"): optional mass erase, ABORT, optional leave. */
int du_dfuse_command(struct hm_host *h, const char *layout, int mass_erase, int leave,
                     int addr_present, uint32_t addr);
/* dfu-util -e on a run-time device (bitWillDetach from the descriptor). */
int du_detach(struct hm_host *h, int will_detach);

/* ---- pydfu ---------------------------------------------------------------- */

/* pydfu init(): up to 4 GETSTATUS, ABORT or CLRSTATUS until dfuIDLE. */
int py_init(struct hm_host *h);
int py_mass_erase(struct hm_host *h);
/* write_elements() for one element (page erase per page unless
 * mass-erased), then exit_dfu(): set address 0x08000000, zero DNLOAD
 * (wValue 0), one GETSTATUS expecting dfuMANIFEST. */
int py_write_element(struct hm_host *h, uint16_t xfer, const char *layout, uint32_t addr,
                     const uint8_t *data, uint32_t size, int mass_erased);
int py_exit(struct hm_host *h);

/* ---- trace queries -------------------------------------------------------- */

/* Transfers with bRequest req (and bm if bm != 0). */
int hm_count(const struct hm_host *h, uint8_t bm, uint8_t req);
/* Prints the trace (for failures). */
void hm_dump(const struct hm_host *h, int last);

#endif
