/*
 * usbd_int.h - private to usbd.c and usbd_desc.c.
 */
#ifndef UDFU_USBD_INT_H
#define UDFU_USBD_INT_H

#include "udfu_usbd.h"

/* Whether cfg selects DFU mode (else run-time mode). A constant when the
 * build has only one of them (UDFU_CFG_USBD_DFU / UDFU_CFG_USBD_RT), so
 * the other branch, and the other class, drop out of the link. */
#if !UDFU_CFG_USBD_RT
#define USBD_IS_DFU(cfg) 1
#elif !UDFU_CFG_USBD_DFU
#define USBD_IS_DFU(cfg) 0
#else
#define USBD_IS_DFU(cfg) ((cfg)->dfu != NULL)
#endif

/* Length of the MS OS 2.0 descriptor set cfg describes; 0 if none. */
unsigned udfu_usbd_msos2_len(const struct udfu_usbd_cfg *cfg);
/* Room the larger of the BOS and that set needs; 0 if neither is offered. */
unsigned udfu_usbd_msos_room(const struct udfu_usbd_cfg *cfg);

#endif /* UDFU_USBD_INT_H */
