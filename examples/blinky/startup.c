/*
 * startup.c - the vector table and reset handler of the blinky example
 * (STM32F405/407: 16 core exceptions + 82 interrupts).
 */
#include <stdint.h>

void reset_handler(void);
int main(void);

/* From app.ld. */
extern uint32_t stack_top, data_start, data_end, data_load, bss_start, bss_end;

#define VECTORS (16 + 82)

/* Anything unexpected parks here; a debugger shows where. */
static void default_handler(void)
{
    for (;;)
        ;
}

#define H default_handler
#define H7 H, H, H, H, H, H, H

/* Entry 0 is the initial stack pointer, entry 1 the reset handler (the
 * toolchain sets its Thumb bit); then 14 core exceptions and 82 IRQs. */
__attribute__((section(".vectors"), used)) static void (*const vectors[])(void) = {
    (void (*)(void))(uintptr_t)&stack_top, reset_handler,
    H7, H7,                                     /* NMI .. SysTick */
    H7, H7, H7, H7, H7, H7, H7, H7, H7, H7, H7, /* IRQ 0..76 */
    H, H, H, H, H,                              /* IRQ 77..81 */
};
typedef char vectors_complete[sizeof(vectors) / sizeof(vectors[0]) == VECTORS ? 1 : -1];

void reset_handler(void)
{
    const uint32_t *src = &data_load;
    uint32_t *dst;

    for (dst = &data_start; dst < &data_end;)
        *dst++ = *src++;
    for (dst = &bss_start; dst < &bss_end;)
        *dst++ = 0;
    main();
    default_handler();
}
