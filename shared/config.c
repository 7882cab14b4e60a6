/*
 * config.c — where the broker and each service's events are (HY_BROKER, HY_PUB_<NAME>).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"

const char *hy_config_broker(void)
{
    const char *e = getenv("HY_BROKER");
    return e && *e ? e : "tcp://127.0.0.1:7100";
}

/* Each service's events have a default port on loopback; HY_PUB_<NAME> moves them. */
const char *hy_config_pub(const char *service)
{
    static const struct {
        const char *name, *endpoint;
    } defaults[] = {
        {"registry", "tcp://127.0.0.1:7101"},  {"loans", "tcp://127.0.0.1:7102"},
        {"networks", "tcp://127.0.0.1:7103"},  {"microfund", "tcp://127.0.0.1:7104"},
        {"insurance", "tcp://127.0.0.1:7105"}, {"reporting", "tcp://127.0.0.1:7106"},
    };
    char var[64];
    size_t n = (size_t)snprintf(var, sizeof var, "HY_PUB_%s", service);
    for (size_t i = 7; i < n && i < sizeof var; i++)
        if (var[i] >= 'a' && var[i] <= 'z')
            var[i] = (char)(var[i] - 'a' + 'A');
    const char *e = getenv(var);
    if (e && *e)
        return e;
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if (strcmp(defaults[i].name, service) == 0)
            return defaults[i].endpoint;
    return "none";
}
