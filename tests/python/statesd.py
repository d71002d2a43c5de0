"""Test helpers: run a real `statesd` process and read gRPC error details.

Each server gets a fresh temporary SQLite store unless told otherwise (see
Statesd). The registry helpers at the end (make_key, make_state, list_all,
RpcAssertions, WatchReader...) serve test_registry.py, test_watch.py and
test_durability.py.

The tests find the server binary in the environment variable STATESD and the
generated Python stubs in STATES_PYTHON_GEN (ctest sets both). Without them,
the default CMake build tree (`build/` at the top of the repository) is used.
STATESD_TESTING names statesd_testing, the build of statesd with its test
hooks (Statesd(..., test_hooks=True)).

Only the standard library, grpcio and protobuf are used.
"""

import importlib.util
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import grpc

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

STATESD = os.environ.get(
    "STATESD", os.path.join(_REPO_ROOT, "build", "service", "statesd"))
# The test build of statesd, which also takes its test hooks (such as
# --TEST_response_delay); statesd itself refuses them.
STATESD_TESTING = os.environ.get(
    "STATESD_TESTING",
    os.path.join(_REPO_ROOT, "build", "service", "statesd_testing"))
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
    "ERROR_DOMAIN", "MEMORY_DB", "MOZUMA_STATES", "RPC_TIMEOUT", "SERVICE_NAME",
    "ErrorDetails", "RpcAssertions", "Statesd", "StatesdError", "TempDb",
    "WatchReader", "content", "current_revision", "error_details",
    "error_details_pb2", "health_check", "health_pb2", "health_watch",
    "key_name", "key_tuple", "list_all", "make_key", "make_state",
    "raw_method", "register", "run_to_exit", "serving_status_name",
    "state_pb2", "state_service_pb2", "state_service_pb2_grpc", "status_pb2",
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

# Tolerates more details in the parentheses (the store, for example).
_STARTUP_RE = re.compile(
    r"^statesd: serving mozuma\.states\.v1\.StateService on "
    r"(127\.0\.0\.1:(\d+)) \(names: (\w+)\b.*\)$")
# The --db value of a store that keeps nothing on disk.
MEMORY_DB = "memory:"


class StatesdError(Exception):
    """The server could not be started or did not behave as a process."""


class TempDb:
    """A temporary directory holding one store file, `path`; removed by
    close(). For tests that run several servers on one file."""

    def __init__(self):
        self.directory = tempfile.mkdtemp(prefix="statesd-test-")
        self.path = os.path.join(self.directory, "states.db")

    def close(self):
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False


class Statesd:
    """One `statesd` process listening on 127.0.0.1 with a free port.

    The store: `db=PATH` (a file, kept at close; for restart tests),
    `db="memory:"`, or by default a fresh file `states.db` in a temporary
    directory that close() removes. A `--db=...` among `flags` wins.

    Use as a context manager, or call close() (safe to call many times);
    close() always ends the process, with SIGKILL when it does not stop on
    SIGTERM in time. stop() or kill() end the process but keep the store;
    start() (or restart()) runs a new process with the same arguments on the
    same store, on a new port: make new channels and stubs then.

    test_hooks=True runs statesd_testing (STATESD_TESTING) instead, for
    flags such as --TEST_response_delay.
    """

    def __init__(self, *flags, db=None, startup_timeout=STARTUP_TIMEOUT_S,
                 test_hooks=False):
        self.flags = list(flags)
        self._temp_db = None
        db_flags = [flag for flag in self.flags if flag.startswith("--db=")]
        if db_flags:
            self.db = db_flags[-1][len("--db="):]
        else:
            if db is None:
                self._temp_db = TempDb()
                db = self._temp_db.path
            self.db = db
            self.flags.append("--db=" + db)
        binary = STATESD_TESTING if test_hooks else STATESD
        self.args = [binary, "--listen=127.0.0.1:0"] + self.flags
        self.startup_timeout = startup_timeout
        self.process = None
        self._channels = []
        if not os.access(binary, os.X_OK):
            self._remove_temp_db()
            raise StatesdError("statesd binary not found or not executable: %r"
                               % binary)
        self.start()

    @property
    def db_path(self):
        """The store file, or None for a memory store."""
        return None if self.db == MEMORY_DB else self.db

    def start(self, startup_timeout=None):
        """Starts the process (again); waits for its startup line. On failure
        closes everything (temporary store included) and raises."""
        if self.process is not None and self.process.poll() is None:
            raise StatesdError("statesd is already running")
        self._close_process_streams()
        self.address = None
        self.port = None
        self.charset = None
        self.startup_line = None
        self._stdout_lines = []
        self._stderr_lines = []
        self._lines_lock = threading.Lock()
        self._startup_queue = queue.Queue()
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
                                   self._startup_queue, self._lines_lock)),
            threading.Thread(target=self._read, daemon=True,
                             args=(self.process.stderr, self._stderr_lines,
                                   None, self._lines_lock)),
        ]
        for reader in self._readers:
            reader.start()
        try:
            self._await_startup(startup_timeout if startup_timeout is not None
                                else self.startup_timeout)
        except BaseException:
            self.close()
            raise

    def restart(self, startup_timeout=None):
        """stop() (SIGTERM) when running, then start() on the same store.
        Returns the exit code of the stopped process."""
        code = self.stop() if self.running() else self.process.returncode
        self.start(startup_timeout)
        return code

    # --- output -----------------------------------------------------------

    @staticmethod
    def _read(stream, lines, startup_queue, lock):
        try:
            for line in stream:
                with lock:
                    lines.append(line)
                if startup_queue is not None:
                    startup_queue.put(line)
        except (ValueError, OSError):
            pass  # the stream was closed
        finally:
            if startup_queue is not None:
                startup_queue.put(None)  # EOF

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

    def _close_channels(self):
        for channel in self._channels:
            try:
                channel.close()
            except Exception:  # pylint: disable=broad-except
                pass
        self._channels = []

    def _close_process_streams(self):
        if self.process is None:
            return
        self.output(timeout=2.0)
        for stream in (self.process.stdout, self.process.stderr):
            try:
                stream.close()
            except Exception:  # pylint: disable=broad-except
                pass

    def stop(self, timeout=15.0):
        """SIGTERM, then waits up to `timeout` for the exit; returns the exit
        code. Closes this object's channels; keeps the store. Raises
        StatesdError (after a SIGKILL) when the process does not exit."""
        self._close_channels()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
                raise StatesdError("statesd did not exit within %.1fs of "
                                   "SIGTERM; %s" % (timeout, self._describe()))
        self.output(timeout=2.0)
        return self.process.returncode

    def kill(self):
        """SIGKILL: a crash. Waits for the process; keeps the store. Returns
        the exit code (-9)."""
        if self.process.poll() is None:
            self.process.kill()
        code = self.process.wait(timeout=10)
        self._close_channels()
        return code

    def _remove_temp_db(self):
        if self._temp_db is not None:
            self._temp_db.close()
            self._temp_db = None

    def close(self, term_timeout=3.0):
        self._close_channels()
        if self.process is not None:
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
            self._close_process_streams()
        self._remove_temp_db()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False


def run_to_exit(*flags, timeout=10.0, listen="127.0.0.1:0"):
    """Runs statesd with exactly `flags` (plus --listen), expecting it to
    refuse to start. Returns (exit code, stdout, stderr); the exit code is
    None when it was still running after `timeout` (it was then killed)."""
    args = [STATESD] + (["--listen=" + listen] if listen else []) + list(flags)
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, encoding="utf-8", errors="replace")
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        return process.returncode, stdout, stderr
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate(timeout=10)
        return None, stdout, stderr


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


# --- registry helpers ------------------------------------------------------------
#
# Shared by test_registry.py, test_watch.py and test_durability.py.

RPC_TIMEOUT = 10  # seconds, for every unary call of the registry tests


def make_key(name):
    """The StateKey of a dotted name such as `pytorch.resnet18.cls1000.x`
    (split locally: first part backend, second architecture, last training
    id, the rest extras)."""
    parts = name.split(".")
    if len(parts) < 3:
        raise ValueError("not a dotted state name: %r" % name)
    return state_pb2.StateKey(
        state_type=state_pb2.StateType(backend=parts[0],
                                       architecture=parts[1],
                                       extra=parts[2:-1]),
        training_id=parts[-1])


def key_name(key):
    """The dotted form of a StateKey."""
    return ".".join([key.state_type.backend, key.state_type.architecture]
                    + list(key.state_type.extra) + [key.training_id])


def key_tuple(key):
    """The listing order of the contract as a Python sort key: backend,
    architecture, extra element by element (a list before its extensions),
    training id, each by code point."""
    return (key.state_type.backend, key.state_type.architecture,
            tuple(key.state_type.extra), key.training_id)


def make_state(name, uri=None, sha256="", size_bytes=None, labels=None):
    """A State for the dotted `name` (or a StateKey)."""
    key = make_key(name) if isinstance(name, str) else name
    state = state_pb2.State(
        state_key=key,
        uri=uri if uri is not None
        else "file:///srv/states/%s.pt" % key_name(key),
        sha256=sha256, labels=labels or {})
    if size_bytes is not None:
        state.size_bytes = size_bytes
    return state


def content(state):
    """What RegisterState compares: (uri, sha256, size_bytes, labels)."""
    return (state.uri, state.sha256,
            state.size_bytes if state.HasField("size_bytes") else None,
            dict(state.labels))


def register(stub, state, allow_overwrite=False, timeout=RPC_TIMEOUT):
    return stub.RegisterState(
        state_service_pb2.RegisterStateRequest(
            state=state, allow_overwrite=allow_overwrite), timeout=timeout)


def list_all(stub, page_size=0, timeout=RPC_TIMEOUT, max_pages=100000,
             **filter_fields):
    """Follows next_page_token to the end; returns (states, responses)."""
    states, responses = [], []
    token = ""
    for _ in range(max_pages):
        response = stub.ListStates(
            state_service_pb2.ListStatesRequest(
                page_size=page_size, page_token=token, **filter_fields),
            timeout=timeout)
        responses.append(response)
        states.extend(response.states)
        token = response.next_page_token
        if not token:
            return states, responses
    raise AssertionError("listing did not end within %d pages" % max_pages)


def current_revision(stub):
    """The store's revision, as ListStates reports it."""
    return stub.ListStates(state_service_pb2.ListStatesRequest(page_size=1),
                           timeout=RPC_TIMEOUT).revision


# MoZuMa's pretrained states (mozuma/models/*/pretrained.py), as dotted names.
MOZUMA_STATES = [
    "pytorch.resnet18.cls1000.imagenet",
    "pytorch.densenet161.cls1000.imagenet",
    "pytorch.densenet161.cls365.places365",
    "pytorch.clip-image-rn50.clip",
    "pytorch.clip-text-rn50.clip",
    "pytorch.facenet-mtcnn.facenet",
    "pytorch.arcface.insightface",
    "pytorch.magface.magface",
    "pytorch.vinvl-vg-x152c4.vinvl",
    "pytorch.sbert-distiluse-base-multilingual.cased-v2",
]


class RpcAssertions:
    """unittest.TestCase mixin: error checks for the documented error
    model."""

    def assertErrorDetails(self, details, code, reason, fields=None):
        """Checks the status, the one ErrorInfo and (for INVALID_ARGUMENT)
        the one BadRequest; `fields`, when given, is the exact set of
        violation field paths."""
        self.assertEqual(details.code, code, details)
        self.assertIsNotNone(details.status,
                             "no grpc-status-details-bin trailer: %r" % details)
        self.assertEqual(details.status.code, code.value[0], details)
        self.assertEqual(details.status.message, details.message, details)
        self.assertEqual(len(details.error_infos), 1,
                         "want exactly one ErrorInfo: %r" % details)
        self.assertEqual(details.domain, ERROR_DOMAIN, details)
        self.assertEqual(details.reason, reason, details)
        if (code == grpc.StatusCode.INVALID_ARGUMENT
                and reason != "MALFORMED_REQUEST"):
            self.assertEqual(len(details.bad_requests), 1,
                             "want exactly one BadRequest: %r" % details)
            self.assertEqual(set(details.metadata), set(details.fields),
                             details)
            for field, description in details.field_violations:
                self.assertTrue(field, details)
                self.assertTrue(description, details)
            if fields is not None:
                self.assertEqual(set(details.fields), set(fields), details)
        return details

    def assertRpcError(self, call, request, code, reason, fields=None,
                       timeout=RPC_TIMEOUT):
        """Makes the unary call, expects it to fail; returns ErrorDetails."""
        try:
            response = call(request, timeout=timeout)
        except grpc.RpcError as error:
            return self.assertErrorDetails(error_details(error), code, reason,
                                           fields)
        self.fail("want %s %s, got a response: %r" % (code, reason, response))
        return None  # unreachable


_END = object()


class WatchReader:
    """A WatchStates call read by a background thread into a queue.

    With start=False the call is made but nothing is read until start():
    the client then applies HTTP/2 flow control to the server.
    """

    def __init__(self, stub, request, timeout=120, start=True):
        self.request = request
        self.call = stub.WatchStates(request, timeout=timeout)
        self._queue = queue.Queue()
        self.error = None          # the grpc.RpcError that ended the stream
        self.ended = threading.Event()
        self.messages = []         # every message taken by next()
        self._thread = None
        if start:
            self.start()

    def start(self):
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()

    def _run(self):
        try:
            for message in self.call:
                self._queue.put(message)
        except grpc.RpcError as error:
            self.error = error
        except Exception as error:  # pylint: disable=broad-except
            self.error = error
        finally:
            self.ended.set()
            self._queue.put(_END)

    def next(self, timeout):
        """The next message; None when the stream has ended (see `error`).
        Raises AssertionError when nothing comes within `timeout`."""
        try:
            message = self._queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                "no WatchStates message within %.1fs (request %r)"
                % (timeout, self.request)) from None
        if message is _END:
            self._queue.put(_END)  # later calls see the end too
            return None
        self.messages.append(message)
        return message

    def poll(self, timeout):
        """Like next() but returns False when nothing comes in time."""
        try:
            return self.next(timeout)
        except AssertionError:
            return False

    def read_snapshot(self, timeout=30):
        """Reads to the snapshot_complete message: (events, that message)."""
        events = []
        deadline = time.monotonic() + timeout
        while True:
            message = self.next(max(0.01, deadline - time.monotonic()))
            if message is None:
                raise AssertionError("watch ended before snapshot_complete: "
                                     "%r" % (self.error,))
            events.extend(message.events)
            if message.snapshot_complete:
                return events, message

    def read_until_revision(self, revision, timeout=30):
        """Reads until a message reports `revision` (in `revision` or an
        event); returns the events read."""
        events = []
        deadline = time.monotonic() + timeout
        while True:
            message = self.next(max(0.01, deadline - time.monotonic()))
            if message is None:
                raise AssertionError(
                    "watch ended before revision %d: %r; events %r"
                    % (revision, self.error,
                       [e.revision for e in events]))
            events.extend(message.events)
            reached = max([message.revision]
                          + [event.revision for event in message.events])
            if reached >= revision:
                return events

    def read_to_end(self, timeout=30):
        """Reads until the stream ends: (events, error)."""
        events = []
        deadline = time.monotonic() + timeout
        while True:
            message = self.next(max(0.01, deadline - time.monotonic()))
            if message is None:
                return events, self.error
            events.extend(message.events)

    def last_revision(self):
        """The revision to resume from: the highest revision received."""
        revision = 0
        for message in self.messages:
            revision = max([revision, message.revision]
                           + [event.revision for event in message.events])
        return revision

    def cancel(self):
        self.call.cancel()
        if self._thread is not None:
            self._thread.join(5)
