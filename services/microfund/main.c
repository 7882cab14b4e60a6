/*
 * main.c — the micro-fund service process: savings-and-loan funds, their meetings, loans,
 * share-outs and trainings. Everything but the wiring lives in the skeleton (shared/service.c)
 * and the service's own files.
 */
#include "microfund.h"

int main(int argc, char **argv)
{
    return hy_service_main(&microfund_def, argc, argv);
}
