"""Stand-in for MoZuMa's mozuma.stores.abstract (see ../../README.md)."""

import abc
import warnings
from typing import Generic, List, TypeVar

from mozuma.models.types import ModelWithState
from mozuma.states import StateKey, StateType

_ModelType = TypeVar("_ModelType", bound=ModelWithState)


class AbstractStateStore(abc.ABC, Generic[_ModelType]):
    @abc.abstractmethod
    def save(self, model: _ModelType, training_id: str) -> StateKey:
        return StateKey(state_type=model.state_type, training_id=training_id)

    @abc.abstractmethod
    def load(self, model: _ModelType, state_key: StateKey) -> None:
        if not model.state_type.is_compatible_with(state_key.state_type):
            warnings.warn(
                f"loading a state of another state type: {model.state_type} "
                f"is not compatible with {state_key.state_type}",
                RuntimeWarning)

    @abc.abstractmethod
    def get_state_keys(self, state_type: StateType) -> List[StateKey]:
        pass

    def exists(self, state_key: StateKey) -> bool:
        return state_key in self.get_state_keys(state_key.state_type)
