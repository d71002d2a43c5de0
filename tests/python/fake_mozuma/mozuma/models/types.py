"""Stand-in for MoZuMa's mozuma.models.types (see ../../README.md)."""

from typing import Protocol

from mozuma.states import StateType


class ModelWithState(Protocol):
    @property
    def state_type(self) -> StateType:
        ...

    def set_state(self, state: bytes) -> None:
        ...

    def get_state(self) -> bytes:
        ...
