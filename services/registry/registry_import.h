/*
 * registry_import.h — what the import's files share (import.c, import_parse.c, import_apply.c).
 */
#ifndef REGISTRY_IMPORT_H
#define REGISTRY_IMPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* A growing text buffer (always NUL-terminated once anything was added); free p when done. */
typedef struct {
    char *p;
    size_t len, cap;
} registry_buf_t;
/* Appends n bytes. 0, or -1 when out of memory. */
int registry_buf_add(registry_buf_t *b, const void *src, size_t n);

/* The person field a column header stands for ("کد ملی" -> "national_id"), or NULL. */
const char *registry_import_column(const char *header);

/* Feeds one part of the file (raw bytes) to the import's parser state kept in imp (encoding,
 * format, delimiter, columns, carried bytes and text, line count, blank_rows). Appends each
 * complete row as {"line":N,"in":{field:text},"error"?:{code,field}} to rows. last: the file
 * ends here. 0, or -1 with a stable code in err: invalid_encoding, missing_column (no national
 * ID column), record_too_long, internal_error. */
int registry_import_feed(json_t *imp, const unsigned char *data, size_t len, bool last,
                         json_t *rows, char *err, size_t errsz);

/* Turns a row's input into persons.create arguments for agency (its name), list date and office:
 * digits folded, Jalali birth dates, sex and yes/no words in Persian or English. New object. */
json_t *registry_import_args(const json_t *in, const char *agency_name, const char *date,
                             const char *office);

/* The shapes of their ops (import_api.c), for registry_api.c's table. */
#include "spec.h"
extern const hy_field_t registry_agency_create_args[];
extern const hy_field_t registry_agency_result[];
extern const hy_field_t registry_dup_list_args[];
extern const hy_field_t registry_dup_not_same_args[];
extern const hy_field_t registry_dup_result[];
extern const hy_field_t registry_import_create_args[];
extern const hy_field_t registry_import_part_args[];
extern const hy_field_t registry_import_rows_args[];
extern const hy_field_t registry_import_result[];
extern const hy_field_t registry_import_row_result[];

#endif
