/* caprobe: entry point only. Everything else is in probe_main so that tests can link it. */
#include <signal.h>

#include "probe.h"

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* a closed output pipe is an error return, not a death */
    return probe_main(argc, argv);
}
