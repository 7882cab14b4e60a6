/*
 * registry.h — the registry service: beneficiaries (persons), their home businesses and the
 * activities (services delivered) recorded for them.
 *
 * Route -> op -> handler -> domain function: registry_api.c describes the ops, handlers.c maps
 * each op to a thin handler, and persons.c, search.c, businesses.c and activities.c hold the
 * domain rules. Domain functions take the request context (its write transaction, clock and
 * actor) and plain values, and return the skeleton's convention: 0 with *out set to a new
 * reference (the reply's status is the op row's), or -1 from hy_fail/hy_fail_mdb. They know nothing of HTTP.
 *
 * Records are JSON documents keyed by number; every index is one MDB_DUPSORT database per entity
 * whose keys carry a one-letter tag ("i:" national ID, "n:" name word, "o:" office, ...), so
 * the service needs only seven databases.
 */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <jansson.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "service.h"

/* The service's state: its database handles, opened once by registry_open. */
typedef struct {
    MDB_dbi meta;          /* counters: "person", "business", "activity" */
    MDB_dbi persons;       /* person number -> person JSON */
    MDB_dbi person_idx;    /* registry.person_keys (DUPFIXED): "i:"nid (unique), "o:"office,
                            * "h:"neighbourhood -> person number */
    MDB_dbi name_idx;      /* "n:"run of name words "\0" person number (8), no value (search.c);
                            * and duplicates.c's name-and-birth-date keys ("\x01" before it) */
    MDB_dbi name_new;      /* names.c: person number -> her name_idx keys, not merged yet */
    int64_t names_staged_at; /* names.c: when a registration last staged keys (µs) */
    size_t names_stage_max;  /* names.c: registry_names_stage_max() when opened */
    int64_t names_idle_us;   /* names.c: HY_NAME_STAGE_IDLE_MS: idle this long, merge all */
    struct registry_stagemap *stagemap; /* names.c: staged ID and duplicate keys (reactor) */
    uint64_t stagemap_pruned;  /* names.c: the merge mark the map was last pruned at */
    MDB_dbi businesses;    /* business number -> business JSON */
    MDB_dbi business_idx;  /* "p:"owner number (8 bytes), "f:"field, "s:"stage */
    MDB_dbi activities;    /* activity number -> activity JSON */
    MDB_dbi activity_idx;  /* "k:"kind, "o:"office, "p:"participant number (8 bytes) */
    MDB_dbi offices;       /* normalised office code -> office JSON */
    MDB_dbi households;    /* household number -> household JSON */
    MDB_dbi household_idx; /* "p:"person number (present members only), "o:"office */
    /* agencies.c, duplicates.c, import*.c */
    MDB_dbi agencies;      /* normalised agency code -> agency JSON */
    MDB_dbi dups;          /* possible-duplicate number -> {id, person_id, other_id, status, ..} */
    MDB_dbi imports;       /* import number -> import JSON (state, counts, column map, carry) */
    MDB_dbi import_rows;   /* import(8) row(8) -> row JSON (input, outcome) */
    MDB_dbi import_idx;    /* "a:" -> active import; "o:"import(8)outcome -> row */
    MDB_dbi reports;       /* reports_owned.c: "s:"u64 -> submission summary, "t:"office|year|half -> targets */
    /* During an import step only: its office, read once (registry_office_find answers it) */
    char office_memo_code[72];
    json_t *office_memo;
    /* offices.c: the office registry_office_resolve decoded last in a write transaction, and
     * the stored bytes it was decoded from (reused while those bytes are the same) */
    char *office_seen_text;
    size_t office_seen_len;
    json_t *office_seen;
    struct registry_prep *prep;   /* import_prep.c: an import's next rows, prepared ahead */
} registry_t;

extern const hy_api_t registry_api;
extern const hy_service_def_t registry_def;
/* Frees the state, stopping the import's preparing thread first (import_prep.c). */
void registry_close(void *state);

/* The handlers of registry_api.c's rows that are not a domain function (handlers.c). */
hy_handler_t registry_h_offices_list, registry_h_persons_create, registry_h_persons_get,
    registry_h_persons_update, registry_h_persons_list;

/* Opens the databases into a new registry_t; returns 0 or an LMDB error. */
int  registry_open(hy_store_t *store, void **state);

/* Keys of registry.name_idx worked out ahead, without the person number each is stored with
 * (search.c's name runs, each ended by "\0"; duplicates.c's name-and-birth-date key): made from
 * a person's names and birth date alone, so on any thread. Plain data, no allocation: the
 * buffer holds the longest name the spec allows. */
#define REGISTRY_KEYSET_MAX 18
#define REGISTRY_KEYSET_BYTES 9216
typedef struct {
    int count;        /* keys held */
    int dup;          /* index of duplicates.c's key, -1 when none (no birth date) */
    bool full;        /* a key did not fit (cannot happen within the spec): made again */
    size_t used;
    uint16_t off[REGISTRY_KEYSET_MAX], len[REGISTRY_KEYSET_MAX];
    char buf[REGISTRY_KEYSET_BYTES];
} registry_keyset_t;
static inline void registry_keyset_init(registry_keyset_t *ks)
{
    ks->count = 0;
    ks->dup = -1;
    ks->full = false;
    ks->used = 0;
}
/* Adds one key: its index, or -1 (and full set) when it does not fit. */
int registry_keyset_add(registry_keyset_t *ks, const char *key, size_t len);
/* Adds the person's name runs (search.c). 0, or ENOMEM. */
int registry_name_runs(const json_t *person, registry_keyset_t *ks);
/* Puts (idempotent) or deletes every key of ks with person number n after it. 0 or an LMDB
 * error. */
int registry_keyset_put(MDB_txn *txn, registry_t *st, uint64_t n, const registry_keyset_t *ks,
                        bool put);

/* --- the name index's newest keys (names.c) --------------------------------------------- */
/* Staged persons at which the background step merges them (HY_NAME_STAGE_MAX, default 256; 0:
 * registrations put their keys into name_idx directly). Read by registry_open into
 * names_stage_max. */
size_t registry_names_stage_max(void);
/* Stages person n's national-ID key (nid_key, nid_len bytes: "i:"nid; none when nid_len is 0)
 * and name_idx keys (ks: without her number); on the reactor. 0 or an LMDB error. */
int registry_names_stage(MDB_txn *txn, registry_t *st, uint64_t n, const char *nid_key,
                         size_t nid_len, const registry_keyset_t *ks);
/* The staged person whose national-ID key is key: 0 with *n, MDB_NOTFOUND, or an LMDB error.
 * writer: on the reactor, answered from the stage map; otherwise by scanning the stage.
 * Callers ask registry_nid_owner (search.c), which looks in person_keys first. */
int registry_names_staged_nid(MDB_txn *txn, const registry_t *st, bool writer, const char *key,
                              size_t klen, uint64_t *n);
/* On the reactor: calls fn for each staged person holding the duplicate key key (fn returns 0
 * to go on). 0, fn's non-zero return, or an LMDB error. */
int registry_names_staged_dup(MDB_txn *txn, const registry_t *st, const char *key, size_t klen,
                              int (*fn)(uint64_t n, void *user), void *user);
/* registry_open: builds the stage map from what is staged; registry_close frees it. */
int registry_names_open(MDB_txn *txn, registry_t *st);
void registry_names_close(registry_t *st);
/* At the start of a background step: forgets the map's entries the last committed merge put
 * into the indexes. 0 or an LMDB error. */
int registry_names_prune(MDB_txn *txn, registry_t *st);
/* Drops person n's staged keys, if any (her keys are about to change). 0 or an LMDB error. */
int registry_names_unstage(MDB_txn *txn, registry_t *st, uint64_t n);
/* Calls fn for every staged name key (without the number, which is n), in person order; stops at
 * fn's first non-zero return, which it returns; else 0 or an LMDB error. */
int registry_names_staged_each(MDB_txn *txn, const registry_t *st,
                               int (*fn)(uint64_t n, const char *key, size_t len, void *user),
                               void *user);
/* How many persons are staged. */
size_t registry_names_staged(MDB_txn *txn, const registry_t *st);
/* How many keys the writer's stage map holds (0 without one): what a prune has not forgotten. */
size_t registry_names_mapped(const registry_t *st);
/* Moves the first max staged persons' keys into name_idx and person_keys (sorted) and unstages
 * them; *merged
 * gets how many. 0 or an LMDB error (ENOMEM). */
int registry_names_merge(MDB_txn *txn, registry_t *st, size_t max, size_t *merged);
/* The registry's background step (service.h): staged names merged when due, then an import's
 * next rows (registry_import_step). */
int registry_background(hy_ctx_t *ctx);

/* --- persons (persons.c, search.c) ------------------------------------------------------ */
/* Registers a person from checked args; 201 with the person, 409 duplicate_national_id with
 * "existing_id", 422 for a field a rule refuses. */
int registry_person_create(hy_ctx_t *ctx, json_t *args, json_t **person);
/* The same answering the person as the text just stored (a raw result, hy_result_raw): what
 * persons.create replies, without encoding her a second time. */
int registry_person_create_raw(hy_ctx_t *ctx, json_t *args, json_t **result);

/* A registration worked out from its arguments alone: what persons.create checks and builds
 * before it needs the store (the national ID's form and check digit, every field's rules, the
 * referral, the name-index keys), so that it can be made away from the writer, on any thread
 * (an import's rows are drafted on hy-import-prep). ctx needs today, req (the actor) and
 * collects the refusal; it is left without an error. */
enum {
    REGISTRY_DRAFT_BEFORE_LOOKUP,   /* a refusal answered before the national ID is looked up */
    REGISTRY_DRAFT_AFTER_LOOKUP,    /* ... after it (a known ID is 409 first) */
    REGISTRY_DRAFT_AFTER_OFFICE,    /* ... after the office and neighbourhood checks */
};
typedef struct {
    bool made;
    char today[11];           /* the day its dates were checked against */
    json_t *error;            /* refused: hy_fail's error, its status and stage; else NULL */
    int status, stage;
    char nid[11];
    json_t *fields;           /* the checked fields in their stored form */
    json_t *ref;              /* the referral, its "office" null until the writer knows it */
    registry_keyset_t keys;   /* the name runs and the duplicate key */
} registry_draft_t;
/* An empty draft (its keyset's buffer left as it is: a draft is large). */
static inline void registry_draft_init(registry_draft_t *d)
{
    d->made = false;
    d->today[0] = d->nid[0] = '\0';
    d->error = d->fields = d->ref = NULL;
    d->status = d->stage = 0;
    registry_keyset_init(&d->keys);
}
/* Fills *d (which it owns until registry_draft_clear). 0, or -1 when refused (d->error). */
int registry_person_draft(hy_ctx_t *ctx, const json_t *args, registry_draft_t *d);
void registry_draft_clear(registry_draft_t *d);
/* registry_person_create with a draft made ahead from these args (a draft of another day is
 * made again). */
int registry_person_create_drafted(hy_ctx_t *ctx, json_t *args, const registry_draft_t *d,
                                   json_t **person);
/* The same answering the text stored, as registry_person_create_raw. */
int registry_person_create_raw_drafted(hy_ctx_t *ctx, json_t *args, const registry_draft_t *d,
                                       json_t **result);
/* draft.c: persons.create's prepare (spec.h): the request drafted on the intake thread, as
 * JSON (new reference; NULL when it cannot be). */
json_t *registry_persons_prepare(const hy_request_t *req, const hy_prepare_env_t *env);
/* import.c: imports.create's and imports.add_part's prepare (spec.h): the part parsed on the
 * intake thread from the import's state as last committed (the writer takes it when that is
 * still the import's state, else parses the part itself). NULL when it cannot be. */
json_t *registry_imports_create_prepare(const hy_request_t *req, const hy_prepare_env_t *env);
json_t *registry_imports_part_prepare(const hy_request_t *req, const hy_prepare_env_t *env);
/* Reads a prepared draft back into *d (then owned by the caller: registry_draft_clear): 0, or
 * -1 when it is not one (d left empty). */
int registry_draft_from_json(const json_t *prepared, registry_draft_t *d);
/* 200 with the person, or 404 not_found (also for a malformed id). */
int registry_person_get(hy_ctx_t *ctx, const char *id, json_t **person);
/* Applies a partial update (null clears an optional field); 200 with the person. */
int registry_person_update(hy_ctx_t *ctx, const char *id, json_t *args, json_t **person);
/* Attaches one more referral (self or an agency); 201 with the person, 409 duplicate_referral. */
int registry_person_add_referral(hy_ctx_t *ctx, const char *id, const char *source,
                                 const char *agency, const char *date, json_t **person);

/* Loads a person by id for the other domain files. Returns 0, MDB_NOTFOUND (also for a
 * malformed id), or another LMDB error. *n gets the number; person may be NULL. */
int registry_person_load(hy_ctx_t *ctx, const char *id, uint64_t *n, json_t **person);

/* Writes a changed person (updated_at, index entries moved from old to person). 0 or a status. */
int registry_person_put(hy_ctx_t *ctx, uint64_t n, const json_t *old, json_t *person);
/* registry_person_put and the registry.person.updated event {id, changes, person, before, date,
 * reason?}. 0 or a status. */
int registry_person_save(hy_ctx_t *ctx, uint64_t n, const json_t *old, json_t *person,
                         json_t *changes, const char *reason);

/* What a key of another office sees of a person: id, office, restricted:true, merged_into if
 * any, and national_id_match when nid_asked is given. New reference. */
json_t *registry_person_stub(const json_t *person, const char *nid_asked);

/* Loads a person the caller is about to change: 0 with *n and *person (new reference), or 404
 * not_found, 403 other_office (a record of another office), 409 merged (a retired record). */
int registry_person_load_for_write(hy_ctx_t *ctx, const char *id, uint64_t *n, json_t **person);

/* 0 when the person's neighbourhood (if any) is one office covers, and then stores it in the
 * office's display form; else 422 neighbourhood_not_in_office. */
int registry_person_check_hood(hy_ctx_t *ctx, json_t *person, const json_t *office);

/* Index keys of a person (national ID, name words, office, neighbourhood); put or delete them
 * all. Used by persons.c on every write. Returns 0 or an LMDB error. */
int registry_person_index(hy_ctx_t *ctx, uint64_t n, const json_t *person, bool put);
/* The same in a transaction of one's own (layout.c). */
int registry_person_keys(MDB_txn *txn, registry_t *st, uint64_t n, const json_t *person,
                         bool put);
/* The same with the name_idx keys made ahead: every key of keys is put or deleted (the name
 * runs, and the duplicate key when the set holds it); NULL or full: the runs made here. */
int registry_person_keys_with(MDB_txn *txn, registry_t *st, uint64_t n, const json_t *person,
                              const registry_keyset_t *keys, bool put);
/* Puts or deletes only the plain keys of a person ("i:", "o:", "h:" in person_idx); with_nid
 * false leaves her "i:" key out (staged instead, names.c). */
int registry_person_plain_keys(MDB_txn *txn, registry_t *st, uint64_t n, const json_t *person,
                               bool with_nid, bool put);
/* Who holds a national ID: key is registry_key_text('i', nid); 0 with *n (in person_keys, or
 * staged by a registration not merged yet), MDB_NOTFOUND, or an LMDB error. */
int registry_nid_owner(hy_ctx_t *ctx, const char *key, size_t klen, uint64_t *n);
/* Puts (idempotent) or deletes (absent is fine) one whole key of registry.name_idx, which holds
 * keys only (search.c's name runs, duplicates.c's name-and-birth-date keys). 0 or an LMDB
 * error. */
int registry_name_key(MDB_txn *txn, registry_t *st, const char *key, size_t len, bool put);

/* layout.c — at start-up, before any request: a data directory whose person indexes are in the
 * layout of before (registry.person_idx, registry.dup_idx) gets them rebuilt from the persons in
 * the new databases, registry_reindex_chunk persons per transaction, and the old ones dropped.
 * 0 or an LMDB error. */
int registry_reindex(hy_store_t *store, registry_t *st);
extern size_t registry_reindex_chunk;
/* Tests: > 0 stops a rebuild after that many transactions with EINTR, as a kill would (the
 * next start resumes after the last person committed, "layout_at" in registry.meta). */
extern size_t registry_reindex_stop_after;

typedef struct {
    const char *national_id;    /* any accepted form; NULL = no filter */
    const char *q;              /* name words, any spelling hy_fa_normalize folds */
    const char *neighbourhood;
    const char *office;
    const char *mobile;         /* any form hy_mobile_normalize accepts; NULL = no filter */
    const char *nid_part;       /* >= 3 digits (any script) inside the national ID */
    uint64_t after;             /* page cursor: the last person number already seen */
    int limit;
} registry_person_filter_t;

/* Lists persons matching every given filter in id order. *items is a new array; *next the
 * cursor for the next page or 0. 200, or an error status. */
int registry_person_list(hy_ctx_t *ctx, const registry_person_filter_t *f, json_t **items,
                         uint64_t *next);

/* The whole filtered list as CSV for agencies (export.c): 200 with {content_type, body,
 * content_disposition}, or 422 export_too_large. */
int registry_person_export_csv(hy_ctx_t *ctx, const registry_person_filter_t *f, json_t **out);

/* --- a person's lifecycle (lifecycle.c) ---------------------------------------------------- */
/* Sets status (active|exited|deceased) with reason and date; 200 with the person. */
int registry_person_set_status(hy_ctx_t *ctx, const char *id, const json_t *args, json_t **person);
/* Moves a person to args' office on args' date; 200 with the person. */
int registry_person_transfer(hy_ctx_t *ctx, const char *id, const json_t *args, json_t **person);
/* Retires id into `into`; 200 with the retired record (merged_into set). */
int registry_person_merge(hy_ctx_t *ctx, const char *id, const char *into, json_t **person);
/* The operator's correction of a wrong national ID, with its reason; 200 with the person. */
int registry_person_correct_nid(hy_ctx_t *ctx, const char *id, const char *national_id,
                                const char *reason, json_t **person);

/* --- offices (offices.c) ------------------------------------------------------------------ */
int registry_office_create(hy_ctx_t *ctx, json_t *args, json_t **office);
int registry_office_update(hy_ctx_t *ctx, const char *code, json_t *args, json_t **office);
int registry_office_get(hy_ctx_t *ctx, const char *code, json_t **office);
/* Every office (of province, when given) in code order; 200 with *items a new array. */
int registry_office_list(hy_ctx_t *ctx, const char *province, json_t **items);
/* Loads an office by any spelling of its code: 0, MDB_NOTFOUND, or an LMDB error. */
int registry_office_find(hy_ctx_t *ctx, const char *code, json_t **office);
/* Like find, for a request: 0 (with *office when office is not NULL), 422 unknown_office naming
 * field, or a storage failure. *office may be shared with later calls: read it, never change it. */
int registry_office_resolve(hy_ctx_t *ctx, const char *field, const char *code, json_t **office);
/* true when office covers the neighbourhood (normalised comparison). */
bool registry_office_covers(const json_t *office, const char *hood);
/* The office's display form of the neighbourhood (as first written; borrowed from office), or
 * NULL when the office does not cover it or keeps no display names (written before them). */
const char *registry_office_hood_name(const json_t *office, const char *hood);

/* --- businesses (businesses.c) ------------------------------------------------------------ */
int registry_business_create(hy_ctx_t *ctx, json_t *args, json_t **business);
int registry_business_get(hy_ctx_t *ctx, const char *id, json_t **business);
int registry_business_update(hy_ctx_t *ctx, const char *id, json_t *args, json_t **business);
/* Returns 0, MDB_NOTFOUND (also for a malformed id), or another LMDB error. */
int registry_business_load(hy_ctx_t *ctx, const char *id, uint64_t *n, json_t **business);

/* The businesses.list op (a handler): registry_list over the owner's, stage's or field's
 * index. */
int registry_business_list(hy_ctx_t *ctx, json_t *args, json_t **result);

/* --- activities (activities.c) ------------------------------------------------------------ */
int registry_activity_create(hy_ctx_t *ctx, json_t *args, json_t **activity);
int registry_activity_get(hy_ctx_t *ctx, const char *id, json_t **activity);

/* The activities.list op (a handler): registry_list over the person's, kind's or office's
 * index. */
int registry_activity_list(hy_ctx_t *ctx, json_t *args, json_t **result);
/* The participants in canonical form, each a registered person the caller may count, none
 * twice; *nums gets their numbers (caller frees). 0 or a failure status. */
int registry_activity_participants(hy_ctx_t *ctx, const json_t *ids, json_t **out,
                                   uint64_t **nums);
/* Rules between an activity's fields (meeting kind, employer, participants). 0 or 422. */
int registry_activity_check_kind(hy_ctx_t *ctx, const json_t *activity, size_t participants);
/* Puts or deletes every index entry of an activity. 0 or an LMDB error. */
int registry_activity_index(hy_ctx_t *ctx, uint64_t n, const json_t *activity, bool put);

/* --- corrections (corrections.c) ---------------------------------------------------------- */
/* Voids an activity (reason required): 200 with the voided record; 409 voided when it is. */
int registry_activity_void(hy_ctx_t *ctx, const char *id, const char *reason, json_t **activity);
/* Corrects kind, date, office, participants (and the fields that go with a kind) under the rules
 * of recording; 200 with the corrected record. */
int registry_activity_correct(hy_ctx_t *ctx, const char *id, json_t *args, json_t **activity);

/* --- households (households.c) ----------------------------------------------------------- */
/* Creates a household headed by args' head_person_id; 201 with the household. */
int registry_household_create(hy_ctx_t *ctx, json_t *args, json_t **household);
/* 200 with the household; 403 other_office for another office's, 404 not_found. */
int registry_household_get(hy_ctx_t *ctx, const char *id, json_t **household);
/* A registered person (person_id) or a dependant (name, sex, birth_date) joins; 201. */
int registry_household_add_member(hy_ctx_t *ctx, const char *id, json_t *args,
                                  json_t **household);
/* The member (member id or person id) leaves on args' date; 200. */
int registry_household_leave(hy_ctx_t *ctx, const char *id, const char *member, json_t *args,
                             json_t **household);
/* A present registered member becomes the head; 200. */
int registry_household_set_head(hy_ctx_t *ctx, const char *id, json_t *args,
                                json_t **household);

/* A merge of person from into into: from's present membership is re-pointed to into (into in
 * no household), ends (both in one household; into takes the headship), or the merge is
 * refused with 409 household_conflict (two households). 0 or a failure status. */
int registry_household_merge(hy_ctx_t *ctx, uint64_t from_n, const char *from, uint64_t into_n,
                             const char *into);

/* The households.list op (a handler): registry_list over the person's or office's index. */
int registry_household_list(hy_ctx_t *ctx, json_t *args, json_t **result);
/* --- agencies (agencies.c) ---------------------------------------------------------------- */
int registry_agency_create(hy_ctx_t *ctx, json_t *args, json_t **agency);
/* Every agency in code order; 200 with *items a new array. */
int registry_agency_list(hy_ctx_t *ctx, json_t **items);
/* An agency by any spelling of its code: 0 (with *agency when not NULL), 422 unknown_agency
 * naming field, or a storage failure. */
int registry_agency_resolve(hy_ctx_t *ctx, const char *field, const char *code, json_t **agency);

/* --- possible duplicates (duplicates.c) --------------------------------------------------- */
/* Puts or deletes the person's name-and-birth-date key (in registry.name_idx, duplicates.c's
 * comment) that the check looks up. 0 or an LMDB error. */
int registry_dups_index(hy_ctx_t *ctx, uint64_t n, const json_t *person, bool put);
/* The same in a transaction of one's own (layout.c). */
int registry_dups_keys(MDB_txn *txn, registry_t *st, uint64_t n, const json_t *person, bool put);
/* After a registration: records a possible duplicate for each other live person of another
 * national ID with the same normalised full name and birth date, and sets
 * person["possible_duplicates"] to their ids (absent when none). 0 or a failure status. */
int registry_dups_flag(hy_ctx_t *ctx, uint64_t n, json_t *person);
/* The same with the key made ahead (the keyset's dup key: key, klen; klen 0: none). */
int registry_dups_flag_key(hy_ctx_t *ctx, uint64_t n, json_t *person, const char *key,
                           size_t klen);
/* Adds the person's name-and-birth-date key to ks (ks->dup: its index), if she has one. 0. */
int registry_dups_key_add(const json_t *person, registry_keyset_t *ks);
/* Pairs for review (status open|not_same|merged; NULL = open). 200 with *items. */
int registry_dups_list(hy_ctx_t *ctx, const char *status, uint64_t after, int limit,
                       json_t **items, uint64_t *next);
/* Marks a pair "not the same person" with a reason; 200 with the pair. */
int registry_dups_not_same(hy_ctx_t *ctx, const char *id, const char *reason, json_t **pair);

/* --- imports of agencies' lists (import.c, import_parse.c, import_apply.c) ---------------- */
int registry_import_create(hy_ctx_t *ctx, json_t *args, json_t **import);
int registry_import_add_part(hy_ctx_t *ctx, const char *id, json_t *args, json_t **import);
int registry_import_get(hy_ctx_t *ctx, const char *id, json_t **import);
int registry_import_rows(hy_ctx_t *ctx, const char *id, const char *outcome, uint64_t after,
                         int limit, json_t **items, uint64_t *next);
/* The background step (registry_def.background): applies the next rows of the oldest active
 * import for a few milliseconds. 1 more to do, 0 idle, or a failure status. */
int registry_import_step(hy_ctx_t *ctx);
/* Their handlers (import_handlers.c), named in registry_api.c's rows. */
int registry_h_agencies_create(hy_ctx_t *ctx, json_t *args, json_t **result);
int registry_h_agencies_list(hy_ctx_t *ctx, json_t *args, json_t **result);
int registry_h_possible_duplicates(hy_ctx_t *ctx, json_t *args, json_t **result);
int registry_h_not_same(hy_ctx_t *ctx, json_t *args, json_t **result);
int registry_h_imports_create(hy_ctx_t *ctx, json_t *args, json_t **result);
int registry_h_imports_add_part(hy_ctx_t *ctx, json_t *args, json_t **result);
int registry_h_imports_get(hy_ctx_t *ctx, json_t *args, json_t **result);
int registry_h_imports_rows(hy_ctx_t *ctx, json_t *args, json_t **result);

/* --- helpers shared by the domain files (records.c) --------------------------------------- */
registry_t *registry_state(hy_ctx_t *ctx);

/* Index key "<tag>:<normalised text>" into out; returns its length, or 0 when text is empty,
 * not valid UTF-8 or too long for an LMDB key. */
size_t registry_key_text(char tag, const char *text, char *out, size_t outsz);
/* Index key "<tag>:" followed by the 8-byte big-endian number; out holds 10 bytes. */
size_t registry_key_num(char tag, uint64_t n, uint8_t out[10]);

/* Sets office, created_by, created_at and updated_at on a new record. */
void registry_stamp_new(hy_ctx_t *ctx, json_t *rec, const char *office);
/* The office a new record is written for: a confined key's own (another office named in args
 * is 403 other_office), else args' "office", else dflt (may be NULL); 422 missing_office when
 * none, 422 unknown_office when it does not exist. 0 with *office the office record (new
 * reference), or the failure status. */
int registry_new_office(hy_ctx_t *ctx, const json_t *args, const char *dflt, json_t **office);
/* The canonical code of an office record (borrowed from it). */
const char *registry_code(const json_t *office);

/* Sets obj[key] to value (stolen), or deletes it when value is JSON null. */
void registry_set_or_clear(json_t *obj, const char *key, json_t *value);

/* Records {"from":..,"to":..} under changes[key] when old[key] and new[key] differ (absent
 * counts as null). Returns true when they differ. */
bool registry_diff(json_t *changes, const json_t *old, const json_t *new, const char *key);

/* Emits an event with a deep copy of data; fails the request on an LMDB error. Returns 0 or
 * the status of the failure. */
int registry_emit(hy_ctx_t *ctx, const char *type, const char *subject, const json_t *data);

/* --- lists (handlers.c) -------------------------------------------------------------------- */
/* What a registry list op's args ask for (the names of its args; absent ones NULL): the one
 * filter every registry list but persons' takes. */
typedef struct {
    const char *office;         /* the key's own for a key of one office; NULL = every office */
    const char *person_id;      /* activities (a participant), households (a present member) */
    const char *owner_id;       /* businesses */
    const char *field, *stage;  /* businesses */
    const char *kind;           /* activities */
    const char *from, *to;      /* activities: inclusive "YYYY-MM-DD" bounds; NULL = open */
    bool include_voided;        /* activities: voided ones are left out unless asked for */
    uint64_t person;            /* person_id or owner_id as a number; 0 = not asked */
    uint64_t after;             /* the page */
    int limit;
} registry_filter_t;
/* Pages one kind of record for f: *items a new array, *next the cursor (0 at the end).
 * Returns 0 or -1 (the error in ctx). */
typedef int (*registry_list_fn)(hy_ctx_t *ctx, const registry_filter_t *f, json_t **items,
                                uint64_t *next);
/* The registry's one list handler: fills a registry_filter_t from args, refuses another
 * office's list to an office key (403 other_office, naming what), answers an empty page for a
 * person id that is no person's, and wraps what list pages as the list result. Returns 0 or
 * -1, as a handler. */
int registry_list(hy_ctx_t *ctx, const json_t *args, const char *what, registry_list_fn list,
                  json_t **result);

/* Pages through a primary db or one index key (hy_page_json), loading each record of db and
 * keeping those for which keep(rec, user) is true. *items gets a new array. Returns 0 or -1
 * (the error in ctx). */
typedef bool (*registry_keep_fn)(const json_t *rec, void *user);
int registry_page(hy_ctx_t *ctx, MDB_dbi db, MDB_dbi idx, const void *key, size_t klen,
                  uint64_t after, int limit, registry_keep_fn keep, void *user, json_t **items,
                  uint64_t *next);

#endif
