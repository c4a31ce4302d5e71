/*
 * udfu_opt.h - the catalogue of compile-time options.
 *
 * Each option has a sentence and a default. Override with -D on the command
 * line or in the file named by UDFU_CONFIG. Everything that can be a run-time
 * config field is one (see the *_cfg structs); only what changes code size or
 * portability is here.
 */
#ifndef UDFU_OPT_H
#define UDFU_OPT_H

/* The integrator's option file, read before any default below. Every
 * header that depends on an option includes this one, so all translation
 * units see the same options (instance layouts depend on them). */
#ifdef UDFU_CONFIG
#define UDFU_STRINGIFY_(x) #x
#define UDFU_STRINGIFY(x) UDFU_STRINGIFY_(x)
#include UDFU_STRINGIFY(UDFU_CONFIG)
#endif

/* 1: UDFU_ASSERT checks integrator mistakes with assert(); 0: compiled out
 * (what a release bootloader uses, and what `make size` measures). */
#ifndef UDFU_CFG_ASSERT
#define UDFU_CFG_ASSERT 1
#endif

/* 1: UDFU_TRACE prints protocol events with printf (host debugging only). */
#ifndef UDFU_CFG_TRACE
#define UDFU_CFG_TRACE 0
#endif

/* Maximum length of one control transfer's data stage that usbd answers
 * from its own scratch buffer (descriptors, strings). Strings longer than
 * this are truncated; the configuration descriptor must fit.
 * 0: usbd has no buffer of its own (64+ bytes of RAM saved) and borrows the
 * DFU class's transfer buffer (udfu_dfu_lend()) for descriptor replies while
 * no download data waits in it; meanwhile GET_DESCRIPTOR stalls. Needs a
 * DFU-mode-only usbd (UDFU_CFG_USBD_RT 0): the run-time class has no
 * buffer to lend. The small standard replies (GET_STATUS, GET_CONFIGURATION,
 * GET_INTERFACE) never need a buffer. */
#ifndef UDFU_CFG_USBD_BUF
#define UDFU_CFG_USBD_BUF 256
#endif

#if UDFU_CFG_USBD_BUF && UDFU_CFG_USBD_BUF < 64
#error "UDFU_CFG_USBD_BUF must hold at least one 64-byte control packet (or be 0)"
#endif

/* 1: the memory map's few divisions (sector lookups, time estimates, the
 * layout string) use a small shift-and-subtract loop instead of the C
 * operator, which on a core without a divide instruction pulls ~300 B of
 * libgcc into the image. Default: 1 on ARMv6-M (Cortex-M0/M0+/M1) and
 * ARMv8-M Baseline (M23), else 0. */
#ifndef UDFU_CFG_SOFT_DIV
#if defined(__ARM_ARCH_6M__) || defined(__ARM_ARCH_8M_BASE__)
#define UDFU_CFG_SOFT_DIV 1
#else
#define UDFU_CFG_SOFT_DIV 0
#endif
#endif

/* ---- features: 0 removes code (and RAM) a small bootloader does not need.
 * Defaults are all 1 (everything). `make size` measures both the full build
 * and the compact profile (docs/performance.md); tests run against both. */

/* 1: struct udfu_dfu_cfg.buffers may be 2 (pipelined download: block N+1 is
 * received while block N is programmed). 0: single buffer only. */
#ifndef UDFU_CFG_PIPELINE
#define UDFU_CFG_PIPELINE 1
#endif

/* 1: memory callbacks (erase, prog, verify, manifest, unprotect) may return
 * UDFU_ERR_PENDING and finish later through udfu_dfu_complete(). 0: they
 * are synchronous (they return 0 or an error), which drops the completion
 * path and its time bookkeeping. */
#ifndef UDFU_CFG_ASYNC
#define UDFU_CFG_ASYNC 1
#endif

/* 1: targets may speak plain DFU 1.1 (udfu_target.dfuse == 0). */
#ifndef UDFU_CFG_PLAIN
#define UDFU_CFG_PLAIN 1
#endif

/* 1: targets may speak ST DfuSe (udfu_target.dfuse == 1). */
#ifndef UDFU_CFG_DFUSE
#define UDFU_CFG_DFUSE 1
#endif

/* 1: UPLOAD (reading memory back) is compiled in. */
#ifndef UDFU_CFG_UPLOAD
#define UDFU_CFG_UPLOAD 1
#endif

/* 1: usbd can answer the BOS and Microsoft OS 2.0 descriptors (so Windows
 * binds WinUSB without an INF), enabled per device by ms_vendor_code. */
#ifndef UDFU_CFG_MSOS20
#define UDFU_CFG_MSOS20 1
#endif

#if !UDFU_CFG_PLAIN && !UDFU_CFG_DFUSE
#error "udfu: enable UDFU_CFG_PLAIN, UDFU_CFG_DFUSE or both"
#endif

/* ---- boot layer (udfu_boot.h): the layouts a bootloader does not use.
 * udfu_boot_init() refuses (UDFU_ERR_INVAL) a cfg that needs what is
 * compiled out, so nothing is dropped silently. */

/* Most image slots a struct udfu_boot tracks, 1..4 (12 bytes of RAM each).
 * 1: layout (a), single slot + DFU fallback; the slot loops compile away. */
#ifndef UDFU_CFG_BOOT_SLOTS
#define UDFU_CFG_BOOT_SLOTS 4
#endif

/* 1: trial boots and rollback (cfg.trial_boots, udfu_boot_confirm()).
 * 0: every commit is final; udfu_boot_confirm() has nothing to confirm. */
#ifndef UDFU_CFG_BOOT_TRIAL
#define UDFU_CFG_BOOT_TRIAL 1
#endif

/* 1: the SHA-256, signature and accept() hooks of struct udfu_boot_cfg.
 * 0: images are checked by their header and CRC-32 alone. */
#ifndef UDFU_CFG_BOOT_HOOKS
#define UDFU_CFG_BOOT_HOOKS 1
#endif

#if UDFU_CFG_BOOT_SLOTS < 1 || UDFU_CFG_BOOT_SLOTS > 4
#error "udfu: UDFU_CFG_BOOT_SLOTS must be 1..4"
#endif

/* ---- usbd (udfu_usbd.h): the modes it serves. A bootloader needs DFU
 * mode only, an application run-time mode only; a build with just one
 * leaves the other class (and usbd's code for it) out of the link.
 * udfu_usbd_init() refuses (UDFU_ERR_INVAL) a cfg of a mode compiled out. */

/* 1: usbd can serve DFU mode (udfu_usbd_cfg.dfu, the udfu_dfu class). */
#ifndef UDFU_CFG_USBD_DFU
#define UDFU_CFG_USBD_DFU 1
#endif

/* 1: usbd can serve run-time mode (udfu_usbd_cfg.rt, the udfu_rt class). */
#ifndef UDFU_CFG_USBD_RT
#define UDFU_CFG_USBD_RT 1
#endif

#if !UDFU_CFG_USBD_DFU && !UDFU_CFG_USBD_RT
#error "udfu: enable UDFU_CFG_USBD_DFU, UDFU_CFG_USBD_RT or both"
#endif

#if !UDFU_CFG_USBD_BUF && UDFU_CFG_USBD_RT
#error "udfu: UDFU_CFG_USBD_BUF 0 (borrow the DFU buffer) needs UDFU_CFG_USBD_RT 0"
#endif

#endif /* UDFU_OPT_H */
