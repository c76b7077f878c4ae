#!/usr/bin/env python3
"""make install and make uninstall (meson install of the build folder) into a temporary DESTDIR:
the files put in place are exactly the expected ones, read from the source tree (every docs/*.md,
docs/examples/*, a man page for each docs/man/*.in, the bash and zsh completion, LICENSE and
the third-party notices, ...), byte for byte the same as their sources, the installed binary
runs, and make uninstall leaves the DESTDIR empty. LICENSE is debian/copyright's MIT licence,
and the third-party notices are the copyright files of the Debian packages they name. The build folder's prefix and meson install log are put
back as they were. Emits TAP."""

import filecmp
import os
import re
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
    want = {"bin/caprobe": None, "share/doc/caprobe/README.md": os.path.join(SOURCE, "README.md"),
            "share/doc/caprobe/LICENSE": os.path.join(SOURCE, "LICENSE")}
    for f in sorted(os.listdir(docs)):
        if f.endswith(".md") or f.endswith(".schema.json") or f.endswith(".txt"):
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


def copyright_paragraph(text, name):
    """The text of a `License: NAME` paragraph of a Debian copyright file, unfolded."""
    m = re.search(r"^License: %s\n((?: .*\n?)+)" % re.escape(name), text, re.M)
    if not m:
        return None
    return "".join(("" if l.strip() == "." else l[1:]) + "\n" for l in m.group(1).splitlines())


NOTICE_HEAD = re.compile(r"^-{78}\n([^:\n]+): (/usr/share/doc/([^/\s]+)/copyright|"
                         r"/usr/share/common-licenses/Apache-2\.0) \(([^)]*)\)\n-{78}\n\n", re.M)


def notice_sections(text):
    """[(library, path, what, body)] of third-party-notices.txt."""
    heads = list(NOTICE_HEAD.finditer(text))
    out = []
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body = text[m.end():end]
        out.append((m.group(1), m.group(2), m.group(4), body[:-1] if i + 1 < len(heads) else body))
    return out


def installed_version(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status} ${Version}", pkg], capture_output=True,
                       text=True)
    parts = r.stdout.split()
    return parts[-1] if r.returncode == 0 and "installed" in parts[:3] else None


def mbedtls_doc(build):
    """The libmbedtls-dev doc folder of the prefix the build links mbedTLS from, or None."""
    r = subprocess.run(["meson", "introspect", "--buildoptions", build], capture_output=True,
                       text=True, check=True)
    import json
    prefix = [o["value"] for o in json.loads(r.stdout) if o["name"] == "mbedtls_prefix"][0] or \
        os.path.join(build, "mbedtls", "root", "usr")
    d = os.path.join(prefix, "share", "doc", "libmbedtls-dev")
    return d if os.path.isdir(d) else None


def check_licences(tap, tmp):
    """LICENSE is debian/copyright's MIT paragraph under its copyright line; each section of the
    third-party notices is, byte for byte, the copyright file it names, where the machine has
    that package at that version (Debian 12's -dev packages; mbedTLS's from the prefix the build
    links it from), and the Apache License 2.0 is Debian's."""
    with open(os.path.join(SOURCE, "LICENSE"), encoding="utf-8") as f:
        lic = f.read()
    with open(os.path.join(SOURCE, "debian", "copyright"), encoding="utf-8") as f:
        cr = f.read()
    mit = copyright_paragraph(cr, "MIT")
    holder = re.search(r"^Files: \*\nCopyright: (.*)$", cr, re.M).group(1)
    tap.ok(mit and lic == "MIT License\n\nCopyright (c) %s\n\n%s" % (holder, mit),
           "LICENSE: debian/copyright's MIT licence of caprobe (%s)" % holder, lic[:300])
    with open(os.path.join(SOURCE, "docs", "third-party-notices.txt"), encoding="utf-8") as f:
        notices = notice_sections(f.read())
    tap.eq([n[0] for n in notices], ["libuv", "c-ares", "jansson", "libyaml", "libsodium",
                                     "mbedTLS", "Apache License 2.0"],
           "the third-party notices: the six libraries linked in, then the Apache License 2.0")
    mb = mbedtls_doc(build_dir())
    for lib, path, what, body in notices:
        pkg = what.split()[-2] if lib != "Apache License 2.0" else "base-files"
        version = what.split()[-1]
        if lib == "mbedTLS":
            src = os.path.join(mb, "copyright") if mb else None
            import gzip
            have = None
            if mb and os.path.exists(os.path.join(mb, "changelog.Debian.gz")):
                with gzip.open(os.path.join(mb, "changelog.Debian.gz"), "rt") as f:
                    m = re.match(r"^\S+ \(([^)]+)\)", f.readline())
                    have = m.group(1) if m else None
        elif lib == "Apache License 2.0":
            src, have, version = path, "any", "any"  # the same text in every base-files
        else:
            src, have = path, installed_version(pkg)
        if not src or not os.path.exists(src) or have != version:
            tap.skip("third-party notices: %s" % lib,
                     "%s %s is not on this machine (%s)" % (pkg, version, have))
            continue
        with open(src, encoding="utf-8") as f:
            want = f.read()
        of = "Debian's" if version == "any" else "of %s %s" % (pkg, version)
        tap.ok(body == want, "third-party notices: %s is %s %s, verbatim" % (lib, path, of),
               "refresh the section from %s" % src)


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
        h.run_checks(tap, [check_install, check_licences], tmp)
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
