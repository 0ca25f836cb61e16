/* main.c: the gwspec-provider binary; everything is in cli.c (see cli.h). */
#include "cli.h"
#include "wc_banned.h"

int main(int argc, char **argv)
{
    return mp_cli_main(argc, argv);
}
