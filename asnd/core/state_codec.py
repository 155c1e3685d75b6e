"""The daemon core's state snapshot: ``DaemonState`` <-> msgpack bytes (``SNAPSHOT_SCHEMA``).

A snapshot holds everything the fold needs to continue exactly: per symbol the instrument,
the L2 book (levels, ``update_id``, staleness) and the feature windows, the last valid touch;
per slot its ``SlotState`` (status, ledger numbers, working orders, counters, the strategy
document, recent exec ids, its halt note and brake numbers); the global halt with its note and
the daemon-wide brake numbers; the last applied seq; recent anomalies; the journal's link-id
namespace. Strategy
documents are re-validated and re-compiled on load, never trusted as code.

Bump ``SNAPSHOT_SCHEMA`` whenever the layout changes: an old snapshot is then refused
(``SnapshotError``) and recovery replays the journal from an earlier point or from the start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import msgspec

from asnd.core.brakes import BrakeState, HaltNote
from asnd.core.instrument import Instrument
from asnd.core.kernel.views import FeatureWindows, export_windows, load_windows, restore_book
from asnd.core.slot import SlotState

if TYPE_CHECKING:
    from asnd.core.portfolio import DaemonState

__all__ = ["SNAPSHOT_SCHEMA", "SnapshotError", "encode_state", "load_state"]

#: 3: the journal's link-id namespace (``LinkNamespace``) joined the layout.
SNAPSHOT_SCHEMA: Final = "asn-core/3"


class SnapshotError(ValueError):
    """A state snapshot cannot be restored into this configuration (schema, slots, data)."""


class _BookData(msgspec.Struct, array_like=True, gc=False):
    symbol: str
    update_id: int
    stale_reason: str | None
    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]
    features: FeatureWindows


class _InstrumentData(msgspec.Struct, array_like=True, gc=False):
    symbol: str
    tick_size: str
    lot_size: str
    min_qty_lots: int
    min_notional_e8: int


class _Snapshot(msgspec.Struct, array_like=True, gc=False):
    schema: str
    last_seq: int
    halted: bool
    halt_reason: str
    symbols: list[str]
    instruments: list[_InstrumentData]
    books: list[_BookData]
    touch: list[tuple[str, int, int]]
    slots: list[SlotState]
    anomalies: list[str]
    anomaly_count: int
    halt: HaltNote
    brake: BrakeState
    link_namespace: str


class _Head(msgspec.Struct, array_like=True, gc=False):
    """The schema alone (trailing fields ignored): a clear error for another layout."""

    schema: str


_encoder: Final = msgspec.msgpack.Encoder()
_decoder: Final = msgspec.msgpack.Decoder(_Snapshot)
_head_decoder: Final = msgspec.msgpack.Decoder(_Head)


def encode_state(state: DaemonState) -> bytes:
    """The state as snapshot bytes."""
    books = []
    for symbol, book in state.books.items():
        bids, asks = book.levels()
        stale = book.stale_reason if book.stale else None
        windows = export_windows(state.market, symbol)
        books.append(_BookData(symbol, book.update_id, stale, bids, asks, windows))
    instruments = [
        _InstrumentData(i.symbol, i.tick_size, i.lot_size, i.min_qty_lots, i.min_notional_e8)
        for i in state.instruments.values()
    ]
    return _encoder.encode(
        _Snapshot(
            SNAPSHOT_SCHEMA,
            state.last_seq,
            state.watchtower.halted,
            state.watchtower.halt_reason,
            [s.symbol for s in state.slots],
            instruments,
            books,
            [(s, b, a) for s, (b, a) in state.touch.items()],
            [s.export() for s in state.slots],
            list(state.anomalies),
            state.anomaly_count,
            msgspec.structs.replace(state.watchtower.note),
            msgspec.structs.replace(state.watchtower.brake),
            state.link_namespace,
        )
    )


def load_state(state: DaemonState, payload: bytes) -> None:
    """Load snapshot bytes into a fresh ``state`` built with the same configuration."""
    try:
        schema = _head_decoder.decode(payload).schema
    except msgspec.DecodeError as exc:
        raise SnapshotError(f"state snapshot is not readable: {exc}") from None
    if schema != SNAPSHOT_SCHEMA:
        raise SnapshotError(
            f"snapshot schema {schema!r}, expected {SNAPSHOT_SCHEMA!r} (another layout: the "
            "journal is replayed instead)"
        )
    try:
        data = _decoder.decode(payload)
    except msgspec.DecodeError as exc:
        raise SnapshotError(f"state snapshot is not readable: {exc}") from None
    ours = [s.symbol for s in state.slots]
    if data.symbols != ours:
        raise SnapshotError(f"snapshot slots trade {data.symbols}, the config's {ours}")
    try:
        _load(state, data)
    except (ValueError, KeyError) as exc:
        raise SnapshotError(f"state snapshot is inconsistent: {exc}") from None


def _load(state: DaemonState, data: _Snapshot) -> None:
    state.last_seq = data.last_seq
    state.watchtower.halted = data.halted
    state.watchtower.halt_reason = data.halt_reason
    for inst in data.instruments:
        instrument = Instrument(
            inst.symbol, inst.tick_size, inst.lot_size, inst.min_qty_lots, inst.min_notional_e8
        )
        state.instruments[inst.symbol] = instrument
        for slot in state.by_symbol[inst.symbol]:
            error = slot.set_instrument(instrument)
            if error:
                raise ValueError(error)
    for book in data.books:
        if book.symbol not in state.books:
            raise KeyError(book.symbol)
        restore_book(
            state.market, book.symbol, book.update_id, book.bids, book.asks, book.stale_reason
        )
        load_windows(state.market, book.symbol, book.features)
    state.touch = {s: (b, a) for s, b, a in data.touch}
    for slot, slot_state in zip(state.slots, data.slots, strict=True):
        error = slot.load(slot_state)
        if error:
            raise ValueError(error)
    state.anomalies = list(data.anomalies)
    state.anomaly_count = data.anomaly_count
    state.watchtower.note = msgspec.structs.replace(data.halt)
    state.watchtower.brake = msgspec.structs.replace(data.brake)
    state.link_namespace = state.watchtower.namespace = data.link_namespace
