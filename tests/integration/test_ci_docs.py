#!/usr/bin/env python3
"""docs/ci.md, the CI recipes, against YAML and caprobe's parser: each YAML block parses
(python3-yaml), and every `caprobe` command line of the page (in its YAML jobs and its shell
blocks) is one caprobe's parser accepts: the line is run with --explain (caprobe) or --help
(report, diff) appended, which act only once every option before them has been read and
checked. The jobs run caprobe from the Dockerfile's image (check_image) and the GitHub job has
the permissions upload-sarif needs. Emits TAP."""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

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


def jobs():
    """(the GitHub Actions workflow, the GitLab CI file) of the page, parsed."""
    import yaml
    docs = [yaml.safe_load(y) for y in blocks(read(DOC), "yaml")]
    return ([d for d in docs if "jobs" in d][0], [d for d in docs if "stages" in d][0])


def check_image(tap, caprobe):
    """The jobs run caprobe from the Dockerfile's image: the GitHub job's first step, run here
    with a docker that records its arguments, puts on the PATH a caprobe that runs the image
    with the runner's uid and the workspace at its own path; the GitLab job runs in the image
    with its entrypoint (caprobe, the Dockerfile's) taken away. The GitHub job has the
    permissions upload-sarif needs in a private repository."""
    try:
        github, gitlab = jobs()
    except ImportError:
        tap.skip("the jobs' image", "python3-yaml is not installed")
        return
    import test_dockerfile as df
    final = df.stages()[-1][2]
    entry = [a for i, a in final if i == "ENTRYPOINT"]
    uid = re.search(r"--uid (\d+)", " ".join(a for i, a in final if i == "RUN"))
    text = read(DOC)
    tap.ok(uid and "uid %s" % uid.group(1) in text and "docker build" in text,
           "the page says how the image is built and its uid (the Dockerfile's %s)" %
           (uid.group(1) if uid else "?"))
    job = github["jobs"]["caprobe"]
    tap.eq(job.get("permissions"), {"contents": "read", "security-events": "write",
                                     "actions": "read"},
           "GitHub: contents read, security-events write, actions read (upload-sarif in a "
           "private repository)")
    shell = "\n".join(s for s in strings(github) if "curl" in s or "tar " in s)
    tap.eq(shell, "", "GitHub: no tarball fetched, the image is used")
    steps = [st for st in job["steps"] if "run" in st]
    first = steps[0]["run"] if steps else ""
    tmp = tempfile.mkdtemp(prefix="caprobe-ci-docs-")
    try:
        fake = os.path.join(tmp, "fake")
        os.mkdir(fake)
        log = os.path.join(tmp, "docker.log")
        with open(os.path.join(fake, "docker"), "w") as f:
            f.write('#!/bin/sh\nprintf "%%s\\n" "$@" "--" >> %s\n' % shlex.quote(log))
        os.chmod(os.path.join(fake, "docker"), 0o755)
        work = os.path.join(tmp, "workspace")
        os.mkdir(work)
        env = {"PATH": fake + ":/usr/bin:/bin", "RUNNER_TEMP": os.path.join(tmp, "runner"),
               "GITHUB_PATH": os.path.join(tmp, "github_path"), "CAPROBE_IMAGE": "reg/caprobe:1"}
        os.mkdir(env["RUNNER_TEMP"])
        r = subprocess.run(["bash", "-e", "-c", first], cwd=work, env=env, capture_output=True,
                           text=True)
        with open(env["GITHUB_PATH"]) as f:
            path = f.read().split()
        tap.ok(r.returncode == 0 and len(path) == 1,
               "GitHub: the job's first step adds a folder to the PATH", r.stderr + first)
        wrapper = os.path.join(path[0], "caprobe") if path else "?"
        open(log, "w").close()
        r = subprocess.run([wrapper, "-i", "ci/hosts.txt", "-o", "x y.xml"], cwd=work, env=env,
                           capture_output=True, text=True)
        with open(log) as f:
            got = f.read().split("\n")[:-1]
        want = ["run", "--rm", "--user", "%d:%d" % (os.getuid(), os.getgid()), "-v",
                "%s:%s" % (work, work), "-w", work, "reg/caprobe:1", "-i", "ci/hosts.txt", "-o",
                "x y.xml", "--"]
        tap.eq(got, want, "GitHub: its caprobe runs the image with the runner's uid, the "
               "workspace at its own path, and the arguments as given", r.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    job = gitlab["caprobe"]
    tap.ok(entry and shlex.split(entry[0].strip("[]").replace(",", " "))[0].endswith("caprobe"),
           "the Dockerfile's entrypoint is caprobe (what GitLab must take away)", entry)
    tap.eq(job.get("image"), {"name": "$CAPROBE_IMAGE", "entrypoint": [""]},
           "GitLab: the job runs in the image, entrypoint [\"\"]")
    shell = "\n".join(s for s in strings(gitlab) if "curl" in s or "tar " in s)
    tap.eq(shell, "", "GitLab: no tarball fetched, the image is used")


def main():
    tap = h.Tap()
    h.run_checks(tap, [check_page, check_image], h.caprobe_path())
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
