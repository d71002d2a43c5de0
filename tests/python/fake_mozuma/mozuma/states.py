"""Stand-in for MoZuMa's mozuma.states (see ../README.md)."""

import dataclasses
import re
from typing import Tuple

VALID_NAMES = re.compile(r"^[\w\-\d]+$")


def validate_name(value, field_name):
    if not VALID_NAMES.match(value):
        raise ValueError(
            f"Invalid characters found in state type attribute "
            f"{field_name}={value}")


@dataclasses.dataclass(frozen=True)
class StateType:
    backend: str
    architecture: str
    extra: Tuple[str, ...] = dataclasses.field(default_factory=tuple)

    def __post_init__(self):
        self.validate()

    def validate(self):
        validate_name(self.backend, "backend")
        validate_name(self.architecture, "architecture")
        for name in self.extra:
            validate_name(name, "extra")

    def is_compatible_with(self, other):
        return (self.backend, self.architecture) == (other.backend,
                                                     other.architecture)


@dataclasses.dataclass(frozen=True)
class StateKey:
    state_type: StateType
    training_id: str

    def __post_init__(self):
        self.validate()

    def validate(self):
        validate_name(self.training_id, "training_id")
