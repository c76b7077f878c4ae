#!/usr/bin/env python3
"""One version everywhere: caprobe --version shows the release, meson's project version (read
with meson introspect), and in a git checkout the `git describe` of the commit built (the test
runs git itself); the man pages carry the same release (caprobe(1)'s text, and both pages' .Os,
the footer mandoc and groff render), and so does debian/changelog when there is one. Emits
TAP."""

import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from cliopts import SOURCE, read  # noqa: E402


def project_version(build):
    r = subprocess.run(["meson", "introspect", "--projectinfo", build], capture_output=True,
                       text=True, check=True)
    return json.loads(r.stdout)["version"]


def git_describe():
    """`git describe` of the source tree without --dirty (the tree may change after the build),
    or None outside a git checkout."""
    try:
        r = subprocess.run(["git", "-C", SOURCE, "describe", "--tags", "--always"],
                           capture_output=True, text=True)
    except FileNotFoundError:
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def check_version(tap, caprobe, build):
    release = project_version(build)
    tap.ok(re.match(r"^\d+\.\d+\.\d+$", release), "meson's project version is a release number",
           release)
    r = subprocess.run([caprobe, "--version"], capture_output=True, text=True)
    tap.eq(r.returncode, 0, "caprobe --version exits 0")
    line = r.stdout.strip()
    tap.ok(line.startswith("caprobe %s (" % release),
           "caprobe --version starts with the release %s" % release, line)
    describe = git_describe()
    if describe is None:
        tap.ok("git " not in line, "outside a git checkout: no git describe", line)
    else:
        m = re.search(r"\(git ([^;)]+);", line)
        got = m.group(1) if m else None
        tap.ok(got is not None and re.sub(r"-dirty$", "", got) == describe,
               "in a git checkout: the git describe of the commit built (%s)" % describe, line)
    tap.ok(re.search(r"mbedTLS 3\.6\.\d+, c-ares \d+\.\d+", line),
           "caprobe --version names mbedTLS 3.6 and c-ares", line)
    # the libsodium linked in, as pkg-config knows the one the build found
    pc = subprocess.run(["pkg-config", "--modversion", "libsodium"], capture_output=True, text=True)
    m = re.search(r", libsodium ([0-9.]+)\)$", line)
    tap.ok(m and pc.returncode == 0 and m.group(1) == pc.stdout.strip(),
           "caprobe --version names the libsodium pkg-config has (%s)" % pc.stdout.strip(), line)


def check_pages(tap, caprobe, build):
    release = project_version(build)
    for page in ["caprobe.1", "caprobe-policy.5"]:
        with open(os.path.join(build, "docs", page), encoding="utf-8") as f:
            text = f.read()
        tap.ok("@VERSION@" not in text and "@DOCDIR@" not in text,
               "%s: every placeholder is filled in" % page)
    with open(os.path.join(build, "docs", "caprobe.1"), encoding="utf-8") as f:
        tap.ok("\n%s.\n" % release in f.read(), "caprobe(1) carries the release %s" % release)
    # the footer of both pages, as the formatters man uses render it (an empty .Os is "BSD" in
    # groff's footer, the machine's uname in mandoc's)
    renderers = [argv for argv in (["mandoc", "-T", "ascii"], ["groff", "-mdoc", "-T", "ascii"])
                 if shutil.which(argv[0])]
    if not renderers:
        tap.skip("the pages' footers", "neither mandoc nor groff is installed")
    for page in ["caprobe.1", "caprobe-policy.5"]:
        path = os.path.join(build, "docs", page)
        with open(path, encoding="utf-8") as f:
            tap.ok(re.search(r"^\.Os caprobe %s$" % re.escape(release), f.read(), re.M),
                   "%s: .Os caprobe %s" % (page, release))
        for argv in renderers:
            r = subprocess.run(argv + [path], capture_output=True, text=True)
            lines = [l.strip() for l in re.sub(r".\x08", "", r.stdout).splitlines() if l.strip()]
            foot = lines[-1] if lines else ""
            tap.ok(r.returncode == 0 and re.match(r"^caprobe %s\s.*\scaprobe %s$" % (
                re.escape(release), re.escape(release)), foot),
                "%s rendered by %s: the footer names caprobe %s" % (page, argv[0], release),
                foot)
    if os.path.exists(os.path.join(SOURCE, "debian", "changelog")):
        first = read("debian/changelog").splitlines()[0]
        m = re.match(r"^caprobe \(([^)]+)\)", first)
        tap.eq(m.group(1) if m else first, release,
               "debian/changelog's version is the release (a native package)")


def main():
    tap = h.Tap()
    caprobe = h.caprobe_path()
    build = os.path.dirname(os.path.abspath(caprobe))
    h.run_checks(tap, [check_version, check_pages], caprobe, build)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
