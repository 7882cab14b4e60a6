/*
 * hamyarctl — the operator's tool: API keys, CURVE keys, status, health, backup and restore.
 *
 * One table maps the command words to the functions of ctl_*.c; options are read once here
 * (ctl_parse) with the same rules for every command: --name VALUE or --name=VALUE, flags
 * alone. --broker, --help and --version are global (main); help goes to stdout, usage errors
 * to stderr, an unknown command is named. Commands that talk to the services go through the broker (HY_BROKER), with CURVE when
 * HY_CURVE_DIR is set (the key pair hamyarctl.key/.pub, or HY_CURVE_NAME's inside a service's
 * container), and act with the role operator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "version.h"

const char *const ctl_services[] = {
    "registry", "loans", "networks", "microfund", "insurance", "reporting", NULL,
};
const char *const ctl_key_names[] = {
    "gateway",   "registry",  "loans",     "networks", "microfund",
    "insurance", "reporting", "hamyarctl", "fund-sync", NULL,
};

/* Where ctl_usage writes: stderr (a usage error) unless help asked for it (stdout, filtered). */
static FILE *s_usage_to;

void ctl_usage(void)
{
    fprintf(s_usage_to ? s_usage_to : stderr,
            "usage: hamyarctl keys add --role ROLE [--office OFFICE] [--id KEY_ID] [--file PATH]\n"
            "       hamyarctl keys list [--file PATH] [--json]\n"
            "       hamyarctl keys revoke KEY_ID [--file PATH]\n"
            "       hamyarctl curve keygen NAME... [--dir DIR]\n"
            "       hamyarctl curve keygen --all [--dir DIR]\n"
            "       hamyarctl status [--json] [--timeout-ms N]   (exit 1 when a service is down)\n"
            "       hamyarctl ping --service NAME [--local | --allow-no-broker | --serving] [--timeout-ms N]\n"
            "       hamyarctl backup --service NAME --dir DIR [--timeout-ms N]\n"
            "       hamyarctl restore --from BACKUP_DIR --data DATA_DIR [--force]\n"
            "       hamyarctl replay --service reporting --data NEW_DIR [--dry-run]\n"
            "       hamyarctl import FILE --agency CODE --date DATE [--office CODE] [--follow]\n"
            "                 [--part-kb N] [--key KEY]   (HY_API_KEY; through the gateway)\n"
            "roles:   social_services, insurance_fund, operator, auditor, monitoring (GET /metrics only)\n"
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

/* Options every command takes (main removes them before the command sees its arguments). */
static const char s_global_help[] =
    "global:  --broker ENDPOINT (instead of HY_BROKER), --help (also: hamyarctl CMD --help),\n"
    "         --version; --json prints lists as JSON (keys list, status)\n"
    "exit:    0 done, 1 failed (status: a service is down or the broker does not answer),\n"
    "         2 bad usage or an unknown command\n";

/* Prints the help of cmd (NULL: all of it) on stdout: the usage lines of `hamyarctl CMD` and
 * the notes headed "CMD:", from the same text as ctl_usage. Returns 0, or 2 when cmd has none. */
static int s_help(const char *cmd)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return 1;
    s_usage_to = mem;
    ctl_usage();
    s_usage_to = NULL;
    if (fclose(mem) != 0 || !text) {
        free(text);
        return 1;
    }
    if (!cmd) {
        fputs(text, stdout);
        fputs(s_global_help, stdout);
        free(text);
        return 0;
    }
    size_t n = strlen(cmd);
    bool printed = false, in_note = false;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        const char *w = line;
        if (strncmp(w, "usage:", 6) == 0)
            w += 6;
        while (*w == ' ')
            w++;
        bool usage = strncmp(w, "hamyarctl ", 10) == 0 && strncmp(w + 10, cmd, n) == 0 &&
                     (w[10 + n] == ' ' || w[10 + n] == '\0');
        if (line[0] != ' ' && strncmp(line, "usage:", 6) != 0)   /* a note "word: ..." */
            in_note = (strncmp(line, cmd, n) == 0 && line[n] == ':') ||
                      (strcmp(cmd, "keys") == 0 && strncmp(line, "roles:", 6) == 0);
        if (usage || in_note) {
            printf("%s%s\n", usage && !printed ? "usage: " : usage ? "       " : "",
                   usage ? w : line);
            printed |= usage;
        }
    }
    free(text);
    if (!printed)
        return CTL_EXIT_USAGE;
    fputs(s_global_help, stdout);
    return 0;
}

static bool s_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/* Takes --broker ENDPOINT (or --broker=ENDPOINT) out of argv, wherever it is, into HY_BROKER.
 * Returns the new argc, or -1 when the endpoint is missing. */
static int s_take_broker(int argc, char **argv)
{
    int out = 0;
    for (int i = 0; i < argc; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--broker") == 0) {
            if (i + 1 >= argc || !*argv[i + 1])
                return -1;
            v = argv[++i];
        } else if (strncmp(argv[i], "--broker=", 9) == 0) {
            v = argv[i] + 9;
            if (!*v)
                return -1;
        }
        if (v)
            setenv("HY_BROKER", v, 1);
        else
            argv[out++] = argv[i];
    }
    argv[out] = NULL;
    return out;
}

int main(int argc, char **argv)
{
    if ((argc = s_take_broker(argc, argv)) < 0) {
        fprintf(stderr, "hamyarctl: --broker needs an endpoint (tcp://HOST:PORT)\n");
        return CTL_EXIT_USAGE;
    }
    if (argc < 2) {
        ctl_usage();
        return CTL_EXIT_USAGE;
    }
    if (s_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        int rc = s_help(argc > 2 && strcmp(argv[1], "help") == 0 ? argv[2] : NULL);
        if (rc == CTL_EXIT_USAGE)
            fprintf(stderr, "hamyarctl: unknown command '%s'\n", argv[2]);
        return rc;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("hamyarctl %s (Hamyar %s; %s)\n", HY_VERSION, HY_VERSION, HY_COMPILER);
        return 0;
    }
    for (size_t i = 0; i < sizeof s_commands / sizeof *s_commands; i++) {
        if (strcmp(argv[1], s_commands[i].word) != 0)
            continue;
        for (int k = 2; k < argc; k++)
            if (s_is_help(argv[k]))
                return s_help(argv[1]);
        if (s_commands[i].run)
            return s_commands[i].run(argc - 2, argv + 2);
        if (argc < 3) {
            fprintf(stderr, "hamyarctl: %s needs a verb\n", argv[1]);
            s_usage_to = stderr;
            ctl_usage();
            return CTL_EXIT_USAGE;
        }
        return s_commands[i].run_verb(argv[2], argc - 3, argv + 3);
    }
    fprintf(stderr, "hamyarctl: unknown command '%s' (hamyarctl --help lists them)\n", argv[1]);
    return CTL_EXIT_USAGE;
}
