/*
 * version.h — Hamyar's version, as hamyarctl --version and the gateway's build-info metric
 * (hamyar_build_info) show it. Raised with each release.
 */
#ifndef HY_VERSION_H
#define HY_VERSION_H

#define HY_VERSION "0.19.0"

#ifdef __VERSION__
#define HY_COMPILER __VERSION__
#else
#define HY_COMPILER "unknown"
#endif

#endif
