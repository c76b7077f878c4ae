#!/usr/bin/env python3
"""The module graph as the linker sees it: which object file uses a symbol another defines.

Fails (exit 1) on a cycle between object files of caprobe's libraries, and on a use that the
layering forbids (DESIGN.md: tls/wire uses nothing of ours above it; report uses tls/wire only;
tls uses tls/wire and mbedTLS; probe may use all; the libraries of others are told by their
symbols' prefixes). Symbols, not includes: a header shared by two files
hides a call cycle between them, the objects do not.
Usage: check-modules.py BUILD_DIR | check-modules.py --self-test (the checker on small objects
made with cc: a tree it must pass, one with a cycle and one with a forbidden use it must fail)
"""
import os
import subprocess
import sys
import tempfile

# library folder in the build tree -> layer name, and what each layer may use besides itself
LIBS = {"tls/wire/libtls_parse.a.p": "tls/wire", "tls/libtls.a.p": "tls",
        "report/libreport.a.p": "report", "probe/libprobe.a.p": "probe"}
# the libraries of others, by their symbols' prefixes
FOREIGN = {"mbedtls_": "mbedTLS", "psa_": "mbedTLS", "uv_": "libuv", "yaml_": "libyaml",
           "json_": "jansson"}
ALLOWED = {"tls/wire": set(), "tls": {"tls/wire", "mbedTLS"},
           "report": {"tls/wire", "libyaml", "jansson"},
           "probe": {"tls/wire", "tls", "report", "mbedTLS", "libuv", "libyaml", "jansson"}}


def symbols(obj):
    out = subprocess.run(["nm", "-P", obj], capture_output=True, text=True, check=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            used.add(name)
        elif kind.isupper():
            defined.add(name)
    return defined, used


def check(build):
    objs = {}  # "layer:file" -> (defined, used)
    for folder, layer in LIBS.items():
        path = os.path.join(build, folder)
        if not os.path.isdir(path):
            print("no objects under %s: build first" % path)
            return 2
        for f in sorted(os.listdir(path)):
            if f.endswith(".o"):
                objs["%s:%s" % (layer, f[:-4])] = symbols(os.path.join(path, f))
    owner = {}
    for node, (defined, _) in objs.items():
        for s in defined:
            owner[s] = node
    edges = {n: set() for n in objs}
    bad = []
    for node, (_, used) in objs.items():
        for s in used:
            dst = owner.get(s)
            if dst is None:
                lib = next((l for pre, l in FOREIGN.items() if s.startswith(pre)), None)
                a = node.split(":")[0]
                if lib and lib not in ALLOWED[a]:
                    bad.append("%s uses %s from %s (%s may use %s only)" %
                               (node, s, lib, a, ", ".join(sorted(ALLOWED[a])) or "nothing"))
                continue
            if dst == node:
                continue
            edges[node].add(dst)
            a, b = node.split(":")[0], dst.split(":")[0]
            if a != b and b not in ALLOWED[a]:
                bad.append("%s uses %s from %s (%s may use %s only)" %
                           (node, s, dst, a, ", ".join(sorted(ALLOWED[a])) or "nothing"))
    # Tarjan's strongly connected components
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    for v in sorted(objs):
        if v not in index:
            visit(v)
    for comp in sccs:
        bad.append("cycle: " + " <-> ".join(comp))
    n_edges = sum(len(e) for e in edges.values())
    print("%d objects, %d uses between them" % (len(objs), n_edges))
    for b in bad:
        print(b)
    return 1 if bad else 0


def fake_tree(root, sources):
    """A build tree of the four library folders with objects compiled from sources
    {"layer/file": C text}."""
    folders = {layer: folder for folder, layer in LIBS.items()}
    for folder in LIBS:
        os.makedirs(os.path.join(root, folder), exist_ok=True)
    for name, text in sources.items():
        layer, stem = name.rsplit("/", 1)
        src = os.path.join(root, stem + ".c")
        with open(src, "w") as f:
            f.write(text)
        subprocess.run(["cc", "-c", "-o", os.path.join(root, folders[layer], stem + ".c.o"), src],
                       check=True)


def self_test():
    clean = {"tls/wire/a": "int wire_a(void) { return 1; }\n",
             "report/r": "int wire_a(void); int report_r(void) { return wire_a(); }\n",
             "probe/p": "int report_r(void); int main_p(void) { return report_r(); }\n"}
    cycle = dict(clean)
    cycle["probe/conn"] = "int scan_cb(void); int conn_start(void) { return scan_cb(); }\n"
    cycle["probe/scan"] = "int conn_start(void); int scan_cb(void) { return conn_start(); }\n"
    layer = dict(clean)
    layer["tls/t"] = "int tls_t(void) { return 2; }\n"
    layer["report/bad"] = "int tls_t(void); int report_bad(void) { return tls_t(); }\n"
    foreign = dict(clean)
    foreign["tls/wire/w"] = "int mbedtls_sha256(void); int wire_w(void) { return mbedtls_sha256(); }\n"
    want = [(clean, 0, None), (cycle, 1, "cycle: probe:conn <-> probe:scan"),
            (layer, 1, "report:bad uses tls_t from tls:t"),
            (foreign, 1, "tls/wire:w uses mbedtls_sha256 from mbedTLS")]
    failed = 0
    for i, (sources, code, text) in enumerate(want):
        with tempfile.TemporaryDirectory() as root:
            fake_tree(root, sources)
            out = subprocess.run([sys.executable, __file__, root], capture_output=True, text=True)
        ok = out.returncode == code and (text is None or text in out.stdout)
        print("%s %d - exit %d%s" % ("ok" if ok else "not ok", i + 1, code,
                                     ", says " + text if text else ""))
        if not ok:
            print("# got exit %d:\n# %s" % (out.returncode, out.stdout.replace("\n", "\n# ")))
        failed += not ok
    print("1..%d" % len(want))
    return 1 if failed else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    return check(sys.argv[1])


if __name__ == "__main__":
    sys.exit(main())
