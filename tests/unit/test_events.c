/*
 * test_events.c — the event tables in service descriptions, the CloudEvents sequence forms,
 * the AsyncAPI document and the data schemas built from the tables, the batch negotiation.
 */
#include <stdlib.h>
#include <string.h>

#include "describe.h"
#include "gateway.h"
#include "outbox.h"
#include "proto.h"
#include "test.h"

static const hy_field_t s_data[] = {
    {.name = "id", .type = HY_T_ID, .flags = HY_F_REQ, .doc = "the thing"},
    {.name = "colour", .type = HY_T_ENUM, .flags = HY_F_NULL, .enums = "red|blue"},
    {.name = "on", .type = HY_T_DATE},
    {0},
};
static const hy_event_spec_t s_events[] = {
    {"things.thing.made", "A thing was made", s_data},
    {"things.thing.gone", NULL, NULL},
    {0},
};
static const hy_op_spec_t s_ops[] = {
    {.op = "things.feed", .method = "GET", .path = "/v1/things/feed", .roles = 1,
     .ok_status = 200, .long_poll = true, .summary = "the feed"},
    {0},
};
static const hy_api_t s_api = {"things", "thg", s_ops, s_events};

/* The description lists each event type with its data fields; they survive a round trip and
 * count in the digest. */
static void test_describe_events(void)
{
    json_t *d = hy_describe_api(&s_api);
    CHECK(d != NULL);
    json_t *ev = json_array_get(json_object_get(d, "events"), 0);
    CHECK_EQ_STR(json_string_value(json_object_get(ev, "type")), "things.thing.made");
    CHECK_EQ_INT(json_array_size(json_object_get(ev, "data")), 3);
    char err[160] = "";
    hy_api_t *p = hy_describe_parse(d, err, sizeof err);
    CHECK(p != NULL);
    if (p) {
        CHECK(p->events && strcmp(p->events[0].type, "things.thing.made") == 0);
        CHECK(p->events && p->events[0].data && strcmp(p->events[0].data[1].enums, "red|blue") == 0);
        CHECK(p->events && p->events[1].type && !p->events[1].data && !p->events[2].type);
        hy_describe_free(&p);
    }
    /* An event table is part of the description: another table, another digest. */
    static const hy_api_t fewer = {"things", "thg", s_ops, s_events + 1};
    json_t *d2 = hy_describe_api(&fewer);
    CHECK(d2 && strcmp(json_string_value(json_object_get(d, "digest")),
                       json_string_value(json_object_get(d2, "digest"))) != 0);
    json_decref(d2);
    json_decref(d);
}

static void test_event_seq(void)
{
    json_t *e = json_pack("{s:s, s:I}", "sequence", "00000000000000000042", "seq", (json_int_t)42);
    CHECK_EQ_INT(hy_event_seq(e), 42);
    json_object_del(e, "seq");
    CHECK_EQ_INT(hy_event_seq(e), 42);
    json_object_set_new(e, "sequence", json_integer(7));   /* written before the change */
    CHECK_EQ_INT(hy_event_seq(e), 7);
    json_object_clear(e);
    CHECK_EQ_INT(hy_event_seq(e), 0);
    json_decref(e);
}

static json_t *s_at(json_t *v, const char *const *path)
{
    for (; v && *path; path++)
        v = json_object_get(v, *path);
    return v;
}

static void test_asyncapi(void)
{
    const hy_api_t *apis[] = {&s_api, NULL};
    json_t *doc = hy_gw_asyncapi(apis);
    CHECK(doc != NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(doc, "asyncapi")), "3.0.0");
    const char *const msg[] = {"components", "messages", "things.thing.made", "contentType", NULL};
    CHECK_EQ_STR(json_string_value(s_at(doc, msg)), "application/cloudevents+json");
    const char *const ch[] = {"channels", "things-events", "messages", "things.thing.gone", NULL};
    CHECK(s_at(doc, ch) != NULL);
    const char *const since[] = {"operations", "things-events-since", "reply", NULL};
    CHECK(s_at(doc, since) != NULL);
    const char *const feed[] = {"channels", "http-things-feed", "address", NULL};
    CHECK_EQ_STR(json_string_value(s_at(doc, feed)), "/v1/things/feed");
    const char *const seq[] = {"components", "schemas", "CloudEvent", "properties", "sequence",
                               "type", NULL};
    CHECK_EQ_STR(json_string_value(s_at(doc, seq)), "string");
    json_decref(doc);

    json_t *s = hy_gw_event_schema(apis, "things.thing.made");
    CHECK(s != NULL);
    const char *const colour[] = {"properties", "colour", "enum", NULL};
    CHECK_EQ_INT(json_array_size(s_at(s, colour)), 3);   /* red, blue, null */
    CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(s, "required"), 0)), "id");
    const char *id = json_string_value(json_object_get(s, "$id"));
    CHECK(id && strstr(id, "/v1/schemas/events/things.thing.made"));
    json_decref(s);
    CHECK(hy_gw_event_schema(apis, "things.thing.unknown") == NULL);
}

static void test_feed_batch(void)
{
    hy_route_t feed = {.op = &s_ops[0]};
    json_t *result = json_pack("{s:[], s:i}", "events", "last_seq", 0);
    CHECK(hy_gw_feed_batch(&feed, "application/cloudevents-batch+json", result));
    CHECK(hy_gw_feed_batch(&feed, "application/json;q=0.5, application/cloudevents-batch+json",
                           result));
    CHECK(!hy_gw_feed_batch(&feed, "application/cloudevents-batch+json;q=0", result));
    CHECK(!hy_gw_feed_batch(&feed, "application/json", result));
    CHECK(!hy_gw_feed_batch(&feed, NULL, result));
    static const hy_op_spec_t get = {.op = "things.get", .method = "GET", .path = "/v1/things"};
    hy_route_t plain = {.op = &get};
    CHECK(!hy_gw_feed_batch(&plain, "application/cloudevents-batch+json", result));
    json_decref(result);
}

/* A monitoring key exists as a role of its own, and reaches /metrics and no op. */
static void test_monitoring_role(void)
{
    CHECK_EQ_INT(hy_key_role_bit("monitoring"), HY_ROLE_MONITORING);
    CHECK_EQ_STR(hy_role_name(HY_ROLE_MONITORING), "monitoring");
    const hy_api_t *apis[] = {&s_api, NULL};
    char err[160] = "";
    hy_routes_t *rt = hy_routes_new(apis, err, sizeof err);
    CHECK(rt != NULL);
    for (size_t i = 0; rt && i < hy_routes_count(rt); i++) {
        const hy_route_t *r = hy_routes_at(rt, i);
        CHECK(((r->roles & HY_ROLE_MONITORING) != 0) == (r->kind == HY_ROUTE_METRICS));
    }
    hy_routes_destroy(&rt);
}

const hy_test_t events_tests[] = {
    {"events.monitoring_role", test_monitoring_role},
    {"events.describe", test_describe_events},
    {"events.seq", test_event_seq},
    {"events.asyncapi", test_asyncapi},
    {"events.feed_batch", test_feed_batch},
    {0},
};
