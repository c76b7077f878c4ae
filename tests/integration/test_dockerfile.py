#!/usr/bin/env python3
"""The Dockerfile reproduces with the make targets CI runs, without a container tool.

- Every stage is FROM debian:12-slim; the first builds, the last runs as a non-root user that
  a RUN step creates, with the binary the build stage unpacked as its entrypoint, and has the
  licence and the third-party notices beside it.
- The build stage's RUN steps are `make` targets that CI runs (the targets .ci/run names, with
  their prerequisites in the Makefile, and the targets the package suite runs through make),
  apt-get only to get make itself, and the unpacking of the tarball.
- `make -n` of those targets with the Dockerfile's variables names the tarball the Dockerfile
  unpacks, and its layout (bin/caprobe under one folder) is what COPY takes.
- The Kubernetes example of docs/scanning.md runs the image as that user.
The package suite (test_package.py) runs the build stage's make dist and tar lines and checks
what they make: a binary that needs only glibc, and every file the final stage copies.
Emits TAP."""

import os
import re
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from cliopts import SOURCE, read  # noqa: E402


def stages():
    """[(FROM image, name, [(instruction, argument)])] of the Dockerfile, continuation lines
    joined."""
    text = re.sub(r"\\\n", " ", read("Dockerfile"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        ins, _, arg = line.partition(" ")
        ins = ins.upper()
        if ins == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", arg, re.I)
            out.append((m.group(1), m.group(2), []))
        else:
            out[-1][2].append((ins, arg.strip()))
    return out


def makefile_prereqs():
    """{target: [prerequisites]} of the Makefile's explicit rules."""
    rules = {}
    for m in re.finditer(r"^([a-z][a-z0-9-]*):(?!=)([^\n]*)$", read("Makefile"), re.M):
        rules[m.group(1)] = [p for p in m.group(2).split() if not p.startswith("$")]
    return rules


def ci_targets():
    """Make targets CI runs: .ci/run's, the targets the package suite's test runs through make,
    and every prerequisite of those."""
    named = set(re.findall(r"^\s*make ([a-z][a-z0-9-]*)", read(".ci/run"), re.M))
    test = read("tests/integration/test_package.py")
    named |= set(re.findall(r'"-C", SOURCE, "([a-z][a-z0-9-]*)"', test))
    rules = makefile_prereqs()
    todo, seen = list(named), set()
    while todo:
        t = todo.pop()
        if t in seen:
            continue
        seen.add(t)
        todo += rules.get(t, [])
    return seen, named


def final_copies():
    """[(stage copied from, [sources], destination)] of the final stage's COPY --from=."""
    out = []
    for ins, arg in stages()[-1][2]:
        if ins == "COPY":
            words = arg.split()
            frm = words[0][len("--from="):] if words[0].startswith("--from=") else None
            out.append((frm, words[1:-1] if frm else words[:-1], words[-1]))
    return out


def build_runs():
    """The build stage's RUN steps, each a list of its shell commands."""
    return [commands(arg) for ins, arg in stages()[0][2] if ins == "RUN"]


def build_steps():
    """The build stage's shell commands: (make commands, the others)."""
    makes, other = [], []
    for run in build_runs():
        for c in run:
            (makes if c.startswith("make ") else other).append(c)
    return makes, other


def commands(run_arg):
    """The shell commands of a RUN argument, split at && and ;."""
    return [c.strip() for c in re.split(r"&&|;", run_arg) if c.strip()]


def check_stages(tap):
    st = stages()
    tap.ok(len(st) >= 2, "the Dockerfile has two stages or more (multi-stage)", st)
    tap.eq(sorted({s[0] for s in st}), ["debian:12-slim"], "every stage is FROM debian:12-slim")
    final = st[-1][2]
    users = [a for i, a in final if i == "USER"]
    tap.ok(users and users[-1] not in ("root", "0"), "the image runs as a non-root user", users)
    made = " ".join(a for i, a in final if i == "RUN")
    tap.ok(users and re.search(r"useradd\b.*\b%s\b" % re.escape(users[-1]), made),
           "a RUN step of the final stage creates that user", made)
    copies = final_copies()
    entry = [a for i, a in final if i == "ENTRYPOINT"]
    tap.ok(copies and all(c[0] == st[0][1] for c in copies),
           "the final stage copies from the build stage", copies)
    binary = entry and shlex.split(entry[0].strip("[]").replace(",", " "))[0]
    tap.ok(binary and any(dest == binary and srcs[0].endswith("/bin/caprobe")
                          for _, srcs, dest in copies),
           "its entrypoint is the binary it copied", (copies, entry))
    docs = [(srcs, dest) for _, srcs, dest in copies if dest.endswith("/share/doc/caprobe/")]
    tap.ok(docs and sorted(os.path.basename(x) for x in docs[0][0]) ==
           ["LICENSE", "third-party-notices.txt"],
           "it copies the licence and the third-party notices into share/doc/caprobe", copies)


def check_make_targets(tap):
    allowed, named = ci_targets()
    tap.ok({"test", "test-package", "dist"} <= allowed,
           "CI's make targets were read (.ci/run, the package suite, the Makefile)", sorted(named))
    makes, other = build_steps()
    tap.ok(len(makes) >= 2, "the build stage's RUN steps run make", makes)
    targets = [w for c in makes for w in shlex.split(c)[1:] if "=" not in w and
               not w.startswith("-")]
    tap.eq([t for t in targets if t not in allowed], [],
           "every make target of the Dockerfile is one CI runs", targets)
    tap.ok("dist" in targets, "the build stage makes the release tarball (make dist)", targets)
    # what else runs: apt-get for make itself, and the unpacking of the tarball
    bad = [c for c in other if not re.match(
        r"^(apt-get update|apt-get install -y --no-install-recommends make|"
        r"rm -rf /var/lib/apt/lists/\*|mkdir \S+|tar -xzf \S+ -C \S+ --strip-components=1)$", c)]
    tap.eq(bad, [], "the build stage runs nothing but make, apt-get for make, and tar")
    # make -n dist with the Dockerfile's variables names the tarball the Dockerfile unpacks
    dist = [c for c in makes if " dist" in c][0]
    tar = [c for c in other if c.startswith("tar ")]
    r = subprocess.run(["make", "-n", "-C", SOURCE] + shlex.split(dist)[1:], capture_output=True,
                       text=True, stdin=subprocess.DEVNULL)
    want = shlex.split(tar[0])[2] if tar else "?"
    dist_dir = os.path.dirname(want)
    tap.ok(r.returncode == 0 and ("-czf %s/$name.tar.gz" % dist_dir) in r.stdout
           and want.endswith("/caprobe-*.tar.gz"),
           "make -n %s writes the tarball the Dockerfile unpacks (%s)" % (dist, want),
           r.stdout[-2000:] + r.stderr[-1000:])
    out = shlex.split(tar[0])[4] if tar else "?"
    sources = [x for _, srcs, _ in final_copies() for x in srcs]
    tap.eq([x for x in sources if not x.startswith(out + "/")], [],
           "COPY takes files of the tarball's one folder, unpacked in %s "
           "(--strip-components=1)" % out, sources)
    tap.ok(out + "/bin/caprobe" in sources, "COPY takes its bin/caprobe", sources)


def check_kubernetes(tap):
    doc = read("docs/scanning.md")
    user = [a for i, a in stages()[-1][2] if i == "USER"][-1]
    uid = re.search(r"--uid (\d+)", " ".join(a for i, a in stages()[-1][2] if i == "RUN"))
    tap.ok("docker build" in doc and "Dockerfile" in doc,
           "docs/scanning.md says how the image is built")
    tap.ok(uid and re.search(r"runAsUser: %s\b" % uid.group(1), doc)
           and "runAsNonRoot: true" in doc,
           "the Kubernetes example runs the image as its user (%s)" % user)


def main():
    tap = h.Tap()
    h.run_checks(tap, [check_stages, check_make_targets, check_kubernetes])
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
