/*
 * scope.h — offices as boundaries: which office's records a caller may write and read.
 *
 * An API key acts for one office (`hamyarctl keys add --office rey-1`), for the whole province
 * (`--office '*'`, the provincial social-affairs office) or for none (operators, auditors made
 * without an office, services calling each other). A key of one office writes only that
 * office's records and reads other offices' only as far as deduplication needs; a province key
 * or an office-less key is not confined. The office of a write comes from the key, never from
 * the body. Codes compare in normalised form (hy_fa_normalize), so "REY-1" is "rey-1".
 */
#ifndef HY_SCOPE_H
#define HY_SCOPE_H

#include <stdbool.h>

#include "service.h"

/* The office the caller is confined to, or NULL when it is not confined (province key "*",
 * key of no office, operator, service). Borrowed from the request. */
const char *hy_scope_office(hy_ctx_t *ctx);

/* true when the two office codes name one office (normalised comparison; NULL matches
 * nothing). */
bool hy_scope_same(const char *a, const char *b);

/* true when the caller may see the whole of a record of record_office. */
bool hy_scope_reads(hy_ctx_t *ctx, const char *record_office);

/* 0 when the caller may write a record of record_office, else the status of a 403 other_office
 * naming field (via hy_fail). */
int hy_scope_write(hy_ctx_t *ctx, const char *field, const char *record_office);

#endif
