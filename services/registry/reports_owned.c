/*
 * reports_owned.c — submitted reports and office targets, owned by the registry.
 *
 * Reporting runs as several replicas, each with its own projections; what people write there
 * (a submitted half-year report, an office's targets) must be one record that every replica
 * answers the same. So the registry, which owns the offices, owns these too: it gives a
 * submission its id from its own sequence ("sub_N", counter "submission"), stamps and signs
 * it, stores it and publishes it; every reporting replica applies the event and keeps its data
 * verbatim (services/reporting/ledger.c). The replica that took the HTTP request computed the
 * document (figures, as_of, the ids behind each figure) and asks for it to be recorded from a
 * reader thread, outside any transaction of its own.
 *
 *   reports.record {document}          no route; the caller's actor is the person who submits
 *       document = {report, as_of, records} as computed by a reporting replica; the registry
 *       adds id, submitted_at (its clock), submitted_by {key_id, office} (the actor) and
 *       digest {alg: SHA-256, value} over the canonical JSON (keys sorted, compact, UTF-8 as is)
 *       of the document without digest, and emits registry.report.submitted with that canonical
 *       text as data (subject: the id): the document is stored once, as that event (the outbox
 *       is the registry's log, kept whole; the audit index finds it by id: GET
 *       /v1/audit?entity=sub_N); "s:"<u64> keeps its summary {id, office, year, half,
 *       submitted_at, submitted_by, digest}. 201 with the document.
 *   offices.targets_set {code, year, half, targets}   no route (PUT /v1/offices/{code}/targets
 *       is reporting's, which checks the indicator names first); replaces the office's targets
 *       for the half ("t:"<office>|<year>|<half>) and emits registry.office.targets_set
 *       {office, year, half, targets, set_at, set_by}. 200 with {office, year, half, targets}.
 *
 * Codes: 404 unknown_office (targets of an office that does not exist), 422 unknown_office (a
 * report of one), 422 invalid_document (no report.office/year/half), 403 other_office (a key
 * of another office).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "registry_reports.h"
#include "scope.h"

#define CANON (JSON_SORT_KEYS | JSON_COMPACT)

const hy_field_t registry_report_record_args[] = {
    {.name = "document", .type = HY_T_ANY, .flags = HY_F_REQ,
     .doc = "{report, as_of, records} as computed by a reporting replica"},
    {0},
};

const hy_field_t registry_targets_set_args[] = {
    {.name = "code", .type = HY_T_STRING, .flags = HY_F_REQ, .max_len = 64, .doc = "office code"},
    {.name = "year", .type = HY_T_INT, .flags = HY_F_REQ, .min = 1300, .max = 1499, .doc = "Solar Hijri year"},
    {.name = "half", .type = HY_T_INT, .flags = HY_F_REQ, .min = 1, .max = 2, .doc = "1 or 2"},
    {.name = "targets", .type = HY_T_ANY, .flags = HY_F_REQ, .doc = "{indicator: whole number >= 0}"},
    {0},
};

const hy_field_t registry_ev_report[] = {
    {.name = "id", .type = HY_T_STRING, .flags = HY_F_REQ, .doc = "sub_N, from the registry's sequence"},
    {.name = "report", .type = HY_T_OBJECT, .flags = HY_F_REQ, .doc = "the half-year report as submitted"},
    {.name = "as_of", .type = HY_T_OBJECT, .doc = "per source: seq and time of the last event applied"},
    {.name = "records", .type = HY_T_OBJECT, .doc = "per figure: the ids of the records behind it"},
    {.name = "submitted_at", .type = HY_T_STRING, .doc = "when (UTC)"},
    {.name = "submitted_by", .type = HY_T_OBJECT, .doc = "{key_id, office} of the caller"},
    {.name = "digest", .type = HY_T_OBJECT, .flags = HY_F_REQ,
     .doc = "{alg: SHA-256, value: hex} over the canonical JSON without digest"},
    {0},
};

const hy_field_t registry_ev_targets[] = {
    {.name = "office", .type = HY_T_STRING, .flags = HY_F_REQ, .doc = "the office code (normalised)"},
    {.name = "year", .type = HY_T_INT, .flags = HY_F_REQ, .doc = "Solar Hijri year"},
    {.name = "half", .type = HY_T_INT, .flags = HY_F_REQ, .doc = "1 or 2"},
    {.name = "targets", .type = HY_T_OBJECT, .flags = HY_F_REQ, .doc = "{indicator: value}; replaces the half's"},
    {0},
};

int registry_reports_open(hy_store_t *store, registry_t *st)
{
    return hy_store_open_db(store, "registry.reports", 0, &st->reports);
}

/* The actor as {key_id, office}. */
static json_t *s_by(hy_ctx_t *ctx)
{
    const hy_actor_t *a = ctx->req ? &ctx->req->actor : NULL;
    return json_pack("{s:s,s:s}", "key_id", a && a->key_id ? a->key_id : "", "office",
                     a && a->office ? a->office : "");
}

/* Signs doc (adds digest) and returns its canonical text, or NULL. */
static char *s_sign(json_t *doc)
{
    char *text = json_dumps(doc, CANON), hex[crypto_hash_sha256_BYTES * 2 + 1];
    unsigned char h[crypto_hash_sha256_BYTES];
    if (!text)
        return NULL;
    crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
    free(text);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    if (json_object_set_new(doc, "digest", json_pack("{s:s,s:s}", "alg", "SHA-256", "value", hex)) != 0)
        return NULL;
    return json_dumps(doc, CANON);
}

/* Stores record under key and emits data as type's. 0 or the failure's status. */
static int s_keep(hy_ctx_t *ctx, const char *key, size_t klen, const char *record, const char *type,
                  const char *subject, const char *data)
{
    MDB_val k = {klen, (void *)key}, v = {strlen(record), (void *)record};
    int rc = mdb_put(ctx->txn, registry_state(ctx)->reports, &k, &v, 0);
    if (rc == 0)
        rc = hy_emit_text(ctx, type, subject, data, strlen(data));
    return hy_mdb_status(ctx, rc);
}

int registry_report_record(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    json_t *in = json_object_get(args, "document"), *report = json_object_get(in, "report");
    const char *office = hy_json_str(report, "office");
    if (!office || !json_is_integer(json_object_get(report, "year")) ||
        !json_is_integer(json_object_get(report, "half")))
        return hy_fail(ctx, 422, "invalid_document", "document",
                       "a submission is {report: {office, year, half, ...}, as_of, records}");
    int status = hy_scope_write(ctx, "office", office);
    if (status)
        return status;
    if ((status = registry_office_resolve(ctx, "office", office, NULL)) != 0)
        return status;
    uint64_t n;
    int rc = hy_store_next(ctx->txn, registry_state(ctx)->meta, "submission", &n);
    if (rc)
        return hy_fail_mdb(ctx, rc);
    char id[32], key[10] = "s:";
    snprintf(id, sizeof id, "sub_%llu", (unsigned long long)n);
    hy_key_u64(n, (uint8_t *)key + 2);
    json_t *doc = json_pack("{s:s,s:O,s:O,s:O,s:s,s:o}", "id", id, "report", report, "as_of",
                            json_object_get(in, "as_of") ? json_object_get(in, "as_of") : json_null(),
                            "records", json_object_get(in, "records") ? json_object_get(in, "records") : json_null(),
                            "submitted_at", ctx->now_iso, "submitted_by", s_by(ctx));
    char *text = doc ? s_sign(doc) : NULL;
    json_decref(doc);
    if (!text)
        return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    /* the document itself is stored once, as the event (the outbox is the registry's log; the
     * audit index finds it by id); the record here is its summary */
    json_t *summary = json_loads(text, 0, NULL);
    json_t *report_now = json_object_get(summary, "report");
    json_t *head = summary ? json_pack("{s:s,s:O,s:O,s:O,s:O,s:O,s:O}", "id", id, "office",
                                       json_object_get(report_now, "office"), "year",
                                       json_object_get(report_now, "year"), "half",
                                       json_object_get(report_now, "half"), "submitted_at",
                                       json_object_get(summary, "submitted_at"), "submitted_by",
                                       json_object_get(summary, "submitted_by"), "digest",
                                       json_object_get(summary, "digest"))
                           : NULL;
    char *head_text = head ? json_dumps(head, CANON) : NULL;
    json_decref(head);
    status = head_text ? s_keep(ctx, key, sizeof key, head_text, "registry.report.submitted", id, text)
                       : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    free(head_text);
    *result = status ? NULL : summary;
    if (status)
        json_decref(summary);
    free(text);
    if (status)
        return status;
    return *result ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
}

int registry_office_targets_set(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    const char *code = hy_json_str(args, "code");
    json_t *office = NULL, *targets = json_object_get(args, "targets");
    int status = hy_scope_write(ctx, "code", code);
    if (status)
        return status;
    int rc = registry_office_find(ctx, code, &office);
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 404, "unknown_office", "code", "no office has the code %.64s", code ? code : "");
    if (rc)
        return hy_fail_mdb(ctx, rc);
    if (!json_is_object(targets)) {
        json_decref(office);
        return hy_fail(ctx, 422, "invalid_target", "targets", "targets is {indicator: whole number >= 0}");
    }
    const char *norm = hy_json_str(office, "code");
    int year = (int)hy_json_int(args, "year", 0), half = (int)hy_json_int(args, "half", 0);
    char key[128];
    int klen = snprintf(key, sizeof key, "t:%s|%d|%d", norm ? norm : "", year, half);
    json_t *data = json_pack("{s:s,s:i,s:i,s:O,s:s,s:o}", "office", norm ? norm : "", "year", year,
                             "half", half, "targets", targets, "set_at", ctx->now_iso, "set_by", s_by(ctx));
    char *text = data && klen > 0 && (size_t)klen < sizeof key ? json_dumps(data, CANON) : NULL;
    json_decref(data);
    if (!text) {
        json_decref(office);
        return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    }
    status = s_keep(ctx, key, (size_t)klen, text, "registry.office.targets_set", norm ? norm : "", text);
    free(text);
    if (status == 0)
        *result = json_pack("{s:s,s:i,s:i,s:O}", "office", norm ? norm : "", "year", year, "half", half,
                            "targets", targets);
    json_decref(office);
    if (status)
        return status;
    return *result ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
}
