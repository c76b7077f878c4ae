#!/usr/bin/env python3
"""The Debian package, built and used as a user would (suite `package`, `make test-package`).

A copy of the source tree, made a git checkout of one commit as make package's tree is, is built
with `dpkg-buildpackage -b -us -uc` (mbedTLS from the build folder's prefix, as make package
does); what the build leaves in the tree is ignored by .gitignore and .dockerignore. The .deb
carries the release, depends on the shared libraries through shlibs and not on mbedTLS,
recommends ca-certificates, holds the expected files (the schema and the .md files uncompressed,
as caprobe(1) names them), and its copyright file holds LICENSE's text and mbedTLS's Apache-2.0
and names only files that exist; lintian finds no error or warning (overrides documented in
debian/caprobe.lintian-overrides). Then it is installed with dpkg -i: caprobe --version (the
release alone, no git describe), man -w, every path caprobe(1)'s FILES names under /usr, the bash
completion function, zsh's fpath, a scan of the lab (the list compared with the lab's issuing CA
certificate) and ldd (no mbedTLS); and removed with dpkg --purge, after which no file of it is
left. The Dockerfile's build stage: its make dist line, with its variables, and the mkdir and tar
after it are run here (folders moved; the dist build folder is kept in the build folder for the
next run); the tarball holds LICENSE and the third-party notices, every file the image's stage
copies is there, the binary needs only glibc (readelf, ldd), and runs from another folder with an
empty environment and in a mount namespace whose library folder holds only libc6's files, where
it scans the lab. Skipped, with the reason, without root or dpkg-buildpackage, or when a caprobe
package is installed already. Emits TAP."""

import base64
import fnmatch
import glob
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from cliopts import SOURCE  # noqa: E402

SHLIBS = ["libuv1", "libc-ares2", "libjansson4", "libyaml-0-2", "libsodium23"]


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


def git_checkout(tree):
    """Make the copy a git checkout of one commit, as make package's tree is."""
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "copy"]):
        run(["git", "-C", tree] + args, check=True, env=env)


def dockerignored(path, patterns):
    """Whether .dockerignore's patterns leave path (relative to the context) out: a pattern
    matches the path or one of its parent folders (Docker's rule, without ** and !)."""
    parts = path.rstrip("/").split("/")
    return any(fnmatch.fnmatchcase("/".join(parts[:i]), p.strip("/"))
               for p in patterns for i in range(1, len(parts) + 1))


def check_build(tap, ctx):
    tree = os.path.join(ctx["tmp"], "caprobe-%s" % ctx["release"])
    copy_tree(tree)
    git_checkout(tree)
    env = dict(os.environ, CAPROBE_MBEDTLS_PREFIX=mbedtls_prefix(ctx["build"]))
    r = run(["dpkg-buildpackage", "-b", "-us", "-uc"], cwd=tree, env=env)
    if not tap.ok(r.returncode == 0, "dpkg-buildpackage -b -us -uc: exit 0",
                  (r.stdout + r.stderr)[-4000:]):
        return
    # what the build left in the tree: ignored by git, and out of docker build's context
    st = run(["git", "-C", tree, "status", "--porcelain", "--ignored"], check=True).stdout
    tap.eq([l[3:] for l in st.splitlines() if not l.startswith("!! ")], [],
           "after the build, git status shows nothing new (.gitignore)", st)
    with open(os.path.join(tree, ".dockerignore"), encoding="utf-8") as f:
        patterns = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    left = [l[3:] for l in st.splitlines() if l.startswith("!! ")]
    tap.ok(left and [p for p in left if not dockerignored(p, patterns)] == [],
           "what the build left is out of docker build's context (.dockerignore)", left)
    arch = run(["dpkg", "--print-architecture"], check=True).stdout.strip()
    deb = os.path.join(ctx["tmp"], "caprobe_%s_%s.deb" % (ctx["release"], arch))
    if not tap.ok(os.path.isfile(deb), "the package is %s" % os.path.basename(deb),
                  os.listdir(ctx["tmp"])):
        return
    ctx["deb"] = deb
    ctx["changes"] = os.path.join(ctx["tmp"], "caprobe_%s_%s.changes" % (ctx["release"], arch))
    fields = {k: run(["dpkg-deb", "-f", deb, k], check=True).stdout.strip()
              for k in ["Version", "Depends", "Recommends"]}
    tap.eq(fields["Version"], ctx["release"], "the package's version is the release")
    tap.eq(fields["Recommends"], "ca-certificates",
           "Recommends: ca-certificates (the system bundle root-store-dump compares with)")
    deps = [d.strip().split()[0] for d in fields["Depends"].split(",")]
    tap.eq(sorted(set(SHLIBS) - set(deps)), [],
           "Depends names libuv1, libc-ares2, libjansson4, libyaml-0-2, libsodium23 (from shlibs)",
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
            "/usr/share/doc/caprobe/caprobe-1.schema.json",
            "/usr/share/doc/caprobe/third-party-notices.txt.gz",
            "/usr/share/doc/caprobe/examples/caprobe-exporter.yml"]
    tap.eq(sorted(p for p in want if p not in paths), [],
           "the package holds the binary, man pages, completion, documentation (the schema and "
           "the .md files as caprobe(1) names them) and the third-party notices",
           sorted(paths))
    tap.ok("/usr/share/doc/caprobe/LICENSE" not in paths,
           "no LICENSE beside debian/copyright, which holds it")
    check_copyright(tap, deb, ctx)
    if shutil.which("lintian") is None:
        tap.skip("lintian", "lintian is not installed (make test-package installs it)")
        return
    r = run(["lintian", "--fail-on", "error,warning", ctx["changes"]])
    tags = [l for l in r.stdout.splitlines() if l[:2] in ("E:", "W:")]
    tap.ok(r.returncode == 0 and tags == [], "lintian: no error or warning",
           r.stdout + r.stderr)


def check_copyright(tap, deb, ctx):
    """The package's copyright file: caprobe's LICENSE text, the Apache-2.0 licence of the
    mbedTLS linked in, and every file it points to exists (in the package, or base-files')."""
    x = os.path.join(ctx["tmp"], "deb-x")
    run(["dpkg-deb", "-x", deb, x], check=True)
    with open(os.path.join(x, "usr/share/doc/caprobe/copyright"), encoding="utf-8") as f:
        cr = f.read()
    with open(os.path.join(SOURCE, "LICENSE"), encoding="utf-8") as f:
        lic = f.read()
    permission = lic[lic.index("Permission is hereby"):]
    unfold = "".join(("" if l.strip() == "." else l[1:]) + "\n"
                     for l in cr.splitlines() if l.startswith(" "))
    tap.ok(permission in unfold, "the package's copyright holds caprobe's LICENSE text")
    tap.ok(re.search(r"^License: Apache-2\.0$", cr, re.M) and "mbedTLS" in cr,
           "... and the Apache-2.0 licence of the mbedTLS linked in", cr[:1500])
    named = sorted(set(re.findall(r"(/usr/share/\S+?)[\".;,]*(?:\s|$)", cr)))
    missing = [p for p in named if not os.path.exists(os.path.join(x, p.lstrip("/")))
               and not (p.startswith("/usr/share/common-licenses/") and os.path.exists(p))]
    tap.ok(named and missing == [], "every file the copyright file names exists (%s)" %
           ", ".join(named), missing)


def files_paths(page):
    """The paths caprobe(1)'s FILES names (mdoc source), names relative to an item's first path
    (the documentation folder's files) made absolute."""
    sec = re.search(r"^\.Sh FILES\n(.*?)^\.Sh ", page, re.M | re.S).group(1)
    out, base = [], None
    for line in sec.splitlines():
        if line.startswith(".It "):
            base = None
        for p in re.findall(r"\bPa (\S+)", line):
            if p.startswith("/"):
                base = base or p
                out.append(p)
            elif base:
                out.append(os.path.join(base, p))
    return out


def check_files_section(tap, page, root, prefix, label):
    """Every path of caprobe(1)'s FILES under prefix exists under root (prefix there)."""
    paths = files_paths(page)
    own = [p for p in paths if p.startswith(prefix + "/")]
    missing = [p for p in own if not os.path.exists(root + p[len(prefix):])]
    tap.ok(len(own) >= 8 and missing == [],
           "%s: every path caprobe(1)'s FILES names under %s exists as named (%d)" % (
               label, prefix, len(own)), missing or own)
    return paths


def check_installed(tap, ctx):
    if "deb" not in ctx:
        tap.ok(False, "dpkg -i: no package was built")
        return
    r = run(["dpkg", "-i", ctx["deb"]])
    if not tap.ok(r.returncode == 0 and installed(), "dpkg -i: installed", r.stdout + r.stderr):
        return
    v = run(["/usr/bin/caprobe", "--version"])
    tap.ok(v.stdout.startswith("caprobe %s (" % ctx["release"]) and "git " not in v.stdout,
           "caprobe --version: the release alone (the package was built in a git checkout)", v.stdout)
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
    page = run(["zcat", "/usr/share/man/man1/caprobe.1.gz"], check=True).stdout
    paths = check_files_section(tap, page, "/usr", "/usr", "the installed package")
    if "/etc/ssl/certs/ca-certificates.crt" in paths and run(
            ["dpkg-query", "-W", "-f=${Status}", "ca-certificates"]).stdout.endswith(" installed"):
        tap.ok(os.path.exists("/etc/ssl/certs/ca-certificates.crt"),
               "FILES' root bundle is there with ca-certificates (Recommends)")
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


def dist_folder(ctx, variables):
    """A build folder for the Dockerfile's make dist, kept in the build folder between runs
    (make dist reuses a configured folder: only what changed is rebuilt) and named after the
    variables, so that other options get a folder of their own rather than an old one."""
    key = hashlib.sha256(json.dumps(sorted(variables.items())).encode()).hexdigest()[:12]
    folder = os.path.join(ctx["build"], "package-dist-" + key)
    for old in glob.glob(os.path.join(ctx["build"], "package-dist-*")):
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)
    for old in glob.glob(os.path.join(folder, "caprobe-*.tar.gz")):
        os.unlink(old)  # only this build's tarball for the Dockerfile's glob
    return folder


def check_dist(tap, ctx):
    """The Dockerfile's build stage, its make dist line (with its variables) and the commands
    after it (mkdir, tar) run here with its folders moved into the build folder and ctx's tmp;
    what they unpack is what the image holds."""
    import test_dockerfile as df
    run_step = [r for r in df.build_runs() if any(c.startswith("make dist") for c in r)]
    if not tap.ok(len(run_step) == 1, "the Dockerfile has one RUN step with make dist",
                  df.build_runs()):
        return
    i = [n for n, c in enumerate(run_step[0]) if c.startswith("make dist")][0]
    words = shlex.split(run_step[0][i])
    variables = dict(w.split("=", 1) for w in words[2:] if "=" in w)
    if not tap.ok(words[:2] == ["make", "dist"] and len(variables) == len(words) - 2 and
                  "DIST_BUILD" in variables, "the Dockerfile runs make dist DIST_BUILD=... "
                  "[VAR=VALUE...]", words):
        return
    docker_dist = variables["DIST_BUILD"]
    prefix = mbedtls_prefix(ctx["build"])
    if prefix:  # the image's build fetches mbedTLS 3.6; here it is the build folder's
        variables["DIST_MESON_OPTS"] = (variables.get("DIST_MESON_OPTS", "") +
                                        " -Dmbedtls_prefix=" + prefix).strip()
    dist = dist_folder(ctx, {k: v for k, v in variables.items() if k != "DIST_BUILD"})
    variables["DIST_BUILD"] = dist
    r = run(["make", "-C", SOURCE, "dist"] + ["%s=%s" % kv for kv in sorted(variables.items())])
    if not tap.ok(r.returncode == 0, "the Dockerfile's make dist (%s): exit 0" % " ".join(
            words[2:]), (r.stdout + r.stderr)[-4000:]):
        return
    name = "caprobe-%s-linux-%s" % (ctx["release"], os.uname().machine)
    tarball = os.path.join(dist, name + ".tar.gz")
    if not tap.ok(os.path.isfile(tarball), "make dist made %s.tar.gz" % name, os.listdir(dist)):
        return
    # the commands after make dist, the Dockerfile's folders moved
    after = run_step[0][i + 1:]
    tar = [shlex.split(c) for c in after if c.startswith("tar ")]
    docker_out = tar[0][tar[0].index("-C") + 1] if tar and "-C" in tar[0] else None
    if not tap.ok(docker_out is not None, "the Dockerfile unpacks the tarball with tar -C DIR",
                  after):
        return
    out = os.path.join(ctx["tmp"], "out")
    moves = [(docker_dist.rstrip("/"), dist), (docker_out.rstrip("/"), out)]

    def moved(w):
        for old, new in moves:
            if w == old or w.startswith(old + "/"):
                return new + w[len(old):]
        return w
    for c in after:
        line = " ".join(moved(w) if re.search(r"[*?[]", w) else shlex.quote(moved(w))
                        for w in shlex.split(c))
        r = run(["sh", "-c", line])
        if not tap.ok(r.returncode == 0, "the Dockerfile's %s: exit 0" % c, line + "\n" +
                      r.stdout + r.stderr):
            return
    import tarfile
    with tarfile.open(tarball) as t:
        members = t.getnames()
    want = ["bin/caprobe", "share/man/man1/caprobe.1", "share/man/man5/caprobe-policy.5",
            "share/bash-completion/completions/caprobe", "share/zsh/site-functions/_caprobe",
            "share/doc/caprobe/README.md", "share/doc/caprobe/LICENSE",
            "share/doc/caprobe/third-party-notices.txt"]
    tap.eq([w for w in want if name + "/" + w not in members], [],
           "the tarball holds one folder with the binary, man pages, completion, docs, "
           "LICENSE and the third-party notices")
    copied = [moved(src) for _, srcs, _ in df.final_copies() for src in srcs]
    tap.ok(copied and [c for c in copied if not os.path.isfile(c)] == [],
           "every file the image's stage copies is there", copied)
    with open(os.path.join(out, "share/man/man1/caprobe.1"), encoding="utf-8") as f:
        check_files_section(tap, f.read(), out, "/usr/local", "the tarball (/usr/local)")
    # the binary from another folder, alone, with an empty environment
    exe = os.path.join(ctx["tmp"], "elsewhere", "caprobe")
    os.makedirs(os.path.dirname(exe))
    shutil.copy2(os.path.join(out, "bin", "caprobe"), exe)
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
