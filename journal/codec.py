"""Encoding events to msgpack and back, plus the schema version of the encoding.

One encoder and one decoder per process are enough (they are reentrant). The decoder knows
every kind in the catalogue; decoding a record of an unknown kind raises ``UnknownKind`` so
that readers can tell "written by a newer minor version" from corruption.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Annotated, Final, Union

import msgspec

from journal.events import CATALOGUE, Event, kind_name, kind_of

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "KINDS",
    "KINDS_BY_NAME",
    "SCHEMA_MAJOR",
    "SCHEMA_MINOR",
    "JournalInt",
    "UnknownKind",
    "decode",
    "decode_unchecked",
    "encode",
    "kind_prefixes",
    "peek_kind",
]

#: Bumped when old readers cannot read new records (see journal.events for the rules).
SCHEMA_MAJOR: Final = 1
#: Bumped when kinds or trailing fields are added.
SCHEMA_MINOR: Final = 3

#: The integers an event field can hold (msgpack's signed 64 bits, as the events use them).
#: A venue value outside is malformed input, refused where it is parsed: never a write error.
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
#: An ``int`` field of a venue message that msgspec refuses outside that range.
JournalInt = Annotated[int, msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)]

KINDS: Final[dict[int, type[Event]]] = {kind_of(t): t for t in CATALOGUE}
if len(KINDS) != len(CATALOGUE):  # pragma: no cover - guards an editing mistake at import
    raise RuntimeError("two event kinds share a tag in journal.events.CATALOGUE")

KINDS_BY_NAME: Final[dict[str, type[Event]]] = {kind_name(t): t for t in CATALOGUE}

_encoder: Final = msgspec.msgpack.Encoder()
# A Union built at runtime from the catalogue: adding a kind never touches this module.
_decoder: Final = msgspec.msgpack.Decoder(Union[CATALOGUE])  # noqa: UP007


class UnknownKind(ValueError):
    """A well-formed record whose kind this version does not know."""

    def __init__(self, kind: int) -> None:
        super().__init__(f"unknown event kind {kind}")
        self.kind = kind


def encode(event: Event) -> bytes:
    """The msgpack bytes of one event (an array: kind, seq, ts_local_ns, fields...)."""
    return _encoder.encode(event)


def peek_kind(payload: bytes | memoryview) -> int:
    """The kind of an encoded event without decoding it (-1 if not an event array)."""
    if len(payload) < 2:
        return -1
    head = payload[0]
    if 0x90 <= head <= 0x9F:  # fixarray: tag follows directly
        return _tag_at(payload, 1)
    if head == 0xDC and len(payload) >= 4:  # array 16
        return _tag_at(payload, 3)
    return -1


def _tag_at(payload: bytes | memoryview, i: int) -> int:
    # Kinds 0-127 are one positive-fixint byte; kinds 128-255 are uint8 (0xCC, value).
    tag = payload[i]
    if tag < 0x80:
        return tag
    if tag == 0xCC and len(payload) > i + 1:
        return payload[i + 1]
    return -1


def kind_prefixes(kinds: Collection[int]) -> dict[bytes, bool]:
    """For a filter on ``kinds``: the first two bytes of an encoded event -> whether its kind
    is wanted, for every event array of at most 15 elements whose kind is below 128 (a
    fixarray byte and a fixint byte: every kind today). A payload whose first two bytes are
    not a key needs ``peek_kind``. One dict lookup per record instead of a function call:
    filtered replays (market data for backtests, snapshots for recovery) skip most records
    on this test alone."""
    return {
        bytes((head, kind)): kind in kinds for head in range(0x90, 0xA0) for kind in range(0x80)
    }


#: msgspec's own decode, for the replay hot loop (one Python call less per record). It raises
#: msgspec's errors as they are, a ``ValidationError`` for an unknown kind too: on failure,
#: call ``decode`` on the same payload for the precise error.
decode_unchecked: Final[Callable[[bytes | memoryview], Event]] = _decoder.decode


def decode(payload: bytes | memoryview) -> Event:
    """Decode one event; raises ``UnknownKind`` or ``msgspec.DecodeError``/``ValidationError``."""
    try:
        event: Event = _decoder.decode(payload)
    except msgspec.ValidationError:
        kind = peek_kind(payload)
        if kind >= 0 and kind not in KINDS:
            raise UnknownKind(kind) from None
        raise
    return event
