/*
 * import_api.c — the argument and result shapes of agencies, possible duplicates and imports,
 * for the op table in registry_api.c (split off to keep that file short). Pure data.
 */
#include "proto.h"
#include "registry_import.h"
#include "spec.h"

#define OUTCOMES "created|referral_added|updated|possible_duplicate|invalid|unchanged"

const hy_field_t registry_agency_create_args[] = {
    {.name = "code", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 64,
     .doc = "the code imports and reports name (one word, stored normalised), e.g. behzisti"},
    {.name = "name", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 200,
     .doc = "the agency's Persian name, e.g. بهزیستی; unique by its normalised form"},
    {0},
};

const hy_field_t registry_agency_result[] = {
    {.name = "code", .type = HY_T_STRING, .doc = "agency code (normalised)"},
    {.name = "name", .type = HY_T_STRING, .doc = "Persian name as given"},
    {.name = "name_key", .type = HY_T_STRING, .doc = "the name's grouping key (hy_fa_key)"},
    {.name = "created_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {0},
};

const hy_field_t registry_dup_list_args[] = {
    {.name = "status", .type = HY_T_ENUM, .flags = HY_F_QUERY, .enums = "open|not_same|merged",
     .doc = "which pairs (default open: still to review)"},
    {0},
};

const hy_field_t registry_dup_not_same_args[] = {
    {.name = "reason", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 500,
     .doc = "why the two records are two people"},
    {0},
};

const hy_field_t registry_dup_result[] = {
    {.name = "id", .type = HY_T_ID, .doc = "pair id (dup_...)"},
    {.name = "person_id", .type = HY_T_ID, .doc = "the later registration"},
    {.name = "other_id", .type = HY_T_ID, .doc = "the record it looks like"},
    {.name = "reason", .type = HY_T_STRING, .doc = "same_name_and_birth_date"},
    {.name = "status", .type = HY_T_ENUM, .enums = "open|not_same|merged",
     .doc = "open; not_same once marked; merged once either record is merged"},
    {.name = "person", .type = HY_T_ANY, .doc = "identity fields of person_id"},
    {.name = "other", .type = HY_T_ANY, .doc = "identity fields of other_id"},
    {.name = "import_id", .type = HY_T_ID, .doc = "the import that registered person_id, if any"},
    {.name = "created_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {0},
};

const hy_field_t registry_import_create_args[] = {
    {.name = "agency", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 64,
     .doc = "code of the agency whose list this is (GET /v1/agencies)"},
    {.name = "date", .type = HY_T_DATE, .flags = HY_F_REQ,
     .doc = "the list's date: registration and referral date of the persons it brings"},
    {.name = "office", .type = HY_T_STRING, .max_len = 64,
     .doc = "office the persons are registered with; defaults to the caller's office"},
    {.name = "data", .type = HY_T_STRING, .max_len = 64 << 20,
     .doc = "the file (or its first part), base64: CSV UTF-8 with or without BOM, UTF-16 CSV or "
            "tab-separated text, or JSON Lines"},
    {.name = "more", .type = HY_T_BOOL,
     .doc = "true: more parts follow (POST /v1/imports/{id}/parts); else the file is whole"},
    {.name = "file_name", .type = HY_T_STRING, .max_len = 200, .doc = "the file's name, shown"},
    {0},
};

const hy_field_t registry_import_part_args[] = {
    {.name = "seq", .type = HY_T_INT, .flags = HY_F_REQ, .min = 1, .max = 1000000,
     .doc = "the part's number: 1 for the first after the create, then 2, ..."},
    {.name = "data", .type = HY_T_STRING, .max_len = 64 << 20,
     .doc = "the part's bytes, base64 (split anywhere, even inside a character)"},
    {.name = "last", .type = HY_T_BOOL, .doc = "true on the final part: the import is queued"},
    {0},
};

const hy_field_t registry_import_rows_args[] = {
    {.name = "outcome", .type = HY_T_ENUM, .flags = HY_F_QUERY, .enums = OUTCOMES,
     .doc = "only rows of this outcome (e.g. invalid, to fix and send again)"},
    {0},
};

const hy_field_t registry_import_result[] = {
    {.name = "id", .type = HY_T_ID, .doc = "import id (imp_...)"},
    {.name = "agency", .type = HY_T_STRING, .doc = "agency code"},
    {.name = "agency_name", .type = HY_T_STRING, .doc = "agency's Persian name"},
    {.name = "date", .type = HY_T_DATE, .doc = "the list's date"},
    {.name = "office", .type = HY_T_STRING, .doc = "office the persons are registered with"},
    {.name = "state", .type = HY_T_ENUM, .enums = "receiving|queued|running|done",
     .doc = "receiving parts, queued, running (rows being applied), done"},
    {.name = "format", .type = HY_T_STRING, .doc = "csv or jsonl"},
    {.name = "encoding", .type = HY_T_STRING, .doc = "utf-8, utf-16le or utf-16be"},
    {.name = "columns", .type = HY_T_ANY, .doc = "the field each CSV column was read as (null: ignored)"},
    {.name = "ignored_columns", .type = HY_T_ANY, .doc = "headers no field matched"},
    {.name = "parts", .type = HY_T_INT, .doc = "parts received"},
    {.name = "total", .type = HY_T_INT, .doc = "rows read (blank rows not counted)"},
    {.name = "done", .type = HY_T_INT, .doc = "rows applied"},
    {.name = "progress", .type = HY_T_ANY, .doc = "done / total, 0..1"},
    {.name = "blank_rows", .type = HY_T_INT, .doc = "blank rows skipped"},
    {.name = "counts", .type = HY_T_ANY, .doc = "rows per outcome (" OUTCOMES ")"},
    {.name = "created_by", .type = HY_T_STRING, .doc = "API key that sent it"},
    {.name = "created_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {.name = "finished_at", .type = HY_T_STRING, .doc = "UTC timestamp, once done"},
    {0},
};

const hy_field_t registry_import_row_result[] = {
    {.name = "row", .type = HY_T_INT, .doc = "row number (1 = the first data row)"},
    {.name = "line", .type = HY_T_INT, .doc = "line of the file it started on"},
    {.name = "input", .type = HY_T_ANY, .doc = "the row's fields as read"},
    {.name = "outcome", .type = HY_T_ENUM, .enums = OUTCOMES, .doc = "null until applied"},
    {.name = "person_id", .type = HY_T_ID, .doc = "the person it created or matched"},
    {.name = "code", .type = HY_T_STRING, .doc = "invalid: the stable error code"},
    {.name = "field", .type = HY_T_STRING, .doc = "invalid: the field at fault"},
    {.name = "detail", .type = HY_T_STRING, .doc = "invalid: a sentence"},
    {.name = "possible_duplicates", .type = HY_T_ANY, .doc = "possible_duplicate: the look-alikes"},
    {.name = "filled", .type = HY_T_ANY, .doc = "referral_added/updated: the empty fields filled"},
    {0},
};

