/*
 * fence.h - puts a buffer right against an inaccessible page, so that a
 * parser reading one byte past the end (or before the start) of hostile
 * input crashes the test instead of passing by luck.
 * Needs _DEFAULT_SOURCE (MAP_ANONYMOUS), set in CMakeLists.txt.
 */
#ifndef UDFU_TEST_FENCE_H
#define UDFU_TEST_FENCE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FENCE_MAX (1u << 20)

enum fence_side { FENCE_END, FENCE_START };

/* Returns a copy of data[0..len) whose last byte (FENCE_END) or first byte
 * (FENCE_START) touches a PROT_NONE page. The previous copy is released. */
static inline uint8_t *fence_copy(const void *data, size_t len, enum fence_side side)
{
    static uint8_t *map;
    static size_t map_len;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t body = (len + page - 1) / page * page;
    uint8_t *p;

    if (len > FENCE_MAX)
        abort();
    if (map)
        munmap(map, map_len);
    map_len = body + 2 * page;
    map = mmap(NULL, map_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED || mprotect(map + page, body ? body : 0, PROT_READ | PROT_WRITE))
        abort();
    p = side == FENCE_END ? map + page + body - len : map + page;
    if (len)
        memcpy(p, data, len);
    return p;
}

#endif
