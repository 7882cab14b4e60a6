/*
 * json.h — the one set of getters for members of decoded JSON (Jansson).
 *
 * Every getter borrows: the object and what it returns belong to the caller's JSON and live as
 * long as it does; nothing is allocated, nothing can fail. A missing member, a member of another
 * type or a NULL object gives the "absent" value named below, so a chain of lookups needs no
 * checks in between (decoded arguments have been checked against the op's spec already).
 */
#ifndef HY_JSON_H
#define HY_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* obj[key] as a string; NULL when absent or not a string. */
const char *hy_json_str(const json_t *obj, const char *key);
/* obj[key] as an integer; dflt when absent or not an integer. */
int64_t hy_json_int(const json_t *obj, const char *key, int64_t dflt);
/* obj[key] is true (false when absent or not a boolean). */
bool hy_json_true(const json_t *obj, const char *key);

/* The value of a top-level string member of an object's JSON text, without decoding the text:
 * 0 with *val pointing into text (not NUL-terminated, *vlen bytes), or -1 when the member is
 * absent, not a string, holds a backslash escape, or the text is not an object as json_dumps
 * writes one (the caller then decodes the text). Nested members of the same name are skipped. */
int hy_json_text_str(const char *text, size_t len, const char *key, const char **val,
                     size_t *vlen);

/* Writes s (UTF-8; NULL as "") as a JSON string literal, quotes included, escaped exactly as
 * jansson's compact encoder escapes it (", \ and control characters; everything else as is),
 * into out (at most cap bytes with the NUL, like snprintf). Returns the length of the whole
 * literal: a result >= cap means out was too small. For writers that build JSON text directly. */
size_t hy_json_quote(char *out, size_t cap, const char *s);

/* The text of json exactly as json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY) writes it with
 * Jansson's insertion order (the order the stored records and events have always had), written
 * in one pass into one growing buffer: strings as runs copied whole, no per-character callback
 * (a person's record takes a third of the time json_dumps takes). A value holding a real is
 * handed to json_dumps itself (its %.17g shortest form is Jansson's to define). Returns the
 * text (free() it) with *len its length, or NULL when out of memory. */
char *hy_json_dump(const json_t *json, size_t *len);

#endif
