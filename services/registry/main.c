/*
 * main.c — the registry service process: persons, home businesses and activities. Everything
 * but the wiring lives in the skeleton (shared/service.c) and the registry's own files.
 */
#include "registry.h"

int main(int argc, char **argv)
{
    return hy_service_main(&registry_def, argc, argv);
}
