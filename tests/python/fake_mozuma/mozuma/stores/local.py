"""Stand-in for MoZuMa's mozuma.stores.local (see ../../README.md)."""

import dataclasses
import os
from typing import List, TypeVar

from mozuma.models.types import ModelWithState
from mozuma.states import StateKey, StateType
from mozuma.stores.abstract import AbstractStateStore

_ModelType = TypeVar("_ModelType", bound=ModelWithState)


@dataclasses.dataclass
class LocalStateStore(AbstractStateStore[_ModelType]):
    folder: str

    def get_filename(self, state_key: StateKey) -> str:
        state_type = state_key.state_type
        parts = [state_type.backend, state_type.architecture,
                 *state_type.extra, state_key.training_id]
        return os.path.join(self.folder, ".".join(parts) + ".pt")

    def get_state_keys(self, state_type: StateType) -> List[StateKey]:
        # MoZuMa matches the file name prefix "backend.architecture".
        prefix = f"{state_type.backend}.{state_type.architecture}"
        keys = []
        for name in os.listdir(self.folder):
            if not name.startswith(prefix):
                continue
            parts = name[:-len(".pt")].split(".")
            keys.append(StateKey(
                state_type=StateType(backend=parts[0],
                                     architecture=parts[1],
                                     extra=tuple(parts[2:-1])),
                training_id=parts[-1]))
        return keys

    def save(self, model: _ModelType, training_id: str) -> StateKey:
        path = self.get_filename(
            StateKey(state_type=model.state_type, training_id=training_id))
        if os.path.exists(path):
            raise ValueError(f"{path} exists already")
        with open(path, "wb") as stream:
            stream.write(model.get_state())
        return super().save(model, training_id)

    def load(self, model: _ModelType, state_key: StateKey) -> None:
        super().load(model, state_key)
        with open(self.get_filename(state_key), "rb") as stream:
            model.set_state(stream.read())
