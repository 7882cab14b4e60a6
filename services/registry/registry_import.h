/*
 * registry_import.h — what the import's files share (import.c, import_parse.c, import_apply.c).
 */
#ifndef REGISTRY_IMPORT_H
#define REGISTRY_IMPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry.h"

/* A growing text buffer (always NUL-terminated once anything was added); free p when done. */
typedef struct {
    char *p;
    size_t len, cap;
} registry_buf_t;
/* Appends n bytes. 0, or -1 when out of memory. */
int registry_buf_add(registry_buf_t *b, const void *src, size_t n);
/* Appends v as compact JSON (members in their order), what json_dumps would write, without
 * building a text per value. 0, or -1 when out of memory. */
int registry_json_add(registry_buf_t *b, const json_t *v);

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
/* The same arguments straight from a stored row's text, {"line":N,"in":{field:text,..},"row":N}
 * as the import stored it, without decoding the row into JSON first (import_prep.c, for every row).
 * NULL when the text is not in that plain form (an "error" member, an escape in a string, a
 * key twice, ...): the caller decodes the row and calls registry_import_args. */
json_t *registry_import_args_text(const char *text, size_t len, const char *agency_name,
                                  const char *date, const char *office);

/* Writes an invalid outcome (code, field or null, detail if any) into a row. */
void registry_import_invalid(json_t *row, const char *code, const char *field, const char *detail);

/* One row of an import, prepared for the step (import_prep.c): its stored text and its parsed
 * JSON (which gets the outcome), its persons.create arguments and normalised national ID when
 * ready (it passed the spec and the ID check); not ready means its outcome, invalid, is set. */
typedef struct {
    json_t *row;
    json_t *args;
    const char *text;
    size_t len;
    char nid[11];
    bool ready;
    registry_draft_t draft;   /* persons.create worked out ahead (made when ready) */
} registry_prow_t;

/* Rows prepared at a time (import_prep.c): the writer applies one chunk while the next is
 * prepared on hy-import-prep. 512 rather than 128 (measured with make bench): a step's commit
 * of thousands of rows leaves the thread time to prepare a whole chunk, so the next step starts
 * on rows ready. */
#define REGISTRY_PREP_CHUNK 512

/* The next rows of import n (imp: its record) from row number from, prepared: at most max,
 * none past total, in *rows (valid until registry_prep_done) and *count (at least 1). The
 * chunk after them is handed to a thread meanwhile. 0, or an LMDB error (MDB_CORRUPTED for a
 * stored row that is not JSON). registry_state(ctx)->prep is created on first use. */
struct hy_ctx;
struct registry_prep;
int registry_prep_take(struct hy_ctx *ctx, uint64_t n, const json_t *imp, uint64_t from,
                       uint64_t total, size_t max, registry_prow_t **rows, size_t *count);
/* The writer is done with the first k rows registry_prep_take gave (their outcomes written). */
void registry_prep_done(struct registry_prep *p, size_t k);
/* Forgets every prepared row (a step that failed: its rows may hold half an outcome). */
void registry_prep_reset(struct registry_prep *p);
/* Stops the thread and frees everything (registry_close, the registry's state with it). */
void registry_prep_free(struct registry_prep *p);

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
