/*
 * reply.c — replies as text, and results that are JSON text already.
 *
 * A follower catching up reads pages of thousands of events. The outbox holds each event as
 * compact JSON; decoding every one only to encode it again into the reply doubled the work of
 * a catch-up. A handler may therefore answer with a raw result: text that is already JSON,
 * spliced into the reply as it is. It travels inside the reply object as a marker member, so
 * everything between the handler and the socket keeps passing one json_t around.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "service_internal.h"

#define RAW_KEY "\x01raw"

json_t *hy_result_raw(char *text, size_t len)
{
    json_t *s = json_stringn_nocheck(text, len);
    free(text);
    return s ? json_pack("{s:o}", RAW_KEY, s) : NULL;
}

/* The raw text of a result (a json string), or NULL when the result is plain JSON. */
static json_t *s_raw_of(const json_t *result)
{
    return json_is_object(result) && json_object_size(result) == 1 ? json_object_get(result, RAW_KEY)
                                                                   : NULL;
}

/* The raw text of a reply's result, or NULL when the result is plain JSON. */
static json_t *s_raw(const json_t *reply)
{
    return s_raw_of(json_object_get(reply, "result"));
}

/* The reply's members but "result" as compact JSON text without its closing brace, written
 * directly when they are strings, integers and booleans (id, status, etag, replayed: always,
 * in practice), as jansson would write them. Returns the length, or 0 for anything else (the
 * caller lets jansson write it). */
static size_t s_head(json_t *reply, char *buf, size_t cap)
{
    size_t at = 0;
    const char *key;
    json_t *v;
    buf[at++] = '{';
    json_object_foreach(reply, key, v) {
        if (strcmp(key, "result") == 0)
            continue;
        if (at > 1)
            buf[at++] = ',';
        at += hy_json_quote(buf + at, at < cap ? cap - at : 0, key);
        if (at + 1 >= cap)
            return 0;
        buf[at++] = ':';
        if (json_is_string(v)) {
            at += hy_json_quote(buf + at, cap - at, json_string_value(v));
        } else if (json_is_integer(v)) {
            at += (size_t)snprintf(buf + at, cap - at, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        } else if (json_is_boolean(v)) {
            at += (size_t)snprintf(buf + at, cap - at, "%s", json_is_true(v) ? "true" : "false");
        } else {
            return 0;
        }
        if (at + 1 >= cap)
            return 0;
    }
    return at;
}

char *hy_reply_dumps(json_t *reply, size_t *len)
{
    json_t *raw = s_raw(reply);
    char *text;
    if (!raw) {
        text = hy_json_dump(reply, len);   /* json_dumps's bytes, in one pass */
        if (!text)
            *len = 0;
        return text;
    }
    char buf[512];
    size_t hl = s_head(reply, buf, sizeof buf);
    char *head = NULL;
    if (hl == 0) {   /* members of other kinds: jansson writes the head */
        json_t *result = json_incref(json_object_get(reply, "result"));
        json_object_del(reply, "result");
        head = json_dumps(reply, JSON_COMPACT);   /* {"id":"...","status":200} */
        json_object_set_new(reply, "result", result);
        if (!head)
            return NULL;
        hl = strlen(head) - 1;                    /* without the closing brace */
    }
    const char *h = head ? head : buf;
    size_t rl = json_string_length(raw);
    text = malloc(hl + rl + 16);
    if (text) {
        size_t at = hl;
        memcpy(text, h, hl);
        if (hl > 1)
            text[at++] = ',';
        memcpy(text + at, "\"result\":", 9);
        at += 9;
        memcpy(text + at, json_string_value(raw), rl);
        memcpy(text + at + rl, "}", 2);
        *len = at + rl + 1;
    }
    free(head);
    return text;
}

const char *hy_result_text(const json_t *result, size_t *len)
{
    json_t *raw = json_is_object(result) && json_object_size(result) == 1
                      ? json_object_get(result, RAW_KEY) : NULL;
    if (!raw)
        return NULL;
    *len = json_string_length(raw);
    return json_string_value(raw);
}

int hy_reply_decode_raw(json_t *reply)
{
    json_t *raw = s_raw(reply);
    if (!raw)
        return 0;
    json_t *result = json_loadb(json_string_value(raw), json_string_length(raw), 0, NULL);
    return result ? json_object_set_new(reply, "result", result) : -1;
}

int hy_result_etag(json_t *result, char out[HY_ETAG_HEX + 1])
{
    /* The text the client gets (a raw result's own text): the same state, the same tag. */
    json_t *raw = json_is_object(result) && json_object_size(result) == 1
                      ? json_object_get(result, RAW_KEY) : NULL;
    size_t tlen = 0;
    char *text = raw ? NULL : hy_json_dump(result ? result : json_null(), &tlen);
    const char *t = raw ? json_string_value(raw) : text;
    size_t len = raw ? json_string_length(raw) : tlen;
    if (!t)
        return -1;
    unsigned char h[HY_ETAG_HEX / 2];
    crypto_generichash(h, sizeof h, (const unsigned char *)t, len, NULL, 0);
    sodium_bin2hex(out, HY_ETAG_HEX + 1, h, sizeof h);
    /* The text is kept rather than thrown away: an object nobody else holds becomes the raw
     * result of that text, which the reply then splices in as it is (hy_reply_dumps), so a
     * tagged GET serialises its result once, not once for the tag and again for the reply. */
    int rc = 0;
    json_t *s = text && json_is_object(result) && result->refcount == 1
                    ? json_stringn_nocheck(text, len) : NULL;
    if (s && json_object_clear(result) != 0) {
        json_decref(s);   /* not cleared: the result stays as it was */
    } else if (s && json_object_set_new(result, RAW_KEY, s) != 0) {
        /* No memory for the marker: the members come back from the text, or the tag fails. */
        json_t *back = json_loadb(text, len, 0, NULL);
        rc = back && json_object_update(result, back) == 0 ? 0 : -1;
        json_decref(back);
    }
    free(text);
    return rc;
}

int hy_result_etag_take(json_t **result, char out[HY_ETAG_HEX + 1])
{
    json_t *r = *result;
    if (!r || r->refcount == 1 || !(json_is_object(r) || json_is_array(r)) || s_raw_of(r))
        return hy_result_etag(r, out);   /* raw already, or only ours: changed in place */
    /* Held elsewhere too (a cached figure, a shared page): left as it is; the reply gets the
     * raw result of the text hashed, so the result is still encoded once. */
    size_t len = 0;
    char *text = hy_json_dump(r, &len);
    if (!text)
        return -1;
    unsigned char h[HY_ETAG_HEX / 2];
    crypto_generichash(h, sizeof h, (const unsigned char *)text, len, NULL, 0);
    sodium_bin2hex(out, HY_ETAG_HEX + 1, h, sizeof h);
    json_t *raw = hy_result_raw(text, len);   /* takes text */
    if (raw) {
        json_decref(r);
        *result = raw;
    }
    return 0;
}
