"""mozuma_states: the Python client of `mozuma.states.v1.StateService`.

* `GrpcStateStore(target, folder)`: a MoZuMa state store (`get_state_keys`,
  `exists`, `save`, `load`) indexed by the registry, weights in files; a
  subclass of MoZuMa's `AbstractStateStore` when MoZuMa is importable.
* `Client` (`connect(target)`): the registry: `register`, `get`, `exists`,
  `batch_get`, `list` (every page), `delete`, `watch` (resuming).
* `StateType`, `StateKey`: MoZuMa's identities (MoZuMa's own classes when
  MoZuMa is importable), and conversions from tuples, dotted names and the
  proto messages (`to_state_key`, `parse_state_key`, `format_state_key`...).
* Errors: `StatesError` and its subclasses, decoded from the server's
  `google.rpc` details.
* `mozuma_states.protos`: the generated modules, for everything else.

This package is named `mozuma_states`, not `mozuma`, so that it never
shadows MoZuMa's own top-level package.
"""

from mozuma_states._mozuma import MOZUMA_AVAILABLE
from mozuma_states._version import __version__
from mozuma_states.base import AbstractStateStore, ModelWithState
from mozuma_states.client import CHANNEL_OPTIONS, DEFAULT_TIMEOUT, Client
from mozuma_states.client import channel_target, connect
from mozuma_states.conversions import (format_state_key, format_state_type,
                                       parse_state_key, parse_state_type,
                                       state_key_from_proto,
                                       state_key_to_proto,
                                       state_type_from_proto,
                                       state_type_to_proto, to_state_key,
                                       to_state_type)
from mozuma_states.errors import (ERROR_DOMAIN, DeadlineExceededError,
                                  InvalidArgumentError, InvalidPageTokenError,
                                  RevisionMismatchError,
                                  StateAlreadyExistsError, StateIntegrityError,
                                  StateNotFoundError, StatesError,
                                  UnavailableError, WatchRestartError,
                                  error_from_rpc)
from mozuma_states.records import Registration, State
from mozuma_states.states import VALID_NAMES, StateKey, StateType
from mozuma_states.store import GrpcStateStore
from mozuma_states.watch import Watch, WatchEvent

__all__ = [
    "AbstractStateStore", "CHANNEL_OPTIONS", "channel_target", "Client",
    "connect",
    "DeadlineExceededError", "DEFAULT_TIMEOUT", "ERROR_DOMAIN",
    "error_from_rpc", "format_state_key", "format_state_type",
    "GrpcStateStore", "InvalidArgumentError", "InvalidPageTokenError",
    "ModelWithState", "MOZUMA_AVAILABLE", "parse_state_key",
    "parse_state_type", "Registration", "RevisionMismatchError", "State",
    "state_key_from_proto", "state_key_to_proto", "state_type_from_proto",
    "state_type_to_proto", "StateAlreadyExistsError", "StateIntegrityError",
    "StateKey", "StateNotFoundError", "StatesError", "StateType",
    "to_state_key", "to_state_type", "UnavailableError", "VALID_NAMES",
    "Watch", "WatchEvent", "WatchRestartError", "__version__",
]
