/*
 * fa.h — Persian text, the Solar Hijri (Jalali) calendar, Iranian national IDs and mobiles.
 *
 * Everything a service needs to accept what staff type (Persian or Arabic letters and digits,
 * zero-width non-joiners, Jalali dates) and store one canonical form (normalised UTF-8,
 * ISO-8601 Gregorian dates, 10-digit national IDs, 09xxxxxxxxx mobiles). Pure functions, no I/O.
 *
 * The Jalali conversion is exact for years 1300..1500 (Gregorian 1921..2122) and uses the
 * astronomical leap rule as tabulated by the 'breaks' algorithm (so 1399 and 1403 are leap
 * years, 1400 and 1404 are not). Out-of-range years are refused with -1.
 */
#ifndef HY_FA_H
#define HY_FA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HY_JALALI_MIN_YEAR 1300
#define HY_JALALI_MAX_YEAR 1500

/* Normalises Persian text for matching and storage of search keys. Letters: Arabic yeh, alef
 * maksura and yeh with hamza (ي ى ئ) to Persian yeh (ی), Arabic kaf (ك) to keheh (ک), teh
 * marbuta (ة) and heh with yeh above (ۀ) to heh (ه), alef with hamza or madda and alef wasla
 * (أ إ آ ٱ) to alef (ا), waw with hamza (ؤ) to waw (و); Persian (۰-۹) and Arabic-Indic (٠-٩)
 * digits to ASCII; diacritics (harakat U+064B..U+065F, U+0670) and tatweel (U+0640) removed;
 * ZWJ and other zero-width/bidi marks removed. Word boundaries: every run of white space (incl.
 * NBSP) and zero-width non-joiners (U+200C) becomes one ASCII space, so "فاطمه‌زهرا" and
 * "فاطمه زهرا" are both "فاطمه زهرا"; the result is trimmed. ASCII letters are lower-cased.
 * Returns a newly allocated string the caller frees, or NULL when in is NULL or not valid UTF-8,
 * or on allocation failure. */
char *hy_fa_normalize(const char *in);

/* The grouping key of a name (neighbourhood, office, agency): hy_fa_normalize with the word
 * boundaries removed, so "دولت‌آباد", "دولت آباد" and "دولتآباد" share one key. Returns a new
 * string the caller frees ("" for blank text), or NULL as hy_fa_normalize. */
char *hy_fa_key(const char *in);

/* The words of a text, each normalised: the parts of a ZWNJ or space compound are separate words
 * ("فاطمه‌زهرا" gives "فاطمه" and "زهرا"), so each part can be indexed and searched. word[i]
 * points into text; all of it is owned by the struct and freed by hy_fa_words_free. */
typedef struct {
    char *text;   /* the normalised text, split in place */
    char **word;  /* count pointers into text; NULL when count is 0 */
    size_t count;
} hy_fa_words_t;

/* Fills w (always initialised, also on failure). 0, or -1 when in is NULL, not valid UTF-8, or
 * on allocation failure. */
int hy_fa_words(const char *in, hy_fa_words_t *w);
/* Frees what hy_fa_words allocated and zeroes w; safe to call twice. */
void hy_fa_words_free(hy_fa_words_t *w);

/* Converts only the digits (Persian and Arabic-Indic to ASCII) and trims; everything else kept.
 * Returns a new string the caller frees, or NULL for invalid UTF-8. */
char *hy_fa_ascii_digits(const char *in);

/* true when s (NUL-terminated) is valid UTF-8 with no overlong forms and no surrogates. */
bool hy_utf8_valid(const char *s, size_t len);

/* Jalali calendar. Return 0, or -1 for an impossible date or a year out of range. */
bool hy_jalali_is_leap(int jy);                   /* jy in range */
int  hy_jalali_month_length(int jy, int jm);      /* 29..31, or -1 */
int  hy_jalali_to_gregorian(int jy, int jm, int jd, int *gy, int *gm, int *gd);
int  hy_gregorian_to_jalali(int gy, int gm, int gd, int *jy, int *jm, int *jd);

/* Days since 1970-01-01 for a Gregorian date (proleptic), and back. For date arithmetic
 * (days past due, ages). hy_days_from_civil is valid for any year 1..9999. */
int64_t hy_days_from_civil(int y, int m, int d);
void    hy_civil_from_days(int64_t days, int *y, int *m, int *d);

/* Parses "YYYY-MM-DD" (ASCII or Persian digits); checks the date exists. 0 or -1. */
int hy_date_parse_iso(const char *s, int *y, int *m, int *d);
/* Parses a Jalali date "1400/06/29" (also "1400-06-29", 1-digit month/day, Persian digits);
 * checks it exists. 0 or -1. */
int hy_date_parse_jalali(const char *s, int *y, int *m, int *d);

/* Converts between text forms. out must hold 11 bytes. 0 or -1. */
int hy_date_jalali_to_iso(const char *jalali, char out[11]);
int hy_date_iso_to_jalali(const char *iso, char out[11]);

/* Today's date (UTC+03:30, Tehran) as "YYYY-MM-DD" for the Unix time t. out holds 11 bytes. */
void hy_date_today(int64_t t, char out[11]);

/* Full years between birth and on (both "YYYY-MM-DD"); -1 on a bad date. */
int hy_age_on(const char *birth_iso, const char *on_iso);
/* The same counted by the Solar Hijri calendar, as Iranian offices do: a year older on the
 * Jalali birthday (born 30 Esfand: on 1 Farvardin in common years). -1 on a bad date or one
 * outside the Jalali range. */
int hy_age_on_jalali(const char *birth_iso, const char *on_iso);

/* Jalali months (the fund bills by them). Parses "1403/10" (also "1403-10", a one-digit
 * month, Persian or Arabic digits): 0, or -1 when malformed or the year is out of range. */
int hy_month_parse_jalali(const char *s, int *jy, int *jm);
/* The Jalali month holding the ISO date: 0, or -1 for a bad date. */
int hy_jalali_month_of(const char *iso, int *jy, int *jm);
/* Adds months (negative to go back) to a Jalali date; a day past the new month's end becomes
 * its last day. 0, or -1 for an impossible date or a result out of range. */
int hy_jalali_add_months(int jy, int jm, int jd, int months, int *oy, int *om, int *od);

/* National ID (کد ملی). Accepts ASCII or Persian/Arabic digits, with or without '-' or spaces;
 * on success writes the 10 ASCII digits into out (11 bytes) and returns 0. Returns
 * HY_NID_FORMAT when it is not 10 digits (8 or 9 digits are left-padded with zeros, as issued),
 * HY_NID_CHECK when the check digit is wrong or all digits are equal. */
enum { HY_NID_OK = 0, HY_NID_FORMAT = -1, HY_NID_CHECK = -2 };
int hy_national_id_normalize(const char *in, char out[11]);

/* Iranian mobile. Accepts 09xxxxxxxxx, 9xxxxxxxxx, +989xxxxxxxxx, 00989xxxxxxxxx, 989xxxxxxxxx,
 * Persian/Arabic digits, spaces and dashes; writes "09xxxxxxxxx" into out (12 bytes).
 * Returns 0, or -1 when it is not an Iranian mobile number. */
int hy_mobile_normalize(const char *in, char out[12]);

#endif
