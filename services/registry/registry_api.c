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
 * Households, search and licences (issue 17):
 *   409 already_in_household         the person is present in a household (household_id: which)
 *   409 member_left                  a leave of a member who has left already
 *   409 household_dissolved          a write to a household whose last member left
 *   409 household_conflict           a merge of two records present in two households
 *   409 duplicate_licence            that licence number is held by another business under the
 *                                    same licence type (existing_id: the business)
 *   422 person_or_name, missing_member   a member is a person_id or a dependant by name, one
 *   422 missing_sex, missing_birth_date, invalid_name, invalid_birth_date   a dependant's fields
 *   422 person_in_other_office       a member registered with another office than the household
 *   422 invalid_relationship         relationship head on a join (the head changes by /head)
 *   422 head_leaving                 the head leaves while others remain (name a new head first)
 *   422 head_not_registered, already_head, missing_relationship   a change of head
 *   422 invalid_mobile               GET /v1/persons?mobile= that is no Iranian mobile
 *   422 short_fragment               national_id_contains with fewer than 3 digits
 *   422 invalid_licence_number       a licence number with no digit or letter
 *   422 inconsistent_household       a person's typed dependants not fewer than household_size
 * Agencies, possible duplicates and imports:
 *   409 duplicate_agency             agency code, or a name of the same hy_fa_key, taken
 *                                    (existing_code)
 *   409 already_resolved             a possible duplicate marked not_same or merged already
 *   409 import_not_receiving         a part for an import that has had its last part
 *   409 part_out_of_order            a part whose seq is not the next one (expected_seq)
 *   422 invalid_agency_code, unknown_agency (an import's agency must be a known code)
 *   422 invalid_data                 an import part that is not base64
 *   422 invalid_encoding             a file that is neither UTF-8 nor UTF-16 text
 *   422 missing_column               a CSV with no national ID column (کد ملی / national_id)
 *   422 record_too_long              one record of over 1 MiB
 * An import row's outcome "invalid" carries the code and field persons.create would answer.
 * Submitted reports and office targets (reports_owned.c; ops without a route, asked by reporting):
 *   404 unknown_office               targets of an office that does not exist
 *   422 invalid_document             a submission without report.office/year/half
 */
#include "registry.h"
#include "proto.h"
#include "registry_import.h"
#include "registry_reports.h"
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
     .doc = "people in the household, 1..30, as she states it (the household record derives it)"},                                                 \
    {.name = "head_of_household", .type = HY_T_BOOL, .flags = OPT,                             \
     .doc = "whether she says she heads it (the household record's head_id is the fact)"},                                         \
    {.name = "dependants", .type = HY_T_INT, .flags = OPT, .min = 0, .max = 30,                \
     .doc = "dependants, 0..30, fewer than household_size (422 inconsistent_household)"},                                                              \
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
    {.name = "mobile", .type = HY_T_STRING, .flags = HY_F_QUERY, .max_len = 32,
     .doc = "mobile in any digit script, with or without +98/0098/0 (422 invalid_mobile)"},
    {.name = "national_id_contains", .type = HY_T_STRING, .flags = HY_F_QUERY, .max_len = 40,
     .doc = "at least 3 digits (any script) found anywhere in the national ID; within the "
            "caller's office"},
    {.name = "format", .type = HY_T_ENUM, .flags = HY_F_QUERY, .enums = "json|csv",
     .doc = "csv (or Accept: text/csv): the whole list for an agency, BOM, Persian headers, "
            "Jalali dates"},
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
    {.name = "import_id", .type = HY_T_ID, .doc = "the import (imp_...) that registered her, if any"},
    {.name = "possible_duplicates", .type = HY_T_ARRAY, .elem = HY_T_ID,
     .doc = "in a registration's answer: live persons of another national ID with the same "
            "normalised name and birth date (GET /v1/persons/possible-duplicates)"},
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
     .doc = "licence number; stored normalised (ASCII digits, Latin letters upper case, spaces "
            "and - / . _ removed); unique per licence type (409 duplicate_licence)"},
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
    {.name = "neighbourhood_names", .type = HY_T_ARRAY, .elem = HY_T_STRING,
     .doc = "the neighbourhoods as first written (display forms), in the order of neighbourhoods "
            "(their grouping keys)"},
    {.name = "created_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {.name = "updated_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {0},
};

/* ---------------------------------------------------------------- households ------------- */

#define RELATIONS "spouse|child|parent|sibling|grandchild|grandparent|other_relative|other"

static const hy_field_t household_create_args[] = {
    {.name = "head_person_id", .type = HY_T_ID, .flags = HY_F_REQ,
     .doc = "the head (prs_...): a registered person of the office, in no other household"},
    {.name = "office", .type = HY_T_STRING, .max_len = 64,
     .doc = "defaults to the caller's office, else the head's"},
    {.name = "date", .type = HY_T_DATE,
     .doc = "the date the household was formed (the head's joined_on); defaults to today"},
    {0},
};

static const hy_field_t household_member_args[] = {
    {.name = "person_id", .type = HY_T_ID,
     .doc = "a registered person (prs_...) of the household's office; or give name"},
    {.name = "name", .type = HY_T_STRING, .max_len = 200,
     .doc = "a dependant recorded by name (then sex and birth_date are required)"},
    {.name = "birth_date", .type = HY_T_DATE, .doc = "a dependant's birth date"},
    {.name = "sex", .type = HY_T_ENUM, .enums = SEXES, .doc = "a dependant's sex"},
    {.name = "relationship", .type = HY_T_ENUM, .flags = HY_F_REQ, .enums = RELATIONS "|head",
     .doc = "relationship to the head (head is refused: the head changes by POST .../head)"},
    {.name = "disability", .type = HY_T_BOOL,
     .doc = "has a disability (a registered person's own record is the default)"},
    {.name = "date", .type = HY_T_DATE, .doc = "the date she joined; defaults to today"},
    {0},
};

static const hy_field_t household_leave_args[] = {
    {.name = "date", .type = HY_T_DATE,
     .doc = "the date she left; not before she joined; defaults to today"},
    {.name = "reason", .type = HY_T_STRING, .max_len = 500, .doc = "why (marriage, death, ...)"},
    {0},
};

static const hy_field_t household_head_args[] = {
    {.name = "member", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 64,
     .doc = "the new head: a present registered member, by member id (m2) or person id"},
    {.name = "previous_head_relationship", .type = HY_T_ENUM, .enums = RELATIONS,
     .doc = "the previous head's relationship to the new one (required while she stays)"},
    {.name = "date", .type = HY_T_DATE, .doc = "the date the head changed; defaults to today"},
    {0},
};

static const hy_field_t household_list_args[] = {
    {.name = "office", .type = HY_T_STRING, .flags = HY_F_QUERY, .max_len = 64,
     .doc = "office (a key of one office sees only its own)"},
    {.name = "person_id", .type = HY_T_ID, .flags = HY_F_QUERY,
     .doc = "the household this person is present in"},
    {0},
};

static const hy_field_t household_member_result[] = {
    {.name = "member_id", .type = HY_T_STRING, .doc = "the member within the household (m1, m2, ...)"},
    {.name = "person_id", .type = HY_T_ID, .doc = "a registered member (prs_...)"},
    {.name = "name", .type = HY_T_STRING, .doc = "a dependant recorded by name"},
    {.name = "relationship", .type = HY_T_ENUM, .enums = RELATIONS "|head",
     .doc = "relationship to the head"},
    {.name = "sex", .type = HY_T_ENUM, .enums = SEXES, .doc = "sex"},
    {.name = "birth_date", .type = HY_T_DATE, .doc = "birth date"},
    {.name = "disability", .type = HY_T_BOOL, .doc = "has a disability"},
    {.name = "joined_on", .type = HY_T_DATE, .doc = "when she joined"},
    {.name = "left_on", .type = HY_T_DATE, .doc = "when she left (absent while present)"},
    {.name = "leave_reason", .type = HY_T_STRING, .doc = "why she left"},
    {0},
};

static const hy_field_t household_result[] = {
    {.name = "id", .type = HY_T_ID, .doc = "household id (hhd_...)"},
    {.name = "office", .type = HY_T_STRING, .doc = "office"},
    {.name = "head_id", .type = HY_T_ID, .doc = "the head (prs_...); null once dissolved"},
    {.name = "status", .type = HY_T_ENUM, .enums = "active|dissolved",
     .doc = "dissolved when its last member left"},
    {.name = "members", .type = HY_T_ARRAY, .elem = HY_T_OBJECT, .sub = household_member_result,
     .doc = "every member ever, in the order they joined (leavers keep left_on)"},
    {.name = "size", .type = HY_T_INT, .doc = "members present (derived, never typed)"},
    {.name = "dependants", .type = HY_T_INT,
     .doc = "members present other than the head (derived, never typed)"},
    {.name = "created_by", .type = HY_T_STRING, .doc = "API key that created it"},
    {.name = "created_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {.name = "updated_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {0},
};

/* -------------------------------------------------------------------- the table ---------- */

static const hy_op_spec_t registry_ops[] = {
    {.op = "offices.create", .handler = registry_office_create, .method = "POST", .path = "/v1/offices", .roles = HY_ROLE_OPERATOR,
     .args = office_create_args, .result = office_result, .ok_status = 201,
     .summary = "Create an office (409 duplicate_office)"},
    {.op = "offices.update", .call = HY_CALL_SA(registry_office_update, "code"), .method = "PATCH", .path = "/v1/offices/{code}",
     .roles = HY_ROLE_OPERATOR, .args = office_update_args, .result = office_result,
     .ok_status = 200, .summary = "Change an office (neighbourhoods replaced as a whole)"},
    {.op = "offices.get", .call = HY_CALL_S(registry_office_get, "code"), .method = "GET", .path = "/v1/offices/{code}",
     .roles = READ | HY_ROLE_OPERATOR, .args = NULL, .result = office_result, .ok_status = 200,
     .summary = "Get an office"},
    {.op = "offices.list", .handler = registry_h_offices_list, .method = "GET", .path = "/v1/offices", .roles = READ | HY_ROLE_OPERATOR,
     .args = office_list_args, .result = office_result, .ok_status = 200, .list = true,
     .summary = "List the offices (one page, in code order)"},
    {.op = "persons.create", .handler = registry_h_persons_create, .method = "POST", .path = "/v1/persons", .roles = WRITE,
     .args = person_create_args, .result = person_result, .ok_status = 201,
     .prepare = registry_persons_prepare,
     .summary = "Register a person (409 duplicate_national_id with existing_id if known)"},
    {.op = "persons.get", .handler = registry_h_persons_get, .method = "GET", .path = "/v1/persons/{id}", .roles = READ,
     .args = NULL, .result = person_result, .ok_status = 200, .point_read = true,
     .summary = "Get a person"},
    {.op = "persons.update", .handler = registry_h_persons_update, .method = "PATCH", .path = "/v1/persons/{id}", .roles = WRITE,
     .args = person_update_args, .result = person_result, .ok_status = 200,
     .summary = "Change a person's fields (null clears an optional one)"},
    {.op = "persons.list", .handler = registry_h_persons_list, .method = "GET", .path = "/v1/persons", .roles = READ,
     .args = person_list_args, .result = person_result, .ok_status = 200, .list = true,
     .summary = "List or search persons (q matches normalised Persian names)", .formats = "csv"},
    {.op = "persons.add_referral", .call = HY_CALL_SSSS(registry_person_add_referral, "id", "source", "agency", "date"), .method = "POST", .path = "/v1/persons/{id}/referrals", .roles = WRITE,
     .args = add_referral_args, .result = person_result, .ok_status = 201,
     .summary = "Attach another agency's (or a self) referral to a person"},
    {.op = "persons.set_status", .call = HY_CALL_SCA(registry_person_set_status, "id"), .method = "POST", .path = "/v1/persons/{id}/status",
     .roles = WRITE, .args = person_status_args, .result = person_result, .ok_status = 200,
     .summary = "Set a person's status (active, exited with a reason, deceased)"},
    {.op = "persons.transfer", .call = HY_CALL_SCA(registry_person_transfer, "id"), .method = "POST", .path = "/v1/persons/{id}/transfer",
     .roles = WRITE, .args = person_transfer_args, .result = person_result, .ok_status = 200,
     .summary = "Move a person to another office from a date"},
    {.op = "persons.merge", .call = HY_CALL_SS(registry_person_merge, "id", "into"), .method = "POST", .path = "/v1/persons/{id}/merge", .roles = WRITE,
     .args = person_merge_args, .result = person_result, .ok_status = 200,
     .summary = "Merge two records of one person: this one is retired into `into`"},
    {.op = "persons.correct_national_id", .call = HY_CALL_SSS(registry_person_correct_nid, "id", "national_id", "reason"), .method = "POST", .path = "/v1/persons/{id}/national-id",
     .roles = HY_ROLE_OPERATOR, .args = person_nid_args, .result = person_result,
     .ok_status = 200, .summary = "Correct a wrong national ID (operator, with a reason)"},
    {.op = "businesses.create", .handler = registry_business_create, .method = "POST", .path = "/v1/businesses", .roles = WRITE,
     .args = business_create_args, .result = business_result, .ok_status = 201,
     .summary = "Register a home business"},
    {.op = "businesses.get", .call = HY_CALL_S(registry_business_get, "id"), .method = "GET", .path = "/v1/businesses/{id}", .roles = READ,
     .args = NULL, .result = business_result, .ok_status = 200,
     .summary = "Get a home business"},
    {.op = "businesses.update", .call = HY_CALL_SA(registry_business_update, "id"), .method = "PATCH", .path = "/v1/businesses/{id}", .roles = WRITE,
     .args = business_update_args, .result = business_result, .ok_status = 200,
     .summary = "Change a business (stage: one step forward or back)"},
    {.op = "businesses.list", .handler = registry_business_list, .method = "GET", .path = "/v1/businesses", .roles = READ,
     .args = business_list_args, .result = business_result, .ok_status = 200, .list = true,
     .summary = "List home businesses"},
    {.op = "activities.create", .handler = registry_activity_create, .method = "POST", .path = "/v1/activities", .roles = WRITE,
     .args = activity_create_args, .result = activity_result, .ok_status = 201,
     .summary = "Record a delivered service or programme activity"},
    {.op = "activities.get", .call = HY_CALL_S(registry_activity_get, "id"), .method = "GET", .path = "/v1/activities/{id}", .roles = READ,
     .args = NULL, .result = activity_result, .ok_status = 200,
     .summary = "Get an activity"},
    {.op = "activities.void", .call = HY_CALL_SS(registry_activity_void, "id", "reason"), .method = "POST", .path = "/v1/activities/{id}/void",
     .roles = WRITE | HY_ROLE_OPERATOR, .args = activity_void_args, .result = activity_result,
     .ok_status = 200,
     .summary = "Void an activity recorded by mistake (recording office or operator)"},
    {.op = "activities.correct", .call = HY_CALL_SA(registry_activity_correct, "id"), .method = "PATCH", .path = "/v1/activities/{id}",
     .roles = WRITE | HY_ROLE_OPERATOR, .args = activity_correct_args, .result = activity_result,
     .ok_status = 200,
     .summary = "Correct an activity's kind, date, office or participants (recording office or "
                "operator)"},
    {.op = "activities.list", .handler = registry_activity_list, .method = "GET", .path = "/v1/activities", .roles = READ,
     .args = activity_list_args, .result = activity_result, .ok_status = 200, .list = true,
     .summary = "List activities"},
    {.op = "households.create", .handler = registry_household_create, .method = "POST", .path = "/v1/households", .roles = WRITE,
     .args = household_create_args, .result = household_result, .ok_status = 201,
     .summary = "Form a household headed by a registered person"},
    {.op = "households.list", .handler = registry_household_list, .method = "GET", .path = "/v1/households", .roles = READ,
     .args = household_list_args, .result = household_result, .ok_status = 200, .list = true,
     .summary = "List households (of an office, or the one a person is in)"},
    {.op = "households.get", .call = HY_CALL_S(registry_household_get, "id"), .method = "GET", .path = "/v1/households/{id}", .roles = READ,
     .args = NULL, .result = household_result, .ok_status = 200,
     .summary = "Get a household with its members, size and dependants"},
    {.op = "households.add_member", .call = HY_CALL_SA(registry_household_add_member, "id"), .method = "POST", .path = "/v1/households/{id}/members",
     .roles = WRITE, .args = household_member_args, .result = household_result,
     .ok_status = 201,
     .summary = "A registered person or a dependant recorded by name joins (409 "
                "already_in_household)"},
    {.op = "households.leave", .call = HY_CALL_SSA(registry_household_leave, "id", "member"), .method = "POST",
     .path = "/v1/households/{id}/members/{member}/leave", .roles = WRITE,
     .args = household_leave_args, .result = household_result, .ok_status = 200,
     .summary = "A member (member id or person id) leaves the household"},
    {.op = "households.set_head", .call = HY_CALL_SA(registry_household_set_head, "id"), .method = "POST", .path = "/v1/households/{id}/head",
     .roles = WRITE, .args = household_head_args, .result = household_result, .ok_status = 200,
     .summary = "A present registered member becomes the head"},
    {.op = "agencies.create", .handler = registry_h_agencies_create, .method = "POST", .path = "/v1/agencies", .roles = HY_ROLE_OPERATOR,
     .args = registry_agency_create_args, .result = registry_agency_result, .ok_status = 201,
     .summary = "Add a referring agency (409 duplicate_agency)"},
    {.op = "agencies.list", .handler = registry_h_agencies_list, .method = "GET", .path = "/v1/agencies",
     .roles = READ | HY_ROLE_OPERATOR, .args = NULL, .result = registry_agency_result, .ok_status = 200,
     .list = true, .summary = "List the agencies (one page, in code order)"},
    {.op = "persons.possible_duplicates", .handler = registry_h_possible_duplicates, .method = "GET", .path = "/v1/persons/possible-duplicates",
     .roles = READ, .args = registry_dup_list_args, .result = registry_dup_result, .ok_status = 200, .list = true,
     .summary = "Possible duplicates to review (same name and birth date, other national ID)"},
    {.op = "persons.not_same", .handler = registry_h_not_same, .method = "POST",
     .path = "/v1/persons/possible-duplicates/{id}/not-same", .roles = WRITE,
     .args = registry_dup_not_same_args, .result = registry_dup_result, .ok_status = 200,
     .summary = "Resolve a possible duplicate as two people (merge resolves it as one)"},
    {.op = "imports.create", .handler = registry_h_imports_create, .method = "POST", .path = "/v1/imports", .roles = WRITE,
     .args = registry_import_create_args, .result = registry_import_result, .ok_status = 202,
     .summary = "Import an agency's list (202: applied in the background; parts follow if more)",
     .prepare = registry_imports_create_prepare},
    {.op = "imports.add_part", .handler = registry_h_imports_add_part, .method = "POST", .path = "/v1/imports/{id}/parts", .roles = WRITE,
     .args = registry_import_part_args, .result = registry_import_result, .ok_status = 202,
     .summary = "Send the next part of an import's file",
     .prepare = registry_imports_part_prepare, .prepare_reads = true},
    {.op = "imports.get", .handler = registry_h_imports_get, .method = "GET", .path = "/v1/imports/{id}", .roles = READ,
     .args = NULL, .result = registry_import_result, .ok_status = 200,
     .summary = "An import's state, progress and counts per outcome"},
    {.op = "imports.rows", .handler = registry_h_imports_rows, .method = "GET", .path = "/v1/imports/{id}/rows", .roles = READ,
     .args = registry_import_rows_args, .result = registry_import_row_result, .ok_status = 200, .list = true,
     .summary = "An import's rows with their outcomes (outcome=invalid to fix and resend)"},
    {.op = "reports.record", .handler = registry_report_record, .roles = WRITE | HY_ROLE_OPERATOR | HY_ROLE_SERVICE,
     .args = registry_report_record_args, .ok_status = 201, .read_only = -1,
     .summary = "Record a half-year report a reporting replica computed (reports_owned.c; no route)"},
    {.op = "offices.targets_set", .handler = registry_office_targets_set, .roles = WRITE | HY_ROLE_OPERATOR | HY_ROLE_SERVICE,
     .args = registry_targets_set_args, .ok_status = 200, .read_only = -1,
     .summary = "Replace an office's targets for a half (reports_owned.c; no route)"},
    {0},
};

extern const hy_event_spec_t registry_events[];
const hy_api_t registry_api = {.service = "registry", .id_prefixes = "prs,bus,act,hhd,sub", .ops = registry_ops, .events = registry_events};

/* ---- events published (spec.h hy_event_spec_t): the data JSON Schema of each, served at
 * /v1/schemas/events/{type} and listed in /v1/asyncapi.json. Data may carry more members. */
static const hy_field_t registry_ev_person[] = {
    {.name = "id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the person"},
    {.name = "office", .type = HY_T_STRING, .doc = "the office the person belongs to"},
    {.name = "before", .type = HY_T_OBJECT, .doc = "the whole person before the change (updated)"},
    {0},
};
static const hy_field_t registry_ev_office[] = {
    {.name = "code", .type = HY_T_STRING, .flags = HY_F_REQ, .doc = "the office code"},
    {.name = "name", .type = HY_T_STRING, .doc = "its Persian name"},
    {0},
};
static const hy_field_t registry_ev_status[] = {
    {.name = "id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the person"},
    {.name = "status", .type = HY_T_ENUM, .flags = HY_F_REQ,
     .enums = "active|exited|deceased|duplicate_of", .doc = "the status after"},
    {.name = "reason", .type = HY_T_STRING, .doc = "why"},
    {.name = "date", .type = HY_T_DATE, .doc = "when it took effect"},
    {.name = "duplicate_of", .type = HY_T_ID, .doc = "the surviving record (duplicate_of)"},
    {0},
};
static const hy_field_t registry_ev_transferred[] = {
    {.name = "id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the person"},
    {.name = "from_office", .type = HY_T_STRING, .flags = HY_F_REQ, .doc = "the office before"},
    {.name = "to_office", .type = HY_T_STRING, .flags = HY_F_REQ, .doc = "the office after"},
    {.name = "date", .type = HY_T_DATE, .flags = HY_F_REQ, .doc = "when"},
    {.name = "person", .type = HY_T_OBJECT, .doc = "the whole person after"},
    {0},
};
static const hy_field_t registry_ev_merged[] = {
    {.name = "id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the retired record"},
    {.name = "into", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the surviving record"},
    {.name = "date", .type = HY_T_DATE, .flags = HY_F_REQ, .doc = "when"},
    {0},
};
static const hy_field_t registry_ev_entity[] = {
    {.name = "id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the record"},
    {0},
};
static const hy_field_t registry_ev_corrected[] = {
    {.name = "id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the activity"},
    {.name = "before", .type = HY_T_OBJECT, .flags = HY_F_REQ, .doc = "the activity before"},
    {.name = "after", .type = HY_T_OBJECT, .flags = HY_F_REQ, .doc = "the activity after"},
    {.name = "reason", .type = HY_T_STRING, .doc = "why"},
    {0},
};
static const hy_field_t registry_ev_voided[] = {
    {.name = "id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the activity"},
    {.name = "before", .type = HY_T_OBJECT, .flags = HY_F_REQ, .doc = "the activity voided"},
    {.name = "reason", .type = HY_T_STRING, .doc = "why"},
    {.name = "voided_by", .type = HY_T_STRING, .doc = "the key that voided it"},
    {0},
};
static const hy_field_t registry_ev_business[] = {
    {.name = "id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the business"},
    {.name = "owner_id", .type = HY_T_ID, .doc = "its owner"},
    {0},
};
static const hy_field_t registry_ev_household[] = {
    {.name = "id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the household"},
    {.name = "office", .type = HY_T_STRING, .doc = "its office"},
    {.name = "head_id", .type = HY_T_ID, .doc = "the head (null once dissolved)"},
    {.name = "members", .type = HY_T_ARRAY, .elem = HY_T_OBJECT, .doc = "every member, present or left"},
    {.name = "size", .type = HY_T_INT, .doc = "members present"},
    {.name = "dependants", .type = HY_T_INT, .doc = "members present other than the head"},
    {.name = "date", .type = HY_T_DATE, .doc = "when it happened"},
    {0},
};
static const hy_field_t registry_ev_agency[] = {
    {.name = "code", .type = HY_T_STRING, .flags = HY_F_REQ, .doc = "the agency code (normalised)"},
    {.name = "name", .type = HY_T_STRING, .doc = "its Persian name"},
    {0},
};
const hy_event_spec_t registry_events[] = {
    {"registry.office.created", "An office was created", registry_ev_office},
    {"registry.office.updated", "An office changed", registry_ev_office},
    {"registry.person.registered", "A person was registered", registry_ev_person},
    {"registry.person.updated", "A person's record changed (the whole person after)", registry_ev_person},
    {"registry.person.transferred", "A person moved to another office", registry_ev_transferred},
    {"registry.person.status_changed", "A person exited, died, became active again or was found a duplicate", registry_ev_status},
    {"registry.person.merged", "A duplicate record was merged into another", registry_ev_merged},
    {"registry.activity.recorded", "An activity was recorded", registry_ev_entity},
    {"registry.activity.corrected", "An activity was corrected", registry_ev_corrected},
    {"registry.activity.voided", "An activity was voided (it counts nowhere afterwards)", registry_ev_voided},
    {"registry.business.created", "A business was registered", registry_ev_business},
    {"registry.business.updated", "A business changed", registry_ev_business},
    {"registry.business.stage_changed", "A business moved to another stage", registry_ev_business},
    {"registry.household.created", "A household was formed (the whole household after)", registry_ev_household},
    {"registry.household.member_joined", "A member joined a household", registry_ev_household},
    {"registry.household.member_left", "A member left a household", registry_ev_household},
    {"registry.household.head_changed", "A household's head changed", registry_ev_household},
    {"registry.agency.created", "A referring agency was added", registry_ev_agency},
    {"registry.report.submitted", "A half-year report was submitted (data: the signed canonical document)", registry_ev_report},
    {"registry.office.targets_set", "An office's targets for a half were set", registry_ev_targets},
    {0},
};
