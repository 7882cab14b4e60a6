/*
 * apis.c — the services behind the gateway. Each service's NAME_api.c defines its hy_api_t
 * (pure data). The references are weak: a build that leaves a service out (a partial build, a
 * gateway deployed in front of some services only) simply has no routes for it.
 */
#include "gateway.h"

#define API(name) extern const hy_api_t name __attribute__((weak))
API(registry_api);
API(loans_api);
API(networks_api);
API(microfund_api);
API(insurance_api);
API(reporting_api);

static const hy_api_t *s_apis[8];

/* Gathers the services linked into this binary, in a stable order, NULL-terminated. */
const hy_api_t *const *hy_gateway_apis(void)
{
    if (!s_apis[0]) {
        const hy_api_t *all[] = {&registry_api, &loans_api,     &networks_api,
                                 &microfund_api, &insurance_api, &reporting_api};
        size_t n = 0;
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            if (all[i])
                s_apis[n++] = all[i];
    }
    return s_apis;
}
