/*
 * test_fa.c — unit tests for shared/fa.c: the Jalali calendar over its whole range, date text
 * forms, Persian normalisation and UTF-8 validation, national IDs, mobiles and day arithmetic.
 */
#include "fa.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

/* Every Jalali day of 1300..1500 must survive the round trip, advance the Gregorian day
 * number by exactly one, and the months must have the lengths the calendar defines. */
static void jalali_round_trip_all(void)
{
    int gy, gm, gd, jy, jm, jd;
    int64_t prev = 0;
    bool first = true;
    int leaps = 0, failures = 0;
    for (int y = HY_JALALI_MIN_YEAR; y <= HY_JALALI_MAX_YEAR; y++) {
        bool leap = hy_jalali_is_leap(y);
        leaps += leap;
        for (int m = 1; m <= 12; m++) {
            int want = m <= 6 ? 31 : m <= 11 ? 30 : (leap ? 30 : 29);
            CHECK_EQ_INT(hy_jalali_month_length(y, m), want);
            for (int d = 1; d <= want && failures < 10; d++) {
                if (hy_jalali_to_gregorian(y, m, d, &gy, &gm, &gd) != 0) {
                    failures++;
                    CHECK(!"jalali_to_gregorian refused a real day");
                    continue;
                }
                int64_t n = hy_days_from_civil(gy, gm, gd);
                if (!first && n != prev + 1) {
                    failures++;
                    CHECK_EQ_INT(n, prev + 1);
                }
                first = false;
                prev = n;
                if (hy_gregorian_to_jalali(gy, gm, gd, &jy, &jm, &jd) != 0 || jy != y ||
                    jm != m || jd != d) {
                    failures++;
                    CHECK(!"gregorian_to_jalali did not give the same day back");
                }
            }
            /* the day after the month's last is refused */
            CHECK(hy_jalali_to_gregorian(y, m, want + 1, &gy, &gm, &gd) == -1);
        }
    }
    /* about 8 leap years per 33: 201 years hold 48 or 49 */
    CHECK(leaps >= 48 && leaps <= 49);
    /* the whole range is contiguous: first and last day */
    CHECK_EQ_INT(hy_jalali_to_gregorian(1300, 1, 1, &gy, &gm, &gd), 0);
    int64_t lo = hy_days_from_civil(gy, gm, gd);
    CHECK_EQ_INT(prev - lo + 1, 201 * 365 + leaps);
}

/* The dates the header promises, in both directions, and the impossible ones refused. */
static void jalali_known_dates(void)
{
    static const struct {
        int jy, jm, jd, gy, gm, gd;
    } known[] = {
        {1400, 1, 1, 2021, 3, 21},   {1399, 12, 30, 2021, 3, 20}, {1403, 12, 30, 2025, 3, 20},
        {1403, 1, 1, 2024, 3, 20},   {1300, 1, 1, 1921, 3, 21},   {1404, 1, 1, 2025, 3, 21},
        {1400, 6, 29, 2021, 9, 20},  {1404, 12, 29, 2026, 3, 20}, {1357, 11, 22, 1979, 2, 11},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        int a = 0, b = 0, c = 0;
        CHECK_EQ_INT(hy_jalali_to_gregorian(known[i].jy, known[i].jm, known[i].jd, &a, &b, &c), 0);
        CHECK_EQ_INT(a, known[i].gy);
        CHECK_EQ_INT(b, known[i].gm);
        CHECK_EQ_INT(c, known[i].gd);
        a = b = c = 0;
        CHECK_EQ_INT(hy_gregorian_to_jalali(known[i].gy, known[i].gm, known[i].gd, &a, &b, &c), 0);
        CHECK_EQ_INT(a, known[i].jy);
        CHECK_EQ_INT(b, known[i].jm);
        CHECK_EQ_INT(c, known[i].jd);
    }
    CHECK(hy_jalali_is_leap(1399));
    CHECK(hy_jalali_is_leap(1403));
    CHECK(!hy_jalali_is_leap(1400));
    CHECK(!hy_jalali_is_leap(1404));
    CHECK(!hy_jalali_is_leap(1299));
    CHECK(!hy_jalali_is_leap(1501));
    CHECK_EQ_INT(hy_jalali_month_length(1400, 12), 29);
    CHECK_EQ_INT(hy_jalali_month_length(1400, 13), -1);
    CHECK_EQ_INT(hy_jalali_month_length(1501, 1), -1);

    int y, m, d;
    CHECK_EQ_INT(hy_jalali_to_gregorian(1400, 12, 30, &y, &m, &d), -1);
    CHECK_EQ_INT(hy_jalali_to_gregorian(1399, 13, 1, &y, &m, &d), -1);
    CHECK_EQ_INT(hy_jalali_to_gregorian(1299, 12, 29, &y, &m, &d), -1);
    CHECK_EQ_INT(hy_jalali_to_gregorian(1501, 1, 1, &y, &m, &d), -1);
    CHECK_EQ_INT(hy_jalali_to_gregorian(1400, 0, 1, &y, &m, &d), -1);
    CHECK_EQ_INT(hy_jalali_to_gregorian(1400, 1, 0, &y, &m, &d), -1);
    CHECK_EQ_INT(hy_jalali_to_gregorian(1400, 1, 32, &y, &m, &d), -1);
    CHECK_EQ_INT(hy_jalali_to_gregorian(1400, 7, 31, &y, &m, &d), -1);

    /* Gregorian side: just outside the Jalali range, and impossible Gregorian dates */
    CHECK_EQ_INT(hy_gregorian_to_jalali(1921, 3, 20, &y, &m, &d), -1);
    CHECK_EQ_INT(hy_gregorian_to_jalali(1921, 3, 21, &y, &m, &d), 0);
    int ly, lm, ld;
    int last = hy_jalali_month_length(1500, 12);
    CHECK_EQ_INT(hy_jalali_to_gregorian(1500, 12, last, &ly, &lm, &ld), 0);
    CHECK_EQ_INT(hy_gregorian_to_jalali(ly, lm, ld, &y, &m, &d), 0);
    int64_t after = hy_days_from_civil(ly, lm, ld) + 1;
    hy_civil_from_days(after, &ly, &lm, &ld);
    CHECK_EQ_INT(hy_gregorian_to_jalali(ly, lm, ld, &y, &m, &d), -1);
    CHECK_EQ_INT(hy_gregorian_to_jalali(2021, 2, 29, &y, &m, &d), -1);
    CHECK_EQ_INT(hy_gregorian_to_jalali(2021, 13, 1, &y, &m, &d), -1);
    CHECK_EQ_INT(hy_gregorian_to_jalali(2021, 4, 31, &y, &m, &d), -1);
}

/* Parsing and converting the text forms staff type and the API stores. */
static void date_text_forms(void)
{
    int y = 0, m = 0, d = 0;
    char out[11];

    CHECK_EQ_INT(hy_date_parse_jalali("۱۴۰۰/۰۶/۲۹", &y, &m, &d), 0);
    CHECK(y == 1400 && m == 6 && d == 29);
    CHECK_EQ_INT(hy_date_parse_jalali("١٤٠٠/٠٦/٢٩", &y, &m, &d), 0); /* Arabic-Indic */
    CHECK(y == 1400 && m == 6 && d == 29);
    CHECK_EQ_INT(hy_date_parse_jalali("1400-06-29", &y, &m, &d), 0);
    CHECK(y == 1400 && m == 6 && d == 29);
    CHECK_EQ_INT(hy_date_parse_jalali("1400/6/9", &y, &m, &d), 0);
    CHECK(y == 1400 && m == 6 && d == 9);
    CHECK_EQ_INT(hy_date_parse_jalali("1399/12/30", &y, &m, &d), 0);
    CHECK_EQ_INT(hy_date_parse_jalali("1400/12/30", &y, &m, &d), -1);
    CHECK_EQ_INT(hy_date_parse_jalali("1400/6", &y, &m, &d), -1);
    CHECK_EQ_INT(hy_date_parse_jalali("1400/06/29/", &y, &m, &d), -1);
    CHECK_EQ_INT(hy_date_parse_jalali("1400/06-29", &y, &m, &d), -1);
    CHECK_EQ_INT(hy_date_parse_jalali("1400/006/29", &y, &m, &d), -1);
    CHECK_EQ_INT(hy_date_parse_jalali("400/06/29", &y, &m, &d), -1);
    CHECK_EQ_INT(hy_date_parse_jalali("abcd-ef-gh", &y, &m, &d), -1);
    CHECK_EQ_INT(hy_date_parse_jalali("", &y, &m, &d), -1);
    CHECK_EQ_INT(hy_date_parse_jalali(NULL, &y, &m, &d), -1);
    CHECK_EQ_INT(hy_date_parse_jalali("1501/01/01", &y, &m, &d), -1);

    CHECK_EQ_INT(hy_date_parse_iso("2021-03-21", &y, &m, &d), 0);
    CHECK(y == 2021 && m == 3 && d == 21);
    CHECK_EQ_INT(hy_date_parse_iso("۲۰۲۱-۰۳-۲۱", &y, &m, &d), 0);
    CHECK(y == 2021 && m == 3 && d == 21);
    CHECK_EQ_INT(hy_date_parse_iso("2024-02-29", &y, &m, &d), 0);
    CHECK_EQ_INT(hy_date_parse_iso("2000-02-29", &y, &m, &d), 0);
    CHECK_EQ_INT(hy_date_parse_iso("2021-02-29", &y, &m, &d), -1);
    CHECK_EQ_INT(hy_date_parse_iso("1900-02-29", &y, &m, &d), -1);
    CHECK_EQ_INT(hy_date_parse_iso("2021-3-21", &y, &m, &d), -1);
    CHECK_EQ_INT(hy_date_parse_iso("2021/03/21", &y, &m, &d), -1);
    CHECK_EQ_INT(hy_date_parse_iso("abcd-ef-gh", &y, &m, &d), -1);
    CHECK_EQ_INT(hy_date_parse_iso("2021-03-21T00:00", &y, &m, &d), -1);
    CHECK_EQ_INT(hy_date_parse_iso("0000-01-01", &y, &m, &d), -1);
    CHECK_EQ_INT(hy_date_parse_iso("2021-00-10", &y, &m, &d), -1);

    CHECK_EQ_INT(hy_date_jalali_to_iso("۱۴۰۰/۰۶/۲۹", out), 0);
    CHECK_EQ_STR(out, "2021-09-20");
    CHECK_EQ_INT(hy_date_jalali_to_iso("1400/1/1", out), 0);
    CHECK_EQ_STR(out, "2021-03-21");
    CHECK_EQ_INT(hy_date_jalali_to_iso("1400/12/30", out), -1);
    CHECK_EQ_INT(hy_date_iso_to_jalali("2021-09-20", out), 0);
    CHECK_EQ_STR(out, "1400/06/29");
    CHECK_EQ_INT(hy_date_iso_to_jalali("2025-03-20", out), 0);
    CHECK_EQ_STR(out, "1403/12/30");
    CHECK_EQ_INT(hy_date_iso_to_jalali("1900-01-01", out), -1);
    CHECK_EQ_INT(hy_date_iso_to_jalali("2021-02-29", out), -1);
}

/* Normalises a and b and checks both succeed and come out identical. */
static int s_same_key(const char *a, const char *b)
{
    char *x = hy_fa_normalize(a), *y = hy_fa_normalize(b);
    int same = x && y && strcmp(x, y) == 0;
    free(x);
    free(y);
    return same;
}

/* Checks normalize(in) == want. */
static void s_norm_is(const char *in, const char *want)
{
    char *got = hy_fa_normalize(in);
    CHECK_EQ_STR(got, want);
    free(got);
}

/* Spelling variants staff produce must meet on one key; broken UTF-8 must be refused. */
static void fa_normalize(void)
{
    CHECK(s_same_key("علي", "علی"));
    CHECK(s_same_key("كريمي", "کریمی"));
    CHECK(s_same_key("موسى", "موسی")); /* alef maksura */
    CHECK(s_same_key("می\u200cخواهم", "می خواهم")); /* ZWNJ is a word boundary */
    CHECK(s_same_key("\u200fعلی\u200e", "علی")); /* bidi marks */
    CHECK(!s_same_key("علی", "عل"));
    s_norm_is("علي", "علی");
    s_norm_is("مُحَمَّد", "محمد");              /* harakat */
    s_norm_is("محـــمد", "محمد");               /* tatweel */
    s_norm_is("۱۲۳٤٥٦", "123456");
    s_norm_is("  Ali \t\n  Rezaei\u00a0 ", "ali rezaei");
    s_norm_is("a \u200c b", "a b");
    s_norm_is("a\u200c\u200cb", "a b");
    s_norm_is("\u200ca\u200c", "a");
    s_norm_is("\ufeffa\u00adb\u200dc\u2067d", "abcd"); /* BOM, soft hyphen, ZWJ, isolate */
    s_norm_is("فاطمة", "فاطمه"); /* teh marbuta folded to heh */
    s_norm_is("", "");
    s_norm_is("   ", "");
    s_norm_is("ABC xyz 09", "abc xyz 09");

    static const char *bad[] = {"\xff", "\xc0\xaf", "\xed\xa0\x80", "ab\xd8", "\xe2\x80",
                                "\x80", "\xf4\x90\x80\x80", "\xe0\x80\xaf", "a\xf0\x9f\x98"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *r = hy_fa_normalize(bad[i]);
        CHECK(r == NULL);
        free(r);
        r = hy_fa_ascii_digits(bad[i]);
        CHECK(r == NULL);
        free(r);
        CHECK(!hy_utf8_valid(bad[i], strlen(bad[i])));
    }
    CHECK(hy_fa_normalize(NULL) == NULL);
    CHECK(hy_utf8_valid("", 0));
    CHECK(hy_utf8_valid("علی 😀 abc", strlen("علی 😀 abc")));
    CHECK(hy_utf8_valid("\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */
    CHECK(!hy_utf8_valid("a\0b", 3));             /* embedded NUL */
    CHECK(!hy_utf8_valid(NULL, 0));

    char *r = hy_fa_ascii_digits("  کد ۱۲۳ می\u200cشود ٤٥  ");
    CHECK_EQ_STR(r, "کد 123 می\u200cشود 45");
    free(r);
}

/* One character class: every variant in from[] normalises to want, alone and inside a word,
 * and want itself is left as it is (so the pair meets in both directions). */
static void s_class(const char *const *from, size_t n, const char *want)
{
    char a[64], b[64];
    for (size_t i = 0; i < n; i++) {
        s_norm_is(from[i], want);
        snprintf(a, sizeof a, "ب%sب", from[i]);
        snprintf(b, sizeof b, "ب%sب", want);
        CHECK(s_same_key(a, b));
        CHECK(s_same_key(b, a));
    }
    s_norm_is(want, want);
}

#define S_CLASS(want, ...)                                                             \
    do {                                                                               \
        static const char *const from_[] = {__VA_ARGS__};                              \
        s_class(from_, sizeof from_ / sizeof from_[0], want);                          \
    } while (0)

/* Every character class the registry's matching needs (issue 17, Registry item 2). */
static void fa_character_classes(void)
{
    S_CLASS("ه", "\u0629", "\u06C0");               /* ة teh marbuta, ۀ heh with yeh above */
    S_CLASS("ی", "\u0626", "\u064A", "\u0649");     /* ئ ي ى */
    S_CLASS("ک", "\u0643");                         /* ك */
    S_CLASS("ا", "\u0623", "\u0625", "\u0622", "\u0671"); /* أ إ آ ٱ */
    S_CLASS("و", "\u0624");                         /* ؤ */
    S_CLASS("", "\u0640");                          /* tatweel */
    S_CLASS("", "\u200F", "\u200E", "\u200D", "\uFEFF", "\u00AD"); /* RLM LRM ZWJ BOM SHY */
    /* every diacritic: harakat U+064B..U+065F and the superscript alef U+0670 */
    char buf[16];
    for (uint32_t cp = 0x064B; cp <= 0x0670; cp++) {
        if (cp > 0x065F && cp != 0x0670)
            continue;
        buf[0] = (char)0xD8;  /* 'ب' = D8 A8 */
        buf[1] = (char)0xA8;
        buf[2] = (char)(0xC0 | (cp >> 6));
        buf[3] = (char)(0x80 | (cp & 0x3F));
        buf[4] = '\0';
        s_norm_is(buf, "ب");
    }
    /* digits: Persian and Arabic-Indic, each value */
    for (int d = 0; d < 10; d++) {
        char fa[4], ar[4], want[2] = {(char)('0' + d), 0};
        uint32_t f = 0x06F0 + (uint32_t)d, r = 0x0660 + (uint32_t)d;
        fa[0] = (char)(0xC0 | (f >> 6)), fa[1] = (char)(0x80 | (f & 0x3F)), fa[2] = 0;
        ar[0] = (char)(0xC0 | (r >> 6)), ar[1] = (char)(0x80 | (r & 0x3F)), ar[2] = 0;
        s_norm_is(fa, want);
        s_norm_is(ar, want);
    }
    /* ZWNJ and white space: one word boundary however many and in whatever mix */
    s_norm_is("فاطمه\u200cزهرا", "فاطمه زهرا");
    s_norm_is("فاطمه \u200c زهرا", "فاطمه زهرا");
    s_norm_is("فاطمه\u200c\u00a0\u200cزهرا", "فاطمه زهرا");
    s_norm_is("فاطمه\u200dزهرا", "فاطمهزهرا"); /* ZWJ is no boundary: it is dropped */
}

/* The pairs named in the issue meet on one normalised form, in both directions. */
static void fa_issue_pairs(void)
{
    static const char *const pairs[][2] = {
        {"رضایی", "رضائی"}, {"فاطمه", "فاطمة"}, {"آمنه", "امنه"},
        {"دولت\u200cآباد", "دولت آباد"}, {"علی", "علي"}, {"کریمی", "كريمي"},
        {"موسی", "موسى"}, {"مؤمنی", "مومنی"}, {"أحمد", "احمد"}, {"إسماعیل", "اسماعیل"},
        {"مُحَمَّد", "محمد"}, {"محـــمد", "محمد"}, {"۱۴۰۳", "1403"}, {"١٤٠٣", "1403"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        if (!s_same_key(pairs[i][0], pairs[i][1]) || !s_same_key(pairs[i][1], pairs[i][0]))
            fprintf(stderr, "  pair %zu differs: %s / %s\n", i, pairs[i][0], pairs[i][1]);
        CHECK(s_same_key(pairs[i][0], pairs[i][1]));
        CHECK(s_same_key(pairs[i][1], pairs[i][0]));
    }
}

/* Splits in into words and checks them against want (NULL-terminated). */
static void s_words_are(const char *in, const char *const *want)
{
    hy_fa_words_t w;
    CHECK_EQ_INT(hy_fa_words(in, &w), 0);
    size_t n = 0;
    while (want[n])
        n++;
    CHECK_EQ_INT(w.count, n);
    for (size_t i = 0; i < n && i < w.count; i++)
        CHECK_EQ_STR(w.word[i], want[i]);
    hy_fa_words_free(&w);
    hy_fa_words_free(&w); /* safe twice */
}

/* Each part of a ZWNJ or space compound is its own normalised word. */
static void fa_words(void)
{
    static const char *const w1[] = {"فاطمه", "زهرا", NULL};
    s_words_are("فاطمه\u200cزهرا", w1);
    s_words_are("  فاطمة  زهرا ", w1);
    static const char *const w2[] = {"محمدی", "نژاد", "رضایی", NULL};
    s_words_are("محمدی\u200cنژاد رضائی", w2);
    static const char *const w3[] = {NULL};
    s_words_are("", w3);
    s_words_are(" \u200c\t ", w3);
    static const char *const w4[] = {"دولت", "اباد", NULL};
    s_words_are("دولت\u200cآباد", w4);
    hy_fa_words_t w;
    CHECK_EQ_INT(hy_fa_words("ab\xff", &w), -1);
    CHECK(w.word == NULL && w.count == 0);
    CHECK_EQ_INT(hy_fa_words(NULL, &w), -1);
}

/* Checks key(a) == key(b), both succeeding. */
static int s_same_group(const char *a, const char *b)
{
    char *x = hy_fa_key(a), *y = hy_fa_key(b);
    int same = x && y && strcmp(x, y) == 0;
    free(x);
    free(y);
    return same;
}

/* The grouping key: spelling and word boundaries (ZWNJ, space, none) do not split a group. */
static void fa_key(void)
{
    CHECK(s_same_group("دولت\u200cآباد", "دولت آباد"));
    CHECK(s_same_group("دولت آباد", "دولت\u200cآباد"));
    CHECK(s_same_group("دولت\u200cآباد", "دولتآباد"));
    CHECK(s_same_group("دولتآباد", "دولت  آباد"));
    CHECK(s_same_group("شهرری", "شهرري"));
    CHECK(s_same_group("Hood-C", "hood-c"));
    CHECK(s_same_group("دفتر ری ۱", "دفتر  ري 1"));
    CHECK(!s_same_group("دولت آباد", "دولت آبادی"));
    char *k = hy_fa_key(" دولت\u200cآباد ");
    CHECK_EQ_STR(k, "دولتاباد");
    free(k);
    k = hy_fa_key("");
    CHECK_EQ_STR(k, "");
    free(k);
    CHECK(hy_fa_key("\xff") == NULL);
    CHECK(hy_fa_key(NULL) == NULL);
}

/* Jalali months as the fund bills them: parsing "1403/10", the month of a date, adding months
 * with the day clamped, and ages counted by the Solar Hijri calendar. */
static void jalali_months(void)
{
    int y = 0, m = 0, d = 0;
    CHECK_EQ_INT(hy_month_parse_jalali("1403/10", &y, &m), 0);
    CHECK(y == 1403 && m == 10);
    CHECK_EQ_INT(hy_month_parse_jalali("۱۴۰۳/۰۱", &y, &m), 0);
    CHECK(y == 1403 && m == 1);
    CHECK_EQ_INT(hy_month_parse_jalali("1403-9", &y, &m), 0);
    CHECK(y == 1403 && m == 9);
    CHECK_EQ_INT(hy_month_parse_jalali("١٤٠٣/١٢", &y, &m), 0);
    CHECK(y == 1403 && m == 12);
    static const char *bad[] = {"1403/13", "1403/00", "1403", "1403/10/01", "403/10", "1403/",
                                "1403/10-", "2025-01", "1501/01", "abcd/ef", "", "1403/100"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (hy_month_parse_jalali(bad[i], &y, &m) != -1)
            fprintf(stderr, "  accepted month \"%s\"\n", bad[i]);
        CHECK_EQ_INT(hy_month_parse_jalali(bad[i], &y, &m), -1);
    }
    CHECK_EQ_INT(hy_month_parse_jalali(NULL, &y, &m), -1);

    /* the month of a date: 1403/10/01 = 2024-12-21 and 1403/10/26 = 2025-01-15 share it */
    CHECK_EQ_INT(hy_jalali_month_of("2024-12-21", &y, &m), 0);
    CHECK(y == 1403 && m == 10);
    CHECK_EQ_INT(hy_jalali_month_of("2025-01-15", &y, &m), 0);
    CHECK(y == 1403 && m == 10);
    CHECK_EQ_INT(hy_jalali_month_of("2024-12-20", &y, &m), 0); /* the last day of Azar */
    CHECK(y == 1403 && m == 9);
    CHECK_EQ_INT(hy_jalali_month_of("2025-03-21", &y, &m), 0); /* Nowruz 1404 */
    CHECK(y == 1404 && m == 1);
    CHECK_EQ_INT(hy_jalali_month_of("2025-02-30", &y, &m), -1);

    /* adding months: across the year, backwards, and the day clamped to the month's length */
    CHECK_EQ_INT(hy_jalali_add_months(1403, 10, 26, 3, &y, &m, &d), 0);
    CHECK(y == 1404 && m == 1 && d == 26);
    CHECK_EQ_INT(hy_jalali_add_months(1403, 10, 1, -3, &y, &m, &d), 0);
    CHECK(y == 1403 && m == 7 && d == 1);
    CHECK_EQ_INT(hy_jalali_add_months(1403, 2, 15, -3, &y, &m, &d), 0);
    CHECK(y == 1402 && m == 11 && d == 15);
    CHECK_EQ_INT(hy_jalali_add_months(1403, 6, 31, 1, &y, &m, &d), 0); /* Mehr has 30 */
    CHECK(y == 1403 && m == 7 && d == 30);
    CHECK_EQ_INT(hy_jalali_add_months(1403, 11, 30, 1, &y, &m, &d), 0); /* Esfand 1403: 30 */
    CHECK(y == 1403 && m == 12 && d == 30);
    CHECK_EQ_INT(hy_jalali_add_months(1404, 11, 30, 1, &y, &m, &d), 0); /* Esfand 1404: 29 */
    CHECK(y == 1404 && m == 12 && d == 29);
    CHECK_EQ_INT(hy_jalali_add_months(1403, 1, 1, 24, &y, &m, &d), 0);
    CHECK(y == 1405 && m == 1 && d == 1);
    CHECK_EQ_INT(hy_jalali_add_months(1403, 1, 1, 0, &y, &m, &d), 0);
    CHECK(y == 1403 && m == 1 && d == 1);
    CHECK_EQ_INT(hy_jalali_add_months(1500, 12, 1, 1, &y, &m, &d), -1);
    CHECK_EQ_INT(hy_jalali_add_months(1300, 1, 1, -1, &y, &m, &d), -1);
    CHECK_EQ_INT(hy_jalali_add_months(1403, 13, 1, 1, &y, &m, &d), -1);

    /* ages by the Solar Hijri calendar: born 1352/10/26 (1974-01-16) is 51 on 1403/10/26
     * (2025-01-15), although by the Gregorian calendar she is 50 until the next day */
    CHECK_EQ_INT(hy_age_on("1974-01-16", "2025-01-15"), 50);
    CHECK_EQ_INT(hy_age_on_jalali("1974-01-16", "2025-01-15"), 51);
    CHECK_EQ_INT(hy_age_on_jalali("1974-01-16", "2025-01-14"), 50); /* 1403/10/25 */
    CHECK_EQ_INT(hy_age_on_jalali("1974-01-16", "1974-01-16"), 0);
    /* born on 30 Esfand of a leap year: a year older from 1 Farvardin in common years */
    char born[11], on[11];
    CHECK_EQ_INT(hy_date_jalali_to_iso("1399/12/30", born), 0);
    CHECK_EQ_INT(hy_date_jalali_to_iso("1400/12/29", on), 0);
    CHECK_EQ_INT(hy_age_on_jalali(born, on), 0);
    CHECK_EQ_INT(hy_date_jalali_to_iso("1401/01/01", on), 0);
    CHECK_EQ_INT(hy_age_on_jalali(born, on), 1);
    CHECK_EQ_INT(hy_date_jalali_to_iso("1403/12/30", on), 0);
    CHECK_EQ_INT(hy_age_on_jalali(born, on), 4);
    CHECK_EQ_INT(hy_age_on_jalali("2025-01-15", "2025-01-14"), -1);
    CHECK_EQ_INT(hy_age_on_jalali("1900-01-01", "2025-01-14"), -1); /* before 1300 */
    CHECK_EQ_INT(hy_age_on_jalali("garbage", "2025-01-14"), -1);
}

/* Builds a valid 10-digit ID from nine digits by computing the check digit. */
static void s_make_nid(const char *nine, char out[11])
{
    int s = 0;
    for (int i = 0; i < 9; i++)
        s += (nine[i] - '0') * (10 - i);
    int r = s % 11;
    memcpy(out, nine, 9);
    out[9] = (char)('0' + (r < 2 ? r : 11 - r));
    out[10] = '\0';
}

/* Valid IDs in every accepted spelling, and each way an ID can be wrong. */
static void national_id(void)
{
    char out[11], id[11], alt[32];
    static const char *bases[] = {"001234567", "123456789", "006811540", "498765432",
                                  "000000123", "555555554"};
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        s_make_nid(bases[i], id);
        memset(out, 0, sizeof out);
        CHECK_EQ_INT(hy_national_id_normalize(id, out), HY_NID_OK);
        CHECK_EQ_STR(out, id);
        /* every other last digit is a check failure */
        strcpy(alt, id);
        alt[9] = (char)('0' + (id[9] - '0' + 1) % 10);
        CHECK_EQ_INT(hy_national_id_normalize(alt, out), HY_NID_CHECK);
    }
    /* 001234567x: 0*10+0*9+1*8+2*7+3*6+4*5+5*4+6*3+7*2 = 112, r = 2, check = 9 */
    s_make_nid("001234567", id);
    CHECK_EQ_STR(id, "0012345679");
    CHECK_EQ_INT(hy_national_id_normalize("0012345679", out), HY_NID_OK);
    CHECK_EQ_INT(hy_national_id_normalize("012345679", out), HY_NID_OK); /* 9 digits */
    CHECK_EQ_STR(out, "0012345679");
    CHECK_EQ_INT(hy_national_id_normalize("12345679", out), HY_NID_OK); /* 8 digits */
    CHECK_EQ_STR(out, "0012345679");
    CHECK_EQ_INT(hy_national_id_normalize("۰۰۱۲۳۴۵۶۷۹", out), HY_NID_OK);
    CHECK_EQ_STR(out, "0012345679");
    CHECK_EQ_INT(hy_national_id_normalize("٠٠١٢٣٤٥٦٧٩", out), HY_NID_OK);
    CHECK_EQ_INT(hy_national_id_normalize("001-234567-9", out), HY_NID_OK);
    CHECK_EQ_STR(out, "0012345679");
    CHECK_EQ_INT(hy_national_id_normalize(" 001 234 5679 ", out), HY_NID_OK);
    CHECK_EQ_INT(hy_national_id_normalize("0012345678", out), HY_NID_CHECK);

    CHECK_EQ_INT(hy_national_id_normalize("1111111111", out), HY_NID_CHECK);
    CHECK_EQ_INT(hy_national_id_normalize("0000000000", out), HY_NID_CHECK);
    CHECK_EQ_INT(hy_national_id_normalize("00123456790", out), HY_NID_FORMAT); /* 11 */
    CHECK_EQ_INT(hy_national_id_normalize("1234567", out), HY_NID_FORMAT);     /* 7 */
    CHECK_EQ_INT(hy_national_id_normalize("00123456a9", out), HY_NID_FORMAT);
    CHECK_EQ_INT(hy_national_id_normalize("abcdefghij", out), HY_NID_FORMAT);
    CHECK_EQ_INT(hy_national_id_normalize("", out), HY_NID_FORMAT);
    CHECK_EQ_INT(hy_national_id_normalize("  - ", out), HY_NID_FORMAT);
    CHECK_EQ_INT(hy_national_id_normalize(NULL, out), HY_NID_FORMAT);
    CHECK_EQ_INT(hy_national_id_normalize("+0012345679", out), HY_NID_FORMAT);
    CHECK_EQ_INT(hy_national_id_normalize("0012345679\xff", out), HY_NID_FORMAT);
}

/* Every accepted way of writing one mobile, and numbers that are not Iranian mobiles. */
static void mobile(void)
{
    static const char *ok[] = {
        "09121234567",   "9121234567",     "+989121234567",      "00989121234567",
        "989121234567",  "۰۹۱۲۱۲۳۴۵۶۷",    "٠٩١٢١٢٣٤٥٦٧",        "0912 123 4567",
        "0912-123-4567", "+98 912 123 4567", " +98-912-123-45-67 ", "۰۰۹۸ ۹۱۲ ۱۲۳ ۴۵۶۷",
    };
    char out[12];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        memset(out, 0, sizeof out);
        int rc = hy_mobile_normalize(ok[i], out);
        if (rc != 0)
            fprintf(stderr, "  refused: \"%s\"\n", ok[i]);
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_STR(out, "09121234567");
    }
    CHECK_EQ_INT(hy_mobile_normalize("09901234567", out), 0);
    CHECK_EQ_STR(out, "09901234567");

    static const char *bad[] = {
        "02112345678", "0912123456",     "091212345678", "08121234567",  "8121234567",
        "",            "+09121234567",   "+9121234567",  "9809121234567", "00981234567890",
        "0912123456a", "09121234567+",   "9+121234567",  "++989121234567", "0098812123456",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = hy_mobile_normalize(bad[i], out);
        if (rc != -1)
            fprintf(stderr, "  accepted: \"%s\"\n", bad[i]);
        CHECK_EQ_INT(rc, -1);
    }
    CHECK_EQ_INT(hy_mobile_normalize(NULL, out), -1);
}

/* Ages on and around birthdays, the day-number round trip and Tehran's midnight. */
static void days_age_today(void)
{
    CHECK_EQ_INT(hy_age_on("2000-05-10", "2020-05-10"), 20);
    CHECK_EQ_INT(hy_age_on("2000-05-10", "2020-05-09"), 19);
    CHECK_EQ_INT(hy_age_on("2000-05-10", "2000-05-10"), 0);
    CHECK_EQ_INT(hy_age_on("2000-12-31", "2001-01-01"), 0);
    CHECK_EQ_INT(hy_age_on("2000-02-29", "2021-02-28"), 20);
    CHECK_EQ_INT(hy_age_on("2000-02-29", "2021-03-01"), 21);
    CHECK_EQ_INT(hy_age_on("2000-02-29", "2024-02-29"), 24);
    CHECK_EQ_INT(hy_age_on("2000-05-10", "1999-05-10"), -1);
    CHECK_EQ_INT(hy_age_on("2000-02-30", "2020-05-10"), -1);
    CHECK_EQ_INT(hy_age_on("2000-05-10", "garbage"), -1);

    CHECK_EQ_INT(hy_days_from_civil(1970, 1, 1), 0);
    CHECK_EQ_INT(hy_days_from_civil(1970, 1, 2), 1);
    CHECK_EQ_INT(hy_days_from_civil(1969, 12, 31), -1);
    CHECK_EQ_INT(hy_days_from_civil(2000, 3, 1), 11017);
    CHECK_EQ_INT(hy_days_from_civil(2021, 3, 21), 18707);
    CHECK_EQ_INT(hy_days_from_civil(1, 1, 1), -719162);
    int y, m, d;
    hy_civil_from_days(0, &y, &m, &d);
    CHECK(y == 1970 && m == 1 && d == 1);
    hy_civil_from_days(-1, &y, &m, &d);
    CHECK(y == 1969 && m == 12 && d == 31);
    int64_t lo = hy_days_from_civil(1, 1, 1), hi = hy_days_from_civil(9999, 12, 31);
    int64_t prev = lo - 1;
    int bad = 0;
    for (int64_t n = lo; n <= hi && bad < 5; n += 7) {
        hy_civil_from_days(n, &y, &m, &d);
        int64_t back = hy_days_from_civil(y, m, d);
        if (back != n || back <= prev) {
            bad++;
            CHECK_EQ_INT(back, n);
        }
        prev = back;
    }
    /* every day across a few leap-year boundaries */
    for (int64_t n = hy_days_from_civil(1899, 1, 1); n < hy_days_from_civil(2102, 1, 1); n++) {
        hy_civil_from_days(n, &y, &m, &d);
        if (hy_days_from_civil(y, m, d) != n && bad++ < 5)
            CHECK(!"civil round trip");
    }

    char out[11];
    hy_date_today(1616274000, out); /* 2021-03-20T21:00:00Z = 00:30 in Tehran */
    CHECK_EQ_STR(out, "2021-03-21");
    hy_date_today(1616274000 - 1801, out); /* 20:29:59Z = 23:59:59 in Tehran */
    CHECK_EQ_STR(out, "2021-03-20");
    hy_date_today(1616274000 - 1800, out); /* 20:30:00Z = 00:00:00 in Tehran */
    CHECK_EQ_STR(out, "2021-03-21");
    hy_date_today(0, out);
    CHECK_EQ_STR(out, "1970-01-01");
    hy_date_today(-12601, out); /* 1969-12-31T20:29:59Z */
    CHECK_EQ_STR(out, "1969-12-31");
    hy_date_today(INT64_MAX, out);
    CHECK_EQ_STR(out, "9999-12-31");
    hy_date_today(INT64_MIN, out);
    CHECK_EQ_STR(out, "0001-01-01");
}

const hy_test_t fa_tests[] = {
    {"fa.jalali_round_trip_all", jalali_round_trip_all},
    {"fa.jalali_known_dates", jalali_known_dates},
    {"fa.date_text_forms", date_text_forms},
    {"fa.normalize", fa_normalize},
    {"fa.character_classes", fa_character_classes},
    {"fa.issue_pairs", fa_issue_pairs},
    {"fa.words", fa_words},
    {"fa.key", fa_key},
    {"fa.jalali_months", jalali_months},
    {"fa.national_id", national_id},
    {"fa.mobile", mobile},
    {"fa.days_age_today", days_age_today},
    {0},
};
