"""Tick-to-order latency on loopback, beside a bare trio-websocket echo round trip.

Tick-to-order: from the moment the client's public WebSocket frame is received (the feed
stamps ``ts_local_ns`` right after ``get_message`` returns) to the moment the signed
``/v5/order/create`` request body has been written to the socket (httpcore's
``http11.send_request_body.complete`` trace event). In between, the real path: msgspec
parse -> ``L2Book`` verdict -> journal event on a memory channel -> ``FeatureEngine`` (all 8
features) -> a compiled GP strategy (signal and size trees) -> ``decide`` -> ``OrderIntent``
-> ``BybitVenue.place`` (body, HMAC signature, httpx). The local Bybit-compatible venue
publishes one book delta per tick; the next tick starts after the order was answered, so no
tick waits behind another.

Reference, in the same run: a bare trio-websocket echo round trip on loopback (send a frame
of the same size, receive it back), i.e. what two trips through trio + wsproto + the kernel
cost with no work at all.

Prints JSON lines: name, value, unit, reference figure and ratio, peak RSS.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from functools import partial
from typing import Any

import trio
from trio_websocket import WebSocketRequest, open_websocket_url, serve_websocket

from asnd.core.features import FEATURE_NAMES, FeatureEngine
from asnd.core.strategy import (
    Call,
    Const,
    FeatureRef,
    SlotSizing,
    StrategyDocument,
    compile_strategy,
    decide,
)
from asnd.venues.bybit.credentials import Credentials
from asnd.venues.bybit.link_id import make_link_id
from asnd.venues.bybit.local.server import LocalBybit
from asnd.venues.bybit.venue import BybitConfig, BybitVenue
from journal.events import BUY, SELL, BookDelta, Event, InstrumentInfo, OrderIntent

TICKS = 3000
WARMUP = 300
SYMBOL = "BTCUSDT"
INFO = InstrumentInfo(0, 0, "bybit", SYMBOL, "0.5", "0.001", "0.001", "5")
KEY, SECRET = "bench-key", "bench-secret-not-real"


def emit(name: str, value: float, unit: str, **extra: object) -> None:
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    record = {"name": name, "value": value, "unit": unit, **extra}
    record["peak_rss_mib"] = round(peak_kib / 1024, 1)
    print(json.dumps(record))
    sys.stdout.flush()


def pct(values_ns: list[int], q: float) -> float:
    """The q-quantile in microseconds."""
    ordered = sorted(values_ns)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000, 1)


def strategy_document() -> StrategyDocument:
    """Reads two features; its signal is always above +0.5, so every tick sends an order."""
    signal = Call("add", (FeatureRef("imbalance"), Call("tanh", (FeatureRef("pressure"),))))
    size = Call("mul", (FeatureRef("trade_flow"), Const(0.5)))
    return StrategyDocument(
        "bench-always-buy", FEATURE_NAMES, Call("add", (signal, Const(1.0))), size
    )


async def tick_to_order() -> dict[str, list[int]]:
    venue = LocalBybit([INFO], api_keys={KEY: SECRET})
    for i in range(10):
        venue.exchange.set_level(SYMBOL, BUY, 100_000 - i, 1000 + i)
        venue.exchange.set_level(SYMBOL, SELL, 100_001 + i, 1000 + i)
    written: list[int] = []

    async def trace(event_name: str, info: dict[str, Any]) -> None:
        if event_name == "http11.send_request_body.complete":
            written.append(time.perf_counter_ns())

    doc = strategy_document()
    strategy = compile_strategy(doc)
    engine = FeatureEngine(SYMBOL)
    sizing = SlotSizing(1, 5, 200 * 10**8, INFO.tick_size, INFO.lot_size, leverage=10)
    spans: dict[str, list[int]] = {"total": [], "feed": [], "decide": [], "send": []}
    send_events, receive_events = trio.open_memory_channel[Event](1000)
    tick_done_send, tick_done = trio.open_memory_channel[None](1)

    async with trio.open_nursery() as nursery:
        await nursery.start(venue.serve)
        config = BybitConfig(venue.rest_url, venue.public_url, venue.private_url, (SYMBOL,))
        client = BybitVenue(config, Credentials(KEY, SECRET), wall_ns=time.perf_counter_ns)
        client.rest.trace = trace
        await nursery.start(client.run, send_events)

        async def trader() -> None:
            seq = 0
            async for event in receive_events:
                if not isinstance(event, BookDelta):
                    engine.on_event(event)
                    continue
                t_event = time.perf_counter_ns()
                row = engine.on_event(event)
                if row is None:
                    continue
                best_bid = engine.book.best_bid
                assert best_bid is not None
                decision = decide(
                    strategy.signal(row), strategy.size(row), doc.params, sizing, best_bid[0]
                )
                t_decided = time.perf_counter_ns()
                assert decision.is_order, decision.reason
                seq += 1
                intent = OrderIntent(
                    0, t_decided, 0, SYMBOL, make_link_id(0, seq), decision.side, "limit", "IOC",
                    best_bid[0] - 200, decision.qty_lots, False, seq,
                )  # fmt: skip
                await client.place(intent)  # far below the book: an IOC that cancels at once
                spans["total"].append(written[-1] - event.ts_local_ns)
                spans["feed"].append(t_event - event.ts_local_ns)
                spans["decide"].append(t_decided - t_event)
                spans["send"].append(written[-1] - t_decided)
                await tick_done_send.send(None)

        nursery.start_soon(trader)
        for tick in range(TICKS + WARMUP):
            venue.exchange.set_level(SYMBOL, BUY, 99_995, 500 + tick % 7)
            with trio.fail_after(10):
                await tick_done.receive()
        nursery.cancel_scope.cancel()
    return {k: v[WARMUP:] for k, v in spans.items()}


async def echo_round_trip(frame_bytes: int) -> list[int]:
    async def echo(request: WebSocketRequest) -> None:
        ws = await request.accept()
        while True:
            await ws.send_message(await ws.get_message())

    rtts: list[int] = []
    payload = "x" * frame_bytes
    async with trio.open_nursery() as nursery:
        server = await nursery.start(partial(serve_websocket, echo, "127.0.0.1", 0, None))
        async with open_websocket_url(f"ws://127.0.0.1:{server.port}/") as ws:
            for _ in range(TICKS + WARMUP):
                t0 = time.perf_counter_ns()
                await ws.send_message(payload)
                await ws.get_message()
                rtts.append(time.perf_counter_ns() - t0)
        nursery.cancel_scope.cancel()
    return rtts[WARMUP:]


async def main() -> None:
    spans = await tick_to_order()
    echo = await echo_round_trip(frame_bytes=200)  # about the size of a one-level book delta
    echo_p50, echo_p99 = pct(echo, 0.50), pct(echo, 0.99)
    path = "ws frame > parse > book > features > strategy > decide > sign > socket"
    for q, ref in ((0.50, echo_p50), (0.99, echo_p99)):
        value = pct(spans["total"], q)
        emit(f"latency.tick_to_order_p{int(q * 100)}", value, "us", ticks=len(spans["total"]),
             reference=f"trio-websocket echo round trip p{int(q * 100)} (us)", reference_value=ref,
             ratio=round(value / ref, 2), goal_p99_us=1000, path=path)  # fmt: skip
    for part, what in (
        (
            "feed",
            "frame received -> event at the trader (msgspec parse, book verdict, channel hop)",
        ),
        ("decide", "FeatureEngine (book + 8 features) + strategy signal/size + decide"),
        ("send", "OrderIntent -> body, HMAC signature, httpx/httpcore -> body written"),
    ):
        share = statistics.median(spans[part]) / statistics.median(spans["total"])
        emit(f"latency.part.{part}_p50", pct(spans[part], 0.5), "us", what=what,
             p99_us=pct(spans[part], 0.99), share_of_total_p50=round(share, 2))  # fmt: skip
    emit("latency.ws_echo_round_trip_p50", echo_p50, "us", p99_us=echo_p99, frames=len(echo))


if __name__ == "__main__":
    trio.run(main)
