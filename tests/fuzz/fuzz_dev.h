/*
 * fuzz_dev.h - the device the control-endpoint fuzz harnesses drive, and
 * the invariants they check.
 *
 * The device is a udfu_dfu instance over memory maps that hold every kind
 * of region (read-only bootloader, write-only, erase-only, RAM-like, gaps,
 * a region that ends at 4 GiB, a target with nothing erasable), backed by
 * a RAM "flash" per region. Every backend call is checked against the map
 * by code independent of src/mem.c: an erase must hit exactly one sector of
 * an erasable region, a program or read must lie wholly inside writable or
 * readable memory, and no call may be made while an asynchronous one is
 * still running. The transfer buffer is malloc'd at exactly wTransferSize,
 * so AddressSanitizer sees any access past it.
 *
 * The input is decoded into host actions (control transfers cut at any
 * stage, bus resets, alt changes, time, completions of asynchronous work,
 * injected backend errors). How a control transfer reaches the device is
 * the harness's business (struct fz_port): the DFU core directly, or
 * through usbd and a fake controller. After the input, the device must
 * get back to dfuIDLE and, where a reference target is configured (most
 * inputs; not a lone "Option Bytes" target, nor a wTransferSize below a
 * DfuSe command without a plain target), still do a normal download and
 * upload (recovery check). Any violation
 * prints what was wrong and aborts, which libFuzzer reports as a crash.
 *
 * Prefix fz_.
 */
#ifndef UDFU_FUZZ_DEV_H
#define UDFU_FUZZ_DEV_H

#include <stddef.h>
#include <stdint.h>

#include "udfu_dfu.h"

#define FZ_MAX_TARGETS 4
#define FZ_MAX_REGIONS 8
#define FZ_XFER_MAX 4096u

#include "fuzz_in.h" /* struct fz_in, fz_u8/u16/u32 */

/* A control transfer as the host performs it. */
enum fz_stage {
    FZ_FULL,      /* setup, data stage, status stage */
    FZ_NO_DATA,   /* the host sends the SETUP and then something else */
    FZ_NO_STATUS  /* data stage done, status stage never comes */
};

struct fz_xfer {
    uint8_t setup[8];
    const uint8_t *out; /* OUT data the host sends (out_sent bytes) */
    uint32_t out_sent;  /* may differ from wLength: short or oversized */
    uint8_t stage;      /* enum fz_stage */
};

struct fz;

/* How a harness talks to the device. */
struct fz_port {
    /* Performs x. Returns the IN/OUT data length, or -1 if the device
     * stalled (at setup or at the data stage). IN data is copied to z->in.
     * Must call fz_before_setup() before and fz_after_in()/fz_after_out()
     * after the device answered. */
    int (*xfer)(struct fz *z, const struct fz_xfer *x);
    void (*bus_reset)(struct fz *z);
    /* SET_INTERFACE (or the equivalent); 0 or -1 (stalled). */
    int (*set_alt)(struct fz *z, uint8_t alt);
    void (*task)(struct fz *z);
    /* The device rebooted (leave() was called): re-create the instances. */
    void (*reboot)(struct fz *z);
    /* Spurious controller events: a data stage or status stage nobody
     * asked for. */
    void (*stray_data)(struct fz *z, uint16_t len);
    void (*stray_status)(struct fz *z);
    /* Optional: an action of the harness's own, decoded from in. */
    void (*extra)(struct fz *z, struct fz_in *in);
};

struct fz_region_mem {
    uint8_t *mem;   /* sector_size * sector_count bytes */
    uint32_t size;
};

struct fz {
    const struct fz_port *port;
    void *harness;       /* the harness's own state */

    struct udfu_dfu dfu;
    struct udfu_dfu_cfg cfg;
    const struct udfu_target *targets[FZ_MAX_TARGETS];
    struct udfu_target target_tab[FZ_MAX_TARGETS];
    uint8_t *buf;        /* exactly buffers * transfer_size bytes */
    uint32_t buf_size;
    struct fz_region_mem mem[FZ_MAX_TARGETS][FZ_MAX_REGIONS];
    uint32_t now;

    /* backend behaviour */
    int async;           /* erase/prog/verify/manifest/unprotect -> PENDING */
    int fail_next;       /* the next memory call fails with this */
    int have_verify, have_manifest, have_unprotect;

    /* the asynchronous call in flight */
    int pending;         /* 0 or 'e' 'p' 'v' 'm' 'u' */
    uint8_t pend_alt;
    uint32_t pend_addr, pend_len;
    const uint8_t *pend_src;        /* the buffer prog()/verify() was given */
    uint8_t pend_snap[FZ_XFER_MAX]; /* program data as handed over */

    /* DNLOAD data the class took, per transfer buffer: prog()/verify() of
     * it must see exactly that (nothing, usbd's descriptors included, may
     * write a buffer between) */
    const uint8_t *out_dst;         /* buffer of the awaited data stage */
    uint8_t taken[2][FZ_XFER_MAX];

    /* what the host did, for the invariants */
    int may_leave;       /* a zero-length DNLOAD was accepted since boot */
    int dirty;           /* erase/prog since the last successful manifest() */
    int in_isr;          /* inside a USB event: no memory work may start */
    int recovering;      /* the recovery check runs: the host enumerates */
    int rebooted;        /* leave() was called: reboot before the next action */
    uint32_t plain_next; /* plain upload: address the next block must read */

    /* the read() calls of the current request */
    int reads;
    uint8_t rd_alt;
    uint32_t rd_addr, rd_len;
    const uint8_t *rd_buf;

    /* the last IN reply */
    uint8_t in[FZ_XFER_MAX + 64];

    /* statistics, for the harness's curiosity */
    unsigned erases, progs, leaves;
};

/* Prints a message and aborts: libFuzzer turns it into a crash report. */
void fz_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;
#define FZ_CHECK(cond, ...)                                                                \
    do {                                                                                   \
        if (!(cond))                                                                       \
            fz_fail(__VA_ARGS__);                                                          \
    } while (0)

/* With FZ_TRACE set in the environment, prints an action and the state. */
void fz_trace(const struct fz *z, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Decodes the device configuration from the front of the input and
 * initialises z (instances included). Returns 0, or -1 if the input is too
 * short to say anything. */
int fz_init(struct fz *z, const struct fz_port *port, void *harness, struct fz_in *in);
/* (Re)creates the DFU instance over the same memory (a reboot). */
void fz_dfu_init(struct fz *z);
/* Frees what fz_init() allocated. */
void fz_free(struct fz *z);

/* Picks a data stage length (0, 1, 5, 6, around wTransferSize, 0xFFFF...). */
uint16_t fz_pick_len(struct fz *z, struct fz_in *in);
/* Picks how the host runs the data and status stages for wLength w, and
 * fills the OUT data from the input. */
void fz_pick_stage(struct fz_in *in, struct fz_xfer *x, uint16_t w);

/* Runs the rest of the input as host actions, then the recovery check. */
void fz_run(struct fz *z, struct fz_in *in);

/* Call before delivering a SETUP: remembers the state, fills the idle
 * transfer buffer with a canary. */
void fz_before_setup(struct fz *z);
/* Checks the answer to an IN request (n: reply length at data, or < 0 if
 * the device stalled). Requests not meant for the class must stall. */
void fz_after_in(struct fz *z, const struct udfu_setup *s, const uint8_t *data, int n);
/* Checks the device's answer to an OUT request (n: data stage length asked
 * for, or < 0 stalled). */
/* The class accepted the awaited DNLOAD data stage (len bytes, now in the
 * buffer fz_after_out() saw handed out): remember them for prog(). */
void fz_data_taken(struct fz *z, uint32_t len);
void fz_after_out(struct fz *z, const struct udfu_setup *s, const uint8_t *data, int n);
/* Checks the answer to an OUT data stage whose length differed from
 * wLength (ret: what the device returned; was_busy: memory work was queued
 * before the data stage). */
void fz_check_bad_data(const struct fz *z, int ret, int was_busy);
/* 1 if [p, p + n) lies inside the transfer buffer. */
int fz_in_buf(const struct fz *z, const uint8_t *p, uint32_t n);
/* Checks what must hold between any two host actions. */
void fz_check_state(const struct fz *z);

/* 1 if the setup is a DFU class request for our interface whose direction
 * matches the request (those are the only ones that may change state). */
int fz_routed(const struct fz *z, const struct udfu_setup *s);

#endif
