/*
 * test_service_text.c — the skeleton's JSON written and read as text (issue 14, service side):
 * string literals quoted as jansson quotes them, a top-level member read from a record's text
 * without decoding it, the outbox envelope and actor written directly being the very bytes
 * jansson would have written, and a raw result kept as it is by idempotency.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "service.h"
#include "service_internal.h"
#include "test.h"
#include "testutil.h"

/* The text jansson writes for a value, compact, members in order. */
static char *s_canon(const char *text, size_t len)
{
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    char *out = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) : NULL;
    json_decref(v);
    return out;
}

static void test_quote_as_jansson(void)
{
    static const char *const cases[] = {
        "", "plain", "quote \" and back\\slash", "line\nfeed\ttab\rcr\bbs\fff", "\x01\x1f ctl",
        "slash / stays", "\u0641\u0627\u0637\u0645\u0647 \u200c zwnj", "\x7f del",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *s = json_string(cases[i]);
        char *want = json_dumps(s, JSON_COMPACT | JSON_ENCODE_ANY);
        char got[256];
        size_t n = hy_json_quote(got, sizeof got, cases[i]);
        CHECK(want != NULL);
        if (want) {
            CHECK_EQ_STR(got, want);
            CHECK_EQ_INT(n, strlen(want));
        }
        free(want);
        json_decref(s);
    }
    char small[4];
    CHECK_EQ_INT(hy_json_quote(small, sizeof small, "abcdef"), 8);   /* too small: says so */
    CHECK_EQ_INT(strlen(small), 3);
}

/* hy_json_dump writes the very bytes json_dumps writes: nesting, escapes, members deleted and
 * set again (insertion order), a NUL in a string, integers at their limits, and a real (handed to
 * jansson). */
static void test_dump_as_jansson(void)
{
    static const char *const texts[] = {
        "{}", "[]", "\"x\"", "0", "null", "[true,false,null,-9223372036854775808,9223372036854775807]",
        "{\"id\":\"prs_1\",\"first_name\":\"\u0641\u0627\u0637\u0645\u0647\",\"n\":{\"a\":[1,[2,{}],[]],"
        "\"q\":\"quote \\\" back\\\\ \\n\\t\\u0001\\u001f / \u200c\"},\"e\":\"\",\"z\":{}}",
        "{\"r\":[1.5,0.1,1e300]}", "[{\"k\":\"v\\u0000w\"}]",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        json_t *v = json_loads(texts[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        CHECK(v != NULL);
        if (i == 6) {   /* a member deleted and set again goes last, as jansson writes it */
            json_object_del(v, "first_name");
            json_object_set_new(v, "first_name", json_string("\u0632\u0647\u0631\u0627"));
        }
        char *want = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        size_t n = 0;
        char *got = hy_json_dump(v, &n);
        CHECK(want && got);
        if (want && got) {
            CHECK_EQ_STR(got, want);
            CHECK_EQ_INT(n, strlen(want));
        }
        free(want);
        free(got);
        json_decref(v);
    }
}

static void test_text_member(void)
{
    const char *t = "{\"id\":\"prs_1\",\"n\":12,\"ok\":true,\"z\":null,\"refs\":[{\"office\":\"x\"}],"
                    "\"sub\":{\"office\":\"y\",\"a\":[1,[2,{}]]},\"note\":\"a,b}\",\"office\":\"rey-1\"}";
    const char *v = NULL;
    size_t n = 0;
    CHECK_EQ_INT(hy_json_text_str(t, strlen(t), "office", &v, &n), 0);
    CHECK(v && n == 5 && memcmp(v, "rey-1", 5) == 0);
    CHECK_EQ_INT(hy_json_text_str(t, strlen(t), "id", &v, &n), 0);
    CHECK(n == 5 && memcmp(v, "prs_1", 5) == 0);
    CHECK_EQ_INT(hy_json_text_str(t, strlen(t), "missing", &v, &n), -1);
    CHECK_EQ_INT(hy_json_text_str(t, strlen(t), "n", &v, &n), -1);   /* not a string */
    CHECK_EQ_INT(hy_json_text_str(t, strlen(t), "a", &v, &n), -1);   /* only nested */
    const char *esc = "{\"office\":\"re\\\"y\"}";
    CHECK_EQ_INT(hy_json_text_str(esc, strlen(esc), "office", &v, &n), -1);   /* decode it */
    const char *ekey = "{\"off\\u0069ce\":\"x\",\"office\":\"y\"}";
    CHECK_EQ_INT(hy_json_text_str(ekey, strlen(ekey), "office", &v, &n), 0);
    CHECK(n == 1 && v[0] == 'y');
    CHECK_EQ_INT(hy_json_text_str("[1]", 3, "office", &v, &n), -1);
    CHECK_EQ_INT(hy_json_text_str("{\"office\":\"cut", 14, "office", &v, &n), -1);
    CHECK_EQ_INT(hy_json_text_str("{}", 2, "office", &v, &n), -1);
}

/* ---- a toy service whose writes emit with awkward subjects and answer raw results -------- */

typedef struct {
    MDB_dbi outbox, actors;
} s_toy_t;

static int s_open(hy_store_t *st, void **state)
{
    s_toy_t *t = calloc(1, sizeof *t);
    int rc;
    if (!t)
        return ENOMEM;
    if ((rc = hy_store_open_db(st, "_outbox", 0, &t->outbox)) != 0 ||
        (rc = hy_store_open_db(st, "_actors", 0, &t->actors)) != 0) {
        free(t);
        return rc;
    }
    *state = t;
    return 0;
}

static int s_make(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    const char *name = json_string_value(json_object_get(args, "name"));
    json_t *data = json_pack("{s:s, s:i}", "name", name, "n", 7);
    int rc = hy_emit(ctx, "toy.made", name, data);
    if (rc != 0)
        return hy_fail_mdb(ctx, rc);
    char *raw = strdup("{\"made\":\"\\u00e9t\\u00e9\",\"n\":[1,2]}");
    *result = raw ? hy_result_raw(raw, strlen(raw)) : NULL;
    return *result ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
}

static const hy_field_t s_make_args[] = {
    {.name = "name", .type = HY_T_STRING, .flags = HY_F_REQ},
    {0},
};
static const hy_op_spec_t s_ops[] = {
    {.op = "toys.make", .handler = s_make, .method = "POST", .path = "/v1/toys",
     .roles = HY_ROLE_SOCIAL_SERVICES, .args = s_make_args, .ok_status = 201},
    {0},
};
static const hy_api_t s_api = {"toy", "toy", s_ops, NULL};
static const hy_service_def_t s_def = {.name = "toy", .api = &s_api, .open = s_open};

/* A toy service in a fresh directory (dir gets its path), or NULL after a failed check. */
static hy_service_t *s_toy_new(char dir[64])
{
    hy_test_tmpdir(dir);
    hy_service_t *svc = hy_service_new(&s_def, dir, 1700000000);
    CHECK(svc != NULL);
    if (!svc)
        hy_test_rmdir(dir);
    return svc;
}

static void test_outbox_text_is_janssons(void)
{
    char dir[64];
    hy_service_t *svc = s_toy_new(dir);
    if (!svc)
        return;
    /* Subjects with a quote, a backslash, a control character and Persian letters. */
    static const char *const names[] = {"a\"b", "c\\d", "e\x01" "f", "\u0645\u0631\u06cc\u0645"};
    for (size_t i = 0; i < 4; i++) {
        json_t *args = json_pack("{s:s}", "name", names[i]);
        char *a = json_dumps(args, 0);
        int st = 0;
        json_t *r = hy_service_calls(svc, "toys.make", "social_services", NULL, a, &st);
        CHECK_EQ_INT(st, 201);
        free(a);
        json_decref(args);
        json_decref(r);
    }
    MDB_txn *txn = NULL;
    MDB_env *env = hy_store_env(hy_service_store(svc));
    CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0);
    MDB_dbi outbox, actors;
    CHECK(mdb_dbi_open(txn, "_outbox", 0, &outbox) == 0 && mdb_dbi_open(txn, "_actors", 0, &actors) == 0);
    for (uint64_t seq = 1; seq <= 4; seq++) {
        uint8_t k[8];
        hy_key_u64(seq, k);
        MDB_val key = {8, k}, v, av;
        CHECK(mdb_get(txn, outbox, &key, &v) == 0);
        char *canon = s_canon(v.mv_data, v.mv_size);
        CHECK(canon && strlen(canon) == v.mv_size && memcmp(canon, v.mv_data, v.mv_size) == 0);
        json_t *ev = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        CHECK_EQ_STR(json_string_value(json_object_get(ev, "subject")), names[seq - 1]);
        CHECK_EQ_STR(json_string_value(json_object_get(ev, "source")), "hamyar/toy");
        CHECK_EQ_INT(json_integer_value(json_object_get(ev, "seq")), (long long)seq);
        CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(ev, "data"), "n")), 7);
        const char *order[] = {"specversion", "id", "source", "type", "time", "subject",
                               "sequence", "seq", "dataschema", "datacontenttype", "data"};
        size_t i = 0;
        const char *name;
        json_t *val;
        json_object_foreach(ev, name, val) {
            CHECK(i < 11 && strcmp(name, order[i]) == 0);
            i++;
        }
        CHECK_EQ_INT(i, 11);
        json_decref(ev);
        free(canon);
        CHECK(mdb_get(txn, actors, &key, &av) == 0);
        canon = s_canon(av.mv_data, av.mv_size);
        CHECK(canon && strlen(canon) == av.mv_size && memcmp(canon, av.mv_data, av.mv_size) == 0);
        json_t *actor = json_loadb(av.mv_data, av.mv_size, 0, NULL);
        CHECK_EQ_STR(json_string_value(json_object_get(actor, "key_id")), "test-key");
        CHECK_EQ_STR(json_string_value(json_object_get(actor, "office")), "office-1");
        json_decref(actor);
        free(canon);
    }
    mdb_txn_abort(txn);
    hy_service_destroy(&svc);
    hy_test_rmdir(dir);
}

static void test_raw_result_replayed(void)
{
    char dir[64];
    hy_service_t *svc = s_toy_new(dir);
    if (!svc)
        return;
    int st = 0, st2 = 0;
    json_t *first = hy_service_calls(svc, "toys.make", "social_services", "idem-1", "{\"name\":\"x\"}", &st);
    json_t *again = hy_service_calls(svc, "toys.make", "social_services", "idem-1", "{\"name\":\"x\"}", &st2);
    CHECK_EQ_INT(st, 201);
    CHECK_EQ_INT(st2, 201);
    json_t *r1 = json_object_get(first, "result"), *r2 = json_object_get(again, "result");
    CHECK(json_equal(r1, r2));
    CHECK_EQ_STR(json_string_value(json_object_get(r2, "made")), "\xc3\xa9t\xc3\xa9");
    CHECK(json_is_true(json_object_get(again, "replayed")));
    json_decref(first);
    json_decref(again);
    json_t *other = hy_service_calls(svc, "toys.make", "social_services", "idem-1", "{\"name\":\"y\"}", &st);
    CHECK_EQ_INT(st, 409);
    json_decref(other);
    hy_service_destroy(&svc);
    hy_test_rmdir(dir);
}

/* A reply with a raw result is the text jansson writes for the same reply (its result last). */
static void test_reply_head(void)
{
    static const char raw[] = "{\"id\":\"prs_1\",\"n\":[1,{\"a\":null}]}";
    json_t *reply = hy_proto_reply_ok("id \"q\" \u0645", 201, hy_result_raw(strdup(raw), strlen(raw)));
    json_object_set_new(reply, "etag", json_string("abc"));
    json_object_set_new(reply, "replayed", json_true());
    size_t len = 0;
    char *text = hy_reply_dumps(reply, &len);
    CHECK(text && len == strlen(text));
    CHECK(hy_reply_decode_raw(reply) == 0);
    json_t *back = text ? json_loads(text, 0, NULL) : NULL;
    CHECK(json_equal(back, reply));   /* the same reply, its result last */
    char *canon = text ? s_canon(text, len) : NULL;
    CHECK(canon && strcmp(canon, text) == 0);
    json_decref(back);
    free(text);
    free(canon);
    json_decref(reply);
}

/* A GET's result held elsewhere too (a cache) is tagged without being touched, and the reply
 * carries the text hashed rather than encoding the result again. */
static void test_etag_of_shared_result(void)
{
    const char *want = "{\"id\":\"p-1\",\"n\":[1,2]}";
    json_t *cached = json_loads(want, 0, NULL), *result = json_incref(cached);
    char tag[HY_ETAG_HEX + 1] = "", tag2[HY_ETAG_HEX + 1] = "";
    CHECK_EQ_INT(hy_result_etag_take(&result, tag), 0);
    CHECK(result != cached);
    CHECK_EQ_INT(cached->refcount, 1);
    CHECK_EQ_STR(json_string_value(json_object_get(cached, "id")), "p-1");   /* untouched */
    CHECK_EQ_INT(hy_result_etag(cached, tag2), 0);   /* the same tag as the plain way */
    CHECK_EQ_STR(tag, tag2);
    json_t *reply = hy_proto_reply_ok("r", 200, result);
    size_t len = 0;
    char *text = hy_reply_dumps(reply, &len);
    CHECK_EQ_STR(text ? text : "", "{\"id\":\"r\",\"status\":200,\"result\":{\"id\":\"p-1\",\"n\":[1,2]}}");
    free(text);
    json_decref(reply);
    json_decref(cached);
}

const hy_test_t service_text_tests[] = {
    {"service.text_etag_of_shared_result", test_etag_of_shared_result},
    {"service.text_reply_head", test_reply_head},
    {"service.text_quote_as_jansson", test_quote_as_jansson},
    {"service.text_member", test_text_member},
    {"service.dump_as_jansson", test_dump_as_jansson},
    {"service.text_outbox_is_janssons", test_outbox_text_is_janssons},
    {"service.text_raw_result_replayed", test_raw_result_replayed},
    {0},
};
