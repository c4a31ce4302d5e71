#include "test.h"

#include <stdlib.h>

unsigned long test_checks;
static int failed_now;
static int passed, failed, skipped;

void test_fail(const char *file, int line, const char *expr)
{
    fprintf(stderr, "  FAIL %s:%d: %s\n", file, line, expr);
    failed_now = 1;
}

void test_fail_eq(const char *file, int line, const char *expr, long long a, long long b)
{
    fprintf(stderr, "  FAIL %s:%d: %s (%lld != %lld)\n", file, line, expr, a, b);
    failed_now = 1;
}

void test_run(const char *name, void (*fn)(void))
{
    unsigned long before = test_checks;
    failed_now = 0;
    fn();
    if (test_checks == before) {
        fprintf(stderr, "  FAIL %s: asserted nothing\n", name);
        failed_now = 1;
    }
    if (failed_now) {
        failed++;
        printf("FAIL %s\n", name);
    } else {
        passed++;
        if (getenv("TEST_VERBOSE"))
            printf("ok   %s\n", name);
    }
}

void test_run_if(int enabled, const char *feature, const char *name, void (*fn)(void))
{
    if (enabled) {
        test_run(name, fn);
        return;
    }
    skipped++;
    printf("skip %s (needs %s)\n", name, feature);
}

int test_summary(void)
{
    if (skipped)
        printf("%d skipped (features compiled out)\n", skipped);
    printf("%d passed, %d failed\n", passed, failed);
    if (!failed && !passed && skipped)
        return TEST_SKIPPED; /* every test needs a feature compiled out */
    return (failed || passed == 0) ? 1 : 0;
}
