/*
 * test_import.c — the import's parser fed a file cut at every possible place (inside a UTF-8 or
 * UTF-16 character, inside a quoted cell, between CR and LF), and the background step driven
 * through the skeleton's test entry point.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "json.h"
#include "../../services/registry/registry.h"
#include "../../services/registry/registry_import.h"
#include "service_internal.h"
#include "test.h"
#include "testutil.h"

/* کد ملی,نام,تاریخ تولد,"quoted, cell"  with a BOM, CRLF, a blank row and a multi-line cell */
static const char s_csv[] =
    "\xef\xbb\xbf\xda\xa9\xd8\xaf \xd9\x85\xd9\x84\xdb\x8c,\xd9\x86\xd8\xa7\xd9\x85,"
    "\xd8\xaa\xd8\xa7\xd8\xb1\xdb\x8c\xd8\xae \xd8\xaa\xd9\x88\xd9\x84\xd8\xaf,extra\r\n"
    "\xdb\xb0\xdb\xb1\xdb\xb2,\xd8\xb2\xd9\x87\xd8\xb1\xd8\xa7,1360/01/02,\"a, \"\"b\"\"\"\r\n"
    ",,,\r\n"
    "0012345678,\"\xd9\x85\xd8\xb1\xdb\x8c\n\xd9\x85\",1361/1/1,x\r\n"
    "99,\xd8\xb2,1362/02/03,y";

/* Parses data cut into two parts at `cut`; returns the rows (new array) or NULL on error. */
static json_t *s_parse(const unsigned char *data, size_t len, size_t cut, json_t **imp)
{
    char err[48];
    json_t *rows = json_array();
    *imp = json_object();
    if (registry_import_feed(*imp, data, cut, false, rows, err, sizeof err) != 0 ||
        registry_import_feed(*imp, data + cut, len - cut, true, rows, err, sizeof err) != 0) {
        fprintf(stderr, "  cut %zu: %s\n", cut, err);
        json_decref(rows);
        return NULL;
    }
    return rows;
}

static void s_check_rows(json_t *rows, json_t *imp)
{
    CHECK_EQ_INT(json_array_size(rows), 3);
    CHECK_EQ_INT(json_integer_value(json_object_get(imp, "blank_rows")), 1);
    json_t *in0 = json_object_get(json_array_get(rows, 0), "in");
    json_t *in1 = json_object_get(json_array_get(rows, 1), "in");
    CHECK_EQ_STR(json_string_value(json_object_get(in0, "national_id")), "\xdb\xb0\xdb\xb1\xdb\xb2");
    CHECK_EQ_STR(json_string_value(json_object_get(in0, "birth_date")), "1360/01/02");
    CHECK_EQ_STR(json_string_value(json_object_get(in1, "first_name")),
                 "\xd9\x85\xd8\xb1\xdb\x8c\n\xd9\x85");
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(rows, 1), "line")), 4);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(rows, 2), "line")), 6);
    CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(imp, "ignored_columns"), 0)),
                 "extra");
}

static void test_utf8_every_cut(void)
{
    size_t len = sizeof s_csv - 1;
    for (size_t cut = 0; cut <= len; cut++) {
        json_t *imp, *rows = s_parse((const unsigned char *)s_csv, len, cut, &imp);
        CHECK(rows != NULL);
        if (rows)
            s_check_rows(rows, imp);
        CHECK_EQ_STR(json_string_value(json_object_get(imp, "encoding")), "utf-8");
        json_decref(rows);
        json_decref(imp);
    }
}

/* The same text as UTF-16LE with a BOM (as Excel saves it), with tabs for commas. */
static void test_utf16_every_cut(void)
{
    const char *src = s_csv + 3;
    unsigned char *out = malloc(4 * sizeof s_csv);
    size_t n = 0;
    out[n++] = 0xFF, out[n++] = 0xFE;
    for (const unsigned char *p = (const unsigned char *)src; *p;) {
        unsigned cp;
        if (*p < 0x80)
            cp = *p++;
        else if (*p < 0xE0)
            cp = (unsigned)(p[0] & 0x1F) << 6 | (p[1] & 0x3F), p += 2;
        else
            cp = (unsigned)(p[0] & 0x0F) << 12 | (unsigned)(p[1] & 0x3F) << 6 | (p[2] & 0x3F), p += 3;
        out[n++] = (unsigned char)(cp & 0xFF);
        out[n++] = (unsigned char)(cp >> 8);
    }
    for (size_t cut = 0; cut <= n; cut++) {
        json_t *imp, *rows = s_parse(out, n, cut, &imp);
        CHECK(rows != NULL);
        if (rows)
            s_check_rows(rows, imp);
        CHECK_EQ_STR(json_string_value(json_object_get(imp, "encoding")), "utf-16le");
        json_decref(rows);
        json_decref(imp);
    }
    free(out);
}

static void test_jsonl_and_headers(void)
{
    const char *text = "{\"national_id\":\"1\",\"\xd9\x86\xd8\xa7\xd9\x85\":\"z\",\"size\":3}\n"
                       "\n"
                       "not json\n"
                       "{\"household_size\":4}";
    json_t *imp, *rows = s_parse((const unsigned char *)text, strlen(text), 7, &imp);
    CHECK(rows && json_array_size(rows) == 3);
    CHECK_EQ_STR(json_string_value(json_object_get(imp, "format")), "jsonl");
    json_t *in0 = json_object_get(json_array_get(rows, 0), "in");
    CHECK_EQ_STR(json_string_value(json_object_get(in0, "first_name")), "z");
    CHECK(json_object_get(json_array_get(rows, 1), "error") != NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(json_array_get(rows, 2), "in"),
                                                   "household_size")), "4");
    json_decref(rows);
    json_decref(imp);
    /* Arabic yeh, ZWNJ and spacing in headers */
    CHECK_EQ_STR(registry_import_column("\xda\xa9\xd8\xaf \xd9\x85\xd9\x84\xd9\x8a"), "national_id");
    CHECK_EQ_STR(registry_import_column("\xd9\x86\xd8\xa7\xd9\x85\xe2\x80\x8c\xd8\xae\xd8\xa7\xd9\x86"
                                        "\xd9\x88\xd8\xa7\xd8\xaf\xda\xaf\xdb\x8c"), "last_name");
    CHECK(registry_import_column("nothing") == NULL);
    /* a CSV with no national ID column is refused */
    char err[48] = "";
    json_t *st = json_object(), *r = json_array();
    CHECK(registry_import_feed(st, (const unsigned char *)"a,b\n1,2\n", 8, true, r, err,
                               sizeof err) != 0);
    CHECK_EQ_STR(err, "missing_column");
    json_decref(st);
    json_decref(r);
}

static void test_args(void)
{
    json_t *in = json_pack("{s:s,s:s,s:s,s:s,s:s}", "birth_date", "\xdb\xb1\xdb\xb3\xdb\xb6\xdb\xb0-3-5",
                           "sex", "\xd8\xb2\xd9\x86", "household_size", "\xdb\xb4",
                           "head_of_household", "\xd8\xa8\xd9\x84\xd9\x87", "mobile", "0912");
    json_t *a = registry_import_args(in, "agency", "2023-09-06", "rey-1");
    CHECK_EQ_STR(json_string_value(json_object_get(a, "birth_date_jalali")), "1360/03/05");
    CHECK_EQ_STR(json_string_value(json_object_get(a, "sex")), "female");
    CHECK_EQ_INT(json_integer_value(json_object_get(a, "household_size")), 4);
    CHECK(json_is_true(json_object_get(a, "head_of_household")));
    CHECK_EQ_STR(json_string_value(json_object_get(a, "registered_on")), "2023-09-06");
    json_decref(a);
    json_decref(in);
}

/* The arguments a stored row's text gives straight (registry_import_args_text, how every row is
 * read ahead) are byte for byte those of the decoded row; a text not in the plain form (an
 * escape, an "error" member, a key twice, a control character, a cut text) gives NULL, and the
 * caller decodes it instead. */
static json_t *s_args_of(json_t *row)
{
    return registry_import_args(json_object_get(row, "in"), "agency \"a\"", "2023-09-06",
                                "rey-1");
}

static void s_same_args(const char *text, size_t len, json_t *row, bool plain)
{
    json_t *fast = registry_import_args_text(text, len, "agency \"a\"", "2023-09-06", "rey-1");
    CHECK_EQ_INT(fast != NULL, plain);
    if (fast) {
        json_t *slow = s_args_of(row);
        char *a = json_dumps(fast, JSON_COMPACT), *b = json_dumps(slow, JSON_COMPACT);
        CHECK(a && b && strcmp(a, b) == 0);
        if (a && b && strcmp(a, b) != 0)
            fprintf(stderr, "  text %.*s\n  fast %s\n  slow %s\n", (int)len, text, a, b);
        free(a);
        free(b);
        json_decref(slow);
    }
    json_decref(fast);
    for (size_t cut = 0; cut < len; cut++) {   /* no strict prefix is a row (nor read past) */
        char *part = malloc(cut ? cut : 1);
        memcpy(part, text, cut);
        json_t *none = registry_import_args_text(part, cut, "a", "2023-09-06", "rey-1");
        CHECK(none == NULL);
        json_decref(none);
        free(part);
    }
}

static void test_args_from_text(void)
{
    /* the forms agencies send: Persian, Arabic and Latin digits, words for sex and yes/no,
     * dates that are not dates, a quoted cell with quotes in it (an escape once stored), a
     * backslash, ZWNJ, Arabic yeh and kaf, a multi-line cell */
    const char *csv =
        "\xda\xa9\xd8\xaf \xd9\x85\xd9\x84\xdb\x8c,\xd9\x86\xd8\xa7\xd9\x85,\xd9\x86\xd8\xa7\xd9"
        "\x85 \xd8\xae\xd8\xa7\xd9\x86\xd9\x88\xd8\xa7\xd8\xaf\xda\xaf\xdb\x8c,\xd8\xaa\xd8\xa7"
        "\xd8\xb1\xdb\x8c\xd8\xae \xd8\xaa\xd9\x88\xd9\x84\xd8\xaf,\xd8\xac\xd9\x86\xd8\xb3\xdb"
        "\x8c\xd8\xaa,\xd8\xaa\xd9\x84\xd9\x81\xd9\x86 \xd9\x87\xd9\x85\xd8\xb1\xd8\xa7\xd9\x87,"
        "\xd8\xaa\xd8\xb9\xd8\xaf\xd8\xa7\xd8\xaf \xd8\xa7\xd9\x81\xd8\xb1\xd8\xa7\xd8\xaf \xd8"
        "\xae\xd8\xa7\xd9\x86\xd9\x88\xd8\xa7\xd8\xb1,\xd8\xb3\xd8\xb1\xd9\xbe\xd8\xb1\xd8\xb3\xd8"
        "\xaa \xd8\xae\xd8\xa7\xd9\x86\xd9\x88\xd8\xa7\xd8\xb1,\xd9\x85\xd8\xad\xd9\x84\xd9\x87\r\n"
        "\xdb\xb0\xdb\xb0\xdb\xb1\xdb\xb2\xdb\xb3,\xd8\xb2\xd9\x87\xd8\xb1\xd8\xa7,\xd8\xb1\xd8\xb6"
        "\xd8\xa7\xd9\x8a\xd9\x8a,\xd9\xa1\xd9\xa3\xd9\xa6\xd9\xa0/\xd9\xa0\xd9\xa3/\xd9\xa0\xd9\xa5,"
        "\xd8\xb2\xd9\x86,\xdb\xb0\xdb\xb9\xdb\xb1\xdb\xb2,\xdb\xb4,\xd8\xa8\xd9\x84\xd9\x87,"
        "\xd8\xb4\xd9\x87\xd8\xb1\xe2\x80\x8c\xd8\xb1\xdb\x8c\r\n"
        "12345678,\"\xd9\x85\xd8\xb1\xdb\x8c\xd9\x85 \"\"\xd8\xa8\xd8\xa7\xd9\x86\xd9\x88\"\"\","
        "x,1985-03-05,\xd9\x85\xd8\xb1\xd8\xaf,0912,\xdb\xb2\xdb\xb3,\xd8\xae\xdb\x8c\xd8\xb1,\r\n"
        "0012345678,a\\b,\xd9\x83\xd8\xa7\xd8\xb8\xd9\x85\xdb\x8c,not a date,other,,x,maybe,\r\n"
        "99,\"\xd9\x85\xd8\xb1\xdb\x8c\n\xd9\x85\",,1362-2-3,female,0912 111,5,yes,\r\n"
        ",,,,,,,,\r\n"
        "1,\xd8\xb2,,,,,,,";
    const char *jsonl = "{\"national_id\":\"1\",\"\xd9\x86\xd8\xa7\xd9\x85\":\"z\",\"size\":3,"
                        "\"household_size\":4,\"mobile\":true}\n"
                        "not json\n"
                        "{\"national_id\":\"\\u06f1\\t\",\"sex\":\"F\"}";
    const char *files[] = {csv, jsonl};
    int plain_rows = 0;
    for (int f = 0; f < 2; f++) {
        json_t *imp, *rows = s_parse((const unsigned char *)files[f], strlen(files[f]), 3, &imp);
        CHECK(rows != NULL);
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row) {
            json_object_set_new(row, "row", json_integer((json_int_t)i + 1));   /* as stored */
            size_t len;
            char *text = hy_json_dump(row, &len);
            bool plain = !json_object_get(row, "error") && !memchr(text, '\\', len);
            plain_rows += plain;
            s_same_args(text, len, row, plain);
            free(text);
        }
        json_decref(rows);
        json_decref(imp);
    }
    CHECK_EQ_INT(plain_rows, 4);   /* the rows with no escape: not a vacuous comparison */
    /* texts the parse never writes: all decoded instead */
    static const char *const odd[] = {
        "{\"line\":1,\"in\":{\"mobile\":\"1\",\"mobile\":\"2\"},\"row\":1}",
        "{\"line\":1,\"in\":{\"household_size\":4},\"row\":1}",
        "{\"line\":1,\"in\":{\"sex\":\"\t\"},\"row\":1}",
        "{\"line\":1,\"in\":{\"first_name\":\"\xff\"},\"row\":1}",
        "{\"line\":1,\"in\":{\"mobile\":\"1\"},\"row\":1} ",
        "{\"line\":1,\"row\":1}",
        "{\"line\":1,\"in\":{\"mobile\":\"1\"},\"in\":{},\"row\":1}",
        "{\"line\":1,\"in\":{\"mobile\":\"1\"},\"error\":{\"code\":\"x\"},\"row\":1}",
        "{\"line\":1, \"in\":{\"mobile\":\"1\"},\"row\":1}",
        "{\"line\":1,\"in\":{\"mobile\":\"1\"},\"row\":1,}",
        "[\"line\",1]",
        "{\"line\":,\"in\":{\"mobile\":\"1\"},\"row\":1}",
        "",
    };
    for (size_t k = 0; k < sizeof odd / sizeof odd[0]; k++) {
        json_t *none = registry_import_args_text(odd[k], strlen(odd[k]), "a", "2023-09-06", "r");
        CHECK(none == NULL);
        if (none)
            fprintf(stderr, "  read straight: %s\n", odd[k]);
        json_decref(none);
    }
    /* the plain forms it reads: members in another order, an empty input */
    static const char *const ok[] = {
        "{\"in\":{\"mobile\":\"09\",\"sex\":\"\xd8\xb2\xd9\x86\"},\"line\":3}",
        "{\"line\":7,\"in\":{},\"row\":2}",
    };
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        json_t *row = json_loads(ok[k], 0, NULL);
        s_same_args(ok[k], strlen(ok[k]), row, true);
        json_decref(row);
    }
}

/* A registry in dir with office-1 and agency "a" (named x), the clock fixed. */
static hy_service_t *s_import_service(const char *dir)
{
    hy_service_t *svc = hy_service_new(&registry_def, dir, 1718452800);
    int st;
    json_decref(hy_service_calls(svc, "offices.create", "operator", NULL,
                                 "{\"code\":\"office-1\",\"name\":\"o\",\"province\":\"p\","
                                 "\"city\":\"c\"}", &st));
    CHECK_EQ_INT(st, 201);
    json_decref(hy_service_calls(svc, "agencies.create", "operator", NULL,
                                 "{\"code\":\"a\",\"name\":\"x\"}", &st));
    CHECK_EQ_INT(st, 201);
    return svc;
}

/* Sends data (text) base64 in the "data" of an import op's arguments: args_fmt is the JSON of
 * the arguments with a %s where the data goes. Returns the reply's status. */
static int s_send_part(hy_service_t *svc, const char *op, const char *args_fmt, const char *data)
{
    size_t blen = sodium_base64_ENCODED_LEN(strlen(data), sodium_base64_VARIANT_ORIGINAL);
    size_t alen = blen + strlen(args_fmt);
    char *b64 = malloc(blen), *args = malloc(alen);
    int st = 0;
    if (b64 && args) {
        sodium_bin2base64(b64, blen, (const unsigned char *)data, strlen(data),
                          sodium_base64_VARIANT_ORIGINAL);
        snprintf(args, alen, args_fmt, b64);
        json_decref(hy_service_calls(svc, op, "social_services", NULL, args, &st));
    }
    free(b64);
    free(args);
    return st;
}

/* The background step through the skeleton: an import is applied by hy_service_background. */
static void test_background_step(void)
{
    char dir[64];
    hy_test_tmpdir(dir);
    hy_service_t *svc = s_import_service(dir);
    int st;
    const char *csv = "national_id,first_name,last_name,birth_date,sex\n"
                      "0012345679,z,y,1360/01/01,female\n"
                      "0012345679,z,y,1360/01/01,female\n";
    CHECK_EQ_INT(s_send_part(svc, "imports.create",
                             "{\"agency\":\"a\",\"date\":\"2023-09-06\",\"data\":\"%s\"}", csv),
                 202);
    CHECK(hy_service_background(svc, 100) >= 1);
    json_t *r = hy_service_calls(svc, "imports.get", "social_services", NULL, "{\"id\":\"imp_1\"}", &st);
    json_t *counts = json_object_get(json_object_get(r, "result"), "counts");
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(r, "result"), "state")), "done");
    CHECK_EQ_INT(json_integer_value(json_object_get(counts, "created")), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(counts, "unchanged")), 1);
    json_decref(r);
    CHECK_EQ_INT(hy_service_background(svc, 100), 1);   /* idle: one step that finds nothing */
    hy_service_destroy(&svc);
    hy_test_rmdir(dir);
}

/* While an import has rows left, a batch of requests applies some of them in its own
 * transaction (one commit for both). */
static void test_step_rides_in_a_batch(void)
{
    char dir[64];
    hy_test_tmpdir(dir);
    setenv("HY_IMPORT_STEP_ROWS", "1", 1);
    hy_service_t *svc = s_import_service(dir);
    int st;
    const char *jsonl = "{\"national_id\":\"0012345679\",\"first_name\":\"z\",\"last_name\":\"y\","
                        "\"birth_date\":\"1360/01/01\",\"sex\":\"female\"}\n"
                        "{\"national_id\":\"0012345679\"}\n{\"national_id\":\"0012345679\"}\n";
    CHECK_EQ_INT(s_send_part(svc, "imports.create",
                             "{\"agency\":\"a\",\"date\":\"2023-09-06\",\"data\":\"%s\"}", jsonl),
                 202);
    CHECK_EQ_INT(hy_service_background(svc, 1), 1);   /* one row; more to do */
    json_t *r = hy_service_calls(svc, "imports.get", "social_services", NULL, "{\"id\":\"imp_1\"}", &st);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(r, "result"), "done")), 1);
    json_decref(r);
    json_decref(hy_service_calls(svc, "agencies.create", "operator", NULL,
                                 "{\"code\":\"b\",\"name\":\"w\"}", &st));
    CHECK_EQ_INT(st, 201);
    r = hy_service_calls(svc, "imports.get", "social_services", NULL, "{\"id\":\"imp_1\"}", &st);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(r, "result"), "done")), 2);
    json_decref(r);
    unsetenv("HY_IMPORT_STEP_ROWS");
    hy_service_destroy(&svc);
    hy_test_rmdir(dir);
}

/* A valid national ID from a number: the check digit the registry's own check accepts. */
static void s_valid_id(unsigned k, char out[11])
{
    snprintf(out, 11, "%09u0", (k * 7919u + 80000011u) % 1000000000u);
    char norm[11];
    for (char d = '0'; d <= '9'; d++) {
        out[9] = d;
        if (hy_national_id_normalize(out, norm) == 0)
            return;
    }
}

/* Rows are read and checked ahead of the writer, on a thread, a chunk at a time: an import of
 * more rows than a chunk, applied in steps that end inside chunks (and a request between two
 * steps), ends with exactly the outcomes worked out here. */
static void test_rows_prepared_ahead(void)
{
    char dir[64];
    hy_test_tmpdir(dir);
    setenv("HY_IMPORT_STEP_ROWS", "7", 1);
    hy_service_t *svc = s_import_service(dir);
    int st;
    enum { ROWS = 2 * REGISTRY_PREP_CHUNK + 100, STEPS = (REGISTRY_PREP_CHUNK + 40) / 7 };
    size_t cap = ROWS * 80 + 64;
    char *csv = malloc(cap), *b64 = malloc(cap * 2), *args = malloc(cap * 2 + 128);
    size_t at = (size_t)snprintf(csv, cap, "national_id,first_name,last_name,birth_date,sex\n");
    int created = 0, invalid = 0, unchanged = 0;
    for (unsigned k = 1; k <= ROWS; k++) {
        char nid[11];
        s_valid_id(k % 25 == 0 ? k - 3 : k, nid);   /* every 25th row: an ID listed 3 rows before */
        if (k % 10 == 3)
            nid[9] = (char)('0' + (nid[9] - '0' + 1) % 10);   /* a wrong check digit */
        at += (size_t)snprintf(csv + at, cap - at, "%s,n%u,f%u,1360/01/%02u,female\n", nid, k, k,
                               1 + k % 28);
        if (k % 10 == 3)
            invalid++;
        else if (k % 25 == 0)
            unchanged++;
        else
            created++;
    }
    sodium_bin2base64(b64, cap * 2, (const unsigned char *)csv, at,
                      sodium_base64_VARIANT_ORIGINAL);
    snprintf(args, cap * 2 + 128, "{\"agency\":\"a\",\"date\":\"2023-09-06\",\"data\":\"%s\"}",
             b64);
    json_decref(hy_service_calls(svc, "imports.create", "social_services", NULL, args, &st));
    CHECK_EQ_INT(st, 202);
    /* past the first chunk, in the second: a step that ends inside a chunk, then a request */
    CHECK_EQ_INT(hy_service_background(svc, STEPS), STEPS);
    json_decref(hy_service_calls(svc, "agencies.create", "operator", NULL,
                                 "{\"code\":\"b\",\"name\":\"w\"}", &st));
    CHECK_EQ_INT(st, 201);
    CHECK(hy_service_background(svc, 1000) > 0);
    json_t *r = hy_service_calls(svc, "imports.get", "social_services", NULL,
                                 "{\"id\":\"imp_1\"}", &st);
    json_t *res = json_object_get(r, "result"), *counts = json_object_get(res, "counts");
    CHECK_EQ_STR(json_string_value(json_object_get(res, "state")), "done");
    CHECK_EQ_INT(json_integer_value(json_object_get(res, "done")), ROWS);
    CHECK_EQ_INT(json_integer_value(json_object_get(counts, "created")), created);
    CHECK_EQ_INT(json_integer_value(json_object_get(counts, "invalid")), invalid);
    CHECK_EQ_INT(json_integer_value(json_object_get(counts, "unchanged")), unchanged);
    json_decref(r);
    r = hy_service_calls(svc, "imports.rows", "social_services", NULL,
                         "{\"id\":\"imp_1\",\"outcome\":\"invalid\",\"limit\":5}", &st);
    json_t *first = json_array_get(json_object_get(json_object_get(r, "result"), "items"), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(first, "row")), 3);
    CHECK_EQ_STR(json_string_value(json_object_get(first, "code")), "invalid_national_id");
    json_decref(r);
    unsetenv("HY_IMPORT_STEP_ROWS");
    free(csv);
    free(b64);
    free(args);
    hy_service_destroy(&svc);
    hy_test_rmdir(dir);
}

/* The rows of a part are applied as the part arrives, while the file is still coming: the
 * import stays "receiving" (done counts the rows applied so far) until its last part, then
 * ends "done" once every row is. */
static void test_rows_applied_while_receiving(void)
{
    char dir[64];
    hy_test_tmpdir(dir);
    hy_service_t *svc = s_import_service(dir);
    int st;
    const char *part1 = "national_id,first_name,last_name,birth_date,sex\n"
                        "0012345679,z,y,1360/01/01,female\n"
                        "0012345679,z,y,1360/01/01,female\n"
                        "00123";   /* a record cut by the part's end */
    const char *part2 = "45679,z,y,1360/01/01,female\n";
    CHECK_EQ_INT(s_send_part(svc, "imports.create",
                             "{\"agency\":\"a\",\"date\":\"2023-09-06\",\"data\":\"%s\",\"more\":true}",
                             part1),
                 202);
    CHECK(hy_service_background(svc, 100) >= 1);
    json_t *r = hy_service_calls(svc, "imports.get", "social_services", NULL,
                                 "{\"id\":\"imp_1\"}", &st);
    json_t *res = json_object_get(r, "result");
    CHECK_EQ_STR(json_string_value(json_object_get(res, "state")), "receiving");
    CHECK_EQ_INT(json_integer_value(json_object_get(res, "total")), 2);
    CHECK_EQ_INT(json_integer_value(json_object_get(res, "done")), 2);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(res, "counts"), "created")), 1);
    json_decref(r);
    CHECK_EQ_INT(hy_service_background(svc, 100), 1);   /* caught up with the parts: idle */
    CHECK_EQ_INT(s_send_part(svc, "imports.add_part",
                             "{\"id\":\"imp_1\",\"seq\":1,\"data\":\"%s\",\"last\":true}", part2),
                 202);
    CHECK(hy_service_background(svc, 100) >= 1);
    r = hy_service_calls(svc, "imports.get", "social_services", NULL, "{\"id\":\"imp_1\"}", &st);
    res = json_object_get(r, "result");
    CHECK_EQ_STR(json_string_value(json_object_get(res, "state")), "done");
    CHECK_EQ_INT(json_integer_value(json_object_get(res, "done")), 3);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(res, "counts"), "unchanged")), 2);
    json_decref(r);
    hy_service_destroy(&svc);
    hy_test_rmdir(dir);
}

/* Two lists received at once, their parts interleaved: each row is stored under its own import
 * (rows are appended while their numbers are the highest, put in place when another import's
 * follow them) and both end with their own rows and counts. */
static void test_two_lists_received_at_once(void)
{
    char dir[64];
    hy_test_tmpdir(dir);
    hy_service_t *svc = s_import_service(dir);
    const char *head = "national_id,first_name,last_name,birth_date,sex\n";
    const char *rows[2][2] = {
        {"0012345687,a,b,1360/01/01,female\n0012345695,c,d,1361/01/01,female\n",
         "0012345709,e,f,1362/01/01,female\n0012345717,g,h,1363/01/01,female\n"},
        {"0012345725,i,j,1364/01/01,female\n0012345733,k,l,1365/01/01,female\n",
         "0012345741,m,n,1366/01/01,female\n0012345687,a,b,1360/01/01,female\n"},
    };
    char part[512];
    for (int i = 0; i < 2; i++) {
        snprintf(part, sizeof part, "%s%s", head, rows[i][0]);
        CHECK_EQ_INT(s_send_part(svc, "imports.create",
                                 "{\"agency\":\"a\",\"date\":\"2023-09-06\",\"data\":\"%s\","
                                 "\"more\":true}",
                                 part),
                     202);
    }
    CHECK_EQ_INT(s_send_part(svc, "imports.add_part",
                             "{\"id\":\"imp_1\",\"seq\":1,\"data\":\"%s\",\"last\":true}",
                             rows[0][1]),
                 202);
    CHECK(hy_service_background(svc, 100) >= 1);
    CHECK_EQ_INT(s_send_part(svc, "imports.add_part",
                             "{\"id\":\"imp_2\",\"seq\":1,\"data\":\"%s\",\"last\":true}",
                             rows[1][1]),
                 202);
    CHECK(hy_service_background(svc, 100) >= 1);
    static const char *const first[2][4] = {
        {"0012345687", "0012345695", "0012345709", "0012345717"},
        {"0012345725", "0012345733", "0012345741", "0012345687"},
    };
    for (int i = 0; i < 2; i++) {
        int st;
        char args[64];
        snprintf(args, sizeof args, "{\"id\":\"imp_%d\"}", i + 1);
        json_t *r = hy_service_calls(svc, "imports.get", "social_services", NULL, args, &st);
        json_t *res = json_object_get(r, "result"), *counts = json_object_get(res, "counts");
        CHECK_EQ_STR(json_string_value(json_object_get(res, "state")), "done");
        CHECK_EQ_INT(json_integer_value(json_object_get(res, "done")), 4);
        /* imp_2's last row is imp_1's first person: known, this agency's referral there */
        CHECK_EQ_INT(json_integer_value(json_object_get(counts, "created")), i == 0 ? 4 : 3);
        CHECK_EQ_INT(json_integer_value(json_object_get(counts, "unchanged")), i == 0 ? 0 : 1);
        json_decref(r);
        r = hy_service_calls(svc, "imports.rows", "social_services", NULL, args, &st);
        json_t *items = json_object_get(json_object_get(r, "result"), "items");
        CHECK_EQ_INT(json_array_size(items), 4);
        for (size_t k = 0; k < 4 && k < json_array_size(items); k++) {
            json_t *item = json_array_get(items, k);
            CHECK_EQ_INT(json_integer_value(json_object_get(item, "row")), (json_int_t)k + 1);
            CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(item, "input"),
                                                           "national_id")),
                         first[i][k]);
        }
        json_decref(r);
    }
    hy_service_destroy(&svc);
    hy_test_rmdir(dir);
}

/* The committed "done" of imp_1, and the last event's number, from a snapshot. */
static void s_committed(hy_service_t *svc, json_int_t *done, uint64_t *last_event)
{
    MDB_txn *txn = NULL;
    json_t *imp = NULL;
    registry_t *st = svc->state;
    *done = -1;
    *last_event = 0;
    if (hy_store_read_begin(svc->store, &txn) != 0)
        return;
    if (hy_store_get_id(txn, st->imports, 1, &imp) == 0)
        *done = json_integer_value(json_object_get(imp, "done"));
    *last_event = hy_outbox_last(svc, txn);
    json_decref(imp);
    hy_store_read_end(svc->store, &txn);
}

static json_t *s_person_request(const char *id, const char *nid)
{
    static const hy_actor_t ss = {"test-key", "social_services", "office-1"};
    return hy_proto_request("persons.create", id, &ss, NULL,
                            json_pack("{s:s,s:s,s:s,s:s,s:s}", "national_id", nid, "first_name",
                                      "w", "last_name", "v", "birth_date", "1980-01-01", "sex",
                                      "female"));
}

/* A background step that stops for requests is left open for their batch: nothing of it is
 * committed until the batch's commit, which holds both, the step's events ahead of the
 * batch's. A batch rolled back (a rerun) takes the step with it, and a later step does its
 * rows again; a step held for requests that were no writes is gone on with by the next step,
 * and committed once it has been open HY_HOLD_MS. */
static void test_step_held_for_requests(void)
{
    char dir[64];
    hy_test_tmpdir(dir);
    setenv("HY_IMPORT_STEP_ROWS", "5", 1);
    hy_service_t *svc = s_import_service(dir);
    enum { ROWS = 40 };
    char csv[ROWS * 64 + 64];
    size_t at = (size_t)snprintf(csv, sizeof csv, "national_id,first_name,last_name,birth_date,sex\n");
    for (unsigned k = 1; k <= ROWS; k++) {
        char nid[11];
        s_valid_id(1000 + k, nid);
        at += (size_t)snprintf(csv + at, sizeof csv - at, "%s,n%u,f%u,1360/01/%02u,female\n", nid,
                               k, k, 1 + k % 28);
    }
    CHECK_EQ_INT(s_send_part(svc, "imports.create",
                             "{\"agency\":\"a\",\"date\":\"2023-09-06\",\"data\":\"%s\"}", csv),
                 202);
    json_int_t done, done2;
    uint64_t last, last2;
    /* held: the step's rows are not committed yet */
    s_committed(svc, &done, &last);
    CHECK_EQ_INT(done, 0);
    CHECK_EQ_INT(hy_jobs_step(svc, true), 1);
    CHECK(svc->held != NULL);
    s_committed(svc, &done2, &last2);
    CHECK_EQ_INT(done2, 0);
    CHECK_EQ_INT((long long)last2, (long long)last);
    /* the batch goes on in it: one commit for the step's five rows, the ride step's and hers */
    int st;
    char nid[11];
    s_valid_id(5000, nid);
    hy_job_t job = {.doc = s_person_request("first", nid)};
    CHECK(hy_dispatch_batch(svc, &job, 1) == 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(job.reply, "status")), 201);
    json_decref(job.doc);
    json_decref(job.reply);
    CHECK(svc->held == NULL);
    s_committed(svc, &done2, &last2);
    CHECK(done2 >= 5);
    CHECK_EQ_INT((long long)last2, (long long)last + (uint64_t)done2 + 1);
    /* every event committed is to be published: the held step's too */
    CHECK_EQ_INT(svc->npending, (size_t)(last2 - last));
    hy_pending_truncate(svc, 0);
    MDB_txn *txn = NULL;
    json_t *ev = NULL;
    CHECK(hy_store_read_begin(svc->store, &txn) == 0);
    /* the held step's five events, then hers (the batch's own step comes after its requests) */
    CHECK(hy_store_get_id(txn, svc->db_outbox, last + 6, &ev) == 0);
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(ev, "data"), "national_id")),
                 nid);
    json_decref(ev);
    hy_store_read_end(svc->store, &txn);
    /* a batch run again (a request refused in it) rolls the held step back; the batch's own
     * step (riding in it: HY_IMPORT_STEP_ROWS rows) does those rows again */
    done = done2;
    last = last2;
    CHECK_EQ_INT(hy_jobs_step(svc, true), 1);
    CHECK(svc->held != NULL);
    uint64_t reruns = svc->reruns;
    char nid2[11];
    s_valid_id(5001, nid2);
    hy_job_t jobs[2] = {{.doc = s_person_request("dup", nid)}, {.doc = s_person_request("ok", nid2)}};
    CHECK(hy_dispatch_batch(svc, jobs, 2) == 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(jobs[0].reply, "status")), 409);
    CHECK_EQ_INT(json_integer_value(json_object_get(jobs[1].reply, "status")), 201);
    CHECK(svc->reruns == reruns + 1);
    CHECK(svc->held == NULL);
    hy_pending_truncate(svc, 0);
    s_committed(svc, &done2, &last2);
    CHECK_EQ_INT(done2, done + 5);   /* held and committed, it would be done + 10 */
    CHECK_EQ_INT((long long)last2, (long long)last + 5 + 1);
    for (int i = 0; i < 2; i++) {
        json_decref(jobs[i].doc);
        json_decref(jobs[i].reply);
    }
    /* held for a batch with no write: not committed (the read sees the last commit); the next
     * step goes on in the same transaction; committed once open HY_HOLD_MS */
    setenv("HY_HOLD_MS", "60000", 1);
    CHECK_EQ_INT(hy_jobs_step(svc, true), 1);
    MDB_txn *first = svc->held;
    json_t *r = hy_service_calls(svc, "imports.get", "social_services", NULL, "{\"id\":\"imp_1\"}", &st);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(r, "result"), "done")), done2);
    json_decref(r);
    CHECK(first != NULL && svc->held == first);
    hy_jobs_commit_held_due(svc);
    CHECK(svc->held == first);
    CHECK_EQ_INT(hy_jobs_step(svc, true), 1);
    CHECK(svc->held == first);   /* gone on with */
    s_committed(svc, &done, &last);
    CHECK_EQ_INT(done, done2);
    CHECK_EQ_INT((long long)last, (long long)last2);
    setenv("HY_HOLD_MS", "0", 1);
    hy_jobs_commit_held_due(svc);
    unsetenv("HY_HOLD_MS");
    CHECK(svc->held == NULL);
    s_committed(svc, &done, &last);
    CHECK_EQ_INT(done, done2 + 10);   /* both steps' rows, and their events, in one commit */
    CHECK_EQ_INT((long long)last, (long long)last2 + 10);
    hy_pending_truncate(svc, 0);
    /* a held step whose commit fails, on its own or with the batch that went on in it, is
     * rolled back whole: nothing of it committed, nothing left to publish, its work left to a
     * later step; the batch is answered 500 */
    CHECK_EQ_INT(hy_jobs_step(svc, true), 1);
    svc->bg_more = false;
    hy_store_fail_commits(svc->store, 1);
    hy_jobs_commit_held(svc);
    CHECK(svc->held == NULL && svc->npending == 0 && svc->bg_more);
    s_committed(svc, &done2, &last2);
    CHECK_EQ_INT(done2, done);
    CHECK_EQ_INT((long long)last2, (long long)last);
    CHECK_EQ_INT(hy_jobs_step(svc, true), 1);
    hy_store_fail_commits(svc->store, 1);
    char nid3[11];
    s_valid_id(5002, nid3);
    hy_job_t lost = {.doc = s_person_request("lost", nid3)};
    CHECK(hy_dispatch_batch(svc, &lost, 1) == -1);
    CHECK_EQ_INT(json_integer_value(json_object_get(lost.reply, "status")), 500);
    CHECK(svc->held == NULL && svc->npending == 0);
    json_decref(lost.doc);
    json_decref(lost.reply);
    s_committed(svc, &done2, &last2);
    CHECK_EQ_INT(done2, done);
    CHECK_EQ_INT((long long)last2, (long long)last);
    /* a held step gone on with, whose commit then fails, takes its held part with it */
    setenv("HY_HOLD_MS", "60000", 1);
    CHECK_EQ_INT(hy_jobs_step(svc, true), 1);
    CHECK(svc->held != NULL);
    hy_store_fail_commits(svc->store, 1);
    CHECK_EQ_INT(hy_jobs_step(svc, false), -1);
    unsetenv("HY_HOLD_MS");
    CHECK(svc->held == NULL && svc->npending == 0);
    s_committed(svc, &done2, &last2);
    CHECK_EQ_INT(done2, done);
    CHECK_EQ_INT((long long)last2, (long long)last);
    /* a step held when the service stops is not committed: the next run does it */
    CHECK_EQ_INT(hy_jobs_step(svc, true), 1);
    CHECK(svc->held != NULL);
    hy_service_destroy(&svc);
    svc = hy_service_new(&registry_def, dir, 1718452800);
    s_committed(svc, &done2, &last2);
    CHECK_EQ_INT(done2, done);
    CHECK_EQ_INT((long long)last2, (long long)last);
    /* the rest, then every row exactly once */
    CHECK(hy_service_background(svc, 100) > 0);
    r = hy_service_calls(svc, "imports.get", "social_services", NULL, "{\"id\":\"imp_1\"}", &st);
    json_t *res = json_object_get(r, "result");
    CHECK_EQ_STR(json_string_value(json_object_get(res, "state")), "done");
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(res, "counts"), "created")),
                 ROWS);
    json_decref(r);
    s_committed(svc, &done2, &last2);
    CHECK_EQ_INT(done2, ROWS);
    CHECK_EQ_INT((long long)last2, (long long)last + (ROWS - done));
    hy_service_destroy(&svc);
    unsetenv("HY_IMPORT_STEP_ROWS");
    hy_test_rmdir(dir);
}

/* registry_json_add writes what json_dumps (compact, members in order) writes. */
static void test_json_add(void)
{
    json_t *v = json_pack("{s:i,s:{s:s,s:s,s:s},s:[s,s],s:n,s:b,s:s,s:{},s:[]}", "line", 12,
                          "in", "national_id", "0012345679", "first_name", "فاطمه \"زهرا\"",
                          "note", "a\\b\tc\x01", "possible_duplicates", "prs_1", "prs_2",
                          "field", "ok", 1, "detail", "", "empty", "list");
    registry_buf_t b = {0};
    CHECK_EQ_INT(registry_json_add(&b, v), 0);
    char *want = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    CHECK_EQ_STR(b.p, want);
    free(want);
    free(b.p);
    json_decref(v);
}

/* Runs op with args (JSON text) as one request of a batch: checked and prepared ahead as the
 * intake thread does (hy_dispatch_precheck) when ahead, the prepared part first spoiled when
 * spoil (parsed from another state: the writer must parse it itself). Returns the reply. */
static int s_prepared_made;   /* parts s_run found prepared */

static json_t *s_run(hy_service_t *svc, const char *op, const char *args, bool ahead, bool spoil)
{
    hy_actor_t actor = {"test-key", "social_services", NULL};
    json_t *doc = hy_proto_request(op, "t", &actor, NULL, json_loads(args, 0, NULL));
    json_t *prepared = NULL;
    bool checked = ahead && hy_dispatch_precheck(svc, doc, &prepared);
    s_prepared_made += prepared != NULL;
    if (spoil && prepared) {   /* made from another state: other rows, another count */
        json_object_set_new(prepared, "total", json_integer(999));
        json_object_set_new(prepared, "text", json_string("{\"row\":1000}"));
        json_object_set_new(prepared, "lens", json_pack("[i]", 12));
    }
    hy_job_t job = {.doc = doc, .checked = checked, .prepared = prepared};
    CHECK(hy_dispatch_batch(svc, &job, 1) == 0);
    hy_pending_truncate(svc, 0);
    json_decref(prepared);
    json_decref(doc);
    return job.reply;
}

/* The stored record of import 1 and its stored rows, one text. */
static char *s_stored_import(hy_service_t *svc)
{
    registry_t *st = svc->state;
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    uint8_t key[8];
    registry_buf_t out = {0};
    if (mdb_txn_begin(hy_store_env(svc->store), NULL, MDB_RDONLY, &txn) != 0)
        return NULL;
    hy_key_u64(1, key);
    k = (MDB_val){8, key};
    if (mdb_get(txn, st->imports, &k, &v) == 0)
        registry_buf_add(&out, v.mv_data, v.mv_size);
    if (mdb_cursor_open(txn, st->import_rows, &cur) == 0) {
        for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            registry_buf_add(&out, "\n", 1);
            registry_buf_add(&out, v.mv_data, v.mv_size);
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    return out.p;
}

/* A part parsed ahead on the intake thread (imports.create's and imports.add_part's prepare)
 * stores exactly what the writer's own parse stores: the file cut in three at many places
 * (inside a character, a quoted cell, the header, between CR and LF), the import's record and
 * rows byte for byte; a part prepared from another state is parsed again; a part that cannot
 * be read is answered the same way (422 invalid_data, then missing_column). */
static void test_parts_parsed_ahead(void)
{
    size_t len = sizeof s_csv - 1;
    for (size_t c1 = 0; c1 <= len; c1 += 11) {
        size_t c2 = c1 + (len - c1) / 2;
        char *stored[3] = {NULL};
        for (int way = 0; way < 3; way++) {   /* the writer's parse; ahead; ahead but spoiled */
            s_prepared_made = 0;
            char dir[64];
            hy_test_tmpdir(dir);
            hy_service_t *svc = s_import_service(dir);
            size_t cuts[4] = {0, c1, c2, len};
            for (int part = 0; part < 3; part++) {
                char b64[1024], args[1400];
                sodium_bin2base64(b64, sizeof b64, (const unsigned char *)s_csv + cuts[part],
                                  cuts[part + 1] - cuts[part], sodium_base64_VARIANT_ORIGINAL);
                if (part == 0)
                    snprintf(args, sizeof args, "{\"agency\":\"a\",\"date\":\"2023-09-06\","
                             "\"office\":\"office-1\",\"more\":true,\"data\":\"%s\"}", b64);
                else
                    snprintf(args, sizeof args, "{\"id\":\"imp_1\",\"seq\":%d,\"last\":%s,"
                             "\"data\":\"%s\"}", part, part == 2 ? "true" : "false", b64);
                json_t *r = s_run(svc, part ? "imports.add_part" : "imports.create", args,
                                  way > 0, way == 2);
                CHECK_EQ_INT(json_integer_value(json_object_get(r, "status")), 202);
                if (json_integer_value(json_object_get(r, "status")) != 202) {
                    char *t = json_dumps(r, JSON_COMPACT);
                    fprintf(stderr, "  cuts %zu %zu, way %d, part %d: %s\n", c1, c2, way, part, t);
                    free(t);
                }
                json_decref(r);
            }
            CHECK_EQ_INT(s_prepared_made, way ? 3 : 0);   /* every part, when ahead */
            stored[way] = s_stored_import(svc);
            CHECK(stored[way] && strstr(stored[way], "\"state\":\"queued\"") != NULL);
            hy_service_destroy(&svc);
            hy_test_rmdir(dir);
        }
        for (int way = 1; way < 3; way++) {
            CHECK(stored[0] && stored[way] && strcmp(stored[0], stored[way]) == 0);
            if (stored[0] && stored[way] && strcmp(stored[0], stored[way]) != 0)
                fprintf(stderr, "  cuts %zu %zu, way %d:\n  %s\n  %s\n", c1, c2, way, stored[0],
                        stored[way]);
        }
        for (int way = 0; way < 3; way++)
            free(stored[way]);
    }
    /* parts that cannot be read: the same answer ahead or not */
    static const char *const bad[] = {
        "{\"agency\":\"a\",\"date\":\"2023-09-06\",\"office\":\"office-1\","
        "\"data\":\"not base64!\"}",
        "{\"agency\":\"a\",\"date\":\"2023-09-06\",\"office\":\"office-1\","
        "\"data\":\"bmFtZQpx\"}",   /* "name\nq" */
    };
    static const char *const code[] = {"invalid_data", "missing_column"};
    for (int b = 0; b < 2; b++) {
        for (int ahead = 0; ahead < 2; ahead++) {
            char dir[64];
            hy_test_tmpdir(dir);
            hy_service_t *svc = s_import_service(dir);
            json_t *r = s_run(svc, "imports.create", bad[b], ahead, false);
            CHECK_EQ_INT(json_integer_value(json_object_get(r, "status")), 422);
            CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(r, "error"), "code")),
                         code[b]);
            json_decref(r);
            hy_service_destroy(&svc);
            hy_test_rmdir(dir);
        }
    }
}

const hy_test_t import_tests[] = {
    {"import.utf8_every_cut", test_utf8_every_cut},
    {"import.utf16_every_cut", test_utf16_every_cut},
    {"import.jsonl_and_headers", test_jsonl_and_headers},
    {"import.args", test_args},
    {"import.args_from_text", test_args_from_text},
    {"import.background_step", test_background_step},
    {"import.step_rides_in_a_batch", test_step_rides_in_a_batch},
    {"import.rows_prepared_ahead", test_rows_prepared_ahead},
    {"import.rows_applied_while_receiving", test_rows_applied_while_receiving},
    {"import.two_lists_received_at_once", test_two_lists_received_at_once},
    {"import.step_held_for_requests", test_step_held_for_requests},
    {"import.json_add", test_json_add},
    {"import.parts_parsed_ahead", test_parts_parsed_ahead},
    {0},
};
