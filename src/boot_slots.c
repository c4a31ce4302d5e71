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
#include "boot_int.h"

enum {
    REC_HEADER = 0x5A,
    REC_INVALIDATE = 0x11,
    REC_COMMIT = 0x22, /* mode: the state it gives, PENDING or CONFIRMED */
    REC_ATTEMPT = 0x33,
    REC_CONFIRM = 0x44,
    REC_REVERT = 0x55
};

/* A record, in words: type, slot, mode and attempts (the first word's
 * bytes from the lowest), two words (a COMMIT's CRC and length, a header's
 * sequence number and magic), the CRC-32 of those 12 bytes, then 0xFF up to
 * the record size. Words in the CPU's byte order: only this code reads
 * them back. */
#define REC_W0(type, slot, mode, attempts)                                                  \
    ((uint32_t)(type) | (uint32_t)(slot) << 8 | (uint32_t)(mode) << 16 |                    \
     (uint32_t)(attempts) << 24)

#define JOURNAL_MAGIC 0x4C4E524Au /* in every header record */
#define REC_MAX 32u               /* largest write_size */
#define REC_WORDS (REC_MAX / 4)

/* What rec_read() finds. */
enum { REC_TORN = 0, REC_VALID = 1, REC_FREE = 2 };

/* The number of slots: a constant when only one can exist, so the loops
 * over slots compile away. */
static uint8_t slots(const struct udfu_boot_cfg *c)
{
    return UDFU_BOOT_MAX_SLOTS == 1 ? 1 : c->slot_count;
}

/* Reads the record at flash address at into w[0..REC_WORDS). A record
 * that cannot be read is torn: on flash with ECC, a write cut short reads
 * back as an error, not as bad data. */
static int rec_read(struct udfu_boot *b, uint32_t at, uint32_t *w)
{
    const struct udfu_boot_cfg *c = b->cfg;
    uint32_t all = 0xFFFFFFFFu;
    if (c->read(c->context, at, (uint8_t *)w, b->rec))
        return REC_TORN;
    for (uint8_t i = 0; i < b->rec / 4; i++)
        all &= w[i];
    if (all == 0xFFFFFFFFu)
        return REC_FREE;
    return w[3] == udfu_boot_crc32(0, w, 12) ? REC_VALID : REC_TORN;
}

/* Writes a record at flash address at. */
static int rec_write(struct udfu_boot *b, uint32_t at, uint32_t w0, uint32_t a, uint32_t len)
{
    const struct udfu_boot_cfg *c = b->cfg;
    uint32_t w[REC_WORDS];
    memset(w, 0xFF, sizeof(w));
    w[0] = w0;
    w[1] = a;
    w[2] = len;
    w[3] = udfu_boot_crc32(0, w, 12);
    return c->prog(c->context, at, (const uint8_t *)w, b->rec);
}

static int writable(const struct udfu_boot *b, uint8_t slot)
{
    return slot < slots(b->cfg) && !b->cfg->slots[slot].factory;
}

/* A PENDING or CONFIRMED slot ranks by its last COMMIT or CONFIRM: the
 * higher, the more recent (0: EMPTY). b->top counts up to the latest; a
 * compaction renumbers from 1 (append() compacts before it overflows).
 * A build with one slot has nothing to rank it against: 1, and no count. */
static void set_state(struct udfu_boot *b, uint8_t i, uint8_t state)
{
    b->slot[i].state = state;
    b->slot[i].rank = state == UDFU_BOOT_EMPTY ? 0 : UDFU_BOOT_MAX_SLOTS == 1 ? 1 : ++b->top;
}

/* Folds one record into the RAM state. Records that make no sense in the
 * current state are ignored, so a replay is always well defined. Without
 * trial boots (UDFU_CFG_BOOT_TRIAL 0) a trial COMMIT still makes its slot
 * PENDING, which never boots. */
static void apply(struct udfu_boot *b, uint32_t w0, uint32_t crc, uint32_t len)
{
    uint8_t i = (uint8_t)(w0 >> 8), state;
    if (!writable(b, i))
        return;
    i = (uint8_t)udfu_boot_ix(i);
    struct udfu_boot_slot_info *s = &b->slot[i];
    switch ((uint8_t)w0) {
    case REC_INVALIDATE:
        state = UDFU_BOOT_EMPTY;
        break;
    case REC_COMMIT:
        s->crc = crc;
        s->length = len;
        s->attempts = (uint8_t)(w0 >> 24);
        state = UDFU_BOOT_CONFIRMED;
        if ((uint8_t)(w0 >> 16) == UDFU_BOOT_PENDING) {
            state = UDFU_BOOT_PENDING;
            /* One trial at a time: an older unconfirmed image is dropped. */
            for (uint8_t j = 0; UDFU_CFG_BOOT_TRIAL && j < slots(b->cfg); j++) {
                if (b->slot[j].state == UDFU_BOOT_PENDING)
                    set_state(b, j, UDFU_BOOT_EMPTY);
            }
        }
        break;
#if UDFU_CFG_BOOT_TRIAL
    case REC_ATTEMPT:
        if (s->state == UDFU_BOOT_PENDING && s->attempts < 0xFF)
            s->attempts++;
        return;
    case REC_CONFIRM:
    case REC_REVERT:
        if (s->state != UDFU_BOOT_PENDING)
            return;
        state = (uint8_t)w0 == REC_CONFIRM ? UDFU_BOOT_CONFIRMED : UDFU_BOOT_EMPTY;
        break;
#endif
    default:
        return;
    }
    set_state(b, i, state);
}

/* Rebuilds the RAM state from flash, as a reboot would: the area with the
 * newer valid header counts, replayed in full. Free records in the middle
 * (a write that failed without touching flash) are skipped; appends go
 * after the last used record. */
static void journal_load(struct udfu_boot *b)
{
    const struct udfu_boot_cfg *c = b->cfg;
    uint32_t w[REC_WORDS];
    memset(b->slot, 0, sizeof(b->slot));
    for (uint8_t i = 0; i < slots(c); i++) {
        if (c->slots[i].factory)
            b->slot[i].state = UDFU_BOOT_FACTORY;
    }
    b->active = UDFU_BOOT_NONE;
    b->seq = 0;
    b->top = 0;
    for (uint8_t area = 0; area < 2; area++) {
        int got = rec_read(b, c->journal[area], w);
        if (got == REC_VALID && (uint8_t)w[0] == REC_HEADER && w[2] == JOURNAL_MAGIC &&
            (b->active == UDFU_BOOT_NONE || (int32_t)(w[1] - b->seq) > 0)) {
            b->active = area;
            b->seq = w[1];
        }
    }
    b->next = b->rec;
    if (b->active == UDFU_BOOT_NONE)
        return; /* fresh or both unreadable: nothing committed */
    uint32_t base = c->journal[b->active];
    for (uint32_t off = b->rec; off + b->rec <= c->journal_size; off += b->rec) {
        int got = rec_read(b, base + off, w);
        if (got != REC_FREE)
            b->next = off + b->rec;
        if (got == REC_VALID)
            apply(b, w[0], w[1], w[2]);
    }
}

/* Moves the state into the other area: a COMMIT per ranked slot, lowest
 * rank first so the ranks come back in the same order, then the header.
 * Until the header is written the new area does not count, and the old
 * one is still intact. */
static int compact(struct udfu_boot *b)
{
    const struct udfu_boot_cfg *c = b->cfg;
    uint32_t to = c->journal[b->active == 0], at = to;
    int err = c->erase(c->context, to, c->journal_size);
    for (uint8_t last = 0, pick; !err; last = b->slot[pick].rank) {
        pick = UDFU_BOOT_NONE;
        for (uint8_t i = 0; i < slots(c); i++) {
            uint8_t r = b->slot[i].rank;
            if (r > last && (pick == UDFU_BOOT_NONE || r < b->slot[pick].rank))
                pick = i;
        }
        if (pick == UDFU_BOOT_NONE)
            break;
        const struct udfu_boot_slot_info *s = &b->slot[pick];
        at += b->rec;
        err = rec_write(b, at, REC_W0(REC_COMMIT, pick, s->state, s->attempts), s->crc,
                        s->length);
        if (UDFU_BOOT_MAX_SLOTS == 1)
            break; /* the only slot */
    }
    if (!err)
        err = rec_write(b, to, REC_W0(REC_HEADER, UDFU_BOOT_NONE, 0, 0), b->seq + 1,
                        JOURNAL_MAGIC);
    if (!err)
        journal_load(b); /* RAM state == what a reboot would read */
    return err;
}

static int append(struct udfu_boot *b, uint32_t w0, uint32_t a, uint32_t len)
{
    int err = 0;
    if (b->active == UDFU_BOOT_NONE || b->next + b->rec > b->cfg->journal_size ||
        (UDFU_BOOT_MAX_SLOTS > 1 && b->top == 0xFF))
        err = compact(b);
    if (err)
        return err;
    err = rec_write(b, b->cfg->journal[b->active] + b->next, w0, a, len);
    /* A failed write may have left part of the record: never reuse it.
     * It may even have landed whole: count it against the ranks, so the
     * area never holds more rank-giving records than b->top says (a rank
     * past 0xFF would wrap on reload and demote the newest image). */
    b->next += b->rec;
    if (!err)
        apply(b, w0, a, len);
    else if (UDFU_BOOT_MAX_SLOTS > 1 && b->top < 0xFF)
        b->top++;
    return err;
}

/* A record about slot that carries nothing else. */
static int mark(struct udfu_boot *b, uint8_t type, uint8_t slot)
{
    return append(b, REC_W0(type, slot, 0, 0), 0, 0);
}

/* Offsets, not end addresses: an area that ends at 4 GiB does not wrap. */
static int overlaps(uint32_t a, uint32_t an, uint32_t b, uint32_t bn)
{
    return a >= b ? a - b < bn : b - a < an;
}

static int wraps(uint32_t a, uint32_t n)
{
    return a + n < a;
}

/* What init refuses: anything that could not be fail-safe, and what this
 * build compiled out (udfu_opt.h). */
static int cfg_ok(const struct udfu_boot_cfg *c, uint32_t rec)
{
    uint32_t hs = udfu_boot_hdr_size(c), n = slots(c);
    uint8_t ws = c->write_size; /* 0: 1 */
    if (!c->read || !c->erase || !c->prog || !c->slots ||
        c->slot_count - 1u >= UDFU_BOOT_MAX_SLOTS ||
        hs < UDFU_BOOT_HDR_LEN || hs % 4 || (ws & (ws - 1)) || rec > REC_MAX ||
        c->journal_size < rec * (n + 3) || (c->journal[0] | c->journal[1]) & (rec - 1) ||
        (!UDFU_CFG_BOOT_TRIAL && c->trial_boots))
        return 0;
#if UDFU_CFG_BOOT_HOOKS
    if ((c->need & (UDFU_BOOT_NEED_SHA256 | UDFU_BOOT_NEED_SIG)) &&
        (!c->sha256_start || !c->sha256_update || !c->sha256_finish))
        return 0;
    if ((c->need & UDFU_BOOT_NEED_SIG) && !c->verify_sig)
        return 0;
#else
    if ((c->need & (UDFU_BOOT_NEED_SHA256 | UDFU_BOOT_NEED_SIG)) || c->sha256_start ||
        c->verify_sig || c->accept)
        return 0;
#endif
    /* a slot holds more than a header and does not wrap; no slot or
     * journal area overlaps another */
    uint32_t js = c->journal_size;
    if (overlaps(c->journal[0], js, c->journal[1], js) || wraps(c->journal[0], js) ||
        wraps(c->journal[1], js))
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct udfu_boot_slot *s = &c->slots[i];
        if (s->size <= hs || wraps(s->addr, s->size) ||
            overlaps(s->addr, s->size, c->journal[0], js) ||
            overlaps(s->addr, s->size, c->journal[1], js))
            return 0;
        for (uint32_t j = 0; j < i; j++) {
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
    uint32_t rec = cfg->write_size > UDFU_BOOT_REC_LEN ? cfg->write_size : UDFU_BOOT_REC_LEN;
    int ok = cfg_ok(cfg, rec);
    UDFU_ASSERT(ok);
    if (!ok)
        return UDFU_ERR_INVAL;
    b->cfg = cfg;
    b->rec = (uint8_t)rec;
    journal_load(b);
    return 0;
}

uint32_t udfu_boot_app_addr(const struct udfu_boot *b, uint8_t slot)
{
    UDFU_ASSERT(slot < b->cfg->slot_count);
    return b->cfg->slots[udfu_boot_ix(slot)].addr + udfu_boot_hdr_size(b->cfg);
}

/* "Valid" at boot: the image its COMMIT describes; the hooks only with
 * UDFU_BOOT_RECHECK. */
static int boot_ok(struct udfu_boot *b, uint8_t slot)
{
    int mode = UDFU_BOOT_CHECK_BOOT;
    if (UDFU_CFG_BOOT_HOOKS && (b->cfg->need & UDFU_BOOT_RECHECK))
        mode |= UDFU_BOOT_CHECK_HOOKS;
    return udfu_boot_image_ok(b, slot, mode) == 0;
}

static uint8_t find_state(const struct udfu_boot *b, uint8_t state)
{
    for (uint8_t i = 0; i < slots(b->cfg); i++) {
        if (b->slot[i].state == state)
            return i;
    }
    return UDFU_BOOT_NONE;
}

/* The order of the images to fall back on: confirmed ones, most recent
 * first, then factory ones by index. 0: not one. */
static unsigned fallback_key(const struct udfu_boot *b, uint8_t i)
{
    const struct udfu_boot_slot_info *s = &b->slot[i];
    if (s->state == UDFU_BOOT_CONFIRMED)
        return UDFU_BOOT_MAX_SLOTS + s->rank;
    return s->state == UDFU_BOOT_FACTORY ? UDFU_BOOT_MAX_SLOTS - i : 0;
}

/* The slot with the highest fallback key below `below`, or UDFU_BOOT_NONE. */
static uint8_t fallback(const struct udfu_boot *b, unsigned below)
{
    uint8_t pick = UDFU_BOOT_NONE;
    unsigned top = 0;
    for (uint8_t i = 0; i < slots(b->cfg); i++) {
        unsigned k = fallback_key(b, i);
        if (k > top && k < below) {
            top = k;
            pick = i;
        }
    }
    return pick;
}

int udfu_boot_select(struct udfu_boot *b)
{
#if UDFU_CFG_BOOT_TRIAL
    /* A pending image gets trial_boots boots; each is counted before it
     * runs (a crash or power loss inside the application still counts). */
    uint8_t p = find_state(b, UDFU_BOOT_PENDING);
    if (p != UDFU_BOOT_NONE) {
        if (b->slot[p].attempts < b->cfg->trial_boots && boot_ok(b, p)) {
            if (mark(b, REC_ATTEMPT, p) == 0)
                return p;
            /* The boot cannot be counted: running it could loop forever,
             * so fall back instead; the trial resumes once the journal
             * works. */
        } else {
            /* Out of trials or damaged: drop it. If that cannot be written
             * the fallback boots anyway and the revert is retried next
             * time. */
            (void)mark(b, REC_REVERT, p);
        }
    }
#endif
    if (UDFU_BOOT_MAX_SLOTS == 1) /* nothing else to fall back on */
        return fallback_key(b, 0) && boot_ok(b, 0) ? 0 : UDFU_ERR_FIRMWARE;
    uint8_t s;
    for (unsigned below = ~0u; (s = fallback(b, below)) != UDFU_BOOT_NONE;
         below = fallback_key(b, s)) {
        if (boot_ok(b, s))
            return s;
    }
    return UDFU_ERR_FIRMWARE;
}

int udfu_boot_update_slot(const struct udfu_boot *b)
{
    uint8_t keep = fallback(b, ~0u); /* a factory slot is not writable anyway */
    int only = UDFU_ERR_PERM;
    if (b->opened)
        return b->opened - 1; /* a session sticks to its slot */
    for (uint8_t i = 0; i < slots(b->cfg); i++) {
        if (!writable(b, i))
            continue;
        if (i != keep)
            return i;
        only = i;
    }
    return only;
}

/* The first write of a session makes the slot unbootable before any byte
 * of it changes: from here on a power cut leaves no half image to boot. */
static int open_update(struct udfu_boot *b, uint32_t addr, uint32_t len)
{
    int s = udfu_boot_update_slot(b);
    if (s < 0)
        return s;
    s = udfu_boot_ix(s);
    const struct udfu_boot_slot *sl = &b->cfg->slots[s];
    /* 1 <= len <= size - off; an addr below the slot wraps off past any
     * size (init refused slots that wrap) */
    uint32_t off = addr - sl->addr;
    if (off >= sl->size || len - 1u >= sl->size - off)
        return UDFU_ERR_PERM;
    if (!b->opened && b->slot[s].state != UDFU_BOOT_EMPTY) {
        int err = mark(b, REC_INVALIDATE, (uint8_t)s);
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

/* Whether any slot holds an image the journal vouches for. */
static int any_committed(const struct udfu_boot *b)
{
    for (uint8_t i = 0; i < slots(b->cfg); i++) {
        if (b->slot[i].state != UDFU_BOOT_EMPTY)
            return 1;
    }
    return 0;
}

int udfu_boot_commit(struct udfu_boot *b)
{
    /* Only what this session wrote is committed. An EMPTY slot that holds
     * a whole image from earlier may be one the journal dropped on purpose
     * (a rolled-back trial, a revert to factory, an older image whose
     * update failed after its INVALIDATE): a bare leave must not bring it
     * back. Without a write there is nothing to commit, and the boot
     * decision after the leave picks among the committed images. */
    if (!b->opened)
        return any_committed(b) ? 0 : UDFU_ERR_FIRMWARE;
    int s = b->opened - 1;
    const struct udfu_boot_slot_info *si = &b->slot[udfu_boot_ix(s)];
    /* keeps the image's CRC and length in *si (the slot is EMPTY) */
    int err = udfu_boot_image_ok(b, (uint8_t)s, UDFU_BOOT_CHECK_COMMIT | UDFU_BOOT_CHECK_HOOKS);
    if (err && err != UDFU_ERR_CRC && err != UDFU_ERR_IO)
        err = UDFU_ERR_FIRMWARE; /* refused image, whatever the reason */
    int trial = UDFU_CFG_BOOT_TRIAL && b->cfg->trial_boots;
    if (!err)
        err = append(b,
                     REC_W0(REC_COMMIT, s, trial ? UDFU_BOOT_PENDING : UDFU_BOOT_CONFIRMED, 0),
                     si->crc, si->length);
    if (!err)
        b->opened = 0;
    return err;
}

int udfu_boot_confirm(struct udfu_boot *b, uint32_t running)
{
    uint8_t p = UDFU_CFG_BOOT_TRIAL ? find_state(b, UDFU_BOOT_PENDING) : UDFU_BOOT_NONE;
    if (p == UDFU_BOOT_NONE)
        return 0;
    if (running != udfu_boot_app_addr(b, p))
        return UDFU_ERR_STATE;
    return mark(b, REC_CONFIRM, p);
}

int udfu_boot_invalidate(struct udfu_boot *b, uint8_t slot)
{
    if (!writable(b, slot))
        return UDFU_ERR_PERM;
    slot = (uint8_t)udfu_boot_ix(slot);
    if (b->slot[slot].state == UDFU_BOOT_EMPTY)
        return 0;
    return mark(b, REC_INVALIDATE, slot);
}
