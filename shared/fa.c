/*
 * fa.c — Persian text: UTF-8 validation, normalisation for matching (hy_fa_normalize, its word
 * splitter and grouping key), digits, Iranian national IDs and mobile numbers. The calendar
 * lives in fa_calendar.c.
 *
 * Pure functions over libc only; no global state.
 */
#include "fa.h"
#include "fa_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- UTF-8 ---------------- */

/* Decodes one code point at p (n bytes available). Returns its length (1..4), or 0 when the
 * bytes are not well-formed UTF-8 (bad lead, truncated, overlong, surrogate, > U+10FFFF). */
size_t hy_fa_utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    unsigned char b = p[0];
    size_t len;
    uint32_t v, min;
    if (b < 0x80) {
        *cp = b;
        return 1;
    } else if (b >= 0xC2 && b <= 0xDF) {
        len = 2, v = b & 0x1F, min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3, v = b & 0x0F, min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4, v = b & 0x07, min = 0x10000;
    } else {
        return 0; /* continuation byte as lead, C0/C1 (always overlong), F5..FF */
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

/* Encodes cp (a valid scalar value) at out; returns the number of bytes written. */
static size_t s_utf8_put(char *out, uint32_t cp)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* An embedded NUL is refused too: the strings we check are C strings, and a NUL inside the
 * stated length would silently truncate the value later. */
bool hy_utf8_valid(const char *s, size_t len)
{
    if (!s)
        return false;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t k = hy_fa_utf8_next(p + i, len - i, &cp);
        if (k == 0 || cp == 0)
            return false;
        i += k;
    }
    return true;
}

/* ------------------------------------------------------- character classes -------------- */

/* Value 0..9 of an ASCII, Persian (U+06F0..) or Arabic-Indic (U+0660..) digit, else -1. */
int hy_fa_digit_value(uint32_t cp)
{
    if (cp >= '0' && cp <= '9')
        return (int)(cp - '0');
    if (cp >= 0x06F0 && cp <= 0x06F9)
        return (int)(cp - 0x06F0);
    if (cp >= 0x0660 && cp <= 0x0669)
        return (int)(cp - 0x0660);
    return -1;
}

/* White space that staff may type or paste: ASCII, NBSP, narrow NBSP and the Unicode spaces. */
static bool s_is_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* Invisible format marks (ZWNJ, ZWJ, bidi marks/embeddings/isolates, BOM, soft hyphen) that
 * change nothing a reader sees, so they must not change a search key either. */
static bool s_is_invisible(uint32_t cp)
{
    return cp == 0x00AD || cp == 0x061C || cp == 0x180E || (cp >= 0x200B && cp <= 0x200F) ||
           (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x2064) ||
           (cp >= 0x2066 && cp <= 0x206F) || cp == 0xFEFF;
}

/* The letters that are written two ways for one spelling (Arabic vs Persian forms, hamza
 * carriers, teh marbuta), mapped to the one form keys use; any other code point is kept. */
static uint32_t s_fold_letter(uint32_t cp)
{
    switch (cp) {
    case 0x064A: /* ي Arabic yeh */
    case 0x0649: /* ى alef maksura */
    case 0x0626: /* ئ yeh with hamza */
        return 0x06CC; /* ی */
    case 0x0643: /* ك Arabic kaf */
        return 0x06A9; /* ک */
    case 0x0629: /* ة teh marbuta */
    case 0x06C0: /* ۀ heh with yeh above */
        return 0x0647; /* ه */
    case 0x0622: /* آ alef with madda */
    case 0x0623: /* أ alef with hamza above */
    case 0x0625: /* إ alef with hamza below */
    case 0x0671: /* ٱ alef wasla */
        return 0x0627; /* ا */
    case 0x0624: /* ؤ waw with hamza */
        return 0x0648; /* و */
    default:
        return cp;
    }
}

/* Arabic harakat, superscript alef and tatweel: decoration, not spelling. */
static bool s_is_diacritic(uint32_t cp)
{
    return (cp >= 0x064B && cp <= 0x065F) || cp == 0x0670 || cp == 0x0640;
}

/* ------------------------------------------------------------- normalisation ------------- */

/* One pass: map each code point, drop the invisible ones, and fold runs of white space and
 * ZWNJ into one space. The output is never longer than the input (every mapping keeps or
 * shrinks the byte count: each folded letter is two bytes, like its target). */
char *hy_fa_normalize(const char *in)
{
    if (!in)
        return NULL;
    size_t n = strlen(in);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)in;
    size_t i = 0, o = 0;
    bool pending_space = false;
    while (i < n) {
        uint32_t cp;
        size_t k = hy_fa_utf8_next(p + i, n - i, &cp);
        if (k == 0) {
            free(out);
            return NULL;
        }
        i += k;
        if (s_is_space(cp) || cp == 0x200C) { /* white space and ZWNJ: a word boundary */
            pending_space = true;
            continue;
        }
        if (s_is_invisible(cp) || s_is_diacritic(cp))
            continue;
        int dv = hy_fa_digit_value(cp);
        if (dv >= 0)
            cp = (uint32_t)('0' + dv);
        else if (cp >= 'A' && cp <= 'Z')
            cp = cp - 'A' + 'a';
        else
            cp = s_fold_letter(cp);
        if (pending_space && o > 0)
            out[o++] = ' ';
        pending_space = false;
        o += s_utf8_put(out + o, cp);
    }
    out[o] = '\0';
    return out;
}

/* Normalised text without its word boundaries. */
char *hy_fa_key(const char *in)
{
    char *out = hy_fa_normalize(in);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; out[i]; i++)
        if (out[i] != ' ')
            out[o++] = out[i];
    out[o] = '\0';
    return out;
}

/* Normalises once, then cuts the text at its single ASCII spaces. */
int hy_fa_words(const char *in, hy_fa_words_t *w)
{
    memset(w, 0, sizeof *w);
    w->text = hy_fa_normalize(in);
    if (!w->text)
        goto fail;
    size_t n = 0;
    for (char *p = w->text; *p; p++)
        n += (*p != ' ' && (p == w->text || p[-1] == ' '));
    if (n == 0)
        return 0;
    w->word = malloc(n * sizeof *w->word);
    if (!w->word)
        goto fail;
    for (char *p = w->text; *p; p++) {
        if (*p == ' ')
            *p = '\0';
        else if (p == w->text || p[-1] == '\0')
            w->word[w->count++] = p;
    }
    return 0;
fail:
    hy_fa_words_free(w);
    return -1;
}

void hy_fa_words_free(hy_fa_words_t *w)
{
    free(w->word);
    free(w->text);
    memset(w, 0, sizeof *w);
}

/* Digits to ASCII and trimming only; the rest of the text (letters, ZWNJ, inner spaces) is
 * copied byte for byte. */
char *hy_fa_ascii_digits(const char *in)
{
    if (!in)
        return NULL;
    size_t n = strlen(in);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)in;
    size_t i = 0, o = 0, keep = 0; /* keep = output length up to the last non-space */
    while (i < n) {
        uint32_t cp;
        size_t k = hy_fa_utf8_next(p + i, n - i, &cp);
        if (k == 0) {
            free(out);
            return NULL;
        }
        bool space = s_is_space(cp);
        if (space && o == 0) { /* leading white space */
            i += k;
            continue;
        }
        int dv = hy_fa_digit_value(cp);
        if (dv >= 0)
            out[o++] = (char)('0' + dv);
        else {
            memcpy(out + o, in + i, k);
            o += k;
        }
        if (!space)
            keep = o;
        i += k;
    }
    out[keep] = '\0';
    return out;
}

/* ------------------------------------------------------------- IDs and phones ----------- */

/* Collects up to max ASCII digits from in, skipping white space, '-' and invisible marks (a
 * '+' is allowed only before the first digit, and only when plus is non-NULL). Returns the
 * digit count, or -1 for any other character, invalid UTF-8 or more than max digits. */
static int s_collect_digits(const char *in, char *buf, int max, bool *plus)
{
    if (!in)
        return -1;
    const unsigned char *p = (const unsigned char *)in;
    size_t n = strlen(in), i = 0;
    int cnt = 0;
    if (plus)
        *plus = false;
    while (i < n) {
        uint32_t cp;
        size_t k = hy_fa_utf8_next(p + i, n - i, &cp);
        if (k == 0)
            return -1;
        i += k;
        int dv = hy_fa_digit_value(cp);
        if (dv >= 0) {
            if (cnt >= max)
                return -1;
            buf[cnt++] = (char)('0' + dv);
        } else if (cp == '+' && plus && !*plus && cnt == 0) {
            *plus = true;
        } else if (!(s_is_space(cp) || cp == '-' || s_is_invisible(cp))) {
            return -1;
        }
    }
    buf[cnt] = '\0';
    return cnt;
}

/* The check digit rule of DOMAIN.md: weights 10..2 over the first nine digits, mod 11. */
int hy_national_id_normalize(const char *in, char out[11])
{
    char buf[11];
    int cnt = s_collect_digits(in, buf, 10, NULL);
    if (cnt < 8)
        return HY_NID_FORMAT;
    char id[11];
    int pad = 10 - cnt;
    memset(id, '0', (size_t)pad);
    memcpy(id + pad, buf, (size_t)cnt + 1);
    bool all_same = true;
    int sum = 0;
    for (int i = 0; i < 10; i++) {
        if (id[i] != id[0])
            all_same = false;
        if (i < 9)
            sum += (id[i] - '0') * (10 - i);
    }
    int r = sum % 11, check = id[9] - '0';
    if (all_same || (r < 2 ? check != r : check != 11 - r))
        return HY_NID_CHECK;
    memcpy(out, id, 11);
    return HY_NID_OK;
}

/* Reduces every accepted prefix form to the 10 digits "9xxxxxxxxx", then prepends '0'. */
int hy_mobile_normalize(const char *in, char out[12])
{
    char buf[15];
    bool plus;
    int cnt = s_collect_digits(in, buf, 14, &plus);
    const char *core = NULL;
    if (cnt < 0)
        return -1;
    if (plus) {
        if (cnt == 12 && strncmp(buf, "98", 2) == 0)
            core = buf + 2;
    } else if (cnt == 11 && buf[0] == '0') {
        core = buf + 1;
    } else if (cnt == 10) {
        core = buf;
    } else if (cnt == 14 && strncmp(buf, "0098", 4) == 0) {
        core = buf + 4;
    } else if (cnt == 12 && strncmp(buf, "98", 2) == 0) {
        core = buf + 2;
    }
    if (!core || core[0] != '9')
        return -1;
    out[0] = '0';
    memcpy(out + 1, core, 11); /* 10 digits and the NUL */
    return 0;
}
