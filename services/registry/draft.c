/*
 * draft.c — a registration drafted on the intake thread, carried to the writer as JSON.
 *
 * persons.create's row names registry_persons_prepare as its prepare (spec.h): while the batch
 * before commits, the skeleton's intake thread checks a POST /v1/persons and drafts it
 * (registry_person_draft: the national ID's form, every field's rules, the referral, the
 * name-index keys), so that the writer only looks up, numbers, puts and emits. The draft
 * crosses as one JSON object the request owns:
 *
 *   {"today", "nid", "fields", "ref", "keys": [binary strings], "dup": index or -1,
 *    "error"?, "status"?, "stage"?}
 *
 * A draft that cannot be read back (or none: the intake thread off, a parked request) is made
 * again by the writer, so the answer never depends on where the draft was made.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

/* The draft as JSON, or NULL (no memory, or a keyset the set could not hold). */
static json_t *s_to_json(const registry_draft_t *d)
{
    if (d->keys.full)
        return NULL;
    json_t *keys = json_array();
    for (int i = 0; i < d->keys.count; i++)
        json_array_append_new(keys, json_stringn_nocheck(d->keys.buf + d->keys.off[i],
                                                         d->keys.len[i]));
    json_t *j = json_pack("{s:s, s:s, s:O?, s:O?, s:o, s:i}", "today", d->today, "nid", d->nid,
                          "fields", d->fields, "ref", d->ref, "keys", keys, "dup", d->keys.dup);
    if (j && d->error)
        json_object_set_new(j, "refused", json_pack("{s:O, s:i, s:i}", "error", d->error,
                                                     "status", d->status, "stage", d->stage));
    return j;
}

json_t *registry_persons_prepare(const hy_request_t *req, const hy_prepare_env_t *env)
{
    const char *today = env->today;
    registry_draft_t *d = malloc(sizeof *d);
    if (!d)
        return NULL;
    hy_ctx_t scratch = {.req = req};
    snprintf(scratch.today, sizeof scratch.today, "%s", today);
    registry_person_draft(&scratch, req->args, d);
    json_decref(scratch.error);
    json_t *j = s_to_json(d);
    registry_draft_clear(d);
    free(d);
    return j;
}

int registry_draft_from_json(const json_t *j, registry_draft_t *d)
{
    registry_draft_init(d);
    const char *today = json_string_value(json_object_get(j, "today"));
    const char *nid = json_string_value(json_object_get(j, "nid"));
    json_t *keys = json_object_get(j, "keys"), *refused = json_object_get(j, "refused");
    if (!today || strlen(today) != 10 || !nid || strlen(nid) >= sizeof d->nid ||
        !json_is_array(keys))
        return -1;
    memcpy(d->today, today, sizeof d->today);
    memcpy(d->nid, nid, strlen(nid) + 1);
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        if (registry_keyset_add(&d->keys, json_string_value(k), json_string_length(k)) < 0)
            return -1;
    }
    d->keys.dup = (int)json_integer_value(json_object_get(j, "dup"));
    if (d->keys.dup >= d->keys.count)
        return -1;
    json_t *fields = json_object_get(j, "fields"), *ref = json_object_get(j, "ref");
    d->fields = json_is_object(fields) ? json_incref(fields) : NULL;
    d->ref = json_is_object(ref) ? json_incref(ref) : NULL;
    if (json_is_object(json_object_get(refused, "error"))) {
        d->error = json_incref(json_object_get(refused, "error"));
        d->status = (int)json_integer_value(json_object_get(refused, "status"));
        d->stage = (int)json_integer_value(json_object_get(refused, "stage"));
    }
    d->made = d->error || (d->fields && d->ref);
    if (!d->made)
        registry_draft_clear(d);
    return d->made ? 0 : -1;
}
