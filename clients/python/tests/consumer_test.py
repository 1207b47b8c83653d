#!/usr/bin/python3
"""The Python client as a service adopts it: a wheel, installed with pip into a
fresh virtual environment outside the source tree, used from a consumer
project there (CTest fixture python_consumer, then the tests below).

  consumer_test.py setup     --dir D   build the wheel once (from a copy of the
                                       sources), make D/venv, pip install it,
                                       copy the consumer project to D/app
  consumer_test.py typecheck --dir D   Debian's mypy over D/app/typed_ok.py
                                       (clean) and typed_wrong.py (each mistake
                                       reported)
  consumer_test.py examples  --dir D --bin BUILD
                                       README's example and aio_check.py with the
                                       venv's python against a gateway + emulator

  consumer_test.py scenario  --dir D --bin BUILD --scenario tests/clients/scenario.json
                                       the shared scenario from D/app with the venv's python
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import zipfile

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_SRC = os.path.dirname(HERE)
REPO = os.path.dirname(os.path.dirname(PACKAGE_SRC))
ARGS = None


def _run(cmd, **kwargs):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          **kwargs)
    return proc.returncode, proc.stdout


def venv_python(d):
    return os.path.join(d, "venv", "bin", "python")


def setup(d):
    """Wheel -> venv -> pip install --no-index; the consumer project beside it."""
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    src = os.path.join(d, "src")
    # A repository-shaped copy: pip builds in-tree (build/, *.egg-info) and
    # the generated stubs must never land in the source tree.
    shutil.copytree(PACKAGE_SRC, os.path.join(src, "clients", "python"),
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "_gen", "__pycache__",
                                                  "tests"))
    shutil.copytree(os.path.join(REPO, "proto"), os.path.join(src, "proto"),
                    ignore=shutil.ignore_patterns("*.cc", "*.h", "*.py", "*.txt"))
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("FILES_GATEWAY_PROTO_ROOT", None)
    dist = os.path.join(d, "dist")
    code, out = _run(["/usr/bin/python3", "-m", "pip", "wheel", "--no-deps",
                      "--no-build-isolation", "--wheel-dir", dist,
                      os.path.join(src, "clients", "python")], env=env, cwd=d, timeout=600)
    if code:
        raise SystemExit("pip wheel failed:\n" + out)
    wheels = glob.glob(os.path.join(dist, "files_gateway-*.whl"))
    if len(wheels) != 1:
        raise SystemExit("expected one wheel in %s, found %s" % (dist, wheels))
    code, out = _run(["/usr/bin/python3", "-m", "venv", "--system-site-packages",
                      os.path.join(d, "venv")], timeout=300)
    if code:
        raise SystemExit("venv failed:\n" + out)
    code, out = _run([venv_python(d), "-m", "pip", "install", "--no-index", wheels[0]],
                     env=env, cwd=d, timeout=300)
    if code:
        raise SystemExit("pip install failed:\n" + out)
    app = os.path.join(d, "app")
    os.makedirs(app)
    for name in ("scenario_test.py", "harness.py"):
        shutil.copy(os.path.join(HERE, name), app)
    for name in os.listdir(os.path.join(HERE, "consumer")):
        shutil.copy(os.path.join(HERE, "consumer", name), app)
    print("wheel %s installed into %s" % (os.path.basename(wheels[0]), os.path.join(d, "venv")))


class Installed(unittest.TestCase):
    """What pip put in the venv."""

    def test_the_wheel_declares_its_dependencies_and_ships_types(self):
        wheel = glob.glob(os.path.join(ARGS.dir, "dist", "files_gateway-*.whl"))[0]
        with zipfile.ZipFile(wheel) as z:
            names = set(z.namelist())
            meta = [n for n in names if n.endswith(".dist-info/METADATA")][0]
            requires = [l for l in z.read(meta).decode().splitlines()
                        if l.startswith("Requires-Dist:")]
        self.assertIn("Requires-Dist: grpcio (<2,>=1.51)", requires)
        self.assertIn("Requires-Dist: protobuf (<5,>=4.21)", requires)
        for rel in ("files_gateway/py.typed", "files_gateway/aio.py",
                    "files_gateway/_gen/typed.pyi", "files_gateway/_gen/index.py",
                    "files_gateway/_gen/files/v1/user_pb2.pyi",
                    "files_gateway/_gen/files/v1/transfer_pb2_grpc.py"):
            self.assertIn(rel, names)
        self.assertFalse([n for n in names if n.startswith(("files/", "google/"))],
                         "stubs must live under files_gateway._gen")

    def test_the_venv_imports_the_installed_package(self):
        code, out = _run([venv_python(ARGS.dir), "-c",
                          "import files_gateway, files_gateway.aio; print(files_gateway.__file__)"],
                         cwd=ARGS.dir)
        self.assertEqual(code, 0, out)
        self.assertIn(os.path.join(ARGS.dir, "venv"), out)


class TypeCheck(unittest.TestCase):
    """Debian's mypy (--strict) sees the installed package's types (PEP 561)."""

    @classmethod
    def setUpClass(cls):
        # One mypy run over both files (it takes most of this test's time).
        cache = tempfile.mkdtemp(prefix="mypy-cache-")
        app = os.path.join(ARGS.dir, "app")
        try:
            cls.code, cls.out = _run(
                ["mypy", "--strict", "--python-executable", venv_python(ARGS.dir),
                 "--cache-dir", cache, "--show-error-codes", "typed_ok.py", "typed_wrong.py"],
                cwd=app, timeout=600)
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    def lines_of(self, name):
        return [l for l in self.out.splitlines() if l.startswith(name + ":")]

    def test_consumer_code_type_checks_and_models_are_typed(self):
        lines = self.lines_of("typed_ok.py")
        self.assertEqual([l for l in lines if ": error:" in l], [], self.out)
        revealed = re.findall(r'Revealed type is "([^"]+)"', "\n".join(lines))
        self.assertEqual(revealed, ["builtins.str", "builtins.int", "builtins.str"], self.out)

    def test_wrong_code_is_reported(self):
        self.assertNotEqual(self.code, 0, self.out)
        with open(os.path.join(ARGS.dir, "app", "typed_wrong.py"), encoding="utf-8") as f:
            expected = {n: m.group(1) for n, line in enumerate(f, 1)
                        for m in [re.search(r"# expect: (\S+)", line)] if m}
        got = {int(m.group(1)): m.group(2)
               for m in re.finditer(r"typed_wrong\.py:(\d+): error: .*\[([\w-]+)\]", self.out)}
        self.assertEqual(got, expected, self.out)


def readme_example():
    """The first python block under README.md's "## Example"."""
    with open(os.path.join(PACKAGE_SRC, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("## Example"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


class Examples(unittest.TestCase):
    """README's example and the asyncio client, run by the venv's python."""

    def test_readme_example_and_asyncio_client(self):
        key = "py-consumer-key"
        emu = harness.start_emulator(ARGS.bin, key)
        try:
            gw = harness.start_gateway(ARGS.bin, emu.ready["base_url"], key)
            try:
                env = dict(os.environ, FILES_GATEWAY_TARGET=gw.target)
                env.pop("PYTHONPATH", None)
                app = os.path.join(ARGS.dir, "app")
                example = _run([venv_python(ARGS.dir), "-c", readme_example()], env=env,
                               cwd=app, timeout=120)
                aio = _run([venv_python(ARGS.dir), "aio_check.py", gw.target], env=env,
                           cwd=app, timeout=120)
            finally:
                gw.stop()
        finally:
            emu.stop()
        self.assertEqual(example[0], 0, example[1])
        for expected in ("admin", "Demo User demo@example.com",
                         "UserNotFoundError not-found/user-not-found 404",
                         "hello from Python", "['copy.txt', 'hello.txt']"):
            self.assertIn(expected, example[1])
        self.assertEqual(aio[0], 0, aio[1])
        self.assertIn("aio ok", aio[1])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("setup", "installed", "typecheck", "examples",
                                         "scenario"))
    parser.add_argument("--scenario", help="scenario.json (scenario)")
    parser.add_argument("--dir", required=True, help="the consumer folder (outside the sources)")
    parser.add_argument("--bin", help="the CMake build folder (examples)")
    ARGS, rest = parser.parse_known_args()
    ARGS.dir = os.path.abspath(ARGS.dir)
    if ARGS.what == "setup":
        setup(ARGS.dir)
        sys.exit(0)
    if ARGS.what == "scenario":
        # The consumer project's copy of the runner, with the venv's python:
        # files_gateway comes from the installed wheel, nothing from the sources.
        app = os.path.join(ARGS.dir, "app")
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        sys.exit(subprocess.call([venv_python(ARGS.dir), os.path.join(app, "scenario_test.py"),
                                  "--bin", ARGS.bin, "--scenario", ARGS.scenario] + rest,
                                 cwd=app, env=env))
    suite = {"installed": Installed, "typecheck": TypeCheck, "examples": Examples}[ARGS.what]
    result = unittest.TextTestRunner(verbosity=2).run(
        unittest.TestLoader().loadTestsFromTestCase(suite))
    sys.exit(0 if result.wasSuccessful() else 1)
