/*
 * export.c — GET /v1/persons with Accept: text/csv: an office's list handed to an agency in
 * the form agencies send theirs (the headers the import reads, a BOM so Excel opens it as
 * UTF-8, Jalali dates, زن/مرد and بله/خیر), so a list can go out and come back.
 *
 * The whole filtered list: persons are walked in pages of 500 inside one read transaction. A
 * reply travels as one ZeroMQ message (HY_MAX_MSG_BYTES, 8 MiB), so one answer holds at most
 * HY_CSV_MAX_BYTES (default 6 MiB, some 30,000 persons). A longer list comes out in parts, as
 * RFC 8288 pages: the answer ends at the last whole row that fits and names the rest in
 * "link" (the gateway's Link header, rel="next": the same filter, format=csv, a cursor after
 * the last person sent). The first part alone has the BOM and the header row, so the parts laid
 * end to end are the whole file (any client that follows Link).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "registry.h"
#include "registry_import.h"

#define PAGE 500
#define DEFAULT_MAX_BYTES (6L << 20)
#define BOM "\xef\xbb\xbf"

/* One cell, quoted when it holds a comma, a quote or a line end; then the separator. */
static int s_cell(registry_buf_t *b, const char *v, bool last)
{
    int rc = 0;
    v = v ? v : "";
    if (strpbrk(v, ",\"\r\n")) {
        rc |= registry_buf_add(b, "\"", 1);
        for (const char *q = v; *q && rc == 0; q++)
            rc |= *q == '"' ? registry_buf_add(b, "\"\"", 2) : registry_buf_add(b, q, 1);
        rc |= registry_buf_add(b, "\"", 1);
    } else {
        rc |= registry_buf_add(b, v, strlen(v));
    }
    return rc | (last ? registry_buf_add(b, "\r\n", 2) : registry_buf_add(b, ",", 1));
}

/* The header row: the import's Persian column names first, then what only an export has. */
static const char *const s_head[] = {
    "کد ملی", "نام", "نام خانوادگی", "تاریخ تولد", "جنسیت", "تلفن همراه", "محله",
    "تعداد افراد خانوار", "سرپرست خانوار", "استان", "شهر", "دفتر", "تاریخ ثبت", "معرف", "شناسه",
};
#define NCOLS (sizeof s_head / sizeof s_head[0])

static int s_row(registry_buf_t *b, const json_t *p)
{
    char size[24] = "", refs[1024] = "";
    json_t *hs = json_object_get(p, "household_size");
    if (json_is_integer(hs))
        snprintf(size, sizeof size, "%lld", (long long)json_integer_value(hs));
    json_t *head = json_object_get(p, "head_of_household");
    const char *sex = hy_json_str(p, "sex");
    size_t i, used = 0;
    json_t *ref;
    json_array_foreach(json_object_get(p, "referrals"), i, ref) {
        const char *a = hy_json_str(ref, "agency");
        const char *what = a ? a : "خود معرف";   /* self-referred */
        int w = snprintf(refs + used, sizeof refs - used, "%s%s", used ? "؛ " : "", what);
        if (w > 0 && (size_t)w < sizeof refs - used)
            used += (size_t)w;
    }
    const char *cells[NCOLS] = {
        hy_json_str(p, "national_id"), hy_json_str(p, "first_name"), hy_json_str(p, "last_name"),
        hy_json_str(p, "birth_date_jalali"),
        sex ? (strcmp(sex, "female") == 0 ? "زن" : "مرد") : NULL,
        hy_json_str(p, "mobile"), hy_json_str(p, "neighbourhood"), size,
        json_is_boolean(head) ? (json_is_true(head) ? "بله" : "خیر") : NULL,
        hy_json_str(p, "province"), hy_json_str(p, "city"), hy_json_str(p, "office"),
        hy_json_str(p, "registered_on_jalali"), refs, hy_json_str(p, "id"),
    };
    int rc = 0;
    for (size_t c = 0; c < NCOLS; c++)
        rc |= s_cell(b, cells[c], c + 1 == NCOLS);
    return rc;
}

/* Appends "&name=value" to b, the value percent-encoded (all but RFC 3986's unreserved). */
static int s_param(registry_buf_t *b, const char *name, const char *value)
{
    if (!value || !*value)
        return 0;
    int rc = registry_buf_add(b, "&", 1) | registry_buf_add(b, name, strlen(name)) |
             registry_buf_add(b, "=", 1);
    for (const unsigned char *q = (const unsigned char *)value; *q && rc == 0; q++) {
        char hex[4];
        if ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') ||
            strchr("-._~", *q))
            rc |= registry_buf_add(b, q, 1);
        else
            rc |= registry_buf_add(b, hex, (size_t)snprintf(hex, sizeof hex, "%%%02X", *q));
    }
    return rc;
}

/* The Link header of the next page: the same filter, the cursor after the last person sent. */
static int s_next_link(const registry_person_filter_t *f, uint64_t after, registry_buf_t *b)
{
    char cursor[32];
    hy_cursor_format(after, cursor, sizeof cursor);
    int rc = registry_buf_add(b, "</v1/persons?format=csv", 23);
    rc |= s_param(b, "national_id", f->national_id) | s_param(b, "q", f->q) |
          s_param(b, "neighbourhood", f->neighbourhood) | s_param(b, "office", f->office) |
          s_param(b, "mobile", f->mobile) | s_param(b, "national_id_contains", f->nid_part) |
          s_param(b, "cursor", cursor);
    return rc | registry_buf_add(b, ">; rel=\"next\"", 13);
}

int registry_person_export_csv(hy_ctx_t *ctx, const registry_person_filter_t *filter,
                               json_t **out)
{
    const char *e = getenv("HY_CSV_MAX_BYTES");
    long max = e && *e ? strtol(e, NULL, 10) : DEFAULT_MAX_BYTES;
    uint64_t sent = 0;   /* the last person number this part has passed (sent or skipped) */
    bool rows = false, full = false, made = false;
    registry_person_filter_t f = *filter;
    registry_buf_t b = {0};
    int rc = registry_buf_add(&b, BOM, 3), status = 0;
    for (size_t c = 0; c < NCOLS; c++)
        rc |= s_cell(&b, s_head[c], c + 1 == NCOLS);
    if (f.after && rc == 0) {   /* a later part: rows only (the BOM and header began the file) */
        b.len = 0;
        b.p[0] = '\0';
    }
    f.limit = PAGE;
    do {
        json_t *items = NULL;
        uint64_t next = 0;
        if ((status = registry_person_list(ctx, &f, &items, &next)) != 0)
            goto done;
        size_t i;
        json_t *p;
        json_array_foreach(items, i, p) {
            uint64_t n = 0;
            if (hy_id_parse("prs", hy_json_str(p, "id"), &n) != 0)
                continue;
            if (!json_is_true(json_object_get(p, "restricted")) &&
                !json_object_get(p, "merged_into")) {
                size_t mark = b.len;
                rc |= s_row(&b, p);
                if (max > 0 && b.len > (size_t)max && rows) {   /* the next part starts here */
                    b.len = mark;
                    b.p[mark] = '\0';
                    full = true;
                    break;
                }
                rows = true;
            }
            sent = n;
        }
        json_decref(items);
        f.after = next;
    } while (f.after && !full && rc == 0);
    if (rc) {
        status = hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
        goto done;
    }
    made = true;
    *out = json_pack("{s:s,s:s%,s:s}", "content_type", "text/csv; charset=utf-8", "body", b.p,
                     b.len, "content_disposition", "attachment; filename=\"persons.csv\"");
    status = *out ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
done:
    free(b.p);
    if (made && *out && full) {   /* the rest of the list: the gateway's Link header */
        registry_buf_t link = {0};
        if (s_next_link(filter, sent, &link) != 0 ||
            json_object_set_new(*out, "link", json_stringn(link.p, link.len)) != 0) {
            json_decref(*out);
            *out = NULL;
            status = hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
        }
        free(link.p);
    }
    return status;
}
