/*
 * dfuse.c - ST's DfuSe extensions (AN3156, UM0424): commands in DNLOAD
 * block 0, addressed blocks from 2 on, the command list in UPLOAD block 0.
 */
#include "dfu_int.h"

#if UDFU_CFG_DFUSE

/* Address of DfuSe block >= 2: pointer + (block - 2) * wTransferSize.
 * 0 or UDFU_ERR_RANGE when the sum passes 0xFFFFFFFF. The product fits in
 * 32 bits for any 16-bit block and transfer size. */
static int block_addr(const struct udfu_dfu *d, uint16_t block, uint32_t *addr)
{
    uint32_t off = (uint32_t)(block - 2u) * d->cfg->transfer_size;
    *addr = d->addr + off;
    return *addr < d->addr ? UDFU_ERR_RANGE : 0;
}

/* Commands: 0x21 set address, 0x41 page/mass erase, 0x92 read unprotect,
 * 0x00 get commands (a no-op here; the list is read with UPLOAD block 0).
 * Address faults in commands are errTARGET, as ST's bootloaders report. */
static void command(struct udfu_dfu *d, const uint8_t *b, uint16_t len)
{
    const struct udfu_target *t = dfu_target(d);
    uint32_t a = len == 5 ? udfu_get32(b + 1) : 0;
    uint8_t op = OP_NONE;
    if (len == 5 && b[0] == UDFU_DFUSE_CMD_SET_ADDRESS) {
        if (!udfu_mem_find(t, a)) {
            udfu_dfu_refuse(d, UDFU_STATUS_ERR_TARGET);
            return;
        }
        d->addr = a;
    } else if (len == 5 && b[0] == UDFU_DFUSE_CMD_ERASE) {
        if (udfu_mem_check(t, a, 0, UDFU_MEM_ERASE)) {
            udfu_dfu_refuse(d, UDFU_STATUS_ERR_TARGET);
            return;
        }
        op = OP_ERASE;
    } else if (len == 1 && b[0] == UDFU_DFUSE_CMD_ERASE) {
        op = OP_MASS;
        a = t->regions[0].start;
    } else if (len == 1 && b[0] == UDFU_DFUSE_CMD_READ_UNPROTECT && d->cfg->unprotect) {
        op = OP_UNPROTECT;
    } else if (!(len == 1 && b[0] == UDFU_DFUSE_CMD_GET)) {
        udfu_dfu_illegal(d); /* unknown command or wrong length */
        return;
    }
    udfu_dfu_queue(d, op, a);
}

void udfu_dfuse_dnload(struct udfu_dfu *d, const uint8_t *buf, uint16_t block, uint16_t len)
{
    uint32_t addr;
    int err;
    if (block == 0) {
        command(d, buf, len);
        return;
    }
    if (block == 1) { /* not used by DfuSe */
        udfu_dfu_illegal(d);
        return;
    }
    err = block_addr(d, block, &addr);
    if (!err)
        err = udfu_mem_check(dfu_target(d), addr, len, UDFU_MEM_WRITE);
    if (err) {
        udfu_dfu_refuse(d, err == UDFU_ERR_PERM ? UDFU_STATUS_ERR_WRITE : UDFU_STATUS_ERR_ADDRESS);
        return;
    }
    udfu_dfu_queue(d, OP_DNLOAD, addr);
}

#if UDFU_CFG_UPLOAD
int udfu_dfuse_upload(struct udfu_dfu *d, const struct udfu_setup *req, uint8_t **data)
{
    const struct udfu_dfu_cfg *c = d->cfg;
    uint8_t *buf = c->buffer;
    uint32_t addr, n = req->wLength;
    if (req->wValue == 0) {
        /* Get commands: the list of supported command bytes, cut to
         * wLength (never more than the buffer, however small). */
        static const uint8_t cmds[4] = {UDFU_DFUSE_CMD_GET, UDFU_DFUSE_CMD_SET_ADDRESS,
                                        UDFU_DFUSE_CMD_ERASE, UDFU_DFUSE_CMD_READ_UNPROTECT};
        n = udfu_min32(n, c->unprotect ? 4u : 3u);
        memcpy(buf, cmds, n);
    } else if (req->wValue == 1) {
        return udfu_dfu_illegal(d);
    } else if (block_addr(d, req->wValue, &addr) ||
               udfu_mem_check(dfu_target(d), addr, n, UDFU_MEM_READ) ||
               c->read(c->context, d->alt, addr, buf, n)) {
        /* Out of the map or not readable: refuse, never leak. */
        udfu_dfu_fail(d, UDFU_STATUS_ERR_ADDRESS);
        return UDFU_ERR_STALL;
    }
    d->state = n < req->wLength ? UDFU_DFU_IDLE : UDFU_UPLOAD_IDLE;
    *data = buf;
    return (int)n;
}
#endif

int udfu_dfuse_next_erasable(const struct udfu_target *t, uint32_t addr, uint32_t *start,
                             uint32_t *size)
{
    uint8_t i;
    for (i = 0; i < t->region_count; i++) {
        const struct udfu_region *r = &t->regions[i];
        uint32_t span = r->sector_size * r->sector_count;
        /* Regions are sorted: the first erasable one not wholly below addr. */
        if (!(r->attr & UDFU_MEM_ERASE) || (addr >= r->start && addr - r->start >= span))
            continue;
        return !udfu_mem_sector(t, addr < r->start ? r->start : addr, start, size);
    }
    return 0;
}

#endif /* UDFU_CFG_DFUSE */
