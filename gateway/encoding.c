/*
 * encoding.c — content negotiation by quality values (RFC 9110 12.4.2): which media type of
 * Accept, whether Accept-Encoding takes gzip, and the gzip encoding itself (zlib).
 */
#include "gateway.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* The quality of one list element ("text/csv;q=0.5" -> 0.5); *name and *n get its value. */
static double s_element(const char *p, size_t len, const char **name, size_t *n)
{
    while (len && (*p == ' ' || *p == '\t'))
        p++, len--;
    size_t t = 0;
    while (t < len && p[t] != ';' && p[t] != ' ' && p[t] != '\t')
        t++;
    *name = p;
    *n = t;
    for (size_t i = t; i + 2 < len; i++)
        if ((p[i] == 'q' || p[i] == 'Q') && p[i + 1] == '=' && i > 0 &&
            (p[i - 1] == ';' || p[i - 1] == ' ')) {
            char buf[16];
            size_t m = len - i - 2 < sizeof buf - 1 ? len - i - 2 : sizeof buf - 1;
            memcpy(buf, p + i + 2, m);
            buf[m] = '\0';
            double q = strtod(buf, NULL);
            return q < 0 ? 0 : q > 1 ? 1 : q;
        }
    return 1.0;
}

double hy_gw_accept_q(const char *accept, const char *media, int *position)
{
    /* The most specific matching range decides: type/sub, then a type wildcard, then any. */
    double q = accept && *accept ? 0 : 1;
    int best = -1, pos = 0, at = 1 << 20;
    const char *slash = strchr(media, '/');
    size_t tl = slash ? (size_t)(slash - media) : strlen(media);
    for (const char *p = accept; p && *p; pos++) {
        size_t len = strcspn(p, ",");
        const char *name;
        size_t n;
        double eq = s_element(p, len, &name, &n);
        int spec = -1;
        if (n == strlen(media) && strncasecmp(name, media, n) == 0)
            spec = 2;
        else if (n == tl + 2 && strncasecmp(name, media, tl) == 0 && name[tl] == '/' &&
                 name[tl + 1] == '*')
            spec = 1;
        else if (n == 3 && strncmp(name, "*/*", 3) == 0)
            spec = 0;
        if (spec > best) {
            best = spec;
            q = eq;
            at = pos;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    if (position)
        *position = at;
    return q;
}

bool hy_gw_accepts_gzip(const char *accept_encoding)
{
    double q = 0, star = 0;
    bool named = false;
    for (const char *p = accept_encoding; p && *p;) {
        size_t len = strcspn(p, ",");
        const char *name;
        size_t n;
        double eq = s_element(p, len, &name, &n);
        if ((n == 4 && strncasecmp(name, "gzip", 4) == 0) ||
            (n == 6 && strncasecmp(name, "x-gzip", 6) == 0)) {
            named = true;
            q = eq;
        } else if (n == 1 && *name == '*') {
            star = eq;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return named ? q > 0 : star > 0;
}

char *hy_gw_gzip(const char *in, size_t len, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    uLong cap = deflateBound(&z, (uLong)len);
    unsigned char *out = malloc(cap);
    if (!out)
        goto fail;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        goto fail;
    *out_len = (size_t)z.total_out;
    deflateEnd(&z);
    return (char *)out;
fail:
    free(out);
    deflateEnd(&z);
    return NULL;
}
