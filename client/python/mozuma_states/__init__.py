"""mozuma_states: the Python client of `mozuma.states.v1.StateService`.

* `GrpcStateStore(target, folder)`: a MoZuMa state store (`get_state_keys`,
  `exists`, `save`, `load`) indexed by the registry, weights in files.
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
from mozuma_states.client import CHANNEL_OPTIONS, DEFAULT_TIMEOUT, Client
from mozuma_states.client import connect
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

__version__ = "0.1.0"

__all__ = [
    "CHANNEL_OPTIONS", "Client", "DEFAULT_TIMEOUT", "DeadlineExceededError",
    "ERROR_DOMAIN", "GrpcStateStore", "InvalidArgumentError",
    "InvalidPageTokenError", "MOZUMA_AVAILABLE", "Registration",
    "RevisionMismatchError", "State", "StateAlreadyExistsError",
    "StateIntegrityError", "StateKey", "StateNotFoundError", "StateType",
    "StatesError", "UnavailableError", "VALID_NAMES", "Watch", "WatchEvent",
    "WatchRestartError", "connect", "error_from_rpc", "format_state_key",
    "format_state_type", "parse_state_key", "parse_state_type",
    "state_key_from_proto", "state_key_to_proto", "state_type_from_proto",
    "state_type_to_proto", "to_state_key", "to_state_type",
]
