#!/usr/bin/env python3
"""Client start cost of the Go client: CPU (user + sys, from the kernel's
rusage of each child) of short-lived processes against a gateway started here
(files-gateway with its embedded emulator), median of --runs each:

  plain       a Go program of the standard library only that dials the gateway
              (what any Go service pays anyway)
  init-only   the consumer program started and stopped before connecting:
              process start + the client's package init (the filesv1
              descriptors of 152 protos, gRPC)
  full        connect + one typed call (client.Users().Find(ctx, 1))

  bench/go_client_start.py --build build [--runs 20]
(needs a build with the go_client_consumer_setup test run once, which builds
build/clients/go/consumer/bin/filesgw-consumer.)
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile

PLAIN = r'''package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	c, err := net.Dial("tcp", os.Args[1])
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	c.Close()
}
'''


def cpu_of(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "clients", "go")
    consumer = os.path.join(build, "clients/go/consumer/bin/filesgw-consumer")
    if not os.path.exists(consumer):
        sys.exit(f"{consumer} is missing: run ctest --test-dir {a.build} -R go_client_consumer_setup")
    env = {k: v for k, v in os.environ.items() if k not in ("FILES_API_KEY", "FILES_API_KEY_FILE")}
    gw = subprocess.Popen([os.path.join(build, "server/files-gateway"), "--listen", "127.0.0.1:0",
                           "--metrics-listen", "off"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env=env)
    try:
        port = None
        for line in gw.stdout:
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if d.get("msg") == "listening" and "port" in d:
                port = int(d["port"])
                break
        if port is None:
            sys.exit("files-gateway did not say where it listens")
        target = f"127.0.0.1:{port}"
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "main.go"), "w") as f:
                f.write(PLAIN)
            plain = os.path.join(tmp, "plain")
            subprocess.run(["sh", os.path.join(here, "gorun.sh"), os.path.join(build, "clients/go"), tmp,
                            "sh", "-c", "GOFLAGS=-mod=mod go mod init plain >/dev/null 2>&1; go build -o plain ."],
                           check=True)
            runs = {"plain": [plain, target], "init-only": [consumer, "-init-only"],
                    "full": [consumer, "-target", target, "-user", "1"]}
            cpu_of(runs["full"])  # warm the page cache
            figures = {}
            for name, cmd in runs.items():
                samples = []
                for _ in range(a.runs):
                    cpu, proc = cpu_of(cmd)
                    if name == "full" and proc.returncode != 0 and "no user" not in proc.stdout:
                        sys.exit(f"{cmd}: {proc.stdout}")
                    samples.append(cpu)
                figures[name] = statistics.median(samples)
                print(f"{name:10s} median CPU {figures[name] * 1000:7.1f} ms over {a.runs} runs "
                      f"(min {min(samples) * 1000:.1f}, max {max(samples) * 1000:.1f})")
            print(f"client init beyond a plain Go program: {(figures['init-only'] - figures['plain']) * 1000:.1f} ms; "
                  f"connect + first call beyond init: {(figures['full'] - figures['init-only']) * 1000:.1f} ms; "
                  f"full / plain: {figures['full'] / figures['plain']:.1f}x")
    finally:
        gw.terminate()
        gw.wait()


if __name__ == "__main__":
    main()
