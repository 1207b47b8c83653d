"""Python against one emulator, two ways: the gateway's Python client
(gateway_client.py, through files-gateway) and the same program written with
plain HTTP calls the way the Files.com Python SDK makes them
(plain_http_client.py, straight to the emulator's REST API).

Starts files-emulator and files-gateway from a build tree, seeds users, then
times, for each client in its own Python process: N sequential finds, listing
every user (auto paging / one request per page), uploading and downloading a
file (checked by MD5 both ways). Prints a table with both columns, the speed
ratio, the CPU time of each Python process, the gateway's CPU, and peak RSS.
Exits non-zero when an operation fails or a check does not hold.

    /usr/bin/python3 bench/sdk_compare/compare.py --build build             # full
    /usr/bin/python3 bench/sdk_compare/compare.py --build build --quick     # 100 / 1,000 / 64 MiB
"""
import argparse
import concurrent.futures
import hashlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
API_KEY = "benchkey"
MIB = 1 << 20
FULL = {"finds": 1000, "users": 10000, "mib": 1024}
QUICK = {"finds": 100, "users": 1000, "mib": 64}


class Server:
    """A child server with a one-line JSON ready message; the rest of its
    output is drained so a full pipe never stalls it."""

    def __init__(self, cmd, ready, env=None, timeout=60.0):
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     env=env, text=True)
        self.tail = []
        timer = threading.Timer(timeout, self.proc.kill)
        timer.start()
        try:
            for line in self.proc.stdout:
                self.tail = (self.tail + [line.rstrip()])[-50:]
                try:
                    doc = json.loads(line)
                except ValueError:
                    continue
                if isinstance(doc, dict) and ready(doc):
                    self.ready = doc
                    break
            else:
                raise RuntimeError("%s did not start:\n%s" % (cmd[0], "\n".join(self.tail)))
        finally:
            timer.cancel()
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
        return 0.0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Rest:
    """Keep-alive JSON calls to the emulator for set-up and checks (not timed)."""

    def __init__(self, base_url):
        self.parts = urllib.parse.urlsplit(base_url)
        self.conn = None
        self.used = 0.0

    def call(self, method, path, body=None, with_headers=False):
        if self.conn is None or time.monotonic() - self.used > 1.0:
            # The emulator closes connections idle for a few seconds.
            if self.conn is not None:
                self.conn.close()
            self.conn = http.client.HTTPConnection(self.parts.hostname, self.parts.port,
                                                   timeout=120)
        headers = {"X-FilesAPI-Key": API_KEY, "Content-Type": "application/json"}
        data = None if body is None else json.dumps(body).encode()
        self.conn.request(method, "/api/rest/v1" + path, body=data, headers=headers)
        resp = self.conn.getresponse()
        text = resp.read()
        self.used = time.monotonic()
        if resp.status >= 400:
            raise RuntimeError("%s %s: HTTP %d %s" % (method, path, resp.status, text[:300]))
        data = json.loads(text) if text else None
        return (data, resp.headers) if with_headers else data


def count_users(rest):
    """Every user the emulator lists (the seeded ones and any it had)."""
    count, cursor = 0, ""
    while True:
        page, headers = rest.call("GET", "/users?per_page=10000" + cursor, with_headers=True)
        count += len(page)
        if not headers.get("X-Files-Cursor"):
            return count
        cursor = "&cursor=" + urllib.parse.quote(headers["X-Files-Cursor"])


def seed_users(base_url, count, run):
    """Creates `count` users with 4 connections; returns their ids in order."""
    def create(indexes):
        rest = Rest(base_url)
        return [rest.call("POST", "/users", {
            "username": "cmp-%s-%05d" % (run, i), "email": "cmp%05d@example.com" % i,
            "name": "Compare User %d" % i})["id"] for i in indexes]
    chunks = [range(k, count, 4) for k in range(4)]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(create, chunks))
    ids = [0] * count
    for k, chunk in enumerate(chunks):
        for i, user_id in zip(chunk, results[k]):
            ids[i] = user_id
    return ids


def make_file(path, size):
    """`size` bytes of random data (a fresh random MiB per MiB, so misplaced
    parts show); returns the MD5."""
    md5 = hashlib.md5()
    with open(path, "wb") as f:
        left = size
        while left > 0:
            block = os.urandom(min(MIB, left))
            md5.update(block)
            f.write(block)
            left -= len(block)
    return md5.hexdigest()


def file_md5(path):
    md5 = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(4 * MIB), b""):
            md5.update(block)
    return md5.hexdigest()


def run_client(cmd, servers):
    """Runs one client process; returns its JSON line plus its whole-process
    CPU (start-up included) and each server's CPU during the run."""
    before = {name: s.cpu_seconds() for name, s in servers.items()}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        env = dict(os.environ, SDK_COMPARE_T0=repr(time.time()))
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        after = {name: s.cpu_seconds() for name, s in servers.items()}
        out.seek(0)
        err.seek(0)
        text, errors = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(cmd[1:4]), proc.returncode,
                                                   errors[-3000:]))
    result = json.loads(text.strip().splitlines()[-1])
    result["process_cpu_seconds"] = usage.ru_utime + usage.ru_stime
    for name in servers:
        result[name + "_cpu_seconds"] = after[name] - before[name]
    return result


def fmt(v, digits=2):
    return "-" if v is None else ("%.*f" % (digits, v))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default="build", help="build tree with the servers")
    parser.add_argument("--package", help="folder with the files_gateway package "
                        "[BUILD/clients/python/lib]")
    parser.add_argument("--quick", action="store_true", help="%(finds)d finds, %(users)d users, "
                        "%(mib)d MiB" % QUICK)
    parser.add_argument("--finds", type=int)
    parser.add_argument("--users", type=int)
    parser.add_argument("--mib", type=int, help="file size for upload/download")
    parser.add_argument("--work-dir", help="where the local files go [a temporary folder]")
    parser.add_argument("--json", help="also write the results to this file (JSON)")
    args = parser.parse_args()
    sizes = dict(QUICK if args.quick else FULL)
    for key in sizes:
        if getattr(args, key):
            sizes[key] = getattr(args, key)
    build = os.path.abspath(args.build)
    package = os.path.abspath(args.package or os.path.join(build, "clients", "python", "lib"))
    python = sys.executable
    work = tempfile.mkdtemp(prefix="sdk-compare-", dir=args.work_dir)
    servers = {}
    try:
        servers["emulator"] = Server(
            [os.path.join(build, "emulator", "files-emulator"), "--listen", "127.0.0.1:0",
             "--api-key", API_KEY, "--empty"], lambda d: "base_url" in d)
        base = servers["emulator"].ready["base_url"]
        servers["gateway"] = Server(
            [os.path.join(build, "server", "files-gateway"), "--listen", "127.0.0.1:0",
             "--base-url", base, "--log-level", "info"],
            lambda d: d.get("msg") == "listening", env=dict(os.environ, FILES_API_KEY=API_KEY))
        target = "127.0.0.1:%d" % servers["gateway"].ready["port"]
        run = "%x" % (int(time.time()) & 0xffffff)

        t0 = time.perf_counter()
        ids = seed_users(base, sizes["users"], run)
        rest = Rest(base)
        expected_users = count_users(rest)
        ids_file = os.path.join(work, "ids.json")
        with open(ids_file, "w") as f:
            json.dump(ids[:sizes["finds"]], f)
        source = os.path.join(work, "source.bin")
        source_md5 = make_file(source, sizes["mib"] * MIB)
        print("seeded %d users, made a %d MiB file in %.1f s; emulator %s, gateway %s"
              % (len(ids), sizes["mib"], time.perf_counter() - t0, base, target), flush=True)

        clients = {
            "plain": [python, os.path.join(HERE, "plain_http_client.py"), "--base-url", base,
                      "--api-key", API_KEY],
            "gateway": [python, os.path.join(HERE, "gateway_client.py"), "--target", target,
                        "--package", package],
        }
        ops = [
            ("find", "%d finds" % sizes["finds"], ["find", "--ids-file", ids_file], sizes["finds"]),
            ("list", "list %d users" % expected_users, ["list"], expected_users),
            ("upload", "upload %d MiB" % sizes["mib"], None, sizes["mib"]),
            ("download", "download %d MiB" % sizes["mib"], None, sizes["mib"]),
        ]
        results = []
        failures = []
        for op, label, argv, amount in ops:
            row = {"op": op, "label": label, "amount": amount}
            for who, cmd in clients.items():
                remote = "sdk-compare-%s-%s.bin" % (run, who)
                local = os.path.join(work, "down-%s.bin" % who)
                if op == "upload":
                    argv = ["upload", "--local", source, "--remote", remote]
                elif op == "download":
                    argv = ["download", "--remote", remote, "--local", local]
                try:
                    r = run_client(cmd + argv, servers)
                except RuntimeError as e:
                    failures.append("%s %s: %s" % (who, op, e))
                    continue
                if op in ("find", "list") and r["items"] != amount:
                    failures.append("%s %s: %d items, expected %d" % (who, op, r["items"], amount))
                if op == "upload":
                    stat = rest.call("GET", "/files/%s?action=stat" % remote)
                    if stat.get("size") != sizes["mib"] * MIB or stat.get("md5") != source_md5:
                        failures.append("%s upload: stored size %s md5 %s, sent %d md5 %s" % (
                            who, stat.get("size"), stat.get("md5"), sizes["mib"] * MIB, source_md5))
                if op == "download":
                    got = file_md5(local)
                    os.unlink(local)
                    if got != source_md5:
                        failures.append("%s download: md5 %s, expected %s" % (who, got, source_md5))
                    rest.call("DELETE", "/files/" + remote)
                row[who] = r
            results.append(row)
            print_row(row, header=len(results) == 1)
        print_startup(results)
        print_footer(servers)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"sizes": sizes, "results": results, "failures": failures,
                           "gateway_peak_rss_mib": servers["gateway"].peak_rss_mib()}, f, indent=1)
        for failure in failures:
            print("FAILED: " + failure, file=sys.stderr)
        return 1 if failures else 0
    finally:
        for s in reversed(list(servers.values())):
            s.stop()
        shutil.rmtree(work, ignore_errors=True)


def rate(row, who):
    r = row.get(who)
    if r is None:
        return None
    return row["amount"] / r["seconds"]


def print_row(row, header):
    if header:
        print()
        print("| operation | plain HTTP, SDK-style | gateway client | speed ratio (gateway ÷ plain) "
              "| Python CPU s: plain | Python CPU s: gateway client | CPU ratio (gateway ÷ plain) "
              "| gateway CPU s | Python peak RSS MiB: plain / gateway |")
        print("|---|---|---|---|---|---|---|---|---|")
    unit = {"find": "finds/s", "list": "users/s", "upload": "MiB/s", "download": "MiB/s"}[row["op"]]
    plain, gw = row.get("plain"), row.get("gateway")

    def cell(r, who):
        if r is None:
            return "FAILED"
        return "%.2f s (%.0f %s)" % (r["seconds"], rate(row, who), unit)
    ratio = (plain["seconds"] / gw["seconds"]) if plain and gw else None
    cpu_ratio = (gw["cpu_seconds"] / plain["cpu_seconds"]) if plain and gw and \
        plain["cpu_seconds"] > 0 else None
    print("| %s | %s | %s | %s | %s | %s | %s | %s | %s / %s |" % (
        row["label"], cell(plain, "plain"), cell(gw, "gateway"), fmt(ratio),
        fmt(plain and plain["cpu_seconds"]), fmt(gw and gw["cpu_seconds"]), fmt(cpu_ratio),
        fmt(gw and gw["gateway_cpu_seconds"]), fmt(plain and plain["peak_rss_mib"], 0),
        fmt(gw and gw["peak_rss_mib"], 0)), flush=True)


def print_startup(results):
    """Start-up of each client process (interpreter, imports, first use of the
    client), from the first operation's run; not part of the rows above."""
    first = results[0] if results else {}
    plain, gw = first.get("plain"), first.get("gateway")
    if not plain or not gw:
        return
    print("| process start-up (not in the rows above) | %.2f s | %.2f s | %s | %.2f | %.2f | %s "
          "| - | - |" % (plain["startup_seconds"], gw["startup_seconds"],
                         fmt(plain["startup_seconds"] / gw["startup_seconds"]),
                         plain["startup_cpu_seconds"], gw["startup_cpu_seconds"],
                         fmt(gw["startup_cpu_seconds"] / max(plain["startup_cpu_seconds"], 1e-3))))


def print_footer(servers):
    print()
    print("Python CPU s: user + system of the client process during the operation (time.process_time; "
          "imports and start-up excluded). gateway CPU s: the files-gateway process during the "
          "gateway client's run. Gateway peak RSS over the whole comparison: %.0f MiB."
          % servers["gateway"].peak_rss_mib())


if __name__ == "__main__":
    sys.exit(main())
