"""The local venue's public REST market data: ``/v5/market/*`` answers in Bybit's shapes.

The venue lists linear USDT perpetuals only. A request for another valid category (``spot``,
``inverse``, ``option``) answers an empty list where Bybit answers a list, and "symbol
invalid" where it answers one symbol's data, so a client that loads every category (ccxt does)
starts, and one that asks for a spot book is told plainly. A missing or unknown category is a
params error (10001), as on Bybit.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from asnd.venues.bybit import codes
from asnd.venues.bybit.local.exchange import Exchange, ExchangeError

__all__ = [
    "CATEGORIES",
    "instrument_row",
    "instruments_info",
    "orderbook",
    "recent_trades",
    "server_time",
    "tickers",
]

CATEGORIES: Final = frozenset({"linear", "inverse", "spot", "option"})
_DAY_MS: Final = 86_400_000
_FUNDING_MS: Final = 8 * 3_600_000

Params = dict[str, Any]


def _category(p: Params) -> str:
    category = p.get("category", "")
    if not category:
        raise ExchangeError(codes.PARAMS_ERROR, "params error: category is required")
    if category not in CATEGORIES:
        raise ExchangeError(codes.PARAMS_ERROR, f"params error: illegal category {category!r}")
    return str(category)


def _limit(p: Params, default: int, most: int) -> int:
    try:
        limit = int(p.get("limit") or default)
    except ValueError:
        raise ExchangeError(codes.PARAMS_ERROR, f"params error: limit {p['limit']!r}") from None
    if not 1 <= limit <= most:
        raise ExchangeError(codes.PARAMS_ERROR, f"params error: limit must be 1..{most}")
    return limit


def _linear_symbol(ex: Exchange, p: Params) -> str:
    """The one symbol a request is about; only linear symbols exist here."""
    category = _category(p)
    symbol = str(p.get("symbol", ""))
    if not symbol:
        raise ExchangeError(codes.PARAMS_ERROR, "params error: symbol is required")
    if category != "linear" or symbol not in ex.markets:
        raise ExchangeError(codes.PARAMS_ERROR, f"params error: symbol invalid: {symbol}")
    return symbol


def server_time(ex: Exchange, p: Params, api_key: str, now_ms: int) -> Any:
    return {"timeSecond": str(now_ms // 1000), "timeNano": str(now_ms * 1_000_000)}


def instrument_row(ex: Exchange, symbol: str) -> dict[str, Any]:
    """The ``/v5/market/instruments-info`` row of ``symbol`` (a linear perpetual, trading,
    unless the account mode says otherwise)."""
    m = ex.market(symbol)
    info = m.info
    return {
        "symbol": symbol, "contractType": ex.mode.contract_of(symbol),
        "status": ex.mode.status_of(symbol),
        "baseCoin": symbol.removesuffix("USDT"), "quoteCoin": "USDT",
        "launchTime": "1585526400000", "deliveryTime": "0", "deliveryFeeRate": "",
        "priceScale": str(m.tick.decimals),
        "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
        "priceFilter": {
            "minPrice": info.tick_size, "maxPrice": "1000000", "tickSize": info.tick_size,
        },
        "lotSizeFilter": {
            "maxOrderQty": "1000000", "minOrderQty": info.min_qty, "qtyStep": info.lot_size,
            "postOnlyMaxOrderQty": "1000000", "maxMktOrderQty": "1000000",
            "minNotionalValue": info.min_notional,
        },
        "unifiedMarginTrade": True, "fundingInterval": 480, "settleCoin": "USDT",
    }  # fmt: skip


def instruments_info(ex: Exchange, p: Params, api_key: str, now_ms: int) -> Any:
    """One symbol's row whatever its status; without ``symbol``, those in ``status``
    (default ``Trading``)."""
    category = _category(p)
    rows = []
    if category == "linear":
        if p.get("symbol"):
            rows = [instrument_row(ex, p["symbol"])] if p["symbol"] in ex.markets else []
        else:
            status = p.get("status") or "Trading"
            rows = [instrument_row(ex, s) for s in ex.markets if ex.mode.status_of(s) == status]
    return {"category": category, "list": rows, "nextPageCursor": ""}


def orderbook(ex: Exchange, p: Params, api_key: str, now_ms: int) -> Any:
    symbol = _linear_symbol(ex, p)
    m = ex.market(symbol)
    bids, asks = ex.levels(symbol, _limit(p, 25, 500))
    return {
        "s": symbol,
        "b": [[m.tick.text(price), m.lot.text(lots)] for price, lots in bids],
        "a": [[m.tick.text(price), m.lot.text(lots)] for price, lots in asks],
        "ts": now_ms,
        "u": m.update_id,
        "seq": m.update_id,
        "cts": now_ms,
    }


def _trade_row(symbol: str, trade: dict[str, Any]) -> dict[str, Any]:
    """A ``publicTrade`` row as ``/v5/market/recent-trade`` lists it."""
    return {
        "execId": trade["i"], "symbol": symbol, "price": trade["p"], "size": trade["v"],
        "side": trade["S"], "time": str(trade["T"]), "isBlockTrade": trade["BT"],
    }  # fmt: skip


def recent_trades(ex: Exchange, p: Params, api_key: str, now_ms: int) -> Any:
    symbol = _linear_symbol(ex, p)
    newest_first = list(reversed(ex.market(symbol).trades))[: _limit(p, 500, 1000)]
    return {"category": "linear", "list": [_trade_row(symbol, t) for t in newest_first]}


def _ticker(ex: Exchange, symbol: str, now_ms: int) -> dict[str, Any]:
    m = ex.market(symbol)
    day = [t for t in m.trades if t["T"] > now_ms - _DAY_MS]
    last = m.last_price()
    prices = [Decimal(t["p"]) for t in day]
    volume = sum((Decimal(t["v"]) for t in day), Decimal(0))
    turnover = sum((Decimal(t["v"]) * Decimal(t["p"]) for t in day), Decimal(0))
    opened = prices[0] if prices else Decimal(last)
    change = (Decimal(last) / opened - 1).quantize(Decimal("0.000001")) if opened else 0
    bids, asks = ex.levels(symbol, 1)
    bid_price, bid_size = (m.tick.text(bids[0][0]), m.lot.text(bids[0][1])) if bids else ("", "")
    ask_price, ask_size = (m.tick.text(asks[0][0]), m.lot.text(asks[0][1])) if asks else ("", "")
    mark = format(m.mark(), "f")
    return {
        "symbol": symbol, "lastPrice": last, "indexPrice": mark, "markPrice": mark,
        "prevPrice24h": format(opened, "f"), "price24hPcnt": format(change, "f"),
        "highPrice24h": format(max(prices, default=Decimal(last)), "f"),
        "lowPrice24h": format(min(prices, default=Decimal(last)), "f"),
        "prevPrice1h": format(opened, "f"), "openInterest": "0", "openInterestValue": "0",
        "turnover24h": format(turnover, "f"), "volume24h": format(volume, "f"),
        "fundingRate": "0.0001", "nextFundingTime": str((now_ms // _FUNDING_MS + 1) * _FUNDING_MS),
        "predictedDeliveryPrice": "", "basisRate": "", "deliveryFeeRate": "",
        "deliveryTime": "0", "bid1Price": bid_price, "bid1Size": bid_size,
        "ask1Price": ask_price, "ask1Size": ask_size, "basis": "",
    }  # fmt: skip


def tickers(ex: Exchange, p: Params, api_key: str, now_ms: int) -> Any:
    category = _category(p)
    if p.get("symbol"):
        return {"category": category, "list": [_ticker(ex, _linear_symbol(ex, p), now_ms)]}
    symbols = list(ex.markets) if category == "linear" else []
    return {"category": category, "list": [_ticker(ex, s, now_ms) for s in symbols]}
