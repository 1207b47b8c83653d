#!/usr/bin/env python3
"""Lays out Go modules as a file-based module proxy (GOPROXY=file:///DIR).

Debian 12 ships the Go sources of gRPC, protobuf, genproto and x/net, x/sys,
x/text under /usr/share/gocode/src, with no module versions. This writes them
as the module versions the client's go.mod requires (real upstream versions:
a normal proxy serves the real ones elsewhere), in the proxy protocol's files:

    DIR/<module>/@v/list              the versions, one a line
    DIR/<module>/@v/<version>.info    {"Version": ..., "Time": ...}
    DIR/<module>/@v/<version>.mod     the module's go.mod
    DIR/<module>/@v/<version>.zip     <module>@<version>/... (the module's files)

Modules that the requirement graph names but no build needs (glog, envoy's
control plane, x/tools, ...; older versions of the modules above) get only a
.mod declaring the module and nothing else, so that the graph resolves offline.
Those and the version labels of two Debian packages are local facts only (see
LABELS below); nothing here ever leaves the build tree.

    goproxy.py --out DIR [--gocode /usr/share/gocode/src]
    goproxy.py --out DIR --add-module SRC_DIR --version vX.Y.Z   (one module from a directory)
"""
import argparse
import json
import os
import re
import shutil
import sys
import zipfile

# module path -> (version it is served as, what Debian 12 ships there)
LABELS = {
    "google.golang.org/grpc": ("v1.33.3", "golang-google-grpc-dev 1.33.3"),
    "google.golang.org/protobuf": ("v1.28.1", "golang-google-protobuf-dev 1.28.1"),
    "github.com/golang/protobuf": ("v1.5.2", "golang-github-golang-protobuf-1-5-dev 1.5.2"),
    # grpc 1.33.3's go.mod requires this genproto; Debian's snapshot (2020-04-13,
    # b5235f6) is older but has every package grpc and the client import.
    "google.golang.org/genproto": ("v0.0.0-20200526211855-cb27e3aa2013",
                                   "golang-google-genproto-dev 0.0~git20200413.b5235f6"),
    "golang.org/x/net": ("v0.7.0", "golang-golang-x-net-dev 0.7.0"),
    # x/net 0.7.0's go.mod requires x/sys 0.5.0; Debian builds it against its 0.3.0.
    "golang.org/x/sys": ("v0.5.0", "golang-golang-x-sys-dev 0.3.0"),
    "golang.org/x/text": ("v0.7.0", "golang-golang-x-text-dev 0.7.0"),
}

KEEP_EXT = (".go", ".s", ".h", ".c")
KEEP_NAMES = ("go.mod", "LICENSE", "PATENTS", "README.md")
SAFE_PATH = re.compile(r"^[A-Za-z0-9._+\-/~]+$")


def escape(path):
    """The proxy protocol's case encoding: 'A' -> '!a'."""
    return re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), path)


def requirements(gomod_text):
    """(module, version) pairs of a go.mod's require lines."""
    reqs = []
    text = re.sub(r"//[^\n]*", "", gomod_text)
    for block in re.findall(r"require\s*\((.*?)\)", text, re.S):
        for line in block.splitlines():
            parts = line.split()
            if len(parts) >= 2:
                reqs.append((parts[0], parts[1]))
    for m in re.finditer(r"^require\s+(\S+)\s+(\S+)\s*$", text, re.M):
        reqs.append((m.group(1), m.group(2)))
    return reqs


def info_time(version):
    m = re.search(r"(\d{14})-[0-9a-f]{12}$", version)
    if m:
        t = m.group(1)
        return f"{t[0:4]}-{t[4:6]}-{t[6:8]}T{t[8:10]}:{t[10:12]}:{t[12:14]}Z"
    return "2023-01-01T00:00:00Z"


def module_files(src, include_tests):
    """Files of the module rooted at src, as (relative path, absolute path):
    nested modules, vendor and testdata folders left out, as `go mod` does."""
    out = []
    for root, dirs, names in os.walk(src):
        rel_root = os.path.relpath(root, src)
        keep = []
        for d in sorted(dirs):
            full = os.path.join(root, d)
            if d in ("vendor", "testdata", ".git") or d.startswith((".", "_")):
                continue
            if os.path.islink(full) or os.path.exists(os.path.join(full, "go.mod")):
                continue
            keep.append(d)
        dirs[:] = keep
        for n in sorted(names):
            full = os.path.join(root, n)
            rel = n if rel_root == "." else os.path.join(rel_root, n)
            if os.path.islink(full) or not os.path.isfile(full):
                continue
            if not (n.endswith(KEEP_EXT) or n in KEEP_NAMES):
                continue
            if n.endswith("_test.go") and not include_tests:
                continue
            if not SAFE_PATH.match(rel):
                continue
            out.append((rel, full))
    return out


def write_module(out, module, version, src, include_tests=False):
    vdir = os.path.join(out, escape(module), "@v")
    os.makedirs(vdir, exist_ok=True)
    with open(os.path.join(src, "go.mod"), encoding="utf-8") as f:
        gomod = f.read()
    prefix = f"{module}@{version}/"
    tmp = os.path.join(vdir, version + ".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for rel, full in module_files(src, include_tests):
            # A fixed timestamp: the same sources give the same zip.
            zi = zipfile.ZipInfo(prefix + rel, date_time=(2020, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            with open(full, "rb") as f:
                z.writestr(zi, f.read())
    os.replace(tmp, os.path.join(vdir, version + ".zip"))
    with open(os.path.join(vdir, version + ".mod"), "w", encoding="utf-8") as f:
        f.write(gomod)
    with open(os.path.join(vdir, version + ".info"), "w", encoding="utf-8") as f:
        json.dump({"Version": version, "Time": info_time(version)}, f)
    versions = set()
    list_path = os.path.join(vdir, "list")
    if os.path.exists(list_path):
        versions = set(open(list_path, encoding="utf-8").read().split())
    versions.add(version)
    with open(list_path, "w", encoding="utf-8") as f:
        f.write("".join(v + "\n" for v in sorted(versions)))
    return gomod


def write_stub(out, module, version):
    vdir = os.path.join(out, escape(module), "@v")
    mod = os.path.join(vdir, version + ".mod")
    if os.path.exists(mod):
        return
    os.makedirs(vdir, exist_ok=True)
    with open(mod, "w", encoding="utf-8") as f:
        f.write(f"module {module}\n")
    with open(os.path.join(vdir, version + ".info"), "w", encoding="utf-8") as f:
        json.dump({"Version": version, "Time": info_time(version)}, f)


def build_debian(out, gocode):
    tmp = out + ".new"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    served = {}
    pending = []
    for module, (version, debian) in sorted(LABELS.items()):
        src = os.path.join(gocode, module)
        if not os.path.exists(os.path.join(src, "go.mod")):
            sys.exit(f"goproxy.py: {src}/go.mod is missing (apt-get install {debian.split()[0]})")
        pending += requirements(write_module(tmp, module, version, src))
        served[module] = version
    seen = set()
    while pending:
        module, version = pending.pop()
        if (module, version) in seen or served.get(module) == version:
            continue
        seen.add((module, version))
        write_stub(tmp, module, version)
    with open(os.path.join(tmp, "LABELS.json"), "w", encoding="utf-8") as f:
        json.dump({m: {"version": v, "debian": d} for m, (v, d) in LABELS.items()}, f, indent=1)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--gocode", default="/usr/share/gocode/src")
    ap.add_argument("--add-module", help="a module's root directory (with go.mod) to add")
    ap.add_argument("--version", help="the version --add-module is served as")
    a = ap.parse_args()
    out = os.path.abspath(a.out)
    if a.add_module:
        if not a.version:
            sys.exit("goproxy.py: --add-module needs --version")
        with open(os.path.join(a.add_module, "go.mod"), encoding="utf-8") as f:
            m = re.search(r"^module\s+(\S+)", f.read(), re.M)
        if not m:
            sys.exit(f"goproxy.py: no module line in {a.add_module}/go.mod")
        write_module(out, m.group(1), a.version, a.add_module, include_tests=True)
    else:
        build_debian(out, a.gocode)


if __name__ == "__main__":
    main()
