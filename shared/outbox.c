/*
 * outbox.c — the transactional outbox, events.since, and the audit trail built on it.
 *
 * An event is a row of the outbox database, keyed by its sequence number, written in the same
 * write transaction as the state change it describes. The sequence is the outbox's last key
 * plus one, read in that transaction, so it is gapless by construction: a rolled-back request
 * takes its number back with it. Publishing on PUB happens after the commit and is only a
 * notification; the outbox is the truth, served by events.since to anyone who missed a message.
 *
 * The audit trail costs one index row per event: entity id -> sequence, and the actor of each
 * sequence. "Who changed what, when" is then the entity's events with their actors.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "outbox.h"
#include "zlimit.h"
#include "json.h"
#include "log.h"
#include "scope.h"
#include "service_internal.h"

#define SINCE_DEFAULT_LIMIT 1000

void hy_pending_mark(hy_service_t *self, size_t *mark)
{
    *mark = self->npending;
}

void hy_pending_truncate(hy_service_t *self, size_t mark)
{
    while (self->npending > mark) {
        hy_pending_t *p = &self->pending[--self->npending];
        free(p->topic);
        free(p->text);
    }
}

static int s_pending_push(hy_service_t *self, const char *topic, char *text)
{
    if (self->npending == self->cappending) {
        size_t cap = self->cappending ? self->cappending * 2 : 64;
        hy_pending_t *p = realloc(self->pending, cap * sizeof *p);
        if (!p)
            return ENOMEM;
        self->pending = p;
        self->cappending = cap;
    }
    char *t = strdup(topic);
    if (!t)
        return ENOMEM;
    self->pending[self->npending++] = (hy_pending_t){t, text};
    return 0;
}

void hy_pending_publish(hy_service_t *self)
{
    for (size_t i = 0; i < self->npending && self->pub; i++) {
        hy_pending_t *p = &self->pending[i];
        if (zmq_send(self->pub, p->topic, strlen(p->topic), ZMQ_SNDMORE) < 0 ||
            zmq_send(self->pub, p->text, strlen(p->text), 0) < 0)
            hy_log_warn("outbox", "publish failed (subscribers will catch up): %s",
                        zmq_strerror(zmq_errno()));
    }
    hy_pending_truncate(self, 0);
}

uint64_t hy_outbox_last(hy_service_t *self, MDB_txn *txn)
{
    MDB_cursor *cur;
    MDB_val k, v;
    uint64_t last = 0;
    if (mdb_cursor_open(txn, self->db_outbox, &cur) != 0)
        return 0;
    if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0 && k.mv_size == 8)
        last = hy_key_u64_get(k.mv_data);
    mdb_cursor_close(cur);
    return last;
}

/* The actor of an event, {"key_id":..,"role":..,"office":..,"request_id":..}, as the compact
 * text jansson would write, into buf; its length, or 0 when it does not fit. */
static size_t s_actor_text(const hy_request_t *req, char *buf, size_t cap)
{
    const char *names[] = {"{\"key_id\":", ",\"role\":", ",\"office\":", ",\"request_id\":"};
    const char *vals[] = {req ? req->actor.key_id : "", req ? req->actor.role : "",
                          req ? req->actor.office : "", req ? req->id : ""};
    size_t at = 0;
    for (int i = 0; i < 4; i++) {
        size_t nl = strlen(names[i]);
        if (at + nl >= cap)
            return 0;
        memcpy(buf + at, names[i], nl);
        at += nl;
        at += hy_json_quote(buf + at, cap - at, vals[i]);
        if (at >= cap)
            return 0;
    }
    if (at + 2 > cap)
        return 0;
    memcpy(buf + at, "}", 2);
    return at + 1;
}

int hy_emit_text(hy_ctx_t *ctx, const char *type, const char *subject, const char *data,
                 size_t data_len)
{
    hy_service_t *self = ctx->svc;
    int rc = 0;
    uint64_t seq = hy_outbox_last(self, ctx->txn) + 1;
    /* The CloudEvents envelope, written directly as the compact text jansson would give for
     * {"specversion":..,..,"data":<data>} with its members in this order ("data" last): no
     * json_t built and encoded per event. Names and types are ours; the subject is an id. */
    char id[96], qid[200], qtype[300], qsubject[300], qname[200], schema[512], qschema[1100];
    snprintf(id, sizeof id, "%s-%llu", self->def->name, (unsigned long long)seq);
    int sl = snprintf(schema, sizeof schema, "%s%s%s", hy_public_url(), HY_SCHEMA_PATH, type);
    if (sl < 0 || (size_t)sl >= sizeof schema ||
        hy_json_quote(qid, sizeof qid, id) >= sizeof qid ||
        hy_json_quote(qtype, sizeof qtype, type) >= sizeof qtype ||
        hy_json_quote(qsubject, sizeof qsubject, subject) >= sizeof qsubject ||
        hy_json_quote(qname, sizeof qname, self->def->name) >= sizeof qname ||
        hy_json_quote(qschema, sizeof qschema, schema) >= sizeof qschema)
        return EINVAL;
    /* the envelope first, then the text at its size: one event of thousands a step holds
     * until its commit (an import's), so no slack is allocated */
    char head[1600];
    /* qname is "name" with its quotes: the source is "hamyar/name" */
    int hl = snprintf(head, sizeof head,
                      "{\"specversion\":\"1.0\",\"id\":%s,\"source\":\"hamyar/%.*s\",\"type\":%s,"
                      "\"time\":\"%s\",\"subject\":%s,\"sequence\":\"%0*llu\",\"seq\":%llu,"
                      "\"dataschema\":%s,\"datacontenttype\":\"application/json\",\"data\":",
                      qid, (int)strlen(qname) - 2, qname + 1, qtype, ctx->now_iso, qsubject,
                      HY_SEQ_DIGITS, (unsigned long long)seq, (unsigned long long)seq, qschema);
    if (hl < 0 || (size_t)hl >= sizeof head)
        return EINVAL;
    char *text = malloc((size_t)hl + data_len + 2);
    if (!text)
        return ENOMEM;
    memcpy(text, head, (size_t)hl);
    memcpy(text + hl, data, data_len);
    memcpy(text + hl + data_len, "}", 2);
    size_t tlen = (size_t)hl + data_len + 1;
    uint8_t key[8];
    hy_key_u64(seq, key);
    MDB_val k = {8, key}, v = {tlen, text};
    if ((rc = mdb_put(ctx->txn, self->db_outbox, &k, &v, MDB_APPEND)) != 0)
        goto done;
    if ((rc = hy_index_put(ctx->txn, self->db_audit, subject, strlen(subject), seq)) != 0)
        goto done;
    char actor[1200];
    MDB_val av = {s_actor_text(ctx->req, actor, sizeof actor), actor};
    if (av.mv_size == 0) {   /* too long to fit: the encoder's way */
        const hy_request_t *req = ctx->req;
        json_t *a = json_pack("{s:s, s:s, s:s, s:s}", "key_id", req ? req->actor.key_id : "",
                              "role", req ? req->actor.role : "", "office",
                              req ? req->actor.office : "", "request_id", req ? req->id : "");
        rc = a ? hy_store_put_id(ctx->txn, self->db_actors, seq, a) : ENOMEM;
        json_decref(a);
    } else {
        rc = hy_store_put_last(ctx->txn, self->db_actors, &k, &av);   /* seq only grows */
    }
    if (rc != 0)
        goto done;
    if ((rc = s_pending_push(self, type, text)) != 0)
        goto done;
    text = NULL; /* owned by the pending list now */
done:
    free(text);
    return rc;
}

int hy_emit(hy_ctx_t *ctx, const char *type, const char *subject, json_t *data)
{
    size_t len = 2;
    char *text = json_is_object(data) || json_is_array(data) ? hy_json_dump(data, &len)
               : data ? NULL : strdup("{}");
    json_decref(data);
    if (!text)
        return ENOMEM;
    int rc = hy_emit_text(ctx, type, subject, text, len);
    free(text);
    return rc;
}

uint64_t hy_event_seq(const json_t *ev)
{
    json_t *v = json_object_get(ev, "seq");
    if (json_is_integer(v) && json_integer_value(v) > 0)
        return (uint64_t)json_integer_value(v);
    v = json_object_get(ev, "sequence");
    if (json_is_integer(v))
        return json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
    const char *s = json_string_value(v);
    uint64_t n = 0;
    for (int i = 0; s && s[i] >= '0' && s[i] <= '9' && i < HY_SEQ_DIGITS; i++)
        n = n * 10 + (uint64_t)(s[i] - '0');
    return n;
}

static char s_url[400];
static pthread_once_t s_url_once = PTHREAD_ONCE_INIT;

static void s_url_init(void)
{
    const char *env = getenv("HY_PUBLIC_URL");
    int n = snprintf(s_url, sizeof s_url, "%s", env && *env ? env : HY_PUBLIC_URL_DEFAULT);
    size_t len = n > 0 && (size_t)n < sizeof s_url ? (size_t)n : 0;
    s_url[len] = '\0';
    while (len > 0 && s_url[len - 1] == '/')
        s_url[--len] = '\0';
}

const char *hy_public_url(void)
{
    pthread_once(&s_url_once, s_url_init);
    return s_url;
}

/* Appends n bytes to a growing buffer; 0 or ENOMEM. */
static int s_buf_add(char **buf, size_t *len, size_t *cap, const void *data, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 65536;
        while (c < *len + n + 1)
            c *= 2;
        char *b = realloc(*buf, c);
        if (!b)
            return ENOMEM;
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

int hy_events_since(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    hy_service_t *self = ctx->svc;
    json_int_t after = json_integer_value(json_object_get(args, "after"));
    json_t *jl = json_object_get(args, "limit");
    json_int_t limit = jl ? json_integer_value(jl) : SINCE_DEFAULT_LIMIT;
    char *buf = NULL, tail[48];
    size_t len = 0, cap = 0;
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(ctx->txn, self->db_outbox, &cur);
    if (rc != 0 || (rc = s_buf_add(&buf, &len, &cap, "{\"events\":[", 11)) != 0)
        goto fail;
    uint8_t key[8];
    hy_key_u64((uint64_t)after + 1, key);
    MDB_val k = {8, key}, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    /* A page also stops at half the message ceiling (zlimit.h), so a page of large events still
     * crosses every socket; followers read last_seq to know more is waiting. */
    size_t byte_cap = (size_t)(hy_zmq_max_msg() / 2);
    for (json_int_t n = 0; rc == 0 && n < limit && (n == 0 || len + v.mv_size < byte_cap); n++) {
        if ((n && (rc = s_buf_add(&buf, &len, &cap, ",", 1)) != 0) ||
            (rc = s_buf_add(&buf, &len, &cap, v.mv_data, v.mv_size)) != 0)
            goto fail;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        goto fail;
    mdb_cursor_close(cur);
    cur = NULL;
    int tl = snprintf(tail, sizeof tail, "],\"last_seq\":%llu}",
                      (unsigned long long)hy_outbox_last(self, ctx->txn));
    if ((rc = s_buf_add(&buf, &len, &cap, tail, (size_t)tl)) != 0)
        goto fail;
    *result = hy_result_raw(buf, len);
    return *result ? 0 : hy_fail_mdb(ctx, ENOMEM);
fail:
    if (cur)
        mdb_cursor_close(cur);
    free(buf);
    return hy_fail_mdb(ctx, rc ? rc : ENOMEM);
}

typedef struct {
    hy_service_t *svc;
    json_t *items;
} s_audit_page_t;

static int s_audit_visit(MDB_txn *txn, uint64_t seq, void *user)
{
    s_audit_page_t *page = user;
    json_t *actor = NULL, *ev = NULL;
    uint8_t key[8];
    hy_key_u64(seq, key);
    MDB_val k = {8, key}, v;
    int rc = mdb_get(txn, page->svc->db_outbox, &k, &v);
    if (rc != 0)
        return rc;
    ev = json_loadb(v.mv_data, v.mv_size, 0, NULL);
    if (!ev)
        return MDB_CORRUPTED;
    rc = hy_store_get_id(txn, page->svc->db_actors, seq, &actor);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        json_decref(ev);
        return rc;
    }
    json_t *item = json_pack("{s:I, s:O, s:O, s:o, s:O}", "seq", (json_int_t)seq, "type",
                             json_object_get(ev, "type"), "time", json_object_get(ev, "time"),
                             "actor", actor ? actor : json_object(), "data",
                             json_object_get(ev, "data"));
    json_decref(ev);
    if (!item || json_array_append_new(page->items, item) != 0)
        return ENOMEM;
    return 1;
}

/* Offices as boundaries (issue 15): which offices an entity's events name. */
typedef struct {
    hy_service_t *svc;
    const char *mine;   /* the caller's office */
    bool named, mine_named;
} s_audit_scope_t;

/* Notes the offices obj names: office, from_office, to_office (a transfer names both). */
static void s_audit_offices(s_audit_scope_t *sc, const json_t *obj)
{
    static const char *const keys[] = {"office", "from_office", "to_office"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *office = hy_json_str(obj, keys[i]);
        if (office && *office) {
            sc->named = true;
            sc->mine_named = sc->mine_named || hy_scope_same(sc->mine, office);
        }
    }
}

/* hy_store_page visitor: the offices an event's data names, and its members' (before, after,
 * person, business, contribution...). */
static int s_audit_scope_visit(MDB_txn *txn, uint64_t seq, void *user)
{
    s_audit_scope_t *sc = user;
    uint8_t key[8];
    hy_key_u64(seq, key);
    MDB_val k = {8, key}, v;
    int rc = mdb_get(txn, sc->svc->db_outbox, &k, &v);
    if (rc != 0)
        return rc;
    json_t *ev = json_loadb(v.mv_data, v.mv_size, 0, NULL), *data, *member;
    if (!ev)
        return MDB_CORRUPTED;
    const char *name;
    data = json_object_get(ev, "data");
    s_audit_offices(sc, data);
    json_object_foreach(data, name, member)
        if (json_is_object(member))
            s_audit_offices(sc, member);
    json_decref(ev);
    return 0;
}

/* An office key audits the entities of its office: 403 other_office when the entity's events
 * name offices and none is the caller's (a province key '*', an office-less auditor and
 * operators see every entity). Returns 0 or the failure status. */
static int s_audit_allowed(hy_ctx_t *ctx, const char *entity)
{
    s_audit_scope_t sc = {ctx->svc, hy_scope_office(ctx), false, false};
    uint64_t next;
    if (!sc.mine)
        return 0;
    int rc = hy_store_page(ctx->txn, ctx->svc->db_audit, entity, strlen(entity), 0, INT32_MAX,
                           s_audit_scope_visit, &sc, &next);
    if (rc != 0)
        return hy_fail_mdb(ctx, rc);
    if (!sc.named || sc.mine_named)
        return 0;
    return hy_fail(ctx, 403, "other_office", "entity",
                   "this key acts for office %s; %s belongs to another office", sc.mine, entity);
}

int hy_audit_list(hy_ctx_t *ctx, json_t *args, json_t **result)
{
    const char *entity = hy_json_str(args, "entity");
    uint64_t after, next;
    if (hy_cursor_parse(hy_json_str(args, "cursor"), &after) != 0)
        return hy_fail(ctx, 400, "invalid_parameter", "cursor", "cursor is not one this API gave");
    int allowed = s_audit_allowed(ctx, entity);
    if (allowed)
        return allowed;
    s_audit_page_t page = {ctx->svc, json_array()};
    int rc = hy_store_page(ctx->txn, ctx->svc->db_audit, entity, strlen(entity), after,
                           (int)json_integer_value(json_object_get(args, "limit")), s_audit_visit,
                           &page, &next);
    if (rc != 0) {
        json_decref(page.items);
        return hy_fail_mdb(ctx, rc);
    }
    if (json_array_size(page.items) == 0 && after == 0) {
        json_decref(page.items);
        return hy_fail(ctx, 404, "not_found", "entity", "no change was ever recorded for %s", entity);
    }
    char cbuf[32];
    hy_cursor_format(next, cbuf, sizeof cbuf);
    *result = json_pack("{s:o, s:o}", "items", page.items, "next_cursor",
                        next ? json_string(cbuf) : json_null());
    return 0;
}
