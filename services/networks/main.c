/*
 * main.c — the networks service process: lead entrepreneurs' networks, their members, buyers
 * and ledgers. Everything but the wiring lives in the skeleton (shared/service.c) and the
 * service's own files.
 */
#include "networks.h"

int main(int argc, char **argv)
{
    return hy_service_main(&networks_def, argc, argv);
}
