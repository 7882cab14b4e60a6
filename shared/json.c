/*
 * json.c — the shared JSON getters (see json.h).
 */
#include "json.h"

const char *hy_json_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

int64_t hy_json_int(const json_t *obj, const char *key, int64_t dflt)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

bool hy_json_true(const json_t *obj, const char *key)
{
    return json_is_true(json_object_get(obj, key));
}
