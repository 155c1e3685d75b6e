"""Fill calibration: how far the L2 replay's fills are from the fills a venue really gave.

For a live journal, every order the daemon sent (an approved ``OrderIntent``) is sent again,
at the same event time, to an ``L2Replay`` fed the journal's own market data; cancels too.
Latency is sampled from the journal's own order-entry latencies (``OrderSent`` ->
``OrderAccepted``) when it has any. Then, per source (venue, replay):

- fill rate: orders with any fill / orders sent, and filled lots / ordered lots;
- time to first fill (queue time for resting orders): median and p90, in ms of event time;
- slippage: ticks each fill is worse than the order's limit price, lot-weighted mean (for a
  resting order it is 0 by construction; for a marketable one it is what walking the book
  gained or cost);
- maker share of filled lots.

The gap between the two columns is the calibration error. Known cause on the sim venue: our
orders change the live agent market (impact) while the replay assumes none (l2replay's
assumption 2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from asnd.core.l2replay import WORST_CASE, ConstantLatency, L2Replay, LatencyModel, SampledLatency
from asnd.core.matching import FOK, GTC, IOC, POST_ONLY
from journal.events import (
    BookDelta,
    BookSnapshot,
    CancelIntent,
    Event,
    Fill,
    OrderAccepted,
    OrderIntent,
    OrderRejected,
    OrderSent,
    RiskVerdict,
    Trade,
)
from journal.texttable import render_table

__all__ = ["FillStats", "calibrate", "calibration_table"]

_TIF = {"GTC": GTC, "IOC": IOC, "FOK": FOK, "PostOnly": POST_ONLY}


@dataclass(slots=True)
class _Order:
    intent: OrderIntent
    sent_ns: int
    filled: dict[str, int] = field(default_factory=lambda: {"venue": 0, "replay": 0})
    first_fill_ns: dict[str, int] = field(default_factory=dict)
    slippage: dict[str, int] = field(default_factory=lambda: {"venue": 0, "replay": 0})
    maker: dict[str, int] = field(default_factory=lambda: {"venue": 0, "replay": 0})


@dataclass(frozen=True, slots=True)
class FillStats:
    orders: int
    filled_orders: int
    ordered_lots: int
    filled_lots: int
    median_fill_ms: float | None
    p90_fill_ms: float | None
    slippage_ticks: float | None
    maker_share: float | None

    @property
    def fill_rate(self) -> float:
        return self.filled_orders / self.orders if self.orders else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "orders": self.orders,
            "filled_orders": self.filled_orders,
            "fill_rate": round(self.fill_rate, 4),
            "ordered_lots": self.ordered_lots,
            "filled_lots": self.filled_lots,
            "lot_fill_rate": round(self.filled_lots / self.ordered_lots, 4)
            if self.ordered_lots
            else 0.0,
            "median_time_to_fill_ms": self.median_fill_ms,
            "p90_time_to_fill_ms": self.p90_fill_ms,
            "slippage_ticks": self.slippage_ticks,
            "maker_share": self.maker_share,
        }


def _latency(journal: Iterable[Event], seed: int) -> tuple[LatencyModel, str]:
    sent: dict[str, int] = {}
    samples: list[int] = []
    for e in journal:
        if isinstance(e, OrderSent):
            sent.setdefault(e.link_id, e.ts_local_ns)
        elif isinstance(e, OrderAccepted | OrderRejected) and e.link_id in sent:
            samples.append(max(0, e.ts_local_ns - sent.pop(e.link_id)))
    if samples:
        return SampledLatency(samples, seed), f"sampled from {len(samples)} journaled orders"
    return ConstantLatency(0), "0 (no order-entry latency in the journal)"


def calibrate(
    journal: Callable[[], Iterable[Event]], *, queue: str = WORST_CASE, seed: int = 0
) -> dict[str, Any]:
    """The calibration report of a live journal (see the module docstring). ``journal()``
    streams its events; it is called twice (latencies first, then the replay)."""
    latency, latency_text = _latency(journal(), seed)
    replays: dict[str, L2Replay] = {}
    orders: dict[str, _Order] = {}
    intents: dict[int, OrderIntent | CancelIntent] = {}
    oids: dict[str, int] = {}

    def replay_for(symbol: str) -> L2Replay:
        if symbol not in replays:
            replays[symbol] = L2Replay(symbol, queue=queue, latency=latency)
        return replays[symbol]

    def take(out: list[Event]) -> None:
        for e in out:
            if isinstance(e, Fill) and e.link_id in orders:
                _count(orders[e.link_id], "replay", e)

    for e in journal():
        if isinstance(e, BookSnapshot | BookDelta | Trade):
            take(replay_for(e.symbol).on_market(e))
        elif isinstance(e, OrderIntent | CancelIntent):
            intents[e.seq] = e
        elif isinstance(e, RiskVerdict) and e.approved:
            intent = intents.pop(e.intent_seq, None)
            if isinstance(intent, OrderIntent):
                orders[intent.link_id] = _Order(intent, e.ts_local_ns)
                oid = oids[intent.link_id] = len(oids) + 1
                price = 0 if intent.order_type == "market" else intent.price_ticks
                tif = IOC if intent.order_type == "market" else _TIF.get(intent.tif, -1)
                take(
                    replay_for(intent.symbol).submit(
                        e.ts_local_ns, oid, intent.slot, intent.link_id, intent.side, price,
                        intent.qty_lots, tif,
                    )
                )  # fmt: skip
            elif isinstance(intent, CancelIntent) and intent.link_id in oids:
                take(replay_for(intent.symbol).cancel(e.ts_local_ns, oids[intent.link_id]))
        elif isinstance(e, Fill) and e.link_id in orders:
            _count(orders[e.link_id], "venue", e)
    sources = {s: _stats(list(orders.values()), s) for s in ("venue", "replay")}
    venue, replay = sources["venue"], sources["replay"]
    return {
        "latency": latency_text,
        "queue": queue,
        "venue": venue.as_dict(),
        "replay": replay.as_dict(),
        "gap": _gap(venue, replay),
        "verdict": _verdict(venue, replay),
    }


def _verdict(venue: FillStats, replay: FillStats) -> str:
    """How far apart, in one sentence."""
    if not venue.orders:
        return "no orders in the journal: nothing to calibrate"
    parts = [
        f"the replay filled {replay.filled_orders} of {replay.orders} orders, "
        f"the venue {venue.filled_orders}",
        f"filled lots {_pct(replay.filled_lots, venue.filled_lots)} of the venue's",
    ]
    if venue.median_fill_ms is not None and replay.median_fill_ms is not None:
        delta = replay.median_fill_ms - venue.median_fill_ms
        parts.append(
            f"median time to fill {abs(delta):.0f} ms {'longer' if delta > 0 else 'shorter'}"
        )
    return "; ".join(parts)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "n/a"


def _count(order: _Order, source: str, fill: Fill) -> None:
    order.filled[source] += fill.qty_lots
    order.first_fill_ns.setdefault(source, fill.ts_local_ns)
    intent = order.intent
    if intent.order_type != "market" and intent.price_ticks:
        worse = intent.side * (fill.price_ticks - intent.price_ticks)
        order.slippage[source] += worse * fill.qty_lots
    if fill.is_maker:
        order.maker[source] += fill.qty_lots


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def _stats(orders: list[_Order], source: str) -> FillStats:
    filled = [o for o in orders if o.filled[source]]
    lots = sum(o.filled[source] for o in orders)
    waits = [(o.first_fill_ns[source] - o.sent_ns) / 1e6 for o in filled]
    slip = sum(o.slippage[source] for o in orders)
    maker = sum(o.maker[source] for o in orders)
    return FillStats(
        orders=len(orders),
        filled_orders=len(filled),
        ordered_lots=sum(o.intent.qty_lots for o in orders),
        filled_lots=lots,
        median_fill_ms=_quantile(waits, 0.5),
        p90_fill_ms=_quantile(waits, 0.9),
        slippage_ticks=round(slip / lots, 4) if lots else None,
        maker_share=round(maker / lots, 4) if lots else None,
    )


def _gap(venue: FillStats, replay: FillStats) -> dict[str, float | None]:
    def diff(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else round(b - a, 4)

    return {
        "fill_rate": diff(venue.fill_rate, replay.fill_rate),
        "median_time_to_fill_ms": diff(venue.median_fill_ms, replay.median_fill_ms),
        "slippage_ticks": diff(venue.slippage_ticks, replay.slippage_ticks),
        "maker_share": diff(venue.maker_share, replay.maker_share),
    }


def calibration_table(report: dict[str, Any]) -> str:
    """Venue vs replay, one line per measure."""
    rows: list[tuple[object, ...]] = []
    for key, gap_key in (
        ("orders", None),
        ("fill_rate", "fill_rate"),
        ("lot_fill_rate", None),
        ("median_time_to_fill_ms", "median_time_to_fill_ms"),
        ("p90_time_to_fill_ms", None),
        ("slippage_ticks", "slippage_ticks"),
        ("maker_share", "maker_share"),
    ):
        gap = report["gap"].get(gap_key) if gap_key else None
        rows.append((key, report["venue"][key], report["replay"][key], gap))
    return render_table(("measure", "venue", "replay", "replay - venue"), rows)
