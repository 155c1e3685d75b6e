"""The catalogue: every kind round-trips exactly, kinds are stable, old records still decode."""

from __future__ import annotations

import math

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journal.codec import KINDS, UnknownKind, decode, encode, peek_kind
from journal.events import CATALOGUE, Event, Signal, Trade, kind_name, kind_of

from .strategies import events_of

# Released kind numbers. A kind is never renumbered or reused: journals on disk depend on it.
RELEASED = {
    "instrument_info": 1, "book_snapshot": 2, "book_delta": 3, "trade": 4,
    "feed_connected": 5, "feed_lost": 6, "book_stale": 7, "book_synced": 8, "timer_fired": 9,
    "signal": 20, "order_intent": 21, "risk_verdict": 22, "order_sent": 30,
    "order_accepted": 31, "order_rejected": 32, "order_cancelled": 33, "fill": 34,
    "order_unresolved": 35, "order_reconciled": 36, "position_reconciled": 37,
    "order_amended": 38, "daemon_started": 50, "daemon_stopped": 51, "config_loaded": 52,
    "strategy_loaded": 53, "challenger_loaded": 54, "challenger_rejected": 55, "promotion": 56,
    "swap": 57, "kill": 58, "resume": 59, "model_dead": 60, "liquidation": 61,
    "actor_crashed": 62, "trading_halted": 63, "link_namespace": 64, "operator_command": 80,
    "state_snapshot": 90,
    "cancel_intent": 140,
}  # fmt: skip


def test_released_kinds_keep_their_numbers() -> None:
    current = {kind_name(t): kind_of(t) for t in CATALOGUE}
    for name, kind in RELEASED.items():
        assert current.get(name) == kind, f"kind {name} must stay {kind}"


def test_kinds_are_unique_and_small() -> None:
    tags = [kind_of(t) for t in CATALOGUE]
    assert len(set(tags)) == len(tags)
    # peek_kind reads the tag as a positive fixint or a uint8.
    assert all(0 < t < 0x100 for t in tags)


def test_peek_kind_reads_tags_above_127() -> None:
    from journal.events import CancelIntent

    raw = encode(CancelIntent(3, 4, 1, "XRPUSDT", "asn-1-2", "touch moved", 2))
    assert raw[1] == 0xCC, "kind 140 is a uint8, not a fixint"
    assert peek_kind(raw) == 140
    assert peek_kind(raw[:2]) == -1


@pytest.mark.parametrize("cls", CATALOGUE, ids=kind_name)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_every_kind_round_trips(cls: type[Event], data: st.DataObject) -> None:
    event = data.draw(events_of(cls))
    raw = encode(event)
    assert peek_kind(raw) == kind_of(cls)
    assert msgspec.msgpack.decode(raw)[0] == kind_of(cls), "encoded as an array led by the kind"
    back = decode(raw)
    assert type(back) is cls
    assert back == event


def test_nan_and_inf_signals_survive() -> None:
    ev = Signal(1, 2, 0, "BTCUSDT", "s1", math.inf, math.nan, 7)
    back = decode(encode(ev))
    assert isinstance(back, Signal)
    assert back.signal == math.inf
    assert math.isnan(back.size)


def test_record_without_trailing_defaults_decodes() -> None:
    """A record written before a trailing field existed decodes with the field's default."""
    trade = msgspec.msgpack.encode([kind_of(Trade), 5, 6, "X", "t1", 1, 100, 2, 7])
    back = decode(trade)
    assert isinstance(back, Trade)
    assert back.block_trade is False


def test_unknown_kind_is_distinguished_from_garbage() -> None:
    with pytest.raises(UnknownKind):
        decode(msgspec.msgpack.encode([127, 1, 2, "x"]))
    with pytest.raises(msgspec.ValidationError):
        decode(msgspec.msgpack.encode([kind_of(Trade), "not an int"]))
    assert 127 not in KINDS
