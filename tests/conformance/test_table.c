/*
 * test_table.c - the DFU 1.1 state x request table (shared REFERENCE.md
 * section 2, DFU 1.1 appendix A), cell by cell, against the class core
 * (udfu_dfu, on a plain DFU target and on a DfuSe target) and the run-time
 * class (udfu_rt), plus extra rows for udfu's documented choices: routing
 * (type, recipient, direction, wIndex), unknown requests, and wLength
 * 0 / 1 / 6 / wTransferSize / wTransferSize+1 / 0xFFFF.
 *
 * Each cell: a fresh device is driven into the row's state with legal
 * traffic and events, the request is sent once, and the response (ACK,
 * STALL, or IN data of exact length and bytes), the next state and the
 * status are checked.
 */
#include <stdio.h>
#include <string.h>

#include "cf_dev.h"
#include "test.h"

#define XFER 256u
#define MANIFEST_MS 50u
#define IFC 0u

/* An 8 KiB target at 0x08000000, 1 KiB sectors, erase 5 ms, program
 * 1 ms per KiB: every bwPollTimeout is > 0 while work is pending. */
static const struct udfu_region regions[] = {
    {0x08000000u, 1024u, 8u, UDFU_MEM_ALL, 5u, 1000u},
};
static const struct udfu_target plain_target[] = {{"Flash", regions, 1, 0}};
static const struct udfu_target dfuse_target[] = {{"Flash", regions, 1, 1}};

/* ---- the table ----------------------------------------------------------- */

/* Where a row starts (reached with legal traffic and events only). */
enum prep {
    P_IDLE,       /* dfuIDLE after init */
    P_DNSYNC,     /* DNLOAD(16), work done, no GETSTATUS yet */
    P_DNBUSY,     /* DNLOAD(16), GETSTATUS -> dfuDNBUSY, work pending */
    P_DNIDLE,     /* DNLOAD(16), GETSTATUS x2 */
    P_MSYNC,      /* P_DNIDLE + DNLOAD(0) */
    P_MANIFEST,   /* P_MSYNC + GETSTATUS, manifestation pending */
    P_WAITRST,    /* not tolerant: manifestation done */
    P_UPIDLE,     /* UPLOAD(wTransferSize) of a larger target */
    P_ERROR,      /* CLRSTATUS in dfuIDLE (illegal) */
    P_MSYNC_DONE, /* tolerant: manifestation done, back in MANIFEST-SYNC */
    P_IDLE_NODN,  /* dfuIDLE, bitCanDnload clear */
    P_IDLE_NOUP,  /* dfuIDLE, bitCanUpload clear */
    P_UPIDLE_END, /* UPLOAD-IDLE with the whole target read (plain) */
    P_APPIDLE,    /* run-time class after init */
    P_APPDETACH,  /* run-time class after DETACH */
    P_COUNT
};

static const uint8_t prep_state[P_COUNT] = {
    UDFU_DFU_IDLE,      UDFU_DNLOAD_SYNC, UDFU_DNBUSY,         UDFU_DNLOAD_IDLE,
    UDFU_MANIFEST_SYNC, UDFU_MANIFEST,    UDFU_MANIFEST_WAIT_RESET, UDFU_UPLOAD_IDLE,
    UDFU_DFU_ERROR,     UDFU_MANIFEST_SYNC, UDFU_DFU_IDLE,     UDFU_DFU_IDLE,
    UDFU_UPLOAD_IDLE,   UDFU_APP_IDLE,      UDFU_APP_DETACH,
};

static const char *const prep_name[P_COUNT] = {
    "dfuIDLE",          "dfuDNLOAD-SYNC",        "dfuDNBUSY",
    "dfuDNLOAD-IDLE",   "dfuMANIFEST-SYNC",      "dfuMANIFEST",
    "dfuMANIFEST-WAIT-RESET", "dfuUPLOAD-IDLE",  "dfuERROR",
    "dfuMANIFEST-SYNC(done, tolerant)", "dfuIDLE(no bitCanDnload)",
    "dfuIDLE(no bitCanUpload)", "dfuUPLOAD-IDLE(at the end)", "appIDLE", "appDETACH",
};

/* Flavours a row runs on. */
#define FP 0x1u /* plain DFU target */
#define FD 0x2u /* DfuSe target */
#define FR 0x4u /* run-time class */
#define FPD (FP | FD)

#define SAME 0xFFu /* state / status unchanged by the request */
#define ANY 0xFEu  /* status not checked (run-time class has none) */

struct req {
    uint8_t bm, r;
    uint16_t value, index, length;
};

struct row {
    uint8_t base;   /* 1: one of the 9x7 + 2x7 state x request cells */
    uint8_t prep;
    uint8_t flav;
    struct req q;
    uint8_t kind;   /* CF_ACK, CF_STALL, CF_IN */
    int16_t len;    /* CF_IN: exact length */
    uint8_t bytes[6]; /* CF_IN with mem < 0: exact bytes */
    int32_t mem;    /* CF_IN >= 0: bytes equal memory at target start + mem */
    uint8_t state, status;
    const char *why;
};

#define Q(bm, r, v, l) {bm, r, v, IFC, l}
#define QI(bm, r, v, i, l) {bm, r, v, i, l}
#define DETACH_ Q(0x21, 0, 1000, 0)
#define DNLOAD_(blk, l) Q(0x21, 1, blk, l)
#define UPLOAD_(blk, l) Q(0xA1, 2, blk, l)
#define GETSTATUS_ Q(0xA1, 3, 0, 6)
#define CLRSTATUS_ Q(0x21, 4, 0, 0)
#define GETSTATE_ Q(0xA1, 5, 0, 1)
#define ABORT_ Q(0x21, 6, 0, 0)

#define OK_ UDFU_STATUS_OK
#define PKT UDFU_STATUS_ERR_STALLEDPKT
#define ERR_ CF_STALL, 0, {0}, -1, UDFU_DFU_ERROR, PKT
#define NOCHANGE CF_STALL, 0, {0}, -1, SAME, SAME
#define ACK_(st) CF_ACK, 0, {0}, -1, st, OK_
#define ST6(bs, poll, st, next, status) CF_IN, 6, {bs, poll, 0, 0, st, 0}, -1, next, status
#define IN1(b, next, status) CF_IN, 1, {b}, -1, next, status
#define IN0(next, status) CF_IN, 0, {0}, -1, next, status
#define MEM(n, off, next) CF_IN, n, {0}, off, next, OK_
/* run-time class */
#define RT_STALL(next) CF_STALL, 0, {0}, -1, next, ANY
#define RT_ACK(next) CF_ACK, 0, {0}, -1, next, ANY

#define S_IDLE UDFU_DFU_IDLE
#define S_DNSYNC UDFU_DNLOAD_SYNC
#define S_DNBUSY UDFU_DNBUSY
#define S_DNIDLE UDFU_DNLOAD_IDLE
#define S_MSYNC UDFU_MANIFEST_SYNC
#define S_MAN UDFU_MANIFEST
#define S_WAIT UDFU_MANIFEST_WAIT_RESET
#define S_UPIDLE UDFU_UPLOAD_IDLE
#define S_ERROR UDFU_DFU_ERROR
#define S_APPIDLE UDFU_APP_IDLE
#define S_APPDET UDFU_APP_DETACH

static const struct row table[] = {
    /* ---- dfuIDLE (2) ---- */
    {1, P_IDLE, FPD, DETACH_, ERR_, "A.2.3 DETACH not listed"},
    {1, P_IDLE, FPD, DNLOAD_(2, 16), ACK_(S_DNSYNC), "A.2.3 DNLOAD wLength>0 -> dfuDNLOAD-SYNC"},
    {1, P_IDLE, FPD, UPLOAD_(2, XFER), MEM(XFER, 0, S_UPIDLE), "A.2.3 UPLOAD -> dfuUPLOAD-IDLE"},
    {1, P_IDLE, FPD, GETSTATUS_, ST6(OK_, 0, S_IDLE, S_IDLE, OK_), "A.2.3 GETSTATUS"},
    {1, P_IDLE, FPD, CLRSTATUS_, ERR_, "A.2.3 CLRSTATUS not listed"},
    {1, P_IDLE, FPD, GETSTATE_, IN1(S_IDLE, S_IDLE, OK_), "A.2.3 GETSTATE"},
    {1, P_IDLE, FPD, ABORT_, ACK_(S_IDLE), "A.2.3 ABORT -> dfuIDLE"},
    /* ---- dfuDNLOAD-SYNC (3) ---- */
    {1, P_DNSYNC, FPD, DETACH_, ERR_, "A.2.4 DETACH not listed"},
    {1, P_DNSYNC, FPD, DNLOAD_(3, 16), ERR_, "A.2.4 DNLOAD not listed"},
    {1, P_DNSYNC, FPD, UPLOAD_(2, XFER), ERR_, "A.2.4 UPLOAD not listed"},
    {1, P_DNSYNC, FPD, GETSTATUS_, ST6(OK_, 0, S_DNBUSY, S_DNBUSY, OK_),
     "A.2.4 GETSTATUS -> dfuDNBUSY first (udfu choice 4: poll 0 when done)"},
    {1, P_DNSYNC, FPD, CLRSTATUS_, ERR_, "A.2.4 CLRSTATUS not listed"},
    {1, P_DNSYNC, FPD, GETSTATE_, IN1(S_DNSYNC, S_DNSYNC, OK_), "A.2.4 GETSTATE"},
    {1, P_DNSYNC, FPD, ABORT_, ERR_, "A.2.4 ABORT not listed"},
    /* ---- dfuDNBUSY (4): nothing is legal before bwPollTimeout ---- */
    {1, P_DNBUSY, FPD, DETACH_, ERR_, "A.2.5 any request"},
    {1, P_DNBUSY, FPD, DNLOAD_(3, 16), ERR_, "A.2.5 any request"},
    {1, P_DNBUSY, FPD, UPLOAD_(2, XFER), ERR_, "A.2.5 any request"},
    {1, P_DNBUSY, FPD, GETSTATUS_, ERR_, "A.2.5 any request (udfu choice 5)"},
    {1, P_DNBUSY, FPD, CLRSTATUS_, ERR_, "A.2.5 any request"},
    {1, P_DNBUSY, FPD, GETSTATE_, ERR_, "A.2.5 any request (udfu choice 5)"},
    {1, P_DNBUSY, FPD, ABORT_, ERR_, "A.2.5 any request"},
    /* ---- dfuDNLOAD-IDLE (5) ---- */
    {1, P_DNIDLE, FPD, DETACH_, ERR_, "A.2.6 DETACH not listed"},
    {1, P_DNIDLE, FPD, DNLOAD_(3, 16), ACK_(S_DNSYNC), "A.2.6 DNLOAD wLength>0 -> dfuDNLOAD-SYNC"},
    {1, P_DNIDLE, FPD, UPLOAD_(2, XFER), ERR_, "A.2.6 UPLOAD not listed"},
    {1, P_DNIDLE, FPD, GETSTATUS_, ST6(OK_, 0, S_DNIDLE, S_DNIDLE, OK_), "A.2.6 GETSTATUS"},
    {1, P_DNIDLE, FPD, CLRSTATUS_, ERR_, "A.2.6 CLRSTATUS not listed"},
    {1, P_DNIDLE, FPD, GETSTATE_, IN1(S_DNIDLE, S_DNIDLE, OK_), "A.2.6 GETSTATE"},
    {1, P_DNIDLE, FPD, ABORT_, ACK_(S_IDLE), "A.2.6 ABORT -> dfuIDLE"},
    /* ---- dfuMANIFEST-SYNC (6), manifestation not yet started ---- */
    {1, P_MSYNC, FPD, DETACH_, ERR_, "A.2.7 DETACH not listed"},
    {1, P_MSYNC, FPD, DNLOAD_(3, 16), ERR_, "A.2.7 DNLOAD not listed"},
    {1, P_MSYNC, FPD, UPLOAD_(2, XFER), ERR_, "A.2.7 UPLOAD not listed"},
    {1, P_MSYNC, FPD, GETSTATUS_, ST6(OK_, MANIFEST_MS, S_MAN, S_MAN, OK_),
     "A.2.7 GETSTATUS -> dfuMANIFEST, bwPollTimeout = manifest estimate"},
    {1, P_MSYNC, FPD, CLRSTATUS_, ERR_, "A.2.7 CLRSTATUS not listed"},
    {1, P_MSYNC, FPD, GETSTATE_, IN1(S_MSYNC, S_MSYNC, OK_), "A.2.7 GETSTATE"},
    {1, P_MSYNC, FPD, ABORT_, ERR_, "A.2.7 ABORT not listed"},
    /* ---- dfuMANIFEST (7): busy before bwPollTimeout ---- */
    {1, P_MANIFEST, FPD, DETACH_, ERR_, "A.2.8 device busy"},
    {1, P_MANIFEST, FPD, DNLOAD_(3, 16), ERR_, "A.2.8 device busy"},
    {1, P_MANIFEST, FPD, UPLOAD_(2, XFER), ERR_, "A.2.8 device busy"},
    {1, P_MANIFEST, FPD, GETSTATUS_, ERR_, "A.2.8 device busy (udfu choice 5)"},
    {1, P_MANIFEST, FPD, CLRSTATUS_, ERR_, "A.2.8 device busy"},
    {1, P_MANIFEST, FPD, GETSTATE_, ERR_, "A.2.8 device busy (udfu choice 5)"},
    {1, P_MANIFEST, FPD, ABORT_, ERR_, "A.2.8 device busy"},
    /* ---- dfuMANIFEST-WAIT-RESET (8): plain, not tolerant ---- */
    {1, P_WAITRST, FP, DETACH_, ERR_, "A.2.9 (udfu choice 6) other requests stall"},
    {1, P_WAITRST, FP, DNLOAD_(3, 16), ERR_, "A.2.9 (udfu choice 6) other requests stall"},
    {1, P_WAITRST, FP, UPLOAD_(2, XFER), ERR_, "A.2.9 (udfu choice 6) other requests stall"},
    {1, P_WAITRST, FP, GETSTATUS_, ST6(OK_, 0, S_WAIT, S_WAIT, OK_),
     "A.2.9 (udfu choice 6) GETSTATUS answered for dfu-util"},
    {1, P_WAITRST, FP, CLRSTATUS_, ERR_, "A.2.9 (udfu choice 6) other requests stall"},
    {1, P_WAITRST, FP, GETSTATE_, IN1(S_WAIT, S_WAIT, OK_), "A.2.9 (udfu choice 6) GETSTATE answered"},
    {1, P_WAITRST, FP, ABORT_, ERR_, "A.2.9 (udfu choice 6) other requests stall"},
    /* ---- dfuUPLOAD-IDLE (9) ---- */
    {1, P_UPIDLE, FPD, DETACH_, ERR_, "A.2.10 DETACH not listed"},
    {1, P_UPIDLE, FPD, DNLOAD_(3, 16), ERR_, "A.2.10 DNLOAD not listed"},
    {1, P_UPIDLE, FPD, UPLOAD_(3, XFER), MEM(XFER, XFER, S_UPIDLE), "A.2.10 UPLOAD full block -> dfuUPLOAD-IDLE"},
    {1, P_UPIDLE, FPD, GETSTATUS_, ST6(OK_, 0, S_UPIDLE, S_UPIDLE, OK_), "A.2.10 GETSTATUS"},
    {1, P_UPIDLE, FPD, CLRSTATUS_, ERR_, "A.2.10 CLRSTATUS not listed"},
    {1, P_UPIDLE, FPD, GETSTATE_, IN1(S_UPIDLE, S_UPIDLE, OK_), "A.2.10 GETSTATE"},
    {1, P_UPIDLE, FPD, ABORT_, ACK_(S_IDLE), "A.2.10 ABORT -> dfuIDLE"},
    /* ---- dfuERROR (10) ---- */
    {1, P_ERROR, FPD, DETACH_, ERR_, "A.2.11 DETACH not listed"},
    {1, P_ERROR, FPD, DNLOAD_(2, 16), ERR_, "A.2.11 DNLOAD not listed"},
    {1, P_ERROR, FPD, UPLOAD_(2, XFER), ERR_, "A.2.11 UPLOAD not listed"},
    {1, P_ERROR, FPD, GETSTATUS_, ST6(PKT, 0, S_ERROR, S_ERROR, PKT), "A.2.11 GETSTATUS reports the error"},
    {1, P_ERROR, FPD, CLRSTATUS_, ACK_(S_IDLE), "A.2.11 CLRSTATUS -> dfuIDLE, status OK"},
    {1, P_ERROR, FPD, GETSTATE_, IN1(S_ERROR, S_ERROR, PKT), "A.2.11 GETSTATE"},
    {1, P_ERROR, FPD, ABORT_, ERR_, "A.2.11 ABORT not listed"},
    /* ---- appIDLE (0) ---- */
    {1, P_APPIDLE, FR, DETACH_, RT_ACK(S_APPDET), "A.1 DETACH -> appDETACH"},
    {1, P_APPIDLE, FR, DNLOAD_(0, 16), RT_STALL(S_APPIDLE), "A.1 not listed -> STALL, appIDLE"},
    {1, P_APPIDLE, FR, UPLOAD_(0, 16), RT_STALL(S_APPIDLE), "A.1 not listed -> STALL, appIDLE"},
    {1, P_APPIDLE, FR, GETSTATUS_, ST6(OK_, 0, S_APPIDLE, S_APPIDLE, ANY), "A.1 GETSTATUS"},
    {1, P_APPIDLE, FR, CLRSTATUS_, RT_STALL(S_APPIDLE), "A.1 not listed -> STALL, appIDLE"},
    {1, P_APPIDLE, FR, GETSTATE_, IN1(S_APPIDLE, S_APPIDLE, ANY), "A.1 GETSTATE"},
    {1, P_APPIDLE, FR, ABORT_, RT_STALL(S_APPIDLE), "A.1 not listed -> STALL, appIDLE"},
    /* ---- appDETACH (1) ---- */
    {1, P_APPDETACH, FR, DETACH_, RT_STALL(S_APPIDLE), "A.1 not listed -> STALL, appIDLE"},
    {1, P_APPDETACH, FR, DNLOAD_(0, 16), RT_STALL(S_APPIDLE), "A.1 not listed -> STALL, appIDLE"},
    {1, P_APPDETACH, FR, UPLOAD_(0, 16), RT_STALL(S_APPIDLE), "A.1 not listed -> STALL, appIDLE"},
    {1, P_APPDETACH, FR, GETSTATUS_, ST6(OK_, 0, S_APPDET, S_APPDET, ANY), "A.1 GETSTATUS"},
    {1, P_APPDETACH, FR, CLRSTATUS_, RT_STALL(S_APPIDLE), "A.1 not listed -> STALL, appIDLE"},
    {1, P_APPDETACH, FR, GETSTATE_, IN1(S_APPDET, S_APPDET, ANY), "A.1 GETSTATE"},
    {1, P_APPDETACH, FR, ABORT_, RT_STALL(S_APPIDLE), "A.1 not listed -> STALL, appIDLE"},

    /* ==== extra rows ==== */
    /* zero-length and oversized DNLOAD */
    {0, P_IDLE, FP, DNLOAD_(2, 0), ERR_, "A.2.3 DNLOAD wLength=0 in dfuIDLE (udfu choice 7)"},
    {0, P_IDLE, FD, DNLOAD_(2, 0), ACK_(S_MSYNC),
     "DfuSe leave from dfuIDLE (ST; dfu-util -s :leave -D file.dfu sends ABORT first)"},
    {0, P_DNIDLE, FPD, DNLOAD_(3, 0), ACK_(S_MSYNC), "A.2.6 DNLOAD wLength=0 -> dfuMANIFEST-SYNC"},
    {0, P_IDLE, FPD, DNLOAD_(2, 1), ACK_(S_DNSYNC), "DNLOAD wLength 1"},
    {0, P_IDLE, FPD, DNLOAD_(2, 6), ACK_(S_DNSYNC), "DNLOAD wLength 6"},
    {0, P_IDLE, FPD, DNLOAD_(2, XFER), ACK_(S_DNSYNC), "DNLOAD wLength = wTransferSize"},
    {0, P_IDLE, FPD, DNLOAD_(2, XFER + 1), ERR_, "DNLOAD wLength > wTransferSize (udfu choice 3)"},
    {0, P_IDLE, FPD, DNLOAD_(2, 0xFFFF), ERR_, "DNLOAD wLength 0xFFFF (udfu choice 3)"},
    {0, P_DNIDLE, FPD, DNLOAD_(3, XFER + 1), ERR_, "DNLOAD wLength > wTransferSize (udfu choice 3)"},
    {0, P_DNIDLE, FPD, DNLOAD_(3, XFER), ACK_(S_DNSYNC), "DNLOAD wLength = wTransferSize"},
    /* UPLOAD lengths */
    {0, P_IDLE, FPD, UPLOAD_(2, 0), ERR_, "UPLOAD wLength 0 (udfu choice 3)"},
    {0, P_IDLE, FPD, UPLOAD_(2, 1), MEM(1, 0, S_UPIDLE), "UPLOAD wLength 1: one full byte"},
    {0, P_IDLE, FPD, UPLOAD_(2, 6), MEM(6, 0, S_UPIDLE), "UPLOAD wLength 6"},
    {0, P_IDLE, FPD, UPLOAD_(2, XFER + 1), ERR_, "UPLOAD wLength > wTransferSize (udfu choice 3)"},
    {0, P_IDLE, FPD, UPLOAD_(2, 0xFFFF), ERR_, "UPLOAD wLength 0xFFFF (udfu choice 3)"},
    {0, P_UPIDLE, FPD, UPLOAD_(3, 0), ERR_, "UPLOAD wLength 0 (udfu choice 3)"},
    {0, P_UPIDLE, FPD, UPLOAD_(3, XFER + 1), ERR_, "UPLOAD wLength > wTransferSize (udfu choice 3)"},
    /* end of upload: a short (here empty) block returns to dfuIDLE */
    {0, P_UPIDLE_END, FP, UPLOAD_(34, XFER), IN0(S_IDLE, OK_),
     "A.2.10 UPLOAD short block -> dfuIDLE (exact multiple: 0 bytes)"},
    {0, P_UPIDLE_END, FP, GETSTATUS_, ST6(OK_, 0, S_UPIDLE, S_UPIDLE, OK_), "GETSTATUS at the end"},
    /* DfuSe: UPLOAD block 0 is Get Commands, a short reply */
    {0, P_IDLE, FD, UPLOAD_(0, XFER), CF_IN, 4, {0x00, 0x21, 0x41, 0x92}, -1, S_IDLE, OK_,
     "DfuSe Get Commands (UPLOAD block 0): command list, short -> dfuIDLE"},
    /* IN replies truncated to wLength, never longer than the field */
    {0, P_IDLE, FPD, Q(0xA1, 3, 0, 0), IN0(S_IDLE, OK_), "GETSTATUS wLength 0 (udfu choice 2)"},
    {0, P_IDLE, FPD, Q(0xA1, 3, 0, 1), IN1(OK_, S_IDLE, OK_), "GETSTATUS wLength 1 (udfu choice 2)"},
    {0, P_IDLE, FPD, Q(0xA1, 3, 0, 7), ST6(OK_, 0, S_IDLE, S_IDLE, OK_), "GETSTATUS wLength 7: 6 bytes"},
    {0, P_IDLE, FPD, Q(0xA1, 3, 0, XFER), ST6(OK_, 0, S_IDLE, S_IDLE, OK_), "GETSTATUS wLength wTransferSize: 6 bytes"},
    {0, P_IDLE, FPD, Q(0xA1, 3, 0, 0xFFFF), ST6(OK_, 0, S_IDLE, S_IDLE, OK_), "GETSTATUS wLength 0xFFFF: 6 bytes"},
    {0, P_ERROR, FPD, Q(0xA1, 3, 0, 1), IN1(PKT, S_ERROR, PKT), "GETSTATUS wLength 1 in dfuERROR"},
    {0, P_DNIDLE, FPD, Q(0xA1, 3, 0, 1), IN1(OK_, S_DNIDLE, OK_), "GETSTATUS wLength 1"},
    {0, P_IDLE, FPD, Q(0xA1, 5, 0, 0), IN0(S_IDLE, OK_), "GETSTATE wLength 0 (udfu choice 2)"},
    {0, P_IDLE, FPD, Q(0xA1, 5, 0, 6), IN1(S_IDLE, S_IDLE, OK_), "GETSTATE wLength 6: 1 byte"},
    {0, P_IDLE, FPD, Q(0xA1, 5, 0, 0xFFFF), IN1(S_IDLE, S_IDLE, OK_), "GETSTATE wLength 0xFFFF: 1 byte"},
    /* OUT requests other than DNLOAD with a data stage */
    {0, P_IDLE, FPD, Q(0x21, 6, 0, 1), ERR_, "ABORT wLength 1 (udfu choice 3)"},
    {0, P_UPIDLE, FPD, Q(0x21, 6, 0, 0xFFFF), ERR_, "ABORT wLength 0xFFFF (udfu choice 3)"},
    {0, P_ERROR, FPD, Q(0x21, 4, 0, 6), ERR_, "CLRSTATUS wLength 6 (udfu choice 3)"},
    {0, P_IDLE, FPD, Q(0x21, 0, 1000, 1), ERR_, "DETACH wLength 1 (udfu choice 3)"},
    /* unknown requests addressed to the interface */
    {0, P_IDLE, FPD, Q(0x21, 7, 0, 0), ERR_, "unknown bRequest 7 (OUT)"},
    {0, P_IDLE, FPD, Q(0xA1, 7, 0, 6), ERR_, "unknown bRequest 7 (IN)"},
    {0, P_DNIDLE, FPD, Q(0x21, 0xFF, 0, 0), ERR_, "unknown bRequest 0xFF (OUT)"},
    {0, P_UPIDLE, FPD, Q(0xA1, 0xFF, 0, 1), ERR_, "unknown bRequest 0xFF (IN)"},
    {0, P_ERROR, FPD, Q(0x21, 7, 0, 0), ERR_, "unknown bRequest 7 in dfuERROR"},
    /* direction bit not matching the request (udfu choice 1) */
    {0, P_IDLE, FPD, Q(0xA1, 1, 2, 16), NOCHANGE, "DNLOAD as IN"},
    {0, P_DNIDLE, FPD, Q(0xA1, 1, 3, 16), NOCHANGE, "DNLOAD as IN"},
    {0, P_DNIDLE, FPD, Q(0xA1, 1, 3, 0), NOCHANGE, "zero-length DNLOAD as IN"},
    {0, P_IDLE, FPD, Q(0x21, 2, 2, 16), NOCHANGE, "UPLOAD as OUT"},
    {0, P_UPIDLE, FPD, Q(0x21, 2, 3, XFER), NOCHANGE, "UPLOAD as OUT"},
    {0, P_DNSYNC, FPD, Q(0x21, 3, 0, 0), NOCHANGE, "GETSTATUS as OUT"},
    {0, P_DNSYNC, FPD, Q(0x21, 3, 0, 6), NOCHANGE, "GETSTATUS as OUT, wLength 6"},
    {0, P_IDLE, FPD, Q(0x21, 5, 0, 1), NOCHANGE, "GETSTATE as OUT"},
    {0, P_IDLE, FPD, Q(0xA1, 4, 0, 0), NOCHANGE, "CLRSTATUS as IN"},
    {0, P_ERROR, FPD, Q(0xA1, 4, 0, 0), NOCHANGE, "CLRSTATUS as IN must not clear"},
    {0, P_DNIDLE, FPD, Q(0xA1, 6, 0, 0), NOCHANGE, "ABORT as IN"},
    {0, P_UPIDLE, FPD, Q(0xA1, 6, 0, 0), NOCHANGE, "ABORT as IN"},
    {0, P_IDLE, FPD, Q(0xA1, 0, 1000, 0), NOCHANGE, "DETACH as IN"},
    /* wrong type or recipient (udfu choice 1) */
    {0, P_DNIDLE, FPD, Q(0x20, 6, 0, 0), NOCHANGE, "ABORT to the device (0x20)"},
    {0, P_DNIDLE, FPD, Q(0x22, 6, 0, 0), NOCHANGE, "ABORT to an endpoint (0x22)"},
    {0, P_DNIDLE, FPD, Q(0x23, 6, 0, 0), NOCHANGE, "ABORT to 'other' (0x23)"},
    {0, P_DNIDLE, FPD, Q(0x41, 6, 0, 0), NOCHANGE, "vendor request 6 (0x41)"},
    {0, P_DNIDLE, FPD, Q(0x01, 6, 0, 0), NOCHANGE, "standard request 6 to the interface (0x01)"},
    {0, P_DNIDLE, FPD, Q(0x61, 6, 0, 0), NOCHANGE, "reserved type (0x61)"},
    {0, P_ERROR, FPD, Q(0x41, 4, 0, 0), NOCHANGE, "vendor request 4 must not clear dfuERROR"},
    {0, P_ERROR, FPD, Q(0x20, 4, 0, 0), NOCHANGE, "CLRSTATUS to the device (0x20)"},
    {0, P_DNSYNC, FPD, Q(0xC1, 3, 0, 6), NOCHANGE, "vendor IN request 3 (0xC1)"},
    {0, P_DNSYNC, FPD, Q(0xA0, 3, 0, 6), NOCHANGE, "GETSTATUS to the device (0xA0)"},
    {0, P_DNSYNC, FPD, Q(0xA2, 3, 0, 6), NOCHANGE, "GETSTATUS to an endpoint (0xA2)"},
    {0, P_DNSYNC, FPD, Q(0x81, 3, 0, 6), NOCHANGE, "standard IN request 3 (0x81)"},
    {0, P_IDLE, FPD, Q(0x81, 0, 0, 2), NOCHANGE, "standard GET_STATUS(interface) shares bRequest 0"},
    {0, P_IDLE, FPD, Q(0x01, 11, 1, 0), NOCHANGE, "standard SET_INTERFACE"},
    {0, P_IDLE, FPD, Q(0x41, 1, 2, 16), NOCHANGE, "vendor request 1 with data (0x41)"},
    {0, P_UPIDLE, FPD, Q(0xC1, 2, 3, XFER), NOCHANGE, "vendor IN request 2 (0xC1)"},
    /* wrong wIndex (udfu choice 1) */
    {0, P_DNIDLE, FPD, QI(0x21, 6, 0, 1, 0), NOCHANGE, "ABORT wIndex 1"},
    {0, P_DNIDLE, FPD, QI(0x21, 6, 0, 0x0100, 0), NOCHANGE, "ABORT wIndex 0x0100"},
    {0, P_DNSYNC, FPD, QI(0xA1, 3, 0, 0xFFFF, 6), NOCHANGE, "GETSTATUS wIndex 0xFFFF"},
    {0, P_ERROR, FPD, QI(0x21, 4, 0, 1, 0), NOCHANGE, "CLRSTATUS wIndex 1"},
    {0, P_IDLE, FPD, QI(0x21, 1, 2, 1, 16), NOCHANGE, "DNLOAD wIndex 1"},
    {0, P_UPIDLE, FPD, QI(0xA1, 2, 3, 0x0100, XFER), NOCHANGE, "UPLOAD wIndex 0x0100"},
    /* functional descriptor attributes */
    {0, P_IDLE_NODN, FPD, DNLOAD_(2, 16), ERR_, "DNLOAD without bitCanDnload"},
    {0, P_IDLE_NOUP, FPD, UPLOAD_(2, XFER), ERR_, "UPLOAD without bitCanUpload"},
    {0, P_IDLE_NOUP, FPD, GETSTATUS_, ST6(OK_, 0, S_IDLE, S_IDLE, OK_), "GETSTATUS without bitCanUpload"},
    /* manifestation-tolerant device, manifestation done */
    {0, P_MSYNC_DONE, FP, GETSTATUS_, ST6(OK_, 0, S_IDLE, S_IDLE, OK_),
     "A.2.7 GETSTATUS after manifestation (tolerant) -> dfuIDLE"},
    {0, P_MSYNC_DONE, FP, GETSTATE_, IN1(S_MSYNC, S_MSYNC, OK_), "A.2.7 GETSTATE"},
    {0, P_MSYNC_DONE, FP, DNLOAD_(3, 16), ERR_, "A.2.7 DNLOAD not listed"},
    {0, P_MSYNC_DONE, FP, ABORT_, ERR_, "A.2.7 ABORT not listed"},
    {0, P_MSYNC_DONE, FP, UPLOAD_(2, XFER), ERR_, "A.2.7 UPLOAD not listed"},
    /* run-time class extras */
    {0, P_APPIDLE, FR, Q(0x21, 7, 0, 0), RT_STALL(S_APPIDLE), "unknown bRequest 7"},
    {0, P_APPDETACH, FR, Q(0xA1, 7, 0, 6), RT_STALL(S_APPIDLE), "unknown bRequest 7 -> appIDLE"},
    {0, P_APPDETACH, FR, Q(0x21, 0xFF, 0, 0), RT_STALL(S_APPIDLE), "unknown bRequest 0xFF -> appIDLE"},
    {0, P_APPDETACH, FR, Q(0x21, 3, 0, 6), CF_STALL, 0, {0}, -1, SAME, ANY,
     "GETSTATUS as OUT: stall, no state change (udfu choice 1)"},
    {0, P_APPDETACH, FR, Q(0x21, 5, 0, 1), CF_STALL, 0, {0}, -1, SAME, ANY,
     "GETSTATE as OUT: stall, no state change (udfu choice 1)"},
    {0, P_APPDETACH, FR, Q(0xA1, 0, 1000, 0), CF_STALL, 0, {0}, -1, SAME, ANY,
     "DETACH as IN: stall, no state change (udfu choice 1)"},
    {0, P_APPDETACH, FR, Q(0xA0, 3, 0, 6), CF_STALL, 0, {0}, -1, SAME, ANY,
     "GETSTATUS to the device: stall, no state change"},
    {0, P_APPDETACH, FR, Q(0x20, 0, 1000, 0), CF_STALL, 0, {0}, -1, SAME, ANY,
     "DETACH to the device: stall, no state change"},
    {0, P_APPDETACH, FR, QI(0xA1, 3, 0, 1, 6), CF_STALL, 0, {0}, -1, SAME, ANY,
     "GETSTATUS wIndex 1: stall, no state change"},
    {0, P_APPDETACH, FR, Q(0xA1, 3, 0, 1), IN1(OK_, S_APPDET, ANY), "GETSTATUS wLength 1: 1 byte"},
    {0, P_APPDETACH, FR, Q(0xA1, 5, 0, 0), IN0(S_APPDET, ANY), "GETSTATE wLength 0: no data"},
    {0, P_APPIDLE, FR, Q(0xA1, 3, 0, 0xFFFF), ST6(OK_, 0, S_APPIDLE, S_APPIDLE, ANY), "GETSTATUS wLength 0xFFFF: 6 bytes"},
    {0, P_APPIDLE, FR, Q(0x21, 0, 1000, 1), RT_STALL(S_APPIDLE), "DETACH wLength 1 (udfu choice 3)"},
};

#define ROWS ((int)(sizeof table / sizeof table[0]))

/* ---- reaching each state ------------------------------------------------- */

static struct cf_dev dev;
static struct udfu_rt rt;
static struct udfu_rt_cfg rt_cfg;
static int rt_detaches;

static void rt_detach(void *ctx)
{
    (void)ctx;
    rt_detaches++;
}

static const uint8_t data16[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                                   0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xF0, 0x01};

/* Drives a fresh instance into row state p. 0 on success. */
static int prepare(enum prep p, unsigned flav)
{
    const struct udfu_target *t = flav == FD ? dfuse_target : plain_target;
    uint8_t attr = UDFU_ATTR_CAN_DNLOAD | UDFU_ATTR_CAN_UPLOAD;
    struct cf_reply r;

    if (p == P_APPIDLE || p == P_APPDETACH) {
        memset(&rt_cfg, 0, sizeof rt_cfg);
        rt_cfg.interface = IFC;
        rt_cfg.attributes = UDFU_ATTR_CAN_DNLOAD;
        rt_cfg.detach_timeout_ms = 1000;
        rt_cfg.transfer_size = XFER;
        rt_cfg.detach = rt_detach;
        if (udfu_rt_init(&rt, &rt_cfg))
            return -1;
        udfu_rt_task(&rt, 100);
        if (p == P_APPDETACH) {
            cf_rt_ctl(&rt, 0x21, UDFU_REQ_DETACH, 1000, IFC, 0, &r);
            udfu_rt_task(&rt, 100);
        }
        return udfu_rt_state(&rt) == prep_state[p] ? 0 : -1;
    }

    if (p == P_MSYNC_DONE)
        attr |= UDFU_ATTR_MANIFEST_TOLERANT;
    if (p == P_IDLE_NODN)
        attr &= (uint8_t)~UDFU_ATTR_CAN_DNLOAD;
    if (p == P_IDLE_NOUP)
        attr &= (uint8_t)~UDFU_ATTR_CAN_UPLOAD;
    cf_setup(&dev, t, 1, attr, XFER);
    if (flav == FD) {
        /* DfuSe hosts erase before writing: the bytes the table's DNLOADs
         * (blocks 2 and 3) reach start erased; the rest keeps the pattern. */
        memset(&dev.mem[0][0], 0xFF, XFER + XFER);
    }
    dev.cfg.manifest_ms = MANIFEST_MS;
    dev.cfg.reset_timeout_ms = 5000;
    cf_start(&dev);
    dev.now = 100;
    cf_pump(&dev);

    switch (p) {
    case P_DNSYNC:
        cf_ctl(&dev, 0x21, UDFU_REQ_DNLOAD, 2, IFC, 16, data16, &r);
        cf_pump(&dev);
        break;
    case P_DNBUSY:
        dev.async = 1;
        dev.hold = 1;
        cf_ctl(&dev, 0x21, UDFU_REQ_DNLOAD, 2, IFC, 16, data16, &r);
        /* Synchronous callbacks (UDFU_CFG_ASYNC 0): the work is pending
         * while the main loop has not run it yet. */
        if (UDFU_CFG_ASYNC)
            cf_pump(&dev);
        cf_ctl(&dev, 0xA1, UDFU_REQ_GETSTATUS, 0, IFC, 6, NULL, &r);
        if (r.kind != CF_IN || r.len != 6 || r.data[4] != UDFU_DNBUSY ||
            (r.data[1] | r.data[2] | r.data[3]) == 0)
            return -1; /* dfuDNBUSY with a poll timeout still to run */
        break;
    case P_DNIDLE:
    case P_MSYNC:
    case P_MANIFEST:
    case P_WAITRST:
    case P_MSYNC_DONE:
        cf_ctl(&dev, 0x21, UDFU_REQ_DNLOAD, 2, IFC, 16, data16, &r);
        cf_pump(&dev);
        cf_ctl(&dev, 0xA1, UDFU_REQ_GETSTATUS, 0, IFC, 6, NULL, &r);
        cf_pump(&dev);
        cf_ctl(&dev, 0xA1, UDFU_REQ_GETSTATUS, 0, IFC, 6, NULL, &r);
        cf_pump(&dev);
        if (p == P_DNIDLE)
            break;
        cf_ctl(&dev, 0x21, UDFU_REQ_DNLOAD, 3, IFC, 0, NULL, &r);
        if (p == P_MSYNC)
            break;
        if (p == P_MANIFEST) {
            dev.async = 1;
            dev.hold = 1;
        }
        cf_ctl(&dev, 0xA1, UDFU_REQ_GETSTATUS, 0, IFC, 6, NULL, &r);
        /* Synchronous callbacks: the manifestation is pending until the
         * main loop runs it. */
        if (p != P_MANIFEST || UDFU_CFG_ASYNC)
            cf_pump(&dev);
        break;
    case P_UPIDLE:
        cf_ctl(&dev, 0xA1, UDFU_REQ_UPLOAD, 2, IFC, XFER, NULL, &r);
        cf_pump(&dev);
        break;
    case P_UPIDLE_END: {
        int b;
        for (b = 0; b < 32; b++)
            cf_ctl(&dev, 0xA1, UDFU_REQ_UPLOAD, (uint16_t)(2 + b), IFC, XFER, NULL, &r);
        cf_pump(&dev);
        break;
    }
    case P_ERROR:
        cf_ctl(&dev, 0x21, UDFU_REQ_CLRSTATUS, 0, IFC, 0, NULL, &r);
        cf_pump(&dev);
        break;
    default:
        break;
    }
    if (udfu_dfu_state(&dev.dfu) != prep_state[p])
        return -1;
    if (p == P_ERROR)
        return udfu_dfu_status(&dev.dfu) == UDFU_STATUS_ERR_STALLEDPKT ? 0 : -1;
    return udfu_dfu_status(&dev.dfu) == UDFU_STATUS_OK ? 0 : -1;
}

/* ---- running a cell ------------------------------------------------------ */

static const char *flav_name(unsigned f)
{
    return f == FP ? "plain" : f == FD ? "DfuSe" : "run-time";
}

static void cell_fail(int i, unsigned flav, const char *fmt, long a, long b)
{
    char msg[320], what[120];
    const struct row *w = &table[i];
    snprintf(what, sizeof what, fmt, a, b);
    snprintf(msg, sizeof msg, "cell %d [%s] %s x %s(bm=0x%02X r=%u wValue=%u wIndex=0x%X wLength=%u) "
             "\"%s\": %s", i, flav_name(flav), prep_name[w->prep], cf_req_name(w->q.r), w->q.bm,
             w->q.r, w->q.value, w->q.index, w->q.length, w->why, what);
    test_fail(__FILE__, __LINE__, msg);
}

/* Runs row i on one flavour. Returns 1 if the cell ran (state reached). */
static int run_cell(int i, unsigned flav)
{
    const struct row *w = &table[i];
    static struct cf_reply r;
    uint8_t state_before, status_before, state, status;
    static uint8_t out[0x10000];
    unsigned k;

    if (prepare((enum prep)w->prep, flav)) {
        test_checks++;
        cell_fail(i, flav, "could not reach the row's state (prerequisite broken)", 0, 0);
        return 0;
    }
    for (k = 0; k < sizeof out; k++)
        out[k] = (uint8_t)(k * 13u + 7u);

    if (flav == FR) {
        state_before = udfu_rt_state(&rt);
        status_before = 0;
        cf_rt_ctl(&rt, w->q.bm, w->q.r, w->q.value, w->q.index, w->q.length, &r);
        udfu_rt_task(&rt, 100);
        state = udfu_rt_state(&rt);
        status = 0;
    } else {
        state_before = udfu_dfu_state(&dev.dfu);
        status_before = udfu_dfu_status(&dev.dfu);
        cf_ctl(&dev, w->q.bm, w->q.r, w->q.value, w->q.index, w->q.length, out, &r);
        state = udfu_dfu_state(&dev.dfu);
        status = udfu_dfu_status(&dev.dfu);
    }

    test_checks++;
    if (r.kind != w->kind) {
        if (r.kind == CF_BAD) {
            cell_fail(i, flav, "response: core misbehaved", 0, 0);
            fprintf(stderr, "    %s\n", r.bad);
        } else {
            cell_fail(i, flav, "response %ld (0=ACK 1=STALL 2=IN), expected %ld", r.kind, w->kind);
        }
    } else if (w->kind == CF_IN) {
        test_checks++;
        if (r.len != w->len) {
            cell_fail(i, flav, "IN length %ld, expected %ld", r.len, w->len);
        } else if (w->mem >= 0) {
            const uint8_t *m = cf_mem(&dev, 0, regions[0].start + (uint32_t)w->mem);
            if (!m || memcmp(r.data, m, (size_t)w->len))
                cell_fail(i, flav, "IN data differs from memory at offset %ld", w->mem, 0);
        } else {
            int b;
            for (b = 0; b < w->len; b++)
                if (r.data[b] != w->bytes[b]) {
                    cell_fail(i, flav, "IN byte %ld is 0x%02lX", b, r.data[b]);
                    fprintf(stderr, "    expected 0x%02X\n", w->bytes[b]);
                    break;
                }
        }
    }
    test_checks++;
    if (state != (w->state == SAME ? state_before : w->state))
        cell_fail(i, flav, "next state %ld, expected %ld", state,
                  w->state == SAME ? state_before : w->state);
    if (w->status != ANY) {
        test_checks++;
        if (status != (w->status == SAME ? status_before : w->status))
            cell_fail(i, flav, "status %ld, expected %ld", status,
                      w->status == SAME ? status_before : w->status);
    }
    return 1;
}

static int exercised, executions, base_rows, skipped;

/* A row counts as exercised only if it ran in some flavour and every run
 * passed; a row whose only flavour is compiled out (plain DFU 1.1 without
 * UDFU_CFG_PLAIN) is reported as skipped, not counted. */
TEST(every_table_cell_gives_the_listed_response_state_and_status)
{
    int i;
    for (i = 0; i < ROWS; i++) {
        const struct row *w = &table[i];
        unsigned f, ok = 1, runs = 0;
        for (f = FP; f <= FR; f <<= 1)
            if ((w->flav & f) && (f != FP || UDFU_CFG_PLAIN)) {
                int r = run_cell(i, f);
                ok &= (unsigned)r;
                executions += r;
                runs++;
            }
        if (!runs) {
            skipped++;
            printf("skip table cell %d (plain DFU 1.1 only; needs UDFU_CFG_PLAIN)\n", i);
        }
        exercised += (int)(runs && ok);
        base_rows += w->base;
    }
}

/* The table must hold every state x request cell exactly once. */
TEST(table_covers_every_state_and_request)
{
    int seen[UDFU_STATE_COUNT][7];
    int i, s, q;
    memset(seen, 0, sizeof seen);
    for (i = 0; i < ROWS; i++)
        if (table[i].base && table[i].q.r < 7)
            seen[prep_state[table[i].prep]][table[i].q.r]++;
    for (s = 0; s < UDFU_STATE_COUNT; s++)
        for (q = 0; q < 7; q++) {
            CHECK_EQ(seen[s][q], 1);
            if (seen[s][q] != 1)
                fprintf(stderr, "  state %d request %d: %d base rows\n", s, q, seen[s][q]);
        }
}

int main(void)
{
    RUN(table_covers_every_state_and_request);
    RUN(every_table_cell_gives_the_listed_response_state_and_status);
    printf("conformance: exercised %d of %d table cells (%d state x request cells + %d extra "
           "rows; %d runs over plain, DfuSe and run-time; %d skipped)\n",
           exercised, ROWS, base_rows, ROWS - base_rows, executions, skipped);
    return test_summary();
}
