/*
 * networks.h — the networks service: lead entrepreneurs (پیشران) and the networks of home
 * producers they head, the buyers they sell to, and each network's ledger of orders, work
 * assigned to members, deliveries and payments.
 *
 * Route -> op -> handler -> domain function: networks_api.c describes the ops, handlers.c maps
 * each op to a thin handler; network.c (networks and their figures), members.c (joining,
 * leaving, the jobs rule), buyers.c, orders.c (orders and assignments), ledger.c (deliveries,
 * payments, statements: the money rules are documented at its top) hold the domain rules and
 * projection.c keeps what the service knows of the registry. Domain functions take the request
 * context and return the skeleton's convention: 0 with *out set to a new reference
 * (the reply's status is the op row's), or -1 from hy_fail/hy_fail_mdb.
 *
 * Records are JSON documents. Networks, buyers, orders and ledger entries are keyed by number;
 * a membership by network number and person number (16 bytes). Every index is an MDB_DUPSORT
 * database whose keys start with a one-letter tag.
 */
#ifndef NETWORKS_H
#define NETWORKS_H

#include <jansson.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "persons.h"
#include "service.h"

/* Default share of an accepted delivery's value owed to the member who made it (basis points);
 * the rest is the network's margin. Configurable per network (member_share_bp). */
#define NETWORKS_DEFAULT_SHARE_BP 7000

/* The service's state: its database handles, opened once by networks_open. */
typedef struct {
    MDB_dbi meta;         /* counters: "network", "buyer", "order", "entry" */
    MDB_dbi networks;     /* network number -> network JSON (with its figures) */
    MDB_dbi network_idx;  /* "o:"office, "f:"field, "l:"lead person number -> network number */
    MDB_dbi members;      /* network number . person number -> membership JSON */
    MDB_dbi member_idx;   /* "n:"network -> person number; "p:"person -> network number */
    MDB_dbi buyers;       /* buyer number -> buyer JSON */
    MDB_dbi orders;       /* order number -> order JSON (items and assignments inside) */
    MDB_dbi order_idx;    /* "n:"network -> order; "a:"network.person -> order with work */
    MDB_dbi ledger;       /* entry number -> delivery or payment JSON */
    MDB_dbi ledger_idx;   /* "n:"network -> entry; "m:"network.person -> entry */
    MDB_dbi registry;     /* projection: "p:"person -> {job}; "b:"business -> {owner_id} */
    hy_persons_t persons; /* the registry's persons (shared/persons.h) */
} networks_t;

extern const hy_api_t networks_api;
extern const hy_service_def_t networks_def;

/* The handlers of networks_api.c's rows that are not a domain function (handlers.c). */
hy_handler_t networks_h_networks_list, networks_h_members_list, networks_h_members_statement,
    networks_h_buyers_list, networks_h_orders_list, networks_h_ledger_list;

int  networks_open(hy_store_t *store, void **state);

/* --- the registry projection (projection.c) --------------------------------------------- */
/* Applies one registry event (persons, businesses, job_created activities). 0 or LMDB error. */
int networks_apply(hy_ctx_t *ctx, const char *source, json_t *event);
/* Empties the projection for --rebuild. */
int networks_reset(void *state, MDB_txn *txn);

/* Looks a registered person up in the person projection, parking the request when she is not
 * there yet. 0 with *n (and *person when not NULL: the registry's record plus "job", new
 * reference); otherwise HY_PARKED or the status of the failure: 422 unknown_person on field, 500. */
int networks_person(hy_ctx_t *ctx, const char *id, const char *field, uint64_t *n,
                    json_t **person);
/* The same for a business: *owner_id gets its owner (new reference). 422 unknown_business. */
int networks_business(hy_ctx_t *ctx, const char *id, const char *field, json_t **owner_id);

/* --- networks (network.c) ------------------------------------------------------------------ */
int networks_network_create(hy_ctx_t *ctx, json_t *args, json_t **network);
/* 200 with the network, its figures and its members (a summary of each). */
int networks_network_get(hy_ctx_t *ctx, const char *id, json_t **network);
int networks_network_update(hy_ctx_t *ctx, const char *id, json_t *args, json_t **network);

typedef struct {
    const char *office, *field, *lead_person_id, *status;
    uint64_t after;
    int limit;
} networks_filter_t;
int networks_network_list(hy_ctx_t *ctx, const networks_filter_t *f, json_t **items,
                          uint64_t *next);

/* Loads a network by id: 0, MDB_NOTFOUND (also for a malformed id) or an LMDB error. */
int networks_network_load(hy_ctx_t *ctx, const char *id, uint64_t *n, json_t **network);
/* Loads or fails: 404 not_found for the path's network, or (field != NULL) 422 unknown_network
 * on that field; 403 other_office (on field, or "id") when the network is another office's
 * than the caller's key (offices as boundaries: everything under a network, its members,
 * orders, ledger and statements, is its office's, for reading and writing; a province key and
 * operators are not confined). Returns 0 or the failure status. */
int networks_network_find(hy_ctx_t *ctx, const char *id, const char *field, uint64_t *n,
                          json_t **network);
/* Writes a network back (updated_at set). Returns 0 or the failure status. */
int networks_network_save(hy_ctx_t *ctx, uint64_t n, json_t *network);
/* 409 network_not_active unless the network takes new work (status active). */
int networks_network_open_for_work(hy_ctx_t *ctx, const json_t *network);
/* Adds delta to the integer figure key of network (checked). 0, or 422 value_too_large. */
int networks_figure_add(hy_ctx_t *ctx, json_t *network, const char *key, int64_t delta);
int64_t networks_figure(const json_t *network, const char *key);

/* --- members (members.c) ------------------------------------------------------------------- */
int networks_member_join(hy_ctx_t *ctx, const char *network_id, json_t *args, json_t **member);
int networks_member_leave(hy_ctx_t *ctx, const char *network_id, const char *person_id,
                          const char *date, json_t **member);

typedef struct {
    const char *status, *role;
    uint64_t after;
    int limit;
} networks_member_filter_t;
int networks_member_list(hy_ctx_t *ctx, const char *network_id,
                         const networks_member_filter_t *f, json_t **items, uint64_t *next);
/* Loads a membership: 0, MDB_NOTFOUND or an LMDB error. */
int networks_member_load(hy_ctx_t *ctx, uint64_t net, uint64_t person, json_t **member);
int networks_member_save(hy_ctx_t *ctx, uint64_t net, uint64_t person, json_t *member);

/* --- buyers (buyers.c) --------------------------------------------------------------------- */
int networks_buyer_create(hy_ctx_t *ctx, json_t *args, json_t **buyer);
int networks_buyer_get(hy_ctx_t *ctx, const char *id, json_t **buyer);
typedef struct {
    const char *kind, *network_id;
    uint64_t after;
    int limit;
} networks_buyer_filter_t;
int networks_buyer_list(hy_ctx_t *ctx, const networks_buyer_filter_t *f, json_t **items,
                        uint64_t *next);
/* 0 with the buyer, or 422 unknown_buyer on field buyer_id, or 500. */
int networks_buyer_find(hy_ctx_t *ctx, const char *id, json_t **buyer);

/* --- orders and assignments (orders.c) ----------------------------------------------------- */
int networks_order_create(hy_ctx_t *ctx, const char *network_id, json_t *args, json_t **order);
int networks_order_get(hy_ctx_t *ctx, const char *id, json_t **order);
int networks_order_assign(hy_ctx_t *ctx, const char *id, json_t *args, json_t **order);
typedef struct {
    const char *status, *buyer_id;
    uint64_t after;
    int limit;
} networks_order_filter_t;
int networks_order_list(hy_ctx_t *ctx, const char *network_id, const networks_order_filter_t *f,
                        json_t **items, uint64_t *next);
/* Loads an order: 404 not_found for the path's order, or (field != NULL) 422 unknown_order. */
int networks_order_find(hy_ctx_t *ctx, const char *id, const char *field, uint64_t *n,
                        json_t **order);
int networks_order_save(hy_ctx_t *ctx, uint64_t n, json_t *order);
/* The order's line for item (borrowed), or NULL. */
json_t *networks_order_item(const json_t *order, const char *item);
/* The assignment of person to item on order (borrowed), or NULL. */
json_t *networks_order_assignment(const json_t *order, const char *person_id, const char *item);
/* Gives back a leaving member's undelivered work on every open order of the network; *released
 * gets [{order_id, item, quantity}] (new reference). Returns 0 or a failure status. */
int networks_order_release(hy_ctx_t *ctx, uint64_t net, uint64_t person, const char *person_id,
                           json_t **released);
/* The member's work on every order of the network: [{order_id, item, assigned, accepted,
 * rejected, outstanding}] (new reference). Returns 0 or a failure status. */
int networks_order_work(hy_ctx_t *ctx, uint64_t net, uint64_t person, const char *person_id,
                        json_t **work);

/* --- the ledger (ledger.c) ----------------------------------------------------------------- */
int networks_delivery_record(hy_ctx_t *ctx, const char *order_id, json_t *args, json_t **entry);
int networks_payment_record(hy_ctx_t *ctx, const char *network_id, json_t *args, json_t **entry);
int networks_statement(hy_ctx_t *ctx, const char *network_id, const char *person_id,
                       uint64_t after, int limit, json_t **statement);
typedef struct {
    const char *kind, *person_id, *order_id;
    uint64_t after;
    int limit;
} networks_ledger_filter_t;
int networks_ledger_list(hy_ctx_t *ctx, const char *network_id, const networks_ledger_filter_t *f,
                         json_t **items, uint64_t *next);

/* --- voids (voids.c) ----------------------------------------------------------------------- */
/* Voids ledger entry entry_id (its number, from the path) of the network: 200 with the entry;
 * 404 not_found; 409 voided, already_paid, insufficient_network_cash; 422 same_approver;
 * 403 other_office. The rules are at the top of voids.c. */
int networks_entry_void(hy_ctx_t *ctx, const char *network_id, const char *entry_id,
                        const char *reason, json_t **entry);

/* --- persons merged in the registry (merge.c) ---------------------------------------------- */
/* Applies registry.person.merged {id, into, date} in the follow transaction: memberships, work
 * on orders and ledger entries of id become into's (see merge.c). 0 or an LMDB error. */
int networks_merge_apply(hy_ctx_t *ctx, const json_t *data);

/* --- helpers shared by the domain files (records.c) ---------------------------------------- */
networks_t *networks_state(hy_ctx_t *ctx);

/* Index key "<tag>:" followed by one or two 8-byte big-endian numbers (b ignored when two is
 * false); out holds 18 bytes. Returns the key length. */
size_t networks_key_num(char tag, uint64_t a, uint64_t b, bool two, uint8_t out[18]);
/* Index key "<tag>:<text>" into out; 0 when text is empty or too long. */
size_t networks_key_text(char tag, const char *text, char *out, size_t outsz);

/* Stamps a new record: created_by (the API key), created_at, updated_at. */
void networks_stamp(hy_ctx_t *ctx, json_t *rec);
/* Echoes every date field named in the NULL-terminated list as "<field>_jalali". */
void networks_jalali(json_t *rec, const char *const *fields);
/* A date as it happened (happened.h): 422 future_date on field when date is after today, 422
 * before_programme_start before HY_PROGRAMME_START. Returns 0 or the failure status. */
int networks_not_future(hy_ctx_t *ctx, const char *date, const char *field);
/* Checked a + b into *sum; 422 value_too_large on field when it overflows. */
int networks_add(hy_ctx_t *ctx, int64_t a, int64_t b, const char *field, int64_t *sum);

/* Adds delta to the integer member key of obj, checked like networks_add. */
int networks_bump(hy_ctx_t *ctx, json_t *obj, const char *key, int64_t delta);

/* Emits type about subject with data (stolen), adding network_id, office and field from
 * network (which the reporting service groups by). Returns 0 or the failure status. */
int networks_emit(hy_ctx_t *ctx, const char *type, const char *subject, const json_t *network,
                  json_t *data);

/* true when rec[key] equals want, or want is NULL/empty (no filter). */
bool networks_same(const json_t *rec, const char *key, const char *want);

#endif
