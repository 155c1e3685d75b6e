"""Every row the local Bybit venue sends has, per channel, the fields of Bybit's own messages
(``shared/data/bybit/messages``: REST list rows and WS topic rows differ a little) with the same
JSON types, and no field Bybit does not send; the ASN client's parsers read all of them; and
the money behind the position and wallet fields adds up."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from asnd.venues.bybit.local import market_data
from asnd.venues.bybit.local.exchange import Exchange
from asnd.venues.bybit.parse import (
    SymbolScales,
    fill_from_row,
    instrument_from_row,
    parse_private,
    position_from_row,
)
from asnd.venues.bybit.wire import ExecutionRow, InstrumentRow, OrderRow, PositionRow
from journal.events import BUY, SELL, Fill, InstrumentInfo, PositionReconciled

INFO = InstrumentInfo(0, 0, "bybit", "BTCUSDT", "0.5", "0.001", "0.001", "5")
SCALES = {"BTCUSDT": SymbolScales.of(INFO)}
NOW_MS = 1_700_000_000_000
Row = dict[str, Any]


@pytest.fixture
def messages(shared_data: Path) -> Path:
    path = shared_data / "bybit" / "messages"
    if not path.is_dir():
        pytest.skip(f"{path} not found")
    return path


def rows_of(messages: Path, name: str) -> list[Row]:
    doc = json.loads((messages / f"{name}.json").read_text())
    data = doc["result"]["list"] if "list" in doc.get("result", {}) else doc.get("data")
    if data is None:
        data = doc["result"]
    return data if isinstance(data, list) else [data]


def conforms(ours: Row, channel: list[Row], other: list[Row] | None = None) -> None:
    """``ours`` has every field of the channel's samples, with their JSON types, and no field
    that neither this channel's nor the other channel's samples have."""
    other = other or []
    typed: dict[str, Any] = {}
    for sample in [*other, *channel]:
        typed.update({k: v for k, v in sample.items() if v is not None})
    need = set().union(*(set(sample) for sample in channel))
    allowed = need.union(*(set(sample) for sample in other))
    assert not need - set(ours), f"missing Bybit fields: {sorted(need - set(ours))}"
    assert not set(ours) - allowed, f"not Bybit fields: {sorted(set(ours) - allowed)}"
    for key, value in ours.items():
        if key in typed:
            assert type(value) is type(typed[key]), f"{key!r}: {value!r} vs {typed[key]!r}"


def traded_exchange() -> tuple[Exchange, list[tuple[str, Row]]]:
    """A venue after a taker buy of 20 lots at 50000.5, a maker buy of 10 of a resting 40 at
    49995.0, and a market sell of 60 at 49997.5 that closes the long and opens a short."""
    published: list[tuple[str, Row]] = []
    ex = Exchange([INFO], clock_ms=lambda: NOW_MS, publish=lambda t, m: published.append((t, m)))
    for i in range(3):
        ex.set_level("BTCUSDT", BUY, 100_000 - i, 1000)
        ex.set_level("BTCUSDT", SELL, 100_001 + i, 1000)
    ex.create(
        symbol="BTCUSDT", side=BUY, order_type="Limit", qty_lots=40, price_ticks=99_990,
        tif="GTC", link_id="asn-1-1",
    )  # fmt: skip
    ex.create(
        symbol="BTCUSDT", side=BUY, order_type="Limit", qty_lots=20, price_ticks=100_001,
        tif="GTC", link_id="asn-1-2",
    )  # fmt: skip
    ex.set_level("BTCUSDT", BUY, 99_990, 500)  # the crowd joins behind our resting order
    ex.crowd_trade("BTCUSDT", SELL, 99_990, 3000 + 10)  # sweeps the bids: ours fills 10 of 40
    ex.set_level("BTCUSDT", BUY, 99_995, 100)  # above ours: the market sell takes it, not ours
    ex.create(
        symbol="BTCUSDT", side=SELL, order_type="Market", qty_lots=60, price_ticks=0,
        tif="IOC", link_id="",
    )  # fmt: skip
    return ex, published


def test_every_row_has_bybits_fields(messages: Path) -> None:
    ex, published = traded_exchange()
    pushed: dict[str, list[Row]] = {}
    for topic, msg in published:
        if topic in ("order", "execution", "position", "wallet"):
            assert set(msg) == {"topic", "id", "creationTime", "data"}
            pushed.setdefault(topic, []).extend(msg["data"])

    ws_orders = [
        *rows_of(messages, "ws_account_order"),
        *rows_of(messages, "ws_account_order_filled"),
    ]
    rest_orders = rows_of(messages, "http_get_orders_realtime")
    for row in pushed["order"]:
        conforms(row, ws_orders, rest_orders)
    for order in ex.by_order_id.values():
        conforms(ex.order_row(order), rest_orders, ws_orders)

    ws_execs, rest_execs = (
        rows_of(messages, "ws_account_execution"),
        rows_of(messages, "http_get_executions"),
    )
    for row in pushed["execution"]:
        conforms(row, ws_execs, rest_execs)
    for row in ex.executions:
        conforms(row, rest_execs, ws_execs)

    ws_pos = [
        *rows_of(messages, "ws_account_position"),
        *rows_of(messages, "ws_account_position_short"),
    ]
    rest_pos = rows_of(messages, "http_get_positions")
    for row in pushed["position"]:
        conforms(row, ws_pos, rest_pos)
    conforms(ex.position_row("BTCUSDT"), rest_pos, ws_pos)

    ws_wallet, rest_wallet = (
        rows_of(messages, "ws_account_wallet"),
        rows_of(messages, "http_get_wallet_balance"),
    )
    coins = [[c for w in rows for c in w["coin"]] for rows in (ws_wallet, rest_wallet)]
    for row in [*pushed["wallet"], ex.wallet_row(ws=True)]:
        conforms({k: v for k, v in row.items() if k != "accountType"}, ws_wallet, rest_wallet)
        for coin in row["coin"]:
            conforms(coin, coins[0], coins[1])
    rest = ex.wallet_row()
    conforms(rest, rest_wallet, ws_wallet)
    for coin in rest["coin"]:
        conforms(coin, coins[1], coins[0])

    [instrument] = rows_of(messages, "http_get_instruments_linear")[:1]
    ours = market_data.instrument_row(ex, "BTCUSDT")
    conforms(ours, [instrument])
    for nested in ("priceFilter", "lotSizeFilter", "leverageFilter"):
        conforms(ours[nested], [instrument[nested]])
    params = {"category": "linear", "symbol": "BTCUSDT"}
    conforms(market_data.orderbook(ex, params, "", NOW_MS), rows_of(messages, "http_get_orderbook"))
    trades = market_data.recent_trades(ex, params, "", NOW_MS)["list"]
    assert trades
    for row in trades:
        conforms(row, rows_of(messages, "http_get_trades_recent"))


def test_the_asn_parsers_read_every_row() -> None:
    """The client's decoders ignore the added fields and read the same values as before."""
    ex, published = traded_exchange()
    fills: list[Fill] = []
    positions: list[PositionReconciled] = []
    for topic, msg in published:
        if topic in ("order", "execution", "position", "wallet"):
            events = parse_private(json.dumps(msg), SCALES, 0)
            assert isinstance(events, list)
            fills += [e for e in events if isinstance(e, Fill)]
            positions += [e for e in events if isinstance(e, PositionReconciled)]
    assert [(f.link_id, f.side, f.qty_lots, f.is_maker) for f in fills] == [
        ("asn-1-2", BUY, 20, False),
        ("asn-1-1", BUY, 10, True),
        ("", SELL, 60, False),
    ]
    assert positions[-1].position_lots == ex.markets["BTCUSDT"].position.lots == -30
    rest_fills = [fill_from_row(msgspec.convert(r, ExecutionRow), SCALES, 0) for r in ex.executions]
    assert [(f.exec_id, f.qty_lots) for f in rest_fills] == [(f.exec_id, f.qty_lots) for f in fills]
    row = msgspec.convert(ex.position_row("BTCUSDT"), PositionRow)
    assert position_from_row(row, SCALES, 0).position_lots == -30
    for order in ex.by_order_id.values():
        assert msgspec.convert(ex.order_row(order), OrderRow).order_id == order.order_id
    instrument = msgspec.convert(market_data.instrument_row(ex, "BTCUSDT"), InstrumentRow)
    assert instrument_from_row(instrument, 0) == INFO


def test_position_and_wallet_money_add_up() -> None:
    ex, _ = traded_exchange()
    long_cost = Decimal("0.020") * Decimal("50000.5") + Decimal("0.010") * Decimal("49995.0")
    realised = Decimal("0.030") * Decimal("49997.5") - long_cost  # the long closed at the sell
    fees = (
        Decimal("0.020") * Decimal("50000.5") * Decimal("0.00055")
        + Decimal("0.010") * Decimal("49995.0") * Decimal("0.0002")
        + Decimal("0.060") * Decimal("49997.5") * Decimal("0.00055")
    )
    assert sum(Decimal(r["execFee"]) for r in ex.executions) == fees
    assert [r["closedSize"] for r in ex.executions] == ["0.000", "0.000", "0.030"]

    row = ex.position_row("BTCUSDT")
    assert (row["side"], row["size"], row["avgPrice"]) == ("Sell", "0.030", "49997.5")
    assert Decimal(row["positionValue"]) == Decimal("0.030") * Decimal("49997.5")
    assert Decimal(row["cumRealisedPnl"]) == realised - fees
    assert row["markPrice"] == "49999"  # mid of 49997.5 and 50000.5
    assert Decimal(row["unrealisedPnl"]) == (Decimal("49997.5") - 49999) * Decimal("0.030")
    assert Decimal(row["liqPrice"]) > Decimal("49997.5")  # a short liquidates above its entry

    wallet = ex.wallet_row()
    balance = Decimal(wallet["totalWalletBalance"])
    assert balance == 10_000 + realised - fees
    assert Decimal(wallet["totalEquity"]) == balance + Decimal(row["unrealisedPnl"])
    [coin] = wallet["coin"]
    # Open-order margin: the resting buy's 30 lots left at 49995.0, at leverage 10.
    assert Decimal(coin["totalOrderIM"]) == Decimal("49995.0") * Decimal("0.030") / 10
    assert Decimal(coin["totalPositionIM"]) == Decimal(row["positionIM"])
