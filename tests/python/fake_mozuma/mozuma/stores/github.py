"""Stand-in for MoZuMa's mozuma.stores.github (see ../../README.md): the
same module dependencies and store behaviour, with the release assets in a
dict instead of GitHub's API."""

import dataclasses
import gzip
from typing import Dict, List, TypeVar

import requests  # noqa: F401  pylint: disable=unused-import

from mozuma.models.types import ModelWithState
from mozuma.states import StateKey, StateType
from mozuma.stores.abstract import AbstractStateStore

_ModelType = TypeVar("_ModelType", bound=ModelWithState)


@dataclasses.dataclass
class GitHUBReleaseStore(AbstractStateStore[_ModelType]):
    repository_owner: str
    repository_name: str
    branch_name: str = "model-store"
    release_name_prefix: str = "state"
    # Stand-in for the releases: state key -> gzip of the state.
    assets: Dict[StateKey, bytes] = dataclasses.field(default_factory=dict)

    def get_state_keys(self, state_type: StateType) -> List[StateKey]:
        return [key for key in self.assets
                if key.state_type.backend == state_type.backend
                and key.state_type.architecture == state_type.architecture]

    def load(self, model: _ModelType, state_key: StateKey) -> None:
        super().load(model, state_key)
        asset = self.assets.get(state_key)
        if asset is None:
            raise ValueError(f"no asset for {state_key} in this store")
        model.set_state(gzip.decompress(asset))

    def save(self, model: _ModelType, training_id: str) -> StateKey:
        state_key = super().save(model, training_id)
        self.assets[state_key] = gzip.compress(model.get_state())  # replaces
        return state_key
