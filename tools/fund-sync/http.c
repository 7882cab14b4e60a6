/*
 * http.c — following the feed over HTTP, for a fund that reaches only the gateway.
 *
 * One request at a time: GET {url}/v1/feeds/enrolments?after=CURSOR&limit=N&wait=W with the
 * fund's API key. The gateway holds the request (long polling) until an event exists or W
 * seconds pass, so an idle consumer costs one request every W seconds and a new event arrives
 * within a fraction of a second. Pages come in sequence order starting right after the cursor;
 * the sequencer still checks every number. Failures (gateway down, 503 while the insurance
 * service restarts, 504) are retried with a growing pause; 401 and 403 mean the key is wrong
 * and no retry will fix that, so the program stops with exit code 3.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fundsync.h"
#include "log.h"

#define BODY_MAX (64u << 20)
/* A feed that answers an empty page at once (no long polling) is asked again no sooner. */
#define MIN_EMPTY_INTERVAL_MS 1000

typedef struct {
    char *data;
    size_t len, cap;
    bool too_big;
} s_body_t;

static size_t s_on_data(char *ptr, size_t size, size_t nmemb, void *user)
{
    s_body_t *b = user;
    size_t n = size * nmemb;
    if (b->len + n + 1 > BODY_MAX) {
        b->too_big = true;
        return 0;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
            return 0;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* Called by libcurl about once a second during a transfer: a SIGTERM ends a long poll now. */
static int s_on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                         curl_off_t ulnow)
{
    (void)user, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return fs_stopping ? 1 : 0;
}

int fs_http_feed_url(const fs_http_config_t *cfg, uint64_t after, char *out, size_t outsz)
{
    size_t base = strlen(cfg->url);
    while (base > 0 && cfg->url[base - 1] == '/')
        base--;
    int n = snprintf(out, outsz, "%.*s/v1/feeds/enrolments?after=%" PRIu64 "&limit=%d&wait=%d",
                     (int)base, cfg->url, after, cfg->limit, cfg->wait);
    return n > 0 && (size_t)n < outsz ? 0 : -1;
}

/* One GET of the feed. Returns the HTTP status (0 when there was no answer), body in *b. */
static long s_get(CURL *curl, const fs_http_config_t *cfg, struct curl_slist *headers,
                  uint64_t after, s_body_t *b)
{
    char url[2048];
    if (fs_http_feed_url(cfg, after, url, sizeof url) != 0)
        return 0;
    b->len = 0;
    b->too_big = false;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, s_on_progress);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)cfg->wait + 30L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    else if (!fs_stopping)
        hy_log_warn("http", "GET %s failed: %s", url,
                    b->too_big ? "answer too large" : curl_easy_strerror(rc));
    return status;
}

/* Offers a 200 answer's events. FS_SYNC_* or -2 when the body is not a feed page. */
static int s_offer(fs_sync_t *sync, const s_body_t *b, size_t *got)
{
    json_t *page = json_loadb(b->data ? b->data : "", b->len, 0, NULL);
    json_t *events = json_object_get(page, "events");
    *got = json_array_size(events);
    int rc = json_is_array(events) ? fs_sync_offer(sync, events, NULL) : -2;
    if (rc == -2)
        hy_log_warn("http", "the feed's answer is not {\"events\":[...]}");
    json_decref(page);
    return rc;
}

int fs_http_run(const fs_http_config_t *cfg, fs_sync_t *sync)
{
    int code = 1;
    char auth[600];
    s_body_t body = {0};
    fs_backoff_t backoff = {0};
    struct curl_slist *headers = NULL;
    CURL *curl = curl_easy_init();
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", cfg->key);
    if (!curl || !(headers = curl_slist_append(headers, auth)) ||
        !(headers = curl_slist_append(headers, "Accept: application/json")))
        goto done;
    hy_log_info("http", "following %s/v1/feeds/enrolments after %" PRIu64, cfg->url,
                fs_sync_cursor(sync));
    while (!fs_stopping) {
        int64_t t0 = hy_now_us();
        long status = s_get(curl, cfg, headers, fs_sync_cursor(sync), &body);
        if (fs_stopping)
            break;
        if (status == 401 || status == 403) {
            hy_log_error("http", "the gateway refused the key (HTTP %ld): it must be an "
                         "insurance_fund or operator key", status);
            code = 3;
            goto done;
        }
        size_t got = 0;
        int rc = status == 200 ? s_offer(sync, &body, &got) : -2;
        if (status != 200 && status != 0)
            hy_log_warn("http", "the feed answered HTTP %ld; asking again shortly", status);
        if (rc == FS_SYNC_FATAL)
            goto done;
        if (rc == FS_SYNC_GAP)
            hy_log_warn("http", "the feed's page does not start right after %" PRIu64,
                        fs_sync_cursor(sync));
        if (rc == -2 || rc == FS_SYNC_RETRY || rc == FS_SYNC_GAP) {
            fs_backoff_wait(&backoff);
            continue;
        }
        fs_backoff_reset(&backoff);
        int64_t took_ms = (hy_now_us() - t0) / 1000;
        if (got == 0 && took_ms < MIN_EMPTY_INTERVAL_MS)
            fs_sleep_ms((int)(MIN_EMPTY_INTERVAL_MS - took_ms));
    }
    code = 0;
done:
    hy_log_info("http", "stopping with the cursor at %" PRIu64, fs_sync_cursor(sync));
    curl_slist_free_all(headers);
    if (curl)
        curl_easy_cleanup(curl);
    free(body.data);
    return code;
}
