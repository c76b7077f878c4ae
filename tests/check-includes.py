#!/usr/bin/env python3
"""The include graph of probe/ and tls/ stays one-way (docs/design.md, "Include graph").

A node is a file stem (x.c and x.h together). Fails on any include cycle, and on a dependency
the layering forbids (FORBIDDEN): a connection and its outcome never see the scheduler, the CA
name cache and the certificate summary do not lean on each other, the capture->observation step
does not need the mbedTLS driver.
Usage: check-includes.py SOURCE_ROOT [--print]
"""
import os
import re
import sys

FOLDERS = ["probe", "tls", "tls/wire"]
# (from, to): a node may not include the other, directly or through others.
FORBIDDEN = [
    ("probe/conn", "probe/scan"),
    ("probe/conn", "probe/internal"),
    ("probe/conn", "probe/outcome"),
    ("probe/outcome", "probe/scan"),
    ("probe/outcome", "probe/internal"),
    ("tls/namecache", "tls/x509"),
    ("tls/x509", "tls/namecache"),
    ("tls/observe", "tls/session"),
]


def graph(root):
    edges = {}
    for folder in FOLDERS:
        for name in sorted(os.listdir(os.path.join(root, folder))):
            if not name.endswith((".c", ".h")):
                continue
            node = folder + "/" + name[:-2]
            with open(os.path.join(root, folder, name)) as f:
                for line in f:
                    m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                    if not m:
                        continue
                    inc = m.group(1)
                    top = inc.split("/")[0]
                    path = inc if top in ("probe", "tls", "report") else folder + "/" + inc
                    target = path[:-2]
                    if target != node:
                        edges.setdefault(node, set()).add(target)
    return edges


def reachable(edges, start):
    seen, todo = set(), [start]
    while todo:
        for m in edges.get(todo.pop(), ()):
            if m not in seen:
                seen.add(m)
                todo.append(m)
    return seen


def main():
    root = sys.argv[1]
    edges = graph(root)
    if "--print" in sys.argv:
        for n in sorted(edges):
            print(n, "->", " ".join(sorted(edges[n])))
    bad = 0
    for n in sorted(edges):
        if n in reachable(edges, n):
            print("include cycle through", n)
            bad = 1
    for a, b in FORBIDDEN:
        if b in reachable(edges, a):
            print("%s must not depend on %s" % (a, b))
            bad = 1
    return bad


if __name__ == "__main__":
    sys.exit(main())
