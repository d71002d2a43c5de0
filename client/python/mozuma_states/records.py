"""`State` and `Registration`: the registry's records, as frozen dataclasses.

Built from the `mozuma.states.v1` messages by the client; the state keys are
MoZuMa's own `StateKey` when MoZuMa is importable.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Dict, Optional

from mozuma_states import conversions
from mozuma_states.protos import state_pb2
from mozuma_states.states import StateKey

__all__ = ["Registration", "State"]


def _datetime(timestamp) -> Optional[datetime.datetime]:
    if timestamp.seconds == 0 and timestamp.nanos == 0:
        return None
    return timestamp.ToDatetime(tzinfo=datetime.timezone.utc)


@dataclasses.dataclass(frozen=True)
class State:
    """A registered state: a key and where its weights are.

    Attributes:
        state_key: the identity (MoZuMa's StateKey when MoZuMa is
            importable).
        name: the dotted name, `pytorch.resnet18.cls1000.imagenet`.
        uri: where the weights are, `file:///...`, `s3://...`, `https://...`.
        sha256: the SHA-256 of the weights, 64 lowercase hex digits; None
            when unknown.
        size_bytes: the size of the weights; None when unknown.
        labels: free-form labels.
        create_time, update_time: timezone-aware UTC datetimes.
        revision: the store revision of the state's last change.
    """

    state_key: StateKey
    name: str
    uri: str
    sha256: Optional[str]
    size_bytes: Optional[int]
    labels: Dict[str, str]
    create_time: Optional[datetime.datetime]
    update_time: Optional[datetime.datetime]
    revision: int

    @classmethod
    def from_proto(cls, message: state_pb2.State) -> "State":
        """The State of a `mozuma.states.v1.State` message."""
        return cls(
            state_key=conversions.state_key_from_proto(message.state_key),
            name=message.name,
            uri=message.uri,
            sha256=message.sha256 or None,
            size_bytes=(message.size_bytes if message.HasField("size_bytes")
                        else None),
            labels=dict(message.labels),
            create_time=_datetime(message.create_time),
            update_time=_datetime(message.update_time),
            revision=message.revision)

    def to_proto(self) -> state_pb2.State:
        """The `mozuma.states.v1.State` message of this state."""
        message = state_pb2.State(
            state_key=conversions.state_key_to_proto(self.state_key),
            name=self.name, uri=self.uri, sha256=self.sha256 or "",
            labels=self.labels, revision=self.revision)
        if self.size_bytes is not None:
            message.size_bytes = self.size_bytes
        if self.create_time is not None:
            message.create_time.FromDatetime(self.create_time)
        if self.update_time is not None:
            message.update_time.FromDatetime(self.update_time)
        return message


@dataclasses.dataclass(frozen=True)
class Registration:
    """The answer of `Client.register`.

    Attributes:
        state: the state as stored.
        created: True when the call created the record; False when the key
            was registered already (with the same content, or replaced under
            `allow_overwrite`).
        changed: True when the call changed the store; False for the no-op
            retry of an identical registration.
    """

    state: State
    created: bool
    changed: bool
