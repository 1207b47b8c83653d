"""The comparison's baseline: Files.com REST calls made with the standard
library only, in the order and shape the Files.com Python SDK makes them:

- every request on a new connection (the SDK opens a requests.Session per
  request and closes it), with its User-Agent, Content-Type and
  X-FilesAPI-Key headers;
- a list is one GET per page at the server's default per_page (the SDK sends
  none), following the X-Files-Cursor header until there is none;
- an upload asks begin_upload before each part (part 1 without ref, then
  ref + part), reads `partsize` bytes of the local file, PUTs them to that
  part's upload_uri, and once the file is exhausted POSTs action=end with
  the ETags (so the SDK's extra begin_upload at end of file is made too).
  One departure: the part PUT carries the descriptor's `headers`, which the
  SDK ignores and the emulator (like WIRE.md) requires;
- a download GETs /files/{path} for the download_uri, then streams it to the
  local file in 8 KiB reads.

One operation per run; prints one JSON line: op, seconds, cpu_seconds (this
process, the operation only), and what it did (items / bytes).

    plain_http_client.py --base-url URL --api-key KEY find --ids-file F
    plain_http_client.py ... list
    plain_http_client.py ... upload --local F --remote P
    plain_http_client.py ... download --remote P --local F
"""
import os
import time

# Start-up is reported apart: wall time from SDK_COMPARE_T0 (set by compare.py
# just before starting this process), CPU since the process began.
START = float(os.environ.get("SDK_COMPARE_T0") or time.time())

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import urllib.parse  # noqa: E402

API_PREFIX = "/api/rest/v1"
USER_AGENT = "Files.com Python SDK v1 (bench/sdk_compare plain HTTP)"


class Api:
    """One new connection per request, as the SDK's ApiClient does."""

    def __init__(self, base_url, api_key):
        self.base = urllib.parse.urlsplit(base_url)
        self.api_key = api_key

    @staticmethod
    def _connection(parts):
        if parts.scheme == "https":
            return http.client.HTTPSConnection(parts.hostname, parts.port)
        return http.client.HTTPConnection(parts.hostname, parts.port)

    def request(self, method, path, params=None):
        """An API call: params in the query for GET/HEAD/DELETE, a JSON body
        otherwise. Returns (decoded body, response headers)."""
        url = API_PREFIX + path
        body = None
        if method in ("GET", "HEAD", "DELETE"):
            if params:
                url += "?" + urllib.parse.urlencode(params)
        else:
            body = json.dumps(params or {}).encode()
        headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json",
                   "X-FilesAPI-Key": self.api_key}
        conn = self._connection(self.base)
        try:
            conn.request(method, url, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            if resp.status >= 400:
                raise RuntimeError("%s %s: HTTP %d %s" % (method, path, resp.status, data[:300]))
            return (json.loads(data) if data else None), resp.headers
        finally:
            conn.close()

    def remote(self, method, url, body=None, headers=None):
        """A call to an upload/download URL: no API key (WIRE.md)."""
        parts = urllib.parse.urlsplit(url)
        target = parts.path + ("?" + parts.query if parts.query else "")
        conn = self._connection(parts)
        conn.request(method, target, body=body, headers=headers or {})
        return conn, conn.getresponse()


def quoted(path):
    return urllib.parse.quote(path, safe="/")


def op_find(api, args):
    with open(args.ids_file) as f:
        ids = json.load(f)
    for user_id in ids:
        # User.find(id) sends the path param in the query too.
        user, _ = api.request("GET", "/users/%d" % user_id, {"id": user_id})
        if user.get("id") != user_id or not user.get("username"):
            raise RuntimeError("find %d answered %r" % (user_id, user))
    return {"items": len(ids)}


def op_list(api, args):
    params = {}
    users = []
    pages = 0
    while True:
        page, headers = api.request("GET", "/users", params)
        users.extend(page)
        pages += 1
        cursor = headers.get("X-Files-Cursor")
        if not cursor:
            break
        params = dict(params, cursor=cursor)
    ids = {u["id"] for u in users}
    if len(ids) != len(users):
        raise RuntimeError("list repeated %d users" % (len(users) - len(ids)))
    return {"items": len(users), "pages": pages}


def op_upload(api, args):
    remote = args.remote
    etags = []
    written = 0
    upload = None
    with open(args.local, "rb") as f:
        while True:
            params = {"part": 1} if upload is None else {"ref": upload["ref"],
                                                          "part": upload["part_number"] + 1}
            parts, _ = api.request("POST", "/file_actions/begin_upload/" + quoted(remote), params)
            upload = parts[0]
            buf = f.read(upload["partsize"])
            if not buf:
                break
            written += len(buf)
            # The SDK sends only Content-Length; the emulator, like WIRE.md,
            # wants the descriptor's `headers` too (the one departure here).
            headers = dict(upload.get("headers") or {}, **{"Content-Length": str(len(buf))})
            conn, resp = api.remote(upload.get("http_method", "PUT"), upload["upload_uri"], buf,
                                    headers)
            try:
                resp.read()
                if resp.status >= 300:
                    raise RuntimeError("part %d: HTTP %d" % (upload["part_number"], resp.status))
                etag = resp.headers.get("ETag")
                if etag:
                    etags.append({"etag": etag.strip('"'), "part": upload["part_number"]})
            finally:
                conn.close()
    end = {"action": "end", "etags": etags, "ref": upload["ref"], "size": written,
           "provided_mtime": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())}
    done, _ = api.request("POST", "/files/" + quoted(remote), end)
    if done.get("size") != written:
        raise RuntimeError("end answered size %r, sent %d" % (done.get("size"), written))
    return {"bytes": written, "parts": len(etags)}


def op_download(api, args):
    meta, _ = api.request("GET", "/files/" + quoted(args.remote))
    conn, resp = api.remote("GET", meta["download_uri"])
    received = 0
    try:
        if resp.status != 200:
            raise RuntimeError("download: HTTP %d" % resp.status)
        with open(args.local, "wb") as out:
            while True:
                chunk = resp.read(8192)  # the SDK's iter_content(chunk_size=8192)
                if not chunk:
                    break
                out.write(chunk)
                received += len(chunk)
    finally:
        conn.close()
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

    api = Api(args.base_url, args.api_key)
    startup = {"startup_seconds": time.time() - START, "startup_cpu_seconds": time.process_time()}
    run = {"find": op_find, "list": op_list, "upload": op_upload, "download": op_download}[args.op]
    cpu0, t0 = time.process_time(), time.perf_counter()
    result = run(api, args)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    print(json.dumps(dict(result, op=args.op, seconds=seconds, cpu_seconds=cpu,
                          peak_rss_mib=peak_rss_mib(), **startup)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
