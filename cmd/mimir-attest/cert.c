/* mimir-attest cert — not yet: see mimir-attest(1). */
#include <stdio.h>

#include "tool.h"

int cert_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, PROG ": cert: not implemented yet\n");
    return MIMIR_EINPUT;
}
