"""Checks bench/delay_proxy with real sockets on loopback: bytes arrive intact
both ways (half-close too), the one-way delays and the handshake round trip
are really applied, the rate cap holds, a reader that stops makes the proxy
stop reading (its memory stays near the window), bad flags are refused.

    python3 bench/delay_proxy/delay_proxy_test.py --proxy build/bench/delay_proxy

Timing checks are lower bounds only (a busy machine can only make things
slower), so they cannot fail from load.
"""
import argparse
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest

PROXY = None


class Proxy:
    def __init__(self, target_port, *flags):
        self.proc = subprocess.Popen([PROXY, "--target", "127.0.0.1:%d" % target_port] +
                                     list(flags), stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        self.port = int(json.loads(line)["listening"].rsplit(":", 1)[1])

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


class Server:
    """A listening socket; handler(conn) runs on a thread per connection."""

    def __init__(self, handler):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.handler = handler
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handler, args=(conn,), daemon=True).start()

    def close(self):
        self.sock.close()


def echo(conn):
    with conn:
        while True:
            data = conn.recv(1 << 16)
            if not data:
                conn.shutdown(socket.SHUT_WR)
                return
            conn.sendall(data)


def recv_exact(sock, n):
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(min(1 << 16, n - len(out)))
        if not chunk:
            raise EOFError("closed after %d of %d bytes" % (len(out), n))
        out += chunk
    return bytes(out)


class DelayProxyTest(unittest.TestCase):
    def test_bytes_intact_both_ways_with_half_close(self):
        server = Server(echo)
        proxy = Proxy(server.port, "--rtt-ms", "4")
        try:
            payload = os.urandom(8 << 20)
            with socket.create_connection(("127.0.0.1", proxy.port)) as s:
                sender = threading.Thread(target=lambda: (s.sendall(payload),
                                                          s.shutdown(socket.SHUT_WR)))
                sender.start()
                received = bytearray()
                while True:
                    chunk = s.recv(1 << 16)
                    if not chunk:
                        break
                    received += chunk
                sender.join()
            self.assertEqual(len(received), len(payload))
            self.assertEqual(hashlib.sha256(received).digest(), hashlib.sha256(payload).digest())
        finally:
            proxy.stop()
            server.close()

    def test_delays_and_handshake_round_trip_are_applied(self):
        first_byte = []

        def stamp_then_echo(conn):
            data = conn.recv(1)
            first_byte.append(time.monotonic())
            conn.sendall(data)
            echo(conn)

        server = Server(stamp_then_echo)
        proxy = Proxy(server.port, "--up-ms", "30", "--down-ms", "20")
        try:
            t0 = time.monotonic()
            with socket.create_connection(("127.0.0.1", proxy.port)) as s:
                s.sendall(b"x")
                self.assertEqual(recv_exact(s, 1), b"x")
                # A handshake (30 + 20) then the byte's own way (30) before the server sees it.
                self.assertGreaterEqual(first_byte[0] - t0, 0.080)
                rtts = []
                for _ in range(5):
                    t = time.monotonic()
                    s.sendall(b"ping")
                    self.assertEqual(recv_exact(s, 4), b"ping")
                    rtts.append(time.monotonic() - t)
                self.assertGreaterEqual(min(rtts), 0.050, rtts)
        finally:
            proxy.stop()
            server.close()

    def test_rate_cap_holds(self):
        got = []

        def sink(conn):
            with conn:
                n = 0
                while True:
                    data = conn.recv(1 << 16)
                    if not data:
                        break
                    n += len(data)
                got.append((n, time.monotonic()))

        server = Server(sink)
        proxy = Proxy(server.port, "--rate-mbit", "40")  # 5 MB/s
        try:
            t0 = time.monotonic()
            with socket.create_connection(("127.0.0.1", proxy.port)) as s:
                s.sendall(os.urandom(2_500_000))
            deadline = time.monotonic() + 30
            while not got and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertTrue(got, "the sink never saw the end")
            self.assertEqual(got[0][0], 2_500_000)
            # 2.5 MB at 5 MB/s is 0.5 s; the bucket lets its first slice through at once
            # (0.498 s was seen), so the cap holds when it takes at least 0.45 s: uncapped,
            # 2.5 MB cross loopback in a few milliseconds.
            self.assertGreaterEqual(got[0][1] - t0, 0.45)
        finally:
            proxy.stop()
            server.close()

    def test_stalled_reader_bounds_memory_and_loses_nothing(self):
        release = threading.Event()
        digest = []

        def slow_sink(conn):
            with conn:
                release.wait(60)
                h, n = hashlib.sha256(), 0
                while True:
                    data = conn.recv(1 << 16)
                    if not data:
                        break
                    h.update(data)
                    n += len(data)
                digest.append((n, h.digest()))

        server = Server(slow_sink)
        proxy = Proxy(server.port, "--rtt-ms", "2", "--window-kib", "1024")
        try:
            rss_before = proxy.rss_kib()
            s = socket.create_connection(("127.0.0.1", proxy.port))
            s.setblocking(False)
            block = os.urandom(1 << 16)
            pushed, h = 0, hashlib.sha256()
            idle_since = time.monotonic()
            # Push until nothing more is taken for 0.5 s: every buffer is full.
            while time.monotonic() - idle_since < 0.5 and pushed < (512 << 20):
                try:
                    n = s.send(block)
                except BlockingIOError:
                    time.sleep(0.01)
                    continue
                h.update(block[:n])
                pushed += n
                idle_since = time.monotonic()
            grown = proxy.rss_kib() - rss_before
            # The window (1 MiB) plus read buffers; the kernel's socket buffers hold the rest.
            self.assertLess(grown, 8 * 1024, "proxy RSS grew %d KiB" % grown)
            self.assertLess(pushed, 64 << 20, "the proxy kept reading a stalled reader")
            s.setblocking(True)
            s.shutdown(socket.SHUT_WR)
            release.set()
            deadline = time.monotonic() + 30
            while not digest and time.monotonic() < deadline:
                time.sleep(0.01)
            s.close()
            self.assertEqual(digest, [(pushed, h.digest())])
        finally:
            release.set()
            proxy.stop()
            server.close()

    def test_refuses_bad_flags_and_non_loopback(self):
        for flags in (["--target", "10.0.0.1:80"], ["--target", "127.0.0.1:80", "--listen",
                                                     "0.0.0.0:0"],
                      ["--target", "127.0.0.1:80", "--rtt-ms", "abc"], ["--rtt-ms", "5"]):
            proc = subprocess.run([PROXY] + flags, capture_output=True, text=True, timeout=10)
            self.assertEqual(proc.returncode, 2, flags)
            self.assertIn("delay_proxy:", proc.stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--proxy", required=True)
    args, rest = parser.parse_known_args()
    PROXY = os.path.abspath(args.proxy)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
