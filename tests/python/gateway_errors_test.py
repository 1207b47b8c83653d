#!/usr/bin/python3
"""Checks from a Python gRPC client (Debian's grpcio) that gateway errors carry
the rich error model: google.rpc.Status in grpc-status-details-bin with an
ErrorInfo naming the Files.com type.

Run by CTest with: --bin BUILD_DIR --stubs DIR_WITH_GENERATED_PB2
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

import grpc

ARGS = None


def start(cmd, env=None, ready_key=None):
    """Starts a server process and returns (process, the JSON line that said it was ready)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if ready_key(doc):
            return proc, doc
    proc.kill()
    raise RuntimeError("server did not become ready: %s" % " ".join(cmd))


class GatewayErrors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        sys.path.insert(0, ARGS.stubs)
        global user_pb2, group_pb2, status_pb2, error_details_pb2, error_catalog_pb2
        from files.v1 import user_pb2, group_pb2, error_catalog_pb2  # noqa
        from google.rpc import status_pb2, error_details_pb2  # noqa
        cls.procs = []
        emu, ready = start([os.path.join(ARGS.bin, "emulator", "files-emulator"),
                            "--listen", "127.0.0.1:0", "--api-key", "py-key"],
                           ready_key=lambda d: "base_url" in d)
        cls.procs.append(emu)
        base = ready["base_url"]
        cls.channels = {}
        for name, key in (("good", "py-key"), ("bad", "wrong-key")):
            env = dict(os.environ, FILES_API_KEY=key)
            gw, ready = start([os.path.join(ARGS.bin, "server", "files-gateway"), "--listen",
                               "127.0.0.1:0", "--base-url", base, "--max-retries", "0"],
                              env=env, ready_key=lambda d: d.get("msg") == "listening")
            cls.procs.append(gw)
            cls.channels[name] = grpc.insecure_channel("127.0.0.1:%d" % ready["port"])

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs:
            p.terminate()
        for p in cls.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise

    def call(self, channel, method, request, response_type):
        stub = self.channels[channel].unary_unary(
            method, request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_type.FromString)
        return stub(request, timeout=10)

    def error_info(self, err):
        for key, value in err.trailing_metadata() or ():
            if key == "grpc-status-details-bin":
                status = status_pb2.Status.FromString(value)
                self.assertEqual(status.code, err.code().value[0])
                for any_ in status.details:
                    if any_.type_url.endswith("/google.rpc.ErrorInfo"):
                        return error_details_pb2.ErrorInfo.FromString(any_.value)
        self.fail("no ErrorInfo in grpc-status-details-bin")

    def test_not_found(self):
        with self.assertRaises(grpc.RpcError) as ctx:
            self.call("good", "/files.v1.UserService/FindUser",
                      user_pb2.FindUserRequest(id=987654321), user_pb2.User)
        self.assertEqual(ctx.exception.code(), grpc.StatusCode.NOT_FOUND)
        info = self.error_info(ctx.exception)
        self.assertEqual(info.domain, "files.com")
        self.assertTrue(info.metadata["type"].startswith("not-found"), info.metadata)
        self.assertEqual(info.metadata["group"], "NotFoundError")

    def test_bad_request(self):
        with self.assertRaises(grpc.RpcError) as ctx:
            self.call("good", "/files.v1.GroupService/CreateGroup",
                      group_pb2.CreateGroupRequest(notes="no name"), group_pb2.Group)
        self.assertEqual(ctx.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("name", ctx.exception.details())
        info = self.error_info(ctx.exception)
        self.assertTrue(info.metadata["type"].startswith("bad-request"), info.metadata)
        # The reason is the catalogue's enum value name without its prefix.
        self.assertIn("ERROR_TYPE_" + info.reason, error_catalog_pb2.ErrorType.keys() +
                      ["ERROR_TYPE_BAD_REQUEST"])

    def test_unauthenticated(self):
        with self.assertRaises(grpc.RpcError) as ctx:
            self.call("bad", "/files.v1.UserService/ListUsers", user_pb2.ListUsersRequest(),
                      user_pb2.ListUsersResponse)
        self.assertEqual(ctx.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        info = self.error_info(ctx.exception)
        self.assertTrue(info.metadata["type"].startswith("not-authenticated"), info.metadata)

    def test_ok_call_returns_typed_message(self):
        user = self.call("good", "/files.v1.UserService/FindUser", user_pb2.FindUserRequest(id=1),
                         user_pb2.User)
        self.assertEqual(user.id, 1)
        self.assertTrue(user.username)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--stubs", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest)
