/* fuzz_in.h - the fuzz input, consumed from the front; reads past the end
 * give 0. Shared by every harness. */
#ifndef UDFU_FUZZ_IN_H
#define UDFU_FUZZ_IN_H

#include <stddef.h>
#include <stdint.h>

struct fz_in {
    const uint8_t *p;
    size_t n;
};

static inline uint8_t fz_u8(struct fz_in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static inline uint16_t fz_u16(struct fz_in *in)
{
    uint16_t v = fz_u8(in);
    return (uint16_t)(v | fz_u8(in) << 8);
}

static inline uint32_t fz_u32(struct fz_in *in)
{
    uint32_t v = fz_u16(in);
    return v | (uint32_t)fz_u16(in) << 16;
}

#endif
