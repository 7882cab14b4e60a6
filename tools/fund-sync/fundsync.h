/*
 * fundsync.h — hamyar-fund-sync, the insurance fund's consumer of Hamyar's enrolment feed.
 *
 * The fund must receive every enrolment event, in order, none duplicated in effect, across
 * crashes and long outages on either side. The pieces:
 *
 *   state.c   the durable cursor (last sequence handed on) in --state DIR, written with
 *             write + fsync + rename + fsync of the directory, and a lock so that two copies
 *             never share one state;
 *   output.c  where events go: JSON lines appended to a file (fsync per batch) or stdout, or a
 *             command run once per event;
 *   sync.c    the sequencer: an event is handed on only when its sequence is exactly
 *             cursor + 1; an older one is dropped, a newer one reveals a gap to fill;
 *   zmq.c     follows the insurance service's PUB socket and fills gaps (and the tail) with
 *             events.since through the broker;
 *   http.c    follows GET /v1/feeds/enrolments through the gateway with long polling.
 *
 * Exactly once to a file: the events are appended and fsynced before the cursor is saved, and
 * at start the last complete line of the file wins over the state file (a partial last line,
 * left by a crash in the middle of a write, is cut off). At least once to a command: the
 * cursor moves only after the command exits 0, so a crash between the two runs it again for
 * the same sequence — the command must be idempotent per HY_EVENT_SEQ.
 */
#ifndef FUNDSYNC_H
#define FUNDSYNC_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "since.h"

/* Set by SIGTERM/SIGINT: finish the event in hand, save the cursor, exit 0. */
extern volatile sig_atomic_t fs_stopping;

/* Sleeps up to ms milliseconds, waking early when fs_stopping is set. */
void fs_sleep_ms(int ms);

/* --- the durable cursor (state.c) ----------------------------------------------------------- */
typedef struct fs_state fs_state_t;

/* Opens (creating) dir, takes its lock and reads the cursor (0 when there is none yet).
 * Returns NULL, having logged why, when the directory cannot be used, another process holds
 * the lock, or the cursor file is not a number. */
fs_state_t *fs_state_new(const char *dir);
void fs_state_destroy(fs_state_t **self_p);
uint64_t fs_state_cursor(const fs_state_t *self);
/* Replaces the cursor durably (a crash leaves either the old or the new one). 0 or -1. */
int fs_state_save(fs_state_t *self, uint64_t cursor);

/* --- outputs (output.c) ----------------------------------------------------------------- */
typedef struct fs_out fs_out_t;

enum {
    FS_OUT_OK = 0,
    FS_OUT_RETRY = 1,    /* the command failed: try the same event again later */
    FS_OUT_FATAL = -1,   /* the file or stdout cannot be written: stop */
};

/* Appends to path (created if needed), after cutting off a partial last line; the sequence of
 * the last complete line is then fs_out_last_seq. NULL (logged) on failure, or when the file
 * is locked by another process or its last line is not an event. */
fs_out_t *fs_out_new_file(const char *path);
fs_out_t *fs_out_new_stdout(void);
/* Runs `/bin/sh -c cmd` once per event, the event on its stdin and HY_EVENT_SEQ, HY_EVENT_TYPE
 * and HY_EVENT_ID in its environment. */
fs_out_t *fs_out_new_exec(const char *cmd);
void fs_out_destroy(fs_out_t **self_p);

/* The sequence of the file's last complete line at open (0 for stdout, commands, new files). */
uint64_t fs_out_last_seq(const fs_out_t *self);
/* true when each event must be committed on its own (a command's effect cannot be batched). */
bool fs_out_per_event(const fs_out_t *self);
/* Hands one event on: line (len bytes, its compact JSON, no newline; not terminated). A file
 * or stdout buffers the line until fs_out_flush; a command gets it at once (the event decoded
 * from line for its environment). FS_OUT_OK, _RETRY or _FATAL. */
int fs_out_write(fs_out_t *self, const char *line, size_t len, uint64_t seq);
/* Makes what was written durable (fsync of the file). FS_OUT_OK or FS_OUT_FATAL. */
int fs_out_flush(fs_out_t *self);

/* --- the sequencer (sync.c) --------------------------------------------------------------- */
typedef struct fs_sync fs_sync_t;

/* The cursor starts at the later of the state's and the output file's. Both borrowed. */
fs_sync_t *fs_sync_new(fs_state_t *state, fs_out_t *out);
void fs_sync_destroy(fs_sync_t **self_p);
uint64_t fs_sync_cursor(const fs_sync_t *self);

enum {
    FS_SYNC_OK = 0,      /* every event was handed on or already seen */
    FS_SYNC_GAP = 1,     /* stopped at an event after a gap: fetch from the cursor */
    FS_SYNC_RETRY = 2,   /* the command failed: back off and fetch from the cursor again */
    FS_SYNC_STOP = 3,    /* fs_stopping was set: the cursor is saved, exit */
    FS_SYNC_FATAL = -1,  /* the output or the state cannot be written */
};
/* Hands on, in order, the events of the array (CloudEvents with "sequence") that follow the
 * cursor, then makes them durable and saves the cursor. *handed counts them (may be NULL). */
int fs_sync_offer(fs_sync_t *self, json_t *events, size_t *handed);

/* Hands on, in order, the items (events as JSON lines with their sequence) that follow the
 * cursor, then makes them durable and saves the cursor: fs_sync_offer without decoding.
 * Returns the FS_SYNC_* codes; *handed as for fs_sync_offer. */
int fs_sync_offer_items(fs_sync_t *self, const hy_since_item_t *items, size_t n, size_t *handed);

/* --- following the feed (zmq.c, http.c) ----------------------------------------------------- */
typedef struct {
    const char *broker;     /* --zmq-broker: the broker's endpoint, for events.since */
    const char *pub;        /* --zmq-pub: the insurance service's PUB endpoint */
    const char *service;    /* the service whose events these are: "insurance" */
} fs_zmq_config_t;
/* Follows until fs_stopping or a fatal output error. Returns the process exit code. */
int fs_zmq_run(const fs_zmq_config_t *cfg, fs_sync_t *sync);

typedef struct {
    const char *url;        /* --http: the gateway's base URL, e.g. http://127.0.0.1:8080 */
    const char *key;        /* --key: an insurance_fund (or operator) API key */
    int wait;               /* long-poll seconds per request (default 25) */
    int limit;              /* events per request (default 1000) */
} fs_http_config_t;
int fs_http_run(const fs_http_config_t *cfg, fs_sync_t *sync);
/* The feed URL for events after `after`, into out. 0, or -1 when it does not fit. */
int fs_http_feed_url(const fs_http_config_t *cfg, uint64_t after, char *out, size_t outsz);

/* Waits for the next attempt after a failure: 1, 2, 4, 8, 10, 10 ... s; reset by a success. */
typedef struct {
    int ms;
} fs_backoff_t;
void fs_backoff_wait(fs_backoff_t *b);
void fs_backoff_reset(fs_backoff_t *b);

#endif
