/*
 * udfu_proto.h - DFU 1.1 / DfuSe protocol constants and wire structures,
 * shared by the device side and the host side, plus udfu's error codes.
 */
#ifndef UDFU_PROTO_H
#define UDFU_PROTO_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------ */

/* Fallible functions return 0 (or a count) on success and one of these on
 * failure. The DFU wire status (enum udfu_status) is separate; see
 * udfu_err_to_status() for the mapping. */
enum udfu_err {
    UDFU_OK = 0,
    UDFU_ERR_IO = -1,          /* backend or transport failure */
    UDFU_ERR_INVAL = -2,       /* bad argument or malformed input */
    UDFU_ERR_RANGE = -3,       /* address or length outside the memory map */
    UDFU_ERR_PERM = -4,        /* region does not allow the operation */
    UDFU_ERR_ERASE = -5,       /* erase failed */
    UDFU_ERR_PROG = -6,        /* program failed */
    UDFU_ERR_VERIFY = -7,      /* read-back differs */
    UDFU_ERR_NOT_ERASED = -8,  /* programming over memory that is not erased */
    UDFU_ERR_CRC = -9,         /* checksum mismatch */
    UDFU_ERR_FORMAT = -10,     /* file or image format not recognised */
    UDFU_ERR_NOSPACE = -11,    /* output buffer too small */
    UDFU_ERR_STALL = -12,      /* request refused (host side: LIBUSB_ERROR_PIPE) */
    UDFU_ERR_STATE = -13,      /* operation not possible in the current state */
    UDFU_ERR_FIRMWARE = -14,   /* image invalid or incomplete */
    UDFU_ERR_TIMEOUT = -15,    /* no answer in time */
    UDFU_ERR_NODEV = -16,      /* device not found or gone */
    UDFU_ERR_PENDING = -17,    /* not an error: the operation completes later */
    UDFU_ERR_UNSUPPORTED = -18 /* feature not offered by the device or build */
};

/* A short English message for any udfu_err (never NULL). */
const char *udfu_strerror(int err);

/* ---- requests (DFU 1.1 section 3) ---------------------------------------- */

enum udfu_request {
    UDFU_REQ_DETACH = 0,
    UDFU_REQ_DNLOAD = 1,
    UDFU_REQ_UPLOAD = 2,
    UDFU_REQ_GETSTATUS = 3,
    UDFU_REQ_CLRSTATUS = 4,
    UDFU_REQ_GETSTATE = 5,
    UDFU_REQ_ABORT = 6
};

/* bmRequestType of the class requests: class, interface recipient. */
#define UDFU_RT_OUT 0x21u
#define UDFU_RT_IN 0xA1u

/* ---- states and status codes (DFU 1.1 section 6.1.2) ---------------------- */

enum udfu_state {
    UDFU_APP_IDLE = 0,
    UDFU_APP_DETACH = 1,
    UDFU_DFU_IDLE = 2,
    UDFU_DNLOAD_SYNC = 3,
    UDFU_DNBUSY = 4,
    UDFU_DNLOAD_IDLE = 5,
    UDFU_MANIFEST_SYNC = 6,
    UDFU_MANIFEST = 7,
    UDFU_MANIFEST_WAIT_RESET = 8,
    UDFU_UPLOAD_IDLE = 9,
    UDFU_DFU_ERROR = 10
};
#define UDFU_STATE_COUNT 11

enum udfu_status {
    UDFU_STATUS_OK = 0,
    UDFU_STATUS_ERR_TARGET = 1,
    UDFU_STATUS_ERR_FILE = 2,
    UDFU_STATUS_ERR_WRITE = 3,
    UDFU_STATUS_ERR_ERASE = 4,
    UDFU_STATUS_ERR_CHECK_ERASED = 5,
    UDFU_STATUS_ERR_PROG = 6,
    UDFU_STATUS_ERR_VERIFY = 7,
    UDFU_STATUS_ERR_ADDRESS = 8,
    UDFU_STATUS_ERR_NOTDONE = 9,
    UDFU_STATUS_ERR_FIRMWARE = 10,
    UDFU_STATUS_ERR_VENDOR = 11,
    UDFU_STATUS_ERR_USBR = 12,
    UDFU_STATUS_ERR_POR = 13,
    UDFU_STATUS_ERR_UNKNOWN = 14,
    UDFU_STATUS_ERR_STALLEDPKT = 15
};

/* Maps a negative udfu_err to the bStatus a device reports for it:
 * RANGE/PERM -> errADDRESS (a write to read-only memory -> errWRITE is
 * decided by the caller), ERASE -> errERASE, PROG -> errPROG, VERIFY ->
 * errVERIFY, NOT_ERASED -> errCHECK_ERASED, FIRMWARE/CRC -> errFIRMWARE,
 * FORMAT -> errFILE, IO (a flash driver's failure) -> errWRITE, anything
 * else -> errUNKNOWN. 0 -> OK. */
enum udfu_status udfu_err_to_status(int err);

/* Name of a state ("dfuIDLE") or status ("errADDRESS"), for tools and logs. */
const char *udfu_state_name(int state);
const char *udfu_status_name(int status);

/* ---- GETSTATUS reply (6 bytes) ------------------------------------------- */

#define UDFU_STATUS_LEN 6
/* byte 0 bStatus, 1..3 bwPollTimeout (24-bit LE, ms), 4 bState, 5 iString */
#define UDFU_POLL_MAX 0xFFFFFFu

/* ---- descriptors --------------------------------------------------------- */

#define UDFU_CLASS_APP_SPECIFIC 0xFE
#define UDFU_SUBCLASS_DFU 0x01
#define UDFU_PROTOCOL_RUNTIME 0x01
#define UDFU_PROTOCOL_DFU 0x02

#define UDFU_DESC_FUNCTIONAL 0x21
#define UDFU_FUNC_DESC_LEN 9

/* bmAttributes of the functional descriptor */
#define UDFU_ATTR_CAN_DNLOAD 0x01u
#define UDFU_ATTR_CAN_UPLOAD 0x02u
#define UDFU_ATTR_MANIFEST_TOLERANT 0x04u
#define UDFU_ATTR_WILL_DETACH 0x08u

#define UDFU_BCD_DFU 0x0110u
#define UDFU_BCD_DFUSE 0x011Au

/* ---- DfuSe (ST AN3156) --------------------------------------------------- */

#define UDFU_DFUSE_CMD_GET 0x00u
#define UDFU_DFUSE_CMD_SET_ADDRESS 0x21u
#define UDFU_DFUSE_CMD_ERASE 0x41u
#define UDFU_DFUSE_CMD_READ_UNPROTECT 0x92u

/* ---- a setup packet, decoded --------------------------------------------- */

struct udfu_setup {
    uint8_t bmRequestType;
    uint8_t bRequest;
    uint16_t wValue;
    uint16_t wIndex;
    uint16_t wLength;
};

/* Decodes the 8 raw bytes of a SETUP packet. */
static inline void udfu_setup_parse(struct udfu_setup *s, const uint8_t raw[8])
{
    s->bmRequestType = raw[0];
    s->bRequest = raw[1];
    s->wValue = (uint16_t)(raw[2] | (raw[3] << 8));
    s->wIndex = (uint16_t)(raw[4] | (raw[5] << 8));
    s->wLength = (uint16_t)(raw[6] | (raw[7] << 8));
}

#ifdef __cplusplus
}
#endif

#endif /* UDFU_PROTO_H */
