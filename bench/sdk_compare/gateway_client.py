"""The comparison's gateway side: the same operations as sdk_transport_client.py,
written with the gateway's Python client (files_gateway, clients/python):

- find: client.users.find(id), one unary call each on one channel;
- list: client.users.list().auto_paging_iter() (no per_page: the same pages);
- upload: client.upload_file(local, remote), one Upload stream;
- download: client.download_file(remote, local), one Download stream.

One operation per run; prints one JSON line like sdk_transport_client.py
(start-up, which includes building the client's resources from the protobuf
descriptors on first use, is reported apart from the operation).

    gateway_client.py --target HOST:PORT [--package DIR] find --ids-file F
    gateway_client.py ... list | upload --local F --remote P | download --remote P --local F
"""
import os
import time

# Start-up (interpreter, imports, the client's first use of its descriptors)
# is reported apart: wall time from SDK_COMPARE_T0 (set by compare.py
# just before starting this process), CPU since the process began.
START = float(os.environ.get("SDK_COMPARE_T0") or time.time())

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402


def op_find(client, args):
    with open(args.ids_file) as f:
        ids = json.load(f)
    for user_id in ids:
        user = client.users.find(user_id)
        if user.id != user_id or not user.username:
            raise RuntimeError("find %d answered %r" % (user_id, user.to_dict()))
    return {"items": len(ids)}


def op_list(client, args):
    listing = client.users.list()
    users = list(listing.auto_paging_iter())
    ids = {u.id for u in users}
    if len(ids) != len(users):
        raise RuntimeError("list repeated %d users" % (len(users) - len(ids)))
    return {"items": len(users)}


def op_upload(client, args):
    done = client.upload_file(args.local, args.remote)
    size = os.path.getsize(args.local)
    if done.size != size:
        raise RuntimeError("upload answered size %r, sent %d" % (done.size, size))
    return {"bytes": size}


def op_download(client, args):
    meta = client.download_file(args.remote, args.local)
    received = os.path.getsize(args.local)
    if meta.size != received:
        raise RuntimeError("download: %d bytes, file has %r" % (received, meta.size))
    return {"bytes": received}


def peak_rss_mib():
    """This process's VmHWM. (getrusage's ru_maxrss would include the parent's
    memory copied at fork, before exec.)"""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True)
    parser.add_argument("--package", help="folder holding the files_gateway package "
                        "(default: the installed one)")
    parser.add_argument("--warmup-id", type=int,
                        help="one untimed find first (steady state; reported apart)")
    sub = parser.add_subparsers(dest="op", required=True)
    find = sub.add_parser("find")
    find.add_argument("--ids-file", required=True, help="JSON list of user ids")
    sub.add_parser("list")
    up = sub.add_parser("upload")
    up.add_argument("--local", required=True)
    up.add_argument("--remote", required=True)
    down = sub.add_parser("download")
    down.add_argument("--remote", required=True)
    down.add_argument("--local", required=True)
    args = parser.parse_args()
    if args.package:
        sys.path.insert(0, os.path.abspath(args.package))
    import files_gateway  # noqa: E402 (after the path is set)

    client = files_gateway.connect(args.target, timeout=120.0)
    _ = (client.users, client.transfer_service)  # builds them from the descriptors
    startup = {"startup_seconds": time.time() - START, "startup_cpu_seconds": time.process_time()}
    if args.warmup_id:
        w0 = time.perf_counter()
        client.users.find(args.warmup_id)
        startup["first_call_seconds"] = time.perf_counter() - w0
    run = {"find": op_find, "list": op_list, "upload": op_upload, "download": op_download}[args.op]
    try:
        cpu0, t0 = time.process_time(), time.perf_counter()
        result = run(client, args)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        client.close()
    print(json.dumps(dict(result, op=args.op, seconds=seconds, cpu_seconds=cpu,
                          peak_rss_mib=peak_rss_mib(), **startup)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
