"""The real Bybit message shapes (``shared/data/bybit/messages``) and the real order-book
archive parse into the right events; malformed frames raise a clear ``MalformedFrameError``;
the local venue answers with the real shapes' field names."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asnd.venues.bybit.local.exchange import Exchange
from asnd.venues.bybit.local.rest_server import instrument_row
from asnd.venues.bybit.parse import (
    MalformedFrameError,
    OpAnswer,
    SymbolScales,
    fill_from_row,
    instrument_from_row,
    parse_private,
    parse_public,
    position_from_row,
)
from asnd.venues.bybit.wire import (
    ExecutionRow,
    InstrumentRow,
    OrderRow,
    PositionRow,
    RestEnvelope,
)
from journal.bybit_archive import read_archive
from journal.decimals import Scale
from journal.events import (
    BUY,
    SELL,
    BookDelta,
    BookSnapshot,
    Fill,
    InstrumentInfo,
    OrderCancelled,
    OrderRejected,
    PositionReconciled,
    Trade,
)
from tests.core.kernel.oracle import L2Book

SCALES = {
    "BTCUSDT": SymbolScales(Scale("0.1"), Scale("0.001")),
    "ETHUSDT": SymbolScales(Scale("0.01"), Scale("0.001")),
    "APEXUSDT": SymbolScales(Scale("0.001"), Scale("0.1")),
    "SOLUSDT": SymbolScales(Scale("0.01"), Scale("0.1")),
}
NOW = 1_700_000_000_123_456_789


@pytest.fixture
def messages(shared_data: Path) -> Path:
    path = shared_data / "bybit" / "messages"
    if not path.is_dir():
        pytest.skip(f"{path} not found")
    return path


def read(messages: Path, name: str) -> bytes:
    return (messages / f"{name}.json").read_bytes()


def test_book_snapshot_and_delta_keep_venue_fields(messages: Path) -> None:
    [snap] = parse_public(read(messages, "ws_orderbook_snapshot"), SCALES, NOW)  # type: ignore[misc]
    assert isinstance(snap, BookSnapshot)
    assert (snap.symbol, snap.update_id, snap.venue_seq, snap.venue_ts_ms) == (
        "BTCUSDT", 123456789, 987654321, 1709891679000,
    )  # fmt: skip
    assert snap.ts_local_ns == NOW
    assert (snap.bid_ticks, snap.bid_lots) == ([274500, 274495], [500, 1000])
    assert (snap.ask_ticks, snap.ask_lots) == ([274510, 274515], [750, 900])
    [delta] = parse_public(read(messages, "ws_orderbook_delta"), SCALES, NOW)  # type: ignore[misc]
    assert isinstance(delta, BookDelta)
    assert (delta.update_id, delta.ask_ticks, delta.ask_lots) == (123456790, [274510], [0])
    book = L2Book("BTCUSDT")
    book.apply(snap)
    book.apply(delta)
    assert (book.best_bid, book.best_ask) == ((274500, 400), (274515, 900))


def test_public_trade(messages: Path) -> None:
    [trade] = parse_public(read(messages, "ws_public_trade"), SCALES, NOW)  # type: ignore[misc]
    assert trade == Trade(
        0, NOW, "BTCUSDT", "9dc75fca-4bdd-4773-9f78-6f5d7ab2a110", BUY, 274510, 10, 1709891679000
    )


def test_execution_becomes_a_fill(messages: Path) -> None:
    [fill] = parse_private(read(messages, "ws_account_execution"), SCALES, NOW)  # type: ignore[misc]
    assert isinstance(fill, Fill)
    assert (fill.side, fill.price_ticks, fill.qty_lots, fill.is_maker) == (SELL, 959001, 500, False)
    assert fill.fee_e8 == 2_637_252_750  # "26.3725275" USDT
    assert (fill.exec_ts_ms, fill.slot, fill.link_id) == (1746270400353, -1, "test-order-link-001")


def test_order_updates(messages: Path) -> None:
    [cancelled] = parse_private(read(messages, "ws_account_order"), SCALES, NOW)  # type: ignore[misc]
    assert isinstance(cancelled, OrderCancelled)
    assert (cancelled.reason, cancelled.remaining_lots) == ("CancelByUser", 10)
    assert parse_private(read(messages, "ws_account_order_filled"), SCALES, NOW) == []
    [rejected] = parse_private(
        read(messages, "ws_account_order_partially_filled_rejected"), SCALES, NOW
    )  # type: ignore[misc]
    assert isinstance(rejected, OrderRejected)
    assert rejected.link_id == "O-20251001-164609-APEX-000-49"


def test_positions(messages: Path) -> None:
    for name in ("ws_account_position", "ws_account_position_short"):
        [pos] = parse_private(read(messages, name), SCALES, NOW)  # type: ignore[misc]
        assert pos == PositionReconciled(
            0, NOW, "ETHUSDT", -10, 364108
        )  # 3641.075 rounds half-even
    env = msgspec.json.decode(read(messages, "http_get_positions"), type=RestEnvelope)
    rows = msgspec.json.decode(
        json.dumps(json.loads(bytes(env.result))["list"]), type=list[PositionRow]
    )
    positions = [position_from_row(r, SCALES, NOW) for r in rows]
    assert [(p.symbol, p.position_lots, p.avg_price_ticks) for p in positions] == [
        ("BTCUSDT", 500, 500000), ("ETHUSDT", -5000, 300000), ("SOLUSDT", 0, 0),
    ]  # fmt: skip


def test_op_answers(messages: Path) -> None:
    assert parse_private(read(messages, "ws_auth_success"), SCALES, NOW) == OpAnswer(
        "auth", True, ""
    )
    assert parse_private(read(messages, "ws_auth_failure"), SCALES, NOW) == OpAnswer(
        "auth", False, "Invalid apikey"
    )
    ack = parse_public(read(messages, "ws_subscription_ack"), SCALES, NOW)
    assert ack == OpAnswer("subscribe", True, "")
    failure = parse_public(read(messages, "ws_subscription_failure"), SCALES, NOW)
    assert isinstance(failure, OpAnswer)
    assert not failure.success
    assert "Invalid topic" in failure.message
    assert parse_private(read(messages, "ws_account_wallet"), SCALES, NOW) == []
    assert parse_private(read(messages, "ws_order_response"), SCALES, NOW) == OpAnswer(
        "order.create", True, "OK"
    )


def _rows(messages: Path, name: str) -> bytes:
    env = msgspec.json.decode(read(messages, name), type=RestEnvelope)
    assert env.retCode == 0
    return json.dumps(json.loads(bytes(env.result))["list"]).encode()


def test_rest_shapes(messages: Path) -> None:
    execs = msgspec.json.decode(_rows(messages, "http_get_executions"), type=list[ExecutionRow])
    fills = [fill_from_row(r, SCALES, NOW) for r in execs]
    assert [(f.symbol, f.side, f.qty_lots, f.leaves_lots) for f in fills] == [
        ("BTCUSDT", BUY, 100, 0), ("ETHUSDT", SELL, 500, 500),
    ]  # fmt: skip
    orders = msgspec.json.decode(_rows(messages, "http_get_orders_realtime"), type=list[OrderRow])
    assert orders[0].order_link_id == "client-open-1"
    assert orders[0].order_status == "New"
    linear = msgspec.json.decode(
        _rows(messages, "http_get_instruments_linear"), type=list[InstrumentRow]
    )
    info = instrument_from_row(linear[0], NOW)
    assert info == InstrumentInfo(0, NOW, "bybit", "BTCUSDT", "0.5", "0.001", "0.001", "5")
    spot = msgspec.json.decode(
        _rows(messages, "http_get_instruments_spot"), type=list[InstrumentRow]
    )
    assert instrument_from_row(spot[1], NOW).lot_size == "0.00001"  # basePrecision
    wallet = msgspec.json.decode(read(messages, "http_get_wallet_balance"), type=RestEnvelope)
    assert wallet.retCode == 0


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        (b'{"topic":"orderbook.50.BTCUSDT","type":"delta","data":{', "not a Bybit frame"),
        (b"[1, 2, 3]", "not a Bybit frame"),
        (b'{"hello": 1}', "neither topic nor op"),
        (b'{"topic":"kline.1.BTCUSDT","data":[]}', "unexpected topic"),
        (
            b'{"topic":"orderbook.50.DOGEUSDT","type":"delta","data":{"s":"DOGEUSDT","b":[],"a":[],"u":1}}',
            "no instrument info",
        ),
        (
            b'{"topic":"orderbook.50.BTCUSDT","type":"delta","data":{"s":"BTCUSDT","b":[["1.05","1"]],"a":[],"u":1}}',
            "not a multiple",
        ),
        (
            b'{"topic":"orderbook.50.BTCUSDT","type":"weird","data":{"s":"BTCUSDT","b":[],"a":[],"u":1}}',
            "unknown book message type",
        ),
        (
            b'{"topic":"publicTrade.BTCUSDT","data":[{"T":1,"s":"BTCUSDT","S":"Up","v":"1","p":"1","i":"x"}]}',
            "unknown side",
        ),
    ],
)
def test_malformed_frames_say_why(frame: bytes, why: str) -> None:
    with pytest.raises(MalformedFrameError, match=why):
        parse_public(frame, SCALES, NOW)


def test_real_archive_replays_to_the_documented_book(bybit_archive: Path) -> None:
    scales = {"XRPUSDT": SymbolScales(Scale("0.0001"), Scale("1"))}
    book = L2Book("XRPUSDT")
    ours = []
    with zipfile.ZipFile(bybit_archive) as archive:
        [member] = archive.namelist()
        for line in archive.read(member).splitlines():
            for event in parse_public(line, scales, NOW):  # type: ignore[union-attr]
                assert isinstance(event, BookSnapshot | BookDelta)
                book.apply(event)
                ours.append(event)
    assert (book.best_bid, book.best_ask, book.update_id) == (
        (19537, 10605),
        (19538, 6702),
        20254918,
    )
    assert book.depth == (500, 500)
    assert not book.stale
    # The journal's archive reader sees the same events (it stamps ts_local_ns from ts).
    theirs = [
        e
        for e in read_archive(bybit_archive, tick_size="0.0001", lot_size="1")
        if not isinstance(e, InstrumentInfo)
    ]
    assert [msgspec.structs.replace(e, ts_local_ns=0) for e in ours] == [
        msgspec.structs.replace(e, ts_local_ns=0) for e in theirs
    ]


def test_local_venue_speaks_the_real_shapes(messages: Path) -> None:
    """Every field the local venue sends exists, with the same JSON type, in Bybit's shapes."""
    info = InstrumentInfo(0, 0, "bybit", "BTCUSDT", "0.5", "0.001", "0.001", "5")
    ex = Exchange([info], clock_ms=lambda: 1_700_000_000_000)
    published: list[tuple[str, dict[str, object]]] = []
    ex.publish = lambda topic, msg: published.append((topic, msg))
    ex.set_level("BTCUSDT", SELL, 100_001, 1000)
    ex.create(
        symbol="BTCUSDT",
        side=BUY,
        order_type="Limit",
        qty_lots=5,
        price_ticks=100_001,
        tif="GTC",
        link_id="asn-1-1",
    )

    def sample(name: str, topic: str | None = None) -> dict[str, object]:
        doc = json.loads(read(messages, name))
        data = doc["result"]["list"] if "result" in doc else doc["data"]
        row: dict[str, object] = data[0] if isinstance(data, list) else data
        return row

    def same_shape(ours: dict[str, object], real: dict[str, object]) -> None:
        for key, value in ours.items():
            assert key in real, f"{key!r} is not a Bybit field"
            if real[key] is not None:
                assert type(value) is type(real[key]), f"{key!r}: {value!r} vs {real[key]!r}"

    rows = {topic: msg["data"] for topic, msg in published}
    same_shape(rows["execution"][0], sample("ws_account_execution"))  # type: ignore[index]
    same_shape(rows["order"][0], sample("ws_account_order_filled"))  # type: ignore[index]
    position_fields = sample("ws_account_position") | sample("http_get_positions")
    same_shape(rows["position"][0], position_fields)  # type: ignore[index]
    same_shape(instrument_row(ex, "BTCUSDT"), sample("http_get_instruments_linear"))
    trade = rows["publicTrade.BTCUSDT"][0]  # type: ignore[index]
    same_shape(trade, sample("ws_public_trade"))


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from([("0.5", "0.001"), ("0.0001", "1"), ("0.01", "0.1"), ("25", "0.00001")]),
    st.lists(st.tuples(st.integers(1, 10**7), st.integers(1, 10**9)), min_size=1, max_size=30),
)
def test_local_venue_book_round_trips_exactly(
    steps: tuple[str, str], levels: list[tuple[int, int]]
) -> None:
    """Whatever the grid, what the local venue publishes parses back to the same integers."""
    tick, lot = steps
    info = InstrumentInfo(0, 0, "bybit", "XUSDT", tick, lot, lot, "0")
    published: list[dict[str, object]] = []
    ex = Exchange([info], clock_ms=lambda: 1, publish=lambda topic, msg: published.append(msg))
    first = ex.book_message("XUSDT")  # empty, u = 0: every level then arrives as a delta
    mid = 5 * 10**6
    for price, lots in levels:
        side = BUY if price < mid else SELL
        ex.set_level("XUSDT", side, price if price != mid else mid + 1, lots)
    scales = {"XUSDT": SymbolScales(Scale(tick), Scale(lot))}
    bids, asks = ex.levels("XUSDT")
    for messages in ([first, *published], [ex.book_message("XUSDT")]):
        book = L2Book("XUSDT")
        for msg in messages:
            for event in parse_public(msgspec.json.encode(msg), scales, NOW):  # type: ignore[union-attr]
                assert isinstance(event, BookSnapshot | BookDelta)
                book.apply(event)
        assert not book.stale
        assert (book.bids(50), book.asks(50)) == (bids, asks)
