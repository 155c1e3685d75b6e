"""The alerts actor in-process on trio's ``MockClock``: rate limit, backoff, drops when full,
the daily summary's time, the feed-lost watch, and secrets kept out of every reason.

The destinations are the real ``Webhook`` and ``Telegram`` classes; only the transport under
their ``httpx`` client is ``httpx.MockTransport`` (in-process, so the mock clock governs every
wait). ``tests/daemon/test_alerts_process.py`` does the same over real loopback sockets."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import structlog
import trio
import trio.testing
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from asnd.alerts.actor import Alerter
from asnd.alerts.collector import AlertCollector
from asnd.alerts.destinations import Destination, Telegram, Webhook
from asnd.alerts.settings import AlertSettings, parse_alerts
from asnd.backoff import Backoff
from asnd.core.brakes import NS_PER_DAY
from asnd.core.portfolio import DaemonState
from journal.events import FeedConnected, FeedLost, Kill, TradingHalted

from ..core.test_brakes import setup as positioned

HOOK = "https://hooks.example.com/services/T000/B000/s3cr3t-hook"
TOKEN = "123456:AAF-s3cr3t-bot-token"
#: 2026-12-02 23:59:30 UTC: the wall clock at trio time 0.
WALL0 = 20_789 * NS_PER_DAY + (23 * 3600 + 59 * 60 + 30) * 1_000_000_000


def settings(**alerts: Any) -> AlertSettings:
    data: dict[str, Any] = {"daily_summary_utc": "", "feed_lost_after_s": 0, **alerts}
    return parse_alerts(data)


def wall() -> int:
    return WALL0 + int(trio.current_time() * 1e9)


class Recorder:
    """The far end: every request with the trio time it arrived; answers from a script."""

    def __init__(self, answers: list[httpx.Response | Exception] | None = None) -> None:
        self.answers = answers or []
        self.requests: list[tuple[float, str, dict[str, Any]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((trio.current_time(), str(request.url), json.loads(request.content)))
        if self.answers:
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        return httpx.Response(200, json={"ok": True})

    @property
    def times(self) -> list[float]:
        return [t for t, _, _ in self.requests]


def client_for(recorder: Recorder) -> Callable[[], httpx.AsyncClient]:
    return lambda: httpx.AsyncClient(transport=httpx.MockTransport(recorder))


def halt(seq: int, reason: str = "kill all: operator: asnctl kill") -> TradingHalted:
    return TradingHalted(seq, 1_000, reason)


@asynccontextmanager
async def alerter(
    config: AlertSettings,
    destinations: list[Destination],
    recorder: Recorder,
    state: DaemonState | None = None,
) -> AsyncIterator[Alerter]:
    loop_state = state if state is not None else positioned()[0].state
    actor = Alerter(
        config, destinations, lambda: loop_state, symbols=["XRPUSDT"], clock_ns=wall,
        rng=random.Random(5), client=client_for(recorder),
    )  # fmt: skip
    async with trio.open_nursery() as nursery:
        await nursery.start(actor.run)
        yield actor
        nursery.cancel_scope.cancel()


async def test_requests_to_one_destination_are_rate_limited(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorder = Recorder()
    hook = Webhook(HOOK, min_interval_s=1.0)
    async with alerter(settings(), [hook], recorder) as actor:
        for seq in (1, 2, 3):
            actor.observe(halt(seq))
        await trio.sleep(10)
    assert recorder.times == [0.0, 1.0, 2.0]
    assert [body["seq"] for _, _, body in recorder.requests] == [1, 2, 3]
    assert actor.counts()["webhook"].delivered == 3


async def test_failures_are_retried_with_the_backoff_and_each_is_logged_with_its_reason(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorder = Recorder([httpx.Response(503, text="busy"), httpx.ConnectError("refused")])
    hook = Webhook(HOOK, min_interval_s=0.0)
    config = settings(retry_initial_ms=2000, retry_max_ms=30_000)
    with structlog.testing.capture_logs() as logs:
        async with alerter(config, [hook], recorder) as actor:
            actor.observe(halt(7))
            await trio.sleep(60)
    rule, rng = Backoff(2.0, 30.0), random.Random(5)
    first, second = rule.delay(1, rng), rule.delay(2, rng)
    assert recorder.times == [0.0, first, first + second]
    failed = [e for e in logs if e["event"] == "alert.delivery_failed"]
    assert [(e["attempt"], e["reason"], e["retrying"]) for e in failed] == [
        (1, "HTTP 503: busy", True),
        (2, "no answer: refused", True),
    ]
    assert actor.counts()["webhook"].delivered == 1


async def test_an_unexpected_error_is_a_failed_attempt_not_a_dead_actor(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorder = Recorder([ValueError(f"bad answer from {HOOK}")])
    hook = Webhook(HOOK, min_interval_s=0.0)
    with structlog.testing.capture_logs() as logs:
        async with alerter(settings(), [hook], recorder) as actor:
            actor.observe(halt(9))
            await trio.sleep(60)
    (failed,) = [e for e in logs if e["event"] == "alert.delivery_failed"]
    assert failed["reason"] == "unexpected ValueError: bad answer from [REDACTED]"
    assert failed["retrying"] is True
    assert len(recorder.requests) == 2
    assert actor.counts()["webhook"].delivered == 1


async def test_a_429_is_waited_out_and_a_refusal_is_not_retried(
    autojump_clock: trio.testing.MockClock,
) -> None:
    limited = httpx.Response(429, json={"ok": False, "parameters": {"retry_after": 17}})
    refused = httpx.Response(400, json={"ok": False, "description": "chat not found"})
    recorder = Recorder([limited, refused])
    gram = Telegram("https://api.telegram.org", TOKEN, "-100123", min_interval_s=1.0)
    with structlog.testing.capture_logs() as logs:
        async with alerter(settings(), [gram], recorder) as actor:
            actor.observe(halt(1))
            await trio.sleep(60)
    assert recorder.times == [0.0, 17.0]  # waited what Telegram asked (more than the backoff)
    assert actor.counts()["telegram"].failed == 1
    (given_up,) = [e for e in logs if e["event"] == "alert.undelivered"]
    assert given_up["destination"] == "telegram"
    last = [e for e in logs if e["event"] == "alert.delivery_failed"][-1]
    assert last["reason"].startswith("HTTP 400")
    assert last["retrying"] is False
    # The request Telegram got, and no token anywhere in what was logged.
    _, url, body = recorder.requests[0]
    assert url == f"https://api.telegram.org/bot{TOKEN}/sendMessage"
    assert body["chat_id"] == "-100123"
    assert body["text"].startswith("ASN: trading halted (kill_all)\nkill all: operator")
    assert TOKEN not in repr(logs)


async def test_a_full_queue_drops_counts_and_logs_without_waiting(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorder = Recorder()
    hook = Webhook(HOOK, min_interval_s=5.0)
    actor = Alerter(
        settings(queue_size=2), [hook], lambda: positioned()[0].state, clock_ns=wall,
        rng=random.Random(1), client=client_for(recorder),
    )  # fmt: skip
    started = trio.current_time()
    with structlog.testing.capture_logs() as logs:
        for seq in range(1, 6):  # the actor is not running: nothing takes from the queue
            actor.observe(halt(seq))
    assert trio.current_time() == started  # offering never waited
    assert actor.counts()["webhook"].dropped == 3
    drops = [e for e in logs if e["event"] == "alert.dropped"]
    assert [(e["seq"], e["dropped"]) for e in drops] == [(3, 1), (4, 2), (5, 3)]
    assert drops[0]["reason"] == "queue full (2 waiting)"
    async with trio.open_nursery() as nursery:  # once running, the two kept are delivered
        await nursery.start(actor.run)
        await trio.sleep(30)
        nursery.cancel_scope.cancel()
    assert [body["seq"] for _, _, body in recorder.requests] == [1, 2]
    registry = CollectorRegistry()
    registry.register(AlertCollector(actor))
    scraped = {
        (sample.name, sample.labels["outcome"]): sample.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for sample in family.samples
        if sample.labels.get("destination") == "webhook"
    }
    assert scraped == {
        ("asn_alerts_total", "delivered"): 2,
        ("asn_alerts_total", "failed"): 0,
        ("asn_alerts_total", "dropped"): 3,
    }


async def test_the_daily_summary_goes_out_at_its_utc_time_with_usdt_figures(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorder = Recorder()
    hook = Webhook(HOOK, min_interval_s=1.0)
    loop = positioned()[0]
    async with alerter(settings(daily_summary_utc="00:00"), [hook], recorder, loop.state):
        await trio.sleep(30 + 2 * 86_400 + 5)  # wall clock starts at 23:59:30
    assert recorder.times == [30.0, 30.0 + 86_400, 30.0 + 2 * 86_400]
    first = recorder.requests[0][2]
    assert first["kind"] == "daily_summary"
    assert first["title"] == "ASN: daily summary 2026-12-03"
    equity = loop.state.equity_e8(loop.state.slots[0])
    assert equity is not None
    assert first["text"].splitlines()[0].startswith("slot 0 XRPUSDT (active): equity ")
    assert first["text"].splitlines()[-1].startswith("total: equity ")
    assert " USDT, PnL " in first["text"]


async def test_a_feed_lost_longer_than_the_limit_is_alerted_and_a_short_loss_is_not(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorder = Recorder()
    hook = Webhook(HOOK, min_interval_s=0.0)
    async with alerter(settings(feed_lost_after_s=10), [hook], recorder) as actor:
        actor.observe(FeedLost(1, 0, "bybit", "public", "ping timeout"))
        await trio.sleep(3)
        actor.observe(FeedConnected(2, 0, "bybit", "public", 2))  # back after 3 s: no alert
        await trio.sleep(20)
        actor.observe(FeedLost(3, 0, "bybit", "public", "connection reset"))
        await trio.sleep(5)
        actor.observe(FeedLost(4, 0, "bybit", "private", "auth expired"))
        await trio.sleep(20)
        actor.observe(FeedConnected(5, 0, "bybit", "public", 3))
        await trio.sleep(30)
    sent = [(t, body["kind"], body["title"]) for t, _, body in recorder.requests]
    assert sent == [
        (33.0, "feed_lost", "ASN: bybit public feed lost for 10 s"),
        (38.0, "feed_lost", "ASN: bybit private feed lost for 10 s"),
        (48.0, "feed_back", "ASN: bybit public feed back after 25 s"),
    ]
    assert recorder.requests[0][2]["text"].startswith("connection reset;")


async def test_a_kill_of_all_is_alerted_once_by_its_halt_and_a_slot_kill_by_itself() -> None:
    actor = Alerter(
        settings(), [Webhook(HOOK, 0.0)], lambda: positioned()[0].state, symbols=["XRPUSDT"]
    )
    kill_all = Kill(1, 1, -1, "operator: asnctl kill")
    actor.folded(kill_all, [halt(2, "kill all: operator: asnctl kill")])
    actor.folded(Kill(3, 1, 0, "anomaly: slot 0: fill x for order y not held open"), [])
    queue = actor.lanes["webhook"].receive
    queued = [queue.receive_nowait() for _ in range(2)]
    assert [(a.kind, a.halt_kind, a.seq, a.title) for a in queued] == [
        ("halt", "kill_all", 2, "ASN: trading halted (kill_all)"),
        ("kill", "anomaly", 3, "ASN: slot 0 (XRPUSDT) anomaly killed"),
    ]
    with pytest.raises(trio.WouldBlock):
        queue.receive_nowait()
