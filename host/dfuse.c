/*
 * dfuse.c - ST DfuSe operations on the host: address pointer, page and mass
 * erase, write, read, leave, and whole DfuSe files. Every address range is
 * checked against the alt setting's layout string before the device is
 * touched, so a bad request never erases anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_int.h"
#include "udfu_file.h"
#include "udfu_util.h"

/* Longest wait for the device's check after a leave, and the longest run
 * of GETSTATUS replies with bwPollTimeout 0 (dfu-util allows 100). */
#define LEAVE_LIMIT_MS 60000u
#define LEAVE_ZERO_POLLS 1000u

static const struct udfu_host_alt *find_alt(const struct udfu_host_dev *d, uint8_t alt)
{
    uint8_t i;
    for (i = 0; i < d->info.alt_count; i++)
        if (d->info.alts[i].alt == alt)
            return &d->info.alts[i];
    return NULL;
}

int udfu_host_is_dfuse(const struct udfu_host_dev *d)
{
    const struct udfu_host_alt *a = find_alt(d, d->alt);
    return a && a->dfuse;
}

/* A DfuSe device names its alt settings with their layout. One that does
 * not parse cannot be checked, and must not be taken for plain DFU: there
 * DNLOAD block 0 (plain DFU's first block) is the command channel, and
 * blocks >= 2 land wherever the address pointer is. dfu-util refuses it
 * too. */
static int bad_layout(const struct udfu_host_dev *d, const struct udfu_host_alt *a)
{
    return a && !a->dfuse && d->info.bcd_dfu == UDFU_BCD_DFUSE && a->name[0] == '@';
}

static int layout_fail(struct udfu_host_dev *d, const struct udfu_host_alt *a)
{
    return udfu_host_fail(d, UDFU_ERR_UNSUPPORTED, "alt %u is DfuSe (bcdDFU 0x011A, its name "
                          "starts with '@') but its memory layout \"%.160s\" does not parse: "
                          "udfu cannot check addresses against it and will not write, read "
                          "or erase it as plain DFU; fix the device's layout string",
                          a->alt, a->name);
}

int host_check_layout(struct udfu_host_dev *d, uint8_t alt)
{
    const struct udfu_host_alt *a = find_alt(d, alt);
    return bad_layout(d, a) ? layout_fail(d, a) : 0;
}

static struct udfu_target alt_target(const struct udfu_host_alt *a)
{
    struct udfu_target t;
    t.name = a->mem_name;
    t.regions = a->regions;
    t.region_count = a->region_count;
    t.dfuse = 1;
    return t;
}

static uint32_t region_last(const struct udfu_region *r)
{
    return r->start + (r->sector_size * r->sector_count - 1u);
}

/* ---- range checks with useful messages -------------------------------------- */

static const char *perm_word(uint8_t need)
{
    if (need & UDFU_MEM_WRITE)
        return "writable";
    if (need & UDFU_MEM_ERASE)
        return "erasable";
    return "readable";
}

/* The regions lacking `need` that the range touches, merged into one span,
 * and the first address after it that has the permissions (0 if none). */
static void perm_span(const struct udfu_host_alt *a, uint32_t addr, uint32_t last,
                      uint8_t need, uint32_t *lo, uint32_t *hi, uint32_t *next, int *first)
{
    int i, found = 0;
    *next = 0;
    for (i = 0; i < a->region_count; i++) {
        const struct udfu_region *r = &a->regions[i];
        int bad = (r->attr & need) != need;
        if (bad && r->start <= last && region_last(r) >= addr) {
            if (!found) {
                *lo = r->start;
                *first = i == 0;
            }
            *hi = region_last(r);
            found = 1;
        } else if (found && !bad && !*next && r->start > *hi) {
            *next = r->start;
        }
    }
}

static int perm_fail(struct udfu_host_dev *d, const struct udfu_host_alt *a, uint32_t addr,
                     uint32_t last, uint8_t need)
{
    uint32_t lo = addr, hi = last, next;
    int first = 0;
    char fix[64];
    perm_span(a, addr, last, need, &lo, &hi, &next, &first);
    if (next)
        snprintf(fix, sizeof fix, "use --address 0x%08X", (unsigned)next);
    else
        snprintf(fix, sizeof fix, "no memory after it is %s", perm_word(need));
    /* A read-only area at the bottom of a flash map is the bootloader in
     * every DfuSe part we know; say so, it is what users need to hear. */
    if (need & (UDFU_MEM_WRITE | UDFU_MEM_ERASE))
        return udfu_host_fail(d, UDFU_ERR_PERM, "0x%08X-0x%08X is %s (%s); %s", (unsigned)lo,
                              (unsigned)hi,
                              (need & UDFU_MEM_WRITE) ? "read-only" : "not erasable",
                              first ? "bootloader" : "protected", fix);
    return udfu_host_fail(d, UDFU_ERR_PERM, "0x%08X-0x%08X is not readable (the device "
                          "protects it); %s", (unsigned)lo, (unsigned)hi, fix);
}

/* Last address of the mapped run that holds addr (regions may abut). */
static uint32_t mapped_last(const struct udfu_host_alt *a, uint32_t addr)
{
    struct udfu_target t = alt_target(a);
    const struct udfu_region *r = udfu_mem_find(&t, addr);
    uint32_t last = region_last(r);
    while (last != UINT32_MAX && (r = udfu_mem_find(&t, last + 1u)) != NULL)
        last = region_last(r);
    return last;
}

static int range_fail(struct udfu_host_dev *d, const struct udfu_host_alt *a, uint32_t addr,
                      uint32_t len)
{
    struct udfu_target t = alt_target(a);
    uint32_t end;
    if (!udfu_mem_find(&t, addr))
        return udfu_host_fail(d, UDFU_ERR_RANGE, "0x%08X is not in the memory of alt %u "
                              "(\"%s\" starts at 0x%08X); check --address against `udfu list`",
                              (unsigned)addr, a->alt, a->mem_name, (unsigned)a->regions[0].start);
    end = mapped_last(a, addr);
    return udfu_host_fail(d, UDFU_ERR_RANGE, "%u bytes at 0x%08X do not fit: the memory ends "
                          "at 0x%08X, room for %u bytes; use a smaller image or a lower "
                          "--address", (unsigned)len, (unsigned)addr, (unsigned)end,
                          (unsigned)(end - addr + 1u));
}

static int check_alt(struct udfu_host_dev *d, const struct udfu_host_alt *a, uint32_t addr,
                     uint32_t len, uint8_t need)
{
    struct udfu_target t;
    uint32_t last;
    int err;
    if (bad_layout(d, a))
        return layout_fail(d, a);
    if (!a || !a->dfuse)
        return udfu_host_fail(d, UDFU_ERR_UNSUPPORTED, "alt %u has no DfuSe memory layout: "
                              "it takes plain DFU downloads (no --address)",
                              a ? a->alt : d->alt);
    t = alt_target(a);
    err = udfu_mem_check(&t, addr, len, need);
    if (err == 0)
        return 0;
    last = len ? addr + (len - 1u) : addr;
    if (err == UDFU_ERR_RANGE || last < addr)
        return range_fail(d, a, addr, len);
    return perm_fail(d, a, addr, last, need);
}

int udfu_host_dfuse_check(struct udfu_host_dev *d, uint32_t addr, uint32_t len, uint8_t need)
{
    return check_alt(d, find_alt(d, d->alt), addr, len, need);
}

/* ---- commands -------------------------------------------------------------------- */

static int command(struct udfu_host_dev *d, const uint8_t *cmd, uint16_t len,
                   const char *what, uint32_t addr)
{
    struct udfu_host_status st;
    int err = host_dnload(d, 0, cmd, len);
    if (err < 0)
        return host_refused(d, err, what, addr);
    err = host_wait(d, &st, what, addr);
    if (err == 0 && st.state != UDFU_DNLOAD_IDLE)
        return udfu_host_fail(d, UDFU_ERR_STATE, "after %s the device is in %s instead of "
                              "dfuDNLOAD-IDLE", what, udfu_state_name(st.state));
    return err;
}

static int addr_command(struct udfu_host_dev *d, uint8_t op, uint32_t addr, const char *what)
{
    uint8_t cmd[5];
    cmd[0] = op;
    udfu_put32(cmd + 1, addr);
    return command(d, cmd, sizeof cmd, what, addr);
}

int udfu_host_dfuse_set_address(struct udfu_host_dev *d, uint32_t addr)
{
    return addr_command(d, UDFU_DFUSE_CMD_SET_ADDRESS, addr, "Set Address");
}

int udfu_host_dfuse_erase_page(struct udfu_host_dev *d, uint32_t addr)
{
    return addr_command(d, UDFU_DFUSE_CMD_ERASE, addr, "Erase");
}

int udfu_host_dfuse_get_commands(struct udfu_host_dev *d, uint8_t *cmds, size_t cap)
{
    uint8_t buf[256];
    int n = udfu_host_recover(d);
    if (n < 0)
        return n;
    n = host_upload_block(d, 0, buf, sizeof buf);
    if (n < 0)
        return host_xfer_fail(d, n, "Get Commands");
    if ((size_t)n > cap)
        n = (int)cap;
    memcpy(cmds, buf, (size_t)n);
    /* The upload may leave dfuUPLOAD-IDLE behind. */
    udfu_host_recover(d);
    return n;
}

/* After a sequence of commands the device sits in dfuDNLOAD-IDLE; a bus
 * reset there would mean "download cut short" to it. Finish in dfuIDLE,
 * as dfu-util does. */
static int end_idle(struct udfu_host_dev *d, int err)
{
    return err < 0 ? err : udfu_host_abort(d);
}

/* ---- erase -------------------------------------------------------------------------- */

static int already_erased(const struct udfu_host_dev *d, uint8_t alt, uint32_t start)
{
    size_t i;
    for (i = 0; i < d->erased_count; i++)
        if (d->erased[i].alt == alt && d->erased[i].start == start)
            return 1;
    return 0;
}

static int note_erased(struct udfu_host_dev *d, uint8_t alt, uint32_t start)
{
    if (d->erased_count == d->erased_cap) {
        size_t cap = d->erased_cap ? d->erased_cap * 2 : 64;
        struct host_erased *p = realloc(d->erased, cap * sizeof *p);
        if (!p)
            return udfu_host_fail(d, UDFU_ERR_NOSPACE, "out of memory");
        d->erased = p;
        d->erased_cap = cap;
    }
    d->erased[d->erased_count].alt = alt;
    d->erased[d->erased_count].start = start;
    d->erased_count++;
    return 0;
}

/* Bytes of the erasable sectors that [addr, addr + len) touches. */
static uint64_t erase_total(const struct udfu_target *t, uint32_t addr, uint32_t len)
{
    uint64_t total = 0, pos = addr, end = (uint64_t)addr + len;
    while (pos < end) {
        uint32_t start, size;
        const struct udfu_region *r = udfu_mem_find(t, (uint32_t)pos);
        if (udfu_mem_sector(t, (uint32_t)pos, &start, &size) < 0)
            break;
        if (r->attr & UDFU_MEM_ERASE)
            total += size;
        pos = (uint64_t)start + size;
    }
    return total;
}

/* Erases the erasable sectors of a range that was checked already; only
 * sectors not erased earlier in this session when skip_done. */
static int erase_sectors(struct udfu_host_dev *d, const struct udfu_host_alt *a, uint32_t addr,
                         uint32_t len, int skip_done)
{
    struct udfu_target t = alt_target(a);
    uint64_t pos = addr, end = (uint64_t)addr + len, done = 0;
    uint64_t total = erase_total(&t, addr, len);
    host_progress(d, UDFU_HOST_ERASE, 0, total);
    while (pos < end) {
        uint32_t start, size;
        const struct udfu_region *r = udfu_mem_find(&t, (uint32_t)pos);
        int err = udfu_mem_sector(&t, (uint32_t)pos, &start, &size);
        if (err < 0)
            return range_fail(d, a, (uint32_t)pos, (uint32_t)(end - pos));
        pos = (uint64_t)start + size;
        if (!(r->attr & UDFU_MEM_ERASE))
            continue;
        if (!(skip_done && already_erased(d, a->alt, start))) {
            err = udfu_host_dfuse_erase_page(d, start);
            if (err == 0 && skip_done)
                err = note_erased(d, a->alt, start);
            if (err < 0)
                return err;
        }
        done += size;
        host_progress(d, UDFU_HOST_ERASE, done, total);
    }
    return 0;
}

int udfu_host_dfuse_erase(struct udfu_host_dev *d, uint32_t addr, uint32_t len)
{
    const struct udfu_host_alt *a = find_alt(d, d->alt);
    int err = check_alt(d, a, addr, len, UDFU_MEM_ERASE);
    if (err == 0)
        err = udfu_host_recover(d);
    if (err == 0)
        err = erase_sectors(d, a, addr, len ? len : 1, 0);
    return end_idle(d, err);
}

int udfu_host_dfuse_mass_erase(struct udfu_host_dev *d)
{
    uint8_t cmd = UDFU_DFUSE_CMD_ERASE;
    int err = udfu_host_is_dfuse(d) ? 0 : check_alt(d, find_alt(d, d->alt), 0, 0, 0);
    if (err == 0)
        err = udfu_host_recover(d);
    if (err < 0)
        return err;
    host_progress(d, UDFU_HOST_ERASE, 0, 1);
    err = command(d, &cmd, 1, "Mass Erase", UINT32_MAX);
    if (err == 0)
        host_progress(d, UDFU_HOST_ERASE, 1, 1);
    return end_idle(d, err);
}

/* ---- write and read ------------------------------------------------------------------- */

static int write_chunks(struct udfu_host_dev *d, uint32_t addr, const uint8_t *data,
                        size_t len)
{
    uint16_t xfer = host_xfer_size(d);
    size_t off = 0;
    host_progress(d, UDFU_HOST_DOWNLOAD, 0, len);
    while (off < len) {
        uint16_t n = (uint16_t)(len - off < xfer ? len - off : xfer);
        uint32_t at = addr + (uint32_t)off;
        struct udfu_host_status st;
        int err = udfu_host_dfuse_set_address(d, at);
        if (err < 0)
            return err;
        err = host_dnload(d, 2, data + off, n);
        if (err < 0)
            return host_refused(d, err, "writing", at);
        err = host_wait(d, &st, "writing", at);
        if (err < 0)
            return err;
        if (st.state != UDFU_DNLOAD_IDLE)
            return udfu_host_fail(d, UDFU_ERR_STATE, "after writing 0x%08X the device is in "
                                  "%s instead of dfuDNLOAD-IDLE", (unsigned)at,
                                  udfu_state_name(st.state));
        off += n;
        host_progress(d, UDFU_HOST_DOWNLOAD, off, len);
    }
    return 0;
}

/* Erase (only what this session has not erased yet) and write a checked
 * range. */
static int write_range(struct udfu_host_dev *d, const struct udfu_host_alt *a, uint32_t addr,
                       const uint8_t *data, size_t len)
{
    int err = erase_sectors(d, a, addr, (uint32_t)len, 1);
    return err < 0 ? err : write_chunks(d, addr, data, len);
}

static int check_len(struct udfu_host_dev *d, size_t len)
{
    if (len == 0)
        return udfu_host_fail(d, UDFU_ERR_INVAL, "nothing to write: the image is empty");
    if (len > UINT32_MAX)
        return udfu_host_fail(d, UDFU_ERR_RANGE, "the image is larger than 4 GiB");
    return 0;
}

int udfu_host_dfuse_write(struct udfu_host_dev *d, uint32_t addr, const uint8_t *data,
                          size_t len)
{
    const struct udfu_host_alt *a = find_alt(d, d->alt);
    int err = check_len(d, len);
    if (err == 0)
        err = check_alt(d, a, addr, (uint32_t)len, UDFU_MEM_WRITE);
    if (err == 0)
        err = udfu_host_recover(d);
    if (err < 0)
        return err;
    d->erased_count = 0;
    return end_idle(d, write_range(d, a, addr, data, len));
}

/* One run of consecutive UPLOAD blocks from a fresh address pointer: block
 * 2 is at the pointer, block n at pointer + (n - 2) * wTransferSize, the
 * device's wTransferSize. When we read in smaller chunks than that (Linux
 * caps a transfer at 4096), only block 2 is where we think: one block per
 * run then, as writes do. */
static int read_run(struct udfu_host_dev *d, uint32_t addr, uint8_t *buf, size_t len,
                    size_t *got)
{
    uint16_t xfer = host_xfer_size(d);
    uint32_t block = 2, last = xfer == d->info.transfer_size ? 0xFFFFu : 2u;
    /* DNLOAD (the address command) is illegal in dfuUPLOAD-IDLE, where the
     * previous run may have left the device; UPLOAD needs dfuIDLE again. */
    int err = udfu_host_abort(d);
    if (err == 0)
        err = udfu_host_dfuse_set_address(d, addr);
    if (err == 0)
        err = udfu_host_abort(d);
    if (err < 0)
        return err;
    *got = 0;
    /* A partial block gets a run of its own (block 2 at its exact address),
     * so the device never has to guess how wLength scales the address. */
    do {
        uint16_t want = (uint16_t)(len - *got < xfer ? len - *got : xfer);
        int n = host_upload_block(d, (uint16_t)block++, buf + *got, want);
        if (n < 0)
            return host_refused(d, n, "reading", addr + (uint32_t)*got);
        if (n != want)
            return udfu_host_fail(d, UDFU_ERR_IO, "the device returned %d bytes instead of %u "
                                  "at 0x%08X", n, want, (unsigned)(addr + *got));
        *got += (size_t)n;
    } while (len - *got >= xfer && block <= last);
    return 0;
}

int udfu_host_dfuse_read(struct udfu_host_dev *d, uint32_t addr, uint8_t *buf, size_t len)
{
    const struct udfu_host_alt *a = find_alt(d, d->alt);
    size_t off = 0;
    int err = check_len(d, len);
    if (err == 0)
        err = check_alt(d, a, addr, (uint32_t)len, UDFU_MEM_READ);
    if (err == 0)
        err = (d->info.attributes & UDFU_ATTR_CAN_UPLOAD)
                  ? udfu_host_recover(d)
                  : udfu_host_fail(d, UDFU_ERR_UNSUPPORTED, "the device does not allow "
                                   "uploads (bitCanUpload is 0)");
    if (err < 0)
        return err;
    host_progress(d, UDFU_HOST_UPLOAD, 0, len);
    while (off < len) {
        size_t got;
        err = read_run(d, addr + (uint32_t)off, buf + off, len - off, &got);
        if (err < 0)
            return err;
        off += got;
        host_progress(d, UDFU_HOST_UPLOAD, off, len);
    }
    return udfu_host_recover(d);
}

/* ---- leave ------------------------------------------------------------------------------ */

static int first_writable(const struct udfu_host_alt *a, uint32_t *addr)
{
    int i;
    for (i = 0; a && i < a->region_count; i++)
        if (a->regions[i].attr & UDFU_MEM_WRITE) {
            *addr = a->regions[i].start;
            return 0;
        }
    return UDFU_ERR_RANGE;
}

/* The device is in dfuERROR after the leave (or reports a bStatus other
 * than OK): its check (a bootloader verifying and committing the image)
 * refused to start the application. Say so, and clear the error so that
 * the next operation starts clean. */
static int leave_refused(struct udfu_host_dev *d, const struct udfu_host_status *st,
                         uint32_t addr)
{
    int err = st->status == UDFU_STATUS_OK ? UDFU_ERR_STATE : host_status_err(st->status);
    int bad_image = st->status == UDFU_STATUS_ERR_FIRMWARE ||
                    st->status == UDFU_STATUS_ERR_NOTDONE ||
                    st->status == UDFU_STATUS_ERR_VERIFY;
    if (st->state == UDFU_DFU_ERROR)
        (void)udfu_host_clear_status(d);
    if (bad_image)
        return udfu_host_fail(d, err, "the device did not leave DFU mode: its check of the "
                              "image failed (%s) and it did not start the application at "
                              "0x%08X; download a complete, valid image for this device "
                              "(a udfu bootloader wants one from `udfu pack --boot-header`) "
                              "and leave again", udfu_status_name(st->status),
                              (unsigned)addr);
    return udfu_host_fail(d, err, "the device did not leave DFU mode: it reported %s instead "
                          "of starting the application at 0x%08X; %s",
                          udfu_status_name(st->status), (unsigned)addr,
                          host_status_hint(st->status));
}

/* A transfer that fails once the leave is under way: the device went. A
 * device resetting may also just not answer. */
static int gone(int err)
{
    return err == UDFU_ERR_NODEV || err == UDFU_ERR_IO || err == UDFU_ERR_TIMEOUT;
}

static int in_manifest(uint8_t state)
{
    return state == UDFU_MANIFEST || state == UDFU_MANIFEST_SYNC;
}

static int leave_failed(const struct udfu_host_status *st)
{
    return st->state == UDFU_DFU_ERROR || st->status != UDFU_STATUS_OK;
}

/* The device announced dfuMANIFEST: it checks the image, then goes. Ask
 * again when it said it would be done (as dfu-util does; it is also the
 * traffic some ST parts need before they leave): a device that went has
 * left, one in dfuERROR refused. 1 once gone, 0 with the final state in
 * st, or < 0. */
static int leave_poll(struct udfu_host_dev *d, struct udfu_host_status *st)
{
    struct host_limit l;
    host_limit_start(d, &l, LEAVE_LIMIT_MS, LEAVE_ZERO_POLLS);
    while (in_manifest(st->state) && !leave_failed(st)) {
        int err;
        if (host_limit_pause(d, &l, st->poll_ms) < 0)
            return udfu_host_fail(d, UDFU_ERR_TIMEOUT, "the device still reports %s after "
                                  "the leave (it asks to wait %u ms more; udfu waits at most "
                                  "%u s): its check does not finish; reset or replug it",
                                  udfu_state_name(st->state), (unsigned)st->poll_ms,
                                  (unsigned)(LEAVE_LIMIT_MS / 1000u));
        err = udfu_host_get_status(d, st);
        if (gone(err))
            return 1;
        if (err < 0)
            return err;
    }
    return 0;
}

/* The device answered the leave with dfuMANIFEST, then with another state
 * (dfuIDLE, dfuMANIFEST-WAIT-RESET) instead of going: give it a moment to
 * go. A device still there did not start the application, whatever it
 * said; reporting success would leave the user with a device in DFU mode
 * and a message that it left. dfuMANIFEST-WAIT-RESET asks for the bus
 * reset that ends manifestation (DFU 1.1 section 7). */
static int leave_stayed(struct udfu_host_dev *d, const struct udfu_host_status *st,
                        uint32_t addr)
{
    /* not bwPollTimeout: it says nothing outside busy states, and may be hours */
    if (!d->ops->wait_gone || d->ops->wait_gone(d->ctx, 3000u) == 0)
        return 0;
    if (st->state == UDFU_MANIFEST_WAIT_RESET)
        return udfu_host_reset(d);
    return udfu_host_fail(d, UDFU_ERR_STATE, "the device stayed in DFU mode (%s, %s) after "
                          "the leave: it did not start the application at 0x%08X; check "
                          "that an application is there (udfu upload), or reset or replug "
                          "the device", udfu_state_name(st->state),
                          udfu_status_name(st->status), (unsigned)addr);
}

int udfu_host_dfuse_leave(struct udfu_host_dev *d, int has_addr, uint32_t addr)
{
    const struct udfu_host_alt *a = find_alt(d, d->alt);
    struct udfu_host_status st;
    int err = udfu_host_is_dfuse(d) ? 0 : check_alt(d, a, 0, 0, 0);
    if (err == 0 && !has_addr && first_writable(a, &addr) < 0)
        err = udfu_host_fail(d, UDFU_ERR_RANGE, "the layout has no writable region to jump "
                             "to; give --address");
    if (err == 0)
        err = udfu_host_recover(d);
    if (err == 0)
        err = udfu_host_dfuse_set_address(d, addr);
    if (err == 0) {
        err = host_dnload(d, 2, NULL, 0);
        if (err < 0)
            return host_xfer_fail(d, err, "the zero-length DNLOAD of leave");
    }
    if (err < 0)
        return err;
    err = udfu_host_get_status(d, &st);
    /* Gone already is fine: the device left quickly. */
    if (err == UDFU_ERR_NODEV || err == UDFU_ERR_IO)
        return 0;
    if (err < 0)
        return err;
    if (leave_failed(&st))
        return leave_refused(d, &st, addr);
    if (!in_manifest(st.state) && st.state != UDFU_MANIFEST_WAIT_RESET)
        return udfu_host_fail(d, UDFU_ERR_STATE, "after leave the device is in %s (%s) "
                              "instead of dfuMANIFEST; it did not start the application at "
                              "0x%08X", udfu_state_name(st.state),
                              udfu_status_name(st.status), (unsigned)addr);
    err = leave_poll(d, &st);
    if (err < 0)
        return err;
    if (err == 1) {
        /* It stopped answering: let it finish going. */
        if (d->ops->wait_gone)
            (void)d->ops->wait_gone(d->ctx, 1000u);
        return 0;
    }
    if (leave_failed(&st))
        return leave_refused(d, &st, addr);
    return leave_stayed(d, &st, addr);
}

/* ---- DfuSe files ------------------------------------------------------------------------- */

static int file_fail(struct udfu_host_dev *d, int err)
{
    if (err == UDFU_ERR_CRC)
        return udfu_host_fail(d, err, "the file's CRC does not match: it is corrupt or was "
                              "changed after packing; re-create it with `udfu pack`");
    return udfu_host_fail(d, err == 0 ? UDFU_ERR_FORMAT : err, "the DfuSe file is malformed "
                          "(%s); `udfu info FILE` shows where", udfu_strerror(err));
}

/* Walks the file once, checking each target/element against the device;
 * returns the number of elements or < 0. */
static int validate_file(struct udfu_host_dev *d, const uint8_t *file, size_t len,
                         uint64_t *total)
{
    struct udfu_dfuse_reader r;
    struct udfu_dfuse_target t;
    int rc, elements = 0;
    if ((rc = udfu_dfuse_open(&r, file, len)) < 0)
        return file_fail(d, rc);
    *total = 0;
    while ((rc = udfu_dfuse_next_target(&r, &t)) > 0) {
        const struct udfu_host_alt *a = find_alt(d, t.alt);
        struct udfu_dfuse_element e;
        if (!a)
            return udfu_host_fail(d, UDFU_ERR_RANGE, "the file has a target for alt %u but "
                                  "the device has no such alt setting; is the file for this "
                                  "device?", t.alt);
        while ((rc = udfu_dfuse_next_element(&r, &e)) > 0) {
            int err = e.size ? check_alt(d, a, e.address, e.size, UDFU_MEM_WRITE) : 0;
            if (err < 0)
                return err;
            *total += e.size;
            elements++;
        }
        if (rc < 0)
            return file_fail(d, rc);
    }
    return rc < 0 ? file_fail(d, rc) : elements;
}

static int write_file(struct udfu_host_dev *d, const uint8_t *file, size_t len)
{
    struct udfu_dfuse_reader r;
    struct udfu_dfuse_target t;
    int rc;
    udfu_dfuse_open(&r, file, len);
    d->erased_count = 0;
    while ((rc = udfu_dfuse_next_target(&r, &t)) > 0) {
        struct udfu_dfuse_element e;
        int err = udfu_host_select_alt(d, t.alt);
        if (err == 0)
            err = udfu_host_recover(d);
        if (err < 0)
            return err;
        /* Each target is its own memory: a sector erased on another alt at
         * the same address is not this one (already_erased keys on alt). */
        while ((rc = udfu_dfuse_next_element(&r, &e)) > 0) {
            err = e.size ? write_range(d, find_alt(d, t.alt), e.address, e.data, e.size) : 0;
            if (err < 0)
                return err;
        }
        if ((err = end_idle(d, 0)) < 0)
            return err;
    }
    return 0;
}

int udfu_host_dfuse_download_file(struct udfu_host_dev *d, const uint8_t *file, size_t len,
                                  int force)
{
    struct udfu_suffix sx;
    uint64_t total;
    int err = udfu_suffix_parse(file, len, &sx);
    if (err < 0)
        return file_fail(d, err);
    if (sx.bcd_dfu != UDFU_BCD_DFUSE)
        return udfu_host_fail(d, UDFU_ERR_FORMAT, "the file is a plain DFU file (bcdDFU "
                              "0x%04X), not DfuSe", sx.bcd_dfu);
    if (!force && (err = udfu_host_check_ids(d, sx.vid, sx.pid)) < 0)
        return err;
    err = validate_file(d, file, len, &total);
    if (err == 0)
        return udfu_host_fail(d, UDFU_ERR_FORMAT, "the DfuSe file holds no data");
    if (err < 0)
        return err;
    return write_file(d, file, len);
}
