"""``asn_alerts_total{destination,outcome}``: the alerts actor's counts, read at scrape time
(delivered, failed after its attempts, dropped because the queue was full)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from asnd.alerts.actor import Alerter

__all__ = ["OUTCOMES", "AlertCollector"]

OUTCOMES: Final = ("delivered", "failed", "dropped")


class AlertCollector(Collector):
    def __init__(self, alerter: Alerter) -> None:
        self.alerter = alerter

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(
            "asn_alerts",
            "Alerts per destination: delivered, failed (attempts used up or refused), dropped "
            "(queue full)",
            labels=["destination", "outcome"],
        )
        for name, counts in self.alerter.counts().items():
            for outcome in OUTCOMES:
                family.add_metric([name, outcome], getattr(counts, outcome))
        yield family
