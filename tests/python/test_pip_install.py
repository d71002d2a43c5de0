"""`pip install --no-build-isolation --no-index client/python`, as the
README says, into a venv made by Debian's python3 with its system packages
(Debian's own pip refuses to install into the system: it is externally
managed), then the installed package against a real statesd.

Run by ctest with pytest under /usr/bin/python3, with STATESD set to the
server binary and MOZUMA_STATES_PYTHON to the CMake build's package root
(whose generated modules must be the same files). The checkout is copied
first (the root CMakeLists.txt, proto/ and client/python/), because
setuptools builds in the source folder; the build needs no network.

Run by hand: /usr/bin/python3 -m pytest -q tests/python/test_pip_install.py
"""

import filecmp
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

import statesd

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD_PACKAGE_ROOT = os.environ.get(
    "MOZUMA_STATES_PYTHON", os.path.join(_REPO_ROOT, "build", "client", "python"))
DEBIAN_PYTHON = "/usr/bin/python3"
STEP_TIMEOUT = 120  # seconds, for the venv and for pip


def _project_version():
    with open(os.path.join(_REPO_ROOT, "CMakeLists.txt"),
              encoding="utf-8") as stream:
        return re.search(r"project\(mozuma_states VERSION ([0-9.]+)",
                         stream.read()).group(1)


def _clean_env(**extra):
    """The environment without this machine's pip settings and Python
    paths, so that only the command line decides."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV"))
           and name not in ("MOZUMA_STATES_WITHOUT_MOZUMA",)}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    env.update(extra)
    return env


def _run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True,
                            timeout=STEP_TIMEOUT, check=False, **kwargs)
    assert result.returncode == 0, (
        f"{command} exited {result.returncode}\n{result.stdout}\n"
        f"{result.stderr}")
    return result.stdout


def _copy_checkout(target):
    ignore = shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    os.makedirs(os.path.join(target, "client"))
    shutil.copy(os.path.join(_REPO_ROOT, "CMakeLists.txt"), target)
    shutil.copytree(os.path.join(_REPO_ROOT, "proto"),
                    os.path.join(target, "proto"), ignore=ignore)
    shutil.copytree(os.path.join(_REPO_ROOT, "client", "python"),
                    os.path.join(target, "client", "python"), ignore=ignore)


@pytest.fixture(name="venv", scope="module")
def fixture_venv(tmp_path_factory):
    """A venv of Debian's python3 with mozuma_states pip-installed; yields
    (its python, its site-packages)."""
    if not os.access(DEBIAN_PYTHON, os.X_OK):
        pytest.skip(f"no {DEBIAN_PYTHON}")
    root = tmp_path_factory.mktemp("pip")
    checkout = root / "checkout"
    _copy_checkout(str(checkout))
    venv = root / "venv"
    _run([DEBIAN_PYTHON, "-m", "venv", "--system-site-packages", str(venv)],
         env=_clean_env())
    python = str(venv / "bin" / "python")
    _run([python, "-m", "pip", "install", "--no-build-isolation",
          "--no-index", str(checkout / "client" / "python")],
         env=_clean_env(), cwd=str(root))
    site = _run([python, "-c",
                 "import sysconfig; print(sysconfig.get_path('purelib'))"],
                env=_clean_env(), cwd=str(root)).strip()
    yield python, site


def test_pip_installs_the_whole_package(venv):
    python, site = venv
    package = os.path.join(site, "mozuma_states")
    installed = sorted(
        os.path.relpath(os.path.join(folder, name), package)
        for folder, _, names in os.walk(package) for name in names
        if "__pycache__" not in folder and not name.endswith(".pyc"))
    built = os.path.join(BUILD_PACKAGE_ROOT, "mozuma_states")
    if not os.path.isdir(built):
        pytest.skip(f"no CMake build of the package at {built}")
    from_cmake = sorted(
        os.path.relpath(os.path.join(folder, name), built)
        for folder, _, names in os.walk(built) for name in names
        if "__pycache__" not in folder and not name.endswith(".pyc"))
    # The same files as the CMake build, generated modules byte for byte.
    assert installed == from_cmake
    assert "_proto/mozuma/states/v1/state_service_pb2_grpc.py" in installed
    assert "_version.py" in installed
    for name in installed:
        assert filecmp.cmp(os.path.join(package, name),
                           os.path.join(built, name), shallow=False), name
    output = _run([python, "-m", "pip", "show", "mozuma-states"],
                  env=_clean_env())
    assert re.search(r"(?m)^Version: " + re.escape(_project_version()) + "$",
                     output), output
    assert re.search(r"(?m)^Requires: grpcio, protobuf$", output), output


def test_the_installed_package_talks_to_statesd(venv, tmp_path):
    python, site = venv
    code = textwrap.dedent("""
        import os
        import mozuma_states
        from mozuma_states import GrpcStateStore, StateType

        print(mozuma_states.__version__)
        print(mozuma_states.__file__)


        class Model:
            state_type = StateType("pytorch", "resnet18", ("cls1000",))

            def __init__(self, state=b""):
                self.state = state

            def get_state(self):
                return self.state

            def set_state(self, state):
                self.state = state


        with GrpcStateStore[Model](os.environ["TARGET"],
                                   os.environ["FOLDER"]) as store:
            key = store.save(Model(b"weights"), "imagenet")
            model = Model()
            store.load(model, key)
            assert model.state == b"weights"
            print(store.client.get(key).name)
        """)
    with statesd.Statesd() as server:
        output = _run([python, "-c", code], cwd=str(tmp_path),
                      env=_clean_env(TARGET=server.address,
                                     FOLDER=str(tmp_path / "states")))
    assert output.splitlines() == [
        _project_version(),
        os.path.join(site, "mozuma_states", "__init__.py"),
        "pytorch.resnet18.cls1000.imagenet"]


def test_generation_errors_say_what_to_do(tmp_path):
    script = os.path.join(_REPO_ROOT, "client", "python", "generate_modules.py")
    result = subprocess.run(
        [sys.executable, script, "--package-dir", str(tmp_path / "pkg"),
         "--proto-dir", str(tmp_path / "no-proto")],
        capture_output=True, text=True, timeout=STEP_TIMEOUT, check=False)
    assert result.returncode != 0
    assert "mozuma/states/v1/state.proto not found" in result.stderr
    assert "--proto-dir" in result.stderr
    result = subprocess.run(
        [sys.executable, script, "--package-dir", str(tmp_path / "pkg"),
         "--protoc", str(tmp_path / "no-protoc"), "--what=proto"],
        capture_output=True, text=True, timeout=STEP_TIMEOUT, check=False)
    assert result.returncode != 0
    assert "no-protoc" in result.stderr
