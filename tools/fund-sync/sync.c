/*
 * sync.c — the sequencer between the feed and the output (the Clone pattern's subscriber).
 *
 * The insurance service is the only sequencer of its events and its sequence has no gaps, so
 * the consumer needs one number: the last sequence handed on. An event is handed on only when
 * its sequence is exactly that plus one. An older one (a PUB message that raced a catch-up, a
 * page fetched twice) is dropped; a newer one means something was missed, and the caller
 * fetches from the cursor. The batch is made durable in the output before the cursor is saved,
 * so the cursor never runs ahead of what the output holds.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fundsync.h"
#include "log.h"
#include "outbox.h"

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 10000

volatile sig_atomic_t fs_stopping;

struct fs_sync {
    fs_state_t *state;
    fs_out_t *out;
    uint64_t cursor;        /* last sequence handed on (maybe not yet saved in the state) */
};

void fs_sleep_ms(int ms)
{
    /* In slices, so that SIGTERM is noticed within 100 ms even if it lands between checks. */
    while (ms > 0 && !fs_stopping) {
        int slice = ms < 100 ? ms : 100;
        struct timespec ts = {0, (long)slice * 1000000L};
        nanosleep(&ts, NULL);
        ms -= slice;
    }
}

void fs_backoff_wait(fs_backoff_t *b)
{
    b->ms = b->ms < BACKOFF_MIN_MS ? BACKOFF_MIN_MS : b->ms * 2;
    if (b->ms > BACKOFF_MAX_MS)
        b->ms = BACKOFF_MAX_MS;
    fs_sleep_ms(b->ms);
}

void fs_backoff_reset(fs_backoff_t *b)
{
    b->ms = 0;
}

fs_sync_t *fs_sync_new(fs_state_t *state, fs_out_t *out)
{
    fs_sync_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->state = state;
    self->out = out;
    uint64_t saved = fs_state_cursor(state), written = fs_out_last_seq(out);
    /* The output file is the truth: it may hold events the state had no time to record. */
    self->cursor = written > saved ? written : saved;
    if (written > saved)
        hy_log_info("sync", "the output already holds events up to %" PRIu64
                    " (state said %" PRIu64 "): resuming after it", written, saved);
    return self;
}

void fs_sync_destroy(fs_sync_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

uint64_t fs_sync_cursor(const fs_sync_t *self)
{
    return self->cursor;
}

/* Makes the handed events durable, then records the cursor. */
static int s_commit(fs_sync_t *self)
{
    if (fs_out_flush(self->out) != FS_OUT_OK || fs_state_save(self->state, self->cursor) != 0)
        return FS_SYNC_FATAL;
    return FS_SYNC_OK;
}

int fs_sync_offer_items(fs_sync_t *self, const hy_since_item_t *items, size_t count, size_t *handed)
{
    size_t n = 0;
    int result = FS_SYNC_OK;
    for (size_t i = 0; i < count; i++) {
        uint64_t seq = items[i].seq;
        if (seq <= self->cursor)
            continue;   /* seen already */
        if (seq != self->cursor + 1) {
            result = FS_SYNC_GAP;
            break;
        }
        int rc = fs_out_write(self->out, items[i].line, items[i].len, seq);
        if (rc != FS_OUT_OK) {
            result = rc == FS_OUT_RETRY ? FS_SYNC_RETRY : FS_SYNC_FATAL;
            break;
        }
        self->cursor = seq;
        n++;
        if (fs_out_per_event(self->out) && s_commit(self) != FS_SYNC_OK) {
            result = FS_SYNC_FATAL;
            break;
        }
        if (fs_stopping) {
            result = FS_SYNC_STOP;   /* finish this event, not the rest of the page */
            break;
        }
    }
    if (result != FS_SYNC_FATAL && s_commit(self) != FS_SYNC_OK)
        result = FS_SYNC_FATAL;
    if (handed)
        *handed = n;
    if (n)
        hy_log_debug("sync", "handed on %zu events, cursor %" PRIu64, n, self->cursor);
    return result;
}

int fs_sync_offer(fs_sync_t *self, json_t *events, size_t *handed)
{
    size_t i, n = json_array_size(events);
    json_t *ev;
    hy_since_item_t *items = calloc(n ? n : 1, sizeof *items);
    int result = items ? FS_SYNC_OK : FS_SYNC_FATAL;
    json_array_foreach(events, i, ev) {
        if (!items)
            break;
        char *line = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!line) {
            result = FS_SYNC_FATAL;
            n = i;
            break;
        }
        items[i] = (hy_since_item_t){line, strlen(line), hy_event_seq(ev)};
    }
    if (result == FS_SYNC_OK)
        result = fs_sync_offer_items(self, items, n, handed);
    else if (handed)
        *handed = 0;
    for (i = 0; items && i < n; i++)
        free((char *)items[i].line);
    free(items);
    return result;
}
