/*
 * test_buf.c — the growable text buffer and the typed-array growth step (shared/buf.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "test.h"

static void test_buf_appends_and_grows(void)
{
    hy_buf_t b = {0};
    char *empty = hy_buf_take(&b, NULL);   /* nothing appended: "" */
    CHECK_EQ_STR(empty, "");
    free(empty);
    for (int i = 0; i < 1000; i++)        /* 1000 * 9 bytes: past the first 4 KiB twice */
        hy_buf_addf(&b, "line %03d\n", i);
    CHECK_EQ_INT(b.len, 9000);
    CHECK(b.cap >= 9001);
    CHECK(strncmp(b.buf + 8991, "line 999\n", 9) == 0);
    CHECK_EQ_INT(b.buf[b.len], '\0');
    char big[6000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    hy_buf_addf(&b, "[%s]", big);          /* longer than what is left: formatted again */
    CHECK_EQ_INT(b.len, 9000 + 6001);
    CHECK_EQ_INT(b.buf[9000], '[');
    CHECK_EQ_INT(b.buf[b.len - 1], ']');
    hy_buf_addn(&b, "a\0b", 3);           /* bytes, '\0' included */
    hy_buf_add(&b, "end");
    size_t len = 0;
    char *text = hy_buf_take(&b, &len);
    CHECK_EQ_INT(len, 9000 + 6001 + 6);
    CHECK(text && memcmp(text + len - 6, "a\0bend", 6) == 0 && text[len] == '\0');
    CHECK(b.buf == NULL && b.len == 0 && b.cap == 0);
    free(text);
}

static void test_buf_failure_is_sticky(void)
{
    hy_buf_t b = {0};
    hy_buf_add(&b, "kept?");
    CHECK_EQ_INT(hy_buf_reserve(&b, SIZE_MAX - 2), -1);   /* overflows: the buffer fails */
    CHECK(b.failed);
    hy_buf_add(&b, "more");
    hy_buf_addf(&b, "%d", 42);
    CHECK_EQ_INT(b.len, 5);                                /* nothing added after the failure */
    size_t len = 99;
    CHECK(hy_buf_take(&b, &len) == NULL);                   /* the text is lost, and freed */
    CHECK_EQ_INT(len, 0);
    CHECK(!b.failed && b.buf == NULL);                      /* usable again */
    hy_buf_add(&b, "again");
    hy_buf_free(&b);
    CHECK(b.buf == NULL && b.len == 0);
}

static void test_array_grows_by_doubling(void)
{
    uint64_t *ids = NULL;
    size_t cap = 0, count = 0;
    for (uint64_t i = 0; i < 40; i++) {
        CHECK_EQ_INT(hy_array_grow(&ids, &cap, count, sizeof *ids, 16), 0);
        ids[count++] = i * 7;
    }
    CHECK_EQ_INT(cap, 64);                  /* 16, 32, 64 */
    CHECK_EQ_INT(ids[39], 39 * 7);
    CHECK_EQ_INT(ids[0], 0);
    uint64_t *before = ids;
    CHECK_EQ_INT(hy_array_grow(&ids, &cap, count, sizeof *ids, 16), 0);   /* room left */
    CHECK(ids == before && cap == 64);
    size_t huge = SIZE_MAX / 2 + 1;           /* doubling would overflow */
    CHECK_EQ_INT(hy_array_grow(&ids, &huge, huge, sizeof *ids, 16), ENOMEM);
    CHECK(ids == before);
    free(ids);
}

const hy_test_t buf_tests[] = {
    {"buf_appends_and_grows", test_buf_appends_and_grows},
    {"buf_failure_is_sticky", test_buf_failure_is_sticky},
    {"buf_array_grows_by_doubling", test_array_grows_by_doubling},
    {NULL, NULL},
};
