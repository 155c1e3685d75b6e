"""ccxt (``ccxt.async_support.bybit``, and ``ccxt.pro`` for the streams) as a third-party
client of the local Bybit venue, over real loopback sockets: what a ccxt user calls in
normal use must succeed with the right values. ccxt is pointed at the local URLs by
overriding its ``urls['api']`` entries; nothing of its start-up (currencies, account checks)
is switched off, because real Bybit answers those too."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from .bybit_helpers import KEY, SECRET, WAIT_S
from .thirdparty_helpers import VenueThread, venue_in_thread

_REASON = "ccxt is not installed (pip install -e '.[test]'): the third-party client tested here"
ccxt = pytest.importorskip("ccxt", reason=_REASON)
ccxt_async = pytest.importorskip("ccxt.async_support", reason=_REASON)
ccxt_pro = pytest.importorskip("ccxt.pro", reason=_REASON)

SYMBOL = "BTC/USDT:USDT"
SCENARIO_S = 60.0  # one whole client session, on a loaded machine


def _client(module: Any, v: VenueThread) -> Any:
    exchange = module.bybit({"apiKey": KEY, "secret": SECRET, "timeout": int(WAIT_S * 1000)})
    api = exchange.urls["api"]
    for name in list(api):
        if name != "ws":
            api[name] = v.venue.rest_url
    if "ws" in api:
        for market_type in api["ws"]["public"]:
            api["ws"]["public"][market_type] = v.venue.public_url
        api["ws"]["private"]["contract"] = v.venue.private_url
        api["ws"]["private"]["spot"]["unified"] = v.venue.private_url
    return exchange


def _position(positions: list[dict[str, Any]]) -> tuple[str | None, float]:
    """(side, contracts) of the one BTCUSDT position (flat: contracts 0)."""
    rows = [p for p in positions if p["symbol"] == SYMBOL and p["contracts"]]
    assert len(rows) <= 1, rows
    return (rows[0]["side"], rows[0]["contracts"]) if rows else (None, 0.0)


async def _trade_session(v: VenueThread) -> None:
    ex = _client(ccxt_async, v)
    try:
        markets = await ex.load_markets()
        assert set(markets) == {"BTC/USDT:USDT", "ETH/USDT:USDT"}  # spot/inverse: empty
        m = markets[SYMBOL]
        assert (m["id"], m["type"], m["linear"], m["active"]) == ("BTCUSDT", "swap", True, True)
        assert (m["precision"]["price"], m["precision"]["amount"]) == (0.5, 0.001)
        assert (m["limits"]["amount"]["min"], m["limits"]["cost"]["min"]) == (0.001, 5.0)
        assert "USDT" in ex.currencies  # from /v5/asset/coin/query-info

        balance = await ex.fetch_balance()
        assert (balance["USDT"]["total"], balance["USDT"]["used"]) == (10_000.0, 0.0)
        assert _position(await ex.fetch_positions([SYMBOL])) == (None, 0.0)

        book = await ex.fetch_order_book(SYMBOL, 5)
        assert [book["bids"], book["asks"]] == list(v.book("BTCUSDT", 5))
        assert book["bids"][0] == [50_000.0, 1.0]

        # A resting limit order, amended, then cancelled by its orderId.
        limit = await ex.create_order(SYMBOL, "limit", "buy", 0.01, 49_990)
        [open_order] = await ex.fetch_open_orders(SYMBOL)
        assert open_order["id"] == limit["id"]
        assert (open_order["price"], open_order["amount"], open_order["filled"]) == (
            49_990.0,
            0.01,
            0.0,
        )
        assert (open_order["side"], open_order["status"], open_order["type"]) == (
            "buy",
            "open",
            "limit",
        )
        assert open_order["clientOrderId"] is None  # none given: Bybit's empty orderLinkId
        assert open_order["info"]["orderLinkId"] == ""
        await ex.edit_order(limit["id"], SYMBOL, "limit", "buy", 0.02, 49_980)
        [amended] = await ex.fetch_open_orders(SYMBOL)
        assert (amended["id"], amended["price"], amended["amount"]) == (limit["id"], 49_980, 0.02)
        assert [49_980.0, 0.02] in v.book("BTCUSDT", 50)[0]  # it rests in the venue's book
        await ex.cancel_order(limit["id"], SYMBOL)
        assert await ex.fetch_open_orders(SYMBOL) == []

        # A limit order with a client id, cancelled by that id (orderLinkId) alone.
        tagged = await ex.create_order(
            SYMBOL, "limit", "sell", 0.005, 50_100, {"clientOrderId": "ccxt-1"}
        )
        [open_tagged] = await ex.fetch_open_orders(SYMBOL)
        assert (open_tagged["id"], open_tagged["clientOrderId"]) == (tagged["id"], "ccxt-1")
        await ex.cancel_order(None, SYMBOL, {"orderLinkId": "ccxt-1"})
        assert await ex.fetch_open_orders(SYMBOL) == []

        # A market buy takes the best ask; a reduce-only market sell takes the best bid.
        buy = await ex.create_order(SYMBOL, "market", "buy", 0.003)
        [fill] = await ex.fetch_my_trades(SYMBOL)
        assert (fill["order"], fill["side"], fill["price"], fill["amount"]) == (
            buy["id"],
            "buy",
            50_000.5,
            0.003,
        )
        assert (fill["takerOrMaker"], fill["fee"]["currency"]) == ("taker", "USDT")
        assert fill["fee"]["cost"] == pytest.approx(150.0015 * 0.00055, abs=1e-8)
        [long] = [p for p in await ex.fetch_positions([SYMBOL]) if p["contracts"]]
        assert (long["side"], long["contracts"], long["entryPrice"]) == ("long", 0.003, 50_000.5)

        sell = await ex.create_order(SYMBOL, "market", "sell", 0.001, None, {"reduceOnly": True})
        assert _position(await ex.fetch_positions([SYMBOL])) == ("long", 0.002)
        with pytest.raises(ccxt.InvalidOrder):  # reduce-only cannot add to the long
            await ex.create_order(SYMBOL, "market", "buy", 0.001, None, {"reduceOnly": True})

        # History: the two fills, the closed and the cancelled orders, with their values.
        fills = {t["order"]: t for t in await ex.fetch_my_trades(SYMBOL)}
        assert set(fills) == {buy["id"], sell["id"]}
        assert (fills[sell["id"]]["side"], fills[sell["id"]]["price"]) == ("sell", 50_000.0)
        closed = {o["id"]: o for o in await ex.fetch_closed_orders(SYMBOL)}
        assert set(closed) == {buy["id"], sell["id"]}
        assert (closed[buy["id"]]["filled"], closed[buy["id"]]["average"]) == (0.003, 50_000.5)
        assert (closed[sell["id"]]["filled"], closed[sell["id"]]["reduceOnly"]) == (0.001, True)
        cancelled = {o["id"]: o["status"] for o in await ex.fetch_canceled_orders(SYMBOL)}
        assert cancelled == {limit["id"]: "canceled", tagged["id"]: "canceled"}

        # The wallet: the deposit, less both fees, plus the PnL of the 0.001 closed.
        fees = sum(Decimal(t["info"]["execFee"]) for t in fills.values())
        pnl = (Decimal("50000.0") - Decimal("50000.5")) * Decimal("0.001")
        after = await ex.fetch_balance()
        assert Decimal(str(after["USDT"]["total"])) == 10_000 - fees + pnl
        assert after["USDT"]["used"] == pytest.approx(0.002 * 50_000.5 / 10)  # position margin
    finally:
        await ex.close()


def test_ccxt_trades_against_the_local_venue() -> None:
    with venue_in_thread() as v:
        asyncio.run(asyncio.wait_for(_trade_session(v), SCENARIO_S))


async def _private_subscribed(v: VenueThread, topics: set[str]) -> None:
    """Until a private connection of the venue has subscribed ``topics`` (the caller bounds
    the wait). Polled: the condition lives in the venue's trio thread, which cannot set an
    asyncio event, and ccxt exposes no subscription acknowledgement."""
    hub = v.venue.hub

    def subscribed() -> bool:
        return any(c.private and topics <= c.topics for c in v.call(lambda: list(hub.conns)))

    while not subscribed():  # noqa: ASYNC110 -- see above
        await asyncio.sleep(0.01)


async def _stream_session(v: VenueThread) -> None:
    ex = _client(ccxt_pro, v)
    try:
        await ex.load_markets()
        book = await ex.watch_order_book(SYMBOL)
        assert [book["bids"][:5], book["asks"][:5]] == list(v.book("BTCUSDT", 5))
        orders = asyncio.ensure_future(ex.watch_orders(SYMBOL))
        trades = asyncio.ensure_future(ex.watch_my_trades(SYMBOL))
        balance = asyncio.ensure_future(ex.watch_balance())
        await _private_subscribed(v, {"order", "execution", "wallet"})
        buy = await ex.create_order(SYMBOL, "market", "buy", 0.003)
        [order] = [o for o in await orders if o["id"] == buy["id"]]
        assert (order["side"], order["amount"], order["type"]) == ("buy", 0.003, "market")
        [fill] = await trades
        assert (fill["order"], fill["price"], fill["amount"]) == (buy["id"], 50_000.5, 0.003)
        assert fill["fee"]["cost"] == pytest.approx(150.0015 * 0.00055, abs=1e-8)
        wallet = await balance
        fee = Decimal(fill["info"]["execFee"])
        assert Decimal(wallet["info"][0]["totalWalletBalance"]) == 10_000 - fee
        while True:  # the position stream: first ccxt's snapshot, then the venue's pushes
            positions = await ex.watch_positions([SYMBOL])
            if _position(positions) == ("long", 0.003):
                break
        [long] = [p for p in positions if p["contracts"]]
        assert long["entryPrice"] == 50_000.5
        assert long["markPrice"] == 50_000.25  # the mid of the book after the fill
    finally:
        await ex.close()


def test_ccxt_pro_streams_parse_the_local_venue() -> None:
    """ccxt.pro's parsers read the local venue's order book and private topics (order,
    execution, wallet, position): the fields it needs are where Bybit puts them."""
    with venue_in_thread() as v:
        asyncio.run(asyncio.wait_for(_stream_session(v), SCENARIO_S))
