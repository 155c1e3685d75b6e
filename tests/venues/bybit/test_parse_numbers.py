"""Venue numbers: every numeric field of every Bybit frame gives an exact, journal-safe value
or a ``MalformedFrameError`` naming the field; no other exception, and nothing the journal
cannot encode (issue 14: ``"execFee": "Infinity"`` raised ``OverflowError``, ``"1e999"``
became a 1,008-digit fee)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asnd.venues.bybit.parse import (
    MalformedFrameError,
    SymbolScales,
    instrument_from_row,
    parse_private,
    parse_public,
    units,
)
from asnd.venues.bybit.wire import InstrumentRow
from journal.codec import decode, encode
from journal.decimals import Scale
from journal.events import Fill

SCALES = {"BTCUSDT": SymbolScales(Scale("0.1"), Scale("0.001"))}
NOW = 1_700_000_000_123_456_789


def execution(**fields: Any) -> dict[str, Any]:
    row = {
        "symbol": "BTCUSDT", "execId": "e-1", "orderId": "o-1", "orderLinkId": "link-1",
        "side": "Sell", "execPrice": "95900.1", "execQty": "0.5", "execFee": "26.3725275",
        "execTime": "1746270400353", "isMaker": False, "leavesQty": "0", "execType": "Trade",
    }  # fmt: skip
    row.update(fields)
    return {"topic": "execution", "creationTime": 1, "data": [row]}


def order(**fields: Any) -> dict[str, Any]:
    row = {
        "symbol": "BTCUSDT", "orderId": "o-1", "orderLinkId": "link-1", "side": "Buy",
        "orderStatus": "Cancelled", "qty": "0.5", "cumExecQty": "0.1", "cancelType": "CancelByUser",
    }  # fmt: skip
    row.update(fields)
    return {"topic": "order", "data": [row]}


def position(**fields: Any) -> dict[str, Any]:
    row = {"symbol": "BTCUSDT", "side": "Sell", "size": "0.01", "avgPrice": "3641.075"}
    row.update(fields)
    return {"topic": "position", "data": [row]}


def book(price: str = "27450.0", size: str = "0.5") -> dict[str, Any]:
    data = {"s": "BTCUSDT", "b": [[price, size]], "a": [], "u": 1, "seq": 2}
    return {"topic": "orderbook.50.BTCUSDT", "type": "snapshot", "ts": 1, "data": data}


def trade(price: str = "27451.0", size: str = "0.01") -> dict[str, Any]:
    row = {"T": 1, "s": "BTCUSDT", "S": "Buy", "v": size, "p": price, "i": "t-1"}
    return {"topic": "publicTrade.BTCUSDT", "ts": 1, "data": [row]}


def parse(frame: dict[str, Any]) -> list[Any]:
    raw = json.dumps(frame).encode()
    parser = parse_private if frame["topic"] in ("execution", "order", "position") else parse_public
    parsed = parser(raw, SCALES, NOW)
    assert isinstance(parsed, list)
    return parsed


#: (frame builder taking the field's text, field name as the error names it, may be negative)
FIELDS: list[tuple[Callable[[str], dict[str, Any]], str, bool]] = [
    (lambda v: execution(execPrice=v), "execPrice", False),
    (lambda v: execution(execQty=v), "execQty", False),
    (lambda v: execution(execFee=v), "execFee", True),
    (lambda v: execution(execTime=v), "execTime", False),
    (lambda v: execution(leavesQty=v), "leavesQty", False),
    (lambda v: order(qty=v), "qty", False),
    (lambda v: order(cumExecQty=v), "cumExecQty", False),
    (lambda v: position(size=v), "size", False),
    (lambda v: position(avgPrice=v), "avgPrice", False),
    (lambda v: book(price=v), "b price", False),
    (lambda v: book(size=v), "b size", False),
    (lambda v: trade(price=v), "p", False),
    (lambda v: trade(size=v), "v", False),
]
FIELD_IDS = [name for _, name, _ in FIELDS]
ABSURD = ["Infinity", "-Infinity", "inf", "NaN", "1e999", "1E3", "9" * 1008, "0x10", "1_000",
          " 1", "1.2.3", "--1", "", "١٢"]  # fmt: skip


@pytest.mark.parametrize("value", ["Infinity", "1e999", "9" * 1008, "NaN"])
def test_issue_14_absurd_fees_are_malformed_frames_naming_the_field(value: str) -> None:
    with pytest.raises(MalformedFrameError, match="execFee"):
        parse(execution(execFee=value))


#: Fields where the venue writes "" for zero: an empty string is a value there.
EMPTY_IS_ZERO = {"leavesQty", "qty", "cumExecQty", "size", "avgPrice"}


@pytest.mark.parametrize(
    ("frame", "field", "value"),
    [
        pytest.param(frame, field, value, id=f"{field}={value[:12]!r}")
        for frame, field, _signed in FIELDS
        for value in ABSURD
        if not (value == "" and field in EMPTY_IS_ZERO)
    ],
)
def test_absurd_numbers_in_any_field_are_malformed(frame: Any, field: str, value: str) -> None:
    with pytest.raises(MalformedFrameError, match=field):
        parse(frame(value))


@pytest.mark.parametrize(("frame", "field", "signed"), FIELDS, ids=FIELD_IDS)
def test_negative_values_only_where_they_mean_something(
    frame: Any, field: str, signed: bool
) -> None:
    if signed:
        [fill] = parse(frame("-0.5"))
        assert fill.fee_e8 == -50_000_000  # a maker rebate
    else:
        with pytest.raises(MalformedFrameError, match=f"{field}: '-5' is negative"):
            parse(frame("-5"))


@pytest.mark.parametrize(("frame", "field", "signed"), FIELDS, ids=FIELD_IDS)
def test_values_beyond_int64_are_refused_not_journaled(
    frame: Any, field: str, signed: bool
) -> None:
    # 2**63 steps: within 40 characters, beyond what the journal's int64 can hold.
    with pytest.raises(MalformedFrameError, match=f"{field}: .* beyond what the journal can hold"):
        parse(frame(str(2**63 * 10)))


def test_integer_fields_beyond_int64_are_malformed() -> None:
    frame = book()
    frame["ts"] = 2**64
    with pytest.raises(MalformedFrameError, match="not a Bybit frame"):
        parse(frame)
    frame = book()
    frame["data"]["u"] = -(2**63) - 1
    with pytest.raises(MalformedFrameError, match="orderbook"):
        parse(frame)


def test_fees_round_half_even_exactly() -> None:
    fee = Scale("0.00000001")
    assert [units("f", t, fee, rounded=True, signed=True) for t in (
        "0.000000015", "0.000000025", "0.0000000251", "-0.000000015", "-0.0000000149",
        "26.3725275", "0.00000000499999999999999999999",
    )] == [2, 2, 3, -2, -1, 2_637_252_750, 0]  # fmt: skip
    with pytest.raises(MalformedFrameError, match=r"f: '1\.05' is not a multiple of '0\.1'"):
        units("f", "1.05", Scale("0.1"))


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("tickSize", "0", "must be positive"),
        ("tickSize", "Infinity", "not a plain decimal"),
        ("qtyStep", "-0.001", "is negative"),
        ("minOrderQty", "1e999", "not a plain decimal"),
    ],
)
def test_instrument_grids_are_plain_positive_decimals(field: str, value: str, why: str) -> None:
    lot = {"minOrderQty": "0.001", "qtyStep": "0.001", "minNotionalValue": "5"}
    price = {"tickSize": "0.1"}
    (price if field == "tickSize" else lot)[field] = value
    document = {"symbol": "BTCUSDT", "priceFilter": price, "lotSizeFilter": lot}
    row = msgspec.json.decode(json.dumps(document), type=InstrumentRow)
    with pytest.raises(MalformedFrameError, match=f"{field}: .*{why}"):
        instrument_from_row(row, NOW)


numeric_text = st.one_of(
    st.text(max_size=50),
    st.from_regex(r"-?[0-9]{0,45}(\.[0-9]{0,45})?", fullmatch=True),
    st.sampled_from(ABSURD),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(str),
)


def outcome_of(frame: dict[str, Any]) -> list[Any] | MalformedFrameError:
    """The events or the refusal; any other exception escapes and fails the test."""
    try:
        return parse(frame)
    except MalformedFrameError as exc:
        return exc


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(range(len(FIELDS))), numeric_text)
def test_any_string_in_a_numeric_field_gives_a_value_or_malformed(index: int, text: str) -> None:
    frame, field, _signed = FIELDS[index]
    outcome = outcome_of(frame(text))
    if isinstance(outcome, MalformedFrameError):
        assert field in str(outcome)
        return
    for event in outcome:
        assert decode(encode(event)) == event, "every parsed value fits the journal"
        if isinstance(event, Fill):
            assert event.qty_lots >= 0
