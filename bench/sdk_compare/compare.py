"""Files.com's SDKs against one emulator, side by side with the gateway's
clients through files-gateway, optionally over a network that is not
loopback (bench/delay_proxy between the callers' side and the emulator).

Per language, two client processes per operation:
- Node: Files.com's official JS SDK (npm files.com, pinned by
  tests/conformance/package-lock.json), unmodified, straight to the emulator
  (node_client.js --mode sdk), vs the gateway's Node client (clients/node)
  through files-gateway (node_client.js --mode gateway);
- Python: a REPRODUCTION of the official Python SDK's transport
  (sdk_transport_client.py: requests.Session, its headers, paging, sequential
  parts with begin_upload per part, 8 KiB download reads; the SDK itself is
  not installable here), vs the gateway's Python client (gateway_client.py).

Operations: N sequential finds, listing every user (auto paging), uploading
and downloading a file (checked by MD5 both ways). With --many N: N caller
processes at once sharing one account (Node: SDK processes vs gateway client
processes) against an emulator enforcing a per-key rate (--rate-limit),
counting failed calls and the emulator's 429 answers.

--rtt-ms R puts the delay proxy (R/2 each way, handshakes included) between
the emulator and everything that talks to it (the SDKs, the gateway); the
emulator then serves HTTPS (a real Files.com is never plain HTTP), as with
--tls. The gateway and its callers stay on loopback, as a sidecar would.

    python3 bench/sdk_compare/compare.py --build build --quick
    python3 bench/sdk_compare/compare.py --build build --rtt-ms 20 --many 50
Exits non-zero when an operation fails or a check does not hold.
"""
import argparse
import concurrent.futures
import hashlib
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
API_KEY = "benchkey"
MIB = 1 << 20
FULL = {"finds": 1000, "users": 10000, "mib": 1024}
QUICK = {"finds": 100, "users": 1000, "mib": 64}
UNITS = {"find": "finds/s", "list": "users/s", "upload": "MiB/s", "download": "MiB/s"}


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
    """Keep-alive JSON calls straight to the emulator for set-up and checks
    (never through the proxy, never timed)."""

    def __init__(self, base_url, ca_file=None):
        self.parts = urllib.parse.urlsplit(base_url)
        self.context = ssl.create_default_context(cafile=ca_file) if ca_file else None
        self.conn = None
        self.used = 0.0

    def call(self, method, path, body=None, with_headers=False, prefix="/api/rest/v1"):
        if self.conn is None or time.monotonic() - self.used > 1.0:
            # The emulator closes connections idle for a few seconds.
            if self.conn is not None:
                self.conn.close()
            if self.parts.scheme == "https":
                self.conn = http.client.HTTPSConnection(self.parts.hostname, self.parts.port,
                                                        timeout=120, context=self.context)
            else:
                self.conn = http.client.HTTPConnection(self.parts.hostname, self.parts.port,
                                                       timeout=120)
        headers = {"X-FilesAPI-Key": API_KEY, "Content-Type": "application/json"}
        data = None if body is None else json.dumps(body).encode()
        self.conn.request(method, prefix + path, body=data, headers=headers)
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


def seed_users(base_url, ca_file, count, run):
    """Creates `count` users with 4 connections; returns their ids in order."""
    def create(indexes):
        rest = Rest(base_url, ca_file)
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


def run_client(cmd, servers, env=None):
    """Runs one client process; returns its JSON line plus its whole-process
    CPU (start-up included) and each server's CPU during the run."""
    before = {name: s.cpu_seconds() for name, s in servers.items()}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        env = dict(env or os.environ, SDK_COMPARE_T0=repr(time.time()))
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        after = {name: s.cpu_seconds() for name, s in servers.items()}
        out.seek(0)
        err.seek(0)
        text, errors = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(cmd[:4]), proc.returncode,
                                                   errors[-3000:]))
    result = json.loads(text.strip().splitlines()[-1])
    result["process_cpu_seconds"] = usage.ru_utime + usage.ru_stime
    for name in servers:
        result[name + "_cpu_seconds"] = after[name] - before[name]
    return result


class Setup:
    """Emulator (HTTPS when asked), delay proxy (when --rtt-ms), gateway."""

    def __init__(self, args, build, work, rate_limit=0, gateway_rps=0, demo=False):
        self.servers = {}
        self.ca_file = None
        tls = args.tls or args.rtt_ms > 0
        emu = [os.path.join(build, "emulator", "files-emulator"), "--listen", "127.0.0.1:0",
               "--api-key", API_KEY]
        if not demo:
            emu.append("--empty")
        if tls:
            self.ca_file = os.path.join(work, "ca-%d.pem" % len(os.listdir(work)))
            emu += ["--tls-self-signed", self.ca_file]
        if rate_limit:
            emu += ["--rate-limit", str(rate_limit)]
        try:
            self.servers["emulator"] = Server(emu, lambda d: "base_url" in d)
            self.direct = self.servers["emulator"].ready["base_url"]
            self.base = self.direct
            if args.rtt_ms > 0:
                port = int(self.direct.rsplit(":", 1)[1])
                self.servers["proxy"] = Server(
                    [os.path.join(build, "bench", "delay_proxy"), "--target", "127.0.0.1:%d" % port,
                     "--rtt-ms", str(args.rtt_ms)], lambda d: "listening" in d)
                self.base = "https://" + self.servers["proxy"].ready["listening"]
            gw = [os.path.join(build, "server", "files-gateway"), "--listen", "127.0.0.1:0",
                  "--base-url", self.base, "--log-level", "info", "--metrics-listen", "off"]
            if self.ca_file:
                gw += ["--ca-file", self.ca_file]
            if gateway_rps:
                gw += ["--requests-per-second", str(gateway_rps)]
            self.servers["gateway"] = Server(gw, lambda d: d.get("msg") == "listening",
                                             env=dict(os.environ, FILES_API_KEY=API_KEY))
            self.target = "127.0.0.1:%d" % self.servers["gateway"].ready["port"]
        except BaseException:
            self.stop()
            raise
        self.rest = Rest(self.direct, self.ca_file)

    def node_env(self):
        env = dict(os.environ)
        if self.ca_file:
            env["NODE_EXTRA_CA_CERTS"] = self.ca_file
        return env

    def stop(self):
        for s in reversed(list(self.servers.values())):
            s.stop()


def clients(args, setup, langs):
    """(language, who) -> command prefix; who is "sdk" or "gateway"."""
    python = sys.executable
    node = shutil.which("node")
    out = {}
    if "python" in langs:
        sdk = [python, os.path.join(HERE, "sdk_transport_client.py"), "--base-url", setup.base,
               "--api-key", API_KEY]
        if setup.ca_file:
            sdk += ["--ca-file", setup.ca_file]
        out[("python", "sdk")] = sdk
        out[("python", "gateway")] = [python, os.path.join(HERE, "gateway_client.py"), "--target",
                                      setup.target, "--package", args.package]
    if "node" in langs:
        script = os.path.join(HERE, "node_client.js")
        out[("node", "sdk")] = [node, script, "--mode", "sdk", "--base-url", setup.base,
                                "--api-key", API_KEY, "--sdk", args.sdk_modules]
        out[("node", "gateway")] = [node, script, "--mode", "gateway", "--target", setup.target,
                                    "--package", args.node_package]
    return out


def run_operations(args, setup, sizes, work, langs, failures):
    run = "%x" % (int(time.time()) & 0xffffff)
    t0 = time.perf_counter()
    ids = seed_users(setup.direct, setup.ca_file, sizes["users"], run)
    expected_users = count_users(setup.rest)
    ids_file = os.path.join(work, "ids.json")
    with open(ids_file, "w") as f:
        json.dump(ids[:sizes["finds"]], f)
    source = os.path.join(work, "source.bin")
    source_md5 = make_file(source, sizes["mib"] * MIB)
    print("seeded %d users, made a %d MiB file in %.1f s; emulator %s, callers reach it at %s, "
          "gateway %s" % (len(ids), sizes["mib"], time.perf_counter() - t0, setup.direct,
                          setup.base, setup.target), flush=True)
    commands = clients(args, setup, langs)
    ops = [
        ("find", "%d finds" % sizes["finds"], sizes["finds"]),
        ("list", "list %d users" % expected_users, expected_users),
        ("upload", "upload %d MiB" % sizes["mib"], sizes["mib"]),
        ("download", "download %d MiB" % sizes["mib"], sizes["mib"]),
    ]
    results = []
    for lang in langs:
        for op, label, amount in ops:
            if args.ops and op not in args.ops:
                continue
            row = {"lang": lang, "op": op, "label": label, "amount": amount}
            for who in ("sdk", "gateway"):
                remote = "sdk-compare-%s-%s-%s.bin" % (run, lang, who)
                local = os.path.join(work, "down-%s-%s.bin" % (lang, who))
                argv = {"find": ["find", "--ids-file", ids_file], "list": ["list"],
                        "upload": ["upload", "--local", source, "--remote", remote],
                        "download": ["download", "--remote", remote, "--local", local]}[op]
                try:
                    r = run_client(commands[(lang, who)] + ["--warmup-id", str(ids[-1])] + argv
                                   if lang == "python" else
                                   commands[(lang, who)] + argv + ["--warmup-id", str(ids[-1])],
                                   setup.servers, setup.node_env())
                except RuntimeError as e:
                    failures.append("%s %s %s: %s" % (lang, who, op, e))
                    continue
                if op in ("find", "list") and r["items"] != amount:
                    failures.append("%s %s %s: %d items, expected %d" % (lang, who, op, r["items"],
                                                                         amount))
                if op == "upload":
                    stat = setup.rest.call("GET", "/files/%s?action=stat" % remote)
                    if stat.get("size") != sizes["mib"] * MIB or stat.get("md5") != source_md5:
                        failures.append("%s %s upload: stored size %s md5 %s, sent %d md5 %s" % (
                            lang, who, stat.get("size"), stat.get("md5"), sizes["mib"] * MIB,
                            source_md5))
                if op == "download":
                    got = file_md5(local)
                    os.unlink(local)
                    if got != source_md5:
                        failures.append("%s %s download: md5 %s, expected %s" % (lang, who, got,
                                                                                 source_md5))
                    setup.rest.call("DELETE", "/files/" + remote)
                row[who] = r
            results.append(row)
            print_row(row, header=len(results) == 1)
    print_startup(results)
    return results


def run_many(args, build, work, failures):
    """N caller processes at once, each making --many-finds finds of the demo
    user, all on one account against the emulator's per-key rate; SDK
    processes straight to the emulator, then gateway client processes through
    one gateway (its --requests-per-second at 90 % of the account's rate, as
    an operator who knows the limit would set it). Node on both sides."""
    out = {"processes": args.many, "finds_each": args.many_finds, "rate_limit": args.rate_limit,
           "gateway_requests_per_second": round(args.rate_limit * 0.9, 1)}
    ids_file = os.path.join(work, "many-ids.json")
    with open(ids_file, "w") as f:
        json.dump([1], f)
    for who in ("sdk", "gateway"):
        setup = Setup(args, build, work, rate_limit=args.rate_limit,
                      gateway_rps=out["gateway_requests_per_second"], demo=True)
        try:
            cmd = clients(args, setup, ["node"])[("node", who)] + [
                "find", "--ids-file", ids_file, "--repeat", str(args.many_finds), "--keep-going"]
            before = setup.rest.call("GET", "rate_limit", prefix="/__emulator/")
            env = dict(setup.node_env(), SDK_COMPARE_T0=repr(time.time()))
            t0 = time.perf_counter()
            procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, env=env) for _ in range(args.many)]
            answers = [p.communicate() for p in procs]
            wall = time.perf_counter() - t0
            after = setup.rest.call("GET", "rate_limit", prefix="/__emulator/")
            done, failed, crashed, errors = 0, 0, 0, {}
            for p, (text, err) in zip(procs, answers):
                if p.returncode != 0:
                    crashed += 1
                    failures.append("many %s: a process exited %d: %s" % (who, p.returncode,
                                                                         err[-500:]))
                    continue
                r = json.loads(text.strip().splitlines()[-1])
                done += r["items"]
                failed += r["failed"]
                for k, v in r.get("errors", {}).items():
                    errors[k] = errors.get(k, 0) + v
            out[who] = {"ok_calls": done, "failed_calls": failed + crashed * args.many_finds,
                        "errors": errors, "seconds": wall,
                        "upstream_429": after["limited"] - before["limited"],
                        "upstream_allowed": after["allowed"] - before["allowed"]}
        finally:
            setup.stop()
    print()
    print("| %d processes x %d finds, one account at %s req/s | failed calls | upstream 429s | "
          "upstream requests answered | wall s |" % (args.many, args.many_finds, args.rate_limit))
    print("|---|---|---|---|---|")
    for who, label in (("sdk", "Files.com JS SDK processes, straight to Files.com"),
                       ("gateway", "gateway Node client processes, one gateway")):
        r = out[who]
        print("| %s | %d | %d | %d | %.1f |" % (label, r["failed_calls"], r["upstream_429"],
                                               r["upstream_allowed"], r["seconds"]))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default="build", help="build tree with the servers")
    parser.add_argument("--package", help="folder with the files_gateway Python package "
                        "[BUILD/clients/python/lib]")
    parser.add_argument("--node-package", help="the gateway's Node client [BUILD/clients/node/pkg]")
    parser.add_argument("--sdk-modules", help="node_modules holding files.com "
                        "[BUILD/tests/conformance/node_modules; npm ci'd there if missing]")
    parser.add_argument("--quick", action="store_true", help="%(finds)d finds, %(users)d users, "
                        "%(mib)d MiB" % QUICK)
    parser.add_argument("--finds", type=int)
    parser.add_argument("--users", type=int)
    parser.add_argument("--mib", type=int, help="file size for upload/download")
    parser.add_argument("--lang", action="append", choices=("python", "node"),
                        help="languages to compare (repeatable) [both]")
    parser.add_argument("--ops", action="append", choices=("find", "list", "upload", "download"),
                        help="operations (repeatable) [all]; download needs upload")
    parser.add_argument("--rtt-ms", type=float, default=0,
                        help="round trip to the emulator through bench/delay_proxy (implies --tls)")
    parser.add_argument("--tls", action="store_true", help="the emulator serves HTTPS")
    parser.add_argument("--many", type=int, default=0,
                        help="also run N concurrent caller processes on one account")
    parser.add_argument("--many-finds", type=int, default=5, help="finds per caller process [5]")
    parser.add_argument("--rate-limit", type=float, default=20,
                        help="the account's request rate for --many (req/s) [20]: below what "
                        "the callers ask for, so the limit bites")
    parser.add_argument("--work-dir", help="where the local files go [a temporary folder]")
    parser.add_argument("--json", help="also write the results to this file (JSON)")
    args = parser.parse_args()
    sizes = dict(QUICK if args.quick else FULL)
    for key in sizes:
        if getattr(args, key):
            sizes[key] = getattr(args, key)
    build = os.path.abspath(args.build)
    args.package = os.path.abspath(args.package or os.path.join(build, "clients", "python", "lib"))
    args.node_package = os.path.abspath(args.node_package or
                                        os.path.join(build, "clients", "node", "pkg"))
    args.sdk_modules = os.path.abspath(args.sdk_modules or os.path.join(
        build, "tests", "conformance", "node_modules"))
    langs = args.lang or ["python", "node"]
    if "node" in langs or args.many:
        install_sdk(args.sdk_modules)
    work = tempfile.mkdtemp(prefix="sdk-compare-", dir=args.work_dir)
    failures = []
    doc = {"sizes": sizes, "rtt_ms": args.rtt_ms, "tls": args.tls or args.rtt_ms > 0,
           "results": [], "failures": failures}
    try:
        if sizes["finds"] or sizes["users"] or sizes["mib"]:
            setup = Setup(args, build, work)
            try:
                doc["results"] = run_operations(args, setup, sizes, work, langs, failures)
                doc["gateway_peak_rss_mib"] = setup.servers["gateway"].peak_rss_mib()
            finally:
                setup.stop()
            print_footer(doc)
        if args.many:
            doc["many"] = run_many(args, build, work, failures)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(doc, f, indent=1)
        for failure in failures:
            print("FAILED: " + failure, file=sys.stderr)
        return 1 if failures else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def install_sdk(modules):
    """npm ci of tests/conformance's pinned files.com into modules' parent
    (what the conformance_sdk_install test does), unless it is there."""
    if os.path.exists(os.path.join(modules, "files.com", "package.json")):
        return
    folder = os.path.dirname(modules)
    os.makedirs(folder, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(REPO, "tests", "conformance", name), os.path.join(folder, name))
    subprocess.run(["npm", "ci", "--prefix", folder, "--prefer-offline", "--no-audit", "--no-fund"],
                   check=True, stdout=subprocess.DEVNULL)


def rate(row, who):
    r = row.get(who)
    if r is None:
        return None
    return row["amount"] / r["seconds"]


def fmt(v, digits=2):
    return "-" if v is None else ("%.*f" % (digits, v))


def print_row(row, header):
    if header:
        print()
        print("| language: operation | SDK (Node: official; Python: reproduction) | gateway client "
              "| speed ratio (gateway ÷ SDK) | client CPU s: SDK | client CPU s: gateway client "
              "| CPU ratio (gateway ÷ SDK) | gateway CPU s | client peak RSS MiB: SDK / gateway |")
        print("|---|---|---|---|---|---|---|---|---|")
    unit = UNITS[row["op"]]
    sdk, gw = row.get("sdk"), row.get("gateway")

    def cell(r, who):
        if r is None:
            return "FAILED"
        return "%.2f s (%.0f %s)" % (r["seconds"], rate(row, who), unit)
    ratio = (sdk["seconds"] / gw["seconds"]) if sdk and gw else None
    cpu_ratio = (gw["cpu_seconds"] / sdk["cpu_seconds"]) if sdk and gw and \
        sdk["cpu_seconds"] > 0 else None
    print("| %s: %s | %s | %s | %s | %s | %s | %s | %s | %s / %s |" % (
        row["lang"], row["label"], cell(sdk, "sdk"), cell(gw, "gateway"), fmt(ratio),
        fmt(sdk and sdk["cpu_seconds"]), fmt(gw and gw["cpu_seconds"]), fmt(cpu_ratio),
        fmt(gw and gw["gateway_cpu_seconds"]), fmt(sdk and sdk["peak_rss_mib"], 0),
        fmt(gw and gw["peak_rss_mib"], 0)), flush=True)


def print_startup(results):
    """Start-up of each client process (interpreter, imports, first use of the
    client), from each language's first operation; not part of the rows."""
    seen = set()
    for row in results:
        sdk, gw = row.get("sdk"), row.get("gateway")
        if row["lang"] in seen or not sdk or not gw:
            continue
        seen.add(row["lang"])
        print("| %s: process start-up (not in the rows above) | %.2f s | %.2f s | - | %.2f | %.2f "
              "| - | - | - |" % (row["lang"], sdk["startup_seconds"], gw["startup_seconds"],
                                 sdk["startup_cpu_seconds"], gw["startup_cpu_seconds"]))


def print_footer(doc):
    print()
    print("client CPU s: user + system of the client process during the operation (imports and "
          "start-up excluded). gateway CPU s: the files-gateway process during the gateway "
          "client's run. Round trip to the emulator: %s; emulator over %s. Gateway peak RSS: "
          "%.0f MiB." % ("%g ms (bench/delay_proxy)" % doc["rtt_ms"] if doc["rtt_ms"] else
                         "loopback", "HTTPS" if doc["tls"] else "HTTP",
                         doc.get("gateway_peak_rss_mib", 0)))


if __name__ == "__main__":
    sys.exit(main())
