"""The metrics read at scrape time from what ``asnctl status`` reads: the desk's status report
(``Desk.report``: daemon state, slots, feed, books, journal), the core state (fills, fees,
halt flag), the core actor's fold count and the pit lane's challengers.

Nothing is cached: every scrape builds the families from the live objects, on the trio thread
(``asnd.metrics.http``), between two events of the core, so a scrape and an ``asnctl status``
at the same moment show the same numbers. (Except ``durable_seq``, which the journal's
fsync thread advances on its own: it only grows.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from typing import Final

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from asnd import __version__
from asnd.actors.desk import Desk
from asnd.control.status import BookStatus, DaemonStatus, FeedStatus, SlotStatus
from asnd.core.instrument import E8

__all__ = ["CHALLENGER_STATES", "DAEMON_STATES", "FEED_STATES", "SLOT_STATES", "StatusCollector"]

DAEMON_STATES: Final = ("starting", "reconciling", "trading", "halted", "stopping")
SLOT_STATES: Final = ("active", "reducing", "dead", "halted")
FEED_STATES: Final = ("connected", "reconnecting", "lost")
#: A challenger's status is "shadowing", "promoted", "failed: <why>" or "rejected" (its file
#: was refused); the label is the word before the colon.
CHALLENGER_STATES: Final = ("shadowing", "promoted", "failed", "rejected")
SLOT_LABELS: Final = ("slot", "symbol")


def _gauge(name: str, documentation: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


def _one_of(family: GaugeMetricFamily, prefix: list[str], states: Iterable[str], now: str) -> None:
    """An enum as Prometheus likes it: one series per state, 1 for the current one."""
    for state in states:
        family.add_metric([*prefix, state], 1.0 if state == now else 0.0)


class StatusCollector(Collector):
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def collect(self) -> Iterable[Metric]:
        report = self.desk.report()
        yield from self._daemon(report["daemon"])
        yield from self._slots(report["slots"])
        yield from self._feed(report["feed"], report["books"])
        journal = report["journal"]
        seq = _gauge("asn_journal_seq", "Sequence number of the last journaled event")
        seq.add_metric([], journal["seq"])
        durable = _gauge("asn_journal_durable_seq", "Sequence number of the last fsynced event")
        durable.add_metric([], journal["durable_seq"])
        lag = _gauge("asn_journal_durable_lag_events", "Events journaled but not yet fsynced")
        lag.add_metric([], journal["lag"])
        folded = CounterMetricFamily(
            "asn_core_events", "Events folded by the core: inputs and the decisions they led to"
        )
        folded.add_metric([], self.desk.core.applied)
        yield from (seq, durable, lag, folded)
        yield self._challengers()

    def _daemon(self, daemon: DaemonStatus) -> Iterable[Metric]:
        info = _gauge(
            "asn_daemon_info", "The daemon's version and venue (always 1)", ("version", "venue")
        )
        info.add_metric([__version__, daemon["venue"]], 1.0)
        state = _gauge("asn_daemon_state", "The daemon's state (1 for the current one)", ("state",))
        _one_of(state, [], DAEMON_STATES, daemon["state"])
        uptime = _gauge("asn_daemon_uptime_seconds", "Seconds since the daemon started")
        uptime.add_metric([], daemon.get("uptime_s", 0.0))
        halted = _gauge("asn_trading_halted", "1 while trading is halted for an operator")
        halted.add_metric([], 1.0 if self.desk.state.watchtower.halted else 0.0)
        return (info, state, uptime, halted)

    def _slots(self, rows: list[SlotStatus]) -> Iterable[Metric]:
        equity = _gauge(
            "asn_slot_equity_usdt", "Slot equity at the conservative mark, USDT", SLOT_LABELS
        )
        pnl = _gauge(
            "asn_slot_pnl_usdt", "Slot equity minus its starting capital, USDT", SLOT_LABELS
        )
        position = _gauge(
            "asn_slot_position_base",
            "Signed slot position in the symbol's base currency (BTC for BTCUSDT)",
            SLOT_LABELS,
        )
        orders = _gauge("asn_slot_open_orders", "Orders the slot has working", SLOT_LABELS)
        fills = CounterMetricFamily(
            "asn_slot_fills", "Fills booked by the slot", labels=SLOT_LABELS
        )
        fees = _gauge(
            "asn_slot_fees_usdt", "Fees paid by the slot, net of rebates, USDT", SLOT_LABELS
        )
        state = _gauge(
            "asn_slot_state", "The slot's state (1 for the current one)", (*SLOT_LABELS, "state")
        )
        core_slots = self.desk.state.slots
        for row in rows:
            index = row["slot"]
            labels = [str(index), row["symbol"]]
            equity.add_metric(labels, float(Decimal(row["equity"])))
            pnl.add_metric(labels, float(Decimal(row["pnl"])))
            position.add_metric(labels, float(Decimal(row["position"])))
            orders.add_metric(labels, row["open_orders"])
            ledger = core_slots[index].ledger
            fills.add_metric(labels, ledger.state.fill_count if ledger is not None else 0)
            fees.add_metric(labels, ledger.fees_e8 / E8 if ledger is not None else 0.0)
            _one_of(state, labels, SLOT_STATES, row["state"])
        return (equity, pnl, position, orders, fills, fees, state)

    def _feed(self, feed: FeedStatus, books: list[BookStatus]) -> Iterable[Metric]:
        state = _gauge(
            "asn_feed_state", "The market feed's state (1 for the current one)", ("state",)
        )
        _one_of(state, [], FEED_STATES, feed["state"])
        last = _gauge("asn_feed_last_message_age_seconds", "Seconds since any market data arrived")
        age_ms = feed["last_message_age_ms"]
        if age_ms is not None:
            last.add_metric([], age_ms / 1000)
        age = _gauge(
            "asn_feed_message_age_seconds",
            "Seconds since the symbol's book last received data",
            ("symbol",),
        )
        synced = _gauge("asn_book_synced", "1 while the symbol's book is trusted", ("symbol",))
        for book in books:
            symbol = book["symbol"]
            if book["age_ms"] is not None:
                age.add_metric([symbol], book["age_ms"] / 1000)
            synced.add_metric([symbol], 1.0 if book["state"] == "synced" else 0.0)
        return (state, last, age, synced)

    def _challengers(self) -> Metric:
        family = _gauge("asn_challengers", "Challengers in the pit lane, by status", ("status",))
        pit = self.desk.core.pit
        rows = [] if pit is None else pit.standings(self.desk.state)
        counts = Counter(str(row["status"]).split(":")[0] for row in rows)
        for status in CHALLENGER_STATES:
            family.add_metric([status], counts.get(status, 0))
        return family
