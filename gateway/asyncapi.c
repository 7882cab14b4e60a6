/*
 * asyncapi.c — the AsyncAPI 3.0 document of the event feeds, and the JSON Schema of each event
 * type's data, built from what the services announce (their event tables, spec.h).
 *
 * What it describes:
 *   - one channel per service's PUB socket (ZeroMQ, two frames: the event type as topic, then
 *     the CloudEvent), with every event type the service declares as a message;
 *   - one channel per service for events.since through the broker (request and reply), the
 *     catch-up every follower uses after a gap or a restart;
 *   - one channel per HTTP long-poll feed (ops with long_poll), answered as a page
 *     ({events, last_seq}) or, when asked with Accept: application/cloudevents-batch+json, as
 *     a CloudEvents JSON batch.
 * Each event's `dataschema` (outbox.h) is the URL of hy_gw_event_schema's answer for its type.
 */
#include "gateway.h"
#include "http.h"

#include <stdio.h>
#include <string.h>

#include "outbox.h"
#include "service.h"

static void s_set(json_t *obj, const char *key, json_t *value, bool *bad)
{
    if (!value || json_object_set_new(obj, key, value) != 0)
        *bad = true;
}

static json_t *s_fields_schema(const hy_field_t *fields, bool *bad);

/* The JSON Schema of one value of type t (field f describes it). */
static json_t *s_type(hy_type_t t, const hy_field_t *f, bool *bad)
{
    json_t *s = json_object();
    switch (t) {
    case HY_T_STRING:
    case HY_T_ID:
        s_set(s, "type", json_string("string"), bad);
        break;
    case HY_T_INT:
    case HY_T_MONEY:
        s_set(s, "type", json_string("integer"), bad);
        break;
    case HY_T_BOOL:
        s_set(s, "type", json_string("boolean"), bad);
        break;
    case HY_T_DATE:
        s_set(s, "type", json_string("string"), bad);
        s_set(s, "pattern", json_string("^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), bad);
        break;
    case HY_T_ENUM:
        s_set(s, "type", json_string("string"), bad);
        s_set(s, "enum", hy_gw_enum_values(f->enums), bad);
        break;
    case HY_T_OBJECT:
        if (f->sub) {
            json_decref(s);
            return s_fields_schema(f->sub, bad);
        }
        s_set(s, "type", json_string("object"), bad);
        break;
    case HY_T_ARRAY:
        s_set(s, "type", json_string("array"), bad);
        s_set(s, "items", f->sub ? s_fields_schema(f->sub, bad)
                                 : s_type(f->elem ? f->elem : HY_T_ANY, f, bad), bad);
        break;
    case HY_T_ANY:
    default:
        break;
    }
    return s;
}

/* An object of fields; other members are allowed (an event's data may grow). */
static json_t *s_fields_schema(const hy_field_t *fields, bool *bad)
{
    json_t *s = json_pack("{s:s}", "type", "object"), *props = json_object(),
           *required = json_array();
    if (!s || !props || !required)
        *bad = true;
    for (const hy_field_t *f = fields; !*bad && f && f->name; f++) {
        json_t *p = s_type(f->type, f, bad);
        if (!p) {
            *bad = true;
            break;
        }
        if ((f->flags & HY_F_NULL) && hy_gw_schema_nullable(p) != 0)
            *bad = true;
        if (f->doc)
            s_set(p, "description", json_string(f->doc), bad);
        s_set(props, f->name, p, bad);
        if ((f->flags & HY_F_REQ) && json_array_append_new(required, json_string(f->name)) != 0)
            *bad = true;
    }
    s_set(s, "properties", props, bad);
    if (json_array_size(required))
        s_set(s, "required", required, bad);
    else
        json_decref(required);
    return s;
}

static const hy_event_spec_t *s_find(const hy_api_t *const *apis, const char *type)
{
    for (size_t i = 0; apis[i]; i++)
        for (const hy_event_spec_t *e = apis[i]->events; e && e->type; e++)
            if (strcmp(e->type, type) == 0)
                return e;
    return NULL;
}

/* The data schema of an event type, without $schema/$id (as AsyncAPI embeds it). */
static json_t *s_data_schema(const hy_event_spec_t *e, bool *bad)
{
    json_t *s = e->data ? s_fields_schema(e->data, bad) : json_pack("{s:s}", "type", "object");
    if (s && e->summary)
        s_set(s, "description", json_string(e->summary), bad);
    if (s) {
        char title[200];
        snprintf(title, sizeof title, "data of %s", e->type);
        s_set(s, "title", json_string(title), bad);
    }
    return s;
}

json_t *hy_gw_event_schema(const hy_api_t *const *apis, const char *type)
{
    const hy_event_spec_t *e = type ? s_find(apis, type) : NULL;
    if (!e)
        return NULL;
    bool bad = false;
    json_t *s = s_data_schema(e, &bad);
    char id[600];
    snprintf(id, sizeof id, "%s%s%s", hy_public_url(), HY_SCHEMA_PATH, e->type);
    if (s) {
        s_set(s, "$schema", json_string("https://json-schema.org/draft/2020-12/schema"), &bad);
        s_set(s, "$id", json_string(id), &bad);
    }
    if (bad) {
        json_decref(s);
        return NULL;
    }
    return s;
}

/* The CloudEvents 1.0 envelope every event has (JSON format, Sequence extension). */
static json_t *s_envelope(void)
{
    return json_pack(
        "{s:s, s:s, s:[s,s,s,s,s,s,s,s], s:{"
        "s:{s:s, s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:s}, s:{s:s},"
        "s:{s:s, s:s, s:s}, s:{s:s, s:i, s:s}, s:{s:s, s:s}, s:{s:s}, s:{s:s}}}",
        "type", "object", "description",
        "A CloudEvent (1.0, JSON format) with the Sequence extension: sequence is the "
        "zero-padded sequence number (strings order as the numbers), seq the same number "
        "(kept for existing consumers)",
        "required", "specversion", "id", "source", "type", "time", "sequence", "seq", "data",
        "properties",
        "specversion", "type", "string", "const", "1.0",
        "id", "type", "string",
        "source", "type", "string",
        "type", "type", "string",
        "time", "type", "string", "format", "date-time",
        "subject", "type", "string",
        "sequence", "type", "string", "pattern", "^[0-9]{20}$", "description",
        "CloudEvents Sequence extension: the sequence number, zero-padded to 20 digits",
        "seq", "type", "integer", "minimum", 1, "description",
        "the same sequence number as a JSON integer (gapless per source)",
        "dataschema", "type", "string", "format", "uri",
        "datacontenttype", "type", "string",
        "data", "type", "object");
}

typedef struct {
    json_t *doc, *servers, *channels, *operations, *messages, *schemas;
    bool bad;
} s_doc_t;

static json_t *s_ref(const char *a, const char *b, const char *c)
{
    char r[400];
    if (c)
        snprintf(r, sizeof r, "#/%s/%s/%s/%s", a, b, "messages", c);
    else
        snprintf(r, sizeof r, "#/%s/%s", a, b);
    return json_pack("{s:s}", "$ref", r);
}

/* "tcp://127.0.0.1:7101" -> "127.0.0.1:7101" (the AsyncAPI host has no scheme). */
static const char *s_host(const char *url)
{
    const char *p = strstr(url, "://");
    return p ? p + 3 : url;
}

/* Messages of one service's events, and its PUB channel and send operation. */
static void s_service(s_doc_t *d, const hy_api_t *api)
{
    char name[160], server[160], since[160];
    snprintf(server, sizeof server, "%s-pub", api->service);
    snprintf(name, sizeof name, "%s-events", api->service);
    snprintf(since, sizeof since, "%s-events-since", api->service);
    const char *pub = hy_config_pub(api->service);
    char desc[400];
    snprintf(desc, sizeof desc, "ZeroMQ PUB socket of %s (%s)", api->service, pub);
    s_set(d->servers, server,
          json_pack("{s:s, s:s, s:s}", "host", s_host(pub), "protocol", "zmq", "description",
                    desc), &d->bad);

    json_t *ch_msgs = json_object();
    for (const hy_event_spec_t *e = api->events; !d->bad && e && e->type; e++) {
        char data[200];
        snprintf(data, sizeof data, "%s.data", e->type);
        s_set(d->schemas, data, s_data_schema(e, &d->bad), &d->bad);
        json_t *payload = json_pack("{s:[o, {s:{s:{s:s}, s:o}}]}", "allOf",
                                    s_ref("components", "schemas/CloudEvent", NULL),
                                    "properties", "type", "const", e->type,
                                    "data", s_ref("components/schemas", data, NULL));
        s_set(d->messages, e->type,
              json_pack("{s:s, s:s, s:s, s:s, s:o}", "name", e->type, "title", e->type,
                        "summary", e->summary ? e->summary : e->type, "contentType",
                        "application/cloudevents+json", "payload", payload),
              &d->bad);
        s_set(ch_msgs, e->type, s_ref("components/messages", e->type, NULL), &d->bad);
    }
    snprintf(desc, sizeof desc,
             "Events of %s, two frames each: the event type (subscribe by prefix), then the "
             "CloudEvent. Notification only: the outbox behind %s-events-since is the truth.",
             api->service, api->service);
    s_set(d->channels, name,
          json_pack("{s:s, s:s, s:o, s:[o]}", "address", "{type}", "description", desc,
                    "messages", ch_msgs, "servers", s_ref("servers", server, NULL)),
          &d->bad);
    json_t *parameters = json_pack("{s:{s:s}}", "type", "description",
                                   "the event type, the ZeroMQ topic frame");
    s_set(json_object_get(d->channels, name), "parameters", parameters, &d->bad);
    json_t *op_msgs = json_array();
    for (const hy_event_spec_t *e = api->events; !d->bad && e && e->type; e++)
        if (json_array_append_new(op_msgs, s_ref("channels", name, e->type)) != 0)
            d->bad = true;
    char op[200];
    snprintf(op, sizeof op, "%s-publish", api->service);
    s_set(d->operations, op,
          json_pack("{s:s, s:o, s:s, s:o}", "action", "send", "channel",
                    s_ref("channels", name, NULL), "summary",
                    "Each committed change, after its commit, in sequence order", "messages",
                    op_msgs),
          &d->bad);

    /* events.since through the broker: request and reply on one channel. */
    snprintf(desc, sizeof desc,
             "events.since of %s through the broker (%s): the events after a sequence, "
             "gapless and in order, then last_seq",
             api->service, hy_config_broker());
    s_set(d->channels, since,
          json_pack("{s:s, s:s, s:{s:o, s:o}, s:[o]}", "address", api->service, "description",
                    desc, "messages", "request",
                    s_ref("components/messages", "EventsSinceRequest", NULL), "reply",
                    s_ref("components/messages", "EventsSinceReply", NULL), "servers",
                    s_ref("servers", "broker", NULL)),
          &d->bad);
    snprintf(op, sizeof op, "%s-events-since", api->service);
    s_set(d->operations, op,
          json_pack("{s:s, s:o, s:s, s:[o], s:{s:o, s:[o]}}", "action", "receive", "channel",
                    s_ref("channels", since, NULL), "summary",
                    "Answers events.since: a follower's catch-up", "messages",
                    s_ref("channels", since, "request"), "reply", "channel",
                    s_ref("channels", since, NULL), "messages",
                    s_ref("channels", since, "reply")),
          &d->bad);
}

/* An HTTP long-poll feed (an op with long_poll). */
static void s_feed(s_doc_t *d, const hy_api_t *api, const hy_op_spec_t *op)
{
    char name[200], desc[600];
    snprintf(name, sizeof name, "http-%s", op->op);
    for (char *p = name; *p; p++)
        if (*p == '.')
            *p = '-';
    snprintf(desc, sizeof desc,
             "%s (%s %s): %s. Long poll: with wait=N the answer comes when there are events "
             "or after N seconds. Accept: application/cloudevents-batch+json answers a "
             "CloudEvents JSON batch (the array of events) instead of the page.",
             op->op, op->method, op->path, op->summary ? op->summary : "a feed");
    s_set(d->channels, name,
          json_pack("{s:s, s:s, s:{s:o, s:o, s:o}, s:[o]}", "address", op->path,
                    "description", desc, "messages", "poll",
                    s_ref("components/messages", "FeedPoll", NULL), "page",
                    s_ref("components/messages", "FeedPage", NULL), "batch",
                    s_ref("components/messages", "FeedBatch", NULL), "servers",
                    s_ref("servers", "gateway", NULL)),
          &d->bad);
    char opname[220];
    snprintf(opname, sizeof opname, "%s-%s", api->service, name);
    s_set(d->operations, opname,
          json_pack("{s:s, s:o, s:s, s:[o], s:{s:o, s:[o, o]}}", "action", "receive",
                    "channel", s_ref("channels", name, NULL), "summary",
                    "GET with after (and wait, limit): the events after a sequence", "messages",
                    s_ref("channels", name, "poll"), "reply", "channel",
                    s_ref("channels", name, NULL), "messages",
                    s_ref("channels", name, "page"), s_ref("channels", name, "batch")),
          &d->bad);
}

static void s_components(s_doc_t *d)
{
    s_set(d->schemas, "CloudEvent", s_envelope(), &d->bad);
    s_set(d->messages, "EventsSinceRequest",
          json_pack("{s:s, s:s, s:{s:s, s:[s,s,s], s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:{"
                    "s:{s:s, s:i}, s:{s:s, s:i}}}}}}",
                    "name", "EventsSinceRequest", "summary",
                    "A broker request for the events after a sequence", "payload", "type",
                    "object", "required", "op", "id", "args", "properties", "v", "type",
                    "integer", "op", "const", "events.since", "id", "type", "string", "args",
                    "type", "object", "properties", "after", "type", "integer", "minimum", 0,
                    "limit", "type", "integer", "minimum", 1),
          &d->bad);
    json_t *page = json_pack("{s:s, s:[s,s], s:{s:{s:s, s:o}, s:{s:s}}}", "type", "object",
                             "required", "events", "last_seq", "properties", "events", "type",
                             "array", "items", s_ref("components", "schemas/CloudEvent", NULL),
                             "last_seq", "type", "integer");
    s_set(d->schemas, "EventPage", page, &d->bad);
    s_set(d->messages, "EventsSinceReply",
          json_pack("{s:s, s:s, s:{s:s, s:{s:{s:s}, s:{s:s}, s:o}}}", "name",
                    "EventsSinceReply", "summary", "The events after the sequence asked for",
                    "payload", "type", "object", "properties", "id", "type", "string",
                    "status", "type", "integer", "result",
                    s_ref("components", "schemas/EventPage", NULL)),
          &d->bad);
    s_set(d->messages, "FeedPoll",
          json_pack("{s:s, s:s, s:{s:s, s:{s:{s:s, s:i}, s:{s:s, s:i, s:i}, s:{s:s}}}}",
                    "name", "FeedPoll", "summary", "The query of a feed request", "payload",
                    "type", "object", "properties", "after", "type", "integer", "minimum", 0,
                    "wait", "type", "integer", "minimum", 0, "maximum", 60, "limit", "type",
                    "integer"),
          &d->bad);
    s_set(d->messages, "FeedPage",
          json_pack("{s:s, s:s, s:s, s:o}", "name", "FeedPage", "summary",
                    "A page of events and the newest sequence there is", "contentType",
                    "application/json", "payload",
                    s_ref("components", "schemas/EventPage", NULL)),
          &d->bad);
    s_set(d->messages, "FeedBatch",
          json_pack("{s:s, s:s, s:s, s:{s:s, s:o}}", "name", "FeedBatch", "summary",
                    "The same events as a CloudEvents JSON batch", "contentType",
                    "application/cloudevents-batch+json", "payload", "type", "array", "items",
                    s_ref("components", "schemas/CloudEvent", NULL)),
          &d->bad);
}

json_t *hy_gw_asyncapi(const hy_api_t *const *apis)
{
    s_doc_t d = {0};
    d.servers = json_object();
    d.channels = json_object();
    d.operations = json_object();
    d.messages = json_object();
    d.schemas = json_object();
    const char *url = hy_public_url();
    const char *scheme_end = strstr(url, "://");
    d.doc = json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:s, s:o, s:o, s:o, s:{s:o, s:o}}", "asyncapi", "3.0.0",
        "info", "title", "Hamyar event feeds", "version", "1", "description",
        "The events each service publishes (CloudEvents 1.0 with the Sequence extension), "
        "built from the event tables the services announce. Each event's dataschema is the "
        "URL of its data's JSON Schema.",
        "defaultContentType", "application/cloudevents+json", "servers", d.servers, "channels",
        d.channels, "operations", d.operations, "components", "messages", d.messages,
        "schemas", d.schemas);
    if (!d.doc)
        return NULL;
    s_set(d.servers, "gateway",
          json_pack("{s:s, s:s, s:s}", "host", scheme_end ? scheme_end + 3 : url, "protocol",
                    scheme_end && strncmp(url, "https", 5) == 0 ? "https" : "http",
                    "description", "The HTTP gateway (long-poll feeds)"),
          &d.bad);
    s_set(d.servers, "broker",
          json_pack("{s:s, s:s, s:s}", "host", s_host(hy_config_broker()), "protocol", "zmq",
                    "description", "The ZeroMQ broker (requests to services by name)"),
          &d.bad);
    s_components(&d);
    for (size_t i = 0; !d.bad && apis[i]; i++) {
        s_service(&d, apis[i]);
        for (const hy_op_spec_t *op = apis[i]->ops; op && op->op; op++)
            if (op->long_poll && op->method && op->path)
                s_feed(&d, apis[i], op);
    }
    if (d.bad) {
        json_decref(d.doc);
        return NULL;
    }
    return d.doc;
}

/* GET /v1/schemas/events/{type}: the schema, or 404 not_found for a type no service declares. */
enum MHD_Result hy_gw_event_schema_send(hy_gateway_t *gw, struct MHD_Connection *conn,
                                        hy_gw_req_t *req, const char *url)
{
    const char *type = json_string_value(json_object_get(req->params, "type"));
    json_t *schema = type ? hy_gw_event_schema((const hy_api_t *const *)req->t->apis, type) : NULL;
    if (!schema)
        return hy_gw_send_problem(gw, conn, req, url, 404, "not_found", "type",
                                  "no service publishes events of this type", NULL, NULL, NULL);
    return hy_gw_send_json(gw, conn, req, 200, "application/schema+json", schema, NULL, NULL);
}
