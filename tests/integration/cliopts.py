"""The options caprobe's parsers take, read from their sources: the getopt tables of
probe/cli.c (caprobe, caprobe report), report/diff.c and report/netshout.c (caprobe netsh), and
the arguments probe/exporter.c compares. For the tests that hold the man page, --help and the shell completion to them."""

import os
import re

import harness as h

SOURCE = os.path.abspath(os.path.join(h.fixtures_dir(), ".."))
COMMANDS = ["caprobe", "report", "diff", "netsh", "exporter"]


def read(rel):
    with open(os.path.join(SOURCE, rel), encoding="utf-8") as f:
        return f.read()


def table(src, start):
    """Option names and short letters of the struct option table that begins at `start`."""
    i = src.index(start)
    body = src[i:src.index("};", i)]
    return set(re.findall(r'\{"([a-z0-9-]+)",\s*(?:no|required|optional)_argument', body))


def parsers():
    """{command: (long names, short letters)} read from the parsers' sources."""
    cli, diff, exp = read("probe/cli.c"), read("report/diff.c"), read("probe/exporter.c")
    netsh = read("report/netshout.c")
    netsh_short = re.search(r'getopt_long\(argc, argv, "([^"]*)", netsh_opts', netsh).group(1)
    main_short = re.search(r'getopt_long\(argc, argv, "([^"]*)", long_opts', cli).group(1)
    rep_short = re.search(r'getopt_long\(argc, argv, "([^"]*)", opts', cli).group(1)
    diff_short = re.search(r'getopt_long\(argc, argv, "([^"]*)", diff_opts', diff).group(1)
    i = exp.index("int probe_exporter_main(")
    body = exp[i:exp.index("\n}\n", i)]
    return {
        "caprobe": (table(cli, "static const struct option long_opts[]"),
                    set(re.sub(r"[^A-Za-z0-9]", "", main_short))),
        "report": (table(cli[cli.index("int probe_report_main("):],
                         "static const struct option opts[]"),
                   set(re.sub(r"[^A-Za-z0-9]", "", rep_short))),
        "diff": (table(diff, "static const struct option diff_opts[]"),
                 set(re.sub(r"[^A-Za-z0-9]", "", diff_short))),
        "netsh": (table(netsh, "static const struct option netsh_opts[]"),
                  set(re.sub(r"[^A-Za-z0-9]", "", netsh_short))),
        "exporter": (set(re.findall(r'"--([a-z0-9-]+)=?"', body)),
                     set(re.findall(r'"-([A-Za-z0-9])"', body))),
    }
