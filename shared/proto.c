/*
 * proto.c — builds and reads the request/reply documents described in proto.h.
 */
#include "proto.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const struct {
    unsigned bit;
    const char *name;
} s_roles[] = {
    {HY_ROLE_SOCIAL_SERVICES, "social_services"},
    {HY_ROLE_INSURANCE_FUND, "insurance_fund"},
    {HY_ROLE_OPERATOR, "operator"},
    {HY_ROLE_AUDITOR, "auditor"},
    {HY_ROLE_SERVICE, "service"},
    {HY_ROLE_MONITORING, "monitoring"},
};

unsigned hy_role_parse(const char *name)
{
    if (!name)
        return 0;
    for (size_t i = 0; i < sizeof s_roles / sizeof s_roles[0]; i++)
        if (strcmp(s_roles[i].name, name) == 0)
            return s_roles[i].bit;
    return 0;
}

const char *hy_role_name(unsigned role)
{
    for (size_t i = 0; i < sizeof s_roles / sizeof s_roles[0]; i++)
        if (s_roles[i].bit == role)
            return s_roles[i].name;
    return "unknown";
}

/* Titles for the codes clients see most; they are part of the contract's problem+json. */
static const struct {
    const char *code;
    const char *title;
} s_titles[] = {
    {"malformed_json", "Malformed JSON"},
    {"too_deep", "Body nested too deeply"},
    {"too_many_members", "Body has too many members"},
    {"conflicting_content_length", "Conflicting Content-Length"},
    {"header_timeout", "Request headers too slow"},
    {"invalid_utf8", "Invalid UTF-8"},
    {"invalid_body", "Invalid request body"},
    {"invalid_field", "Invalid field"},
    {"unknown_field", "Unknown field"},
    {"missing_field", "Missing field"},
    {"invalid_date", "Invalid date"},
    {"invalid_parameter", "Invalid parameter"},
    {"unknown_parameter", "Unknown parameter"},
    {"unauthenticated", "Authentication required"},
    {"invalid_api_key", "Invalid API key"},
    {"forbidden", "Forbidden"},
    {"not_found", "Not found"},
    {"method_not_allowed", "Method not allowed"},
    {"body_too_large", "Request body too large"},
    {"unsupported_media_type", "Unsupported media type"},
    {"idempotency_key_reused", "Idempotency key reused"},
    {"duplicate_national_id", "Duplicate national ID"},
    {"invalid_national_id", "Invalid national ID"},
    {"invalid_mobile", "Invalid mobile number"},
    {"wrong_state", "Wrong state"},
    {"service_unavailable", "Service unavailable"},
    {"service_timeout", "Service timeout"},
    {"dependency_unavailable", "Dependency unavailable"},
    {"internal_error", "Internal error"},
    {"unknown_op", "Unknown operation"},
};

const char *hy_proto_title(const char *code)
{
    /* Unknown codes: "over_cap" -> "Over cap", built once per code in a small ring. */
    static _Thread_local char ring[4][64];
    static _Thread_local unsigned next;
    if (!code)
        return "Error";
    for (size_t i = 0; i < sizeof s_titles / sizeof s_titles[0]; i++)
        if (strcmp(s_titles[i].code, code) == 0)
            return s_titles[i].title;
    char *t = ring[next++ % 4];
    size_t n = 0;
    for (; code[n] && n < 63; n++)
        t[n] = code[n] == '_' ? ' ' : code[n];
    t[n] = '\0';
    if (n)
        t[0] = (char)toupper((unsigned char)t[0]);
    return t;
}

json_t *hy_proto_request(const char *op, const char *id, const hy_actor_t *actor,
                         const char *idem, json_t *args)
{
    if (!args)
        args = json_object();
    json_t *a = json_pack("{s:s, s:s, s:s}", "key_id", actor && actor->key_id ? actor->key_id : "",
                          "role", actor && actor->role ? actor->role : "",
                          "office", actor && actor->office ? actor->office : "");
    json_t *req = json_pack("{s:i, s:s, s:s, s:o, s:o}", "v", HY_PROTO_VERSION, "op", op, "id",
                            id, "actor", a, "args", args);
    if (!req)
        return NULL;
    if (idem && json_object_set_new(req, "idem", json_string(idem)) != 0) {
        json_decref(req);
        return NULL;
    }
    return req;
}

json_t *hy_proto_reply_ok(const char *id, int status, json_t *result)
{
    return json_pack("{s:s, s:i, s:o}", "id", id ? id : "", "status", status, "result",
                     result ? result : json_null());
}

json_t *hy_proto_reply_error(const char *id, int status, const char *code, const char *field,
                             const char *detail)
{
    json_t *err = json_pack("{s:s, s:s, s:s}", "code", code, "title", hy_proto_title(code),
                            "detail", detail ? detail : "");
    if (err && field && json_object_set_new(err, "field", json_string(field)) != 0) {
        json_decref(err);
        return NULL;
    }
    if (!err)
        return NULL;
    return json_pack("{s:s, s:i, s:o}", "id", id ? id : "", "status", status, "error", err);
}

int hy_proto_parse_request(json_t *req, hy_request_t *out)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(req))
        return -1;
    json_t *op = json_object_get(req, "op"), *id = json_object_get(req, "id");
    json_t *actor = json_object_get(req, "actor"), *args = json_object_get(req, "args");
    json_t *idem = json_object_get(req, "idem");
    if (!json_is_string(op) || !json_is_string(id) || !json_is_object(actor))
        return -1;
    if (args && !json_is_object(args))
        return -1;
    if (!args) {
        if (json_object_set_new(req, "args", json_object()) != 0)
            return -1;
        args = json_object_get(req, "args");
    }
    if (idem && !json_is_string(idem))
        return -1;
    json_t *if_match = json_object_get(req, "if_match");
    out->if_match = json_is_string(if_match) ? json_string_value(if_match) : NULL;
    out->op = json_string_value(op);
    out->id = json_string_value(id);
    out->idem = idem ? json_string_value(idem) : NULL;
    out->args = args;
    json_t *k = json_object_get(actor, "key_id"), *r = json_object_get(actor, "role"),
           *o = json_object_get(actor, "office");
    out->actor.key_id = json_is_string(k) ? json_string_value(k) : "";
    out->actor.role = json_is_string(r) ? json_string_value(r) : "";
    out->actor.office = json_is_string(o) ? json_string_value(o) : "";
    return 0;
}

int hy_proto_parse_reply(json_t *reply, int *status, json_t **result, json_t **error)
{
    json_t *st = json_object_get(reply, "status");
    if (!json_is_integer(st))
        return -1;
    *status = (int)json_integer_value(st);
    if (result)
        *result = json_object_get(reply, "result");
    if (error)
        *error = json_object_get(reply, "error");
    if (*status >= 400 && !json_is_object(json_object_get(reply, "error")))
        return -1;
    return 0;
}
