/*
 * describe.h — a service's op table as data on the wire: what service.describe answers.
 *
 * Every worker answers the built-in op `service.describe` (roles service, operator) with the
 * description of its api: service name, id prefixes, its ops (route, roles, argument and
 * result fields, list/long-poll/formats flags) and its event types with the fields of their
 * data (hy_event_spec_t), plus a digest of all that.
 * Workers also put the digest in their READY heartbeat, so the gateway learns within a second
 * that a service's description changed and asks for it again: the gateway builds its routes,
 * argument checks and OpenAPI document from what the services announce and links no service
 * code. The description is plain JSON:
 *
 *   {"service":"registry","id_prefixes":"prs,bus","digest":"<16 hex>",
 *    "events":[{"type":"registry.person.registered","summary":"...","data":[fields]}, ...],
 *    "ops":[{"op":"persons.get","method":"GET","path":"/v1/persons/{id}","roles":9,
 *            "ok_status":200,"list":false,"long_poll":false,"formats":null,"summary":"...",
 *            "args":[{"name":"x","type":"string","required":true,"query":false,
 *                     "nullable":false,"enums":null,"min":0,"max":0,"max_len":0,"doc":"...",
 *                     "elem":null,"sub":[...]}], "result":[...]}]}
 *
 * The digest is the first 16 hex digits of the SHA-256 of the compact, key-sorted description
 * without its digest member: equal tables, equal digests, whatever the process.
 */
#ifndef HY_DESCRIBE_H
#define HY_DESCRIBE_H

#include <jansson.h>

#include "spec.h"

#define HY_DIGEST_LEN 16

/* The description of api, digest included. New reference, or NULL on allocation failure. */
json_t *hy_describe_api(const hy_api_t *api);

/* The digest of api's description (HY_DIGEST_LEN hex digits), computed once per api and
 * cached: the string lives as long as the process. "" on allocation failure. Thread-safe. */
const char *hy_describe_digest(const hy_api_t *api);

/* Builds an api from a description. Checks its shape and that its digest matches its
 * content. Returns a new api that the caller frees with hy_describe_free, or NULL with a
 * message in err. */
hy_api_t *hy_describe_parse(const json_t *desc, char *err, size_t err_size);

/* The digest a parsed api came with (its HY_DIGEST_LEN hex digits). */
const char *hy_describe_parsed_digest(const hy_api_t *api);

/* Frees an api made by hy_describe_parse; safe to call twice; sets *api_p to NULL. */
void hy_describe_free(hy_api_t **api_p);

#endif
