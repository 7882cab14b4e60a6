/*
 * outbox.h — what an event looks like on the wire, for those who read events.
 *
 * Every event is a CloudEvents 1.0 document (JSON format) written by hy_emit (outbox.c):
 *
 *   {"specversion":"1.0","id":"registry-42","source":"hamyar/registry",
 *    "type":"registry.person.registered","time":"...","subject":"prs_42",
 *    "sequence":"00000000000000000042","seq":42,
 *    "dataschema":"<HY_PUBLIC_URL>/v1/schemas/events/registry.person.registered",
 *    "datacontenttype":"application/json","data":{...}}
 *
 * `sequence` follows the CloudEvents Sequence extension: a string, here the sequence number
 * zero-padded to HY_SEQ_DIGITS digits, so that strings compare as the numbers do. `seq` is the
 * same number as a JSON integer, kept for the consumers that count (followers, reporting,
 * hamyar-fund-sync); events written before the change carry only a numeric `sequence`, which
 * hy_event_seq still reads. `dataschema` is the JSON Schema of `data`, served by the gateway
 * (GET /v1/schemas/events/{type}) from the event table the service announces (spec.h).
 */
#ifndef HY_OUTBOX_H
#define HY_OUTBOX_H

#include <jansson.h>
#include <stdint.h>

#define HY_SEQ_DIGITS 20
#define HY_PUBLIC_URL_DEFAULT "http://127.0.0.1:8080"
#define HY_SCHEMA_PATH "/v1/schemas/events/"

/* The sequence number of an event: "seq", else "sequence" as a number or a string of digits.
 * 0 when it has none. */
uint64_t hy_event_seq(const json_t *ev);

/* The base URL clients reach the gateway at (HY_PUBLIC_URL without a trailing '/', else
 * HY_PUBLIC_URL_DEFAULT): the dataschema URLs and the AsyncAPI servers start with it. */
const char *hy_public_url(void);

#endif
