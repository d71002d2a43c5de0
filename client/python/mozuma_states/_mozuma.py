"""What this package borrows from MoZuMa, when MoZuMa is importable.

MoZuMa is never required. When `mozuma.states` can be imported and holds
`StateType` and `StateKey`, this package uses MoZuMa's own dataclasses
instead of its look-alikes, so that keys returned by the store compare equal
to (and are instances of) the keys MoZuMa code builds. When
`mozuma.stores.abstract` holds `AbstractStateStore`, `GrpcStateStore`
subclasses it, so that `isinstance(store, AbstractStateStore)` holds.

Both imports are defensive: any failure (MoZuMa absent, a broken install, a
missing optional dependency of MoZuMa, a folder named `mozuma` that is not
MoZuMa) means "not available", never an error at import time.
"""

import abc

__all__ = ["AbstractStateStore", "MOZUMA_AVAILABLE", "StateKey", "StateType"]


def _import_states():
    try:
        from mozuma.states import StateKey, StateType  # pylint: disable=import-outside-toplevel
    except Exception:  # pylint: disable=broad-except
        return None, None
    if not isinstance(StateType, type) or not isinstance(StateKey, type):
        return None, None
    return StateType, StateKey


def _import_abstract_store():
    try:
        from mozuma.stores.abstract import AbstractStateStore  # pylint: disable=import-outside-toplevel
    except Exception:  # pylint: disable=broad-except
        return None
    return AbstractStateStore if isinstance(AbstractStateStore, type) else None


StateType, StateKey = _import_states()

# True when the state key types are MoZuMa's own.
MOZUMA_AVAILABLE = StateType is not None

_abstract_store = _import_abstract_store() if MOZUMA_AVAILABLE else None


class _NoAbstractStateStore(abc.ABC):  # pylint: disable=too-few-public-methods
    """The base class of GrpcStateStore when MoZuMa is not importable."""


# The base class of GrpcStateStore.
AbstractStateStore = (_abstract_store if _abstract_store is not None
                      else _NoAbstractStateStore)
