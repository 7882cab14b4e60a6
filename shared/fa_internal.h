/*
 * fa_internal.h — what fa.c shares with fa_calendar.c and nobody else: decoding one UTF-8 code
 * point and the value of a digit in any of the three scripts staff type.
 */
#ifndef HY_FA_INTERNAL_H
#define HY_FA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Decodes one code point at p (n bytes available). Returns its length (1..4), or 0 when the
 * bytes are not well-formed UTF-8 (bad lead, truncated, overlong, surrogate, > U+10FFFF). */
size_t hy_fa_utf8_next(const unsigned char *p, size_t n, uint32_t *cp);
/* Value 0..9 of an ASCII, Persian (U+06F0..) or Arabic-Indic (U+0660..) digit, else -1. */
int hy_fa_digit_value(uint32_t cp);

#endif
