/*
 * zlimit.h — the largest message any Hamyar socket accepts from the network.
 *
 * Without a limit, libzmq allocates whatever size a peer's frame header announces (a 1 GiB
 * announcement costs the receiver memory before one byte of it arrives). Every socket that
 * binds or connects passes through hy_curve_server / hy_curve_client, which call
 * hy_zmq_limit, so the limit is on every socket of every process. A peer that announces more
 * is disconnected by libzmq at the frame header.
 *
 * HY_MAX_MSG_BYTES sets the limit (default HY_MAX_MSG_DEFAULT, 8 MiB: a request body is at
 * most HY_GATEWAY_MAX_BODY, 1 MiB, and the largest replies, a page of 1,000 events or a
 * rendered report, stay well under it). Applies to tcp (and ipc) transports; inproc messages
 * are never decoded from bytes and are not concerned.
 */
#ifndef HY_ZLIMIT_H
#define HY_ZLIMIT_H

#include <stdint.h>

#define HY_MAX_MSG_DEFAULT (8LL << 20)

/* The limit in bytes: HY_MAX_MSG_BYTES when it is a number from 4096 to 2^40, else the
 * default. Read once. */
int64_t hy_zmq_max_msg(void);

/* Sets ZMQ_MAXMSGSIZE on sock. Returns 0, or -1 (errno from zmq). */
int hy_zmq_limit(void *sock);

#endif
