#include "test.h"

#include <stdlib.h>

unsigned long test_checks;
static int failed_now;
static int passed, failed;

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

int test_summary(void)
{
    printf("%d passed, %d failed\n", passed, failed);
    return (failed || passed == 0) ? 1 : 0;
}
