"""`AbstractStateStore`: the base class of `GrpcStateStore`.

With MoZuMa, this is MoZuMa's own `mozuma.stores.abstract.AbstractStateStore`
(see mozuma_states._mozuma). Without it, the stand-in below, which keeps
MoZuMa's contract so that `GrpcStateStore` behaves the same either way:

* it is an `abc.ABC` and a `typing.Generic` over the model type, so a store
  class is subscriptable (`GrpcStateStore[MyModel]`);
* `save(model, training_id)`, `load(model, state_key)` and
  `get_state_keys(state_type)` are abstract, and `save` and `load` have
  bodies that the stores call with `super()`: `save` returns the key,
  `StateKey(state_type=model.state_type, training_id=training_id)` (its
  construction checks the training id); `load` warns with RuntimeWarning
  when the model's state type is not compatible with the key's, and does
  nothing else (the store loads anyway);
* `exists(state_key)` is concrete: membership in
  `get_state_keys(state_key.state_type)`.

`ModelWithState` is the shape of a model, as in MoZuMa's
`mozuma.models.types`: `state_type`, `get_state() -> bytes` and
`set_state(bytes)`.
"""

import abc
import warnings
from typing import Generic, List, Protocol, TypeVar

from mozuma_states import _mozuma
from mozuma_states.states import StateKey, StateType

__all__ = ["AbstractStateStore", "ModelWithState", "StandInAbstractStateStore"]


class ModelWithState(Protocol):  # pylint: disable=too-few-public-methods
    """A model with weights, as MoZuMa's stores take it."""

    @property
    def state_type(self) -> StateType:
        """The family of states the model can load."""

    def get_state(self) -> bytes:
        """The weights, serialised."""

    def set_state(self, state: bytes) -> None:
        """Replaces the weights with `state`."""


_ModelType = TypeVar("_ModelType", bound=ModelWithState)


class StandInAbstractStateStore(abc.ABC, Generic[_ModelType]):
    """MoZuMa's store contract, for when MoZuMa is not importable (see the
    module docstring). Subclasses implement the three abstract methods, and
    call `super().save()` / `super().load()` as MoZuMa's stores do."""

    @abc.abstractmethod
    def save(self, model: _ModelType, training_id: str) -> StateKey:
        """Saves the model's state; returns its key (this body builds it)."""
        return StateKey(state_type=model.state_type, training_id=training_id)

    @abc.abstractmethod
    def load(self, model: _ModelType, state_key: StateKey) -> None:
        """Loads the state `state_key` into the model. This body only warns
        when the two state types are not compatible."""
        if not model.state_type.is_compatible_with(state_key.state_type):
            warnings.warn(
                "The model state type is incompatible with the state key to "
                f"load {model.state_type} is not compatible with "
                f"{state_key.state_type}.", RuntimeWarning)

    @abc.abstractmethod
    def get_state_keys(self, state_type: StateType) -> List[StateKey]:
        """Every stored key whose state type is compatible with
        `state_type`."""

    def exists(self, state_key: StateKey) -> bool:
        """True when `state_key` is among the stored keys."""
        return state_key in self.get_state_keys(state_key.state_type)


# The base class of GrpcStateStore: MoZuMa's when MoZuMa is importable.
AbstractStateStore = (_mozuma.MozumaAbstractStateStore
                      if _mozuma.MozumaAbstractStateStore is not None
                      else StandInAbstractStateStore)
