#!/usr/bin/env python3
"""The Debian package, built and used as a user would (suite `package`, `make test-package`).

A copy of the source tree is built with `dpkg-buildpackage -b -us -uc` (mbedTLS from the build
folder's prefix, as make package does); the .deb carries the release, depends on the shared
libraries through shlibs and not on mbedTLS, holds the expected files, and lintian finds no
error or warning (overrides documented in debian/caprobe.lintian-overrides). Then it is
installed with dpkg -i: caprobe --version, man -w, the bash completion function, zsh's fpath, a
scan of the lab (the list compared with the lab's issuing CA certificate) and ldd (no mbedTLS);
and removed with dpkg --purge, after which no file of it is left. make dist: the tarball's
binary needs only glibc (readelf, ldd), and runs from another folder with an empty environment
and in a mount namespace whose library folder holds only libc6's files, where it scans the lab. Skipped, with the reason,
without root or dpkg-buildpackage, or when a caprobe package is installed already. Emits TAP."""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from cliopts import SOURCE  # noqa: E402

SHLIBS = ["libuv1", "libc-ares2", "libjansson4", "libyaml-0-2"]


def run(args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(args, **kw)


def installed():
    r = run(["dpkg-query", "-W", "-f=${Status}", "caprobe"])
    return r.returncode == 0 and "installed" in r.stdout and "not-installed" not in r.stdout


def meson_json(build, what):
    return json.loads(run(["meson", "introspect", what, build], check=True).stdout)


def mbedtls_prefix(build):
    """The prefix the build folder links mbedTLS from, for the package build to use as well."""
    opt = [o["value"] for o in meson_json(build, "--buildoptions") if o["name"] == "mbedtls_prefix"]
    if opt and opt[0]:
        return opt[0]
    fetched = os.path.join(build, "mbedtls", "root", "usr")
    return fetched if os.path.isdir(fetched) else ""


def copy_tree(dest):
    """The tracked and untracked-but-not-ignored files of the source tree (no build folders)."""
    r = run(["git", "-C", SOURCE, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            check=True)
    for rel in filter(None, r.stdout.split("\0")):
        src = os.path.join(SOURCE, rel)
        if not os.path.isfile(src):
            continue  # deleted in the work tree
        os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dest, rel))


def check_build(tap, ctx):
    tree = os.path.join(ctx["tmp"], "caprobe-%s" % ctx["release"])
    copy_tree(tree)
    env = dict(os.environ, CAPROBE_MBEDTLS_PREFIX=mbedtls_prefix(ctx["build"]))
    r = run(["dpkg-buildpackage", "-b", "-us", "-uc"], cwd=tree, env=env)
    if not tap.ok(r.returncode == 0, "dpkg-buildpackage -b -us -uc: exit 0",
                  (r.stdout + r.stderr)[-4000:]):
        return
    arch = run(["dpkg", "--print-architecture"], check=True).stdout.strip()
    deb = os.path.join(ctx["tmp"], "caprobe_%s_%s.deb" % (ctx["release"], arch))
    if not tap.ok(os.path.isfile(deb), "the package is %s" % os.path.basename(deb),
                  os.listdir(ctx["tmp"])):
        return
    ctx["deb"] = deb
    ctx["changes"] = os.path.join(ctx["tmp"], "caprobe_%s_%s.changes" % (ctx["release"], arch))
    fields = {k: run(["dpkg-deb", "-f", deb, k], check=True).stdout.strip()
              for k in ["Version", "Depends"]}
    tap.eq(fields["Version"], ctx["release"], "the package's version is the release")
    deps = [d.strip().split()[0] for d in fields["Depends"].split(",")]
    tap.eq(sorted(set(SHLIBS) - set(deps)), [],
           "Depends names libuv1, libc-ares2, libjansson4, libyaml-0-2 (from shlibs)",
           fields["Depends"])
    tap.ok(not any("mbed" in d for d in deps), "Depends names no mbedTLS (linked in statically)",
           fields["Depends"])
    listing = run(["dpkg-deb", "-c", deb], check=True).stdout
    paths = {line.split()[-1].lstrip(".") for line in listing.splitlines()
             if line.startswith("-")}
    ctx["files"] = sorted(paths)
    want = ["/usr/bin/caprobe", "/usr/share/man/man1/caprobe.1.gz",
            "/usr/share/man/man5/caprobe-policy.5.gz",
            "/usr/share/bash-completion/completions/caprobe",
            "/usr/share/zsh/vendor-completions/_caprobe", "/usr/share/doc/caprobe/README.md",
            "/usr/share/doc/caprobe/policy.md", "/usr/share/doc/caprobe/copyright",
            "/usr/share/doc/caprobe/examples/caprobe-exporter.yml"]
    # dh_compress gzips the larger documents
    tap.eq(sorted(p for p in want if p not in paths and p + ".gz" not in paths), [],
           "the package holds the binary, man pages, completion and documentation",
           sorted(paths))
    if shutil.which("lintian") is None:
        tap.skip("lintian", "lintian is not installed (make test-package installs it)")
        return
    r = run(["lintian", "--fail-on", "error,warning", ctx["changes"]])
    tags = [l for l in r.stdout.splitlines() if l[:2] in ("E:", "W:")]
    tap.ok(r.returncode == 0 and tags == [], "lintian: no error or warning",
           r.stdout + r.stderr)


def check_installed(tap, ctx):
    if "deb" not in ctx:
        tap.ok(False, "dpkg -i: no package was built")
        return
    r = run(["dpkg", "-i", ctx["deb"]])
    if not tap.ok(r.returncode == 0 and installed(), "dpkg -i: installed", r.stdout + r.stderr):
        return
    v = run(["/usr/bin/caprobe", "--version"])
    tap.ok(v.stdout.startswith("caprobe %s (" % ctx["release"]) and "git " not in v.stdout,
           "caprobe --version: the release (a package is built outside git)", v.stdout)
    for args, page in [(["caprobe"], "/usr/share/man/man1/caprobe.1.gz"),
                       (["5", "caprobe-policy"], "/usr/share/man/man5/caprobe-policy.5.gz")]:
        m = run(["man", "-w"] + args)
        tap.eq(m.stdout.strip(), page, "man -w %s" % " ".join(args), m.stderr)
    script = ('. /usr/share/bash-completion/completions/caprobe; COMP_WORDS=(caprobe --fail-o); '
              'COMP_CWORD=1; _caprobe caprobe --fail-o caprobe; echo "${COMPREPLY[*]}"')
    b = run(["bash", "--norc", "-c", script])
    tap.eq(sorted(b.stdout.split()), ["--fail-on", "--fail-on-error"],
           "the installed bash completion completes --fail-o", b.stderr)
    if shutil.which("zsh"):
        z = run(["zsh", "-f", "-c", "print -l $fpath"])
        tap.ok("/usr/share/zsh/vendor-completions" in z.stdout.split(),
               "zsh's fpath holds the folder of the installed _caprobe", z.stdout)
    lab_scan(tap, ["/usr/bin/caprobe"], "the installed caprobe")
    ldd = run(["ldd", "/usr/bin/caprobe"])
    tap.ok(ldd.returncode == 0 and "mbed" not in ldd.stdout and "libuv" in ldd.stdout,
           "ldd: libuv shared, mbedTLS linked in", ldd.stdout)


def lab_scan(tap, argv, label):
    """A scan of the lab's right-list endpoint by argv (a command that ends before caprobe's
    arguments): the list must be the lab's issuing CA, byte for byte."""
    with h.LabServer(os.path.join(h.fixtures_dir(), "lab", "lab.yaml")) as lab:
        port = lab.port("right-list")
        r = run(argv + ["-q", "--tls", "1.2", "--format", "jsonl", "127.0.0.1:%d" % port],
                timeout=120)
    recs, _ = h.parse_jsonl(r.stdout)
    obs = (recs[0].get("observations") or [{}])[0] if recs else {}
    names = [base64.b64decode(c["der"])
             for c in obs.get("certificate_request", {}).get("cas", [])]
    issuing = [h.cert_subject_der(c) for c in h.pem_certs(h.pki("issuing.pem"))]
    tap.eq((r.returncode, obs.get("outcome"), names), (0, "certificate_request", issuing),
           "%s scans the lab: the issuing CA's name, byte for byte" % label, r.stderr)


GLIBC_SONAMES = {"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1",
                 "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"}


def needed(exe):
    r = run(["readelf", "-d", exe], check=True)
    return sorted(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", r.stdout))


def glibc_only_root(tmp):
    """A copy of the libc6 package's files of the multiarch library folder: bind-mounted over it
    in a private mount namespace, the machine has no library but glibc's."""
    libdir = os.path.realpath("/lib/%s" % run(["gcc", "-print-multiarch"]).stdout.strip())
    d = os.path.join(tmp, "glibc-only")
    os.mkdir(d)
    for path in run(["dpkg", "-L", "libc6"], check=True).stdout.split():
        if os.path.realpath(os.path.dirname(path)) == libdir and \
                (os.path.islink(path) or os.path.isfile(path)):
            shutil.copy2(path, d, follow_symlinks=False)
    return libdir, d


def check_dist(tap, ctx):
    dist = os.path.join(ctx["tmp"], "build-dist")
    prefix = mbedtls_prefix(ctx["build"])
    r = run(["make", "-C", SOURCE, "dist", "DIST_BUILD=" + dist] +
            (["DIST_MESON_OPTS=-Dmbedtls_prefix=" + prefix] if prefix else []))
    if not tap.ok(r.returncode == 0, "make dist: exit 0", (r.stdout + r.stderr)[-4000:]):
        return
    name = "caprobe-%s-linux-%s" % (ctx["release"], os.uname().machine)
    tarball = os.path.join(dist, name + ".tar.gz")
    if not tap.ok(os.path.isfile(tarball), "make dist made %s.tar.gz" % name, os.listdir(dist)):
        return
    x = os.path.join(ctx["tmp"], "unpacked")
    os.mkdir(x)
    import tarfile
    with tarfile.open(tarball) as t:
        members = t.getnames()
        t.extractall(x)
    want = ["bin/caprobe", "share/man/man1/caprobe.1", "share/man/man5/caprobe-policy.5",
            "share/bash-completion/completions/caprobe", "share/zsh/site-functions/_caprobe",
            "share/doc/caprobe/README.md"]
    tap.eq([w for w in want if name + "/" + w not in members], [],
           "the tarball holds one folder with the binary, man pages, completion and docs")
    # the binary from another folder, alone, with an empty environment
    exe = os.path.join(ctx["tmp"], "elsewhere", "caprobe")
    os.makedirs(os.path.dirname(exe))
    shutil.copy2(os.path.join(x, name, "bin", "caprobe"), exe)
    deps = needed(exe)
    tap.eq(sorted(set(deps) - GLIBC_SONAMES), [], "readelf: the binary needs only glibc", deps)
    ldd = run(["ldd", exe]).stdout
    tap.ok(not re.search(r"libuv|libcares|libjansson|libyaml|mbed", ldd),
           "ldd: no libuv, c-ares, jansson, libyaml or mbedTLS", ldd)
    v = run(["env", "-i", exe, "--version"])
    tap.ok(v.stdout.startswith("caprobe %s (" % ctx["release"]),
           "the tarball's caprobe --version: the release, from any folder, empty environment",
           v.stdout + v.stderr)
    size = os.path.getsize(exe)
    tap.diag("%s.tar.gz: %d KiB; bin/caprobe: %d KiB" % (name, os.path.getsize(tarball) // 1024,
                                                         size // 1024))
    if shutil.which("unshare") is None:
        tap.skip("glibc alone", "no unshare (util-linux)")
        return
    libdir, only = glibc_only_root(ctx["tmp"])
    bind = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
    wrap = ["unshare", "-m", "sh", "-c", bind, "sh", only, libdir, exe]
    probe = run(wrap + ["--version"])
    tap.ok(probe.returncode == 0 and probe.stdout.startswith("caprobe "),
           "with only libc6's files in %s, the tarball's caprobe runs" % libdir,
           probe.stdout + probe.stderr)
    sanity = run(["unshare", "-m", "sh", "-c", bind, "sh", only, libdir, ctx["caprobe"],
                  "--version"])
    tap.ok(sanity.returncode != 0, "(the build folder's caprobe, needing libuv and others, "
           "does not run there)", sanity.stdout + sanity.stderr)
    lab_scan(tap, wrap, "with glibc alone, the tarball's caprobe")


def check_purge(tap, ctx):
    if not installed():
        tap.ok(False, "dpkg --purge: the package was not installed")
        return
    r = run(["dpkg", "--purge", "caprobe"])
    tap.ok(r.returncode == 0 and not installed(), "dpkg --purge caprobe", r.stdout + r.stderr)
    left = [p for p in ctx.get("files", []) if os.path.lexists(p)]
    tap.eq(left, [], "no file of the package is left")
    for d in ["/usr/share/doc/caprobe", "/usr/share/zsh/vendor-completions/_caprobe"]:
        tap.ok(not os.path.lexists(d), "%s is gone" % d)


def main():
    h.install_signal_handlers()
    tap = h.Tap()
    missing = [t for t in ["dpkg-buildpackage", "dh", "dpkg"] if shutil.which(t) is None]
    if os.geteuid() != 0 or missing:
        tap.skip("the Debian package", "needs root and %s" % ", ".join(missing or ["root"]))
        return tap.finish()
    if installed():
        tap.skip("the Debian package", "a caprobe package is installed already: not replaced")
        return tap.finish()
    build = os.path.dirname(os.path.abspath(h.caprobe_path()))
    ctx = {"build": build, "release": meson_json(build, "--projectinfo")["version"],
           "caprobe": h.caprobe_path(),
           "tmp": tempfile.mkdtemp(prefix="caprobe-package-")}
    try:
        h.run_checks(tap, [check_build, check_installed, check_purge, check_dist], ctx)
    finally:
        if installed():
            run(["dpkg", "--purge", "caprobe"])
        shutil.rmtree(ctx["tmp"], ignore_errors=True)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
