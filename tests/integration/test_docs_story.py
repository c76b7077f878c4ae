#!/usr/bin/env python3
"""docs/iis-403.md, the IIS 403 story, against the lab: every `console` block of the page is
`$ caprobe ...` and the output shown; the command is run against fixtures/lab/lab.yaml on ports
the kernel chooses (the page's ports 47100 + i stand for the i-th port of the lab's port map,
in the commands, the output and docs/examples/bindings.txt, copied to a temporary folder as
bindings.txt, with fixtures/ linked beside it so that paths read as on the page), and every
shown line must appear in caprobe's output (standard output and error): whole, up to a final `…`
as a prefix, or between a leading and a final `…` as a piece of a line (of a JSON Lines record);
`...` lines stand for lines left out. So the page cannot drift from what caprobe prints.
Emits TAP."""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

DOC = "docs/iis-403.md"
BASE = 47100


def blocks(text):
    return re.findall(r"^```console\n(.*?)^```", text, re.M | re.S)


def shown_in(line, out_lines):
    if len(line) > 2 and line.startswith("…") and line.endswith("…"):
        return any(line[1:-1] in o for o in out_lines)
    if line.endswith("…"):
        return any(o.startswith(line[:-1]) for o in out_lines)
    return line in out_lines


def check_page(tap):
    src = os.path.dirname(os.path.abspath(h.fixtures_dir()))
    with open(os.path.join(src, DOC), encoding="utf-8") as f:
        text = f.read()
    with open(os.path.join(src, "docs", "examples", "bindings.txt"), encoding="utf-8",
              newline="") as f:
        bindings = f.read()
    bs = blocks(text)
    tap.ok(len(bs) >= 9, "%s has its 9 console blocks" % DOC, len(bs))
    with h.LabServer(os.path.join(h.fixtures_dir(), "lab", "lab.yaml")) as lab, \
            tempfile.TemporaryDirectory(prefix="caprobe-story-") as tmp:
        ports = [e["port"] for e in lab.endpoints]

        def sub(s):
            return re.sub(r"\b(47[1][0-2][0-9])\b",
                          lambda m: str(ports[int(m.group(1)) - BASE]), s)

        with open(os.path.join(tmp, "bindings.txt"), "w", encoding="utf-8", newline="") as f:
            f.write(sub(bindings))
        os.symlink(os.path.join(src, "fixtures"), os.path.join(tmp, "fixtures"))
        for b in bs:
            lines = b.splitlines()
            cmd = lines[0]
            if not tap.ok(cmd.startswith("$ caprobe "), "block opens with $ caprobe: %s" % cmd):
                continue
            words = shlex.split(sub(cmd[2:]))
            words = [h.caprobe_path()] + words[1:]
            r = subprocess.run(words, capture_output=True, text=True, cwd=tmp,
                               stdin=subprocess.DEVNULL)
            out = (r.stdout + r.stderr).splitlines()
            want = [sub(x) for x in lines[1:] if x.strip() != "..."]
            missing = [x for x in want if not shown_in(x, out)]
            tap.ok(want and not missing, "%s: the %d lines shown appear in the output"
                   % (cmd, len(want)), "missing:\n" + "\n".join(missing)
                   + "\n--- output:\n" + "\n".join(out))


def main():
    h.install_signal_handlers()
    tap = h.Tap()
    h.run_checks(tap, [check_page])
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
