/*
 * cors.c — Cross-Origin Resource Sharing for browser clients on other origins.
 *
 * HY_CORS_ORIGINS lists the origins allowed ("https://a.example,https://b.example"), or "*"
 * for any; unset or empty, none (the default: a browser page elsewhere cannot call the API).
 * An allowed origin gets Access-Control-Allow-Origin on every answer (errors too, so a page can
 * read the problem) and a preflight (OPTIONS) answered with the path's methods and the request
 * headers the API reads. Credentials (cookies) are never wildcarded: a listed origin is echoed
 * with Access-Control-Allow-Credentials: true; "*" never is. The API itself takes its key from
 * the Authorization header, which needs no credentials mode.
 */
#include "gateway.h"

#include <string.h>
#include <strings.h>

const char *hy_gw_cors_allow(const char *origins, const char *origin)
{
    if (!origins || !*origins || !origin || !*origin)
        return NULL;
    size_t n = strlen(origin);
    for (const char *p = origins; *p;) {
        p += strspn(p, ", ");
        size_t len = strcspn(p, ", ");
        if (len == 1 && *p == '*')
            return "*";
        if (len && len == n && strncasecmp(p, origin, n) == 0)
            return origin;
        p += len;
    }
    return NULL;
}

int hy_gw_cors_headers(struct MHD_Response *resp, const char *allow_origin, const char *methods)
{
    if (!allow_origin)
        return 0;
    if (MHD_add_response_header(resp, "Access-Control-Allow-Origin", allow_origin) != MHD_YES)
        return -1;
    if (strcmp(allow_origin, "*") != 0 &&
        MHD_add_response_header(resp, "Access-Control-Allow-Credentials", "true") != MHD_YES)
        return -1;
    if (!methods)   /* an actual request: what the page's script may read */
        return MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                                       "ETag, Location, Retry-After, X-Request-Id, "
                                       "Content-Language, Content-Disposition, Link") == MHD_YES
                   ? 0 : -1;
    return MHD_add_response_header(resp, "Access-Control-Allow-Methods", methods) == MHD_YES &&
                   MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                                           "Authorization, Content-Type, Accept, "
                                           "Accept-Language, If-Match, If-None-Match, "
                                           "Idempotency-Key, X-Request-Id") == MHD_YES &&
                   MHD_add_response_header(resp, "Access-Control-Max-Age", "600") == MHD_YES
               ? 0 : -1;
}
