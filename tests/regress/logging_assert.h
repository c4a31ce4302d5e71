/* An integrator's UDFU_ASSERT that logs and goes on instead of halting
 * (udfu_util.h allows overriding it, through -DUDFU_CONFIG=this file). */
#ifndef RG_LOGGING_ASSERT_H
#define RG_LOGGING_ASSERT_H

extern int rg_assert_failures;
#define UDFU_ASSERT(x)                                                                     \
    do {                                                                                   \
        if (!(x))                                                                          \
            rg_assert_failures++;                                                          \
    } while (0)

#endif
