/*
 * projection.c — what the loans service knows of other services' entities, kept from their
 * events (the skeleton advances the cursor in the same transaction, so each event takes effect
 * once).
 *
 * From the registry: persons (that they exist, their office) and businesses (owner, stage, and
 * whether they hold a supporter licence: licence.type "supporter" on business.created and
 * business.updated; a stage change keeps what was known).
 * From the networks service: who leads an active network. networks.network.created and
 * networks.network.updated carry the network (lead_person_id, status), lead_assigned a new
 * lead. A network counts for its one lead while it is active (suspended or closed: not); a
 * person is a lead entrepreneur while she leads at least one active network. Lead entrepreneurs
 * go first in the approval queue, and they (or a business with a supporter licence) are who
 * may borrow on a network product (apply.c).
 *
 * Persons are the shared projection (shared/persons.h); a registry.person.merged re-points every
 * loan of the retired record to the surviving one. One database, keys tagged by kind:
 *   'P' person number  -> {"office": ...} (stores from before the shared projection: read only)
 *   'G' person number  -> {"into": "prs_.."}: a record retired by a merge (422 merged_person)
 *   'B' business number -> {"owner_id": "prs_..", "stage": "..", "supporter": bool}
 *   'L' person number  -> number of active networks she leads (8 bytes)
 *   'M' network id     -> its lead's person number and whether it is active (16 bytes)
 *   'N' network id     -> its lead (8 bytes): stores from before status was followed, read as
 *                         an active network until its next event writes its 'M' record
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "loans.h"
#include "persons.h"

static const char *const STAGES[] = {"applicant", "training", "producing", "developing",
                                     "established"};

/* The order of stages: applicant < training < producing < developing < established. */
int loans_stage_rank(const char *stage)
{
    for (int i = 0; stage && i < (int)(sizeof STAGES / sizeof STAGES[0]); i++)
        if (strcmp(stage, STAGES[i]) == 0)
            return i;
    return -1;
}

/* A tagged key: one letter and a big-endian number. */
static size_t s_key(char tag, uint64_t n, uint8_t out[9])
{
    out[0] = (uint8_t)tag;
    hy_key_u64(n, out + 1);
    return 9;
}

/* The person an application names: the shared projection (shared/persons.h), else the record a
 * store from before it kept ('P'); a person not seen parks the request until we have caught up
 * with the registry, then 422 unknown_person. *n and office (65 bytes) get her number and
 * office. Returns 0, HY_PARKED or the failure status. */
int loans_person(hy_ctx_t *ctx, const char *id, const char *field, uint64_t *n, char office[65])
{
    json_t *rec = NULL;
    uint8_t k[9];
    office[0] = '\0';
    if (hy_id_parse("prs", id, n) != 0)
        return hy_fail(ctx, 422, "unknown_person", field, "%s is not a person id", id ? id : "");
    int rc = hy_store_get_json(ctx->txn, loans_state(ctx)->proj, k, s_key('G', *n, k), &rec);
    if (rc == 0) {   /* a retired record: her loans are under the surviving id */
        hy_fail(ctx, 422, "merged_person", field, "%s was merged into %s: use that id", id,
                hy_json_str(rec, "into"));
        hy_fail_extra(ctx, "merged_into", json_incref(json_object_get(rec, "into")));
        json_decref(rec);
        return -1;
    }
    if (rc != MDB_NOTFOUND)
        return hy_fail_mdb(ctx, rc);
    rc = hy_persons_get(&loans_state(ctx)->persons, ctx->txn, id, &rec);
    if (rc == MDB_NOTFOUND)
        rc = hy_store_get_json(ctx->txn, loans_state(ctx)->proj, k, s_key('P', *n, k), &rec);
    if (rc == MDB_NOTFOUND) {
        int parked = hy_park(ctx, "registry");
        return parked ? parked
                      : hy_fail(ctx, 422, "unknown_person", field, "no person has the id %s", id);
    }
    if (rc)
        return hy_fail_mdb(ctx, rc);
    snprintf(office, 65, "%s", hy_json_str(rec, "office") ? hy_json_str(rec, "office") : "");
    json_decref(rec);
    return 0;
}

/* Owner, stage and licence: what business_not_owned, stage_too_early and
 * not_eligible_for_product look at (supporter may be NULL). */
int loans_business_get(hy_ctx_t *ctx, uint64_t business, uint64_t *owner, int *stage,
                       bool *supporter)
{
    uint8_t k[9];
    json_t *rec = NULL;
    int rc = hy_store_get_json(ctx->txn, loans_state(ctx)->proj, k, s_key('B', business, k), &rec);
    if (rc)
        return rc;
    if (hy_id_parse("prs", hy_json_str(rec, "owner_id"), owner) != 0)
        *owner = 0;
    *stage = loans_stage_rank(hy_json_str(rec, "stage"));
    if (supporter)
        *supporter = json_is_true(json_object_get(rec, "supporter"));
    json_decref(rec);
    return 0;
}

/* Reads an 8-byte value of the projection. */
static int s_get_u64(hy_ctx_t *ctx, const void *key, size_t klen, uint64_t *out)
{
    MDB_val k = {klen, (void *)key}, v;
    int rc = mdb_get(ctx->txn, loans_state(ctx)->proj, &k, &v);
    if (rc == 0 && v.mv_size != 8)
        return MDB_CORRUPTED;
    if (rc == 0)
        *out = hy_key_u64_get(v.mv_data);
    return rc;
}

/* Writes an 8-byte value of the projection. */
static int s_put_u64(hy_ctx_t *ctx, const void *key, size_t klen, uint64_t value)
{
    uint8_t buf[8];
    hy_key_u64(value, buf);
    MDB_val k = {klen, (void *)key}, v = {8, buf};
    return mdb_put(ctx->txn, loans_state(ctx)->proj, &k, &v, 0);
}

/* A lead entrepreneur leads at least one network now. */
bool loans_is_lead(hy_ctx_t *ctx, uint64_t person)
{
    uint8_t k[9];
    uint64_t count = 0;
    return s_get_u64(ctx, k, s_key('L', person, k), &count) == 0 && count > 0;
}

/* Adds delta (+1 or -1) to the number of networks a person leads. */
static int s_lead_count(hy_ctx_t *ctx, uint64_t person, int delta)
{
    uint8_t k[9];
    uint64_t count = 0;
    size_t klen = s_key('L', person, k);
    int rc = s_get_u64(ctx, k, klen, &count);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    count = delta < 0 ? (count ? count - 1 : 0) : count + 1;
    return s_put_u64(ctx, k, klen, count);
}

/* A network's lead and whether it is active ('M' record); 0 and false when unknown. */
static int s_network_get(hy_ctx_t *ctx, const void *key, size_t klen, uint64_t *lead,
                         bool *active)
{
    MDB_val k = {klen, (void *)key}, v;
    int rc = mdb_get(ctx->txn, loans_state(ctx)->proj, &k, &v);
    *lead = 0, *active = false;
    if (rc == MDB_NOTFOUND) {
        /* a store from before network status was followed: 'N' + id -> lead, counted as active */
        char old[80];
        memcpy(old, key, klen < sizeof old ? klen : sizeof old);
        old[0] = 'N';
        rc = s_get_u64(ctx, old, klen, lead);
        *active = rc == 0;
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    if (rc == 0 && v.mv_size != 16)
        return MDB_CORRUPTED;
    if (rc == 0) {
        *lead = hy_key_u64_get(v.mv_data);
        *active = hy_key_u64_get((const uint8_t *)v.mv_data + 8) != 0;
    }
    return rc;
}

/* Sets a network's lead (0: keep) and activity (-1: keep), moving the lead counts so that a
 * person counts each active network she leads once. */
static int s_network_set(hy_ctx_t *ctx, const char *net, uint64_t lead, int active)
{
    char key[80];
    size_t klen = (size_t)snprintf(key, sizeof key, "M%.70s", net);
    uint64_t lead0;
    bool active0;
    int rc = s_network_get(ctx, key, klen, &lead0, &active0);
    if (rc)
        return rc;
    uint64_t lead1 = lead ? lead : lead0;
    bool active1 = active < 0 ? active0 : active != 0;
    uint64_t was = active0 ? lead0 : 0, now = active1 ? lead1 : 0;
    if (was != now && was && (rc = s_lead_count(ctx, was, -1)) != 0)
        return rc;
    if (was != now && now && (rc = s_lead_count(ctx, now, +1)) != 0)
        return rc;
    uint8_t buf[16];
    hy_key_u64(lead1, buf);
    hy_key_u64(active1, buf + 8);
    MDB_val k = {klen, key}, v = {16, buf};
    return mdb_put(ctx->txn, loans_state(ctx)->proj, &k, &v, 0);
}

/* A networks event: created and updated carry the network (data, or data.network), lead_assigned
 * the new lead. The network is data.network_id, else the network's id, else the subject. */
static int s_network_event(hy_ctx_t *ctx, const char *type, json_t *event)
{
    json_t *data = json_object_get(event, "data");
    json_t *network = strcmp(type, "networks.network.updated") == 0
                          ? json_object_get(data, "network")
                          : data;
    const char *net = hy_json_str(data, "network_id");
    if (!net)
        net = hy_json_str(network, "id");
    if (!net)
        net = hy_json_str(event, "subject");
    if (!net)
        return 0;
    uint64_t lead = 0;
    if (hy_id_parse("prs", hy_json_str(network, "lead_person_id"), &lead) != 0)
        lead = 0;
    const char *status = strcmp(type, "networks.network.lead_assigned") == 0
                             ? NULL
                             : hy_json_str(network, "status");
    int active = status ? strcmp(status, "active") == 0
                        : strcmp(type, "networks.network.created") == 0 ? 1 : -1;
    return s_network_set(ctx, net, lead, active);
}

/* registry.person.merged {id, into}: every loan of the retired record now belongs to the
 * surviving one (index and record), each announced by loans.loan.person_merged. */
static int s_merged(hy_ctx_t *ctx, const json_t *data)
{
    loans_t *st = loans_state(ctx);
    const char *gone = hy_json_str(data, "id"), *into = hy_json_str(data, "into");
    uint64_t g, i;
    if (!gone || !into || hy_id_parse("prs", gone, &g) != 0 || hy_id_parse("prs", into, &i) != 0)
        return 0;
    uint8_t gk[9];
    json_t *mark = json_pack("{s:s}", "into", into);   /* refuses new loans under the old id */
    int rc0 = mark ? hy_store_put_json(ctx->txn, st->proj, gk, s_key('G', g, gk), mark) : ENOMEM;
    json_decref(mark);
    if (rc0)
        return rc0;
    for (;;) {   /* the first loan under the retired id, until none is left */
        uint8_t key[10] = {'p', ':'};
        hy_key_u64(g, key + 2);
        MDB_val k = {sizeof key, key}, v;
        json_t *loan = NULL;
        int rc = mdb_get(ctx->txn, st->loan_idx, &k, &v);
        if (rc == MDB_NOTFOUND)
            return 0;
        uint64_t n = rc == 0 ? hy_key_u64_get(v.mv_data) : 0;
        if (rc || (rc = hy_store_get_id(ctx->txn, st->loans, n, &loan)) != 0 ||
            (rc = loans_move_person(ctx, n, loan, into)) != 0 ||
            (rc = hy_store_put_id(ctx->txn, st->loans, n, loan)) != 0) {
            json_decref(loan);
            return rc;
        }
        json_t *extra = json_pack("{s:s,s:O}", "from_person_id", gone, "date",
                                  json_object_get(data, "date") ? json_object_get(data, "date")
                                                                : json_null());
        rc = loans_emit(ctx, "person_merged", loan, extra) ? (ctx->mdb_rc ? ctx->mdb_rc : ENOMEM)
                                                           : 0;
        json_decref(loan);
        if (rc)
            return rc;
    }
}

/* Keeps a business's owner, stage and licence; a stage change carries only the new stage
 * (licence NULL: the supporter flag already known is kept). */
static int s_business(hy_ctx_t *ctx, const char *id, const char *owner, const char *stage,
                      const json_t *licence)
{
    uint64_t n, owner0;
    uint8_t k[9];
    int stage0;
    bool supporter = false;
    if (!id || hy_id_parse("bus", id, &n) != 0 || !owner || !stage)
        return 0;
    if (licence) {
        const char *type = hy_json_str(licence, "type");
        supporter = type && strcmp(type, "supporter") == 0;
    } else {
        int rc = loans_business_get(ctx, n, &owner0, &stage0, &supporter);
        if (rc && rc != MDB_NOTFOUND)
            return rc;
    }
    json_t *rec = json_pack("{s:s,s:s,s:b}", "owner_id", owner, "stage", stage, "supporter",
                            supporter);
    int rc = rec ? hy_store_put_json(ctx->txn, loans_state(ctx)->proj, k, s_key('B', n, k), rec)
                 : ENOMEM;
    json_decref(rec);
    return rc;
}

/* The skeleton's apply hook: events of other types are skipped (and their cursor advanced). */
int loans_apply(hy_ctx_t *ctx, const char *source, json_t *event)
{
    const char *type = hy_json_str(event, "type");
    json_t *data = json_object_get(event, "data");
    if (!type || !json_is_object(data))
        return 0;
    if (strcmp(source, "networks") == 0) {
        if (strcmp(type, "networks.network.created") == 0 ||
            strcmp(type, "networks.network.updated") == 0 ||
            strcmp(type, "networks.network.lead_assigned") == 0)
            return s_network_event(ctx, type, event);
        return 0;
    }
    if (strcmp(source, "registry") != 0)
        return 0;
    int rc = hy_persons_apply(&loans_state(ctx)->persons, ctx->txn, source, event);
    if (rc)
        return rc;
    if (strcmp(type, "registry.person.merged") == 0)
        return s_merged(ctx, data);
    json_t *bus = strcmp(type, "registry.business.updated") == 0 ? json_object_get(data, "business")
                                                                 : data;
    if (strcmp(type, "registry.business.created") == 0 ||
        strcmp(type, "registry.business.updated") == 0)
        return s_business(ctx, hy_json_str(bus, "id"), hy_json_str(bus, "owner_id"),
                          hy_json_str(bus, "stage"),
                          json_object_get(bus, "licence") ? json_object_get(bus, "licence")
                                                           : json_null());
    if (strcmp(type, "registry.business.stage_changed") == 0)
        return s_business(ctx, hy_json_str(data, "id"), hy_json_str(data, "owner_id"),
                          hy_json_str(data, "to"), NULL);
    return 0;
}
