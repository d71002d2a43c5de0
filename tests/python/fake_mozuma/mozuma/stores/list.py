"""Stand-in for MoZuMa's mozuma.stores.list (see ../../README.md): the base
of the model zoo's read-only stores."""

import abc
from typing import List, TypeVar

from mozuma.models.types import ModelWithState
from mozuma.states import StateKey, StateType
from mozuma.stores.abstract import AbstractStateStore

_ModelType = TypeVar("_ModelType", bound=ModelWithState)


class AbstractListStateStore(AbstractStateStore[_ModelType]):
    @property
    @abc.abstractmethod
    def available_state_keys(self) -> List[StateKey]:
        pass

    @abc.abstractmethod
    def state_downloader(self, model: _ModelType, state_key: StateKey) -> None:
        pass

    def get_state_keys(self, state_type: StateType) -> List[StateKey]:
        return [key for key in self.available_state_keys
                if key.state_type.is_compatible_with(state_type)]

    def load(self, model: _ModelType, state_key: StateKey) -> None:
        super().load(model, state_key)
        if state_key not in self.available_state_keys:
            raise ValueError(f"{state_key} is not in this store")
        self.state_downloader(model, state_key)

    def save(self, model: _ModelType, training_id: str):
        raise NotImplementedError(
            "This state store does not support saving new model states")
