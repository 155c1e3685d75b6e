"""Backtest replay speed: six models on a long Bybit-shaped stream, beside hftbacktest.

Measurements (JSON lines via ``bench._common.emit``):

1. ``backtest_events_per_s``: ``asnd.core.backtest.Backtest`` -- the daemon's whole fold (book,
   features, six models each evaluating its champion strategy on every market event,
   watchtower, ledgers) with an ``L2Replay`` filling the models' orders (5 ms latency), the
   backtest journal handed off and dropped after every event as ``asnd backtest`` does. The
   stream: the real XRPUSDT snapshot (``../shared/data/bybit``) continued by
   ``bench.matching.synthetic_stream``'s seeded deltas and trades.
2. Reference, in the same run: hftbacktest (PyPI, Rust core, numba strategy) replaying the
   same stream, converted to its event array (one row per changed level or trade), with one
   simple market maker: every 20 ms of event time (one delta of the stream), if it has no
   live order on a side it joins the best bid/ask with a one-lot post-only order. Its
   figure is in the same unit: stream messages per second (its rows/s are given too).
   Numba compilation is done on a small warm-up stream first and not timed; building the
   inputs is not timed for either.

3. Six symbols' streams interleaved, one slot each (the daemon's own layout: every market
   event drives one model), same total length.
4. The same fold with one model, and with none (book, features, L2 replay, journal only),
   against the same reference: the second is the ceiling of the pure-Python core, whatever
   the models cost.

Honest comparison notes: ASN runs six strategies per event and journals every decision;
hftbacktest runs one strategy per 20 ms and no journal, but simulates queue position
probabilistically over more rows. Run: ``python -m bench.backtest``.
"""

from __future__ import annotations

import heapq
import time
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from asnd.core.backtest import Backtest
from asnd.core.l2replay import ConstantLatency
from asnd.core.portfolio import CoreConfig
from asnd.core.slot import SlotConfig, strategy_loaded
from bench._common import emit
from bench.matching import real_snapshot, synthetic_stream
from journal.events import BookDelta, BookSnapshot, Event, InstrumentInfo, Trade

DELTAS = 40_000
WARMUP_DELTAS = 500
SYMBOLS = ("btcusdt", "ethusdt", "solusdt", "xrpusdt", "dogeusdt", "bnbusdt")
REPO = Path(__file__).resolve().parents[1]
TICK = 0.0001  # XRPUSDT's tick size (the archive's InstrumentInfo)


def _stream(n: int) -> tuple[InstrumentInfo, list[Event]]:
    snap = real_snapshot()
    info = InstrumentInfo(0, snap.ts_local_ns, "bybit", snap.symbol, str(TICK), "1")
    return info, synthetic_stream(snap, n, seed=11)


def run_asn(
    infos: list[InstrumentInfo], slots: list[str], stream: list[Event], models: int = 6
) -> tuple[float, int]:
    """Seconds to replay ``stream`` with one slot per entry of ``slots`` (its symbol), of which
    the first ``models`` have a champion (the others hold no strategy: they cost nothing per
    event), and the number of events journaled."""
    config = CoreConfig(tuple(SlotConfig(symbol, "10", "400", leverage=10) for symbol in slots))
    backtest = Backtest(config, latency=ConstantLatency(5_000_000))
    for info in infos:
        backtest.feed(info)
    for i, name in enumerate(SYMBOLS[:models]):
        doc = (REPO / "etc" / "strategies" / f"champion_{name}.json").read_bytes()
        backtest.feed(strategy_loaded(i, doc, "bench", 0))
    journal = backtest.loop.journal
    journal.clear()
    # Fresh copies: the journal stamps seqs into the events it is given.
    events = [msgspec.structs.replace(e) for e in stream]
    feed = backtest.feed
    t0 = time.perf_counter()
    for e in events:
        feed(e)
        journal.clear()
    return time.perf_counter() - t0, backtest.loop.next_seq - 1


def six_symbols(n: int) -> tuple[list[InstrumentInfo], list[Event]]:
    """Six symbols' streams interleaved in event time (each the XRPUSDT-shaped stream with
    its own seed, renamed): the layout a daemon journal has, one slot per symbol."""
    snap = real_snapshot()
    infos: list[InstrumentInfo] = []
    streams: list[list[Event]] = []
    for i, name in enumerate(SYMBOLS):
        symbol = name.upper()
        infos.append(InstrumentInfo(0, snap.ts_local_ns, "bybit", symbol, str(TICK), "1"))
        own = msgspec.structs.replace(snap, symbol=symbol)
        streams.append(
            [msgspec.structs.replace(e, symbol=symbol) for e in synthetic_stream(own, n, 20 + i)]
        )
    merged = heapq.merge(*streams, key=lambda e: e.ts_local_ns)  # stable: symbol order on ties
    return infos, list(merged)


def to_hftbacktest(stream: list[Event]) -> Any:
    from hftbacktest import (
        BUY_EVENT,
        DEPTH_EVENT,
        EXCH_EVENT,
        LOCAL_EVENT,
        SELL_EVENT,
        TRADE_EVENT,
        event_dtype,
    )

    rows: list[tuple[int, int, int, float, float, int, int, float]] = []
    both = EXCH_EVENT | LOCAL_EVENT
    for e in stream:
        local = e.ts_local_ns
        exch = local - 1_000_000  # the venue's stamp: 1 ms before we saw it
        if isinstance(e, BookSnapshot | BookDelta):
            for side, prices, sizes in (
                (BUY_EVENT, e.bid_ticks, e.bid_lots),
                (SELL_EVENT, e.ask_ticks, e.ask_lots),
            ):
                for p, q in zip(prices, sizes, strict=True):
                    rows.append((DEPTH_EVENT | both | side, exch, local, p * TICK, float(q),
                                 0, 0, 0.0))  # fmt: skip
        elif isinstance(e, Trade):
            side = BUY_EVENT if e.side > 0 else SELL_EVENT
            rows.append((TRADE_EVENT | both | side, exch, local, e.price_ticks * TICK,
                         float(e.qty_lots), 0, 0, 0.0))  # fmt: skip
    return np.array(rows, dtype=event_dtype)


def _market_maker() -> Any:
    from hftbacktest import GTX, LIMIT
    from numba import njit

    @njit
    def market_maker(hbt: Any) -> int:
        quotes = 0
        next_id = 1
        while hbt.elapse(20_000_000) == 0:
            hbt.clear_inactive_orders(0)
            depth = hbt.depth(0)
            bid, ask = depth.best_bid, depth.best_ask
            if not (bid > 0 and ask > bid):
                continue
            has_bid = False
            has_ask = False
            values = hbt.orders(0).values()
            while values.has_next():
                order = values.get()
                if order.side == 1:
                    has_bid = True
                else:
                    has_ask = True
            if not has_bid:
                hbt.submit_buy_order(0, next_id, bid, 1.0, GTX, LIMIT, False)
                next_id += 1
                quotes += 1
            if not has_ask:
                hbt.submit_sell_order(0, next_id, ask, 1.0, GTX, LIMIT, False)
                next_id += 1
                quotes += 1
        return quotes

    return market_maker


def run_hftbacktest(data: Any, strategy: Any) -> tuple[float, int]:
    from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest

    asset = (
        BacktestAsset()
        .data(data)
        .linear_asset(1.0)
        .constant_order_latency(5_000_000, 5_000_000)
        .risk_adverse_queue_model()
        .no_partial_fill_exchange()
        .trading_value_fee_model(0.0002, 0.00055)
        .tick_size(TICK)
        .lot_size(1.0)
    )
    hbt = HashMapMarketDepthBacktest([asset])
    t0 = time.perf_counter()
    quotes = strategy(hbt)
    elapsed = time.perf_counter() - t0
    hbt.close()
    return elapsed, int(quotes)


def main() -> None:
    t0 = time.perf_counter()
    info, stream = _stream(DELTAS)
    strategy = _market_maker()
    _info, warm = _stream(WARMUP_DELTAS)
    run_hftbacktest(to_hftbacktest(warm), strategy)  # numba compiles here, untimed
    data = to_hftbacktest(stream)
    theirs, quotes = run_hftbacktest(data, strategy)
    one_symbol = [info.symbol] * 6
    ours, journaled = run_asn([info], one_symbol, stream)
    ours_rate, theirs_rate = len(stream) / ours, len(stream) / theirs
    emit(
        "backtest",
        "backtest_events_per_s",
        value=round(ours_rate),
        unit="events/s",
        reference="hftbacktest 2.x (Rust core, numba market maker) on the same stream",
        reference_value=round(theirs_rate),
        ratio=round(ours_rate / theirs_rate, 3),
        events=len(stream),
        journaled_events=journaled,
        models=6,
        reference_rows=len(data),
        reference_rows_per_s=round(len(data) / theirs),
        reference_quotes=quotes,
    )
    # The same fold with fewer models, in the same run: where the Python core's ceiling is.
    for models, what in ((1, "one model (hftbacktest's reference runs one strategy)"),
                         (0, "no model: book, features, replay and journal only")):  # fmt: skip
        elapsed, _ = run_asn([info], one_symbol, stream, models)
        rate = len(stream) / elapsed
        emit(
            "backtest",
            f"backtest_{models}_models_events_per_s",
            value=round(rate),
            unit="events/s",
            what=what,
            reference="hftbacktest, as above",
            reference_value=round(theirs_rate),
            ratio=round(rate / theirs_rate, 3),
            models=models,
        )
    infos, mixed = six_symbols(DELTAS // 6)
    elapsed, _ = run_asn(infos, [i.symbol for i in infos], mixed)
    rate = len(mixed) / elapsed
    emit(
        "backtest",
        "backtest_six_symbols_events_per_s",
        value=round(rate),
        unit="events/s",
        what="six symbols interleaved, one slot each (the daemon's layout)",
        reference="hftbacktest, as above (one symbol)",
        reference_value=round(theirs_rate),
        ratio=round(rate / theirs_rate, 3),
        events=len(mixed),
        models=6,
    )
    emit("backtest", "bench_wall_s", value=round(time.perf_counter() - t0, 1), unit="s")


if __name__ == "__main__":
    main()
