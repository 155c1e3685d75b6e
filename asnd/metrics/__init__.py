"""Prometheus metrics: what an operator's dashboard shows (README "Metrics").

``DaemonMetrics`` holds one ``CollectorRegistry`` per daemon (never the global one: two
daemons, or two tests, in one process do not collide). Three kinds of families:

- read at scrape time from what ``asnctl status`` reads (``status.StatusCollector``), so they
  cannot disagree with it: per slot ``asn_slot_equity_usdt``, ``asn_slot_pnl_usdt``,
  ``asn_slot_position_base``, ``asn_slot_open_orders``, ``asn_slot_fills_total``,
  ``asn_slot_fees_usdt``, ``asn_slot_state``; ``asn_daemon_state``, ``asn_daemon_info``,
  ``asn_daemon_uptime_seconds``, ``asn_trading_halted``; ``asn_feed_state``,
  ``asn_feed_last_message_age_seconds``, per symbol ``asn_feed_message_age_seconds`` and
  ``asn_book_synced``; ``asn_journal_seq``, ``asn_journal_durable_seq``,
  ``asn_journal_durable_lag_events``; ``asn_core_events_total``; ``asn_challengers``;
- updated by the shells as things happen (``shell``): ``asn_core_event_seconds``,
  ``asn_halts_total`` by kind, ``asn_promotions_total`` (core actor),
  ``asn_journal_fsync_seconds`` (journal service), ``asn_executor_request_seconds`` and
  ``asn_executor_errors_total`` (executor, through ``MeteredVenue``).
- registered by the daemon when alerts are on: ``asn_alerts_total`` by destination and outcome
  (``asnd.alerts.collector``).

The registry is built whether or not ``[metrics] listen`` is set (its updates cost next to
nothing); ``http.serve_metrics`` serves it when it is.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from asnd.actors.desk import Desk
from asnd.metrics.http import MetricsListenError, serve_metrics
from asnd.metrics.shell import CoreMetrics, ExecutorMetrics, JournalMetrics, MeteredVenue
from asnd.metrics.status import StatusCollector

__all__ = ["DaemonMetrics", "MeteredVenue", "MetricsListenError", "serve_metrics"]


class DaemonMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.core = CoreMetrics(self.registry)
        self.journal = JournalMetrics(self.registry)
        self.executor = ExecutorMetrics(self.registry)
        self.status: StatusCollector | None = None

    def watch(self, desk: Desk) -> None:
        """Export the status ``desk`` reports (once per daemon run)."""
        if self.status is not None:
            raise RuntimeError("DaemonMetrics.watch: already watching a desk")
        self.status = StatusCollector(desk)
        self.registry.register(self.status)
