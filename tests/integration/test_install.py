#!/usr/bin/env python3
"""make install and make uninstall (meson install of the build folder) into a temporary DESTDIR:
the files put in place are exactly the expected ones, read from the source tree (every docs/*.md,
docs/examples/*, a man page for each docs/man/*.in, the bash and zsh completion, ...), byte for byte the same as their sources, the installed binary runs, and
make uninstall leaves the DESTDIR empty. The build folder's prefix and meson install log are put
back as they were. Emits TAP."""

import filecmp
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SOURCE = os.path.abspath(os.path.join(h.fixtures_dir(), ".."))
PREFIX = "/opt/caprobe-test"


def build_dir():
    return os.path.dirname(os.path.abspath(h.caprobe_path()))


def expected():
    """{path under PREFIX: source file or None}: what an install must put in place, from the
    source tree rather than from meson.build."""
    docs = os.path.join(SOURCE, "docs")
    want = {"bin/caprobe": None, "share/doc/caprobe/README.md": os.path.join(SOURCE, "README.md")}
    for f in sorted(os.listdir(docs)):
        if f.endswith(".md") or f.endswith(".schema.json"):
            want["share/doc/caprobe/" + f] = os.path.join(docs, f)
    for f in sorted(os.listdir(os.path.join(docs, "examples"))):
        want["share/doc/caprobe/examples/" + f] = os.path.join(docs, "examples", f)
    # docs/man/NAME.S.in, filled in by the build (build/docs/NAME.S)
    for f in sorted(os.listdir(os.path.join(docs, "man"))):
        if f.endswith(".in"):
            page = f[:-3]
            want["share/man/man%s/%s" % (page.rsplit(".", 1)[1], page)] = \
                os.path.join(build_dir(), "docs", page)
    comp = os.path.join(docs, "completion")
    want["share/bash-completion/completions/caprobe"] = os.path.join(comp, "caprobe.bash")
    want["share/zsh/site-functions/_caprobe"] = os.path.join(comp, "_caprobe")
    return want


def files_under(root):
    out = []
    for d, _, names in os.walk(root):
        out += [os.path.relpath(os.path.join(d, n), root) for n in names]
    return sorted(out)


def meson_prefix(build):
    r = subprocess.run(["meson", "introspect", "--buildoptions", build], capture_output=True,
                       text=True, check=True)
    import json
    return [o["value"] for o in json.loads(r.stdout) if o["name"] == "prefix"][0]


def make(args, build):
    return subprocess.run(["make", "-C", SOURCE, "BUILD=" + build] + args, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=600)


def check_install(tap, tmp):
    build = build_dir()
    dest = os.path.join(tmp, "dest")
    r = make(["install", "PREFIX=" + PREFIX, "DESTDIR=" + dest], build)
    if not tap.ok(r.returncode == 0, "make install PREFIX DESTDIR: exit 0",
                  r.stdout[-3000:] + r.stderr[-3000:]):
        return
    root = dest + PREFIX
    want = expected()
    got = files_under(dest)
    tap.eq(got, sorted(PREFIX.lstrip("/") + "/" + p for p in want),
           "make install: exactly the expected files, under DESTDIR/PREFIX")
    differ = [p for p, src in want.items()
              if src and os.path.exists(os.path.join(root, p))
              and not filecmp.cmp(src, os.path.join(root, p), shallow=False)]
    tap.eq(differ, [], "installed documentation and man pages are byte for byte their sources")
    exe = os.path.join(root, "bin/caprobe")
    tap.ok(os.access(exe, os.X_OK), "bin/caprobe is executable")
    v = subprocess.run([exe, "--version"], capture_output=True, text=True)
    tap.ok(v.returncode == 0 and v.stdout.startswith("caprobe "),
           "the installed caprobe runs: --version", v.stdout + v.stderr)

    r = make(["uninstall"], build)
    tap.ok(r.returncode == 0, "make uninstall: exit 0", r.stdout[-3000:] + r.stderr[-3000:])
    left = files_under(dest) if os.path.exists(dest) else []
    tap.eq(left, [], "make uninstall: no file left in DESTDIR")
    tap.ok(not os.path.exists(root), "make uninstall: the folders install made are gone too")


def main():
    h.install_signal_handlers()
    tap = h.Tap()
    if h.caprobe_path() is None or shutil.which("make") is None:
        tap.skip("make install", "no caprobe binary or no make")
        return tap.finish()
    build = build_dir()
    log = os.path.join(build, "meson-logs", "install-log.txt")
    saved_log = open(log, "rb").read() if os.path.exists(log) else None
    prefix = meson_prefix(build)
    tmp = tempfile.mkdtemp(prefix="caprobe-install-")
    try:
        h.run_checks(tap, [check_install], tmp)
    finally:
        subprocess.run(["meson", "configure", build, "-Dprefix=" + prefix], capture_output=True)
        if saved_log is None:
            if os.path.exists(log):
                os.unlink(log)
        else:
            with open(log, "wb") as f:
                f.write(saved_log)
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
