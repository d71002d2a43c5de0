"""`GrpcStateStore`: a MoZuMa state store whose index is the registry.

It answers MoZuMa's store calls (`get_state_keys`, `exists`, `save`,
`load`) from a StateService, and keeps the weights as files in a folder, as
MoZuMa's `LocalStateStore` does (`{folder}/{dotted key}.pt`), so that a
folder shared by several machines (NFS, a mounted bucket) and one registry
give every client the same answers:

    from mozuma_states import GrpcStateStore

    store = GrpcStateStore("127.0.0.1:50051", "/srv/states")
    keys = store.get_state_keys(model.state_type)  # every compatible state
    key = store.save(model, training_id="imagenet")
    store.load(other_model, key)

MoZuMa and torch are not needed. When MoZuMa is importable, the store is an
instance of MoZuMa's `AbstractStateStore` and returns MoZuMa's `StateKey`s.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
import urllib.parse
import warnings
from typing import Dict, List, Optional

from mozuma_states import _mozuma
from mozuma_states import conversions
from mozuma_states.client import DEFAULT_TIMEOUT, Client
from mozuma_states.errors import (DeadlineExceededError, StateAlreadyExistsError,
                                  StateIntegrityError, StatesError,
                                  UnavailableError)
from mozuma_states.states import StateKey, StateType
from mozuma_states.uris import file_uri_to_path, path_to_file_uri, read_uri

__all__ = ["GrpcStateStore"]


def _folder_path(folder) -> str:
    folder = os.fspath(folder)
    if isinstance(folder, bytes):
        folder = os.fsdecode(folder)
    if urllib.parse.urlsplit(folder).scheme.lower() == "file":
        return file_uri_to_path(folder)
    return os.path.abspath(folder)


def _same_content(path, data) -> bool:
    if os.path.getsize(path) != len(data):
        return False
    with open(path, "rb") as stream:
        return stream.read() == data


def _write_new_file(path, data) -> bool:
    """Writes `data` to a new file `path`, whole or not at all.

    Returns True when it created the file, False when the file was there
    already with the same bytes. Raises StateAlreadyExistsError (reason
    STATE_FILE_EXISTS) when it holds other bytes: never overwrites.
    """
    if os.path.exists(path):
        if _same_content(path, data):
            return False
        raise _file_exists_error(path)
    folder = os.path.dirname(path)
    descriptor, temporary = tempfile.mkstemp(
        dir=folder, prefix=".", suffix=".pt.tmp")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        # A hard link never replaces an existing file, unlike a rename, so
        # a concurrent save of the same key cannot be overwritten.
        try:
            os.link(temporary, path)
        except FileExistsError:
            if _same_content(path, data):
                return False
            raise _file_exists_error(path) from None
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV,
                                   errno.EMLINK, errno.ENOSYS):
                raise
            # No hard links here (some network or FUSE file systems).
            with open(path, "xb") as stream:
                stream.write(data)
    finally:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
    return True


def _file_exists_error(path):
    name = os.path.basename(path)
    if name.endswith(".pt"):
        name = name[:-len(".pt")]
    return StateAlreadyExistsError(
        f"File {path} already exists with other content; refusing to "
        f"overwrite it", reason="STATE_FILE_EXISTS",
        metadata={"name": name, "path": path})


class GrpcStateStore(_mozuma.AbstractStateStore):
    """A MoZuMa state store: an index in the registry, weights in files.

    `folder` is where save() writes (`{folder}/{dotted key}.pt`, like
    MoZuMa's LocalStateStore), a path or a `file://` URI; it is created when
    missing. load() reads whatever URI the registry holds: `file:` paths
    (any folder), `http:` and `https:`; other schemes (`s3:`) raise
    NotImplementedError.

    Thread-safe: calls run concurrently over one channel. Each call makes
    one or a few rpcs, each with the client's timeout, and raises the
    `StatesError` subclasses of `mozuma_states.errors`.
    """

    def __init__(self, target_or_channel, folder, *,
                 timeout: float = DEFAULT_TIMEOUT, page_size: int = 0,
                 read_timeout: float = 60.0):
        """`target_or_channel` is a target (`host:port`), a `grpc.Channel`
        or a `mozuma_states.Client` (whose own timeout then applies); a
        target's channel is closed by close(). `page_size` is that of the listings (0: the server's
        default); `read_timeout` bounds the connection and each read of an
        http(s) download."""
        if isinstance(target_or_channel, Client):
            self._client = target_or_channel
            self._owns_client = False
        else:
            self._client = Client(target_or_channel, timeout=timeout)
            self._owns_client = isinstance(target_or_channel, str)
        self.folder = _folder_path(folder)
        self.page_size = page_size
        self.read_timeout = read_timeout

    def __repr__(self):
        return f"{type(self).__name__}(folder={self.folder!r})"

    @property
    def client(self) -> Client:
        """The registry client."""
        return self._client

    def close(self) -> None:
        """Closes the channel when this store made it. Idempotent."""
        if self._owns_client:
            self._client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def get_filename(self, state_key) -> str:
        """Where save() writes the state `state_key`:
        `{folder}/{backend}.{architecture}[.{extra}...].{training_id}.pt`."""
        return os.path.join(self.folder,
                            conversions.format_state_key(state_key) + ".pt")

    # --- MoZuMa's store API ------------------------------------------------

    def get_state_keys(self, state_type) -> List[StateKey]:
        """Every registered key whose state type is compatible with
        `state_type` (equal backend and architecture, any extra), in listing
        order, from every page. Whole names only: `resnet18` never lists
        `resnet180`, unlike MoZuMa's file stores.

        Raises InvalidArgumentError (reason INVALID_FILTER) for an invalid
        state type.
        """
        return self._client.list_keys(state_type, page_size=self.page_size)

    def exists(self, state_key) -> bool:
        """True when `state_key` is registered (its file is not checked).
        Raises InvalidArgumentError for an invalid key."""
        return self._client.exists(state_key)

    def save(self, model, training_id: str, *,
             labels: Optional[Dict[str, str]] = None) -> StateKey:
        """Writes `model.get_state()` to get_filename() and registers it
        with its `file://` URI, SHA-256 and size. Returns its StateKey.

        Like LocalStateStore, never overwrites: raises
        StateAlreadyExistsError when the file exists with other bytes
        (reason STATE_FILE_EXISTS, nothing changed) or the key is registered
        with other content (reason STATE_ALREADY_EXISTS; a file this call
        wrote is removed again). Saving the same bytes again is a no-op, so
        a retried save is safe. Raises ValueError for a name MoZuMa would
        refuse, InvalidArgumentError for one the server refuses (a file this
        call wrote is removed again).
        """
        state_key = StateKey(conversions.to_state_type(model.state_type),
                             training_id)
        data = model.get_state()
        if not isinstance(data, bytes):
            if not isinstance(data, (bytearray, memoryview)):
                raise TypeError(f"get_state() returned {type(data).__name__}, "
                                f"not bytes")
            data = bytes(data)
        path = self.get_filename(state_key)
        os.makedirs(self.folder, exist_ok=True)
        created = _write_new_file(path, data)
        try:
            self._client.register(
                state_key, path_to_file_uri(path),
                sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data),
                labels=labels)
        except (UnavailableError, DeadlineExceededError):
            raise  # the outcome is unknown: keep the file for a retry
        except StatesError:
            if created:
                os.unlink(path)
            raise
        return state_key

    def load(self, model, state_key) -> None:
        """Reads the state `state_key` from the URI the registry holds,
        checks its size and SHA-256 when registered, then passes the bytes
        to `model.set_state()`.

        Warns with RuntimeWarning, as MoZuMa does, when `model.state_type`
        is not compatible with the key's state type, and loads anyway.
        Raises StateNotFoundError when the key is not registered,
        StateIntegrityError when the bytes do not match (set_state() is not
        called), NotImplementedError for a URI scheme it cannot read,
        OSError when the bytes cannot be read.
        """
        state_key = conversions.to_state_key(state_key)
        model_type: StateType = conversions.to_state_type(model.state_type)
        if not model_type.is_compatible_with(state_key.state_type):
            warnings.warn(
                "The model state type is incompatible with the state key to "
                f"load {model_type} is not compatible with "
                f"{state_key.state_type}.", RuntimeWarning, stacklevel=2)
        state = self._client.get(state_key)
        data = read_uri(state.uri, timeout=self.read_timeout)
        self._check(state, data)
        model.set_state(data)

    @staticmethod
    def _check(state, data) -> None:
        metadata = {"name": state.name, "uri": state.uri}
        if state.size_bytes is not None and len(data) != state.size_bytes:
            raise StateIntegrityError(
                f"{state.name}: {state.uri} holds {len(data)} bytes, but "
                f"{state.size_bytes} are registered", reason="SIZE_MISMATCH",
                metadata=dict(metadata, expected_size_bytes=str(
                    state.size_bytes), actual_size_bytes=str(len(data))))
        if state.sha256:
            actual = hashlib.sha256(data).hexdigest()
            if actual != state.sha256:
                raise StateIntegrityError(
                    f"{state.name}: the SHA-256 of {state.uri} is {actual}, "
                    f"but {state.sha256} is registered",
                    reason="SHA256_MISMATCH",
                    metadata=dict(metadata, expected_sha256=state.sha256,
                                  actual_sha256=actual))
