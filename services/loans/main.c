/*
 * main.c — the loans service process: loan products, applications, disbursements, repayments,
 * arrears and the portfolio. Everything but the wiring lives in the skeleton (shared/service.c)
 * and the loans service's own files.
 */
#include "loans.h"

int main(int argc, char **argv)
{
    return hy_service_main(&loans_def, argc, argv);
}
