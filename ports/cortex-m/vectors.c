/*
 * vectors.c - sanity checks on a vector table before jumping into it.
 * Plain C, no hardware access: the host tests run it.
 */
#include "udfu_cortexm.h"

int udfu_port_check_vectors(const struct udfu_port_jump_cfg *cfg, uint32_t vtor,
                            uint32_t sp, uint32_t reset)
{
    uint32_t align = cfg->vtor_align ? cfg->vtor_align : 128u;
    uint32_t pc = reset & ~1u;
    /* Erased flash (0xFFFFFFFF) and blank RAM (0) fail every one of these. */
    if (vtor & (align - 1u)) /* a power of two: no divide on an M0+ */
        return UDFU_ERR_FIRMWARE;
    if (sp <= cfg->ram_start || sp > cfg->ram_end || (sp & 3u) != 0)
        return UDFU_ERR_FIRMWARE;
    if ((reset & 1u) == 0 || pc < cfg->code_start || pc >= cfg->code_end)
        return UDFU_ERR_FIRMWARE;
    return 0;
}
