"""Starts files-emulator and files-gateway from a build tree for the Python
client's tests, and reaches the emulator's control endpoint.

The servers listen on port 0 and say where in a JSON line on stdout; the rest
of their output is drained in the background (a full pipe would stall them)
and kept for a failure report.
"""
import collections
import json
import os
import socket
import subprocess
import threading
import time
import urllib.request

READY_TIMEOUT = 30.0


class Server:
    """One child process with a JSON ready line."""

    def __init__(self, cmd, ready, env=None):
        self.cmd = cmd
        self.tail = collections.deque(maxlen=200)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     env=env, text=True)
        self.ready = self._wait_ready(ready)
        self._drain = threading.Thread(target=self._drain_output, daemon=True)
        self._drain.start()

    def _wait_ready(self, ready):
        deadline = time.monotonic() + READY_TIMEOUT
        # readline() blocks; a dead or silent server ends the loop through EOF
        # or the watchdog below.
        watchdog = threading.Timer(READY_TIMEOUT, self.proc.kill)
        watchdog.start()
        try:
            while time.monotonic() < deadline:
                line = self.proc.stdout.readline()
                if not line:
                    break
                self.tail.append(line.rstrip("\n"))
                try:
                    doc = json.loads(line)
                except ValueError:
                    continue
                if isinstance(doc, dict) and ready(doc):
                    return doc
        finally:
            watchdog.cancel()
        self.stop()
        raise RuntimeError("%s did not become ready:\n%s" % (" ".join(self.cmd),
                                                             "\n".join(self.tail)))

    def _drain_output(self):
        for line in self.proc.stdout:
            self.tail.append(line.rstrip("\n"))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        drain = getattr(self, "_drain", None)
        if drain is not None:
            drain.join(timeout=5)  # EOF once the process is gone
        if not drain or not drain.is_alive():
            self.proc.stdout.close()


def start_emulator(build_dir, api_key):
    return Server([os.path.join(build_dir, "emulator", "files-emulator"), "--listen",
                   "127.0.0.1:0", "--api-key", api_key], lambda d: "base_url" in d)


def start_gateway(build_dir, base_url, api_key, *extra_flags):
    env = dict(os.environ, FILES_API_KEY=api_key)
    server = Server([os.path.join(build_dir, "server", "files-gateway"), "--listen", "127.0.0.1:0",
                     "--base-url", base_url, "--max-retries", "0"] + list(extra_flags),
                    lambda d: d.get("msg") == "listening", env=env)
    server.target = "127.0.0.1:%d" % server.ready["port"]
    return server


def unused_loopback_target():
    """A loopback address where nothing listens (the port was free a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return "127.0.0.1:%d" % s.getsockname()[1]


def emulator_control(base_url, api_key, what, body=None, method=None):
    """Calls /__emulator/<what> (faults, reset, ...) with the emulator's API key
    (control endpoints need it) and returns the decoded answer."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base_url + "/__emulator/" + what, data=data,
                                 method=method or ("POST" if data is not None else "GET"),
                                 headers={"Content-Type": "application/json",
                                          "X-FilesAPI-Key": api_key})
    with urllib.request.urlopen(req, timeout=10) as resp:
        text = resp.read().decode() or "null"
    return json.loads(text)


def add_package_path(package_dir):
    """Puts the staged files_gateway package (build tree) first on sys.path."""
    import sys
    path = os.path.abspath(package_dir)
    if not os.path.isdir(os.path.join(path, "files_gateway", "_gen")):
        raise SystemExit("%s holds no generated files_gateway package: build the "
                         "python_client target first" % path)
    sys.path.insert(0, path)
