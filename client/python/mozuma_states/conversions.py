"""Conversions between the forms a state type or state key can take.

Every function that takes a state type accepts:

* a `StateType` of this package or of MoZuMa (anything with `backend`,
  `architecture` and `extra` attributes);
* a `mozuma.states.v1.StateType` message;
* a tuple `(backend, architecture)` or `(backend, architecture, extra)`,
  where `extra` is a tuple or list of names: `("pytorch", "resnet18",
  ("cls1000",))`;
* a dotted name, `"pytorch.resnet18"` or `"pytorch.resnet18.cls1000"`.

Every function that takes a state key accepts:

* a `StateKey` of this package or of MoZuMa (anything with `state_type` and
  `training_id` attributes);
* a `mozuma.states.v1.StateKey` message;
* a pair `(state_type, training_id)`, where `state_type` is any of the state
  type forms above: `(("pytorch", "resnet18", ("cls1000",)), "imagenet")`;
* a dotted name, `"pytorch.resnet18.cls1000.imagenet"`: the first part is
  the backend, the second the architecture, the last the training id, the
  parts between are the extras (names cannot hold a dot). A file suffix
  such as `.pt` is not stripped: it would be read as the training id.

The results are the `StateType` and `StateKey` of `mozuma_states.states`
(MoZuMa's own when MoZuMa is importable). A name that breaks MoZuMa's
pattern raises `ValueError`, as MoZuMa's constructors do; a value of none of
these forms raises `TypeError`.
"""

from mozuma_states.protos import state_pb2
from mozuma_states.states import StateKey, StateType

__all__ = [
    "format_state_key", "format_state_type", "parse_state_key",
    "parse_state_type", "state_key_from_proto", "state_key_to_proto",
    "state_type_from_proto", "state_type_to_proto", "to_state_key",
    "to_state_type",
]


def _extra_tuple(extra, what):
    if isinstance(extra, str):
        raise TypeError(
            f"{what}: extra must be a tuple of names, not the string "
            f"{extra!r}: write ({extra!r},)")
    try:
        return tuple(extra)
    except TypeError:
        raise TypeError(f"{what}: extra must be a tuple of names, not "
                        f"{type(extra).__name__}") from None


def parse_state_type(name: str) -> StateType:
    """The state type of a dotted name such as `pytorch.resnet18.cls1000`.

    Raises ValueError when the name has fewer than two parts or a part breaks
    MoZuMa's pattern (an empty part included).
    """
    parts = name.split(".")
    if len(parts) < 2:
        raise ValueError(
            f"not a dotted state type: {name!r} (want "
            f"backend.architecture[.extra...])")
    return StateType(parts[0], parts[1], tuple(parts[2:]))


def parse_state_key(name: str) -> StateKey:
    """The state key of a dotted name such as
    `pytorch.resnet18.cls1000.imagenet`.

    Raises ValueError when the name has fewer than three parts or a part
    breaks MoZuMa's pattern (an empty part included).
    """
    parts = name.split(".")
    if len(parts) < 3:
        raise ValueError(
            f"not a dotted state name: {name!r} (want "
            f"backend.architecture[.extra...].training_id)")
    return StateKey(StateType(parts[0], parts[1], tuple(parts[2:-1])),
                    parts[-1])


def to_state_type(value) -> StateType:
    """`value`, in any of the forms of the module docstring, as a
    StateType."""
    if isinstance(value, StateType):
        return value
    if isinstance(value, str):
        return parse_state_type(value)
    if isinstance(value, state_pb2.StateType):
        return StateType(value.backend, value.architecture, tuple(value.extra))
    if isinstance(value, (tuple, list)):
        if len(value) == 2:
            return StateType(value[0], value[1], ())
        if len(value) == 3:
            return StateType(value[0], value[1],
                             _extra_tuple(value[2], "state type tuple"))
        raise TypeError(
            f"a state type tuple is (backend, architecture) or (backend, "
            f"architecture, extra), not {len(value)} items: {value!r}")
    if all(hasattr(value, attribute)
           for attribute in ("backend", "architecture", "extra")):
        return StateType(value.backend, value.architecture,
                         _extra_tuple(value.extra, repr(value)))
    raise TypeError(f"not a state type: {value!r}")


def to_state_key(value) -> StateKey:
    """`value`, in any of the forms of the module docstring, as a
    StateKey."""
    if isinstance(value, StateKey):
        return value
    if isinstance(value, str):
        return parse_state_key(value)
    if isinstance(value, state_pb2.StateKey):
        return StateKey(to_state_type(value.state_type), value.training_id)
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise TypeError(
                f"a state key tuple is (state_type, training_id), not "
                f"{len(value)} items: {value!r}")
        return StateKey(to_state_type(value[0]), value[1])
    if hasattr(value, "state_type") and hasattr(value, "training_id"):
        return StateKey(to_state_type(value.state_type), value.training_id)
    raise TypeError(f"not a state key: {value!r}")


def format_state_type(value) -> str:
    """The dotted form of a state type: `pytorch.resnet18.cls1000`."""
    state_type = to_state_type(value)
    return ".".join((state_type.backend, state_type.architecture)
                    + tuple(state_type.extra))


def format_state_key(value) -> str:
    """The dotted form of a state key, `pytorch.resnet18.cls1000.imagenet`:
    the name of its file in MoZuMa's LocalStateStore, without `.pt`."""
    state_key = to_state_key(value)
    return f"{format_state_type(state_key.state_type)}.{state_key.training_id}"


def state_type_to_proto(value) -> state_pb2.StateType:
    """A `mozuma.states.v1.StateType` message for `value`. A message is
    returned as a copy, unchecked."""
    if isinstance(value, state_pb2.StateType):
        message = state_pb2.StateType()
        message.CopyFrom(value)
        return message
    state_type = to_state_type(value)
    return state_pb2.StateType(backend=state_type.backend,
                               architecture=state_type.architecture,
                               extra=list(state_type.extra))


def state_key_to_proto(value) -> state_pb2.StateKey:
    """A `mozuma.states.v1.StateKey` message for `value`. A message is
    returned as a copy, unchecked."""
    if isinstance(value, state_pb2.StateKey):
        message = state_pb2.StateKey()
        message.CopyFrom(value)
        return message
    state_key = to_state_key(value)
    return state_pb2.StateKey(
        state_type=state_type_to_proto(state_key.state_type),
        training_id=state_key.training_id)


def state_type_from_proto(message: state_pb2.StateType) -> StateType:
    """The StateType of a message. Raises ValueError when a name breaks
    MoZuMa's pattern."""
    return StateType(message.backend, message.architecture,
                     tuple(message.extra))


def state_key_from_proto(message: state_pb2.StateKey) -> StateKey:
    """The StateKey of a message. Raises ValueError when a name breaks
    MoZuMa's pattern."""
    return StateKey(state_type_from_proto(message.state_type),
                    message.training_id)
