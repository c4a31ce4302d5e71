/*
 * boot_flag.c - the boot-request flag that survives a reset.
 */
#include "udfu_boot.h"
#include "udfu_util.h"

void udfu_boot_flag_set(const struct udfu_boot_flag *f, uint32_t req)
{
    UDFU_ASSERT(f && f->words && req != UDFU_BOOT_REQ_NONE);
    if (f->unlock)
        f->unlock(f->context);
    f->words[0] = req;
    f->words[1] = ~req;
}

uint32_t udfu_boot_flag_take(const struct udfu_boot_flag *f)
{
    UDFU_ASSERT(f && f->words);
    uint32_t req = f->words[0];
    uint32_t check = f->words[1];
    /* Cleared whatever it held: a request is honoured once, and garbage
     * must not survive to be misread after the next reset either. */
    if (req != UDFU_BOOT_REQ_NONE || check != UDFU_BOOT_REQ_NONE) {
        if (f->unlock)
            f->unlock(f->context);
        f->words[0] = UDFU_BOOT_REQ_NONE;
        f->words[1] = UDFU_BOOT_REQ_NONE;
    }
    return check == (uint32_t)~req ? req : UDFU_BOOT_REQ_NONE;
}
