/*
 * test_service.c — the skeleton without sockets: roles, argument checks, nested rollback of a
 * refused request, idempotency, the outbox's gapless sequence, the audit trail, following a
 * source with a durable cursor, and the map growing in the middle of a batch.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>

#include "client_pool.h"
#include "service.h"
#include "service_internal.h"
#include "test.h"
#include "testutil.h"

typedef struct {
    MDB_dbi things, meta;
} toy_t;

static int toy_open(hy_store_t *st, void **state)
{
    toy_t *t = calloc(1, sizeof *t);
    int rc;
    if (!t)
        return ENOMEM;
    if ((rc = hy_store_open_db(st, "things", 0, &t->things)) != 0 ||
        (rc = hy_store_open_db(st, "meta", 0, &t->meta)) != 0) {
        free(t);
        return rc;
    }
    *state = t;
    return 0;
}

/* Creates a thing; a thing named "boom" is written and then refused, to prove rollback. */
static int toy_create(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    toy_t *t = ctx->state;
    uint64_t n;
    int rc = hy_store_next(ctx->txn, t->meta, "thing", &n);
    if (rc != 0)
        return hy_fail_mdb(ctx, rc);
    char id[32];
    hy_id_format("thg", n, id, sizeof id);
    json_t *rec = json_pack("{s:s, s:O}", "id", id, "name", json_object_get(args, "name"));
    if (json_object_get(args, "blob"))
        json_object_set(rec, "blob", json_object_get(args, "blob"));
    if (ctx->req && ctx->req->prepared)   /* what toy_prepare made on the intake thread */
        json_object_set(rec, "prepared_for", json_object_get(ctx->req->prepared, "today"));
    rc = hy_store_put_id(ctx->txn, t->things, n, rec);
    if (rc == 0)
        rc = hy_emit(ctx, "toy.thing.created", id, json_deep_copy(rec));
    if (rc != 0) {
        json_decref(rec);
        return hy_fail_mdb(ctx, rc);
    }
    if (strcmp(json_string_value(json_object_get(args, "name")), "boom") == 0) {
        json_decref(rec);
        hy_fail(ctx, 422, "boom_refused", "name", "things called boom are refused");
        hy_fail_extra(ctx, "hint", json_string("call it something else"));
        return -1;
    }
    *result = rec;
    return 0;
}

static int toy_get(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    toy_t *t = ctx->state;
    uint64_t n;
    if (hy_id_parse("thg", json_string_value(json_object_get(args, "id")), &n) != 0)
        return hy_fail(ctx, 404, "not_found", "id", "no such thing");
    int rc = hy_store_get_id(ctx->txn, t->things, n, result);
    if (rc == MDB_NOTFOUND)
        return hy_fail(ctx, 404, "not_found", "id", "no such thing");
    return rc ? hy_fail_mdb(ctx, rc) : 0;
}

static int s_applied_count;

/* Counts applied events in a record, so a replay that changed something would show. */
static int toy_apply(hy_ctx_t *ctx, const char *source, json_t *ev)
{
    (void)source;
    (void)ev;
    toy_t *t = ctx->state;
    uint64_t n;
    s_applied_count++;
    return hy_store_next(ctx->txn, t->meta, "applied", &n);
}

/* Made on the intake thread: the day, and how many things the store held (its snapshot). */
static json_t *toy_prepare(const hy_request_t *req, const hy_prepare_env_t *env)
{
    const toy_t *t = env->state;
    MDB_stat ms;
    json_int_t seen = -1;
    if (env->view && mdb_stat(env->view, t->things, &ms) == 0)
        seen = (json_int_t)ms.ms_entries;
    return json_pack("{s:s, s:s, s:I}", "today", env->today, "op", req->op, "things_seen", seen);
}

static const hy_field_t toy_create_args[] = {
    {.name = "name", .type = HY_T_STRING, .flags = HY_F_REQ},
    {.name = "blob", .type = HY_T_STRING, .max_len = 100000},
    {0},
};
static const hy_op_spec_t toy_ops[] = {
    {.op = "things.create", .handler = toy_create, .method = "POST", .path = "/v1/things", .roles = HY_ROLE_SOCIAL_SERVICES,
     .args = toy_create_args, .ok_status = 201, .prepare = toy_prepare, .prepare_reads = true},
    {.op = "things.get", .handler = toy_get, .method = "GET", .path = "/v1/things/{id}", .roles = HY_ROLE_READERS, .ok_status = 200},
    {0},
};
static const hy_api_t toy_api = {"toy", "thg", toy_ops, NULL};
static const char *const toy_sources[] = {"src", NULL};
static const hy_service_def_t toy_def = {
    .name = "toy", .api = &toy_api, .open = toy_open,
    .sources = toy_sources, .apply = toy_apply,
};

static int s_status_of(json_t *reply)
{
    return (int)json_integer_value(json_object_get(reply, "status"));
}

static const char *s_err_code(json_t *reply)
{
    return json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
}

static size_t s_event_count(hy_service_t *svc, json_t **events_out)
{
    int st;
    json_t *r = hy_service_calls(svc, "events.since", "operator", NULL, "{\"after\":0}", &st);
    json_t *events = json_object_get(json_object_get(r, "result"), "events");
    size_t n = json_array_size(events);
    if (events_out)
        *events_out = json_incref(events);
    json_decref(r);
    return n;
}

/* A toy service in a new directory (dir); NULL (a failed check) if it cannot start. */
static hy_service_t *s_toy(char dir[64])
{
    hy_test_tmpdir(dir);
    hy_service_t *svc = hy_service_new(&toy_def, dir, 1700000000);
    CHECK(svc != NULL);
    return svc;
}

static void test_roles_shapes_rollback(void)
{
    char dir[64];
    hy_service_t *svc = s_toy(dir);
    if (!svc)
        return;
    int st;
    json_t *r = hy_service_calls(svc, "things.create", "auditor", NULL, "{\"name\":\"a\"}", &st);
    CHECK(st == 403);
    CHECK_EQ_STR(s_err_code(r), "forbidden");
    json_decref(r);
    r = hy_service_calls(svc, "things.create", "social_services", NULL, "{\"name\":\"a\",\"x\":1}", &st);
    CHECK(st == 400);
    CHECK_EQ_STR(s_err_code(r), "unknown_field");
    json_decref(r);
    r = hy_service_calls(svc, "things.nope", "social_services", NULL, "{}", &st);
    CHECK(st == 404);
    CHECK_EQ_STR(s_err_code(r), "unknown_op");
    json_decref(r);
    /* A refused request leaves no record, no counter step and no event. */
    r = hy_service_calls(svc, "things.create", "social_services", NULL, "{\"name\":\"boom\"}", &st);
    CHECK(st == 422);
    CHECK_EQ_STR(s_err_code(r), "boom_refused");
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(r, "error"), "hint")), "call it something else");
    json_decref(r);
    CHECK(s_event_count(svc, NULL) == 0);
    r = hy_service_calls(svc, "things.create", "social_services", NULL, "{\"name\":\"first\"}", &st);
    CHECK(st == 201);
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(r, "result"), "id")), "thg_1");
    json_decref(r);
    r = hy_service_calls(svc, "things.get", "auditor", NULL, "{\"id\":\"thg_1\"}", &st);
    CHECK(st == 200);
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(r, "result"), "name")), "first");
    json_decref(r);
    hy_service_destroy(&svc);
    hy_test_rmdir(dir);
}

static void test_idempotency(void)
{
    char dir[64];
    hy_service_t *svc = s_toy(dir);
    if (!svc)
        return;
    int st;
    json_t *r1 = hy_service_calls(svc, "things.create", "social_services", "k-1", "{\"name\":\"a\"}", &st);
    CHECK(st == 201);
    json_t *r2 = hy_service_calls(svc, "things.create", "social_services", "k-1", "{\"name\":\"a\"}", &st);
    CHECK(st == 201);
    CHECK(json_equal(json_object_get(r1, "result"), json_object_get(r2, "result")));
    CHECK(json_is_true(json_object_get(r2, "replayed")));
    json_decref(r1);
    json_decref(r2);
    CHECK(s_event_count(svc, NULL) == 1); /* the retry changed nothing */
    r1 = hy_service_calls(svc, "things.create", "social_services", "k-1", "{\"name\":\"b\"}", &st);
    CHECK(st == 409);
    CHECK_EQ_STR(s_err_code(r1), "idempotency_key_reused");
    json_decref(r1);
    /* A refused request is not remembered: fixing it and retrying with the key works. */
    r1 = hy_service_calls(svc, "things.create", "social_services", "k-2", "{\"name\":\"boom\"}", &st);
    CHECK(st == 422);
    json_decref(r1);
    r1 = hy_service_calls(svc, "things.create", "social_services", "k-2", "{\"name\":\"fixed\"}", &st);
    CHECK(st == 201);
    json_decref(r1);
    CHECK(s_event_count(svc, NULL) == 2);
    hy_service_destroy(&svc);
    hy_test_rmdir(dir);
}

/* A batch of writes commits once; the outbox sequence is gapless even with refusals inside. */
static void test_batch_outbox_audit(void)
{
    char dir[64];
    hy_service_t *svc = s_toy(dir);
    if (!svc)
        return;
    hy_job_t jobs[10];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < 10; i++) {
        char args[64];
        snprintf(args, sizeof args, "{\"name\":\"%s\"}", i % 3 == 2 ? "boom" : "ok");
        hy_actor_t actor = {"key-7", "social_services", "rey-2"};
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        jobs[i].doc = hy_proto_request("things.create", id, &actor, NULL, json_loads(args, 0, NULL));
        jobs[i].reply = NULL;
    }
    CHECK(hy_dispatch_batch(svc, jobs, 10) == 0);
    int ok = 0;
    for (int i = 0; i < 10; i++) {
        int st = s_status_of(jobs[i].reply);
        CHECK(st == (i % 3 == 2 ? 422 : 201));
        ok += st == 201;
        json_decref(jobs[i].doc);
        json_decref(jobs[i].reply);
    }
    hy_pending_truncate(svc, 0);
    json_t *events;
    CHECK(s_event_count(svc, &events) == (size_t)ok);
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev) {
        CHECK(json_integer_value(json_object_get(ev, "seq")) == (json_int_t)i + 1);
        char want[24];   /* CloudEvents Sequence: the same number, zero-padded */
        snprintf(want, sizeof want, "%020zu", i + 1);
        CHECK_EQ_STR(json_string_value(json_object_get(ev, "sequence")), want);
        CHECK_EQ_STR(json_string_value(json_object_get(ev, "specversion")), "1.0");
        CHECK_EQ_STR(json_string_value(json_object_get(ev, "source")), "hamyar/toy");
        CHECK_EQ_STR(json_string_value(json_object_get(ev, "type")), "toy.thing.created");
    }
    json_decref(events);
    int st;
    json_t *r = hy_service_calls(svc, "events.since", "operator", NULL, "{\"after\":3,\"limit\":2}", &st);
    json_t *page = json_object_get(json_object_get(r, "result"), "events");
    CHECK(json_array_size(page) == 2);
    CHECK(json_integer_value(json_object_get(json_array_get(page, 0), "seq")) == 4);
    CHECK(json_integer_value(json_object_get(json_object_get(r, "result"), "last_seq")) == ok);
    json_decref(r);
    /* The audit trail names who made thg_1 and from which office. */
    r = hy_service_calls(svc, "audit.list", "auditor", NULL, "{\"entity\":\"thg_1\"}", &st);
    CHECK(st == 200);
    json_t *item = json_array_get(json_object_get(json_object_get(r, "result"), "items"), 0);
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(item, "actor"), "key_id")), "key-7");
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(item, "actor"), "office")), "rey-2");
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(item, "actor"), "request_id")), "r0");
    json_decref(r);
    r = hy_service_calls(svc, "audit.list", "social_services", NULL, "{\"entity\":\"thg_1\"}", &st);
    CHECK(st == 403);
    json_decref(r);
    r = hy_service_calls(svc, "audit.list", "auditor", NULL, "{\"entity\":\"thg_99\"}", &st);
    CHECK(st == 404);
    json_decref(r);
    hy_service_destroy(&svc);
    hy_test_rmdir(dir);
}

static json_t *s_event(uint64_t seq)
{
    return json_pack("{s:s, s:s, s:I, s:{}}", "source", "hamyar/src", "type", "src.x", "sequence",
                     (json_int_t)seq, "data");
}

/* Events are applied once, in order; a gap is not applied; the cursor survives a restart. */
static void test_follow_cursor(void)
{
    char dir[64];
    hy_service_t *svc = s_toy(dir);
    if (!svc)
        return;
    s_applied_count = 0;
    json_t *e1 = s_event(1), *e2 = s_event(2), *e4 = s_event(4);
    CHECK(hy_service_apply(svc, "src", e1) == 0);
    CHECK(hy_service_apply(svc, "src", e1) == -1);   /* already seen: no effect */
    CHECK(hy_service_apply(svc, "src", e4) == -1);   /* gap: not applied */
    CHECK(hy_service_apply(svc, "src", e2) == 0);
    CHECK(s_applied_count == 2);
    hy_service_destroy(&svc);
    svc = hy_service_new(&toy_def, dir, 1700000000);
    CHECK(svc != NULL);
    if (svc) {
        CHECK(hy_service_apply(svc, "src", e2) == -1);  /* cursor kept across restart */
        int st;
        json_t *r = hy_service_calls(svc, "service.status", "operator", NULL, "{}", &st);
        CHECK(st == 200);
        CHECK(json_integer_value(json_object_get(json_object_get(json_object_get(
                  json_object_get(r, "result"), "sources"), "src"), "cursor")) == 2);
        json_decref(r);
        hy_service_destroy(&svc);
    }
    CHECK(s_applied_count == 2);
    json_decref(e1);
    json_decref(e2);
    json_decref(e4);
    hy_test_rmdir(dir);
}

/* Writes run flat in the batch's transaction: a request that writes and then fails makes the
 * batch run again without it, so its half-written record, counter step and event are gone, the
 * others keep their order (gapless numbers), and a batch with one failure among many runs twice,
 * one with many failures at most three times (then nested); when the commit after a rerun
 * fails, the refused request's answer stands and the others are told nothing was changed. */
static int s_batch_names(hy_service_t *svc, const char *const *names, size_t n, json_t **replies)
{
    hy_job_t jobs[64];
    hy_actor_t actor = {"key-7", "social_services", "rey-2"};
    for (size_t i = 0; i < n; i++) {
        char id[24];
        snprintf(id, sizeof id, "f%zu", i);
        jobs[i] = (hy_job_t){0};
        jobs[i].doc = hy_proto_request("things.create", id, &actor, NULL,
                                       json_pack("{s:s}", "name", names[i]));
    }
    int rc = hy_dispatch_batch(svc, jobs, n);
    for (size_t i = 0; i < n; i++) {
        json_decref(jobs[i].doc);
        replies[i] = jobs[i].reply;
    }
    return rc;
}

static void test_flat_batch_reruns(void)
{
    char dir[64];
    hy_service_t *svc = s_toy(dir);
    if (!svc)
        return;
    const char *names[30];
    json_t *replies[30];
    for (int i = 0; i < 30; i++)
        names[i] = i == 7 ? "boom" : "ok";
    CHECK(s_batch_names(svc, names, 30, replies) == 0);
    int want = 1;
    for (int i = 0; i < 30; i++) {
        CHECK(s_status_of(replies[i]) == (i == 7 ? 422 : 201));
        if (i != 7) {
            char id[24];
            snprintf(id, sizeof id, "thg_%d", want++);
            CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(replies[i], "result"), "id")), id);
        } else {
            CHECK_EQ_STR(s_err_code(replies[i]), "boom_refused");
        }
        json_decref(replies[i]);
    }
    CHECK(svc->reruns == 1);
    hy_pending_truncate(svc, 0);
    CHECK(s_event_count(svc, NULL) == 29);
    int st;
    json_t *r = hy_service_calls(svc, "things.get", "auditor", NULL, "{\"id\":\"thg_30\"}", &st);
    CHECK(st == 404);   /* the refused request's number was rolled back with it */
    json_decref(r);

    /* Every other request fails: two flat reruns, then the rest nested, each answer right. */
    for (int i = 0; i < 20; i++)
        names[i] = i % 2 ? "boom" : "fine";
    CHECK(s_batch_names(svc, names, 20, replies) == 0);
    for (int i = 0; i < 20; i++) {
        CHECK(s_status_of(replies[i]) == (i % 2 ? 422 : 201));
        if (i % 2 == 0) {
            char id[24];
            snprintf(id, sizeof id, "thg_%d", 30 + i / 2);
            CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(replies[i], "result"), "id")), id);
        }
        json_decref(replies[i]);
    }
    CHECK(svc->reruns == 3);
    hy_pending_truncate(svc, 0);
    CHECK(s_event_count(svc, NULL) == 39);

    /* A batch run again without its refused request whose commit then fails: the refused one
     * keeps its own answer (it saw what it would have seen), every other is a 500 saying
     * nothing was changed, and nothing was: no record, no event, no number used. */
    for (int i = 0; i < 10; i++)
        names[i] = i == 3 ? "boom" : "lost";
    hy_store_fail_commits(svc->store, 1);
    CHECK(s_batch_names(svc, names, 10, replies) == -1);
    for (int i = 0; i < 10; i++) {
        CHECK(s_status_of(replies[i]) == (i == 3 ? 422 : 500));
        CHECK_EQ_STR(s_err_code(replies[i]), i == 3 ? "boom_refused" : "internal_error");
        json_decref(replies[i]);
    }
    CHECK(svc->reruns == 4);
    hy_pending_truncate(svc, 0);
    CHECK(s_event_count(svc, NULL) == 39);
    r = hy_service_calls(svc, "things.get", "auditor", NULL, "{\"id\":\"thg_40\"}", &st);
    CHECK(st == 404);
    json_decref(r);
    /* and the next batch goes on from the numbers before it */
    for (int i = 0; i < 2; i++)
        names[i] = "after";
    CHECK(s_batch_names(svc, names, 2, replies) == 0);
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(replies[0], "result"), "id")),
                 "thg_40");
    for (int i = 0; i < 2; i++)
        json_decref(replies[i]);
    hy_pending_truncate(svc, 0);
    CHECK(s_event_count(svc, NULL) == 41);
    hy_service_destroy(&svc);
    hy_test_rmdir(dir);
}

/* The intake takes the requests waiting on the worker socket undecoded and decodes them on its
 * thread: they come back in order, an unparsable body as {"id":""} (refused as malformed), a
 * message that is not a request dropped; nothing more is taken until they all are; what is
 * never taken is freed with the intake. */
static int s_router_send(void *router, const char *id, const char *client, const char *body)
{
    const char *parts[] = {id, "HYW1", client ? "REQUEST" : "HEARTBEAT", client, body};
    int n = client ? 5 : 3;
    for (int i = 0; i < n; i++)
        if (zmq_send(router, parts[i], strlen(parts[i]), i + 1 < n ? ZMQ_SNDMORE : 0) < 0)
            return -1;
    return 0;
}

static bool s_has_op(void *arg, json_t *doc, json_t **prepared)
{
    (void)arg;
    *prepared = json_object_get(doc, "op") ? json_string("made ahead") : NULL;
    return json_object_get(doc, "op") != NULL;
}

static void test_intake_decodes_ahead(void)
{
    void *zctx = zmq_ctx_new();
    void *router = zmq_socket(zctx, ZMQ_ROUTER), *dealer = zmq_socket(zctx, ZMQ_DEALER);
    CHECK(zmq_setsockopt(dealer, ZMQ_ROUTING_ID, "w1", 2) == 0);
    CHECK(zmq_bind(router, "inproc://intake-test") == 0);
    CHECK(zmq_connect(dealer, "inproc://intake-test") == 0);
    hy_intake_t *in = hy_intake_new(8, s_has_op, NULL);
    CHECK(in != NULL);
    CHECK(hy_intake_prefetch(in, dealer) == 0);   /* nothing waiting */
    /* the router knows the dealer once the connection is attached: send until it does */
    int one = 1, sent = -1;
    CHECK(zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) == 0);
    for (int tries = 0; tries < 200 && sent != 0; tries++) {
        sent = s_router_send(router, "w1", "c1", "{\"id\":\"r1\",\"op\":\"things.create\"}");
        if (sent != 0) {
            zmq_pollitem_t r = {router, 0, ZMQ_POLLIN, 0};
            zmq_poll(&r, 1, 10);
        }
    }
    CHECK(sent == 0);
    CHECK(s_router_send(router, "w1", NULL, NULL) == 0);
    CHECK(s_router_send(router, "w1", "c2", "{\"id\":\"r2\",") == 0);
    CHECK(s_router_send(router, "w1", "c3", "{\"id\":\"r3\"}") == 0);
    zmq_pollitem_t item = {dealer, 0, ZMQ_POLLIN, 0};
    CHECK(zmq_poll(&item, 1, 1000) == 1);
    CHECK(hy_intake_prefetch(in, dealer) == 3);   /* inproc: all four are there; one is no request */
    CHECK(hy_intake_pending(in) == 3);
    CHECK(hy_intake_prefetch(in, dealer) == 0);   /* not while some are to be taken */
    zmq_msg_t client;
    json_t *doc;
    const char *want_client[] = {"c1", "c2", "c3"}, *want_id[] = {"r1", "", "r3"};
    const bool want_checked[] = {true, false, false};   /* s_has_op ran on the intake thread */
    for (size_t i = 0; i < 3; i++) {
        bool checked = !want_checked[i];
        json_t *prepared = json_null();
        CHECK(hy_intake_take(in, &client, &doc, &checked, &prepared) == 0);
        CHECK(checked == want_checked[i]);
        CHECK(want_checked[i] ? json_is_string(prepared) : prepared == NULL);
        json_decref(prepared);
        CHECK(zmq_msg_size(&client) == 2 && memcmp(zmq_msg_data(&client), want_client[i], 2) == 0);
        CHECK_EQ_STR(json_string_value(json_object_get(doc, "id")), want_id[i]);
        zmq_msg_close(&client);
        json_decref(doc);
    }
    bool checked;
    json_t *prepared;
    CHECK(hy_intake_take(in, &client, &doc, &checked, &prepared) == 1);
    CHECK(hy_intake_decoded(in) == 3);
    /* left untaken, with what its check prepared: freed by hy_intake_destroy (ASan would see
     * a leak) */
    CHECK(s_router_send(router, "w1", "c4", "{\"id\":\"r4\",\"op\":\"things.create\"}") == 0);
    CHECK(zmq_poll(&item, 1, 1000) == 1);
    CHECK(hy_intake_prefetch(in, dealer) == 1);
    hy_intake_destroy(&in);
    CHECK(in == NULL);
    hy_intake_destroy(&in);   /* safe twice */
    int zero = 0;
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(router);
    zmq_close(dealer);
    zmq_ctx_term(zctx);
}

/* A write's role and arguments checked ahead (hy_dispatch_precheck, on the intake thread): true
 * only for a known write with an allowed role and good arguments; the batch then skips the
 * checks and answers as it would have; the op's prepare sees the writer's day and, with
 * prepare_reads, the store as last committed. */
static void test_precheck(void)
{
    char dir[64];
    hy_service_t *svc = s_toy(dir);
    if (!svc)
        return;
    hy_actor_t ss = {"key-7", "social_services", "rey-2"}, aud = {"key-8", "auditor", "rey-2"};
    json_t *good = hy_proto_request("things.create", "p1", &ss, NULL, json_pack("{s:s}", "name", "n"));
    json_t *bad = hy_proto_request("things.create", "p2", &ss, NULL, json_pack("{s:s,s:i}", "name", "n", "x", 1));
    json_t *role = hy_proto_request("things.create", "p3", &aud, NULL, json_pack("{s:s}", "name", "n"));
    json_t *read = hy_proto_request("things.get", "p4", &ss, NULL, json_pack("{s:s}", "id", "thg_1"));
    json_t *none = hy_proto_request("things.nope", "p5", &ss, NULL, json_object());
    json_t *prep = NULL, *none_prep = json_null();
    CHECK(hy_dispatch_precheck(svc, good, &prep));
    /* the op's prepare ran, with the day the writer's clock gives (s_toy: 1700000000) */
    CHECK_EQ_STR(json_string_value(json_object_get(prep, "today")), "2023-11-15");
    CHECK(!hy_dispatch_precheck(svc, bad, &none_prep) && none_prep == NULL);
    CHECK(!hy_dispatch_precheck(svc, role, &none_prep) && none_prep == NULL);
    CHECK(!hy_dispatch_precheck(svc, read, &none_prep) && none_prep == NULL);
    CHECK(!hy_dispatch_precheck(svc, none, &none_prep) && none_prep == NULL);
    hy_job_t jobs[2] = {{.doc = good, .checked = true, .prepared = prep},
                        {.doc = bad, .checked = false}};
    CHECK(hy_dispatch_batch(svc, jobs, 2) == 0);
    CHECK(s_status_of(jobs[0].reply) == 201);
    /* the handler found it as ctx->req->prepared */
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(jobs[0].reply, "result"),
                                                   "prepared_for")),
                 "2023-11-15");
    CHECK(json_integer_value(json_object_get(prep, "things_seen")) == 0);
    json_decref(prep);
    CHECK(s_status_of(jobs[1].reply) == 400);
    CHECK_EQ_STR(s_err_code(jobs[1].reply), "unknown_field");
    for (int i = 0; i < 2; i++)
        json_decref(jobs[i].reply);
    hy_pending_truncate(svc, 0);
    /* a row with prepare_reads reads the store as last committed: the thing just made */
    CHECK(hy_dispatch_precheck(svc, good, &prep));
    CHECK(json_integer_value(json_object_get(prep, "things_seen")) == 1);
    json_decref(prep);
    /* no snapshot to be had (every reader slot taken): the request is let through
     * unprepared, and the writer does the work */
    MDB_txn *held[200];
    int nheld = 0;
    while (nheld < 200 && hy_store_read_begin(svc->store, &held[nheld]) == 0)
        nheld++;
    CHECK(nheld > 0 && nheld < 200);
    prep = json_null();
    CHECK(hy_dispatch_precheck(svc, good, &prep) && prep == NULL);
    hy_job_t again = {.doc = good, .checked = true, .prepared = NULL};
    CHECK(hy_dispatch_batch(svc, &again, 1) == 0);
    CHECK(s_status_of(again.reply) == 201);
    CHECK(json_object_get(json_object_get(again.reply, "result"), "prepared_for") == NULL);
    json_decref(again.reply);
    hy_pending_truncate(svc, 0);
    while (nheld > 0)
        hy_store_read_end(svc->store, &held[--nheld]);
    CHECK(hy_dispatch_precheck(svc, good, &prep) && prep != NULL);
    json_decref(prep);
    json_decref(good);
    json_decref(bad);
    json_decref(role);
    json_decref(read);
    json_decref(none);
    hy_service_destroy(&svc);
    hy_test_rmdir(dir);
}

/* s_toy with a map that starts at 1 MiB. */
static hy_service_t *s_small_map_service(char dir[64])
{
    setenv("HY_MAP_SIZE_MB", "1", 1);
    hy_service_t *svc = s_toy(dir);
    unsetenv("HY_MAP_SIZE_MB");
    return svc;
}

/* A batch that fills the map is rolled back, the map grows, and the batch succeeds whole. */
static void test_map_full_batch(void)
{
    char dir[64];
    hy_service_t *svc = s_small_map_service(dir);
    if (!svc)
        return;
    char *blob = malloc(60001);
    memset(blob, 'b', 60000);
    blob[60000] = '\0';
    hy_job_t jobs[40];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < 40; i++) {
        hy_actor_t actor = {"k", "social_services", "o"};
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        jobs[i].doc = hy_proto_request("things.create", id, &actor, NULL,
                                       json_pack("{s:s, s:s}", "name", "big", "blob", blob));
        jobs[i].reply = NULL;
    }
    CHECK(hy_dispatch_batch(svc, jobs, 40) == 0);
    for (int i = 0; i < 40; i++) {
        CHECK(s_status_of(jobs[i].reply) == 201);
        json_decref(jobs[i].doc);
        json_decref(jobs[i].reply);
    }
    hy_pending_truncate(svc, 0);
    CHECK(s_event_count(svc, NULL) == 40);
    size_t map, used;
    hy_store_usage(hy_service_store(svc), &map, &used);
    CHECK(map > (1u << 20));
    free(blob);
    hy_service_destroy(&svc);
    hy_test_rmdir(dir);
}

/* Runs a batch of four things.create of blob each: 0 when all answered 201. */
static int s_four_blobs(hy_service_t *svc, const char *blob, int *seq)
{
    hy_job_t jobs[4];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < 4; i++) {
        hy_actor_t actor = {"k", "social_services", "o"};
        char id[16];
        snprintf(id, sizeof id, "r%d", (*seq)++);
        jobs[i].doc = hy_proto_request("things.create", id, &actor, NULL,
                                       json_pack("{s:s, s:s}", "name", "big", "blob", blob));
    }
    int bad = hy_dispatch_batch(svc, jobs, 4) != 0;
    for (int i = 0; i < 4; i++) {
        bad += s_status_of(jobs[i].reply) != 201;
        json_decref(jobs[i].doc);
        json_decref(jobs[i].reply);
    }
    hy_pending_truncate(svc, 0);
    return bad;
}

/* A commit that leaves more than half the map in use doubles it then, so batches that each
 * fit in the room left never meet MDB_MAP_FULL (which would throw a batch away to be run
 * again); a reader thread in a transaction is not waited for: the next commit grows it. */
static void test_map_grows_ahead(void)
{
    char dir[64];
    hy_service_t *svc = s_small_map_service(dir);
    if (!svc)
        return;
    hy_store_t *store = hy_service_store(svc);
    char *blob = malloc(20001);
    memset(blob, 'b', 20000);
    blob[20000] = '\0';
    size_t map = 0, used = 0, map_before = 0;
    unsigned long ahead = 0, full = 0;
    int seq = 0;
    for (int b = 0; b < 30; b++) {
        CHECK_EQ_INT(s_four_blobs(svc, blob, &seq), 0);
        hy_store_usage(store, &map, &used);
        CHECK(used <= map / 2);   /* at least half the map free after every commit */
    }
    hy_store_grows(store, &ahead, &full);
    CHECK(ahead >= 2 && map >= ((size_t)4 << 20));
    CHECK_EQ_INT((int)full, 0);   /* no batch met a full map */
    /* A reader thread in a transaction: commits do not wait for it, the map stays */
    MDB_txn *reader = NULL;
    CHECK_EQ_INT(hy_store_read_begin(store, &reader), 0);
    map_before = map;
    for (int b = 0; b < 200 && used <= map / 2; b++) {
        CHECK_EQ_INT(s_four_blobs(svc, blob, &seq), 0);
        hy_store_usage(store, &map, &used);
    }
    CHECK(used > map / 2 && map == map_before);
    hy_store_read_end(store, &reader);
    CHECK_EQ_INT(s_four_blobs(svc, blob, &seq), 0);   /* the next commit grows it */
    hy_store_usage(store, &map, &used);
    CHECK(used <= map / 2 && map > map_before);
    hy_store_grows(store, &ahead, &full);
    CHECK_EQ_INT((int)full, 0);
    CHECK(s_event_count(svc, NULL) == (size_t)seq);
    int st;   /* what service.status reports */
    json_t *r = hy_service_calls(svc, "service.status", "operator", NULL, "{}", &st);
    json_t *stored = json_object_get(json_object_get(r, "result"), "store");
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT((int)json_integer_value(json_object_get(stored, "grown_ahead")), (int)ahead);
    CHECK(json_integer_value(json_object_get(stored, "grown_when_full")) == 0 &&
          json_object_get(stored, "grown_when_full") != NULL);
    CHECK(json_integer_value(json_object_get(stored, "map_bytes")) == (json_int_t)map);
    json_decref(r);
    free(blob);
    hy_service_destroy(&svc);
    hy_test_rmdir(dir);
}

/* A raw result is spliced into the reply text as it is, and decoded back for tests; a read-only
 * flag wins over the method, and an unset one means GET. */
static void test_raw_reply_and_read_only(void)
{
    json_t *reply = hy_proto_reply_ok("x", 200, hy_result_raw(strdup("{\"events\":[{\"a\":1}],\"last_seq\":3}"), 33));
    size_t len = 0;
    char *text = hy_reply_dumps(reply, &len);
    CHECK_EQ_STR(text ? text : "", "{\"id\":\"x\",\"status\":200,\"result\":{\"events\":[{\"a\":1}],\"last_seq\":3}}");
    CHECK_EQ_INT((int)len, text ? (int)strlen(text) : -1);
    free(text);
    CHECK_EQ_INT(hy_reply_decode_raw(reply), 0);
    CHECK_EQ_INT((int)json_integer_value(json_object_get(json_object_get(reply, "result"), "last_seq")), 3);
    json_decref(reply);
    hy_op_spec_t get = {.op = "a", .method = "GET"}, post = {.op = "b", .method = "POST"},
                 internal = {.op = "c"}, ro_post = {.op = "d", .method = "POST", .read_only = 1},
                 rw_get = {.op = "e", .method = "GET", .read_only = -1};
    CHECK(hy_spec_read_only(&get) && !hy_spec_read_only(&post) && !hy_spec_read_only(&internal));
    CHECK(hy_spec_read_only(&ro_post) && !hy_spec_read_only(&rw_get));
    for (const hy_op_spec_t *b = hy_builtin_ops; b->op; b++)
        CHECK(hy_spec_read_only(b));
}

/* A GET's tag is the hash of its result's text, and that text is what the reply carries: the
 * result is serialised once (the tagged object becomes its own raw text), not once for the tag
 * and again for the reply. A result someone else also holds is left alone. */
static void test_etag_serialises_once(void)
{
    const char *want = "{\"id\":\"p-1\",\"birth_date\":\"1990-03-21\",\"n\":[1,2]}";
    json_t *result = json_loads(want, 0, NULL);
    char tag[HY_ETAG_HEX + 1] = "", tag2[HY_ETAG_HEX + 1] = "";
    CHECK_EQ_INT(hy_result_etag(result, tag), 0);
    unsigned char h[HY_ETAG_HEX / 2];
    char hex[HY_ETAG_HEX + 1];
    crypto_generichash(h, sizeof h, (const unsigned char *)want, strlen(want), NULL, 0);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    CHECK_EQ_STR(tag, hex);
    /* Now the raw text: the same tag again, and the reply splices it without encoding. */
    CHECK_EQ_INT((int)json_object_size(result), 1);
    CHECK(json_object_get(result, "id") == NULL);
    CHECK_EQ_INT(hy_result_etag(result, tag2), 0);
    CHECK_EQ_STR(tag2, hex);
    json_t *reply = hy_proto_reply_ok("r", 200, result);
    size_t len = 0;
    char *text = hy_reply_dumps(reply, &len);
    CHECK_EQ_STR(text ? text : "", "{\"id\":\"r\",\"status\":200,\"result\":{\"id\":\"p-1\","
                                   "\"birth_date\":\"1990-03-21\",\"n\":[1,2]}}");
    free(text);
    json_decref(reply);
    /* Held twice: tagged, untouched. */
    json_t *shared = json_loads(want, 0, NULL), *other = json_incref(shared);
    CHECK_EQ_INT(hy_result_etag(shared, tag2), 0);
    CHECK_EQ_STR(tag2, hex);
    CHECK_EQ_STR(json_string_value(json_object_get(other, "id")), "p-1");
    json_decref(shared);
    json_decref(other);
}

/* One row per op: a handler returns 0 and the reply's status is its row's; a table whose rows
 * lack a handler, or name one twice, is refused at start-up. */
static int toy_accept(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    (void)ctx;
    (void)args;
    *result = json_pack("{s:b}", "queued", 1);
    return 0;
}

static void test_one_row_per_op(void)
{
    char why[256] = "";
    CHECK_EQ_INT(hy_spec_check_handlers(toy_ops, why, sizeof why), 0);
    CHECK_EQ_INT(hy_spec_check_handlers(hy_builtin_ops, why, sizeof why), 0);
    static const hy_op_spec_t no_handler[] = {
        {.op = "things.create", .handler = toy_create, .ok_status = 201},
        {.op = "things.get", .ok_status = 200},
        {0},
    };
    CHECK_EQ_INT(hy_spec_check_handlers(no_handler, why, sizeof why), -1);
    CHECK(strstr(why, "things.get") != NULL);
    static const hy_op_spec_t twice[] = {
        {.op = "things.create", .handler = toy_create, .ok_status = 201},
        {.op = "things.copy", .handler = toy_create, .ok_status = 201},
        {0},
    };
    CHECK_EQ_INT(hy_spec_check_handlers(twice, why, sizeof why), -1);
    CHECK(strstr(why, "things.copy") != NULL);
    static const hy_op_spec_t same_name[] = {
        {.op = "things.get", .handler = toy_get, .ok_status = 200},
        {.op = "things.get", .handler = toy_create, .ok_status = 201},
        {0},
    };
    CHECK_EQ_INT(hy_spec_check_handlers(same_name, why, sizeof why), -1);
    static const hy_op_spec_t no_name[] = {{.handler = toy_get}, {0}};
    CHECK_EQ_INT(hy_spec_check_handlers(no_name, why, sizeof why), -1);

    char dir[64];
    hy_test_tmpdir(dir);
    static const hy_api_t bad_api = {"toy", "thg", no_handler, NULL};
    hy_service_def_t bad = toy_def;
    bad.api = &bad_api;
    hy_service_t *svc = hy_service_new(&bad, dir, 0);
    CHECK(svc == NULL);
    hy_service_destroy(&svc);

    /* The success status is the row's: the same handler's 0 is a 202 here. */
    static const hy_op_spec_t accept_ops[] = {
        {.op = "things.accept", .handler = toy_accept, .method = "POST", .path = "/v1/accept",
         .roles = HY_ROLE_SOCIAL_SERVICES, .ok_status = 202},
        {0},
    };
    static const hy_api_t accept_api = {"toy", "thg", accept_ops, NULL};
    hy_service_def_t good = toy_def;
    good.api = &accept_api;
    svc = hy_service_new(&good, dir, 0);
    CHECK(svc != NULL);
    if (svc) {
        int st = 0;
        json_t *r = hy_service_calls(svc, "things.accept", "social_services", NULL, "{}", &st);
        CHECK_EQ_INT(st, 202);
        CHECK(json_is_true(json_object_get(json_object_get(r, "result"), "queued")));
        json_decref(r);
        hy_service_destroy(&svc);
    }
    hy_test_rmdir(dir);
}

/* Handlers return 0 or -1: a 2xx from a handler is not success any more (the compatibility shim
 * is gone), so a handler still returning 201 is refused as a 500 and its write rolled back, and a
 * savepoint whose step returns 200 is rolled back too. */
static int toy_legacy(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    int rc = toy_create(ctx, args, result);
    return rc == 0 ? 201 : rc;
}

static int s_legacy_step(hy_ctx_t *ctx, void *user)
{
    json_t *made = NULL;
    int rc = toy_create(ctx, user, &made);
    json_decref(made);
    return rc == 0 ? 200 : rc;
}

static int toy_savepoint(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    int rc = hy_ctx_nested(ctx, s_legacy_step, args);
    *result = json_pack("{s:i}", "nested", rc);
    return *result ? 0 : hy_fail(ctx, 500, "internal_error", NULL, "out of memory");
}

static void test_no_2xx_from_handlers(void)
{
    static const hy_op_spec_t ops[] = {
        {.op = "things.legacy", .handler = toy_legacy, .method = "POST", .path = "/v1/legacy",
         .roles = HY_ROLE_SOCIAL_SERVICES, .args = toy_create_args, .ok_status = 201},
        {.op = "things.savepoint", .handler = toy_savepoint, .method = "POST", .path = "/v1/savepoint",
         .roles = HY_ROLE_SOCIAL_SERVICES, .args = toy_create_args, .ok_status = 201},
        {.op = "things.get", .handler = toy_get, .method = "GET", .path = "/v1/things/{id}",
         .roles = HY_ROLE_READERS, .ok_status = 200},
        {0},
    };
    static const hy_api_t api = {"toy", "thg", ops, NULL};
    hy_service_def_t def = toy_def;
    def.api = &api;
    char dir[64];
    hy_test_tmpdir(dir);
    hy_service_t *svc = hy_service_new(&def, dir, 0);
    CHECK(svc != NULL);
    if (svc) {
        int st = 0;
        json_t *r = hy_service_calls(svc, "things.legacy", "social_services", NULL,
                                     "{\"name\":\"old\"}", &st);
        CHECK_EQ_INT(st, 500);
        CHECK_EQ_STR(s_err_code(r) ? s_err_code(r) : "", "internal_error");
        json_decref(r);
        r = hy_service_calls(svc, "things.get", "auditor", NULL, "{\"id\":\"thg_1\"}", &st);
        CHECK_EQ_INT(st, 404);
        json_decref(r);

        r = hy_service_calls(svc, "things.savepoint", "social_services", NULL,
                             "{\"name\":\"step\"}", &st);
        CHECK_EQ_INT(st, 201);
        CHECK_EQ_INT((int)json_integer_value(json_object_get(json_object_get(r, "result"), "nested")),
                     200);
        json_decref(r);
        r = hy_service_calls(svc, "things.get", "auditor", NULL, "{\"id\":\"thg_1\"}", &st);
        CHECK_EQ_INT(st, 404);
        json_decref(r);
        hy_service_destroy(&svc);
    }
    hy_test_rmdir(dir);
}

/* The clients threads share (client_pool.h): a take with none idle makes one, a give keeps at
 * most `keep` idle and closes the rest, a client given back is the next one taken; threads
 * taking and giving at once never share one; what is idle is closed with the pool (ASan). */
typedef struct {
    hy_client_pool_t *pool;
    int me;        /* 0 or 1: which of s_pool_held is this thread's */
    int clashes;   /* times it held the client the other thread held */
} s_pool_run_t;

static _Atomic(hy_client_t *) s_pool_held[2];

static void *s_pool_thread(void *arg)
{
    s_pool_run_t *r = arg;
    int me = r->me;
    for (int i = 0; i < 2000; i++) {
        hy_client_t *c = hy_client_pool_take(r->pool);
        if (!c)
            continue;
        s_pool_held[me] = c;
        if (s_pool_held[1 - me] == c)
            r->clashes++;
        s_pool_held[me] = NULL;
        hy_client_pool_give(r->pool, c);
    }
    return NULL;
}

static void test_client_pool(void)
{
    hy_client_pool_t *pool = hy_client_pool_new("tcp://127.0.0.1:9", 2);
    CHECK(pool != NULL && hy_client_pool_idle(pool) == 0);
    hy_client_t *c[3];
    for (int i = 0; i < 3; i++)
        CHECK((c[i] = hy_client_pool_take(pool)) != NULL);
    CHECK(c[0] != c[1] && c[1] != c[2] && c[0] != c[2]);
    for (int i = 0; i < 3; i++)
        hy_client_pool_give(pool, c[i]);   /* the third is closed: two are kept */
    CHECK(hy_client_pool_idle(pool) == 2);
    hy_client_t *again = hy_client_pool_take(pool);
    CHECK(again == c[1]);                  /* the last one given back and kept */
    CHECK(hy_client_pool_idle(pool) == 1);
    hy_client_pool_give(pool, again);
    hy_client_pool_give(pool, NULL);       /* nothing */
    CHECK(hy_client_pool_idle(pool) == 2);
    s_pool_run_t runs[2] = {{pool, 0, 0}, {pool, 1, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, s_pool_thread, &runs[i]) == 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    CHECK(runs[0].clashes == 0 && runs[1].clashes == 0);
    CHECK(hy_client_pool_idle(pool) <= 2 && hy_client_pool_idle(pool) >= 1);
    hy_client_pool_destroy(&pool);
    CHECK(pool == NULL);
    hy_client_pool_destroy(&pool);   /* safe twice */
    CHECK(hy_client_pool_take(NULL) == NULL);
}

const hy_test_t service_tests[] = {
    {"service.raw_reply_and_read_only", test_raw_reply_and_read_only},
    {"service.one_row_per_op", test_one_row_per_op},
    {"service.roles_shapes_rollback", test_roles_shapes_rollback},
    {"service.idempotency", test_idempotency},
    {"service.batch_outbox_audit", test_batch_outbox_audit},
    {"service.follow_cursor", test_follow_cursor},
    {"service.map_full_batch", test_map_full_batch},
    {"service.map_grows_ahead", test_map_grows_ahead},
    {"service.flat_batch_reruns", test_flat_batch_reruns},
    {"service.intake_decodes_ahead", test_intake_decodes_ahead},
    {"service.client_pool", test_client_pool},
    {"service.precheck", test_precheck},
    {"service.etag_serialises_once", test_etag_serialises_once},
    {"service.no_2xx_from_handlers", test_no_2xx_from_handlers},
    {0},
};
