/*
 * udfu_util.h - the one portability header of udfu.
 *
 * Everything here can be overridden: define the macro before this header is
 * included, or build with -DUDFU_CONFIG=my_config.h to have that file read
 * first. The device-side core uses nothing from libc but memcpy/memset.
 */
#ifndef UDFU_UTIL_H
#define UDFU_UTIL_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "udfu_opt.h" /* first: it reads the UDFU_CONFIG file */

/* UDFU_ASSERT is for programming errors of the integrator (bad config, a
 * callback returning a value out of range), never for host mistakes. */
#ifndef UDFU_ASSERT
#if UDFU_CFG_ASSERT
#include <assert.h>
#define UDFU_ASSERT(x) assert(x)
#else
#define UDFU_ASSERT(x) ((void)0)
#endif
#endif

/* UDFU_TRACE(fmt, ...) logs protocol events; off by default. */
#ifndef UDFU_TRACE
#if UDFU_CFG_TRACE
#include <stdio.h>
#define UDFU_TRACE(...) printf(__VA_ARGS__)
#else
#define UDFU_TRACE(...) ((void)0)
#endif
#endif

/* Little-endian load/store: USB is little-endian whatever the CPU is. */
static inline uint16_t udfu_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t udfu_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline void udfu_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void udfu_put24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
}

static inline void udfu_put32(uint8_t *p, uint32_t v)
{
    udfu_put16(p, (uint16_t)v);
    udfu_put16(p + 2, (uint16_t)(v >> 16));
}

static inline uint32_t udfu_min32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

#endif /* UDFU_UTIL_H */
