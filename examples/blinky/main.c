/*
 * main.c - blinky, the sample application of the udfu demo: blinks the
 * LEDs of an STM32F4-Discovery board (PD12 green, PD13 orange). Version 1
 * blinks green; version 2 blinks green and orange in turn, faster.
 * APP_VERSION (1, 2 ...) comes from the Makefile; the same number goes
 * into the udfu image header (`udfu pack --image-version`).
 */
#include <stdint.h>

#ifndef APP_VERSION
#define APP_VERSION 1
#endif

#define STR_(x) #x
#define STR(x) STR_(x)

/* The application names itself. udfu-virtual, which cannot run this
 * code, shows the name as the product string of its run-time mode,
 * standing in for the USB descriptors a real application would have. */
__attribute__((section(".app_info"), used)) const char app_info[] =
    "udfu-app:udfu blinky v" STR(APP_VERSION) ".0";

#define REG(a) (*(volatile uint32_t *)(a))
#define RCC_AHB1ENR 0x40023830u
#define GPIOD_MODER 0x40020C00u
#define GPIOD_BSRR 0x40020C18u
#define GPIODEN (1u << 3)
#define LED_GREEN 12u
#define LED_ORANGE 13u

/* The core runs from the 16 MHz HSI after reset: about 4 cycles per turn. */
static void delay(uint32_t turns)
{
    volatile uint32_t n = turns;

    while (n)
        n--;
}

static void led(uint32_t pin, int on)
{
    REG(GPIOD_BSRR) = on ? 1u << pin : 1u << (pin + 16u);
}

int main(void)
{
    REG(RCC_AHB1ENR) |= GPIODEN;
    /* PD12, PD13: general-purpose outputs (MODER = 01) */
    REG(GPIOD_MODER) = (REG(GPIOD_MODER) & ~(0xFu << (2u * LED_GREEN))) |
                       (0x5u << (2u * LED_GREEN));
    for (;;) {
#if APP_VERSION >= 2
        led(LED_GREEN, 1);
        led(LED_ORANGE, 0);
        delay(1000000u);
        led(LED_GREEN, 0);
        led(LED_ORANGE, 1);
        delay(1000000u);
#else
        led(LED_GREEN, 1);
        delay(2000000u);
        led(LED_GREEN, 0);
        delay(2000000u);
#endif
    }
}
