"""Tick-to-order latency on loopback, beside a bare trio-websocket echo round trip.

Tick-to-order: from the moment the client's public WebSocket frame is received (the feed stamps
``ts_local_ns`` right after ``get_message`` returns) to the moment the signed
``/v5/order/create`` request body has been written to the socket (httpcore's
``http11.send_request_body.complete`` trace event). In between, the real path: msgspec parse ->
the feed's kernel book verdict -> journal event on a memory channel -> the market kernel's per-
event fold (``MarketKernel.fold_event``: book and all 8 features) -> a compiled GP strategy
(signal and size trees) -> ``decide`` -> ``OrderIntent`` -> ``BybitVenue.place`` (body, HMAC
signature, httpx). The local Bybit-compatible venue (``bench._latency_venue``) publishes the
next book delta only after the order for the last one arrived, so no tick waits behind another.
Two setups, both printed:

- ``venue_in_own_process``: the venue in a child process pinned to another CPU, as a real
  venue is elsewhere. On a loaded machine its p99 shows the other processes' interference.
- ``venue_in_same_loop``: the venue inside the client's trio loop; no second process, but the
  venue's work runs whenever the client's path yields (each socket send is a checkpoint).

What dominates (``part.*``): ``send`` (httpx request building, about 100 us of CPU even over
a mock transport, then two socket writes through anyio, each a scheduling point) is about
90 %; parse + book + channel hop and features + strategy + decide are tens of microseconds.

Reference, in the same run: a bare trio-websocket echo round trip on loopback (send a frame
of the same size, receive it back), i.e. what two trips through trio + wsproto + the kernel
cost with no work at all.

Prints JSON lines: name, value, unit, reference figure and ratio, peak RSS.
Run: ``.venv/bin/python -m bench.latency`` (``make bench`` runs every bench).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from functools import partial
from typing import Any

import trio
from trio_websocket import WebSocketRequest, open_websocket_url, serve_websocket

from asnd.core.features import FEATURE_NAMES
from asnd.core.kernel import MarketKernel
from asnd.core.kernel.views import BookView
from asnd.core.link_id import make_link_id
from asnd.core.strategy import (
    Call,
    Const,
    FeatureRef,
    SlotSizing,
    StrategyDocument,
    compile_strategy,
    decide,
)
from asnd.kernel_cache import warm_up
from asnd.venues.bybit.credentials import Credentials
from asnd.venues.bybit.venue import BybitConfig, BybitVenue
from bench._common import emit
from bench._latency_venue import INFO, SYMBOL, run_venue
from journal.events import BookDelta, BookSnapshot, Event, OrderIntent, Trade

TICKS = 3000
WARMUP = 300
KEY, SECRET = "bench-key", "bench-secret-not-real"


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


async def tick_to_order_venue_process() -> dict[str, list[int]]:
    """The venue in its own process, as a real venue would be."""
    env = {**os.environ, "BENCH_KEY": KEY, "BENCH_SECRET": SECRET}
    venue = await trio.lowlevel.open_process(
        [sys.executable, "-m", "bench._latency_venue"], stdout=subprocess.PIPE, env=env
    )
    pinned = _pin_apart(venue.pid)
    try:
        assert venue.stdout is not None
        with trio.fail_after(30):
            line = b""
            while not line.endswith(b"\n"):
                line += await venue.stdout.receive_some(4096)
        rest_url, public_url, private_url = json.loads(line)
        spans = await _measure(BybitConfig(rest_url, public_url, private_url, (SYMBOL,)))
    finally:
        venue.kill()
        await venue.wait()
        if pinned:
            os.sched_setaffinity(0, pinned)
    return spans


def _pin_apart(venue_pid: int) -> set[int]:
    """Client on one CPU, venue on another: on a small machine the venue process, woken by
    our request, would otherwise preempt the client in the middle of its send, and we would
    be timing the venue's work. Returns the client's original CPU set (empty: not pinned)."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) < 2:
        return set()
    os.sched_setaffinity(venue_pid, {cpus[-1]})
    os.sched_setaffinity(0, set(cpus[:-1]))
    return set(cpus)


async def tick_to_order_same_loop() -> dict[str, list[int]]:
    """The venue in the client's own trio loop: no second process competing for the CPU,
    but the venue's work runs whenever the client's path yields."""
    async with trio.open_nursery() as nursery:
        rest_url, public_url, private_url = await nursery.start(run_venue, KEY, SECRET)
        spans = await _measure(BybitConfig(rest_url, public_url, private_url, (SYMBOL,)))
        nursery.cancel_scope.cancel()
    return spans


async def _measure(config: BybitConfig) -> dict[str, list[int]]:
    written: list[int] = []

    async def trace(event_name: str, info: dict[str, Any]) -> None:
        if event_name == "http11.send_request_body.complete":
            written.append(time.perf_counter_ns())

    doc = strategy_document()
    strategy = compile_strategy(doc)
    strategy.evaluate((0.0,) * len(strategy.columns))  # the kernel compiles (or loads) here
    market = MarketKernel()
    book = BookView(market, SYMBOL)
    warm_up()  # as the daemon does before READY: every kernel entry point compiled or loaded
    sizing = SlotSizing(1, 5, 200 * 10**8, INFO.tick_size, INFO.lot_size, leverage=10)
    spans: dict[str, list[int]] = {"total": [], "feed": [], "decide": [], "send": []}
    send_events, receive_events = trio.open_memory_channel[Event](1000)

    client = BybitVenue(config, Credentials(KEY, SECRET), wall_ns=time.perf_counter_ns)
    client.rest.trace = trace
    async with client, trio.open_nursery() as nursery:
        await nursery.start(client.run, send_events)
        seq = 0
        with trio.fail_after(60):
            async for event in receive_events:
                if not isinstance(event, BookDelta):
                    if isinstance(event, BookSnapshot | Trade):
                        market.fold_event(event)
                    continue
                t_event = time.perf_counter_ns()
                row = market.fold_event(event)
                if row is None:
                    continue
                best_bid = book.best_bid
                assert best_bid is not None
                decision = decide(*strategy.evaluate(row), doc.params, sizing, best_bid[0])
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
                if seq == TICKS + WARMUP:
                    break
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


PARTS = (
    ("feed", "frame received -> event at the trader (msgspec parse, book verdict, channel hop)"),
    ("decide", "kernel fold (book + 8 features) + strategy signal/size + decide"),
    ("send", "OrderIntent -> body, HMAC signature, httpx/httpcore -> body written"),
)
PATH = "ws frame > parse > book > features > strategy > decide > sign > socket"


def report(setup: str, spans: dict[str, list[int]], echo_p50: float, echo_p99: float) -> None:
    for q, ref in ((0.50, echo_p50), (0.99, echo_p99)):
        value = pct(spans["total"], q)
        emit(
            "latency",
            f"tick_to_order_p{int(q * 100)}.{setup}",
            value=value,
            unit="us",
            ticks=len(spans["total"]),
            reference=f"trio-websocket echo round trip p{int(q * 100)}",
            reference_value=ref,
            ratio=round(value / ref, 2),
            goal_p99_us=1000,
            path=PATH,
        )
    for part, what in PARTS:
        share = statistics.median(spans[part]) / statistics.median(spans["total"])
        emit(
            "latency",
            f"part.{part}_p50.{setup}",
            value=pct(spans[part], 0.5),
            unit="us",
            what=what,
            p99_us=pct(spans[part], 0.99),
            share_of_total_p50=round(share, 2),
        )


async def main() -> None:
    echo = await echo_round_trip(frame_bytes=200)  # about the size of a one-level book delta
    echo_p50, echo_p99 = pct(echo, 0.50), pct(echo, 0.99)
    emit("latency", "ws_echo_round_trip_p50", value=echo_p50, unit="us", p99_us=echo_p99,
         frames=len(echo))  # fmt: skip
    report("venue_in_own_process", await tick_to_order_venue_process(), echo_p50, echo_p99)
    report("venue_in_same_loop", await tick_to_order_same_loop(), echo_p50, echo_p99)


if __name__ == "__main__":
    trio.run(main)
