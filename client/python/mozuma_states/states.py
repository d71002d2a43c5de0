"""`StateType` and `StateKey`: MoZuMa's identities of trained weights.

When MoZuMa is importable, these names are MoZuMa's own classes
(`mozuma.states.StateType` and `mozuma.states.StateKey`), so that MoZuMa code
gets its own types back from this package. Otherwise they are the frozen
dataclasses below, which behave the same:

* `StateType(backend, architecture, extra=())` and
  `StateKey(state_type, training_id)`, hashable and compared by value;
* every name is checked at construction with MoZuMa's pattern
  `re.match(r"^[\\w\\-\\d]+$", name)`, raising `ValueError`. Like MoZuMa,
  this lets a final newline through (`"imagenet\\n"`); the server rejects it
  with `INVALID_ARGUMENT`;
* `StateType.is_compatible_with(other)` compares `backend` and
  `architecture` only.

Two deliberate differences from MoZuMa's classes: `extra` given as a list is
stored as a tuple (so that the key stays hashable), and `extra` given as a
single string is refused with `TypeError` (MoZuMa would take each character
for an extra).

The server's rules are slightly stricter than the pattern (no newline, at
most 255 bytes per name, at most 32 extras); it is the authority.
"""

import dataclasses
import re
from typing import Tuple

from mozuma_states import _mozuma

__all__ = ["StateKey", "StateType", "VALID_NAMES"]

# MoZuMa's pattern for every name of a state type or state key.
VALID_NAMES = re.compile(r"^[\w\-\d]+$")


def _validate_name(value, field_name):
    if not VALID_NAMES.match(value):
        raise ValueError(
            f"Invalid characters found in state type attribute "
            f"{field_name}={value!r}")


@dataclasses.dataclass(frozen=True)
class _StateType:
    """A family of states that can be loaded into the same models.

    Attributes:
        backend: the framework, for example `pytorch`.
        architecture: the architecture, for example `resnet18`.
        extra: variants of the architecture, for example `("cls1000",)`.
    """

    backend: str
    architecture: str
    extra: Tuple[str, ...] = dataclasses.field(default_factory=tuple)

    def __post_init__(self):
        if isinstance(self.extra, str):
            raise TypeError(
                f"extra must be a tuple of names, not the string "
                f"{self.extra!r}: write ({self.extra!r},)")
        if not isinstance(self.extra, tuple):
            object.__setattr__(self, "extra", tuple(self.extra))
        self.validate()

    def validate(self) -> None:
        """Raises ValueError when a name breaks MoZuMa's pattern."""
        _validate_name(self.backend, "backend")
        _validate_name(self.architecture, "architecture")
        for extra in self.extra:
            _validate_name(extra, "extra")

    def is_compatible_with(self, other: "_StateType") -> bool:
        """True when `backend` and `architecture` are equal; `extra` does not
        matter."""
        return (self.backend == other.backend
                and self.architecture == other.architecture)


_StateType.__name__ = _StateType.__qualname__ = "StateType"


@dataclasses.dataclass(frozen=True)
class _StateKey:
    """One trained state: the result of one training of a state type.

    Attributes:
        state_type: the family of the state.
        training_id: the training activity, for example `imagenet`.
    """

    state_type: _StateType
    training_id: str

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Raises ValueError when `training_id` breaks MoZuMa's pattern."""
        _validate_name(self.training_id, "training_id")


_StateKey.__name__ = _StateKey.__qualname__ = "StateKey"

if _mozuma.MOZUMA_AVAILABLE:
    StateType = _mozuma.StateType
    StateKey = _mozuma.StateKey
else:
    StateType = _StateType
    StateKey = _StateKey
