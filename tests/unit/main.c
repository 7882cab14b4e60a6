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

/* Weak, so that a table whose module is not built yet is simply absent (NULL). */
#define TABLE(name) extern const hy_test_t name[] __attribute__((weak))
TABLE(fa_tests); TABLE(store_tests); TABLE(spec_tests); TABLE(service_tests);
TABLE(gateway_tests); TABLE(registry_tests); TABLE(loans_tests); TABLE(networks_tests);
TABLE(microfund_tests); TABLE(insurance_tests); TABLE(reporting_tests); TABLE(fundsync_tests);
TABLE(events_tests);
TABLE(service_text_tests);
TABLE(import_tests);
TABLE(bind_tests);
TABLE(buf_tests);

static const hy_test_t *const s_tables[] = {
    fa_tests, store_tests, spec_tests, service_tests, gateway_tests, registry_tests,
    service_text_tests,
    loans_tests, networks_tests, microfund_tests, insurance_tests, reporting_tests,
    fundsync_tests, events_tests, import_tests,
    bind_tests, buf_tests,
};

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;
    int passed = 0, failed = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < sizeof s_tables / sizeof s_tables[0]; i++) {
        for (const hy_test_t *test = s_tables[i]; test && test->name; test++) {
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
