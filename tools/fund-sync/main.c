/*
 * main.c — hamyar-fund-sync: options, signals, and the choice of feed and output. The work is
 * done in sync.c (sequencing), state.c (the cursor), output.c and zmq.c / http.c.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fundsync.h"
#include "log.h"

static void s_usage(FILE *to)
{
    fprintf(to,
        "usage: hamyar-fund-sync --state DIR (--zmq-broker EP --zmq-pub EP | --http URL --key KEY)\n"
        "                        [--out FILE | --exec CMD] [--wait SECONDS] [--service NAME]\n"
        "\n"
        "Follows Hamyar's insurance enrolment events and hands each one on exactly once, in\n"
        "sequence order, resuming where it stopped after a crash, kill -9 or a long outage.\n"
        "\n"
        "  --state DIR        where the cursor (last sequence handed on) is kept; required\n"
        "  --zmq-broker EP    ZeroMQ: the broker, for catching up (events.since)\n"
        "  --zmq-pub EP       ZeroMQ: the insurance service's event PUB endpoint\n"
        "  --http URL         HTTP: the gateway's base URL (GET /v1/feeds/enrolments)\n"
        "  --key KEY          HTTP: an insurance_fund API key (or set HAMYAR_API_KEY)\n"
        "  --wait SECONDS     HTTP: long-poll time per request, 1..60 (default 25)\n"
        "  --out FILE         append one JSON line per event to FILE, fsync per batch;\n"
        "                     exactly once: at start the file's last line says where to resume\n"
        "  --exec CMD         run `sh -c CMD` per event, the event on stdin, HY_EVENT_SEQ,\n"
        "                     HY_EVENT_TYPE, HY_EVENT_ID set; the cursor moves only after exit 0,\n"
        "                     so after a crash the same event may be run again: CMD must be\n"
        "                     idempotent per HY_EVENT_SEQ (at least once to a command)\n"
        "  (neither)          JSON lines on stdout (at least once across a crash)\n"
        "  --service NAME     whose events (default insurance)\n"
        "\n"
        "Logs are JSON lines on stderr (HY_LOG_LEVEL=debug|info|warn|error). SIGTERM or SIGINT\n"
        "finishes the event in hand, saves the cursor and exits 0. Exit codes: 0 stopped, 1 an\n"
        "output or state error, 2 bad usage, 3 the gateway refused the key.\n");
}

static void s_on_signal(int sig)
{
    (void)sig;
    fs_stopping = 1;
}

/* SIGTERM/SIGINT without SA_RESTART, so that a blocking poll returns at once; SIGPIPE off, so
 * a command that does not read its stdin is not fatal. */
static void s_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

typedef struct {
    const char *state, *out, *exec, *broker, *pub, *url, *key, *service;
    int wait;
} s_opts_t;

/* Parses the command line; returns 0, 1 for --help, or 2 for bad usage (already reported). */
static int s_parse(int argc, char **argv, s_opts_t *o)
{
    static const struct option opts[] = {
        {"state", required_argument, 0, 's'},      {"out", required_argument, 0, 'o'},
        {"exec", required_argument, 0, 'e'},       {"zmq-broker", required_argument, 0, 'b'},
        {"zmq-pub", required_argument, 0, 'p'},    {"http", required_argument, 0, 'u'},
        {"key", required_argument, 0, 'k'},        {"wait", required_argument, 0, 'w'},
        {"service", required_argument, 0, 'n'},    {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    *o = (s_opts_t){.service = "insurance", .wait = 25, .key = getenv("HAMYAR_API_KEY")};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's': o->state = optarg; break;
        case 'o': o->out = optarg; break;
        case 'e': o->exec = optarg; break;
        case 'b': o->broker = optarg; break;
        case 'p': o->pub = optarg; break;
        case 'u': o->url = optarg; break;
        case 'k': o->key = optarg; break;
        case 'w': o->wait = atoi(optarg); break;
        case 'n': o->service = optarg; break;
        case 'h': return 1;
        default: return 2;
        }
    }
    const char *bad = NULL;
    if (optind < argc)
        bad = "unexpected argument";
    else if (!o->state)
        bad = "--state DIR is required";
    else if (o->out && o->exec)
        bad = "--out and --exec exclude each other";
    else if (!o->url == !(o->broker || o->pub))
        bad = "choose ZeroMQ (--zmq-broker and --zmq-pub) or HTTP (--http), one of them";
    else if (!o->url && (!o->broker || !o->pub))
        bad = "ZeroMQ needs both --zmq-broker and --zmq-pub";
    else if (o->url && (!o->key || !*o->key))
        bad = "HTTP needs --key (or HAMYAR_API_KEY)";
    else if (o->wait < 1 || o->wait > 60)
        bad = "--wait is 1..60 seconds";
    if (bad) {
        fprintf(stderr, "hamyar-fund-sync: %s\n", bad);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    s_opts_t o;
    int rc = s_parse(argc, argv, &o);
    if (rc) {
        s_usage(rc == 1 ? stdout : stderr);
        return rc == 1 ? 0 : 2;
    }
    hy_log_init("fund-sync");
    s_signals();
    int code = 1;
    fs_state_t *state = fs_state_new(o.state);
    fs_out_t *out = !state   ? NULL
                    : o.out  ? fs_out_new_file(o.out)
                    : o.exec ? fs_out_new_exec(o.exec)
                             : fs_out_new_stdout();
    fs_sync_t *sync = out ? fs_sync_new(state, out) : NULL;
    if (!sync)
        goto done;
    if (o.url) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
            goto done;
        fs_http_config_t cfg = {.url = o.url, .key = o.key, .wait = o.wait, .limit = 1000};
        code = fs_http_run(&cfg, sync);
        curl_global_cleanup();
    } else {
        fs_zmq_config_t cfg = {.broker = o.broker, .pub = o.pub, .service = o.service};
        code = fs_zmq_run(&cfg, sync);
    }
done:
    fs_sync_destroy(&sync);
    fs_out_destroy(&out);
    fs_state_destroy(&state);
    return code;
}
