/*
 * openapi.c — the OpenAPI 3.1 document of the gateway, generated from the route table and so
 * from the same op specs the services check their arguments against: the document cannot
 * drift from what the services accept.
 *
 * Built once at start-up; http.c serves the serialised text.
 */
#include "gateway.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"

/* ASCII, Arabic-Indic or Persian digits, '/' or '-' between: what hy_date_parse_jalali accepts. */
#define JDIGIT "[0-9\\u0660-\\u0669\\u06F0-\\u06F9]"
#define JALALI_PATTERN "^" JDIGIT "{4}[/-]" JDIGIT "{1,2}[/-]" JDIGIT "{1,2}$"

/* Sets a member, stealing value; a NULL value (allocation failure) marks the document bad. */
static void s_set(json_t *obj, const char *key, json_t *value, bool *bad)
{
    if (!value || !obj || json_object_set_new(obj, key, value) != 0)
        *bad = true;
}

static void s_push(json_t *arr, json_t *value, bool *bad)
{
    if (!value || !arr || json_array_append_new(arr, value) != 0)
        *bad = true;
}

static json_t *s_object_schema(const hy_field_t *fields, bool output, const hy_route_t *body_of,
                               bool *bad);

json_t *hy_gw_enum_values(const char *enums)
{
    json_t *values = json_array();
    for (const char *p = enums; values && p && *p;) {
        const char *e = strchr(p, '|');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (json_array_append_new(values, json_stringn(p, n)) != 0) {
            json_decref(values);
            return NULL;
        }
        p = e ? e + 1 : p + n;
    }
    return values;
}

int hy_gw_schema_nullable(json_t *s)
{
    json_t *type = json_object_get(s, "type");
    if (json_is_string(type) &&
        json_object_set_new(s, "type", json_pack("[s,s]", json_string_value(type), "null")) != 0)
        return -1;
    json_t *values = json_object_get(s, "enum");
    return values && json_array_append_new(values, json_null()) != 0 ? -1 : 0;
}

/* Whether name is a {parameter} of r's path: the path gives it, not the query or the body. */
static bool s_path_param(const hy_route_t *r, const char *name)
{
    for (int i = 0; r && i < r->nseg; i++)
        if (r->seg[i].param && strlen(name) == r->seg[i].len &&
            strncmp(name, r->seg[i].text, r->seg[i].len) == 0)
            return true;
    return false;
}

/* The schema of a bare type (an array's elements); f gives enums and sub-fields. */
static json_t *s_type_schema(hy_type_t type, const hy_field_t *f, bool output, bool *bad)
{
    json_t *s = json_object();
    switch (type) {
    case HY_T_STRING:
        s_set(s, "type", json_string("string"), bad);
        if (!output) {
            /* Characters (code points), as the services count them; the byte ceiling apart. */
            int max = f->max_len > 0 && f->type == HY_T_STRING ? f->max_len : 1000;
            s_set(s, "maxLength", json_integer(max), bad);
            s_set(s, "x-max-bytes", json_integer((json_int_t)HY_SPEC_STRING_BYTES(max)), bad);
        }
        break;
    case HY_T_INT:
    case HY_T_MONEY:
        s_set(s, "type", json_string("integer"), bad);
        s_set(s, "format", json_string("int64"), bad);
        if (f->min < f->max) {
            s_set(s, "minimum", json_integer(f->min), bad);
            s_set(s, "maximum", json_integer(f->max), bad);
        } else if (type == HY_T_MONEY) {
            s_set(s, "minimum", json_integer(0), bad);
        }
        break;
    case HY_T_BOOL:
        s_set(s, "type", json_string("boolean"), bad);
        break;
    case HY_T_DATE:
        s_set(s, "type", json_string("string"), bad);
        s_set(s, "format", json_string("date"), bad);
        break;
    case HY_T_ENUM: {
        s_set(s, "type", json_string("string"), bad);
        s_set(s, "enum", hy_gw_enum_values(f->enums), bad);
        break;
    }
    case HY_T_OBJECT:
        json_decref(s);
        return f->sub ? s_object_schema(f->sub, output, NULL, bad)
                      : json_pack("{s:s}", "type", "object");
    case HY_T_ARRAY:
        s_set(s, "type", json_string("array"), bad);
        s_set(s, "items",
              f->elem == HY_T_OBJECT || (f->sub && !f->elem)
                  ? (f->sub ? s_object_schema(f->sub, output, NULL, bad)
                            : json_pack("{s:s}", "type", "object"))
                  : s_type_schema(f->elem ? f->elem : HY_T_STRING, f, output, bad),
              bad);
        if (!output)
            s_set(s, "maxItems", json_integer(f->max_len > 0 ? f->max_len : 10000), bad);
        break;
    case HY_T_ID:
        s_set(s, "type", json_string("string"), bad);
        s_set(s, "examples", json_pack("[s]", "prs_42"), bad);
        break;
    case HY_T_ANY:
    default:
        break;   /* {}: any JSON */
    }
    return s;
}

/* The schema of one field: its type, its doc, and null when HY_F_NULL allows it. */
static json_t *s_field_schema(const hy_field_t *f, bool output, bool *bad)
{
    json_t *s = s_type_schema(f->type, f, output, bad);
    if (!s) {
        *bad = true;
        return NULL;
    }
    if ((f->flags & HY_F_NULL) && hy_gw_schema_nullable(s) != 0)
        *bad = true;
    if (f->doc)
        s_set(s, "description", json_string(f->doc), bad);
    return s;
}

static json_t *s_jalali_schema(const hy_field_t *f, bool output, bool *bad)
{
    json_t *s = json_pack("{s:s}", "type", "string");
    char doc[256];
    snprintf(doc, sizeof doc, "%s as a Jalali date (1400/06/29)%s", f->name,
             output ? "" : "; accepted instead of it");
    s_set(s, "description", json_string(doc), bad);
    if (output)
        s_set(s, "readOnly", json_true(), bad);
    else
        s_set(s, "pattern", json_string(JALALI_PATTERN), bad);
    return s;
}

/* An object of fields. Input schemas refuse other members (as the services do); a required
 * date X is satisfied by X or X_jalali. body_of (a route, or NULL) leaves out the fields its
 * query string and path give. */
static json_t *s_object_schema(const hy_field_t *fields, bool output, const hy_route_t *body_of,
                               bool *bad)
{
    json_t *s = json_pack("{s:s}", "type", "object");
    json_t *props = json_object(), *required = json_array(), *either = json_array();
    char name[160];
    for (const hy_field_t *f = fields; f && f->name; f++) {
        if (body_of && ((f->flags & HY_F_QUERY) || s_path_param(body_of, f->name)))
            continue;
        s_set(props, f->name, s_field_schema(f, output, bad), bad);
        if (f->type == HY_T_DATE && snprintf(name, sizeof name, "%s_jalali", f->name) <
                                        (int)sizeof name) {
            s_set(props, name, s_jalali_schema(f, output, bad), bad);
            if (!output && (f->flags & HY_F_REQ)) {
                s_push(either, json_pack("{s:[{s:[s]},{s:[s]}]}", "anyOf", "required", f->name,
                                         "required", name), bad);
                continue;
            }
        }
        if (f->flags & HY_F_REQ)
            s_push(required, json_string(f->name), bad);
    }
    s_set(s, "properties", props, bad);
    if (json_array_size(required))
        s_set(s, "required", required, bad);
    else
        json_decref(required);
    if (json_array_size(either) == 1)
        s_set(s, "anyOf", json_incref(json_object_get(json_array_get(either, 0), "anyOf")),
              bad);
    else if (json_array_size(either) > 1)
        s_set(s, "allOf", json_incref(either), bad);
    json_decref(either);
    if (!output)
        s_set(s, "additionalProperties", json_false(), bad);
    return s;
}

static bool s_has_body_fields(const hy_route_t *r)
{
    for (const hy_field_t *f = r->op->args; f && f->name; f++)
        if (!(f->flags & HY_F_QUERY) && !s_path_param(r, f->name))
            return true;
    return false;
}

static json_t *s_ref(const char *what, const char *name)
{
    char ref[128];
    snprintf(ref, sizeof ref, "#/components/%s/%s", what, name);
    return json_pack("{s:s}", "$ref", ref);
}

/* Whether a route is a write that If-Match can guard: its service has a GET of the resource
 * its path names (hy_spec_resource, as the service's writer checks it). */
static bool s_conditional(const hy_route_t *r)
{
    return r->op && r->api && hy_spec_resource(r->api->ops, r->op) != NULL;
}

/* Path, query and header parameters of a route. */
static json_t *s_parameters(const hy_route_t *r, bool *bad)
{
    json_t *params = json_array();
    for (int i = 0; i < r->nseg; i++) {
        if (!r->seg[i].param)
            continue;
        json_t *p = json_pack("{s:s%, s:s, s:b, s:{s:s}}", "name", r->seg[i].text,
                              r->seg[i].len, "in", "path", "required", 1, "schema", "type",
                              "string");
        s_push(params, p, bad);
    }
    bool get = strcmp(r->method, "GET") == 0;
    const hy_op_spec_t *op = r->op;
    for (const hy_field_t *f = op ? op->args : NULL; f && f->name; f++) {
        if ((!get && !(f->flags & HY_F_QUERY)) || s_path_param(r, f->name))
            continue;
        json_t *schema = s_field_schema(f, false, bad);
        json_t *p = json_pack("{s:s, s:s, s:b, s:o}", "name", f->name, "in", "query",
                              "required", (f->flags & HY_F_REQ) && f->type != HY_T_DATE,
                              "schema", schema);
        if (p && f->doc)
            s_set(p, "description", json_string(f->doc), bad);
        s_push(params, p, bad);
        if (f->type == HY_T_DATE) {
            char name[160];
            snprintf(name, sizeof name, "%s_jalali", f->name);
            s_push(params, json_pack("{s:s, s:s, s:o}", "name", name, "in", "query", "schema",
                                     s_jalali_schema(f, false, bad)), bad);
        }
    }
    if (op && op->list) {
        s_push(params, json_pack("{s:s, s:s, s:s, s:{s:s, s:i, s:i, s:i}}", "name", "limit",
                                 "in", "query", "description", "page size", "schema", "type",
                                 "integer", "minimum", 1, "maximum", 500, "default", 50), bad);
        s_push(params, json_pack("{s:s, s:s, s:s, s:{s:s}}", "name", "cursor", "in", "query",
                                 "description", "next_cursor of the previous page", "schema",
                                 "type", "string"), bad);
    }
    if (op && op->long_poll && !hy_spec_field(op->args, "wait"))
        s_push(params, json_pack("{s:s, s:s, s:s, s:{s:s, s:i, s:i, s:i}}", "name", "wait",
                                 "in", "query", "description",
                                 "seconds to wait for the first event when there is none yet",
                                 "schema", "type", "integer", "minimum", 0, "maximum", 60,
                                 "default", 0), bad);
    if (op)
        s_push(params, s_ref("parameters", "RequestId"), bad);
    if (op && strcmp(r->method, "POST") == 0)
        s_push(params, s_ref("parameters", "IdempotencyKey"), bad);
    if (s_conditional(r))
        s_push(params, s_ref("parameters", "IfMatch"), bad);
    if (op && strcmp(r->method, "GET") == 0)
        s_push(params, s_ref("parameters", "IfNoneMatch"), bad);
    if (r->kind != HY_ROUTE_METRICS && r->kind != HY_ROUTE_HEALTHZ)
        s_push(params, s_ref("parameters", "AcceptLanguage"), bad);
    return params;
}

/* The success response of an op route: its result fields, wrapped for list ops. */
static json_t *s_result_schema(const hy_op_spec_t *op, bool *bad)
{
    json_t *item = op->result ? s_object_schema(op->result, true, NULL, bad)
                              : json_pack("{s:s}", "type", "object");
    if (!op->list)
        return item;
    return json_pack("{s:s, s:{s:{s:s, s:o}, s:{s:[s,s]}}, s:[s,s]}", "type", "object",
                     "properties", "items", "type", "array", "items", item, "next_cursor",
                     "type", "string", "null", "required", "items", "next_cursor");
}

static json_t *s_content(const char *type, json_t *schema)
{
    return json_pack("{s:{s:o}}", type, "schema", schema);
}

/* The success content of an op: JSON, and each rendering it offers (formats). */
static json_t *s_success_content(const hy_op_spec_t *op, bool *bad)
{
    json_t *c = s_content("application/json", s_result_schema(op, bad));
    static const struct {
        const char *format, *media;
    } renderings[] = {{"csv", "text/csv"}, {"html", "text/html"}};
    for (size_t i = 0; c && op->formats && i < sizeof renderings / sizeof *renderings; i++)
        if (strstr(op->formats, renderings[i].format))
            s_set(c, renderings[i].media, json_pack("{s:{s:s}}", "schema", "type", "string"), bad);
    return c;
}

/* GET /v1/me's answer. */
static json_t *s_me_schema(void)
{
    return json_pack("{s:s, s:{s:{s:s, s:s}, s:{s:s, s:s}, s:{s:[s,s], s:s}}, s:[s,s,s]}",
                     "type", "object", "properties",
                     "key_id", "type", "string", "description", "the key's id (its name in "
                     "logs, audit trails and the keys file)",
                     "role", "type", "string", "description", "the key's role",
                     "office", "type", "string", "null", "description",
                     "the office the key acts for, or null for all offices",
                     "required", "key_id", "role", "office");
}

static json_t *s_operation(const hy_route_t *r, bool *bad)
{
    static const struct {
        hy_route_kind_t kind;
        const char *id, *summary, *type;
    } own[] = {
        { HY_ROUTE_HEALTHZ, "healthz", "The process is up", "application/json" },
        { HY_ROUTE_READYZ, "readyz", "Every service has a live worker", "application/json" },
        { HY_ROUTE_METRICS, "metrics", "Prometheus metrics (operator, monitoring)", "text/plain" },
        { HY_ROUTE_OPENAPI, "openapi", "This document", "application/json" },
        { HY_ROUTE_ASYNCAPI, "asyncapi", "The AsyncAPI 3.0 document of the event feeds",
          "application/json" },
        { HY_ROUTE_EVENT_SCHEMA, "eventSchema",
          "The JSON Schema of an event type's data (its events' dataschema)",
          "application/schema+json" },
        { HY_ROUTE_PROBLEMS, "problemTypes", "Every problem type", "application/json" },
        { HY_ROUTE_PROBLEM, "problemType", "One problem type: what its code means",
          "application/json" },
        { HY_ROUTE_ME, "me", "Who the API key is: its id, role and office (never its secret)",
          "application/json" },
    };
    json_t *o = json_object(), *responses = json_object();
    json_t *roles = json_array();
    for (unsigned bit = 1; bit <= HY_ROLE_MONITORING; bit <<= 1)
        if ((r->roles & bit) && bit != HY_ROLE_SERVICE)
            s_push(roles, json_string(hy_role_name(bit)), bad);
    if (!r->op) {
        for (size_t i = 0; i < sizeof own / sizeof *own; i++) {
            if (own[i].kind != r->kind)
                continue;
            s_set(o, "operationId", json_string(own[i].id), bad);
            s_set(o, "summary", json_string(own[i].summary), bad);
            json_t *schema = r->kind == HY_ROUTE_METRICS ? json_pack("{s:s}", "type", "string")
                             : r->kind == HY_ROUTE_ME ? s_me_schema()
                                                      : json_pack("{s:s}", "type", "object");
            s_set(responses, "200", json_pack("{s:s, s:o}", "description", "OK", "content",
                                              s_content(own[i].type, schema)), bad);
        }
        s_set(o, "tags", json_pack("[s]", "gateway"), bad);
        if (r->kind == HY_ROUTE_READYZ)
            s_set(responses, "503", json_pack("{s:s, s:{s:o}, s:o}", "description", "Not ready",
                                              "headers", "Retry-After",
                                              s_ref("headers", "RetryAfter"), "content",
                                              s_content("application/json",
                                                        json_pack("{s:s}", "type", "object"))),
                  bad);
        if (r->kind == HY_ROUTE_PROBLEM) {
            s_set(json_object_get(json_object_get(responses, "200"), "content"), "text/html",
                  json_pack("{s:{s:s}}", "schema", "type", "string"), bad);
            s_set(responses, "404", s_ref("responses", "Problem"), bad);
        }
        if (r->kind == HY_ROUTE_PROBLEMS || r->kind == HY_ROUTE_PROBLEM ||
            r->kind == HY_ROUTE_OPENAPI)
            s_set(responses, "400", s_ref("responses", "Problem"), bad);
        if (r->kind == HY_ROUTE_EVENT_SCHEMA)
            s_set(responses, "404", json_pack("{s:s}", "description", "No service publishes "
                                              "events of this type"), bad);
    } else {
        s_set(o, "operationId", json_string(r->op->op), bad);
        if (r->op->summary)
            s_set(o, "summary", json_string(r->op->summary), bad);
        s_set(o, "tags", json_pack("[s]", r->api ? r->api->service : "audit"), bad);
        int ok = r->op->ok_status ? r->op->ok_status : 200;
        char status[8];
        snprintf(status, sizeof status, "%d", ok);
        json_t *headers = json_pack("{s:o}", "X-Request-Id", s_ref("headers", "RequestId"));
        bool get = strcmp(r->method, "GET") == 0, conditional = s_conditional(r);
        if (get || conditional)
            s_set(headers, "ETag", s_ref("headers", "ETag"), bad);
        if (ok == 201)
            s_set(headers, "Location", s_ref("headers", "Location"), bad);
        s_set(responses, status,
              json_pack("{s:s, s:o, s:o}", "description", "Success", "headers", headers,
                        "content", s_success_content(r->op, bad)), bad);
        /* Every write declares its body, an empty object when it takes no member: a client
         * may send {} (or nothing) to an op without arguments. */
        bool body = !get;
        bool fields = s_has_body_fields(r);
        if (body)
            s_set(o, "requestBody",
                  json_pack("{s:b, s:o}", "required", fields && strcmp(r->method, "POST") == 0,
                            "content",
                            s_content("application/json",
                                      s_object_schema(r->op->args, false, r, bad))), bad);
        /* What each op can meet: every op its argument checks, 404, the domain's 422, the
         * gateway's 500/502 and the service's absence; writes also their body's limits
         * (413, 415), a conflict (409) and, when If-Match can guard them, 412. */
        const char *errors[] = { "400", "404", "422", "500", "502", "504", "409", "413", "415" };
        for (size_t i = 0; i < (body ? 9u : 6u); i++)
            s_set(responses, errors[i], s_ref("responses", "Problem"), bad);
        s_set(responses, "503", s_ref("responses", "Unavailable"), bad);
        if (conditional)
            s_set(responses, "412", s_ref("responses", "Problem"), bad);
        if (get)
            s_set(responses, "304",
                  json_pack("{s:s, s:{s:o}}", "description",
                            "Not modified: the copy named by If-None-Match is current",
                            "headers", "ETag", s_ref("headers", "ETag")), bad);
    }
    if (r->roles) {
        s_set(responses, "401", s_ref("responses", "Problem"), bad);
        s_set(responses, "403", s_ref("responses", "Problem"), bad);
        s_set(o, "x-roles", roles, bad);
    } else {
        json_decref(roles);
        s_set(o, "security", json_array(), bad);
    }
    s_set(o, "parameters", s_parameters(r, bad), bad);
    s_set(o, "responses", responses, bad);
    return o;
}

/* A string header parameter of the document's components (a new reference, NULL when out of
 * memory). */
static json_t *s_header_param(const char *name, const char *description)
{
    return json_pack("{s:s, s:s, s:s, s:{s:s}}", "name", name, "in", "header", "description",
                     description, "schema", "type", "string");
}

static json_t *s_components(bool *bad)
{
    json_t *problem = json_pack(
        "{s:s, s:s, s:{s:{s:s, s:[s]}, s:{s:s}, s:{s:s}, s:{s:s, s:s}, s:{s:s, s:s},"
        " s:{s:s, s:s}, s:{s:s}, s:{s:s, s:s}}, s:[s,s,s,s], s:b}",
        "type", "object", "description",
        "RFC 9457 problem details; a service may add members such as existing_id",
        "properties",
        "type", "type", "string", "examples", "/v1/problems/not_found",
        "title", "type", "string",
        "status", "type", "integer",
        "code", "type", "string", "description", "stable machine-readable code",
        "field", "type", "string", "description", "the offending field, dotted",
        "detail", "type", "string", "description", "a human sentence",
        "instance", "type", "string",
        "request_id", "type", "string", "description", "as in X-Request-Id",
        "required", "type", "title", "status", "code",
        "additionalProperties", 1);
    json_t *response = json_pack(
        "{s:s, s:{s:o, s:o}, s:{s:{s:o}}}", "description", "The request was refused or failed",
        "headers", "X-Request-Id", s_ref("headers", "RequestId"), "Content-Language",
        s_ref("headers", "ContentLanguage"),
        "content", "application/problem+json", "schema", s_ref("schemas", "Problem"));
    json_t *unavailable = json_pack(
        "{s:s, s:{s:o, s:o, s:o}, s:{s:{s:o}}}", "description",
        "A service is unavailable; retry after the given seconds",
        "headers", "X-Request-Id", s_ref("headers", "RequestId"), "Content-Language",
        s_ref("headers", "ContentLanguage"), "Retry-After", s_ref("headers", "RetryAfter"),
        "content", "application/problem+json", "schema", s_ref("schemas", "Problem"));
    json_t *header = json_pack(
        "{s:{s:s, s:{s:s}}, s:{s:s, s:{s:s}}, s:{s:s, s:{s:s}}, s:{s:s, s:{s:s, s:i}},"
        " s:{s:s, s:{s:s, s:[s,s]}}}",
        "RequestId", "description", "The request id: the client's X-Request-Id or a fresh UUID",
        "schema", "type", "string",
        "ETag", "description",
        "The resource's entity tag (a hash of its JSON); send it back as If-Match to write "
        "only if nobody changed it meanwhile", "schema", "type", "string",
        "Location", "description", "The path of the resource a 201 created", "schema", "type",
        "string",
        "RetryAfter", "description", "Seconds to wait before retrying", "schema", "type",
        "integer", "minimum", 0,
        "ContentLanguage", "description", "The language of title and detail (Accept-Language)",
        "schema", "type", "string", "enum", "en", "fa");
    json_t *parameters = json_pack(
        "{s:{s:s, s:s, s:s, s:{s:s, s:i}}, s:{s:s, s:s, s:s, s:{s:s, s:i}}}",
        "RequestId", "name", "X-Request-Id", "in", "header", "description",
        "an id to find this request in the logs; echoed back", "schema", "type", "string",
        "maxLength", 64,
        "IdempotencyKey", "name", "Idempotency-Key", "in", "header", "description",
        "a retried POST with the same key returns the first answer and changes nothing",
        "schema", "type", "string", "maxLength", 200);
    s_set(parameters, "IfMatch",
          s_header_param("If-Match", "the ETag this write is based on (or *): refused with 412 "
                                     "precondition_failed when the resource has changed since"),
          bad);
    s_set(parameters, "IfNoneMatch",
          s_header_param("If-None-Match", "ETags of the copy the client holds (or *): 304 with "
                                          "no body while the resource still has one of them"),
          bad);
    s_set(parameters, "AcceptLanguage",
          s_header_param("Accept-Language", "fa for problem titles and details in Persian"), bad);
    json_t *security = json_pack("{s:{s:s, s:s, s:s}}", "bearer", "type", "http", "scheme",
                                 "bearer", "description",
                                 "an API key hy_<key_id>_<secret>, made by hamyarctl keys add");
    json_t *c = json_pack("{s:{s:o}, s:{s:o, s:o}, s:o, s:o, s:o}", "schemas", "Problem",
                          problem, "responses", "Problem", response, "Unavailable", unavailable,
                          "headers", header, "parameters", parameters, "securitySchemes",
                          security);
    if (!c)
        *bad = true;
    return c;
}

json_t *hy_gw_openapi(const hy_routes_t *routes)
{
    bool bad = false;
    json_t *paths = json_object();
    for (size_t i = 0; i < hy_routes_count(routes); i++) {
        const hy_route_t *r = hy_routes_at(routes, i);
        json_t *item = json_object_get(paths, r->path);
        if (!item) {
            item = json_object();
            s_set(paths, r->path, item, &bad);
        }
        char method[16];
        size_t n = 0;
        for (; r->method[n] && n < sizeof method - 1; n++)
            method[n] = (char)tolower((unsigned char)r->method[n]);
        method[n] = '\0';
        s_set(item, method, s_operation(r, &bad), &bad);
    }
    json_t *doc = json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:o, s:o, s:[{s:[]}]}", "openapi", "3.1.0", "info", "title",
        "Hamyar API", "version", "1.0.0", "description",
        "Registry, loans, networks, micro-funds, insurance enrolment and reporting of the "
        "Hamyar programme. Dates are YYYY-MM-DD (Gregorian); every date X also accepts and "
        "returns X_jalali. Money is integer rials in fields ending _rials. Errors are "
        "application/problem+json.",
        "paths", paths, "components", s_components(&bad), "security", "bearer");
    s_set(doc, "servers", json_pack("[{s:s, s:s}]", "url", "/", "description",
                                    "the gateway that serves this document"), &bad);
    if (!doc || bad) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}
