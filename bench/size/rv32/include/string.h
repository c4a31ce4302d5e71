/*
 * string.h - the part of <string.h> the udfu sources use, for the
 * freestanding RV32 size build (the toolchain ships no libc headers);
 * bench/size/libc_min.c defines them.
 */
#ifndef BENCH_RV32_STRING_H
#define BENCH_RV32_STRING_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
size_t strlen(const char *s);
char *strchr(const char *s, int c);

#endif
