"""Stand-in for MoZuMa's mozuma.stores (see ../../README.md): importing it
imports the GitHub store, and with it `requests`."""

import functools

from mozuma.states import StateKey
from mozuma.stores.github import GitHUBReleaseStore


@functools.lru_cache(1)
def Store() -> GitHUBReleaseStore:  # pylint: disable=invalid-name
    return GitHUBReleaseStore("mozuma", "mozuma")


def load_pretrained_model(model, training_id):
    Store().load(model, StateKey(state_type=model.state_type,
                                 training_id=training_id))
    return model
