/*
 * boot_slots.c - slot states, the commit journal, boot selection and the
 * write filter the DFU class core goes through.
 *
 * The journal is two flash areas used in turn. An area starts with a
 * header record (sequence number) and is followed by records appended one
 * after the other, each written exactly once into erased flash and
 * protected by its own CRC: a record torn by a power cut fails its CRC and
 * is skipped, never half-believed. When an area fills up, the state is
 * rewritten into the other area (records first, header last), so the newer
 * area only counts once it is complete, and the older one is erased only
 * when the area after it is complete.
 */
#include "udfu_boot.h"
#include "udfu_util.h"

enum {
    REC_HEADER = 0x5A,
    REC_INVALIDATE = 0x11,
    REC_COMMIT = 0x22,
    REC_ATTEMPT = 0x33,
    REC_CONFIRM = 0x44,
    REC_REVERT = 0x55
};
enum { COMMIT_TRIAL = 1, COMMIT_FINAL = 2 };

#define JOURNAL_MAGIC 0x4C4E524Au /* in every header record */
#define REC_MAX 32u               /* largest write_size */

struct rec {
    uint8_t type, slot, mode, attempts;
    uint32_t a, b;
};

static void rec_encode(uint8_t *raw, uint8_t size, const struct rec *r)
{
    memset(raw, 0xFF, size);
    raw[0] = r->type;
    raw[1] = r->slot;
    raw[2] = r->mode;
    raw[3] = r->attempts;
    udfu_put32(raw + 4, r->a);
    udfu_put32(raw + 8, r->b);
    udfu_put32(raw + 12, udfu_boot_crc32(0, raw, 12));
}

/* 1: valid record, 0: torn or garbage, -1: erased (free). */
static int rec_decode(const uint8_t *raw, uint8_t size, struct rec *r)
{
    uint8_t all = 0xFF;
    for (uint8_t i = 0; i < size; i++)
        all &= raw[i];
    if (all == 0xFF)
        return -1;
    if (udfu_get32(raw + 12) != udfu_boot_crc32(0, raw, 12))
        return 0;
    r->type = raw[0];
    r->slot = raw[1];
    r->mode = raw[2];
    r->attempts = raw[3];
    r->a = udfu_get32(raw + 4);
    r->b = udfu_get32(raw + 8);
    return 1;
}

static int writable(const struct udfu_boot *b, uint8_t slot)
{
    return slot < b->cfg->slot_count && !b->cfg->slots[slot].factory;
}

/* Folds one record into the RAM state. Records that make no sense in the
 * current state are ignored, so a replay is always well defined. */
static void apply(struct udfu_boot *b, const struct rec *r)
{
    if (!writable(b, r->slot))
        return;
    struct udfu_boot_slot_info *s = &b->slot[r->slot];
    switch (r->type) {
    case REC_INVALIDATE:
        s->state = UDFU_BOOT_EMPTY;
        break;
    case REC_COMMIT:
        s->crc = r->a;
        s->length = r->b;
        s->attempts = 0;
        if (r->mode == COMMIT_TRIAL) {
            /* One trial at a time: an older unconfirmed image is dropped. */
            for (uint8_t i = 0; i < b->cfg->slot_count; i++) {
                if (b->slot[i].state == UDFU_BOOT_PENDING)
                    b->slot[i].state = UDFU_BOOT_EMPTY;
            }
            s->state = UDFU_BOOT_PENDING;
            s->attempts = r->attempts;
        } else {
            s->state = UDFU_BOOT_CONFIRMED;
            s->rank = ++b->max_rank;
        }
        break;
    case REC_ATTEMPT:
        if (s->state == UDFU_BOOT_PENDING && s->attempts < 0xFF)
            s->attempts++;
        break;
    case REC_CONFIRM:
        if (s->state == UDFU_BOOT_PENDING) {
            s->state = UDFU_BOOT_CONFIRMED;
            s->rank = ++b->max_rank;
        }
        break;
    case REC_REVERT:
        if (s->state == UDFU_BOOT_PENDING)
            s->state = UDFU_BOOT_EMPTY;
        break;
    default:
        break;
    }
}

static int read_rec(struct udfu_boot *b, uint8_t area, uint32_t off, struct rec *r)
{
    uint8_t raw[REC_MAX];
    int err = b->cfg->read(b->cfg->context, b->cfg->journal[area] + off, raw, b->rec);
    return err ? err : rec_decode(raw, b->rec, r);
}

/* Sequence number of an area, if its header record is valid. */
static int area_seq(struct udfu_boot *b, uint8_t area, uint32_t *seq)
{
    struct rec r;
    int got = read_rec(b, area, 0, &r);
    if (got < 0 && got != -1)
        return got;
    if (got == 1 && r.type == REC_HEADER && r.b == JOURNAL_MAGIC) {
        *seq = r.a;
        return 1;
    }
    return 0;
}

static void reset_state(struct udfu_boot *b)
{
    memset(b->slot, 0, sizeof(b->slot));
    for (uint8_t i = 0; i < b->cfg->slot_count; i++) {
        if (b->cfg->slots[i].factory)
            b->slot[i].state = UDFU_BOOT_FACTORY;
    }
    b->max_rank = 0;
    b->active = UDFU_BOOT_NONE;
    b->seq = 0;
    b->next = 0;
}

/* Replays the area in full. Free records in the middle (a write that
 * failed without touching flash) are skipped; appends go after the last
 * used record. */
static int replay(struct udfu_boot *b, uint8_t area)
{
    b->next = b->rec;
    for (uint32_t off = b->rec; off + b->rec <= b->cfg->journal_size; off += b->rec) {
        struct rec r;
        int got = read_rec(b, area, off, &r);
        if (got < -1)
            return got;
        if (got != -1)
            b->next = off + b->rec;
        if (got == 1)
            apply(b, &r);
    }
    return 0;
}

static int journal_load(struct udfu_boot *b)
{
    uint32_t seq[2];
    int ok[2];
    reset_state(b);
    for (uint8_t i = 0; i < 2; i++) {
        ok[i] = area_seq(b, i, &seq[i]);
        if (ok[i] < 0)
            return ok[i];
    }
    if (!ok[0] && !ok[1])
        return 0; /* fresh or both unreadable: nothing committed */
    uint8_t a = (!ok[0] || (ok[1] && (int32_t)(seq[1] - seq[0]) > 0)) ? 1 : 0;
    b->active = a;
    b->seq = seq[a];
    return replay(b, a);
}

static int write_rec(struct udfu_boot *b, uint8_t area, uint32_t off, const struct rec *r)
{
    uint8_t raw[REC_MAX];
    rec_encode(raw, b->rec, r);
    return b->cfg->prog(b->cfg->context, b->cfg->journal[area] + off, raw, b->rec);
}

/* The records that rebuild the current state: confirmed slots oldest
 * first (ranks come back in the same order), then the one on trial. */
static int write_snapshot(struct udfu_boot *b, uint8_t area, uint32_t *off)
{
    uint32_t done_rank = 0;
    for (;;) {
        uint8_t pick = UDFU_BOOT_NONE;
        for (uint8_t i = 0; i < b->cfg->slot_count; i++) {
            const struct udfu_boot_slot_info *s = &b->slot[i];
            if (s->state == UDFU_BOOT_CONFIRMED && s->rank > done_rank &&
                (pick == UDFU_BOOT_NONE || s->rank < b->slot[pick].rank))
                pick = i;
        }
        if (pick == UDFU_BOOT_NONE)
            break;
        const struct udfu_boot_slot_info *s = &b->slot[pick];
        struct rec r = {REC_COMMIT, pick, COMMIT_FINAL, 0, s->crc, s->length};
        int err = write_rec(b, area, *off, &r);
        if (err)
            return err;
        *off += b->rec;
        done_rank = s->rank;
    }
    for (uint8_t i = 0; i < b->cfg->slot_count; i++) {
        const struct udfu_boot_slot_info *s = &b->slot[i];
        if (s->state != UDFU_BOOT_PENDING)
            continue;
        struct rec r = {REC_COMMIT, i, COMMIT_TRIAL, s->attempts, s->crc, s->length};
        int err = write_rec(b, area, *off, &r);
        if (err)
            return err;
        *off += b->rec;
    }
    return 0;
}

/* Moves the state into the other area. Until its header is written the
 * new area does not count, and the old one is still intact. */
static int compact(struct udfu_boot *b)
{
    uint8_t to = b->active == UDFU_BOOT_NONE ? 0 : (uint8_t)(b->active ^ 1);
    const struct udfu_boot_cfg *c = b->cfg;
    uint32_t off = b->rec;
    int err = c->erase(c->context, c->journal[to], c->journal_size);
    if (!err)
        err = write_snapshot(b, to, &off);
    if (!err) {
        struct rec h = {REC_HEADER, UDFU_BOOT_NONE, 0, 0, b->seq + 1, JOURNAL_MAGIC};
        err = write_rec(b, to, 0, &h);
    }
    if (err)
        return err;
    return journal_load(b); /* RAM state == what a reboot would read */
}

static int append(struct udfu_boot *b, uint8_t type, uint8_t slot, uint8_t mode, uint32_t a,
                  uint32_t bb)
{
    struct rec r = {type, slot, mode, 0, a, bb};
    if (b->active == UDFU_BOOT_NONE || b->next + b->rec > b->cfg->journal_size) {
        int err = compact(b);
        if (err)
            return err;
    }
    int err = write_rec(b, b->active, b->next, &r);
    /* A failed write may have left part of the record: never reuse it. */
    b->next += b->rec;
    if (err)
        return err;
    apply(b, &r);
    return 0;
}

static int is_pow2(uint32_t x)
{
    return x && !(x & (x - 1));
}

static int overlaps(uint32_t a, uint32_t an, uint32_t b, uint32_t bn)
{
    return a < b + bn && b < a + an;
}

static int cfg_ok(const struct udfu_boot_cfg *c, uint32_t hdr_size, uint32_t rec)
{
    if (!c->read || !c->erase || !c->prog || !c->slots || c->slot_count == 0 ||
        c->slot_count > UDFU_BOOT_MAX_SLOTS || hdr_size < UDFU_BOOT_HDR_LEN ||
        hdr_size % 4 || !is_pow2(rec) || rec > REC_MAX ||
        c->journal_size < rec * (uint32_t)(c->slot_count + 3) ||
        overlaps(c->journal[0], c->journal_size, c->journal[1], c->journal_size) ||
        c->journal[0] % rec || c->journal[1] % rec)
        return 0;
    if ((c->need & (UDFU_BOOT_NEED_SHA256 | UDFU_BOOT_NEED_SIG)) &&
        (!c->sha256_start || !c->sha256_update || !c->sha256_finish))
        return 0;
    if ((c->need & UDFU_BOOT_NEED_SIG) && !c->verify_sig)
        return 0;
    for (uint8_t i = 0; i < c->slot_count; i++) {
        const struct udfu_boot_slot *s = &c->slots[i];
        if (s->size <= hdr_size || s->addr + s->size < s->addr ||
            overlaps(s->addr, s->size, c->journal[0], c->journal_size) ||
            overlaps(s->addr, s->size, c->journal[1], c->journal_size))
            return 0;
        for (uint8_t j = 0; j < i; j++) {
            if (overlaps(s->addr, s->size, c->slots[j].addr, c->slots[j].size))
                return 0;
        }
    }
    return 1;
}

int udfu_boot_init(struct udfu_boot *b, const struct udfu_boot_cfg *cfg)
{
    UDFU_ASSERT(b && cfg);
    memset(b, 0, sizeof(*b));
    b->hdr_size = cfg->hdr_size ? cfg->hdr_size : 512u;
    b->rec = (uint8_t)(cfg->write_size > UDFU_BOOT_REC_LEN ? cfg->write_size
                                                             : UDFU_BOOT_REC_LEN);
    uint32_t ws = cfg->write_size ? cfg->write_size : 1u;
    int ok = cfg_ok(cfg, b->hdr_size, b->rec) && is_pow2(ws);
    UDFU_ASSERT(ok);
    if (!ok)
        return UDFU_ERR_INVAL;
    b->cfg = cfg;
    return journal_load(b);
}

uint32_t udfu_boot_app_addr(const struct udfu_boot *b, uint8_t slot)
{
    UDFU_ASSERT(slot < b->cfg->slot_count);
    return b->cfg->slots[slot].addr + b->hdr_size;
}

/* The valid image to run: a committed one must still match the journal. */
static int slot_ok(struct udfu_boot *b, uint8_t slot)
{
    struct udfu_boot_hdr h;
    const struct udfu_boot_slot_info *s = &b->slot[slot];
    int hooks = (b->cfg->need & UDFU_BOOT_RECHECK) != 0;
    if (udfu_boot_verify(b, slot, &h, hooks) != 0)
        return 0;
    return s->state == UDFU_BOOT_FACTORY || (h.crc == s->crc && h.length == s->length);
}

static uint8_t find_state(const struct udfu_boot *b, uint8_t state)
{
    for (uint8_t i = 0; i < b->cfg->slot_count; i++) {
        if (b->slot[i].state == state)
            return i;
    }
    return UDFU_BOOT_NONE;
}

/* Confirmed slot with the highest rank below `below`. */
static uint8_t best_confirmed(const struct udfu_boot *b, uint32_t below)
{
    uint8_t best = UDFU_BOOT_NONE;
    for (uint8_t i = 0; i < b->cfg->slot_count; i++) {
        const struct udfu_boot_slot_info *s = &b->slot[i];
        if (s->state == UDFU_BOOT_CONFIRMED && s->rank < below &&
            (best == UDFU_BOOT_NONE || s->rank > b->slot[best].rank))
            best = i;
    }
    return best;
}

/* A pending image gets trial_boots boots; each is counted before it runs
 * (a crash or power loss inside the application still counts). */
static int select_pending(struct udfu_boot *b)
{
    uint8_t p = find_state(b, UDFU_BOOT_PENDING);
    if (p == UDFU_BOOT_NONE)
        return UDFU_ERR_FIRMWARE;
    int out_of_trials = b->slot[p].attempts >= b->cfg->trial_boots;
    if (!out_of_trials && slot_ok(b, p)) {
        if (append(b, REC_ATTEMPT, p, 0, 0, 0) == 0)
            return p;
        /* The boot cannot be counted: running it could loop forever, so
         * fall back instead; the trial resumes once the journal works. */
        return UDFU_ERR_FIRMWARE;
    }
    /* Out of trials or damaged: drop it. If that cannot be written the
     * fallback boots anyway and the revert is retried next time. */
    (void)append(b, REC_REVERT, p, 0, 0, 0);
    return UDFU_ERR_FIRMWARE;
}

int udfu_boot_select(struct udfu_boot *b)
{
    int p = select_pending(b);
    if (p >= 0)
        return p;
    for (uint32_t below = UINT32_MAX;;) {
        uint8_t s = best_confirmed(b, below);
        if (s == UDFU_BOOT_NONE)
            break;
        if (slot_ok(b, s))
            return s;
        below = b->slot[s].rank;
    }
    for (uint8_t i = 0; i < b->cfg->slot_count; i++) {
        if (b->cfg->slots[i].factory && slot_ok(b, i))
            return i;
    }
    return UDFU_ERR_FIRMWARE;
}

int udfu_boot_update_slot(const struct udfu_boot *b)
{
    uint8_t keep = best_confirmed(b, UINT32_MAX);
    uint8_t only = UDFU_BOOT_NONE;
    if (b->opened)
        return b->opened - 1; /* a session sticks to its slot */
    for (uint8_t i = 0; i < b->cfg->slot_count; i++) {
        if (!writable(b, i))
            continue;
        if (i != keep)
            return i;
        only = i;
    }
    return only == UDFU_BOOT_NONE ? UDFU_ERR_PERM : only;
}

/* The first write of a session makes the slot unbootable before any byte
 * of it changes: from here on a power cut leaves no half image to boot. */
static int open_update(struct udfu_boot *b, uint32_t addr, uint32_t len)
{
    int s = udfu_boot_update_slot(b);
    if (s < 0)
        return s;
    const struct udfu_boot_slot *sl = &b->cfg->slots[s];
    if (len == 0 || addr < sl->addr || addr - sl->addr > sl->size ||
        len > sl->size - (addr - sl->addr))
        return UDFU_ERR_PERM;
    if (b->opened)
        return 0;
    if (b->slot[s].state != UDFU_BOOT_EMPTY) {
        int err = append(b, REC_INVALIDATE, (uint8_t)s, 0, 0, 0);
        if (err)
            return err;
    }
    b->opened = (uint8_t)(s + 1);
    return 0;
}

int udfu_boot_erase(struct udfu_boot *b, uint32_t addr, uint32_t size)
{
    int err = open_update(b, addr, size);
    return err ? err : b->cfg->erase(b->cfg->context, addr, size);
}

int udfu_boot_prog(struct udfu_boot *b, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    int err = open_update(b, addr, len);
    return err ? err : b->cfg->prog(b->cfg->context, addr, buf, len);
}

int udfu_boot_dirty(const struct udfu_boot *b)
{
    return b->opened != 0;
}

int udfu_boot_commit(struct udfu_boot *b)
{
    struct udfu_boot_hdr h;
    int s = udfu_boot_update_slot(b);
    if (s < 0)
        return s;
    if (!b->opened && b->slot[s].state != UDFU_BOOT_EMPTY)
        return 0;
    int err = udfu_boot_verify(b, (uint8_t)s, &h, 1);
    if (!err && b->cfg->accept)
        err = b->cfg->accept(b->cfg->context, (uint8_t)s, &h);
    if (err == UDFU_ERR_FORMAT || (err && err != UDFU_ERR_CRC && err != UDFU_ERR_IO))
        err = UDFU_ERR_FIRMWARE; /* refused image, whatever the reason */
    if (err)
        return err;
    err = append(b, REC_COMMIT, (uint8_t)s, b->cfg->trial_boots ? COMMIT_TRIAL : COMMIT_FINAL,
                 h.crc, h.length);
    if (!err)
        b->opened = 0;
    return err;
}

int udfu_boot_confirm(struct udfu_boot *b, uint32_t running)
{
    uint8_t p = find_state(b, UDFU_BOOT_PENDING);
    if (p == UDFU_BOOT_NONE)
        return 0;
    if (running != udfu_boot_app_addr(b, p))
        return UDFU_ERR_STATE;
    return append(b, REC_CONFIRM, p, 0, 0, 0);
}

int udfu_boot_invalidate(struct udfu_boot *b, uint8_t slot)
{
    if (!writable(b, slot))
        return UDFU_ERR_PERM;
    if (b->slot[slot].state == UDFU_BOOT_EMPTY)
        return 0;
    return append(b, REC_INVALIDATE, slot, 0, 0, 0);
}
