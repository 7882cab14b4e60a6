/*
 * registry_reports.h — what the registry owns for the reporting service: submitted half-year
 * reports and office targets (reports_owned.c). Reporting replicas compute and check; the
 * registry numbers, stores and publishes, so every replica follows one sequence.
 */
#ifndef REGISTRY_REPORTS_H
#define REGISTRY_REPORTS_H

#include "registry.h"

/* Opens the registry.reports database into st->reports. 0 or an LMDB error. */
int registry_reports_open(hy_store_t *store, registry_t *st);

/* reports.record {document}: numbers the document (sub_N), stamps submitted_at/submitted_by,
 * signs it (SHA-256 over its canonical JSON), stores it and emits registry.report.submitted
 * with the canonical document as data. 201 with the document. */
int registry_report_record(hy_ctx_t *ctx, json_t *args, json_t **result);
/* offices.targets_set {code, year, half, targets}: replaces an office's targets for a half and
 * emits registry.office.targets_set. 200 with {office, year, half, targets}. */
int registry_office_targets_set(hy_ctx_t *ctx, json_t *args, json_t **result);

extern const hy_field_t registry_report_record_args[];
extern const hy_field_t registry_targets_set_args[];
extern const hy_field_t registry_ev_report[];
extern const hy_field_t registry_ev_targets[];

#endif
