"""One benchmark command: runs the unary, transfer and JSON-converter
benchmarks, the SDK comparisons (loopback, and at 20 and 80 ms round trip
through bench/delay_proxy to an HTTPS emulator, with 50 processes sharing one
rate-limited account) and the isolation bench, and prints one table, each
figure beside its baseline (direct libcurl, curl, protobuf's JSON parser,
Files.com's official JS SDK, a reproduction of the Python SDK's transport)
with the ratio and the target. Transfers run with TLS off and on, side by side.

    /usr/bin/python3 bench/report.py --build build            # full (~30 min on 2 vCPUs)
    /usr/bin/python3 bench/report.py --build build --quick    # small sizes (~10 min)
    cmake --build build --target bench_report                 # the same, full

It runs the programs (build/bench/gateway_bench, transfer_bench,
converter_bench, bench/sdk_compare/compare.py, isolation_bench) as they are
and reads their text output; each program's output is kept under --logs. Exits 1 when a
program fails or a figure cannot be read from its output (a changed output
format), never because a target is missed: targets are reported, not
asserted.
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# quick / full settings per program.
MODES = {
    # Checks that every figure can still be read from the programs (CTest
    # bench_report_smoke); its numbers mean little.
    "smoke": {"calls": 20, "gib": "0.125", "streams": 2,
              "sdk": ["--tls", "--finds", "20", "--users", "200", "--mib", "8"],
              "wan": ["--finds", "10", "--users", "200", "--mib", "8", "--many", "4",
                      "--many-finds", "3"], "rtts": ["20"],
              "converter": ["--benchmark_min_time=0.05"],
              "isolation": ["--calls", "20", "--idle-streams", "50", "--flood-calls", "4"]},
    "quick": {"calls": 200, "gib": "0.25", "streams": 4, "sdk": ["--tls", "--quick"],
              "wan": ["--finds", "50", "--users", "1000", "--mib", "32", "--many", "10"],
              "rtts": ["20", "80"],
              "converter": ["--benchmark_min_time=0.2"], "isolation": ["--quick"]},
    "full": {"calls": 2000, "gib": "1", "streams": 32, "sdk": ["--tls"], "wan": ["--many", "50"],
             "rtts": ["20", "80"], "converter": [], "isolation": []},
}
SECTIONS = ("unary", "transfer", "converter", "sdk", "wan", "isolation")


def over(a, b):
    """a / b, or None (shown as "-") when the floor measured zero: a smoke run's
    few calls can take less CPU than the clock's resolution."""
    return a / b if b > 0 else None


def within(a, b, factor):
    """a <= factor * b, or None (not judged) when there is no floor."""
    return a <= factor * b if b > 0 else None


class Row:
    """One line of the table. ratio is gateway / baseline unless given."""

    def __init__(self, metric, gateway, baseline="-", ratio=None, target="-", met=None):
        self.metric, self.gateway, self.baseline = metric, gateway, baseline
        self.ratio, self.target, self.met = ratio, target, met

    def cells(self):
        met = "-" if self.met is None else ("yes" if self.met else "**no**")
        ratio = "-" if self.ratio is None else "%.2f" % self.ratio
        return [self.metric, ratio, self.target, met, self.gateway, self.baseline]


class Missing(Exception):
    """A figure was not found in a program's output."""


def need(pattern, text, what, flags=re.M):
    m = re.search(pattern, text, flags)
    if m is None:
        raise Missing(what)
    return m


REUSE_LOGS = False


def run(cmd, log_path, timeout):
    """Runs a benchmark program; returns its output (also written to log_path).
    With --reuse-logs, reads log_path instead when it is there (re-renders a
    report from an earlier run's outputs)."""
    if REUSE_LOGS and os.path.exists(log_path):
        with open(log_path) as f:
            return f.read()
    print("running: %s" % " ".join(cmd), file=sys.stderr, flush=True)
    t0 = time.monotonic()
    with open(log_path, "w") as log:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout)
        log.write(proc.stdout)
    print("  done in %.0f s (exit %d), output in %s" % (time.monotonic() - t0, proc.returncode,
                                                        log_path), file=sys.stderr, flush=True)
    if proc.returncode != 0:
        raise RuntimeError("%s exited %d; see %s" % (os.path.basename(cmd[0]), proc.returncode,
                                                    log_path))
    return proc.stdout


# ---- unary: bench/gateway_bench ----

def unary_rows(text):
    rows = []
    num = r"(-?[\d.]+)"
    for name, label, target_added, target_cpu in (
            ("FindUser", "FindUser", 150, 50),
            (r"ListUsers\(per_page=1000\)", "ListUsers per_page=1000", None, None)):
        m = need(r"^%s\s+%sus\s+%sus\s+%sus\s+%sus\s+%sus\s*$" % ((name,) + (num,) * 5), text,
                 "gateway_bench: %s row" % label)
        direct, via, added, added99, cpu = (float(x) for x in m.groups())
        rows.append(Row("%s latency p50 (added p99: %s)" % (label, fmt_us(added99)),
                        "%s (+%s)" % (fmt_us(via), fmt_us(added)),
                        "%s direct libcurl" % fmt_us(direct), via / direct,
                        "added p50 ≤ %d µs" % target_added if target_added else "-",
                        added <= target_added if target_added else None))
        rows.append(Row("%s gateway CPU per call" % label, fmt_us(cpu), "-", None,
                        "≤ %d µs" % target_cpu if target_cpu else "-",
                        cpu <= target_cpu if target_cpu else None))
    # gRPC's own floor, same client, same run: a server that answers at once.
    floor = {}
    for key, pattern in (("async", r"^async API[^\n]*?\s+(\d+)us\s+(\d+)us\s+([\d.]+)us\s*$"),
                         ("callback", r"^callback API[^\n]*?\s+(\d+)us\s+(\d+)us\s+([\d.]+)us\s*$")):
        m = need(pattern, text, "gateway_bench: %s floor row" % key)
        floor[key] = (float(m[1]), float(m[3]))  # p50, CPU per call
    m = need(r"^FindUser\s+%sus\s+%sus\s+%sus\s+%sus\s+%sus\s*$" % ((num,) * 5), text,
             "gateway_bench: FindUser row")
    _, _, added, _, cpu = (float(x) for x in m.groups())
    client = re.search(r"^direct libcurl client CPU per call, FindUser: ([\d.]+)us", text, re.M)
    if client is None:  # an older gateway_bench: the floor without the client's CPU
        rows.append(Row("FindUser gateway CPU per call vs gRPC floor (empty server, async API; "
                        "callback API + health: %s, ratio %s)" % (fmt_us(floor["callback"][1]),
                                                                    "%.1f" % over(cpu, floor["callback"][1]) if floor["callback"][1] > 0 else "-"),
                        fmt_us(cpu), "%s (async API)" % fmt_us(floor["async"][1]),
                        over(cpu, floor["async"][1]), "≤ 2x (async floor + libcurl client CPU)",
                        None))
    else:
        base = floor["async"][1] + float(client[1])
        rows.append(Row("FindUser gateway CPU per call vs floor = empty gRPC server (async API) "
                        "%s + direct libcurl client %s (callback API + health: %s)"
                        % (fmt_us(floor["async"][1]), fmt_us(float(client[1])),
                           fmt_us(floor["callback"][1])),
                        fmt_us(cpu), fmt_us(base), over(cpu, base), "≤ 2x", within(cpu, base, 2)))
    rows.append(Row("FindUser added p50 vs gRPC floor's round trip p50 (async API)",
                    fmt_us(added), fmt_us(floor["async"][0]), over(added, floor["async"][0]),
                    "≤ 2x", within(added, floor["async"][0], 2)))
    conv = re.search(r"^converter alone on the same ListUsers\(per_page=1000\) body \((\d+) bytes\): "
                     r"([\d.]+)us", text, re.M)
    lm = need(r"^ListUsers\(per_page=1000\)\s+%sus\s+%sus\s+%sus\s+%sus\s+%sus\s*$" % ((num,) * 5),
              text, "gateway_bench: ListUsers row")
    if conv is not None:
        list_cpu, conv_us = float(lm.groups()[4]), float(conv[2])
        rows.append(Row("ListUsers(per_page=1000) gateway CPU per call vs the converter alone on "
                        "the same body (%.1f MB, %.0f MB/s)" % (int(conv[1]) / 1e6,
                                                                 int(conv[1]) / conv_us),
                        fmt_us(list_cpu), fmt_us(conv_us), over(list_cpu, conv_us), "≤ 2x",
                        within(list_cpu, conv_us, 2)))
    m = need(r"(\d+) concurrent FindUser: (\d+) failed, ([\d.]+) ms, gateway threads "
             r"\(peak seen\): (\d+)", text, "gateway_bench: concurrent line")
    n, failed, ms, threads = int(m[1]), int(m[2]), float(m[3]), int(m[4])
    rows.append(Row("%d concurrent FindUser: failed / wall / gateway threads (peak)" % n,
                    "%d / %.0f ms / %d" % (failed, ms, threads), "-", None, "0 failed",
                    failed == 0))
    m = need(r"limit ([\d.]+) req/s: upstream held at ([\d.]+) req/s .*?caller latency p50 "
             r"([\d.]+) ms, p99 ([\d.]+) ms.*?; (\d+) refused", text, "gateway_bench: governor line",
             re.S)
    limit, held, p50, p99, refused = float(m[1]), float(m[2]), float(m[3]), float(m[4]), int(m[5])
    rows.append(Row("rate governor, 50 callers: upstream rate (caller p50 %.0f ms, p99 %.0f ms, "
                    "%d refused)" % (p50, p99, refused), "%.1f req/s" % held,
                    "limit %.0f req/s" % limit, held / limit, "90-100 % of the limit",
                    0.9 * limit <= held <= 1.01 * limit))
    return rows


def fmt_us(us):
    return "%.0f µs" % us if abs(us) < 10000 else "%.1f ms" % (us / 1000.0)


# ---- transfers: bench/transfer_bench ----

TRANSFER_ROW = re.compile(
    r"^(?P<name>\S.*?)\s+(?P<gw>[\d.]+) MiB/s\s+(?:(?P<direct>[\d.]+) MiB/s|-)\s+"
    r"(?P<ratio>[\d.]+|-)\s+(?P<cpu>[\d.]+)\s+(?P<peak>[\d.]+)\s+(?P<threads>\d+)"
    r"(?P<failed>\s+FAILED)?\s*$", re.M)


def transfer_found(text):
    found = {}
    for m in TRANSFER_ROW.finditer(text):
        name = m["name"]
        if "concurrent" in name:
            key = "many-" + ("up" if "upload" in name else "down")
        elif "(direct" in name:
            key = "big-" + ("up" if name.startswith("upload") else "down")
        elif name.startswith(("upload ", "download ")):
            key = "small-" + ("up" if name.startswith("upload") else "down")
        else:
            continue
        found[key] = m
    return found


def transfer_rows(text, gib, streams, tls_text=None, relay_text=None):
    """Rows of transfer_bench's output; with tls_text (the same program run
    with --tls), the single-stream figures with TLS on stand beside; with
    relay_text (--only relay), the gateway's CPU per GiB against the
    do-nothing relay's on the same stacks."""
    found = transfer_found(text)
    for key in ("small-up", "big-up", "small-down", "big-down", "many-up", "many-down"):
        if key not in found:
            raise Missing("transfer_bench: %s row" % key)
    tls = transfer_found(tls_text) if tls_text is not None else {}
    for key in ("big-up", "big-down"):
        if tls_text is not None and key not in tls:
            raise Missing("transfer_bench --tls: %s row" % key)
    size = "1 GiB" if float(gib) == 1 else "%s GiB" % gib
    rows = []
    for direction, word, direct_how in (("up", "upload", "curl multi, 4 parts in flight"),
                                        ("down", "download", "one curl GET")):
        m = found["big-" + direction]
        if m["failed"]:
            raise RuntimeError("transfer_bench: %s %s FAILED" % (word, size))
        ratio = float(m["ratio"])
        t = tls.get("big-" + direction)
        rows.append(Row("%s %s throughput, TLS off%s" % (word, size, "; TLS on (ratio %s)" %
                                                          t["ratio"] if t else ""),
                        "%s MiB/s%s" % (m["gw"], "; %s MiB/s" % t["gw"] if t else ""),
                        "%s MiB/s%s (%s)" % (m["direct"], "; %s MiB/s" % t["direct"] if t else "",
                                             direct_how), ratio, "ratio ≥ 0.8",
                        ratio >= 0.8))
        rows.append(Row("%s %s: gateway CPU s/GiB / threads (peak), TLS off%s" % (
                            word, size, "; TLS on" if t else ""),
                        "%s / %s%s" % (m["cpu"], m["threads"],
                                       "; %s / %s" % (t["cpu"], t["threads"]) if t else ""),
                        "-", None, "-", None))
        small = float(found["small-" + direction]["peak"])
        big = float(m["peak"])
        growth = 100.0 * (big / small - 1)
        rows.append(Row("%s %s: gateway peak RSS (100 MiB stream: %.1f MiB, %+.0f %%)"
                        % (word, size, small, growth), "%.1f MiB" % big, "-", None,
                        "≤ 64 MiB; 100 MiB vs 1 GiB within 10 %",
                        big <= 64 and abs(growth) <= 10))
    if relay_text is not None:
        for direction, word in (("up", "upload"), ("down", "download")):
            m = need(r"^relay %s\s+([\d.]+) MiB/s, relay cpu ([\d.]+) s/GiB" % word, relay_text,
                     "transfer_bench: relay %s row" % word)
            relay_cpu = float(m[2])
            gw_cpu = float(found["big-" + direction]["cpu"])
            rows.append(Row("%s %s: gateway CPU s/GiB vs a do-nothing relay on the same stacks "
                            "(gRPC sync server + libcurl, %s MiB/s)" % (word, size, m[1]),
                            "%.2f" % gw_cpu, "%.2f" % relay_cpu, over(gw_cpu, relay_cpu), "≤ 1.25x",
                            within(gw_cpu, relay_cpu, 1.25)))
    for direction, word in (("up", "uploads"), ("down", "downloads")):
        m = found["many-" + direction]
        if m["failed"]:
            raise RuntimeError("transfer_bench: concurrent %s FAILED" % word)
        peak = float(m["peak"])
        rows.append(Row("%d concurrent 100 MiB %s: total MiB/s, CPU s/GiB, threads"
                        % (streams, word), "%s MiB/s, %s, %s" % (m["gw"], m["cpu"], m["threads"]),
                        "-", None, "-", None))
        rows.append(Row("%d concurrent 100 MiB %s: gateway peak RSS" % (streams, word),
                        "%.1f MiB" % peak, "-", None, "≤ 256 MiB (32 streams)",
                        peak <= 256 if streams == 32 else None))
    return rows


# ---- JSON -> proto: bench/converter_bench ----

def converter_rows(text):
    m = need(r"codec ([\d.]+) MB/s; ([\d.]+)x JsonStringToMessage \(([\d.]+) MB/s\)", text,
             "converter_bench: summary line")
    ours, message = float(m[1]), float(m[3])
    same = need(r"results identical: (\w+)", text, "converter_bench: identical line")[1]
    return [Row("JSON → ListUsersResponse, 1,000 users (same result as protobuf: %s)" % same,
                "%.0f MB/s" % ours, "%.0f MB/s (JsonStringToMessage)" % message, ours / message,
                "≥ 150 MB/s and ≥ 3x", ours >= 150 and ours / message >= 3 and same == "yes")]


# ---- SDKs: bench/sdk_compare/compare.py (loopback, and over the delay proxy) ----

UNITS = {"find": "finds/s", "list": "users/s", "upload": "MiB/s", "download": "MiB/s"}
SDK_NAME = {"node": "Files.com JS SDK 1.2.314", "python": "Python SDK transport (reproduction)"}


def sdk_rows(doc, where):
    """Rows of one compare.py run. where: "loopback" or "20 ms RTT" etc.
    Speed ratio = SDK seconds ÷ gateway seconds (higher is better); CPU
    ratio = gateway client ÷ SDK (lower is better)."""
    if doc["failures"]:
        raise RuntimeError("sdk_compare (%s): " % where + "; ".join(doc["failures"]))
    wan = doc["rtt_ms"] > 0
    speed_target = {"find": 0.95, "list": 1.0, "upload": 2.0, "download": 1.0}
    rows = []
    for r in doc["results"]:
        sdk, gw = r["sdk"], r["gateway"]
        unit = UNITS[r["op"]]
        ratio = sdk["seconds"] / gw["seconds"]
        target = speed_target[r["op"]] if wan else None
        rows.append(Row("%s, %s: %s (gateway client vs %s)" % (where, r["lang"], r["label"],
                                                              SDK_NAME[r["lang"]]),
                        "%.2f s (%.0f %s)" % (gw["seconds"], r["amount"] / gw["seconds"], unit),
                        "%.2f s (%.0f %s)" % (sdk["seconds"], r["amount"] / sdk["seconds"], unit),
                        ratio, "speed ≥ %gx" % target if target else "-",
                        ratio >= target if target else None))
        cpu_target = None
        if r["lang"] == "python" and not wan:
            cpu_target = 0.5 if r["op"] == "find" else 1.25 if r["op"] in ("upload",
                                                                          "download") else None
        cpu_ratio = gw["cpu_seconds"] / sdk["cpu_seconds"] if sdk["cpu_seconds"] else None
        rows.append(Row("%s, %s: %s: client CPU s (gateway CPU s: %.2f)"
                        % (where, r["lang"], r["label"], gw["gateway_cpu_seconds"]),
                        "%.2f" % gw["cpu_seconds"], "%.2f" % sdk["cpu_seconds"], cpu_ratio,
                        "≤ %gx" % cpu_target if cpu_target else "-",
                        cpu_ratio <= cpu_target if cpu_target and cpu_ratio is not None else None))
    if doc["results"] and not wan:
        for lang in ("python", "node"):
            mine = [r for r in doc["results"] if r["lang"] == lang]
            if not mine:
                continue
            peak = {who: max(r[who]["peak_rss_mib"] for r in mine) for who in ("gateway", "sdk")}
            rows.append(Row("%s, %s: client process peak RSS (largest over the operations)"
                            % (where, lang), "%.0f MiB" % peak["gateway"],
                            "%.0f MiB" % peak["sdk"], peak["gateway"] / peak["sdk"], "-", None))
            first = mine[0]
            rows.append(Row("%s, %s: process start-up: wall / CPU s (imports, first use)"
                            % (where, lang),
                            "%.2f / %.2f" % (first["gateway"]["startup_seconds"],
                                             first["gateway"]["startup_cpu_seconds"]),
                            "%.2f / %.2f" % (first["sdk"]["startup_seconds"],
                                             first["sdk"]["startup_cpu_seconds"]),
                            None, "-", None))
    many = doc.get("many")
    if many:
        gw, sdk = many["gateway"], many["sdk"]
        rows.append(Row("%s: %d Node processes x %d finds on one account (%g req/s per key): "
                        "failed calls / upstream 429s (gateway --requests-per-second %g)"
                        % (where, many["processes"], many["finds_each"], many["rate_limit"],
                           many["gateway_requests_per_second"]),
                        "%d / %d (%.1f s)" % (gw["failed_calls"], gw["upstream_429"],
                                              gw["seconds"]),
                        "%d / %d (%.1f s, JS SDK processes)" % (sdk["failed_calls"],
                                                                sdk["upstream_429"],
                                                                sdk["seconds"]),
                        None, "0 failed; fewer 429s than the SDK",
                        gw["failed_calls"] == 0 and (gw["upstream_429"] < sdk["upstream_429"] or
                                                     gw["upstream_429"] == sdk["upstream_429"] == 0)))
    return rows


# ---- isolation: bench/isolation_bench (issue 14) ----

def isolation_rows(text):
    """Its table is already metric / figure / goal / met?, columns 2+ spaces apart."""
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if re.match(r"^metric\s{2,}figure\s{2,}goal", l)),
                 None)
    if start is None:
        raise Missing("isolation_bench: table header")
    rows = []
    for line in lines[start + 1:]:
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) != 4:
            break
        metric, figure, goal, met = cells
        rows.append(Row("isolation: " + metric, figure, "-", None, goal,
                        None if met == "-" else met == "yes"))
    if not rows:
        raise Missing("isolation_bench: table rows")
    return rows


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    os_name = platform.platform()
    try:
        with open("/etc/os-release") as f:
            info = dict(line.rstrip().split("=", 1) for line in f if "=" in line)
        os_name = info.get("PRETTY_NAME", os_name).strip('"')
    except OSError:
        pass
    return "%d vCPU (%s), %s, load average at start %.1f" % (
        os.cpu_count(), cpu, os_name, os.getloadavg()[0])


def table(rows):
    header = ["metric", "ratio", "target", "met?", "gateway", "baseline"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        lines.append("| " + " | ".join(r.cells()) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default="build", help="the CMake build tree [build]")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true",
                      help="200 calls, 0.25 GiB, 4 streams, Python quick sizes")
    mode.add_argument("--full", action="store_true", help="2,000 calls, 1 GiB, 32 streams, "
                      "1,000 finds / 10,000 users / 1 GiB per SDK comparison, loopback and at "
                      "20 and 80 ms RTT, 50 processes on one account (the default)")
    mode.add_argument("--smoke", action="store_true", help="tiny sizes, only to check that "
                      "every program runs and every figure is read (CTest)")
    parser.add_argument("--only", action="append", choices=SECTIONS,
                        help="run only these sections (repeatable)")
    parser.add_argument("--logs", help="folder for each program's output [BUILD/bench-report]")
    parser.add_argument("--markdown", help="also write the table (with date and machine) here")
    parser.add_argument("--reuse-logs", action="store_true", help="read each program's output "
                        "from --logs when it is there instead of running it (re-render a report)")
    args = parser.parse_args()
    global REUSE_LOGS
    REUSE_LOGS = args.reuse_logs
    mode_name = "quick" if args.quick else "smoke" if args.smoke else "full"
    settings = MODES[mode_name]
    build = os.path.abspath(args.build)
    logs = os.path.abspath(args.logs or os.path.join(build, "bench-report"))
    os.makedirs(logs, exist_ok=True)
    sections = args.only or list(SECTIONS)
    started = datetime.datetime.now(datetime.timezone.utc)
    where = machine()

    rows, problems = [], []

    def section(name, fn):
        if name not in sections:
            return
        try:
            rows.extend(fn())
        except (Missing, RuntimeError, subprocess.TimeoutExpired, OSError, ValueError,
                KeyError) as e:
            problems.append("%s: %s" % (name, e if not isinstance(e, Missing)
                                        else "could not read %s (output format changed?)" % e))

    bench = os.path.join(build, "bench")
    section("unary", lambda: unary_rows(run(
        [os.path.join(bench, "gateway_bench"), "--build", build, "--calls", str(settings["calls"])],
        os.path.join(logs, "gateway_bench.txt"), 1800)))
    def transfer():
        plain = run([os.path.join(bench, "transfer_bench"), "--build", build, "--gib",
                     settings["gib"], "--streams", str(settings["streams"]), "--only", "upload",
                     "--only", "download", "--only", "many", "--skip-sweep"],
                    os.path.join(logs, "transfer_bench.txt"), 3600)
        tls = run([os.path.join(bench, "transfer_bench"), "--build", build, "--gib",
                   settings["gib"], "--only", "upload", "--only", "download", "--skip-sweep",
                   "--tls"], os.path.join(logs, "transfer_bench_tls.txt"), 3600)
        relay = run([os.path.join(bench, "transfer_bench"), "--build", build, "--gib",
                     settings["gib"], "--only", "relay"],
                    os.path.join(logs, "transfer_bench_relay.txt"), 3600)
        return transfer_rows(plain, settings["gib"], settings["streams"], tls, relay)
    section("transfer", transfer)
    section("converter", lambda: converter_rows(run(
        [os.path.join(bench, "converter_bench"), "--benchmark_color=false"] + settings["converter"],
        os.path.join(logs, "converter_bench.txt"), 600)))

    def compare(name, extra, where):
        out = os.path.join(logs, name + ".json")
        run([sys.executable, os.path.join(HERE, "sdk_compare", "compare.py"), "--build", build,
             "--json", out] + extra, os.path.join(logs, name + ".txt"), 7200)
        with open(out) as f:
            return sdk_rows(json.load(f), where)
    section("sdk", lambda: compare("sdk_compare", settings["sdk"], "loopback"))

    def wan():
        rows = []
        for rtt in settings["rtts"]:
            rows += compare("sdk_compare_rtt%s" % rtt, settings["wan"] + ["--rtt-ms", rtt],
                            "%s ms RTT" % rtt)
        return rows
    section("wan", wan)
    section("isolation", lambda: isolation_rows(run(
        [os.path.join(bench, "isolation_bench"), "--build", build] + settings["isolation"],
        os.path.join(logs, "isolation_bench.txt"), 1800)))

    minutes = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds() / 60
    text = "\n".join([
        "files-gateway benchmark report (%s run), %s, %.0f min" % (
            mode_name, started.strftime("%Y-%m-%d %H:%M UTC"), minutes),
        "Machine: %s, at end %.1f. Gateway, emulator and benchmark clients share the cores."
        % (where, os.getloadavg()[0]),
        "",
        table(rows),
        "",
        "ratio = gateway ÷ baseline: of rates for throughput and the speed of the SDK "
        "comparisons (higher is better), of latency and CPU otherwise (lower is better). "
        "Program outputs: %s" % logs,
    ])
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")
    for p in problems:
        print("PROBLEM: " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
