"""`Watch`: a WatchStates stream as an iterator of events, that resumes.

    with client.watch(("pytorch", "resnet18")) as watch:
        for event in watch:
            if event.type == WatchEvent.SNAPSHOT_COMPLETE:
                print("up to date at revision", event.revision)
            elif event.type == WatchEvent.SNAPSHOT_RESTARTED:
                view.clear()  # the snapshot comes again from the start
            else:
                print(event.type, event.state.name, event.revision)

When the stream breaks with an error the rpc documents as resumable
(UNAVAILABLE: the server drains or cannot be reached; RESOURCE_EXHAUSTED:
the client fell too far behind) or with a CANCELLED it did not ask for, the
watch waits with bounded exponential backoff and opens a new stream from the
last revision the server reported, so that no change is skipped or yielded
twice. Any other error ends the iteration with a `StatesError`, for example
`WatchRestartError` (watch again from 0) or `InvalidArgumentError`.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from typing import Optional

import grpc

from mozuma_states.errors import DeadlineExceededError, StatesError
from mozuma_states.errors import error_from_rpc
from mozuma_states.protos import state_service_pb2
from mozuma_states.records import State

__all__ = ["Watch", "WatchEvent"]

_LOG = logging.getLogger("mozuma_states")

_RESUMABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED,
              grpc.StatusCode.CANCELLED)

_EVENT_TYPES = {
    state_service_pb2.StateEvent.TYPE_ADDED: "ADDED",
    state_service_pb2.StateEvent.TYPE_UPDATED: "UPDATED",
    state_service_pb2.StateEvent.TYPE_DELETED: "DELETED",
}


@dataclasses.dataclass(frozen=True)
class WatchEvent:
    """One item of a watch.

    Attributes:
        type: `ADDED` (registered, or part of the initial snapshot),
            `UPDATED` (replaced under `allow_overwrite`), `DELETED` (`state`
            is the record as it was); or one of two markers whose `state` is
            None: `SNAPSHOT_COMPLETE` (every state of the initial snapshot
            has been yielded; `revision` is the snapshot's) and
            `SNAPSHOT_RESTARTED` (the stream broke during the initial
            snapshot and it starts again: drop what the broken one
            yielded).
        state: the `State` the event is about (None for a marker).
        revision: the store revision of the change (of the state's last
            change, for a snapshot event).
    """

    ADDED = "ADDED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"
    SNAPSHOT_COMPLETE = "SNAPSHOT_COMPLETE"
    SNAPSHOT_RESTARTED = "SNAPSHOT_RESTARTED"

    type: str
    state: Optional[State]
    revision: int


class Watch:
    """An iterator of WatchEvents over one or more WatchStates streams.

    Iterate it from one thread. close() (or cancel()) may be called from any
    thread: it cancels the stream in flight, cuts a backoff wait short, and
    ends the iteration (StopIteration) without an error.
    """

    def __init__(self, stub, request: state_service_pb2.WatchStatesRequest, *,
                 timeout: Optional[float] = None, initial_backoff: float = 0.1,
                 max_backoff: float = 5.0, max_retries: Optional[int] = None,
                 jitter: float = 0.2):
        """Starts nothing until the first next(). `timeout` bounds the
        whole watch, retries included (None: no deadline); `max_retries`
        bounds the failed streams in a row (None: retry for ever)."""
        self._stub = stub
        self._request = request
        self._deadline = (None if timeout is None
                          else time.monotonic() + timeout)
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._max_retries = max_retries
        self._jitter = min(max(jitter, 0.0), 1.0)
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._call = None
        self._last_revision = 0
        self.retries = 0  # streams reopened so far
        self._events = self._run()

    @property
    def last_revision(self) -> int:
        """The revision up to which every change has been yielded: where a
        new watch would resume. 0 until a snapshot completes (or a change
        after `start_revision` arrives)."""
        return self._last_revision

    def __iter__(self):
        return self

    def __next__(self) -> WatchEvent:
        return next(self._events)

    def close(self) -> None:
        """Ends the watch. Idempotent; callable from any thread."""
        self._closed.set()
        with self._lock:
            call = self._call
        if call is not None:
            call.cancel()

    cancel = close

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def _remaining(self):
        if self._deadline is None:
            return None
        return self._deadline - time.monotonic()

    def _backoff(self, attempt):
        delay = min(self._max_backoff,
                    self._initial_backoff * (2 ** (attempt - 1)))
        return delay * (1.0 - random.random() * self._jitter)

    def _open(self, start_revision):
        request = state_service_pb2.WatchStatesRequest()
        request.CopyFrom(self._request)
        request.start_revision = start_revision
        remaining = self._remaining()
        if remaining is not None and remaining <= 0:
            raise DeadlineExceededError(
                "the watch's timeout passed",
                code=grpc.StatusCode.DEADLINE_EXCEEDED)
        with self._lock:
            if self._closed.is_set():
                return None
            self._call = self._stub.WatchStates(request, timeout=remaining)
            return self._call

    def _run(self):
        # pylint: disable=too-many-branches
        first_start = self._request.start_revision
        snapshot_delivered = False  # yielded a part of a snapshot stream
        attempt = 0
        while not self._closed.is_set():
            start = self._last_revision or first_start
            restarting = start == 0 and snapshot_delivered
            call = self._open(start)
            if call is None:
                return
            try:
                for message in call:
                    attempt = 0
                    if restarting:
                        restarting = snapshot_delivered = False
                        yield WatchEvent(WatchEvent.SNAPSHOT_RESTARTED, None, 0)
                    for event in message.events:
                        if not message.revision:  # a snapshot event
                            snapshot_delivered = True
                        else:
                            # Live events come one per revision, in order:
                            # once this one is taken, the watch would resume
                            # after it.
                            self._last_revision = event.revision
                        yield WatchEvent(
                            _EVENT_TYPES.get(event.type, "UNSPECIFIED"),
                            State.from_proto(event.state), event.revision)
                    if message.revision:
                        self._last_revision = message.revision
                    if message.snapshot_complete:
                        snapshot_delivered = True
                        yield WatchEvent(WatchEvent.SNAPSHOT_COMPLETE, None,
                                         message.revision)
                raise StatesError(
                    "WatchStates ended without an error, which the rpc "
                    "never does", code=grpc.StatusCode.INTERNAL)
            except grpc.RpcError as rpc_error:
                if self._closed.is_set():
                    return
                error = error_from_rpc(rpc_error)
                attempt += 1
                if (error.code not in _RESUMABLE
                        or (self._max_retries is not None
                            and attempt > self._max_retries)):
                    raise error from rpc_error
                delay = self._backoff(attempt)
                remaining = self._remaining()
                if remaining is not None:
                    delay = min(delay, max(remaining, 0.0))
                self.retries += 1
                _LOG.info("watch broke (%s); resuming from revision %d in "
                          "%.2fs", error, self._last_revision or first_start,
                          delay)
                if self._closed.wait(delay):
                    return
            finally:
                with self._lock:
                    self._call = None
                call.cancel()
