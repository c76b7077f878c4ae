/* probe_main: which command runs. A subcommand goes to its module (diff and netsh to report/,
 * report to cli.c's probe_report_main, exporter to exporter.c); otherwise the command line
 * (cli.c) says what to do with the options. Apart from cli.c, since the exporter reads its modules'
 * options with cli.c's parser. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "exporter.h"
#include "internal.h"
#include "report/baseline.h"
#include "report/netsh.h"
#include "resolver.h"
#include "tls/keyex13.h"
#include "version.h"

int probe_main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "diff") == 0)
        return report_diff_main(argc - 1, argv + 1, stdout, stderr);
    if (argc > 1 && strcmp(argv[1], "report") == 0)
        return probe_report_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "netsh") == 0)
        return report_netsh_main(argc - 1, argv + 1, stdout, stderr);
    if (argc > 1 && strcmp(argv[1], "exporter") == 0)
        return probe_exporter_main(argc - 1, argv + 1);
    struct probe_config c;
    probe_config_init(&c);
    int rc = probe_config_parse(&c, argc, argv, stderr);
    if (rc == 0) {
        switch (c.action) {
        case PROBE_ACTION_SCAN:
            rc = probe_run(&c);
            break;
        case PROBE_ACTION_HELP:
            probe_usage(stdout);
            break;
        case PROBE_ACTION_VERSION: {
            /* the release; in a git checkout, which commit of it (version.h) */
            bool git = strcmp(CAPROBE_GIT_DESCRIBE, CAPROBE_VERSION) != 0;
            printf("caprobe %s (%s%s%smbedTLS %s, c-ares %s, libsodium %s)\n", CAPROBE_VERSION,
                   git ? "git " : "", git ? CAPROBE_GIT_DESCRIBE : "", git ? "; " : "",
                   CAPROBE_MBEDTLS_VERSION, probe_resolver_version(), tls_keyex13_sodium_version());
            break;
        }
        case PROBE_ACTION_EXPLAIN:
            rc = probe_explain(c.explain, stdout, stderr);
            break;
        }
    }
    probe_config_free(&c);
    return rc;
}
