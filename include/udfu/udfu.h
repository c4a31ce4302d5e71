/*
 * udfu.h - the device-side API in one include: protocol constants, memory
 * map, DFU class core, run-time class, USB device core, boot helpers.
 * The file-format part (udfu_file.h) is included separately by the code
 * that needs it (host tools, devices that parse .dfu files).
 */
#ifndef UDFU_H
#define UDFU_H

#include "udfu_proto.h"
#include "udfu_util.h"
#include "udfu_mem.h"
#include "udfu_dfu.h"
#include "udfu_rt.h"
#include "udfu_usbd.h"
#include "udfu_boot.h"

#endif /* UDFU_H */
