/* Builds a DFU instance from the installed headers and library and checks
 * it answers GETSTATE: proves the installed package is usable. */
#include <stdio.h>

#include "udfu.h"

static const struct udfu_region map[] = {{0x08000000, 1024, 4, UDFU_MEM_ALL, 0, 0}};
static const struct udfu_target targets[] = {{"Flash", map, 1, 1}};
static uint8_t buf[256];

static int rd(void *c, uint8_t a, uint32_t ad, uint8_t *b, uint32_t n)
{ (void)c; (void)a; (void)ad; (void)b; (void)n; return 0; }
static int er(void *c, uint8_t a, uint32_t ad, uint32_t n)
{ (void)c; (void)a; (void)ad; (void)n; return 0; }
static int pr(void *c, uint8_t a, uint32_t ad, const uint8_t *b, uint32_t n)
{ (void)c; (void)a; (void)ad; (void)b; (void)n; return 0; }
static void lv(void *c, uint32_t a) { (void)c; (void)a; }

int main(void)
{
    struct udfu_dfu_cfg cfg = {0};
    struct udfu_dfu d;
    struct udfu_setup s = {0xA1, UDFU_REQ_GETSTATE, 0, 0, 1};
    uint8_t *data;
    cfg.targets = targets;
    cfg.target_count = 1;
    cfg.transfer_size = sizeof buf;
    cfg.buffer = buf;
    cfg.read = rd;
    cfg.erase = er;
    cfg.prog = pr;
    cfg.leave = lv;
    if (udfu_dfu_init(&d, &cfg) || udfu_dfu_setup(&d, &s, &data) != 1 || data[0] != 2) {
        puts("consumer: unexpected answer");
        return 1;
    }
    puts("consumer: dfuIDLE via installed udfu");
    return 0;
}
