"""The Python client's own CPU: per GiB moved and per find.

Starts files-emulator and files-gateway from a build tree, then runs each
operation in a fresh Python process (imports and the client's first use of
its descriptors are outside the measured span) and reads that process's
time.process_time() around the call alone:

- upload:     client.upload_file(local, remote)
- download:   client.download_file(remote, local)
- open_write: with client.open(remote, "wb") as f: f.write(1 MiB pieces of local)
- open_read:  with client.open(remote, "rb") as f: f.readinto(a 1 MiB buffer),
              each piece written to a local file
- find:       client.users.find(id), --finds sequential calls (CPU per call)
- download_null (only with --ops): download_file into an open /dev/null, so the
              figure holds no local-file write (the client's receive cost alone)
- aio_upload, aio_download (only with --ops): the same two calls on
              files_gateway.aio's client, in asyncio.run
- upload_floor (only with --ops): grpcio's own floor for an upload: the same
              pre-built 1 MiB UploadRequest{data} sent --mib times on the
              client's Upload method (no file read, no framing)

Each operation runs --repeat times; the table gives every run, the median,
CPU s per GiB (per call for find), wall time, the gateway's CPU during the run
and the load average before it. The local file is read from / written to the
page cache (a tmpfs-like cost, the same for every client).

    /usr/bin/python3 bench/python_transfer/measure.py --build build             # 1 GiB, 3x
    /usr/bin/python3 bench/python_transfer/measure.py --build build --mib 64 --repeat 1
    ... --baseline DIR  # an older files_gateway package, run interleaved, to compare
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
API_KEY = "pyperfkey"
MIB = 1 << 20
OPS = ("upload", "download", "open_write", "open_read", "find", "download_null", "upload_floor",
       "aio_upload", "aio_download")


# --- the measured child ---------------------------------------------------------

def child(args):
    sys.path.insert(0, os.path.abspath(args.package))
    import files_gateway

    client = files_gateway.connect(args.target, timeout=120.0)
    _ = (client.users, client.transfer_service)  # built from the descriptors, not measured
    op, size, inner = args.child, None, None
    if op == "find":
        client.users.find(args.user_id)  # the channel's connection, not measured
    profiler = None
    if args.profile:
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    times0, cpu0, t0 = os.times(), time.process_time(), time.perf_counter()
    if op == "upload":
        done = client.upload_file(args.local, args.remote)
        size = done.size
    elif op == "download":
        meta = client.download_file(args.remote, args.local)
        size = meta.size
    elif op == "download_null":
        with open(os.devnull, "wb") as sink:
            meta = client.download_file(args.remote, sink)
        size = meta.size
    elif op in ("aio_upload", "aio_download"):
        import asyncio
        import files_gateway.aio

        async def run():
            async with files_gateway.aio.connect(args.target, timeout=120.0) as aclient:
                _ = aclient.users
                t = time.process_time()
                if op == "aio_upload":
                    done = await aclient.upload_file(args.local, args.remote)
                else:
                    done = await aclient.download_file(args.remote, args.local)
                return done.size, time.process_time() - t
        size, inner = asyncio.run(run())
    elif op == "upload_floor":
        from files_gateway import _api, transfer
        frame = transfer._data_frame(bytes(MIB))
        count = os.path.getsize(args.local) // MIB

        def requests():
            yield _api.transfer_pb2.UploadRequest(spec=transfer.upload_spec(
                args.remote, expected_size=count * MIB))
            for _ in range(count):
                yield frame
        size = transfer._data_stub(client).Upload(requests(), timeout=600).file.size
    elif op == "open_write":
        buf = bytearray(MIB)
        view = memoryview(buf)
        with open(args.local, "rb") as src, client.open(args.remote, "wb") as f:
            while True:
                n = src.readinto(buf)
                if not n:
                    break
                f.write(view[:n])
        size = f.file.size
    elif op == "open_read":
        buf = bytearray(MIB)
        view = memoryview(buf)
        size = 0
        with client.open(args.remote, "rb") as f, open(args.local, "wb") as out:
            while True:
                n = f.readinto(buf)
                if not n:
                    break
                out.write(view[:n])
                size += n
    elif op == "find":
        for _ in range(args.finds):
            user = client.users.find(args.user_id)
            if user.id != args.user_id:
                raise RuntimeError("find answered %r" % (user.to_dict(),))
    cpu, wall, times1 = time.process_time() - cpu0, time.perf_counter() - t0, os.times()
    if op.startswith("aio_"):
        cpu = inner  # the call alone, without the event loop's and channel's set-up
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    client.close()
    if op in ("download", "open_read", "aio_download") and os.path.getsize(args.local) != size:
        raise RuntimeError("%s: %d bytes on disk, %d announced" % (
            op, os.path.getsize(args.local), size))
    print(json.dumps({"op": op, "cpu_seconds": cpu, "seconds": wall, "bytes": size,
                      "user_seconds": times1.user - times0.user,
                      "system_seconds": times1.system - times0.system}))
    return 0


# --- the parent: servers, runs, table ---------------------------------------------

class Server:
    """A child server with a JSON ready line; the rest of its output is drained."""

    def __init__(self, cmd, ready, env=None):
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     env=env, text=True)
        timer = threading.Timer(60, self.proc.kill)
        timer.start()
        tail = []
        try:
            for line in self.proc.stdout:
                tail = (tail + [line.rstrip()])[-30:]
                try:
                    doc = json.loads(line)
                except ValueError:
                    continue
                if isinstance(doc, dict) and ready(doc):
                    self.ready = doc
                    break
            else:
                raise RuntimeError("%s did not start:\n%s" % (cmd[0], "\n".join(tail)))
        finally:
            timer.cancel()
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def make_file(path, mib):
    block = os.urandom(MIB)
    with open(path, "wb") as f:
        for i in range(mib):
            # Distinct blocks, so a dropped or repeated chunk cannot go unseen.
            f.write(i.to_bytes(8, "little") + block[8:])


def run_child(args, package, target, op, extra):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", op, "--target", target,
           "--package", package] + extra
    if args.perf:
        os.makedirs(args.perf, exist_ok=True)
        label = os.path.basename(package.rstrip("/"))
        data = os.path.join(args.perf, "%s-%s.data" % (op, label))
        cmd = ["perf", "record", "-q", "-g", "-o", data, "--"] + cmd
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, timeout=1800).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--package", help="files_gateway package folder "
                        "[BUILD/clients/python/lib]")
    parser.add_argument("--baseline", metavar="DIR", help="another files_gateway package "
                        "(e.g. a copy of an older build's) run interleaved with --package, "
                        "each operation's runs alternating, so both see the same load")
    parser.add_argument("--mib", type=int, default=1024, help="file size [1024]")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--finds", type=int, default=1000)
    parser.add_argument("--ops", default=",".join(OPS[:5]),
                        help="comma-separated, of " + ", ".join(OPS) + " [the first five]")
    parser.add_argument("--json", help="also write the runs to this file")
    parser.add_argument("--work-dir", help="where the local files go (e.g. /dev/shm, so the "
                        "disk's write-back stays out of the figures) [a temporary folder]")
    parser.add_argument("--profile", metavar="DIR", help="cProfile each operation's first run "
                        "into DIR/OP.prof and print its top functions (slower: not for figures)")
    parser.add_argument("--perf", metavar="DIR", help="run each child under `perf record` "
                        "into DIR/OP-PACKAGE.data (perf report -i ... to read it)")
    # the child's arguments
    parser.add_argument("--child", choices=OPS, help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--local", help=argparse.SUPPRESS)
    parser.add_argument("--remote", help=argparse.SUPPRESS)
    parser.add_argument("--user-id", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    args.package = os.path.abspath(args.package or os.path.join(build, "clients", "python", "lib"))
    if args.child:
        return child(args)
    ops = [o for o in args.ops.split(",") if o]
    for o in ops:
        if o not in OPS:
            parser.error("unknown op %r" % o)

    sys.path.insert(0, args.package)
    import files_gateway

    servers = []
    work = tempfile.mkdtemp(prefix="pyperf.", dir=args.work_dir)
    try:
        emulator = Server([os.path.join(build, "emulator", "files-emulator"), "--listen",
                           "127.0.0.1:0", "--api-key", API_KEY, "--empty"],
                          lambda d: "base_url" in d)
        servers.append(emulator)
        gateway = Server([os.path.join(build, "server", "files-gateway"), "--listen",
                          "127.0.0.1:0", "--base-url", emulator.ready["base_url"]],
                         lambda d: d.get("msg") == "listening",
                         env=dict(os.environ, FILES_API_KEY=API_KEY))
        servers.append(gateway)
        target = "127.0.0.1:%d" % gateway.ready["port"]
        source = os.path.join(work, "source.bin")
        sink = os.path.join(work, "sink.bin")
        make_file(source, args.mib)
        with files_gateway.connect(target) as client:
            user_id = client.users.create({"username": "pyperf"}).id
            client.upload_file(source, "pyperf/seed.bin", mkdir_parents=True)
        packages = [("", args.package)]
        if args.baseline:
            packages.insert(0, ("baseline", os.path.abspath(args.baseline)))
        print("python %s, %d MiB, %d finds, gateway %s; %s" % (
            sys.version.split()[0], args.mib, args.finds, target,
            "; ".join("%s %s" % (label or "package", path) for label, path in packages)))
        results = {}
        for op in ops:
            for i in range(args.repeat):
                for label, package in packages:  # interleaved: both see the same load
                    name = op + (" (%s)" % label if label else "")
                    if op in ("upload", "open_write", "upload_floor", "aio_upload"):
                        extra = ["--local", source, "--remote", "pyperf/%s-%d.bin" % (op, i)]
                    elif op in ("download", "open_read", "download_null", "aio_download"):
                        extra = ["--local", sink, "--remote", "pyperf/seed.bin"]
                    else:
                        extra = ["--user-id", str(user_id), "--finds", str(args.finds)]
                    prof = None
                    if args.profile and i == 0:
                        os.makedirs(args.profile, exist_ok=True)
                        prof = os.path.join(os.path.abspath(args.profile),
                                            "%s%s.prof" % (op, "-" + label if label else ""))
                        extra += ["--profile", prof]
                    load = loadavg()
                    gw0 = gateway.cpu_seconds()
                    run = run_child(args, package, target, op, extra)
                    run.update(load=load, gateway_cpu_seconds=gateway.cpu_seconds() - gw0)
                    if os.path.exists(sink):
                        os.unlink(sink)
                    results.setdefault(name, []).append(run)
                    if prof:
                        import pstats
                        pstats.Stats(prof).sort_stats("tottime").print_stats(12)
                    per = (run["cpu_seconds"] / args.finds * 1e6 if op == "find"
                           else run["cpu_seconds"] / (run["bytes"] / (1 << 30)))
                    unit = "us/call" if op == "find" else "s/GiB"
                    print("%-21s run %d: client CPU %.3f s (%.3f %s; user %.2f, system %.2f), "
                          "wall %.2f s, gateway CPU %.2f s, load %s" % (
                              name, i + 1, run["cpu_seconds"], per, unit, run["user_seconds"],
                              run["system_seconds"], run["seconds"],
                              run["gateway_cpu_seconds"], load), flush=True)
        print()
        print("| operation | client CPU, median (runs) | per unit | user / system, median "
              "| wall, median | gateway CPU |")
        print("|---|---|---|---|---|---|")
        for name, runs in results.items():
            med = {k: statistics.median(r[k] for r in runs) for k in (
                "cpu_seconds", "user_seconds", "system_seconds", "seconds",
                "gateway_cpu_seconds")}
            if name.startswith("find"):
                per = "%.0f µs/call" % (med["cpu_seconds"] / args.finds * 1e6)
                name = name.replace("find", "find x%d" % args.finds, 1)
            else:
                per = "%.3f s/GiB" % (med["cpu_seconds"] / (runs[0]["bytes"] / (1 << 30)))
            print("| %s | %.3f s (%s) | %s | %.2f / %.2f s | %.2f s | %.2f s |" % (
                name, med["cpu_seconds"], ", ".join("%.3f" % r["cpu_seconds"] for r in runs),
                per, med["user_seconds"], med["system_seconds"], med["seconds"],
                med["gateway_cpu_seconds"]))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"mib": args.mib, "finds": args.finds, "packages": packages,
                           "runs": results}, f, indent=1)
    finally:
        for s in reversed(servers):
            s.stop()
        for name in os.listdir(work):
            os.unlink(os.path.join(work, name))
        os.rmdir(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
