/*
 * start.c - reset code of the RV32 size build: stack pointer, .data copy,
 * .bss zeroing (the boot flag's no-init words are in neither), main().
 */
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss;
int main(void);
void rv_reset(void);

__asm__(".section .text.start, \"ax\"\n"
        ".globl _start\n"
        "_start:\n"
        "  la sp, _estack\n"
        "  j rv_reset\n");

void rv_reset(void)
{
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata)
        *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;)
        *dst++ = 0;
    main();
    for (;;) {
    }
}
