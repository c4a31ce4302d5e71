/*
 * test_usbip_server.c - the USB/IP protocol server against a fake device:
 * record layouts, import rules, URB traffic, unlink, and robustness
 * (malformed headers, oversized lengths, unknown commands, disconnects at
 * every byte, random streams): the server must survive and serve the next
 * client.
 */
#define _POSIX_C_SOURCE 200809L

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"
#include "uclient.h"
#include "usbip.h"

/* ---- the fake device ----------------------------------------------------------- */

/* bRequest values the fake device treats specially */
#define REQ_HOLD 0xF0   /* keep the URB pending */
#define REQ_STALL 0xF1  /* complete with -EPIPE */
#define REQ_BYE 0xF2    /* complete, then re-enumerate (server disconnect) */

static struct fake {
    struct usbip_server *srv;
    int attached, attaches, detaches, submits, unlinks;
    struct usbip_urb *held;
    uint8_t last_out[64];
    uint32_t last_out_len;
    int bye;
    int absent; /* report nothing on the bus */
} dev;

static void fake_info(void *ctx, struct usbip_dev_info *info)
{
    (void)ctx;
    strcpy(info->path, "/sys/devices/udfu/test");
    info->busnum = 1;
    info->devnum = 2;
    info->speed = USBIP_SPEED_FULL;
    info->vid = 0x1209;
    info->pid = 0x0002;
    info->bcd_device = 0x0100;
    info->config_value = 1;
    info->num_configs = 1;
    info->num_interfaces = 1;
    info->intf[0].cls = 0xFE;
    info->intf[0].subclass = 0x01;
    info->intf[0].protocol = 0x02;
    info->absent = (uint8_t)dev.absent;
}

static int fake_attach(void *ctx)
{
    (void)ctx;
    dev.attached = 1;
    dev.attaches++;
    return 0;
}

static void fake_detach(void *ctx)
{
    (void)ctx;
    dev.attached = 0;
    dev.detaches++;
    dev.held = NULL;
}

static void fake_submit(void *ctx, struct usbip_urb *u)
{
    uint32_t i;

    (void)ctx;
    dev.submits++;
    if (u->ep != 0) {
        usbip_server_complete(dev.srv, u, USBIP_EPIPE, 0);
        return;
    }
    switch (u->setup[1]) {
    case REQ_HOLD:
        dev.held = u;
        return;
    case REQ_STALL:
        usbip_server_complete(dev.srv, u, USBIP_EPIPE, 0);
        return;
    case REQ_BYE:
        dev.bye = 1;
        break;
    default:
        break;
    }
    if (u->dir == USBIP_DIR_IN) {
        for (i = 0; i < u->len; i++)
            u->data[i] = (uint8_t)(i + u->setup[2]);
    } else {
        dev.last_out_len = u->len;
        memcpy(dev.last_out, u->data, u->len < 64 ? u->len : 64);
    }
    usbip_server_complete(dev.srv, u, 0, u->len);
}

static void fake_unlink(void *ctx, struct usbip_urb *u)
{
    (void)ctx;
    if (dev.held == u)
        dev.held = NULL;
    dev.unlinks++;
}

static const struct usbip_dev_ops fake_ops = {
    fake_info, fake_attach, fake_detach, fake_submit, fake_unlink,
};

static struct usbip_server srv;

/* The device drops off the bus to re-enumerate (no detach() follows). */
static void fake_disconnect(void)
{
    dev.attached = 0;
    dev.held = NULL;
    usbip_server_disconnect(&srv);
}

static void setup_server(void)
{
    memset(&dev, 0, sizeof(dev));
    dev.srv = &srv;
    usbip_server_init(&srv, &fake_ops, NULL, "1-1");
}

/* Balanced bookkeeping: every attach has its detach unless still attached;
 * a session ended with usbip_server_disconnect() has no detach. */
static int dev_consistent(void)
{
    return dev.attaches == dev.detaches + dev.attached + (int)srv.stats.server_ends &&
           dev.attached == usbip_server_attached(&srv);
}

/* ---- in-memory helpers ----------------------------------------------------------- */

static size_t take(int id, uint8_t *buf, size_t max)
{
    return usbip_server_take(&srv, id, buf, max);
}

static int import_mem(void)
{
    uint8_t req[USBIP_IMPORT_REQ_LEN], rep[512];
    int id = usbip_server_adopt(&srv, -1);

    uc_import_req(req, "1-1");
    if (usbip_server_feed(&srv, id, req, sizeof(req)) < 0)
        return -1;
    if (take(id, rep, sizeof(rep)) != USBIP_OP_HDR_LEN + USBIP_DEV_REC_LEN)
        return -1;
    return usbip_get32(rep + 4) == 0 ? id : -1;
}

static int submit_mem(int id, uint32_t seq, uint32_t dir, uint8_t req, uint16_t len,
                      const uint8_t *out)
{
    uint8_t msg[USBIP_HDR_LEN + 256], setup[8];

    uc_setup(setup, dir == USBIP_DIR_IN ? 0xC0 : 0x40, req, 0, 0, len);
    uc_submit_hdr(msg, seq, dir, 0, len, setup);
    if (dir == USBIP_DIR_OUT && len)
        memcpy(msg + USBIP_HDR_LEN, out, len);
    return usbip_server_feed(&srv, id, msg,
                             USBIP_HDR_LEN + (dir == USBIP_DIR_OUT ? len : 0));
}

/* ---- records and import ----------------------------------------------------------- */

TEST(devlist_reply_carries_device_record_and_interfaces_then_closes)
{
    uint8_t req[8], rep[512];
    int id;
    size_t n;

    setup_server();
    id = usbip_server_adopt(&srv, -1);
    uc_op_req(req, USBIP_VERSION, USBIP_OP_REQ_DEVLIST);
    CHECK_EQ(usbip_server_feed(&srv, id, req, 8), 0);
    n = take(id, rep, sizeof(rep));
    CHECK_EQ(n, 12 + USBIP_DEV_REC_LEN + 4);
    CHECK_EQ(usbip_get16(rep), 0x0111);
    CHECK_EQ(usbip_get16(rep + 2), USBIP_OP_REP_DEVLIST);
    CHECK_EQ(usbip_get32(rep + 4), 0);
    CHECK_EQ(usbip_get32(rep + 8), 1);
    CHECK(strcmp((char *)rep + 0x0C, "/sys/devices/udfu/test") == 0);
    CHECK(strcmp((char *)rep + 0x10C, "1-1") == 0);
    CHECK_EQ(usbip_get32(rep + 0x12C), 1);
    CHECK_EQ(usbip_get32(rep + 0x130), 2);
    CHECK_EQ(usbip_get32(rep + 0x134), USBIP_SPEED_FULL);
    CHECK_EQ(usbip_get16(rep + 0x138), 0x1209);
    CHECK_EQ(usbip_get16(rep + 0x13A), 0x0002);
    CHECK_EQ(usbip_get16(rep + 0x13C), 0x0100);
    CHECK_EQ(rep[0x141], 1);
    CHECK_EQ(rep[0x142], 1);
    CHECK_EQ(rep[0x143], 1);
    CHECK_EQ(rep[0x144], 0xFE);
    CHECK_EQ(rep[0x145], 0x01);
    CHECK_EQ(rep[0x146], 0x02);
    CHECK_EQ(rep[0x147], 0);
    CHECK_EQ(usbip_server_phase(&srv, id), USBIP_CONN_CLOSING);
    CHECK_EQ(dev.attaches, 0);
    usbip_server_close(&srv);
}

TEST(import_with_our_busid_echoes_it_and_starts_a_session)
{
    uint8_t req[USBIP_IMPORT_REQ_LEN], rep[512];
    int id;

    setup_server();
    id = usbip_server_adopt(&srv, -1);
    uc_import_req(req, "1-1");
    CHECK_EQ(usbip_server_feed(&srv, id, req, sizeof(req)), 0);
    CHECK_EQ(take(id, rep, sizeof(rep)), USBIP_OP_HDR_LEN + USBIP_DEV_REC_LEN);
    CHECK_EQ(usbip_get16(rep + 2), USBIP_OP_REP_IMPORT);
    CHECK_EQ(usbip_get32(rep + 4), USBIP_ST_OK);
    CHECK(strcmp((char *)rep + 8 + 0x100, "1-1") == 0);
    CHECK_EQ(usbip_get16(rep + 8 + 0x12C), 0x1209);
    CHECK_EQ(rep[8 + 0x137], 1);
    CHECK_EQ(usbip_server_phase(&srv, id), USBIP_CONN_URB);
    CHECK_EQ(dev.attaches, 1);
    CHECK(usbip_server_attached(&srv));
    usbip_server_close(&srv);
    CHECK_EQ(dev.detaches, 1);
}

TEST(import_with_unknown_or_unterminated_busid_is_refused_with_nodev)
{
    uint8_t req[USBIP_IMPORT_REQ_LEN], rep[64];
    int id;

    setup_server();
    id = usbip_server_adopt(&srv, -1);
    uc_import_req(req, "2-7");
    CHECK_EQ(usbip_server_feed(&srv, id, req, sizeof(req)), 0);
    CHECK_EQ(take(id, rep, sizeof(rep)), 8);
    CHECK_EQ(usbip_get32(rep + 4), USBIP_ST_NODEV);
    CHECK_EQ(usbip_server_phase(&srv, id), USBIP_CONN_CLOSING);

    id = usbip_server_adopt(&srv, -1);
    uc_import_req(req, "1-1");
    memset(req + 8, '1', USBIP_BUSID_LEN); /* no NUL anywhere */
    CHECK_EQ(usbip_server_feed(&srv, id, req, sizeof(req)), 0);
    CHECK_EQ(take(id, rep, sizeof(rep)), 8);
    CHECK_EQ(usbip_get32(rep + 4), USBIP_ST_NODEV);
    CHECK_EQ(dev.attaches, 0);
    CHECK(!usbip_server_attached(&srv));
    usbip_server_close(&srv);
}

/* A device off the bus (its application runs without USB): an empty
 * list, and an import is refused with NODEV without attaching; once it is
 * back, both work again. */
TEST(absent_device_lists_nothing_and_refuses_import_until_back)
{
    uint8_t req[USBIP_IMPORT_REQ_LEN], rep[512];
    int id;

    setup_server();
    dev.absent = 1;
    id = usbip_server_adopt(&srv, -1);
    uc_op_req(req, USBIP_VERSION, USBIP_OP_REQ_DEVLIST);
    CHECK_EQ(usbip_server_feed(&srv, id, req, 8), 0);
    CHECK_EQ(take(id, rep, sizeof(rep)), 12);
    CHECK_EQ(usbip_get16(rep + 2), USBIP_OP_REP_DEVLIST);
    CHECK_EQ(usbip_get32(rep + 4), 0);
    CHECK_EQ(usbip_get32(rep + 8), 0);

    id = usbip_server_adopt(&srv, -1);
    uc_import_req(req, "1-1");
    CHECK_EQ(usbip_server_feed(&srv, id, req, sizeof(req)), 0);
    CHECK_EQ(take(id, rep, sizeof(rep)), 8);
    CHECK_EQ(usbip_get32(rep + 4), USBIP_ST_NODEV);
    CHECK_EQ(dev.attaches, 0);
    CHECK(!usbip_server_attached(&srv));

    dev.absent = 0;
    id = usbip_server_adopt(&srv, -1);
    CHECK_EQ(usbip_server_feed(&srv, id, req, sizeof(req)), 0);
    CHECK_EQ(take(id, rep, sizeof(rep)), USBIP_OP_HDR_LEN + USBIP_DEV_REC_LEN);
    CHECK_EQ(usbip_get32(rep + 4), USBIP_ST_OK);
    CHECK_EQ(dev.attaches, 1);
    usbip_server_close(&srv);
}

TEST(second_importer_is_refused_busy_and_first_session_keeps_working)
{
    uint8_t req[USBIP_IMPORT_REQ_LEN], rep[512];
    int a, b;

    setup_server();
    a = import_mem();
    CHECK(a >= 0);
    b = usbip_server_adopt(&srv, -1);
    uc_import_req(req, "1-1");
    CHECK_EQ(usbip_server_feed(&srv, b, req, sizeof(req)), 0);
    CHECK_EQ(take(b, rep, sizeof(rep)), 8);
    CHECK_EQ(usbip_get16(rep + 2), USBIP_OP_REP_IMPORT);
    CHECK_EQ(usbip_get32(rep + 4), USBIP_ST_DEV_BUSY);
    CHECK_EQ(usbip_server_phase(&srv, b), USBIP_CONN_CLOSING);
    CHECK_EQ(dev.attaches, 1);

    CHECK_EQ(submit_mem(a, 5, USBIP_DIR_IN, 0x01, 4, NULL), 0);
    CHECK_EQ(take(a, rep, sizeof(rep)), USBIP_HDR_LEN + 4);
    CHECK_EQ(usbip_get32(rep), USBIP_RET_SUBMIT);
    CHECK_EQ(usbip_get32(rep + 4), 5);
    usbip_server_close(&srv);
}

/* ---- URB traffic ------------------------------------------------------------------ */

TEST(in_urb_returns_data_and_header_fields_linux_expects)
{
    uint8_t rep[512];
    int id;

    setup_server();
    id = import_mem();
    CHECK_EQ(submit_mem(id, 0x1234, USBIP_DIR_IN, 0x06, 18, NULL), 0);
    CHECK_EQ(take(id, rep, sizeof(rep)), USBIP_HDR_LEN + 18);
    CHECK_EQ(usbip_get32(rep + 0x00), USBIP_RET_SUBMIT);
    CHECK_EQ(usbip_get32(rep + 0x04), 0x1234);
    CHECK_EQ(usbip_get32(rep + 0x08), 0); /* devid, direction, ep: 0 */
    CHECK_EQ(usbip_get32(rep + 0x0C), 0);
    CHECK_EQ(usbip_get32(rep + 0x10), 0);
    CHECK_EQ(usbip_get32(rep + 0x14), 0);  /* status */
    CHECK_EQ(usbip_get32(rep + 0x18), 18); /* actual_length */
    CHECK_EQ(usbip_get32(rep + 0x1C), 0);  /* start_frame */
    CHECK_EQ(usbip_get32(rep + 0x20), 0);  /* number_of_packets (non-iso) */
    CHECK_EQ(usbip_get32(rep + 0x24), 0);  /* error_count */
    CHECK_EQ(rep[USBIP_HDR_LEN + 0], 0);
    CHECK_EQ(rep[USBIP_HDR_LEN + 17], 17);
    usbip_server_close(&srv);
}

TEST(out_urb_delivers_data_to_device_and_reply_has_no_payload)
{
    uint8_t rep[512], data[10] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0 };
    int id;

    setup_server();
    id = import_mem();
    CHECK_EQ(submit_mem(id, 7, USBIP_DIR_OUT, 0x01, sizeof(data), data), 0);
    CHECK_EQ(take(id, rep, sizeof(rep)), USBIP_HDR_LEN);
    CHECK_EQ(usbip_get32(rep + 0x18), sizeof(data));
    CHECK_EQ(dev.last_out_len, sizeof(data));
    CHECK_MEM(dev.last_out, data, sizeof(data));
    usbip_server_close(&srv);
}

TEST(stall_is_reported_as_epipe)
{
    uint8_t rep[512];
    int id;

    setup_server();
    id = import_mem();
    CHECK_EQ(submit_mem(id, 3, USBIP_DIR_IN, REQ_STALL, 8, NULL), 0);
    CHECK_EQ(take(id, rep, sizeof(rep)), USBIP_HDR_LEN);
    CHECK_EQ((int32_t)usbip_get32(rep + 0x14), -32);
    CHECK_EQ(usbip_get32(rep + 0x18), 0);
    usbip_server_close(&srv);
}

TEST(requests_split_into_single_bytes_are_reassembled)
{
    uint8_t msg[USBIP_IMPORT_REQ_LEN + USBIP_HDR_LEN + 3], rep[512], setup[8];
    size_t i, n;
    int id;

    setup_server();
    id = usbip_server_adopt(&srv, -1);
    n = uc_import_req(msg, "1-1");
    uc_setup(setup, 0x40, 0x01, 0, 0, 3);
    n += uc_submit_hdr(msg + n, 1, USBIP_DIR_OUT, 0, 3, setup);
    msg[n++] = 0xAA;
    msg[n++] = 0xBB;
    msg[n++] = 0xCC;
    for (i = 0; i < n; i++)
        CHECK_EQ(usbip_server_feed(&srv, id, msg + i, 1), 0);
    CHECK_EQ(take(id, rep, sizeof(rep)), USBIP_OP_HDR_LEN + USBIP_DEV_REC_LEN + USBIP_HDR_LEN);
    CHECK_EQ(usbip_get32(rep + 8 + USBIP_DEV_REC_LEN), USBIP_RET_SUBMIT);
    CHECK_EQ(dev.last_out_len, 3);
    CHECK_EQ(dev.last_out[2], 0xCC);
    usbip_server_close(&srv);
}

TEST(urbs_are_answered_in_order_behind_a_pending_one)
{
    uint8_t rep[1024];
    int id;

    setup_server();
    id = import_mem();
    CHECK_EQ(submit_mem(id, 10, USBIP_DIR_IN, REQ_HOLD, 4, NULL), 0);
    CHECK_EQ(submit_mem(id, 11, USBIP_DIR_IN, 0x01, 4, NULL), 0);
    CHECK_EQ(take(id, rep, sizeof(rep)), 0);
    CHECK(dev.held != NULL);
    CHECK_EQ(dev.submits, 1); /* the second waits for the first */
    usbip_server_complete(&srv, dev.held, 0, 2);
    CHECK_EQ(take(id, rep, sizeof(rep)), 2 * USBIP_HDR_LEN + 2 + 4);
    CHECK_EQ(usbip_get32(rep + 4), 10);
    CHECK_EQ(usbip_get32(rep + 0x18), 2);
    CHECK_EQ(usbip_get32(rep + USBIP_HDR_LEN + 2 + 4), 11);
    usbip_server_close(&srv);
}

TEST(unlink_of_in_flight_urb_gets_econnreset_and_no_ret_submit)
{
    uint8_t rep[512], msg[USBIP_HDR_LEN];
    int id;

    setup_server();
    id = import_mem();
    CHECK_EQ(submit_mem(id, 20, USBIP_DIR_IN, REQ_HOLD, 4, NULL), 0);
    CHECK(dev.held != NULL);
    uc_unlink_req(msg, 21, 20);
    CHECK_EQ(usbip_server_feed(&srv, id, msg, sizeof(msg)), 0);
    CHECK_EQ(take(id, rep, sizeof(rep)), USBIP_HDR_LEN);
    CHECK_EQ(usbip_get32(rep), USBIP_RET_UNLINK);
    CHECK_EQ(usbip_get32(rep + 4), 21);
    CHECK_EQ((int32_t)usbip_get32(rep + 0x14), -104);
    CHECK_EQ(dev.unlinks, 1);
    CHECK(dev.held == NULL);
    /* the device is free for the next transfer */
    CHECK_EQ(submit_mem(id, 22, USBIP_DIR_IN, 0x01, 4, NULL), 0);
    CHECK_EQ(take(id, rep, sizeof(rep)), USBIP_HDR_LEN + 4);
    CHECK_EQ(usbip_get32(rep + 4), 22);
    usbip_server_close(&srv);
}

TEST(unlink_of_queued_urb_removes_it_before_the_device_sees_it)
{
    uint8_t rep[512], msg[USBIP_HDR_LEN];
    int id;

    setup_server();
    id = import_mem();
    CHECK_EQ(submit_mem(id, 30, USBIP_DIR_IN, REQ_HOLD, 4, NULL), 0);
    CHECK_EQ(submit_mem(id, 31, USBIP_DIR_IN, 0x01, 4, NULL), 0);
    uc_unlink_req(msg, 32, 31);
    CHECK_EQ(usbip_server_feed(&srv, id, msg, sizeof(msg)), 0);
    CHECK_EQ(take(id, rep, sizeof(rep)), USBIP_HDR_LEN);
    CHECK_EQ((int32_t)usbip_get32(rep + 0x14), -104);
    CHECK_EQ(dev.unlinks, 0);
    usbip_server_complete(&srv, dev.held, 0, 0);
    CHECK_EQ(take(id, rep, sizeof(rep)), USBIP_HDR_LEN);
    CHECK_EQ(usbip_get32(rep + 4), 30);
    CHECK_EQ(dev.submits, 1); /* 31 never reached the device */
    usbip_server_close(&srv);
}

TEST(unlink_of_answered_urb_gets_status_zero)
{
    uint8_t rep[512], msg[USBIP_HDR_LEN];
    int id;

    setup_server();
    id = import_mem();
    CHECK_EQ(submit_mem(id, 40, USBIP_DIR_IN, 0x01, 4, NULL), 0);
    CHECK_EQ(take(id, rep, sizeof(rep)), USBIP_HDR_LEN + 4);
    uc_unlink_req(msg, 41, 40);
    CHECK_EQ(usbip_server_feed(&srv, id, msg, sizeof(msg)), 0);
    CHECK_EQ(take(id, rep, sizeof(rep)), USBIP_HDR_LEN);
    CHECK_EQ(usbip_get32(rep), USBIP_RET_UNLINK);
    CHECK_EQ(usbip_get32(rep + 4), 41);
    CHECK_EQ(usbip_get32(rep + 0x14), 0);
    usbip_server_close(&srv);
}

/* ---- malformed input ---------------------------------------------------------------- */

/* Feeds msg to a fresh session and checks the client is dropped with no
 * reply and that the next client can import and work. */
static void check_session_dropped(const uint8_t *msg, size_t n)
{
    uint8_t rep[512];
    int id = import_mem(), id2;
    unsigned dropped = srv.stats.dropped;

    CHECK(id >= 0);
    CHECK_EQ(usbip_server_feed(&srv, id, msg, n), -1);
    CHECK_EQ(usbip_server_phase(&srv, id), USBIP_CONN_FREE);
    CHECK_EQ(srv.stats.dropped, dropped + 1);
    CHECK(!usbip_server_attached(&srv));
    CHECK(dev_consistent());
    id2 = import_mem();
    CHECK(id2 >= 0);
    CHECK_EQ(submit_mem(id2, 1, USBIP_DIR_IN, 0x01, 4, NULL), 0);
    CHECK_EQ(take(id2, rep, sizeof(rep)), USBIP_HDR_LEN + 4);
    usbip_server_close(&srv);
}

TEST(oversized_transfer_length_drops_client_and_server_serves_next)
{
    uint8_t msg[USBIP_HDR_LEN], setup[8];

    setup_server();
    uc_setup(setup, 0xC0, 1, 0, 0, 0xFFFF);
    uc_submit_hdr(msg, 1, USBIP_DIR_IN, 0, USBIP_MAX_URB_LEN + 1, setup);
    check_session_dropped(msg, sizeof(msg));
    setup_server();
    uc_submit_hdr(msg, 1, USBIP_DIR_OUT, 0, 0x80000000u, setup); /* negative as s32 */
    check_session_dropped(msg, sizeof(msg));
    setup_server();
    uc_submit_hdr(msg, 1, USBIP_DIR_IN, 0, 0xFFFFFFFFu, setup);
    check_session_dropped(msg, sizeof(msg));
}

TEST(largest_legal_out_transfer_is_accepted)
{
    static uint8_t msg[USBIP_HDR_LEN + USBIP_MAX_URB_LEN];
    uint8_t rep[USBIP_HDR_LEN], setup[8];
    int id;

    setup_server();
    id = import_mem();
    uc_setup(setup, 0x40, 1, 0, 0, 0xFFFF);
    uc_submit_hdr(msg, 9, USBIP_DIR_OUT, 0, USBIP_MAX_URB_LEN, setup);
    CHECK_EQ(usbip_server_feed(&srv, id, msg, sizeof(msg)), 0);
    CHECK_EQ(take(id, rep, sizeof(rep)), USBIP_HDR_LEN);
    CHECK_EQ(usbip_get32(rep + 0x18), USBIP_MAX_URB_LEN);
    usbip_server_close(&srv);
}

TEST(unknown_command_bad_direction_bad_endpoint_and_iso_drop_the_client)
{
    uint8_t msg[USBIP_HDR_LEN];

    setup_server();
    uc_submit_hdr(msg, 1, USBIP_DIR_IN, 0, 4, NULL);
    usbip_put32(msg, 5); /* no such command */
    check_session_dropped(msg, sizeof(msg));

    setup_server();
    uc_submit_hdr(msg, 1, USBIP_DIR_IN, 0, 4, NULL);
    usbip_put32(msg, USBIP_RET_SUBMIT); /* a reply is not a request */
    check_session_dropped(msg, sizeof(msg));

    setup_server();
    uc_submit_hdr(msg, 1, 2, 0, 4, NULL);
    check_session_dropped(msg, sizeof(msg));

    setup_server();
    uc_submit_hdr(msg, 1, USBIP_DIR_IN, 16, 4, NULL);
    check_session_dropped(msg, sizeof(msg));

    setup_server();
    uc_submit_hdr(msg, 1, USBIP_DIR_IN, 0, 4, NULL);
    usbip_put32(msg + 0x20, 3); /* iso packets */
    check_session_dropped(msg, sizeof(msg));
}

TEST(number_of_packets_all_ones_is_accepted_as_non_iso)
{
    uint8_t msg[USBIP_HDR_LEN], rep[128], setup[8];
    int id;

    setup_server();
    id = import_mem();
    uc_setup(setup, 0xC0, 1, 0, 0, 4);
    uc_submit_hdr(msg, 2, USBIP_DIR_IN, 0, 4, setup);
    usbip_put32(msg + 0x20, 0xFFFFFFFFu);
    CHECK_EQ(usbip_server_feed(&srv, id, msg, sizeof(msg)), 0);
    CHECK_EQ(take(id, rep, sizeof(rep)), USBIP_HDR_LEN + 4);
    usbip_server_close(&srv);
}

TEST(bad_version_or_op_code_before_import_drops_client)
{
    uint8_t req[USBIP_HDR_LEN], rep[64];
    int id;

    setup_server();
    id = usbip_server_adopt(&srv, -1);
    uc_op_req(req, 0x0106, USBIP_OP_REQ_DEVLIST);
    CHECK_EQ(usbip_server_feed(&srv, id, req, 8), -1);
    CHECK_EQ(take(id, rep, sizeof(rep)), 0);

    id = usbip_server_adopt(&srv, -1);
    uc_op_req(req, USBIP_VERSION, 0x8004);
    CHECK_EQ(usbip_server_feed(&srv, id, req, 8), -1);

    id = usbip_server_adopt(&srv, -1);
    uc_submit_hdr(req, 1, 0, 0, 0, NULL); /* URB traffic before import */
    CHECK_EQ(usbip_server_feed(&srv, id, req, USBIP_HDR_LEN), -1);
    CHECK_EQ(srv.stats.dropped, 3);
    CHECK_EQ(dev.attaches, 0);
    CHECK(import_mem() >= 0);
    usbip_server_close(&srv);
}

TEST(too_many_urbs_in_flight_drop_the_client_and_free_them)
{
    uint8_t msg[USBIP_HDR_LEN];
    int id, i, r = 0;

    setup_server();
    id = import_mem();
    CHECK_EQ(submit_mem(id, 1, USBIP_DIR_IN, REQ_HOLD, 4, NULL), 0);
    for (i = 0; i < USBIP_MAX_URBS + 1 && r == 0; i++) {
        uc_submit_hdr(msg, (uint32_t)(100 + i), USBIP_DIR_IN, 0, 4, NULL);
        r = usbip_server_feed(&srv, id, msg, sizeof(msg));
    }
    CHECK_EQ(r, -1);
    CHECK_EQ(i, USBIP_MAX_URBS);
    CHECK_EQ(dev.unlinks, 1); /* the held one was taken back */
    CHECK(dev.held == NULL);
    CHECK(dev_consistent());
}

TEST(device_initiated_disconnect_flushes_replies_and_allows_reimport)
{
    uint8_t rep[512];
    int id;

    setup_server();
    id = import_mem();
    CHECK_EQ(submit_mem(id, 60, USBIP_DIR_OUT, REQ_BYE, 0, NULL), 0);
    CHECK(dev.bye);
    fake_disconnect();
    CHECK(!usbip_server_attached(&srv));
    CHECK_EQ(usbip_server_phase(&srv, id), USBIP_CONN_CLOSING);
    /* further requests on the old connection are ignored */
    CHECK_EQ(submit_mem(id, 61, USBIP_DIR_IN, 0x01, 4, NULL), 0);
    CHECK_EQ(take(id, rep, sizeof(rep)), USBIP_HDR_LEN);
    CHECK_EQ(usbip_get32(rep + 4), 60);
    CHECK_EQ(dev.detaches, 0);
    CHECK(import_mem() >= 0);
    CHECK_EQ(dev.attaches, 2);
    usbip_server_close(&srv);
}

/* ---- random streams --------------------------------------------------------------- */

static uint32_t rng = 12345;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* A plausible request with one random corruption now and then. */
static size_t random_request(uint8_t *p)
{
    uint8_t setup[8];
    uint32_t len = rnd() % 80, dir = rnd() & 1;
    size_t n;

    uc_setup(setup, (uint8_t)(dir ? 0x80 : 0), (uint8_t)(rnd() % 8 ? 1 : 0xF0 + rnd() % 3),
             0, 0, (uint16_t)len);
    if (rnd() % 5 == 0) {
        n = uc_unlink_req(p, rnd() % 16, rnd() % 16);
    } else {
        n = uc_submit_hdr(p, rnd() % 16, dir, rnd() % 8 ? 0 : 1, len, setup);
        if (dir == USBIP_DIR_OUT) {
            memset(p + n, 0x5A, len);
            n += len;
        }
    }
    if (rnd() % 24 == 0)
        p[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8));
    return n;
}

TEST(random_request_streams_never_break_the_server)
{
    uint8_t msg[256], rep[4096];
    int round, i, open_ok = 0;
    unsigned submits = 0;

    for (round = 0; round < 3000; round++) {
        int id;

        setup_server();
        id = import_mem();
        CHECK(id >= 0);
        for (i = 0; i < 40; i++) {
            size_t n = random_request(msg), cut = rnd() % 16 ? n : rnd() % n;

            if (usbip_server_feed(&srv, id, msg, cut) < 0)
                break;
            while (take(id, rep, sizeof(rep)))
                ;
            if (dev.bye && usbip_server_attached(&srv)) {
                fake_disconnect();
                break;
            }
            if (dev.held && rnd() % 3 == 0) {
                struct usbip_urb *u = dev.held;

                dev.held = NULL;
                usbip_server_complete(&srv, u, 0, 0);
            }
        }
        submits += srv.stats.submits;
        usbip_server_eof(&srv, id);
        if (!dev_consistent() || usbip_server_attached(&srv)) {
            CHECK(dev_consistent());
            CHECK(!usbip_server_attached(&srv));
            break;
        }
        /* the next client is always served */
        id = import_mem();
        open_ok += id >= 0;
        usbip_server_close(&srv);
        if (!dev_consistent() || dev.attached) {
            CHECK(!dev.attached);
            break;
        }
    }
    CHECK_EQ(open_ok, 3000);
    CHECK(submits > 15000); /* the streams went deep, not just dropped early */
}

/* ---- real sockets ------------------------------------------------------------------- */

static void step_server(void *arg)
{
    (void)arg;
    usbip_server_step(&srv, 0);
}

/* A scripted session over a socketpair: import, an OUT transfer, an IN
 * transfer. */
static size_t script(uint8_t *p)
{
    uint8_t setup[8];
    size_t n = uc_import_req(p, "1-1");

    uc_setup(setup, 0x40, 0x01, 0, 0, 5);
    n += uc_submit_hdr(p + n, 1, USBIP_DIR_OUT, 0, 5, setup);
    memcpy(p + n, "hello", 5);
    n += 5;
    uc_setup(setup, 0xC0, 0x01, 0, 0, 6);
    n += uc_submit_hdr(p + n, 2, USBIP_DIR_IN, 0, 6, setup);
    return n;
}

TEST(client_disconnect_at_every_byte_leaves_server_serving)
{
    uint8_t msg[256], rep[1024];
    size_t n, cut;
    int sv[2];
    struct uclient uc;

    setup_server();
    n = script(msg);
    for (cut = 0; cut <= n; cut++) {
        int i;

        CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        CHECK(usbip_server_adopt(&srv, sv[0]) >= 0);
        CHECK_EQ(write(sv[1], msg, cut), (ssize_t)cut);
        for (i = 0; i < 5; i++)
            usbip_server_step(&srv, 0);
        close(sv[1]);
        for (i = 0; i < 5; i++)
            usbip_server_step(&srv, 0);
        if (!dev_consistent() || usbip_server_attached(&srv)) {
            CHECK(dev_consistent());
            CHECK(!usbip_server_attached(&srv));
            break;
        }
    }
    CHECK_EQ(dev.attaches, dev.detaches);
    CHECK(dev.attaches > 0);

    /* and a full session still works */
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    CHECK(usbip_server_adopt(&srv, sv[0]) >= 0);
    memset(&uc, 0, sizeof(uc));
    uc.fd = sv[1];
    uc.idle = step_server;
    CHECK_EQ(uc_send(&uc, msg, n), 0);
    CHECK_EQ(uc_recv(&uc, rep, 8 + USBIP_DEV_REC_LEN + USBIP_HDR_LEN + USBIP_HDR_LEN + 6), 0);
    CHECK_EQ(usbip_get32(rep + 8 + USBIP_DEV_REC_LEN + USBIP_HDR_LEN + 4), 2);
    uc_close(&uc);
    usbip_server_close(&srv);
}

/* Reads what the server sends on fd until it closes; the count. */
static size_t read_to_eof(int fd, uint8_t *buf, size_t cap)
{
    size_t got = 0;
    int i;
    for (i = 0; i < 50; i++) {
        ssize_t r;
        usbip_server_step(&srv, 0);
        while ((r = recv(fd, buf + got, cap - got, MSG_DONTWAIT)) > 0)
            got += (size_t)r;
        if (r == 0)
            return got;
    }
    return (size_t)-1; /* never closed */
}

/* A client may half-close (shutdown(SHUT_WR)) after its last request, as
 * usbipd's clients may: it still gets every reply, then the close. */
TEST(half_closed_client_gets_its_replies_then_the_close)
{
    uint8_t msg[256], rep[1024];
    size_t n;
    int sv[2];

    setup_server();
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    CHECK(usbip_server_adopt(&srv, sv[0]) >= 0);
    uc_op_req(msg, USBIP_VERSION, USBIP_OP_REQ_DEVLIST);
    CHECK_EQ(write(sv[1], msg, 8), 8);
    shutdown(sv[1], SHUT_WR);
    CHECK_EQ(read_to_eof(sv[1], rep, sizeof(rep)), 12 + USBIP_DEV_REC_LEN + 4);
    CHECK_EQ(usbip_get16(rep + 2), USBIP_OP_REP_DEVLIST);
    close(sv[1]);

    n = script(msg);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    CHECK(usbip_server_adopt(&srv, sv[0]) >= 0);
    CHECK_EQ(write(sv[1], msg, n), (ssize_t)n);
    shutdown(sv[1], SHUT_WR);
    CHECK_EQ(read_to_eof(sv[1], rep, sizeof(rep)),
             8 + USBIP_DEV_REC_LEN + USBIP_HDR_LEN + USBIP_HDR_LEN + 6);
    CHECK_EQ(usbip_get32(rep + 8 + USBIP_DEV_REC_LEN + USBIP_HDR_LEN + 4), 2);
    close(sv[1]);
    CHECK(!usbip_server_attached(&srv));
    CHECK(dev_consistent());
    usbip_server_close(&srv);
}

TEST(loopback_listener_serves_devlist_refusal_and_session_concurrently)
{
    struct uclient a, b, l;
    uint8_t rec[USBIP_DEV_REC_LEN], intf[16], setup[8], data[16];
    uint16_t port;
    uint32_t actual = 0;

    setup_server();
    CHECK_EQ(usbip_server_listen(&srv, "127.0.0.1", 0), 0);
    port = usbip_server_port(&srv);
    CHECK(port != 0);
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    memset(&l, 0, sizeof(l));
    a.idle = b.idle = l.idle = step_server;

    CHECK_EQ(uc_connect(&l, "127.0.0.1", port), 0);
    CHECK_EQ(uc_devlist(&l, rec, intf, sizeof(intf)), 1);
    CHECK(strcmp((char *)rec + 0x100, "1-1") == 0);
    CHECK_EQ(intf[0], 0xFE);
    CHECK_EQ(uc_wait_eof(&l), 1);
    uc_close(&l);

    CHECK_EQ(uc_connect(&a, "127.0.0.1", port), 0);
    CHECK_EQ(uc_import(&a, "1-1", rec), 0);
    CHECK_EQ(uc_connect(&b, "127.0.0.1", port), 0);
    CHECK_EQ(uc_import(&b, "1-1", rec), (int)USBIP_ST_DEV_BUSY);
    CHECK_EQ(uc_wait_eof(&b), 1);
    uc_close(&b);

    uc_setup(setup, 0xC0, 0x01, 3, 0, sizeof(data));
    CHECK_EQ(uc_control(&a, setup, data, sizeof(data), &actual), 0);
    CHECK_EQ(actual, sizeof(data));
    CHECK_EQ(data[0], 3);
    uc_setup(setup, 0xC0, REQ_STALL, 0, 0, 4);
    CHECK_EQ(uc_control(&a, setup, data, 4, &actual), -32);
    uc_close(&a);
    {
        int i;

        for (i = 0; i < 50 && usbip_server_attached(&srv); i++)
            usbip_server_step(&srv, 2);
    }
    CHECK(!usbip_server_attached(&srv));
    CHECK_EQ(srv.stats.client_ends, 1);
    CHECK_EQ(dev.detaches, 1);
    usbip_server_close(&srv);
}

int main(void)
{
    RUN(devlist_reply_carries_device_record_and_interfaces_then_closes);
    RUN(absent_device_lists_nothing_and_refuses_import_until_back);
    RUN(import_with_our_busid_echoes_it_and_starts_a_session);
    RUN(import_with_unknown_or_unterminated_busid_is_refused_with_nodev);
    RUN(second_importer_is_refused_busy_and_first_session_keeps_working);
    RUN(in_urb_returns_data_and_header_fields_linux_expects);
    RUN(out_urb_delivers_data_to_device_and_reply_has_no_payload);
    RUN(stall_is_reported_as_epipe);
    RUN(requests_split_into_single_bytes_are_reassembled);
    RUN(urbs_are_answered_in_order_behind_a_pending_one);
    RUN(unlink_of_in_flight_urb_gets_econnreset_and_no_ret_submit);
    RUN(unlink_of_queued_urb_removes_it_before_the_device_sees_it);
    RUN(unlink_of_answered_urb_gets_status_zero);
    RUN(oversized_transfer_length_drops_client_and_server_serves_next);
    RUN(largest_legal_out_transfer_is_accepted);
    RUN(unknown_command_bad_direction_bad_endpoint_and_iso_drop_the_client);
    RUN(number_of_packets_all_ones_is_accepted_as_non_iso);
    RUN(bad_version_or_op_code_before_import_drops_client);
    RUN(too_many_urbs_in_flight_drop_the_client_and_free_them);
    RUN(device_initiated_disconnect_flushes_replies_and_allows_reimport);
    RUN(random_request_streams_never_break_the_server);
    RUN(client_disconnect_at_every_byte_leaves_server_serving);
    RUN(half_closed_client_gets_its_replies_then_the_close);
    RUN(loopback_listener_serves_devlist_refusal_and_session_concurrently);
    return test_summary();
}
