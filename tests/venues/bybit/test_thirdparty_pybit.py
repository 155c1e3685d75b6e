"""Bybit's own SDK (pybit, ``pybit.unified_trading.HTTP``) as a third-party client of the local
Bybit venue, over real loopback sockets: every call a pybit user makes in normal use must
succeed with the right values, and a bad one must fail with Bybit's code. pybit is pointed at
the local venue by its ``endpoint`` attribute (set from ``testnet``/``domain``/``tld`` in its
constructor; there is no URL argument)."""

from __future__ import annotations

import queue
import time
from decimal import Decimal
from typing import Any

import pytest

from .bybit_helpers import KEY, SECRET, WAIT_S
from .thirdparty_helpers import VenueThread, venue_in_thread

_REASON = "pybit is not installed (pip install -e '.[test]'): the third-party client tested here"
unified_trading = pytest.importorskip("pybit.unified_trading", reason=_REASON)
InvalidRequestError = pytest.importorskip("pybit.exceptions", reason=_REASON).InvalidRequestError

LINEAR = {"category": "linear", "symbol": "BTCUSDT"}


def _session(v: VenueThread) -> Any:
    session = unified_trading.HTTP(
        testnet=True, api_key=KEY, api_secret=SECRET, timeout=WAIT_S, max_retries=1
    )
    session.endpoint = v.venue.rest_url
    return session


def _result(answer: dict[str, Any]) -> Any:
    assert (answer["retCode"], answer["retMsg"]) == (0, "OK")
    assert SECRET not in repr(answer)
    return answer["result"]


def _code(call: Any, **params: Any) -> int:
    """The Bybit retCode pybit raises for a refused call."""
    with pytest.raises(InvalidRequestError) as refused:
        call(**params)
    return int(refused.value.status_code)


def test_pybit_market_data_and_account() -> None:
    with venue_in_thread() as v:
        s = _session(v)
        server_s = int(_result(s.get_server_time())["timeSecond"])
        assert abs(server_s - time.time()) < 60

        instruments = _result(s.get_instruments_info(category="linear"))["list"]
        assert [i["symbol"] for i in instruments] == ["BTCUSDT", "ETHUSDT"]
        btc = instruments[0]
        assert (btc["priceFilter"]["tickSize"], btc["lotSizeFilter"]["qtyStep"]) == ("0.5", "0.001")
        assert (btc["contractType"], btc["status"], btc["settleCoin"]) == (
            "LinearPerpetual",
            "Trading",
            "USDT",
        )
        assert _result(s.get_instruments_info(category="linear", status="PreLaunch"))["list"] == []
        for other in ("spot", "inverse", "option"):
            assert _result(s.get_instruments_info(category=other))["list"] == []
        assert _code(s.get_instruments_info) == 10001  # no category
        assert _code(s.get_instruments_info, category="futures") == 10001

        book = _result(s.get_orderbook(**LINEAR, limit=2))
        bids, asks = v.book("BTCUSDT", 2)
        assert [[float(p), float(q)] for p, q in book["b"]] == bids
        assert [[float(p), float(q)] for p, q in book["a"]] == asks
        assert (book["s"], book["b"][0], book["a"][0]) == (
            "BTCUSDT",
            ["50000.0", "1.000"],
            ["50000.5", "1.000"],
        )
        assert _code(s.get_orderbook, category="spot", symbol="BTCUSDT") == 10001
        assert _code(s.get_orderbook, category="linear", symbol="NOPEUSDT") == 10001

        [ticker] = _result(s.get_tickers(**LINEAR))["list"]
        assert (ticker["bid1Price"], ticker["ask1Price"], ticker["markPrice"]) == (
            "50000.0",
            "50000.5",
            "50000.25",
        )
        assert ticker["lastPrice"] == "50000.25"  # no trade yet: the mark
        assert _result(s.get_tickers(category="spot"))["list"] == []

        [wallet] = _result(s.get_wallet_balance(accountType="UNIFIED"))["list"]
        assert (wallet["accountType"], wallet["totalEquity"]) == ("UNIFIED", "10000")
        [usdt] = wallet["coin"]
        assert (usdt["coin"], usdt["walletBalance"], usdt["equity"]) == ("USDT", "10000", "10000")
        assert _result(s.get_account_info())["unifiedMarginStatus"] == 6  # unified (UTA 2.0)
        key = _result(s.get_api_key_information())
        assert (key["apiKey"], key["readOnly"], key["uta"], key["secret"]) == (KEY, 0, 1, "")
        coins = {row["coin"] for row in _result(s.get_coin_info())["rows"]}
        assert coins == {"BTC", "ETH", "USDT"}
        [flat] = _result(s.get_positions(**LINEAR))["list"]
        assert (flat["size"], flat["side"], flat["liqPrice"]) == ("0.000", "", "")


def test_pybit_trades_amends_cancels_and_reads_history() -> None:
    with venue_in_thread() as v:
        s = _session(v)

        # No orderLinkId given: answers and rows carry an empty one; amend/cancel by orderId.
        plain = _result(
            s.place_order(**LINEAR, side="Buy", orderType="Limit", qty="0.01", price="49990")
        )
        assert plain["orderLinkId"] == ""
        [row] = _result(s.get_open_orders(**LINEAR))["list"]
        assert (row["orderId"], row["orderLinkId"], row["price"], row["qty"]) == (
            plain["orderId"],
            "",
            "49990.0",
            "0.010",
        )
        assert (row["orderStatus"], row["leavesQty"], row["avgPrice"]) == ("New", "0.010", "0")
        _result(s.amend_order(**LINEAR, orderId=plain["orderId"], qty="0.02", price="49980"))
        [row] = _result(s.get_open_orders(**LINEAR, orderId=plain["orderId"]))["list"]
        assert (row["price"], row["qty"], row["leavesValue"]) == ("49980.0", "0.020", "999.6")
        _result(s.cancel_order(**LINEAR, orderId=plain["orderId"]))
        assert _result(s.get_open_orders(**LINEAR))["list"] == []

        # With an orderLinkId: amend and cancel by it; a second cancel is "order not exists".
        _result(
            s.place_order(
                **LINEAR,
                side="Sell",
                orderType="Limit",
                qty="0.005",
                price="50100",
                orderLinkId="py-1",
            )
        )
        _result(s.amend_order(**LINEAR, orderLinkId="py-1", price="50200"))
        [row] = _result(s.get_open_orders(**LINEAR))["list"]
        assert (row["orderLinkId"], row["price"], row["side"]) == ("py-1", "50200.0", "Sell")
        assert _code(s.cancel_order, **LINEAR, orderId="999", orderLinkId="py-1") == 110001
        assert _code(s.cancel_order, **LINEAR) == 10001  # neither id
        _result(s.cancel_order(**LINEAR, orderLinkId="py-1"))
        assert _code(s.cancel_order, **LINEAR, orderLinkId="py-1") == 110001
        assert _code(s.amend_order, **LINEAR, orderId=plain["orderId"], price="1") == 110001

        # Market buy, then a reduce-only market sell; reduce-only cannot grow the position.
        buy = _result(s.place_order(**LINEAR, side="Buy", orderType="Market", qty="0.003"))
        [fill] = _result(s.get_executions(**LINEAR))["list"]
        assert (fill["orderId"], fill["orderLinkId"], fill["execPrice"], fill["execQty"]) == (
            buy["orderId"],
            "",
            "50000.5",
            "0.003",
        )
        assert (fill["execValue"], fill["isMaker"], fill["closedSize"]) == (
            "150.0015",
            False,
            "0.000",
        )
        [pos] = _result(s.get_positions(**LINEAR))["list"]
        assert (pos["side"], pos["size"], pos["avgPrice"], pos["positionValue"]) == (
            "Buy",
            "0.003",
            "50000.5",
            "150.0015",
        )
        [trade] = _result(s.get_public_trade_history(**LINEAR))["list"]
        assert (trade["price"], trade["size"], trade["side"]) == ("50000.5", "0.003", "Buy")
        [ticker] = _result(s.get_tickers(**LINEAR))["list"]
        assert (ticker["lastPrice"], ticker["volume24h"]) == ("50000.5", "0.003")
        mark = Decimal(pos["markPrice"])
        assert Decimal(pos["unrealisedPnl"]) == (mark - Decimal("50000.5")) * Decimal("0.003")
        assert Decimal(pos["liqPrice"]) < Decimal("50000.5")  # a long liquidates below entry

        sell = _result(
            s.place_order(**LINEAR, side="Sell", orderType="Market", qty="0.001", reduceOnly=True)
        )
        [pos] = _result(s.get_positions(**LINEAR))["list"]
        assert (pos["side"], pos["size"], pos["avgPrice"]) == ("Buy", "0.002", "50000.5")
        pnl = (Decimal("50000.0") - Decimal("50000.5")) * Decimal("0.001")
        fees = sum(Decimal(f["execFee"]) for f in _result(s.get_executions(**LINEAR))["list"])
        assert Decimal(pos["cumRealisedPnl"]) == pnl - fees
        refused = {"side": "Buy", "orderType": "Market", "qty": "0.001", "reduceOnly": True}
        assert _code(s.place_order, **LINEAR, **refused) == 110017

        # History: newest first; filled orders with their averages and fees, cancelled ones.
        trades = _result(s.get_public_trade_history(**LINEAR))["list"]
        assert [(t["side"], t["price"]) for t in trades] == [
            ("Sell", "50000.0"),
            ("Buy", "50000.5"),
        ]
        history = _result(s.get_order_history(**LINEAR))["list"]
        assert [h["orderId"] for h in history[:2]] == [sell["orderId"], buy["orderId"]]
        filled = {
            h["orderId"]: h
            for h in _result(s.get_order_history(**LINEAR, orderStatus="Filled"))["list"]
        }
        assert set(filled) == {buy["orderId"], sell["orderId"]}
        b = filled[buy["orderId"]]
        assert (b["avgPrice"], b["cumExecQty"], b["cumExecValue"], b["leavesQty"]) == (
            "50000.5",
            "0.003",
            "150.0015",
            "0.000",
        )
        assert Decimal(b["cumExecFee"]) == Decimal(fill["execFee"])
        assert filled[sell["orderId"]]["reduceOnly"] is True
        cancelled = _result(s.get_order_history(**LINEAR, orderStatus="Cancelled"))["list"]
        assert {(c["orderLinkId"], c["cancelType"]) for c in cancelled} == {
            ("", "CancelByUser"),
            ("py-1", "CancelByUser"),
        }

        [wallet] = _result(s.get_wallet_balance(accountType="UNIFIED"))["list"]
        assert Decimal(wallet["totalWalletBalance"]) == 10_000 + pnl - fees


def _local_websocket(url: str) -> Any:
    """pybit's ``WebSocket`` connecting to ``url``: it formats its URL from Bybit's hostnames
    inside ``_connect`` (no URL argument), so the override is there."""

    pybit_websocket: Any = unified_trading.WebSocket

    class LocalWebSocket(pybit_websocket):  # type: ignore[misc]
        def _connect(self, _bybit_url: str) -> None:
            super()._connect(url)

    return LocalWebSocket


def _wait(condition: Any, what: str) -> None:
    """Until ``condition()`` (state of the venue's thread, polled); fail after ``WAIT_S``."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_pybit_websocket_reads_the_private_topics() -> None:
    """Bybit's SDK authenticates on the private stream (its ``expires`` is a number), takes the
    pushes, and finds in them the fields Bybit sends after a fill."""
    with venue_in_thread() as v:
        pushes: queue.Queue[dict[str, Any]] = queue.Queue()
        ws = _local_websocket(v.venue.private_url)(
            channel_type="private", testnet=True, api_key=KEY, api_secret=SECRET, retries=3
        )
        try:
            for stream in (
                ws.order_stream,
                ws.execution_stream,
                ws.position_stream,
                ws.wallet_stream,
            ):
                stream(pushes.put)
            hub = v.venue.hub
            topics = {"order", "execution", "position", "wallet"}
            _wait(
                lambda: any(
                    c.private and topics <= c.topics for c in v.call(lambda: list(hub.conns))
                ),
                "pybit's subscriptions",
            )
            buy = _result(
                _session(v).place_order(**LINEAR, side="Buy", orderType="Market", qty="0.003")
            )
            last: dict[str, dict[str, Any]] = {}
            while "wallet" not in last or last.get("order", {}).get("orderStatus") != "Filled":
                message = pushes.get(timeout=WAIT_S)
                [last[message["topic"]]] = message["data"]
        finally:
            ws.exit()
    order, fill, position, wallet = (last[t] for t in ("order", "execution", "position", "wallet"))
    assert (order["orderId"], order["orderLinkId"], order["avgPrice"]) == (
        buy["orderId"],
        "",
        "50000.5",
    )
    assert (order["cumExecQty"], order["cumExecValue"], order["leavesQty"]) == (
        "0.003",
        "150.0015",
        "0.000",
    )
    assert order["cumExecFee"] == fill["execFee"]
    assert (fill["execPrice"], fill["execQty"], fill["feeRate"], fill["isMaker"]) == (
        "50000.5",
        "0.003",
        "0.000550",
        False,
    )
    assert fill["markPrice"] == position["markPrice"] == "50000.25"  # the mid after the fill
    assert (position["side"], position["size"], position["entryPrice"]) == (
        "Buy",
        "0.003",
        "50000.5",
    )
    assert (position["positionValue"], position["unrealisedPnl"]) == ("150.0015", "-0.00075")
    assert Decimal(position["liqPrice"]) < Decimal("50000.5")
    [usdt] = wallet["coin"]
    assert Decimal(usdt["walletBalance"]) == 10_000 - Decimal(fill["execFee"])
