/*
 * lbserver.h - a small USB/IP server for the host tests: it exports one
 * loopback device (udfu's own device stack, see udfu_loopback.h) so that
 * the USB/IP client and the CLI can be tested end to end without the
 * kernel. Time on the device follows the wall clock.
 *
 * It behaves like a USB/IP exporter: DEVLIST lists the device, IMPORT
 * attaches it (a second importer is refused), CMD_SUBMIT on EP0 runs a
 * control transfer (a stall is -EPIPE), and when the device re-enumerates
 * (detach, leave) the connection is closed and the device offered again.
 * As with udfu-virtual, an import is a plug-in: the device sees a bus
 * reset then; a client that disconnects leaves the device running.
 * A client that disconnects is a bus reset for the device.
 */
#ifndef HOST_LBSERVER_H
#define HOST_LBSERVER_H

#include <stdint.h>

enum lbs_fault {
    LBS_OK,
    LBS_BAD_SEQNUM,   /* RET_SUBMIT carries the wrong seqnum */
    LBS_SILENT,       /* never answers CMD_SUBMIT (answers CMD_UNLINK) */
    LBS_HUGE_LENGTH   /* RET_SUBMIT claims more IN data than was asked */
};

struct lbs_opts {
    uint16_t port;     /* 0: any free port */
    int dfuse;         /* 1: the F4-like DfuSe device, 0: a plain one */
    int runtime;       /* start in run-time mode */
    int plain_attrs;   /* attributes (0: default) */
    int manifest_result; /* what the device's check (manifest()) returns: < 0 refuses
                          * every manifestation and DfuSe leave (dfuERROR) */
    enum lbs_fault fault;
};

/* Binds 127.0.0.1:port and returns the listening socket (its port in
 * *port), or -1. */
int lbs_listen(uint16_t *port);

/* Serves forever on the listening socket (until killed). */
void lbs_serve(int listen_fd, const struct lbs_opts *o);

#endif
