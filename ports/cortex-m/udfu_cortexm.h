/*
 * udfu_cortexm.h - Cortex-M port of the boot layer: the jump from the
 * bootloader into an application (or a vendor's ROM bootloader), the
 * sanity checks done before it, and the no-init word of the boot flag.
 *
 * Works on ARMv6-M (Cortex-M0/M0+), ARMv7-M (M3/M4/M7) and ARMv8-M
 * mainline/baseline, using only architectural registers (no CMSIS
 * needed). See docs/bootloader.md for the hand-off contract.
 */
#ifndef UDFU_CORTEXM_H
#define UDFU_CORTEXM_H

#include <stdint.h>

#include "udfu_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1: the core has VTOR (all ARMv7-M/ARMv8-M, most Cortex-M0+ parts:
 * STM32G0/L0, RP2040, SAMD21, nRF...). 0: no VTOR (Cortex-M0, e.g. STM32F0):
 * the jump calls cfg.remap instead of writing VTOR; typically the
 * application copies its vector table to the start of SRAM and remaps SRAM
 * to address 0 itself (SYSCFG MEM_MODE on STM32F0), and remap may be NULL. */
#ifndef UDFU_PORT_CM_VTOR
#define UDFU_PORT_CM_VTOR 1
#endif

/* Put the boot flag's two words here; ports/cortex-m/noinit.ld places the
 * section where the startup code neither zeroes nor initialises it. */
#define UDFU_PORT_NOINIT __attribute__((section(".udfu_noinit")))

struct udfu_port_jump_cfg {
    uint32_t ram_start;  /* the initial SP must lie in (ram_start, ram_end] */
    uint32_t ram_end;    /* one past the last RAM byte (a full-descending
                            stack may start exactly there) */
    uint32_t code_start; /* the reset handler must lie in [code_start, */
    uint32_t code_end;   /* code_end): the image's own region */
    uint32_t vtor_align; /* required alignment of the table, a power of two
                            (0: 128; M0+ needs 256, a core with many IRQs
                            512 or more) */
    /* Only without VTOR (UDFU_PORT_CM_VTOR 0): make the table at vtor the
     * active one (memory remap). Optional. */
    void (*remap)(void *ctx, uint32_t vtor);
    void *context;
};

/* Checks the first two words of a vector table (initial SP, reset
 * handler) located at vtor: SP inside RAM and 4-byte aligned (the core
 * forces it), reset handler inside [code_start, code_end) with the Thumb
 * bit set, vtor itself aligned. Plain C: host-testable. 0 or
 * UDFU_ERR_FIRMWARE. */
int udfu_port_check_vectors(const struct udfu_port_jump_cfg *cfg, uint32_t vtor,
                            uint32_t sp, uint32_t reset);

/* Reads the vector table at vtor, checks it, and if it is sane never
 * returns: interrupts off, SysTick stopped, every NVIC interrupt disabled
 * and its pending bit cleared, PendSV/SysTick pending cleared, MPU off,
 * BASEPRI and FAULTMASK cleared (v7-M, v8-M mainline), CONTROL = 0
 * (privileged, MSP, no FP context), VTOR = vtor (or remap),
 * MSP = initial SP, interrupts back on (as after reset: every source is
 * disabled anyway) and a branch to the reset handler. Returns
 * UDFU_ERR_FIRMWARE if the checks fail (nothing was changed).
 * Call it early: ideally right after reset, before clocks, USB or any
 * peripheral is set up (as ports/cortex-m/example/boot_main.c does).
 * Device only. */
int udfu_port_jump(const struct udfu_port_jump_cfg *cfg, uint32_t vtor);

#ifdef __cplusplus
}
#endif

#endif /* UDFU_CORTEXM_H */
