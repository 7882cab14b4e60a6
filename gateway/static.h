/*
 * static.h — the office console's files (gateway/console/) served at /console/ by the
 * gateway, with the Persian font from Debian's fonts-farsiweb at /console/fonts/.
 * Internal to gateway/: http.c asks hy_static_wants() on a request's first call.
 */
#ifndef HY_GW_STATIC_H
#define HY_GW_STATIC_H

#include "http.h"

/* True when url is the console's (/console or under /console/). */
bool hy_static_wants(const char *url);
/* Answers a request for one of the console's files at once: GET and HEAD only (405 else),
 * 404 for a name that is not a plain file of the folder. The folder is HY_CONSOLE_DIR, else
 * gateway/console beside the build (the executable's ../../../gateway/console); fonts come
 * from HY_CONSOLE_FONTS, else /usr/share/fonts/truetype/farsiweb. */
enum MHD_Result hy_static_serve(hy_gateway_t *gw, struct MHD_Connection *conn, hy_gw_req_t *req,
                                const char *url, const char *method);

#endif
