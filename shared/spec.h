/*
 * spec.h — one declarative description of every operation: its route, who may call it, and
 * the shape of its arguments and result.
 *
 * A service's NAME_api.c holds a table of hy_op_spec_t, one row per op as in Redis's command
 * table: name, route, roles, argument and result shapes, success status, read-only flag and
 * the handler that runs it (declared in the service's header). The service skeleton checks
 * the table at start-up (hy_spec_check_handlers), finds an op's row by name and uses it to
 * check roles and decode arguments once, before the row's handler runs (unknown fields, wrong
 * types, missing required fields, bad enum values, X_jalali dates all refused here); the reply
 * to a handler's success carries the row's ok_status. The service announces the same table
 * (without handlers) to the gateway (service.describe, describe.h), which builds its route
 * table, argument checks and /v1/openapi.json from it. One definition, four uses.
 */
#ifndef HY_SPEC_H
#define HY_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bind.h"

typedef enum {
    HY_T_STRING = 1, /* UTF-8 string, trimmed; max_len applies (characters: code points) */
    HY_T_INT,        /* JSON integer; min/max apply when min < max */
    HY_T_MONEY,      /* JSON integer rials, >= 0 unless min says otherwise; name ends _rials */
    HY_T_BOOL,
    HY_T_DATE,       /* "YYYY-MM-DD" Gregorian; X_jalali ("1400/06/29") accepted instead */
    HY_T_ENUM,       /* string, one of enums ("a|b|c") */
    HY_T_OBJECT,     /* object with fields sub (unknown members refused) */
    HY_T_ARRAY,      /* array; elements of type elem (sub for objects); max_len = max items */
    HY_T_ID,         /* opaque id string such as "prs_42" */
    HY_T_ANY,        /* any JSON (results only) */
} hy_type_t;

enum {
    HY_F_REQ   = 1u << 0,  /* required */
    HY_F_QUERY = 1u << 1,  /* (gateway) taken from the query string; string coerced to type */
    HY_F_NULL  = 1u << 2,  /* JSON null accepted (PATCH: clears the field) */
};

typedef struct hy_field {
    const char *name;
    hy_type_t type;
    unsigned flags;
    const char *enums;            /* HY_T_ENUM: "a|b|c" */
    const struct hy_field *sub;   /* HY_T_OBJECT fields, or element fields of an array of objects */
    hy_type_t elem;               /* HY_T_ARRAY element type */
    int64_t min, max;             /* HY_T_INT/MONEY range when min < max */
    int max_len;                  /* HY_T_STRING characters (code points; the bytes are bounded
                                     by HY_SPEC_STRING_BYTES), HY_T_ARRAY items; 0 = default
                                     (1000 / 10000) */
    const char *doc;              /* one line for OpenAPI */
} hy_field_t;

struct hy_ctx;   /* service.h */
struct hy_request;   /* proto.h */

/* An op's handler (Redis's command proc): runs the op for the request in ctx with the checked
 * args (borrowed) and returns 0 with *result set (a new reference, owned by the skeleton from
 * then on; the reply's status is the row's ok_status), or -1 with the error in ctx (hy_fail,
 * hy_fail_mdb), or HY_PARKED (hy_park). Threads and transactions: service.h. */
typedef int (*hy_handler_fn)(struct hy_ctx *ctx, json_t *args, json_t **result);

/* What an op's prepare works with (below). */
typedef struct hy_prepare_env {
    const char *today;            /* "YYYY-MM-DD", the writer's day */
    struct MDB_txn *view;         /* prepare_reads: a read-only transaction, else NULL */
    void *state;                  /* the service's state (hy_service_def_t.open): its database
                                     handles only, which do not change once open */
} hy_prepare_env_t;

/* One operation, one row: name, route, roles, argument and result shapes, success status,
 * read-only flag and handler. method/path are NULL for operations with no HTTP route (events.since, internal
 * queries between services). Path parameters ("/v1/persons/{id}") arrive as string args of the
 * same name and need no field entry. For GET routes every field is a query parameter. */
typedef struct {
    const char *op;               /* "persons.create" */
    hy_handler_fn handler;        /* runs it; every row of a service's table names one, and no
                                     two rows the same (hy_spec_check_handlers). NULL in the
                                     gateway's copy built from service.describe */
    const char *method;           /* "POST", "GET", "PATCH" or NULL */
    const char *path;             /* "/v1/persons/{id}" or NULL */
    unsigned roles;               /* HY_ROLE_* bits allowed */
    const hy_field_t *args;       /* terminated by {0}; NULL = no arguments */
    const hy_field_t *result;     /* for OpenAPI; NULL = free-form object */
    int ok_status;                /* 200, 201 or 202: the reply's status when the handler succeeds */
    bool list;                    /* result is {"items":[result...],"next_cursor":...}; limit/cursor implied */
    const char *summary;          /* one line for OpenAPI */
    bool long_poll;               /* feed: the gateway asks again (every 200 ms) while result.events is
                                     empty, until the request's `wait` seconds (0..60) have passed */
    const char *formats;          /* other renderings than JSON, e.g. "csv,html": the gateway picks one
                                     from Accept and passes args.format ("json"|"csv"|"html"); for
                                     csv/html the result is {"content_type": "...", "body": "..."}
                                     sent as is */
    bool point_read;              /* a read-only op that reads one record by its key (tens of
                                     microseconds): the reactor answers it itself, in a read
                                     transaction, before its batch of writes, instead of handing it
                                     to a reader thread (the two inproc hops cost more than the
                                     read). Reads that can take long must not set it. */
    signed char read_only;        /* 1: reads only (runs on a reader thread, in a read transaction
                                     of its own, beside the writer); -1: writes; 0 (unset): read-only
                                     exactly when method is "GET" */
    hy_call_t call;               /* instead of a handler: the domain function the row runs and
                                     the arguments it takes (bind.h); handler is NULL then */
    /* Work a write can do from its checked arguments alone, before the writer takes it: run on
     * the intake thread (intake.c) while the batch (or background step) before commits, with
     * what env holds: today's date as the writer will see it and, for a row that sets
     * prepare_reads, a read-only snapshot of the store. That snapshot may be older than what
     * the writer will see: what the work used from it must be checked again on the writer. No
     * writes, no service state but its database handles, no globals written. Returns a new
     * reference (or NULL: nothing), which the handler finds as ctx->req->prepared; the skeleton
     * drops it after the request (and before a parked request runs again). The handler must
     * answer the same with or without it: it does the work itself when prepared is NULL (the
     * intake thread off, the request taken straight from the socket, a parked request) or
     * made from a state that is no longer the store's. */
    json_t *(*prepare)(const struct hy_request *req, const struct hy_prepare_env *env);
    bool prepare_reads;           /* prepare gets env->view */
} hy_op_spec_t;

/* Runs the op's handler, or its call (bind.h). Returns what a handler returns. */
int hy_spec_run(const hy_op_spec_t *op, struct hy_ctx *ctx, json_t *args, json_t **result);
/* Whether the row can run: it names a handler or a call. */
static inline bool hy_spec_runs(const hy_op_spec_t *op)
{
    return op->handler || op->call.kind != HY_CALL_NONE;
}

/* The byte ceiling of a string of at most max characters: what storage and messages must hold
 * for it. Three bytes a character covers every Persian, Arabic and Latin letter and the ZWNJ;
 * a text of four-byte characters (emoji) is held to fewer of them. Published in the OpenAPI
 * document as x-max-bytes. */
#define HY_SPEC_STRING_BYTES(max) ((size_t)(max) * 3)

/* Whether an op only reads (see read_only above). */
static inline bool hy_spec_read_only(const hy_op_spec_t *op)
{
    if (op->read_only)
        return op->read_only > 0;
    return op->method && op->method[0] == 'G' && op->method[1] == 'E' && op->method[2] == 'T' &&
           op->method[3] == '\0';
}

/* A service's public description: its name, the id prefixes of the entities it owns (so the
 * gateway can send GET /v1/audit?entity=prs_1 to the owner), and its op table. Each service's
 * NAME_api.c defines `const hy_api_t NAME_api`; the service announces it with
 * service.describe (describe.h) and the gateway builds its routes from that announcement. */
/* One event type a service publishes (on its PUB socket and through events.since): its
 * CloudEvents `type`, one line for the AsyncAPI document, and the members of its `data` (the
 * JSON Schema the event's `dataschema` points at is built from them; data may carry more
 * members than listed: consumers ignore those they do not know). */
typedef struct {
    const char *type;             /* "registry.person.registered" */
    const char *summary;          /* one line for AsyncAPI */
    const hy_field_t *data;       /* terminated by {0}; NULL = a free-form object */
} hy_event_spec_t;

typedef struct {
    const char *service;          /* "registry" */
    const char *id_prefixes;      /* "prs,bus,act" */
    const hy_op_spec_t *ops;      /* terminated by {0} */
    const hy_event_spec_t *events; /* the event types it publishes, terminated by {0}; NULL = none */
} hy_api_t;

/* Operations every service answers, appended by the skeleton: events.since, audit.list,
 * service.status, service.backup, service.describe (builtins.c, with their handlers).
 * Terminated by {0}. */
extern const hy_op_spec_t hy_builtin_ops[];

/* The start-up check of a service's op table (terminated by {0}): every row names an op and a
 * handler or a call (one of them), no op is named twice, no handler or call serves two rows.
 * Returns 0, or -1 with a sentence
 * naming the first bad row in err (n bytes). */
int hy_spec_check_handlers(const hy_op_spec_t *table, char *err, size_t n);

/* Finds an op by name in a table terminated by {0}. Returns NULL when absent. */
const hy_op_spec_t *hy_spec_find(const hy_op_spec_t *table, const char *op);

/* Checks and normalises args in place against fields:
 *  - refuses unknown members, missing required ones, wrong JSON types, bad enum values,
 *    invalid UTF-8 is already impossible (jansson refuses it), over-long strings;
 *  - replaces X_jalali by X (Gregorian) for HY_T_DATE fields and refuses both disagreeing,
 *    impossible dates (1400/12/30) and out-of-range years;
 *  - trims strings; an empty required string counts as missing;
 *  - for a list op adds defaults limit=50 (max 500) and accepts cursor.
 * On error fills code ("invalid_field", "unknown_field", "missing_field", "invalid_date"),
 * field (dotted path, e.g. "licence.issued") and detail, and returns -1. Returns 0 when fine. */
typedef struct {
    int status;        /* 400 for shape (type, unknown, missing), 422 for a value (impossible date) */
    char code[48];
    char field[128];
    char detail[256];
} hy_spec_error_t;
/* Fills err (status, code, field or "" when NULL, printf-style detail) and returns -1, so that
 * callers can `return hy_spec_fail(...)`; the gateway's refusals use the same struct. */
int hy_spec_fail(hy_spec_error_t *err, int status, const char *code, const char *field,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int hy_spec_check(const hy_op_spec_t *op, json_t *args, hy_spec_error_t *err);

/* Coerces a query-string value (always a string) to the field's JSON type. Returns a new
 * reference, or NULL when the text is not of that type (e.g. "abc" for an int). */
json_t *hy_spec_coerce_query(const hy_field_t *field, const char *text);

/* Sets obj[field + "_jalali"] to the Jalali form of the ISO date obj[field] (removes it when
 * the field is absent or not a date): stored records and events carry both forms, as the API
 * shows them. */
void hy_spec_set_jalali(json_t *obj, const char *field);

/* The GET op of ops that reads the resource a write op's path names: the same path, else the
 * path with its last segments dropped while it still has a {parameter} (POST
 * /v1/loans/{id}/approve -> GET /v1/loans/{id}). NULL when there is none. Its answer's hash is
 * the resource's ETag, which If-Match is checked against (shared/service_etag.c). */
const hy_op_spec_t *hy_spec_resource(const hy_op_spec_t *ops, const hy_op_spec_t *write);

/* Finds a field by name in a {0}-terminated field array; NULL when absent. */
const hy_field_t *hy_spec_field(const hy_field_t *fields, const char *name);

#endif
