"""The venue side of ``bench.latency``: a local Bybit-compatible venue in a closed loop that
publishes one book delta, waits until the client's order for it arrives, and repeats.

``python -m bench._latency_venue`` runs it in its own process (so that its matching and
publishing do not run inside the client's measured path, as on a real venue) and prints the
URLs as one JSON line; ``run_venue`` runs it inside the caller's trio loop.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import trio

from asnd.venues.bybit.local.server import LocalBybit
from journal.events import BUY, SELL, InstrumentInfo

SYMBOL = "BTCUSDT"
INFO = InstrumentInfo(0, 0, "bybit", SYMBOL, "0.5", "0.001", "0.001", "5")


async def run_venue(
    key: str, secret: str, *, task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED
) -> None:
    venue = LocalBybit([INFO], api_keys={key: secret})
    for i in range(10):
        venue.exchange.set_level(SYMBOL, BUY, 100_000 - i, 1000 + i)
        venue.exchange.set_level(SYMBOL, SELL, 100_001 + i, 1000 + i)
    order_arrived = trio.Event()
    publish = venue.exchange.publish

    def publish_and_notice(topic: str, message: dict[str, Any]) -> None:
        if topic == "order":
            order_arrived.set()
        publish(topic, message)

    venue.exchange.publish = publish_and_notice
    async with trio.open_nursery() as nursery:
        await nursery.start(venue.serve)
        task_status.started([venue.rest_url, venue.public_url, venue.private_url])
        tick = 0
        while True:
            order_arrived = trio.Event()
            venue.exchange.set_level(SYMBOL, BUY, 99_995, 500 + tick % 7)
            tick += 1
            # Until a client trades, a tick every 50 ms; then the next one after each order.
            with trio.move_on_after(0.05):
                await order_arrived.wait()
                await trio.sleep(0.0005)  # let the answer and the order updates go out first


async def main() -> None:
    async with trio.open_nursery() as nursery:
        urls = await nursery.start(run_venue, os.environ["BENCH_KEY"], os.environ["BENCH_SECRET"])
        sys.stdout.write(json.dumps(urls) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    trio.run(main)
