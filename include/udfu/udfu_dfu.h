/*
 * udfu_dfu.h - the DFU-mode class core: DFU 1.1 state machine plus the ST
 * DfuSe extensions, one instance per DFU interface, one target per alt
 * setting.
 *
 * The core is a pure state machine. It never touches a USB controller, a
 * clock or flash: requests come in through udfu_dfu_setup()/_data(), time
 * through udfu_dfu_task(), and memory work goes out through the callbacks
 * of struct udfu_dfu_cfg. Flash work is never started inside the request
 * that asked for it; udfu_dfu_task() starts it from the main loop.
 *
 * Contexts: setup/data/status_done/reset are called from wherever the USB
 * stack delivers events (ISR or main loop); task() from the main loop;
 * complete() from anywhere. The integrator serialises them (one at a time).
 */
#ifndef UDFU_DFU_H
#define UDFU_DFU_H

#include <stdint.h>

#include "udfu_mem.h"
#include "udfu_opt.h"
#include "udfu_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

struct udfu_dfu_cfg {
    void *context; /* passed to every callback */

    const struct udfu_target *targets; /* targets[alt], one per alt setting */
    uint8_t target_count;
    uint8_t interface;      /* bInterfaceNumber: wIndex of class requests */
    uint8_t attributes;     /* UDFU_ATTR_* as in the functional descriptor */
    uint16_t transfer_size; /* wTransferSize */
    uint8_t *buffer;        /* buffers * transfer_size bytes, owned by the
                               caller for the life of the instance */
    uint8_t buffers;        /* 1 (0 means 1): single buffer, smallest RAM;
                               2: pipelined download: block N+1 is received
                               while block N is programmed (needs
                               UDFU_CFG_PIPELINE) */
    uint16_t detach_timeout_ms; /* wDetachTimeOut of the functional descriptor */
    uint16_t manifest_ms;   /* estimate for manifest(); reported as bwPollTimeout */
    uint16_t reset_timeout_ms; /* in dfuMANIFEST-WAIT-RESET, or after a DfuSe
                                  leave, leave() is called after this long even
                                  if the host never resets the bus (0: 3000;
                                  dfu-util asks for the state again only
                                  bwPollTimeout + 1000 ms after dfuMANIFEST) */

    /* Read len bytes at addr into buf (UPLOAD). Synchronous. 0 or < 0.
     * Unused (may be NULL) when UDFU_CFG_UPLOAD is 0. */
    int (*read)(void *ctx, uint8_t alt, uint32_t addr, uint8_t *buf, uint32_t len);
    /* Erase the sector [addr, addr + size). 0 when done, UDFU_ERR_PENDING if
     * udfu_dfu_complete() will follow, or < 0 (UDFU_ERR_ERASE ...). */
    int (*erase)(void *ctx, uint8_t alt, uint32_t addr, uint32_t size);
    /* Program len bytes; buf stays valid until the operation completes.
     * 0, UDFU_ERR_PENDING, or < 0 (UDFU_ERR_PROG, UDFU_ERR_NOT_ERASED ...). */
    int (*prog)(void *ctx, uint8_t alt, uint32_t addr, const uint8_t *buf, uint32_t len);
    /* Optional: compare memory with buf after programming. 0, PENDING, < 0. */
    int (*verify)(void *ctx, uint8_t alt, uint32_t addr, const uint8_t *buf, uint32_t len);
    /* Optional: manifestation after a plain download (check and commit the
     * image). 0, PENDING, or < 0 (UDFU_ERR_FIRMWARE ...). */
    int (*manifest)(void *ctx, uint8_t alt);
    /* Optional: DfuSe Read Unprotect (0x92). 0, PENDING, < 0. Usually the
     * device mass-erases and resets itself here. NULL: command refused. */
    int (*unprotect)(void *ctx, uint8_t alt);
    /* Leave DFU mode: reset into the application, or jump to addr (DfuSe
     * leave; addr is the address pointer, 0 after a plain manifestation).
     * Called from udfu_dfu_task() once the last reply was delivered. */
    void (*leave)(void *ctx, uint32_t addr);
};

/* The instance. Treat as opaque; allocate it (static or on a stack that
 * outlives its use), then call udfu_dfu_init(). */
struct udfu_dfu {
    /* Byte fields first: Thumb-1 loads bytes only at offsets below 32
     * without an extra instruction, and these are the hot ones. */
    const struct udfu_dfu_cfg *cfg;
    uint8_t state;         /* enum udfu_state */
    uint8_t status;        /* enum udfu_status */
    uint8_t alt;
    uint8_t op;            /* operation queued or running (internal enum) */
    uint8_t phase;         /* step of the operation (internal enum) */
    uint8_t flags;         /* internal */
    uint8_t reply[UDFU_STATUS_LEN]; /* GETSTATUS/GETSTATE reply */
#if UDFU_CFG_PIPELINE
    uint8_t next_op;       /* pipelined: queued operation, or none */
    uint8_t next_buf;
    uint8_t op_buf;        /* buffer index of the operation */
    uint8_t in_buf;        /* buffer index the awaited data goes to */
#endif
#if UDFU_CFG_ASYNC
    int8_t result;         /* error passed to udfu_dfu_complete() */
#endif
    uint16_t op_len;       /* bytes in the operation's buffer */
    uint16_t in_len;       /* DNLOAD whose data stage is awaited: wLength */
    uint16_t in_block;     /* ... and wBlockNum */
#if UDFU_CFG_PIPELINE
    uint16_t next_len;
#endif
    uint32_t now;          /* ms, from the last udfu_dfu_task() */
    uint32_t busy_until;   /* end of the bwPollTimeout last reported */
    uint32_t leave_at;     /* when to call leave() (if F_LEAVE) */
    uint32_t op_addr;      /* operation in progress: its (next) address */
#if UDFU_CFG_DFUSE
    uint32_t addr;         /* DfuSe address pointer */
#endif
#if UDFU_CFG_PLAIN
    uint32_t offset;       /* plain DFU: next byte of the image */
    uint32_t erased_end;   /* plain download: image bytes below this offset
                              lie in sectors already erased */
#endif
#if UDFU_CFG_ASYNC
    uint32_t op_started;   /* when the running step began */
    uint32_t op_step_ms;   /* ... and its estimated duration */
#endif
#if UDFU_CFG_PIPELINE
    uint32_t next_addr;    /* pipelined: the operation queued behind it */
#endif
};

/* Checks cfg (asserts) and starts in dfuIDLE on alt setting 0.
 * cfg must outlive the instance. Returns 0 or UDFU_ERR_INVAL. */
int udfu_dfu_init(struct udfu_dfu *d, const struct udfu_dfu_cfg *cfg);

/* SETUP stage of a control request addressed to this interface.
 * Returns the data stage length and sets *data: for IN, the bytes to send
 * (valid until the next call into the instance); for OUT (DNLOAD), the
 * buffer to receive exactly that many bytes into, after which
 * udfu_dfu_data() must be called. 0: no data stage, acknowledge.
 * UDFU_ERR_STALL: stall the request. Requests not addressed to this
 * interface (wrong type, recipient, direction or wIndex) stall without any
 * other effect; DFU requests that are illegal in the current state stall
 * and enter dfuERROR with errSTALLEDPKT, as DFU 1.1 says. */
int udfu_dfu_setup(struct udfu_dfu *d, const struct udfu_setup *req, uint8_t **data);

/* OUT data stage of the last DNLOAD finished with len bytes in the buffer.
 * Returns 0 to acknowledge, UDFU_ERR_STALL if len differs from wLength. */
int udfu_dfu_data(struct udfu_dfu *d, uint16_t len);

/* The status stage of the last request completed (the host has the reply). */
void udfu_dfu_status_done(struct udfu_dfu *d);

/* USB bus reset. Drops any transfer in progress (no pointer into an old
 * transfer survives). After a completed manifestation, or in
 * dfuMANIFEST-WAIT-RESET, arms leave(). A download cut short leaves
 * dfuERROR/errFIRMWARE. */
void udfu_dfu_reset(struct udfu_dfu *d);

/* SET_INTERFACE selected alt setting alt. An alt change drops any transfer
 * in progress. Returns 0 or UDFU_ERR_INVAL (no such alt: stall it). */
int udfu_dfu_set_alt(struct udfu_dfu *d, uint8_t alt);

/* Main loop: advances time, starts queued memory work, fires timers. */
void udfu_dfu_task(struct udfu_dfu *d, uint32_t now_ms);

#if UDFU_CFG_ASYNC
/* An operation that returned UDFU_ERR_PENDING finished with err (0 or < 0).
 * Only with UDFU_CFG_ASYNC (without it a callback returning PENDING fails
 * its operation with the status of an I/O error). */
void udfu_dfu_complete(struct udfu_dfu *d, int err);
#endif

static inline enum udfu_state udfu_dfu_state(const struct udfu_dfu *d)
{
    return (enum udfu_state)d->state;
}

static inline enum udfu_status udfu_dfu_status(const struct udfu_dfu *d)
{
    return (enum udfu_status)d->status;
}

/* 1 while memory work is queued or running (it always completes, even
 * after ABORT or a bus reset, unless an earlier step of it failed). */
int udfu_dfu_busy(const struct udfu_dfu *d);

/* The transfer buffer (wTransferSize bytes), lent for a reply the class
 * has no part in (usbd's descriptors with UDFU_CFG_USBD_BUF 0), or NULL
 * while download data waits in it for programming (or is being
 * programmed). Valid until the next call into the instance; a DNLOAD or
 * UPLOAD afterwards overwrites it. */
uint8_t *udfu_dfu_lend(const struct udfu_dfu *d);

/* bcdDFUVersion for the functional descriptor: 0x011A if any target speaks
 * DfuSe, else 0x0110. */
uint16_t udfu_dfu_bcd(const struct udfu_dfu_cfg *cfg);

#ifdef __cplusplus
}
#endif

#endif /* UDFU_DFU_H */
