"""Test helpers: run a real `statesd` process and read gRPC error details.

The tests find the server binary in the environment variable STATESD and the
generated Python stubs in STATES_PYTHON_GEN (ctest sets both). Without them,
the default CMake build tree (`build/` at the top of the repository) is used.

Only the standard library, grpcio and protobuf are used.
"""

import importlib.util
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

import grpc

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

STATESD = os.environ.get(
    "STATESD", os.path.join(_REPO_ROOT, "build", "service", "statesd"))
GEN_DIR = os.environ.get(
    "STATES_PYTHON_GEN",
    os.path.join(_REPO_ROOT, "build", "tests", "python", "gen"))

if not os.path.isdir(os.path.join(GEN_DIR, "mozuma", "states", "v1")):
    raise ImportError(
        "generated Python stubs not found under %r: build the python_stubs "
        "target or set STATES_PYTHON_GEN" % GEN_DIR)
if GEN_DIR not in sys.path:
    sys.path.insert(0, GEN_DIR)

# pylint: disable=wrong-import-position
from google.rpc import error_details_pb2  # noqa: E402
from google.rpc import status_pb2  # noqa: E402
from mozuma.states.v1 import state_pb2  # noqa: E402
from mozuma.states.v1 import state_service_pb2  # noqa: E402
from mozuma.states.v1 import state_service_pb2_grpc  # noqa: E402


# Re-exported for the tests.
__all__ = [
    "ERROR_DOMAIN", "SERVICE_NAME", "ErrorDetails", "Statesd", "StatesdError",
    "error_details", "error_details_pb2", "health_check", "health_pb2",
    "health_watch", "raw_method", "serving_status_name", "state_pb2",
    "state_service_pb2", "state_service_pb2_grpc", "status_pb2",
]


def _load_health_pb2():
    """Loads grpc/health/v1/health_pb2.py by path.

    It cannot be imported as `grpc.health.v1.health_pb2`: a `grpc` package in
    the generated tree would clash with the grpc runtime.
    """
    path = os.path.join(GEN_DIR, "grpc_health_gen", "grpc", "health", "v1",
                        "health_pb2.py")
    name = "statesd_test_grpc_health_v1_health_pb2"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError("cannot load the health stubs from %r" % path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


health_pb2 = _load_health_pb2()

ERROR_DOMAIN = "mozuma.states.v1"
SERVICE_NAME = "mozuma.states.v1.StateService"
STARTUP_TIMEOUT_S = 15.0

_STARTUP_RE = re.compile(
    r"^statesd: serving mozuma\.states\.v1\.StateService on "
    r"(127\.0\.0\.1:(\d+)) \(names: (\w+), health and reflection on\)$")


class StatesdError(Exception):
    """The server could not be started or did not behave as a process."""


class Statesd:
    """One `statesd` process listening on 127.0.0.1 with a free port.

    Use as a context manager, or call close() (safe to call many times);
    close() always ends the process, with SIGKILL when it does not stop on
    SIGTERM in time.
    """

    def __init__(self, *flags, startup_timeout=STARTUP_TIMEOUT_S):
        self.flags = list(flags)
        self.args = [STATESD, "--listen=127.0.0.1:0"] + self.flags
        self.address = None
        self.port = None
        self.charset = None
        self.startup_line = None
        self._stdout_lines = []
        self._stderr_lines = []
        self._lines_lock = threading.Lock()
        self._startup_queue = queue.Queue()
        self._channels = []
        if not os.access(STATESD, os.X_OK):
            raise StatesdError("statesd binary not found or not executable: %r"
                               % STATESD)
        self.process = subprocess.Popen(
            self.args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1)
        self._readers = [
            threading.Thread(target=self._read, daemon=True,
                             args=(self.process.stdout, self._stdout_lines,
                                   True)),
            threading.Thread(target=self._read, daemon=True,
                             args=(self.process.stderr, self._stderr_lines,
                                   False)),
        ]
        for reader in self._readers:
            reader.start()
        try:
            self._await_startup(startup_timeout)
        except BaseException:
            self.close()
            raise

    # --- output -----------------------------------------------------------

    def _read(self, stream, lines, is_stdout):
        try:
            for line in stream:
                with self._lines_lock:
                    lines.append(line)
                if is_stdout:
                    self._startup_queue.put(line)
        finally:
            if is_stdout:
                self._startup_queue.put(None)  # EOF

    def _await_startup(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StatesdError(
                    "statesd printed no startup line within %.1fs; %s"
                    % (timeout, self._describe()))
            try:
                line = self._startup_queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self.process.wait(timeout=5)
                raise StatesdError("statesd exited before serving; %s"
                                   % self._describe())
            match = _STARTUP_RE.match(line.rstrip("\n"))
            if match:
                self.startup_line = line.rstrip("\n")
                self.address = match.group(1)
                self.port = int(match.group(2))
                self.charset = match.group(3)
                return

    def _describe(self):
        return "args=%r returncode=%r stdout=%r stderr=%r" % (
            self.args, self.process.poll(), self.stdout, self.stderr)

    @property
    def stdout(self):
        """Everything read from stdout so far."""
        with self._lines_lock:
            return "".join(self._stdout_lines)

    @property
    def stderr(self):
        """Everything read from stderr so far."""
        with self._lines_lock:
            return "".join(self._stderr_lines)

    def output(self, timeout=5.0):
        """Waits (bounded) for both streams to end; returns (stdout, stderr)."""
        deadline = time.monotonic() + timeout
        for reader in self._readers:
            reader.join(max(0.0, deadline - time.monotonic()))
        return self.stdout, self.stderr

    # --- process control ---------------------------------------------------

    @property
    def pid(self):
        return self.process.pid

    def running(self):
        return self.process.poll() is None

    def send_signal(self, signal_number):
        if self.running():
            self.process.send_signal(signal_number)

    def terminate(self):
        self.send_signal(signal.SIGTERM)

    def wait(self, timeout):
        """Returns the exit code; raises subprocess.TimeoutExpired."""
        return self.process.wait(timeout=timeout)

    # --- gRPC ---------------------------------------------------------------

    def channel(self):
        """A new insecure channel to the server, closed by close()."""
        channel = grpc.insecure_channel(self.address)
        self._channels.append(channel)
        return channel

    def stub(self, channel=None):
        return state_service_pb2_grpc.StateServiceStub(
            channel if channel is not None else self.channel())

    def close(self, term_timeout=3.0):
        for channel in self._channels:
            try:
                channel.close()
            except Exception:  # pylint: disable=broad-except
                pass
        self._channels = []
        if self.process.poll() is None:
            try:
                self.process.send_signal(signal.SIGTERM)
                self.process.wait(timeout=term_timeout)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                pass
        if self.process.poll() is None:
            self.process.kill()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.output(timeout=2.0)
        for stream in (self.process.stdout, self.process.stderr):
            try:
                stream.close()
            except Exception:  # pylint: disable=broad-except
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False


# --- health ------------------------------------------------------------------

def health_check(channel, service="", timeout=10):
    """grpc.health.v1.Health/Check; returns the HealthCheckResponse."""
    check = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString)
    return check(health_pb2.HealthCheckRequest(service=service),
                 timeout=timeout)


def health_watch(channel, service="", timeout=30):
    """grpc.health.v1.Health/Watch; returns the response iterator (a call)."""
    watch = channel.unary_stream(
        "/grpc.health.v1.Health/Watch",
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString)
    return watch(health_pb2.HealthCheckRequest(service=service),
                 timeout=timeout)


def serving_status_name(status):
    return health_pb2.HealthCheckResponse.ServingStatus.Name(status)


# --- raw calls ------------------------------------------------------------------

def _identity(data):
    return data


def raw_method(channel, method):
    """A unary-unary callable sending and receiving raw bytes."""
    return channel.unary_unary(
        "/%s/%s" % (SERVICE_NAME, method),
        request_serializer=_identity,
        response_deserializer=_identity)


# --- error details ----------------------------------------------------------------

class ErrorDetails:
    """The decoded `grpc-status-details-bin` trailer of a failed call."""

    def __init__(self, code, message, status, error_infos, bad_requests,
                 other_details):
        self.code = code                    # grpc.StatusCode of the call
        self.message = message              # details() of the call
        self.status = status                # google.rpc.Status or None
        self.error_infos = error_infos      # [google.rpc.ErrorInfo]
        self.bad_requests = bad_requests    # [google.rpc.BadRequest]
        self.other_details = other_details  # [google.protobuf.Any]

    @property
    def error_info(self):
        """The only ErrorInfo; None when there is none (or several)."""
        return self.error_infos[0] if len(self.error_infos) == 1 else None

    @property
    def reason(self):
        info = self.error_info
        return info.reason if info is not None else None

    @property
    def domain(self):
        info = self.error_info
        return info.domain if info is not None else None

    @property
    def metadata(self):
        info = self.error_info
        return dict(info.metadata) if info is not None else {}

    @property
    def bad_request(self):
        return self.bad_requests[0] if len(self.bad_requests) == 1 else None

    @property
    def field_violations(self):
        """[(field, description)] of the only BadRequest."""
        bad_request = self.bad_request
        if bad_request is None:
            return []
        return [(v.field, v.description) for v in bad_request.field_violations]

    @property
    def fields(self):
        return [field for field, _ in self.field_violations]

    def __repr__(self):
        return ("ErrorDetails(code=%s, message=%r, reason=%r, domain=%r, "
                "metadata=%r, field_violations=%r, other=%d)" % (
                    self.code, self.message, self.reason, self.domain,
                    self.metadata, self.field_violations,
                    len(self.other_details)))


def error_details(rpc_error):
    """Decodes the error details of a grpc.RpcError raised by a call."""
    code = rpc_error.code()
    message = rpc_error.details()
    status = None
    for key, value in rpc_error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
    error_infos, bad_requests, other_details = [], [], []
    if status is not None:
        for any_message in status.details:
            if any_message.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                any_message.Unpack(info)
                error_infos.append(info)
            elif any_message.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad_request = error_details_pb2.BadRequest()
                any_message.Unpack(bad_request)
                bad_requests.append(bad_request)
            else:
                other_details.append(any_message)
    return ErrorDetails(code, message, status, error_infos, bad_requests,
                        other_details)
