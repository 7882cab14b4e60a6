/*
 * since.h — a page of events.since read without decoding its events.
 *
 * A follower hands each event on (fund-sync) or applies it (follow.c) one at a time; decoding a
 * page of ten thousand events as one JSON document, only to take it apart again, cost more than
 * the events themselves. hy_since_parse walks the reply text once, structurally (strings with
 * their escapes, nesting), and keeps each event as the span of the text it occupies, with its
 * top-level sequence number ("seq", or "sequence" as a string of digits or, in older events, a
 * number). A reply it cannot walk is refused whole.
 *
 * Ownership: items point into the text given to hy_since_parse, which must outlive them; the
 * page owns only its items array (hy_since_free; the page is reusable after either).
 */
#ifndef HY_SINCE_H
#define HY_SINCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *line;       /* the event's compact JSON, inside the reply text (not terminated) */
    size_t len;
    uint64_t seq;           /* its sequence number (0 when absent) */
} hy_since_item_t;

typedef struct {
    char id[64];            /* the reply's request id ("" when absent or too long) */
    int status;             /* the reply's status */
    bool has_events;        /* result.events was there (an array) */
    uint64_t last_seq;      /* result.last_seq: the source's head */
    hy_since_item_t *items; /* result.events, in order */
    size_t n, cap;
} hy_since_t;

/* Walks a reply text (borrowed) into page, reusing its array. Returns 0, or -1 when the text is
 * not such a JSON reply (or out of memory). */
int hy_since_parse(hy_since_t *page, const char *text, size_t len);
/* One event's text decoded: the same value json_loadb(line, len, 0, NULL) gives (a new
 * reference, NULL when the text is not JSON), built straight from the text when it is in the
 * plain shape the outboxes write (no escapes, integers), else by json_loadb itself. */
json_t *hy_since_decode(const char *line, size_t len);
/* Frees the items array; the page is empty and reusable. */
void hy_since_free(hy_since_t *page);

#endif
