/*
 * buf.h — a growable text buffer (Redis's sds, CZMQ's zchunk in spirit), and the
 * grow-by-doubling step of a typed array.
 *
 * hy_buf_t is a plain struct the caller owns, zero-initialised to start empty: appends grow it
 * (doubling, 4 KiB at first); a failed allocation makes the buffer `failed` and every later
 * append a no-op, so a writer appends without checking each call and checks once at the end
 * (hy_buf_take answers NULL). While not failed and once anything was appended, buf[len] is
 * '\0'. The buffer owns buf; hy_buf_take hands it to the caller, hy_buf_free releases it.
 * Not thread-safe (one writer).
 */
#ifndef HY_BUF_H
#define HY_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *buf;      /* the text, '\0'-terminated (NULL before the first append) */
    size_t len;     /* bytes in it, without the '\0' */
    size_t cap;     /* bytes allocated */
    bool failed;    /* an allocation or a format failed: the text is lost */
} hy_buf_t;

/* Makes room for more bytes (and the '\0') after len. Returns 0, or -1 with the buffer
 * failed (out of memory, or a size that overflows). */
int hy_buf_reserve(hy_buf_t *b, size_t more);
/* Appends n bytes of s (which may hold '\0's). */
void hy_buf_addn(hy_buf_t *b, const void *s, size_t n);
/* Appends the string s. */
void hy_buf_add(hy_buf_t *b, const char *s);
/* Appends printf-style text; a format error fails the buffer. */
void hy_buf_addf(hy_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the text to the caller (free() it) and empties the buffer: NULL when the buffer
 * failed (its memory is freed), "" (allocated) when nothing was appended. *len (when not NULL)
 * gets its length. */
char *hy_buf_take(hy_buf_t *b, size_t *len);
/* Frees the text and empties the buffer (failed or not). */
void hy_buf_free(hy_buf_t *b);

/* Makes room for one more item in a typed array that grows by doubling: *items_p (a pointer
 * to the array pointer, e.g. &list->ids) holding count items of size bytes in *cap allocated.
 * When count == *cap the array is reallocated to twice *cap (first when *cap is 0) and *cap
 * updated. Returns 0, or ENOMEM (the array is left as it was). */
int hy_array_grow(void *items_p, size_t *cap, size_t count, size_t size, size_t first);

#endif
