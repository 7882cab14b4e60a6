/*
 * ctl.h — what the files of hamyarctl, the operator's tool, share.
 *
 *   hamyarctl.c    main: the command table, usage, option parsing
 *   ctl_keys.c     keys add | list | revoke          (the API keys file, hashes only)
 *   ctl_curve.c    curve keygen                      (CURVE key pairs for HY_CURVE_DIR)
 *   ctl_remote.c   status | ping | backup            (through the broker, as role operator)
 *   ctl_restore.c  restore | replay                  (offline, on the service's host)
 *   ctl_health.c   ping --local                      (a service's own health, on its host)
 *   ctl_import.c   import FILE                       (an agency's list, through the gateway)
 *
 * Every command is a function taking its arguments after the command words and returning the
 * process exit code: 0 done, 1 failed, 2 (CTL_EXIT_USAGE) bad usage.
 */
#ifndef HY_CTL_H
#define HY_CTL_H

#include <stdbool.h>

#define CTL_EXIT_USAGE 2

/* The services Hamyar runs (status lists them even when down; curve keygen --all makes a key
 * pair for each, plus the tools that connect: hamyarctl and fund-sync). */
extern const char *const ctl_services[];
extern const char *const ctl_key_names[];

/* One option of a command: --name VALUE (or --name=VALUE), or --name alone when is_flag.
 * A flag's value is set to "1". */
typedef struct {
    const char *name;
    bool is_flag;
    const char **value;
} ctl_opt_t;

/* Reads argv against opts (terminated by {0}); other words go to pos, at most maxpos of them.
 * Returns the number of positional words, or -1 after printing what is wrong. */
int ctl_parse(int argc, char **argv, const ctl_opt_t *opts, const char **pos, int maxpos);

/* Reads a positive number of milliseconds from text (NULL: dflt). Returns -1 when invalid. */
int ctl_timeout(const char *text, int dflt);

void ctl_usage(void);

int ctl_keys(const char *verb, int argc, char **argv);
int ctl_curve(const char *verb, int argc, char **argv);
int ctl_status(int argc, char **argv);
int ctl_ping(int argc, char **argv);
/* ping --service NAME --local: 0 healthy, 1 not (ctl_health.c). */
int ctl_ping_local(const char *service, int timeout_ms);
int ctl_backup(int argc, char **argv);
int ctl_restore(int argc, char **argv);
int ctl_replay(int argc, char **argv);
/* import FILE --agency CODE --date DATE [--follow] (ctl_import.c). */
int ctl_import(int argc, char **argv);

#endif
