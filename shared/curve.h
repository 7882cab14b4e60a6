/*
 * curve.h — CURVE encryption and ZAP authentication between Hamyar processes.
 *
 * Off by default: on one machine every endpoint is loopback and plaintext is fine. Across hosts
 * the operator sets HY_CURVE_DIR to a directory of key files made by `hamyarctl curve keygen`:
 *   <name>.pub   the process's public key (Z85, 40 characters)
 *   <name>.key   its secret key (Z85, mode 0600), present only where that process runs
 * Every socket that binds (the broker, each service's PUB) is then a CURVE server and asks its
 * ZAP handler whether the connecting key is allowed; the allow-list is every *.pub in the
 * directory (re-read when the directory changes), so adding or removing a process is adding or
 * removing its .pub file. Refusals are logged with the key. Every socket that connects is a CURVE
 * client that knows the server's public key by name ("gateway" for the broker, a service's name
 * for its events).
 *
 * Without HY_CURVE_DIR a process refuses a non-loopback tcp endpoint (plaintext would cross the
 * network) unless HY_PLAINTEXT_OK=1 says the network is private (e.g. one host's container
 * network).
 */
#ifndef HY_CURVE_H
#define HY_CURVE_H

#include <stdbool.h>

/* Loads this process's key pair (<name>.key/.pub in HY_CURVE_DIR; HY_CURVE_NAME overrides the
 * name). Returns 0, or -1 when CURVE is on and the keys cannot be read. No-op when off. */
int hy_curve_init(const char *name);

bool hy_curve_enabled(void);

/* Starts the ZAP handler of zctx (once per context, before any CURVE server socket binds).
 * Returns 0 or -1. No-op when off. */
int hy_curve_zap_start(void *zctx);
/* Stops it; call after closing the process's sockets and before zmq_ctx_term. */
void hy_curve_zap_stop(void);

/* Makes sock a CURVE server (call before bind). Checks the endpoint when CURVE is off.
 * Returns 0 or -1. */
int hy_curve_server(void *sock, const char *endpoint);
/* Makes sock a CURVE client of the server called server_name (before each connect); checks
 * the endpoint when CURVE is off. Returns 0 or -1. */
int hy_curve_client(void *sock, const char *server_name, const char *endpoint);

/* The broker's key name (HY_CURVE_BROKER_NAME, default "gateway"). */
const char *hy_curve_broker_name(void);

/* Writes a new key pair <dir>/<name>.pub and <dir>/<name>.key (0600). Refuses to overwrite.
 * Returns 0 or -1 (errno set). */
int hy_curve_keygen(const char *dir, const char *name);

#endif
