/*
 * minboot_config.h - the UDFU_CONFIG file of the minimal DfuSe bootloader
 * (minboot.c): the profile `make size` measures as "minimal bootloader",
 * and the one udfu-virtual-minimal is built with, so the kernel and
 * dfu-util drive exactly the measured configuration (docs/performance.md).
 *
 * What it leaves out (udfu_opt.h): plain DFU 1.1 targets, asynchronous
 * callbacks, MS OS 2.0 descriptors (Windows needs an INF or Zadig), the
 * run-time class (the application brings its own USB), usbd's own scratch
 * buffer (descriptors are written into the DFU transfer buffer while it is
 * free), and the boot layer's extra slots, trial boots and hash hooks.
 * Asserts are the build's choice (scripts/size.sh turns them off).
 */
#ifndef MINBOOT_CONFIG_H
#define MINBOOT_CONFIG_H

#define UDFU_CFG_PLAIN 0
#define UDFU_CFG_ASYNC 0
#define UDFU_CFG_MSOS20 0
#define UDFU_CFG_USBD_RT 0
#define UDFU_CFG_USBD_BUF 0
#define UDFU_CFG_BOOT_SLOTS 1
#define UDFU_CFG_BOOT_TRIAL 0
#define UDFU_CFG_BOOT_HOOKS 0
/* Single buffer unless the build asks for the pipelined variant. */
#ifndef UDFU_CFG_PIPELINE
#define UDFU_CFG_PIPELINE 0
#endif

#endif
