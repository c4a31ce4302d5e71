/*
 * test_host_usbip.c - the USB/IP client transport, end to end: the host
 * library talks USB/IP over TCP to a test server (lbserver) that exports
 * udfu's own device stack. No kernel module, no root.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "lbserver.h"
#include "test.h"

static pid_t server;
static uint16_t port;
static uint8_t data[64 * 1024], back[64 * 1024];

static void start(int dfuse, int runtime, enum lbs_fault fault)
{
    static struct lbs_opts o;
    int fd;
    memset(&o, 0, sizeof o);
    o.dfuse = dfuse;
    o.runtime = runtime;
    o.fault = fault;
    port = 0;
    fd = lbs_listen(&port);
    CHECK(fd >= 0);
    server = fork();
    if (server == 0) {
        lbs_serve(fd, &o);
        _exit(0);
    }
    close(fd);
}

static void stop(void)
{
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
}

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000L + (t.tv_nsec - t0->tv_nsec) / 1000000L;
}

TEST(list_shows_the_exported_device_with_strings_and_layout)
{
    struct udfu_host_info *list = NULL;
    char msg[UDFU_HOST_MSG_LEN];
    int n;
    start(1, 0, LBS_OK);
    n = udfu_host_list_usbip("127.0.0.1", port, &list, msg, sizeof msg);
    CHECK_EQ(n, 1);
    if (n == 1) {
        CHECK_EQ(list[0].vid, FX_VID);
        CHECK_EQ(list[0].pid, FX_PID_DFU);
        CHECK(list[0].strings_ok);
        CHECK(!strcmp(list[0].serial, "LBS0001"));
        CHECK(strstr(list[0].where, "/1-1") != NULL);
        CHECK(list[0].alts[0].dfuse);
        CHECK_EQ(list[0].alts[0].regions[0].start, FX_FLASH);
    }
    free(list);
    stop();
}

TEST(write_and_read_back_over_usbip_byte_for_byte)
{
    struct udfu_host_dev *d = udfu_host_new();
    start(1, 0, LBS_OK);
    CHECK_EQ(udfu_host_open_usbip(d, "127.0.0.1", port, NULL, NULL), 0);
    fx_random(data, sizeof data, 21);
    CHECK_EQ(udfu_host_dfuse_write(d, FX_APP, data, 40000), 0);
    CHECK_EQ(udfu_host_dfuse_read(d, FX_APP, back, 40000), 0);
    CHECK_MEM(back, data, 40000);
    /* Refused before the network sees it. */
    CHECK_EQ(udfu_host_dfuse_write(d, FX_FLASH, data, 16), UDFU_ERR_PERM);
    udfu_host_free(d);
    stop();
}

TEST(detach_over_usbip_reimports_the_device_in_dfu_mode)
{
    struct udfu_host_dev *d = udfu_host_new();
    start(1, 1, LBS_OK);
    CHECK_EQ(udfu_host_open_usbip(d, "127.0.0.1", port, "1-1", NULL), 0);
    CHECK_EQ(udfu_host_info(d)->protocol, UDFU_PROTOCOL_RUNTIME);
    CHECK_EQ(udfu_host_detach(d, 5000), 0);
    CHECK_EQ(udfu_host_info(d)->protocol, UDFU_PROTOCOL_DFU);
    CHECK_EQ(udfu_host_info(d)->pid, FX_PID_DFU);
    /* Then leave: the server drops us and offers the run-time device. */
    CHECK_EQ(udfu_host_dfuse_leave(d, 1, FX_APP), 0);
    CHECK_EQ(udfu_host_reconnect(d, UDFU_PROTOCOL_RUNTIME, 5000), 0);
    CHECK_EQ(udfu_host_info(d)->pid, FX_PID_RT);
    udfu_host_free(d);
    stop();
}

TEST(a_second_importer_is_refused_with_a_clear_message)
{
    struct udfu_host_dev *a = udfu_host_new(), *b = udfu_host_new();
    start(1, 0, LBS_OK);
    CHECK_EQ(udfu_host_open_usbip(a, "127.0.0.1", port, NULL, NULL), 0);
    CHECK_EQ(udfu_host_open_usbip(b, "127.0.0.1", port, NULL, NULL), UDFU_ERR_STATE);
    CHECK(strstr(udfu_host_message(b), "refused"));
    /* The first one is unaffected. */
    CHECK_EQ(udfu_host_get_state(a), UDFU_DFU_IDLE);
    udfu_host_free(a);
    udfu_host_free(b);
    stop();
}

TEST(unknown_busid_and_missing_server_are_no_device)
{
    struct udfu_host_dev *d = udfu_host_new();
    start(1, 0, LBS_OK);
    CHECK_EQ(udfu_host_open_usbip(d, "127.0.0.1", port, "9-9", NULL), UDFU_ERR_NODEV);
    CHECK(strstr(udfu_host_message(d), "9-9"));
    stop();
    CHECK_EQ(udfu_host_open_usbip(d, "127.0.0.1", port, NULL, NULL), UDFU_ERR_NODEV);
    CHECK(strstr(udfu_host_message(d), "cannot reach"));
    udfu_host_free(d);
}

TEST(a_reply_with_the_wrong_seqnum_drops_the_connection)
{
    struct udfu_host_dev *d = udfu_host_new();
    start(1, 0, LBS_BAD_SEQNUM);
    CHECK(udfu_host_open_usbip(d, "127.0.0.1", port, NULL, NULL) < 0);
    CHECK(strstr(udfu_host_message(d), "descriptors") != NULL);
    udfu_host_free(d);
    stop();
}

TEST(a_reply_longer_than_asked_is_refused)
{
    struct udfu_host_dev *d = udfu_host_new();
    start(1, 0, LBS_HUGE_LENGTH);
    CHECK_EQ(udfu_host_open_usbip(d, "127.0.0.1", port, NULL, NULL), UDFU_ERR_IO);
    udfu_host_free(d);
    stop();
}

TEST(a_silent_device_times_out_and_the_request_is_unlinked)
{
    struct udfu_host_dev *d = udfu_host_new();
    struct timespec t0;
    long ms;
    start(1, 0, LBS_SILENT);
    udfu_host_set_timeout(d, 300);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ(udfu_host_open_usbip(d, "127.0.0.1", port, NULL, NULL), UDFU_ERR_TIMEOUT);
    ms = elapsed_ms(&t0);
    /* The timeout, plus the unlink the server answers at once. */
    CHECK(ms >= 290 && ms < 1500);
    CHECK(strstr(udfu_host_message(d), "timed out"));
    udfu_host_free(d);
    stop();
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    RUN(list_shows_the_exported_device_with_strings_and_layout);
    RUN(write_and_read_back_over_usbip_byte_for_byte);
    RUN(detach_over_usbip_reimports_the_device_in_dfu_mode);
    RUN(a_second_importer_is_refused_with_a_clear_message);
    RUN(unknown_busid_and_missing_server_are_no_device);
    RUN(a_reply_with_the_wrong_seqnum_drops_the_connection);
    RUN(a_reply_longer_than_asked_is_refused);
    RUN(a_silent_device_times_out_and_the_request_is_unlinked);
    return test_summary();
}
