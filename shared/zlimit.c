/*
 * zlimit.c — ZMQ_MAXMSGSIZE on every socket (see zlimit.h).
 */
#include "zlimit.h"

#include <stdlib.h>
#include <zmq.h>

#include "log.h"

int64_t hy_zmq_max_msg(void)
{
    static int64_t limit;   /* 0 until read; every caller computes the same value */
    if (limit == 0) {
        int64_t v = HY_MAX_MSG_DEFAULT;
        const char *e = getenv("HY_MAX_MSG_BYTES");
        if (e && *e) {
            char *end;
            long long n = strtoll(e, &end, 10);
            if (*end == '\0' && n >= 4096 && n <= (1LL << 40))
                v = n;
            else
                hy_log_warn("zmq", "HY_MAX_MSG_BYTES=%s is not 4096..2^40; using %lld", e,
                            (long long)HY_MAX_MSG_DEFAULT);
        }
        limit = v;
    }
    return limit;
}

int hy_zmq_limit(void *sock)
{
    int64_t max = hy_zmq_max_msg();
    if (zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0) {
        hy_log_error("zmq", "cannot set ZMQ_MAXMSGSIZE: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}
