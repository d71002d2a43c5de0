"""Tests of the Python package mozuma_states against a real statesd.

Run by ctest with pytest under /usr/bin/python3, with PYTHONPATH set to the
package root in the build tree (build/client/python) and STATESD to the
server binary. Each test that needs a server gets its own (Statesd: a fresh
temporary store on 127.0.0.1); every rpc has a timeout.

Run by hand: /usr/bin/python3 -m pytest -q tests/python/test_grpc_state_store.py
(the default build tree `build/` is used).
"""

import errno
import fcntl
import hashlib
import http.server
import os
import pathlib
import subprocess
import sys
import textwrap
import threading
import typing
import warnings

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PACKAGE_ROOT = os.environ.get(
    "MOZUMA_STATES_PYTHON", os.path.join(_REPO_ROOT, "build", "client", "python"))
if PACKAGE_ROOT not in sys.path:
    sys.path.insert(0, PACKAGE_ROOT)

# Before statesd, which puts the tests' own generated `mozuma` and
# `google.rpc` modules on sys.path: the package must not need them.
# pylint: disable=wrong-import-position
import mozuma_states  # noqa: E402
from mozuma_states import (Client, GrpcStateStore, StateKey,  # noqa: E402
                           StateType, WatchEvent)
import mozuma_states.store  # noqa: E402
from mozuma_states.store import LOCK_FILE_NAME  # noqa: E402

import grpc  # noqa: E402
import pytest  # noqa: E402

import statesd  # noqa: E402

RPC_TIMEOUT = 10  # seconds, for every unary call
WATCH_TIMEOUT = 20  # seconds, for every watch
SUBPROCESS_TIMEOUT = 30

RESNET18 = StateType("pytorch", "resnet18", ("cls1000",))
IMAGENET = StateKey(RESNET18, "imagenet")


class FakeModel:
    """A MoZuMa model with state, as the stores use it."""

    def __init__(self, state_type, state=b""):
        self.state_type = state_type
        self.state = state
        self.set_state_calls = 0

    def get_state(self):
        return self.state

    def set_state(self, state):
        self.state = state
        self.set_state_calls += 1


@pytest.fixture(name="server")
def fixture_server():
    server = statesd.Statesd()
    yield server
    server.close()


@pytest.fixture(name="client")
def fixture_client(server):
    client = Client.connect(server.address, timeout=RPC_TIMEOUT)
    yield client
    client.close()


@pytest.fixture(name="store")
def fixture_store(server, tmp_path):
    store = GrpcStateStore(server.address, tmp_path / "states",
                           timeout=RPC_TIMEOUT)
    yield store
    store.close()


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _state_files(folder):
    """The files of `folder` but the store's lock file; a temporary file
    left behind shows as well."""
    return sorted(name for name in os.listdir(folder)
                  if name != LOCK_FILE_NAME)


# --- server addresses ---------------------------------------------------------


@pytest.mark.parametrize("address,target", [
    ("127.0.0.1:50051", "127.0.0.1:50051"),
    ("dns:///localhost:50051", "dns:///localhost:50051"),
    ("unix:/run/statesd.sock", "unix:/run/statesd.sock"),
    ("http://127.0.0.1:50051", "127.0.0.1:50051"),
    ("HTTP://localhost:50051/", "localhost:50051"),
    ("grpc://[::1]:50051", "[::1]:50051"),
])
def test_channel_target_reads_the_forms_statesctl_reads(address, target):
    assert mozuma_states.channel_target(address) == target


@pytest.mark.parametrize("address,says", [
    ("", "empty"),
    ("https://127.0.0.1:50051", "TLS"),
    ("http://127.0.0.1", "no port"),
    ("http://127.0.0.1:http", "not a number"),
    ("http://127.0.0.1:70000", "not a number"),
    ("http://me@127.0.0.1:50051", "user information"),
    ("http://127.0.0.1:50051/mozuma.states.v1.StateService/GetState",
     "method URL"),
])
def test_channel_target_refuses_with_what_to_write(address, says):
    with pytest.raises(ValueError, match=says) as raised:
        mozuma_states.channel_target(address)
    if address:
        assert "127.0.0.1:50051" in str(raised.value)


def test_a_client_connects_to_the_url_form_of_the_address(server):
    """The `http://` URL that buf curl takes works as the address."""
    with Client.connect("http://" + server.address,
                        timeout=RPC_TIMEOUT) as client:
        assert not client.exists(IMAGENET)


# --- the quickstart ----------------------------------------------------------


def test_quickstart_flow(store, client, tmp_path):
    """The README's flow, with the calls of MoZuMa's stores."""
    model = FakeModel(RESNET18, b"weights of resnet18")
    assert store.get_state_keys(model.state_type) == []
    assert not store.exists(IMAGENET)

    key = store.save(model, training_id="imagenet")
    assert key == IMAGENET
    path = tmp_path / "states" / "pytorch.resnet18.cls1000.imagenet.pt"
    assert path.read_bytes() == b"weights of resnet18"
    assert store.get_filename(key) == str(path)
    assert store.get_state_keys(model.state_type) == [IMAGENET]
    assert store.exists(IMAGENET)

    other = FakeModel(StateType("pytorch", "resnet18", ("cls10",)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # compatible: no warning
        store.load(other, state_key=key)
    assert other.state == b"weights of resnet18"
    assert other.set_state_calls == 1

    state = client.get(key)
    assert state.uri == path.as_uri()
    assert state.sha256 == _sha256(b"weights of resnet18")
    assert state.size_bytes == len(b"weights of resnet18")
    assert state.name == "pytorch.resnet18.cls1000.imagenet"
    assert state.revision == 1
    assert state.create_time is not None and state.create_time.tzinfo


def test_folder_as_file_uri_with_characters_to_encode(server, tmp_path):
    folder = tmp_path / "my states" / "modèles#1"
    with GrpcStateStore(server.address, folder.as_uri()) as store:
        assert store.folder == str(folder)
        key = store.save(FakeModel(RESNET18, b"\x00\x01"), "imagenet")
        uri = store.client.get(key).uri
        assert uri.startswith("file://" + str(tmp_path))
        assert "/my%20states/mod%C3%A8les%231/" in uri
        model = FakeModel(RESNET18)
        store.load(model, key)
        assert model.state == b"\x00\x01"


def test_store_follows_the_store_contract(store, client, monkeypatch):
    """Without MoZuMa the stand-in base class; the same contract as
    MoZuMa's (test_with_mozuma_installed has MoZuMa's)."""
    base = mozuma_states.AbstractStateStore
    assert isinstance(store, base)
    assert base.__abstractmethods__ == frozenset(
        {"save", "load", "get_state_keys"})
    # Generic over the model type, like MoZuMa's stores.
    typed = GrpcStateStore[FakeModel]
    assert typing.get_origin(typed) is GrpcStateStore
    assert typing.get_args(typed) == (FakeModel,)
    assert isinstance(typed(client, store.folder), GrpcStateStore)

    # The base class's save() makes the key and load() runs first: a
    # change to them reaches the store.
    calls = []
    original_save, original_load = base.save, base.load

    def save(self, model, training_id):
        calls.append(("save", training_id))
        return original_save(self, model, training_id + "-v2")

    def load(self, model, state_key):
        calls.append(("load", mozuma_states.format_state_key(state_key)))
        if state_key.training_id == "forbidden":
            raise PermissionError("refused by the base class")
        original_load(self, model, state_key)

    monkeypatch.setattr(base, "save", save)
    monkeypatch.setattr(base, "load", load)
    key = store.save(FakeModel(RESNET18, b"w"), "imagenet")
    assert key == StateKey(RESNET18, "imagenet-v2")
    assert client.exists(key) and not client.exists(IMAGENET)
    model = FakeModel(RESNET18)
    store.load(model, key)
    assert model.state == b"w"
    assert calls == [("save", "imagenet"),
                     ("load", "pytorch.resnet18.cls1000.imagenet-v2")]
    with pytest.raises(PermissionError):
        store.load(model, (RESNET18, "forbidden"))


def test_missing_key_is_what_mozuma_stores_raise(store):
    """MoZuMa's GitHub store raises ValueError for a missing key, its
    LocalStateStore FileNotFoundError: code written for them catches ours."""
    model = FakeModel(RESNET18)
    for caught_type in (ValueError, FileNotFoundError, OSError, LookupError,
                        mozuma_states.StateNotFoundError):
        with pytest.raises(caught_type) as caught:
            store.load(model, IMAGENET)
        error = caught.value
        assert isinstance(error, mozuma_states.StatesError)
        assert error.reason == "STATE_NOT_FOUND"
        assert error.code == grpc.StatusCode.NOT_FOUND
    assert error.errno == errno.ENOENT
    assert "STATE_NOT_FOUND" in str(error)
    assert model.set_state_calls == 0


# --- conversions --------------------------------------------------------------


def test_state_types_from_every_form():
    want = StateType("pytorch", "resnet18", ("cls1000",))
    proto = mozuma_states.state_type_to_proto(want)
    for value in (want, ("pytorch", "resnet18", ("cls1000",)),
                  ["pytorch", "resnet18", ["cls1000"]],
                  "pytorch.resnet18.cls1000", proto):
        assert mozuma_states.to_state_type(value) == want, value
    assert mozuma_states.to_state_type(("pytorch", "clip")) == StateType(
        "pytorch", "clip")
    assert mozuma_states.parse_state_type("pytorch.clip").extra == ()
    assert mozuma_states.format_state_type(want) == "pytorch.resnet18.cls1000"
    assert list(proto.extra) == ["cls1000"]
    assert mozuma_states.state_type_from_proto(proto) == want


def test_state_keys_from_every_form():
    proto = mozuma_states.state_key_to_proto(IMAGENET)
    for value in (IMAGENET, (RESNET18, "imagenet"),
                  (("pytorch", "resnet18", ("cls1000",)), "imagenet"),
                  ("pytorch.resnet18.cls1000", "imagenet"),
                  "pytorch.resnet18.cls1000.imagenet", proto):
        assert mozuma_states.to_state_key(value) == IMAGENET, value
    assert proto.state_type.backend == "pytorch"
    assert proto.training_id == "imagenet"
    assert mozuma_states.state_key_from_proto(proto) == IMAGENET
    # Round trips through the dotted form, with 0 to 3 extras.
    for name in ("pytorch.clip-image-rn50.clip",
                 "pytorch.resnet18.cls1000.imagenet",
                 "pytorch.sbert-distiluse-base-multilingual.cased-v2",
                 "a.b.c.d.e.f", "pytorch.résnet.模型.٣"):
        key = mozuma_states.parse_state_key(name)
        assert mozuma_states.format_state_key(key) == name
        assert mozuma_states.state_key_from_proto(
            mozuma_states.state_key_to_proto(key)) == key
    # Duck-typed keys (another library's dataclasses) convert too.
    class Duck:  # pylint: disable=too-few-public-methods
        backend, architecture, extra = "pytorch", "resnet18", ["cls1000"]
    assert mozuma_states.to_state_key((Duck(), "imagenet")) == IMAGENET


def test_dataclasses_mirror_mozuma():
    assert IMAGENET.state_type.is_compatible_with(
        StateType("pytorch", "resnet18", ("cls10",)))
    assert not RESNET18.is_compatible_with(StateType("pytorch", "resnet180"))
    assert hash(IMAGENET) == hash(StateKey(
        StateType("pytorch", "resnet18", ("cls1000",)), "imagenet"))
    with pytest.raises(Exception):
        IMAGENET.training_id = "other"  # frozen
    assert repr(RESNET18) == ("StateType(backend='pytorch', "
                              "architecture='resnet18', extra=('cls1000',))")
    # MoZuMa's own pattern, final newline included; the server is stricter.
    StateKey(RESNET18, "imagenet\n")
    for bad in ("", "rés net", "a.b", "a/b"):
        with pytest.raises(ValueError):
            StateType("pytorch", bad)


def test_conversion_errors():
    with pytest.raises(ValueError, match="not a dotted state name"):
        mozuma_states.parse_state_key("pytorch.resnet18")
    with pytest.raises(ValueError):
        mozuma_states.to_state_key("pytorch..imagenet")
    with pytest.raises(ValueError):
        mozuma_states.to_state_key("pytorch.rés net.imagenet")
    with pytest.raises(TypeError, match="not the string"):
        mozuma_states.to_state_type(("pytorch", "resnet18", "cls1000"))
    if not mozuma_states.MOZUMA_AVAILABLE:  # MoZuMa's own class takes it
        with pytest.raises(TypeError, match="not the string"):
            StateType("pytorch", "resnet18", "cls1000")
        assert StateType("pytorch", "resnet18", ["cls1000"]).extra == (
            "cls1000",)
    with pytest.raises(TypeError):
        mozuma_states.to_state_type(("pytorch", "resnet18", "cls1000", "x"))
    with pytest.raises(TypeError):
        mozuma_states.to_state_key(("a", "b", "c"))
    with pytest.raises(TypeError):
        mozuma_states.to_state_key(42)


# --- errors ----------------------------------------------------------------------


def test_not_found(client):
    with pytest.raises(mozuma_states.StateNotFoundError) as caught:
        client.get("pytorch.resnet18.cls1000.imagenet")
    error = caught.value
    assert isinstance(error, LookupError)
    assert error.code == grpc.StatusCode.NOT_FOUND
    assert error.reason == "STATE_NOT_FOUND"
    assert error.domain == "mozuma.states.v1"
    assert error.metadata["name"] == "pytorch.resnet18.cls1000.imagenet"
    assert error.field_violations == []
    assert "STATE_NOT_FOUND" in str(error)
    with pytest.raises(mozuma_states.StateNotFoundError):
        client.delete(IMAGENET)


def test_invalid_argument_with_field_violations(client):
    with pytest.raises(mozuma_states.InvalidArgumentError) as caught:
        client.register(IMAGENET, "relative/path.pt", sha256="XYZ",
                        size_bytes=-1)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == "INVALID_STATE"
    fields = [field for field, _ in error.field_violations]
    assert set(fields) == {"state.uri", "state.sha256", "state.size_bytes"}
    assert all(description for _, description in error.field_violations)
    assert error.metadata == {"state.uri": "INVALID_FORMAT",
                              "state.sha256": "INVALID_FORMAT",
                              "state.size_bytes": "OUT_OF_RANGE"}
    assert "state.sha256: " in str(error)

    # A final newline passes MoZuMa's pattern, not the server's rules.
    with pytest.raises(mozuma_states.InvalidArgumentError) as caught:
        client.get((RESNET18, "imagenet\n"))
    assert caught.value.reason == "INVALID_STATE_KEY"
    assert caught.value.metadata == {
        "state_key.training_id": "INVALID_CHARACTER"}


def test_already_exists_and_revision_mismatch(client):
    first = client.register(IMAGENET, "file:///srv/a.pt")
    assert first.created and first.changed
    again = client.register(IMAGENET, "file:///srv/a.pt")
    assert not again.created and not again.changed
    assert again.state.revision == first.state.revision
    with pytest.raises(mozuma_states.StateAlreadyExistsError) as caught:
        client.register(IMAGENET, "file:///srv/b.pt")
    error = caught.value
    assert error.code == grpc.StatusCode.ALREADY_EXISTS
    assert error.reason == "STATE_ALREADY_EXISTS"
    assert error.metadata["name"] == "pytorch.resnet18.cls1000.imagenet"
    assert error.metadata["revision"] == str(first.state.revision)

    replaced = client.register(IMAGENET, "file:///srv/b.pt",
                               allow_overwrite=True)
    assert replaced.changed and not replaced.created
    with pytest.raises(mozuma_states.RevisionMismatchError) as caught:
        client.delete(IMAGENET, expected_revision=first.state.revision)
    assert caught.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert caught.value.metadata["revision"] == str(replaced.state.revision)
    deleted = client.delete(IMAGENET,
                            expected_revision=replaced.state.revision)
    assert deleted.uri == "file:///srv/b.pt"
    assert not client.exists(IMAGENET)


def test_invalid_page_token_through_the_stub(client):
    request = mozuma_states.protos.state_service_pb2.ListStatesRequest(
        page_token="not-a-token")
    with pytest.raises(grpc.RpcError) as caught:
        client.stub.ListStates(request, timeout=RPC_TIMEOUT)
    error = mozuma_states.error_from_rpc(caught.value)
    assert isinstance(error, mozuma_states.InvalidPageTokenError)
    assert isinstance(error, mozuma_states.InvalidArgumentError)
    assert error.reason == "INVALID_PAGE_TOKEN"


def test_unreachable_server_is_unavailable():
    # Nothing listens on port 1 of the loopback interface.
    with Client.connect("127.0.0.1:1", timeout=5) as client:
        with pytest.raises(mozuma_states.UnavailableError) as caught:
            client.exists(IMAGENET)
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE
    assert caught.value.reason is None


# --- GrpcStateStore ---------------------------------------------------------------


def test_load_refuses_bytes_that_do_not_match(store):
    key = store.save(FakeModel(RESNET18, b"0123456789"), "imagenet")
    path = pathlib.Path(store.get_filename(key))
    path.write_bytes(b"0123456789"[::-1])  # same size, other bytes
    model = FakeModel(RESNET18)
    with pytest.raises(mozuma_states.StateIntegrityError) as caught:
        store.load(model, key)
    assert caught.value.reason == "SHA256_MISMATCH"
    assert caught.value.code is None
    assert caught.value.metadata["expected_sha256"] == _sha256(b"0123456789")
    assert model.set_state_calls == 0

    path.write_bytes(b"0123456789+")
    with pytest.raises(mozuma_states.StateIntegrityError) as caught:
        store.load(model, key)
    assert caught.value.reason == "SIZE_MISMATCH"
    assert model.set_state_calls == 0


def test_incompatible_load_warns_and_loads(store):
    key = store.save(FakeModel(RESNET18, b"resnet18"), "imagenet")
    model = FakeModel(StateType("pytorch", "resnet50"))
    with pytest.warns(RuntimeWarning, match="is not compatible with"):
        store.load(model, key)
    assert model.state == b"resnet18"


def test_get_state_keys_matches_whole_names(server, tmp_path):
    # page_size 2: the listing takes several pages.
    with GrpcStateStore(server.address, tmp_path, page_size=2) as store:
        for state_type, training_id in (
                (("pytorch", "resnet18", ("cls1000",)), "imagenet"),
                (("pytorch", "resnet18", ("cls10",)), "cifar10"),
                (("pytorch", "resnet18"), "plain"),
                (("pytorch", "resnet180"), "imagenet"),
                (("pytorch", "resnet18-v2"), "imagenet"),
                (("onnx", "resnet18"), "imagenet")):
            store.save(FakeModel(state_type, training_id.encode()),
                       training_id)
        names = [mozuma_states.format_state_key(key)
                 for key in store.get_state_keys(("pytorch", "resnet18"))]
        assert names == ["pytorch.resnet18.plain",
                         "pytorch.resnet18.cls10.cifar10",
                         "pytorch.resnet18.cls1000.imagenet"]
        # Any form of the state type; the extra does not matter.
        assert store.get_state_keys(
            "pytorch.resnet18.cls1000") == store.get_state_keys(
                StateType("pytorch", "resnet18"))
        assert [key.state_type.architecture for key in
                store.get_state_keys(("pytorch", "resnet180"))] == [
                    "resnet180"]
        # The MoZuMa file stores' prefix match would have listed these too.
        assert sorted(_state_files(tmp_path)) == sorted(
            name + ".pt" for name in names + [
                "pytorch.resnet180.imagenet", "pytorch.resnet18-v2.imagenet",
                "onnx.resnet18.imagenet"])
        assert len(store.client.list(page_size=2)) == 6
        assert len(store.client.list(("pytorch", "resnet18"),
                                     exact=True)) == 1


def test_exists_in_any_form(store):
    store.save(FakeModel(RESNET18, b"x"), "imagenet")
    assert store.exists(IMAGENET)
    assert store.exists("pytorch.resnet18.cls1000.imagenet")
    assert store.exists((("pytorch", "resnet18", ("cls1000",)), "imagenet"))
    assert not store.exists("pytorch.resnet18.cls1000.places365")
    assert not store.exists("pytorch.resnet18.imagenet")  # no extra
    with pytest.raises(mozuma_states.InvalidArgumentError):
        store.exists((RESNET18, "x" * 256))  # too long for the server


def test_save_twice(store, client):
    model = FakeModel(RESNET18, b"first")
    key = store.save(model, "imagenet")
    revision = client.get(key).revision
    assert store.save(model, "imagenet") == key  # a retried save
    assert client.get(key).revision == revision

    path = pathlib.Path(store.get_filename(key))
    with pytest.raises(mozuma_states.StateAlreadyExistsError) as caught:
        store.save(FakeModel(RESNET18, b"second"), "imagenet")
    assert isinstance(caught.value, ValueError)  # as LocalStateStore's
    # The registered file is never replaced.
    assert caught.value.reason == "STATE_ALREADY_EXISTS"
    assert caught.value.metadata["name"] == "pytorch.resnet18.cls1000.imagenet"
    assert path.read_bytes() == b"first"
    assert client.get(key).revision == revision
    assert _state_files(store.folder) == [path.name]


def test_save_refuses_a_key_registered_elsewhere(store, client):
    client.register(IMAGENET, "s3://zoo/pytorch/resnet18.cls1000.imagenet.pt")
    with pytest.raises(mozuma_states.StateAlreadyExistsError) as caught:
        store.save(FakeModel(RESNET18, b"mine"), "imagenet")
    assert caught.value.reason == "STATE_ALREADY_EXISTS"
    # Nothing written: the registry answered before the file was placed.
    assert not os.path.exists(store.get_filename(IMAGENET))
    assert sorted(os.listdir(store.folder)) == [LOCK_FILE_NAME]


def test_save_removes_the_file_of_a_key_the_server_refuses(store):
    # MoZuMa's pattern lets a final newline through; the server does not.
    with pytest.raises(mozuma_states.InvalidArgumentError):
        store.save(FakeModel(RESNET18, b"x"), "imagenet\n")
    assert _state_files(store.folder) == []
    assert sorted(os.listdir(store.folder)) == [LOCK_FILE_NAME]
    with pytest.raises(ValueError):  # refused by MoZuMa's own pattern
        store.save(FakeModel(RESNET18, b"x"), "image net")


# --- failed and concurrent saves ------------------------------------------------


class _StopBeforeRegister:
    """Delegates to a real stub, but stops the real statesd just before the
    first RegisterState call: an outage in the middle of a save."""

    def __init__(self, stub, server):
        self._stub = stub
        self._server = server
        self.stopped = False

    def __getattr__(self, name):
        return getattr(self._stub, name)

    def RegisterState(self, request, timeout=None):  # pylint: disable=invalid-name
        if not self.stopped:
            self.stopped = True
            self._server.stop()
        return self._stub.RegisterState(request, timeout=timeout)


def _save_in_an_outage(server, folder, model, training_id):
    """A save whose server stops between its lookup and its registration;
    then the server is started again (on a new port)."""
    channel = grpc.insecure_channel(server.address)
    stub = _StopBeforeRegister(statesd.state_service_pb2_grpc.StateServiceStub(
        channel), server)
    store = GrpcStateStore(Client(channel, stub=stub, timeout=RPC_TIMEOUT),
                           folder)
    try:
        with pytest.raises(mozuma_states.UnavailableError):
            store.save(model, training_id)
        assert stub.stopped and not server.running()
    finally:
        channel.close()
    server.start()


def test_a_failed_save_never_blocks_a_later_one(server, tmp_path):
    folder = tmp_path / "states"
    path = folder / "pytorch.resnet18.cls1000.imagenet.pt"
    _save_in_an_outage(server, folder, FakeModel(RESNET18, b"first try"),
                       "imagenet")
    # The orphan: written, never registered.
    assert path.read_bytes() == b"first try"
    assert _state_files(folder) == [path.name]
    with GrpcStateStore(server.address, folder, timeout=RPC_TIMEOUT) as store:
        assert not store.exists(IMAGENET)
        # Other bytes under the same key: the orphan is replaced.
        assert store.save(FakeModel(RESNET18, b"other bytes"),
                          "imagenet") == IMAGENET
        assert store.exists(IMAGENET)
        assert path.read_bytes() == b"other bytes"
        state = store.client.get(IMAGENET)
        assert (state.uri, state.sha256, state.size_bytes) == (
            path.as_uri(), _sha256(b"other bytes"), len(b"other bytes"))
        model = FakeModel(RESNET18)
        store.load(model, IMAGENET)
        assert model.state == b"other bytes"
        # Now registered: never replaced.
        with pytest.raises(mozuma_states.StateAlreadyExistsError) as caught:
            store.save(FakeModel(RESNET18, b"third"), "imagenet")
        assert caught.value.reason == "STATE_ALREADY_EXISTS"
        assert path.read_bytes() == b"other bytes"
    assert _state_files(folder) == [path.name]


def test_a_failed_save_is_retried_with_the_same_bytes(server, tmp_path):
    folder = tmp_path / "states"
    _save_in_an_outage(server, folder, FakeModel(RESNET18, b"weights"),
                       "imagenet")
    with GrpcStateStore(server.address, folder, timeout=RPC_TIMEOUT) as store:
        assert store.save(FakeModel(RESNET18, b"weights"),
                          "imagenet") == IMAGENET
        registration = store.client.get(IMAGENET)
        assert registration.revision == 1
        assert registration.sha256 == _sha256(b"weights")
        assert store.save(FakeModel(RESNET18, b"weights"),
                          "imagenet") == IMAGENET  # and again: a no-op
        assert store.client.get(IMAGENET).revision == 1
    assert _state_files(folder) == ["pytorch.resnet18.cls1000.imagenet.pt"]


def test_a_save_to_an_unreachable_server_leaves_nothing(tmp_path):
    folder = tmp_path / "states"
    with GrpcStateStore("127.0.0.1:1", folder, timeout=5) as store:
        with pytest.raises(mozuma_states.UnavailableError):
            store.save(FakeModel(RESNET18, b"x"), "imagenet")
    assert _state_files(folder) == []


def test_a_registered_file_is_put_back_never_overwritten(store, client):
    key = store.save(FakeModel(RESNET18, b"registered"), "imagenet")
    path = pathlib.Path(store.get_filename(key))
    path.unlink()  # lost by hand: the same bytes put it back
    assert store.save(FakeModel(RESNET18, b"registered"), "imagenet") == key
    assert path.read_bytes() == b"registered"
    path.write_bytes(b"changed by hand")
    with pytest.raises(mozuma_states.StateAlreadyExistsError) as caught:
        store.save(FakeModel(RESNET18, b"registered"), "imagenet")
    assert caught.value.reason == "STATE_FILE_EXISTS"
    assert caught.value.metadata["path"] == str(path)
    assert path.read_bytes() == b"changed by hand"
    assert client.get(key).revision == 1


def test_a_save_waits_for_the_folder_lock_a_bounded_time(store, client):
    os.makedirs(store.folder, exist_ok=True)
    lock_path = os.path.join(store.folder, LOCK_FILE_NAME)
    with open(lock_path, "a+b") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # another save, stuck
        store.lock_timeout = 0.3
        with pytest.raises(TimeoutError, match="lock_timeout"):
            store.save(FakeModel(RESNET18, b"x"), "imagenet")
    assert _state_files(store.folder) == []  # the temporary file is gone
    assert not client.exists(IMAGENET)
    assert store.save(FakeModel(RESNET18, b"x"), "imagenet") == IMAGENET


def test_without_flock_an_existing_file_is_never_replaced(store, client,
                                                          monkeypatch):
    def no_locks(*args):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(mozuma_states.store.fcntl, "flock", no_locks)
    path = pathlib.Path(store.get_filename(IMAGENET))
    path.parent.mkdir(parents=True)
    path.write_bytes(b"leftover")
    with pytest.raises(mozuma_states.StateAlreadyExistsError) as caught:
        store.save(FakeModel(RESNET18, b"new"), "imagenet")
    assert caught.value.reason == "STATE_FILE_EXISTS"
    assert "no flock()" in str(caught.value)
    assert path.read_bytes() == b"leftover"
    path.unlink()  # as the message says
    assert store.save(FakeModel(RESNET18, b"new"), "imagenet") == IMAGENET
    assert path.read_bytes() == b"new"
    assert client.get(IMAGENET).sha256 == _sha256(b"new")


@pytest.mark.parametrize("same_bytes", [False, True])
def test_concurrent_saves_of_one_key(server, tmp_path, same_bytes):
    """Threads, each with its own store (its own lock file descriptor, as
    separate processes would have), save one key at once: one wins, and
    the file always holds the registered bytes."""
    folder = tmp_path / "states"
    count = 6
    barrier = threading.Barrier(count)
    outcomes = [None] * count

    def save(index):
        data = b"same" if same_bytes else b"bytes of saver %d" % index
        with GrpcStateStore(server.address, folder,
                            timeout=RPC_TIMEOUT) as store:
            barrier.wait(timeout=WATCH_TIMEOUT)
            try:
                store.save(FakeModel(RESNET18, data), "imagenet")
                outcomes[index] = ("saved", data)
            except mozuma_states.StateAlreadyExistsError as error:
                outcomes[index] = (error.reason, data)

    threads = [threading.Thread(target=save, args=(index,))
               for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WATCH_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads)
    saved = [data for outcome, data in outcomes if outcome == "saved"]
    refused = [outcome for outcome, _ in outcomes if outcome != "saved"]
    if same_bytes:
        assert len(saved) == count and not refused
    else:
        assert len(saved) == 1, outcomes
        assert refused == ["STATE_ALREADY_EXISTS"] * (count - 1), outcomes
    path = folder / "pytorch.resnet18.cls1000.imagenet.pt"
    with Client.connect(server.address, timeout=RPC_TIMEOUT) as client:
        state = client.get(IMAGENET)
    assert path.read_bytes() == saved[0]
    assert state.sha256 == _sha256(saved[0]) and state.revision == 1
    assert _state_files(folder) == [path.name]


def test_load_over_http_and_unsupported_schemes(store, client, tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    (served / "w.pt").write_bytes(b"over http")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(served), **kwargs)

        def log_message(self, *args):  # pylint: disable=arguments-differ
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = "http://127.0.0.1:%d/w.pt" % httpd.server_address[1]
        client.register(IMAGENET, url, sha256=_sha256(b"over http"))
        model = FakeModel(RESNET18)
        store.load(model, IMAGENET)
        assert model.state == b"over http"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)

    places = StateKey(RESNET18, "places365")
    client.register(places, "s3://zoo/pytorch/resnet18.cls1000.places365.pt")
    model = FakeModel(RESNET18)
    with pytest.raises(NotImplementedError, match="'s3' scheme"):
        store.load(model, places)
    assert model.set_state_calls == 0
    with pytest.raises(mozuma_states.StateNotFoundError):
        store.load(model, "pytorch.resnet18.cls1000.missing")


# --- watch --------------------------------------------------------------------------


def test_watch_sees_a_new_state(store, client):
    with client.watch(("pytorch", "resnet18"), timeout=WATCH_TIMEOUT) as watch:
        first = next(watch)
        assert first.type == WatchEvent.SNAPSHOT_COMPLETE
        assert first.state is None
        key = store.save(FakeModel(RESNET18, b"x"), "imagenet")
        store.save(FakeModel(StateType("pytorch", "resnet180"), b"y"), "x")
        event = next(watch)
        assert event.type == WatchEvent.ADDED
        assert event.state.state_key == key
        assert event.revision == 1
        client.delete(key)
        event = next(watch)
        assert (event.type, event.revision) == (WatchEvent.DELETED, 3)
        assert watch.last_revision == 3
    with pytest.raises(StopIteration):  # closed: the iteration ends
        next(watch)


class _FakeRpcError(grpc.RpcError):
    def __init__(self, code):
        super().__init__()
        self._code = code

    def code(self):
        return self._code

    def details(self):
        return "injected by the test"

    def trailing_metadata(self):
        return ()


class _BreakingStub:
    """Delegates to a real stub; its first WatchStates stream breaks with
    UNAVAILABLE right after the first message for which `after(message)`
    holds."""

    def __init__(self, stub, after):
        self._stub = stub
        self._after = after
        self.start_revisions = []

    def __getattr__(self, name):
        return getattr(self._stub, name)

    def WatchStates(self, request, timeout=None):  # pylint: disable=invalid-name
        self.start_revisions.append(request.start_revision)
        call = self._stub.WatchStates(request, timeout=timeout)
        if len(self.start_revisions) > 1:
            return call
        return _BreakingCall(call, self._after)


class _BreakingCall:
    def __init__(self, call, after):
        self._call = call
        self._after = after

    def cancel(self):
        self._call.cancel()

    def __iter__(self):
        for message in self._call:
            yield message
            if self._after(message):
                self._call.cancel()
                raise _FakeRpcError(grpc.StatusCode.UNAVAILABLE)


def test_watch_resumes_from_the_last_revision(server, client):
    client.register(IMAGENET, "file:///srv/a.pt")
    stub = _BreakingStub(client.stub, lambda m: m.snapshot_complete)
    flaky = Client(client.channel, stub=stub, timeout=RPC_TIMEOUT)
    with flaky.watch(timeout=WATCH_TIMEOUT, initial_backoff=0.01) as watch:
        assert [(e.type, e.revision) for e in (next(watch), next(watch))] == [
            (WatchEvent.ADDED, 1), (WatchEvent.SNAPSHOT_COMPLETE, 1)]
        client.register("pytorch.resnet18.cls1000.places365", "file:///b.pt")
        event = next(watch)  # after the break, from revision 1
        assert (event.type, event.state.name, event.revision) == (
            WatchEvent.ADDED, "pytorch.resnet18.cls1000.places365", 2)
        assert stub.start_revisions == [0, 1]
        assert watch.retries == 1
    assert server.running()


def test_watch_restarts_a_broken_snapshot(client):
    client.register(IMAGENET, "file:///srv/a.pt")
    stub = _BreakingStub(client.stub, lambda m: len(m.events) > 0)
    flaky = Client(client.channel, stub=stub, timeout=RPC_TIMEOUT)
    with flaky.watch(timeout=WATCH_TIMEOUT, initial_backoff=0.01) as watch:
        types = [next(watch).type for _ in range(4)]
    assert types == [WatchEvent.ADDED, WatchEvent.SNAPSHOT_RESTARTED,
                     WatchEvent.ADDED, WatchEvent.SNAPSHOT_COMPLETE]
    assert stub.start_revisions == [0, 0]


def test_watch_errors_end_the_iteration(client):
    with client.watch(start_revision=1000, timeout=WATCH_TIMEOUT) as watch:
        with pytest.raises(mozuma_states.WatchRestartError) as caught:
            next(watch)
    assert caught.value.reason == "FUTURE_REVISION"
    with client.watch(training_id="bad name", timeout=WATCH_TIMEOUT) as watch:
        with pytest.raises(mozuma_states.InvalidArgumentError) as caught:
            next(watch)
    assert caught.value.reason == "INVALID_FILTER"


# --- packaging ------------------------------------------------------------------------


def _run_python(code, pythonpath, extra_env=None):
    env = dict(os.environ)
    env.pop("STATES_PYTHON_GEN", None)
    env.pop("MOZUMA_STATES_WITHOUT_MOZUMA", None)
    env["PYTHONPATH"] = os.pathsep.join(pythonpath)
    env.update(extra_env or {})
    result = subprocess.run(
        [sys.executable, "-P", "-c", textwrap.dedent(code)], env=env,
        capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT,
        check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_import_puts_no_mozuma_or_google_rpc_on_the_path():
    output = _run_python("""
        import importlib.util, os, sys
        # A real MoZuMa installed on this machine is allowed to be found.
        mozuma_installed = importlib.util.find_spec("mozuma") is not None
        import mozuma_states
        from mozuma_states import protos
        names = [name for name in sys.modules
                 if (name.split(".")[0] == "mozuma" and not mozuma_installed)
                 or name == "google.rpc" or name.startswith("google.rpc.")]
        assert not names, names
        for entry in sys.path:
            for folder in ("mozuma", os.path.join("google", "rpc")):
                if folder == "mozuma" and mozuma_installed:
                    continue
                assert not os.path.isdir(os.path.join(entry or ".", folder)), entry
        assert protos.status_pb2.__name__ == (
            "mozuma_states._proto.google.rpc.status_pb2"), protos.status_pb2
        assert protos.state_pb2.StateKey.__module__ == (
            "mozuma_states._proto.mozuma.states.v1.state_pb2")
        assert mozuma_states.MOZUMA_AVAILABLE == mozuma_installed
        print("ok")
        """, [PACKAGE_ROOT])
    assert output.strip() == "ok"


# A stand-in for MoZuMa (its README.md says what it reproduces).
FAKE_MOZUMA = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "fake_mozuma")


def test_with_mozuma_installed(server, tmp_path):
    """The stand-in MoZuMa on sys.path: the store is one of its stores,
    follows its base class and answers with its types and exceptions."""
    output = _run_python("""
        import os, typing, warnings
        from mozuma.states import StateKey, StateType
        from mozuma.stores.abstract import AbstractStateStore
        from mozuma.stores.github import GitHUBReleaseStore
        from mozuma.stores.local import LocalStateStore
        import mozuma_states

        assert mozuma_states.MOZUMA_AVAILABLE
        assert mozuma_states.StateKey is StateKey
        assert mozuma_states.StateType is StateType
        assert mozuma_states.AbstractStateStore is AbstractStateStore


        class Model:
            state_type = StateType("pytorch", "resnet18", ("cls1000",))

            def __init__(self, state=b""):
                self.state = state

            def get_state(self):
                return self.state

            def set_state(self, state):
                self.state = state


        # Generic as MoZuMa's stores are.
        assert typing.get_args(mozuma_states.GrpcStateStore[Model]) == (Model,)
        assert typing.get_args(LocalStateStore[Model]) == (Model,)
        store = mozuma_states.GrpcStateStore[Model](os.environ["TARGET"],
                                                    os.environ["FOLDER"])
        assert isinstance(store, AbstractStateStore)
        key = store.save(Model(b"weights"), "imagenet")
        assert type(key) is StateKey, type(key)
        assert key == StateKey(Model.state_type, "imagenet")
        keys = store.get_state_keys(StateType("pytorch", "resnet18"))
        assert keys == [key] and type(keys[0]) is StateKey, keys
        assert type(keys[0].state_type) is StateType
        assert store.exists(key)
        assert mozuma_states.to_state_key(
            "pytorch.resnet18.cls1000.imagenet") == key
        state = store.client.get(key)
        assert type(state.state_key) is StateKey
        model = Model()
        store.load(model, key)
        assert model.state == b"weights"
        # The folder is LocalStateStore's layout: it reads the same file.
        local = LocalStateStore(os.environ["FOLDER"])
        other = Model()
        local.load(other, key)
        assert other.state == b"weights"

        # MoZuMa's base class runs: its warning, and a change to it.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:  # warns, then is missing
                store.load(Model(), StateKey(StateType("pytorch", "resnet50"),
                                             "x"))
            except ValueError as error:
                assert isinstance(error, mozuma_states.StateNotFoundError)
            else:
                raise AssertionError("no StateNotFoundError")
        assert [str(w.message).split(":")[0] for w in caught] == [
            "loading a state of another state type"], caught
        calls = []
        base_save, base_load = AbstractStateStore.save, AbstractStateStore.load

        def save(self, model, training_id):
            calls.append("save")
            return base_save(self, model, training_id)

        def load(self, model, state_key):
            calls.append("load")
            base_load(self, model, state_key)

        AbstractStateStore.save, AbstractStateStore.load = save, load
        store.save(Model(b"more"), "places365")
        store.load(Model(), key)
        assert calls == ["save", "load"], calls
        print("ok")
        """, [FAKE_MOZUMA, PACKAGE_ROOT],
        {"TARGET": server.address, "FOLDER": str(tmp_path / "states")})
    assert output.strip() == "ok"


def test_code_written_for_mozuma_stores(server, tmp_path):
    """The same `except ValueError` / `except FileNotFoundError` and the same
    warning as with MoZuMa's GitHub and local stores."""
    output = _run_python("""
        import os, warnings
        from mozuma.states import StateKey, StateType
        from mozuma.stores.github import GitHUBReleaseStore
        from mozuma.stores.local import LocalStateStore
        import mozuma_states


        class Model:
            def __init__(self, state_type, state=b""):
                self.state_type = state_type
                self.state = state

            def get_state(self):
                return self.state

            def set_state(self, state):
                self.state = state


        resnet18 = StateType("pytorch", "resnet18")
        missing = StateKey(resnet18, "missing")
        folder = os.environ["FOLDER"]
        os.makedirs(folder)
        stores = [GitHUBReleaseStore("mozuma", "mozuma"),
                  LocalStateStore(folder),
                  mozuma_states.GrpcStateStore(os.environ["TARGET"], folder)]
        caught = {}
        for store in stores:
            name = type(store).__name__
            for error_type in (ValueError, FileNotFoundError):
                try:
                    store.load(Model(resnet18), missing)
                except error_type:
                    caught.setdefault(name, []).append(error_type.__name__)
                except Exception:  # pylint: disable=broad-except
                    pass
            key = store.save(Model(resnet18, name.encode()), "run-" + name)
            with warnings.catch_warnings(record=True) as warned:
                warnings.simplefilter("always")
                model = Model(StateType("pytorch", "resnet50"))
                store.load(model, key)
            assert model.state == name.encode(), (name, model.state)
            assert [str(w.message) for w in warned] == [
                "loading a state of another state type: " + repr(
                    model.state_type) + " is not compatible with "
                + repr(resnet18)], (name, warned)
            assert [w.category for w in warned] == [RuntimeWarning]
        assert caught == {"GitHUBReleaseStore": ["ValueError"],
                          "LocalStateStore": ["FileNotFoundError"],
                          "GrpcStateStore": ["ValueError",
                                             "FileNotFoundError"]}, caught
        print("ok")
        """, [FAKE_MOZUMA, PACKAGE_ROOT],
        {"TARGET": server.address, "FOLDER": str(tmp_path / "states")})
    assert output.strip() == "ok"


def test_mozuma_states_without_mozuma_stores():
    """MoZuMa's states import but its stores do not (here: `requests` is
    missing, which mozuma.stores imports): an ImportError that names the
    cause and the way out, never a silent base class that is not MoZuMa's."""
    code = """
        import os, sys
        sys.modules["requests"] = None  # as if it were not installed
        import mozuma.states
        try:
            import mozuma_states
        except ImportError as error:
            print("ImportError:", error)
        else:
            print("imported", mozuma_states.MOZUMA_AVAILABLE,
                  mozuma_states.StateKey is mozuma.states.StateKey,
                  mozuma_states.AbstractStateStore.__module__,
                  mozuma_states._mozuma.UNAVAILABLE_REASON)
        """
    output = _run_python(code, [FAKE_MOZUMA, PACKAGE_ROOT])
    assert output.startswith("ImportError: mozuma_states: MoZuMa's "
                             "mozuma.states imports, but "
                             "mozuma.stores.abstract does not"), output
    assert "requests" in output
    assert "MOZUMA_STATES_WITHOUT_MOZUMA=1" in output
    # The way out: the package without MoZuMa, consistently.
    output = _run_python(code, [FAKE_MOZUMA, PACKAGE_ROOT],
                         {"MOZUMA_STATES_WITHOUT_MOZUMA": "1"})
    assert output.split() == ["imported", "False", "False",
                              "mozuma_states.base", "MOZUMA_STATES_WITHOUT_MOZUMA",
                              "is", "set"], output


def _cmake_install(build_dir, prefix, destdir=None):
    env = dict(os.environ)
    env.pop("DESTDIR", None)
    if destdir is not None:
        env["DESTDIR"] = str(destdir)
    subprocess.run(
        ["cmake", "--install", build_dir, "--prefix", str(prefix),
         "--component", "python"],
        check=True, capture_output=True, timeout=SUBPROCESS_TIMEOUT, env=env)


def _installed_files(site):
    return sorted(str(path.relative_to(site))
                  for path in site.rglob("*") if path.is_file())


def test_cmake_install_layout(tmp_path):
    """`cmake --install --component python` puts the package where Debian's
    python3 looks for the prefix, and the installed package imports."""
    build_dir = os.environ.get("MOZUMA_STATES_BUILD_DIR",
                               os.path.join(_REPO_ROOT, "build"))
    if not os.path.isfile(os.path.join(build_dir, "cmake_install.cmake")):
        pytest.skip("no CMake build tree at %r (set MOZUMA_STATES_BUILD_DIR)"
                    % build_dir)
    version = "python%d.%d" % sys.version_info[:2]

    # Any other prefix: the layout of a venv there (lib/python3.X/site-packages).
    prefix = tmp_path / "prefix"
    _cmake_install(build_dir, prefix)
    site = prefix / "lib" / version / "site-packages"
    installed = _installed_files(site)
    assert "mozuma_states/__init__.py" in installed
    assert "mozuma_states/_version.py" in installed
    assert "mozuma_states/base.py" in installed
    assert "mozuma_states/_proto/mozuma/states/v1/state_service_pb2_grpc.py" in installed
    assert "mozuma_states/_proto/google/rpc/error_details_pb2.py" in installed
    assert not [path for path in installed if "__pycache__" in path
                or not path.startswith("mozuma_states/")]
    assert _installed_files(prefix) == ["lib/%s/site-packages/%s" % (
        version, path) for path in installed]
    output = _run_python("""
        import mozuma_states
        print(mozuma_states.__file__)
        """, [str(site)])
    assert output.strip() == str(site / "mozuma_states" / "__init__.py")

    # /usr and /usr/local (the default prefix), staged with DESTDIR: the
    # folders Debian's python3 has on sys.path.
    debian_path = subprocess.run(
        ["/usr/bin/python3", "-c", "import sys; print('\\n'.join(sys.path))"],
        check=True, capture_output=True, text=True,
        timeout=SUBPROCESS_TIMEOUT).stdout.split("\n")
    for prefix, folder in (("/usr", "/usr/lib/python3/dist-packages"),
                           ("/usr/local/",
                            "/usr/local/lib/%s/dist-packages" % version)):
        stage = tmp_path / ("stage" + prefix.rstrip("/").replace("/", "-"))
        _cmake_install(build_dir, prefix, destdir=stage)
        assert folder in debian_path, (folder, debian_path)
        site = stage / folder.lstrip("/")
        assert _installed_files(site) == installed, prefix
        assert _installed_files(stage) == [
            os.path.join(folder.lstrip("/"), path) for path in installed]
