/*
 * main.c — the insurance service process: enrolments with the Social Insurance Fund for
 * Farmers, Villagers and Nomads, and the fund's feed. Everything but the wiring lives in the
 * skeleton (shared/service.c) and the service's own files.
 */
#include "insurance.h"

int main(int argc, char **argv)
{
    return hy_service_main(&insurance_def, argc, argv);
}
