/*
 * main.c — the reporting service process: the six-month report and indicator tables, from
 * every other service's events. Start as many replicas as needed, each with its own
 * `--data DIR` and `--pub none`; everything but the wiring lives in the skeleton and the
 * reporting files.
 */
#include "reporting.h"

int main(int argc, char **argv)
{
    return hy_service_main(&reporting_def, argc, argv);
}
