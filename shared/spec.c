/*
 * spec.c — checks a request's arguments against its op spec, once, before any handler runs.
 *
 * Handlers can then trust the shape of what they get: every member known, of the right JSON
 * type, in range, dates real and Gregorian. What is left for a handler is the domain: does this
 * person exist, is this loan over the cap.
 */
#include "spec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "proto.h"

#define DEFAULT_STRING_MAX 1000
#define DEFAULT_ARRAY_MAX 10000
#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX 500

int hy_spec_check_handlers(const hy_op_spec_t *table, char *err, size_t n)
{
    for (const hy_op_spec_t *op = table; op && (op->op || hy_spec_runs(op)); op++) {
        if (!op->op || !hy_spec_runs(op)) {
            snprintf(err, n, "op table row %d (%s) has no %s", (int)(op - table),
                     op->op ? op->op : "?", op->op ? "handler" : "name");
            return -1;
        }
        if (op->handler && op->call.kind != HY_CALL_NONE) {
            snprintf(err, n, "op %s names both a handler and a call", op->op);
            return -1;
        }
        for (const hy_op_spec_t *o = table; o < op; o++) {
            if (strcmp(o->op, op->op) == 0) {
                snprintf(err, n, "op %s is in the op table twice", op->op);
                return -1;
            }
            if ((op->handler && o->handler == op->handler) || hy_call_same(&o->call, &op->call)) {
                snprintf(err, n, "ops %s and %s name the same handler", o->op, op->op);
                return -1;
            }
        }
    }
    return 0;
}

const hy_op_spec_t *hy_spec_find(const hy_op_spec_t *table, const char *op)
{
    for (; table && table->op; table++)
        if (strcmp(table->op, op) == 0)
            return table;
    return NULL;
}

const hy_field_t *hy_spec_field(const hy_field_t *fields, const char *name)
{
    for (; fields && fields->name; fields++)
        if (strcmp(fields->name, name) == 0)
            return fields;
    return NULL;
}

int hy_spec_fail(hy_spec_error_t *err, int status, const char *code, const char *field,
                 const char *fmt, ...)
{
    err->status = status;
    snprintf(err->code, sizeof err->code, "%s", code);
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof err->detail, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *s_type_name(hy_type_t t)
{
    switch (t) {
    case HY_T_STRING: case HY_T_ID: case HY_T_ENUM: return "a string";
    case HY_T_INT: case HY_T_MONEY: return "an integer";
    case HY_T_BOOL: return "true or false";
    case HY_T_DATE: return "a date YYYY-MM-DD";
    case HY_T_OBJECT: return "an object";
    case HY_T_ARRAY: return "an array";
    default: return "a value";
    }
}

/* true when word is one of the '|'-separated names in list. */
static bool s_enum_has(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && memcmp(p, word, n) == 0)
            return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

/* Trims ASCII white space at both ends; returns a new string json or NULL if unchanged. */
static json_t *s_trimmed(const char *s)
{
    size_t len = strlen(s), a = 0, b = len;
    while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\n' || s[a] == '\r'))
        a++;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\n' || s[b - 1] == '\r'))
        b--;
    if (a == 0 && b == len)
        return NULL;
    return json_stringn(s + a, b - a);
}

static int s_check_fields(const hy_field_t *fields, json_t *obj, const char *prefix,
                          const hy_op_spec_t *op, hy_spec_error_t *err);

/* Checks one value against its field; may replace it in parent (trim) via *replace. */
static int s_check_value(const hy_field_t *f, hy_type_t type, json_t *v, const char *path,
                         json_t **replace, hy_spec_error_t *err)
{
    if (json_is_null(v)) {
        if (f->flags & HY_F_NULL)
            return 0;
        return hy_spec_fail(err, 400, "invalid_field", path, "%s must be %s, not null", path,
                      s_type_name(type));
    }
    switch (type) {
    case HY_T_STRING:
    case HY_T_ID:
    case HY_T_ENUM:
    case HY_T_DATE: {
        if (!json_is_string(v))
            return hy_spec_fail(err, 400, "invalid_field", path, "%s must be %s", path, s_type_name(type));
        const char *s = json_string_value(v);
        json_t *t = s_trimmed(s);
        if (t) {
            *replace = t;
            s = json_string_value(t);
        }
        size_t len = strlen(s);
        if (type == HY_T_STRING) {
            /* Characters (code points), as JSON Schema's maxLength counts them: a Persian name
             * of 60 letters is 60, not 110. The bytes are bounded apart (HY_SPEC_STRING_BYTES). */
            int max = f->max_len ? f->max_len : DEFAULT_STRING_MAX;
            size_t chars = 0;
            for (size_t i = 0; i < len; i++)
                chars += ((unsigned char)s[i] & 0xC0) != 0x80;
            if (chars > (size_t)max)
                return hy_spec_fail(err, 400, "invalid_field", path, "%s is longer than %d characters",
                              path, max);
            if (len > HY_SPEC_STRING_BYTES(max))
                return hy_spec_fail(err, 400, "invalid_field", path, "%s is longer than %zu bytes",
                              path, (size_t)HY_SPEC_STRING_BYTES(max));
            if (len == 0 && (f->flags & HY_F_REQ))
                return hy_spec_fail(err, 400, "missing_field", path, "%s must not be empty", path);
        } else if (type == HY_T_ID) {
            if (len == 0 || len > 64)
                return hy_spec_fail(err, 400, "invalid_field", path, "%s is not an id", path);
            for (size_t i = 0; i < len; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
                    return hy_spec_fail(err, 400, "invalid_field", path, "%s is not an id", path);
        } else if (type == HY_T_ENUM) {
            if (!s_enum_has(f->enums, s))
                return hy_spec_fail(err, 400, "invalid_field", path, "%s must be one of %s", path, f->enums);
        } else {
            int y, m, d;
            if (hy_date_parse_iso(s, &y, &m, &d) != 0)
                return hy_spec_fail(err, 422, "invalid_date", path, "%s is not a real date YYYY-MM-DD", path);
            char canon[16];
            snprintf(canon, sizeof canon, "%04d-%02d-%02d", y, m, d);
            if (strcmp(canon, s) != 0) {
                if (*replace)
                    json_decref(*replace);
                *replace = json_string(canon);
            }
        }
        return 0;
    }
    case HY_T_INT:
    case HY_T_MONEY: {
        if (!json_is_integer(v))
            return hy_spec_fail(err, 400, "invalid_field", path, "%s must be an integer", path);
        json_int_t n = json_integer_value(v);
        int64_t lo = f->min, hi = f->max;
        if (!(lo < hi)) {
            lo = type == HY_T_MONEY ? 0 : INT64_MIN;
            hi = INT64_MAX;
        }
        if (n < lo || n > hi)
            return hy_spec_fail(err, 400, "invalid_field", path, "%s must be between %lld and %lld", path,
                          (long long)lo, (long long)hi);
        return 0;
    }
    case HY_T_BOOL:
        if (!json_is_boolean(v))
            return hy_spec_fail(err, 400, "invalid_field", path, "%s must be true or false", path);
        return 0;
    case HY_T_OBJECT:
        if (!json_is_object(v))
            return hy_spec_fail(err, 400, "invalid_field", path, "%s must be an object", path);
        return s_check_fields(f->sub, v, path, NULL, err);
    case HY_T_ARRAY: {
        if (!json_is_array(v))
            return hy_spec_fail(err, 400, "invalid_field", path, "%s must be an array", path);
        int max = f->max_len ? f->max_len : DEFAULT_ARRAY_MAX;
        if (json_array_size(v) > (size_t)max)
            return hy_spec_fail(err, 400, "invalid_field", path, "%s has more than %d items", path, max);
        hy_field_t elem = *f;
        elem.type = f->elem;
        elem.flags = HY_F_REQ;
        elem.max_len = 0;   /* the array's max_len counts items, not the bytes of each */
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
            char sub[160];
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            json_t *rep = NULL;
            int rc = s_check_value(&elem, f->elem, item, sub, &rep, err);
            if (rep) {
                if (json_array_set_new(v, i, rep) != 0)
                    return hy_spec_fail(err, 400, "invalid_field", sub, "cannot store %s", sub);
            }
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    case HY_T_ANY:
        return 0;
    }
    return hy_spec_fail(err, 400, "invalid_field", path, "%s has an unsupported type", path);
}

/* true when name is a {param} of the op's path. */
static bool s_is_path_param(const hy_op_spec_t *op, const char *name)
{
    if (!op || !op->path)
        return false;
    size_t n = strlen(name);
    for (const char *p = strchr(op->path, '{'); p; p = strchr(p + 1, '{')) {
        const char *end = strchr(p, '}');
        if (end && (size_t)(end - p - 1) == n && memcmp(p + 1, name, n) == 0)
            return true;
    }
    return false;
}

/* Folds X_jalali into X for a date field; both present must agree. */
static int s_fold_jalali(const hy_field_t *f, json_t *obj, const char *key, const char *path,
                         hy_spec_error_t *err)
{
    json_t *jv = json_object_get(obj, key);
    if (json_is_null(jv) && (f->flags & HY_F_NULL))
        return json_object_set_new(obj, f->name, json_null()) == 0 ? 0 : -1;
    if (!json_is_string(jv))
        return hy_spec_fail(err, 400, "invalid_field", path, "%s must be a Jalali date YYYY/MM/DD", path);
    char iso[11];
    if (hy_date_jalali_to_iso(json_string_value(jv), iso) != 0)
        return hy_spec_fail(err, 422, "invalid_date", path, "%s is not a real Jalali date (years %d-%d)",
                      path, HY_JALALI_MIN_YEAR, HY_JALALI_MAX_YEAR);
    json_t *g = json_object_get(obj, f->name);
    if (json_is_null(g))
        g = NULL;   /* {"X": null, "X_jalali": "..."}: the Jalali form is the one given */
    if (g && !(json_is_string(g) && strcmp(json_string_value(g), iso) == 0))
        return hy_spec_fail(err, 422, "invalid_date", path, "%s and %s disagree", path, f->name);
    if (json_object_set_new(obj, f->name, json_string(iso)) != 0)
        return -1;
    return 0;
}

/* "prefix.key" (or key) into path, cut to fit: what snprintf did, without its cost per member. */
static void s_join(char *path, size_t n, const char *prefix, const char *key)
{
    size_t at = 0, pl = prefix ? strlen(prefix) : 0, kl = strlen(key);
    if (pl) {
        pl = pl < n - 1 ? pl : n - 1;
        memcpy(path, prefix, pl);
        at = pl;
        if (at < n - 1)
            path[at++] = '.';
    }
    kl = kl < n - 1 - at ? kl : n - 1 - at;
    memcpy(path + at, key, kl);
    path[at + kl] = '\0';
}

static int s_check_fields(const hy_field_t *fields, json_t *obj, const char *prefix,
                          const hy_op_spec_t *op, hy_spec_error_t *err)
{
    char path[160];
    const char *key;
    json_t *v;
    void *tmp;
    /* First pass: unknown members, and X_jalali folded into X. */
    json_object_foreach_safe(obj, tmp, key, v) {
        if (hy_spec_field(fields, key))
            continue;
        s_join(path, sizeof path, prefix, key);
        if (op && op->list && (strcmp(key, "limit") == 0 || strcmp(key, "cursor") == 0))
            continue;
        if (op && s_is_path_param(op, key)) {
            if (!json_is_string(v))
                return hy_spec_fail(err, 400, "invalid_field", path, "%s must be a string", path);
            continue;
        }
        size_t kl = strlen(key);
        if (kl > 7 && strcmp(key + kl - 7, "_jalali") == 0) {
            char base[128];
            snprintf(base, sizeof base, "%.*s", (int)(kl - 7), key);
            const hy_field_t *f = hy_spec_field(fields, base);
            if (f && f->type == HY_T_DATE) {
                if (s_fold_jalali(f, obj, key, path, err) != 0)
                    return -1;
                if (json_object_del(obj, key) != 0)
                    return -1;
                continue;
            }
        }
        return hy_spec_fail(err, 400, "unknown_field", path, "%s is not a field of this request", path);
    }
    /* Second pass: every declared field. */
    for (const hy_field_t *f = fields; f && f->name; f++) {
        s_join(path, sizeof path, prefix, f->name);
        v = json_object_get(obj, f->name);
        if (!v) {
            if (f->flags & HY_F_REQ)
                return hy_spec_fail(err, 400, "missing_field", path, "%s is required", path);
            continue;
        }
        json_t *rep = NULL;
        int rc = s_check_value(f, f->type, v, path, &rep, err);
        if (rep && json_object_set_new(obj, f->name, rep) != 0)
            return hy_spec_fail(err, 400, "invalid_field", path, "cannot store %s", path);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int hy_spec_check(const hy_op_spec_t *op, json_t *args, hy_spec_error_t *err)
{
    memset(err, 0, sizeof *err);
    if (!json_is_object(args))
        return hy_spec_fail(err, 400, "invalid_body", NULL, "the request body must be a JSON object");
    if (s_check_fields(op->args, args, NULL, op, err) != 0)
        return -1;
    if (op->list) {
        json_t *limit = json_object_get(args, "limit");
        if (!limit) {
            if (json_object_set_new(args, "limit", json_integer(LIST_LIMIT_DEFAULT)) != 0)
                return hy_spec_fail(err, 400, "invalid_field", "limit", "cannot set limit");
        } else if (!json_is_integer(limit) || json_integer_value(limit) < 1 ||
                   json_integer_value(limit) > LIST_LIMIT_MAX) {
            return hy_spec_fail(err, 400, "invalid_field", "limit", "limit must be between 1 and %d",
                          LIST_LIMIT_MAX);
        }
        json_t *cursor = json_object_get(args, "cursor");
        if (cursor && !json_is_string(cursor) && !json_is_null(cursor))
            return hy_spec_fail(err, 400, "invalid_field", "cursor", "cursor must be a string");
    }
    return 0;
}

json_t *hy_spec_coerce_query(const hy_field_t *field, const char *text)
{
    if (!text)
        return NULL;
    switch (field->type) {
    case HY_T_INT:
    case HY_T_MONEY: {
        if (!*text)
            return NULL;
        char *end;
        errno = 0;
        long long n = strtoll(text, &end, 10);
        if (errno || *end)
            return NULL;
        return json_integer(n);
    }
    case HY_T_BOOL:
        if (strcmp(text, "true") == 0)
            return json_true();
        if (strcmp(text, "false") == 0)
            return json_false();
        return NULL;
    case HY_T_OBJECT:
    case HY_T_ARRAY:
        return NULL;
    default:
        return json_string(text);
    }
}

void hy_spec_set_jalali(json_t *obj, const char *field)
{
    char key[160], jal[11];
    snprintf(key, sizeof key, "%s_jalali", field);
    const char *iso = json_string_value(json_object_get(obj, field));
    if (iso && hy_date_iso_to_jalali(iso, jal) == 0)
        json_object_set_new(obj, key, json_string(jal));
    else
        json_object_del(obj, key);
}

const hy_op_spec_t *hy_spec_resource(const hy_op_spec_t *ops, const hy_op_spec_t *write)
{
    if (!write->path || !strchr(write->path, '{') || hy_spec_read_only(write))
        return NULL;
    char path[256];
    if (snprintf(path, sizeof path, "%s", write->path) >= (int)sizeof path)
        return NULL;
    while (strchr(path, '{')) {
        for (const hy_op_spec_t *op = ops; op && op->op; op++)
            if (op->method && strcmp(op->method, "GET") == 0 && op->path &&
                strcmp(op->path, path) == 0)
                return op;
        char *slash = strrchr(path, '/');
        if (!slash || slash == path)
            break;
        *slash = '\0';
    }
    return NULL;
}
