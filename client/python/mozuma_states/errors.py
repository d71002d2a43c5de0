"""Exceptions: the server's errors, decoded, and the client's own.

A failed call of the service carries a `google.rpc.Status` in its
`grpc-status-details-bin` trailer, with one `google.rpc.ErrorInfo` (domain
`mozuma.states.v1` and a stable `reason`) and, for bad requests, one
`google.rpc.BadRequest` (see docs/API.md). `error_from_rpc()` turns such a
`grpc.RpcError` into the most specific `StatesError` subclass:

=======================  =======================  =========================
class                    code                     reason
=======================  =======================  =========================
InvalidArgumentError     INVALID_ARGUMENT         any (INVALID_STATE...)
InvalidPageTokenError    INVALID_ARGUMENT         INVALID_PAGE_TOKEN
StateNotFoundError       NOT_FOUND                STATE_NOT_FOUND
StateAlreadyExistsError  ALREADY_EXISTS           STATE_ALREADY_EXISTS
RevisionMismatchError    FAILED_PRECONDITION      REVISION_MISMATCH
WatchRestartError        OUT_OF_RANGE             HISTORY_COMPACTED,
                                                  FUTURE_REVISION
UnavailableError         UNAVAILABLE              any (retry with backoff)
DeadlineExceededError    DEADLINE_EXCEEDED        none (gRPC's own)
StatesError              any other                any
=======================  =======================  =========================

The client raises two errors of its own, with `code` None: a
`StateAlreadyExistsError` with reason `STATE_FILE_EXISTS` when
`GrpcStateStore.save` finds other bytes in a file it must not replace (a
registered file changed by hand; any existing file on a file system
without flock()), and a
`StateIntegrityError` when loaded bytes do not match the registered
SHA-256 or size.

Some classes also derive from a built-in exception, so that code written for
MoZuMa's stores keeps working: `InvalidArgumentError` and
`StateAlreadyExistsError` are `ValueError`s (MoZuMa raises ValueError for a
bad name or an existing file), `DeadlineExceededError` a `TimeoutError`.
`StateNotFoundError` is a `LookupError`, a `ValueError` and a
`FileNotFoundError` (errno ENOENT), because a missing key is a ValueError in
MoZuMa's GitHub store (its default `Store()`) and in its list stores, and a
FileNotFoundError (from `open`) in its `LocalStateStore`.
"""

import errno

import grpc

from mozuma_states.protos import error_details_pb2, status_pb2

__all__ = [
    "DeadlineExceededError", "ERROR_DOMAIN", "InvalidArgumentError",
    "InvalidPageTokenError", "RevisionMismatchError",
    "StateAlreadyExistsError", "StateIntegrityError", "StateNotFoundError",
    "StatesError", "UnavailableError", "WatchRestartError",
    "error_from_rpc",
]

# The ErrorInfo domain of every error of the service.
ERROR_DOMAIN = "mozuma.states.v1"

_STATUS_DETAILS_KEY = "grpc-status-details-bin"


class StatesError(Exception):
    """An error of the state service, or of this client.

    Attributes:
        code: the `grpc.StatusCode` of the call; None for an error found by
            the client itself.
        message: the status message (`details()` of the call).
        reason: the `ErrorInfo.reason`, a stable UPPER_SNAKE_CASE identifier
            such as `STATE_NOT_FOUND`; None when the error has no ErrorInfo
            (gRPC's own errors: an unreachable server, a deadline).
        domain: the `ErrorInfo.domain`, `mozuma.states.v1` for the server's
            errors; None without an ErrorInfo.
        metadata: the `ErrorInfo.metadata` as a dict. For a bad request it
            maps each bad field path to its short reason
            (`{"state.sha256": "INVALID_FORMAT"}`); for other errors it holds
            facts such as the `name` and `revision` of a state.
        field_violations: `[(field, description)]` of the `BadRequest`, in
            the server's order; empty when there is none.
        status: the decoded `google.rpc.Status`, or None.
        rpc_error: the `grpc.RpcError` this error was decoded from, or None.
    """

    def __init__(self, message, *, code=None, reason=None, domain=None,
                 metadata=None, field_violations=None, status=None,
                 rpc_error=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason
        self.domain = domain
        self.metadata = dict(metadata or {})
        self.field_violations = list(field_violations or [])
        self.status = status
        self.rpc_error = rpc_error

    def __str__(self):
        tags = [tag for tag in (self.code.name if self.code else None,
                                self.reason) if tag]
        text = str(self.message)
        if tags:
            text = f"{text} [{' '.join(tags)}]"
        for field, description in self.field_violations:
            text += f"\n  {field}: {description}"
        return text

    def __repr__(self):
        return (f"{type(self).__name__}(message={self.message!r}, "
                f"code={self.code}, reason={self.reason!r}, "
                f"metadata={self.metadata!r}, "
                f"field_violations={self.field_violations!r})")


class InvalidArgumentError(StatesError, ValueError):
    """`INVALID_ARGUMENT`: the request holds a bad value. `field_violations`
    names each bad field; `metadata` maps it to its short reason."""


class InvalidPageTokenError(InvalidArgumentError):
    """`INVALID_PAGE_TOKEN`: a page token was altered, made by another
    store or for another filter. List again from the first page."""


class StateNotFoundError(StatesError, LookupError, ValueError,
                         FileNotFoundError):
    """`STATE_NOT_FOUND`: no state is registered under the key. `metadata`
    holds its `name`.

    Also a `ValueError` and a `FileNotFoundError` (with `errno` ENOENT and
    `strerror` the message), the exceptions MoZuMa's own stores raise for a
    missing key, so that `except ValueError` or `except FileNotFoundError`
    written for them catches it too.
    """

    def __init__(self, message, **kwargs):
        super().__init__(message, **kwargs)
        self.errno = errno.ENOENT
        self.strerror = str(message)


class StateAlreadyExistsError(StatesError, ValueError):
    """The key is taken by other content.

    From the server (`ALREADY_EXISTS`, reason `STATE_ALREADY_EXISTS`): the key
    is registered with a different `uri`, `sha256`, `size_bytes` or `labels`;
    `metadata` holds its `name` and stored `revision`.

    From `GrpcStateStore.save` (code None, reason `STATE_FILE_EXISTS`):
    other bytes are in a file it must not replace, where the state would be
    written (see mozuma_states.store); `metadata` holds its `name` and
    `path`.
    """


class RevisionMismatchError(StatesError):
    """`REVISION_MISMATCH`: a compare-and-delete found the state at another
    revision; nothing was deleted. `metadata` holds `expected_revision` and
    the current `revision`."""


class WatchRestartError(StatesError):
    """`OUT_OF_RANGE` (`HISTORY_COMPACTED` or `FUTURE_REVISION`): a watch
    cannot resume from its revision. Watch again from revision 0."""


class UnavailableError(StatesError):
    """`UNAVAILABLE`: the server cannot be reached, is draining, or its
    store is busy (`STORAGE_BUSY`) or lost its file (`STORE_FILE_GONE`,
    until an operator acts). Retry with backoff."""


class DeadlineExceededError(StatesError, TimeoutError):
    """`DEADLINE_EXCEEDED`: the call's timeout passed. Whether a change was
    made is unknown; registrations are safe to retry."""


class StateIntegrityError(StatesError):
    """Loaded bytes do not match the registered state (code None).

    `reason` is `SHA256_MISMATCH` or `SIZE_MISMATCH`; `metadata` holds the
    state's `name` and `uri` and the `expected_*` and `actual_*` values.
    Raised before the bytes reach the model.
    """


_BY_REASON = {
    "INVALID_PAGE_TOKEN": InvalidPageTokenError,
    "STATE_NOT_FOUND": StateNotFoundError,
    "STATE_ALREADY_EXISTS": StateAlreadyExistsError,
    "REVISION_MISMATCH": RevisionMismatchError,
    "HISTORY_COMPACTED": WatchRestartError,
    "FUTURE_REVISION": WatchRestartError,
}

_BY_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: StateNotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: StateAlreadyExistsError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
}


def _call_attribute(rpc_error, name, default=None):
    method = getattr(rpc_error, name, None)
    if method is None:
        return default
    try:
        return method()
    except Exception:  # pylint: disable=broad-except
        return default


def _decode_status(trailing_metadata):
    for key, value in trailing_metadata or ():
        if key == _STATUS_DETAILS_KEY:
            try:
                return status_pb2.Status.FromString(value)
            except Exception:  # pylint: disable=broad-except
                return None
    return None


def error_from_rpc(rpc_error) -> StatesError:
    """The StatesError for a `grpc.RpcError` raised by a call (or anything
    with its `code()`, `details()` and `trailing_metadata()`).

    The class follows the ErrorInfo `reason` when the domain is the
    service's, else the status code (table in the module docstring).
    """
    code = _call_attribute(rpc_error, "code")
    message = _call_attribute(rpc_error, "details") or ""
    status = _decode_status(_call_attribute(rpc_error, "trailing_metadata"))
    infos, bad_requests = [], []
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                infos.append(info)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad_request = error_details_pb2.BadRequest()
                detail.Unpack(bad_request)
                bad_requests.append(bad_request)
    info = infos[0] if infos else None
    reason = info.reason if info is not None else None
    domain = info.domain if info is not None else None
    violations = [(violation.field, violation.description)
                  for bad_request in bad_requests
                  for violation in bad_request.field_violations]
    error_class = None
    if domain == ERROR_DOMAIN:
        error_class = _BY_REASON.get(reason)
    if error_class is None:
        error_class = _BY_CODE.get(code, StatesError)
    if not message and code is not None:
        message = code.name
    return error_class(
        message, code=code, reason=reason, domain=domain,
        metadata=dict(info.metadata) if info is not None else None,
        field_violations=violations, status=status, rpc_error=rpc_error)
