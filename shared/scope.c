/*
 * scope.c — the office a caller is confined to, and the checks every service makes with it.
 */
#include <stdlib.h>
#include <string.h>

#include "fa.h"
#include "scope.h"

const char *hy_scope_office(hy_ctx_t *ctx)
{
    if (!ctx->req || !ctx->req->actor.role)
        return NULL;
    if (hy_role_parse(ctx->req->actor.role) & (HY_ROLE_OPERATOR | HY_ROLE_SERVICE))
        return NULL;
    const char *office = ctx->req->actor.office;
    if (!office || !*office || strcmp(office, "*") == 0)
        return NULL;
    return office;
}

bool hy_scope_same(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    if (strcmp(a, b) == 0)
        return true;
    char *na = hy_fa_key(a), *nb = hy_fa_normalize(b);
    bool same = na && nb && strcmp(na, nb) == 0;
    free(na);
    free(nb);
    return same;
}

bool hy_scope_reads(hy_ctx_t *ctx, const char *record_office)
{
    const char *mine = hy_scope_office(ctx);
    return !mine || hy_scope_same(mine, record_office);
}

int hy_scope_write(hy_ctx_t *ctx, const char *field, const char *record_office)
{
    const char *mine = hy_scope_office(ctx);
    if (!mine || hy_scope_same(mine, record_office))
        return 0;
    return hy_fail(ctx, 403, "other_office", field,
                   "this key acts for office %s; the record belongs to office %s", mine,
                   record_office ? record_office : "(none)");
}
