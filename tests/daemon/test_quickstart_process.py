"""The README's quick start on the real daemon process, as a new user tries it (issue 14):
``asnd run`` on the sim venue, wait until it trades, ``asnctl kill all`` -> flat on every slot
within 10 s (by ``asnctl status --json`` and by the journal's fold), ``asnctl resume all`` ->
it trades again and does not halt itself."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from asnd.core.slot import SlotStatus
from journal.events import Event, Fill, Kill, OrderIntent, Resume, TradingHalted

from .harness import DaemonProcess, fold, journal_events, make_config, wait_for

T = TypeVar("T")

#: The promise to the operator: everything flat this long after ``kill all``.
FLAT_WITHIN_S = 10.0


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonProcess]:
    process = DaemonProcess(make_config(tmp_path))
    try:
        yield process
    finally:
        process.close()


def _poll(probe: Callable[[], T | None], deadline: float, what: str) -> T:
    """``probe()`` until it returns something, before ``deadline`` (monotonic)."""
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last is not None:
            return last
        time.sleep(0.1)  # polling another process's answers; the deadline bounds it
    raise TimeoutError(what)


def test_kill_all_is_flat_within_10_s_and_resume_all_trades_again(daemon: DaemonProcess) -> None:
    config = daemon.config
    daemon.start()
    daemon.wait_notify("READY=1", timeout=60)
    trading: set[int] = set()

    def two_slots_filled(event: Event) -> bool:
        if isinstance(event, Fill):
            trading.add(event.slot)
        return len(trading) >= 2

    wait_for(config, two_slots_filled, timeout=120)

    killed = daemon.ctl("kill", "all")
    assert killed.returncode == 0, killed.stderr
    deadline = time.monotonic() + FLAT_WITHIN_S

    def flat_status() -> dict[str, Any] | None:
        status = daemon.status()
        slots = status["slots"]
        flat = all(Decimal(s["position"]) == 0 for s in slots)
        stopped = all(s["state"] in ("halted", "dead") for s in slots)
        return status if flat and stopped else None

    status = _poll(flat_status, deadline, "asnctl status never showed every slot flat")

    def flat_journal() -> bool | None:
        state = fold(config, journal_events(config))
        flat = all(
            not s.orders
            and (s.ledger is None or s.ledger.position_lots == 0)
            and s.status in (SlotStatus.HALTED, SlotStatus.DEAD)
            for s in state.slots
        )
        return True if flat else None

    _poll(flat_journal, deadline, "the journal's fold is not flat on every slot")
    assert status["daemon"]["state"] == "halted"

    resumed = daemon.ctl("resume", "all")
    assert resumed.returncode == 0, resumed.stderr
    resume = wait_for(config, lambda e: isinstance(e, Resume) and e.slot == -1, timeout=30)
    intents: dict[str, OrderIntent] = {}

    def fresh_fill(event: Event) -> bool:
        if isinstance(event, OrderIntent):
            intents[event.link_id] = event
        return (
            isinstance(event, Fill)
            and event.link_id in intents
            and not intents[event.link_id].reduce_only
        )

    wait_for(config, fresh_fill, timeout=120, from_seq=resume.seq)
    status = daemon.status()
    assert status["daemon"]["state"] == "trading"
    assert any(s["state"] == "active" for s in status["slots"])

    assert daemon.terminate() == 0
    events = journal_events(config)
    after = [e for e in events if e.seq > resume.seq]
    assert not [e for e in after if isinstance(e, TradingHalted)], "it halted itself"
    anomalies = [e for e in events if isinstance(e, Kill) and e.reason.startswith("anomaly")]
    assert anomalies == [], "the venue and the journal never disagreed about an order"
