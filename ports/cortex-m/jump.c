/*
 * jump.c - the hand-over from the bootloader to an application on
 * Cortex-M. Architectural registers only, so it needs no vendor headers.
 */
#include "udfu_cortexm.h"

#if defined(__arm__) || defined(__thumb__)

#define REG(a) (*(volatile uint32_t *)(a))
#define ICTR 0xE000E004u      /* ARMv7-M: number of NVIC register banks - 1 */
#define SYST_CSR 0xE000E010u
#define SYST_RVR 0xE000E014u
#define SYST_CVR 0xE000E018u
#define NVIC_ICER 0xE000E180u
#define NVIC_ICPR 0xE000E280u
#define SCB_ICSR 0xE000ED04u
#define SCB_VTOR 0xE000ED08u
#define MPU_TYPE 0xE000ED90u  /* DREGION (bits 15:8) 0: no MPU */
#define MPU_CTRL 0xE000ED94u
#define ICSR_PENDSTCLR (1u << 25)
#define ICSR_PENDSVCLR (1u << 27)

static unsigned nvic_banks(void)
{
#if defined(__ARM_ARCH_6M__)
    return 1; /* at most 32 external interrupts, no ICTR */
#elif defined(__ARM_ARCH_8M_BASE__)
    return 16; /* a Cortex-M23 may have up to 240 interrupts; the banks
                  past the implemented ones ignore writes */
#else
    return (REG(ICTR) & 0xFu) + 1u;
#endif
}

/* Leaves the core as close to its reset state as software can. */
static void quiesce(void)
{
    __asm__ volatile("cpsid i" ::: "memory");
    REG(SYST_CSR) = 0;
    REG(SYST_RVR) = 0;
    REG(SYST_CVR) = 0;
    for (unsigned i = 0; i < nvic_banks(); i++) {
        REG(NVIC_ICER + 4u * i) = 0xFFFFFFFFu;
        REG(NVIC_ICPR + 4u * i) = 0xFFFFFFFFu;
    }
    REG(SCB_ICSR) = ICSR_PENDSTCLR | ICSR_PENDSVCLR;
    /* An MPU the bootloader enabled (optional on ARMv6-M too) goes off;
     * MPU_TYPE reads as zero where there is none. */
    if (REG(MPU_TYPE) & 0xFF00u)
        REG(MPU_CTRL) = 0;
#if !defined(__ARM_ARCH_6M__) && !defined(__ARM_ARCH_8M_BASE__)
    /* Priority masks as after reset (PRIMASK stays set until the entry). */
    __asm__ volatile("msr basepri, %0\n\tcpsie f" ::"r"(0u) : "memory");
#endif
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}

/* From here nothing may touch the old stack: CONTROL = 0 switches to MSP
 * (the bootloader may have run on PSP), then MSP gets the application's
 * stack and the reset handler is entered. */
__attribute__((noreturn)) static void enter(uint32_t sp, uint32_t pc)
{
    __asm__ volatile("movs r2, #0\n\t"
                     "msr control, r2\n\t"
                     "isb\n\t"
                     "msr msp, %0\n\t"
                     "cpsie i\n\t"
                     "bx %1\n\t"
                     :
                     : "r"(sp), "r"(pc)
                     : "r2", "memory");
    __builtin_unreachable();
}

int udfu_port_jump(const struct udfu_port_jump_cfg *cfg, uint32_t vtor)
{
    const volatile uint32_t *vec = (const volatile uint32_t *)vtor;
    uint32_t sp = vec[0], pc = vec[1];
    int err = udfu_port_check_vectors(cfg, vtor, sp, pc);
    if (err)
        return err;
    quiesce();
#if UDFU_PORT_CM_VTOR
    REG(SCB_VTOR) = vtor;
#else
    if (cfg->remap)
        cfg->remap(cfg->context, vtor);
#endif
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    enter(sp, pc);
}

#else /* not an ARM target: the host build of the tests */

int udfu_port_jump(const struct udfu_port_jump_cfg *cfg, uint32_t vtor)
{
    (void)cfg;
    (void)vtor;
    return UDFU_ERR_UNSUPPORTED;
}

#endif
