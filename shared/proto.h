/*
 * proto.h — the request/reply envelope spoken between clients, the broker and services.
 *
 * Every command or query is one JSON document (the request) answered by one JSON document
 * (the reply). The wire framing around them (which socket, which frames) is the broker's
 * business (broker.h, client.h); this file only builds and reads the documents, so that the
 * gateway, the service skeleton, hamyarctl and hamyar-fund-sync agree on one shape.
 * docs/protocol.md is the prose version of this header.
 *
 *   request: {"v":1,"op":"persons.create","id":"<request id>",
 *             "actor":{"key_id":"k1","role":"social_services","office":"rey-1"},
 *             "idem":"<idempotency key, optional>","args":{...}}
 *   reply:   {"id":"<request id>","status":201,"result":{...}}
 *        or  {"id":"<request id>","status":422,
 *             "error":{"code":"over_cap","title":"...","field":"amount_rials","detail":"...", ...extra}}
 */
#ifndef HY_PROTO_H
#define HY_PROTO_H

#include <jansson.h>
#include <stdbool.h>

#define HY_PROTO_VERSION 1

/* Roles are bits so that a handler can allow several. HY_ROLE_SERVICE is a service calling
 * another service (events.since from a subscriber); it never comes from an API key. */
enum {
    HY_ROLE_SOCIAL_SERVICES = 1u << 0,
    HY_ROLE_INSURANCE_FUND  = 1u << 1,
    HY_ROLE_OPERATOR        = 1u << 2,
    HY_ROLE_AUDITOR         = 1u << 3,
    HY_ROLE_SERVICE         = 1u << 4,
    HY_ROLE_MONITORING      = 1u << 5,  /* a scraper: GET /metrics and nothing else */
};
/* Who may read programme records: staff and auditors. Operators run the system; they see
 * health, metrics and feeds, not people's records. */
#define HY_ROLE_READERS (HY_ROLE_SOCIAL_SERVICES | HY_ROLE_AUDITOR)
#define HY_ROLE_ANY    0x3fu

/* Returns the role bit for a name ("social_services"), or 0 for an unknown name. */
unsigned hy_role_parse(const char *name);
/* Returns the static name of one role bit, or "unknown". */
const char *hy_role_name(unsigned role);

typedef struct {
    const char *key_id;   /* which API key (or service) acted */
    const char *role;     /* role name */
    const char *office;   /* office the key acts for; "" when none */
} hy_actor_t;

/* Builds a request. Steals args (may be NULL: an empty object is used). idem may be NULL.
 * Returns a new reference, or NULL on allocation failure. */
json_t *hy_proto_request(const char *op, const char *id, const hy_actor_t *actor,
                         const char *idem, json_t *args);

/* Builds a success reply. Steals result (may be NULL: JSON null). */
json_t *hy_proto_reply_ok(const char *id, int status, json_t *result);

/* Builds an error reply. field may be NULL. detail is a human sentence. The title comes from
 * hy_proto_title(code). Returns a new reference. */
json_t *hy_proto_reply_error(const char *id, int status, const char *code,
                             const char *field, const char *detail);

/* A short human title for a stable error code ("duplicate_national_id" -> "Duplicate national
 * ID"). Unknown codes get a title derived from the code. Returned string is static or owned by
 * an internal table; never free it. */
const char *hy_proto_title(const char *code);

/* Reads the fields of a request in place. Pointers borrow from req and live as long as it.
 * Returns 0, or -1 when the document is not a well-formed request. */
typedef struct hy_request {
    const char *op;
    const char *id;
    const char *idem;      /* NULL when absent */
    const char *if_match;  /* the HTTP If-Match the gateway passed on, NULL when absent */
    hy_actor_t actor;
    json_t *args;          /* borrowed; always an object */
    bool checked;          /* role and arguments already checked (on the intake thread) */
    const json_t *prepared;/* what the op's prepare made on the intake thread (spec.h), or NULL */
} hy_request_t;
int hy_proto_parse_request(json_t *req, hy_request_t *out);

/* Reads a reply: status, and borrowed result or error. Returns 0, or -1 if malformed. */
int hy_proto_parse_reply(json_t *reply, int *status, json_t **result, json_t **error);

#endif
