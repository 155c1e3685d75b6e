"""The local venue's moving market (``--moving``): seeded, never crossed, always two-sided,
and it trades every symbol, so a paper daemon on its public feed has something to do."""

from __future__ import annotations

import itertools

from asnd.venues.bybit.local.exchange import Exchange
from asnd.venues.bybit.local.moving import INSTRUMENTS, MovingMarket


def run(seed: int, steps: int) -> tuple[Exchange, dict[str, list[tuple[int, int]]]]:
    clock = itertools.count(1_700_000_000_000)
    exchange = Exchange(list(INSTRUMENTS), clock_ms=lambda: next(clock))
    market = MovingMarket(exchange, seed)
    market.seed_books()
    history: dict[str, list[tuple[int, int]]] = {i.symbol: [] for i in INSTRUMENTS}
    for _ in range(steps):
        market.step()
        for symbol, tops in history.items():
            bids, asks = exchange.levels(symbol, 1)
            assert bids, f"{symbol}: no bids"
            assert asks, f"{symbol}: no asks"
            assert bids[0][0] < asks[0][0], f"{symbol}: crossed book {bids[0]} / {asks[0]}"
            tops.append((bids[0][0], asks[0][0]))
    return exchange, history


def test_the_moving_market_is_seeded_two_sided_and_trades_every_symbol() -> None:
    exchange, history = run(seed=3, steps=200)
    _again, same = run(seed=3, steps=200)
    _other, different = run(seed=4, steps=200)
    assert history == same
    assert history != different
    for symbol, tops in history.items():
        assert len(set(tops)) > 5, f"{symbol}: the price hardly moved"
        assert len(exchange.market(symbol).trades) > 50, f"{symbol}: too few trades"
    assert {i.symbol for i in INSTRUMENTS} == {
        "BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "BNBUSDT",
    }  # fmt: skip
