/*
 * networks_api.c — the networks service's operations as data: routes, roles, argument and
 * result shapes.
 *
 * The skeleton checks every request against these tables before a handler runs, and the gateway
 * builds its routes and /v1/openapi.json from them, so this file is the service's contract.
 * Rules that need the store or the clock (a registered lead who owns the business, an active
 * member, quantities within what was ordered and assigned, payments within what is owed) are
 * the domain files' business; ledger.c documents the money rules, voids.c their reversal.
 *
 * Codes added for issue 15 (offices as boundaries, voids, dates as they happened):
 *   every route under a network (its members, orders, ledger, statements; an order by id)
 *                          403 other_office when the network is another office's than the
 *                              key's (a province key '*' and operators are not confined);
 *                              networks.create with another office, networks.list?office= of
 *                              another office: 403 other_office on office
 *   every date (joined, leave date, delivery and payment date)
 *                          422 future_date, before_programme_start (HY_PROGRAMME_START);
 *                              a delivery before the member's join date: date_out_of_order
 *   ledger.void            404 not_found (no such entry of this network); 409 voided,
 *                              already_paid (a delivery whose value the member was paid),
 *                              insufficient_network_cash (a buyer's payment paid out);
 *                              422 same_approver (the key that recorded it)
 */
#include "networks.h"
#include "proto.h"
#include "spec.h"

#define WRITE HY_ROLE_SOCIAL_SERVICES
#define READ  HY_ROLE_READERS

#define FIELDS     "agriculture|industry|handicrafts|services"
#define STATUSES   "active|suspended|closed"
#define ROLES      "producer|supervisor|trainer"
#define MSTATUSES  "active|left"
#define KINDS      "shop|exhibition|exporter|network"
#define OSTATUSES  "open|fulfilled"
#define DIRECTIONS "from_buyer|to_member"
#define ENTRIES    "delivery|payment"
#define QTY_MAX    1000000000

/* ------------------------------------------------------------------ networks ------------- */

static const hy_field_t network_create_args[] = {
    {.name = "name", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 200,
     .doc = "the network's name"},
    {.name = "field", .type = HY_T_ENUM, .flags = HY_F_REQ, .enums = FIELDS,
     .doc = "one of the four fields"},
    {.name = "activity", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 200,
     .doc = "what the network makes, e.g. clothing, carpet weaving"},
    {.name = "office", .type = HY_T_STRING, .max_len = 64,
     .doc = "office; defaults to the caller's, then the lead's"},
    {.name = "lead_person_id", .type = HY_T_ID, .flags = HY_F_REQ,
     .doc = "the lead entrepreneur (پیشران), a registered person (prs_...)"},
    {.name = "lead_business_id", .type = HY_T_ID, .flags = HY_F_REQ,
     .doc = "a registered business (bus_...) the lead owns (422 business_not_owned)"},
    {.name = "member_share_bp", .type = HY_T_INT, .min = 0, .max = 10000,
     .doc = "share of an accepted delivery's value owed to the member, basis points "
            "(default 7000); the rest is the network's margin"},
    {0},
};

static const hy_field_t network_update_args[] = {
    {.name = "name", .type = HY_T_STRING, .max_len = 200, .doc = "the network's name"},
    {.name = "activity", .type = HY_T_STRING, .max_len = 200, .doc = "what the network makes"},
    {.name = "status", .type = HY_T_ENUM, .enums = STATUSES,
     .doc = "active and suspended go either way; closed is final (409 network_closed after)"},
    {.name = "lead_person_id", .type = HY_T_ID,
     .doc = "a new lead (with lead_business_id): emits networks.network.lead_assigned"},
    {.name = "lead_business_id", .type = HY_T_ID, .doc = "a registered business the lead owns"},
    {.name = "member_share_bp", .type = HY_T_INT, .min = 0, .max = 10000,
     .doc = "member share for deliveries from now on, basis points"},
    {0},
};

static const hy_field_t network_list_args[] = {
    {.name = "office", .type = HY_T_STRING, .flags = HY_F_QUERY, .max_len = 64, .doc = "office"},
    {.name = "field", .type = HY_T_ENUM, .flags = HY_F_QUERY, .enums = FIELDS, .doc = "field"},
    {.name = "lead_person_id", .type = HY_T_ID, .flags = HY_F_QUERY, .doc = "lead (prs_...)"},
    {.name = "status", .type = HY_T_ENUM, .flags = HY_F_QUERY, .enums = STATUSES,
     .doc = "status"},
    {0},
};

static const hy_field_t figures_result[] = {
    {.name = "members", .type = HY_T_INT, .doc = "persons who ever joined"},
    {.name = "active_members", .type = HY_T_INT, .doc = "members now"},
    {.name = "orders_open", .type = HY_T_INT, .doc = "orders not yet fulfilled"},
    {.name = "orders_fulfilled", .type = HY_T_INT, .doc = "orders fully accepted"},
    {.name = "delivered_value_rials", .type = HY_T_MONEY,
     .doc = "Σ accepted units × unit price"},
    {.name = "earned_by_members_rials", .type = HY_T_MONEY,
     .doc = "Σ members' shares of accepted deliveries"},
    {.name = "income_rials", .type = HY_T_MONEY, .doc = "Σ paid by buyers"},
    {.name = "paid_to_members_rials", .type = HY_T_MONEY, .doc = "Σ paid to members"},
    {.name = "balance_rials", .type = HY_T_MONEY,
     .doc = "the network's cash: income - paid to members"},
    {.name = "owed_to_members_rials", .type = HY_T_MONEY,
     .doc = "earned by members - paid to members"},
    {0},
};

static const hy_field_t member_summary_result[] = {
    {.name = "person_id", .type = HY_T_ID, .doc = "member (prs_...)"},
    {.name = "role", .type = HY_T_ENUM, .enums = ROLES, .doc = "role"},
    {.name = "status", .type = HY_T_ENUM, .enums = MSTATUSES, .doc = "active or left"},
    {.name = "joined", .type = HY_T_DATE, .doc = "join date (latest period)"},
    {.name = "left", .type = HY_T_DATE, .doc = "leave date, when left"},
    {.name = "balance_rials", .type = HY_T_MONEY, .doc = "owed to the member"},
    {0},
};

static const hy_field_t network_result[] = {
    {.name = "id", .type = HY_T_ID, .doc = "network id (net_...)"},
    {.name = "name", .type = HY_T_STRING, .doc = "name"},
    {.name = "field", .type = HY_T_ENUM, .enums = FIELDS, .doc = "field"},
    {.name = "activity", .type = HY_T_STRING, .doc = "activity"},
    {.name = "office", .type = HY_T_STRING, .doc = "office"},
    {.name = "lead_person_id", .type = HY_T_ID, .doc = "the lead (prs_...)"},
    {.name = "lead_business_id", .type = HY_T_ID, .doc = "the lead's business (bus_...)"},
    {.name = "status", .type = HY_T_ENUM, .enums = STATUSES, .doc = "status"},
    {.name = "member_share_bp", .type = HY_T_INT, .doc = "member share, basis points"},
    {.name = "date", .type = HY_T_DATE, .doc = "when the network was recorded"},
    {.name = "figures", .type = HY_T_OBJECT, .sub = figures_result,
     .doc = "counts and money, kept with every change and derivable from the ledger"},
    {.name = "members", .type = HY_T_ARRAY, .elem = HY_T_OBJECT, .sub = member_summary_result,
     .doc = "GET only: the first 500 members (GET .../members pages through all)"},
    {.name = "members_truncated", .type = HY_T_BOOL, .doc = "GET only: more than 500 members"},
    {.name = "created_by", .type = HY_T_STRING, .doc = "API key that created it"},
    {.name = "created_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {.name = "updated_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {0},
};

/* ------------------------------------------------------------------- members ------------- */

static const hy_field_t member_join_args[] = {
    {.name = "person_id", .type = HY_T_ID, .flags = HY_F_REQ,
     .doc = "a registered person (prs_...)"},
    {.name = "role", .type = HY_T_ENUM, .flags = HY_F_REQ, .enums = ROLES, .doc = "role"},
    {.name = "joined", .type = HY_T_DATE, .flags = HY_F_REQ, .doc = "join date; not in the future"},
    {.name = "skills", .type = HY_T_ARRAY, .elem = HY_T_STRING, .max_len = 50,
     .doc = "skills, free text"},
    {0},
};

static const hy_field_t member_leave_args[] = {
    {.name = "date", .type = HY_T_DATE, .flags = HY_F_REQ,
     .doc = "leave date; not before the join date, not in the future"},
    {0},
};

static const hy_field_t member_list_args[] = {
    {.name = "status", .type = HY_T_ENUM, .flags = HY_F_QUERY, .enums = MSTATUSES,
     .doc = "active or left"},
    {.name = "role", .type = HY_T_ENUM, .flags = HY_F_QUERY, .enums = ROLES, .doc = "role"},
    {0},
};

static const hy_field_t period_result[] = {
    {.name = "joined", .type = HY_T_DATE, .doc = "joined"},
    {.name = "left", .type = HY_T_DATE, .doc = "left (absent for the current period)"},
    {0},
};

#define MEMBER_RESULT                                                                        \
    {.name = "network_id", .type = HY_T_ID, .doc = "network (net_...)"},                     \
    {.name = "person_id", .type = HY_T_ID, .doc = "member (prs_...)"},                       \
    {.name = "role", .type = HY_T_ENUM, .enums = ROLES, .doc = "role"},                      \
    {.name = "skills", .type = HY_T_ARRAY, .elem = HY_T_STRING, .doc = "skills"},            \
    {.name = "status", .type = HY_T_ENUM, .enums = MSTATUSES, .doc = "active or left"},      \
    {.name = "joined", .type = HY_T_DATE, .doc = "join date (latest period)"},               \
    {.name = "left", .type = HY_T_DATE, .doc = "leave date, when left"},                     \
    {.name = "periods", .type = HY_T_ARRAY, .elem = HY_T_OBJECT, .sub = period_result,       \
     .doc = "every membership period, first first"},                                         \
    {.name = "job_created", .type = HY_T_BOOL,                                               \
     .doc = "counted as a job created: first membership anywhere, no job in the registry"},  \
    {.name = "earned_rials", .type = HY_T_MONEY, .doc = "Σ member values of deliveries"},    \
    {.name = "paid_rials", .type = HY_T_MONEY, .doc = "Σ paid to the member"},               \
    {.name = "balance_rials", .type = HY_T_MONEY, .doc = "owed: earned - paid, never < 0"},  \
    {.name = "accepted_quantity", .type = HY_T_INT, .doc = "units accepted"},                \
    {.name = "rejected_quantity", .type = HY_T_INT, .doc = "units rejected"},                \
    {.name = "office", .type = HY_T_STRING, .doc = "the network's office"}

static const hy_field_t member_result[] = {
    MEMBER_RESULT,
    {0},
};

static const hy_field_t work_result[] = {
    {.name = "order_id", .type = HY_T_ID, .doc = "order (ord_...)"},
    {.name = "item", .type = HY_T_STRING, .doc = "item"},
    {.name = "assigned", .type = HY_T_INT, .doc = "units assigned (after any release)"},
    {.name = "accepted", .type = HY_T_INT, .doc = "units accepted"},
    {.name = "rejected", .type = HY_T_INT, .doc = "units rejected"},
    {.name = "outstanding", .type = HY_T_INT, .doc = "still to deliver"},
    {0},
};

static const hy_field_t entry_result[] = {
    {.name = "entry", .type = HY_T_INT, .doc = "ledger entry number (increasing)"},
    {.name = "kind", .type = HY_T_ENUM, .enums = ENTRIES, .doc = "delivery or payment"},
    {.name = "network_id", .type = HY_T_ID, .doc = "network"},
    {.name = "order_id", .type = HY_T_ID, .doc = "order (deliveries, buyer payments)"},
    {.name = "buyer_id", .type = HY_T_ID, .doc = "buyer (buyer payments)"},
    {.name = "person_id", .type = HY_T_ID, .doc = "member (deliveries, member payments)"},
    {.name = "direction", .type = HY_T_ENUM, .enums = DIRECTIONS, .doc = "payments"},
    {.name = "amount_rials", .type = HY_T_MONEY, .doc = "payments: amount"},
    {.name = "item", .type = HY_T_STRING, .doc = "deliveries: item"},
    {.name = "accepted", .type = HY_T_INT, .doc = "deliveries: units accepted"},
    {.name = "rejected", .type = HY_T_INT, .doc = "deliveries: units rejected"},
    {.name = "unit_price_rials", .type = HY_T_MONEY, .doc = "deliveries: the item's price"},
    {.name = "value_rials", .type = HY_T_MONEY, .doc = "deliveries: accepted × unit price"},
    {.name = "member_share_bp", .type = HY_T_INT, .doc = "deliveries: share applied"},
    {.name = "member_value_rials", .type = HY_T_MONEY,
     .doc = "deliveries: floor(value × share / 10000), owed to the member"},
    {.name = "network_margin_rials", .type = HY_T_MONEY,
     .doc = "deliveries: value - member value (with the rounding remainder)"},
    {.name = "member_balance_rials", .type = HY_T_MONEY, .doc = "member's balance after"},
    {.name = "network_balance_rials", .type = HY_T_MONEY, .doc = "payments: network cash after"},
    {.name = "order_paid_rials", .type = HY_T_MONEY, .doc = "buyer payments: order paid after"},
    {.name = "order_status", .type = HY_T_ENUM, .enums = OSTATUSES,
     .doc = "deliveries (reply only): the order's status after"},
    {.name = "date", .type = HY_T_DATE, .doc = "date of the delivery or payment"},
    {.name = "voided", .type = HY_T_BOOL, .doc = "true once voided: it counts nowhere"},
    {.name = "voided_by", .type = HY_T_STRING, .doc = "API key that voided it"},
    {.name = "voided_at", .type = HY_T_STRING, .doc = "UTC timestamp of the void"},
    {.name = "void_reason", .type = HY_T_STRING, .doc = "why it was voided"},
    {.name = "created_by", .type = HY_T_STRING, .doc = "API key that recorded it"},
    {.name = "created_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {0},
};

static const hy_field_t statement_args[] = {
    {.name = "limit", .type = HY_T_INT, .flags = HY_F_QUERY, .min = 1, .max = 500,
     .doc = "entries per page (default 100)"},
    {.name = "cursor", .type = HY_T_STRING, .flags = HY_F_QUERY, .max_len = 32,
     .doc = "next_cursor of the previous page"},
    {0},
};

static const hy_field_t statement_result[] = {
    MEMBER_RESULT,
    {.name = "entries", .type = HY_T_ARRAY, .elem = HY_T_OBJECT, .sub = entry_result,
     .doc = "the member's deliveries and payments, oldest first, with the balance after each"},
    {.name = "next_cursor", .type = HY_T_STRING, .flags = HY_F_NULL, .doc = "more entries, or null"},
    {.name = "work", .type = HY_T_ARRAY, .elem = HY_T_OBJECT, .sub = work_result,
     .doc = "work assigned on every order"},
    {0},
};

/* -------------------------------------------------------------------- buyers ------------- */

static const hy_field_t buyer_create_args[] = {
    {.name = "name", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 200,
     .doc = "name, e.g. a Dast-Afarin store"},
    {.name = "kind", .type = HY_T_ENUM, .flags = HY_F_REQ, .enums = KINDS, .doc = "kind"},
    {.name = "network_id", .type = HY_T_ID,
     .doc = "required for (and only for) kind network: the buying network"},
    {.name = "office", .type = HY_T_STRING, .max_len = 64, .doc = "defaults to the caller's"},
    {0},
};

static const hy_field_t buyer_list_args[] = {
    {.name = "kind", .type = HY_T_ENUM, .flags = HY_F_QUERY, .enums = KINDS, .doc = "kind"},
    {.name = "network_id", .type = HY_T_ID, .flags = HY_F_QUERY, .doc = "buying network"},
    {0},
};

static const hy_field_t buyer_result[] = {
    {.name = "id", .type = HY_T_ID, .doc = "buyer id (buy_...)"},
    {.name = "name", .type = HY_T_STRING, .doc = "name"},
    {.name = "kind", .type = HY_T_ENUM, .enums = KINDS, .doc = "kind"},
    {.name = "network_id", .type = HY_T_ID, .doc = "buying network (kind network)"},
    {.name = "office", .type = HY_T_STRING, .doc = "office"},
    {.name = "created_by", .type = HY_T_STRING, .doc = "API key that created it"},
    {.name = "created_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {0},
};

/* -------------------------------------------------------------------- orders ------------- */

static const hy_field_t item_args[] = {
    {.name = "item", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 200,
     .doc = "what is ordered, once per order"},
    {.name = "quantity", .type = HY_T_INT, .flags = HY_F_REQ, .min = 1, .max = QTY_MAX,
     .doc = "units ordered"},
    {.name = "unit_price_rials", .type = HY_T_MONEY, .flags = HY_F_REQ, .doc = "price per unit"},
    {0},
};

static const hy_field_t order_create_args[] = {
    {.name = "buyer_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "buyer (buy_...)"},
    {.name = "items", .type = HY_T_ARRAY, .flags = HY_F_REQ, .elem = HY_T_OBJECT,
     .sub = item_args, .max_len = 100, .doc = "1 to 100 items"},
    {.name = "due_date", .type = HY_T_DATE, .flags = HY_F_REQ, .doc = "when it is due"},
    {0},
};

static const hy_field_t order_list_args[] = {
    {.name = "status", .type = HY_T_ENUM, .flags = HY_F_QUERY, .enums = OSTATUSES,
     .doc = "open or fulfilled"},
    {.name = "buyer_id", .type = HY_T_ID, .flags = HY_F_QUERY, .doc = "buyer"},
    {0},
};

static const hy_field_t line_result[] = {
    {.name = "item", .type = HY_T_STRING, .doc = "item"},
    {.name = "quantity", .type = HY_T_INT, .doc = "units ordered"},
    {.name = "unit_price_rials", .type = HY_T_MONEY, .doc = "price per unit"},
    {.name = "value_rials", .type = HY_T_MONEY, .doc = "quantity × unit price"},
    {.name = "assigned", .type = HY_T_INT, .doc = "units assigned to members"},
    {.name = "accepted", .type = HY_T_INT, .doc = "units accepted"},
    {.name = "rejected", .type = HY_T_INT, .doc = "units rejected"},
    {0},
};

static const hy_field_t assignment_result[] = {
    {.name = "person_id", .type = HY_T_ID, .doc = "member"},
    {.name = "item", .type = HY_T_STRING, .doc = "item"},
    {.name = "assigned", .type = HY_T_INT, .doc = "units assigned"},
    {.name = "accepted", .type = HY_T_INT, .doc = "units accepted"},
    {.name = "rejected", .type = HY_T_INT, .doc = "units rejected"},
    {0},
};

static const hy_field_t order_result[] = {
    {.name = "id", .type = HY_T_ID, .doc = "order id (ord_...)"},
    {.name = "network_id", .type = HY_T_ID, .doc = "network"},
    {.name = "buyer_id", .type = HY_T_ID, .doc = "buyer"},
    {.name = "buyer_kind", .type = HY_T_ENUM, .enums = KINDS, .doc = "buyer's kind"},
    {.name = "buyer_name", .type = HY_T_STRING, .doc = "buyer's name"},
    {.name = "items", .type = HY_T_ARRAY, .elem = HY_T_OBJECT, .sub = line_result,
     .doc = "lines"},
    {.name = "assignments", .type = HY_T_ARRAY, .elem = HY_T_OBJECT, .sub = assignment_result,
     .doc = "work per member and item"},
    {.name = "due_date", .type = HY_T_DATE, .doc = "due date"},
    {.name = "date", .type = HY_T_DATE, .doc = "when it was placed"},
    {.name = "status", .type = HY_T_ENUM, .enums = OSTATUSES, .doc = "open or fulfilled"},
    {.name = "fulfilled_date", .type = HY_T_DATE, .doc = "date of the last accepted delivery"},
    {.name = "value_rials", .type = HY_T_MONEY, .doc = "Σ quantity × unit price"},
    {.name = "accepted_value_rials", .type = HY_T_MONEY, .doc = "Σ accepted × unit price"},
    {.name = "paid_rials", .type = HY_T_MONEY, .doc = "Σ paid by the buyer (<= value)"},
    {.name = "office", .type = HY_T_STRING, .doc = "the network's office"},
    {.name = "field", .type = HY_T_ENUM, .enums = FIELDS, .doc = "the network's field"},
    {.name = "created_by", .type = HY_T_STRING, .doc = "API key that placed it"},
    {.name = "created_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {.name = "updated_at", .type = HY_T_STRING, .doc = "UTC timestamp"},
    {0},
};

static const hy_field_t assign_args[] = {
    {.name = "person_id", .type = HY_T_ID, .flags = HY_F_REQ,
     .doc = "an active member of the order's network"},
    {.name = "item", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 200,
     .doc = "an item of the order"},
    {.name = "quantity", .type = HY_T_INT, .flags = HY_F_REQ, .min = 1, .max = QTY_MAX,
     .doc = "units; the item's assigned units net of rejected ones stay <= ordered"},
    {0},
};

static const hy_field_t deliver_args[] = {
    {.name = "person_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the member delivering"},
    {.name = "item", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 200, .doc = "item"},
    {.name = "accepted", .type = HY_T_INT, .flags = HY_F_REQ, .min = 0, .max = QTY_MAX,
     .doc = "units accepted"},
    {.name = "rejected", .type = HY_T_INT, .min = 0, .max = QTY_MAX,
     .doc = "units rejected (default 0); accepted + rejected <= still assigned"},
    {.name = "date", .type = HY_T_DATE, .flags = HY_F_REQ, .doc = "delivery date"},
    {0},
};

static const hy_field_t payment_args[] = {
    {.name = "direction", .type = HY_T_ENUM, .flags = HY_F_REQ, .enums = DIRECTIONS,
     .doc = "from_buyer (against order_id) or to_member (person_id)"},
    {.name = "order_id", .type = HY_T_ID,
     .doc = "from_buyer: the order paid; to_member: an optional reference"},
    {.name = "person_id", .type = HY_T_ID, .doc = "to_member: the member paid"},
    {.name = "amount_rials", .type = HY_T_MONEY, .flags = HY_F_REQ, .min = 1, .max = INT64_MAX,
     .doc = "amount; within the order's value, or what the member is owed and the network holds"},
    {.name = "date", .type = HY_T_DATE, .flags = HY_F_REQ, .doc = "payment date"},
    {0},
};

static const hy_field_t ledger_list_args[] = {
    {.name = "kind", .type = HY_T_ENUM, .flags = HY_F_QUERY, .enums = ENTRIES,
     .doc = "delivery or payment"},
    {.name = "person_id", .type = HY_T_ID, .flags = HY_F_QUERY, .doc = "one member's entries"},
    {.name = "order_id", .type = HY_T_ID, .flags = HY_F_QUERY, .doc = "one order's entries"},
    {0},
};

static const hy_field_t void_args[] = {
    {.name = "reason", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 500,
     .doc = "why the entry is voided (kept on it, in the event and the audit)"},
    {0},
};

/* -------------------------------------------------------------------- the table ---------- */

/* HOW is `.handler = fn` or `.call = HY_CALL_*(...)` (shared/bind.h). */
#define OP(NAME, HOW, METHOD, PATH, ROLES, ARGS, RESULT, STATUS, LIST, SUMMARY)                     \
    {.op = NAME, HOW, .method = METHOD, .path = PATH, .roles = ROLES, .args = ARGS,                \
     .result = RESULT, .ok_status = STATUS, .list = LIST, .summary = SUMMARY}

static const hy_op_spec_t networks_ops[] = {
    OP("networks.create", .handler = networks_network_create, "POST", "/v1/networks", WRITE, network_create_args, network_result,
       201, false, "Create a network under its lead (a registered person owning the business)"),
    OP("networks.get", .call = HY_CALL_S(networks_network_get, "id"), "GET", "/v1/networks/{id}", READ, NULL, network_result, 200, false,
       "Get a network with its figures and members"),
    OP("networks.update", .call = HY_CALL_SA(networks_network_update, "id"), "PATCH", "/v1/networks/{id}", WRITE, network_update_args,
       network_result, 200, false, "Change name, activity, status, member share or lead"),
    OP("networks.list", .handler = networks_h_networks_list, "GET", "/v1/networks", READ, network_list_args, network_result, 200,
       true, "List networks"),
    OP("members.join", .call = HY_CALL_SA(networks_member_join, "id"), "POST", "/v1/networks/{id}/members", WRITE, member_join_args,
       member_result, 201, false, "A registered person joins (job_created per the jobs rule)"),
    OP("members.leave", .call = HY_CALL_SSS(networks_member_leave, "id", "person_id", "date"), "POST", "/v1/networks/{id}/members/{person_id}/leave", WRITE,
       member_leave_args, member_result, 200, false,
       "A member leaves; undelivered work goes back to the orders"),
    OP("members.list", .handler = networks_h_members_list, "GET", "/v1/networks/{id}/members", READ, member_list_args,
       member_result, 200, true, "List a network's members"),
    OP("members.statement", .handler = networks_h_members_statement, "GET", "/v1/networks/{id}/members/{person_id}/statement", READ,
       statement_args, statement_result, 200, false,
       "A member's statement: balance, entries with running balance, work"),
    OP("buyers.create", .handler = networks_buyer_create, "POST", "/v1/buyers", WRITE, buyer_create_args, buyer_result, 201, false,
       "Record a buyer (shop, exhibition, exporter or another network)"),
    OP("buyers.get", .call = HY_CALL_S(networks_buyer_get, "id"), "GET", "/v1/buyers/{id}", READ, NULL, buyer_result, 200, false,
       "Get a buyer"),
    OP("buyers.list", .handler = networks_h_buyers_list, "GET", "/v1/buyers", READ, buyer_list_args, buyer_result, 200, true,
       "List buyers"),
    OP("orders.create", .call = HY_CALL_SA(networks_order_create, "id"), "POST", "/v1/networks/{id}/orders", WRITE, order_create_args,
       order_result, 201, false, "Place a buyer's order with a network"),
    OP("orders.get", .call = HY_CALL_S(networks_order_get, "id"), "GET", "/v1/orders/{id}", READ, NULL, order_result, 200, false,
       "Get an order with its lines and assignments"),
    OP("orders.list", .handler = networks_h_orders_list, "GET", "/v1/networks/{id}/orders", READ, order_list_args, order_result,
       200, true, "List a network's orders"),
    OP("orders.assign", .call = HY_CALL_SA(networks_order_assign, "id"), "POST", "/v1/orders/{id}/assignments", WRITE, assign_args, order_result,
       201, false, "Assign units of an item to an active member"),
    OP("orders.deliver", .call = HY_CALL_SA(networks_delivery_record, "id"), "POST", "/v1/orders/{id}/deliveries", WRITE, deliver_args,
       entry_result, 201, false, "Record a member's delivery (accepted and rejected units)"),
    OP("payments.create", .call = HY_CALL_SA(networks_payment_record, "id"), "POST", "/v1/networks/{id}/payments", WRITE, payment_args,
       entry_result, 201, false, "Record a payment from a buyer or to a member"),
    OP("ledger.list", .handler = networks_h_ledger_list, "GET", "/v1/networks/{id}/ledger", READ, ledger_list_args, entry_result,
       200, true, "A network's ledger: deliveries and payments, oldest first"),
    OP("ledger.void", .call = HY_CALL_SSS(networks_entry_void, "id", "entry", "reason"), "POST", "/v1/networks/{id}/ledger/{entry}/void", WRITE | HY_ROLE_OPERATOR,
       void_args, entry_result, 200, false,
       "Void a delivery or payment recorded by mistake (another key than the one that recorded "
       "it; 409 already_paid, insufficient_network_cash, voided; 422 same_approver)"),
    {0},
};

extern const hy_event_spec_t networks_events[];
const hy_api_t networks_api = {"networks", "net,buy,ord", networks_ops, networks_events};

/* ---- events published (spec.h hy_event_spec_t): the data JSON Schema of each, served at
 * /v1/schemas/events/{type} and listed in /v1/asyncapi.json. Data may carry more members. */
static const hy_field_t networks_ev[] = {
    {.name = "network_id", .type = HY_T_ID, .flags = HY_F_REQ | HY_F_NULL, .doc = "the network"},
    {.name = "office", .type = HY_T_STRING, .flags = HY_F_REQ | HY_F_NULL, .doc = "its office"},
    {.name = "field", .type = HY_T_STRING, .flags = HY_F_REQ | HY_F_NULL, .doc = "its field of work"},
    {0},
};
/* What reporting reads of a voided entry and of a merge. */
static const hy_field_t networks_ev_entry_before[] = {
    {.name = "kind", .type = HY_T_STRING, .flags = HY_F_REQ, .doc = "delivery or payment"},
    {.name = "date", .type = HY_T_DATE, .flags = HY_F_REQ, .doc = "the entry's date"},
    {.name = "person_id", .type = HY_T_ID, .flags = HY_F_NULL, .doc = "the member, if any"},
    {0},
};
static const hy_field_t networks_ev_voided[] = {
    {.name = "network_id", .type = HY_T_ID, .flags = HY_F_REQ | HY_F_NULL, .doc = "the network"},
    {.name = "office", .type = HY_T_STRING, .flags = HY_F_REQ | HY_F_NULL, .doc = "its office"},
    {.name = "field", .type = HY_T_STRING, .flags = HY_F_NULL, .doc = "its field of work"},
    {.name = "id", .type = HY_T_INT, .flags = HY_F_REQ, .doc = "the ledger entry's number"},
    {.name = "before", .type = HY_T_OBJECT, .flags = HY_F_REQ, .sub = networks_ev_entry_before,
     .doc = "the entry as recorded"},
    {0},
};
static const hy_field_t networks_ev_merged[] = {
    {.name = "network_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the network"},
    {.name = "office", .type = HY_T_STRING, .flags = HY_F_NULL, .doc = "its office"},
    {.name = "person_id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the surviving record"},
    {.name = "merged_from", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the retired record"},
    {0},
};
const hy_event_spec_t networks_events[] = {
    {"networks.network.created", "A network was formed", networks_ev},
    {"networks.network.updated", "A network changed", networks_ev},
    {"networks.network.lead_assigned", "A network got a new lead", networks_ev},
    {"networks.network.member_joined", "A person joined a network", networks_ev},
    {"networks.network.member_left", "A person left a network", networks_ev},
    {"networks.network.order_placed", "A buyer placed an order", networks_ev},
    {"networks.network.work_assigned", "Work of an order was assigned to members", networks_ev},
    {"networks.network.delivery_recorded", "A delivery was recorded", networks_ev},
    {"networks.network.order_fulfilled", "An order was fulfilled", networks_ev},
    {"networks.network.payment_recorded", "A payment was recorded", networks_ev},
    {"networks.buyer.created", "A buyer was registered", networks_ev},
    {"networks.network.delivery_voided", "A delivery was voided (what it moved moves back)", networks_ev_voided},
    {"networks.network.payment_voided", "A payment was voided (what it moved moves back)", networks_ev_voided},
    {"networks.network.member_merged", "A membership now belongs to the surviving record of a merge", networks_ev_merged},
    {0},
};
