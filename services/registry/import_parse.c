/*
 * import_parse.c — turning an agency's file, part by part, into rows of named fields.
 *
 * Agencies send what Excel and their own systems save: CSV in UTF-8 with or without a BOM, CSV
 * or tab-separated text in UTF-16 (Excel's "Unicode text", little-endian with a BOM), or JSON
 * Lines. A file arrives in parts (the gateway relays one JSON body of at most a megabyte), so a
 * part may end inside a character or a record: what cannot be finished yet is carried in the
 * import's record ("carry_raw" bytes, "carry_text" text) to the next part. Headers are Persian
 * or English, matched by hy_fa_key so ZWNJ, Arabic letters and spacing never matter; unknown
 * columns are listed and ignored. Pure functions on JSON: no store, no context.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "registry_import.h"

#define CARRY_MAX (1 << 20)

/* Each field a column may stand for, with the headers agencies use for it. */
static const struct {
    const char *field;
    const char *aliases;   /* '|'-separated */
} s_columns[] = {
    {"national_id", "کد ملی|کدملی|شماره ملی|national_id|national id|nationalid|nid|code melli"},
    {"first_name", "نام|first_name|first name|firstname|given name"},
    {"last_name", "نام خانوادگی|نام‌خانوادگی|نام فامیل|فامیلی|last_name|last name|lastname|surname|"
                  "family name"},
    {"birth_date", "تاریخ تولد|تولد|birth_date|birth date|date of birth|dob|birth_date_jalali"},
    {"sex", "جنسیت|جنس|sex|gender"},
    {"mobile", "تلفن همراه|شماره همراه|شماره تلفن همراه|موبایل|همراه|تلفن|mobile|phone|cell"},
    {"neighbourhood", "محله|محل سکونت|neighbourhood|neighborhood"},
    {"household_size", "تعداد افراد خانوار|بعد خانوار|تعداد اعضای خانوار|household_size|"
                       "household size"},
    {"head_of_household", "سرپرست خانوار|سرپرست|head_of_household|head of household"},
    {"province", "استان|province"},
    {"city", "شهر|city"},
    {"disability", "معلولیت|disability"},
};

const char *registry_import_column(const char *header)
{
    char *want = hy_fa_key(header ? header : "");
    const char *found = NULL;
    for (size_t i = 0; want && *want && !found && i < sizeof s_columns / sizeof s_columns[0]; i++) {
        const char *a = s_columns[i].aliases;
        while (*a && !found) {
            const char *end = strchr(a, '|');
            size_t n = end ? (size_t)(end - a) : strlen(a);
            char one[128];
            if (n < sizeof one) {
                memcpy(one, a, n);
                one[n] = '\0';
                char *key = hy_fa_key(one);
                if (key && strcmp(key, want) == 0)
                    found = s_columns[i].field;
                free(key);
            }
            a += n + (end ? 1 : 0);
        }
    }
    free(want);
    return found;
}

/* ---- bytes to UTF-8 ----------------------------------------------------------------------- */

int registry_buf_add(registry_buf_t *b, const void *src, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

/* A JSON string: as it is when nothing in it needs escaping, else as jansson writes it. */
static int s_add_string(registry_buf_t *b, const char *s)
{
    size_t n = strlen(s);
    bool plain = true;
    for (size_t i = 0; plain && i < n; i++)
        plain = (unsigned char)s[i] >= 0x20 && s[i] != '"' && s[i] != '\\';
    if (plain)
        return registry_buf_add(b, "\"", 1) | registry_buf_add(b, s, n) |
               registry_buf_add(b, "\"", 1);
    json_t *str = json_string(s);
    char *text = str ? json_dumps(str, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    int rc = text ? registry_buf_add(b, text, strlen(text)) : -1;
    free(text);
    json_decref(str);
    return rc;
}

int registry_json_add(registry_buf_t *b, const json_t *v)
{
    if (json_is_string(v))
        return s_add_string(b, json_string_value(v));
    if (json_is_integer(v)) {
        char num[24];
        int w = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return registry_buf_add(b, num, (size_t)w);
    }
    if (json_is_object(v) || json_is_array(v)) {
        bool obj = json_is_object(v);
        int rc = registry_buf_add(b, obj ? "{" : "[", 1);
        size_t i = 0;
        if (obj) {
            const char *key;
            json_t *m;
            json_object_foreach((json_t *)v, key, m) {
                rc |= (i++ ? registry_buf_add(b, ",", 1) : 0) | s_add_string(b, key) |
                      registry_buf_add(b, ":", 1) | registry_json_add(b, m);
            }
        } else {
            for (; i < json_array_size(v); i++)
                rc |= (i ? registry_buf_add(b, ",", 1) : 0) |
                      registry_json_add(b, json_array_get(v, i));
        }
        return rc | registry_buf_add(b, obj ? "}" : "]", 1);
    }
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);   /* reals, true, false, null */
    int rc = text ? registry_buf_add(b, text, strlen(text)) : -1;
    free(text);
    return rc;
}

static int s_put_cp(registry_buf_t *b, uint32_t cp)
{
    unsigned char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | (cp >> 6)), u[1] = (unsigned char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        u[0] = (unsigned char)(0xF0 | (cp >> 18));
        u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (unsigned char)(0x80 | (cp & 0x3F)), n = 4;
    }
    return registry_buf_add(b, u, n);
}

/* Decodes raw[0..len) in encoding enc into out; *used gets how many bytes were decoded (the
 * rest is an unfinished character, kept for the next part). 0, or -1 for bytes that are not
 * text in that encoding. */
static int s_decode(const char *enc, const unsigned char *raw, size_t len, bool last, registry_buf_t *out,
                    size_t *used)
{
    if (strcmp(enc, "utf-8") == 0) {
        size_t end = len;
        if (!last) {   /* leave an unfinished sequence at the end for the next part */
            size_t back = 0;
            while (back < 3 && back < len && (raw[len - 1 - back] & 0xC0) == 0x80)
                back++;
            if (back < len) {
                unsigned char lead = raw[len - 1 - back];
                size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
                if (need > back + 1)
                    end = len - 1 - back;
            }
        }
        if (memchr(raw, 0, end) || !hy_utf8_valid((const char *)raw, end))
            return -1;
        *used = end;
        return registry_buf_add(out, raw, end);
    }
    bool le = strcmp(enc, "utf-16le") == 0;
    size_t i = 0;
    while (i + 1 < len) {
        uint32_t u = le ? (uint32_t)(raw[i] | raw[i + 1] << 8) : (uint32_t)(raw[i] << 8 | raw[i + 1]);
        if (u >= 0xD800 && u < 0xDC00) {
            if (i + 3 >= len) {
                if (last)
                    return -1;
                break;
            }
            uint32_t lo = le ? (uint32_t)(raw[i + 2] | raw[i + 3] << 8)
                             : (uint32_t)(raw[i + 2] << 8 | raw[i + 3]);
            if (lo < 0xDC00 || lo > 0xDFFF)
                return -1;
            if (s_put_cp(out, 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)) != 0)
                return -1;
            i += 4;
            continue;
        }
        if ((u >= 0xDC00 && u < 0xE000) || u == 0 || s_put_cp(out, u) != 0)
            return -1;
        i += 2;
    }
    if (last && i < len)
        return -1;
    *used = i;
    return 0;
}

/* The encoding from the first bytes: a BOM (skipped: *skip), or NULs every other byte. */
static const char *s_sniff(const unsigned char *raw, size_t len, size_t *skip)
{
    *skip = 0;
    if (len >= 3 && raw[0] == 0xEF && raw[1] == 0xBB && raw[2] == 0xBF)
        return *skip = 3, "utf-8";
    if (len >= 2 && raw[0] == 0xFF && raw[1] == 0xFE)
        return *skip = 2, "utf-16le";
    if (len >= 2 && raw[0] == 0xFE && raw[1] == 0xFF)
        return *skip = 2, "utf-16be";
    if (len >= 2 && raw[0] != 0 && raw[1] == 0)
        return "utf-16le";
    if (len >= 2 && raw[0] == 0 && raw[1] != 0)
        return "utf-16be";
    return "utf-8";
}

/* ---- records ---------------------------------------------------------------------------- */

/* Splits one CSV record (no line end) into cells, unquoting. New array of strings. */
static json_t *s_cells(const char *rec, size_t len, char delim)
{
    json_t *cells = json_array();
    registry_buf_t cell = {0};
    bool quoted = false;
    registry_buf_add(&cell, "", 0);
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? rec[i] : delim;
        if (quoted) {
            if (c == '"' && i + 1 < len && rec[i + 1] == '"')
                registry_buf_add(&cell, "\"", 1), i++;
            else if (c == '"')
                quoted = false;
            else if (i < len)
                registry_buf_add(&cell, &c, 1);
            continue;
        }
        if (c == '"') {
            quoted = true;
        } else if (c == delim) {
            json_array_append_new(cells, json_stringn(cell.p ? cell.p : "", cell.len));
            cell.len = 0;
        } else if (c != '\r') {
            registry_buf_add(&cell, &c, 1);
        }
    }
    free(cell.p);
    return cells;
}

/* The delimiter a header line uses most: comma, semicolon or tab. */
static char s_delimiter(const char *line, size_t len)
{
    size_t n[3] = {0, 0, 0};
    bool quoted = false;
    for (size_t i = 0; i < len; i++) {
        if (line[i] == '"')
            quoted = !quoted;
        else if (!quoted)
            n[0] += line[i] == ',', n[1] += line[i] == ';', n[2] += line[i] == '\t';
    }
    return n[2] > n[0] && n[2] >= n[1] ? '\t' : n[1] > n[0] ? ';' : ',';
}

static char *s_trim(const char *s)
{
    if (!s)
        return NULL;
    size_t b = 0, e = strlen(s);
    while (b < e && (unsigned char)s[b] <= ' ')
        b++;
    while (e > b && (unsigned char)s[e - 1] <= ' ')
        e--;
    return strndup(s + b, e - b);
}

/* A row from CSV cells under the import's columns; NULL for a blank row. */
static json_t *s_csv_row(const json_t *columns, json_t *cells)
{
    json_t *in = json_object();
    size_t i;
    json_t *cell;
    json_array_foreach(cells, i, cell) {
        const char *field = json_string_value(json_array_get(columns, i));
        char *v = s_trim(json_string_value(cell));
        if (field && v && *v && !json_object_get(in, field))
            json_object_set_new(in, field, json_string(v));
        free(v);
    }
    if (json_object_size(in) == 0) {
        bool blank = true;
        json_array_foreach(cells, i, cell) {
            char *v = s_trim(json_string_value(cell));
            blank = blank && v && !*v;
            free(v);
        }
        if (blank) {
            json_decref(in);
            return NULL;
        }
    }
    return in;
}

/* A row from one JSON Lines line: {"in":{...}} or {"error":...}; NULL for a blank line. */
static json_t *s_jsonl_row(const char *line, size_t len, json_t **error)
{
    *error = NULL;
    size_t i = 0;
    while (i < len && (unsigned char)line[i] <= ' ')
        i++;
    if (i == len)
        return NULL;
    json_t *obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(obj)) {
        json_decref(obj);
        *error = json_pack("{s:s,s:n}", "code", "invalid_json", "field");
        return json_object();
    }
    json_t *in = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        const char *field = registry_import_column(key);
        char *text = json_is_string(v) ? s_trim(json_string_value(v))
                     : json_is_integer(v) || json_is_real(v) || json_is_boolean(v)
                         ? json_dumps(v, JSON_ENCODE_ANY)
                         : NULL;
        if (field && text && *text && !json_object_get(in, field))
            json_object_set_new(in, field, json_string(text));
        free(text);
    }
    json_decref(obj);
    return in;
}

/* Appends one row document {line, in, error?} to rows. */
static void s_emit(json_t *imp, json_t *rows, json_t *in, json_t *error, json_int_t line)
{
    if (!in) {
        json_object_set_new(imp, "blank_rows",
                            json_integer(json_integer_value(json_object_get(imp, "blank_rows")) + 1));
        return;
    }
    json_t *row = json_pack("{s:I,s:o}", "line", line, "in", in);
    if (error)
        json_object_set_new(row, "error", error);
    json_array_append_new(rows, row);
}

/* The header: the delimiter and each column's field; ignored columns are listed. */
static int s_header(json_t *imp, const char *rec, size_t len, char *err, size_t errsz)
{
    char delim = s_delimiter(rec, len);
    json_t *cells = s_cells(rec, len, delim), *columns = json_array(), *ignored = json_array();
    size_t i;
    json_t *cell;
    bool has_nid = false;
    json_array_foreach(cells, i, cell) {
        char *h = s_trim(json_string_value(cell));
        const char *field = registry_import_column(h);
        has_nid = has_nid || (field && strcmp(field, "national_id") == 0);
        json_array_append_new(columns, field ? json_string(field) : json_null());
        if (!field && h && *h)
            json_array_append_new(ignored, json_string(h));
        free(h);
    }
    json_decref(cells);
    json_object_set_new(imp, "delimiter", json_stringn(&delim, 1));
    json_object_set_new(imp, "columns", columns);
    json_object_set_new(imp, "ignored_columns", ignored);
    if (!has_nid) {
        snprintf(err, errsz, "missing_column");
        return -1;
    }
    return 0;
}

/* Splits text into records; complete ones become rows, the unfinished tail is returned. */
static int s_records(json_t *imp, const char *text, size_t len, bool last, json_t *rows,
                     size_t *consumed, char *err, size_t errsz)
{
    const char *fmt = json_string_value(json_object_get(imp, "format"));
    json_int_t line = json_integer_value(json_object_get(imp, "lines"));
    bool jsonl = strcmp(fmt, "jsonl") == 0, quoted = false;
    size_t start = 0, i = 0;
    int rc = 0;
    for (; i <= len && rc == 0; i++) {
        bool end = i == len;
        if (end && !last)
            break;
        char c = end ? '\n' : text[i];
        if (!jsonl && c == '"')
            quoted = !quoted;
        if (c != '\n' || (quoted && !end))
            continue;
        size_t rlen = i - start;
        const char *rec = text + start;
        line++;
        json_int_t first_line = line;
        for (size_t j = 0; j < rlen; j++)
            line += rec[j] == '\n';
        if (end && rlen == 0)
            break;
        if (jsonl) {
            json_t *error, *in = s_jsonl_row(rec, rlen, &error);
            s_emit(imp, rows, in, error, first_line);
        } else if (!json_object_get(imp, "columns")) {
            bool blank = true;
            for (size_t j = 0; j < rlen && blank; j++)
                blank = (unsigned char)rec[j] <= ' ';
            if (!blank)
                rc = s_header(imp, rec, rlen, err, errsz);
        } else {
            const char *d = json_string_value(json_object_get(imp, "delimiter"));
            json_t *cells = s_cells(rec, rlen, d ? d[0] : ',');
            s_emit(imp, rows, s_csv_row(json_object_get(imp, "columns"), cells), NULL,
                   first_line);
            json_decref(cells);
        }
        start = i + 1;
        quoted = false;
    }
    json_object_set_new(imp, "lines", json_integer(line));
    *consumed = start > len ? len : start;
    return rc;
}

int registry_import_feed(json_t *imp, const unsigned char *data, size_t len, bool last,
                         json_t *rows, char *err, size_t errsz)
{
    registry_buf_t raw = {0}, text = {0};
    int rc = -1;
    size_t used = 0, consumed = 0;
    const char *carry = json_string_value(json_object_get(imp, "carry_raw"));
    if (carry && *carry) {
        size_t cl = strlen(carry), bl = 0;
        unsigned char *bin = malloc(cl);
        if (!bin || sodium_base642bin(bin, cl, carry, cl, NULL, &bl, NULL,
                                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
            registry_buf_add(&raw, bin, bl) != 0) {
            free(bin);
            snprintf(err, errsz, "internal_error");
            goto done;
        }
        free(bin);
    }
    if (registry_buf_add(&raw, data, len) != 0) {
        snprintf(err, errsz, "internal_error");
        goto done;
    }
    const unsigned char *p = (const unsigned char *)(raw.p ? raw.p : "");
    size_t plen = raw.len;
    const char *enc = json_string_value(json_object_get(imp, "encoding"));
    if (!enc) {
        if (plen < 3 && !last) {   /* too little to tell: wait for more */
            used = 0;
            goto carry_raw;
        }
        size_t skip;
        enc = s_sniff(p, plen, &skip);
        json_object_set_new(imp, "encoding", json_string(enc));
        enc = json_string_value(json_object_get(imp, "encoding"));
        p += skip, plen -= skip;
    }
    if (s_decode(enc, p, plen, last, &text, &used) != 0) {
        snprintf(err, errsz, "invalid_encoding");
        goto done;
    }
carry_raw:;
    char *b64 = NULL;
    size_t left = plen - used;
    if (left) {
        size_t bl = sodium_base64_encoded_len(left, sodium_base64_VARIANT_ORIGINAL);
        b64 = malloc(bl);
        if (b64)
            sodium_bin2base64(b64, bl, p + used, left, sodium_base64_VARIANT_ORIGINAL);
    }
    json_object_set_new(imp, "carry_raw", json_string(b64 ? b64 : ""));
    free(b64);
    /* the text: what was left of the last part, then this part's */
    registry_buf_t all = {0};
    const char *ct = json_string_value(json_object_get(imp, "carry_text"));
    if (registry_buf_add(&all, ct ? ct : "", ct ? strlen(ct) : 0) != 0 ||
        registry_buf_add(&all, text.p ? text.p : "", text.len) != 0) {
        free(all.p);
        snprintf(err, errsz, "internal_error");
        goto done;
    }
    if (!json_object_get(imp, "format")) {
        size_t i = 0;
        while (i < all.len && (unsigned char)all.p[i] <= ' ')
            i++;
        if (i < all.len || last)
            json_object_set_new(imp, "format",
                                json_string(i < all.len && all.p[i] == '{' ? "jsonl" : "csv"));
    }
    if (json_object_get(imp, "format")) {
        if (s_records(imp, all.p ? all.p : "", all.len, last, rows, &consumed, err, errsz) != 0) {
            free(all.p);
            goto done;
        }
    }
    if (all.len - consumed > CARRY_MAX) {
        free(all.p);
        snprintf(err, errsz, "record_too_long");
        goto done;
    }
    json_object_set_new(imp, "carry_text",
                        json_stringn(all.p ? all.p + consumed : "", all.len - consumed));
    free(all.p);
    if (last && !json_object_get(imp, "columns") &&
        strcmp(json_string_value(json_object_get(imp, "format")), "csv") == 0) {
        snprintf(err, errsz, "missing_column");
        goto done;
    }
    rc = 0;
done:
    free(raw.p);
    free(text.p);
    return rc;
}
