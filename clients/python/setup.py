"""Build hook: generates files_gateway._gen from proto/ (protoc +
grpc_python_plugin) into the build tree on every build, so the wheel carries
the stubs and the source tree never does. Metadata lives in pyproject.toml."""
import os
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stubgen  # noqa: E402


class BuildPyWithStubs(build_py):
    def run(self):
        super().run()
        if not self.dry_run:
            stubgen.generate(stubgen.find_proto_root(),
                             os.path.join(self.build_lib, "files_gateway", "_gen"))

    def get_outputs(self, include_bytecode=1):
        outputs = super().get_outputs(include_bytecode)
        gen = os.path.join(self.build_lib, "files_gateway", "_gen")
        for dirpath, _, names in os.walk(gen):
            outputs += [os.path.join(dirpath, n) for n in names if n.endswith((".py", ".pyi"))]
        return outputs


setup(cmdclass={"build_py": BuildPyWithStubs})
