#!/usr/bin/env python3
"""The shell completion of docs/completion against the parsers and caprobe itself.

bash: docs/completion/caprobe.bash sourced in a bash subprocess, its function called with
COMP_WORDS / COMP_CWORD as bash sets them (with '=' split off, bash's default, and not: '='
taken out of COMP_WORDBREAKS). The options offered are the parser's, long and short
(cliopts.py); the words offered for --format, --fail-on,
--starttls, --client-hello and --color are those caprobe's own usage error lists, and caprobe
takes each; --explain offers the rules of docs/rules.md; an option whose man page item takes a
file offers the files of a folder.
zsh: `zsh -n`, then, with zsh installed, an interactive zsh in a pseudo-terminal runs compinit
with docs/completion in fpath, and a compadd wrapper prints what each TAB offers.
Emits TAP."""

import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from cliopts import SOURCE, parsers, read  # noqa: E402

BASH = os.path.join(SOURCE, "docs", "completion", "caprobe.bash")
ZSH = os.path.join(SOURCE, "docs", "completion", "_caprobe")


def bash_complete(caprobe, words, split=True):
    """What _caprobe offers for the command line `words` (the last one being completed).
    split: '--opt=val' as the three words bash's default COMP_WORDBREAKS makes."""
    ws = [caprobe]
    for w in words:
        m = re.match(r"^(--[a-z-]+)=(.*)$", w)
        ws += [m.group(1), "=", m.group(2)] if split and m else [w]
        if split and m and m.group(2) == "" and w is words[-1]:
            ws.pop()  # "--format=" being completed: the word is "="
    # COMP_WORDBREAKS as bash has it, or without '=' (as bash-completion users may set it)
    breaks = "\"'><=;|&(:" if split else "\"'><;|&(:"
    script = ('COMP_WORDBREAKS=$2; . "$1"; shift 2; COMP_WORDS=("$@"); '
              'COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); '
              '_caprobe caprobe "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"; '
              'printf "%s\\n" "${COMPREPLY[@]}"')
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", script, "bash", BASH, breaks] +
                       ws, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if r.returncode != 0 or r.stderr:
        raise RuntimeError("bash completion of %r: exit %d: %s" % (words, r.returncode, r.stderr))
    return sorted(l for l in r.stdout.split("\n") if l)


def expected_words(caprobe, args):
    """The words caprobe's usage error lists for a bad value: 'expected a, b or c, got'."""
    r = subprocess.run([caprobe] + args, capture_output=True, text=True)
    m = re.search(r"expected (.*?), got", r.stderr)
    if not m:
        raise RuntimeError("no 'expected' list for %r: %s" % (args, r.stderr))
    return sorted(re.split(r", | or ", m.group(1)))


def rules_md():
    return sorted(re.findall(r"^\| `([a-z0-9-]+)` \|", read("docs/rules.md"), re.M))


def file_options():
    """{command: options whose caprobe(1) item takes a file (Ar file)}."""
    src = read("docs/man/caprobe.1.in")
    out = {}
    cmd = "caprobe"
    for line in src.splitlines():
        m = re.match(r"^\.Ss caprobe (report|diff|netsh|exporter)$", line)
        if m:
            cmd = m.group(1)
        if line.startswith(".It ") and line.rstrip().endswith("Ar file"):
            out.setdefault(cmd, set()).update(
                ["--" + o for o in re.findall(r"Fl \\-([a-z0-9-]+)", line)] +
                ["-" + o for o in re.findall(r"Fl ([A-Za-z0-9])\b", line)])
    return out


def check_bash_options(tap, caprobe, tmp):
    p = parsers()
    for cmd in ["caprobe", "report", "diff", "netsh", "exporter"]:
        pre = [] if cmd == "caprobe" else [cmd]
        got = bash_complete(caprobe, pre + ["--"])
        tap.eq(got, sorted("--" + o for o in p[cmd][0]),
               "bash: %s -- offers exactly the parser's long options" % cmd)
        got = bash_complete(caprobe, pre + ["-"])
        tap.eq(got, sorted(["--" + o for o in p[cmd][0]] + ["-" + o for o in p[cmd][1]]),
               "bash: %s - offers exactly the parser's long and short options" % cmd)
    tap.eq(bash_complete(caprobe, ["--fail-o"]), ["--fail-on", "--fail-on-error"],
           "bash: a prefix narrows the options")
    tap.eq(bash_complete(caprobe, [""]), ["diff", "exporter", "netsh", "report"],
           "bash: the first word offers the commands")
    tap.eq(bash_complete(caprobe, ["r"]), ["report"], "bash: r completes to report")
    tap.eq(bash_complete(caprobe, ["app.example.com", ""]), [],
           "bash: a target after a target offers nothing (no command there)")


def check_bash_words(tap, caprobe, tmp):
    cases = [
        (["--format"], ["--format", "zzz", "x"]),
        (["--fail-on"], ["--fail-on", "zzz", "x"]),
        (["--starttls"], ["--starttls", "zzz", "x"]),
        (["--client-hello"], ["--client-hello", "zzz", "x"]),
        (["report", "--format"], ["report", "--format", "zzz", "x"]),
        (["diff", "--format"], ["diff", "--format", "zzz", "a", "b"]),
        (["netsh", "--format"], ["netsh", "--format", "zzz", "a"]),
    ]
    for pre, bad in cases:
        want = expected_words(caprobe, bad)
        label = " ".join(pre)
        tap.eq(bash_complete(caprobe, pre + [""]), want,
               "bash: %s offers the words caprobe's usage error lists" % label)
        tap.eq(bash_complete(caprobe, pre[:-1] + [pre[-1] + "="]), want,
               "bash: %s= offers them (= a word of its own)" % label)
        tap.eq(bash_complete(caprobe, pre[:-1] + [pre[-1] + "="], split=False),
               [pre[-1] + "=" + w for w in want], "bash: %s= offers them (one word)" % label)
    colors = expected_words(caprobe, ["--color=zzz", "x"])
    tap.eq(bash_complete(caprobe, ["--color="]), colors, "bash: --color= offers its words")
    tap.eq(bash_complete(caprobe, ["--color", ""]), ["diff", "exporter", "report"][:0],
           "bash: --color WORD is not offered (its value must follow '=')")
    tls = bash_complete(caprobe, ["--tls", ""])
    taken = [v for v in tls if subprocess.run(
        [caprobe, "--tls", v, "--explain", "empty-ca-list"], capture_output=True).returncode == 0]
    tap.ok(len(tls) >= 4 and taken == tls, "bash: every --tls value offered is taken", tls)
    tap.eq(bash_complete(caprobe, ["--fail-on", "h"]), ["high"], "bash: --fail-on h -> high")


def check_bash_explain(tap, caprobe, tmp):
    got = bash_complete(caprobe, ["--explain", ""])
    tap.eq(got, sorted(["all"] + rules_md()), "bash: --explain offers all and docs/rules.md's rules")
    tap.eq(bash_complete(caprobe, ["--explain", "root-"]), ["root-store-dump"],
           "bash: --explain root- -> root-store-dump")
    bad = [r for r in got if subprocess.run([caprobe, "--explain", r],
                                            capture_output=True).returncode != 0]
    tap.eq(bad, [], "bash: caprobe explains every rule offered")


def check_bash_files(tap, caprobe, tmp):
    d = os.path.join(tmp, "files")
    os.makedirs(os.path.join(d, "sub"))
    for f in ["a.pem", "b.jsonl", "c.yaml"]:
        open(os.path.join(d, f), "w").close()
    listing = sorted(os.path.join(d, f) for f in ["a.pem", "b.jsonl", "c.yaml", "sub"])
    fo = file_options()
    tap.ok(len(fo.get("caprobe", ())) >= 7 and "--config" in fo.get("exporter", ()),
           "caprobe(1)'s items that take a file were read", fo)
    # --opt=DIR/ as one word ('=' not in COMP_WORDBREAKS): the option stays in front, a
    # folder gets its '/'
    joined = sorted(p + "/" if os.path.isdir(p) else p for p in listing)
    for cmd, opts in sorted(fo.items()):
        pre = [] if cmd == "caprobe" else [cmd]
        for o in sorted(opts):
            tap.eq(bash_complete(caprobe, pre + [o, d + "/"]), listing,
                   "bash: %s %s offers files" % (cmd, o))
            if not o.startswith("--"):
                continue
            tap.eq(bash_complete(caprobe, pre + [o + "=" + d + "/"]), listing,
                   "bash: %s %s=DIR/ offers files ('=' a word of its own)" % (cmd, o))
            tap.eq(bash_complete(caprobe, pre + [o + "=" + d + "/"], split=False),
                   [o + "=" + p for p in joined],
                   "bash: %s %s=DIR/ offers %s=FILE (one word)" % (cmd, o, o))
    tap.eq(bash_complete(caprobe, ["--output=" + d + "/b"], split=False),
           ["--output=" + d + "/b.jsonl"], "bash: --output=DIR/b (one word) -> --output=DIR/b.jsonl")
    for cmd in ["report", "diff", "netsh"]:
        tap.eq(bash_complete(caprobe, [cmd, d + "/"]), listing,
               "bash: %s's scans (netsh: outputs) are files" % cmd)
    tap.eq(bash_complete(caprobe, ["--timeout", d + "/"]), [],
           "bash: --timeout offers no file")


# ---------------------------------------------------------------- zsh

ZSH_SETUP = r"""
PS1='%% '; unsetopt beep auto_list list_ambiguous; setopt no_list_beep; LISTMAX=100000
fpath=(%(dir)s $fpath); autoload -Uz compinit; compinit -u -D
compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a __hits; builtin compadd -A __hits "$@"; local r=$? h
  for h in $__hits; do print -rn -- "<C>$h</C>"; done
  builtin compadd "$@"
}
print READY-$((6*7))
"""


ZLE_READY = b"\x1b[?2004h"


class Zsh:
    """An interactive zsh in a pseudo-terminal (compinit needs its line editor)."""

    def __init__(self, path_dir, fpath_dir, home):
        setup = os.path.join(home, "setup.zsh")
        with open(setup, "w", encoding="utf-8") as f:
            f.write(ZSH_SETUP % {"dir": fpath_dir})
        env = {"PATH": path_dir + ":/usr/bin:/bin", "HOME": home, "TERM": "dumb",
               "ZDOTDIR": home, "LC_ALL": "C.UTF-8"}
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(shutil.which("zsh"), ["zsh", "-f", "-i"], env)
        self.n = 0
        self.read_until("")  # the first prompt
        self.send(". %s\r" % setup)
        self.read_until("READY-42")

    def send(self, text):
        os.write(self.fd, text.encode())

    def read_until(self, marker, limit=200):
        """Output up to `marker` and then the line editor's start (bracketed paste turned on):
        input typed before it would be read as typeahead, which completion does not serve."""
        out = b""
        for _ in range(limit):  # bounded: 200 reads of up to 0.5 s
            r, _, _ = select.select([self.fd], [], [], 0.5)
            if r:
                try:
                    out += os.read(self.fd, 65536)
                except OSError:
                    break
                i = out.find(marker.encode())
                if i >= 0 and ZLE_READY in out[i:]:
                    return out.decode(errors="replace")
        raise RuntimeError("zsh did not print %s: %r" % (marker, out[-2000:]))

    def complete(self, line):
        """What one TAB after `line` offers."""
        self.n += 1
        self.send(line + "\t")
        # ^U clears the line; the marker printed differs from the one typed
        self.send("\x15print END-$((%d+1))\r" % (1000 + self.n))
        out = self.read_until("END-%d" % (1001 + self.n))
        return sorted(set(re.findall(r"<C>(.*?)</C>", out)))

    def close(self):
        try:
            self.send("exit\r")
            os.close(self.fd)
        except OSError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def check_zsh(tap, caprobe, tmp):
    if shutil.which("zsh") is None:
        tap.skip("zsh completion", "zsh is not installed (make test-deps)")
        return
    r = subprocess.run(["zsh", "-n", ZSH], capture_output=True, text=True)
    tap.ok(r.returncode == 0, "zsh -n docs/completion/_caprobe", r.stderr)
    home = os.path.join(tmp, "home")
    os.mkdir(home)
    d = os.path.join(tmp, "zfiles")
    os.mkdir(d)
    for f in ["a.pem", "b.jsonl"]:
        open(os.path.join(d, f), "w").close()
    z = Zsh(os.path.dirname(caprobe), os.path.dirname(ZSH), home)
    try:
        p = parsers()
        got = z.complete("caprobe --")
        longs = sorted({g.rstrip("=") for g in got if g.startswith("--")})
        tap.eq(longs, sorted("--" + o for o in p["caprobe"][0]),
               "zsh: caprobe -- offers the parser's long options")
        got = z.complete("caprobe -")
        tap.eq(sorted(g for g in got if re.match(r"^-[A-Za-z0-9]$", g)),
               sorted("-" + o for o in p["caprobe"][1]),
               "zsh: caprobe - offers the parser's short options")
        tap.eq(z.complete("caprobe --format "), expected_words(caprobe, ["--format", "z", "x"]),
               "zsh: --format offers the words caprobe's usage error lists")
        tap.eq(z.complete("caprobe --fail-on "), expected_words(caprobe, ["--fail-on", "z", "x"]),
               "zsh: --fail-on offers the severities")
        tap.eq(z.complete("caprobe --explain "), sorted(["all"] + rules_md()),
               "zsh: --explain offers all and docs/rules.md's rules")
        tap.eq(z.complete("caprobe --policy %s/" % d), ["a.pem", "b.jsonl"],
               "zsh: --policy offers files")
        tap.ok({"report", "diff", "netsh", "exporter"} <= set(z.complete("caprobe ")),
               "zsh: the first word offers the commands")
        tap.eq(z.complete("caprobe report --format "),
               expected_words(caprobe, ["report", "--format", "z", "x"]),
               "zsh: report --format offers the report formats")
        tap.eq(z.complete("caprobe netsh --format "),
               expected_words(caprobe, ["netsh", "--format", "z", "x"]),
               "zsh: netsh --format offers its formats")
        got = z.complete("caprobe netsh --")
        tap.eq(sorted({g.rstrip("=") for g in got if g.startswith("--")}),
               sorted("--" + o for o in p["netsh"][0]), "zsh: netsh -- offers its options")
        got = z.complete("caprobe exporter --")
        tap.eq(sorted({g.rstrip("=") for g in got if g.startswith("--")}),
               sorted("--" + o for o in p["exporter"][0]), "zsh: exporter -- offers its options")
        for cmd in ["report", "diff", "exporter"]:
            got = z.complete("caprobe %s -" % cmd)
            tap.eq(sorted(g for g in got if re.match(r"^-[A-Za-z0-9]$", g)),
                   sorted("-" + o for o in p[cmd][1]),
                   "zsh: %s - offers its short options" % cmd)
    finally:
        z.close()


def main():
    h.install_signal_handlers()
    tap = h.Tap()
    caprobe = h.caprobe_path()
    tmp = tempfile.mkdtemp(prefix="caprobe-completion-")
    try:
        h.run_checks(tap, [check_bash_options, check_bash_words, check_bash_explain,
                           check_bash_files, check_zsh], caprobe, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
