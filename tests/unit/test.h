/*
 * test.h — the unit-test runner's contract: each module's test file exports a table of named
 * test functions; tests/unit/main.c runs every table and prints "N passed, N failed".
 *
 * A test is one function; it fails when any CHECK inside it fails. CHECK keeps going after a
 * failure (so one run shows every broken assertion) and prints file:line and the expression.
 */
#ifndef HY_TEST_H
#define HY_TEST_H

#include <stdio.h>

typedef struct {
    const char *name;
    void (*fn)(void);
} hy_test_t;

extern int hy_test_failed_checks;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            hy_test_failed_checks++;                                             \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
        }                                                                        \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                       \
    do {                                                                         \
        long long _a = (long long)(a), _b = (long long)(b);                      \
        if (_a != _b) {                                                          \
            hy_test_failed_checks++;                                             \
            fprintf(stderr, "  %s:%d: %s == %s failed: %lld != %lld\n", __FILE__, \
                    __LINE__, #a, #b, _a, _b);                                   \
        }                                                                        \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                       \
    do {                                                                         \
        const char *_a = (a), *_b = (b);                                         \
        if (!_a || !_b || strcmp(_a, _b) != 0) {                                 \
            hy_test_failed_checks++;                                             \
            fprintf(stderr, "  %s:%d: %s == %s failed: \"%s\" != \"%s\"\n",       \
                    __FILE__, __LINE__, #a, #b, _a ? _a : "(null)", _b ? _b : "(null)"); \
        }                                                                        \
    } while (0)

#endif
