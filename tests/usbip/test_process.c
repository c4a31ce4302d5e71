/*
 * test_process.c - udfu-virtual as a process: options, --once, and a clean
 * shutdown on SIGTERM/SIGINT with the flash file holding every completed
 * write (and an erase that was in progress finished, not torn).
 *
 * usage: usbip_process /path/to/udfu-virtual
 */
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "uclient.h"
#include "udfu_proto.h"

static const char *exe;
static char flash[64];

struct child {
    pid_t pid;
    int out;         /* its stdout */
    uint16_t port;
    char log[8192];  /* everything it printed so far */
    size_t log_len;
};

/* Reads the child's output until `want` shows up or ms pass. */
static int wait_output(struct child *ch, const char *want, int ms)
{
    while (!strstr(ch->log, want)) {
        struct pollfd p = { ch->out, POLLIN, 0 };
        ssize_t n;

        if (ms <= 0 || poll(&p, 1, 10) < 0)
            return -1;
        ms -= 10;
        if (!(p.revents & (POLLIN | POLLHUP)))
            continue;
        n = read(ch->out, ch->log + ch->log_len, sizeof(ch->log) - 1 - ch->log_len);
        if (n <= 0)
            return -1;
        ch->log_len += (size_t)n;
        ch->log[ch->log_len] = 0;
    }
    return 0;
}

static int start(struct child *ch, const char *const *args)
{
    const char *argv[20];
    int fds[2], i = 0, k;
    const char *p;

    memset(ch, 0, sizeof(*ch));
    argv[i++] = exe;
    for (k = 0; args[k] && i < 19; k++)
        argv[i++] = args[k];
    argv[i] = NULL;
    if (pipe(fds) < 0)
        return -1;
    ch->pid = fork();
    if (ch->pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2); /* messages too */
        close(fds[0]);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    ch->out = fds[0];
    if (wait_output(ch, "busid", 3000) < 0)
        return -1;
    p = strstr(ch->log, "listening on 127.0.0.1:");
    if (!p)
        return -1;
    ch->port = (uint16_t)atoi(p + strlen("listening on 127.0.0.1:"));
    return 0;
}

/* Exit status of the child, waiting up to ms; -1 if it is still running. */
static int reap(struct child *ch, int ms)
{
    int st;

    for (; ms > 0; ms -= 10) {
        if (waitpid(ch->pid, &st, WNOHANG) == ch->pid) {
            close(ch->out);
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        poll(NULL, 0, 10);
    }
    return -1;
}

/* Expects a clean exit 0 within ms; never leaves the child behind. */
static int finish(struct child *ch, int ms)
{
    int rc = reap(ch, ms);

    if (rc < 0) {
        kill(ch->pid, SIGKILL);
        reap(ch, 1000);
    }
    return rc;
}

static int attach(struct uclient *c, uint16_t port)
{
    uint8_t rec[USBIP_DEV_REC_LEN];

    memset(c, 0, sizeof(*c));
    if (uc_connect(c, "127.0.0.1", port) < 0)
        return -1;
    return uc_import(c, "1-1", rec) == 0 ? usbip_get16(rec + 0x12E) : -1;
}

static int ctrl(struct uclient *c, uint8_t type, uint8_t req, uint16_t value, uint8_t *data,
                uint16_t len)
{
    uint8_t s[8];
    uint32_t n;

    uc_setup(s, type, req, value, 0, len);
    return uc_control(c, s, data, len, &n);
}

/* DfuSe command and its two GETSTATUS (busy, then done). Returns bState. */
static int dfuse_cmd(struct uclient *c, uint8_t cmd, uint32_t addr, int wait)
{
    uint8_t b[5] = { cmd, (uint8_t)addr, (uint8_t)(addr >> 8), (uint8_t)(addr >> 16),
                     (uint8_t)(addr >> 24) }, st[6];

    if (ctrl(c, UDFU_RT_OUT, UDFU_REQ_DNLOAD, 0, b, 5) != 0 ||
        ctrl(c, UDFU_RT_IN, UDFU_REQ_GETSTATUS, 0, st, 6) != 0)
        return -1;
    if (!wait)
        return st[4];
    poll(NULL, 0, (int)(st[1] | (st[2] << 8) | (st[3] << 16)));
    if (ctrl(c, UDFU_RT_IN, UDFU_REQ_GETSTATUS, 0, st, 6) != 0)
        return -1;
    return st[4];
}

static int read_file_at(long off, uint8_t *buf, size_t n)
{
    FILE *f = fopen(flash, "rb");
    int ok;

    if (!f)
        return -1;
    ok = fseek(f, off, SEEK_SET) == 0 && fread(buf, 1, n, f) == n;
    fclose(f);
    return ok ? 0 : -1;
}

/* Writes data at 0x08020000 through DfuSe, on a fresh flash file. */
static void write_sector7(const uint8_t *data, uint16_t len)
{
    static const char *const args[] = { "--port", "0", "--flash", flash, "--timing", "0",
                                        NULL };
    struct child ch;
    struct uclient c;
    uint8_t st[6];

    CHECK_EQ(start(&ch, args), 0);
    CHECK_EQ(attach(&c, ch.port), 0x0002);
    CHECK_EQ(ctrl(&c, 0x00, 9, 1, NULL, 0), 0);
    CHECK_EQ(dfuse_cmd(&c, 0x21, 0x08020000u, 1), UDFU_DNLOAD_IDLE);
    CHECK_EQ(ctrl(&c, UDFU_RT_OUT, UDFU_REQ_DNLOAD, 2, (uint8_t *)data, len), 0);
    CHECK_EQ(ctrl(&c, UDFU_RT_IN, UDFU_REQ_GETSTATUS, 0, st, 6), 0);
    CHECK_EQ(ctrl(&c, UDFU_RT_IN, UDFU_REQ_GETSTATUS, 0, st, 6), 0);
    CHECK_EQ(st[4], UDFU_DNLOAD_IDLE);
    /* SIGTERM with the client still attached */
    kill(ch.pid, SIGTERM);
    CHECK_EQ(finish(&ch, 3000), 0);
    uc_close(&c);
}

TEST(sigterm_shuts_down_cleanly_with_writes_in_the_flash_file)
{
    uint8_t data[64], back[64];
    struct stat sb;

    memset(data, 0xA5, sizeof(data));
    unlink(flash);
    write_sector7(data, sizeof(data));
    CHECK_EQ(stat(flash, &sb), 0);
    CHECK_EQ(sb.st_size, 1024 * 1024);
    CHECK_EQ(read_file_at(0x20000, back, sizeof(back)), 0);
    CHECK_MEM(back, data, sizeof(data));
}

TEST(sigint_during_a_slow_erase_finishes_it_before_exiting)
{
    static const char *const args[] = { "--port", "0", "--flash", flash, NULL };
    uint8_t data[64], back[64], ff[64];
    struct child ch;
    struct uclient c;

    memset(data, 0x00, sizeof(data));
    memset(ff, 0xFF, sizeof(ff));
    unlink(flash);
    write_sector7(data, sizeof(data));
    /* default timing: a 128 KiB sector takes a second */
    CHECK_EQ(start(&ch, args), 0);
    CHECK_EQ(attach(&c, ch.port), 0x0002);
    CHECK_EQ(ctrl(&c, 0x00, 9, 1, NULL, 0), 0);
    CHECK_EQ(dfuse_cmd(&c, 0x41, 0x08020000u, 0), UDFU_DNBUSY);
    kill(ch.pid, SIGINT);
    CHECK_EQ(finish(&ch, 3000), 0);
    uc_close(&c);
    CHECK_EQ(read_file_at(0x20000, back, sizeof(back)), 0);
    CHECK_MEM(back, ff, sizeof(ff));
}

TEST(once_mode_exits_when_the_client_session_ends)
{
    static const char *const args[] = { "--port", "0", "--timing", "0", "--once", NULL };
    struct child ch;
    struct uclient c, l;
    uint8_t rec[USBIP_DEV_REC_LEN], intf[8];

    CHECK_EQ(start(&ch, args), 0);
    /* listing is not a session */
    memset(&l, 0, sizeof(l));
    CHECK_EQ(uc_connect(&l, "127.0.0.1", ch.port), 0);
    CHECK_EQ(uc_devlist(&l, rec, intf, sizeof(intf)), 1);
    uc_close(&l);
    CHECK_EQ(attach(&c, ch.port), 0x0002);
    CHECK_EQ(reap(&ch, 200), -1); /* still serving */
    uc_close(&c);
    CHECK_EQ(finish(&ch, 3000), 0);
}

TEST(bad_options_fail_with_a_message_and_help_succeeds)
{
    static const char *const bad1[] = { "--transfer-size", "9000", NULL };
    static const char *const bad2[] = { "--layout", "/0x08000000/04*016Ka", NULL };
    /* a map whose layout string no string descriptor can carry (162 chars) */
    static const char *const bad3[] = {
        "--layout", "@Internal Flash /0x08000000/02*001Ka,01*001Kg,01*002Kg,01*004Kg,"
                    "01*008Kg,01*001Kg,01*002Kg,01*004Kg,01*008Kg,01*001Kg,01*002Kg,"
                    "01*004Kg,01*008Kg,01*001Kg,01*002Kg", NULL };
    static const char *const help[] = { "--help", NULL };
    struct child ch;

    CHECK_EQ(start(&ch, bad1), -1);
    CHECK_EQ(reap(&ch, 2000), 2);
    CHECK_EQ(start(&ch, bad2), -1);
    CHECK_EQ(reap(&ch, 2000), 1);
    CHECK_EQ(start(&ch, bad3), -1);
    CHECK(strstr(ch.log, "a string descriptor here holds 126") != NULL);
    CHECK_EQ(reap(&ch, 2000), 1);
    CHECK_EQ(start(&ch, help), -1);
    CHECK(strstr(ch.log, "--timing") != NULL);
    CHECK_EQ(reap(&ch, 2000), 0);
}

TEST(a_busy_port_is_reported)
{
    static const char *const args[] = { "--port", "0", "--timing", "0", NULL };
    char port[8];
    const char *args2[] = { "--port", port, NULL };
    struct child a, b;

    CHECK_EQ(start(&a, args), 0);
    snprintf(port, sizeof(port), "%u", (unsigned)a.port);
    CHECK_EQ(start(&b, args2), -1);
    CHECK_EQ(reap(&b, 2000), 1);
    kill(a.pid, SIGTERM);
    CHECK_EQ(finish(&a, 3000), 0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s /path/to/udfu-virtual\n", argv[0]);
        return 2;
    }
    exe = argv[1];
    snprintf(flash, sizeof(flash), "/tmp/udfu-ptest-%d.bin", (int)getpid());
    signal(SIGPIPE, SIG_IGN);
    RUN(sigterm_shuts_down_cleanly_with_writes_in_the_flash_file);
    RUN(sigint_during_a_slow_erase_finishes_it_before_exiting);
    RUN(once_mode_exits_when_the_client_session_ends);
    RUN(bad_options_fail_with_a_message_and_help_succeeds);
    RUN(a_busy_port_is_reported);
    unlink(flash);
    return test_summary();
}
