/*
 * registry_api.c — the registry's operations as data: routes, roles, argument and result shapes.
 *
 * The skeleton checks every request against these tables before a handler runs, and the gateway
 * builds its routes and /v1/openapi.json from them, so this file is the registry's contract.
 * Domain rules that need the store or the clock (a valid check digit, a date not in the future,
 * an owner that exists, an allowed stage transition) are the domain files' business.
 *
 * Error codes (besides the skeleton's 400 invalid_field/unknown_field/missing_field/invalid_date,
 * 401, 403 forbidden, 404 not_found):
 *   403 other_office                 a key of one office writing (or reading in full) another
 *                                    office's record, or naming another office in a write
 *   409 duplicate_national_id        national ID known (existing_id: the record that holds her)
 *   409 duplicate_referral           that source already referred her
 *   409 duplicate_office             office code taken
 *   409 merged                       a write to a person merged into another (merged_into)
 *   409 voided                       a void or correction of a voided activity
 *   422 invalid_national_id, invalid_birth_date, invalid_mobile, invalid_name, missing_agency,
 *       unexpected_agency            a person's fields
 *   422 immutable_field              national_id or office by PATCH, owner_id of a business
 *   422 missing_office, unknown_office, invalid_office_code, invalid_neighbourhood
 *   422 neighbourhood_not_in_office  a person's neighbourhood her office does not cover
 *   422 same_office                  a transfer to the office she is in
 *   422 merge_into_self, missing_reason (an exit without its reason)
 *   422 future_date, before_programme_start   a date it happened outside HY_PROGRAMME_START..today
 *   422 date_out_of_order            a stage change dated before the previous one
 *   422 invalid_stage_transition, unknown_person, unknown_business, duplicate_participant,
 *       missing_participants, missing_meeting_kind, unexpected_meeting_kind, missing_employer
 */
#include "proto.h"
#include "spec.h"

#define WRITE HY_ROLE_SOCIAL_SERVICES
#define READ  HY_ROLE_READERS

#define SEXES      "female|male"
#define SOURCES    "self|agency"
#define FIELDS     "agriculture|industry|handicrafts|services"
#define STAGES     "applicant|training|producing|developing|established"
#define LICENCES   "independent|supporter"
#define KINDS      "training_class|counselling|employer_referral|job_created|aid|meeting"
#define MEETINGS   "working_group|steering_council|empowerment_group"

/* ------------------------------------------------------------------ persons ------------- */

static const hy_field_t referral_fields[] = {
    {.name = "source", .type = HY_T_ENUM, .flags = HY_F_REQ, .enums = SOURCES,
     .doc = "self-referred, or referred by an agency"},
    {.name = "agency", .type = HY_T_STRING, .max_len = 200,
     .doc = "the referring agency (required when source is agency), e.g. بهزیستی"},
    {.name = "date", .type = HY_T_DATE,
     .doc = "the date of the referral; defaults to today; programme start..today"},
    {0},
};

/* The fields a person is made of; required ones get HY_F_REQ only in the create table. */
#define PERSON_FIELDS(REQ, OPT)                                                                \
    {.name = "first_name", .type = HY_T_STRING, .flags = REQ, .max_len = 100,                  \
     .doc = "first name as typed (Persian)"},                                                  \
    {.name = "last_name", .type = HY_T_STRING, .flags = REQ, .max_len = 100,                   \
     .doc = "last name as typed (Persian)"},                                                   \
    {.name = "birth_date", .type = HY_T_DATE, .flags = REQ,                                    \
     .doc = "birth date; not in the future, age at most 120"},                                 \
    {.name = "sex", .type = HY_T_ENUM, .flags = REQ, .enums = SEXES, .doc = "female or male"}, \
    {.name = "mobile", .type = HY_T_STRING, .flags = OPT, .max_len = 32,                       \
     .doc = "Iranian mobile in any common form; stored as 09xxxxxxxxx"},                       \
    {.name = "province", .type = HY_T_STRING, .flags = OPT, .max_len = 100, .doc = "province"}, \
    {.name = "city", .type = HY_T_STRING, .flags = OPT, .max_len = 100, .doc = "city"},        \
    {.name = "neighbourhood", .type = HY_T_STRING, .flags = OPT, .max_len = 200,               \
     .doc = "neighbourhood (محله)"},                                                           \
    {.name = "household_size", .type = HY_T_INT, .flags = OPT, .min = 1, .max = 30,            \
     .doc = "people in the household, 1..30"},                                                 \
    {.name = "head_of_household", .type = HY_T_BOOL, .flags = OPT,                             \
     .doc = "whether the person heads the household"},                                         \
    {.name = "dependants", .type = HY_T_INT, .flags = OPT, .min = 0, .max = 30,                \
     .doc = "dependants, 0..30"},                                                              \
    /* spec.c applies an array's max_len to its string items too: 200 items of 200 bytes. */ \
    {.name = "skills", .type = HY_T_ARRAY, .flags = OPT, .elem = HY_T_STRING, .max_len = 200,  \
     .doc = "skills, free text"},                                                              \
    {.name = "needs", .type = HY_T_ARRAY, .flags = OPT, .elem = HY_T_STRING, .max_len = 200,   \
     .doc = "needs, free text"},                                                               \
    {.name = "disability", .type = HY_T_BOOL, .flags = OPT, .doc = "has a disability"}

static const hy_field_t person_create_args[] = {
    {.name = "national_id", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 40,
     .doc = "10-digit national ID (کد ملی) with a valid check digit; Persian digits accepted"},
    PERSON_FIELDS(HY_F_REQ, 0),
    {.name = "office", .type = HY_T_STRING, .max_len = 64,
     .doc = "office the person is registered with; defaults to the caller's office"},
    {.name = "referral", .type = HY_T_OBJECT, .sub = referral_fields,
     .doc = "who referred the person; defaults to self"},
    {.name = "registered_on", .type = HY_T_DATE,
     .doc = "the date she was registered (as it happened); defaults to today; programme "
            "start..today"},
    {0},
};

/* national_id and referral are listed so that changing them is refused with a clear 422
 * (immutable_field) rather than a bare unknown_field. */
static const hy_field_t person_update_args[] = {
    {.name = "national_id", .type = HY_T_STRING, .max_len = 40,
     .doc = "immutable: refused with 422 immutable_field"},
    PERSON_FIELDS(0, HY_F_NULL),
    {.name = "office", .type = HY_T_STRING, .max_len = 64, .doc = "office the person belongs to"},
    {.name = "referral", .type = HY_T_OBJECT, .sub = referral_fields,
     .doc = "refused (422 immutable_field): add referrals with POST /v1/persons/{id}/referrals"},
    {.name = "registered_on", .type = HY_T_DATE,
     .doc = "corrects the registration date; programme start..today"},
    {0},
};

static const hy_field_t person_list_args[] = {
    {.name = "national_id", .type = HY_T_STRING, .flags = HY_F_QUERY, .max_len = 40,
     .doc = "exact national ID (any accepted form)"},
    {.name = "q", .type = HY_T_STRING, .flags = HY_F_QUERY, .max_len = 200,
     .doc = "name words; each matches the start of a word of the normalised full name"},
    {.name = "neighbourhood", .type = HY_T_STRING, .flags = HY_F_QUERY, .max_len = 200,
     .doc = "neighbourhood (normalised match)"},
    {.name = "office", .type = HY_T_STRING, .flags = HY_F_QUERY, .max_len = 64, .doc = "office"},
    {0},
};

static const hy_field_t referral_result[] = {
    {.name = "source", .type = HY_T_ENUM, .enums = SOURCES, .doc = "self or agency"},
    {.name = "agency", .type = HY_T_STRING, .doc = "referring agency"},
    {.name = "date", .type = HY_T_DATE, .doc = "when the referral was recorded"},
    {.name = "office", .type = HY_T_STRING, .doc = "office that recorded it"},
    {.name = "created_by", .type = HY_T_STRING, .doc = "API key that recorded it"},
    {0},
};

static const hy_field_t person_result[] = {
    {.name = "id", .type = HY_T_ID, .doc = "person id (prs_...)"},
    {.name = "national_id", .type = HY_T_STRING, .doc = "10 ASCII digits"},
    PERSON_FIELDS(0, 0),
    {.name = "office", .type = HY_T_STRING, .doc = "office the person belongs to"},
    {.name = "referrals", .type = HY_T_ARRAY, .elem = HY_T_OBJECT, .sub = referral_result,
     .doc = "every referral, first one first"},
    {.name = "registered_on", .type = HY_T_DATE, .doc = "the date she was registered"},
    {.name = "status", .type = HY_T_ENUM, .enums = "active|exited|deceased|duplicate_of",
     .doc = "where she stands in the programme"},
    {.name = "status_reason", .type = HY_T_STRING, .doc = "why (exits)"},
    {.name = "status_date", .type = HY_T_DATE, .doc = "when the status took effect"},
    {.name = "merged_into", .type = HY_T_ID,
     .doc = "set on a retired duplicate: the record that holds her now"},
    {.name = "merged_from", .type = HY_T_ARRAY, .elem = HY_T_ID,
     .doc = "the retired duplicates merged into this record"},
    {.name = "transfers", .type = HY_T_ARRAY, .elem = HY_T_ANY,
     .doc = "every move between offices: {from, to, date}"},
    {.name = "restricted", .type = HY_T_BOOL,
     .doc = "true when the caller's office sees only id and office (another office's person)"},
    {.name = "created_by", .type = HY_T_STRING, .doc = "API key that registered the person"},
    {.name = "created_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {.name = "updated_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {0},
};

static const hy_field_t add_referral_args[] = {
    {.name = "source", .type = HY_T_ENUM, .flags = HY_F_REQ, .enums = SOURCES,
     .doc = "self or agency"},
    {.name = "agency", .type = HY_T_STRING, .max_len = 200,
     .doc = "the referring agency (required when source is agency)"},
    {.name = "date", .type = HY_T_DATE,
     .doc = "the date of the referral; defaults to today; programme start..today"},
    {0},
};

static const hy_field_t person_status_args[] = {
    {.name = "status", .type = HY_T_ENUM, .flags = HY_F_REQ, .enums = "active|exited|deceased",
     .doc = "active, exited (needs a reason) or deceased; duplicate_of comes only from a merge"},
    {.name = "reason", .type = HY_T_STRING, .max_len = 500, .doc = "why (required to exit)"},
    {.name = "date", .type = HY_T_DATE, .doc = "when it took effect; defaults to today"},
    {0},
};

static const hy_field_t person_transfer_args[] = {
    {.name = "office", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 64,
     .doc = "the office she moves to"},
    {.name = "date", .type = HY_T_DATE, .doc = "the date of the move; defaults to today"},
    {.name = "neighbourhood", .type = HY_T_STRING, .max_len = 200,
     .doc = "her neighbourhood in the new office, when hers is not one it covers"},
    {0},
};

static const hy_field_t person_merge_args[] = {
    {.name = "into", .type = HY_T_ID, .flags = HY_F_REQ,
     .doc = "the record that survives (prs_...); this one is retired into it"},
    {0},
};

static const hy_field_t person_nid_args[] = {
    {.name = "national_id", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 40,
     .doc = "the right national ID"},
    {.name = "reason", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 500,
     .doc = "why the recorded one was wrong (kept in the event and the audit)"},
    {0},
};

/* ---------------------------------------------------------------- businesses ------------- */

static const hy_field_t licence_fields[] = {
    {.name = "type", .type = HY_T_ENUM, .flags = HY_F_REQ, .enums = LICENCES,
     .doc = "independent (مستقل) or supporter (پشتیبان)"},
    {.name = "number", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 64,
     .doc = "licence number"},
    {.name = "issued", .type = HY_T_DATE, .doc = "issue date; not in the future"},
    {0},
};

static const hy_field_t business_create_args[] = {
    {.name = "owner_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the owner (prs_...)"},
    {.name = "activity", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 200,
     .doc = "what is made or done, e.g. carpet weaving"},
    {.name = "field", .type = HY_T_ENUM, .flags = HY_F_REQ, .enums = FIELDS,
     .doc = "one of the four insurance fields"},
    {.name = "stage", .type = HY_T_ENUM, .enums = STAGES, .doc = "defaults to applicant"},
    {.name = "stage_date", .type = HY_T_DATE,
     .doc = "the date the business reached its stage; defaults to today; programme start..today"},
    {.name = "licence", .type = HY_T_OBJECT, .sub = licence_fields, .doc = "licence, if any"},
    {.name = "neighbourhood", .type = HY_T_STRING, .max_len = 200,
     .doc = "defaults to the owner's"},
    {.name = "office", .type = HY_T_STRING, .max_len = 64, .doc = "defaults to the owner's"},
    {0},
};

static const hy_field_t business_update_args[] = {
    {.name = "owner_id", .type = HY_T_ID, .doc = "immutable: refused with 422 immutable_field"},
    {.name = "activity", .type = HY_T_STRING, .max_len = 200, .doc = "activity"},
    {.name = "field", .type = HY_T_ENUM, .enums = FIELDS, .doc = "field"},
    {.name = "stage", .type = HY_T_ENUM, .enums = STAGES,
     .doc = "one step forward or back from the current stage"},
    {.name = "stage_date", .type = HY_T_DATE,
     .doc = "the date the stage changed; defaults to today; not before the previous change"},
    {.name = "licence", .type = HY_T_OBJECT, .flags = HY_F_NULL, .sub = licence_fields,
     .doc = "replaces the licence; null removes it"},
    {.name = "neighbourhood", .type = HY_T_STRING, .flags = HY_F_NULL, .max_len = 200,
     .doc = "neighbourhood"},
    {.name = "office", .type = HY_T_STRING, .max_len = 64, .doc = "office"},
    {0},
};

static const hy_field_t business_list_args[] = {
    {.name = "owner_id", .type = HY_T_ID, .flags = HY_F_QUERY, .doc = "owner (prs_...)"},
    {.name = "field", .type = HY_T_ENUM, .flags = HY_F_QUERY, .enums = FIELDS, .doc = "field"},
    {.name = "stage", .type = HY_T_ENUM, .flags = HY_F_QUERY, .enums = STAGES, .doc = "stage"},
    {.name = "office", .type = HY_T_STRING, .flags = HY_F_QUERY, .max_len = 64,
     .doc = "office (a key of one office sees only its own)"},
    {0},
};

static const hy_field_t stage_change_result[] = {
    {.name = "from", .type = HY_T_ENUM, .flags = HY_F_NULL, .enums = STAGES,
     .doc = "previous stage (null at creation)"},
    {.name = "to", .type = HY_T_ENUM, .enums = STAGES, .doc = "new stage"},
    {.name = "date", .type = HY_T_DATE, .doc = "date of the change"},
    {.name = "office", .type = HY_T_STRING, .doc = "office that recorded it"},
    {.name = "created_by", .type = HY_T_STRING, .doc = "API key that recorded it"},
    {0},
};

static const hy_field_t business_result[] = {
    {.name = "id", .type = HY_T_ID, .doc = "business id (bus_...)"},
    {.name = "owner_id", .type = HY_T_ID, .doc = "owner (prs_...)"},
    {.name = "activity", .type = HY_T_STRING, .doc = "activity"},
    {.name = "field", .type = HY_T_ENUM, .enums = FIELDS, .doc = "field"},
    {.name = "stage", .type = HY_T_ENUM, .enums = STAGES, .doc = "current stage"},
    {.name = "stage_history", .type = HY_T_ARRAY, .elem = HY_T_OBJECT, .sub = stage_change_result,
     .doc = "every stage change, the creation first"},
    {.name = "licence", .type = HY_T_OBJECT, .sub = licence_fields, .doc = "licence, if any"},
    {.name = "neighbourhood", .type = HY_T_STRING, .doc = "neighbourhood"},
    {.name = "office", .type = HY_T_STRING, .doc = "office"},
    {.name = "created_by", .type = HY_T_STRING, .doc = "API key that created it"},
    {.name = "created_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {.name = "updated_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {0},
};

/* ---------------------------------------------------------------- activities ------------- */

#define ACTIVITY_FIELDS(REQ)                                                                   \
    {.name = "kind", .type = HY_T_ENUM, .flags = REQ, .enums = KINDS,                          \
     .doc = "what was delivered"},                                                             \
    {.name = "date", .type = HY_T_DATE, .flags = REQ, .doc = "when; not in the future"},       \
    {.name = "office", .type = HY_T_STRING, .max_len = 64,                                     \
     .doc = "office that delivered it; defaults to the caller's"},                             \
    {.name = "neighbourhood", .type = HY_T_STRING, .max_len = 200, .doc = "neighbourhood"},    \
    {.name = "person_ids", .type = HY_T_ARRAY, .elem = HY_T_ID, .max_len = 1000,               \
     .doc = "participants (attendance); required except for meetings"},                       \
    {.name = "meeting_kind", .type = HY_T_ENUM, .enums = MEETINGS,                             \
     .doc = "required for (and only for) kind meeting"},                                       \
    {.name = "title", .type = HY_T_STRING, .max_len = 200, .doc = "class or meeting title"},   \
    {.name = "employer", .type = HY_T_STRING, .max_len = 200,                                  \
     .doc = "employer referred to (required for employer_referral)"},                          \
    {.name = "business_id", .type = HY_T_ID, .doc = "business concerned (bus_...)"},           \
    {.name = "value_rials", .type = HY_T_MONEY, .doc = "value of in-kind aid, rials"},         \
    {.name = "hours", .type = HY_T_INT, .min = 0, .max = 1000, .doc = "duration in hours"}

static const hy_field_t activity_create_args[] = {
    ACTIVITY_FIELDS(HY_F_REQ),
    {0},
};

static const hy_field_t activity_list_args[] = {
    {.name = "kind", .type = HY_T_ENUM, .flags = HY_F_QUERY, .enums = KINDS, .doc = "kind"},
    {.name = "office", .type = HY_T_STRING, .flags = HY_F_QUERY, .max_len = 64, .doc = "office"},
    {.name = "person_id", .type = HY_T_ID, .flags = HY_F_QUERY, .doc = "a participant (prs_...)"},
    {.name = "from", .type = HY_T_DATE, .flags = HY_F_QUERY, .doc = "first date, inclusive"},
    {.name = "to", .type = HY_T_DATE, .flags = HY_F_QUERY, .doc = "last date, inclusive"},
    {.name = "include_voided", .type = HY_T_BOOL, .flags = HY_F_QUERY,
     .doc = "also list voided activities (left out by default)"},
    {0},
};

static const hy_field_t activity_void_args[] = {
    {.name = "reason", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 500,
     .doc = "why the activity is void (recorded by mistake, twice, ...)"},
    {0},
};

static const hy_field_t activity_correct_args[] = {
    {.name = "kind", .type = HY_T_ENUM, .enums = KINDS, .doc = "the right kind"},
    {.name = "date", .type = HY_T_DATE, .doc = "the right date; programme start..today"},
    {.name = "office", .type = HY_T_STRING, .max_len = 64,
     .doc = "the right office (one the caller may write for)"},
    {.name = "person_ids", .type = HY_T_ARRAY, .elem = HY_T_ID, .max_len = 1000,
     .doc = "the right participants (replaces the list)"},
    {.name = "meeting_kind", .type = HY_T_ENUM, .flags = HY_F_NULL, .enums = MEETINGS,
     .doc = "goes with kind meeting; null clears it"},
    {.name = "employer", .type = HY_T_STRING, .flags = HY_F_NULL, .max_len = 200,
     .doc = "goes with kind employer_referral; null clears it"},
    {.name = "title", .type = HY_T_STRING, .flags = HY_F_NULL, .max_len = 200,
     .doc = "class or meeting title; null clears it"},
    {.name = "reason", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 500,
     .doc = "why the record was wrong"},
    {0},
};

static const hy_field_t activity_result[] = {
    {.name = "id", .type = HY_T_ID, .doc = "activity id (act_...)"},
    ACTIVITY_FIELDS(0),
    {.name = "voided", .type = HY_T_BOOL, .doc = "true once voided (it then counts nowhere)"},
    {.name = "voided_by", .type = HY_T_STRING, .doc = "API key that voided it"},
    {.name = "voided_at", .type = HY_T_STRING, .doc = "UTC timestamp of the void"},
    {.name = "void_reason", .type = HY_T_STRING, .doc = "why it was voided"},
    {.name = "corrected_by", .type = HY_T_STRING, .doc = "API key of the last correction"},
    {.name = "corrected_at", .type = HY_T_STRING, .doc = "UTC timestamp of the last correction"},
    {.name = "correction_reason", .type = HY_T_STRING, .doc = "why it was last corrected"},
    {.name = "created_by", .type = HY_T_STRING, .doc = "API key that recorded it"},
    {.name = "created_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {0},
};

/* ------------------------------------------------------------------- offices ------------- */

#define OFFICE_FIELDS(REQ)                                                                     \
    {.name = "name", .type = HY_T_STRING, .flags = REQ, .max_len = 200,                        \
     .doc = "the office's name (Persian)"},                                                    \
    {.name = "province", .type = HY_T_STRING, .flags = REQ, .max_len = 100, .doc = "province"}, \
    {.name = "city", .type = HY_T_STRING, .flags = REQ, .max_len = 100, .doc = "city"},        \
    {.name = "neighbourhoods", .type = HY_T_ARRAY, .elem = HY_T_STRING, .max_len = 500,        \
     .doc = "the neighbourhoods it covers; stored normalised; PATCH replaces the list"}

static const hy_field_t office_create_args[] = {
    {.name = "code", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 64,
     .doc = "the code API keys name (--office); one word, stored normalised (lower case)"},
    OFFICE_FIELDS(HY_F_REQ),
    {0},
};

static const hy_field_t office_update_args[] = {
    OFFICE_FIELDS(0),
    {0},
};

static const hy_field_t office_list_args[] = {
    {.name = "province", .type = HY_T_STRING, .flags = HY_F_QUERY, .max_len = 100,
     .doc = "only the offices of this province"},
    {0},
};

static const hy_field_t office_result[] = {
    {.name = "code", .type = HY_T_STRING, .doc = "office code (normalised)"},
    OFFICE_FIELDS(0),
    {.name = "created_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {.name = "updated_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {0},
};

/* -------------------------------------------------------------------- the table ---------- */

static const hy_op_spec_t registry_ops[] = {
    {.op = "offices.create", .method = "POST", .path = "/v1/offices", .roles = HY_ROLE_OPERATOR,
     .args = office_create_args, .result = office_result, .ok_status = 201,
     .summary = "Create an office (409 duplicate_office)"},
    {.op = "offices.update", .method = "PATCH", .path = "/v1/offices/{code}",
     .roles = HY_ROLE_OPERATOR, .args = office_update_args, .result = office_result,
     .ok_status = 200, .summary = "Change an office (neighbourhoods replaced as a whole)"},
    {.op = "offices.get", .method = "GET", .path = "/v1/offices/{code}",
     .roles = READ | HY_ROLE_OPERATOR, .args = NULL, .result = office_result, .ok_status = 200,
     .summary = "Get an office"},
    {.op = "offices.list", .method = "GET", .path = "/v1/offices", .roles = READ | HY_ROLE_OPERATOR,
     .args = office_list_args, .result = office_result, .ok_status = 200, .list = true,
     .summary = "List the offices (one page, in code order)"},
    {.op = "persons.create", .method = "POST", .path = "/v1/persons", .roles = WRITE,
     .args = person_create_args, .result = person_result, .ok_status = 201,
     .summary = "Register a person (409 duplicate_national_id with existing_id if known)"},
    {.op = "persons.get", .method = "GET", .path = "/v1/persons/{id}", .roles = READ,
     .args = NULL, .result = person_result, .ok_status = 200,
     .summary = "Get a person"},
    {.op = "persons.update", .method = "PATCH", .path = "/v1/persons/{id}", .roles = WRITE,
     .args = person_update_args, .result = person_result, .ok_status = 200,
     .summary = "Change a person's fields (null clears an optional one)"},
    {.op = "persons.list", .method = "GET", .path = "/v1/persons", .roles = READ,
     .args = person_list_args, .result = person_result, .ok_status = 200, .list = true,
     .summary = "List or search persons (q matches normalised Persian names)"},
    {.op = "persons.add_referral", .method = "POST", .path = "/v1/persons/{id}/referrals", .roles = WRITE,
     .args = add_referral_args, .result = person_result, .ok_status = 201,
     .summary = "Attach another agency's (or a self) referral to a person"},
    {.op = "persons.set_status", .method = "POST", .path = "/v1/persons/{id}/status",
     .roles = WRITE, .args = person_status_args, .result = person_result, .ok_status = 200,
     .summary = "Set a person's status (active, exited with a reason, deceased)"},
    {.op = "persons.transfer", .method = "POST", .path = "/v1/persons/{id}/transfer",
     .roles = WRITE, .args = person_transfer_args, .result = person_result, .ok_status = 200,
     .summary = "Move a person to another office from a date"},
    {.op = "persons.merge", .method = "POST", .path = "/v1/persons/{id}/merge", .roles = WRITE,
     .args = person_merge_args, .result = person_result, .ok_status = 200,
     .summary = "Merge two records of one person: this one is retired into `into`"},
    {.op = "persons.correct_national_id", .method = "POST", .path = "/v1/persons/{id}/national-id",
     .roles = HY_ROLE_OPERATOR, .args = person_nid_args, .result = person_result,
     .ok_status = 200, .summary = "Correct a wrong national ID (operator, with a reason)"},
    {.op = "businesses.create", .method = "POST", .path = "/v1/businesses", .roles = WRITE,
     .args = business_create_args, .result = business_result, .ok_status = 201,
     .summary = "Register a home business"},
    {.op = "businesses.get", .method = "GET", .path = "/v1/businesses/{id}", .roles = READ,
     .args = NULL, .result = business_result, .ok_status = 200,
     .summary = "Get a home business"},
    {.op = "businesses.update", .method = "PATCH", .path = "/v1/businesses/{id}", .roles = WRITE,
     .args = business_update_args, .result = business_result, .ok_status = 200,
     .summary = "Change a business (stage: one step forward or back)"},
    {.op = "businesses.list", .method = "GET", .path = "/v1/businesses", .roles = READ,
     .args = business_list_args, .result = business_result, .ok_status = 200, .list = true,
     .summary = "List home businesses"},
    {.op = "activities.create", .method = "POST", .path = "/v1/activities", .roles = WRITE,
     .args = activity_create_args, .result = activity_result, .ok_status = 201,
     .summary = "Record a delivered service or programme activity"},
    {.op = "activities.get", .method = "GET", .path = "/v1/activities/{id}", .roles = READ,
     .args = NULL, .result = activity_result, .ok_status = 200,
     .summary = "Get an activity"},
    {.op = "activities.void", .method = "POST", .path = "/v1/activities/{id}/void",
     .roles = WRITE | HY_ROLE_OPERATOR, .args = activity_void_args, .result = activity_result,
     .ok_status = 200,
     .summary = "Void an activity recorded by mistake (recording office or operator)"},
    {.op = "activities.correct", .method = "PATCH", .path = "/v1/activities/{id}",
     .roles = WRITE | HY_ROLE_OPERATOR, .args = activity_correct_args, .result = activity_result,
     .ok_status = 200,
     .summary = "Correct an activity's kind, date, office or participants (recording office or "
                "operator)"},
    {.op = "activities.list", .method = "GET", .path = "/v1/activities", .roles = READ,
     .args = activity_list_args, .result = activity_result, .ok_status = 200, .list = true,
     .summary = "List activities"},
    {0},
};

const hy_api_t registry_api = {.service = "registry", .id_prefixes = "prs,bus,act", .ops = registry_ops};
