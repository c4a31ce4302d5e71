/*
 * proto.c - names and mappings of protocol codes and udfu errors.
 */
#include "udfu_proto.h"

const char *udfu_strerror(int err)
{
    static const char *const msg[] = {
        "success",
        "I/O error in the backend or transport",
        "invalid argument or malformed input",
        "address or length outside the memory map",
        "memory region does not allow this operation",
        "erase failed",
        "program failed",
        "verify failed: memory differs from the data written",
        "memory not erased before programming",
        "checksum mismatch",
        "file or image format not recognised",
        "buffer too small",
        "request refused by the device (stall)",
        "not possible in the current state",
        "firmware invalid or incomplete",
        "timed out",
        "device not found or gone",
        "operation pending",
        "not supported",
    };
    unsigned i = err <= 0 ? (unsigned)-err : 0xFFFFu;
    return i < sizeof msg / sizeof msg[0] ? msg[i] : "unknown error";
}

enum udfu_status udfu_err_to_status(int err)
{
    switch (err) {
    case UDFU_OK: return UDFU_STATUS_OK;
    case UDFU_ERR_RANGE:
    case UDFU_ERR_PERM: return UDFU_STATUS_ERR_ADDRESS;
    case UDFU_ERR_ERASE: return UDFU_STATUS_ERR_ERASE;
    case UDFU_ERR_PROG: return UDFU_STATUS_ERR_PROG;
    case UDFU_ERR_VERIFY: return UDFU_STATUS_ERR_VERIFY;
    case UDFU_ERR_NOT_ERASED: return UDFU_STATUS_ERR_CHECK_ERASED;
    case UDFU_ERR_FIRMWARE:
    case UDFU_ERR_CRC: return UDFU_STATUS_ERR_FIRMWARE;
    case UDFU_ERR_FORMAT: return UDFU_STATUS_ERR_FILE;
    case UDFU_ERR_IO: return UDFU_STATUS_ERR_WRITE;
    default: return UDFU_STATUS_ERR_UNKNOWN;
    }
}

const char *udfu_state_name(int state)
{
    static const char *const name[UDFU_STATE_COUNT] = {
        "appIDLE", "appDETACH", "dfuIDLE", "dfuDNLOAD-SYNC", "dfuDNBUSY",
        "dfuDNLOAD-IDLE", "dfuMANIFEST-SYNC", "dfuMANIFEST", "dfuMANIFEST-WAIT-RESET",
        "dfuUPLOAD-IDLE", "dfuERROR",
    };
    return state >= 0 && state < UDFU_STATE_COUNT ? name[state] : "(unknown state)";
}

const char *udfu_status_name(int status)
{
    static const char *const name[16] = {
        "OK", "errTARGET", "errFILE", "errWRITE", "errERASE", "errCHECK_ERASED",
        "errPROG", "errVERIFY", "errADDRESS", "errNOTDONE", "errFIRMWARE",
        "errVENDOR", "errUSBR", "errPOR", "errUNKNOWN", "errSTALLEDPKT",
    };
    return status >= 0 && status < 16 ? name[status] : "(unknown status)";
}
