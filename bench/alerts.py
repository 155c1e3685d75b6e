"""What alerts cost the core actor: ``Alerter.folded`` (its ``on_folded`` hook) per input.

- ``folded_market``: one market event (no alert: the common case), ns per call;
- ``folded_halt``: one ``TradingHalted`` (an alert built and queued to two destinations with
  ``send_nowait``), ns per call. Reference, same run: ``CoreMetrics.folded`` for the market
  event, the metrics' hook beside it.

Run: ``.venv/bin/python -m bench.alerts``; prints JSON lines.
"""

from __future__ import annotations

import random
from pathlib import Path

import trio

from asnd.alerts.actor import Alerter
from asnd.alerts.destinations import Destination, Telegram, Webhook
from asnd.alerts.settings import parse_alerts
from asnd.config import load_config
from asnd.core.portfolio import DaemonState
from asnd.log import configure_logging
from asnd.metrics import DaemonMetrics
from asnd.runtime import core_config
from bench._common import best_of, emit
from journal.events import BookDelta, Event, TradingHalted

REPO = Path(__file__).resolve().parents[1]
BENCH = "alerts"
CALLS = 200_000
HALTS = 20_000


async def _measure() -> None:
    settings = parse_alerts({"queue_size": HALTS})
    destinations: list[Destination] = [
        Webhook("https://hooks.example.com/x", 1.0),
        Telegram("https://api.telegram.org", "1:bench", "-1", 1.0),
    ]
    state = DaemonState(core_config(load_config(REPO / "etc" / "asnd.toml")))
    alerter = Alerter(settings, destinations, lambda: state, rng=random.Random(1))
    metrics = DaemonMetrics()
    market = BookDelta(1, 2, "BTCUSDT", 3, 4, 5, 6, [20_000], [5], [], [])
    halt = TradingHalted(1, 2, "kill all: operator: asnctl kill")
    none: list[Event] = []

    def markets() -> None:
        for _ in range(CALLS):
            alerter.folded(market, none, 40_000)

    def reference() -> None:
        for _ in range(CALLS):
            metrics.core.folded(market, none, 40_000)

    def halts() -> None:
        for _ in range(HALTS):
            alerter.folded(halt, none, 40_000)
        for lane in alerter.lanes.values():  # empty the queues for the next round
            while True:
                try:
                    lane.receive.receive_nowait()
                except trio.WouldBlock:
                    break

    mine, ref = best_of(5, markets, reference)
    emit(
        BENCH, "folded_market", ns_per_event=round(mine / CALLS * 1e9),
        ref="CoreMetrics.folded", ref_ns=round(ref / CALLS * 1e9), ratio=round(mine / ref, 3),
    )  # fmt: skip
    (alerting,) = best_of(3, halts)
    emit(BENCH, "folded_halt", ns_per_event=round(alerting / HALTS * 1e9), destinations=2)


def main() -> None:
    configure_logging("json", "warning")
    trio.run(_measure)


if __name__ == "__main__":
    main()
