/*
 * main.c — runs every module's unit tests and prints "N passed, N failed".
 *
 * Each module's test file exports a table (test.h); adding a module means adding one line
 * here. `unit-tests NAME` runs only the tests whose name starts with NAME.
 */
#include <stdio.h>
#include <string.h>

#include "test.h"

int hy_test_failed_checks;

extern const hy_test_t fa_tests[], store_tests[], spec_tests[], service_tests[],
    registry_tests[], gateway_tests[];

static const hy_test_t *const s_tables[] = {
    fa_tests, store_tests, spec_tests, service_tests, registry_tests, gateway_tests, NULL,
};

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;
    int passed = 0, failed = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (const hy_test_t *const *t = s_tables; *t; t++) {
        for (const hy_test_t *test = *t; test->name; test++) {
            if (only && strncmp(test->name, only, strlen(only)) != 0)
                continue;
            int before = hy_test_failed_checks;
            test->fn();
            if (hy_test_failed_checks == before) {
                passed++;
                printf("ok   %s\n", test->name);
            } else {
                failed++;
                printf("FAIL %s\n", test->name);
            }
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
