"""``/metrics`` of a real ``asnd run`` on the sim venue, scraped with httpx like Prometheus
would, and checked against ``asnctl status --json`` of the same daemon."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from asnd.ctl import call
from evolution.export import challenger_name
from journal.events import ChallengerLoaded, Fill

from .harness import DaemonProcess, make_config, wait_for

#: Every family the dashboard and the issue ask for (sample names without _total/_bucket).
FAMILIES = (
    "asn_slot_equity_usdt", "asn_slot_pnl_usdt", "asn_slot_position_base",
    "asn_slot_open_orders", "asn_slot_fills", "asn_slot_fees_usdt", "asn_slot_state",
    "asn_daemon_state", "asn_daemon_info", "asn_daemon_uptime_seconds", "asn_trading_halted",
    "asn_halts", "asn_feed_state", "asn_feed_last_message_age_seconds",
    "asn_feed_message_age_seconds", "asn_book_synced", "asn_journal_seq",
    "asn_journal_durable_seq", "asn_journal_durable_lag_events", "asn_journal_fsync_seconds",
    "asn_core_events", "asn_core_event_seconds", "asn_executor_request_seconds",
    "asn_executor_errors", "asn_challengers", "asn_promotions",
)  # fmt: skip

Samples = dict[str, dict[tuple[tuple[str, str], ...], float]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def scrape(url: str) -> tuple[set[str], Samples]:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    families: set[str] = set()
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        families.add(family.name)
        for sample in family.samples:
            key = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[key] = sample.value
    return families, samples


def slot_value(samples: Samples, name: str, row: dict[str, Any]) -> float:
    return samples[name][(("slot", str(row["slot"])), ("symbol", row["symbol"]))]


def eventually(
    condition: Callable[[], bool], what: Callable[[], str], timeout: float = 60.0
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what())
        time.sleep(0.2)  # polling a subprocess (asnctl) for a state; the deadline bounds it


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[DaemonProcess, str]]:
    port = free_port()
    process = DaemonProcess(make_config(tmp_path, listen=f'"127.0.0.1:{port}"'))
    try:
        yield process, f"http://127.0.0.1:{port}/metrics"
    finally:
        process.close()


def test_metrics_during_a_sim_run_match_asnctl_status(
    daemon: tuple[DaemonProcess, str], tmp_path: Path
) -> None:
    process, url = daemon
    # A challenger for slot 0 (a copy of its champion under another id): it shadows.
    champion = json.loads((tmp_path / "etc/strategies/champion_btcusdt.json").read_text())
    champion["id"] = "champion-copy"
    challengers = tmp_path / "var" / "challengers"
    challengers.mkdir(parents=True)
    (challengers / challenger_name(0, "champion-copy")).write_text(json.dumps(champion))
    process.start()
    process.wait_notify("READY=1")
    wait_for(process.config, lambda e: isinstance(e, Fill), timeout=60)
    wait_for(process.config, lambda e: isinstance(e, ChallengerLoaded), timeout=60)

    before = process.status()
    families, samples = scrape(url)
    after = process.status()
    missing = [name for name in FAMILIES if name not in families]
    assert not missing, f"families not exported: {missing}"
    # The journal moves while we look: the scrape's seq lies between the two statuses'.
    seq = samples["asn_journal_seq"][()]
    assert before["journal"]["seq"] <= seq <= after["journal"]["seq"]
    assert samples["asn_journal_durable_seq"][()] <= seq
    assert samples["asn_daemon_state"][(("state", "trading"),)] == 1
    assert samples["asn_feed_state"][(("state", "connected"),)] == 1
    assert sum(samples["asn_slot_fills_total"].values()) >= 1
    assert samples["asn_core_events_total"][()] > 0
    assert samples["asn_core_event_seconds_count"][()] > 0
    assert samples["asn_journal_fsync_seconds_count"][()] > 0
    assert samples["asn_executor_request_seconds_count"][(("op", "place"),)] >= 1
    assert samples["asn_challengers"][(("status", "shadowing"),)] == 1
    symbols = {row["symbol"] for row in after["books"]}
    ages = samples["asn_feed_message_age_seconds"]
    assert {dict(key)["symbol"] for key in ages} == symbols

    # The same numbers as asnctl's status (``asnd.ctl.call``, what ``asnctl status --json``
    # prints), slot by slot, in a scrape taken between two statuses that agree with each
    # other (the market moves marks, so a pair that differs is taken again).
    socket_path = process.config.control.socket
    compared = 0
    deadline = time.monotonic() + 60
    while not compared:
        assert time.monotonic() < deadline, "no two consecutive statuses ever agreed"
        first = call(socket_path, "status")["slots"]
        _, samples = scrape(url)
        second = call(socket_path, "status")["slots"]
        if [_moving(r) for r in first] != [_moving(r) for r in second]:
            continue
        for row in second:
            equity = slot_value(samples, "asn_slot_equity_usdt", row)
            assert equity == float(Decimal(row["equity"])), row
            assert slot_value(samples, "asn_slot_pnl_usdt", row) == float(Decimal(row["pnl"]))
            position = slot_value(samples, "asn_slot_position_base", row)
            assert position == float(Decimal(row["position"])), row
            assert slot_value(samples, "asn_slot_open_orders", row) == row["open_orders"]
            key = (("slot", str(row["slot"])), ("state", row["state"]), ("symbol", row["symbol"]))
            assert samples["asn_slot_state"][key] == 1
            compared += 1
    assert compared == len(process.config.slots)

    # A halt shows as the daemon's state, the halt flag and a halt of its kind.
    assert process.ctl("kill", "all").returncode == 0
    eventually(
        lambda: process.status()["daemon"]["state"] == "halted",
        lambda: f"kill all did not halt: {process.status()['daemon']}",
    )
    _, samples = scrape(url)
    assert samples["asn_daemon_state"][(("state", "halted"),)] == 1
    assert samples["asn_trading_halted"][()] == 1
    assert samples["asn_halts_total"][(("reason", "kill_all"),)] == 1
    assert samples["asn_halts_total"][(("reason", "other"),)] == 0
    assert process.terminate() == 0


def _moving(row: dict[str, Any]) -> tuple[object, ...]:
    return row["equity"], row["pnl"], row["position"], row["open_orders"], row["state"]


def test_a_metrics_port_in_use_stops_the_start_with_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = DaemonProcess(make_config(tmp_path, listen=f'"127.0.0.1:{port}"'))
        try:
            process.start()
            assert process.proc is not None
            assert process.proc.wait(60) == 1
            errors = [line for line in process.log_path.read_text().splitlines() if "asnd:" in line]
            assert errors == [
                f"asnd: metrics.listen 127.0.0.1:{port}: cannot listen: Address already in use"
            ]
        finally:
            process.close()
