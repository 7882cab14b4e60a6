/*
 * test_fundsync.c — hamyar-fund-sync's pieces without a network: the durable cursor and its
 * lock, recovery of an output file a crash left half written, the sequencer (only cursor + 1
 * is handed on), the per-event command, and generated crash points that must still leave every
 * event in the file exactly once.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../tools/fund-sync/fundsync.h"
#include "test.h"
#include "testutil.h"

/* The whole of a small file as a new string ("" when absent). */
static char *s_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = calloc(1, 1 << 20);
    if (f && buf)
        fread(buf, 1, (1 << 20) - 1, f);
    if (f)
        fclose(f);
    return buf;
}

static void s_append(const char *path, const char *text)
{
    FILE *f = fopen(path, "ab");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Events from..to as the service publishes them. */
static json_t *s_events(int from, int to)
{
    json_t *a = json_array();
    for (int s = from; s <= to; s++)
        json_array_append_new(
            a, json_pack("{s:s,s:s,s:s,s:s,s:i,s:{s:s}}", "specversion", "1.0", "type",
                         "insurance.enrolment.requested", "source", "hamyar/insurance", "id",
                         "x", "sequence", s, "data", "national_id", "0013542419"));
    return a;
}

/* The sequences of the JSON lines of a file, checked to be exactly 1..n in order; returns n,
 * or -1 when a line is not an event or a sequence is out of place. */
static int s_lines_are_1_to_n(const char *path)
{
    char *text = s_slurp(path);
    int n = 0;
    for (char *line = text, *nl; line && *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl) {
            n = -1;   /* a partial line */
            break;
        }
        json_t *ev = json_loadb(line, (size_t)(nl - line), 0, NULL);
        int seq = (int)json_integer_value(json_object_get(ev, "sequence"));
        json_decref(ev);
        if (seq != n + 1) {
            n = -1;
            break;
        }
        n++;
    }
    free(text);
    return n;
}

static void test_state(void)
{
    char dir[64], path[128];
    hy_test_tmpdir(dir);
    fs_state_t *a = fs_state_new(dir);
    CHECK(a != NULL);
    if (!a)
        return;
    CHECK_EQ_INT(fs_state_cursor(a), 0);
    CHECK_EQ_INT(fs_state_save(a, 42), 0);
    CHECK(fs_state_new(dir) == NULL);   /* locked by a */
    fs_state_destroy(&a);
    fs_state_destroy(&a);               /* twice is fine */
    a = fs_state_new(dir);
    CHECK(a != NULL);
    CHECK_EQ_INT(a ? fs_state_cursor(a) : 0, 42);
    fs_state_destroy(&a);
    snprintf(path, sizeof path, "%s/cursor", dir);
    FILE *f = fopen(path, "w");
    fputs("forty-two\n", f);
    fclose(f);
    CHECK(fs_state_new(dir) == NULL);   /* a cursor we cannot read is never guessed */
    unlink(path);
    snprintf(path, sizeof path, "%s/lock", dir);
    unlink(path);
    hy_test_rmdir(dir);
}

static void test_file_recovery(void)
{
    char dir[64], path[128];
    hy_test_tmpdir(dir);
    snprintf(path, sizeof path, "%s/out.jsonl", dir);
    s_append(path, "{\"sequence\":1}\n{\"sequence\":2}\n{\"sequence\":3}\n{\"seque");
    fs_out_t *out = fs_out_new_file(path);
    CHECK(out != NULL);
    CHECK_EQ_INT(out ? fs_out_last_seq(out) : 0, 3);
    CHECK(fs_out_new_file(path) == NULL);   /* locked */
    fs_out_destroy(&out);
    char *text = s_slurp(path);
    CHECK_EQ_STR(text, "{\"sequence\":1}\n{\"sequence\":2}\n{\"sequence\":3}\n");
    free(text);
    /* A last line that is no event: refuse rather than guess. */
    s_append(path, "hello\n");
    CHECK(fs_out_new_file(path) == NULL);
    unlink(path);
    /* Only a partial line: everything goes. */
    s_append(path, "{\"sequ");
    out = fs_out_new_file(path);
    CHECK(out != NULL);
    CHECK_EQ_INT(out ? fs_out_last_seq(out) : 1, 0);
    fs_out_destroy(&out);
    text = s_slurp(path);
    CHECK_EQ_STR(text, "");
    free(text);
    unlink(path);
    hy_test_rmdir(dir);
}

static void test_sequencer(void)
{
    char dir[64], sdir[128], path[128];
    hy_test_tmpdir(dir);
    snprintf(sdir, sizeof sdir, "%s/state", dir);
    snprintf(path, sizeof path, "%s/out.jsonl", dir);
    fs_state_t *state = fs_state_new(sdir);
    fs_out_t *out = fs_out_new_file(path);
    fs_sync_t *sync = state && out ? fs_sync_new(state, out) : NULL;
    CHECK(sync != NULL);
    if (!sync)
        return;
    size_t handed;
    json_t *e = s_events(1, 3);
    CHECK_EQ_INT(fs_sync_offer(sync, e, &handed), FS_SYNC_OK);
    CHECK_EQ_INT(handed, 3);
    json_decref(e);
    e = s_events(2, 4);   /* 2 and 3 again: dropped */
    CHECK_EQ_INT(fs_sync_offer(sync, e, &handed), FS_SYNC_OK);
    CHECK_EQ_INT(handed, 1);
    json_decref(e);
    e = s_events(6, 7);   /* 5 is missing */
    CHECK_EQ_INT(fs_sync_offer(sync, e, &handed), FS_SYNC_GAP);
    CHECK_EQ_INT(handed, 0);
    json_decref(e);
    CHECK_EQ_INT(fs_sync_cursor(sync), 4);
    e = s_events(5, 7);
    CHECK_EQ_INT(fs_sync_offer(sync, e, &handed), FS_SYNC_OK);
    json_decref(e);
    CHECK_EQ_INT(fs_state_cursor(state), 7);
    CHECK_EQ_INT(s_lines_are_1_to_n(path), 7);
    fs_sync_destroy(&sync);
    fs_out_destroy(&out);
    /* The file is the truth: with the state behind it, resume after the file's last line. */
    CHECK_EQ_INT(fs_state_save(state, 2), 0);
    out = fs_out_new_file(path);
    sync = out ? fs_sync_new(state, out) : NULL;
    CHECK_EQ_INT(sync ? fs_sync_cursor(sync) : 0, 7);
    e = s_events(1, 8);
    CHECK_EQ_INT(sync ? fs_sync_offer(sync, e, &handed) : -9, FS_SYNC_OK);
    json_decref(e);
    CHECK_EQ_INT(s_lines_are_1_to_n(path), 8);
    fs_sync_destroy(&sync);
    fs_out_destroy(&out);
    fs_state_destroy(&state);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
}

static void test_exec(void)
{
    char dir[64], sdir[128], log[128], cmd[512];
    hy_test_tmpdir(dir);
    snprintf(sdir, sizeof sdir, "%s/state", dir);
    snprintf(log, sizeof log, "%s/seqs", dir);
    /* Handles an event by recording its sequence; refuses (exit 1) sequence 3 once. */
    snprintf(cmd, sizeof cmd,
             "read -r line; case \"$line\" in *'\"sequence\":'\"$HY_EVENT_SEQ\"*) ;; *) exit 9;; "
             "esac; if [ \"$HY_EVENT_SEQ\" = 3 ] && [ ! -e %s/failed ]; then touch %s/failed; "
             "exit 1; fi; echo \"$HY_EVENT_SEQ $HY_EVENT_TYPE\" >> %s",
             dir, dir, log);
    fs_state_t *state = fs_state_new(sdir);
    fs_out_t *out = fs_out_new_exec(cmd);
    fs_sync_t *sync = state && out ? fs_sync_new(state, out) : NULL;
    CHECK(sync != NULL);
    if (!sync)
        return;
    CHECK(fs_out_per_event(out));
    size_t handed;
    json_t *e = s_events(1, 4);
    CHECK_EQ_INT(fs_sync_offer(sync, e, &handed), FS_SYNC_RETRY);
    CHECK_EQ_INT(handed, 2);
    CHECK_EQ_INT(fs_state_cursor(state), 2);   /* saved after each event */
    CHECK_EQ_INT(fs_sync_offer(sync, e, &handed), FS_SYNC_OK);
    CHECK_EQ_INT(handed, 2);
    json_decref(e);
    char *text = s_slurp(log);
    CHECK_EQ_STR(text, "1 insurance.enrolment.requested\n2 insurance.enrolment.requested\n"
                       "3 insurance.enrolment.requested\n4 insurance.enrolment.requested\n");
    free(text);
    fs_sync_destroy(&sync);
    fs_out_destroy(&out);
    fs_state_destroy(&state);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
}

static uint64_t s_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Generated crash points: the consumer "dies" after a random number of events, sometimes in
 * the middle of a line, sometimes before saving its cursor (the state is rolled back), and is
 * started again; the feed redelivers from wherever it likes. The file ends up 1..N, once each. */
static void test_crash_points(void)
{
    char dir[64], sdir[128], path[128], cmd[300];
    hy_test_tmpdir(dir);
    snprintf(sdir, sizeof sdir, "%s/state", dir);
    snprintf(path, sizeof path, "%s/out.jsonl", dir);
    uint64_t x = 0x2545f4914f6cdd1du;
    const int total = 400;
    for (int round = 0; round < 60; round++) {
        fs_state_t *state = fs_state_new(sdir);
        fs_out_t *out = state ? fs_out_new_file(path) : NULL;
        fs_sync_t *sync = out ? fs_sync_new(state, out) : NULL;
        CHECK(sync != NULL);
        if (!sync)
            break;
        uint64_t cursor = fs_sync_cursor(sync);
        int from = (int)cursor - (int)(s_rand(&x) % 20) + 1;   /* redelivery overlaps */
        int to = from + (int)(s_rand(&x) % 30);
        from = from < 1 ? 1 : from;
        to = to > total ? total : to;
        json_t *e = s_events(from, to);
        fs_sync_offer(sync, e, NULL);
        json_decref(e);
        uint64_t saved = fs_state_cursor(state);
        fs_sync_destroy(&sync);
        fs_out_destroy(&out);
        switch (s_rand(&x) % 3) {
        case 0:   /* died in the middle of writing the next line */
            s_append(path, "{\"specversion\":\"1.0\",\"sequ");
            break;
        case 1:   /* died after the file's fsync, before the cursor was saved */
            CHECK_EQ_INT(fs_state_save(state, saved > 5 ? saved - 5 : 0), 0);
            break;
        default:
            break;
        }
        fs_state_destroy(&state);
    }
    fs_state_t *state = fs_state_new(sdir);
    fs_out_t *out = state ? fs_out_new_file(path) : NULL;
    fs_sync_t *sync = out ? fs_sync_new(state, out) : NULL;
    json_t *e = s_events(1, total);
    CHECK_EQ_INT(sync ? fs_sync_offer(sync, e, NULL) : -9, FS_SYNC_OK);
    json_decref(e);
    CHECK_EQ_INT(s_lines_are_1_to_n(path), total);
    fs_sync_destroy(&sync);
    fs_out_destroy(&out);
    fs_state_destroy(&state);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
}

static void test_http_url(void)
{
    char url[256];
    fs_http_config_t cfg = {.url = "http://gw:8080//", .key = "k", .wait = 25, .limit = 1000};
    CHECK_EQ_INT(fs_http_feed_url(&cfg, 42, url, sizeof url), 0);
    CHECK_EQ_STR(url, "http://gw:8080/v1/feeds/enrolments?after=42&limit=1000&wait=25");
    CHECK_EQ_INT(fs_http_feed_url(&cfg, 42, url, 20), -1);
}

/* A page of events.since walked without decoding: each event's exact span and its top-level
 * sequence (not one inside data, not one in a string); a reply that is not JSON is refused. */
static void test_page_walk(void)
{
    const char *text =
        "{\"id\":\"r-1\",\"status\":200,\"result\":{\"events\":["
        "{\"id\":\"insurance-7\",\"subject\":\"a \\\"sequence\\\":9 }\",\"sequence\":7,"
        "\"data\":{\"sequence\":99,\"list\":[1,{\"x\":[true,null]},-2.5e3]}},"
        "{\"sequence\":8,\"data\":{}}],\"last_seq\":12}}";
    hy_since_t page = {0};
    CHECK_EQ_INT(hy_since_parse(&page, text, strlen(text)), 0);
    CHECK_EQ_STR(page.id, "r-1");
    CHECK_EQ_INT(page.status, 200);
    CHECK(page.has_events);
    CHECK_EQ_INT((int)page.last_seq, 12);
    CHECK_EQ_INT((int)page.n, 2);
    if (page.n == 2) {
        CHECK_EQ_INT((int)page.items[0].seq, 7);
        CHECK_EQ_INT((int)page.items[1].seq, 8);
        CHECK(page.items[0].line[0] == '{' && page.items[0].line[page.items[0].len - 1] == '}');
        json_t *ev = json_loadb(page.items[0].line, page.items[0].len, 0, NULL);
        CHECK(ev && json_integer_value(json_object_get(ev, "sequence")) == 7);
        json_decref(ev);
        CHECK_EQ_INT((int)page.items[1].len, (int)strlen("{\"sequence\":8,\"data\":{}}"));
    }
    const char *bad[] = {"{\"status\":200,\"result\":{\"events\":[{\"sequence\":1}", "[1]", "{\"a\":\"x}", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(hy_since_parse(&page, bad[i], strlen(bad[i])), -1);
    const char *refused = "{\"id\":\"r-2\",\"status\":503,\"error\":{\"code\":\"service_unavailable\"}}";
    CHECK_EQ_INT(hy_since_parse(&page, refused, strlen(refused)), 0);
    CHECK_EQ_INT(page.status, 503);
    CHECK(!page.has_events);
    hy_since_free(&page);
}

/* An event decoded by hy_since_decode is json_loadb's value exactly (the same compact text,
 * integers staying integers, reals reals), and what json_loadb refuses it refuses too. */
static void test_event_decode(void)
{
    const char *texts[] = {
        "{\"specversion\":\"1.0\",\"seq\":12,\"sequence\":\"00000000000000000012\",\"data\":{\"id\":\"prs_12\","
        "\"first_name\":\"\xd9\x85\xd8\xb1\xdb\x8c\xd9\x85\",\"referrals\":[{\"source\":\"self\",\"date\":\"2024-05-01\"}],"
        "\"head_of_household\":true,\"x\":null,\"f\":false,\"n\":-12,\"z\":0,\"e\":{},\"a\":[]}}",
        " { \"a\" : [ 1 , 2 ,\t{\"b\":\r\n\"c\"} ] } \n",
        "{\"r\":1.5,\"big\":123456789012345678,\"bigger\":1234567890123456789,\"exp\":2e3,\"neg\":-0}",
        "{\"esc\":\"a\\\"b\\\\c\\u06cc\\n\",\"after\":\"ok\"}",
        "{\"dup\":1,\"other\":2,\"dup\":3}",
        "[1,\"two\",[3,[4,{\"five\":5}]]]",
        "{\"too_big\":99999999999999999999}",
        "{\"lead\":01}", "{\"nul\":\"a\\u0000b\"}", "{\"ctl\":\"a\tb\"}", "{\"bad_utf8\":\"\xc3\x28\"}",
        "{\"k\xd9\x85\":1}", "{\"esc\\u0041key\":1}", "{\"a\":1} x", "{\"a\":1", "{\"a\":tru}", "{\"a\":1,}",
        "\"just a string\"", "12", "", "{\"a\":-}", "{\"a\":1.}", "{\"a\":[1 2]}",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        size_t n = strlen(texts[i]);
        json_t *want = json_loadb(texts[i], n, 0, NULL), *got = hy_since_decode(texts[i], n);
        char *w = want ? json_dumps(want, JSON_COMPACT) : NULL, *g = got ? json_dumps(got, JSON_COMPACT) : NULL;
        CHECK((want == NULL) == (got == NULL));
        if (w && g)
            CHECK_EQ_STR(g, w);
        free(w);
        free(g);
        json_decref(want);
        json_decref(got);
    }
}

const hy_test_t fundsync_tests[] = {
    {"fundsync.page_walk", test_page_walk},
    {"fundsync.event_decode", test_event_decode},
    {"fundsync.state", test_state},
    {"fundsync.file_recovery", test_file_recovery},
    {"fundsync.sequencer", test_sequencer},
    {"fundsync.exec", test_exec},
    {"fundsync.crash_points", test_crash_points},
    {"fundsync.http_url", test_http_url},
    {0},
};
