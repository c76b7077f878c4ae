#!/usr/bin/env python3
"""docs/ci.md, the CI recipes, against YAML and caprobe's parser: each YAML block parses
(python3-yaml), and every `caprobe` command line of the page (in its YAML jobs and its shell
blocks) is one caprobe's parser accepts: the line is run with --explain (caprobe) or --help
(report, diff) appended, which act only once every option before them has been read and
checked. Emits TAP."""

import os
import re
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from cliopts import read  # noqa: E402

DOC = "docs/ci.md"


def blocks(text, lang):
    return re.findall(r"^```%s\n(.*?)^```" % lang, text, re.M | re.S)


SHELL_KEYS = {"run", "script", "before_script", "after_script"}


def strings(node, shell=False):
    """The shell text of a CI file: the values of its run and *script keys."""
    if isinstance(node, str):
        if shell:
            yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from strings(v, shell or k in SHELL_KEYS)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v, shell)


def command_lines(text):
    """caprobe command lines of shell text, continuation lines joined, cut at the first shell
    operator."""
    out = []
    for line in re.sub(r"\\\n\s*", " ", text).splitlines():
        line = line.strip()
        if not line.startswith("caprobe "):
            continue
        words = []
        for w in shlex.split(line, comments=True):
            if w in ("||", "&&", "|", ">>", ">", ";"):
                break
            words.append(w)
        out.append(words)
    return out


def accepted(caprobe, words):
    sub = words[1] if len(words) > 1 and words[1] in ("report", "diff", "exporter") else None
    tail = ["--help"] if sub else ["--explain", "empty-ca-list"]
    r = subprocess.run([caprobe] + words[1:] + tail, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    return r.returncode == 0, r.stderr


def check_page(tap, caprobe):
    text = read(DOC)
    try:
        import yaml
    except ImportError:
        yaml = None
    lines = []
    ys = blocks(text, "yaml")
    tap.ok(len(ys) >= 2, "%s has the GitHub Actions and GitLab CI jobs" % DOC)
    for i, y in enumerate(ys, 1):
        if yaml is None:
            tap.skip("YAML block %d parses" % i, "python3-yaml is not installed")
            lines += command_lines(y.replace("- caprobe", "caprobe"))
            continue
        try:
            doc = yaml.safe_load(y)
            tap.ok(isinstance(doc, dict), "YAML block %d parses" % i)
        except yaml.YAMLError as e:
            tap.ok(False, "YAML block %d parses" % i, str(e))
            continue
        for s in strings(doc):
            lines += command_lines(s)
    for sh in blocks(text, "sh"):
        lines += command_lines(sh)
    tap.ok(len(lines) >= 10, "caprobe command lines were found (%d)" % len(lines))
    for words in lines:
        ok, err = accepted(caprobe, words)
        tap.ok(ok, "caprobe takes: %s" % " ".join(words), err)


def main():
    tap = h.Tap()
    h.run_checks(tap, [check_page], h.caprobe_path())
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
