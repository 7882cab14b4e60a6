/*
 * import_prep.c — an import's rows read, parsed and checked ahead of the writer, on a thread.
 *
 * What a row needs before it touches the store depends on the row and the import alone: its
 * stored JSON parsed, its input turned into persons.create arguments (digits, Jalali dates,
 * yes/no words: import_args.c), the same argument spec as POST /v1/persons, the national ID's
 * check digit. None of it needs the writer, so the step (import_apply.c) does not do it: it
 * copies the stored text of the next CHUNK rows (one cursor pass, into one buffer) and hands
 * them to a thread, which prepares them while the writer applies the chunk before. The writer
 * then only looks up, puts and commits.
 *
 * Two chunks, double-buffered: the one the writer takes rows from, and the next one, being
 * prepared (a thread per chunk, hy-import-prep). A chunk is known by its import and row
 * numbers. The writer never waits for the thread: when the next chunk is not finished yet (a
 * busy machine), it prepares the next few rows itself and skips them in the chunk once it is;
 * a step that finds no chunk holding its first row not yet done (the registry's first step, a
 * step rolled back, another import) prepares a chunk itself. So what a row ends as never
 * depends on the thread, only where and when it is computed. Nothing here is durable; a registry killed
 * mid-import prepares again from the rows its last commit left undone.
 */
#define _GNU_SOURCE   /* pthread_setname_np: the thread shows in top and in the bench */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fa.h"
#include "registry.h"
#include "registry_import.h"

#define CHUNK REGISTRY_PREP_CHUNK
#define WAIT_US 4000   /* how long the writer waits for a chunk the thread is finishing */

typedef struct {
    uint64_t imp;                 /* import number (0: empty) */
    uint64_t first;               /* row number of rows[0] */
    size_t n, at;                 /* rows held; the next one to hand to the writer */
    registry_prow_t rows[CHUNK];
    size_t off[CHUNK];            /* each row's text in buf */
    registry_buf_t buf;           /* the rows' stored texts, one after another */
    char *agency, *date, *office; /* the import's, for the arguments */
    char *imp_id, *key_id;        /* the import's id and the key that sent it, for the drafts */
    char today[11];               /* the writer's day when the chunk was filled */
    const hy_op_spec_t *spec;
    bool prepared, running;
    atomic_bool finished;         /* set by the thread when it is done with the chunk */
    json_t *garbage[5 * CHUNK];   /* rows applied, their arguments and drafts, freed by the chunk's */
    size_t ngarbage;              /* next preparation: on the thread, not on the writer */
    pthread_t thread;
} s_chunk_t;

struct registry_prep {
    s_chunk_t c[2];
    int cur;
};

void registry_import_invalid(json_t *row, const char *code, const char *field, const char *detail)
{
    json_object_set_new(row, "outcome", json_string("invalid"));
    json_object_set_new(row, "code", json_string(code));
    json_object_set_new(row, "field", field ? json_string(field) : json_null());
    if (detail)
        json_object_set_new(row, "detail", json_string(detail));
}

/* The checks a row passes before it touches anything: the same argument spec as POST
 * /v1/persons, then the national ID. r->args are its arguments when they were read straight
 * from its text, else r->row is the row decoded. Sets r->ready when the row is to be applied;
 * otherwise its outcome (invalid) is written into r->row. */
static void s_prepare_row(const s_chunk_t *c, registry_prow_t *r)
{
    json_t *error = json_object_get(r->row, "error");
    r->ready = false;
    if (error) {
        registry_import_invalid(r->row, json_string_value(json_object_get(error, "code")), NULL,
                                "the line is not a JSON object");
        return;
    }
    if (!r->args)
        r->args = registry_import_args(json_object_get(r->row, "in"), c->agency, c->date,
                                       c->office);
    hy_spec_error_t serr;
    if (hy_spec_check(c->spec, r->args, &serr) != 0) {
        char *dot = strstr(serr.field, "_jalali");
        if (dot)
            *dot = '\0';
        registry_import_invalid(r->row, serr.code, serr.field[0] ? serr.field : NULL,
                                serr.detail);
        return;
    }
    int nrc = hy_national_id_normalize(json_string_value(json_object_get(r->args, "national_id")),
                                       r->nid);
    if (nrc != 0) {
        registry_import_invalid(r->row, "invalid_national_id", "national_id",
                                nrc == HY_NID_FORMAT ? "a national ID has 10 digits"
                                                     : "check digit does not match");
        return;
    }
    /* persons.create worked out here, as the key that sent the import, against the writer's
     * day; the writer then looks up, numbers and puts (persons.c, s_create_drafted) */
    json_object_set_new(r->args, "import_id", json_string(c->imp_id));
    hy_request_t req = {.op = "imports.apply", .id = c->imp_id, .actor = {.key_id = c->key_id}};
    hy_ctx_t scratch = {.req = &req};
    memcpy(scratch.today, c->today, sizeof scratch.today);
    registry_person_draft(&scratch, r->args, &r->draft);
    json_decref(scratch.error);
    r->ready = true;
}

/* Parses and checks every row of the chunk (on the thread, or on the writer). A row in the
 * plain form the parse writes is read straight into its arguments, and its row (which only
 * gets the outcome) starts empty; any other is decoded. A row whose text is not JSON leaves
 * row NULL: the writer's step fails as on a corrupted store. */
static void s_free_garbage(s_chunk_t *c)
{
    for (size_t i = 0; i < c->ngarbage; i++)
        json_decref(c->garbage[i]);
    c->ngarbage = 0;
}

static void *s_prepare_chunk(void *user)
{
    s_chunk_t *c = user;
    s_free_garbage(c);
    for (size_t i = 0; i < c->n; i++) {
        registry_prow_t *r = &c->rows[i];
        r->text = c->buf.p + c->off[i];
        r->args = registry_import_args_text(r->text, r->len, c->agency, c->date, c->office);
        r->row = r->args ? json_object() : json_loadb(r->text, r->len, 0, NULL);
        if (r->row)
            s_prepare_row(c, r);
    }
    atomic_store(&c->finished, true);
    return NULL;
}

/* Joins c's thread if it ends within us microseconds: 0, or ETIMEDOUT (still running). */
static int s_join_within(s_chunk_t *c, long us)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (us % 1000000) * 1000;
    until.tv_sec += us / 1000000 + until.tv_nsec / 1000000000;
    until.tv_nsec %= 1000000000;
    int rc = pthread_timedjoin_np(c->thread, NULL, &until);
    if (rc == 0) {
        c->running = false;
        c->prepared = true;
    }
    return rc;
}

static void s_wait(s_chunk_t *c)
{
    if (c->running) {
        pthread_join(c->thread, NULL);
        c->running = false;
        c->prepared = true;
    }
    if (c->n && !c->prepared)   /* the thread could not be started: prepared here */
        s_prepare_chunk(c);
    c->prepared = c->n > 0;
}

static void s_clear(s_chunk_t *c)
{
    s_wait(c);
    for (size_t i = 0; i < c->n; i++) {
        json_decref(c->rows[i].row);
        json_decref(c->rows[i].args);
        registry_draft_clear(&c->rows[i].draft);
    }
    free(c->agency);
    free(c->date);
    free(c->office);
    free(c->imp_id);
    free(c->key_id);
    c->agency = c->date = c->office = c->imp_id = c->key_id = NULL;
    c->buf.len = 0;
    c->imp = c->first = 0;
    c->n = c->at = 0;
    c->prepared = false;
    for (size_t i = 0; i < CHUNK; i++) {   /* not the drafts' key buffers: 9 KB a row */
        registry_prow_t *r = &c->rows[i];
        r->row = r->args = NULL;
        r->text = NULL;
        r->len = 0;
        r->nid[0] = '\0';
        r->ready = false;
        registry_draft_init(&r->draft);
    }
}

static char *s_dup(const json_t *imp, const char *key)
{
    const char *s = json_string_value(json_object_get(imp, key));
    return strdup(s ? s : "");
}

/* Copies the stored texts of rows first.. (at most limit, not past total) into c, with one
 * cursor. 0 or an LMDB error (or ENOMEM). */
static int s_fill(hy_ctx_t *ctx, s_chunk_t *c, uint64_t n, const json_t *imp, uint64_t first,
                  uint64_t total, size_t limit)
{
    registry_t *st = registry_state(ctx);
    MDB_cursor *cur = NULL;
    uint8_t key[16];
    hy_key_u64(n, key);
    hy_key_u64(first, key + 8);
    MDB_val k = {sizeof key, key}, v;
    c->imp = n;
    c->first = first;
    c->agency = s_dup(imp, "agency_name");
    c->date = s_dup(imp, "date");
    c->office = s_dup(imp, "office");
    c->imp_id = s_dup(imp, "id");
    c->key_id = s_dup(json_object_get(imp, "actor"), "key_id");
    memcpy(c->today, ctx->today, sizeof c->today);
    c->spec = hy_spec_find(registry_api.ops, "persons.create");
    if (!c->agency || !c->date || !c->office || !c->imp_id || !c->key_id)
        return ENOMEM;
    int rc = mdb_cursor_open(ctx->txn, st->import_rows, &cur);
    if (rc == 0)
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
    while (rc == 0 && c->n < limit && c->n < CHUNK && first + c->n <= total) {
        c->off[c->n] = c->buf.len;
        c->rows[c->n].len = v.mv_size;
        if (registry_buf_add(&c->buf, v.mv_data, v.mv_size) != 0) {
            rc = ENOMEM;
            break;
        }
        c->n++;
        if (first + c->n <= total)
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (cur)
        mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND && c->n > 0)
        rc = 0;
    return rc;
}

void registry_prep_free(struct registry_prep *p)
{
    if (!p)
        return;
    for (int i = 0; i < 2; i++) {
        s_clear(&p->c[i]);
        s_free_garbage(&p->c[i]);
        free(p->c[i].buf.p);
    }
    free(p);
}

void registry_prep_reset(struct registry_prep *p)
{
    if (p) {
        s_clear(&p->c[0]);
        s_clear(&p->c[1]);
    }
}

/* true when c holds row from of import n (prepared or being prepared). */
static bool s_covers(const s_chunk_t *c, uint64_t n, uint64_t from)
{
    return c->n > 0 && c->imp == n && c->first <= from && from < c->first + c->n;
}

/* Hands row i's JSON to the chunk's garbage, freed by its next preparation (on the thread). */
static void s_discard(s_chunk_t *c, size_t i)
{
    registry_prow_t *r = &c->rows[i];
    registry_draft_t *d = &r->draft;
    json_t *all[] = {r->row, r->args, d->fields, d->ref, d->error};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        c->garbage[c->ngarbage++] = all[k];
    r->row = r->args = d->fields = d->ref = d->error = NULL;
    d->made = false;
}

/* Moves c's next row to from, dropping the rows before it (applied from another chunk). */
static void s_skip_to(s_chunk_t *c, uint64_t from)
{
    for (; c->at < from - c->first; c->at++)
        s_discard(c, c->at);
}

int registry_prep_take(hy_ctx_t *ctx, uint64_t n, const json_t *imp, uint64_t from,
                       uint64_t total, size_t max, registry_prow_t **rows, size_t *count)
{
    registry_t *st = registry_state(ctx);
    if (!st->prep && !(st->prep = calloc(1, sizeof *st->prep)))
        return ENOMEM;
    struct registry_prep *p = st->prep;
    s_chunk_t *c = &p->c[p->cur], *o = &p->c[1 - p->cur];
    int rc;
    if (!s_covers(c, n, from) || c->at > from - c->first) {
        s_clear(c);
        bool busy = o->running && !atomic_load(&o->finished);
        if (busy && s_covers(o, n, from) && s_join_within(o, WAIT_US) == 0)
            busy = false;
        if (s_covers(o, n, from) && !busy) {   /* the next chunk, prepared on the thread */
            p->cur = 1 - p->cur;
            c = o;
            o = &p->c[1 - p->cur];
        } else {
            /* the thread has not finished it (a busy machine): the writer does not wait for
             * it, it prepares the next few rows itself; otherwise (first step, a step rolled
             * back) a whole chunk here */
            if (!s_covers(o, n, from))
                s_clear(o);
            size_t limit = s_covers(o, n, from) ? max : CHUNK;
            if ((rc = s_fill(ctx, c, n, imp, from, total, limit)) != 0) {
                s_clear(c);
                return rc;
            }
        }
    }
    s_wait(c);
    s_skip_to(c, from);
    uint64_t next = c->first + c->n;
    if (o->n == 0 && !o->running && next <= total) {   /* the chunk after it, on the thread */
        if ((rc = s_fill(ctx, o, n, imp, next, total, CHUNK)) != 0) {
            s_clear(o);
            return rc;
        }
        o->prepared = false;   /* when the thread cannot start, s_wait prepares it */
        atomic_store(&o->finished, false);
        o->running = pthread_create(&o->thread, NULL, s_prepare_chunk, o) == 0;
        if (o->running)
            pthread_setname_np(o->thread, "hy-import-prep");
    }
    size_t k = c->n - c->at < max ? c->n - c->at : max;
    for (size_t i = 0; i < k; i++)
        if (!c->rows[c->at + i].row)
            return MDB_CORRUPTED;
    *rows = &c->rows[c->at];
    *count = k;
    return 0;
}

void registry_prep_done(struct registry_prep *p, size_t k)
{
    if (!p)
        return;
    s_chunk_t *c = &p->c[p->cur];
    for (size_t i = c->at; i < c->at + k && i < c->n; i++)
        s_discard(c, i);
    c->at += k;
    if (c->at >= c->n)   /* the next take moves to the other chunk (or waits for none) */
        s_clear(c);
}

void registry_close(void *state)
{
    registry_t *st = state;
    if (st) {
        registry_prep_free(st->prep);
        registry_names_close(st);
        free(st->office_seen_text);
        json_decref(st->office_seen);
    }
    free(st);
}
