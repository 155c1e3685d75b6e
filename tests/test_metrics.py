"""The metrics module in-process: each test has its own ``DaemonMetrics`` (its own
``CollectorRegistry``), read back through the Prometheus text format as a scraper reads it."""

from __future__ import annotations

import contextlib
import io
import json
import re
import socket
from collections.abc import Iterable
from pathlib import Path

import pytest
import trio
import trio.testing
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from asnd.actors.executor import Executor
from asnd.config import ConfigError, MetricsSettings, load_config
from asnd.core.halts import HaltKind, halt_kind
from asnd.core.portfolio import DaemonState
from asnd.daemon import main as asnd_main
from asnd.metrics import DaemonMetrics, MeteredVenue, MetricsListenError, serve_metrics
from asnd.metrics.histogram import LoopHistograms
from asnd.metrics.shell import HALT_REASONS
from asnd.runtime import core_config
from asnd.venues.base import NeedsHumanError, OrderRejectedError, RetryableVenueError
from asnd.venues.sim import SimVenue
from journal.events import (
    BUY,
    Event,
    Kill,
    OrderIntent,
    OrderRejected,
    PositionReconciled,
    Promotion,
    RiskHalt,
    TradingHalted,
)
from journal.service import JournalService
from journal.writer import JournalWriter

from .actors.test_executor import WALL_NS, FaultyVenue, Inputs
from .daemon.harness import REPO, make_config
from .daemon.test_daemon_live import running, until

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(registry: CollectorRegistry) -> Samples:
    """Every sample as a scraper parses it: (name, sorted labels) -> value."""
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


# --------------------------------------------------------------------------- histograms


def test_loop_histogram_exposes_cumulative_le_buckets_sum_and_count() -> None:
    registry = CollectorRegistry()
    family = LoopHistograms("asn_test_seconds", "test", ("op",), (0.1, 1.0))
    registry.register(family)
    child = family.child("place")
    for value in (0.05, 0.1, 0.5, 1.0, 3.0):  # a value equal to a bound is in that bucket
        child.observe(value)
    got = samples(registry)
    bucket = "asn_test_seconds_bucket"
    assert got[(bucket, (("le", "0.1"), ("op", "place")))] == 2
    assert got[(bucket, (("le", "1.0"), ("op", "place")))] == 4
    assert got[(bucket, (("le", "+Inf"), ("op", "place")))] == 5
    assert got[("asn_test_seconds_count", (("op", "place"),))] == 5
    assert got[("asn_test_seconds_sum", (("op", "place"),))] == pytest.approx(4.65)
    with pytest.raises(ValueError, match="labels"):
        family.child()
    with pytest.raises(ValueError, match="sorted"):
        LoopHistograms("asn_bad_seconds", "bad", (), (1.0, 0.1))


def test_each_daemon_has_its_own_registry_and_none_uses_the_global_one() -> None:
    first, second = DaemonMetrics(), DaemonMetrics()  # would raise on a shared registry
    first.core.folded(Promotion(1, 0, 0, "c", "p", 2.0, 0.01, 20), [], 1_000)
    assert samples(first.registry)[("asn_promotions_total", ())] == 1
    assert samples(second.registry)[("asn_promotions_total", ())] == 0
    assert not [name for name in REGISTRY._names_to_collectors if name.startswith("asn_")]


# ------------------------------------------------------------------------ core and halts


def test_halts_are_counted_by_kind_from_the_cores_own_decisions() -> None:
    metrics = DaemonMetrics()
    state = DaemonState(core_config(load_config(REPO / "etc" / "asnd.toml")))
    kill = Kill(1, 10, -1, "operator: asnctl kill")
    decisions = state.apply(kill)
    assert any(isinstance(d, TradingHalted) for d in decisions)
    metrics.core.folded(kill, decisions, 250_000)  # 250 us
    mismatch = PositionReconciled(2, 11, "BTCUSDT", 5, 100)
    metrics.core.folded(mismatch, DaemonState(state.config).apply(mismatch), 10_000)
    got = samples(metrics.registry)
    halts = {reason: got[("asn_halts_total", (("reason", reason),))] for reason in HALT_REASONS}
    assert halts == {r: (1 if r in ("kill_all", "position_mismatch") else 0) for r in HALT_REASONS}
    assert got[("asn_core_event_seconds_count", ())] == 2
    assert got[("asn_core_event_seconds_sum", ())] == pytest.approx(260e-6)
    assert got[("asn_core_event_seconds_bucket", (("le", "0.00025"),))] == 2


def test_brakes_slot_kills_and_anomaly_kills_are_counted_by_kind() -> None:
    metrics = DaemonMetrics()
    brake = RiskHalt(3, 12, 2, "max_daily_loss", "slot 2: lost 50.00 USDT today", 20_000)
    operator = Kill(4, 13, 1, "operator: asnctl kill")
    anomaly = Kill(5, 14, 0, "anomaly: slot 0: fill x-1 for order asn-0-9 not held open")
    metrics.core.folded(operator, [brake, anomaly], 1_000)
    got = samples(metrics.registry)
    counted = {r for r in HALT_REASONS if got[("asn_halts_total", (("reason", r),))]}
    assert counted == {"max_daily_loss", "kill", "anomaly"}


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        (TradingHalted(1, 1, "kill all: operator: asnctl kill"), HaltKind.KILL_ALL),
        (TradingHalted(1, 1, "position mismatch on BTCUSDT: venue 5 lots, slots 0 lots"),
         HaltKind.POSITION_MISMATCH),
        (TradingHalted(1, 1, "liquidation failed: slot 2: 3 liquidations left 7 lots open"),
         HaltKind.LIQUIDATION),
        (TradingHalted(1, 1, "IP banned (403): nothing is sent for 2.0 min"), HaltKind.IP_BAN),
        (TradingHalted(1, 1, "venue needs an operator: invalid api key"), HaltKind.VENUE),
        (TradingHalted(1, 1, "critical actor feed crashed 5 times within 300 s; last error: x"),
         HaltKind.ACTOR_CRASHED),
        (TradingHalted(1, 1, "a reason nobody wrote with halt_text"), HaltKind.OTHER),
        (RiskHalt(1, 1, -1, "max_drawdown", "daemon: drawdown 10.00 USDT", 3), HaltKind.DRAWDOWN),
        (Kill(1, 1, 3, "operator: asnctl kill"), HaltKind.KILL),
        (Kill(1, 1, -1, "operator: asnctl kill"), None),  # its TradingHalted carries it
        (Promotion(1, 1, 0, "c", "d", 2.5, 0.01, 30), None),
    ],
)  # fmt: skip
def test_halt_kinds(event: Event, kind: HaltKind | None) -> None:
    assert halt_kind(event) is kind


# ----------------------------------------------------------------------------- executor


def _intent(link_id: str) -> OrderIntent:
    return OrderIntent(0, 0, 0, "SIMUSDT", link_id, BUY, "limit", "PostOnly", 15_000, 2,
                       False, 0)  # fmt: skip


async def test_executor_requests_are_timed_and_errors_counted_by_kind_and_code(
    autojump_clock: trio.testing.MockClock,
) -> None:
    metrics = DaemonMetrics()
    venue = FaultyVenue(SimVenue(seed=4, wall_ns=lambda: WALL_NS))
    inputs = Inputs()
    executor = Executor(MeteredVenue(venue, metrics.executor), inputs, clock_ns=lambda: 7)
    venue.place_faults["r-1"] = OrderRejectedError("too small", code=110007)
    venue.place_faults["h-1"] = NeedsHumanError("invalid api key", code=10003)
    venue.lookup_faults.append(RetryableVenueError("timeout"))
    venue.place_faults["u-1"] = KeyError("orderId")  # unexpected: unresolved, then looked up
    stream, receive = trio.open_memory_channel[Event](1024)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_drain, receive)
        await nursery.start(venue.run, stream)
        for link_id in ("ok-1", "r-1", "h-1", "u-1"):
            await executor.place(_intent(link_id))
        nursery.cancel_scope.cancel()
    got = samples(metrics.registry)

    def errors(kind: str, code: str) -> float:
        return got[("asn_executor_errors_total", (("code", code), ("kind", kind), ("op", "place")))]

    assert errors("rejected", "110007") == 1
    assert errors("needs_human", "10003") == 1
    assert errors("unexpected", "") == 1
    assert (
        got[("asn_executor_errors_total", (("code", ""), ("kind", "retryable"), ("op", "lookup")))]
        == 1
    )
    assert got[("asn_executor_request_seconds_count", (("op", "place"),))] == 4
    assert got[("asn_executor_request_seconds_count", (("op", "lookup"),))] == 2
    # The errors were re-raised to the executor: its policy still decided, unchanged.
    rejected = [e for e in inputs.events if isinstance(e, OrderRejected)]
    assert [(e.link_id, e.code) for e in rejected] == [("r-1", 110007), ("h-1", 10003)]
    (halt,) = [e for e in inputs.events if isinstance(e, TradingHalted)]
    assert halt_kind(halt) is HaltKind.VENUE


async def _drain(receive: trio.MemoryReceiveChannel[Event]) -> None:
    async for _ in receive:
        pass


# ------------------------------------------------------------------------------ journal


async def test_each_group_commit_reports_its_write_and_fsync_time(tmp_path: Path) -> None:
    metrics = DaemonMetrics()
    with JournalWriter.open(tmp_path / "journal", fsync=True) as writer:
        service = JournalService(writer, on_commit=metrics.journal.committed)
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run)
            with trio.fail_after(30):
                for i in range(3):
                    await service.append_durable(Kill(0, i, 0, "test"))
            nursery.cancel_scope.cancel()
    got = samples(metrics.registry)
    assert got[("asn_journal_fsync_seconds_count", ())] == service.batches >= 3
    assert got[("asn_journal_fsync_seconds_sum", ())] > 0


# ------------------------------------------------------------------- the status families


async def test_a_scrape_shows_exactly_what_the_desk_reports(tmp_path: Path) -> None:
    path = make_config(tmp_path)
    async with running(path) as (daemon, _venue):
        assert daemon.core is not None
        state = daemon.core.state
        await until(
            daemon,
            lambda: any(s.ledger is not None and s.ledger.state.fill_count for s in state.slots),
        )
        # No checkpoint from here to the end: the core cannot move while we compare.
        got = samples(daemon.metrics.registry)
        assert daemon.metrics.status is not None
        desk_report = daemon.metrics.status.desk.report()
        for row in desk_report["slots"]:
            labels = (("slot", str(row["slot"])), ("symbol", row["symbol"]))
            assert got[("asn_slot_equity_usdt", labels)] == float(row["equity"])
            assert got[("asn_slot_pnl_usdt", labels)] == float(row["pnl"])
            assert got[("asn_slot_position_base", labels)] == float(row["position"])
            assert got[("asn_slot_open_orders", labels)] == row["open_orders"]
            ledger = state.slots[row["slot"]].ledger
            assert ledger is not None
            assert got[("asn_slot_fills_total", labels)] == ledger.state.fill_count
            assert got[("asn_slot_fees_usdt", labels)] == ledger.fees_e8 / 1e8
        journal = desk_report["journal"]
        assert got[("asn_journal_seq", ())] == journal["seq"]
        # The fsync thread moves durable_seq on its own; it only grows (scraped first).
        assert got[("asn_journal_durable_seq", ())] <= journal["durable_seq"]
        assert got[("asn_journal_durable_lag_events", ())] >= journal["lag"]
        assert got[("asn_core_events_total", ())] == daemon.core.applied
        assert got[("asn_daemon_state", (("state", "trading"),))] == 1
        assert sum(v for (n, _), v in got.items() if n == "asn_daemon_state") == 1
        families = {f.name for f in text_string_to_metric_families(
            generate_latest(daemon.metrics.registry).decode()
        )}  # fmt: skip
    # The dashboard asks only for what the daemon exports (a renamed family breaks it).
    dashboard = json.loads((REPO / "etc" / "grafana-asnd.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {re.sub(r"_(bucket|total|count|sum)$", "", m) for e in exprs for m in _NAME.findall(e)}
    assert used - families == set()
    assert len(used) >= 20
    titles = " ".join(panel["title"] for panel in dashboard["panels"]).lower()
    panels = ("equity", "pnl", "position", "halts", "feed message age", "journal durable lag",
              "fsync latency p99", "core latency per event p99", "executor errors")  # fmt: skip
    assert [p for p in panels if p not in titles] == []


_NAME = re.compile(r"\basn_[a-z_]+")


# --------------------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _http(port: int, request: bytes) -> bytes:
    with trio.fail_after(30):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            await stream.send_all(request)
            answer = b""
            while chunk := await stream.receive_some():
                answer += chunk
    return answer


class Broken(Collector):
    def collect(self) -> Iterable[Metric]:
        raise RuntimeError("a bug in a collector")


async def test_the_server_answers_get_head_and_refuses_the_rest() -> None:
    metrics = DaemonMetrics()
    port = _free_port()
    settings = MetricsSettings(("127.0.0.1", port))
    async with trio.open_nursery() as nursery:
        await nursery.start(serve_metrics, settings, metrics.registry)
        get = await _http(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        head, _, body = get.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        assert b"content-type: text/plain; version=" in head.lower()
        assert b"# TYPE asn_promotions_total counter" in body
        only_head = await _http(port, b"HEAD /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert only_head.startswith(b"HTTP/1.1 200 ")
        assert only_head.endswith(b"\r\n\r\n")  # headers only
        assert (await _http(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")).startswith(
            b"HTTP/1.1 404 "
        )
        post = b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
        assert (await _http(port, post)).startswith(b"HTTP/1.1 405 ")
        assert await _http(port, b"not http at all\r\n\r\n") == b""  # dropped, server lives
        metrics.registry.register(Broken())
        assert (await _http(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")).startswith(
            b"HTTP/1.1 500 "
        )
        nursery.cancel_scope.cancel()


async def test_an_address_in_use_is_a_one_line_listen_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(MetricsListenError) as info:
            await serve_metrics(MetricsSettings(("127.0.0.1", port)), CollectorRegistry())
    assert (
        str(info.value) == f"metrics.listen 127.0.0.1:{port}: cannot listen: Address already in use"
    )


# ------------------------------------------------------------------------------- config


def _config_with(tmp_path: Path, metrics: str) -> Path:
    path = make_config(tmp_path)
    text = path.read_text().replace("[metrics]\n", f"[metrics]\n{metrics}\n", 1)
    path.write_text(text.replace('listen = ""\n', "", 1))
    return path


def test_metrics_are_off_by_default() -> None:
    settings = load_config(REPO / "etc" / "asnd.toml").metrics
    assert (settings.enabled, settings.listen, settings.address) == (False, None, "")


@pytest.mark.parametrize(
    ("listen", "host", "port"),
    [("127.0.0.1:9464", "127.0.0.1", 9464), ("[::1]:9100", "::1", 9100),
     ("localhost:1", "localhost", 1), ("127.0.0.2:65535", "127.0.0.2", 65535)],
)  # fmt: skip
def test_listen_takes_a_loopback_host_and_port(
    tmp_path: Path, listen: str, host: str, port: int
) -> None:
    path = _config_with(tmp_path, f'listen = "{listen}"')
    settings = load_config(path).metrics
    assert (settings.enabled, settings.listen) == (True, (host, port))
    assert settings.address == listen
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert asnd_main(["check-config", "--config", str(path)]) == 0
    assert f"  metrics: http://{listen}/metrics" in out.getvalue().splitlines()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('listen = "9464"', 'metrics.listen: expected HOST:PORT like "127.0.0.1:9464" or '
                            '"[::1]:9464", got "9464"'),
        ('listen = "127.0.0.1:"', "metrics.listen: expected HOST:PORT"),
        ('listen = "127.0.0.1:http"', "metrics.listen: expected HOST:PORT"),
        ('listen = "127.0.0.1:0"', "metrics.listen: port must be 1..65535, got 0"),
        ('listen = "127.0.0.1:70000"', "metrics.listen: port must be 1..65535, got 70000"),
        ('listen = "0.0.0.0:9464"', "metrics.listen: 0.0.0.0 is not a loopback address"),
        ('listen = "10.1.2.3:9464"', "metrics.listen: 10.1.2.3 is not a loopback address"),
        ('listen = "prometheus.example:9464"', "metrics.listen: expected an IP address"),
        ("listen = 9464", "metrics.listen: expected a string, got 9464"),
        ("port = 9464", "unknown key: metrics.port"),
    ],
)  # fmt: skip
def test_a_bad_listen_is_refused_naming_the_key(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_config_with(tmp_path, line))
    assert str(info.value).startswith(message)
