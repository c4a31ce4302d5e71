/*
 * test.h - the tiny test harness every udfu test uses.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_EQ(a, b); }
 *   int main(void) { RUN(name); return test_summary(); }
 *
 * A failed CHECK prints file:line and the expression, marks the test failed
 * and goes on. test_summary() prints "N passed, N failed" and returns the
 * exit code (0 only if nothing failed and at least one test ran;
 * TEST_SKIPPED if RUN_IF skipped every test).
 */
#ifndef UDFU_TEST_H
#define UDFU_TEST_H

#include <stdint.h>
#include <stdio.h>

void test_fail(const char *file, int line, const char *expr);
void test_fail_eq(const char *file, int line, const char *expr, long long a, long long b);
void test_run(const char *name, void (*fn)(void));
int test_summary(void);
/* Number of CHECKs evaluated so far (tests that assert nothing are caught). */
extern unsigned long test_checks;

#define TEST(name) static void name(void)
#define RUN(name) test_run(#name, name)
/* Runs name only when the feature it exercises is compiled in (a UDFU_CFG_*
 * option of udfu_opt.h); otherwise reports it as skipped, with the reason. */
#define RUN_IF(feature, name) test_run_if((feature), #feature, #name, name)
void test_run_if(int enabled, const char *feature, const char *name, void (*fn)(void));
/* Exit code of a program whose tests all need features compiled out. A
 * program that can end so sets the ctest property SKIP_RETURN_CODE 77: it
 * then shows as skipped, not passed (without it, 77 is a failure). */
#define TEST_SKIPPED 77
#define CHECK(cond)                                                                        \
    do {                                                                                   \
        test_checks++;                                                                     \
        if (!(cond))                                                                       \
            test_fail(__FILE__, __LINE__, #cond);                                          \
    } while (0)
#define CHECK_EQ(a, b)                                                                     \
    do {                                                                                   \
        long long test_a_ = (long long)(a), test_b_ = (long long)(b);                      \
        test_checks++;                                                                     \
        if (test_a_ != test_b_)                                                            \
            test_fail_eq(__FILE__, __LINE__, #a " == " #b, test_a_, test_b_);              \
    } while (0)
#define CHECK_MEM(a, b, n)                                                                 \
    do {                                                                                   \
        test_checks++;                                                                     \
        if (memcmp((a), (b), (n)) != 0)                                                    \
            test_fail(__FILE__, __LINE__, "memcmp(" #a ", " #b ", " #n ") == 0");          \
    } while (0)

#endif
