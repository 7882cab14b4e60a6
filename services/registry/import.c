/*
 * import.c — an agency's list as an import: created with its first part, fed part by part,
 * queued, then applied in the background (import_apply.c); its state, counts and rows on read.
 *
 * The gateway relays one JSON body of at most HY_GATEWAY_MAX_BODY (1 MiB) and every socket
 * refuses messages over HY_MAX_MSG_BYTES (8 MiB), so a 100 MB file cannot travel as one
 * message. It travels as parts instead: POST /v1/imports carries the first (base64 "data") and
 * says whether more follow ("more": true); POST /v1/imports/{id}/parts carries the next ones in
 * order ("seq" 1, 2, ...; "last": true on the final one). hamyarctl import does the splitting.
 * Each part is parsed as it arrives (import_parse.c) and its rows stored, so a part is one
 * short write and the file is never held whole in memory. The parse is done on the intake
 * thread when it can (the ops' prepare, spec.h: from the import's state as last committed,
 * while the writer commits what came before); the writer then only checks that the import is
 * still in the state the part was parsed from and puts its rows. Its rows are applied as soon
 * as they are stored, while the next parts come (the import stays "receiving", its "done"
 * counting them, until its last part): the upload and the apply overlap instead of adding
 * up. A file abandoned half-way leaves the rows it sent applied, each with its outcome
 * (sending the whole file again changes nothing for them: unchanged). A part sent again (a client retrying
 * after a timeout) changes nothing and is answered with the import as it stands.
 *
 * Everything lives in LMDB: the import's record (state, counts, parser state), one row per
 * record of the file (input, then outcome), and the "a:" entry that marks it active, so a
 * registry killed mid-import resumes where its last committed step ended.
 */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "happened.h"
#include "scope.h"
#include "registry.h"
#include "registry_import.h"

/* Row key: import number then row number, both big-endian. */
static void s_row_key(uint64_t imp, uint64_t row, uint8_t key[16])
{
    hy_key_u64(imp, key);
    hy_key_u64(row, key + 8);
}

/* The import's public view: the record without the parser's and the step's internals. */
static json_t *s_view(const json_t *imp)
{
    json_t *v = json_deep_copy(imp);
    static const char *const internal[] = {"carry_raw", "carry_text", "actor", "lines",
                                           "delimiter"};
    for (size_t i = 0; i < sizeof internal / sizeof internal[0]; i++)
        json_object_del(v, internal[i]);
    json_int_t total = json_integer_value(json_object_get(imp, "total"));
    json_int_t done = json_integer_value(json_object_get(imp, "done"));
    json_object_set_new(v, "progress", json_real(total ? (double)done / (double)total : 0.0));
    return v;
}

/* What a part moves on in the import's record: the parser's state and the rows' count. */
static const char *const s_parser_keys[] = {"encoding", "format",     "delimiter",
                                            "columns",  "ignored_columns", "lines",
                                            "blank_rows", "carry_raw", "carry_text", "total"};

static bool s_is_parser_key(const char *key)
{
    for (size_t i = 0; i < sizeof s_parser_keys / sizeof s_parser_keys[0]; i++)
        if (strcmp(key, s_parser_keys[i]) == 0)
            return true;
    return false;
}

/* Decodes a part's base64 data and feeds it to the parser state in imp; the rows it completes,
 * numbered after imp's total, are appended to out as their stored texts, each one's length to
 * lens, and imp's total moves on. 0, or -1 with a stable code in err (invalid_data: not
 * base64; or registry_import_feed's). Nothing here touches the store: the writer runs it, or
 * the intake thread ahead of it (registry_imports_create_prepare, _part_prepare). */
static int s_parse_part(json_t *imp, const char *b64, bool last, registry_buf_t *out,
                        json_t *lens, char err[48])
{
    size_t len = b64 ? strlen(b64) : 0, blen = 0;
    unsigned char *bin = malloc(len + 1);
    json_t *rows = json_array();
    int rc = -1;
    if (!bin || !rows) {
        snprintf(err, 48, "internal_error");
        goto done;
    }
    if (len && sodium_base642bin(bin, len, b64, len, " \r\n", &blen, NULL,
                                 sodium_base64_VARIANT_ORIGINAL) != 0) {
        snprintf(err, 48, "invalid_data");
        goto done;
    }
    if (registry_import_feed(imp, bin, blen, last, rows, err, 48) != 0)
        goto done;
    json_int_t total = json_integer_value(json_object_get(imp, "total"));
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {   /* each row's JSON, written without jansson's dump */
        size_t at = out->len;
        json_object_set_new(row, "row", json_integer(++total));
        if (registry_json_add(out, row) != 0 ||
            json_array_append_new(lens, json_integer((json_int_t)(out->len - at))) != 0) {
            snprintf(err, 48, "internal_error");
            goto done;
        }
    }
    json_object_set_new(imp, "total", json_integer(total));
    rc = 0;
done:
    free(bin);
    json_decref(rows);
    return rc;
}

/* The part as the intake thread parsed it, when it was parsed from the state imp is in (the
 * same number of parts and rows taken: only a part moves the parser). */
static bool s_prepared_fits(const json_t *prep, const json_t *imp)
{
    return json_is_object(prep) && json_is_string(json_object_get(prep, "text")) &&
           json_is_array(json_object_get(prep, "lens")) &&
           json_is_object(json_object_get(prep, "state")) &&
           json_integer_value(json_object_get(prep, "parts")) ==
               json_integer_value(json_object_get(imp, "parts")) &&
           json_integer_value(json_object_get(prep, "total")) ==
               json_integer_value(json_object_get(imp, "total"));
}

/* Feeds a part (args' data) to import n: parsed here, or taken as the intake thread parsed it;
 * its rows stored, numbered after the import's total. The import is active (its rows are
 * applied) from its first rows on, and queued when last. */
static int s_feed(hy_ctx_t *ctx, uint64_t n, json_t *imp, const char *b64, bool last)
{
    registry_t *st = registry_state(ctx);
    const json_t *prep = ctx->req ? ctx->req->prepared : NULL;
    json_int_t first = json_integer_value(json_object_get(imp, "total")) + 1;
    registry_buf_t own = {0};
    json_t *lens = NULL;
    const char *text;
    char err[48] = "";
    int status = 0, rc = 0;
    if (s_prepared_fits(prep, imp)) {
        const char *key;
        json_t *v;
        /* in the order the parse put them, so that the record is the same bytes */
        json_object_foreach((json_t *)json_object_get(prep, "state"), key, v)
            if (s_is_parser_key(key))
                json_object_set(imp, key, v);
        text = json_string_value(json_object_get(prep, "text"));
        lens = json_incref(json_object_get(prep, "lens"));
    } else {
        if (!(lens = json_array()) || s_parse_part(imp, b64, last, &own, lens, err) != 0) {
            status = !lens || strcmp(err, "internal_error") == 0
                         ? hy_fail(ctx, 500, "internal_error", NULL, "out of memory")
                         : hy_fail(ctx, 422, err, "data",
                                   strcmp(err, "invalid_data") == 0 ? "data is not base64"
                                   : strcmp(err, "missing_column") == 0
                                       ? "the file has no national ID column (کد ملی / national_id)"
                                   : strcmp(err, "invalid_encoding") == 0
                                       ? "the file is not UTF-8 or UTF-16 text"
                                       : "the file cannot be read (%s)", err);
            goto done;
        }
        text = own.p ? own.p : "";
    }
    size_t i, at = 0;
    json_t *len;
    json_array_foreach(lens, i, len) {
        uint8_t key[16];
        size_t l = (size_t)json_integer_value(len);
        s_row_key(n, (uint64_t)first + i, key);
        MDB_val k = {sizeof key, key}, v = {l, (void *)(text + at)};
        /* row numbers only grow: appended (another import's rows after them: put in place) */
        if ((rc = hy_store_put_last(ctx->txn, st->import_rows, &k, &v)) != 0)
            break;
        at += l;
    }
    if (rc != 0) {
        status = hy_fail_mdb(ctx, rc);
        goto done;
    }
    json_object_set_new(imp, "parts",
                        json_integer(json_integer_value(json_object_get(imp, "parts")) + 1));
    if (last) {
        json_object_set_new(imp, "state", json_string("queued"));
        json_object_set_new(imp, "queued_at", json_string(ctx->now_iso));
    }
    /* active from its first rows: they are applied while the next parts come */
    if ((last || json_array_size(lens)) &&
        (rc = hy_index_put(ctx->txn, st->import_idx, "a:", 2, n)) != 0)
        status = hy_fail_mdb(ctx, rc);
done:
    free(own.p);
    json_decref(lens);
    return status;
}

/* The part of req parsed from the parser state in imp (moved on in a copy):
 * {"parts", "total" (what it was parsed from), "state" (the parser's keys after it),
 * "text" (the rows' stored texts), "lens"}; NULL when it cannot be read (the writer answers
 * why). */
static json_t *s_prepare_part(const json_t *imp, const json_t *args, bool last)
{
    json_t *copy = json_deep_copy(imp), *lens = json_array(), *state = json_object(), *out = NULL;
    registry_buf_t text = {0};
    char err[48];
    if (copy && lens && state &&
        s_parse_part(copy, json_string_value(json_object_get(args, "data")), last, &text, lens,
                     err) == 0) {
        const char *key;
        json_t *v;
        json_object_foreach(copy, key, v)   /* in the record's order */
            if (s_is_parser_key(key))
                json_object_set(state, key, v);
        out = json_pack("{s:O, s:O, s:O, s:s%, s:O}", "parts", json_object_get(imp, "parts"),
                        "total", json_object_get(imp, "total"), "state", state,
                        "text", text.p ? text.p : "", text.len, "lens", lens);
    }
    free(text.p);
    json_decref(copy);
    json_decref(lens);
    json_decref(state);
    return out;
}

/* The parser's starting state: what a new import's record holds before its first part, and
 * what the intake thread parses a create's part from (registry_imports_create_prepare). */
static json_t *s_parser_start(void)
{
    return json_pack("{s:i, s:i, s:i}", "parts", 0, "total", 0, "blank_rows", 0);
}

json_t *registry_imports_create_prepare(const hy_request_t *req, const hy_prepare_env_t *env)
{
    (void)env;   /* a new import: the parser starts from nothing */
    json_t *imp = s_parser_start();
    json_t *out = imp ? s_prepare_part(imp, req->args, !json_is_true(json_object_get(req->args,
                                                                                     "more")))
                      : NULL;
    json_decref(imp);
    return out;
}

json_t *registry_imports_part_prepare(const hy_request_t *req, const hy_prepare_env_t *env)
{
    const registry_t *st = env->state;
    uint64_t n;
    json_t *imp = NULL, *out = NULL;
    if (!env->view || hy_store_get_by_id(env->view, st->imports, "imp",
                                         json_string_value(json_object_get(req->args, "id")), &n,
                                         &imp) != 0)
        return NULL;
    /* only the part that comes next (others are answered without parsing) */
    const char *state = json_string_value(json_object_get(imp, "state"));
    if (state && strcmp(state, "receiving") == 0 &&
        json_integer_value(json_object_get(req->args, "seq")) ==
            json_integer_value(json_object_get(imp, "parts")))
        out = s_prepare_part(imp, req->args, json_is_true(json_object_get(req->args, "last")));
    json_decref(imp);
    return out;
}

int registry_import_create(hy_ctx_t *ctx, json_t *args, json_t **out)
{
    registry_t *st = registry_state(ctx);
    const char *date = json_string_value(json_object_get(args, "date"));
    json_t *agency = NULL, *office = NULL, *imp = NULL;
    int status;
    uint64_t n;
    char id[32];
    if ((status = registry_agency_resolve(ctx, "agency",
                                          json_string_value(json_object_get(args, "agency")),
                                          &agency)) != 0 ||
        (status = hy_happened_check(ctx, "date", date)) != 0 ||
        (status = registry_new_office(ctx, args, NULL, &office)) != 0)
        goto done;
    if ((status = hy_mdb_status(ctx, hy_store_next(ctx->txn, st->meta, "import", &n))) != 0)
        goto done;
    hy_id_format("imp", n, id, sizeof id);
    const hy_actor_t *a = &ctx->req->actor;
    imp = json_pack("{s:s,s:O,s:O,s:s,s:s,s:s,s:i,s:i,s:i,s:i,s:{s:i,s:i,s:i,s:i,s:i,s:i},"
                    "s:{s:s,s:s,s:s},s:s,s:s}",
                    "id", id, "agency", json_object_get(agency, "code"), "agency_name",
                    json_object_get(agency, "name"), "date", date, "office", registry_code(office),
                    "state", "receiving", "parts", 0, "total", 0, "done", 0, "blank_rows", 0,
                    "counts", "created", 0, "referral_added", 0, "updated", 0,
                    "possible_duplicate", 0, "invalid", 0, "unchanged", 0, "actor", "key_id",
                    a->key_id ? a->key_id : "", "role", a->role ? a->role : "", "office",
                    a->office ? a->office : "", "created_by", a->key_id ? a->key_id : "",
                    "created_at", ctx->now_iso);
    json_t *start = s_parser_start();   /* its members are in place above: values only */
    if (!imp || !start || json_object_update(imp, start) != 0) {
        json_decref(start);
        status = hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
        goto done;
    }
    json_decref(start);
    hy_spec_set_jalali(imp, "date");
    json_t *name = json_object_get(args, "file_name");
    if (name)
        json_object_set(imp, "file_name", name);
    if ((status = s_feed(ctx, n, imp, json_string_value(json_object_get(args, "data")),
                         !json_is_true(json_object_get(args, "more")))) != 0)
        goto done;
    if ((status = hy_mdb_status(ctx, hy_store_put_id(ctx->txn, st->imports, n, imp))) == 0)
        *out = s_view(imp);
done:
    json_decref(agency);
    json_decref(office);
    json_decref(imp);
    return status;
}

/* Loads an import the caller may see: 0, or 404 (another office's import is not shown). */
static int s_load(hy_ctx_t *ctx, const char *id, uint64_t *n, json_t **imp)
{
    int rc = hy_store_get_by_id(ctx->txn, registry_state(ctx)->imports, "imp", id, n, imp);
    if (rc == 0 && !hy_scope_reads(ctx, json_string_value(json_object_get(*imp, "office")))) {
        json_decref(*imp);
        rc = MDB_NOTFOUND;
    }
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 404, "not_found", "id", "no import %s", id ? id : "");
    return hy_mdb_status(ctx, rc);
}

int registry_import_add_part(hy_ctx_t *ctx, const char *id, json_t *args, json_t **out)
{
    uint64_t n;
    json_t *imp = NULL;
    int status = s_load(ctx, id, &n, &imp);
    if (status)
        return status;
    json_int_t seq = json_integer_value(json_object_get(args, "seq"));
    json_int_t parts = json_integer_value(json_object_get(imp, "parts"));
    const char *state = json_string_value(json_object_get(imp, "state"));
    if ((status = hy_scope_write(ctx, "id", json_string_value(json_object_get(imp, "office")))))
        goto done;
    if (seq < parts) {   /* sent again: already taken */
        *out = s_view(imp);
        status = 0;
        goto done;
    }
    if (strcmp(state, "receiving") != 0) {
        status = hy_fail(ctx, 409, "import_not_receiving", "id",
                         "%s has all its parts (it is %s)", id, state);
        goto done;
    }
    if (seq != parts) {
        status = hy_fail(ctx, 409, "part_out_of_order", "seq",
                         "the next part of %s is %lld", id, (long long)parts);
        hy_fail_extra(ctx, "expected_seq", json_integer(parts));
        goto done;
    }
    if ((status = s_feed(ctx, n, imp, json_string_value(json_object_get(args, "data")),
                         json_is_true(json_object_get(args, "last")))) != 0)
        goto done;
    int rc = hy_store_put_id(ctx->txn, registry_state(ctx)->imports, n, imp);
    if (rc) {
        status = hy_fail_mdb(ctx, rc);
        goto done;
    }
    *out = s_view(imp);
    status = 0;
done:
    json_decref(imp);
    return status;
}

int registry_import_get(hy_ctx_t *ctx, const char *id, json_t **out)
{
    json_t *imp = NULL;
    int status = s_load(ctx, id, NULL, &imp);
    if (status)
        return status;
    *out = s_view(imp);
    json_decref(imp);
    return 0;
}

/* One row as the client sees it. */
static json_t *s_row_view(json_t *row)
{
    json_t *v = json_deep_copy(row);
    json_t *in = json_object_get(v, "in");
    json_object_set(v, "input", in);
    json_object_del(v, "in");
    json_object_del(v, "error");
    if (!json_object_get(v, "outcome"))
        json_object_set_new(v, "outcome", json_null());
    return v;
}

int registry_import_rows(hy_ctx_t *ctx, const char *id, const char *outcome, uint64_t after,
                         int limit, json_t **items, uint64_t *next)
{
    registry_t *st = registry_state(ctx);
    uint64_t n;
    json_t *imp = NULL;
    int status = s_load(ctx, id, &n, &imp);
    json_decref(imp);   /* loaded for the caller's right to see it */
    if (status)
        return status;
    json_t *list = json_array();
    *next = 0;
    int rc = 0, count = 0;
    char okey[64];
    size_t oklen = 0;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint8_t start[16];
    if (outcome && *outcome) {
        memcpy(okey, "o:", 2);
        hy_key_u64(n, (uint8_t *)okey + 2);
        oklen = 10 + (size_t)snprintf(okey + 10, sizeof okey - 10, "%s", outcome);
        rc = mdb_cursor_open(ctx->txn, st->import_idx, &cur);
        uint8_t after_k[8];
        hy_key_u64(after, after_k);
        k = (MDB_val){oklen, okey};
        v = (MDB_val){8, after_k};
        if (rc == 0)
            rc = mdb_cursor_get(cur, &k, &v, MDB_GET_BOTH_RANGE);
        if (rc == 0 && hy_key_u64_get(v.mv_data) == after)
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP);
        while (rc == 0) {
            uint64_t r = hy_key_u64_get(v.mv_data);
            if (count == limit) {
                *next = after;
                break;
            }
            uint8_t rk[16];
            json_t *row = NULL;
            s_row_key(n, r, rk);
            if ((rc = hy_store_get_json(ctx->txn, st->import_rows, rk, sizeof rk, &row)) != 0)
                break;
            json_array_append_new(list, s_row_view(row));
            json_decref(row);
            after = r;
            count++;
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP);
        }
    } else {
        s_row_key(n, after + 1, start);
        rc = mdb_cursor_open(ctx->txn, st->import_rows, &cur);
        k = (MDB_val){sizeof start, start};
        if (rc == 0)
            rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        while (rc == 0 && k.mv_size == 16 && hy_key_u64_get(k.mv_data) == n) {
            uint64_t r = hy_key_u64_get((const uint8_t *)k.mv_data + 8);
            if (count == limit) {
                *next = after;
                break;
            }
            json_t *row = json_loadb(v.mv_data, v.mv_size, 0, NULL);
            if (!row) {
                rc = MDB_CORRUPTED;
                break;
            }
            json_array_append_new(list, s_row_view(row));
            json_decref(row);
            after = r;
            count++;
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        if (rc == 0)
            rc = MDB_NOTFOUND;
    }
    if (cur)
        mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        json_decref(list);
        return hy_fail_mdb(ctx, rc);
    }
    *items = list;
    return 0;
}
