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
 * this are truncated; the configuration descriptor must fit. */
#ifndef UDFU_CFG_USBD_BUF
#define UDFU_CFG_USBD_BUF 256
#endif

#if UDFU_CFG_USBD_BUF < 64
#error "UDFU_CFG_USBD_BUF must hold at least one 64-byte control packet"
#endif

#endif /* UDFU_OPT_H */
