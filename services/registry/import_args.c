/*
 * import_args.c — one row of an agency's list as the arguments of POST /v1/persons.
 *
 * Lists say things the way their clerks typed them: Persian or Arabic digits, Jalali dates as
 * 1362/3/5 or ۱۳۶۲-۰۳-۰۵, "زن"/"مرد" for sex, "بله"/"خیر" for yes and no. This turns them into
 * what the persons.create spec accepts; anything it cannot read is passed on as it is, so the
 * spec or the domain rules refuse it with the code and field the API would answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "registry_import.h"

/* true/false for the yes/no words agencies use; -1 when the word is neither. */
static int s_yes_no(const char *text)
{
    /* written in their hy_fa_key form (Persian letters, no alef madda, lower case) */
    static const char *const yes[] = {"بله", "بلی", "اری", "هست", "دارد", "yes", "y", "true", "1",
                                      "سرپرست"};
    static const char *const no[] = {"خیر", "نه", "نیست", "ندارد", "no", "n", "false", "0"};
    char *k = hy_fa_key(text);
    int r = -1;
    for (size_t i = 0; k && r < 0 && i < sizeof yes / sizeof yes[0]; i++)
        r = strcmp(yes[i], k) == 0 ? 1 : -1;
    for (size_t i = 0; k && r < 0 && i < sizeof no / sizeof no[0]; i++)
        r = strcmp(no[i], k) == 0 ? 0 : -1;
    free(k);
    return r;
}

static const char *s_sex(const char *text)
{
    /* written in their hy_fa_key form, as s_yes_no's */
    static const char *const female[] = {"زن", "خانم", "مونث", "female", "f"};
    static const char *const male[] = {"مرد", "اقا", "مذکر", "male", "m"};
    char *k = hy_fa_key(text);
    const char *r = NULL;
    for (size_t i = 0; k && !r && i < 5; i++)
        r = strcmp(female[i], k) == 0 ? "female" : strcmp(male[i], k) == 0 ? "male" : NULL;
    free(k);
    return r;
}

/* A birth date into args: Jalali (year < 1700) as birth_date_jalali "Y/MM/DD", Gregorian as
 * birth_date; anything else as birth_date_jalali for the spec to refuse. */
static void s_date(json_t *args, const char *text)
{
    char *ascii = hy_fa_ascii_digits(text);
    int y, m, d;
    char sep[2][4];
    char out[32];
    if (ascii && sscanf(ascii, "%d%3[/.-]%d%3[/.-]%d", &y, sep[0], &m, sep[1], &d) == 5 &&
        y > 0 && m > 0 && d > 0 && y < 10000 && m < 100 && d < 100) {
        if (y < 1700) {
            snprintf(out, sizeof out, "%04d/%02d/%02d", y, m, d);
            json_object_set_new(args, "birth_date_jalali", json_string(out));
        } else {
            snprintf(out, sizeof out, "%04d-%02d-%02d", y, m, d);
            json_object_set_new(args, "birth_date", json_string(out));
        }
    } else {
        json_object_set_new(args, "birth_date_jalali", json_string(ascii ? ascii : text));
    }
    free(ascii);
}

/* One input member into args: text (value, when given, the same text as a JSON string). */
static void s_arg(json_t *args, const char *key, const char *text, json_t *value)
{
    if (strcmp(key, "birth_date") == 0) {
        s_date(args, text);
    } else if (strcmp(key, "sex") == 0) {
        const char *sex = s_sex(text);
        json_object_set_new(args, key, json_string(sex ? sex : text));
    } else if (strcmp(key, "household_size") == 0) {
        char *ascii = hy_fa_ascii_digits(text), *end = NULL;
        long v = ascii ? strtol(ascii, &end, 10) : 0;
        json_object_set_new(args, key, ascii && *ascii && end && !*end ? json_integer(v)
                                                                       : json_string(text));
        free(ascii);
    } else if (strcmp(key, "head_of_household") == 0 || strcmp(key, "disability") == 0) {
        int yn = s_yes_no(text);
        json_object_set_new(args, key, yn < 0 ? json_string(text) : json_boolean(yn));
    } else if (value) {
        json_object_set(args, key, value);
    } else {
        json_object_set_new(args, key, json_string(text));
    }
}

/* What every row's arguments get from its import: office, registration date, the referral. */
static json_t *s_finish(json_t *args, const char *agency_name, const char *date,
                        const char *office)
{
    json_object_set_new(args, "office", json_string(office));
    json_object_set_new(args, "registered_on", json_string(date));
    json_object_set_new(args, "referral",
                        json_pack("{s:s,s:s,s:s}", "source", "agency", "agency", agency_name,
                                  "date", date));
    return args;
}

json_t *registry_import_args(const json_t *in, const char *agency_name, const char *date,
                             const char *office)
{
    json_t *args = json_object();
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)in, key, value) {
        const char *text = json_string_value(value);
        if (text)
            s_arg(args, key, text, value);
    }
    return s_finish(args, agency_name, date, office);
}

/* A string literal at *p with no escape and no control character in it: its bytes (between the
 * quotes) and *p moved past it; NULL when *p is not such a literal. */
static const char *s_plain_string(const char **p, const char *end, size_t *len)
{
    const char *q = *p;
    if (q >= end || *q != '"')
        return NULL;
    const char *start = ++q;
    while (q < end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
        q++;
    if (q >= end || *q != '"')
        return NULL;
    *len = (size_t)(q - start);
    *p = q + 1;
    return start;
}

#define MAX_INPUTS 32   /* columns a row's input can hold (registry_import_column's fields) */

/* The "in" object at *p fed to args member by member; *p moved past it. 0, or -1. */
static int s_plain_inputs(json_t *args, const char **p, const char *end)
{
    char key[64], seen[MAX_INPUTS][64];
    int nseen = 0;
    const char *q = *p;
    if (q >= end || *q++ != '{')
        return -1;
    if (q < end && *q == '}') {
        *p = q + 1;
        return 0;
    }
    for (;;) {
        size_t klen, vlen;
        const char *k = s_plain_string(&q, end, &klen);
        if (!k || klen >= sizeof key || q >= end || *q++ != ':')
            return -1;
        const char *v = s_plain_string(&q, end, &vlen);
        if (!v || !hy_utf8_valid(v, vlen) || nseen == MAX_INPUTS)
            return -1;
        memcpy(key, k, klen);
        key[klen] = '\0';
        for (int i = 0; i < nseen; i++)   /* a key twice: left to the decoder's rule */
            if (strcmp(seen[i], key) == 0)
                return -1;
        memcpy(seen[nseen++], key, klen + 1);
        char small[512], *text = vlen < sizeof small ? small : malloc(vlen + 1);
        if (!text)
            return -1;
        memcpy(text, v, vlen);
        text[vlen] = '\0';
        s_arg(args, key, text, NULL);
        if (text != small)
            free(text);
        if (q >= end)
            return -1;
        if (*q == '}') {
            *p = q + 1;
            return 0;
        }
        if (*q++ != ',')
            return -1;
    }
}

json_t *registry_import_args_text(const char *text, size_t len, const char *agency_name,
                                  const char *date, const char *office)
{
    const char *p = text, *end = text + len;
    bool has_in = false;
    json_t *args = json_object();
    if (!args || p >= end || *p++ != '{')
        goto plain_no;
    while (p < end) {
        size_t klen;
        const char *k = s_plain_string(&p, end, &klen);
        if (!k || p >= end || *p++ != ':')
            goto plain_no;
        if ((klen == 4 && memcmp(k, "line", 4) == 0) || (klen == 3 && memcmp(k, "row", 3) == 0)) {
            const char *digits = p;
            while (p < end && *p >= '0' && *p <= '9')
                p++;
            if (p == digits)
                goto plain_no;
        } else if (klen == 2 && memcmp(k, "in", 2) == 0 && !has_in) {
            has_in = true;
            if (s_plain_inputs(args, &p, end) != 0)
                goto plain_no;
        } else {   /* "error", or anything else: the decoding path */
            goto plain_no;
        }
        if (p < end && *p == '}' && p + 1 == end && has_in)
            return s_finish(args, agency_name, date, office);
        if (p >= end || *p++ != ',')
            goto plain_no;
    }
plain_no:
    json_decref(args);
    return NULL;
}
