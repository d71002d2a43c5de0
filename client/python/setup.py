"""Builds mozuma_states for pip: `pip install --no-build-isolation client/python`.

The metadata is in pyproject.toml; this file adds what setuptools cannot
declare: the version, read from the VERSION of `project()` in the root
CMakeLists.txt (the one place it is written), and a build step that
generates mozuma_states/_proto/ and mozuma_states/_version.py into the
build folder with generate_modules.py, the script the CMake build runs.

It builds from a checkout of mozuma-states (it reads ../../proto and
../../CMakeLists.txt). The environment can name the tools and folders:
PROTOC, GRPC_PYTHON_PLUGIN (default: from PATH), MOZUMA_STATES_PROTO_DIR
(default: the checkout's proto/) and MOZUMA_STATES_GOOGLEAPIS_DIR (default:
Debian's golang-github-gogo-googleapis-dev folder).
"""

import os
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import generate_modules  # noqa: E402  pylint: disable=wrong-import-position

VERSION = generate_modules.read_project_version()


class BuildPyWithGeneratedModules(build_py):
    """build_py, then the generated modules of the package."""

    def run(self):
        super().run()
        if self.dry_run:
            return
        package_dir = os.path.join(self.build_lib, "mozuma_states")
        generate_modules.generate_proto_modules(
            package_dir,
            proto_dir=os.environ.get("MOZUMA_STATES_PROTO_DIR"),
            googleapis_dir=os.environ.get("MOZUMA_STATES_GOOGLEAPIS_DIR"),
            protoc=os.environ.get("PROTOC"),
            grpc_python_plugin=os.environ.get("GRPC_PYTHON_PLUGIN"))
        generate_modules.write_version_module(package_dir, VERSION)


setup(
    version=VERSION,
    packages=["mozuma_states"],
    cmdclass={"build_py": BuildPyWithGeneratedModules},
    zip_safe=False,
)
