/*
 * uclient.h - a minimal USB/IP client for the tests: builds requests, reads
 * replies with a deadline, and runs control transfers on an imported device.
 *
 * While it waits for bytes it calls `idle` (if set) so a server running in
 * the same thread can make progress; otherwise it just polls the socket.
 */
#ifndef UDFU_TEST_UCLIENT_H
#define UDFU_TEST_UCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "usbip.h"

struct uclient {
    int fd;
    uint32_t seq;
    int timeout_ms;          /* per read (0: 5000) */
    void (*idle)(void *arg); /* called between reads while waiting */
    void *idle_arg;
};

/* Request builders: write into p, return the length. */
size_t uc_op_req(uint8_t *p, uint16_t version, uint16_t code);
size_t uc_import_req(uint8_t *p, const char *busid);
size_t uc_submit_hdr(uint8_t *p, uint32_t seq, uint32_t dir, uint32_t ep, uint32_t len,
                     const uint8_t setup[8]);
size_t uc_unlink_req(uint8_t *p, uint32_t seq, uint32_t victim);
void uc_setup(uint8_t s[8], uint8_t type, uint8_t req, uint16_t value, uint16_t index,
              uint16_t length);

/* TCP connect to host:port (blocking socket). Returns 0 or -1. */
int uc_connect(struct uclient *c, const char *host, uint16_t port);
void uc_close(struct uclient *c);

int uc_send(struct uclient *c, const void *p, size_t n);
/* Reads exactly n bytes. 0, or -1 on EOF, error or timeout. */
int uc_recv(struct uclient *c, void *p, size_t n);
/* 1 if the peer closed the connection (EOF) within the timeout, else 0. */
int uc_wait_eof(struct uclient *c);

/* OP_REQ_DEVLIST: fills the first device record (USBIP_DEV_REC_LEN bytes)
 * and returns the device count, or -1. */
int uc_devlist(struct uclient *c, uint8_t *rec, uint8_t *intf, size_t intf_max);
/* OP_REQ_IMPORT: returns the reply status (0 OK) and on success fills rec
 * (USBIP_DEV_REC_LEN bytes), or -1 on a transport error. */
int uc_import(struct uclient *c, const char *busid, uint8_t *rec);

/* One control transfer on EP0: dir from setup[0] bit 7. OUT sends len bytes
 * of data; IN receives up to len bytes into data. Returns the RET_SUBMIT
 * status (0, -32 stall ...) with *actual set, or 1 on a transport error. */
int uc_control(struct uclient *c, const uint8_t setup[8], uint8_t *data, uint16_t len,
               uint32_t *actual);

#endif
