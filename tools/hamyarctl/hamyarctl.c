/*
 * hamyarctl — the operator's tool: API keys, CURVE keys, status, health, backup and restore.
 *
 * One table maps the command words to the functions of ctl_*.c; options are read once here
 * (ctl_parse) with the same rules for every command: --name VALUE or --name=VALUE, flags
 * alone. Commands that talk to the services go through the broker (HY_BROKER), with CURVE when
 * HY_CURVE_DIR is set (the key pair hamyarctl.key/.pub, or HY_CURVE_NAME's inside a service's
 * container), and act with the role operator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

const char *const ctl_services[] = {
    "registry", "loans", "networks", "microfund", "insurance", "reporting", NULL,
};
const char *const ctl_key_names[] = {
    "gateway",   "registry",  "loans",     "networks", "microfund",
    "insurance", "reporting", "hamyarctl", "fund-sync", NULL,
};

void ctl_usage(void)
{
    fprintf(stderr,
            "usage: hamyarctl keys add --role ROLE [--office OFFICE] [--id KEY_ID] [--file PATH]\n"
            "       hamyarctl keys list [--file PATH]\n"
            "       hamyarctl keys revoke KEY_ID [--file PATH]\n"
            "       hamyarctl curve keygen NAME... [--dir DIR]\n"
            "       hamyarctl curve keygen --all [--dir DIR]\n"
            "       hamyarctl status [--json] [--timeout-ms N]\n"
            "       hamyarctl ping --service NAME [--local | --allow-no-broker | --serving] [--timeout-ms N]\n"
            "       hamyarctl backup --service NAME --dir DIR [--timeout-ms N]\n"
            "       hamyarctl restore --from BACKUP_DIR --data DATA_DIR [--force]\n"
            "       hamyarctl replay --service reporting --data NEW_DIR [--dry-run]\n"
            "       hamyarctl import FILE --agency CODE --date DATE [--office CODE] [--follow]\n"
            "                 [--part-kb N] [--key KEY]   (HY_API_KEY; through the gateway)\n"
            "roles:   social_services, insurance_fund, operator, auditor\n"
            "keys:    --file, else HY_KEYS_FILE, else ./var/keys\n"
            "curve:   --dir, else HY_CURVE_DIR; --all makes every missing pair of: gateway registry\n"
            "         loans networks microfund insurance reporting hamyarctl fund-sync\n"
            "broker:  HY_BROKER (default tcp://127.0.0.1:7100); CURVE when HY_CURVE_DIR is set\n"
            "ping:    gateway: GET /readyz here (/healthz with --serving or HY_GATEWAY_HEALTH=serving);\n"
            "         --local: the process hamyar-NAME here and its events endpoint (no broker:\n"
            "         a container's health check); else: the service's live workers (broker)\n"
            "backup:  DIR is on the service's host, empty or absent; restore runs there, offline\n");
}

int ctl_parse(int argc, char **argv, const ctl_opt_t *opts, const char **pos, int maxpos)
{
    int npos = 0;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0) {
            if (npos >= maxpos) {
                fprintf(stderr, "hamyarctl: unexpected argument %s\n", argv[i]);
                return -1;
            }
            pos[npos++] = argv[i];
            continue;
        }
        const ctl_opt_t *o = opts;
        const char *value = NULL;
        for (; o->name; o++) {
            size_t n = strlen(o->name);
            if (strncmp(argv[i] + 2, o->name, n) != 0)
                continue;
            if (o->is_flag && argv[i][2 + n] == '\0')
                value = "1";
            else if (!o->is_flag && argv[i][2 + n] == '=')
                value = argv[i] + 3 + n;
            else if (!o->is_flag && argv[i][2 + n] == '\0' && i + 1 < argc)
                value = argv[++i];
            if (value)
                break;
        }
        if (!value) {
            fprintf(stderr, "hamyarctl: unknown or incomplete option %s\n", argv[i]);
            return -1;
        }
        *o->value = value;
    }
    return npos;
}

int ctl_timeout(const char *text, int dflt)
{
    if (!text)
        return dflt;
    char *end;
    long v = strtol(text, &end, 10);
    if (*text == '\0' || *end || v < 1 || v > 24L * 3600 * 1000) {
        fprintf(stderr, "hamyarctl: --timeout-ms must be a number of milliseconds\n");
        return -1;
    }
    return (int)v;
}

/* Commands of one word take the rest of argv; "keys" and "curve" take a verb first. */
static const struct {
    const char *word;
    int (*run)(int argc, char **argv);
    int (*run_verb)(const char *verb, int argc, char **argv);
} s_commands[] = {
    { "keys", NULL, ctl_keys },       { "curve", NULL, ctl_curve },
    { "status", ctl_status, NULL },   { "ping", ctl_ping, NULL },
    { "backup", ctl_backup, NULL },   { "restore", ctl_restore, NULL },
    { "replay", ctl_replay, NULL },
    { "import", ctl_import, NULL },
};

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)) {
        ctl_usage();
        return 0;
    }
    for (size_t i = 0; argc >= 2 && i < sizeof s_commands / sizeof *s_commands; i++) {
        if (strcmp(argv[1], s_commands[i].word) != 0)
            continue;
        if (s_commands[i].run)
            return s_commands[i].run(argc - 2, argv + 2);
        if (argc < 3)
            break;
        return s_commands[i].run_verb(argv[2], argc - 3, argv + 3);
    }
    ctl_usage();
    return CTL_EXIT_USAGE;
}
