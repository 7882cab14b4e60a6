/*
 * products.c — loan products: one per fiscal year (Solar Hijri) and name, with the year's cap,
 * the service-fee rate (at most 2,400 bp, 24% a year) and method (declining by default, or
 * flat: ledger.c), the term and grace months and the minimum business stage.
 *
 * Products are never edited: when the programme changes a cap (one year caps were cut by 75%)
 * it creates the new year's product. A loan copies its product's terms at approval, so neither
 * a new product nor anything else changes a loan already approved. Names are unique within a
 * year (normalised, so Persian spelling variants collide): 409 duplicate_product.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "loans.h"

/* Products are referred to by id from loans; a malformed id is simply not found. */
int loans_product_load(hy_ctx_t *ctx, const char *id, json_t **product)
{
    uint64_t n;
    if (!id || hy_id_parse("lpr", id, &n) != 0)
        return MDB_NOTFOUND;
    return hy_store_get_id(ctx->txn, loans_state(ctx)->products, n, product);
}

/* "n:<year>:<normalised name>"; 0 when the name normalises to nothing or is too long. */
static size_t s_name_key(int year, const char *name, char *out, size_t outsz)
{
    char *norm = hy_fa_normalize(name);
    int w = norm && *norm ? snprintf(out, outsz, "n:%d:%s", year, norm) : 0;
    free(norm);
    return w > 0 && (size_t)w < outsz ? (size_t)w : 0;
}

/* Index key of a fiscal year, for listing one year's products. */
static size_t s_year_key(int year, char out[16])
{
    return (size_t)snprintf(out, 16, "y:%d", year);
}

/* An optional integer argument, or its default. */
static int64_t s_opt(const json_t *args, const char *key, int64_t dflt)
{
    json_t *v = json_object_get(args, key);
    return v ? (int64_t)json_integer_value(v) : dflt;
}

/* Defaults: the cap of the kind (DOMAIN.md), no fee, 12 months, no grace, developing. */
int loans_product_create(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    loans_t *st = loans_state(ctx);
    const char *name = hy_json_str(args, "name"), *kind = hy_json_str(args, "kind");
    const char *min_stage = hy_json_str(args, "min_stage");
    int year = (int)s_opt(args, "fiscal_year", loans_fiscal_year(loans_day(ctx->today)));
    int64_t cap = s_opt(args, "cap_rials",
                        strcmp(kind, "network") == 0 ? LOANS_CAP_NETWORK : LOANS_CAP_INDIVIDUAL);
    int64_t rate = s_opt(args, "fee_rate_bp", 0), term = s_opt(args, "term_months", 12);
    int64_t grace = s_opt(args, "grace_months", 0), fee;
    char key[512], ykey[16], id[32];
    size_t klen = s_name_key(year, name, key, sizeof key);
    if (!klen)
        return hy_fail(ctx, 422, "invalid_name", "name", "the name must contain letters");
    /* The largest loan under this cap must have a fee that fits: refuse a product no loan could
     * use rather than fail later. */
    if (loans_fee(cap, rate, term, &fee) != 0)
        return hy_fail(ctx, 422, "amount_too_large", "cap_rials",
                       "a loan of the whole cap would overflow with this fee rate and term");
    uint64_t n;
    int rc = hy_index_first(ctx->txn, st->product_idx, key, klen, &n);
    if (rc == 0) {
        hy_id_format("lpr", n, id, sizeof id);
        hy_fail(ctx, 409, "duplicate_product", "name",
                "fiscal year %d already has a product named %s (%s)", year, name, id);
        hy_fail_extra(ctx, "existing_id", json_string(id));
        return -1;
    }
    if (rc != MDB_NOTFOUND || (rc = hy_store_next(ctx->txn, st->meta, "product", &n)) != 0)
        return hy_fail_mdb(ctx, rc);
    hy_id_format("lpr", n, id, sizeof id);
    const char *method = hy_json_str(args, "fee_method");
    json_t *p = json_pack("{s:s,s:s,s:s,s:i,s:I,s:I,s:s,s:I,s:I,s:s,s:s,s:s,s:s}", "id", id,
                          "name", name, "kind", kind, "fiscal_year", year, "cap_rials",
                          (json_int_t)cap, "fee_rate_bp", (json_int_t)rate, "fee_method",
                          method ? method : "declining", "term_months", (json_int_t)term,
                          "grace_months", (json_int_t)grace, "min_stage",
                          min_stage ? min_stage : "developing", "office", loans_actor_office(ctx),
                          "created_by", ctx->req ? ctx->req->actor.key_id : "", "created_at",
                          ctx->now_iso);
    if (!p)
        return hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
    if ((rc = hy_store_put_id(ctx->txn, st->products, n, p)) != 0 ||
        (rc = hy_index_put(ctx->txn, st->product_idx, key, klen, n)) != 0 ||
        (rc = hy_index_put(ctx->txn, st->product_idx, ykey, s_year_key(year, ykey), n)) != 0) {
        json_decref(p);
        return hy_fail_mdb(ctx, rc);
    }
    int status = loans_emit_raw(ctx, "loans.product.created", id, json_deep_copy(p));
    if (status) {
        json_decref(p);
        return status;
    }
    *out = p;
    return 0;
}

/* The same name in the new year first: a programme renews its products under their names. */
int loans_product_current(hy_ctx_t *ctx, const json_t *product, int year, char id[32])
{
    loans_t *st = loans_state(ctx);
    char key[512], ykey[16];
    uint64_t n;
    size_t klen = s_name_key(year, hy_json_str(product, "name"), key, sizeof key);
    int rc = klen ? hy_index_first(ctx->txn, st->product_idx, key, klen, &n) : MDB_NOTFOUND;
    if (rc == 0) {
        hy_id_format("lpr", n, id, 32);
        return 0;
    }
    if (rc != MDB_NOTFOUND)
        return rc;
    MDB_cursor *cur;
    MDB_val k = {s_year_key(year, ykey), ykey}, v;
    const char *kind = hy_json_str(product, "kind");
    if ((rc = mdb_cursor_open(ctx->txn, st->product_idx, &cur)) != 0)
        return rc;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP)) {
        json_t *p = NULL;
        n = hy_key_u64_get(v.mv_data);
        if ((rc = hy_store_get_id(ctx->txn, st->products, n, &p)) != 0)
            break;
        bool same = kind && hy_json_str(p, "kind") && strcmp(kind, hy_json_str(p, "kind")) == 0;
        json_decref(p);
        if (same) {
            hy_id_format("lpr", n, id, 32);
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc;
}

/* GET /v1/loan-products/{id}. */
int loans_product_get(hy_ctx_t *ctx, const char *id, json_t **out)
{
    int rc = loans_product_load(ctx, id, out);
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 404, "not_found", "id", "no loan product has the id %s", id ? id : "");
    return hy_mdb_status(ctx, rc);
}

/* hy_page_list filter: a product of the kind asked (user; NULL: any kind). */
static bool s_of_kind(const json_t *product, void *user)
{
    const char *kind = hy_json_str(product, "kind");
    return !user || (kind && strcmp(kind, user) == 0);
}

/* GET /v1/loan-products: all, or one fiscal year through its index. */
int loans_product_list(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    loans_t *st = loans_state(ctx);
    char ykey[16];
    json_t *year = json_object_get(args, "fiscal_year");
    size_t klen = year ? s_year_key((int)json_integer_value(year), ykey) : 0;
    return hy_page_list(ctx, args, st->products, year ? &st->product_idx : NULL, ykey, klen,
                        s_of_kind, (void *)hy_json_str(args, "kind"), out);
}
