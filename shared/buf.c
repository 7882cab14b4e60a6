/*
 * buf.c — a growable text buffer and the growth step of typed arrays (buf.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define FIRST_CAP 4096

int hy_buf_reserve(hy_buf_t *b, size_t more)
{
    if (b->failed)
        return -1;
    if (more > SIZE_MAX / 2 - b->len)
        goto fail;
    size_t need = b->len + more + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : FIRST_CAP;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->buf, cap);
    if (!p)
        goto fail;
    b->buf = p;
    b->cap = cap;
    return 0;
fail:
    b->failed = true;
    return -1;
}

void hy_buf_addn(hy_buf_t *b, const void *s, size_t n)
{
    if (hy_buf_reserve(b, n) != 0)
        return;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

void hy_buf_add(hy_buf_t *b, const char *s)
{
    hy_buf_addn(b, s, strlen(s));
}

void hy_buf_addf(hy_buf_t *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->buf ? b->buf + b->len : NULL, b->buf ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if (b->buf && (size_t)n < b->cap - b->len) {   /* it fitted */
        b->len += (size_t)n;
        return;
    }
    if (hy_buf_reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *hy_buf_take(hy_buf_t *b, size_t *len)
{
    char *out = b->failed ? NULL : b->buf ? b->buf : strdup("");
    size_t n = out ? b->len : 0;
    if (b->failed)
        free(b->buf);
    b->buf = NULL;
    b->len = b->cap = 0;
    b->failed = false;
    if (len)
        *len = n;
    return out;
}

void hy_buf_free(hy_buf_t *b)
{
    free(b->buf);
    b->buf = NULL;
    b->len = b->cap = 0;
    b->failed = false;
}

int hy_array_grow(void *items_p, size_t *cap, size_t count, size_t size, size_t first)
{
    if (count < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : first;
    if (ncap <= *cap || size == 0 || ncap > SIZE_MAX / size)
        return ENOMEM;
    void *items;
    memcpy(&items, items_p, sizeof items);
    void *grown = realloc(items, ncap * size);
    if (!grown)
        return ENOMEM;
    memcpy(items_p, &grown, sizeof grown);
    *cap = ncap;
    return 0;
}
