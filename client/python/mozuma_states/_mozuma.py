"""What this package borrows from MoZuMa, when MoZuMa is importable.

MoZuMa is never required. The package runs in one of two modes, never a mix
of both:

* With MoZuMa: `mozuma.states` holds MoZuMa's `StateType` and `StateKey`
  classes. This package then uses them instead of its look-alikes (so that
  the keys it returns are MoZuMa's), and `GrpcStateStore` subclasses
  MoZuMa's `mozuma.stores.abstract.AbstractStateStore`, whose `save` and
  `load` it calls as MoZuMa's own stores do. Both imports must work: when
  `mozuma.states` imports but `mozuma.stores.abstract` does not (in MoZuMa,
  importing `mozuma.stores` also imports its GitHub store, and with it
  `requests`), importing `mozuma_states` raises an ImportError that names
  the cause, instead of handing out MoZuMa's keys from a store that is not
  one of MoZuMa's stores.
* Without MoZuMa: no `mozuma` package, or a `mozuma` whose `mozuma.states`
  does not hold those two classes (a folder of generated protobuf modules
  named `mozuma/states/v1`, a broken install whose `mozuma.states` fails to
  import). The package's own `StateType`, `StateKey` and
  `AbstractStateStore` stand in (mozuma_states.states and .base), with the
  same behaviour. `UNAVAILABLE_REASON` says why MoZuMa was not used.

Setting the environment variable MOZUMA_STATES_WITHOUT_MOZUMA=1 before the
first import forces the mode without MoZuMa, even when MoZuMa is installed.
"""

import importlib
import os

__all__ = ["DISABLE_ENV", "MOZUMA_AVAILABLE", "MozumaAbstractStateStore",
           "StateKey", "StateType", "UNAVAILABLE_REASON"]

# The environment variable that turns MoZuMa off for this package.
DISABLE_ENV = "MOZUMA_STATES_WITHOUT_MOZUMA"


def _disabled() -> bool:
    return os.environ.get(DISABLE_ENV, "").strip().lower() not in (
        "", "0", "false", "no", "off")


def _import_states():
    """(StateType, StateKey, None) of MoZuMa, or (None, None, reason)."""
    if _disabled():
        return None, None, f"{DISABLE_ENV} is set"
    try:
        module = importlib.import_module("mozuma.states")
    except Exception as error:  # pylint: disable=broad-except
        return None, None, f"import mozuma.states: {type(error).__name__}: {error}"
    state_type = getattr(module, "StateType", None)
    state_key = getattr(module, "StateKey", None)
    if not isinstance(state_type, type) or not isinstance(state_key, type):
        return None, None, (f"{getattr(module, '__file__', None) or module!r} "
                            f"holds no StateType and StateKey classes: not "
                            f"MoZuMa's mozuma.states")
    return state_type, state_key, None


def _import_abstract_store():
    """MoZuMa's AbstractStateStore; raises ImportError when MoZuMa's
    mozuma.states imported but this does not."""
    try:
        module = importlib.import_module("mozuma.stores.abstract")
        store = getattr(module, "AbstractStateStore")
    except Exception as error:  # pylint: disable=broad-except
        raise ImportError(
            f"mozuma_states: MoZuMa's mozuma.states imports, but "
            f"mozuma.stores.abstract does not ({type(error).__name__}: "
            f"{error}), so GrpcStateStore cannot be one of MoZuMa's stores. "
            f"Repair the MoZuMa install (install the module named above; "
            f"`python3 -c 'import mozuma.stores'` shows the whole error), "
            f"or set {DISABLE_ENV}=1 to use mozuma_states without "
            f"MoZuMa.") from error
    if not isinstance(store, type):
        raise ImportError(
            f"mozuma_states: mozuma.stores.abstract.AbstractStateStore is "
            f"{store!r}, not a class; set {DISABLE_ENV}=1 to use "
            f"mozuma_states without MoZuMa")
    return store


StateType, StateKey, UNAVAILABLE_REASON = _import_states()

# True when the state key types and the store base class are MoZuMa's own.
MOZUMA_AVAILABLE = StateType is not None

# MoZuMa's AbstractStateStore, or None without MoZuMa.
MozumaAbstractStateStore = (_import_abstract_store() if MOZUMA_AVAILABLE
                            else None)
