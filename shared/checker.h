/*
 * checker.h — maker-checker for reversing money (Fineract's maker-checker, as loan approval):
 * one key asks to void a money record, another approves.
 *
 * The request lives on the record itself as void_request {reason, requested_by (the maker's
 * key id), requested_at}; approving or turning it down is the caller's next step (the void
 * itself is shared/correct.h's). Used by loans (repayments) and microfund (meetings).
 *
 * Every function returns 0, or the status of the failure it recorded with hy_fail, naming field.
 */
#ifndef HY_CHECKER_H
#define HY_CHECKER_H

#include <jansson.h>

#include "service.h"

/* The maker's request: stamps rec's void_request. 409 void_pending when one waits already. */
int hy_checker_request(hy_ctx_t *ctx, json_t *rec, const char *reason, const char *field);

/* Whether the caller may approve rec's request: 409 no_void_request when nobody asked, 422
 * same_approver when the caller's key is the one that asked. */
int hy_checker_approve(hy_ctx_t *ctx, const json_t *rec, const char *field);

/* Turns the request down (removes void_request): 409 no_void_request when nobody asked. */
int hy_checker_reject(hy_ctx_t *ctx, json_t *rec, const char *field);

#endif
