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

It is one of MoZuMa's stores in the way MoZuMa's own are: a subclass of
`AbstractStateStore` (MoZuMa's when importable, see mozuma_states.base),
generic over the model type (`GrpcStateStore[MyModel]`), implementing the
abstract `save`, `load` and `get_state_keys`, and calling the base class's
`save` (which makes the key) and `load` (which warns about an incompatible
state type) first, as `LocalStateStore` and `GitHUBReleaseStore` do.

Saving, and failed saves. The file is the weights; the registry says which
files are states. A save writes the bytes to a hidden temporary file, then,
holding the folder's lock file (`.mozuma_states.lock`, an exclusive
`flock`, so that saves into one folder from any process take turns), asks
the registry about the key:

* not registered: a file already at the state's path is the leftover of a
  save that failed before it could register (an outage, a crash), an
  orphan. It is replaced, atomically (rename), unless it holds the same
  bytes, which are kept. Then the key is registered. If that fails with
  UNAVAILABLE or DEADLINE_EXCEEDED, whether it was registered is unknown:
  the file stays, and the next save of the key (the same bytes or others)
  finds it registered or replaces it. Any other refusal removes the file.
* registered: the file the registry points to is never replaced. The
  registration is repeated (a no-op for the same content, so a retried save
  succeeds; STATE_ALREADY_EXISTS for other content); a registered file that
  is missing is put back, and one that holds other bytes than its
  registered SHA-256 raises STATE_FILE_EXISTS.

An outage before the registry answers leaves nothing behind but nothing
changed. On a file system without `flock` the lock is skipped, and an
existing file is then never replaced (STATE_FILE_EXISTS).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import tempfile
import time
import urllib.parse
from typing import Dict, Generic, List, Optional, TypeVar

from mozuma_states import base
from mozuma_states import conversions
from mozuma_states.client import DEFAULT_TIMEOUT, Client
from mozuma_states.errors import (DeadlineExceededError, StateAlreadyExistsError,
                                  StateIntegrityError, StateNotFoundError,
                                  StatesError, UnavailableError)
from mozuma_states.states import StateKey, StateType
from mozuma_states.uris import file_uri_to_path, path_to_file_uri, read_uri

__all__ = ["GrpcStateStore", "LOCK_FILE_NAME"]

# The lock file that saves into one folder take turns on.
LOCK_FILE_NAME = ".mozuma_states.lock"

_ModelType = TypeVar("_ModelType", bound=base.ModelWithState)

# flock() errors that mean "no locks on this file system".
_NO_LOCKS = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS,
             errno.EINVAL)


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


def _write_temporary(folder, data) -> str:
    """A new hidden file in `folder` holding `data`, flushed to disk."""
    descriptor, temporary = tempfile.mkstemp(
        dir=folder, prefix=".", suffix=".pt.tmp")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:
        _remove(temporary)
        raise
    return temporary


def _remove(path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _sync_folder(folder) -> None:
    """Makes a rename in `folder` durable, where the OS allows it."""
    try:
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _create_from(temporary, path, data, why=None) -> bool:
    """Puts the bytes of `temporary` at `path` when nothing is there, never
    replacing a file. Returns True when it did, False when `path` already
    held `data`; raises STATE_FILE_EXISTS (message `why`) when it holds
    other bytes."""
    try:
        os.link(temporary, path)
        return True
    except FileExistsError:
        if _same_content(path, data):
            return False
        raise _file_exists_error(path, why) from None
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV,
                               errno.EMLINK, errno.ENOSYS):
            raise
    # No hard links here (some network or FUSE file systems).
    with open(temporary, "rb") as source, open(path, "xb") as target:
        target.write(source.read())
        target.flush()
        os.fsync(target.fileno())
    return True


def _file_exists_error(path, why=None):
    name = os.path.basename(path)
    if name.endswith(".pt"):
        name = name[:-len(".pt")]
    return StateAlreadyExistsError(
        why or f"File {path} already exists with other content; refusing "
        f"to overwrite it", reason="STATE_FILE_EXISTS",
        metadata={"name": name, "path": path})


class _ModelView:  # pylint: disable=too-few-public-methods
    """A model whose `state_type` is given in another form (a tuple, a
    dotted name), seen with a StateType, as the base class expects."""

    def __init__(self, model, state_type):
        self._model = model
        self.state_type = state_type

    def __getattr__(self, name):
        return getattr(self._model, name)


def _with_state_type(model):
    """`model`, or a view of it with a StateType for `state_type`."""
    if isinstance(model.state_type, StateType):
        return model
    return _ModelView(model, conversions.to_state_type(model.state_type))


class _FolderLock:
    """An exclusive flock() on `{folder}/.mozuma_states.lock`, waited for at
    most `timeout` seconds (then TimeoutError). `held` is False on a file
    system without locks, where nothing is locked."""

    def __init__(self, folder, timeout):
        self.path = os.path.join(folder, LOCK_FILE_NAME)
        self.timeout = timeout
        self.held = False
        self._descriptor = None

    def __enter__(self):
        try:
            self._descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT,
                                       0o666)
        except PermissionError:  # another user's lock file
            self._descriptor = os.open(self.path, os.O_RDONLY)
        deadline = time.monotonic() + self.timeout
        delay = 0.005
        try:
            while True:
                try:
                    fcntl.flock(self._descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    self.held = True
                    return self
                except BlockingIOError:
                    pass
                except OSError as error:
                    if error.errno in _NO_LOCKS:
                        return self
                    raise
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"another save into {os.path.dirname(self.path)} "
                        f"held the lock file {self.path} for more than "
                        f"{self.timeout:g} s; retry the save, or raise "
                        f"GrpcStateStore's lock_timeout")
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc_info):
        if self._descriptor is not None:
            os.close(self._descriptor)  # releases the lock
            self._descriptor = None
        return False


def _store_bases():
    """The base class, parameterized by the model type; a base class that
    is not generic (not MoZuMa's current one) gets typing.Generic beside."""
    parent = base.AbstractStateStore
    if getattr(parent, "__parameters__", ()):
        return (parent[_ModelType],)
    return (parent, Generic[_ModelType])


class GrpcStateStore(*_store_bases()):
    """A MoZuMa state store: an index in the registry, weights in files.

    `folder` is where save() writes (`{folder}/{dotted key}.pt`, like
    MoZuMa's LocalStateStore), a path or a `file://` URI; it is created when
    missing. load() reads whatever URI the registry holds: `file:` paths
    (any folder), `http:` and `https:`; other schemes (`s3:`) raise
    NotImplementedError.

    Generic over the model type like MoZuMa's stores:
    `GrpcStateStore[MyModel](target, folder)`.

    Thread-safe: calls run concurrently over one channel. Each call makes
    one or a few rpcs, each with the client's timeout, and raises the
    `StatesError` subclasses of `mozuma_states.errors`.
    """

    def __init__(self, target_or_channel, folder, *,
                 timeout: float = DEFAULT_TIMEOUT, page_size: int = 0,
                 read_timeout: float = 60.0, lock_timeout: float = 120.0):
        """`target_or_channel` is a target (`host:port`), a `grpc.Channel`
        or a `mozuma_states.Client` (whose own timeout then applies); a
        target's channel is closed by close(). `page_size` is that of the
        listings (0: the server's default); `read_timeout` bounds the
        connection and each read of an http(s) download; `lock_timeout`
        bounds the wait of save() for another save into the same folder."""
        if isinstance(target_or_channel, Client):
            self._client = target_or_channel
            self._owns_client = False
        else:
            self._client = Client(target_or_channel, timeout=timeout)
            self._owns_client = isinstance(target_or_channel, str)
        self.folder = _folder_path(folder)
        self.page_size = page_size
        self.read_timeout = read_timeout
        self.lock_timeout = lock_timeout

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

        The same answer as the base class's membership in
        get_state_keys(), from one rpc instead of a listing of every
        compatible state. Raises InvalidArgumentError for an invalid key.
        """
        return self._client.exists(state_key)

    def save(self, model, training_id: str, *,
             labels: Optional[Dict[str, str]] = None) -> StateKey:
        """Writes `model.get_state()` to get_filename() and registers it
        with its `file://` URI, SHA-256 and size. Returns its StateKey, as
        made by the base class's save().

        Never replaces a registered state: raises StateAlreadyExistsError
        when the key is registered with other content (reason
        STATE_ALREADY_EXISTS) or its registered file holds other bytes
        (STATE_FILE_EXISTS). Replaces the unregistered file of a failed
        save (see the module docstring). Saving the same bytes again is a
        no-op, so a retried save is safe. Raises ValueError for a name
        MoZuMa would refuse, InvalidArgumentError for one the server
        refuses, UnavailableError or DeadlineExceededError when the
        registry does not answer, TimeoutError when another save holds the
        folder's lock longer than `lock_timeout`.
        """
        state_key = super().save(model, training_id)
        if not isinstance(state_key.state_type, StateType):
            state_key = StateKey(conversions.to_state_type(
                state_key.state_type), state_key.training_id)
        data = model.get_state()
        if not isinstance(data, bytes):
            if not isinstance(data, (bytearray, memoryview)):
                raise TypeError(f"get_state() returned {type(data).__name__}, "
                                f"not bytes")
            data = bytes(data)
        path = self.get_filename(state_key)
        os.makedirs(self.folder, exist_ok=True)
        temporary = _write_temporary(self.folder, data)
        try:
            with _FolderLock(self.folder, self.lock_timeout) as lock:
                self._save_locked(state_key, data, path, temporary, labels,
                                  lock.held)
        finally:
            _remove(temporary)
        return state_key

    def _save_locked(self, state_key, data, path, temporary, labels,
                     locked) -> None:
        uri = path_to_file_uri(path)
        sha256 = hashlib.sha256(data).hexdigest()
        try:
            state = self._client.get(state_key)
        except StateNotFoundError:
            state = None

        def register():
            self._client.register(state_key, uri, sha256=sha256,
                                  size_bytes=len(data), labels=labels)

        if state is not None:
            # Registered: the file it names is never replaced.
            if (state.uri == uri and state.sha256 == sha256
                    and state.size_bytes == len(data)):
                if not os.path.lexists(path):
                    _create_from(temporary, path, data)  # put back
                    _sync_folder(self.folder)
                elif not _same_content(path, data):
                    raise _file_exists_error(
                        path, f"File {path} is registered as "
                        f"{state.name} with SHA-256 {sha256}, but holds "
                        f"other bytes; refusing to overwrite a registered "
                        f"file: check it, or delete the state first")
            register()  # a no-op for the same content, else ALREADY_EXISTS
            return

        # Not registered: a file at `path` is an orphan of a failed save.
        placed = False
        if os.path.lexists(path) and _same_content(path, data):
            pass  # a failed save of these very bytes: keep it
        elif locked:
            os.replace(temporary, path)
            placed = True
        else:
            placed = _create_from(
                temporary, path, data,
                f"File {path} exists with other bytes and "
                f"{conversions.format_state_key(state_key)} is not "
                f"registered: it is likely the leftover of a failed save, but "
                f"this file system has no flock() to replace it safely; "
                f"delete it by hand if no other save of this key is running")
        if placed:
            _sync_folder(self.folder)
        try:
            register()
        except (UnavailableError, DeadlineExceededError):
            raise  # the outcome is unknown: keep the file (module docstring)
        except StatesError:
            if placed and not self._registered_at(state_key, uri):
                _remove(path)
            raise

    def _registered_at(self, state_key, uri) -> bool:
        """True unless the registry says `state_key` is not at `uri`."""
        try:
            return self._client.get(state_key).uri == uri
        except StateNotFoundError:
            return False
        except StatesError:
            return True

    def load(self, model, state_key) -> None:
        """Reads the state `state_key` from the URI the registry holds,
        checks its size and SHA-256 when registered, then passes the bytes
        to `model.set_state()`.

        The base class's load() runs first: it warns with RuntimeWarning
        when `model.state_type` is not compatible with the key's state type,
        and the state is loaded anyway. Raises StateNotFoundError (also a
        ValueError and a FileNotFoundError, as MoZuMa's stores raise) when
        the key is not registered, StateIntegrityError when the bytes do not
        match (set_state() is not called), NotImplementedError for a URI
        scheme it cannot read, OSError when the bytes cannot be read.
        """
        state_key = conversions.to_state_key(state_key)
        super().load(_with_state_type(model), state_key)
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
