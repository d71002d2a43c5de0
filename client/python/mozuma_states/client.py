"""`Client`: the registry of `mozuma.states.v1.StateService`, in Python.

A thin layer over the generated stub: each method makes one call (`list`
one per page) with a default timeout, takes state keys and types in any of
the forms of `mozuma_states.conversions`, returns `State` records with
MoZuMa's key types, and raises the `StatesError` subclasses of
`mozuma_states.errors` instead of `grpc.RpcError`.

    from mozuma_states import Client

    with Client.connect("127.0.0.1:50051") as client:
        client.register("pytorch.resnet18.cls1000.imagenet",
                        "file:///srv/states/pytorch.resnet18.cls1000.imagenet.pt")
        for state in client.list(("pytorch", "resnet18")):
            print(state.name, state.uri)

A Client is thread-safe, as its gRPC channel is: share one between threads.
"""

from __future__ import annotations

from typing import Dict, Iterator, List, Optional

import grpc

from mozuma_states import conversions
from mozuma_states.errors import error_from_rpc
from mozuma_states.protos import state_pb2, state_service_pb2
from mozuma_states.protos import state_service_pb2_grpc
from mozuma_states.records import Registration, State
from mozuma_states.states import StateKey
from mozuma_states.watch import Watch

__all__ = ["CHANNEL_OPTIONS", "Client", "DEFAULT_TIMEOUT", "channel_target",
           "connect"]

# The default timeout of each unary call, in seconds.
DEFAULT_TIMEOUT = 10.0

# The options of the channels that Client.connect() makes, as the C++
# client's: responses up to 64 MiB (a full validation batch of long invalid
# names can exceed gRPC's 4 MiB), and a keepalive ping every 30 s while a
# call is open, so that a watch over a connection that died silently fails
# with UNAVAILABLE, and resumes, instead of hanging. statesd accepts pings
# every 20 s or more.
CHANNEL_OPTIONS = (
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 30000),
    ("grpc.keepalive_timeout_ms", 20000),
    ("grpc.http2.max_pings_without_data", 0),
)


def channel_target(address: str) -> str:
    """The gRPC channel target for the server address `address`, read as
    statesctl and the C++ client read it (`ChannelTarget()` in
    client/client.h):

    - `http://HOST:PORT` and `grpc://HOST:PORT` (a trailing `/` allowed),
      the URL form of `buf curl`, become `HOST:PORT`; HOST may be a name,
      an IPv4 address or a bracketed IPv6 one (`[::1]`);
    - gRPC's own forms (`HOST:PORT`, `dns:///HOST:PORT`, `unix:/path`,
      `ipv4:...`, `ipv6:...`) are returned as they are.

    Raises ValueError, saying what to write instead, for an empty address,
    `https://` or `grpcs://` (statesd serves plaintext), and a URL without a
    port, with a bad port, with user information, or with a path, query or
    fragment (a method URL pasted from `buf curl`).
    """
    if not address:
        raise ValueError("the server address is empty: give HOST:PORT, such "
                         "as 127.0.0.1:50051")
    scheme, separator, authority = address.partition("://")
    if not separator:
        return address
    scheme = scheme.lower()
    if scheme in ("https", "grpcs"):
        raise ValueError(
            f"{address!r} asks for TLS, which statesd does not serve (yet): "
            f"it serves plaintext, so write http://{authority.split('/')[0]} "
            f"instead")
    if scheme not in ("http", "grpc"):
        return address

    def invalid(why):
        return ValueError(f"server address {address!r} {why}: write "
                          f"http://HOST:PORT, such as http://127.0.0.1:50051")

    if authority.endswith("/"):
        authority = authority[:-1]
    if any(character in authority for character in "/?#"):
        raise invalid("has a path (a method URL?); the address is only the "
                      "scheme, host and port")
    if "@" in authority:
        raise invalid("has user information, which gRPC does not send")
    if authority.startswith("["):
        host, bracket, rest = authority.partition("]")
        if not bracket or not rest.startswith(":"):
            raise invalid("has no port after the bracketed IPv6 address")
        host, port = host + "]", rest[1:]
    else:
        host, colon, port = authority.rpartition(":")
        if not colon:
            raise invalid("has no port")
    if not host or host == "[]":
        raise invalid("has no host")
    if not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        raise invalid(f"has port {port!r}, not a number from 1 to 65535")
    return f"{host}:{port}"


def _state_type_filter(request, state_type, exact, training_id):
    if state_type is not None:
        request.state_type.CopyFrom(conversions.state_type_to_proto(state_type))
        request.match = (state_service_pb2.STATE_TYPE_MATCH_EXACT if exact
                         else state_service_pb2.STATE_TYPE_MATCH_COMPATIBLE)
    if training_id is not None:
        request.training_id = training_id
    return request


class Client:
    """A connection to one StateService. Thread-safe.

    Every unary method takes a `timeout` in seconds (default: the client's,
    10 s) and raises a `StatesError` subclass when the call fails:
    `UnavailableError` when the server cannot be reached,
    `DeadlineExceededError` after the timeout, and the errors each method
    names.
    """

    def __init__(self, target_or_channel, *, timeout: float = DEFAULT_TIMEOUT,
                 stub=None):
        """A client over a `grpc.Channel`, or over a new insecure channel to
        a server address (`host:port`, `http://host:port`,
        `dns:///name:port`, `unix:/path`: see channel_target(), which raises
        ValueError for an address it refuses) that close() closes. `stub`
        replaces the generated stub (for tests)."""
        if isinstance(target_or_channel, str):
            self._channel = grpc.insecure_channel(
                channel_target(target_or_channel), options=CHANNEL_OPTIONS)
            self._owns_channel = True
        else:
            self._channel = target_or_channel
            self._owns_channel = False
        self.timeout = timeout
        self._stub = (stub if stub is not None
                      else state_service_pb2_grpc.StateServiceStub(
                          self._channel))

    @classmethod
    def connect(cls, target: str, *, timeout: float = DEFAULT_TIMEOUT
                ) -> "Client":
        """A client for `target` over plaintext. The connection is made by
        the first call, which raises UnavailableError when the server cannot
        be reached."""
        return cls(target, timeout=timeout)

    @property
    def channel(self):
        """The gRPC channel."""
        return self._channel

    @property
    def stub(self):
        """The generated `StateServiceStub`, for the rpcs not wrapped
        here. Its calls raise grpc.RpcError (see errors.error_from_rpc)."""
        return self._stub

    def close(self) -> None:
        """Closes the channel when this client made it. Idempotent."""
        if self._owns_channel and self._channel is not None:
            self._channel.close()
            self._channel = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def _call(self, method, request, timeout):
        try:
            return method(request, timeout=(self.timeout if timeout is None
                                             else timeout))
        except grpc.RpcError as error:
            raise error_from_rpc(error) from error

    # --- the registry -------------------------------------------------------

    def register(self, state_key, uri: str, *, sha256: Optional[str] = None,
                 size_bytes: Optional[int] = None,
                 labels: Optional[Dict[str, str]] = None,
                 allow_overwrite: bool = False,
                 timeout: Optional[float] = None) -> Registration:
        """Registers the state `state_key` at `uri`. Registering the same
        content again is a no-op, so a retry is safe.

        Raises InvalidArgumentError (reason INVALID_STATE) for a bad field,
        StateAlreadyExistsError when the key holds other content and
        `allow_overwrite` is false.
        """
        state = state_pb2.State(
            state_key=conversions.state_key_to_proto(state_key), uri=uri,
            sha256=sha256 or "", labels=labels or {})
        if size_bytes is not None:
            state.size_bytes = size_bytes
        response = self._call(
            self._stub.RegisterState,
            state_service_pb2.RegisterStateRequest(
                state=state, allow_overwrite=allow_overwrite), timeout)
        return Registration(State.from_proto(response.state),
                            response.created, response.changed)

    def get(self, state_key, *, timeout: Optional[float] = None) -> State:
        """The state registered under `state_key`.

        Raises StateNotFoundError when there is none, InvalidArgumentError
        (reason INVALID_STATE_KEY) for an invalid key.
        """
        response = self._call(
            self._stub.GetState,
            state_service_pb2.GetStateRequest(
                state_key=conversions.state_key_to_proto(state_key)),
            timeout)
        return State.from_proto(response.state)

    def batch_get(self, state_keys, *, timeout: Optional[float] = None
                  ) -> List[Optional[State]]:
        """One answer per key, in order: its State, or None when it is not
        registered. All read at one store revision; at most 1000 keys.

        Raises InvalidArgumentError (reason INVALID_STATE_KEY or
        BATCH_TOO_LARGE).
        """
        response = self._call(
            self._stub.BatchGetStates,
            state_service_pb2.BatchGetStatesRequest(state_keys=[
                conversions.state_key_to_proto(key) for key in state_keys]),
            timeout)
        return [State.from_proto(result.state) if result.found else None
                for result in response.results]

    def exists(self, state_key, *, timeout: Optional[float] = None) -> bool:
        """True when a state is registered under `state_key`. Raises
        InvalidArgumentError for an invalid key."""
        return self.batch_get([state_key], timeout=timeout)[0] is not None

    def iter_states(self, state_type=None, *, exact: bool = False,
                    training_id: Optional[str] = None, page_size: int = 0,
                    timeout: Optional[float] = None) -> Iterator[State]:
        """Yields the registered states in listing order (backend,
        architecture, extra, training id), page after page.

        With `state_type`, only the states MoZuMa's `get_state_keys` would
        list: equal backend and architecture (whole names: `resnet18` never
        matches `resnet180`), any extra; with `exact`, equal extra too. With
        `training_id`, only that training. `page_size` 0 is the server's
        default (100). Each page is one call with its own `timeout`.

        Raises InvalidArgumentError (reason INVALID_FILTER) for an invalid
        filter, when the first page is asked for.
        """
        request = _state_type_filter(
            state_service_pb2.ListStatesRequest(page_size=page_size),
            state_type, exact, training_id)
        while True:
            response = self._call(self._stub.ListStates, request, timeout)
            for message in response.states:
                yield State.from_proto(message)
            if not response.next_page_token:
                return
            request.page_token = response.next_page_token

    def list(self, state_type=None, *, exact: bool = False,
             training_id: Optional[str] = None, page_size: int = 0,
             timeout: Optional[float] = None) -> List[State]:
        """Every state iter_states() yields, as a list."""
        return [state for state in self.iter_states(
            state_type, exact=exact, training_id=training_id,
            page_size=page_size, timeout=timeout)]

    def list_keys(self, state_type=None, *, exact: bool = False,
                  training_id: Optional[str] = None, page_size: int = 0,
                  timeout: Optional[float] = None) -> List[StateKey]:
        """The keys of list(): with `state_type`, MoZuMa's
        `get_state_keys(state_type)`."""
        return [state.state_key for state in self.iter_states(
            state_type, exact=exact, training_id=training_id,
            page_size=page_size, timeout=timeout)]

    def delete(self, state_key, *, expected_revision: int = 0,
               timeout: Optional[float] = None) -> State:
        """Deletes the state registered under `state_key` and returns it as
        it was. With `expected_revision`, only if its revision is still that
        one.

        Raises StateNotFoundError when there is none, RevisionMismatchError
        when its revision is not `expected_revision` (nothing is deleted).
        """
        response = self._call(
            self._stub.DeleteState,
            state_service_pb2.DeleteStateRequest(
                state_key=conversions.state_key_to_proto(state_key),
                expected_revision=expected_revision), timeout)
        return State.from_proto(response.state)

    def watch(self, state_type=None, *, exact: bool = False,
              training_id: Optional[str] = None, start_revision: int = 0,
              timeout: Optional[float] = None, initial_backoff: float = 0.1,
              max_backoff: float = 5.0,
              max_retries: Optional[int] = None) -> Watch:
        """Follows the changes of the states that match the filter of
        iter_states(): an iterator of `WatchEvent`s (see
        mozuma_states.watch.Watch), which resumes by itself from the last
        revision received when the stream breaks with UNAVAILABLE or
        RESOURCE_EXHAUSTED.

        With `start_revision` 0 it first yields every matching state as an
        ADDED event, then a SNAPSHOT_COMPLETE event; with N, every change
        after revision N. `timeout` bounds the whole watch (None: no
        deadline). Call `close()` on the watch (or leave a `with` block) to
        end it.
        """
        request = _state_type_filter(
            state_service_pb2.WatchStatesRequest(
                start_revision=start_revision),
            state_type, exact, training_id)
        return Watch(self._stub, request, timeout=timeout,
                     initial_backoff=initial_backoff, max_backoff=max_backoff,
                     max_retries=max_retries)


def connect(target: str, *, timeout: float = DEFAULT_TIMEOUT) -> Client:
    """Client.connect(target)."""
    return Client.connect(target, timeout=timeout)
