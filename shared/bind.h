/*
 * bind.h — an op row's argument binding: the domain function a row runs and the arguments it
 * takes, instead of a handler written only to unpack them.
 *
 * Most handlers only pick a few strings out of the checked arguments (the path's id, a
 * reason) and call one domain function with them. A row says that as data:
 *
 *     {.op = "networks.get", .call = HY_CALL_S(networks_network_get, "id"), ...}
 *
 * runs networks_network_get(ctx, hy_json_str(args, "id"), result). A row names either a
 * handler (hy_handler_fn: the domain function itself when it takes (ctx, args, result), or a
 * handler that does more than unpack) or a call, never both (hy_spec_check_handlers).
 *
 * The string arguments are borrowed from args for the call (NULL when absent; the spec check
 * has already refused a missing required one). The functions answer as handlers do: 0 with
 * *result set, -1 with the error in ctx, or HY_PARKED (service.h).
 */
#ifndef HY_BIND_H
#define HY_BIND_H

#include <jansson.h>
#include <stdbool.h>

struct hy_ctx;   /* service.h */

/* The function type of a handler (spec.h's hy_handler_fn points at one), to declare a
 * service's handlers in one declaration: `hy_handler_t x_list, x_get;`. */
typedef int hy_handler_t(struct hy_ctx *ctx, json_t *args, json_t **result);

/* The shapes of domain functions a row can bind: S for each string argument in order, A for
 * the whole args object after them (CA: the same, read only). */
typedef int (*hy_call_s_fn)(struct hy_ctx *ctx, const char *a, json_t **result);
typedef int (*hy_call_ss_fn)(struct hy_ctx *ctx, const char *a, const char *b, json_t **result);
typedef int (*hy_call_sss_fn)(struct hy_ctx *ctx, const char *a, const char *b, const char *c,
                              json_t **result);
typedef int (*hy_call_ssss_fn)(struct hy_ctx *ctx, const char *a, const char *b, const char *c,
                               const char *d, json_t **result);
typedef int (*hy_call_sa_fn)(struct hy_ctx *ctx, const char *a, json_t *args, json_t **result);
typedef int (*hy_call_sca_fn)(struct hy_ctx *ctx, const char *a, const json_t *args,
                              json_t **result);
typedef int (*hy_call_ssa_fn)(struct hy_ctx *ctx, const char *a, const char *b, json_t *args,
                              json_t **result);

typedef enum {
    HY_CALL_NONE = 0,
    HY_CALL_KIND_S,
    HY_CALL_KIND_SS,
    HY_CALL_KIND_SSS,
    HY_CALL_KIND_SSSS,
    HY_CALL_KIND_SA,
    HY_CALL_KIND_SCA,
    HY_CALL_KIND_SSA,
} hy_call_kind_t;

/* The bound function, converted back to its kind's type to run it (C allows a round trip
 * between function pointer types). */
typedef void (*hy_call_fn)(void);

/* One binding: the kind (the shape of fn), the names of the string arguments, the function. */
typedef struct {
    hy_call_kind_t kind;
    const char *names[4];
    hy_call_fn fn;
} hy_call_t;

/* FN as a hy_call_fn, after the compiler has checked that it is a TYPE (a function of another
 * shape is a "pointer type mismatch" error). */
#define HY_CALL_FN_(TYPE, FN) ((hy_call_fn)(1 ? (FN) : (TYPE)0))

/* Row initialisers. */
#define HY_CALL_S(FN, A) {.kind = HY_CALL_KIND_S, .names = {A}, .fn = HY_CALL_FN_(hy_call_s_fn, FN)}
#define HY_CALL_SS(FN, A, B)                                                                       \
    {.kind = HY_CALL_KIND_SS, .names = {A, B}, .fn = HY_CALL_FN_(hy_call_ss_fn, FN)}
#define HY_CALL_SSS(FN, A, B, C)                                                                   \
    {.kind = HY_CALL_KIND_SSS, .names = {A, B, C}, .fn = HY_CALL_FN_(hy_call_sss_fn, FN)}
#define HY_CALL_SSSS(FN, A, B, C, D)                                                               \
    {.kind = HY_CALL_KIND_SSSS, .names = {A, B, C, D}, .fn = HY_CALL_FN_(hy_call_ssss_fn, FN)}
#define HY_CALL_SA(FN, A) {.kind = HY_CALL_KIND_SA, .names = {A}, .fn = HY_CALL_FN_(hy_call_sa_fn, FN)}
#define HY_CALL_SCA(FN, A)                                                                         \
    {.kind = HY_CALL_KIND_SCA, .names = {A}, .fn = HY_CALL_FN_(hy_call_sca_fn, FN)}
#define HY_CALL_SSA(FN, A, B)                                                                      \
    {.kind = HY_CALL_KIND_SSA, .names = {A, B}, .fn = HY_CALL_FN_(hy_call_ssa_fn, FN)}

/* Runs the bound function with the named strings of args (borrowed for the call). Returns what
 * it returned; -1 with a 500 in ctx for a row with no binding. */
int hy_call_run(const hy_call_t *call, struct hy_ctx *ctx, json_t *args, json_t **result);

/* true when the two bindings run the same function with the same arguments (a table that
 * names one twice is refused at start-up). */
bool hy_call_same(const hy_call_t *a, const hy_call_t *b);

#endif
