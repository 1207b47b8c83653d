#!/usr/bin/python3
"""`pip install` of clients/python works offline against Debian's grpcio and
protobuf, generates the stubs at build time, and the installed package imports
and talks to a gateway; README.md's example runs as printed.

    /usr/bin/python3 clients/python/tests/install_test.py --bin build

The install runs from a repository-shaped copy (clients/python + proto/) so
that pip's in-tree build leftovers (build/, *.egg-info) stay out of the
source tree; the command is the documented one:
    /usr/bin/python3 -m pip install --no-deps --no-build-isolation --target DIR clients/python
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_SRC = os.path.dirname(HERE)
REPO = os.path.dirname(os.path.dirname(PACKAGE_SRC))
ARGS = None

PROBE = r"""
import json, sys
import files_gateway
from files_gateway import errors
client = files_gateway.connect(sys.argv[1], timeout=20)
user = client.users.find(1)
try:
    client.users.find(987654321)
    missing = None
except errors.NotFoundError as e:
    missing = type(e).__name__
print(json.dumps({"file": files_gateway.__file__, "version": files_gateway.__version__,
                  "username": user.username, "missing": missing,
                  "resources": len(client.resources)}))
"""


def readme_example():
    """The first python block under README.md's "## Example"."""
    with open(os.path.join(PACKAGE_SRC, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("## Example"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


class PipInstall(unittest.TestCase):
    def test_pip_install_to_a_target_then_import_and_connect(self):
        with tempfile.TemporaryDirectory(prefix="files-gateway-pip-") as tmp:
            src = os.path.join(tmp, "repo")
            shutil.copytree(PACKAGE_SRC, os.path.join(src, "clients", "python"),
                            ignore=shutil.ignore_patterns("build", "*.egg-info", "_gen",
                                                          "__pycache__", "tests"))
            shutil.copytree(os.path.join(REPO, "proto"), os.path.join(src, "proto"),
                            ignore=shutil.ignore_patterns("*.cc", "*.h", "*.py", "*.txt"))
            site = os.path.join(tmp, "site")
            env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
            env.pop("FILES_GATEWAY_PROTO_ROOT", None)
            pip = subprocess.run(
                [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                 "--target", site, os.path.join(src, "clients", "python")],
                env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                timeout=300)
            self.assertEqual(pip.returncode, 0, pip.stdout)

            installed = os.path.join(site, "files_gateway")
            for rel in ("__init__.py", "_gen/files/v1/user_pb2.py",
                        "_gen/files/v1/user_pb2_grpc.py", "_gen/files/v1/transfer_pb2_grpc.py",
                        "_gen/google/rpc/status_pb2.py"):
                self.assertTrue(os.path.exists(os.path.join(installed, rel)), rel)
            self.assertFalse(os.path.exists(os.path.join(site, "files")),
                             "stubs must live under files_gateway._gen, not a top-level package")

            key = "py-install-key"
            emu = harness.start_emulator(ARGS.bin, key)
            try:
                gw = harness.start_gateway(ARGS.bin, emu.ready["base_url"], key)
                try:
                    run_env = dict(os.environ, PYTHONPATH=site, FILES_GATEWAY_TARGET=gw.target)
                    probe = subprocess.run([sys.executable, "-s", "-c", PROBE, gw.target],
                                           env=run_env, cwd=tmp, stdout=subprocess.PIPE,
                                           stderr=subprocess.STDOUT, text=True, timeout=60)
                    example = subprocess.run([sys.executable, "-s", "-c", readme_example()],
                                             env=run_env, cwd=tmp, stdout=subprocess.PIPE,
                                             stderr=subprocess.STDOUT, text=True, timeout=60)
                finally:
                    gw.stop()
            finally:
                emu.stop()
            self.assertEqual(probe.returncode, 0, probe.stdout)
            result = json.loads(probe.stdout.strip().splitlines()[-1])
            self.assertTrue(result["file"].startswith(installed), result)
            self.assertEqual(result["username"], "admin")
            self.assertEqual(result["missing"], "UserNotFoundError")
            self.assertGreater(result["resources"], 100)
            # The README's example runs as printed.
            self.assertEqual(example.returncode, 0, example.stdout)
            for expected in ("admin", "Demo User demo@example.com",
                             "UserNotFoundError not-found/user-not-found 404",
                             "hello from Python", "['copy.txt', 'hello.txt']"):
                self.assertIn(expected, example.stdout)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True, help="the CMake build folder")
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest)
