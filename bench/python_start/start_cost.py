#!/usr/bin/python3
"""Client start cost of the Python client: CPU seconds of a fresh process for
`import grpc`, then `import files_gateway`, then connect + the first call
(client.users.find(1)) against files-gateway + files-emulator from a build
tree. Issue 16's budget: import files_gateway + connect + first call at most
0.10 s of CPU beyond importing grpc itself.

  /usr/bin/python3 bench/python_start/start_cost.py --build build [--runs 7]
      [--package build/clients/python/lib]   (default: that folder)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python", "tests"))
import harness  # noqa: E402

PROBE = r"""
import json, resource, sys
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
t0 = cpu()
import grpc
t1 = cpu()
sys.path.insert(0, sys.argv[1])
import files_gateway
t2 = cpu()
client = files_gateway.connect(sys.argv[2])
user = client.users.find(1)
assert user.username == "admin"
t3 = cpu()
print(json.dumps({"grpc": t1 - t0, "import": t2 - t1, "first_call": t3 - t2, "total": t3}))
"""


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", required=True)
    p.add_argument("--package")
    p.add_argument("--runs", type=int, default=7)
    args = p.parse_args()
    package = os.path.abspath(args.package or os.path.join(args.build, "clients", "python", "lib"))
    key = "start-cost-key"
    emu = harness.start_emulator(args.build, key)
    try:
        gw = harness.start_gateway(args.build, emu.ready["base_url"], key)
        try:
            runs = []
            for _ in range(args.runs):
                out = subprocess.run([sys.executable, "-s", "-c", PROBE, package, gw.target],
                                     check=True, stdout=subprocess.PIPE, text=True).stdout
                runs.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            gw.stop()
    finally:
        emu.stop()
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    beyond = med["import"] + med["first_call"]
    print("Python client start cost, median of %d fresh processes (CPU seconds):" % len(runs))
    print("  import grpc                 %.3f" % med["grpc"])
    print("  import files_gateway        %.3f" % med["import"])
    print("  connect + users.find(1)     %.3f" % med["first_call"])
    print("  beyond grpc (budget 0.100)  %.3f  (%.0f %% of the budget)" % (beyond,
                                                                        100 * beyond / 0.10))
    print("  whole process               %.3f" % med["total"])


if __name__ == "__main__":
    main()
