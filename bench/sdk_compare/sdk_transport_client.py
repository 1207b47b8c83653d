"""The comparison's Python baseline: a REPRODUCTION of the official Files.com
Python SDK's transport (package files_com / files_sdk), written here with
Debian's python3-requests. It is not the SDK itself (the SDK is on PyPI, which
this machine cannot reach); it makes the same requests in the same order with
the same library:

- a requests.Session per process, kept (keep-alive), as the issue measured the
  current SDK doing (--connection per-request reproduces older SDK versions,
  which opened a Session per request and so a connection, and a TLS
  handshake, per call);
- its headers: User-Agent "Files.com Python SDK v<version>", Content-Type
  application/json, X-FilesAPI-Key; query params for GET/HEAD/DELETE, a JSON
  body otherwise; raise_for_status() and its retry loop (3 tries, 0.5-2 s
  jittered backoff, any error, 429 included), then the typed error;
- answers turned into model objects (one attribute per field), as the SDK's
  models do;
- a list is one GET per page at the server's default per_page (the SDK sends
  none), following the X-Files-Cursor header until there is none;
- an upload asks begin_upload before each part (part 1 without ref, then
  ref + part), reads `partsize` bytes of the local file, PUTs them to that
  part's upload_uri (sequentially), and once the file is exhausted POSTs
  action=end with the ETags (so the SDK's extra begin_upload at end of file
  is made too). One departure: the part PUT carries the descriptor's
  `headers` (empty on Files.com and on the emulator by default);
- a download GETs /files/{path} for the download_uri, then requests.get(...,
  stream=True) (a connection of its own, as the SDK's module-level get) read
  in 8 KiB iter_content chunks into the local file.

One operation per run; prints one JSON line: op, seconds, cpu_seconds (this
process, the operation only), and what it did (items / bytes / failed).

    sdk_transport_client.py --base-url URL --api-key KEY [--ca-file F] find --ids-file F
    sdk_transport_client.py ... list | upload --local F --remote P | download --remote P --local F
"""
import os
import time

# Start-up is reported apart: wall time from SDK_COMPARE_T0 (set by compare.py
# just before starting this process), CPU since the process began.
START = float(os.environ.get("SDK_COMPARE_T0") or time.time())

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import urllib.parse  # noqa: E402

import requests  # noqa: E402

API_PREFIX = "/api/rest/v1"
SDK_VERSION = "1.6.12"  # the version whose transport this reproduces
USER_AGENT = "Files.com Python SDK v%s" % SDK_VERSION
MAX_NETWORK_RETRIES = 3
INITIAL_RETRY_DELAY, MAX_RETRY_DELAY = 0.5, 2.0
OPEN_TIMEOUT, READ_TIMEOUT = 30, 80


class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__("HTTP %d %s" % (status, body[:300]))
        self.status = status


class Model:
    """What the SDK's models do with an answer: one attribute per field."""

    def __init__(self, attributes):
        self.attributes = attributes
        for k, v in attributes.items():
            setattr(self, k, v)


class Api:
    def __init__(self, base_url, api_key, ca_file, per_request):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.verify = ca_file or True
        self.per_request = per_request
        self.session = None if per_request else requests.Session()

    @staticmethod
    def sleep_time(try_num):
        seconds = min(INITIAL_RETRY_DELAY * (2 ** (try_num - 1)), MAX_RETRY_DELAY)
        seconds *= 0.5 * (1 + random.random())
        return max(INITIAL_RETRY_DELAY, seconds)

    def _send(self, request):
        """The SDK's execute_request_with_auto_retry: any failure, an HTTP
        error status included, is tried again up to 3 times."""
        for try_num in range(MAX_NETWORK_RETRIES):
            response = None
            try:
                if self.per_request:
                    with requests.Session() as s:
                        response = s.send(request.prepare(), timeout=(OPEN_TIMEOUT, READ_TIMEOUT),
                                          verify=self.verify)
                else:
                    response = self.session.send(self.session.prepare_request(request),
                                                 timeout=(OPEN_TIMEOUT, READ_TIMEOUT),
                                                 verify=self.verify)
                response.raise_for_status()
                return response
            except Exception:
                if try_num + 1 == MAX_NETWORK_RETRIES:
                    if response is not None:
                        raise ApiError(response.status_code, response.text)
                    raise
                time.sleep(self.sleep_time(try_num))
        raise AssertionError("unreachable")

    def request(self, method, path, params=None):
        headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json",
                   "X-FilesAPI-Key": self.api_key}
        query, body = (params, None) if method in ("GET", "HEAD", "DELETE") else (None, params)
        req = requests.Request(method, self.base_url + API_PREFIX + path, headers=headers,
                               params=query, json=body)
        response = self._send(req)
        data = response.json() if response.status_code != 204 else None
        return data, response.headers

    def remote(self, method, url, body, headers):
        """send_remote_request: upload URLs, no API key."""
        return self._send(requests.Request(method, url, headers=headers, data=body))


def quoted(path):
    return urllib.parse.quote(path, safe="/")


def op_find(api, args):
    with open(args.ids_file) as f:
        ids = json.load(f)
    found, failed, errors = 0, 0, {}
    for _ in range(args.repeat):
        for user_id in ids:
            try:
                # User.find(id) sends the path param in the query too.
                data, _ = api.request("GET", "/users/%d" % user_id, {"id": user_id})
                user = Model(data)
                if user.id != user_id or not user.username:
                    raise RuntimeError("find %d answered %r" % (user_id, data))
                found += 1
            except Exception as e:  # noqa: BLE001 (counted, as a caller would)
                if not args.keep_going:
                    raise
                failed += 1
                name = "HTTP %d" % e.status if isinstance(e, ApiError) else type(e).__name__
                errors[name] = errors.get(name, 0) + 1
    return {"items": found, "failed": failed, "errors": errors}


def op_list(api, args):
    params, users, pages = {}, [], 0
    while True:
        page, headers = api.request("GET", "/users", params)
        users.extend(Model(u) for u in page)
        pages += 1
        cursor = headers.get("X-Files-Cursor")
        if not cursor:
            break
        params = dict(params, cursor=cursor)
    ids = {u.id for u in users}
    if len(ids) != len(users):
        raise RuntimeError("list repeated %d users" % (len(users) - len(ids)))
    return {"items": len(users), "pages": pages}


def op_upload(api, args):
    remote, etags, written, upload = args.remote, [], 0, None
    with open(args.local, "rb") as f:
        while True:
            params = {"part": 1} if upload is None else {"ref": upload.ref,
                                                          "part": upload.part_number + 1}
            parts, _ = api.request("POST", "/file_actions/begin_upload/" + quoted(remote), params)
            upload = Model(parts[0])
            buf = f.read(upload.partsize)
            if not buf:
                break
            written += len(buf)
            headers = dict(getattr(upload, "headers", None) or {},
                           **{"Content-Length": str(len(buf))})
            response = api.remote(getattr(upload, "http_method", "PUT"), upload.upload_uri, buf,
                                  headers)
            etags.append({"etag": response.headers["ETag"].strip('"'),
                          "part": upload.part_number})
    end = {"action": "end", "etags": etags, "ref": upload.ref, "size": written,
           "provided_mtime": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())}
    done, _ = api.request("POST", "/files/" + quoted(remote), end)
    if done.get("size") != written:
        raise RuntimeError("end answered size %r, sent %d" % (done.get("size"), written))
    return {"bytes": written, "parts": len(etags)}


def op_download(api, args):
    meta, _ = api.request("GET", "/files/" + quoted(args.remote))
    received = 0
    with requests.get(meta["download_uri"], stream=True, verify=api.verify) as r:
        r.raise_for_status()
        with open(args.local, "wb") as out:
            for chunk in r.iter_content(chunk_size=8192):  # the SDK's read size
                out.write(chunk)
                received += len(chunk)
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
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--ca-file", help="CA to trust for https (the emulator's)")
    parser.add_argument("--connection", choices=("keep-alive", "per-request"),
                        default="keep-alive")
    parser.add_argument("--warmup-id", type=int,
                        help="one untimed find first (steady state; reported apart)")
    sub = parser.add_subparsers(dest="op", required=True)
    find = sub.add_parser("find")
    find.add_argument("--ids-file", required=True, help="JSON list of user ids")
    find.add_argument("--repeat", type=int, default=1)
    find.add_argument("--keep-going", action="store_true",
                      help="count failed calls instead of stopping")
    sub.add_parser("list")
    up = sub.add_parser("upload")
    up.add_argument("--local", required=True)
    up.add_argument("--remote", required=True)
    down = sub.add_parser("download")
    down.add_argument("--remote", required=True)
    down.add_argument("--local", required=True)
    args = parser.parse_args()

    api = Api(args.base_url, args.api_key, args.ca_file, args.connection == "per-request")
    startup = {"startup_seconds": time.time() - START, "startup_cpu_seconds": time.process_time()}
    if args.warmup_id:
        w0 = time.perf_counter()
        api.request("GET", "/users/%d" % args.warmup_id, {"id": args.warmup_id})
        startup["first_call_seconds"] = time.perf_counter() - w0
    run = {"find": op_find, "list": op_list, "upload": op_upload, "download": op_download}[args.op]
    cpu0, t0 = time.process_time(), time.perf_counter()
    result = run(api, args)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    print(json.dumps(dict(result, op=args.op, seconds=seconds, cpu_seconds=cpu,
                          peak_rss_mib=peak_rss_mib(), **startup)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
