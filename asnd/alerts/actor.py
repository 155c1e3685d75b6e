"""The alerts actor: journaled events in, notifications out, never in trading's way.

The core actor tells it what it journaled (``folded``, chained beside the metrics' hook):
that call only builds the alert and puts it on each destination's bounded queue with
``send_nowait``. A full queue drops the alert, counts it and logs the drop: an alert is
never worth slowing the fold that makes trading decisions.

Under the supervisor (non-critical), ``run`` delivers each destination's queue in order:

- rate limited per destination: at most one request per ``min_interval_ms`` (Telegram allows
  about one message a second per chat), retries included;
- retried with the daemon's backoff rule (``asnd.backoff``, jittered from the injected RNG)
  up to ``attempts`` times while the failure may pass (no answer, timeout, 5xx, 429, waiting
  at least what a 429 asks for); a permanent refusal (another 4xx) is not retried;
- every failed attempt is logged with its reason (``alert.delivery_failed``), an alert given
  up on once more (``alert.undelivered``); secrets never appear (``asnd.alerts.destinations``).

It also watches the feed (an alert once it has been lost ``feed_lost_after_s``, another when
it is back) and sends the daily summary at ``daily_summary_utc`` (per slot equity and PnL in
USDT). Times: ``trio``'s clock for waiting (a ``MockClock`` in tests), the injected
``clock_ns`` for the wall-clock time of day.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import httpx
import structlog
import trio

from asnd.alerts.destinations import Delivery, Destination
from asnd.alerts.messages import (
    ALERTED,
    Alert,
    alert_for,
    daily_summary,
    feed_back,
    feed_lost,
)
from asnd.alerts.settings import AlertSettings
from asnd.backoff import Backoff
from asnd.core.brakes import NS_PER_DAY, utc_day
from asnd.core.portfolio import DaemonState
from journal.events import Event, FeedConnected, FeedLost

__all__ = ["AlertCounts", "Alerter"]

_log = structlog.get_logger("asnd.alerts")

NS_PER_MINUTE: Final = 60 * 1_000_000_000
#: What ``folded`` looks at; everything else (market data, the bulk) costs one set lookup.
_WATCHED: Final = frozenset({FeedLost, FeedConnected, *ALERTED})


@dataclass(slots=True)
class AlertCounts:
    """Per destination, since start."""

    delivered: int = 0
    failed: int = 0  # given up on after its attempts (or refused for good)
    dropped: int = 0  # the queue was full


@dataclass(slots=True)
class _Loss:
    stream: str  # "<venue> <stream>"
    since: float  # trio time
    reason: str
    alerted: bool = False


@dataclass(slots=True)
class _Lane:
    destination: Destination
    send: trio.MemorySendChannel[Alert]
    receive: trio.MemoryReceiveChannel[Alert]
    counts: AlertCounts
    next_request: float = -math.inf  # trio time before which no request may go (rate limit)


class Alerter:
    def __init__(
        self,
        settings: AlertSettings,
        destinations: Sequence[Destination],
        state: Callable[[], DaemonState],
        *,
        symbols: Sequence[str] = (),
        clock_ns: Callable[[], int] = time.time_ns,
        rng: random.Random | None = None,
        client: Callable[[], httpx.AsyncClient] | None = None,
    ) -> None:
        self.settings = settings
        self._state = state
        self._symbols = tuple(symbols)
        self._clock_ns = clock_ns
        self._rng = rng if rng is not None else random.Random()
        self._client = client or (lambda: httpx.AsyncClient(timeout=settings.timeout_ms / 1000))
        self._backoff = Backoff(settings.retry_initial_ms / 1000, settings.retry_max_ms / 1000)
        self.lanes: dict[str, _Lane] = {}
        for destination in destinations:
            send, receive = trio.open_memory_channel[Alert](settings.queue_size)
            self.lanes[destination.name] = _Lane(destination, send, receive, AlertCounts())
        # The feed, as the journal tells it: each stream ("sim public") lost, since when.
        self._lost: dict[str, _Loss] = {}
        self._feed_changed = trio.Event()

    def counts(self) -> dict[str, AlertCounts]:
        return {name: lane.counts for name, lane in self.lanes.items()}

    # ------------------------------------------------------------------- from the core

    def folded(self, event: Event, decisions: Sequence[Event], elapsed_ns: int = 0) -> None:
        """``CoreActor``'s ``on_folded``: ``event`` and its ``decisions`` were journaled."""
        if type(event) in _WATCHED:
            self.observe(event)
        for decision in decisions:
            if type(decision) in _WATCHED:
                self.observe(decision)

    def observe(self, event: Event) -> None:
        """One journaled event: the feed's state, and its alert if it raises one."""
        kind = type(event)
        if kind is FeedLost:
            assert isinstance(event, FeedLost)
            stream = f"{event.venue} {event.stream}"
            if stream not in self._lost:
                self._lost[stream] = _Loss(stream, trio.current_time(), event.reason)
                self._changed()
        elif kind is FeedConnected:
            assert isinstance(event, FeedConnected)
            loss = self._lost.pop(f"{event.venue} {event.stream}", None)
            if loss is not None:
                if loss.alerted:
                    lost_s = trio.current_time() - loss.since
                    self.offer(feed_back(loss.stream, lost_s, event.ts_local_ns))
                self._changed()
        alert = alert_for(event, self._symbols)
        if alert is not None:
            self.offer(alert)

    def offer(self, alert: Alert) -> None:
        """Queue ``alert`` for every destination without waiting; full: drop and count."""
        for name, lane in self.lanes.items():
            try:
                lane.send.send_nowait(alert)
            except trio.WouldBlock:
                lane.counts.dropped += 1
                _log.warning(
                    "alert.dropped", destination=name, kind=alert.kind, seq=alert.seq,
                    reason=f"queue full ({self.settings.queue_size} waiting)",
                    dropped=lane.counts.dropped,
                )  # fmt: skip

    def _changed(self) -> None:
        self._feed_changed.set()
        self._feed_changed = trio.Event()

    # ---------------------------------------------------------------------- the actor

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with self._client() as client, trio.open_nursery() as nursery:
            for lane in self.lanes.values():
                nursery.start_soon(self._deliver, client, lane)
            if self.settings.feed_lost_after_s > 0:
                nursery.start_soon(self._watch_feed)
            if self.settings.daily_summary_utc is not None:
                nursery.start_soon(self._daily, self.settings.daily_summary_utc)
            task_status.started()

    async def _deliver(self, client: httpx.AsyncClient, lane: _Lane) -> None:
        # Not ``async with``: a restarted actor goes on reading the same queue.
        async for alert in lane.receive:
            await self._send(client, lane, alert)

    async def _send(self, client: httpx.AsyncClient, lane: _Lane, alert: Alert) -> None:
        name, attempts = lane.destination.name, self.settings.attempts
        for attempt in range(1, attempts + 1):
            await trio.sleep_until(lane.next_request)
            lane.next_request = trio.current_time() + lane.destination.min_interval_s
            try:
                outcome = await lane.destination.send(client, alert)
            except Exception as exc:  # a bug, or an error httpx does not wrap: keep the actor
                text = " ".join(str(exc).split())[:200]
                reason = lane.destination.mask(f"unexpected {type(exc).__name__}: {text}")
                outcome = Delivery(False, reason, retryable=True)
            if outcome.ok:
                lane.counts.delivered += 1
                _log.debug("alert.delivered", destination=name, kind=alert.kind, seq=alert.seq)
                return
            again = outcome.retryable and attempt < attempts
            _log.warning(
                "alert.delivery_failed", destination=name, kind=alert.kind, seq=alert.seq,
                attempt=attempt, reason=outcome.reason, retrying=again,
            )  # fmt: skip
            if not again:
                break
            wait = self._backoff.delay(attempt, self._rng)
            await trio.sleep(max(wait, outcome.retry_after_s or 0.0))
        lane.counts.failed += 1
        _log.error(
            "alert.undelivered", destination=name, kind=alert.kind, seq=alert.seq,
            title=alert.title, failed=lane.counts.failed,
        )  # fmt: skip

    async def _watch_feed(self) -> None:
        """Alert each stream lost for ``feed_lost_after_s``, once per loss."""
        after = float(self.settings.feed_lost_after_s)
        while True:
            changed = self._feed_changed
            waiting = [loss for loss in self._lost.values() if not loss.alerted]
            if not waiting:
                await changed.wait()
                continue
            first = min(waiting, key=lambda loss: loss.since)
            with trio.move_on_at(first.since + after):
                await changed.wait()
                continue
            first.alerted = True
            lost_s = trio.current_time() - first.since
            self.offer(feed_lost(first.stream, first.reason, lost_s, self._clock_ns()))

    async def _daily(self, minute: int) -> None:
        """The summary at ``minute`` of every UTC day (wall clock), once a day."""
        at_ns, last = minute * NS_PER_MINUTE, 0
        while True:
            now = self._clock_ns()
            due = utc_day(now) * NS_PER_DAY + at_ns
            if due <= now or due <= last:  # past today (or sent: a wall clock a little slow)
                due += NS_PER_DAY
            await trio.sleep((due - now) / 1e9)
            self.offer(daily_summary(self._state(), utc_day(due), self._clock_ns()))
            last = due
